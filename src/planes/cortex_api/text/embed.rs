//! The emulator's embedding: a deterministic, local stand-in for the Cortex API's embedding model.
//!
//! **choice**: the real service embeds with a hosted model; the emulator must run offline and
//! give the same vectors on every machine and every run, so it hashes words and character
//! trigrams into a small fixed number of dimensions ("feature hashing"). Texts that share words
//! (or word pieces, thanks to the trigrams) point the same way, which is enough for hybrid
//! recall to rank sensibly in tests. The vectors are stored, so the hash must never change.

/// Dimensions of every vector the emulator produces.
pub(crate) const DIM: usize = 256;

/// Whole words weigh more than their trigrams: sharing a word is stronger evidence than sharing
/// a fragment of one.
const WORD_WEIGHT: f32 = 1.0;
const TRIGRAM_WEIGHT: f32 = 0.5;

/// Marks the start and end of a word in its trigrams, so "#ca" (a word starting with "ca")
/// differs from "ca" inside a word.
const WORD_BOUNDARY: char = '#';

/// Lower-cased words: maximal runs of alphanumeric chars (Unicode `char::is_alphanumeric`), used
/// for the embedding and to build full-text queries.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The unit vector of `text`'s hashed word and trigram features; the zero vector when the text
/// has no words.
pub(crate) fn embed(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0; DIM];
    for word in tokens(text) {
        add_feature(&mut vector, &word, WORD_WEIGHT);
        for trigram in trigrams(&word) {
            add_feature(&mut vector, &trigram, TRIGRAM_WEIGHT);
        }
    }
    normalise(&mut vector);
    vector
}

/// The vector as little-endian f32s, the form the store keeps it in.
pub(crate) fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`to_blob`]; a trailing partial float (a damaged blob) is ignored rather than
/// failing the whole search.
pub(crate) fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect()
}

/// Cosine similarity; 0.0 when either vector is zero or lengths differ, so a malformed or empty
/// vector simply ranks last.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norms = norm(a) * norm(b);
    if norms > 0.0 {
        dot / norms
    } else {
        0.0
    }
}

/// Character trigrams of the word framed by boundary marks; a one-char word still gives one
/// ("#a#"), so short words are not invisible to the trigram features.
fn trigrams(word: &str) -> Vec<String> {
    let framed: Vec<char> = std::iter::once(WORD_BOUNDARY)
        .chain(word.chars())
        .chain(std::iter::once(WORD_BOUNDARY))
        .collect();
    framed
        .windows(3)
        .map(|window| window.iter().collect())
        .collect()
}

/// Adds the feature to the dimension its hash picks, with a sign also taken from the hash so
/// that colliding features tend to cancel out instead of piling up.
fn add_feature(vector: &mut [f32], feature: &str, weight: f32) {
    let hash = fnv1a64(feature.as_bytes());
    let index = (hash % DIM as u64) as usize;
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    if let Some(slot) = vector.get_mut(index) {
        *slot += sign * weight;
    }
}

fn normalise(vector: &mut [f32]) {
    let length = norm(vector);
    if length > 0.0 {
        for x in vector.iter_mut() {
            *x /= length;
        }
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// FNV-1a, 64-bit. Hand-written on purpose: the vectors are stored, and std's `DefaultHasher`
/// is not guaranteed to hash the same across Rust releases; a crate is not worth it for these
/// few lines.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn tokens_are_lowercased_alphanumeric_runs() {
        assert_eq!(
            tokens("Hello, World! Ünïcode-42 x_y"),
            ["hello", "world", "ünïcode", "42", "x", "y"]
        );
        assert!(tokens("  ...  ").is_empty());
    }

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn trigrams_frame_the_word() {
        assert_eq!(trigrams("cat"), ["#ca", "cat", "at#"]);
        assert_eq!(trigrams("a"), ["#a#"]);
    }

    #[test]
    fn embedding_is_deterministic_and_unit_length() {
        let first = embed("The quick brown fox");
        assert_eq!(first, embed("The quick brown fox"));
        assert_eq!(first.len(), DIM);
        assert!(close(norm(&first), 1.0));
    }

    #[test]
    fn embedding_golden_value_guards_the_hash() {
        // "hello" (FNV-1a 0xa430d84680aabd0b) lands in dimension 11 with a negative sign; its
        // five trigrams land elsewhere with weight 0.5, so the norm is sqrt(1 + 5 * 0.25) = 1.5.
        let v = embed("hello");
        assert!(close(v[11], -1.0 / 1.5), "dimension 11 is {}", v[11]);
        assert_eq!(v.iter().filter(|x| **x != 0.0).count(), 6);
        assert!(close(v[46], 0.5 / 1.5));
    }

    #[test]
    fn similar_texts_score_higher_than_unrelated_ones() {
        let query = embed("the cat sat on the mat");
        let similar = embed("a cat sat on a mat");
        let unrelated = embed("quarterly revenue grew strongly");
        assert!(cosine(&query, &similar) > cosine(&query, &unrelated) + 0.3);
        assert!(close(cosine(&query, &query), 1.0));
    }

    #[test]
    fn text_without_words_embeds_to_zero() {
        assert!(embed("").iter().all(|x| *x == 0.0));
        assert!(embed("?!").iter().all(|x| *x == 0.0));
    }

    #[test]
    fn blob_round_trips_and_ignores_a_partial_float() {
        let v = embed("round trip");
        assert_eq!(from_blob(&to_blob(&v)), v);
        assert_eq!(to_blob(&[1.0]), 1.0f32.to_le_bytes());
        let mut damaged = to_blob(&[2.5, -1.0]);
        damaged.push(7);
        assert_eq!(from_blob(&damaged), [2.5, -1.0]);
    }

    #[test]
    fn cosine_is_zero_for_zero_vectors_and_mismatched_lengths() {
        let v = embed("something");
        assert!(close(cosine(&v, &[0.0; DIM]), 0.0));
        assert!(close(cosine(&v, &v[..10]), 0.0));
        assert!(close(cosine(&[], &[]), 0.0));
    }
}
