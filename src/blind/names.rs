//! Finding names in a turn: every lexicon and study term at once, by one Aho-Corasick automaton
//! over the folded letter stream (see [`crate::blind::normalise`]), built once per round. Each
//! hit of the automaton is then checked where it stands in the light view:
//!
//! - **shape**: where the letters are separated, by what. A separator the form itself has
//!   ("Deep Seek") is ordinary; any other gap inside a name ("C l a u d e", "Cla-⏎ude",
//!   "Cla**ude**" shown as "Cla**ude") is accepted when it is thin and the pieces are single
//!   letters or not all ordinary words ("ten cent" is not Tencent), and marks the name as
//!   *obfuscated*, as do look-alike letters, leetspeak digits and reversed spellings;
//! - **boundaries**: a name starts and ends at a word boundary, or is glued to a known prefix or
//!   ending ("#iamclaude", "Claudes", "qwenlm"), or sits in a hashtag, handle, host or path;
//! - **context**: deny lists first ("Claude Shannon"); then an obfuscated name, a version suffix
//!   ("Llama 3"), self-identification ("I am gemini"), a maker ("trained by google"), a model
//!   noun after it, a maker next to it ("Google's Gemini") or the term's own bare rule decides.
//!
//! Matching is linear in the turn's length: one pass of the automaton, then constant work per
//! hit (each check reads a bounded window around it).

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use super::context::{self, char_at, char_before, is_boundary, word_after, word_before};
use super::lexicon::{
    Bare, Case, Category, ContextPhrases, Lexicon, TermKind, TermRules, VersionRule, is_common_word,
};
use super::normalise::{Folded, HARD_BREAK, View, fold_char};

/// One name the matcher looks for, with its rules.
#[derive(Debug, Clone)]
pub struct NameTerm {
    /// How reports name it: the lexicon term's first form, or the study's term.
    pub label: String,
    pub category: Category,
    pub kind: TermKind,
    pub rules: TermRules,
}

/// A term of the study (alias, model name, version, scaffold id, `[blinding] redact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyTerm {
    pub text: String,
    pub category: Category,
    /// A single ordinary word: redacted only in model context.
    pub guarded: bool,
}

/// What may separate two letters of a form at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// Inside a part of the name: any gap is obfuscation.
    None,
    /// Where the form has a space, hyphen or dot, or a letter meets a digit.
    Any,
    /// At a camel-case hump ("OpenAI"): a hyphen or dot, not a space.
    Joined,
    /// Where the form has other punctuation ("Pi, your"): any short run.
    Punct,
    /// A separator that must be there ("x.ai", not "xai"): any separator, not none.
    Required,
}

#[derive(Debug, Clone, Copy)]
struct FormChar {
    /// The form's char, lowercased, marks stripped.
    base: char,
    upper: bool,
    digit: bool,
    sep_after: Sep,
}

#[derive(Debug)]
struct Variant {
    term: usize,
    chars: Vec<FormChar>,
    reversed: bool,
}

/// A name found in a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameHit {
    /// View byte range, version suffix included.
    pub start: usize,
    pub end: usize,
    pub term: usize,
    pub obfuscated: bool,
}

/// The automaton and the rules, built once per round.
#[derive(Debug)]
pub struct NameMatcher {
    terms: Vec<NameTerm>,
    variants: Vec<Variant>,
    /// Automaton pattern id -> variants with that folded string.
    variants_of: Vec<Vec<usize>>,
    automaton: AhoCorasick,
    suffix: Regex,
    context: ContextPhrases,
}

#[derive(Debug, Clone)]
struct Candidate {
    start: usize,
    /// End of the name itself.
    core_end: usize,
    /// End with the version suffix or glued ending.
    end: usize,
    term: usize,
    obfuscated: bool,
    has_suffix: bool,
    /// Glued to an ending that only a model name takes ("#geminiai", "claudebot").
    model_glue: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error("cannot build the name automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

const SEP_CHARS: &[char] = &[
    ' ', '\t', '\n', '-', '.', '·', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}',
    '\u{2015}', '/', ',', ':', '\'', '’', '+', '\u{a0}',
];

fn base_lower(c: char) -> char {
    let lower = c.to_lowercase().next().unwrap_or(c);
    std::iter::once(lower).nfd().next().unwrap_or(lower)
}

/// Upside-down letters as a flipped spelling writes them (read right to left).
fn flip(c: char) -> char {
    const FROM: &str = "abcdefghijklmnopqrstuvwxyz";
    const TO: [char; 26] = [
        'ɐ', 'q', 'ɔ', 'p', 'ǝ', 'ɟ', 'ƃ', 'ɥ', 'ᴉ', 'ɾ', 'ʞ', 'l', 'ɯ', 'u', 'o', 'd', 'b', 'ɹ',
        's', 'ʇ', 'n', 'ʌ', 'ʍ', 'x', 'ʎ', 'z',
    ];
    FROM.find(c.to_ascii_lowercase()).map_or(c, |i| TO[i])
}

/// The folded chars of a form, with where separators may stand; with `required`, the form's
/// own separators must be there.
fn form_chars(form: &str, required: bool) -> Vec<FormChar> {
    let view = View::of_plain(form);
    let mut chars: Vec<FormChar> = Vec::new();
    let mut gap = String::new();
    let mut previous: Option<char> = None;
    let mut folded = String::new();
    for c in view.text.chars() {
        folded.clear();
        fold_char(c, &mut folded);
        if folded.is_empty() {
            if !chars.is_empty() {
                gap.push(c);
            }
            continue;
        }
        if let (Some(p), Some(last)) = (previous, chars.last_mut()) {
            last.sep_after = if !gap.is_empty() {
                let single =
                    gap.chars().count() == 1 && gap.chars().all(|g| SEP_CHARS.contains(&g));
                match (required, single) {
                    (true, _) => Sep::Required,
                    (false, true) => Sep::Any,
                    (false, false) => Sep::Punct,
                }
            } else if p.is_lowercase() && c.is_uppercase() {
                Sep::Joined
            } else if p.is_alphabetic() != c.is_alphabetic() {
                Sep::Any
            } else {
                Sep::None
            };
        }
        gap.clear();
        for _ in folded.chars() {
            chars.push(FormChar {
                base: base_lower(c),
                upper: c.is_uppercase(),
                digit: c.is_ascii_digit(),
                sep_after: Sep::None,
            });
        }
        previous = Some(c);
    }
    chars
}

fn folded_of(form: &str) -> String {
    let view = View::of_plain(form);
    let mut out = String::new();
    for c in view.text.chars() {
        fold_char(c, &mut out);
    }
    out
}

impl NameMatcher {
    /// The lexicon's terms and the study's. A study term that is a lexicon form is the lexicon
    /// term (its deny lists and context rules apply); the others are matched as written, with
    /// any separator between their parts.
    pub fn new(lexicon: &Lexicon, study: &[StudyTerm]) -> Result<NameMatcher, NameError> {
        let mut terms: Vec<NameTerm> = Vec::new();
        let mut forms: Vec<(usize, String)> = Vec::new();
        for t in &lexicon.terms {
            let id = terms.len();
            terms.push(NameTerm {
                label: t.name.clone(),
                category: t.kind.category(),
                kind: t.kind,
                rules: t.rules.clone(),
            });
            forms.extend(t.forms.iter().map(|f| (id, f.clone())));
        }
        let mut lexicon_folded: HashMap<String, Vec<usize>> = HashMap::new();
        for (id, f) in &forms {
            lexicon_folded.entry(folded_of(f)).or_default().push(*id);
        }
        for s in study {
            // A lexicon name that is one of the study's models ("gemini", "gemini-2.5-pro") is
            // a likely tell wherever it is capitalised, not only in model context: a star sign
            // is rarely worth the risk (the deny lists still keep "Gemini constellation").
            let first_word = s.text.split(['-', '_', '.', ' ', '/']).next().unwrap_or("");
            for word in [s.text.as_str(), first_word] {
                for &id in lexicon_folded.get(&folded_of(word)).into_iter().flatten() {
                    let term = &mut terms[id];
                    if s.category != Category::Extra
                        && matches!(term.rules.bare, Bare::Context | Bare::MidSentence)
                    {
                        term.rules.bare = Bare::Capitalised;
                    }
                }
            }
            let folded = folded_of(&s.text);
            if folded.is_empty() || lexicon_folded.contains_key(&folded) {
                continue;
            }
            let takes_version = matches!(
                s.category,
                Category::ModelName | Category::ModelVersion | Category::StudyAlias
            );
            let id = terms.len();
            terms.push(NameTerm {
                label: s.text.clone(),
                category: s.category,
                kind: if s.category == Category::Vendor {
                    TermKind::Vendor
                } else {
                    TermKind::Model
                },
                rules: TermRules {
                    case: Case::Any,
                    bare: if s.guarded {
                        Bare::Context
                    } else {
                        Bare::Always
                    },
                    version: match (takes_version, s.guarded) {
                        (false, _) => VersionRule::None,
                        (true, false) => VersionRule::Any,
                        (true, true) => VersionRule::Joined,
                    },
                    tiers: Vec::new(),
                    context_after: Vec::new(),
                    deny_next: Vec::new(),
                    deny_prev: Vec::new(),
                    deny_hyphenated: false,
                    separators_required: false,
                },
            });
            forms.push((id, s.text.clone()));
        }

        let mut variants: Vec<Variant> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut variants_of: Vec<Vec<usize>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut add = |term: usize, text: &str, reversed: bool| {
            let folded = folded_of(text);
            let chars = form_chars(text, terms[term].rules.separators_required && !reversed);
            if folded.is_empty() || chars.len() != folded.chars().count() {
                return;
            }
            let v = variants.len();
            variants.push(Variant {
                term,
                chars,
                reversed,
            });
            let slot = *index.entry(folded.clone()).or_insert_with(|| {
                patterns.push(folded);
                variants_of.push(Vec::new());
                patterns.len() - 1
            });
            variants_of[slot].push(v);
        };
        for (term, form) in &forms {
            add(*term, form, false);
            // Reversed and upside-down spellings of longer Latin names ("edualC", "ǝpnɐlƆ"):
            // a bidi override shows them the right way round, and readers decode them anyway.
            let latin = form.chars().all(|c| c.is_ascii_alphabetic());
            let reversed: String = form.chars().rev().collect();
            if latin && form.len() >= 5 && !is_common_word(&reversed.to_lowercase()) {
                add(*term, &reversed, true);
                let flipped: String = form.chars().rev().map(flip).collect();
                add(*term, &flipped, true);
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)?;
        let all_tiers: Vec<String> = {
            let mut t: Vec<String> = terms.iter().flat_map(|t| t.rules.tiers.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        let suffix = Regex::new(&format!("(?i)^(?:{})", context::suffix_pattern(&all_tiers)))
            .expect("the suffix pattern is valid");
        Ok(NameMatcher {
            terms,
            variants,
            variants_of,
            automaton,
            suffix,
            context: lexicon.context.clone(),
        })
    }

    pub fn term(&self, id: usize) -> &NameTerm {
        &self.terms[id]
    }

    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Accepted, non-overlapping names in `view`, in text order. `skip` are the view's HTML-like
    /// tags (a reader skips them), `walls` its existing placeholders.
    pub fn find(
        &self,
        view: &View,
        skip: &[(usize, usize)],
        walls: &[(usize, usize)],
    ) -> Vec<NameHit> {
        let folded = Folded::new(view, skip, walls);
        let mut candidates: Vec<Candidate> = Vec::new();
        for m in self.automaton.find_overlapping_iter(&folded.text) {
            for &v in &self.variants_of[m.pattern().as_usize()] {
                if let Some(c) = self.check(view, skip, &folded, m.start(), m.end(), v) {
                    candidates.push(c);
                }
            }
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        let text = view.text.as_str();
        // Forms in several scripts share a skeleton ("Meta", "Мета"): one candidate per term and
        // span, the plainest reading.
        candidates.sort_by_key(|c| (c.start, c.end, c.term, c.obfuscated));
        candidates.dedup_by_key(|c| (c.start, c.end, c.term));
        let mut accepted: Vec<bool> = candidates.iter().map(|c| self.accept(text, c)).collect();
        self.accept_neighbours(text, &candidates, &mut accepted);

        let kept: Vec<NameHit> = candidates
            .iter()
            .zip(&accepted)
            .filter(|(_, a)| **a)
            .map(|(c, _)| NameHit {
                start: c.start,
                end: c.end,
                term: c.term,
                obfuscated: c.obfuscated,
            })
            .collect();
        super::redact::longest_first(kept, |h| (h.start, h.end))
    }

    /// The shape of one automaton hit: digits, look-alikes, gaps and boundaries.
    fn check(
        &self,
        view: &View,
        skip: &[(usize, usize)],
        folded: &Folded,
        a: usize,
        b: usize,
        v: usize,
    ) -> Option<Candidate> {
        let variant = &self.variants[v];
        let term = &self.terms[variant.term];
        let text = view.text.as_str();
        let at: Vec<usize> = folded.text[a..b]
            .char_indices()
            .map(|(i, _)| folded.at[a + i])
            .collect();
        if at.len() != variant.chars.len() || at.contains(&usize::MAX) {
            return None;
        }
        let char_of =
            |index: usize| -> char { text[view.map[index].0..].chars().next().unwrap_or(' ') };
        let (mut leet, mut letters, mut lookalike) = (0, 0, false);
        for (k, &index) in at.iter().enumerate() {
            let c = char_of(index);
            let form = variant.chars[k];
            if form.digit {
                if c != form.base {
                    return None;
                }
                continue;
            }
            if c.is_numeric() {
                leet += 1;
            } else if c.is_alphabetic() {
                letters += 1;
                if base_lower(c) != form.base {
                    lookalike = true;
                }
                if term.rules.case == Case::Exact
                    && !variant.reversed
                    && c.is_uppercase() != form.upper
                {
                    return None;
                }
            } else {
                lookalike = true;
            }
        }
        if leet > 0 && letters < 2 {
            return None;
        }

        // Gaps between the letters.
        let mut obfuscated = lookalike || leet > 0 || variant.reversed;
        let mut pieces: Vec<(usize, usize)> = vec![(at[0], at[0])];
        let mut split = false;
        for k in 0..at.len() - 1 {
            let (x, y) = (at[k], at[k + 1]);
            if x == y {
                continue;
            }
            // Markup inside a name ("Gem<b></b>ini") is there to hide it.
            if tag_between(view, skip, x, y) {
                obfuscated = true;
            }
            let gap = gap_chars(view, skip, x, y);
            if gap.is_empty() {
                if variant.chars[k].sep_after == Sep::Required {
                    return None;
                }
                pieces.last_mut().expect("a piece").1 = y;
                continue;
            }
            pieces.push((y, y));
            if gap.iter().filter(|&&c| c == '\n').count() > 1 {
                return None;
            }
            let sep_like = gap.len() <= 3 && gap.iter().all(|c| SEP_CHARS.contains(c));
            let allowed = !variant.reversed
                && match variant.chars[k].sep_after {
                    Sep::None => false,
                    Sep::Any => sep_like,
                    Sep::Joined => {
                        gap.len() == 1
                            && matches!(gap[0], '-' | '.' | '·' | '\u{2010}'..='\u{2015}')
                    }
                    Sep::Punct => gap.len() <= 4,
                    Sep::Required => sep_like,
                };
            if !allowed {
                split = true;
            }
        }
        if split {
            let spelled = pieces.iter().all(|&(s, e)| s == e) && pieces.len() >= 3;
            let long_enough = at.len() >= if term.rules.is_guarded() { 5 } else { 4 };
            let odd_piece = pieces.iter().any(|&(s, e)| {
                let piece: String = (s..=e)
                    .map(char_of)
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                piece.chars().count() >= 3
                    && !piece.chars().all(|c| c.is_ascii_digit())
                    && !is_common_word(&piece)
            });
            if !(spelled || (long_enough && odd_piece)) {
                return None;
            }
            obfuscated = true;
        }

        let start = view.map[at[0]].0;
        let last = *at.last().expect("a char");
        let core_end = view.map[last].0 + char_of(last).len_utf8();
        let mut begin = start;
        let mut end = core_end;
        let unambiguous = !term.rules.is_guarded() && at.len() >= 4;
        if !is_boundary(char_before(text, start), char_at(text, start)) {
            let prefix = word_before(text, start);
            let glued = self.context.glue_prefixes.contains(&prefix);
            if !(glued || (unambiguous && context::in_identifier(text, start, core_end))) {
                return None;
            }
            if glued {
                begin = start
                    - text[..start]
                        .chars()
                        .rev()
                        .take_while(|c| c.is_alphanumeric())
                        .map(char::len_utf8)
                        .sum::<usize>();
            }
        }
        let mut has_suffix = false;
        let mut model_glue = false;
        if !is_boundary(char_before(text, core_end), char_at(text, core_end)) {
            let rest = word_after(text, core_end);
            let glued = self.context.glue_suffixes.contains(&rest);
            model_glue = glued && MODEL_ENDINGS.contains(&rest.as_str());
            if !(glued || (unambiguous && context::in_identifier(text, start, core_end))) {
                return None;
            }
            if glued {
                end = core_end
                    + text[core_end..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric())
                        .map(char::len_utf8)
                        .sum::<usize>();
            }
        } else if term.rules.version != VersionRule::None {
            end = self.suffix_end(text, core_end);
            has_suffix = end > core_end;
        }
        if term.rules.version == VersionRule::ClaudeTier
            && let Some(s) = context::tier_version_before(text, begin)
        {
            begin = s;
            has_suffix = true;
        }
        Some(Candidate {
            start: begin,
            core_end,
            end,
            term: variant.term,
            obfuscated,
            has_suffix,
            model_glue,
        })
    }

    /// The end of the version suffix at `at` (== `at` when there is none). A suffix whose end
    /// is no boundary gives back what it took ("GPT-4based" -> "GPT-4").
    fn suffix_end(&self, text: &str, at: usize) -> usize {
        let mut limit = (at + 120).min(text.len());
        while !text.is_char_boundary(limit) {
            limit -= 1;
        }
        loop {
            let Some(m) = self.suffix.find(&text[at..limit]) else {
                return at;
            };
            if m.end() == 0 {
                return at;
            }
            let end = at + m.end();
            if is_boundary(char_before(text, end), char_at(text, end)) {
                return end;
            }
            limit = end - char_before(text, end).map_or(1, char::len_utf8);
        }
    }

    /// A candidate on its own merits.
    fn accept(&self, text: &str, c: &Candidate) -> bool {
        let term = &self.terms[c.term];
        if context::denied(
            &term.rules.deny_next,
            &term.rules.deny_prev,
            term.rules.deny_hyphenated,
            text,
            c.start,
            c.core_end,
        ) {
            return false;
        }
        // Hashtags, handles, hosts and paths name an account or a product, not a star sign.
        if c.obfuscated
            || c.model_glue
            || context::in_handle_host_or_path(text, c.start, c.core_end)
        {
            return true;
        }
        let core = &text[c.start..c.core_end];
        let capitalised = core.chars().next().is_some_and(char::is_uppercase);
        if c.has_suffix {
            let suffix = &text[c.core_end..c.end];
            let tier_prefix = !core.chars().next().is_some_and(|ch| ch.is_alphabetic());
            if tier_prefix
                || context::suffix_gives_context(
                    term.rules.version,
                    &term.rules.tiers,
                    suffix,
                    capitalised,
                )
            {
                return true;
            }
        }
        if term.rules.bare == Bare::Always {
            return true;
        }
        if context::self_identifies(&self.context, text, c.start)
            || context::made_by_before(&self.context, text, c.start)
        {
            return true;
        }
        let name_like = capitalised || core.chars().any(|ch| ch.is_ascii_digit());
        if (name_like || !core.is_ascii())
            && !c.has_suffix
            && context::named_after(
                &self.context,
                &term.rules.context_after,
                text,
                c.start,
                c.core_end,
            )
        {
            return true;
        }
        match term.rules.bare {
            Bare::Always => true,
            Bare::Capitalised => capitalised,
            Bare::MidSentence => capitalised && !context::at_sentence_start(text, c.start),
            Bare::Context => false,
        }
    }

    /// Makers give model context to the names next to them ("Google's Gemini", "Gemini from
    /// Google", "google/gemma", "gemini.google.com"), and a guarded model next to a maker makes
    /// both names.
    fn accept_neighbours(&self, text: &str, candidates: &[Candidate], accepted: &mut [bool]) {
        let is_maker = |c: &Candidate| self.terms[c.term].kind.is_maker();
        let denied = |c: &Candidate| {
            let t = &self.terms[c.term];
            context::denied(
                &t.rules.deny_next,
                &t.rules.deny_prev,
                t.rules.deny_hyphenated,
                text,
                c.start,
                c.core_end,
            )
        };
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds < 3 {
            changed = false;
            rounds += 1;
            for i in 0..candidates.len() {
                let c = &candidates[i];
                if denied(c) {
                    continue;
                }
                let mut partners: Vec<usize> = Vec::new();
                let before = context::vendor_end_before(text, c.start);
                let after = context::vendor_start_after(&self.context, text, c.end);
                // Neighbours only: candidates are in text order, and a partner stands within
                // a few bytes, so the scan is bounded.
                let from = candidates.partition_point(|o| o.start + 256 + NEAR < c.start);
                for (j, o) in candidates.iter().enumerate().skip(from) {
                    if o.start > c.end + NEAR {
                        break;
                    }
                    if i == j || o.term == c.term || denied(o) {
                        continue;
                    }
                    let next_to = before == Some(o.end)
                        || after == Some(o.start)
                        || (text[c.end..].starts_with('/') && o.start == c.end + 1);
                    let same_chunk = o.start >= c.end
                        && o.start <= c.end + 1
                        && text[c.end..o.start]
                            .chars()
                            .all(|ch| ch == '.' || ch == '/')
                        || (o.end <= c.start
                            && c.start <= o.end + 1
                            && text[o.end..c.start]
                                .chars()
                                .all(|ch| ch == '.' || ch == '/'));
                    let pair = is_maker(o) != is_maker(c) || same_chunk;
                    if (next_to || same_chunk) && pair && (accepted[j] || !is_maker(c)) {
                        partners.push(j);
                    }
                }
                if partners.is_empty() {
                    continue;
                }
                if !accepted[i] {
                    accepted[i] = true;
                    changed = true;
                }
                for j in partners {
                    if !accepted[j] {
                        accepted[j] = true;
                        changed = true;
                    }
                }
            }
        }
    }
}

/// How far apart a maker and a model may stand and still be "next to" each other.
const NEAR: usize = 48;

/// Glued endings that only a model or its product takes.
const MODEL_ENDINGS: &[&str] = &[
    "ai", "gpt", "llm", "lm", "bot", "bots", "chat", "api", "app", "plus", "pro", "official",
];

/// Whether an HTML-like tag stands between view chars `x` and `y`.
fn tag_between(view: &View, skip: &[(usize, usize)], x: usize, y: usize) -> bool {
    let (from, to) = (view.map[x].0, view.map[y].0);
    let k = skip.partition_point(|&(_, e)| e <= from);
    skip.get(k).is_some_and(|&(s, _)| s < to)
}

/// The view chars strictly between view chars `x` and `y`, outside HTML-like tags.
fn gap_chars(view: &View, skip: &[(usize, usize)], x: usize, y: usize) -> Vec<char> {
    let mut gap = Vec::new();
    for index in x + 1..y {
        let byte = view.map[index].0;
        let k = skip.partition_point(|&(_, e)| e <= byte);
        if skip.get(k).is_some_and(|&(s, _)| s <= byte) {
            continue;
        }
        if let Some(c) = view.text[byte..].chars().next() {
            gap.push(c);
        }
    }
    gap
}

/// `HARD_BREAK` is never part of a pattern.
const _: () = assert!(HARD_BREAK == '\0');
