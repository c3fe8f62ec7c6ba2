//! Splitting extracted text into the chunks that recall searches and returns.
//!
//! Chunks follow the text's own structure: paragraphs (separated by blank lines) are packed
//! together while they fit, and only a paragraph too long for one chunk is cut, preferring a
//! sentence end, then whitespace, and only as a last resort the middle of a word. Every chunk is
//! an exact slice of the text, so its `start` offset can be shown to a client and checked
//! against the fetched document; the same text always gives the same chunks, so re-uploading a
//! document gives stable chunk positions.

/// **choice**: the service's chunk size is not documented; 1000 characters keeps a chunk around
/// a paragraph or two, small enough for the extractive answer to quote from.
#[cfg(test)]
pub(crate) const DEFAULT_MAX_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    pub index: usize,
    /// byte offset of the chunk's first character in the text
    pub start: usize,
    /// 1-based page number when `pages` was given
    pub page: Option<usize>,
    pub content: String,
}

/// A byte range of the text, on char boundaries, neither starting nor ending with whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// The chunks of `text`, each at most `max_chars` characters (a `max_chars` of 0 counts as 1).
/// `pages` holds the byte offsets where each page starts, as `extract` reports them for PDFs.
pub(crate) fn chunk(text: &str, pages: &[usize], max_chars: usize) -> Vec<Chunk> {
    let max_chars = max_chars.max(1);
    let pieces: Vec<Span> = paragraphs(text)
        .into_iter()
        .flat_map(|paragraph| split_long(text, paragraph, max_chars))
        .collect();
    pack(text, &pieces, max_chars)
        .into_iter()
        .enumerate()
        .map(|(index, span)| Chunk {
            index,
            start: span.start,
            page: page_of(pages, span.start),
            content: text[span.start..span.end].to_owned(),
        })
        .collect()
}

/// Maximal runs of non-blank lines; a line holding only whitespace counts as blank.
fn paragraphs(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut current: Option<Span> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let offset = line_start;
        line_start += line.len();
        let content = line.trim();
        if content.is_empty() {
            spans.extend(current.take());
            continue;
        }
        let start = offset + (line.len() - line.trim_start().len());
        let end = start + content.len();
        current = Some(match current {
            Some(paragraph) => Span { end, ..paragraph },
            None => Span { start, end },
        });
    }
    spans.extend(current);
    spans
}

/// The paragraph as pieces of at most `max_chars` characters each (itself when it fits).
fn split_long(text: &str, paragraph: Span, max_chars: usize) -> Vec<Span> {
    let mut pieces = Vec::new();
    let mut start = paragraph.start;
    while start < paragraph.end {
        let rest = &text[start..paragraph.end];
        let cut = cut_point(rest, max_chars);
        let piece = rest[..cut].trim_end();
        pieces.push(Span {
            start,
            end: start + piece.len(),
        });
        start = paragraph.end - rest[cut..].trim_start().len();
    }
    pieces
}

/// Where to cut `rest` (which starts with a non-whitespace char) so that `rest[..cut]` has at
/// most `max_chars` characters: at the last sentence end that fits, else the last whitespace,
/// else exactly `max_chars` characters in. Always a char boundary greater than 0, so splitting
/// makes progress and never cuts a UTF-8 character.
fn cut_point(rest: &str, max_chars: usize) -> usize {
    let Some((limit, _)) = rest.char_indices().nth(max_chars) else {
        return rest.len();
    };
    let mut sentence_end = None;
    let mut whitespace = None;
    let mut previous = None;
    // The char at `limit` is looked at too: whitespace there means the first `max_chars`
    // characters end exactly at a word or sentence end.
    for (i, c) in rest.char_indices().take_while(|&(i, _)| i <= limit) {
        if i > 0 && c.is_whitespace() {
            whitespace = Some(i);
            if c == '\n' || matches!(previous, Some('.' | '!' | '?')) {
                sentence_end = Some(i);
            }
        }
        previous = Some(c);
    }
    sentence_end.or(whitespace).unwrap_or(limit)
}

/// Consecutive pieces merged while the text they span stays within `max_chars` characters.
fn pack(text: &str, pieces: &[Span], max_chars: usize) -> Vec<Span> {
    let mut packed: Vec<Span> = Vec::new();
    for &piece in pieces {
        let fits_in_last = packed
            .last()
            .is_some_and(|last| text[last.start..piece.end].chars().count() <= max_chars);
        match packed.last_mut() {
            Some(last) if fits_in_last => last.end = piece.end,
            _ => packed.push(piece),
        }
    }
    packed
}

/// The 1-based page holding `start`: the last page whose start offset is at or before it (so an
/// empty page, which starts where the next one does, never gets the chunk).
fn page_of(pages: &[usize], start: usize) -> Option<usize> {
    if pages.is_empty() {
        return None;
    }
    Some(
        pages
            .partition_point(|&page_start| page_start <= start)
            .max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.content.as_str()).collect()
    }

    fn assert_positions_hold(text: &str, chunks: &[Chunk], max_chars: usize) {
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i);
            assert!(
                text[c.start..].starts_with(&c.content),
                "chunk {i} is not at {}",
                c.start
            );
            assert!(
                c.content.chars().count() <= max_chars,
                "chunk {i} is too long"
            );
            assert_eq!(c.content, c.content.trim());
            assert!(!c.content.is_empty());
        }
        assert!(chunks.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn short_text_is_one_trimmed_chunk() {
        let chunks = chunk("\n  Hello world.  \n", &[], DEFAULT_MAX_CHARS);
        assert_eq!(
            chunks,
            [Chunk {
                index: 0,
                start: 3,
                page: None,
                content: "Hello world.".to_owned(),
            }]
        );
    }

    #[test]
    fn whitespace_only_text_gives_no_chunks() {
        assert!(chunk("", &[], 10).is_empty());
        assert!(chunk(" \n\t\n  \r\n", &[0], 10).is_empty());
    }

    #[test]
    fn paragraphs_are_packed_while_they_fit() {
        let (a, b, c) = ("a".repeat(400), "b".repeat(400), "c".repeat(400));
        let text = format!("{a}\n\n{b}\n\n\n{c}\n");
        let chunks = chunk(&text, &[], 1000);
        assert_eq!(contents(&chunks), [format!("{a}\n\n{b}"), c]);
        assert_eq!(chunks[1].start, text.find('c').unwrap());
        assert_positions_hold(&text, &chunks, 1000);
    }

    #[test]
    fn whitespace_only_lines_separate_paragraphs() {
        let chunks = chunk("one\n   \ntwo\nstill two", &[], 20);
        assert_eq!(contents(&chunks), ["one", "two\nstill two"]);
    }

    #[test]
    fn long_paragraph_is_split_at_sentence_ends() {
        let text: String = (0..100)
            .map(|i| format!("Sentence number {i} is here. "))
            .collect();
        let chunks = chunk(&text, &[], 200);
        assert!(chunks.len() > 10);
        assert_positions_hold(&text, &chunks, 200);
        assert!(chunks.iter().all(|c| c.content.ends_with('.')));
        let rejoined: Vec<&str> = chunks
            .iter()
            .flat_map(|c| c.content.split_whitespace())
            .collect();
        assert_eq!(rejoined, text.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn sentence_without_ends_is_split_at_whitespace() {
        let text = "word ".repeat(100);
        let chunks = chunk(&text, &[], 22);
        assert_positions_hold(&text, &chunks, 22);
        assert!(chunks
            .iter()
            .all(|c| c.content.split(' ').all(|w| w == "word")));
    }

    #[test]
    fn a_word_longer_than_a_chunk_is_cut_at_char_boundaries() {
        let text = "x".repeat(2500);
        let chunks = chunk(&text, &[], 1000);
        let lengths: Vec<usize> = chunks.iter().map(|c| c.content.len()).collect();
        assert_eq!(lengths, [1000, 1000, 500]);
        assert_eq!(chunks[2].start, 2000);
    }

    #[test]
    fn multibyte_text_never_splits_a_character() {
        let text = format!(
            "{}\n\n日本語のテキスト。🦀🦀🦀 ünïcödé {}",
            "é".repeat(37),
            "ß".repeat(20)
        );
        for max_chars in [0, 1, 2, 3, 7, 13] {
            let chunks = chunk(&text, &[], max_chars);
            assert_positions_hold(&text, &chunks, max_chars.max(1));
            let rejoined: String = chunks
                .iter()
                .flat_map(|c| c.content.split_whitespace())
                .collect();
            let original: String = text.split_whitespace().collect();
            assert_eq!(rejoined, original, "max_chars {max_chars}");
        }
    }

    #[test]
    fn pages_are_assigned_from_start_offsets() {
        let text = "page one text\n\npage two text";
        let chunks = chunk(text, &[0, 15], 14);
        assert_eq!(contents(&chunks), ["page one text", "page two text"]);
        let pages: Vec<Option<usize>> = chunks.iter().map(|c| c.page).collect();
        assert_eq!(pages, [Some(1), Some(2)]);

        let packed = chunk(text, &[0, 15], 100);
        assert_eq!(packed.len(), 1);
        assert_eq!(packed[0].page, Some(1));
    }

    #[test]
    fn an_empty_page_never_gets_a_chunk() {
        // Page 2 is empty, so it starts where page 3 does.
        assert_eq!(page_of(&[0, 10, 10], 10), Some(3));
        assert_eq!(page_of(&[0, 10, 10], 9), Some(1));
        assert_eq!(page_of(&[], 9), None);
    }

    #[test]
    fn chunking_is_deterministic() {
        let text = "Alpha beta. Gamma delta!\n\nEpsilon? Zeta eta theta iota kappa.";
        assert_eq!(chunk(text, &[0], 20), chunk(text, &[0], 20));
    }
}
