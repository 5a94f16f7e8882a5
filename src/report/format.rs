//! Number and text formatting shared by the Markdown, HTML and terminal renderers.
//!
//! Every renderer has to print the same number the same way, or a reader comparing report.md
//! with the terminal would see two different results. Numbers get fixed decimals by kind (2 for
//! scores and effects, 3 for agreement, 4 for p-values), undefined values print as "n/a", and a
//! rounded zero never shows as "-0.00". User-supplied text (ids, questions, sentences) is escaped
//! so that it can neither break a Markdown table nor inject HTML.

use crate::analyze::hypothesis::{at_monte_carlo_floor, p_text};
use crate::analyze::results::Estimate;

pub(crate) const NA: &str = "n/a";

/// Fixed decimals; "n/a" for `None` and (defensively) for NaN or infinities.
pub(crate) fn fixed(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let s = format!("{v:.decimals$}");
            // "-0.00" is a rounded zero; print it as zero.
            if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
                s[1..].to_string()
            } else {
                s
            }
        }
        _ => NA.to_string(),
    }
}

/// Fixed decimals with an explicit sign for non-zero values ("+1.93", "-0.12", "0.00").
pub(crate) fn signed(x: Option<f64>, decimals: usize) -> String {
    let s = fixed(x, decimals);
    if s == NA || s.starts_with('-') || s.chars().all(|c| c == '0' || c == '.') {
        s
    } else {
        format!("+{s}")
    }
}

/// "[lo, hi]", or "[n/a]" when the interval is undefined.
pub(crate) fn interval(low: Option<f64>, high: Option<f64>, decimals: usize) -> String {
    match (low, high) {
        (Some(l), Some(h)) if l.is_finite() && h.is_finite() => {
            format!(
                "[{}, {}]",
                fixed(Some(l), decimals),
                fixed(Some(h), decimals)
            )
        }
        _ => format!("[{NA}]"),
    }
}

/// "0.81 [0.74, 0.87]"; "n/a" alone when the estimate itself is undefined.
pub(crate) fn estimate(e: &Estimate, decimals: usize) -> String {
    if fixed(e.value, decimals) == NA {
        return NA.to_string();
    }
    format!(
        "{} {}",
        fixed(e.value, decimals),
        interval(e.ci_low, e.ci_high, decimals)
    )
}

/// An estimate in running text: "0.812, 95% CI [0.731, 0.879]" (APA style); "n/a" alone when
/// the estimate is undefined, and without the interval when only that is.
pub(crate) fn estimate_prose(e: &Estimate, decimals: usize, confidence: f64) -> String {
    if fixed(e.value, decimals) == NA {
        return NA.to_string();
    }
    let ci = interval(e.ci_low, e.ci_high, decimals);
    if ci == format!("[{NA}]") {
        fixed(e.value, decimals)
    } else {
        format!(
            "{}, {} CI {ci}",
            fixed(e.value, decimals),
            level(confidence)
        )
    }
}

/// An effect: signed value and interval, "+1.93 [1.80, 2.00]".
pub(crate) fn effect(e: &Estimate) -> String {
    if fixed(e.value, 2) == NA {
        return NA.to_string();
    }
    format!(
        "{} {}",
        signed(e.value, 2),
        interval(e.ci_low, e.ci_high, 2)
    )
}

/// A p-value: four decimals, "< 0.0001" below that.
pub(crate) fn p_value(p: Option<f64>) -> String {
    match p {
        Some(v) if v.is_finite() => p_text(v, None),
        _ => NA.to_string(),
    }
}

/// Whether `p` is the floor of a Monte Carlo permutation test (see [`at_monte_carlo_floor`]).
pub(crate) fn at_permutation_floor(p: f64, permutations: usize) -> bool {
    at_monte_carlo_floor(p, permutations)
}

/// A Monte Carlo permutation p-value, written as a bound at the floor (see [`p_text`]).
pub(crate) fn permutation_p(p: Option<f64>, permutations: usize) -> String {
    match p {
        Some(v) if v.is_finite() => p_text(v, Some(permutations)),
        _ => NA.to_string(),
    }
}

/// A count with thousands separators: 10,000.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with no decimals ("94%"); "n/a" when undefined.
pub(crate) fn percent(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{}%", fixed(Some(v * 100.0), 0)),
        _ => NA.to_string(),
    }
}

/// The confidence level as people write it: 0.95 -> "95%".
pub(crate) fn level(confidence: f64) -> String {
    format!(
        "{}%",
        crate::analyze::results::trim_number(confidence * 100.0)
    )
}

/// The level of the TOST interval, 1 - 2 alpha with alpha = 1 - confidence: 0.95 -> "90%"
/// (Schuirmann's two one-sided tests at alpha each).
pub(crate) fn tost_level(confidence: f64) -> String {
    level(2.0 * confidence - 1.0)
}

/// A scale's range, "0–2" or "1–5".
pub(crate) fn range(min: f64, max: f64) -> String {
    use crate::analyze::results::trim_number;
    format!("{}–{}", trim_number(min), trim_number(max))
}

/// User text as one line: every line break (and other control character) becomes a space.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
}

/// User text for Markdown, inline or in a table cell: one line, and every character that could
/// start Markdown or HTML syntax backslash-escaped (CommonMark 2.4), so the text renders
/// literally. Characters that are only special in some positions are escaped only there, so
/// that ordinary text ("p < 0.05", "A & B", `verification_support`) stays readable in the .md
/// source: '<' before a tag-like character, '&' before an entity-like one, '_' outside a word,
/// '>', '#', '+', '-', '=' at the start, '.' or ')' after leading digits (a list marker).
pub(crate) fn md(s: &str) -> String {
    let line = one_line(s);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let escape = match c {
            // Emphasis, code, links, table cells, strikethrough and (on GitHub) math.
            '\\' | '`' | '*' | '[' | ']' | '|' | '~' | '$' => true,
            '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
            // Raw HTML and autolinks start "<a", "</", "<!", "<?".
            '<' => next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')),
            // Entity and character references: "&amp;", "&#60;".
            '&' => next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#'),
            // Block quotes, headings, list markers and setext underlines at the start.
            '>' | '#' | '+' | '-' | '=' => i == 0,
            '.' | ')' => i > 0 && chars[..i].iter().all(|c| c.is_ascii_digit()),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Inline code whose fence cannot be closed by the content (CommonMark 6.1: a run of backticks
/// longer than any run inside).
pub(crate) fn code(s: &str) -> String {
    let line = one_line(s);
    let mut longest = 0;
    let mut run = 0;
    for c in line.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    // Inside a table, a pipe ends the cell even in a code span (GFM); it is escaped there.
    let body = line.replace('|', "\\|");
    if body.starts_with('`') || body.ends_with('`') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// Text for HTML element content and attribute values.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A figure or placeholder key made safe for a file name and an HTML comment: anything outside
/// `[A-Za-z0-9._-]` becomes '_'. Study ids are already restricted to these characters; this
/// guards results read back from a hand-edited file.
pub(crate) fn slug(s: &str) -> String {
    let slug: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A name made of dots alone would be a path component with a meaning ("." or "..").
    if slug.is_empty() || slug.chars().all(|c| c == '.') {
        format!("_{slug}")
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_decimals_and_undefined_values() {
        let cases: &[(Option<f64>, usize, &str)] = &[
            (Some(1.0), 2, "1.00"),
            (Some(1.005), 2, "1.00"), // binary 1.00499..., rounds down
            (Some(-0.001), 2, "0.00"),
            (Some(-0.0), 3, "0.000"),
            (Some(-0.25), 2, "-0.25"),
            (None, 2, "n/a"),
            (Some(f64::NAN), 2, "n/a"),
            (Some(f64::INFINITY), 2, "n/a"),
        ];
        for &(x, d, expected) in cases {
            assert_eq!(fixed(x, d), expected, "{x:?}");
        }
    }

    #[test]
    fn signed_effects() {
        let cases: &[(Option<f64>, &str)] = &[
            (Some(1.93), "+1.93"),
            (Some(-0.12), "-0.12"),
            (Some(0.004), "0.00"),
            (Some(-0.004), "0.00"),
            (None, "n/a"),
        ];
        for &(x, expected) in cases {
            assert_eq!(signed(x, 2), expected, "{x:?}");
        }
        let e = Estimate::new(Some(1.925), Some((1.8, 2.0)));
        assert_eq!(effect(&e), "+1.93 [1.80, 2.00]");
        assert_eq!(effect(&Estimate::new(Some(0.5), None)), "+0.50 [n/a]");
        assert_eq!(effect(&Estimate::new(None, Some((0.0, 1.0)))), "n/a");
    }

    #[test]
    fn p_values() {
        let cases: &[(Option<f64>, &str)] = &[
            (Some(0.5), "0.5000"),
            (Some(0.04999), "0.0500"),
            (Some(0.0001), "0.0001"),
            // Analytic p-values (the efficacy tests invert closed-form intervals).
            (Some(0.00009), "< 0.0001"),
            (Some(1e-12), "< 0.0001"),
            (None, "n/a"),
        ];
        for &(p, expected) in cases {
            assert_eq!(p_value(p), expected, "{p:?}");
        }
    }

    #[test]
    fn permutation_p_values_at_the_floor_are_bounds() {
        let cases: &[(f64, usize, &str)] = &[
            (1.0 / 1000.0, 999, "≤ 0.0010"),
            (1.0 / 10000.0, 9999, "≤ 0.0001"),
            // Never finer than the resolution 1/(B + 1) of B draws.
            (1.0 / 10001.0, 10000, "≤ 0.0001"),
            (1.0 / 100_001.0, 100_000, "≤ 0.00001"),
            (1.0 / 200.0, 199, "≤ 0.0050"),
            (2.0 / 10001.0, 10000, "0.0002"),
            (0.4123, 10000, "0.4123"),
        ];
        for &(p, b, expected) in cases {
            assert_eq!(permutation_p(Some(p), b), expected, "{p} with {b}");
        }
        assert_eq!(permutation_p(None, 10), "n/a");
    }

    #[test]
    fn counts_levels_and_ranges() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(level(0.95), "95%");
        assert_eq!(level(0.9), "90%");
        assert_eq!(
            tost_level(0.95),
            "90%",
            "Schuirmann's TOST at alpha = 0.05 is the 90% interval"
        );
        assert_eq!(tost_level(0.99), "98%");
        assert_eq!(range(0.0, 2.0), "0–2");
        assert_eq!(range(1.0, 5.0), "1–5");
        assert_eq!(percent(Some(0.9375)), "94%");
        assert_eq!(percent(None), "n/a");
    }

    #[test]
    fn markdown_escaping_keeps_text_literal() {
        let cases: &[(&str, &str)] = &[
            ("verification_support", "verification_support"),
            ("_lead", "\\_lead"),
            ("a|b", "a\\|b"),
            ("line\nbreak", "line break"),
            ("<script>", "\\<script>"),
            ("p < 0.05", "p < 0.05"),
            ("<!-- c -->", "\\<!-- c -->"),
            ("**bold** [x](y)", "\\*\\*bold\\*\\* \\[x\\](y)"),
            ("- item", "\\- item"),
            ("a - b", "a - b"),
            ("1. item", "1\\. item"),
            ("# h", "\\# h"),
            ("a & b", "a & b"),
            ("&amp; &#60;", "\\&amp; \\&#60;"),
            ("> quote", "\\> quote"),
        ];
        for &(input, expected) in cases {
            assert_eq!(md(input), expected, "{input:?}");
        }
    }

    #[test]
    fn escaped_text_renders_as_itself() {
        // The rendered Markdown shows exactly the input (CommonMark backslash escapes).
        for input in [
            "a|b*c*_d_ <b>x</b> [l](http://e) `c` \\ & ~s~ # $x$",
            "1. x",
            "- y",
            "> q",
            "&amp; &#60; <!-- x --> <http://a.b> p < 0.05 a_b",
            "![i](x.png)",
        ] {
            // GitHub's extensions; no smart punctuation (it would rewrite "--").
            let options = pulldown_cmark::Options::ENABLE_TABLES
                | pulldown_cmark::Options::ENABLE_STRIKETHROUGH
                | pulldown_cmark::Options::ENABLE_MATH;
            let render = |markdown: &str| {
                let mut html = String::new();
                let parser = pulldown_cmark::Parser::new_ext(markdown, options);
                pulldown_cmark::html::push_html(&mut html, parser);
                html
            };
            let expected = self::html(input).replace("&#39;", "'");
            let table = render(&format!("| h |\n|---|\n| {} |\n", md(input)));
            let cell = table
                .split("<td>")
                .nth(1)
                .and_then(|s| s.split("</td>").next())
                .unwrap();
            assert_eq!(cell, expected, "{input:?} -> {table}");
            let paragraph = render(&md(input));
            assert_eq!(paragraph, format!("<p>{expected}</p>\n"), "{input:?}");
        }
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("abc"), "`abc`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("verification_support"), "verification_support");
        assert_eq!(slug("a b/c"), "a_b_c");
        assert_eq!(slug(".."), "_..");
        assert_eq!(slug(""), "_");
        assert_eq!(slug("x-->"), "x--_");
    }
}
