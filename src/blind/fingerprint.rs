//! Identity that is not a name: fingerprints (knowledge-cutoff statements, vendor boilerplate,
//! chat-template and reasoning tokens, talk about hidden instructions; patterns in
//! `lexicon.toml`) and quotes of a scaffold's hidden system prompt.
//!
//! # System-prompt quotes
//! In assistant turns, a run of at least [`QuoteRule::min_words`] consecutive words (lowercase,
//! punctuation-insensitive, across line breaks) found in any scaffold's system prompt is
//! replaced; runs separated by at most [`QuoteRule::max_gap_words`] words merge, so a lightly
//! edited copy is still one redaction. Whole distinctive sentences of the prompt
//! ([`distinctive_sentences`], which may be shorter) are found too: the redactor replaces them in
//! assistant turns, and the leak gate stops a round that has one in a user turn.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

use super::lexicon::{FingerprintAction, FingerprintKind, FingerprintSpec, is_ordinary_word};
use super::normalise::View;

/// How system-prompt quotes are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRule {
    /// Shortest run of consecutive prompt words that counts as a quote.
    pub min_words: usize,
    /// Runs separated by at most this many other words are one quote.
    pub max_gap_words: usize,
}

impl Default for QuoteRule {
    fn default() -> Self {
        QuoteRule {
            min_words: 8,
            max_gap_words: 2,
        }
    }
}

/// The words of `text` (maximal runs of alphanumeric chars), lowercased.
fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word(text, |start, end| {
        words.push(text[start..end].to_lowercase())
    });
    words
}

/// Calls `f(start, end)` for each maximal run of alphanumeric chars.
fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(s, i);
                start = None;
            }
            _ => {}
        }
    }
}

/// The system prompts' word n-grams and short distinctive sentences, as word ids.
#[derive(Debug)]
pub struct QuoteIndex {
    rule: QuoteRule,
    vocabulary: HashMap<String, u32>,
    windows: HashSet<Box<[u32]>>,
    sentences: Vec<Box<[u32]>>,
}

const NO_WORD: u32 = u32::MAX;

impl QuoteIndex {
    pub fn new<S: AsRef<str>>(prompts: &[S], rule: QuoteRule) -> QuoteIndex {
        let mut index = QuoteIndex {
            rule,
            vocabulary: HashMap::new(),
            windows: HashSet::new(),
            sentences: Vec::new(),
        };
        for prompt in prompts {
            let ids = index.intern(prompt.as_ref());
            for window in ids.windows(rule.min_words) {
                index.windows.insert(window.into());
            }
            for sentence in distinctive_sentences(prompt.as_ref()) {
                let ids = index.intern(&sentence);
                if !ids.is_empty() && ids.len() < rule.min_words {
                    index.sentences.push(ids.into());
                }
            }
        }
        index
    }

    fn intern(&mut self, text: &str) -> Vec<u32> {
        words_of(&View::of_plain(text).text)
            .into_iter()
            .map(|w| {
                let next = self.vocabulary.len() as u32;
                *self.vocabulary.entry(w).or_insert(next)
            })
            .collect()
    }

    /// Quoted spans in view bytes; words inside `blocked` spans (existing placeholders) never
    /// count as quoted.
    pub fn find(&self, text: &str, blocked: &[(usize, usize)]) -> Vec<(usize, usize)> {
        if self.vocabulary.is_empty() {
            return Vec::new();
        }
        let mut words: Vec<(usize, usize)> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut lowercase = String::new();
        for_each_word(text, |start, end| {
            lowercase.clear();
            let word = &text[start..end];
            if word.is_ascii() {
                lowercase.extend(word.chars().map(|c| c.to_ascii_lowercase()));
            } else {
                lowercase.extend(word.chars().flat_map(char::to_lowercase));
            }
            let in_placeholder = blocked.iter().any(|&(s, e)| start < e && s < end);
            ids.push(match self.vocabulary.get(lowercase.as_str()) {
                Some(&id) if !in_placeholder => id,
                _ => NO_WORD,
            });
            words.push((start, end));
        });
        let mut covered = vec![false; ids.len()];
        let k = self.rule.min_words;
        for (i, window) in ids.windows(k).enumerate() {
            if !window.contains(&NO_WORD) && self.windows.contains(window) {
                covered[i..i + k].iter_mut().for_each(|c| *c = true);
            }
        }
        for sentence in &self.sentences {
            for (i, window) in ids.windows(sentence.len()).enumerate() {
                if window == &sentence[..] {
                    covered[i..i + sentence.len()]
                        .iter_mut()
                        .for_each(|c| *c = true);
                }
            }
        }
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (i, _) in covered.iter().enumerate().filter(|(_, c)| **c) {
            match runs.last_mut() {
                Some(run) if i - run.1 <= self.rule.max_gap_words + 1 => run.1 = i,
                _ => runs.push((i, i)),
            }
        }
        runs.into_iter()
            .map(|(a, b)| (words[a].0, words[b].1))
            .collect()
    }
}

/// Sentences with fewer words are too common to scan for unless one word is distinctive.
pub const MIN_SENTENCE_WORDS: usize = 6;
/// Sentences (and clauses of long sentences) with at least this many words are always kept.
pub const ALWAYS_DISTINCTIVE_WORDS: usize = 8;

/// The sentences of a system prompt worth scanning packets for: sentences (split at `.`, `!`,
/// `?` before whitespace, and at line breaks) with at least [`ALWAYS_DISTINCTIVE_WORDS`] words,
/// or at least [`MIN_SENTENCE_WORDS`] words one of which (of four letters or more) is not an
/// ordinary word ("Do not present unverifiable statements as settled."); plus, for sentences of
/// twice that length, their clauses (split at `,;:()` and dashes) of at least
/// [`ALWAYS_DISTINCTIVE_WORDS`] words, so that a partial quote is found too. In text order,
/// without duplicates.
pub fn distinctive_sentences(system_prompt: &str) -> Vec<String> {
    let mut sentences: Vec<String> = Vec::new();
    for line in system_prompt.lines() {
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            let ends_sentence = matches!(c, '.' | '!' | '?')
                && chars.get(k + 1).is_none_or(|&(_, n)| n.is_whitespace());
            if ends_sentence {
                sentences.push(line[start..i + c.len_utf8()].trim().to_string());
                start = i + c.len_utf8();
            }
        }
        sentences.push(line[start..].trim().to_string());
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    for sentence in sentences.iter().filter(|s| !s.is_empty()) {
        let words = words_of(sentence);
        let distinctive = words.len() >= ALWAYS_DISTINCTIVE_WORDS
            || (words.len() >= MIN_SENTENCE_WORDS
                && words
                    .iter()
                    .any(|w| w.chars().count() >= 4 && !is_ordinary_word(w)));
        if !distinctive {
            continue;
        }
        push(sentence);
        if words.len() >= 2 * ALWAYS_DISTINCTIVE_WORDS {
            for clause in sentence.split([',', ';', ':', '(', ')', '—', '–']) {
                if words_of(clause).len() >= ALWAYS_DISTINCTIVE_WORDS {
                    push(clause.trim());
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fingerprints.
// ---------------------------------------------------------------------------------------------

/// A month and year, a season and year, or a year, for `{date}` in the patterns.
const DATE: &str = r"(?:(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|fall|winter|q[1-4]|h[12])\.?,? (?:of )?)?(?:19|20)[0-9]{2}(?:-[0-9]{2}(?:-[0-9]{2})?)?";

/// The fingerprint patterns of the kinds switched on, compiled once per round.
#[derive(Debug)]
pub struct Fingerprints {
    rules: Vec<(FingerprintKind, FingerprintAction, bool, Regex)>,
}

/// One fingerprint found, in view bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FingerprintHit {
    pub start: usize,
    pub end: usize,
    pub kind: FingerprintKind,
    pub action: FingerprintAction,
}

#[derive(Debug, thiserror::Error)]
#[error("fingerprint pattern {pattern:?} of {kind:?} is invalid: {source}")]
pub struct FingerprintError {
    pub kind: FingerprintKind,
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

impl Fingerprints {
    pub fn new(
        specs: &[FingerprintSpec],
        enabled: &BTreeSet<FingerprintKind>,
    ) -> Result<Fingerprints, FingerprintError> {
        let mut rules = Vec::new();
        for spec in specs.iter().filter(|s| enabled.contains(&s.kind)) {
            for pattern in &spec.patterns {
                let source = format!("(?i){}", pattern.replace("{date}", DATE));
                let regex = Regex::new(&source).map_err(|source| FingerprintError {
                    kind: spec.kind,
                    pattern: pattern.clone(),
                    source,
                })?;
                rules.push((spec.kind, spec.action, spec.clause, regex));
            }
        }
        Ok(Fingerprints { rules })
    }

    /// Every fingerprint in `text` (a light view), clauses extended, overlaps left to the
    /// caller. Template tokens are looked for in every turn, the other kinds only in assistant
    /// turns (a user turn is the study's own stimulus).
    pub fn find(&self, text: &str, assistant: bool) -> Vec<FingerprintHit> {
        let mut hits = Vec::new();
        for (kind, action, clause, regex) in &self.rules {
            if !assistant && *kind != FingerprintKind::TemplateToken {
                continue;
            }
            for m in regex.find_iter(text) {
                if m.start() == m.end() {
                    continue;
                }
                let end = if *clause {
                    clause_end(text, m.end())
                } else {
                    m.end()
                };
                hits.push(FingerprintHit {
                    start: m.start(),
                    end,
                    kind: *kind,
                    action: *action,
                });
            }
        }
        hits
    }
}

/// The end of the clause that `at` is in: the next `.`, `!`, `?`, `;` or line break, at most
/// 160 bytes on.
fn clause_end(text: &str, at: usize) -> usize {
    let limit = (at + 160).min(text.len());
    let mut end = at;
    for (i, c) in text[at..].char_indices() {
        if at + i >= limit {
            break;
        }
        if matches!(
            c,
            '.' | '!' | '?' | ';' | ',' | '\n' | '。' | '！' | '？' | '，'
        ) {
            return at + i;
        }
        end = at + i + c.len_utf8();
    }
    end
}
