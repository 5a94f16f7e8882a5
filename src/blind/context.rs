//! When a name counts as a name: word boundaries, version suffixes and model context, read in
//! the light view of a turn (see [`crate::blind::normalise`]). Pure helpers for
//! [`crate::blind::names`].

use crate::blind::lexicon::{ContextPhrases, VersionRule};

/// Two ASCII letters or two ASCII digits side by side are inside one word, unless a lowercase
/// letter meets an uppercase one; anything else is a boundary. So "GPT4" splits as "GPT" + "4",
/// "ClaudeAI" contains "Claude", CJK next to Latin is a boundary, and "Claudette" is one word.
pub fn is_boundary(before: Option<char>, after: Option<char>) -> bool {
    match (before, after) {
        (Some(a), Some(b)) if a.is_alphanumeric() && b.is_alphanumeric() => {
            if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
                a.is_ascii_digit() != b.is_ascii_digit()
                    || (a.is_ascii_lowercase() && b.is_ascii_uppercase())
            } else {
                // Scripts without spaces (CJK, kana, Hangul) have no word boundaries to find, and
                // a script change (Latin to Cyrillic) is one; two letters of one spaced script
                // (Cyrillic, Greek, accented Latin) are not.
                !(is_spaced_letter(a) && is_spaced_letter(b))
                    || (a.is_lowercase() && b.is_uppercase())
            }
        }
        _ => true,
    }
}

/// Letters of scripts that separate words with spaces.
fn is_spaced_letter(c: char) -> bool {
    c.is_alphanumeric() && (c as u32) < 0x2E80
}

pub fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

pub fn char_at(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

/// The run of letters and digits that ends at `at`, lowercased.
pub fn word_before(text: &str, at: usize) -> String {
    let run: Vec<char> = text[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    run.into_iter().rev().collect::<String>().to_lowercase()
}

/// The run of letters and digits that starts at `at`, lowercased.
pub fn word_after(text: &str, at: usize) -> String {
    text[at..]
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// Whether `start` begins a sentence, a line, a bullet or a quotation (where capitals prove
/// nothing).
pub fn at_sentence_start(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let trimmed = before.trim_end();
    if trimmed.len() < before.len() && before[trimmed.len()..].contains('\n') {
        return true;
    }
    match trimmed.chars().next_back() {
        None => true,
        // `]` ends a placeholder, which stands for a word.
        Some(c) => !(c.is_alphanumeric() || matches!(c, ',' | ')' | ']' | ';')),
    }
}

/// The lowercase text just before `start` on the same line (at most `max` chars), with
/// markdown emphasis and quotes trimmed from its end.
fn tail_before(text: &str, start: usize, max: usize) -> String {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let chars: Vec<char> = text[line_start..start].chars().collect();
    let from = chars.len().saturating_sub(max);
    chars[from..]
        .iter()
        .collect::<String>()
        .to_lowercase()
        .trim_end_matches(['*', '_', '"', '\'', '“', '”', '‘', '`'])
        .to_string()
}

/// Whether `text` ends with `phrase` as whole words (CJK phrases need no boundary).
fn ends_with_phrase(text: &str, phrase: &str) -> bool {
    text.strip_suffix(phrase).is_some_and(|pre| {
        !phrase
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            || !pre.chars().next_back().is_some_and(char::is_alphanumeric)
    })
}

/// Whether `text` starts with `phrase` as whole words.
fn starts_with_phrase(text: &str, phrase: &str) -> bool {
    text.strip_prefix(phrase).is_some_and(|post| {
        !phrase
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            || !post.chars().next().is_some_and(char::is_alphanumeric)
    })
}

/// "I'm X", "I am X", "my name is X", "I used to be called X", "我是X", "— X" as a signature,
/// `"model": "X"`: the speaker names itself, or a value names a model.
pub fn self_identifies(phrases: &ContextPhrases, text: &str, start: usize) -> bool {
    let tail = tail_before(text, start, 40);
    let spaced = tail.trim_end();
    let phrase_before = |list: &[String]| {
        list.iter()
            .any(|p| ends_with_phrase(spaced, p) || ends_with_phrase(&tail, p))
    };
    if phrase_before(&phrases.self_before) {
        return true;
    }
    // A signature: only dashes, tildes or spaces before the name on its line.
    if !spaced.is_empty()
        && spaced
            .chars()
            .all(|c| matches!(c, '-' | '—' | '–' | '~' | ' ' | '\t' | '>'))
    {
        return true;
    }
    // A closing line before it ("Best regards,\nX").
    if spaced.is_empty() {
        let before_line = text[..start].trim_end_matches([' ', '\t', '*', '_']);
        if let Some(previous) = before_line.strip_suffix('\n') {
            let last = previous
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .trim()
                .to_lowercase();
            let closings = [
                "regards,",
                "best,",
                "cheers,",
                "thanks,",
                "sincerely,",
                "yours,",
                "warmly,",
                "best regards,",
                "kind regards,",
                "yours truly,",
                "thank you,",
                "signed,",
            ];
            if closings.iter().any(|c| last.ends_with(c)) {
                return true;
            }
        }
    }
    key_value_before(phrases, &tail)
}

/// `"model": "` or `name = ` right before the name.
fn key_value_before(phrases: &ContextPhrases, tail: &str) -> bool {
    let t = tail.trim_end_matches([' ', '\t', '"', '\'']);
    let Some(t) = t.strip_suffix([':', '=']) else {
        return false;
    };
    let t = t.trim_end_matches([' ', '\t', '"', '\'']);
    let key: String = t
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    phrases
        .key_names
        .iter()
        .any(|k| k.replace('_', "-") == key.replace('_', "-"))
}

/// "made by X", "trained by X", "由X": a maker is named.
pub fn made_by_before(phrases: &ContextPhrases, text: &str, start: usize) -> bool {
    let tail = tail_before(text, start, 40);
    let spaced = tail.trim_end();
    phrases
        .made_by_before
        .iter()
        .any(|p| ends_with_phrase(spaced, p) || ends_with_phrase(&tail, p))
}

/// After the name: "'s answer", "大模型", a model noun ("X, an AI assistant"), one of the term's
/// own context words, or (at a sentence start) "here" / "out".
pub fn named_after(
    phrases: &ContextPhrases,
    term_after: &[String],
    text: &str,
    start: usize,
    end: usize,
) -> bool {
    let rest: String = text[end..]
        .chars()
        .take(48)
        .collect::<String>()
        .to_lowercase();
    if phrases
        .after_name
        .iter()
        .any(|p| starts_with_phrase(&rest, p))
    {
        return true;
    }
    let spaced = rest.trim_start_matches([' ', '\t']);
    if spaced.len() < rest.len() || rest.starts_with(',') {
        let noun = spaced
            .trim_start_matches(',')
            .trim_start_matches([' ', '\t']);
        let noun = ["a ", "an ", "the "]
            .iter()
            .find_map(|a| noun.strip_prefix(a))
            .unwrap_or(noun);
        if phrases
            .model_nouns
            .iter()
            .chain(term_after)
            .any(|p| starts_with_phrase(noun, p))
        {
            return true;
        }
    }
    if at_sentence_start(text, start) && spaced.len() < rest.len() {
        return phrases
            .after_name_at_start
            .iter()
            .any(|p| starts_with_phrase(spaced, p));
    }
    false
}

/// A vendor after the name: "Gemini from Google", "Llama, made by Meta": where the vendor would
/// start.
pub fn vendor_start_after(phrases: &ContextPhrases, text: &str, end: usize) -> Option<usize> {
    let rest = &text[end..];
    let lower = rest.chars().take(40).collect::<String>().to_lowercase();
    let trimmed = lower.trim_start_matches([',', ' ', '\t']);
    let skipped = lower.len() - trimmed.len();
    if skipped == 0 {
        return None;
    }
    for p in phrases
        .made_by_before
        .iter()
        .map(String::as_str)
        .chain(["by", "from"])
    {
        if let Some(after) = trimmed.strip_prefix(p)
            && after.starts_with([' ', '\t'])
        {
            let spaces = after.len() - after.trim_start().len();
            return Some(end + skipped + p.len() + spaces);
        }
    }
    None
}

/// Where a vendor name would end if it stood right before `start` ("Google Gemini", "Meta's
/// Llama", "google/gemma"): `start` minus the separator and an optional possessive.
pub fn vendor_end_before(text: &str, start: usize) -> Option<usize> {
    let before = &text[..start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    let trimmed = if trimmed.len() == before.len() {
        before.strip_suffix(['-', '/', '.'])?
    } else {
        trimmed
    };
    let trimmed = trimmed
        .strip_suffix("'s")
        .or_else(|| trimmed.strip_suffix("’s"))
        .unwrap_or(trimmed);
    Some(trimmed.len())
}

/// Deny lists: "Claude Shannon", "Jean-Claude", "Meta-analysis", "亚马逊河".
pub fn denied(
    deny_next: &[String],
    deny_prev: &[String],
    deny_hyphenated: bool,
    text: &str,
    start: usize,
    end: usize,
) -> bool {
    let after = &text[end..];
    if deny_hyphenated
        && let Some(rest) = after.strip_prefix('-')
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '[')
    {
        return true;
    }
    if !deny_next.is_empty() {
        let next = after.trim_start_matches([' ', '\t', '・', '·', '-']);
        let word = word_after(next, 0);
        let lower_next: String = next.chars().take(12).collect::<String>().to_lowercase();
        let hit = deny_next.iter().any(|d| {
            if d.is_ascii() {
                next.len() < after.len() && *d == word
            } else {
                lower_next.starts_with(d.as_str())
            }
        });
        if hit {
            return true;
        }
    }
    if !deny_prev.is_empty() {
        let before = &text[..start];
        let trimmed = before.trim_end_matches([' ', '\t', '-', '・', '·']);
        let word = word_before(trimmed, trimmed.len());
        let lower_before: String = trimmed.to_lowercase();
        let hit = deny_prev.iter().any(|d| {
            let d = d.trim_end_matches('-');
            if d.is_ascii() {
                trimmed.len() < before.len() && d == word
            } else {
                lower_before.ends_with(d)
            }
        });
        if hit {
            return true;
        }
    }
    false
}

/// A Claude tier version written before the tier name ("3.5 Sonnet"): where it starts.
pub fn tier_version_before(text: &str, start: usize) -> Option<usize> {
    let before = &text[..start];
    let t = before.strip_suffix([' ', '-'])?;
    let bytes = t.as_bytes();
    let n = bytes.len();
    let digit = |i: usize| bytes.get(i).is_some_and(|b| (b'3'..=b'9').contains(b));
    let begins =
        |i: usize| i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
    (n >= 3
        && digit(n - 3)
        && bytes[n - 2] == b'.'
        && bytes[n - 1].is_ascii_digit()
        && begins(n - 3))
    .then_some(n - 3)
}

/// Whether the whitespace-delimited chunk around `start..end` is an identifier rather than a
/// word: a hashtag, a handle, a hostname, a path or URL, a snake_case or dotted name.
pub fn in_identifier(text: &str, start: usize, end: usize) -> bool {
    let chunk_start = text[..start].rfind(char::is_whitespace).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    });
    let chunk_end = text[end..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| end + i);
    let chunk = text[chunk_start..chunk_end]
        .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
    let chunk = chunk.trim_start_matches(['(', '"', '\'']);
    if chunk.starts_with(['#', '@']) {
        return true;
    }
    let bytes = chunk.as_bytes();
    bytes.windows(2).any(|w| {
        matches!(w[0], b'/' | b'\\' | b'=' | b'?' | b'&' | b'%' | b'-' | b'.')
            && w[1].is_ascii_alphanumeric()
    }) && chunk
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '.' | '=' | '?' | '&' | '%'))
}

/// Whether `start..end` sits in a hashtag or handle, a path or a hostname: narrower than
/// [`in_identifier`], so that an ordinary word ("alpha=0.05") is not taken for an account.
pub fn in_handle_host_or_path(text: &str, start: usize, end: usize) -> bool {
    if !in_identifier(text, start, end) {
        return false;
    }
    let chunk_start = text[..start].rfind(char::is_whitespace).map_or(0, |i| {
        i + text[i..].chars().next().map_or(1, char::len_utf8)
    });
    let chunk_end = text[end..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| end + i);
    let chunk = text[chunk_start..chunk_end]
        .trim_matches(['.', ',', ';', ':', '!', '?', '(', ')', '"', '\'']);
    if chunk.starts_with(['#', '@']) || chunk.contains('/') {
        return true;
    }
    // A hostname: dot-separated labels ending in a letters-only top-level label.
    let labels: Vec<&str> = chunk.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_lowercase()))
}

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
pub fn suffix_pattern(tiers: &[String]) -> String {
    let escape_all = |words: &mut dyn Iterator<Item = String>| -> String {
        words
            .map(|w| regex::escape(&w))
            .collect::<Vec<_>>()
            .join("|")
    };
    let id_words = escape_all(
        &mut ID_WORDS
            .iter()
            .map(|w| w.to_string())
            .chain(tiers.iter().cloned()),
    );
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
         |{SPACE}(?:{any_case}|(?-i:{capitalised}))|\\+)*"
    )
}

pub fn suffix_gives_context(
    version: VersionRule,
    tiers: &[String],
    suffix: &str,
    capitalised: bool,
) -> bool {
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
        .any(|(_, t)| tiers.iter().any(|tier| *tier == lower(t)))
    {
        return true;
    }
    let has_digit = |t: &str| t.chars().any(|c| c.is_ascii_digit());
    let spaced = tokens
        .first()
        .is_some_and(|(sep, _)| sep.contains([' ', '\t']));
    if spaced && !capitalised && matches!(version, VersionRule::Any | VersionRule::ClaudeTier) {
        return false;
    }
    match version {
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
