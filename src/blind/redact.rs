//! Redaction of identifying text before packets are written, and the leak gate's scanner after.
//!
//! Blinding fails if a rater can tell which model or scaffold produced a transcript. Two things
//! give it away in the text itself: names (the model calling itself "Claude", a vendor, a version
//! string, a study alias) and an assistant quoting its hidden system prompt, which reveals the
//! condition. [`Redactor`] replaces both in every user-visible turn; [`scan`] then checks every
//! written packet file (HTML, CSV, JSON) for every identifying string the study knows, so that a
//! miss stops the tool instead of reaching raters.
//!
//! # Matching
//! Both work on a normalised view of the text: Unicode NFKC (full-width "Ｃｌａｕｄｅ" reads as
//! "Claude", "ﬁ" as "fi"), default-ignorable code points removed (zero-width space, joiner and
//! non-joiner, soft hyphen, BOM, variation selectors, bidi controls, so "Cl\u{200B}aude" reads
//! as "Claude"), `_` read as `-`. Each normalised char remembers the original bytes it came from,
//! so a match is spliced into the *original* text and everything else survives byte for byte
//! ("x²" and "ﬁ" outside matches are not normalised). Matching is case-insensitive except where
//! case is the only thing telling a name from a word ("Meta" vs "meta", "MiniMax" vs "minimax").
//! A name matches between word boundaries, where a boundary is anything but two ASCII letters
//! (other than lowercase then uppercase) or two ASCII digits side by side: "Claude's",
//! "_Claude_", "ClaudeAI" and "我是Claude" (CJK next to Latin) match, "Claudette" does not. Multi-part names match with any separator between their
//! parts (space, hyphen, dot, underscore, none), and model names swallow a version suffix
//! ("-4o", " 3.5 Sonnet", "-2024-08-06", "-8B-Instruct", " v2") into the same placeholder. The
//! longest match wins.
//!
//! Homoglyphs (Cyrillic "а" for Latin "a" and the like) are out of scope: NFKC does not fold
//! them, and folding confusables would need a table this crate does not carry.
//!
//! # Ordinary words
//! Over-redacting an unambiguous name is harmless; destroying ordinary English is not. Names
//! that are also words ("meta", "haiku", "grok", "nova", "falcon", "command", "pi", "o1") are
//! guarded as the built-in lexicon says ([`crate::blind::lexicon`]): they match only in model
//! context (a version such as "Sonnet 4.5", a vendor before them as in "Google's Gemini",
//! self-identification "I'm Gemini", a model noun after them as in "Gemini, an AI assistant",
//! or a vendor after "by"/"from"), or when capitalised for vendors such as "Meta" (not before
//! "-analysis", "data", ...). Caller terms that are single ordinary words ("alpha") are guarded
//! the same way, except `Category::Extra` terms (the study's own `[blinding] redact` list),
//! which are taken literally.
//!
//! # System-prompt quotes
//! In assistant turns, a run of at least [`QuoteRule::min_words`] consecutive words (lowercase,
//! punctuation-insensitive, across line breaks) found in any scaffold's system prompt is replaced
//! by one `[INSTRUCTIONS]`; runs separated by at most [`QuoteRule::max_gap_words`] words merge,
//! so a lightly edited copy still becomes one placeholder. Whole distinctive sentences of the
//! prompt ([`distinctive_sentences`], which may be shorter) are replaced too, so that the leak
//! gate, which scans for those sentences, never finds what the redactor deliberately kept. User
//! turns are never touched by this rule.
//!
//! # Scanning packet files
//! [`scan`] decodes the file before matching, keeping the mapping to the file's own lines and
//! columns: JSON string escapes (`\"`, `\n`, `\u00e9`, surrogate pairs) and then HTML character
//! references (`&amp;`, `&#39;`, `&#x2019;`, `&nbsp;`, the Latin-1 names and common
//! punctuation names). Decoding both in every file can add hits but not hide one: in a CSV
//! file a literal "&#67;laude" is read as "Claude" although a rater would see the entity. CSV
//! needs no decoding of its own (doubled quotes are punctuation). Names are matched in the decoded text
//! including tag attributes; sentences are matched both with and without the text inside HTML
//! tags, so a `<br>` in the middle of a quoted sentence does not hide it.

use crate::blind::lexicon::{self, Bare, Category, LexiconEntry, Placeholder, VersionRule};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

// ---------------------------------------------------------------------------------------------
// Public types.
// ---------------------------------------------------------------------------------------------

/// Author of a turn; only assistant turns get the system-prompt quote rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnRole {
    User,
    Assistant,
}

/// An identifying string supplied by the caller (study aliases, model names, provider-reported
/// versions, vendor names, the `[blinding] redact` list, the simulated models' identity terms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub text: String,
    pub placeholder: Placeholder,
    pub category: Category,
}

impl Term {
    pub fn new(text: impl Into<String>, placeholder: Placeholder, category: Category) -> Term {
        Term {
            text: text.into(),
            placeholder,
            category,
        }
    }
}

/// A redacted turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    pub text: String,
    /// Name placeholders inserted, per category.
    pub counts: BTreeMap<Category, u32>,
    /// `[INSTRUCTIONS]` placeholders inserted.
    pub quoted_instructions: u32,
}

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

/// Caller terms that were not used as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TermWarning {
    /// No letters or digits: nothing to match.
    NoWords { text: String },
    /// A single ordinary word: redacted only in model context (see [`lexicon::is_ordinary_word`]).
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
                 (\"I'm {text}\", \"{text} 2\", \"{text}, an AI ...\"); a distinctive id is safer"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("quote window must be at least 2 words, got {0}")]
    QuoteWindow(usize),
    #[error("term {term:?} cannot be compiled: {source}")]
    Pattern {
        term: String,
        #[source]
        source: regex::Error,
    },
}

/// What a leak-gate needle is. Every category but `SystemPromptSentence` is matched as a name:
/// case-insensitive, any separator between its parts ("sim-alpha" finds "Sim Alpha",
/// "SIM_ALPHA", "simalpha"), between word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedleCategory {
    ModelId,
    ModelName,
    ModelVersion,
    Provider,
    Vendor,
    ScaffoldId,
    /// Matched as a word sequence, ignoring case, whitespace and punctuation.
    SystemPromptSentence,
    Extra,
}

impl std::fmt::Display for NeedleCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NeedleCategory::ModelId => "model id",
            NeedleCategory::ModelName => "model name",
            NeedleCategory::ModelVersion => "model version",
            NeedleCategory::Provider => "provider",
            NeedleCategory::Vendor => "vendor",
            NeedleCategory::ScaffoldId => "scaffold id",
            NeedleCategory::SystemPromptSentence => "system-prompt sentence",
            NeedleCategory::Extra => "extra redaction term",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needle {
    pub text: String,
    pub category: NeedleCategory,
}

impl Needle {
    pub fn new(text: impl Into<String>, category: NeedleCategory) -> Needle {
        Needle {
            text: text.into(),
            category,
        }
    }
}

/// One occurrence of a needle in a scanned file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// Index into the needles given to the scanner.
    pub needle: usize,
    pub needle_text: String,
    pub category: NeedleCategory,
    /// 1-based line in the file as written.
    pub line: usize,
    /// 1-based column in Unicode scalar values, in the file as written (before decoding).
    pub column: usize,
    /// Up to 40 chars either side, the match between ⟦ and ⟧, line breaks shown as ⏎.
    pub context: String,
}

// ---------------------------------------------------------------------------------------------
// The normalised view.
// ---------------------------------------------------------------------------------------------

/// A char and the original byte range it stands for.
type Unit = (char, usize, usize);

/// Normalised text with, for each of its chars, the original bytes it came from.
struct View {
    text: String,
    /// Per char of `text`: (byte offset in `text`, original start, original end).
    map: Vec<(usize, usize, usize)>,
}

impl View {
    fn of_plain(text: &str) -> View {
        normalise(&units_of(text))
    }

    /// Packet files: JSON escapes, then HTML character references, then normalisation.
    fn of_packet(text: &str) -> View {
        normalise(&decode_entities(&decode_json_escapes(&units_of(text))))
    }

    /// The original byte range behind the view's byte range `start..end` (non-empty).
    fn original(&self, start: usize, end: usize) -> (usize, usize) {
        let first = self.map.partition_point(|m| m.0 < start);
        let last = self.map.partition_point(|m| m.0 < end).saturating_sub(1);
        (self.map[first].1, self.map[last.max(first)].2)
    }
}

fn units_of(s: &str) -> Vec<Unit> {
    s.char_indices()
        .map(|(i, c)| (c, i, i + c.len_utf8()))
        .collect()
}

/// Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt): invisible when rendered,
/// so they can split a name without the rater noticing.
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// NFKC per grapheme-ish cluster (a starter and the combining marks after it), dropping
/// default-ignorables and reading `_` as `-`. Each output char maps to its cluster's original
/// bytes, so a match never splits an original char.
fn normalise(input: &[Unit]) -> View {
    let mut text = String::with_capacity(input.len());
    let mut map = Vec::with_capacity(input.len());
    let mut push = |c: char, s: usize, e: usize| {
        let c = if c == '_' { '-' } else { c };
        map.push((text.len(), s, e));
        text.push(c);
    };
    let mut cluster = String::new();
    let mut i = 0;
    while i < input.len() {
        let (c, start, mut end) = input[i];
        i += 1;
        if is_default_ignorable(c) {
            continue;
        }
        let next_is_mark = input
            .get(i)
            .is_some_and(|n| !n.0.is_ascii() && canonical_combining_class(n.0) != 0);
        if c.is_ascii() && !next_is_mark {
            push(c, start, end);
            continue;
        }
        cluster.clear();
        cluster.push(c);
        while let Some(&(n, _, n_end)) = input.get(i) {
            if canonical_combining_class(n) == 0 || is_default_ignorable(n) {
                break;
            }
            cluster.push(n);
            end = n_end;
            i += 1;
        }
        for out in cluster.nfkc() {
            push(out, start, end);
        }
    }
    View { text, map }
}

/// Decodes JSON string escapes; anything that is not a valid escape stays as it is.
fn decode_json_escapes(input: &[Unit]) -> Vec<Unit> {
    let hex4 = |at: usize| -> Option<u32> {
        let digits: String = input.get(at..at + 4)?.iter().map(|u| u.0).collect();
        if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&digits, 16).ok()
        } else {
            None
        }
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let (c, start, end) = input[i];
        if c == '\\'
            && let Some(&(n, _, n_end)) = input.get(i + 1)
        {
            let simple = match n {
                '"' => Some('"'),
                '\\' => Some('\\'),
                '/' => Some('/'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                _ => None,
            };
            if let Some(d) = simple {
                out.push((d, start, n_end));
                i += 2;
                continue;
            }
            if n == 'u'
                && let Some(unit) = hex4(i + 2)
            {
                if (0xD800..0xDC00).contains(&unit) {
                    let low = (input.get(i + 6).map(|u| u.0) == Some('\\')
                        && input.get(i + 7).map(|u| u.0) == Some('u'))
                    .then(|| hex4(i + 8))
                    .flatten()
                    .filter(|lo| (0xDC00..0xE000).contains(lo));
                    if let Some(lo) = low {
                        let cp = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
                        let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                        out.push((ch, start, input[i + 11].2));
                        i += 12;
                        continue;
                    }
                }
                let ch = char::from_u32(unit).unwrap_or('\u{FFFD}');
                out.push((ch, start, input[i + 5].2));
                i += 6;
                continue;
            }
        }
        out.push((c, start, end));
        i += 1;
    }
    out
}

/// HTML named references for U+00A0..=U+00FF, in code point order.
const LATIN1_ENTITIES: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

const OTHER_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("thinsp", '\u{2009}'),
    ("zwnj", '\u{200C}'),
    ("zwj", '\u{200D}'),
    ("lrm", '\u{200E}'),
    ("rlm", '\u{200F}'),
    ("hyphen", '\u{2010}'),
    ("dash", '\u{2010}'),
    ("ndash", '\u{2013}'),
    ("mdash", '\u{2014}'),
    ("lsquo", '\u{2018}'),
    ("rsquo", '\u{2019}'),
    ("sbquo", '\u{201A}'),
    ("ldquo", '\u{201C}'),
    ("rdquo", '\u{201D}'),
    ("bdquo", '\u{201E}'),
    ("bull", '\u{2022}'),
    ("hellip", '\u{2026}'),
    ("prime", '\u{2032}'),
    ("Prime", '\u{2033}'),
    ("lsaquo", '\u{2039}'),
    ("rsaquo", '\u{203A}'),
    ("euro", '\u{20AC}'),
    ("trade", '\u{2122}'),
    ("larr", '\u{2190}'),
    ("uarr", '\u{2191}'),
    ("rarr", '\u{2192}'),
    ("darr", '\u{2193}'),
    ("harr", '\u{2194}'),
    ("minus", '\u{2212}'),
    ("nbhy", '\u{2011}'),
    ("NewLine", '\n'),
    ("Tab", '\t'),
    ("period", '.'),
    ("lowbar", '_'),
    ("UnderBar", '_'),
    ("colon", ':'),
    ("comma", ','),
    ("apostrophe", '\''),
];

fn entity_char(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    if let Some(i) = LATIN1_ENTITIES.iter().position(|&n| n == name) {
        return char::from_u32(0xA0 + i as u32);
    }
    OTHER_ENTITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, c)| c)
}

/// Decodes HTML character references (`&name;`, `&#39;`, `&#x2019;`); unknown ones stay.
fn decode_entities(input: &[Unit]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    'outer: while i < input.len() {
        let (c, start, end) = input[i];
        if c == '&' {
            let mut name = String::new();
            for (k, &(n, _, n_end)) in input.iter().enumerate().skip(i + 1).take(33) {
                if n == ';' {
                    if let Some(decoded) = entity_char(&name) {
                        out.push((decoded, start, n_end));
                        i = k + 1;
                        continue 'outer;
                    }
                    break;
                }
                if !(n.is_ascii_alphanumeric() || (n == '#' && name.is_empty())) {
                    break;
                }
                name.push(n);
            }
        }
        out.push((c, start, end));
        i += 1;
    }
    out
}

/// Decodes HTML character references in `s` (as [`scan`] does before matching).
pub fn unescape_html_entities(s: &str) -> String {
    decode_entities(&units_of(s))
        .into_iter()
        .map(|u| u.0)
        .collect()
}

/// Decodes JSON string escapes in `s` (as [`scan`] does before matching); invalid escapes stay.
pub fn unescape_json_escapes(s: &str) -> String {
    decode_json_escapes(&units_of(s))
        .into_iter()
        .map(|u| u.0)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Boundaries and words.
// ---------------------------------------------------------------------------------------------

/// Two ASCII letters or two ASCII digits side by side are inside one word, unless a lowercase
/// letter meets an uppercase one; anything else is a boundary. So "GPT4" splits as "GPT" + "4",
/// "ClaudeAI" and "\\nClaude" (a literal backslash-n) contain "Claude", CJK next to Latin is a
/// boundary, and "Claudette" is one word.
fn is_boundary(before: Option<char>, after: Option<char>) -> bool {
    match (before, after) {
        (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            a.is_ascii_digit() != b.is_ascii_digit()
                || (a.is_ascii_lowercase() && b.is_ascii_uppercase())
        }
        _ => true,
    }
}

fn at_boundaries(text: &str, start: usize, end: usize) -> bool {
    let matched = &text[start..end];
    is_boundary(text[..start].chars().next_back(), matched.chars().next())
        && is_boundary(matched.chars().next_back(), text[end..].chars().next())
}

/// The first match at or after `at` that lies between boundaries, as (start, end, suffix start).
/// A match whose end is no boundary is retried on a haystack cut just before its end, so the
/// greedy version suffix gives back what it took ("GPT-4based" -> "GPT-4"); a match whose start
/// is no boundary is skipped one char at a time, so a rejected match cannot hide a later one.
fn find_at(regex: &Regex, text: &str, mut at: usize) -> Option<(usize, usize, usize)> {
    while at <= text.len() {
        let caps = regex.captures_at(text, at)?;
        let whole = caps.get(0).expect("group 0");
        let start = whole.start();
        let starts_clear = is_boundary(
            text[..start].chars().next_back(),
            text[start..].chars().next(),
        );
        if starts_clear {
            let mut caps = Some(caps);
            while let Some(c) = caps {
                let m = c.get(0).expect("group 0");
                if m.start() != start || m.start() == m.end() {
                    break;
                }
                if at_boundaries(text, m.start(), m.end()) {
                    let suffix_start = c.name("suffix").map_or(m.end(), |s| s.start());
                    return Some((m.start(), m.end(), suffix_start));
                }
                let cut = m.end()
                    - text[..m.end()]
                        .chars()
                        .next_back()
                        .map_or(1, char::len_utf8);
                caps = regex.captures_at(&text[..cut], start);
            }
        }
        at = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// A word: a maximal run of alphanumeric chars, lowercased.
struct Word {
    start: usize,
    end: usize,
    text: String,
}

fn words_of(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for_each_word(text, |start, end| {
        words.push(Word {
            start,
            end,
            text: text[start..end].to_lowercase(),
        })
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

// ---------------------------------------------------------------------------------------------
// Patterns.
// ---------------------------------------------------------------------------------------------

/// Between the parts of a multi-part name: hyphen (any Unicode hyphen or dash), dot, middle
/// dot, one or two spaces, or nothing. `_` is already `-` in the view.
const SEP: &str = r"(?:[-.·\x{2010}-\x{2015}]|[ \t]{1,2})?";
/// Between camel-case parts ("SimAlpha"): no space, so "OpenAI" does not become "open AI".
const CAMEL_SEP: &str = r"(?:[-.·\x{2010}-\x{2015}])?";
/// Between parts that the term separated with other punctuation ("Example Labs, Inc.").
const PUNCT_SEP: &str = r"[^\p{L}\p{N}]{1,4}";

/// Joins a suffix token to what came before without a space ("-4o", ".1", ":8b", "@2024").
const JOIN: &str = r"[-.·:@\x{2010}-\x{2015}]";
const SPACE: &str = r"[ \t]{1,2}";
/// A version or size: "4", "4o", "3.5", "8x7b", "70b", "128k", "v0.1", "20241022".
const VER: &str = r"v?[0-9]+(?:[.x][0-9]+)*[a-z]{0,2}";
/// A letter-led version: "r1", "k2", "m1", "v3".
const LETTER_VER: &str = r"[a-z][0-9]+(?:\.[0-9]+)*[a-z]?";

/// Words that continue a hyphenated or dotted model id ("gpt-4o-mini", "gemma-2-9b-it").
const ID_WORDS: &[&str] = &[
    "mini",
    "nano",
    "micro",
    "turbo",
    "preview",
    "instruct",
    "chat",
    "it",
    "hf",
    "base",
    "latest",
    "exp",
    "experimental",
    "vision",
    "flash",
    "pro",
    "ultra",
    "lite",
    "large",
    "medium",
    "small",
    "tiny",
    "plus",
    "max",
    "opus",
    "sonnet",
    "haiku",
    "instant",
    "omni",
    "coder",
    "code",
    "reasoner",
    "reasoning",
    "thinking",
    "high",
    "low",
    "online",
    "search",
    "audio",
    "realtime",
    "distill",
    "express",
    "premier",
    "embed",
    "embedding",
    "text",
    "sonar",
    "expanse",
    "lightning",
    "air",
    "heavy",
    "fast",
    "research",
    "deep",
    "beta",
    "nemo",
    "guard",
    "codex",
    "oss",
    "image",
    "edge",
    "core",
    "spark",
    "next",
    "qwen",
    "llama",
    "ai",
    "gguf",
    "awq",
    "gptq",
    "fp8",
    "int4",
    "int8",
    "bf16",
    "scout",
    "maverick",
    "cli",
    "live",
    "advanced",
    "math",
    "prover",
    "vl",
    "moe",
    "dev",
];

/// Words that continue a model name after a space in any case ("Claude 3.5 sonnet", "GPT-4o mini").
const SPACE_WORDS_ANY_CASE: &[&str] = &[
    "opus", "sonnet", "haiku", "turbo", "instruct", "mini", "nano",
];

/// Words that continue a model name after a space only when capitalised ("Gemini Pro",
/// "ChatGPT Plus", "Claude Code"), so "GPT-4 plus a calculator" keeps its "plus".
const SPACE_WORDS_CAPITALISED: &[&str] = &[
    "Pro",
    "Flash",
    "Ultra",
    "Lite",
    "Plus",
    "Max",
    "Large",
    "Medium",
    "Small",
    "Tiny",
    "Instant",
    "Preview",
    "Vision",
    "Omni",
    "Coder",
    "Code",
    "Chat",
    "Thinking",
    "Reasoner",
    "Reasoning",
    "Advanced",
    "Live",
    "Heavy",
    "Expanse",
    "Sonar",
    "Premier",
    "Micro",
    "Express",
    "Air",
    "Guard",
    "Nemo",
    "Codex",
    "Scout",
    "Maverick",
    "Edge",
    "Core",
    "Spark",
    "Experimental",
    "Realtime",
    "Audio",
    "Beta",
    "CLI",
    "Next",
];

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The version suffix a model name swallows, with the entry's own tier words added.
fn suffix_pattern(tiers: &[&str]) -> String {
    let escape_all = |words: &mut dyn Iterator<Item = String>| -> String {
        words
            .map(|w| regex::escape(&w))
            .collect::<Vec<_>>()
            .join("|")
    };
    let id_words = escape_all(&mut ID_WORDS.iter().chain(tiers).map(|w| w.to_string()));
    let any_case = escape_all(&mut SPACE_WORDS_ANY_CASE.iter().map(|w| w.to_string()));
    let capitalised = escape_all(
        &mut SPACE_WORDS_CAPITALISED
            .iter()
            .map(|w| w.to_string())
            .chain(tiers.iter().map(|t| capitalise(t))),
    );
    // No boundary assertion per token: boundaries are checked in code (see `find_at`), since a
    // letter next to a digit is a boundary here but not for the regex engine's `\b`.
    format!(
        "(?:{JOIN}?{VER}|(?:{JOIN}|{SPACE}){LETTER_VER}|{JOIN}(?:{id_words})|{SPACE}{VER}\
         |{SPACE}(?:{any_case}|(?-i:{capitalised})))*"
    )
}

/// How a part of a caller term is joined to the previous part.
#[derive(Clone, Copy, PartialEq)]
enum Joint {
    Separator,
    Camel,
    Punctuation,
}

/// Splits a term into its parts: runs of letters and digits, further split at camel-case humps
/// ("SimAlpha") and letter-to-digit steps ("gpt4o" -> "gpt", "4o").
fn term_parts(text: &str) -> Vec<(Joint, String)> {
    let view = View::of_plain(text);
    let mut parts: Vec<(Joint, String)> = Vec::new();
    let mut gap = String::new();
    let mut current = String::new();
    let mut joint = Joint::Separator;
    let mut previous: Option<char> = None;
    for c in view.text.chars() {
        if c.is_alphanumeric() {
            if let Some(p) = previous
                && !current.is_empty()
            {
                let camel = p.is_lowercase() && c.is_uppercase();
                let digit_step = p.is_alphabetic() && c.is_numeric();
                if camel || digit_step {
                    parts.push((joint, std::mem::take(&mut current)));
                    joint = if camel {
                        Joint::Camel
                    } else {
                        Joint::Separator
                    };
                }
            }
            if current.is_empty() && !gap.is_empty() {
                // One separator char allows any separator (or none); anything longer ("Labs, Inc",
                // "A - B") allows any short run of non-alphanumerics.
                let one_separator = gap.chars().count() == 1
                    && gap.chars().all(|g| {
                        matches!(g, ' ' | '\t' | '-' | '.' | '·' | '\u{2010}'..='\u{2015}')
                    });
                joint = if one_separator {
                    Joint::Separator
                } else {
                    Joint::Punctuation
                };
                gap.clear();
            }
            current.push(c);
            previous = Some(c);
        } else {
            if !current.is_empty() {
                parts.push((joint, std::mem::take(&mut current)));
            }
            if !parts.is_empty() {
                gap.push(c);
            }
            previous = None;
        }
    }
    if !current.is_empty() {
        parts.push((joint, current));
    }
    parts
}

fn parts_pattern(parts: &[(Joint, String)]) -> String {
    let mut pattern = String::new();
    for (i, (joint, part)) in parts.iter().enumerate() {
        if i > 0 {
            pattern.push_str(match joint {
                Joint::Separator => SEP,
                Joint::Camel => CAMEL_SEP,
                Joint::Punctuation => PUNCT_SEP,
            });
        }
        pattern.push_str(&regex::escape(part));
    }
    pattern
}

// ---------------------------------------------------------------------------------------------
// The redactor.
// ---------------------------------------------------------------------------------------------

/// When and how one name is redacted.
#[derive(Debug, Clone)]
struct RuleSpec {
    placeholder: Placeholder,
    category: Category,
    bare: Bare,
    version: VersionRule,
    tiers: &'static [&'static str],
    deny_next: &'static [&'static str],
    deny_prev: &'static [&'static str],
    deny_hyphenated: bool,
}

impl RuleSpec {
    fn of_entry(e: &LexiconEntry) -> RuleSpec {
        RuleSpec {
            placeholder: e.placeholder,
            category: e.category,
            bare: e.bare,
            version: e.version,
            tiers: e.tiers,
            deny_next: e.deny_next,
            deny_prev: e.deny_prev,
            deny_hyphenated: e.deny_hyphenated,
        }
    }
}

#[derive(Debug)]
struct Rule {
    /// The full pattern (name and version suffix), compiled on first use: most turns trigger
    /// few rules, and compiling all of them costs ~0.1 s.
    regex: OnceLock<Regex>,
    source: String,
    spec: RuleSpec,
}

impl Rule {
    fn regex(&self) -> &Regex {
        // Built-in patterns are covered by a test that compiles them all; caller terms are
        // compiled eagerly in `Redactor::with_quote_rule`, so this cannot fail on user data.
        self.regex
            .get_or_init(|| Regex::new(&self.source).expect("pattern compiled before"))
    }
}

/// A match of one rule, in view bytes.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: usize,
    end: usize,
    rule: usize,
    /// Where the version suffix starts (== `end` when there is none).
    suffix_start: usize,
}

/// The system prompts' word n-grams and short distinctive sentences, as word ids.
#[derive(Debug)]
struct QuoteIndex {
    rule: QuoteRule,
    vocabulary: HashMap<String, u32>,
    windows: HashSet<Box<[u32]>>,
    sentences: Vec<Box<[u32]>>,
}

const NO_WORD: u32 = u32::MAX;

impl QuoteIndex {
    fn new<S: AsRef<str>>(prompts: &[S], rule: QuoteRule) -> QuoteIndex {
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
                *self.vocabulary.entry(w.text).or_insert(next)
            })
            .collect()
    }

    /// Quoted spans in view bytes; words inside `blocked` spans (existing placeholders) never
    /// count as quoted.
    fn find(&self, text: &str, blocked: &[(usize, usize)]) -> Vec<(usize, usize)> {
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

/// Redacts names and system-prompt quotes from turns; build once per study.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// The rules' patterns without suffixes, to skip rules that cannot match a turn.
    prefilter: RegexSet,
    quotes: QuoteIndex,
    warnings: Vec<TermWarning>,
    model_noun_after: Regex,
    vendor_after: Regex,
}

impl Redactor {
    /// The built-in lexicon plus `extra` terms, with quotes of `system_prompts` recognised by the
    /// default [`QuoteRule`].
    pub fn new<S: AsRef<str>>(
        extra: &[Term],
        system_prompts: &[S],
    ) -> Result<Redactor, RedactError> {
        Redactor::with_quote_rule(extra, system_prompts, QuoteRule::default())
    }

    pub fn with_quote_rule<S: AsRef<str>>(
        extra: &[Term],
        system_prompts: &[S],
        quote_rule: QuoteRule,
    ) -> Result<Redactor, RedactError> {
        if quote_rule.min_words < 2 {
            return Err(RedactError::QuoteWindow(quote_rule.min_words));
        }
        let mut cores: Vec<String> = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut add = |label: &str, core: String, spec: RuleSpec, eager: bool| {
            let suffix = match spec.version {
                VersionRule::None => String::new(),
                _ => format!("(?P<suffix>{})", suffix_pattern(spec.tiers)),
            };
            let source = format!("(?i)(?:{core}){suffix}");
            let regex = OnceLock::new();
            if eager {
                let compiled = Regex::new(&source).map_err(|source| RedactError::Pattern {
                    term: label.to_string(),
                    source,
                })?;
                let _ = regex.set(compiled);
            }
            cores.push(format!("(?i){core}"));
            rules.push(Rule {
                regex,
                source,
                spec,
            });
            Ok::<(), RedactError>(())
        };
        for entry in lexicon::BUILTIN {
            let core = entry.pattern.replace('~', SEP);
            add(entry.name, core, RuleSpec::of_entry(entry), false)?;
        }
        let mut warnings = Vec::new();
        let mut seen = HashSet::new();
        for term in extra {
            let parts = term_parts(&term.text);
            if parts.is_empty() {
                warnings.push(TermWarning::NoWords {
                    text: term.text.clone(),
                });
                continue;
            }
            let ordinary = term.category != Category::Extra
                && parts.len() == 1
                && lexicon::is_ordinary_word(term.text.trim());
            if ordinary {
                warnings.push(TermWarning::OrdinaryWord {
                    text: term.text.clone(),
                });
            }
            let takes_version = matches!(
                term.category,
                Category::ModelName | Category::ModelVersion | Category::StudyAlias
            );
            let core = parts_pattern(&parts);
            let spec = RuleSpec {
                placeholder: term.placeholder,
                category: term.category,
                bare: if ordinary { Bare::Never } else { Bare::Always },
                version: match (takes_version, ordinary) {
                    (false, _) => VersionRule::None,
                    (true, false) => VersionRule::Any,
                    (true, true) => VersionRule::Joined,
                },
                tiers: &[],
                deny_next: &[],
                deny_prev: &[],
                deny_hyphenated: false,
            };
            if seen.insert((core.clone(), term.placeholder, term.category, ordinary)) {
                add(&term.text, core, spec, true)?;
            }
        }
        let prefilter = RegexSet::new(&cores).map_err(|source| RedactError::Pattern {
            term: "(all terms)".to_string(),
            source,
        })?;
        Ok(Redactor {
            rules,
            prefilter,
            quotes: QuoteIndex::new(system_prompts, quote_rule),
            warnings,
            model_noun_after: Regex::new(
                r"(?i)^,?[ \t]+(?:(?:a|an|the)[ \t]+)?(?:large[ \t]+language[ \t]+models?|language[ \t]+models?|ai[ \t]+(?:assistant|model|chatbot)s?|llms?|chatbots?|assistants?|models?|ai|api|app)(?-u:\b)",
            )
            .expect("constant pattern"),
            vendor_after: Regex::new(
                r"(?i)^,?[ \t]+(?:(?:made|built|developed|created|trained|released|designed|produced|launched)[ \t]+)?(?:by|from)[ \t]+",
            )
            .expect("constant pattern"),
        })
    }

    /// Caller terms that were skipped or guarded.
    pub fn warnings(&self) -> &[TermWarning] {
        &self.warnings
    }

    /// Replaces names and (in assistant turns) system-prompt quotes with placeholders.
    ///
    /// Repeated until nothing more matches: removing one name can change the context of
    /// another ("Haiku4o4.5" hides "Haiku4" until "o4.5" is gone), and redacting a redacted turn
    /// must change nothing. Each round only replaces text outside placeholders, so this ends.
    pub fn redact(&self, text: &str, role: TurnRole) -> Redacted {
        const MAX_ROUNDS: usize = 8;
        let mut result = self.redact_once(text, role == TurnRole::Assistant);
        for _ in 1..MAX_ROUNDS {
            if result.counts.is_empty() && result.quoted_instructions == 0 {
                break;
            }
            let next = self.redact_once(&result.text, false);
            if next.counts.is_empty() && next.quoted_instructions == 0 {
                break;
            }
            for (category, n) in next.counts {
                *result.counts.entry(category).or_insert(0) += n;
            }
            result.quoted_instructions += next.quoted_instructions;
            result.text = next.text;
        }
        result
    }

    /// One round; `quotes` is false after the first round, which cannot leave a quote behind
    /// (placeholders only break runs of prompt words).
    fn redact_once(&self, text: &str, quotes: bool) -> Redacted {
        let view = View::of_plain(text);
        let existing = placeholder_spans(&view.text);

        let quoted: Vec<(usize, usize)> = match quotes {
            true => self
                .quotes
                .find(&view.text, &existing)
                .into_iter()
                .map(|(s, e)| view.original(s, e))
                .collect(),
            false => Vec::new(),
        };

        let mut spans: Vec<(usize, usize, Placeholder, Option<Category>)> = quoted
            .iter()
            .map(|&(s, e)| (s, e, Placeholder::Instructions, None))
            .collect();
        for c in self.accepted(&view.text, &existing) {
            let (s, e) = view.original(c.start, c.end);
            if quoted.iter().any(|&(qs, qe)| s < qe && qs < e) {
                continue;
            }
            let spec = &self.rules[c.rule].spec;
            spans.push((s, e, spec.placeholder, Some(spec.category)));
        }
        spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));

        let mut out = String::with_capacity(text.len());
        let mut counts = BTreeMap::new();
        let mut quoted_instructions = 0;
        let mut at = 0;
        for (s, e, placeholder, category) in spans {
            if s < at {
                continue;
            }
            out.push_str(&text[at..s]);
            out.push_str(placeholder.as_str());
            match category {
                Some(c) => *counts.entry(c).or_insert(0) += 1,
                None => quoted_instructions += 1,
            }
            at = e;
        }
        out.push_str(&text[at..]);
        Redacted {
            text: out,
            counts,
            quoted_instructions,
        }
    }

    /// Accepted, non-overlapping name matches in view bytes, in text order.
    fn accepted(&self, text: &str, existing: &[(usize, usize)]) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for rule_index in self.prefilter.matches(text).iter() {
            let rule = &self.rules[rule_index];
            let mut at = 0;
            while let Some((start, end, suffix_start)) = find_at(rule.regex(), text, at) {
                if !existing.iter().any(|&(s, e)| start < e && s < end) {
                    candidates.push(Candidate {
                        start,
                        end,
                        rule: rule_index,
                        suffix_start,
                    });
                }
                at = end;
            }
        }

        // Vendors give model context to guarded names next to them ("Google's Gemini"), so
        // decide in two rounds: first on each match's own merits, then with the vendors found.
        let mut accepted = vec![false; candidates.len()];
        for (i, c) in candidates.iter().enumerate() {
            accepted[i] = self.accept(text, c, None);
        }
        let mut vendor_ends: Vec<usize> = Vec::new();
        let mut vendor_starts: Vec<usize> = Vec::new();
        let mut model_starts: Vec<usize> = Vec::new();
        for (c, _) in candidates.iter().zip(&accepted).filter(|(_, a)| **a) {
            match self.rules[c.rule].spec.placeholder {
                Placeholder::Company => {
                    vendor_ends.push(c.end);
                    vendor_starts.push(c.start);
                }
                _ => model_starts.push(c.start),
            }
        }
        for &(s, e) in existing {
            if &text[s..e] == Placeholder::Company.as_str() {
                vendor_ends.push(e);
                vendor_starts.push(s);
            }
        }
        if !vendor_ends.is_empty() || !model_starts.is_empty() {
            let vendors = Vendors {
                ends: &vendor_ends,
                starts: &vendor_starts,
                model_starts: &model_starts,
            };
            for (i, c) in candidates.iter().enumerate() {
                if !accepted[i] {
                    accepted[i] = self.accept(text, c, Some(&vendors));
                }
            }
        }

        let mut kept: Vec<Candidate> = candidates
            .into_iter()
            .zip(accepted)
            .filter_map(|(c, a)| a.then_some(c))
            .collect();
        kept.sort_by_key(|c| (std::cmp::Reverse(c.end - c.start), c.start, c.rule));
        let mut chosen: Vec<Candidate> = Vec::with_capacity(kept.len());
        for c in kept {
            if !chosen.iter().any(|o| c.start < o.end && o.start < c.end) {
                chosen.push(c);
            }
        }
        chosen.sort_by_key(|c| c.start);
        chosen
    }

    fn accept(&self, text: &str, c: &Candidate, vendors: Option<&Vendors>) -> bool {
        let spec = &self.rules[c.rule].spec;
        let core = &text[c.start..c.suffix_start];
        let suffix = &text[c.suffix_start..c.end];
        let capitalised = core.chars().next().is_some_and(char::is_uppercase);
        if suffix_gives_context(spec, suffix, capitalised) {
            return true;
        }
        // Context words count for the bare name only: "Falcon 9 model rocket" is no model name.
        let name_like =
            suffix.is_empty() && (capitalised || core.chars().any(|ch| ch.is_ascii_digit()));
        if let Some(vendors) = vendors {
            let hub_owner = spec.placeholder == Placeholder::Company
                && text[c.end..].starts_with('/')
                && vendors.model_starts.contains(&(c.end + 1));
            let after_vendor =
                vendor_end_before(text, c.start).is_some_and(|end| vendors.ends.contains(&end));
            let vendor_follows = name_like
                && self
                    .vendor_after
                    .find(&text[c.end..])
                    .is_some_and(|m| vendors.starts.contains(&(c.end + m.end())));
            return hub_owner || after_vendor || vendor_follows;
        }
        // "Meta model(s)" at the start of a sentence is the prefix, even before a model noun.
        if denied(spec, text, c) {
            return false;
        }
        if name_like
            && (self_identifies_before(text, c.start)
                || self.model_noun_after.is_match(&text[c.end..]))
        {
            return true;
        }
        match spec.bare {
            Bare::Always => true,
            Bare::Capitalised => capitalised,
            Bare::CapitalisedMidSentence => capitalised && !at_sentence_start(text, c.start),
            Bare::Never => false,
        }
    }

    /// The redaction rules' count (built-in entries plus distinct caller terms).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

/// Accepted names that give context to their neighbours.
struct Vendors<'a> {
    ends: &'a [usize],
    starts: &'a [usize],
    /// Starts of accepted model names, for hub ids such as "google/gemma-2-9b-it".
    model_starts: &'a [usize],
}

/// Existing placeholders, which are never matched again (redaction is idempotent).
fn placeholder_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for p in [
        Placeholder::Model,
        Placeholder::Company,
        Placeholder::Instructions,
    ] {
        spans.extend(
            text.match_indices(p.as_str())
                .map(|(i, s)| (i, i + s.len())),
        );
    }
    spans
}

/// Whether a version suffix puts the name in model context.
///
/// A version after a space counts only after a capitalised name ("Llama 3", not "the llama 3
/// times"); joined versions count either way ("llama3", "gemini-2.5").
fn suffix_gives_context(spec: &RuleSpec, suffix: &str, capitalised: bool) -> bool {
    if suffix.is_empty() {
        return false;
    }
    // (separator before the token, token)
    let mut tokens: Vec<(&str, &str)> = Vec::new();
    let mut rest = suffix;
    while !rest.is_empty() {
        let sep_len = rest
            .find(|c: char| c.is_alphanumeric())
            .unwrap_or(rest.len());
        let (sep, after) = rest.split_at(sep_len);
        let token_len = after
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(after.len());
        let (token, remaining) = after.split_at(token_len);
        if !token.is_empty() {
            tokens.push((sep, token));
        }
        rest = remaining;
    }
    let lower = |t: &str| t.to_ascii_lowercase();
    if tokens
        .iter()
        .any(|(_, t)| spec.tiers.contains(&lower(t).as_str()))
    {
        return true;
    }
    let has_digit = |t: &str| t.chars().any(|c| c.is_ascii_digit());
    let spaced = tokens
        .first()
        .is_some_and(|(sep, _)| sep.contains([' ', '\t']));
    if spaced && !capitalised && matches!(spec.version, VersionRule::Any | VersionRule::ClaudeTier)
    {
        return false;
    }
    match spec.version {
        VersionRule::None => false,
        VersionRule::Any => tokens.iter().any(|(_, t)| has_digit(t)),
        VersionRule::Joined => {
            tokens
                .first()
                .is_some_and(|(sep, _)| !sep.contains([' ', '\t']))
                && tokens.iter().any(|(_, t)| has_digit(t))
        }
        VersionRule::ClaudeTier => tokens.first().is_some_and(|(_, t)| {
            t.len() == 1 && ('3'..='9').contains(&t.chars().next().unwrap_or('0'))
        }),
        VersionRule::Size => tokens.iter().any(|(_, t)| {
            let t = lower(t);
            t.strip_suffix('b').is_some_and(|n| {
                !n.is_empty()
                    && n.split('x')
                        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            })
        }),
    }
}

/// Where a vendor name would end if it stood right before `start` ("Google Gemini",
/// "Meta's Llama", "google/gemma"): `start` minus the separator and an optional possessive.
fn vendor_end_before(text: &str, start: usize) -> Option<usize> {
    let before = &text[..start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    let trimmed = if trimmed.len() == before.len() {
        before.strip_suffix(['-', '/'])?
    } else {
        trimmed
    };
    let trimmed = trimmed
        .strip_suffix("'s")
        .or_else(|| trimmed.strip_suffix("’s"))
        .unwrap_or(trimmed);
    Some(trimmed.len())
}

/// "I'm X", "I am X", "my name is X".
fn self_identifies_before(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.len() == before.len() {
        return false;
    }
    let tail: String = trimmed
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_lowercase();
    ["i'm", "i’m", "i am", "my name is"].iter().any(|phrase| {
        tail.strip_suffix(phrase)
            .is_some_and(|pre| !pre.chars().next_back().is_some_and(char::is_alphanumeric))
    })
}

/// Whether `start` begins a sentence, a line, a bullet or a quotation (where capitals prove
/// nothing).
fn at_sentence_start(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let trimmed = before.trim_end();
    if trimmed.len() < before.len() && before[trimmed.len()..].contains('\n') {
        return true;
    }
    match trimmed.chars().next_back() {
        None => true,
        // `]` ends a placeholder, which stands for a word.
        Some(c) => !(c.is_alphanumeric() || matches!(c, ',' | ')' | ']')),
    }
}

fn denied(spec: &RuleSpec, text: &str, c: &Candidate) -> bool {
    let after = &text[c.end..];
    if spec.deny_hyphenated
        && let Some(rest) = after.strip_prefix('-')
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '[')
    {
        return true;
    }
    if !spec.deny_next.is_empty() {
        let next = after.trim_start_matches([' ', '\t']);
        let word: String = next
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        if next.len() < after.len() && spec.deny_next.contains(&word.as_str()) {
            return true;
        }
    }
    if !spec.deny_prev.is_empty() {
        let before = &text[..c.start];
        let trimmed = before.trim_end_matches([' ', '\t', '-']);
        if trimmed.len() < before.len() {
            let word: String = trimmed
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
                .to_lowercase();
            if spec.deny_prev.contains(&word.as_str()) {
                return true;
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// System-prompt sentences.
// ---------------------------------------------------------------------------------------------

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
                    .any(|w| w.text.chars().count() >= 4 && !lexicon::is_ordinary_word(&w.text)));
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
// The leak-gate scanner.
// ---------------------------------------------------------------------------------------------

enum Matcher {
    Pattern(Regex),
    Words(Vec<String>),
}

/// Needles compiled once, for scanning many packet files.
pub struct Scanner {
    needles: Vec<(usize, Needle, Matcher)>,
}

impl Scanner {
    /// Needles without letters or digits are ignored. A needle whose pattern cannot be compiled
    /// (absurdly long) is matched as a word sequence instead.
    pub fn new(needles: &[Needle]) -> Scanner {
        let mut compiled = Vec::new();
        for (i, needle) in needles.iter().enumerate() {
            let words = || -> Vec<String> {
                words_of(&View::of_plain(&needle.text).text)
                    .into_iter()
                    .map(|w| w.text)
                    .collect()
            };
            let matcher = if needle.category == NeedleCategory::SystemPromptSentence {
                Matcher::Words(words())
            } else {
                let parts = term_parts(&needle.text);
                if parts.is_empty() {
                    continue;
                }
                match Regex::new(&format!("(?i){}", parts_pattern(&parts))) {
                    Ok(regex) => Matcher::Pattern(regex),
                    Err(_) => Matcher::Words(words()),
                }
            };
            if matches!(&matcher, Matcher::Words(w) if w.is_empty()) {
                continue;
            }
            compiled.push((i, needle.clone(), matcher));
        }
        Scanner { needles: compiled }
    }

    pub fn scan(&self, haystack: &str) -> Vec<Hit> {
        let view = View::of_packet(haystack);
        let text = &view.text;
        let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (needle slot, view start, end)

        let words = words_of(text);
        let tags = html_tags(text);
        // Tags and words are both in text order: one sweep finds the words outside tags.
        let mut outside_tags: Vec<usize> = Vec::with_capacity(words.len());
        let mut tag = 0;
        for (i, word) in words.iter().enumerate() {
            while tag < tags.len() && tags[tag].1 <= word.start {
                tag += 1;
            }
            if tags.get(tag).is_none_or(|&(s, _)| word.end <= s) {
                outside_tags.push(i);
            }
        }
        let all_words: Vec<usize> = (0..words.len()).collect();

        for (slot, (_, _, matcher)) in self.needles.iter().enumerate() {
            match matcher {
                Matcher::Pattern(regex) => {
                    let mut at = 0;
                    while let Some((start, end, _)) = find_at(regex, text, at) {
                        found.push((slot, start, end));
                        at = end;
                    }
                }
                Matcher::Words(needle_words) => {
                    let mut starts: Vec<(usize, usize)> = Vec::new();
                    for stream in [&all_words, &outside_tags] {
                        for window in stream.windows(needle_words.len()) {
                            if window
                                .iter()
                                .zip(needle_words)
                                .all(|(&w, n)| words[w].text == *n)
                            {
                                let span =
                                    (words[window[0]].start, words[window[window.len() - 1]].end);
                                if !starts.contains(&span) {
                                    starts.push(span);
                                }
                            }
                        }
                    }
                    found.extend(starts.into_iter().map(|(s, e)| (slot, s, e)));
                }
            }
        }

        // Positions in the file as written; columns counted incrementally in file order, so that
        // many hits on one long line (a JSON packet) do not recount it.
        let mut spans: Vec<(usize, usize, usize)> = found
            .into_iter()
            .map(|(slot, s, e)| {
                let (start, end) = view.original(s, e);
                (start, end, slot)
            })
            .collect();
        spans.sort_unstable_by_key(|&(start, _, slot)| (start, self.needles[slot].0));
        let mut hits = Vec::with_capacity(spans.len());
        let (mut line, mut line_start, mut counted_to, mut column) = (1, 0, 0, 1);
        for (start, end, slot) in spans {
            for (offset, c) in haystack[counted_to..start].char_indices() {
                if c == '\n' {
                    line += 1;
                    line_start = counted_to + offset + 1;
                }
            }
            column = if line_start > counted_to {
                haystack[line_start..start].chars().count() + 1
            } else {
                column + haystack[counted_to..start].chars().count()
            };
            counted_to = start;
            let (index, needle, _) = &self.needles[slot];
            hits.push(Hit {
                needle: *index,
                needle_text: needle.text.clone(),
                category: needle.category,
                line,
                column,
                context: context_around(haystack, start, end),
            });
        }
        hits.sort_by_key(|h| (h.line, h.column, h.needle));
        hits
    }
}

/// Spans that look like HTML tags: `<` then a letter, `/` or `!`, up to the next `>` within 500
/// bytes and before any other `<`. (A hand loop: a bounded-repetition regex is slow here.)
fn html_tags(text: &str) -> Vec<(usize, usize)> {
    const MAX_TAG: usize = 500;
    let bytes = text.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let opens_tag = bytes[i] == b'<'
            && bytes
                .get(i + 1)
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!');
        if opens_tag {
            let window = &bytes[i + 1..bytes.len().min(i + 1 + MAX_TAG)];
            match window.iter().position(|&b| b == b'>' || b == b'<') {
                Some(k) if window[k] == b'>' => {
                    tags.push((i, i + k + 2));
                    i += k + 2;
                    continue;
                }
                _ => {}
            }
        }
        i += 1;
    }
    tags
}

/// Scans `haystack` (a packet file as written) for every needle; see the module docs for the
/// decoding and matching rules. Build a [`Scanner`] to scan many files with the same needles.
pub fn scan(needles: &[Needle], haystack: &str) -> Vec<Hit> {
    Scanner::new(needles).scan(haystack)
}

fn context_around(haystack: &str, start: usize, end: usize) -> String {
    const WIDTH: usize = 40;
    let before: Vec<char> = haystack[..start].chars().rev().take(WIDTH + 1).collect();
    let after: Vec<char> = haystack[end..].chars().take(WIDTH + 1).collect();
    let mut out = String::new();
    if before.len() > WIDTH {
        out.push('…');
    }
    out.extend(before.iter().take(WIDTH).rev());
    out.push('⟦');
    out.push_str(&haystack[start..end]);
    out.push('⟧');
    out.extend(after.iter().take(WIDTH));
    if after.len() > WIDTH {
        out.push('…');
    }
    out.chars()
        .filter(|&c| c != '\r')
        .map(|c| match c {
            '\n' => '⏎',
            '\t' => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    // The main crate's scaffold system prompts (scaffolds/verification.toml and
    // scaffolds/steerability.toml), as the redactor will see them.
    const VERIFICATION: &str = "You are assisting a member of the public who will act on your answer, so they must be able to verify it themselves.
Support the user in verifying your answer: list the specific claims they should check, give for each a concrete source or a way to check it (an official page, a primary document, a test or a calculation they can redo), and state your confidence in the answer and why.
Do not present unverifiable statements as settled.";
    const STEERABILITY: &str = "Before answering, lay out your plan for the answer and the assumptions you are making about the user's situation.
Invite the user to redirect you or correct any assumption, and when they do, follow their new direction fully.";

    /// What `sim::model::identity_terms` returns for sim-alpha, plus a study alias.
    fn sim_terms() -> Vec<Term> {
        let model = |t: &str| Term::new(t, Placeholder::Model, Category::ModelName);
        vec![
            model("Sim-Alpha"),
            model("SimAlpha"),
            model("Sim Alpha"),
            model("sim_alpha"),
            model("sim-alpha"),
            Term::new("Example Labs", Placeholder::Company, Category::Vendor),
            Term::new(
                "sim-alpha-2026-05-01",
                Placeholder::Model,
                Category::ModelVersion,
            ),
            Term::new("alpha", Placeholder::Model, Category::StudyAlias),
        ]
    }

    static REDACTOR: LazyLock<Redactor> =
        LazyLock::new(|| Redactor::new(&sim_terms(), &[VERIFICATION, STEERABILITY]).unwrap());

    fn check(role: TurnRole, table: &[(&str, &str)]) {
        let mut failures = Vec::new();
        for &(input, expected) in table {
            let got = REDACTOR.redact(input, role);
            if got.text != expected {
                failures.push(format!(
                    "{input:?}\n   got {:?}\n  want {expected:?}",
                    got.text
                ));
            }
            let again = REDACTOR.redact(&got.text, role);
            if again.text != got.text {
                failures.push(format!(
                    "not idempotent: {:?} -> {:?}",
                    got.text, again.text
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    fn unchanged(role: TurnRole, inputs: &[&str]) {
        let table: Vec<(&str, &str)> = inputs.iter().map(|&s| (s, s)).collect();
        check(role, &table);
    }

    #[test]
    fn redacts_names_and_their_versions() {
        check(
            TurnRole::Assistant,
            &[
                (
                    "I'm Claude, made by Anthropic.",
                    "I'm [MODEL], made by [COMPANY].",
                ),
                ("As GPT-4o I can't browse.", "As [MODEL] I can't browse."),
                (
                    "gpt4o, GPT 4.1-mini and gpt-4o-mini-2024-08-06",
                    "[MODEL], [MODEL] and [MODEL]",
                ),
                (
                    "GPT-4o mini is cheaper than GPT-4.5.",
                    "[MODEL] is cheaper than [MODEL].",
                ),
                ("Try GPT-5 or gpt-oss-120b.", "Try [MODEL] or [MODEL]."),
                ("GPT-4 plus a calculator", "[MODEL] plus a calculator"),
                ("Claude 3.5 Sonnet v2", "[MODEL]"),
                ("claude-3-5-sonnet-20241022 replied", "[MODEL] replied"),
                ("claude-opus-4-1-20250805", "[MODEL]"),
                ("Claude Sonnet 4.5 and Claude Code", "[MODEL] and [MODEL]"),
                (
                    "Sonnet 4.5 is fast; Opus 4.1 is slow; Haiku 4.5 is cheap.",
                    "[MODEL] is fast; [MODEL] is slow; [MODEL] is cheap.",
                ),
                ("the 3.5 Sonnet model", "the [MODEL] model"),
                ("Claude 3 Haiku", "[MODEL]"),
                ("Llama-3.1-8B-Instruct", "[MODEL]"),
                ("meta-llama/Llama-3.1-8B-Instruct", "[MODEL]/[MODEL]"),
                ("Llama 3.1 405B beats Llama 2", "[MODEL] beats [MODEL]"),
                ("Mixtral-8x7B-Instruct-v0.1", "[MODEL]"),
                ("Mistral Large 2 by Mistral AI", "[MODEL] by [COMPANY]"),
                (
                    "gemini-2.0-flash-exp or Gemini 2.5 Pro",
                    "[MODEL] or [MODEL]",
                ),
                ("gemma-2-9b-it", "[MODEL]"),
                ("o3-mini and o4-mini-high", "[MODEL] and [MODEL]"),
                ("OpenAI o1 thinks first.", "[COMPANY] [MODEL] thinks first."),
                ("DALL·E 3 and dall-e-2", "[MODEL] and [MODEL]"),
                ("ChatGPT Plus costs money.", "[MODEL] costs money."),
                ("DeepSeek-R1 and deepseek-chat", "[MODEL] and [MODEL]"),
                ("made by DeepSeek", "made by [COMPANY]"),
                (
                    "I'm Qwen, created by Alibaba Cloud.",
                    "I'm [MODEL], created by [COMPANY] Cloud.",
                ),
                ("Qwen2.5-72B-Instruct", "[MODEL]"),
                ("Kimi K2 from Moonshot AI", "[MODEL] from [COMPANY]"),
                ("ERNIE Bot and ernie-4.0-8k", "[MODEL] and [MODEL]"),
                ("GLM-4.5 and ChatGLM3-6B", "[MODEL] and [MODEL]"),
                ("MiniMax-M1", "[MODEL]"),
                ("Phi-3-mini-4k-instruct", "[MODEL]"),
                ("Microsoft Phi", "[COMPANY] [MODEL]"),
                ("Grok 3 is xAI's model.", "[MODEL] is [COMPANY]'s model."),
                ("Command R+ from Cohere", "[MODEL] from [COMPANY]"),
                ("command-r-plus-08-2024", "[MODEL]"),
                ("Amazon Nova Pro and nova-lite-v1", "[MODEL] and [MODEL]"),
                ("Amazon Titan", "[MODEL]"),
                ("Falcon-40B and Falcon 180B", "[MODEL] and [MODEL]"),
                ("Yi-34B and Yi-1.5-9B", "[MODEL] and [MODEL]"),
                ("Jamba 1.5 Large from AI21 Labs", "[MODEL] from [COMPANY]"),
                (
                    "IBM Granite 3.0 and NVIDIA Nemotron",
                    "[MODEL] and [COMPANY] [MODEL]",
                ),
                ("Pi, your personal AI", "[MODEL]"),
                ("Inflection Pi", "[MODEL]"),
                ("Vicuna-13B by LMSYS", "[MODEL] by [COMPANY]"),
                (
                    "hosted on Hugging Face, OpenRouter, Together AI and Groq",
                    "hosted on [COMPANY], [COMPANY], [COMPANY] and [COMPANY]",
                ),
                ("Google DeepMind built Gemini.", "[COMPANY] built Gemini."),
                (
                    "Google DeepMind built Gemini 2.",
                    "[COMPANY] built [MODEL].",
                ),
                ("Google's Gemini", "[COMPANY]'s [MODEL]"),
                (
                    "I'm Gemini, a large language model from Google.",
                    "I'm [MODEL], a large language model from [COMPANY].",
                ),
                ("Built on Amazon Web Services.", "Built on [COMPANY]."),
                ("I'm an AWS model.", "I'm an [COMPANY] model."),
                (
                    "Google Scholar's rival, Google Gemini",
                    "Google Scholar's rival, [COMPANY] [MODEL]",
                ),
                ("Meta released Llama 3.", "[COMPANY] released [MODEL]."),
                ("Meta's Llama models", "[COMPANY]'s [MODEL] models"),
                ("Meta AI answered.", "[COMPANY] answered."),
                (
                    "I searched with Perplexity yesterday.",
                    "I searched with [COMPANY] yesterday.",
                ),
                ("bought on Amazon", "bought on [COMPANY]"),
                ("GitHub Copilot", "GitHub [MODEL]"),
                (
                    "I'm Grok, built by xAI.",
                    "I'm [MODEL], built by [COMPANY].",
                ),
                ("Gemini from Google", "[MODEL] from [COMPANY]"),
                ("I am Bard.", "I am [MODEL]."),
            ],
        );
    }

    #[test]
    fn redacts_more_products_and_hub_ids() {
        check(
            TurnRole::Assistant,
            &[
                (
                    "Meta Platforms and TII Falcon",
                    "[COMPANY] and [COMPANY] [MODEL]",
                ),
                ("a Meta model", "a [COMPANY] model"),
                ("Le Chat by Mistral", "[MODEL] by [COMPANY]"),
                (
                    "Amazon Bedrock and the Bedrock API",
                    "[COMPANY] [COMPANY] and the [COMPANY] API",
                ),
                (
                    "I'm Nova, built by Amazon.",
                    "I'm [MODEL], built by [COMPANY].",
                ),
                ("HuggingChat", "[MODEL]"),
                ("PaLM 2 and LaMDA", "[MODEL] and [MODEL]"),
                (
                    "Tongyi Qianwen, Hunyuan, Baidu, Tencent, Zhipu AI, MiniMax",
                    "[MODEL], [MODEL], [COMPANY], [COMPANY], [COMPANY], [COMPANY]",
                ),
                (
                    "OpenAI Codex and codex-mini",
                    "[COMPANY] [MODEL] and [MODEL]",
                ),
                ("Sora 2 by OpenAI", "[MODEL] by [COMPANY]"),
                ("Codestral 25.01 and Aya Expanse 32B", "[MODEL] and [MODEL]"),
                ("Kimi k1.5 and Kimi K2", "[MODEL] and [MODEL]"),
                ("the o3 model", "the [MODEL] model"),
                ("Llama 4 Scout and Grok 4 Heavy", "[MODEL] and [MODEL]"),
                (
                    "gemini-2.5-flash-lite and Gemini CLI",
                    "[MODEL] and [MODEL]",
                ),
                ("custom GPTs", "custom [MODEL]"),
                (
                    "claude.ai, x.ai and Z.ai",
                    "[MODEL], [COMPANY] and [COMPANY]",
                ),
                ("llama3.1:8b and gpt-4o-2024-08-06", "[MODEL] and [MODEL]"),
                // Hub and router ids: owner/model.
                ("google/gemma-2-9b-it", "[COMPANY]/[MODEL]"),
                ("deepseek-ai/DeepSeek-V3", "[COMPANY]/[MODEL]"),
                ("Qwen/Qwen2.5-7B-Instruct", "[MODEL]/[MODEL]"),
                ("anthropic/claude-sonnet-4.5", "[COMPANY]/[MODEL]"),
                ("mistralai/Mistral-7B-Instruct-v0.2", "[COMPANY]/[MODEL]"),
                ("tiiuae/falcon-7b-instruct", "[COMPANY]/[MODEL]"),
                (
                    "xai-org/grok-1 and x-ai/grok-4",
                    "[COMPANY]/[MODEL] and [COMPANY]/[MODEL]",
                ),
            ],
        );
    }

    #[test]
    fn keeps_ordinary_words_outside_model_context() {
        unchanged(
            TurnRole::Assistant,
            &[
                "A meta-analysis of 12 trials found no effect.",
                "Meta-analysis of 12 trials found no effect.",
                "Meta data is stored separately. That's so meta.",
                "Haiku is a poetic form. I wrote 3 haiku.",
                "Shakespeare's Sonnet 18 is famous; his magnum opus came later, Opus 27 too.",
                "As a Gemini, I love talking. Gemini season starts soon.",
                "The falcon dove. A Falcon 9 launch. Falcon Heavy too.",
                "a titan of industry",
                "a nova is a star that brightens; Nova Scotia is cold",
                "the value of pi is 3.14",
                "run the command again; Press Command-R to reload",
                "the golden ratio phi",
                "I finally grok recursion.",
                "XAI methods explain predictions.",
                "the Yi Jing",
                "the llama farm; a llama spat",
                "a GPT partition table",
                "Claude Shannon founded information theory; Jean-Claude Van Damme kicks.",
                "the anthropic principle",
                "google it",
                "the Amazon rainforest; the Amazon basin",
                "the mistral wind",
                "Perplexity is a measure of uncertainty.",
                "an inflection point",
                "the arguments cohere",
                "my copilot landed the plane",
                "the o1 visa; an O(1) lookup",
                "Kimi Räikkönen won; Bert and Ernie",
                "fit a GLM to the counts",
                "the minimax algorithm",
                "a bard sang; the palm tree",
                "alpha = 0.05 and Cronbach's alpha 0.8",
                "Our Falcon 9 model rocket; the llama 3 times; a phi 2 angle",
                "the bedrock of society; a moonshot project",
                "I pushed our AWS access key; open a case with AWS Support",
                "Search Google Scholar or Google Maps; open it in Microsoft Excel",
            ],
        );
    }

    #[test]
    fn matches_variants_of_caller_terms() {
        check(
            TurnRole::User,
            &[
                ("Sim-Alpha", "[MODEL]"),
                ("Sim Alpha", "[MODEL]"),
                ("sim_alpha", "[MODEL]"),
                ("SimAlpha", "[MODEL]"),
                ("SIM-ALPHA", "[MODEL]"),
                ("simalpha's reply", "[MODEL]'s reply"),
                ("sim-alpha-2026-05-01", "[MODEL]"),
                (
                    "(Sim Alpha, built by Example Labs; model version sim-alpha-2026-05-01.)",
                    "([MODEL], built by [COMPANY]; model version [MODEL].)",
                ),
                ("Example-Labs and ExampleLabs", "[COMPANY] and [COMPANY]"),
                ("simalphabet", "simalphabet"),
                ("alpha-2 won", "[MODEL] won"),
                (
                    "I'm Alpha, an AI assistant.",
                    "I'm [MODEL], an AI assistant.",
                ),
            ],
        );
    }

    #[test]
    fn sees_through_unicode_tricks_and_preserves_the_rest() {
        check(
            TurnRole::Assistant,
            &[
                ("Ｃｌａｕｄｅ here", "[MODEL] here"),
                ("Cl\u{200B}aude", "[MODEL]"),
                ("Anth\u{00AD}ropic\u{FE0F}!", "[COMPANY]\u{FE0F}!"),
                ("\u{FEFF}Claude\u{200D}", "\u{FEFF}[MODEL]\u{200D}"),
                ("_Claude_ and **Claude**", "_[MODEL]_ and **[MODEL]**"),
                (
                    "我是Claude，由Anthropic开发。",
                    "我是[MODEL]，由[COMPANY]开发。",
                ),
                ("GPT\u{2011}4o", "[MODEL]"),
                (
                    "x² and ﬁne 😀 café e\u{301} 日本語 👨‍👩‍👧 — Claude",
                    "x² and ﬁne 😀 café e\u{301} 日本語 👨‍👩‍👧 — [MODEL]",
                ),
                ("Ｓｉｍ－Ａｌｐｈａ", "[MODEL]"),
                ("Claudette and claudes", "Claudette and claudes"),
                (
                    "ClaudeAI and r/ClaudeAI, a literal \\nClaude",
                    "[MODEL]AI and r/[MODEL]AI, a literal \\n[MODEL]",
                ),
                ("[MODEL] and [COMPANY] stay", "[MODEL] and [COMPANY] stay"),
            ],
        );
    }

    #[test]
    fn every_builtin_rule_compiles() {
        for rule in &REDACTOR.rules {
            Regex::new(&rule.source).unwrap_or_else(|e| panic!("{}: {e}", rule.source));
        }
    }

    #[test]
    fn counts_per_category() {
        let r = REDACTOR.redact(
            "I'm Claude by Anthropic; also Sim-Alpha (sim-alpha-2026-05-01) from Example Labs, and alpha-3.",
            TurnRole::User,
        );
        let expected: BTreeMap<Category, u32> = [
            (Category::ModelName, 3),
            (Category::Vendor, 2),
            (Category::StudyAlias, 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(r.counts, expected, "{}", r.text);
        assert_eq!(r.quoted_instructions, 0);
    }

    #[test]
    fn replaces_quoted_system_prompt_in_assistant_turns_only() {
        check(
            TurnRole::Assistant,
            &[
                (
                    "My instructions say: Support the user in verifying your answer: list the specific claims they should check. Here's my answer.",
                    "My instructions say: [INSTRUCTIONS]. Here's my answer.",
                ),
                // Seven consecutive prompt words (not a whole sentence) are not a quote; eight are.
                (
                    "I will give for each a concrete source or two.",
                    "I will give for each a concrete source or two.",
                ),
                (
                    "I will give for each a concrete source or a reference.",
                    "I will [INSTRUCTIONS] reference.",
                ),
                // Across line breaks and markdown quoting.
                (
                    "As instructed:\n> You are assisting a member\n> of the public who will act on your answer.",
                    "As instructed:\n> [INSTRUCTIONS].",
                ),
                // A lightly edited copy ("all" inserted) is still one quote.
                (
                    "Lay out your plan for the answer and all the assumptions you are making about the user's situation.",
                    "[INSTRUCTIONS].",
                ),
                // A whole distinctive sentence shorter than eight words (the leak gate scans for it).
                (
                    "Remember: Do not present unverifiable statements as settled.",
                    "Remember: [INSTRUCTIONS].",
                ),
                // Short common phrases stay.
                (
                    "Before answering, let me check the claims.",
                    "Before answering, let me check the claims.",
                ),
            ],
        );
        let quoted = "Support the user in verifying your answer: list the specific claims they should check.";
        unchanged(
            TurnRole::User,
            &[quoted, "Do not present unverifiable statements as settled."],
        );
    }

    #[test]
    fn counts_quotes_and_swallows_names_inside_them() {
        let prompt = "You are Claude, a helpful assistant made by Anthropic and tuned for careful verification work.";
        let redactor = Redactor::new(&[], &[prompt]).unwrap();
        let r = redactor.redact(
            "Quote: you are Claude, a helpful assistant made by Anthropic and tuned. Also I support verification.",
            TurnRole::Assistant,
        );
        assert_eq!(
            r.text,
            "Quote: [INSTRUCTIONS]. Also I support verification."
        );
        assert_eq!(r.quoted_instructions, 1);
        assert!(r.counts.is_empty());
        let user = redactor.redact(
            "you are Claude, a helpful assistant made by Anthropic",
            TurnRole::User,
        );
        assert_eq!(
            user.text,
            "you are [MODEL], a helpful assistant made by [COMPANY]"
        );
        assert_eq!(user.quoted_instructions, 0);
    }

    #[test]
    fn quote_window_is_a_parameter() {
        let short = QuoteRule {
            min_words: 5,
            max_gap_words: 0,
        };
        let redactor = Redactor::with_quote_rule(&[], &[VERIFICATION], short).unwrap();
        assert_eq!(
            redactor
                .redact(
                    "I will give for each a concrete source or two.",
                    TurnRole::Assistant
                )
                .text,
            "I will [INSTRUCTIONS] two."
        );
        let err = Redactor::with_quote_rule(
            &[],
            &[VERIFICATION],
            QuoteRule {
                min_words: 1,
                max_gap_words: 0,
            },
        );
        assert!(matches!(err, Err(RedactError::QuoteWindow(1))));
    }

    #[test]
    fn warns_about_unusable_and_ordinary_terms() {
        let terms = [
            Term::new("—", Placeholder::Model, Category::Extra),
            Term::new("alpha", Placeholder::Model, Category::StudyAlias),
            Term::new("baseline", Placeholder::Model, Category::Extra),
            Term::new("Sim-Alpha", Placeholder::Model, Category::ModelName),
        ];
        let redactor = Redactor::new::<&str>(&terms, &[]).unwrap();
        assert_eq!(
            redactor.warnings(),
            &[
                TermWarning::NoWords { text: "—".into() },
                TermWarning::OrdinaryWord {
                    text: "alpha".into()
                },
            ]
        );
        // Extra terms are the study's explicit list: taken literally even when ordinary.
        assert_eq!(
            redactor.redact("our baseline", TurnRole::User).text,
            "our [MODEL]"
        );
        assert_eq!(
            redactor.redact("alpha level", TurnRole::User).text,
            "alpha level"
        );
    }

    #[test]
    fn distinctive_sentences_of_a_scaffold_prompt() {
        assert_eq!(
            distinctive_sentences(VERIFICATION),
            vec![
                "You are assisting a member of the public who will act on your answer, so they must be able to verify it themselves.",
                "You are assisting a member of the public who will act on your answer",
                "so they must be able to verify it themselves.",
                "Support the user in verifying your answer: list the specific claims they should check, give for each a concrete source or a way to check it (an official page, a primary document, a test or a calculation they can redo), and state your confidence in the answer and why.",
                "give for each a concrete source or a way to check it",
                "a test or a calculation they can redo",
                "and state your confidence in the answer and why.",
                "Do not present unverifiable statements as settled.",
            ]
        );
        assert!(
            distinctive_sentences(
                "Be concise. Think step by step before answering.\nYou are helpful."
            )
            .is_empty()
        );
    }

    #[test]
    fn unescapes_html_and_json() {
        assert_eq!(
            unescape_html_entities(
                "AT&amp;T &#39;x&#x27; &eacute;&nbsp;&hellip; &bogus; &amp &#0; &lt;b&gt;"
            ),
            "AT&T 'x' é\u{a0}… &bogus; &amp &#0; <b>"
        );
        assert_eq!(
            unescape_json_escapes(r#"a\"b\\n\u00e9\ud83d\ude00\q\ud800x"#),
            "a\"b\\né😀\\q\u{FFFD}x"
        );
    }

    fn hits(needles: &[Needle], haystack: &str) -> Vec<(usize, usize, usize)> {
        scan(needles, haystack)
            .into_iter()
            .map(|h| (h.needle, h.line, h.column))
            .collect()
    }

    fn study_needles() -> Vec<Needle> {
        vec![
            Needle::new("sim-alpha", NeedleCategory::ModelId),
            Needle::new("Example Labs", NeedleCategory::Vendor),
            Needle::new("Claude", NeedleCategory::ModelName),
            Needle::new(
                "Do not present unverifiable statements as settled.",
                NeedleCategory::SystemPromptSentence,
            ),
        ]
    }

    #[test]
    fn scans_html_packets() {
        let html = "<html><body>\n<p class=\"turn\">I&#39;m Sim&#8209;Alpha, made by Example&nbsp;Labs.</p>\n<p>Cl&shy;aude says &quot;hi&quot;</p>\n<div data-model=\"sim-alpha\"></div>\n<p>do NOT present<br>unverifiable statements, as &ldquo;settled&rdquo;</p>\n</body></html>";
        assert_eq!(
            hits(&study_needles(), html),
            vec![(0, 2, 25), (1, 2, 50), (2, 3, 4), (0, 4, 18), (3, 5, 4)]
        );
    }

    #[test]
    fn scans_json_and_csv_packets() {
        let json =
            r#"{"turns":[{"text":"Hi\n\nI\u2019m Sim\u00a0Alpha \u2014 \"sim_alpha\"\nClaude"}]}"#;
        assert_eq!(
            hits(&study_needles(), json),
            vec![(0, 1, 35), (0, 1, 59), (2, 1, 72)]
        );
        let csv = "rater,text\nr1,\"He said \"\"SimAlpha\"\" twice\"\nr2,\"Example-Labs\"\n";
        assert_eq!(hits(&study_needles(), csv), vec![(0, 2, 15), (1, 3, 5)]);
    }

    #[test]
    fn scan_respects_word_boundaries_and_reports_context() {
        let needles = study_needles();
        assert!(hits(&needles, "simalphabet and Claudette").is_empty());
        assert_eq!(hits(&needles, "sim-alpha-2026-05-01"), vec![(0, 1, 1)]);
        assert_eq!(hits(&needles, "日本 Claude"), vec![(2, 1, 4)]);
        let dash = [Needle::new("Example - Labs", NeedleCategory::Vendor)];
        assert_eq!(hits(&dash, "Example — Labs"), vec![(0, 1, 1)]);
        let inc = [Needle::new("Example Labs, Inc.", NeedleCategory::Vendor)];
        assert_eq!(
            hits(&inc, "by EXAMPLE LABS Inc and\nExample-Labs, Inc."),
            vec![(0, 1, 4), (0, 2, 1)]
        );
        let found = scan(&needles, "first line\nsay Sim-Alpha now");
        assert_eq!(found[0].context, "first line⏎say ⟦Sim-Alpha⟧ now");
        assert_eq!(found[0].needle_text, "sim-alpha");
        assert_eq!(found[0].category, NeedleCategory::ModelId);
        let long = format!("{}Claude{}", "a ".repeat(30), " b".repeat(30));
        let context = &scan(&needles, &long)[0].context;
        assert_eq!(
            context,
            &format!(
                "…{}⟦Claude⟧{}…",
                &"a ".repeat(30)[20..],
                &" b".repeat(30)[..40]
            )
        );
    }

    #[test]
    fn redacted_turns_pass_the_gate() {
        let needles = study_needles();
        let turns = [
            "I'm Sim-Alpha (sim-alpha-2026-05-01), made by Example Labs. Do not present unverifiable statements as settled.",
            "— SimAlpha, Example Labs",
            "Ｓｉｍ\u{200B}Ａｌｐｈａ says hi to Cl\u{200B}aude",
        ];
        for turn in turns {
            let out = REDACTOR.redact(turn, TurnRole::Assistant).text;
            assert!(scan(&needles, &out).is_empty(), "{turn:?} -> {out:?}");
            assert!(!scan(&needles, turn).is_empty(), "{turn:?}");
        }
    }

    /// Text around needles: no backslashes or ampersands, which the scanner deliberately reads as
    /// JSON and HTML escapes (a packet writer escapes them, so real packets are unaffected).
    fn filler() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                "[^\\\\&]{0,6}",
                Just(" ".to_string()),
                Just("\n".to_string()),
                Just("-".to_string()),
                Just("_".to_string()),
                Just("\u{200B}".to_string()),
                Just("\u{301}".to_string()),
                Just("Claude".to_string()),
                Just("the".to_string()),
                Just("2".to_string()),
            ],
            0..6,
        )
        .prop_map(|v| v.concat())
    }

    fn needle_text() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z]{2,5}[0-9]{1,3}", "[a-z]{3,6}-[a-z]{3,6}"]
    }

    /// A surface form of `needle` as a model might write it.
    fn variant(needle: &str, form: u8) -> String {
        match form % 6 {
            0 => needle.to_string(),
            1 => needle.to_uppercase(),
            2 => needle.replace('-', "_"),
            3 => needle.replace('-', " "),
            4 => needle
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect(),
            _ => {
                let mut s = String::new();
                for (i, c) in needle.chars().enumerate() {
                    if i == 1 {
                        s.push('\u{200B}');
                    }
                    s.push(c);
                }
                s
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let a = REDACTOR.redact(&text, TurnRole::Assistant);
            let u = REDACTOR.redact(&text, TurnRole::User);
            prop_assert!(a.text.len() + u.text.len() < 4 * text.len() + 64);
            let _ = scan(&study_needles(), &text);
        }

        #[test]
        fn redacted_output_never_contains_a_given_needle(
            needle in needle_text(),
            pieces in prop::collection::vec((filler(), any::<u8>()), 1..4),
            tail in filler(),
            category in prop::sample::select(vec![
                Category::ModelName,
                Category::ModelVersion,
                Category::Vendor,
                Category::StudyAlias,
                Category::Extra,
            ]),
        ) {
            let mut text = String::new();
            for (before, form) in &pieces {
                text.push_str(before);
                text.push_str(&variant(&needle, *form));
            }
            text.push_str(&tail);
            let terms = [Term::new(needle.clone(), Placeholder::Model, category)];
            let redactor = Redactor::new::<&str>(&terms, &[]).unwrap();
            let out = redactor.redact(&text, TurnRole::Assistant).text;
            let left = scan(&[Needle::new(needle.clone(), NeedleCategory::ModelId)], &out);
            prop_assert!(left.is_empty(), "{:?} -> {:?}: {:?}", text, out, left);
        }

        #[test]
        fn scanner_sees_through_json_and_html_escaping(
            needle in needle_text(),
            before in filler(),
            after in filler(),
            form in any::<u8>(),
        ) {
            let text = format!("{before} {} {after}", variant(&needle, form));
            let needles = [Needle::new(needle.clone(), NeedleCategory::ModelVersion)];
            let json = serde_json::to_string(&text).unwrap();
            let html: String = text.chars().map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&#39;".to_string(),
                c => c.to_string(),
            }).collect();
            prop_assert!(!scan(&needles, &text).is_empty(), "{:?}", text);
            prop_assert!(!scan(&needles, &json).is_empty(), "{:?}", json);
            prop_assert!(!scan(&needles, &html).is_empty(), "{:?}", html);
        }

        #[test]
        fn redaction_is_idempotent(
            words in prop::collection::vec(prop::sample::select(vec![
                "Claude", "claude-3-5-sonnet-20241022", "Sonnet", "4.5", "Meta", "meta", "-analysis",
                "Gemini", "I'm", "Google", "'s", "Llama", "3", "sim", "Alpha", "alpha", "-", "_", " ",
                "\n", ".", ",", "a", "large", "language", "model", "from", "Haiku", "Pro", "GPT", "4o",
                "\u{200B}", "Ｃｌａｕｄｅ", "é", "\u{301}", "[MODEL]", "Support the user in verifying",
                "your answer", "list the specific claims", "they should check", "by", "Anthropic",
                "Jean", "Shannon", "the", "Amazon", "rainforest", "Perplexity", "used", "Nova", "Falcon",
                "40B", "9", "o3", "mini", "OpenAI", "xAI", "Grok", "made", ", an AI assistant", "I am",
                "(", ")", "/", "'", "’s", "Command", "R", "+", "18", "DeepSeek", "chat", "Sim-Alpha",
                "Example Labs", "[COMPANY]", "[INSTRUCTIONS]", "?", "*", "Do not present",
                "unverifiable statements", "as settled",
            ]), 0..24),
        ) {
            let text = words.concat();
            for role in [TurnRole::User, TurnRole::Assistant] {
                let once = REDACTOR.redact(&text, role).text;
                let twice = REDACTOR.redact(&once, role).text;
                prop_assert_eq!(&once, &twice, "{:?}", text);
            }
        }
    }
}
