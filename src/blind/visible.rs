//! What a rater actually reads: the visible text of a turn, mapped back to its source bytes.
//!
//! Raters read markdown rendered to HTML, so "Cla**ude**", "Cl`au`de" and "&#67;laude" all read
//! "Claude" although no source byte sequence says so. [`markdown_units`] walks the very events
//! the rating form is rendered from ([`crate::blind::packet::rater_events`]) and returns each
//! visible char with the source range it came from, so a name found in the visible text can be
//! replaced in the source. [`html_text`] reads the text of rendered HTML independently, for the
//! leak gate's check of the page as written.

use pulldown_cmark::{Event, TagEnd};

use super::normalise::Unit;
use super::packet::rater_events;

/// The visible chars of a markdown turn with their source ranges. Chars the page adds (line
/// breaks between blocks, a tab between table cells, `[image: `) have an empty range.
pub fn markdown_units(source: &str) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::with_capacity(source.len());
    let added = |units: &mut Vec<Unit>, s: &str, at: usize| {
        units.extend(s.chars().map(|c| (c, at, at)));
    };
    for (event, range) in rater_events(source) {
        match event {
            Event::Text(text) | Event::Code(text) => {
                if range.is_empty() {
                    added(&mut units, &text, range.start);
                } else {
                    map_text(&text, source, range.start, range.end, &mut units);
                }
            }
            Event::SoftBreak => units.push((' ', range.start, range.end)),
            Event::HardBreak => units.push(('\n', range.start, range.end)),
            Event::Rule => added(&mut units, "\n\n", range.end),
            Event::End(end) => match end {
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock => {
                    added(&mut units, "\n\n", range.end)
                }
                TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead | TagEnd::BlockQuote(_) => {
                    added(&mut units, "\n", range.end)
                }
                TagEnd::TableCell => added(&mut units, "\t", range.end),
                _ => {}
            },
            _ => {}
        }
    }
    units
}

/// Maps the chars of an event's `text` to source bytes within `start..end`: one to one when the
/// source says the same, else by finding the text (or, char by char, its pieces) in the source;
/// a char that cannot be found (an entity's expansion) stands for the whole range.
fn map_text(text: &str, source: &str, start: usize, end: usize, units: &mut Vec<Unit>) {
    let slice = &source[start..end];
    if slice == text {
        units.extend(text.char_indices().map(|(i, c)| {
            let s = start + i;
            (c, s, s + c.len_utf8())
        }));
        return;
    }
    // A link target or code span: the text appears verbatim inside the range; take the last
    // occurrence (the target follows the link text).
    if !text.is_empty()
        && let Some(at) = slice.rfind(text)
    {
        units.extend(text.char_indices().map(|(i, c)| {
            let s = start + at + i;
            (c, s, s + c.len_utf8())
        }));
        return;
    }
    let mut cursor = 0;
    for c in text.chars() {
        match slice[cursor..].find(c) {
            Some(k) if k <= 8 => {
                let s = start + cursor + k;
                units.push((c, s, s + c.len_utf8()));
                cursor += k + c.len_utf8();
            }
            _ => units.push((c, start, end)),
        }
    }
}

/// The text a browser shows for sanitised HTML from [`crate::blind::packet::render_markdown`]:
/// tags dropped (block ends read as line breaks, cells as tabs), character references decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let Some(gt) = rest[lt..].find('>') else {
            out.push_str(&decode_entities(&rest[lt..]));
            return out;
        };
        let tag = &rest[lt + 1..lt + gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        match name.as_str() {
            "br" => out.push('\n'),
            "hr" => out.push_str("\n\n"),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "pre" if closing => {
                out.push_str("\n\n")
            }
            "li" | "tr" | "blockquote" | "ul" | "ol" | "table" | "thead" | "tbody" if closing => {
                out.push('\n')
            }
            "td" | "th" if closing => out.push('\t'),
            _ => {}
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(&decode_entities(rest));
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
    ("ndash", '\u{2013}'),
    ("mdash", '\u{2014}'),
    ("lsquo", '\u{2018}'),
    ("rsquo", '\u{2019}'),
    ("ldquo", '\u{201C}'),
    ("rdquo", '\u{201D}'),
    ("bull", '\u{2022}'),
    ("hellip", '\u{2026}'),
    ("trade", '\u{2122}'),
    ("minus", '\u{2212}'),
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
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(33)
            .find(|&(_, c)| c == ';' || !(c.is_ascii_alphanumeric() || c == '#'))
            .filter(|&(_, c)| c == ';');
        match end.and_then(|(k, _)| entity_char(&after[..k]).map(|c| (k, c))) {
            Some((k, c)) => {
                out.push(c);
                rest = &after[k + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blind::packet::render_markdown;

    fn visible(source: &str) -> String {
        markdown_units(source).into_iter().map(|u| u.0).collect()
    }

    /// The source bytes behind the visible chars `from..to`.
    fn source_of(source: &str, from: usize, to: usize) -> String {
        let units = markdown_units(source);
        let s = units[from..to]
            .iter()
            .filter(|u| u.1 < u.2)
            .map(|u| u.1)
            .min()
            .unwrap();
        let e = units[from..to].iter().map(|u| u.2).max().unwrap();
        source[s..e].to_string()
    }

    #[test]
    fn markup_inside_a_name_is_invisible() {
        let table = [
            ("Cla**ude** says hi", "Claude says hi"),
            ("Cl`au`de", "Claude"),
            ("Cl&#97;ude and &amp;", "Claude and &"),
            ("Cla\\*ude", "Cla*ude"),
            ("~~Cla~~ude", "Claude"),
            (
                "| a | b |\n|---|---|\n| Cla | ude |\n",
                "a\tb\t\nCla\tude\t\n",
            ),
            ("[Claude](https://claude.ai)", "[https://claude.ai] Claude"),
            ("![Claude](x.png)", "[image: x.png — Claude]"),
            ("Cla<b></b>ude", "Cla<b></b>ude"),
            ("line one\nline two", "line one line two"),
        ];
        for (source, shown) in table {
            assert_eq!(visible(source).trim_end(), shown.trim_end(), "{source:?}");
        }
        assert_eq!(source_of("Cla**ude** says", 0, 6), "Cla**ude");
        assert_eq!(source_of("Cl`au`de", 0, 6), "Cl`au`de");
        assert_eq!(
            source_of("[x](https://claude.ai)", 1, 18),
            "https://claude.ai"
        );
    }

    #[test]
    fn html_text_reads_what_the_browser_shows() {
        let html =
            render_markdown("Cla**ude** &amp; <b>x</b>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        let text = html_text(&html);
        assert!(text.starts_with("Claude & <b>x</b>\n\n"), "{text:?}");
        assert!(text.contains("1\t2\t"), "{text:?}");
        assert_eq!(
            decode_entities("a&#39;b&#x27;c&nbsp;&bogus;&amp"),
            "a'b'c\u{a0}&bogus;&amp"
        );
    }
}
