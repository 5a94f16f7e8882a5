//! LaTeX tables for papers: efficacy, equivalence and agreement as booktabs floats that authors
//! `\input` unchanged.
//!
//! Numbers in papers get copied from tables, so these are generated from [`StudyResults`] alone
//! (nothing is retyped or recomputed beyond formatting) and carry their own caveats: interval
//! levels, margins and unreliable dimensions are stated in captions and notes.
//!
//! Every file is a complete `table` float that needs only `\usepackage{booktabs}`. Columns are
//! plain `r`; numbers in a column are padded with `\phantom` digits and minus signs, so that
//! decimal points line up without siunitx or dcolumn. Long ids are stacked on several lines at
//! their `-`, `_`, `.` or spaces (in a nested `tabular`) so that a table fits a one-column page.
//!
//! Text from the study (ids, questions, verdict texts) is escaped to plain ASCII LaTeX for
//! pdfLaTeX with its default OT1 font encoding (what a bare `article` uses).
//! No output uses the TS1 text-companion symbols (`\dag`, `\textbullet`, `\S`, ...): pdfLaTeX draws
//! those from bitmap Type 3 fonts unless cm-super is installed, and publishers reject Type 3
//! fonts. Such symbols are set in math mode instead.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

use crate::analyze::results::{
    CellResult, DimensionResults, EffectResult, Estimate, Label, PairAgreement, StudyResults,
    trim_number,
};

/// Shown for every undefined number.
const NA: &str = "n/a";

/// Characters per line before an id in a table cell is stacked on several lines.
const ID_LINE: usize = 14;

/// Characters per line of a verdict: "raised to ceiling" fits, "equivalent (within $\pm$0.25)"
/// takes two lines.
const VERDICT_LINE: usize = 17;

/// Krippendorff (2004, Content Analysis, 2nd ed.) relies on variables with alpha of at least .800
/// and admits those between .667 and .800 only for tentative conclusions. The analysis flags
/// dimensions whose alpha is not shown to reach .667 (`Agreement::unreliable`: the interval
/// reaches below it, or there is none); the note states that rule.
const UNRELIABLE_NOTE: &str = "Flagged: the confidence interval of Krippendorff's $\\alpha$ \
    reaches below 0.667 (the lowest value that Krippendorff, 2004, accepts even for tentative \
    conclusions), or $\\alpha$ is undefined; differences on this dimension should not be \
    interpreted.";

/// The booktabs tables of a study's results, as `(file name, LaTeX)` pairs: for each dimension
/// `efficacy-<id>.tex` (mean score per model and scaffold), `ceiling-<id>.tex` (share at the top
/// of the scale) and `equivalence-<id>.tex` (effects versus baseline with their TOST), then
/// `agreement.tex` (inter-rater agreement per dimension), then `all.tex`, which holds all of them
/// in that order. Tables without rows are left out. File names and labels use the ids with any
/// character other than ASCII letters, digits, `-` and `_` replaced by `-` (made unique).
pub fn tables(results: &StudyResults) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stems = BTreeSet::new();
    // all.tex flushes floats after each dimension: LaTeX keeps at most 18 unprocessed floats.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for dim in &results.dimensions {
        let stem = unique_stem(&mut stems, &dim.id);
        let mut group = Vec::new();
        let kinds = [
            ("efficacy", efficacy_table(results, dim, &stem)),
            ("ceiling", ceiling_table(results, dim, &stem)),
            ("equivalence", equivalence_table(results, dim, &stem)),
            ("interaction", interaction_table(results, dim, &stem)),
        ];
        for (kind, table) in kinds {
            if let Some(table) = table {
                group.push(files.len());
                files.push((format!("{kind}-{stem}.tex"), table));
            }
        }
        groups.push(group);
    }
    if let Some(table) = agreement_table(results) {
        groups.push(vec![files.len()]);
        files.push(("agreement.tex".to_string(), table));
    }
    if !files.is_empty() {
        let all = all_tables(results, &files, &groups);
        files.push(("all.tex".to_string(), all));
    }
    files
}

/// Escapes text for LaTeX's text mode: special characters become commands, characters that
/// would form ligatures (`--`, ` `` `, `''`, `!``, `,,`) are kept apart, brackets are braced so
/// that a cell or line starting with `[` is never read as an optional argument, line breaks
/// become spaces, and non-ASCII characters become accent commands or math symbols. Characters
/// with no portable rendering are written as their code point (`\texttt{U+4E2D}`) rather than
/// left to fail the build. The result is ASCII.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.nfc() {
        match c {
            '\\' => push(&mut out, r"\textbackslash{}"),
            '{' => push(&mut out, r"\{"),
            '}' => push(&mut out, r"\}"),
            // Text-mode \$ is a TS1 glyph (bitmap under pdfLaTeX); the math one is in cmr.
            '$' => push(&mut out, r"$\$$"),
            '&' => push(&mut out, r"\&"),
            '%' => push(&mut out, r"\%"),
            '#' => push(&mut out, r"\#"),
            '_' => push(&mut out, r"\_"),
            '~' => push(&mut out, r"\textasciitilde{}"),
            '^' => push(&mut out, r"\textasciicircum{}"),
            // OT1 text fonts have other glyphs in these slots (inverted marks, a dash).
            '<' => push(&mut out, r"\textless{}"),
            '>' => push(&mut out, r"\textgreater{}"),
            '|' => push(&mut out, r"\textbar{}"),
            '[' => push(&mut out, "{[}"),
            ']' => push(&mut out, "{]}"),
            // A blank line would end the paragraph (an error inside a cell).
            '\n' | '\r' | '\t' => push(&mut out, " "),
            c if c.is_control() => {}
            c if c.is_ascii() => push(&mut out, c.encode_utf8(&mut [0; 4])),
            c => push(&mut out, &non_ascii(c)),
        }
    }
    out
}

/// Appends `piece`, keeping apart what TeX would otherwise join across the boundary: ligatures
/// and two math shifts (`$$` opens display math). Control words inside pieces end in `{}`, so
/// a following letter never joins them.
fn push(out: &mut String, piece: &str) {
    if let (Some(last), Some(first)) = (out.chars().last(), piece.chars().next()) {
        let joins = matches!(
            (last, first),
            ('-', '-')
                | ('`' | '\'', '`' | '\'')
                | ('!' | '?', '`')
                | (',', ',')
                | ('<', '<')
                | ('>', '>')
                | ('$', '$')
        );
        if joins {
            out.push_str("{}");
        }
    }
    out.push_str(piece);
}

/// LaTeX for one non-ASCII character (after NFC).
fn non_ascii(c: char) -> String {
    if let Some(s) = symbol(c) {
        return s.to_string();
    }
    if c.is_whitespace() {
        return " ".to_string();
    }
    if let Some(s) = letter(c) {
        return s.to_string();
    }
    if let Some(s) = accented(c) {
        return s;
    }
    if is_invisible(c) || unicode_normalization::char::is_combining_mark(c) {
        return String::new();
    }
    format!("\\texttt{{U+{:04X}}}", c as u32)
}

/// Punctuation, spaces and symbols with a rendering in OT1 text or in math mode.
fn symbol(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00A0}' => "~",
        '\u{2009}' | '\u{202F}' => r"\,",
        '\u{00AD}' => r"\-",
        '\u{2010}' | '\u{2011}' => "-",
        '\u{2012}' | '\u{2013}' => "--",
        '\u{2014}' | '\u{2015}' => "---",
        '\u{2018}' => "`",
        '\u{2019}' => "'",
        '\u{201A}' => ",",
        '\u{201C}' => "``",
        '\u{201D}' => "''",
        '\u{201E}' => ",,",
        '\u{2026}' => r"\dots{}",
        '\u{00A1}' => "!`",
        '\u{00BF}' => "?`",
        '\u{2032}' => "$'$",
        '\u{2033}' => "$''$",
        '\u{2212}' => "$-$",
        '\u{00B1}' => r"$\pm$",
        '\u{2213}' => r"$\mp$",
        '\u{00D7}' => r"$\times$",
        '\u{00F7}' => r"$\div$",
        '\u{00B7}' | '\u{22C5}' => r"$\cdot$",
        '\u{2022}' => r"$\bullet$",
        '\u{2264}' => r"$\leq$",
        '\u{2265}' => r"$\geq$",
        '\u{2260}' => r"$\neq$",
        '\u{2248}' => r"$\approx$",
        '\u{223C}' => r"$\sim$",
        '\u{2261}' => r"$\equiv$",
        '\u{221E}' => r"$\infty$",
        '\u{2192}' => r"$\rightarrow$",
        '\u{2190}' => r"$\leftarrow$",
        '\u{2194}' => r"$\leftrightarrow$",
        '\u{21D2}' => r"$\Rightarrow$",
        '\u{21D4}' => r"$\Leftrightarrow$",
        '\u{00B0}' => r"$^\circ$",
        '\u{00B5}' => r"$\mu$",
        '\u{2020}' => r"$\dagger$",
        '\u{2021}' => r"$\ddagger$",
        '\u{00A7}' => r"$\S$",
        '\u{00B6}' => r"$\P$",
        '\u{2122}' => r"\textsuperscript{TM}",
        '\u{00BD}' => "1/2",
        '\u{00BC}' => "1/4",
        '\u{00BE}' => "3/4",
        c => return greek(c),
    })
}

/// Greek letters in math mode; capitals that look Latin are Latin.
fn greek(c: char) -> Option<&'static str> {
    const LOWER: [&str; 25] = [
        r"$\alpha$",
        r"$\beta$",
        r"$\gamma$",
        r"$\delta$",
        r"$\epsilon$",
        r"$\zeta$",
        r"$\eta$",
        r"$\theta$",
        r"$\iota$",
        r"$\kappa$",
        r"$\lambda$",
        r"$\mu$",
        r"$\nu$",
        r"$\xi$",
        "o",
        r"$\pi$",
        r"$\rho$",
        r"$\varsigma$",
        r"$\sigma$",
        r"$\tau$",
        r"$\upsilon$",
        r"$\phi$",
        r"$\chi$",
        r"$\psi$",
        r"$\omega$",
    ];
    const UPPER: [&str; 25] = [
        "A",
        "B",
        r"$\Gamma$",
        r"$\Delta$",
        "E",
        "Z",
        "H",
        r"$\Theta$",
        "I",
        "K",
        r"$\Lambda$",
        "M",
        "N",
        r"$\Xi$",
        "O",
        r"$\Pi$",
        "P",
        "",
        r"$\Sigma$",
        "T",
        r"$\Upsilon$",
        r"$\Phi$",
        "X",
        r"$\Psi$",
        r"$\Omega$",
    ];
    let s = match c {
        '\u{03B1}'..='\u{03C9}' => LOWER[(c as u32 - 0x03B1) as usize],
        // U+03A2 is unassigned (there is no capital final sigma).
        '\u{0391}'..='\u{03A9}' if c != '\u{03A2}' => UPPER[(c as u32 - 0x0391) as usize],
        _ => return None,
    };
    Some(s)
}

/// Letters that are not a base letter with accents.
fn letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => r"\ss{}",
        'ẞ' => "SS",
        'æ' => r"\ae{}",
        'Æ' => r"\AE{}",
        'œ' => r"\oe{}",
        'Œ' => r"\OE{}",
        'ø' => r"\o{}",
        'Ø' => r"\O{}",
        'ł' => r"\l{}",
        'Ł' => r"\L{}",
        'ı' => r"\i{}",
        'ȷ' => r"\j{}",
        _ => return None,
    })
}

/// A Latin letter with accents, as nested accent commands (`ǘ` -> `\'{\"{u}}`). Accents that
/// OT1 lacks (ogonek, comma below, ...) are dropped, leaving the base letter.
fn accented(c: char) -> Option<String> {
    let mut parts = std::iter::once(c).nfd();
    let base = parts.next()?;
    let marks: Vec<char> = parts.collect();
    if marks.is_empty() {
        return None;
    }
    let accents: Vec<&str> = marks.iter().filter_map(|&m| accent(m)).collect();
    let above = accents
        .first()
        .is_some_and(|a| !matches!(*a, r"\c" | r"\d" | r"\b"));
    let mut out = match base {
        'i' if above => r"\i".to_string(),
        'j' if above => r"\j".to_string(),
        b if b.is_ascii_alphabetic() => b.to_string(),
        b => letter(b)?.trim_end_matches("{}").to_string(),
    };
    for a in accents {
        out = format!("{a}{{{out}}}");
    }
    Some(out)
}

/// The OT1 accent command for a combining mark.
fn accent(mark: char) -> Option<&'static str> {
    Some(match mark {
        '\u{0300}' => r"\`",
        '\u{0301}' => r"\'",
        '\u{0302}' => r"\^",
        '\u{0303}' => r"\~",
        '\u{0304}' => r"\=",
        '\u{0306}' => r"\u",
        '\u{0307}' => r"\.",
        '\u{0308}' => r#"\""#,
        '\u{030A}' => r"\r",
        '\u{030B}' => r"\H",
        '\u{030C}' => r"\v",
        '\u{0323}' => r"\d",
        '\u{0327}' => r"\c",
        '\u{0331}' => r"\b",
        _ => return None,
    })
}

/// Zero-width and bidirectional formatting characters: nothing to print.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// A file-name and label stem: ASCII letters, digits, `-` and `_` (dots would read as a file
/// extension to `\input`), unique among `taken`.
fn unique_stem(taken: &mut BTreeSet<String>, id: &str) -> String {
    let mut base: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if base.is_empty() {
        base.push('x');
    }
    let mut stem = base.clone();
    let mut n = 2;
    while taken.contains(&stem) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(stem.clone());
    stem
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// A finite number rounded for print: its sign and the digits of its magnitude.
#[derive(Debug, Clone, PartialEq)]
struct Printed {
    negative: bool,
    magnitude: String,
}

impl Printed {
    fn new(x: Option<f64>, decimals: usize) -> Option<Printed> {
        let x = x.filter(|v| v.is_finite())?;
        let magnitude = format!("{:.*}", decimals, x.abs());
        // What rounds to zero prints without a sign.
        let negative = x < 0.0 && magnitude.bytes().any(|b| (b'1'..=b'9').contains(&b));
        Some(Printed {
            negative,
            magnitude,
        })
    }

    fn int_digits(&self) -> usize {
        self.magnitude.find('.').unwrap_or(self.magnitude.len())
    }
}

/// One number slot of a column: the widest sign and integer part in it, to pad the others to.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    negative: bool,
    int_digits: usize,
}

impl Slot {
    fn of<'a>(numbers: impl IntoIterator<Item = Option<&'a Printed>>) -> Slot {
        numbers
            .into_iter()
            .flatten()
            .fold(Slot::default(), |s, p| Slot {
                negative: s.negative || p.negative,
                int_digits: s.int_digits.max(p.int_digits()),
            })
    }

    /// `p` right-aligned in the slot: invisible zeros and minus make up the width, so that
    /// decimal points line up in an `r` column (digits have one width in text fonts).
    fn fill(self, p: Option<&Printed>) -> String {
        self.fill_after(p, "")
    }

    /// Like [`Slot::fill`] with `opening` (e.g. `[`) between the padding and the number, so
    /// that the bracket stays next to the number.
    fn fill_after(self, p: Option<&Printed>, opening: &str) -> String {
        let Some(p) = p else {
            return format!("{opening}{NA}");
        };
        let mut phantom = String::new();
        if self.negative && !p.negative {
            phantom.push_str("$-$");
        }
        phantom.push_str(&"0".repeat(self.int_digits.saturating_sub(p.int_digits())));
        let mut out = String::new();
        if !phantom.is_empty() {
            out = format!("\\phantom{{{phantom}}}");
        }
        out.push_str(opening);
        if p.negative {
            out.push_str("$-$");
        }
        out.push_str(&p.magnitude);
        out
    }
}

/// A point estimate and its interval, printed `1.93 [1.80, 2.00]`.
#[derive(Debug, Clone)]
struct Interval {
    value: Option<Printed>,
    ci: Option<(Printed, Printed)>,
}

impl Interval {
    fn new(e: &Estimate, decimals: usize, factor: f64) -> Interval {
        let print = |x: Option<f64>| Printed::new(x.map(|v| v * factor), decimals);
        let ci = match (print(e.ci_low), print(e.ci_high)) {
            (Some(low), Some(high)) => Some((low, high)),
            _ => None,
        };
        Interval {
            value: print(e.value),
            ci,
        }
    }
}

/// The cells of one column of intervals, padded alike so that they align.
fn interval_column(cells: &[Interval]) -> Vec<String> {
    let value = Slot::of(cells.iter().map(|c| c.value.as_ref()));
    let low = Slot::of(cells.iter().map(|c| c.ci.as_ref().map(|ci| &ci.0)));
    let high = Slot::of(cells.iter().map(|c| c.ci.as_ref().map(|ci| &ci.1)));
    cells
        .iter()
        .map(|c| match (&c.value, &c.ci) {
            (None, None) => NA.to_string(),
            (v, None) => format!("{} [{NA}]", value.fill(v.as_ref())),
            (v, Some((lo, hi))) => format!(
                "{} {}, {}]",
                value.fill(v.as_ref()),
                low.fill_after(Some(lo), "["),
                high.fill(Some(hi))
            ),
        })
        .collect()
}

/// The cells of one column of bare intervals `[lo, hi]`.
fn range_column(cells: &[Interval]) -> Vec<String> {
    let low = Slot::of(cells.iter().map(|c| c.ci.as_ref().map(|ci| &ci.0)));
    let high = Slot::of(cells.iter().map(|c| c.ci.as_ref().map(|ci| &ci.1)));
    cells
        .iter()
        .map(|c| match &c.ci {
            None => NA.to_string(),
            Some((lo, hi)) => format!(
                "{}, {}]",
                low.fill_after(Some(lo), "["),
                high.fill(Some(hi))
            ),
        })
        .collect()
}

/// The cells of one column of plain numbers.
fn number_column(numbers: &[Option<Printed>]) -> Vec<String> {
    let slot = Slot::of(numbers.iter().map(Option::as_ref));
    numbers.iter().map(|n| slot.fill(n.as_ref())).collect()
}

/// An analytic p-value (the TOST's) with four decimals, or `$<$0.0001` below that.
fn p_value(p: Option<f64>) -> String {
    match p.filter(|p| p.is_finite()) {
        None => NA.to_string(),
        Some(p) if p < 0.0001 => "$<$0.0001".to_string(),
        Some(p) => format!("{p:.4}"),
    }
}

/// A confidence level as a percentage: `95\%`.
fn level(confidence: f64) -> String {
    if confidence.is_finite() && confidence > 0.0 && confidence < 1.0 {
        format!("{}\\%", trim_number(confidence * 100.0))
    } else {
        NA.to_string()
    }
}

/// A number as people write a scale end or margin (`0.25`, `2`), with a math minus.
fn short_number(x: f64) -> String {
    if !x.is_finite() {
        return NA.to_string();
    }
    let s = trim_number(x);
    match s.strip_prefix('-') {
        Some(magnitude) if magnitude.bytes().any(|b| (b'1'..=b'9').contains(&b)) => {
            format!("$-${magnitude}")
        }
        Some(magnitude) => magnitude.to_string(),
        None => s,
    }
}

/// "$n = 24$" or "$n = 20$--$24$" over the given counts.
fn n_range(ns: impl IntoIterator<Item = usize>) -> Option<String> {
    let ns: Vec<usize> = ns.into_iter().collect();
    let (min, max) = (ns.iter().min()?, ns.iter().max()?);
    Some(if min == max {
        format!("$n = {min}$")
    } else {
        format!("$n = {min}$--${max}$")
    })
}

// ---------------------------------------------------------------------------------------------
// Text layout
// ---------------------------------------------------------------------------------------------

/// Splits `raw` after each `-`, `_`, `.`, `/` or space and packs the pieces greedily into lines
/// of at most `max` characters (a longer piece gets a line of its own).
fn break_lines(raw: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in raw.chars() {
        piece.push(c);
        if matches!(c, '-' | '_' | '.' | '/' | ' ') {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces {
        let fits = line.chars().count() + piece.trim_end().chars().count() <= max;
        if !line.is_empty() && !fits {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        line.push_str(&piece);
    }
    if !line.trim_end().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// `raw`, escaped, on one line if it is short, else stacked in a nested tabular with alignment
/// `align` (`l`, `c`, `r`), hanging from the row (`t`) or standing on it (`b`). `suffix`
/// (LaTeX) follows the last line.
fn stacked(raw: &str, max: usize, align: char, position: char, suffix: &str) -> String {
    let lines = break_lines(raw, max);
    if lines.len() <= 1 {
        return format!("{}{suffix}", escape(raw));
    }
    let body = lines
        .iter()
        .map(|line| escape(line))
        .collect::<Vec<_>>()
        .join(r"\\");
    format!("\\begin{{tabular}}[{position}]{{@{{}}{align}@{{}}}}{body}{suffix}\\end{{tabular}}")
}

/// A header cell centred over an `r` column.
fn centered(latex: &str) -> String {
    format!("\\multicolumn{{1}}{{c}}{{{latex}}}")
}

/// A comment line. TeX ignores everything after `%` up to the line end, so only line breaks
/// (and, to keep files ASCII, other characters) need replacing.
fn comment(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c),
            c if c.is_whitespace() => out.push(' '),
            c => push(&mut out, &escape(&c.to_string())),
        }
    }
    format!("% {}\n", out.trim_end())
}

/// The two comment lines that open every file.
fn file_header(what: &str, results: &StudyResults) -> String {
    let mut out = comment(&format!(
        "{what}: generated by blindfold from study {}, run {}. Regenerate rather than edit.",
        results.study, results.run
    ));
    out.push_str("% Needs \\usepackage{booktabs} in the preamble; nothing else.\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/// What one `table` float consists of.
struct Float {
    /// First comment line: what the table is.
    what: String,
    short_caption: String,
    caption: String,
    label: String,
    /// `\small`, `\footnotesize` or `\scriptsize`.
    size: &'static str,
    columns: String,
    head: Vec<String>,
    body: Vec<String>,
    notes: Vec<String>,
}

impl Float {
    fn render(&self, results: &StudyResults) -> String {
        let mut out = file_header(&self.what, results);
        out.push_str("\\begin{table}[htbp]\n\\centering\n");
        out.push_str(&format!(
            "\\caption[{{{}}}]{{{}}}\n",
            self.short_caption, self.caption
        ));
        out.push_str(&format!("\\label{{{}}}\n", self.label));
        // Captions go above tables; the standard classes leave no space below them.
        out.push_str("\\smallskip\n");
        out.push_str(&format!(
            "{}\n\\setlength{{\\tabcolsep}}{{4pt}}\n",
            self.size
        ));
        out.push_str(&format!(
            "\\begin{{tabular}}{{@{{}}{}@{{}}}}\n",
            self.columns
        ));
        out.push_str("\\toprule\n");
        for line in &self.head {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\\midrule\n");
        for line in &self.body {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        if !self.notes.is_empty() {
            out.push_str("\\par\\smallskip\n{\\footnotesize\\raggedright\n");
            for note in &self.notes {
                out.push_str(note);
                out.push_str("\\par\n");
            }
            out.push_str("}\n");
        }
        out.push_str("\\end{table}\n");
        out
    }
}

/// A row of cells.
fn row(cells: &[String]) -> String {
    format!("{} \\\\", cells.join(" & "))
}

/// "\emph{id} (0--2; primary outcome)".
fn dimension_title(results: &StudyResults, dim: &DimensionResults) -> String {
    let primary = if dim.id == results.primary {
        "; primary outcome"
    } else {
        ""
    };
    format!(
        "\\emph{{{}}} (scale {}--{}{primary})",
        escape(&dim.id),
        short_number(dim.min),
        short_number(dim.max)
    )
}

fn find_cell<'a>(dim: &'a DimensionResults, model: &str, scaffold: &str) -> Option<&'a CellResult> {
    dim.cells
        .iter()
        .find(|c| c.model == model && c.scaffold == scaffold)
}

fn find_effect<'a>(
    dim: &'a DimensionResults,
    model: &str,
    scaffold: &str,
) -> Option<&'a EffectResult> {
    dim.effects
        .iter()
        .find(|e| e.model == model && e.scaffold == scaffold)
}

/// A model x scaffold grid of intervals (efficacy and ceiling share).
fn grid(
    results: &StudyResults,
    dim: &DimensionResults,
    estimate: impl Fn(&CellResult) -> Interval,
) -> Option<(String, Vec<String>, Vec<String>)> {
    if results.models.is_empty() || results.scaffolds.is_empty() {
        return None;
    }
    let missing = Interval {
        value: None,
        ci: None,
    };
    // Column by column, so that each scaffold's numbers are padded alike.
    let columns: Vec<Vec<String>> = results
        .scaffolds
        .iter()
        .map(|scaffold| {
            let cells: Vec<Interval> = results
                .models
                .iter()
                .map(|model| {
                    find_cell(dim, model, scaffold)
                        .map(&estimate)
                        .unwrap_or_else(|| missing.clone())
                })
                .collect();
            interval_column(&cells)
        })
        .collect();
    let k = results.scaffolds.len();
    let mut scaffold_heads = vec!["Model".to_string()];
    scaffold_heads.extend(
        results
            .scaffolds
            .iter()
            .map(|s| centered(&stacked(s, ID_LINE, 'c', 'b', ""))),
    );
    let head = vec![
        format!(" & \\multicolumn{{{k}}}{{c}}{{Scaffold}} \\\\"),
        format!("\\cmidrule(l){{2-{}}}", k + 1),
        row(&scaffold_heads),
    ];
    let body = results
        .models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            let mut cells = vec![stacked(model, ID_LINE, 'l', 't', "")];
            cells.extend(columns.iter().map(|column| column[i].clone()));
            row(&cells)
        })
        .collect();
    Some((format!("l{}", "r".repeat(k)), head, body))
}

/// The font size at which a model x scaffold grid of `scaffolds` interval columns fits a
/// one-column page (345pt, as in `article`): each column takes about 70pt at `\small`.
fn grid_size(scaffolds: usize) -> &'static str {
    match scaffolds {
        0..=4 => "\\small",
        5 => "\\footnotesize",
        _ => "\\scriptsize",
    }
}

fn efficacy_table(results: &StudyResults, dim: &DimensionResults, stem: &str) -> Option<String> {
    let (columns, head, body) = grid(results, dim, |c| Interval::new(&c.mean, 2, 1.0))?;
    // Unrated cells show as n/a; the range covers the rated ones.
    let n = n_range(dim.cells.iter().map(|c| c.n).filter(|&n| n > 0))
        .map(|n| format!(" {n} rated transcripts per cell."))
        .unwrap_or_default();
    let question = if dim.question.trim().is_empty() {
        String::new()
    } else {
        format!(" Rubric question: ``{}''", escape(dim.question.trim()))
    };
    let float = Float {
        what: format!("Efficacy on {}", dim.id),
        short_caption: format!("Mean scores on {}", escape(&dim.id)),
        caption: format!(
            "Mean scores on {} by model and scaffold, with {} bootstrap confidence intervals \
             ({} resamples); each transcript's score is the mean over its raters.{n}{question}",
            dimension_title(results, dim),
            level(results.confidence),
            results.resamples
        ),
        label: format!("tab:efficacy-{stem}"),
        size: grid_size(results.scaffolds.len()),
        columns,
        head,
        body,
        notes: Vec::new(),
    };
    Some(float.render(results))
}

fn ceiling_table(results: &StudyResults, dim: &DimensionResults, stem: &str) -> Option<String> {
    let (columns, head, body) = grid(results, dim, |c| Interval::new(&c.ceiling_share, 1, 100.0))?;
    let float = Float {
        what: format!("Share at ceiling on {}", dim.id),
        short_caption: format!("Share of transcripts at ceiling on {}", escape(&dim.id)),
        caption: format!(
            "Share of transcripts (\\%) at the top of the scale on {} by model and scaffold: \
             the mean of its raters within half a level of {}. Brackets: {} Wilson confidence intervals.",
            dimension_title(results, dim),
            short_number(dim.max),
            level(results.confidence)
        ),
        label: format!("tab:ceiling-{stem}"),
        size: grid_size(results.scaffolds.len()),
        columns,
        head,
        body,
        notes: Vec::new(),
    };
    Some(float.render(results))
}

/// The kind of interaction of every pair of models under every scaffold, with both tests.
fn interaction_table(results: &StudyResults, dim: &DimensionResults, stem: &str) -> Option<String> {
    if dim.kinds.is_empty() {
        return None;
    }
    let body = dim
        .kinds
        .iter()
        .map(|k| {
            row(&[
                escape(&k.scaffold),
                format!("{} vs {}", escape(&k.model_a), escape(&k.model_b)),
                escape(k.kind.text()),
                escape(k.kind.reading()),
            ])
        })
        .collect();
    let float = Float {
        what: format!("Kind of model x scaffold interaction on {}", dim.id),
        short_caption: format!("Kind of interaction on {}", escape(&dim.id)),
        caption: format!(
            "Kind of model $\\times$ scaffold interaction on {} for every pair of models, from \
             the per-model verdicts. {}",
            dimension_title(results, dim),
            escape(crate::analyze::interaction::NON_REMOVABLE_RULE)
        ),
        label: format!("tab:interaction-{stem}"),
        size: "\\small",
        columns: "llll".into(),
        head: vec![row(&[
            "Scaffold".into(),
            "Models".into(),
            "Kind".into(),
            "Reading".into(),
        ])],
        body,
        notes: vec![format!(
            "Tests: {}.",
            escape(&crate::analyze::interaction::tests_text(dim))
        )],
    };
    Some(float.render(results))
}

fn equivalence_table(results: &StudyResults, dim: &DimensionResults, stem: &str) -> Option<String> {
    let scaffolds: Vec<&String> = results
        .scaffolds
        .iter()
        .filter(|s| **s != results.baseline)
        .collect();
    if results.models.is_empty() || scaffolds.is_empty() {
        return None;
    }
    // Rows in study order, model-major; a missing effect shows as n/a.
    let rows: Vec<(&String, &String, Option<&EffectResult>)> = results
        .models
        .iter()
        .flat_map(|m| scaffolds.iter().map(move |s| (m, *s)))
        .map(|(m, s)| (m, s, find_effect(dim, m, s)))
        .collect();
    let missing = Estimate::default();
    let effects: Vec<Interval> = rows
        .iter()
        .map(|(_, _, e)| Interval::new(e.map_or(&missing, |e| &e.effect), 2, 1.0))
        .collect();
    let tost: Vec<Interval> = rows
        .iter()
        .map(|(_, _, e)| Interval::new(e.map_or(&missing, |e| &e.tost_ci), 2, 1.0))
        .collect();
    let pairs: Vec<Option<Printed>> = rows
        .iter()
        .map(|(_, _, e)| e.and_then(|e| Printed::new(Some(e.n_pairs as f64), 0)))
        .collect();
    let (effects, tost, pairs) = (
        interval_column(&effects),
        range_column(&tost),
        number_column(&pairs),
    );
    // Each one-sided test runs at (1 - confidence) / 2: its interval is the reported one.
    let tost_level = level(results.confidence);
    let ci_level = level(results.confidence);
    let head = vec![row(&[
        "Scaffold".to_string(),
        centered("Pairs"),
        centered(&format!("Effect [{ci_level} CI]")),
        centered(&format!("TOST {tost_level} CI")),
        centered("$p_{\\mathrm{TOST}}$"),
        "Verdict".to_string(),
    ])];
    let mut body = Vec::new();
    for (i, (model, scaffold, effect)) in rows.iter().enumerate() {
        if i % scaffolds.len() == 0 {
            if i > 0 {
                body.push("\\addlinespace".to_string());
            }
            body.push(format!(
                "\\multicolumn{{6}}{{@{{}}l}}{{\\textit{{{}}}}} \\\\",
                escape(model)
            ));
        }
        let verdict = match effect {
            Some(e) if !e.label_text.trim().is_empty() => e.label_text.clone(),
            Some(e) => Label::text_of(e.label, dim.margin),
            None => NA.to_string(),
        };
        // Cross-round comparisons carry the same mark as in the other tables and the figure.
        let mark = if effect.is_some_and(|e| e.cross_round) {
            "$^\\dagger$"
        } else {
            ""
        };
        body.push(row(&[
            format!("\\quad {}", stacked(scaffold, ID_LINE, 'l', 't', mark)),
            pairs[i].clone(),
            effects[i].clone(),
            tost[i].clone(),
            p_value(effect.and_then(|e| e.tost_p)),
            stacked(&verdict, VERDICT_LINE, 'l', 't', ""),
        ]));
    }
    let float = Float {
        what: format!("Equivalence on {}", dim.id),
        short_caption: format!("Effects of the scaffolds on {}", escape(&dim.id)),
        caption: format!(
            "Effect of each scaffold versus \\emph{{{baseline}}} on {title}, per model: mean paired \
             difference (scaffold $-$ {baseline}) over the prompts rated under both (Pairs), with \
             {ci_level} bootstrap confidence interval; {tost_level} interval and $p$-value of the \
             two one-sided tests (TOST) against the equivalence margin $\\pm${margin}. \
             ``Equivalent'' requires the {tost_level} interval to lie inside the margin; no \
             verdict rests on non-significance alone.",
            baseline = escape(&results.baseline),
            title = dimension_title(results, dim),
            margin = short_number(dim.margin),
        ),
        label: format!("tab:equivalence-{stem}"),
        // Six columns, three of them intervals: at \small they overflow a 345pt page.
        size: "\\footnotesize",
        columns: "lrrrrl".to_string(),
        head,
        body,
        notes: if dim.effects.iter().any(|e| e.cross_round) {
            vec![
                "$^\\dagger$\\,The scaffold and the baseline were rated in different rounds: the \
                  effect mixes in any drift of the raters between them."
                    .to_string(),
            ]
        } else {
            Vec::new()
        },
    };
    Some(float.render(results))
}

/// Unweighted mean over rater pairs of the quadratic-weighted kappa, as Light (1971) averages
/// Cohen's kappa over pairs; `None` when no pair has one.
fn mean_pairwise_kappa(pairs: &[PairAgreement]) -> Option<f64> {
    let values: Vec<f64> = pairs
        .iter()
        .filter_map(|p| p.weighted_kappa_quadratic.value)
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

fn agreement_table(results: &StudyResults) -> Option<String> {
    if results.dimensions.is_empty() {
        return None;
    }
    let dims = &results.dimensions;
    let units: Vec<Option<Printed>> = dims
        .iter()
        .map(|d| Printed::new(Some(d.agreement.n_units as f64), 0))
        .collect();
    let percent: Vec<Option<Printed>> = dims
        .iter()
        .map(|d| Printed::new(d.agreement.percent_agreement.value.map(|v| v * 100.0), 1))
        .collect();
    let alpha: Vec<Interval> = dims
        .iter()
        .map(|d| Interval::new(&d.agreement.krippendorff_alpha, 3, 1.0))
        .collect();
    let kappa: Vec<Interval> = dims
        .iter()
        .map(|d| Interval::new(&d.agreement.fleiss_kappa, 3, 1.0))
        .collect();
    let weighted: Vec<Option<Printed>> = dims
        .iter()
        .map(|d| Printed::new(mean_pairwise_kappa(&d.agreement.pairs), 3))
        .collect();
    let (units, percent, alpha, kappa, weighted) = (
        number_column(&units),
        number_column(&percent),
        interval_column(&alpha),
        interval_column(&kappa),
        number_column(&weighted),
    );
    let ci_level = level(results.confidence);
    let head = vec![row(&[
        "Dimension".to_string(),
        centered("Units"),
        centered("Agree.\\ (\\%)"),
        centered(&format!("$\\alpha$ [{ci_level} CI]")),
        centered(&format!("$\\kappa_{{F}}$ [{ci_level} CI]")),
        centered("Mean $\\kappa_{w}$"),
    ])];
    let body = dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mark = if d.agreement.unreliable {
                "$^\\dagger$"
            } else {
                ""
            };
            row(&[
                stacked(&d.id, ID_LINE, 'l', 't', mark),
                units[i].clone(),
                percent[i].clone(),
                alpha[i].clone(),
                kappa[i].clone(),
                weighted[i].clone(),
            ])
        })
        .collect();
    let mut notes = Vec::new();
    if dims.iter().any(|d| d.agreement.unreliable) {
        notes.push(format!("$^\\dagger$\\,{UNRELIABLE_NOTE}"));
    }
    notes.push(alpha_metrics(dims));
    let raters = match results.raters.len() {
        1 => "the human rater".to_string(),
        n => format!("the {n} human raters"),
    };
    let float = Float {
        what: "Inter-rater agreement".to_string(),
        short_caption: "Inter-rater agreement per rubric dimension".to_string(),
        caption: format!(
            "Agreement among {raters} per rubric dimension: units (transcripts) in the \
             computation, percent agreement, Krippendorff's $\\alpha$ and Fleiss' $\\kappa_{{F}}$ \
             with {ci_level} confidence intervals, and the unweighted mean over rater pairs of \
             Cohen's quadratic-weighted $\\kappa_{{w}}$."
        ),
        label: "tab:agreement".to_string(),
        size: "\\footnotesize",
        columns: "lrrrrr".to_string(),
        head,
        body,
        notes,
    };
    Some(float.render(results))
}

/// "Krippendorff's alpha uses the ordinal metric." or, for mixed levels, which dimension uses
/// which.
fn alpha_metrics(dims: &[DimensionResults]) -> String {
    let mut levels: Vec<(&str, Vec<&str>)> = Vec::new();
    for d in dims {
        match levels.iter_mut().find(|(l, _)| *l == d.agreement.level) {
            Some((_, ids)) => ids.push(&d.id),
            None => levels.push((&d.agreement.level, vec![&d.id])),
        }
    }
    if levels.len() == 1 {
        return format!(
            "Krippendorff's $\\alpha$ uses the {} metric.",
            escape(levels[0].0)
        );
    }
    let parts: Vec<String> = levels
        .iter()
        .map(|(level, ids)| {
            let ids: Vec<String> = ids.iter().map(|id| escape(id)).collect();
            format!("the {} metric for {}", escape(level), ids.join(", "))
        })
        .collect();
    format!("Krippendorff's $\\alpha$ uses {}.", parts.join("; "))
}

/// Every table in one file, floats flushed after each dimension's group.
fn all_tables(results: &StudyResults, files: &[(String, String)], groups: &[Vec<usize>]) -> String {
    let mut out = file_header("All tables", results);
    out.push_str("% \\clearpage after each group: LaTeX holds at most 18 unprocessed floats.\n");
    for group in groups.iter().filter(|g| !g.is_empty()) {
        for &i in group {
            out.push('\n');
            out.push_str(&files[i].1);
        }
        out.push_str("\n\\clearpage\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::results::{Agreement, BlindingCheck, Coverage, Headline, Label};
    use crate::plan::ProtocolHashes;

    // -----------------------------------------------------------------------------------------
    // Fixture
    // -----------------------------------------------------------------------------------------

    const MODELS: [&str; 3] = ["sim-alpha", "sim-beta", "sim-gamma"];
    const SCAFFOLDS: [&str; 4] = [
        "baseline",
        "verification",
        "steerability",
        "verification-steerability",
    ];

    fn est(value: f64, low: f64, high: f64) -> Estimate {
        Estimate::new(Some(value), Some((low, high)))
    }

    fn cell(
        model: &str,
        scaffold: &str,
        n: usize,
        mean: Estimate,
        ceiling: Estimate,
    ) -> CellResult {
        CellResult {
            model: model.into(),
            scaffold: scaffold.into(),
            n,
            n_prompts: n,
            mean,
            ceiling_share: ceiling,
            note: None,
        }
    }

    fn effect(
        model: &str,
        scaffold: &str,
        effect: Estimate,
        tost: Estimate,
        p: Option<f64>,
        label: Label,
        margin: f64,
    ) -> EffectResult {
        EffectResult {
            model: model.into(),
            scaffold: scaffold.into(),
            n_pairs: 24,
            effect,
            p_value: p,
            p_adjusted: p,
            ceiling_change: Estimate::default(),
            tost_ci: tost,
            tost_p: p,
            tost_p_adjusted: p,
            label: Some(label),
            label_text: label.text(margin),
            cross_round: false,
            note: None,
        }
    }

    fn pair(a: &str, b: &str, kappa_w: Option<f64>) -> PairAgreement {
        PairAgreement {
            rater_a: a.into(),
            rater_b: b.into(),
            n: 72,
            percent_agreement: Some(0.8),
            cohen_kappa: Estimate::default(),
            weighted_kappa_linear: Estimate::default(),
            weighted_kappa_quadratic: Estimate::new(kappa_w, None),
        }
    }

    fn agreement(
        level: &str,
        percent: f64,
        alpha: Estimate,
        fleiss: Estimate,
        kappas: [Option<f64>; 3],
        unreliable: bool,
    ) -> Agreement {
        Agreement {
            level: level.into(),
            n_units: 288,
            percent_agreement: Estimate::new(Some(percent), None),
            krippendorff_alpha: alpha,
            fleiss_kappa: fleiss,
            pairs: vec![
                pair("r1", "r2", kappas[0]),
                pair("r1", "r3", kappas[1]),
                pair("r2", "r3", kappas[2]),
            ],
            reliability: None,
            unreliable,
            judges: Vec::new(),
            test_retest: None,
        }
    }

    /// A dimension whose cells follow `means[model][scaffold]` (None: unrated), with intervals
    /// of +-`half` clipped to the scale, and effects derived from the means.
    fn dimension(
        id: &str,
        question: &str,
        (min, max): (f64, f64),
        margin: f64,
        means: [[Option<f64>; 4]; 3],
        agreement: Agreement,
    ) -> DimensionResults {
        let half = (max - min) * 0.06;
        let clip = |x: f64| x.clamp(min, max);
        let mut cells = Vec::new();
        let mut effects = Vec::new();
        for (m, model) in MODELS.iter().enumerate() {
            for (s, scaffold) in SCAFFOLDS.iter().enumerate() {
                let mean = means[m][s];
                let share = mean.map(|v| ((v - min) / (max - min)).powi(3));
                cells.push(cell(
                    model,
                    scaffold,
                    if mean.is_some() { 24 } else { 0 },
                    match mean {
                        Some(v) => est(v, clip(v - half), clip(v + half)),
                        None => Estimate::default(),
                    },
                    match share {
                        Some(p) if p >= 1.0 => est(1.0, 0.862, 1.0),
                        Some(p) => est(p, (p - 0.18).max(0.0), (p + 0.18).min(1.0)),
                        None => Estimate::default(),
                    },
                ));
                if s == 0 {
                    continue;
                }
                let e = match (mean, means[m][0]) {
                    (Some(a), Some(b)) => {
                        let d = a - b;
                        let label = if d.abs() + 0.6 * half < margin {
                            Label::Equivalent
                        } else if d - half > 0.0 && a >= max - 0.05 {
                            Label::RaisedToCeiling
                        } else if d - half > 0.0 {
                            Label::Improved
                        } else if d + half < 0.0 {
                            Label::Worse
                        } else {
                            Label::Inconclusive
                        };
                        let p = ((d.abs() / margin).powi(3) * 0.2).min(1.0);
                        effect(
                            model,
                            scaffold,
                            est(d, d - half, d + half),
                            est(d, d - 0.8 * half, d + 0.8 * half),
                            Some(if p < 1e-3 { p * 1e-3 } else { p }),
                            label,
                            margin,
                        )
                    }
                    _ => EffectResult {
                        n_pairs: 0,
                        ..effect(
                            model,
                            scaffold,
                            Estimate::default(),
                            Estimate::default(),
                            None,
                            Label::Inconclusive,
                            margin,
                        )
                    },
                };
                effects.push(e);
            }
        }
        DimensionResults {
            id: id.into(),
            question: question.into(),
            scale: "ordinal".into(),
            min,
            max,
            margin,
            agreement,
            cells,
            effects,
            interaction: None,
            latent: None,
            latent_note: None,
            kinds: Vec::new(),
            sensitivity: Vec::new(),
            variance: None,
            spec_curve: None,
        }
    }

    fn study(dimensions: Vec<DimensionResults>) -> StudyResults {
        StudyResults {
            study: "scaffold-stress".into(),
            run: "2025-01-15-a".into(),
            rounds: vec!["r1".into()],
            protocol_hash: "0f3a".into(),
            hashes: ProtocolHashes {
                scaffolds: Default::default(),
                prompts: Default::default(),
                rubric: "ab12".into(),
                models: Default::default(),
            },
            models: MODELS.iter().map(|s| s.to_string()).collect(),
            scaffolds: SCAFFOLDS.iter().map(|s| s.to_string()).collect(),
            baseline: "baseline".into(),
            primary: "verification_support".into(),
            confidence: 0.95,
            resamples: 10_000,
            permutations: 5_000,
            seed: 7,
            raters: vec!["r1".into(), "r2".into(), "r3".into()],
            judges: Vec::new(),
            n_items: 288,
            n_ratings: 864,
            n_rerated: 0,
            min_prompts: 2,
            family: "dimension".into(),
            coverage: Coverage::default(),
            dimensions,
            profiles: Vec::new(),
            blinding: BlindingCheck::default(),
            prereg: None,
            headline: Headline::default(),
            rounds_analysis: None,
        }
    }

    /// Three simulated models under four scaffolds on the study's four rubric dimensions:
    /// ceilings, a worse effect, unrated cells, an unreliable dimension and undefined
    /// statistics.
    fn typical() -> StudyResults {
        let s = Some;
        study(vec![
            dimension(
                "verification_support",
                "Does the response help the user verify its claims (sources, checks, ways to test)?",
                (0.0, 2.0),
                0.25,
                [
                    [s(0.42), s(1.93), s(0.51), s(1.97)],
                    [s(0.88), s(1.71), s(0.83), s(2.0)],
                    [s(0.17), s(1.12), s(0.21), s(1.30)],
                ],
                agreement(
                    "ordinal",
                    0.833,
                    est(0.812, 0.764, 0.857),
                    est(0.745, 0.690, 0.798),
                    [s(0.83), s(0.80), s(0.79)],
                    false,
                ),
            ),
            dimension(
                "process_steerability",
                "Does the response invite the user to steer how the task is done?",
                (0.0, 2.0),
                0.25,
                [
                    [s(0.33), s(0.38), s(1.62), s(1.70)],
                    [s(0.52), s(0.50), s(1.05), s(1.21)],
                    [s(0.10), s(0.02), s(0.35), s(0.44)],
                ],
                agreement(
                    "ordinal",
                    0.764,
                    est(0.702, 0.641, 0.758),
                    est(0.688, 0.622, 0.749),
                    [s(0.73), s(0.70), s(0.68)],
                    false,
                ),
            ),
            dimension(
                "uncertainty_disclosure",
                "Does the response say how sure it is, and why?",
                (0.0, 2.0),
                0.25,
                [
                    [s(1.10), s(1.45), s(0.98), s(1.52)],
                    [s(0.75), s(0.80), s(0.46), s(0.79)],
                    [s(1.31), s(1.28), s(1.30), None],
                ],
                agreement(
                    "ordinal",
                    0.542,
                    est(0.523, 0.441, 0.598),
                    Estimate::new(Some(-0.041), Some((-0.112, 0.036))),
                    [s(0.55), s(0.49), None],
                    true,
                ),
            ),
            dimension(
                "helpfulness",
                "How helpful is the response overall (1 = not at all, 5 = fully)?",
                (1.0, 5.0),
                0.5,
                [
                    [s(3.85), s(3.92), s(3.80), s(4.02)],
                    [s(4.10), s(4.21), s(4.05), s(4.25)],
                    [s(2.95), s(3.35), s(3.10), None],
                ],
                agreement(
                    "interval",
                    0.486,
                    Estimate::new(None, None),
                    Estimate::new(Some(0.412), None),
                    [None, None, None],
                    true,
                ),
            ),
        ])
    }

    /// Everything a study file may contain that LaTeX treats specially.
    const HOSTILE: &str = "a_b-c--d & 50% $x$ #1 {y} ~z^2 \\textbf{no} [opt] <tag>|pipe ``q'' \
                           !`x ?`y ,,z\nnew\tline \u{7} caf\u{e9} na\u{ef}ve Stra\u{df}e \u{141}\u{f3}d\u{17a} \
                           \u{4e2d}\u{6587} \u{3b1}=0.8 \u{b1}0.25 \u{2264}1 \u{2013}\u{2014} \u{2026} \
                           \u{201c}q\u{201d} \u{1f600} e\u{301} \u{b1}\u{2212}\u{2212}";

    /// A study whose every string is hostile, with long ids and colliding file stems.
    fn hostile() -> StudyResults {
        let mut r = typical();
        r.study = HOSTILE.into();
        r.run = "run\nwith\nnewlines %".into();
        r.models = vec![
            "m_1 & co".into(),
            "[bracket]-model".into(),
            "model\\with~tilde^and#hash".into(),
        ];
        r.scaffolds = vec![
            "base_line%".into(),
            "scaffold-with-a-very-long-name-indeed".into(),
            "{brace}".into(),
            "caf\u{e9}--\u{3b1}".into(),
        ];
        r.baseline = "base_line%".into();
        r.raters = vec!["r1".into()];
        let ids = ["dim.one", "dim-one", "dim/one", "\u{4e2d}$"];
        for (i, dim) in r.dimensions.iter_mut().enumerate() {
            dim.id = ids[i].into();
            dim.question = HOSTILE.into();
            dim.agreement.level = ["nominal", "ordinal", "ordinal", "interval"][i].into();
            for (j, c) in dim.cells.iter_mut().enumerate() {
                c.model = r.models[j / 4].clone();
                c.scaffold = r.scaffolds[j % 4].clone();
            }
            for (j, e) in dim.effects.iter_mut().enumerate() {
                e.model = r.models[j / 3].clone();
                e.scaffold = r.scaffolds[1 + j % 3].clone();
                if j == 4 {
                    e.label_text = HOSTILE.into();
                }
            }
        }
        r
    }

    // -----------------------------------------------------------------------------------------
    // Escaping
    // -----------------------------------------------------------------------------------------

    /// `$$` that is not an escaped dollar followed by a math shift (`$\$$`).
    fn opens_display_math(tex: &str) -> bool {
        tex.match_indices("$$")
            .any(|(i, _)| i == 0 || tex.as_bytes()[i - 1] != b'\\')
    }

    fn check_escape(input: &str, expected: &str) {
        assert_eq!(escape(input), expected, "escape({input:?})");
    }

    #[test]
    fn escapes_latex_specials() {
        check_escape("verification_support", r"verification\_support");
        check_escape("a & b", r"a \& b");
        check_escape("50%", r"50\%");
        check_escape("$5", r"$\$$5");
        check_escape("#1", r"\#1");
        check_escape("{x}", r"\{x\}");
        check_escape("a~b", r"a\textasciitilde{}b");
        check_escape("x^2", r"x\textasciicircum{}2");
        check_escape(r"C:\path", r"C:\textbackslash{}path");
        check_escape(r"\textbf{x}", r"\textbackslash{}textbf\{x\}");
        check_escape("a<b>c|d", r"a\textless{}b\textgreater{}c\textbar{}d");
        check_escape("[1, 2]", "{[}1, 2{]}");
        check_escape("plain text, ok.", "plain text, ok.");
        check_escape("", "");
    }

    #[test]
    fn escapes_keep_ligature_characters_apart() {
        check_escape("a--b", "a-{}-b");
        check_escape("a---b", "a-{}-{}-b");
        check_escape("sim-alpha", "sim-alpha");
        check_escape("``q''", "`{}`q'{}'");
        check_escape("!`", "!{}`");
        check_escape("?`", "?{}`");
        check_escape(",,", ",{},");
        // Across a mapped character: "-" then an en dash must not make an em dash.
        check_escape("-\u{2013}", "-{}--");
        // Two math symbols side by side must not open display math.
        check_escape("\u{b1}\u{2212}", r"$\pm${}$-$");
    }

    #[test]
    fn escapes_line_breaks_and_control_characters() {
        check_escape("a\nb\r\nc\td", "a b  c d");
        check_escape("a\n\nb", "a  b");
        check_escape("bell\u{7}\u{0}\u{85}", "bell");
        check_escape("zero\u{200b}width\u{feff}", "zerowidth");
    }

    #[test]
    fn escapes_non_ascii_to_ascii_commands() {
        check_escape("caf\u{e9}", r"caf\'{e}");
        // Decomposed input is composed first.
        check_escape("cafe\u{301}", r"caf\'{e}");
        check_escape("na\u{ef}ve", r#"na\"{\i}ve"#);
        check_escape("Stra\u{df}e", r"Stra\ss{}e");
        check_escape("\u{141}\u{f3}d\u{17a}", r"\L{}\'{o}d\'{z}");
        check_escape("\u{1d8}", r#"\'{\"{u}}"#);
        check_escape("\u{e7}", r"\c{c}");
        check_escape("\u{1ff}", r"\'{\o}");
        // Ogonek has no OT1 form: the letter stays.
        check_escape("\u{105}", "a");
        check_escape("\u{b1}0.25", r"$\pm$0.25");
        check_escape("\u{3b1} \u{3a9} \u{391}", r"$\alpha$ $\Omega$ A");
        check_escape("\u{2264}1\u{2009}%", r"$\leq$1\,\%");
        check_escape("\u{201c}q\u{201d} \u{2026}", r"``q'' \dots{}");
        check_escape("a\u{a0}b", "a~b");
        check_escape("\u{2020}", r"$\dagger$");
        check_escape("\u{4e2d}\u{1f600}", r"\texttt{U+4E2D}\texttt{U+1F600}");
    }

    #[test]
    fn escape_output_is_ascii_with_balanced_braces() {
        let mut all = String::new();
        for c in (0u32..0x3000)
            .chain(0x1F600..0x1F610)
            .filter_map(char::from_u32)
        {
            all.push(c);
        }
        for text in [all.as_str(), HOSTILE] {
            let out = escape(text);
            assert!(out.is_ascii());
            assert!(!out.contains('\n') && !opens_display_math(&out), "{out}");
            let mut depth = 0i64;
            let mut chars = out.chars();
            while let Some(c) = chars.next() {
                match c {
                    // An escaped brace is a character, not a group.
                    '\\' => {
                        chars.next();
                    }
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                assert!(depth >= 0, "unbalanced braces in {out}");
            }
            assert_eq!(depth, 0, "unbalanced braces in {out}");
        }
    }

    proptest::proptest! {
        /// Every special character leaves escape() behind a backslash or inside a command.
        #[test]
        fn escape_leaves_no_bare_specials(text in "\\PC{0,40}") {
            let out = escape(&text);
            proptest::prop_assert!(out.is_ascii());
            let mut chars = out.chars().peekable();
            let mut math = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        let next = chars.next();
                        proptest::prop_assert!(next.is_some(), "trailing backslash in {}", out);
                    }
                    '$' => math = !math,
                    '&' | '%' | '#' | '_' | '\n' => {
                        proptest::prop_assert!(false, "bare {:?} in {}", c, out)
                    }
                    '^' | '~' => proptest::prop_assert!(
                        math || c == '~',
                        "bare {:?} in {}", c, out
                    ),
                    _ => {}
                }
            }
            proptest::prop_assert!(!math, "unclosed math in {}", out);
        }
    }

    #[test]
    fn stems_are_safe_and_unique() {
        let mut taken = BTreeSet::new();
        let stems: Vec<String> = ["dim.one", "dim-one", "dim/one", "", "\u{4e2d}$", "ok_id-2"]
            .iter()
            .map(|id| unique_stem(&mut taken, id))
            .collect();
        assert_eq!(
            stems,
            ["dim-one", "dim-one-2", "dim-one-3", "x", "--", "ok_id-2"]
        );
    }

    // -----------------------------------------------------------------------------------------
    // Numbers and layout
    // -----------------------------------------------------------------------------------------

    fn check_column(values: &[Option<f64>], decimals: usize, expected: &[&str]) {
        let printed: Vec<Option<Printed>> =
            values.iter().map(|v| Printed::new(*v, decimals)).collect();
        assert_eq!(number_column(&printed), expected, "{values:?}");
    }

    #[test]
    fn number_columns_pad_signs_and_digits() {
        check_column(&[Some(0.5), Some(1.25)], 2, &["0.50", "1.25"]);
        check_column(
            &[Some(-0.12), Some(0.3), None],
            2,
            &["$-$0.12", r"\phantom{$-$}0.30", "n/a"],
        );
        check_column(
            &[Some(100.0), Some(62.54), Some(5.0)],
            1,
            &["100.0", r"\phantom{0}62.5", r"\phantom{00}5.0"],
        );
        check_column(&[Some(-12.0), Some(3.0)], 0, &["$-$12", r"\phantom{$-$0}3"]);
        // Rounding to zero drops the sign; NaN and infinities are undefined.
        check_column(
            &[Some(-0.001), Some(f64::NAN), Some(f64::INFINITY)],
            2,
            &["0.00", "n/a", "n/a"],
        );
    }

    #[test]
    fn interval_columns_align_every_slot() {
        let cells = [
            Interval::new(&est(-0.12, -0.3, 0.05), 2, 1.0),
            Interval::new(&est(0.4, 0.21, 0.6), 2, 1.0),
            Interval::new(&Estimate::new(Some(0.1), None), 2, 1.0),
            Interval::new(&Estimate::default(), 2, 1.0),
        ];
        assert_eq!(
            interval_column(&cells),
            [
                "$-$0.12 [$-$0.30, 0.05]",
                r"\phantom{$-$}0.40 \phantom{$-$}[0.21, 0.60]",
                r"\phantom{$-$}0.10 [n/a]",
                "n/a",
            ]
        );
        assert_eq!(
            range_column(&cells),
            [
                "[$-$0.30, 0.05]",
                r"\phantom{$-$}[0.21, 0.60]",
                "n/a",
                "n/a"
            ]
        );
    }

    #[test]
    fn p_values_and_levels() {
        let cases = [
            (Some(0.0123), "0.0123"),
            (Some(0.00009), "$<$0.0001"),
            (Some(3e-11), "$<$0.0001"),
            (Some(0.0001), "0.0001"),
            (Some(1.0), "1.0000"),
            (None, "n/a"),
            (Some(f64::NAN), "n/a"),
        ];
        for (p, expected) in cases {
            assert_eq!(p_value(p), expected, "{p:?}");
        }
        assert_eq!(level(0.95), "95\\%");
        assert_eq!(level(2.0 * 0.95 - 1.0), "90\\%");
        assert_eq!(level(0.999), "99.9\\%");
        assert_eq!(level(f64::NAN), "n/a");
        assert_eq!(short_number(-1.0), "$-$1");
        assert_eq!(short_number(-0.0), "0");
        assert_eq!(short_number(0.25), "0.25");
    }

    #[test]
    fn long_ids_break_at_separators() {
        let check = |raw: &str, max: usize, expected: &[&str]| {
            assert_eq!(break_lines(raw, max), expected, "{raw:?}");
        };
        check("sim-alpha", 14, &["sim-alpha"]);
        check(
            "verification-steerability",
            14,
            &["verification-", "steerability"],
        );
        check(
            "uncertainty_disclosure",
            14,
            &["uncertainty_", "disclosure"],
        );
        check(
            "equivalent (within \u{b1}0.25)",
            16,
            &["equivalent", "(within \u{b1}0.25)"],
        );
        check("averyveryverylongword", 5, &["averyveryverylongword"]);
        check("a-b-c-d-e-f", 4, &["a-b-", "c-d-", "e-f"]);
        check("", 14, &[""]);
        assert_eq!(stacked("short", 14, 'l', 't', "x"), "shortx");
        assert_eq!(
            stacked("uncertainty_disclosure", 14, 'l', 't', "$^\\dagger$"),
            "\\begin{tabular}[t]{@{}l@{}}uncertainty\\_\\\\disclosure$^\\dagger$\\end{tabular}"
        );
        // A line that starts with a bracket is braced, not read as \\'s optional argument.
        assert!(stacked("aaaa [b]", 5, 'l', 't', "").contains(r"\\{[}b{]}"));
    }

    #[test]
    fn mean_pairwise_kappa_skips_undefined_pairs() {
        let pairs = [
            pair("a", "b", Some(0.6)),
            pair("a", "c", None),
            pair("b", "c", Some(0.8)),
        ];
        assert!((mean_pairwise_kappa(&pairs).unwrap() - 0.7).abs() < 1e-12);
        assert_eq!(mean_pairwise_kappa(&[pair("a", "b", None)]), None);
        assert_eq!(mean_pairwise_kappa(&[]), None);
    }

    // -----------------------------------------------------------------------------------------
    // Tables
    // -----------------------------------------------------------------------------------------

    /// Snapshot files named without the crate's module path, so that they survive a move.
    fn snapshot(name: &str, content: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name, content));
    }

    fn names(files: &[(String, String)]) -> Vec<&str> {
        files.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn typical_tables_snapshot() {
        let files = tables(&typical());
        assert_eq!(
            names(&files),
            [
                "efficacy-verification_support.tex",
                "ceiling-verification_support.tex",
                "equivalence-verification_support.tex",
                "efficacy-process_steerability.tex",
                "ceiling-process_steerability.tex",
                "equivalence-process_steerability.tex",
                "efficacy-uncertainty_disclosure.tex",
                "ceiling-uncertainty_disclosure.tex",
                "equivalence-uncertainty_disclosure.tex",
                "efficacy-helpfulness.tex",
                "ceiling-helpfulness.tex",
                "equivalence-helpfulness.tex",
                "agreement.tex",
                "all.tex",
            ]
        );
        for (name, content) in &files {
            if name == "all.tex" {
                continue;
            }
            let stem = name.trim_end_matches(".tex").replace('-', "_");
            snapshot(&format!("latex_{stem}"), content);
        }
    }

    /// The structural promises of every table file.
    fn check_table(name: &str, tex: &str) {
        assert!(tex.is_ascii(), "{name} is not ASCII");
        assert!(tex.starts_with("% "), "{name}");
        assert!(tex.contains("% Needs \\usepackage{booktabs}"), "{name}");
        for bad in ["NaN", "inf", "\\dag{}", "\\textbullet", "\\S{}"] {
            assert!(!tex.contains(bad), "{name} contains {bad:?}");
        }
        if let Some((i, _)) = tex
            .match_indices("$$")
            .find(|(i, _)| *i == 0 || tex.as_bytes()[i - 1] != b'\\')
        {
            panic!(
                "{name} opens display math: {}",
                &tex[i.saturating_sub(40)..i + 10]
            );
        }
        if name == "all.tex" {
            return;
        }
        // A blank line inside a tabular is an error.
        assert!(!tex.contains("\n\n"), "{name}");
        for part in [
            "\\begin{table}",
            "\\caption[",
            "\\label{tab:",
            "\\toprule",
            "\\midrule",
            "\\bottomrule\n\\end{tabular}",
        ] {
            assert_eq!(tex.matches(part).count(), 1, "{name}: {part}");
        }
        assert!(tex.ends_with("\\end{table}\n"), "{name}");
        // Every body row has as many cells as the preamble has columns.
        let spec = tex
            .lines()
            .find_map(|l| l.strip_prefix("\\begin{tabular}{@{}"))
            .and_then(|l| l.strip_suffix("@{}}"))
            .unwrap();
        let body = tex.split("\\midrule\n").nth(1).unwrap();
        let body = body.split("\\bottomrule").next().unwrap();
        for line in body
            .lines()
            .filter(|l| l.ends_with("\\\\") && !l.contains("multicolumn"))
        {
            let cells = line.matches(" & ").count() + 1;
            assert_eq!(cells, spec.len(), "{name}: {line}");
        }
    }

    #[test]
    fn every_table_keeps_its_promises() {
        for results in [typical(), hostile()] {
            let files = tables(&results);
            for (name, tex) in &files {
                check_table(name, tex);
            }
            // all.tex holds every table, in order.
            let (_, all) = files.last().unwrap();
            let mut rest = all.as_str();
            for (name, tex) in &files[..files.len() - 1] {
                let at = rest
                    .find(tex.as_str())
                    .unwrap_or_else(|| panic!("{name} not in all.tex"));
                rest = &rest[at + tex.len()..];
            }
        }
    }

    #[test]
    fn hostile_strings_are_escaped_and_stems_unique() {
        let files = tables(&hostile());
        let names = names(&files);
        assert_eq!(
            names,
            [
                "efficacy-dim-one.tex",
                "ceiling-dim-one.tex",
                "equivalence-dim-one.tex",
                "efficacy-dim-one-2.tex",
                "ceiling-dim-one-2.tex",
                "equivalence-dim-one-2.tex",
                "efficacy-dim-one-3.tex",
                "ceiling-dim-one-3.tex",
                "equivalence-dim-one-3.tex",
                "efficacy---.tex",
                "ceiling---.tex",
                "equivalence---.tex",
                "agreement.tex",
                "all.tex",
            ]
        );
        let all = &files.last().unwrap().1;
        assert!(all.contains(r"m\_1 \& co"));
        assert!(all.contains(r"{[}bracket{]}-model"));
        assert!(all.contains(
            r"model\textbackslash{}with\textasciitilde{}tilde\textasciicircum{}and\#hash"
        ));
        assert!(all.contains(r"Rubric question: ``a\_b-c-{}-d \& 50\% $\$$x$\$$ \#1 \{y\}"));
        assert!(all.contains(r"\texttt{U+4E2D}$\$$"));
        // The newline in the run id does not break the comment line.
        assert!(all.starts_with("% All tables: generated by blindfold from study a_b-c--d & 50%"));
        assert!(all.lines().all(|l| !l.starts_with("with")));
    }

    #[test]
    fn unreliable_dimensions_get_a_dagger_and_a_note() {
        let files = tables(&typical());
        let agreement = &files.iter().find(|(n, _)| n == "agreement.tex").unwrap().1;
        assert_eq!(agreement.matches("$^\\dagger$").count(), 3, "{agreement}");
        assert!(agreement.contains("disclosure$^\\dagger$\\end{tabular}"));
        assert!(agreement.contains("helpfulness$^\\dagger$ &"));
        assert!(agreement.contains("$^\\dagger$\\,Flagged"));
        assert!(agreement.contains(
            "the ordinal metric for verification\\_support, process\\_steerability, uncertainty\\_disclosure; the interval metric for helpfulness"
        ));
        let mut reliable = typical();
        for d in &mut reliable.dimensions {
            d.agreement.unreliable = false;
            d.agreement.level = "ordinal".into();
        }
        let files = tables(&reliable);
        let agreement = &files.iter().find(|(n, _)| n == "agreement.tex").unwrap().1;
        assert!(!agreement.contains("dagger"));
        assert!(agreement.contains("Krippendorff's $\\alpha$ uses the ordinal metric."));
    }

    #[test]
    fn cross_round_effects_get_a_dagger_and_a_note() {
        let equivalence = |r: &StudyResults| {
            tables(r)
                .into_iter()
                .find(|(n, _)| n.starts_with("equivalence-verification"))
                .unwrap()
                .1
        };
        let mut r = typical();
        assert!(!equivalence(&r).contains("dagger"));
        let e = r.dimensions[0]
            .effects
            .iter_mut()
            .find(|e| e.scaffold != r.baseline)
            .unwrap();
        e.cross_round = true;
        let scaffold = escape(&e.scaffold.clone());
        let table = equivalence(&r);
        assert_eq!(table.matches("$^\\dagger$").count(), 2, "{table}");
        assert!(
            table.contains(&format!("{scaffold}$^\\dagger$ &")),
            "{table}"
        );
        assert!(table.contains(
            "$^\\dagger$\\,The scaffold and the baseline were rated in different rounds"
        ));
    }

    #[test]
    fn empty_and_baseline_only_studies() {
        assert!(tables(&study(Vec::new())).is_empty());
        let mut only_baseline = typical();
        only_baseline.scaffolds = vec!["baseline".into()];
        let files = tables(&only_baseline);
        assert!(names(&files).iter().all(|n| !n.starts_with("equivalence")));
        assert_eq!(files.len(), 4 * 2 + 2);
        let mut no_models = typical();
        no_models.models.clear();
        assert_eq!(names(&tables(&no_models)), ["agreement.tex", "all.tex"]);
    }

    // -----------------------------------------------------------------------------------------
    // Compiling with pdfLaTeX
    // -----------------------------------------------------------------------------------------

    /// Writes `files` into `dir` with a plain article that `\input`s each table (or, with
    /// `only_all`, all.tex alone), runs pdfLaTeX there and returns the problems found: errors,
    /// characters missing from their font, bitmap (Type 3) fonts and, with `fit`, tables wider
    /// than the text or the page.
    fn compile(
        dir: &std::path::Path,
        files: &[(String, String)],
        only_all: bool,
        fit: bool,
    ) -> Vec<String> {
        let mut document = String::from(
            "\\documentclass{article}\n\\usepackage{booktabs}\n\
             \\pdfcompresslevel=0 \\pdfobjcompresslevel=0 % font types readable in the PDF\n\
             \\tracinglostchars=2\n\\begin{document}\n",
        );
        for (name, tex) in files {
            std::fs::write(dir.join(name), tex).unwrap();
        }
        let inputs = files
            .iter()
            .map(|(name, _)| name)
            .filter(|name| (*name == "all.tex") == only_all);
        for (i, name) in inputs.enumerate() {
            document.push_str(&format!("\\input{{{name}}}\n"));
            // Flush floats now and then, as a paper's text would.
            if i % 6 == 5 {
                document.push_str("\\clearpage\n");
            }
        }
        document.push_str("\\end{document}\n");
        std::fs::write(dir.join("doc.tex"), &document).unwrap();
        let output = std::process::Command::new("pdflatex")
            .args([
                "-interaction=nonstopmode",
                "-halt-on-error",
                "-no-shell-escape",
                "doc.tex",
            ])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("pdflatex runs");
        let mut problems = Vec::new();
        if !output.status.success() {
            problems.push(format!(
                "pdflatex failed:\n{}",
                String::from_utf8_lossy(&output.stdout)
            ));
            return problems;
        }
        let log = std::fs::read_to_string(dir.join("doc.log")).unwrap();
        let mut patterns = vec!["Missing character", "multiply defined"];
        if fit {
            patterns.extend(["Overfull \\hbox", "Float too large"]);
        }
        for line in log.lines() {
            if patterns.iter().any(|p| line.contains(p)) {
                problems.push(line.to_string());
            }
        }
        let pdf =
            String::from_utf8_lossy(&std::fs::read(dir.join("doc.pdf")).unwrap()).into_owned();
        if !pdf.contains("/Subtype /Type1") && !pdf.contains("/Subtype/Type1") {
            problems.push("no Type 1 font found in the PDF".to_string());
        }
        if pdf.contains("/Type3") {
            problems.push("the PDF uses bitmap (Type 3) fonts".to_string());
        }
        problems
    }

    /// Compiles every table of the typical and the hostile study with pdfLaTeX in a plain
    /// article with booktabs only: no errors, no missing glyphs, no bitmap fonts, and the
    /// typical tables fit the text width. Skipped when pdflatex is missing, except under CI,
    /// where that fails the test.
    #[test]
    fn tables_compile_with_pdflatex() {
        if std::process::Command::new("pdflatex")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "pdflatex is missing and CI is set: apt-get install --no-install-recommends \
                 texlive-latex-base texlive-latex-recommended"
            );
            // Straight to stderr: the test harness would swallow eprintln! of a passing test.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED tables_compile_with_pdflatex: pdflatex not found (apt-get install \
                 --no-install-recommends texlive-latex-base texlive-latex-recommended)"
            );
            return;
        }
        let mut hostile = hostile();
        hostile.dimensions[1].question = every_character();
        let runs = [
            ("typical", typical(), false, true),
            ("typical all.tex", typical(), true, true),
            ("hostile", hostile, false, false),
        ];
        for (name, results, only_all, fit) in runs {
            let dir = tempfile::tempdir().unwrap();
            let problems = compile(dir.path(), &tables(&results), only_all, fit);
            if !problems.is_empty() {
                let kept = dir.keep();
                panic!(
                    "{name} tables (kept in {}):\n{}",
                    kept.display(),
                    problems.join("\n")
                );
            }
        }
    }

    /// Printable ASCII and every non-ASCII character up to U+3000 that has a rendering.
    fn every_character() -> String {
        (' '..='~')
            .chain(
                ('\u{80}'..'\u{3000}')
                    .filter(|&c| !non_ascii(c).is_empty() && !non_ascii(c).starts_with("\\texttt")),
            )
            .collect()
    }
}
