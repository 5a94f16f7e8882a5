//! Redaction: identity out of every turn before packets are written, judged in what raters see.
//!
//! A turn is markdown; raters read it rendered, programmatic raters and judges read its source.
//! So each pass looks at two views of the turn (see [`crate::blind::visible`] and
//! [`crate::blind::normalise`]): the *rendered* view (the visible text of the page, each char
//! mapped back to source bytes) and the *source* view (the markdown as written). In both, one
//! shared judgement ([`Redactor::find`]) finds names ([`crate::blind::names`]), fingerprints and
//! system-prompt quotes ([`crate::blind::fingerprint`]); each finding's covering source range is
//! replaced by the one neutral [`PLACEHOLDER`] (or, for chat-template tokens and reasoning
//! blocks, removed). Passes repeat until nothing more is found, so redacting a redacted turn
//! changes nothing. Invisible characters (tag characters, bidi controls, variation selectors,
//! zero-width and other default-ignorables) are removed first, and counted.
//!
//! The leak gate ([`crate::blind::gate`]) calls the same [`Redactor::find`] on the result, in the
//! source, in the rendered view and in the text of the rendered HTML: it judges exactly what the
//! redactor judges, and stops what could not be redacted.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::fingerprint::{FingerprintError, Fingerprints, QuoteIndex, QuoteRule};
use super::lexicon::{
    self, Category, FingerprintAction, FingerprintKind, PLACEHOLDER, is_ordinary_word,
};
use super::names::{NameError, NameMatcher, StudyTerm};
use super::normalise::{Invisible, View, html_like_tags, normalise, strip_invisible};
use super::visible::markdown_units;

/// Author of a turn; only assistant turns get the system-prompt quote rule and the
/// fingerprints other than chat-template tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnRole {
    User,
    Assistant,
}

/// A redacted turn.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Redacted {
    pub text: String,
    /// Redactions (placeholders inserted or spans removed), per category.
    pub counts: BTreeMap<Category, u32>,
    /// Invisible characters removed, per class.
    pub removed: BTreeMap<Invisible, u32>,
}

/// What to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Redact,
    Remove,
    /// Found but not redacted (a system-prompt sentence in a user turn): the gate stops it.
    GateOnly,
}

/// One thing found in a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// View byte range.
    pub start: usize,
    pub end: usize,
    pub category: Category,
    /// The lexicon or study term, the fingerprint kind, or "system prompt".
    pub label: String,
    pub action: Action,
}

/// Study terms that were not used as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TermWarning {
    /// No letters or digits: nothing to match.
    NoWords { text: String },
    /// A single ordinary word: redacted only in model context.
    OrdinaryWord { text: String },
}

impl std::fmt::Display for TermWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TermWarning::NoWords { text } => {
                write!(
                    f,
                    "'{text}' has no letters or digits, so it cannot be redacted"
                )
            }
            TermWarning::OrdinaryWord { text } => write!(
                f,
                "'{text}' is an ordinary word, so it is redacted only where it names a model \
                 (\"I'm {text}\", \"{text} 2\", \"{text}, an AI ...\", \"— {text}\"); a \
                 distinctive id is safer"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("quote window must be at least 2 words, got {0}")]
    QuoteWindow(usize),
    #[error(transparent)]
    Names(#[from] NameError),
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
}

/// How a round redacts, beyond its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactOptions {
    pub fingerprints: BTreeSet<FingerprintKind>,
    pub quote_rule: QuoteRule,
}

impl Default for RedactOptions {
    fn default() -> Self {
        RedactOptions {
            fingerprints: FingerprintKind::ALL.into_iter().collect(),
            quote_rule: QuoteRule::default(),
        }
    }
}

/// Redacts names, fingerprints and system-prompt quotes; build once per round.
#[derive(Debug)]
pub struct Redactor {
    names: NameMatcher,
    fingerprints: Fingerprints,
    quotes: QuoteIndex,
    warnings: Vec<TermWarning>,
}

/// Passes before giving up: each pass only replaces text outside placeholders, and removing one
/// name can reveal another ("Cl<|im_end|>aude").
const MAX_PASSES: usize = 6;

impl Redactor {
    /// The built-in lexicon plus the study's `terms`, with quotes of `system_prompts`.
    pub fn new<S: AsRef<str>>(
        terms: &[StudyTerm],
        system_prompts: &[S],
        options: &RedactOptions,
    ) -> Result<Redactor, RedactError> {
        if options.quote_rule.min_words < 2 {
            return Err(RedactError::QuoteWindow(options.quote_rule.min_words));
        }
        let mut warnings = Vec::new();
        let mut usable = Vec::new();
        for t in terms {
            if !t.text.chars().any(char::is_alphanumeric) {
                warnings.push(TermWarning::NoWords {
                    text: t.text.clone(),
                });
                continue;
            }
            if t.guarded {
                warnings.push(TermWarning::OrdinaryWord {
                    text: t.text.clone(),
                });
            }
            usable.push(t.clone());
        }
        let lexicon = lexicon::builtin();
        Ok(Redactor {
            names: NameMatcher::new(lexicon, &usable)?,
            fingerprints: Fingerprints::new(&lexicon.fingerprints, &options.fingerprints)?,
            quotes: QuoteIndex::new(system_prompts, options.quote_rule),
            warnings,
        })
    }

    /// Study terms that were skipped or guarded.
    pub fn warnings(&self) -> &[TermWarning] {
        &self.warnings
    }

    /// The number of name terms (lexicon and study).
    pub fn term_count(&self) -> usize {
        self.names.term_count()
    }

    /// Everything identifying in `view`, non-overlapping, in text order: the one judgement the
    /// redactor applies and the gate checks.
    pub fn find(&self, view: &View, role: TurnRole) -> Vec<Finding> {
        let text = view.text.as_str();
        let walls = placeholder_spans(text);
        let skip = html_like_tags(text);
        let assistant = role == TurnRole::Assistant;
        let mut found: Vec<Finding> = Vec::new();
        for hit in self.fingerprints.find(text, assistant) {
            found.push(Finding {
                start: hit.start,
                end: hit.end,
                category: hit.kind.category(),
                label: format!("{:?}", hit.kind).to_lowercase(),
                action: match hit.action {
                    FingerprintAction::Redact => Action::Redact,
                    FingerprintAction::Remove => Action::Remove,
                },
            });
        }
        for (start, end) in self.quotes.find(text, &walls) {
            found.push(Finding {
                start,
                end,
                category: Category::SystemPrompt,
                label: "system prompt".to_string(),
                action: if assistant {
                    Action::Redact
                } else {
                    Action::GateOnly
                },
            });
        }
        for hit in self.names.find(view, &skip, &walls) {
            let term = self.names.term(hit.term);
            found.push(Finding {
                start: hit.start,
                end: hit.end,
                category: term.category,
                label: term.label.clone(),
                action: Action::Redact,
            });
        }
        // What lies inside an existing placeholder is already redacted.
        found.retain(|f| {
            let k = walls.partition_point(|&(_, e)| e <= f.start);
            !walls
                .get(k)
                .is_some_and(|&(s, e)| s <= f.start && f.end <= e)
        });
        longest_first(found, |f| (f.start, f.end))
    }

    /// Redacts one turn (markdown).
    pub fn redact(&self, text: &str, role: TurnRole) -> Redacted {
        let (mut current, removed) = strip_invisible(text);
        let mut counts: BTreeMap<Category, u32> = BTreeMap::new();
        for _ in 0..MAX_PASSES {
            let mut spans: Vec<(usize, usize, Category, Action)> = Vec::new();
            for view in [rendered_view(&current), View::of_plain(&current)] {
                for f in self.find(&view, role) {
                    if f.action == Action::GateOnly {
                        continue;
                    }
                    if let Some((s, e)) = view.original(f.start, f.end) {
                        spans.push((s, e, f.category, f.action));
                    }
                }
            }
            if spans.is_empty() {
                break;
            }
            let (next, pass_counts) = splice(&current, spans);
            for (c, n) in pass_counts {
                *counts.entry(c).or_insert(0) += n;
            }
            if next == current {
                break;
            }
            current = next;
        }
        Redacted {
            text: current,
            counts,
            removed,
        }
    }
}

/// Non-overlapping items in text order, a longer one winning over one it overlaps; linear after
/// sorting.
pub fn longest_first<T>(mut items: Vec<T>, span: impl Fn(&T) -> (usize, usize)) -> Vec<T> {
    items.sort_by_key(|i| {
        let (s, e) = span(i);
        (s, std::cmp::Reverse(e))
    });
    let mut chosen: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        let (s, e) = span(&item);
        match chosen.last() {
            Some(last) if s < span(last).1 => {
                let (ls, le) = span(last);
                if e - s > le - ls {
                    chosen.pop();
                    chosen.push(item);
                }
            }
            _ => chosen.push(item),
        }
    }
    chosen
}

/// The rendered view of a markdown turn: its visible text, normalised.
pub fn rendered_view(markdown: &str) -> View {
    normalise(&markdown_units(markdown))
}

/// Existing placeholders, which are never matched again.
pub fn placeholder_spans(text: &str) -> Vec<(usize, usize)> {
    text.match_indices(PLACEHOLDER)
        .map(|(i, s)| (i, i + s.len()))
        .collect()
}

/// Replaces source spans: overlapping spans merge into one; a merged span is removed when all
/// its findings ask for removal, else replaced by the placeholder. Emphasis or code delimiters
/// left unbalanced at the edge of a span are taken into it ("Cla**ude**" becomes the
/// placeholder, not "[REDACTED]**").
fn splice(
    text: &str,
    mut spans: Vec<(usize, usize, Category, Action)>,
) -> (String, BTreeMap<Category, u32>) {
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let mut merged: Vec<(usize, usize, Category, bool)> = Vec::new();
    for (s, e, category, action) in spans {
        match merged.last_mut() {
            Some(last) if s < last.1 => {
                last.1 = last.1.max(e);
                last.3 &= action == Action::Remove;
            }
            _ => merged.push((s, e, category, action == Action::Remove)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut counts = BTreeMap::new();
    let mut at = 0;
    for (s, e, category, remove) in merged {
        let (s, e) = if remove {
            (s, e)
        } else {
            balance_delimiters(text, s, e)
        };
        if s < at {
            continue;
        }
        out.push_str(&text[at..s]);
        if !remove {
            out.push_str(PLACEHOLDER);
        }
        *counts.entry(category).or_insert(0) += 1;
        at = e;
    }
    out.push_str(&text[at..]);
    (out, counts)
}

/// Widens `s..e` over markdown delimiters (`**`, `__`, `*`, `_`, `` ` ``, `~~`) that occur an
/// odd number of times inside it and stand right outside it.
fn balance_delimiters(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    for delimiter in ["**", "__", "~~", "`", "*", "_"] {
        let inside = text[s..e].matches(delimiter).count();
        if inside % 2 == 1 {
            if text[e..].starts_with(delimiter) {
                e += delimiter.len();
            } else if text[..s].ends_with(delimiter) {
                s -= delimiter.len();
            }
        }
    }
    (s, e)
}

/// The study terms a round redacts, from what the study knows. A single ordinary word is
/// guarded (redacted only in model context), except in `[blinding] redact`, which is literal.
pub fn study_term(text: &str, category: Category) -> StudyTerm {
    let trimmed = text.trim();
    let single_word = trimmed.chars().all(char::is_alphabetic);
    StudyTerm {
        text: trimmed.to_string(),
        category,
        guarded: category != Category::Extra && single_word && is_ordinary_word(trimmed),
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
