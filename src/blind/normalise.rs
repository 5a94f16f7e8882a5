//! Characters as a reader perceives them.
//!
//! A name can hide from a byte-level search in many ways that a human reader sees straight
//! through: invisible characters inside it, compatibility forms (full-width, mathematical
//! letters), look-alikes from other scripts (Cyrillic "а"), small capitals, combining marks,
//! leetspeak digits, letters spread out with spaces or dots. This module gives the views the
//! matcher works on, each mapped back to the bytes it came from:
//!
//! 1. [`strip_invisible`] removes what has no place in a conversation at all (Unicode tag
//!    characters, bidi controls, variation selectors, zero-width and other default-ignorable
//!    characters, control characters) from the text itself, counting them per class;
//! 2. a [`View`] is the text after NFKC per cluster, `_` read as `-`: the *light view*, on which
//!    context rules and version suffixes are read;
//! 3. a [`Folded`] stream holds only the letters and digits of a view, each folded to a
//!    *skeleton* (Unicode TR39 confusables via `unicode-security`, marks dropped, lowercase,
//!    leetspeak digits read as letters, `i` read as `l` as the skeleton reads `I`), with the
//!    gaps between them recorded. Names are found in this stream, so "C l a u d e",
//!    "Сlаudе" and "Cl4ud3" all read "claude".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

/// A char and the original byte range it stands for.
pub type Unit = (char, usize, usize);

/// Classes of characters removed from everything raters and judges see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invisible {
    /// U+E0000–U+E007F: used to smuggle invisible ASCII.
    Tag,
    /// Bidi marks, embeddings, overrides and isolates.
    Bidi,
    VariationSelector,
    /// Zero-width space, joiner, non-joiner, word joiner, BOM.
    ZeroWidth,
    /// C0 and C1 control characters other than tab and line breaks.
    Control,
    /// Every other default-ignorable code point (soft hyphen, Hangul fillers, ...).
    OtherIgnorable,
}

/// Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt): invisible when rendered.
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// The class of a character that must not reach raters, if it is one.
pub fn invisible_class(c: char) -> Option<Invisible> {
    let u = c as u32;
    match u {
        0xE0000..=0xE007F => Some(Invisible::Tag),
        0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => Some(Invisible::Bidi),
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF | 0x180B..=0x180D | 0x180F => {
            Some(Invisible::VariationSelector)
        }
        0x200B..=0x200D | 0x2060 | 0xFEFF => Some(Invisible::ZeroWidth),
        0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x7F..=0x9F => Some(Invisible::Control),
        _ if is_default_ignorable(c) => Some(Invisible::OtherIgnorable),
        _ => None,
    }
}

/// The text without invisible characters, and how many of each class were removed.
pub fn strip_invisible(text: &str) -> (String, BTreeMap<Invisible, u32>) {
    let mut counts = BTreeMap::new();
    if !text.chars().any(|c| invisible_class(c).is_some()) {
        return (text.to_string(), counts);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match invisible_class(c) {
            Some(class) => *counts.entry(class).or_insert(0) += 1,
            None => out.push(c),
        }
    }
    (out, counts)
}

pub fn units_of(s: &str) -> Vec<Unit> {
    s.char_indices()
        .map(|(i, c)| (c, i, i + c.len_utf8()))
        .collect()
}

/// Normalised text with, for each of its chars, the original bytes it came from.
#[derive(Debug, Clone)]
pub struct View {
    pub text: String,
    /// Per char of `text`: (byte offset in `text`, original start, original end). Chars that
    /// the renderer added (a table-cell break) have an empty original range.
    pub map: Vec<(usize, usize, usize)>,
}

impl View {
    pub fn of_plain(text: &str) -> View {
        normalise(&units_of(text))
    }

    /// The original byte range behind the view's byte range `start..end`, ignoring chars with no
    /// original bytes; `None` when every char in it was added by the renderer.
    pub fn original(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let first = self.map.partition_point(|m| m.0 < start);
        let last = self.map.partition_point(|m| m.0 < end);
        let mut range: Option<(usize, usize)> = None;
        for &(_, s, e) in &self.map[first..last] {
            if s < e {
                range = Some(match range {
                    None => (s, e),
                    Some((a, b)) => (a.min(s), b.max(e)),
                });
            }
        }
        range
    }

    /// Index into `map` of the char at byte `at`.
    pub fn char_index(&self, at: usize) -> usize {
        self.map.partition_point(|m| m.0 < at)
    }
}

/// NFKC per cluster (a starter and the combining marks after it), dropping default-ignorables
/// and reading `_` as `-`. Each output char maps to its cluster's original bytes, so a match
/// never splits an original char.
pub fn normalise(input: &[Unit]) -> View {
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

// ---------------------------------------------------------------------------------------------
// Folding.
// ---------------------------------------------------------------------------------------------

/// Letter-like symbols that neither NFKC nor the TR39 skeleton reads as letters, although a
/// reader does: small capitals, regional indicators, negative circled and squared letters.
fn letterlike(c: char) -> Option<char> {
    let u = c as u32;
    let from = |base: u32| char::from_u32(u - base + 'a' as u32);
    match u {
        0x1F1E6..=0x1F1FF => from(0x1F1E6),
        0x1F150..=0x1F169 => from(0x1F150),
        0x1F170..=0x1F189 => from(0x1F170),
        _ => match c {
            'ᴀ' => Some('a'),
            'ʙ' => Some('b'),
            'ᴄ' => Some('c'),
            'ᴅ' => Some('d'),
            'ᴇ' => Some('e'),
            'ꜰ' => Some('f'),
            'ɢ' => Some('g'),
            'ʜ' => Some('h'),
            'ɪ' => Some('i'),
            'ᴊ' => Some('j'),
            'ᴋ' => Some('k'),
            'ʟ' => Some('l'),
            'ᴍ' => Some('m'),
            'ɴ' => Some('n'),
            'ᴏ' => Some('o'),
            'ᴘ' => Some('p'),
            'ꞯ' => Some('q'),
            'ʀ' => Some('r'),
            'ꜱ' => Some('s'),
            'ᴛ' => Some('t'),
            'ᴜ' => Some('u'),
            'ᴠ' => Some('v'),
            'ᴡ' => Some('w'),
            'ʏ' => Some('y'),
            'ᴢ' => Some('z'),
            'ı' => Some('i'),
            _ => None,
        },
    }
}

/// Leetspeak and the skeleton's own merges, applied after lowercasing: the skeleton reads "I"
/// and "1" as "l", so "i" must read as "l" too, or "GEMINI" and "gemini" would differ.
fn leet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' | 'i' | '|' | '!' => 'l',
        '2' => 'z',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '6' | '9' => 'g',
        '7' => 't',
        '8' => 'b',
        '€' => 'e',
        c => c,
    }
}

/// Whether `c` can be part of a folded letter run.
fn foldable(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '$' | '€')
}

/// Appends the skeleton of `c` (see the module docs) to `out`.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        push_folded(c.to_ascii_lowercase(), out);
        return;
    }
    if let Some(l) = letterlike(c) {
        push_folded(l, out);
        return;
    }
    let mut buf = [0u8; 4];
    for s in unicode_security::skeleton(c.encode_utf8(&mut buf)) {
        if canonical_combining_class(s) != 0 || is_enclosing_mark(s) {
            continue;
        }
        for l in s.to_lowercase() {
            match letterlike(l) {
                Some(l) => push_folded(l, out),
                None => push_folded(l, out),
            }
        }
    }
}

/// A lowercase char into the stream: "m" as the skeleton's "rn", leetspeak read as letters,
/// anything but a letter or digit left out.
fn push_folded(c: char, out: &mut String) {
    if c == 'm' {
        out.push_str("rn");
    } else if foldable(c) {
        out.push(leet(c));
    }
}

/// Combining marks with class 0 that still attach to the letter before (enclosing circles,
/// keycaps), and the other spacing-invisible marks a skeleton leaves.
fn is_enclosing_mark(c: char) -> bool {
    matches!(c as u32, 0x20DD..=0x20E4 | 0x0488..=0x0489 | 0xA670..=0xA672)
}

/// A string folded as the stream folds text (for patterns).
pub fn fold_str(s: &str) -> String {
    let view = View::of_plain(s);
    let mut out = String::new();
    for c in view.text.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// The folded stream of a view: one entry per folded char.
#[derive(Debug, Default)]
pub struct Folded {
    /// Folded letters and digits; `\0` marks a hard break no name may cross.
    pub text: String,
    /// Per byte of `text` that starts a char: the view char index it came from (`usize::MAX` for
    /// a hard break). Folded chars are ASCII or short, so this is indexed by byte.
    pub at: Vec<usize>,
}

pub const HARD_BREAK: char = '\0';

impl Folded {
    /// Builds the stream over `view`, skipping the chars in `skip` (sorted byte ranges of the
    /// view: HTML-like tags shown as text, which a reader skips over) and making hard breaks at
    /// the view byte ranges in `walls` (existing placeholders) and at long gaps.
    pub fn new(view: &View, skip: &[(usize, usize)], walls: &[(usize, usize)]) -> Folded {
        let mut folded = Folded::default();
        let mut buf = String::new();
        let (mut s, mut w) = (0, 0);
        let mut gap = 0usize;
        let mut newlines = 0usize;
        for (index, &(byte, _, _)) in view.map.iter().enumerate() {
            while w < walls.len() && walls[w].1 <= byte {
                w += 1;
            }
            if w < walls.len() && walls[w].0 <= byte {
                folded.hard_break();
                continue;
            }
            while s < skip.len() && skip[s].1 <= byte {
                s += 1;
            }
            if s < skip.len() && skip[s].0 <= byte {
                continue;
            }
            let c = view.text[byte..]
                .chars()
                .next()
                .expect("char at map offset");
            buf.clear();
            fold_char(c, &mut buf);
            if buf.is_empty() {
                gap += 1;
                newlines += usize::from(c == '\n');
                if gap > MAX_GAP_CHARS || newlines > 1 {
                    folded.hard_break();
                }
                continue;
            }
            gap = 0;
            newlines = 0;
            for ch in buf.chars() {
                let len = ch.len_utf8();
                folded.text.push(ch);
                folded.at.extend(std::iter::repeat_n(index, len));
            }
        }
        folded
    }

    fn hard_break(&mut self) {
        if !self.text.ends_with(HARD_BREAK) {
            self.text.push(HARD_BREAK);
            self.at.push(usize::MAX);
        }
    }
}

/// A gap longer than this (in chars) between two letters ends any name.
pub const MAX_GAP_CHARS: usize = 4;

/// Spans of `text` that look like HTML tags (`<b>`, `</span>`, `<br/>`): `<` then a letter, `/`
/// or `!`, up to the next `>` within 80 bytes, on one line. A reader skips them.
pub fn html_like_tags(text: &str) -> Vec<(usize, usize)> {
    const MAX_TAG: usize = 80;
    let bytes = text.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let opens = bytes[i] == b'<'
            && bytes
                .get(i + 1)
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!');
        if opens {
            let window = &bytes[i + 1..bytes.len().min(i + 1 + MAX_TAG)];
            if let Some(k) = window
                .iter()
                .position(|&b| b == b'>' || b == b'<' || b == b'\n')
                && window[k] == b'>'
            {
                tags.push((i, i + k + 2));
                i += k + 2;
                continue;
            }
        }
        i += 1;
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> String {
        let view = View::of_plain(text);
        Folded::new(&view, &html_like_tags(&view.text), &[])
            .text
            .replace(HARD_BREAK, "|")
    }

    #[test]
    fn look_alikes_fold_to_one_skeleton() {
        let claude = fold_str("claude");
        for form in [
            "Claude",
            "CLAUDE",
            "Сlаudе",
            "ᴄʟᴀᴜᴅᴇ",
            "C\u{332}laude",
            "Ｃｌａｕｄｅ",
            "𝐂𝐥𝐚𝐮𝐝𝐞",
            "Cl4ud3",
            "🅒🅛🅐🅤🅓🅔",
            "ⒸⓁⒶⓊⒹⒺ",
        ] {
            assert_eq!(fold_str(form), claude, "{form}");
        }
        assert_eq!(fold_str("GΕΜΙΝΙ"), fold_str("gemini"));
        assert_eq!(fold_str("G3m1n1"), fold_str("gemini"));
        assert_eq!(fold_str("Gernini"), fold_str("gemini"), "rn reads as m");
        assert_ne!(fold_str("Claudette"), claude);
    }

    #[test]
    fn the_stream_skips_separators_and_tags_and_breaks_at_long_gaps() {
        assert_eq!(folded("C l a u d e"), fold_str("claude"));
        assert_eq!(folded("Cla<b></b>ude"), fold_str("claude"));
        assert_eq!(folded("Cla-\nude"), fold_str("claude"));
        assert_eq!(folded("Cla      ude"), "cla|ude");
        assert_eq!(folded("Cla\n\nude"), "cla|ude");
    }

    #[test]
    fn invisible_characters_are_removed_and_counted() {
        let (text, counts) = strip_invisible(
            "C\u{200B}laude\u{E0041}\u{E0042} \u{202E}ih\u{202C} ❤\u{FE0F} a\u{0007}b\u{00AD}",
        );
        assert_eq!(text, "Claude ih ❤ ab");
        assert_eq!(
            counts,
            BTreeMap::from([
                (Invisible::Tag, 2),
                (Invisible::Bidi, 2),
                (Invisible::VariationSelector, 1),
                (Invisible::ZeroWidth, 1),
                (Invisible::Control, 1),
                (Invisible::OtherIgnorable, 1),
            ])
        );
        let (same, none) = strip_invisible("plain\ttext\n");
        assert_eq!(same, "plain\ttext\n");
        assert!(none.is_empty());
    }

    #[test]
    fn views_map_back_to_original_bytes() {
        let view = View::of_plain("ﬁne x");
        assert_eq!(view.text, "fine x");
        assert_eq!(
            view.original(0, 2),
            Some((0, 3)),
            "both letters of the ligature"
        );
        assert_eq!(view.original(5, 6), Some((6, 7)));
    }
}
