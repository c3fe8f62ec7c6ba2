//! Offline extractive question answering: the answer is quoted from the recalled chunks.
//!
//! **choice**: the real service writes answers with an LLM; the emulator must run offline and
//! answer the same way every time, so it picks the sentences of the recalled chunks that share
//! the most words with the question and quotes them in document order. Such answers are never
//! invented, which also keeps the emulator honest about what its recall found.

use std::cmp::Reverse;
use std::collections::HashSet;

use super::embed::tokens;

/// Words too common to say what a question is about; a sentence sharing only these with the
/// question is no answer.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "what", "which", "who", "whom", "how", "why",
    "when", "where", "do", "does", "did", "of", "to", "in", "on", "for", "and", "or", "with", "by",
    "at", "from", "it", "this", "that", "be",
];

/// A sentence of the recalled chunks and how well it answers.
struct Candidate<'a> {
    /// (chunk index, sentence index in the chunk): document order, and the tie-break.
    order: (usize, usize),
    score: usize,
    sentence: &'a str,
}

/// The best sentences for `question` from `chunks` (in the given order of relevance): each
/// sentence scores the number of distinct question words it contains (stopwords aside), ties
/// going to the earlier chunk, then the earlier sentence; up to `max_sentences` scoring sentences
/// are taken and returned in their original order, joined by a single space. None when no
/// sentence scores.
pub(crate) fn extractive_answer(
    question: &str,
    chunks: &[&str],
    max_sentences: usize,
) -> Option<String> {
    let wanted = question_terms(question);
    if wanted.is_empty() || max_sentences == 0 {
        return None;
    }
    let mut candidates = scored_sentences(chunks, &wanted);
    // A stable sort, so equal scores stay in chunk order, then sentence order.
    candidates.sort_by_key(|candidate| Reverse(candidate.score));
    let mut picked: Vec<Candidate<'_>> = Vec::new();
    for candidate in candidates {
        if picked.len() == max_sentences {
            break;
        }
        // The same sentence recalled twice (overlapping documents) is quoted once.
        if picked.iter().all(|p| p.sentence != candidate.sentence) {
            picked.push(candidate);
        }
    }
    if picked.is_empty() {
        return None;
    }
    picked.sort_by_key(|candidate| candidate.order);
    let sentences: Vec<&str> = picked.iter().map(|candidate| candidate.sentence).collect();
    Some(sentences.join(" "))
}

/// The question's distinct words, stopwords left out.
fn question_terms(question: &str) -> HashSet<String> {
    tokens(question)
        .into_iter()
        .filter(|token| !STOPWORDS.contains(&token.as_str()))
        .collect()
}

/// Every sentence of the chunks that contains at least one wanted word, in document order.
fn scored_sentences<'a>(chunks: &[&'a str], wanted: &HashSet<String>) -> Vec<Candidate<'a>> {
    let mut candidates = Vec::new();
    for (chunk_index, &chunk) in chunks.iter().enumerate() {
        for (sentence_index, sentence) in sentences(chunk).into_iter().enumerate() {
            let score = score(sentence, wanted);
            if score > 0 {
                candidates.push(Candidate {
                    order: (chunk_index, sentence_index),
                    score,
                    sentence,
                });
            }
        }
    }
    candidates
}

fn score(sentence: &str, wanted: &HashSet<String>) -> usize {
    let present: HashSet<String> = tokens(sentence).into_iter().collect();
    wanted.iter().filter(|word| present.contains(*word)).count()
}

/// The trimmed, non-empty sentences of `text`: a sentence ends at '.', '!' or '?' followed by
/// whitespace (so "3.5" and "e.g.x" stay whole), or at a newline.
fn sentences(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let followed_by_space = chars.peek().is_some_and(|&(_, next)| next.is_whitespace());
        let end = match c {
            '\n' => Some(i),
            '.' | '!' | '?' if followed_by_space => Some(i + c.len_utf8()),
            _ => None,
        };
        if let Some(end) = end {
            push_trimmed(&mut found, &text[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut found, &text[start..]);
    found
}

fn push_trimmed<'a>(found: &mut Vec<&'a str>, sentence: &'a str) {
    let sentence = sentence.trim();
    if !sentence.is_empty() {
        found.push(sentence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_sentence_with_the_answer() {
        let chunks = ["The emulator runs locally. The capital of France is Paris. Cats purr."];
        assert_eq!(
            extractive_answer("What is the capital of France?", &chunks, 1).as_deref(),
            Some("The capital of France is Paris.")
        );
    }

    #[test]
    fn unrelated_or_stopword_only_questions_have_no_answer() {
        let chunks = ["Cats purr when they are content.", "Dogs bark."];
        assert_eq!(
            extractive_answer("What is quantum chromodynamics?", &chunks, 3),
            None
        );
        assert_eq!(extractive_answer("What is it?", &chunks, 3), None);
        assert_eq!(extractive_answer("cats", &chunks, 0), None);
        assert_eq!(extractive_answer("cats", &[], 3), None);
    }

    #[test]
    fn best_sentences_come_back_in_document_order() {
        let chunks = [
            "Rust was first released in 2015.",
            "Rust is a systems programming language. Rust has no garbage collector.",
        ];
        let question = "rust language garbage collector released";
        // Scores: 2 (chunk 0), 2 (chunk 1), 3 (chunk 1); the tie goes to the earlier chunk.
        assert_eq!(
            extractive_answer(question, &chunks, 2).as_deref(),
            Some("Rust was first released in 2015. Rust has no garbage collector.")
        );
        assert_eq!(
            extractive_answer(question, &chunks, 1).as_deref(),
            Some("Rust has no garbage collector.")
        );
    }

    #[test]
    fn a_sentence_recalled_twice_is_quoted_once() {
        let chunks = ["Paris is in France.", "Paris is in France. Lyon too."];
        assert_eq!(
            extractive_answer("where is paris", &chunks, 2).as_deref(),
            Some("Paris is in France.")
        );
    }

    #[test]
    fn sentences_end_at_punctuation_before_whitespace_or_at_newlines() {
        assert_eq!(
            sentences("One. Two!\nThree?  Four costs 3.5 euros\n\n  five"),
            ["One.", "Two!", "Three?", "Four costs 3.5 euros", "five"]
        );
        assert!(sentences(" \n ").is_empty());
    }
}
