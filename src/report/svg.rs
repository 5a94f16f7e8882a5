//! Figures for the report, as self-contained SVG documents.
//!
//! report.html has to open offline and report.md embeds the same figures as files, so every figure
//! is a standalone SVG string: no scripts, no external fonts, stylesheets or images, and nothing
//! that depends on the machine that rendered it. The same input always yields the same bytes
//! (fixed-precision numbers, `Vec` order only), so a changed figure in a diff means changed data.
//!
//! Labels come from users' study files, so all text is XML-escaped and characters that XML 1.0
//! forbids are replaced. Undefined numbers (`None`, and defensively NaN or infinities) are drawn
//! as "n/a" and never reach the markup as "NaN" or "inf".
//!
//! There is no font engine here: text widths are estimated from Helvetica/Arial advance widths
//! with a safety factor for wider system fonts (DejaVu Sans), and layouts are sized from those
//! estimates so that long labels wrap, rotate or shrink instead of overlapping.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Public inputs
// ---------------------------------------------------------------------------------------------

/// A model x scaffold grid of one rubric dimension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    pub title: String,
    /// Axis title for the rows, e.g. "Model"; empty to omit.
    pub row_axis: String,
    /// Axis title for the columns, e.g. "Scaffold"; empty to omit.
    pub col_axis: String,
    /// Caption of the colour legend, e.g. "Mean score"; empty to omit.
    pub legend_label: String,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    /// `values[row][col]`; missing entries count as `None`.
    pub values: Vec<Vec<Option<f64>>>,
    /// The rubric's range (e.g. `(0.0, 2.0)`), which the colour ramp spans.
    pub scale: (f64, f64),
    /// `cell_text[row][col]`, lines separated by '\n'. A missing entry shows the value itself.
    pub cell_text: Vec<Vec<String>>,
}

/// How an effect was judged; drawn as marker shape and colour, so it survives greyscale printing
/// and colour-vision deficiencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Ceiling,
    /// Shown to differ from zero, and shown to lie within the equivalence margin.
    ImprovedWithinMargin,
    Equivalent,
    NoChange,
    Inconclusive,
    WorseWithinMargin,
    Worse,
    /// Too little or degenerate data for a verdict.
    NoVerdict,
}

/// One effect versus baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectRow {
    /// Rows sharing a group (e.g. the model) are drawn together under its header.
    pub group: String,
    pub label: String,
    pub estimate: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub verdict: Verdict,
    /// Free text shown at the right, e.g. "raised to ceiling".
    pub annotation: String,
    /// Where the row's mark links (the explorer filtered to its condition), if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Effects versus baseline with confidence intervals, grouped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DotWhisker {
    pub title: String,
    pub x_label: String,
    pub rows: Vec<EffectRow>,
    /// Half-width of the equivalence region, shaded as (-margin, +margin).
    pub equivalence_margin: Option<f64>,
}

/// One analysis specification (one path through the garden of forking paths).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Specification {
    pub estimate: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub keeps_conclusion: bool,
    /// (dimension, option), e.g. ("aggregation", "median"). An empty option labels the row with
    /// the dimension alone (for yes/no choices such as "exclude low-agreement items").
    pub choices: Vec<(String, String)>,
}

/// A specification curve (Simonsohn, Simmons & Nelson 2020, Nature Human Behaviour 4:1208).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpecCurve {
    pub title: String,
    pub y_label: String,
    pub specifications: Vec<Specification>,
    /// Index into `specifications` of the pre-registered (headline) analysis, marked on the plot.
    pub headline: Option<usize>,
    /// A horizontal reference line kept in view, e.g. `Some(0.0)` for effects.
    pub reference: Option<f64>,
}

/// Axis ticks chosen by [`nice_ticks`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Axis start (a multiple of `step`, at or below the data).
    pub min: f64,
    /// Axis end (a multiple of `step`, at or above the data).
    pub max: f64,
    pub step: f64,
    /// Decimals needed to print every tick distinctly.
    pub decimals: usize,
    pub values: Vec<f64>,
}

// ---------------------------------------------------------------------------------------------
// Nice ticks
// ---------------------------------------------------------------------------------------------

/// Heckbert's "nice number" near `x` (1, 2, 5 or 10 times a power of ten): rounded, or the
/// smallest such number >= `x`.
fn nice_number(x: f64, round: bool) -> f64 {
    let exponent = x.log10().floor();
    let magnitude = 10f64.powf(exponent);
    let fraction = x / magnitude;
    let nice = if round {
        match fraction {
            f if f < 1.5 => 1.0,
            f if f < 3.0 => 2.0,
            f if f < 7.0 => 5.0,
            _ => 10.0,
        }
    } else {
        match fraction {
            f if f <= 1.0 => 1.0,
            f if f <= 2.0 => 2.0,
            f if f <= 5.0 => 5.0,
            _ => 10.0,
        }
    };
    nice * magnitude
}

/// Loose axis labels for the data range `[lo, hi]` with about `target` ticks: P. S. Heckbert,
/// "Nice numbers for graph labels", Graphics Gems (1990), pp. 61-63. The axis covers the data and
/// every tick is a multiple of a step of 1, 2 or 5 times a power of ten.
///
/// Degenerate input is widened rather than rejected: a zero-width range gets a unit around it,
/// non-finite bounds fall back to `[0, 1]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let (mut lo, mut hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo.min(hi), lo.max(hi)),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => (0.0, 1.0),
    };
    if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    // Ranges this wide overflow the arithmetic below; they never occur in a rubric study.
    lo = lo.max(-1e300);
    hi = hi.min(1e300);
    let target = target.max(2);
    let range = nice_number(hi - lo, false);
    let step = nice_number(range / (target - 1) as f64, true);
    // The epsilon keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick outside the data.
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let count = ((last - first).round() as usize).min(1000);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let values = (0..=count)
        .map(|i| {
            let v = (first + i as f64) * step;
            // Multiples of the step, cleaned of binary noise (and of -0).
            let cleaned = if v.abs() < step * 1e-9 { 0.0 } else { v };
            round_to(cleaned, decimals)
        })
        .collect::<Vec<_>>();
    Ticks {
        min: values[0],
        max: values[values.len() - 1],
        step,
        decimals,
        values,
    }
}

fn round_to(x: f64, decimals: usize) -> f64 {
    if decimals > 15 {
        return x;
    }
    let factor = 10f64.powi(decimals as i32);
    let r = (x * factor).round() / factor;
    if r.is_finite() { r } else { x }
}

// ---------------------------------------------------------------------------------------------
// Text: escaping, width estimates, wrapping, number formatting
// ---------------------------------------------------------------------------------------------

const FONT_STACK: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Liberation Sans', sans-serif";
const INK: &str = "#222222";
const MUTED: &str = "#555555";
const GRID: &str = "#e3e3e3";
const MINUS: char = '\u{2212}';

/// Escapes text for element content and attribute values, and replaces characters that XML 1.0
/// forbids (control characters, lone surrogates cannot occur in `str`, U+FFFE/U+FFFF).
fn esc(s: &str) -> String {
    let xml_safe: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if is_xml_char(c) => c,
            _ => '\u{FFFD}',
        })
        .collect();
    super::format::html(&xml_safe)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_wide(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}'
        | '\u{FFE0}'..='\u{FFE6}' | '\u{1F300}'..='\u{1FAFF}' | '\u{20000}'..='\u{3FFFD}')
}

/// Advance width in em, after Helvetica/Arial's metrics.
fn char_em(c: char) -> f64 {
    match c {
        '\u{300}'..='\u{36F}' => 0.0,
        'i' | 'j' | 'l' | '\'' | '|' => 0.23,
        'f' | 't' | 'I' | ' ' | '.' | ',' | ':' | ';' | '!' | '[' | ']' | '/' | '\\' => 0.28,
        'r' | '-' | '(' | ')' | '"' | '{' | '}' | '`' => 0.34,
        'c' | 'k' | 's' | 'v' | 'x' | 'y' | 'z' | 'J' => 0.5,
        'm' | 'M' => 0.84,
        'w' => 0.72,
        'W' => 0.95,
        '%' => 0.89,
        '@' => 1.02,
        '&' | 'A' | 'B' | 'E' | 'K' | 'P' | 'S' | 'V' | 'X' | 'Y' => 0.67,
        'F' | 'T' | 'Z' => 0.61,
        'L' => 0.56,
        'A'..='Z' => 0.75,
        '0'..='9' | 'a'..='z' | '_' | '?' | '$' | '#' | '\u{2212}' | '\u{2013}' => 0.56,
        '=' | '+' | '<' | '>' | '~' | '^' | '\u{00D7}' | '\u{00B1}' => 0.59,
        '\u{2026}' => 1.0,
        c if is_wide(c) => 1.0,
        _ => 0.62,
    }
}

/// Estimated rendered width in px. The factor covers DejaVu Sans, the widest font that the font
/// stack falls back to on common systems (measured in Chromium: "verification-steerability" at
/// 12 px is about 1.22 times its Arial width).
const WIDTH_FACTOR: f64 = 1.22;

fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * size * WIDTH_FACTOR
}

fn bold_width(s: &str, size: f64) -> f64 {
    text_width(s, size) * 1.08
}

/// Shortens `s` with an ellipsis until it fits `max_width`.
fn truncate_to_width(s: &str, max_width: f64, size: f64) -> String {
    if text_width(s, size) <= max_width {
        return s.to_string();
    }
    let mut out = String::new();
    let budget = max_width - text_width("\u{2026}", size);
    let mut used = 0.0;
    for c in s.chars() {
        let w = char_em(c) * size * WIDTH_FACTOR;
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('\u{2026}');
    out
}

/// Greedy line breaking for labels like "verification-steerability": breaks after '-', '_', '/',
/// '.', ':' and at spaces, and inside a word only when the word alone is too wide. Explicit
/// newlines are kept. The bool is true if a word had to be split.
fn wrap(s: &str, max_width: f64, size: f64) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut split_word = false;
    for paragraph in s.split('\n') {
        let pieces = break_pieces(paragraph);
        let mut line = String::new();
        for piece in pieces {
            let candidate = format!("{line}{piece}");
            if line.is_empty() || text_width(candidate.trim_end(), size) <= max_width {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = piece.trim_start().to_string();
            }
            // A single piece wider than the line: split it by characters.
            while text_width(line.trim_end(), size) > max_width && line.chars().count() > 1 {
                split_word = true;
                let mut head = String::new();
                let mut rest = String::new();
                let mut used = 0.0;
                for c in line.chars() {
                    let w = char_em(c) * size * WIDTH_FACTOR;
                    if rest.is_empty() && (head.is_empty() || used + w <= max_width) {
                        head.push(c);
                        used += w;
                    } else {
                        rest.push(c);
                    }
                }
                lines.push(head);
                line = rest;
            }
        }
        lines.push(line.trim_end().to_string());
    }
    (lines, split_word)
}

/// Splits into pieces that each end at a break opportunity (keeping the breaking character).
fn break_pieces(s: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in s.chars() {
        current.push(c);
        if matches!(c, ' ' | '-' | '_' | '/' | '.' | ':' | ',') {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// A coordinate: one decimal, no trailing ".0", never "-0", "NaN" or "inf".
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let r = (x.clamp(-1e9, 1e9) * 10.0).round() / 10.0;
    if r == 0.0 {
        return "0".to_string();
    }
    let s = format!("{r:.1}");
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// A data value with fixed decimals and a typographic minus; "n/a" when undefined.
fn fmt_value(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let is_zero = s.chars().all(|c| c == '0' || c == '.');
    if x < 0.0 && !is_zero {
        format!("{MINUS}{s}")
    } else {
        s
    }
}

/// Like [`fmt_value`] with an explicit "+" on positive effects.
fn fmt_signed(x: f64, decimals: usize) -> String {
    let s = fmt_value(x, decimals);
    let is_zero = s.chars().all(|c| c == '0' || c == '.');
    if x > 0.0 && !is_zero {
        format!("+{s}")
    } else {
        s
    }
}

/// Shortest of 0..=3 decimals that shows `x` exactly at that precision (for scale ends).
fn fmt_short(x: f64) -> String {
    for decimals in 0..3 {
        if (round_to(x, decimals) - x).abs() < 1e-9 {
            return fmt_value(x, decimals);
        }
    }
    fmt_value(x, 3)
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// A confidence interval with finite, ordered ends.
fn finite_ci(ci: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match ci {
        Some((a, b)) if a.is_finite() && b.is_finite() => Some((a.min(b), a.max(b))),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Document assembly
// ---------------------------------------------------------------------------------------------

/// FNV-1a over the figure's inputs: a deterministic id prefix, so that several figures inlined
/// into one HTML page do not share element ids.
struct IdHash(u64);

impl IdHash {
    fn new(kind: &str) -> Self {
        let mut h = IdHash(0xcbf2_9ce4_8422_2325);
        h.text(kind);
        h
    }
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(&[0xff]);
    }
    fn number(&mut self, x: Option<f64>) {
        match x {
            Some(v) => self.bytes(&v.to_bits().to_le_bytes()),
            None => self.bytes(&[0xfe]),
        }
    }
    fn prefix(&self, kind: &str) -> String {
        format!("{kind}-{:08x}-", (self.0 ^ (self.0 >> 32)) as u32)
    }
}

struct Document {
    width: f64,
    height: f64,
    title: String,
    desc: String,
    id: String,
    defs: String,
    body: String,
}

impl Document {
    fn render(self) -> String {
        let mut out = String::with_capacity(self.body.len() + self.defs.len() + 1024);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}title" aria-describedby="{id}desc" font-family="{FONT_STACK}" font-size="12" fill="{INK}">"#,
            w = num(self.width.ceil()),
            h = num(self.height.ceil()),
            id = self.id,
        );
        let _ = write!(
            out,
            "\n<title id=\"{id}title\">{}</title>\n<desc id=\"{id}desc\">{}</desc>\n",
            esc(&self.title),
            esc(&self.desc),
            id = self.id
        );
        if !self.defs.is_empty() {
            let _ = write!(out, "<defs>\n{}</defs>\n", self.defs);
        }
        let _ = writeln!(
            out,
            "<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            num(self.width.ceil()),
            num(self.height.ceil())
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

/// One `<text>` element; `attrs` are fixed attribute strings from this module, never user data.
fn text(out: &mut String, x: f64, y: f64, content: &str, attrs: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}"{}{attrs}>{}</text>"#,
        num(x),
        num(y),
        if attrs.is_empty() { "" } else { " " },
        esc(content)
    );
}

/// A `<text>` with a tooltip holding the full label (for labels shortened with an ellipsis).
fn text_with_tooltip(out: &mut String, x: f64, y: f64, shown: &str, full: &str, attrs: &str) {
    if shown == full {
        text(out, x, y, shown, attrs);
    } else {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" {attrs}><title>{}</title>{}</text>"#,
            num(x),
            num(y),
            esc(full),
            esc(shown)
        );
    }
}

/// Several lines, first baseline at `y`.
fn text_lines(out: &mut String, x: f64, y: f64, lines: &[String], line_height: f64, attrs: &str) {
    if lines.len() == 1 {
        text(out, x, y, &lines[0], attrs);
        return;
    }
    let _ = write!(out, r#"<text x="{}" y="{}" {attrs}>"#, num(x), num(y));
    for (i, line) in lines.iter().enumerate() {
        let dy = if i == 0 { 0.0 } else { line_height };
        let _ = write!(
            out,
            r#"<tspan x="{}" dy="{}">{}</tspan>"#,
            num(x),
            num(dy),
            esc(line)
        );
    }
    out.push_str("</text>\n");
}

fn line(out: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) {
    let _ = writeln!(
        out,
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {attrs}/>"#,
        num(x1),
        num(y1),
        num(x2),
        num(y2)
    );
}

fn rect(out: &mut String, x: f64, y: f64, w: f64, h: f64, attrs: &str) {
    let _ = writeln!(
        out,
        r#"<rect x="{}" y="{}" width="{}" height="{}" {attrs}/>"#,
        num(x),
        num(y),
        num(w.max(0.0)),
        num(h.max(0.0))
    );
}

/// Title lines wrapped to the figure width; returns the y below them.
fn title_block(out: &mut String, title: &str, x: f64, y: f64, max_width: f64) -> f64 {
    if title.trim().is_empty() {
        return y;
    }
    let (lines, _) = wrap(title, max_width / 1.08, 15.0);
    text_lines(
        out,
        x,
        y + 15.0,
        &lines,
        19.0,
        r#"font-size="15" font-weight="600""#,
    );
    y + 19.0 * lines.len() as f64 + 6.0
}

/// A figure with nothing to plot: says so instead of drawing empty axes.
fn empty_figure(kind: &str, title: &str, message: &str) -> String {
    let width = 480.0;
    let mut body = String::new();
    let y = title_block(&mut body, title, 16.0, 12.0, width - 32.0);
    text(
        &mut body,
        16.0,
        y + 24.0,
        message,
        &format!(r#"fill="{MUTED}" font-style="italic""#),
    );
    let mut hash = IdHash::new(kind);
    hash.text(title);
    Document {
        width,
        height: y + 44.0,
        title: title.to_string(),
        desc: message.to_string(),
        id: hash.prefix(kind),
        defs: String::new(),
        body,
    }
    .render()
}

// ---------------------------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(f64, f64, f64);

impl Rgb {
    fn from_hex(hex: u32) -> Self {
        Rgb(
            f64::from((hex >> 16) & 0xff),
            f64::from((hex >> 8) & 0xff),
            f64::from(hex & 0xff),
        )
    }
    fn hex(self) -> String {
        let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        format!("#{:02x}{:02x}{:02x}", c(self.0), c(self.1), c(self.2))
    }
    /// WCAG 2.x relative luminance.
    fn luminance(self) -> f64 {
        let lin = |v: f64| {
            let s = v.round().clamp(0.0, 255.0) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }
}

/// WCAG 2.x contrast ratio.
fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// viridis (van der Walt & Smith, matplotlib 2.0) at nine evenly spaced points, as listed by
/// R's viridisLite::viridis(9). Perceptually uniform, readable in greyscale and by people with
/// the common colour-vision deficiencies; linear interpolation between these is close enough.
const VIRIDIS: [u32; 9] = [
    0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C, 0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725,
];

fn viridis(t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (Rgb::from_hex(VIRIDIS[i]), Rgb::from_hex(VIRIDIS[i + 1]));
    Rgb(
        a.0 + (b.0 - a.0) * f,
        a.1 + (b.1 - a.1) * f,
        a.2 + (b.2 - a.2) * f,
    )
}

/// Black or white, whichever contrasts more with `background` (always >= 4.58:1).
fn text_colour_on(background: Rgb) -> &'static str {
    let black = Rgb(0.0, 0.0, 0.0);
    let white = Rgb(255.0, 255.0, 255.0);
    if contrast(background, black) >= contrast(background, white) {
        "#000000"
    } else {
        "#ffffff"
    }
}

// ---------------------------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------------------------

const CELL_MAIN_SIZE: f64 = 13.0;
const CELL_SUB_SIZE: f64 = 10.5;
const LABEL_SIZE: f64 = 12.0;

/// The colour ramp's ends: the rubric's range if usable, otherwise the data's.
fn heatmap_scale(scale: (f64, f64), values: &[f64]) -> (f64, f64) {
    let (a, b) = scale;
    if a.is_finite() && b.is_finite() && a != b {
        return (a.min(b), a.max(b));
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi.is_finite() && lo < hi {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    }
}

fn cell_line_size(i: usize) -> f64 {
    if i == 0 {
        CELL_MAIN_SIZE
    } else {
        CELL_SUB_SIZE
    }
}

fn cell_line_width(i: usize, s: &str) -> f64 {
    if i == 0 {
        bold_width(s, CELL_MAIN_SIZE)
    } else {
        text_width(s, CELL_SUB_SIZE)
    }
}

/// A model x scaffold heatmap of one rubric dimension.
pub fn heatmap(spec: &Heatmap) -> String {
    let nrows = spec.row_labels.len();
    let ncols = spec.col_labels.len();
    if nrows == 0 || ncols == 0 {
        return empty_figure("heatmap", &spec.title, "No data to show.");
    }
    let value = |r: usize, c: usize| -> Option<f64> {
        finite(
            spec.values
                .get(r)
                .and_then(|row| row.get(c))
                .copied()
                .flatten(),
        )
    };
    let present: Vec<f64> = (0..nrows)
        .flat_map(|r| (0..ncols).map(move |c| (r, c)))
        .filter_map(|(r, c)| value(r, c))
        .collect();
    let (lo, hi) = heatmap_scale(spec.scale, &present);
    let any_missing = present.len() < nrows * ncols;

    // Cell contents.
    const MAX_CELL_WIDTH: f64 = 170.0;
    let given_text = |r: usize, c: usize| spec.cell_text.get(r).and_then(|row| row.get(c));
    let cells: Vec<Vec<Vec<String>>> = (0..nrows)
        .map(|r| {
            (0..ncols)
                .map(|c| match value(r, c) {
                    None => vec!["n/a".to_string()],
                    Some(v) => match given_text(r, c) {
                        Some(t) => t
                            .split('\n')
                            .enumerate()
                            .map(|(i, l)| {
                                truncate_to_width(l, MAX_CELL_WIDTH - 12.0, cell_line_size(i))
                            })
                            .collect(),
                        None => vec![fmt_value(v, 2)],
                    },
                })
                .collect()
        })
        .collect();
    let widest_cell_line = cells
        .iter()
        .flatten()
        .flat_map(|lines| lines.iter().enumerate())
        .map(|(i, l)| cell_line_width(i, l))
        .fold(0.0, f64::max);
    let max_lines = cells.iter().flatten().map(Vec::len).max().unwrap_or(1);
    let cell_content_height = CELL_MAIN_SIZE + 3.0 + (max_lines - 1) as f64 * 13.0;

    // Column headers: wrapped horizontally if every label fits the cell width in at most three
    // lines without splitting a word, otherwise rotated by 45 degrees.
    // Cells may widen (up to a grid of about 640 px) to avoid rotating the labels.
    let base_w = (widest_cell_line + 16.0).clamp(72.0, MAX_CELL_WIDTH);
    let widest_allowed = (640.0 / ncols as f64).clamp(base_w, MAX_CELL_WIDTH);
    let wrap_columns = |w: f64| -> Option<Vec<Vec<String>>> {
        let wrapped: Vec<(Vec<String>, bool)> = spec
            .col_labels
            .iter()
            .map(|l| wrap(l, w - 8.0, LABEL_SIZE))
            .collect();
        let fits = wrapped
            .iter()
            .all(|(lines, split)| !split && lines.len() <= 3);
        fits.then(|| wrapped.into_iter().map(|(lines, _)| lines).collect())
    };
    let mut cell_w = base_w;
    let mut horizontal = wrap_columns(cell_w);
    while horizontal.is_none() && cell_w + 4.0 <= widest_allowed {
        cell_w += 4.0;
        horizontal = wrap_columns(cell_w);
    }
    if horizontal.is_none() {
        cell_w = base_w;
    }
    const ROTATED_MAX: f64 = 240.0;
    let rotated: Vec<String> = spec
        .col_labels
        .iter()
        .map(|l| truncate_to_width(&l.replace('\n', " "), ROTATED_MAX, LABEL_SIZE))
        .collect();
    let header_h = match &horizontal {
        Some(lines) => lines.iter().map(Vec::len).max().unwrap_or(1) as f64 * 14.0 + 6.0,
        None => {
            let longest = rotated
                .iter()
                .map(|l| text_width(l, LABEL_SIZE))
                .fold(0.0, f64::max);
            longest * std::f64::consts::FRAC_1_SQRT_2 + 14.0
        }
    };

    // Row labels, wrapped at 200 px.
    let row_lines: Vec<Vec<String>> = spec
        .row_labels
        .iter()
        .map(|l| wrap(l, 200.0, LABEL_SIZE).0)
        .collect();
    let row_label_w = row_lines
        .iter()
        .flatten()
        .map(|l| text_width(l, LABEL_SIZE))
        .fold(0.0, f64::max);
    let max_row_lines = row_lines.iter().map(Vec::len).max().unwrap_or(1);
    let cell_h = (cell_content_height + 16.0)
        .max(max_row_lines as f64 * 14.0 + 10.0)
        .max(40.0);

    // Horizontal layout.
    let margin = 16.0;
    let row_axis_w = if spec.row_axis.trim().is_empty() {
        0.0
    } else {
        22.0
    };
    let grid_left = margin + row_axis_w + row_label_w + 10.0;
    let grid_w = cell_w * ncols as f64;
    let grid_right = grid_left + grid_w;
    let legend_x = grid_right + 28.0;
    let bar_w = 14.0;
    let ticks = legend_ticks(lo, hi);
    let tick_label_w = ticks
        .iter()
        .map(|(_, l)| text_width(l, 11.0))
        .fold(text_width("n/a", 11.0), f64::max);
    let legend_caption_w = bold_width(&spec.legend_label, 11.0);
    let legend_right = (legend_x + bar_w + 6.0 + tick_label_w).max(legend_x + legend_caption_w);
    let rotated_right = match &horizontal {
        Some(_) => 0.0,
        None => rotated
            .iter()
            .enumerate()
            .map(|(c, l)| {
                grid_left
                    + (c as f64 + 0.5) * cell_w
                    + text_width(l, LABEL_SIZE) * std::f64::consts::FRAC_1_SQRT_2
                    + 4.0
            })
            .fold(0.0, f64::max),
    };
    let content_right = legend_right.max(rotated_right);
    let mut width = content_right + margin;
    let title_w = bold_width(&spec.title, 15.0);
    if title_w + 2.0 * margin > width {
        width = (title_w + 2.0 * margin).min(width.max(900.0));
    }

    // Vertical layout.
    let mut body = String::new();
    let mut y = title_block(&mut body, &spec.title, margin, 12.0, width - 2.0 * margin);
    let grid_center_x = grid_left + grid_w / 2.0;
    if !spec.col_axis.trim().is_empty() {
        y += 4.0;
        text(
            &mut body,
            grid_center_x,
            y + 12.0,
            &spec.col_axis,
            r#"font-weight="600" text-anchor="middle""#,
        );
        y += 18.0;
    }
    let header_top = y;
    let grid_top = header_top + header_h;
    let grid_h = cell_h * nrows as f64;
    let grid_bottom = grid_top + grid_h;

    // Column labels.
    match &horizontal {
        Some(lines) => {
            for (c, l) in lines.iter().enumerate() {
                let cx = grid_left + (c as f64 + 0.5) * cell_w;
                // Bottom-aligned so that one-line labels sit next to the grid.
                let first = grid_top - 8.0 - (l.len() - 1) as f64 * 14.0;
                text_lines(&mut body, cx, first, l, 14.0, r#"text-anchor="middle""#);
            }
        }
        None => {
            for (c, l) in rotated.iter().enumerate() {
                let cx = grid_left + (c as f64 + 0.5) * cell_w;
                let fy = grid_top - 8.0;
                let attrs = format!(r#"transform="rotate(-45 {} {})""#, num(cx), num(fy));
                text_with_tooltip(&mut body, cx, fy, l, &spec.col_labels[c], &attrs);
            }
        }
    }

    // Row labels and axis title.
    for (r, lines) in row_lines.iter().enumerate() {
        let cy = grid_top + (r as f64 + 0.5) * cell_h;
        let first = cy + 4.0 - (lines.len() - 1) as f64 * 7.0;
        text_lines(
            &mut body,
            grid_left - 10.0,
            first,
            lines,
            14.0,
            r#"text-anchor="end""#,
        );
    }
    if row_axis_w > 0.0 {
        let cx = margin + 12.0;
        let cy = grid_top + grid_h / 2.0;
        let attrs = format!(
            r#"font-weight="600" text-anchor="middle" transform="rotate(-90 {} {})""#,
            num(cx),
            num(cy)
        );
        text(&mut body, cx, cy, &spec.row_axis, &attrs);
    }

    // Cells.
    let mut hash = IdHash::new("heatmap");
    hash.text(&spec.title);
    for l in spec.row_labels.iter().chain(&spec.col_labels) {
        hash.text(l);
    }
    for v in &present {
        hash.number(Some(*v));
    }
    let id = hash.prefix("heatmap");
    body.push_str("<g stroke=\"#ffffff\" stroke-width=\"2\">\n");
    for r in 0..nrows {
        for c in 0..ncols {
            let x = grid_left + c as f64 * cell_w;
            let yy = grid_top + r as f64 * cell_h;
            let fill = match value(r, c) {
                Some(v) => viridis((v - lo) / (hi - lo)).hex(),
                None => format!("url(#{id}hatch)"),
            };
            let tooltip = {
                let row = spec.row_labels[r].as_str();
                let col = spec.col_labels[c].as_str();
                let shown = match (value(r, c), given_text(r, c)) {
                    (_, Some(t)) if !t.trim().is_empty() => t.replace('\n', " "),
                    (Some(v), _) => fmt_value(v, 2),
                    (None, _) => "n/a".to_string(),
                };
                format!("{row} \u{00D7} {col}: {shown}")
            };
            let _ = writeln!(
                body,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"><title>{}</title></rect>"#,
                num(x),
                num(yy),
                num(cell_w),
                num(cell_h),
                esc(&tooltip)
            );
        }
    }
    body.push_str("</g>\n");
    for (r, row_cells) in cells.iter().enumerate() {
        for (c, lines) in row_cells.iter().enumerate() {
            let cx = grid_left + (c as f64 + 0.5) * cell_w;
            let cy = grid_top + (r as f64 + 0.5) * cell_h;
            let colour = match value(r, c) {
                Some(v) => text_colour_on(viridis((v - lo) / (hi - lo))),
                None => "#444444",
            };
            let block_h = CELL_MAIN_SIZE + (lines.len() - 1) as f64 * 13.0;
            let mut baseline = cy - block_h / 2.0 + CELL_MAIN_SIZE * 0.8;
            for (i, l) in lines.iter().enumerate() {
                let attrs = if i == 0 {
                    if value(r, c).is_some() {
                        format!(
                            r#"font-size="{CELL_MAIN_SIZE}" font-weight="600" text-anchor="middle" fill="{colour}""#
                        )
                    } else {
                        format!(
                            r#"font-size="{CELL_MAIN_SIZE}" font-style="italic" text-anchor="middle" fill="{colour}""#
                        )
                    }
                } else {
                    format!(r#"font-size="{CELL_SUB_SIZE}" text-anchor="middle" fill="{colour}""#)
                };
                text(&mut body, cx, baseline, l, &attrs);
                baseline += 13.0;
            }
        }
    }

    // Legend: a vertical colour bar, low at the bottom.
    let bar_h = grid_h.clamp(90.0, 200.0);
    let mut bar_top = grid_top;
    if !spec.legend_label.trim().is_empty() {
        text(
            &mut body,
            legend_x,
            grid_top + 9.0,
            &spec.legend_label,
            r#"font-size="11" font-weight="600""#,
        );
        bar_top += 16.0;
    }
    rect(
        &mut body,
        legend_x,
        bar_top,
        bar_w,
        bar_h,
        &format!(r##"fill="url(#{id}ramp)" stroke="#999999" stroke-width="0.5""##),
    );
    for (v, label) in &ticks {
        let ty = bar_top + bar_h - (v - lo) / (hi - lo) * bar_h;
        line(
            &mut body,
            legend_x + bar_w,
            ty,
            legend_x + bar_w + 3.0,
            ty,
            r##"stroke="#666666""##,
        );
        text(
            &mut body,
            legend_x + bar_w + 6.0,
            ty + 4.0,
            label,
            r#"font-size="11""#,
        );
    }
    let mut legend_bottom = bar_top + bar_h;
    if any_missing {
        let sy = legend_bottom + 14.0;
        rect(
            &mut body,
            legend_x,
            sy,
            bar_w,
            bar_w,
            &format!(r##"fill="url(#{id}hatch)" stroke="#999999" stroke-width="0.5""##),
        );
        text(
            &mut body,
            legend_x + bar_w + 6.0,
            sy + 11.0,
            "n/a",
            r#"font-size="11""#,
        );
        legend_bottom = sy + bar_w;
    }

    let mut defs = String::new();
    let _ = writeln!(
        defs,
        r#"<linearGradient id="{id}ramp" x1="0" y1="1" x2="0" y2="0">"#
    );
    for (i, hex) in VIRIDIS.iter().enumerate() {
        let _ = writeln!(
            defs,
            r#"<stop offset="{}" stop-color="{}"/>"#,
            fmt_value(i as f64 / (VIRIDIS.len() - 1) as f64, 3),
            Rgb::from_hex(*hex).hex()
        );
    }
    defs.push_str("</linearGradient>\n");
    let _ = writeln!(
        defs,
        r##"<pattern id="{id}hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#cccccc" stroke-width="2"/></pattern>"##
    );

    let height = grid_bottom.max(legend_bottom) + margin;
    let desc = heatmap_desc(spec, lo, hi, &present, &value);
    Document {
        width,
        height,
        title: spec.title.clone(),
        desc,
        id,
        defs,
        body,
    }
    .render()
}

/// Ticks for the colour legend: always the scale's two ends, plus nice values in between that
/// are not crowding them.
fn legend_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let ticks = nice_ticks(lo, hi, 5);
    let tol = (hi - lo) * 0.12;
    let mut out = vec![(lo, fmt_short(lo))];
    for v in ticks.values {
        if v > lo + tol && v < hi - tol {
            out.push((v, fmt_value(v, ticks.decimals)));
        }
    }
    out.push((hi, fmt_short(hi)));
    out
}

fn heatmap_desc(
    spec: &Heatmap,
    lo: f64,
    hi: f64,
    present: &[f64],
    value: &dyn Fn(usize, usize) -> Option<f64>,
) -> String {
    let axis = |name: &str, fallback: &'static str| -> String {
        if name.trim().is_empty() {
            fallback.to_string()
        } else {
            format!("{fallback} ({name})")
        }
    };
    let mut desc = format!(
        "Heatmap with {} {} and {} {}; colour runs from dark purple at {} to yellow at {}.",
        spec.row_labels.len(),
        axis(&spec.row_axis, "rows"),
        spec.col_labels.len(),
        axis(&spec.col_axis, "columns"),
        fmt_short(lo),
        fmt_short(hi)
    );
    let missing = spec.row_labels.len() * spec.col_labels.len() - present.len();
    match missing {
        0 => {}
        1 => desc.push_str(" 1 cell has no value (n/a)."),
        _ => {
            let _ = write!(desc, " {missing} cells have no value (n/a).");
        }
    }
    // Name the extremes; ties go to the first cell in reading order.
    let mut lowest: Option<(usize, usize, f64)> = None;
    let mut highest: Option<(usize, usize, f64)> = None;
    for r in 0..spec.row_labels.len() {
        for c in 0..spec.col_labels.len() {
            if let Some(v) = value(r, c) {
                if lowest.is_none_or(|(_, _, l)| v < l) {
                    lowest = Some((r, c, v));
                }
                if highest.is_none_or(|(_, _, h)| v > h) {
                    highest = Some((r, c, v));
                }
            }
        }
    }
    if let (Some((lr, lc, lv)), Some((hr, hc, hv))) = (lowest, highest) {
        let _ = write!(
            desc,
            " Lowest: {} with {} ({}). Highest: {} with {} ({}).",
            spec.row_labels[lr],
            spec.col_labels[lc],
            fmt_value(lv, 2),
            spec.row_labels[hr],
            spec.col_labels[hc],
            fmt_value(hv, 2)
        );
    }
    desc
}

// ---------------------------------------------------------------------------------------------
// Markers shared by the dot-whisker plot
// ---------------------------------------------------------------------------------------------

impl Verdict {
    pub const ALL: [Verdict; 9] = [
        Verdict::Improved,
        Verdict::Ceiling,
        Verdict::ImprovedWithinMargin,
        Verdict::Equivalent,
        Verdict::NoChange,
        Verdict::Inconclusive,
        Verdict::WorseWithinMargin,
        Verdict::Worse,
        Verdict::NoVerdict,
    ];

    /// Legend text.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "Improved",
            Verdict::Ceiling => "Raised to ceiling",
            Verdict::ImprovedWithinMargin => "Improved, within the margin",
            Verdict::Equivalent => "Equivalent",
            Verdict::NoChange => "No change",
            Verdict::Inconclusive => "Inconclusive",
            Verdict::WorseWithinMargin => "Worse, within the margin",
            Verdict::Worse => "Worse",
            Verdict::NoVerdict => "No verdict",
        }
    }

    /// Okabe & Ito's colour-blind-safe palette, plus greys for the non-findings.
    fn colour(self) -> &'static str {
        match self {
            Verdict::Improved => "#0072B2",
            Verdict::Ceiling => "#009E73",
            Verdict::ImprovedWithinMargin => "#56B4E9",
            Verdict::Equivalent => "#CC79A7",
            Verdict::NoChange => "#555555",
            Verdict::Inconclusive => "#8C8C8C",
            Verdict::WorseWithinMargin => "#E69F00",
            Verdict::Worse => "#D55E00",
            Verdict::NoVerdict => "#8C8C8C",
        }
    }
}

/// Draws a verdict's marker centred on (x, y): shape carries the verdict as much as colour.
fn marker(out: &mut String, verdict: Verdict, x: f64, y: f64, size: f64) {
    let colour = verdict.colour();
    let filled = format!(r#"fill="{colour}" stroke="{colour}" stroke-width="1""#);
    let hollow = format!(r##"fill="#ffffff" stroke="{colour}" stroke-width="1.6""##);
    let r = size;
    let poly = |out: &mut String, points: &[(f64, f64)], attrs: &str| {
        let pts = points
            .iter()
            .map(|(px, py)| format!("{},{}", num(x + px), num(y + py)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(out, r#"<polygon points="{pts}" {attrs}/>"#);
    };
    match verdict {
        Verdict::Improved => {
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="{}" {filled}/>"#,
                num(x),
                num(y),
                num(r)
            );
        }
        Verdict::Ceiling => {
            // Triangle under a bar: "pushed up to the top".
            let t = r * 1.2;
            poly(out, &[(0.0, -t), (t, t * 0.75), (-t, t * 0.75)], &filled);
            line(
                out,
                x - t,
                y - t - 2.0,
                x + t,
                y - t - 2.0,
                &format!(r#"stroke="{colour}" stroke-width="1.6""#),
            );
        }
        Verdict::Equivalent => {
            let d = r * 1.3;
            poly(out, &[(0.0, -d), (d, 0.0), (0.0, d), (-d, 0.0)], &filled);
        }
        Verdict::NoChange => {
            let s = r * 0.9;
            rect(out, x - s, y - s, 2.0 * s, 2.0 * s, &hollow);
        }
        Verdict::Inconclusive => {
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="{}" {hollow}/>"#,
                num(x),
                num(y),
                num(r)
            );
        }
        Verdict::Worse => {
            let t = r * 1.2;
            poly(out, &[(0.0, t), (t, -t * 0.75), (-t, -t * 0.75)], &filled);
        }
        Verdict::ImprovedWithinMargin => {
            // A small "improved" circle inside the equivalence diamond's outline.
            let d = r * 1.3;
            poly(out, &[(0.0, -d), (d, 0.0), (0.0, d), (-d, 0.0)], &hollow);
            let _ = writeln!(
                out,
                r#"<circle cx="{}" cy="{}" r="{}" {filled}/>"#,
                num(x),
                num(y),
                num(r * 0.5)
            );
        }
        Verdict::WorseWithinMargin => {
            let t = r * 1.2;
            poly(out, &[(0.0, t), (t, -t * 0.75), (-t, -t * 0.75)], &hollow);
        }
        Verdict::NoVerdict => {
            let s = r * 0.8;
            let stroke = format!(r#"stroke="{colour}" stroke-width="1.6""#);
            line(out, x - s, y - s, x + s, y + s, &stroke);
            line(out, x - s, y + s, x + s, y - s, &stroke);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dot-whisker plot
// ---------------------------------------------------------------------------------------------

/// Effects versus baseline with confidence intervals, grouped (e.g. by model).
pub fn dot_whisker(spec: &DotWhisker) -> String {
    if spec.rows.is_empty() {
        return empty_figure("dotwhisker", &spec.title, "No effects to show.");
    }
    // Groups in order of first appearance; rows keep their input order within a group.
    let mut groups: Vec<(&str, Vec<&EffectRow>)> = Vec::new();
    for row in &spec.rows {
        match groups.iter_mut().find(|(g, _)| *g == row.group) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((row.group.as_str(), vec![row])),
        }
    }
    let margin_eq = finite(spec.equivalence_margin)
        .map(f64::abs)
        .filter(|m| *m > 0.0);

    // Domain: estimates, intervals, zero and the equivalence band.
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for row in &spec.rows {
        if let Some(e) = finite(row.estimate) {
            lo = lo.min(e);
            hi = hi.max(e);
        }
        if let Some((a, b)) = finite_ci(row.ci) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    if let Some(m) = margin_eq {
        lo = lo.min(-m);
        hi = hi.max(m);
    }
    let ticks = nice_ticks(lo, hi, 8);

    // Text columns.
    const LABEL_MAX: f64 = 230.0;
    const ANNOTATION_MAX: f64 = 190.0;
    const NUM_SIZE: f64 = 11.5;
    let numeric = |row: &EffectRow| -> String {
        match (finite(row.estimate), finite_ci(row.ci)) {
            (Some(e), Some((a, b))) => format!(
                "{} [{}, {}]",
                fmt_signed(e, 2),
                fmt_value(a, 2),
                fmt_value(b, 2)
            ),
            (Some(e), None) => fmt_signed(e, 2),
            (None, _) => "n/a".to_string(),
        }
    };
    struct Laid<'a> {
        row: &'a EffectRow,
        label: Vec<String>,
        annotation: Vec<String>,
        numeric: String,
        top: f64,
        height: f64,
    }
    let group_lines: Vec<Vec<String>> = groups
        .iter()
        .map(|(g, _)| {
            if g.trim().is_empty() {
                Vec::new()
            } else {
                wrap(g, LABEL_MAX + 12.0, LABEL_SIZE * 1.08).0
            }
        })
        .collect();
    let indent = if group_lines.iter().all(Vec::is_empty) {
        0.0
    } else {
        12.0
    };
    let mut laid: Vec<Vec<Laid>> = groups
        .iter()
        .map(|(_, rows)| {
            rows.iter()
                .map(|row| Laid {
                    row,
                    label: wrap(&row.label, LABEL_MAX, LABEL_SIZE).0,
                    annotation: if row.annotation.trim().is_empty() {
                        Vec::new()
                    } else {
                        wrap(&row.annotation, ANNOTATION_MAX, 11.0).0
                    },
                    numeric: numeric(row),
                    top: 0.0,
                    height: 0.0,
                })
                .collect()
        })
        .collect();
    let label_w = laid
        .iter()
        .flatten()
        .flat_map(|l| l.label.iter())
        .map(|s| text_width(s, LABEL_SIZE) + indent)
        .chain(
            group_lines
                .iter()
                .flatten()
                .map(|s| bold_width(s, LABEL_SIZE)),
        )
        .fold(0.0, f64::max);
    let numeric_header = "Estimate [CI]";
    let numeric_w = laid
        .iter()
        .flatten()
        .map(|l| text_width(&l.numeric, NUM_SIZE))
        .fold(bold_width(numeric_header, 11.0), f64::max);
    let annotation_w = laid
        .iter()
        .flatten()
        .flat_map(|l| l.annotation.iter())
        .map(|s| text_width(s, 11.0))
        .fold(0.0, f64::max);

    // Horizontal layout, aiming at a 900 px figure.
    let margin = 16.0;
    let plot_left = margin + label_w + 18.0;
    let right_cols = 18.0
        + numeric_w
        + if annotation_w > 0.0 {
            14.0 + annotation_w
        } else {
            0.0
        };
    let plot_w = (900.0 - plot_left - right_cols - margin).max(260.0);
    let plot_right = plot_left + plot_w;
    let numeric_x = plot_right + 18.0;
    let annotation_x = numeric_x + numeric_w + 14.0;
    let width = plot_right + right_cols + margin;
    let sx = |v: f64| plot_left + (v - ticks.min) / (ticks.max - ticks.min) * plot_w;

    // Vertical layout.
    let mut body = String::new();
    let mut y = title_block(&mut body, &spec.title, margin, 12.0, width - 2.0 * margin);
    y += 4.0;
    text(
        &mut body,
        numeric_x,
        y + 11.0,
        numeric_header,
        &format!(r#"font-size="11" font-weight="600" fill="{MUTED}""#),
    );
    y += 18.0;
    let plot_top = y;
    let mut group_tops = Vec::new();
    for (gi, rows) in laid.iter_mut().enumerate() {
        if gi > 0 {
            y += 8.0;
        }
        group_tops.push(y);
        y += group_lines[gi].len() as f64 * 16.0;
        for l in rows.iter_mut() {
            let lines = l.label.len().max(l.annotation.len()).max(1);
            l.top = y;
            l.height = (lines as f64 * 14.0 + 8.0).max(24.0);
            y += l.height;
        }
    }
    let plot_bottom = y + 6.0;

    // Plot furniture: equivalence band, gridlines, zero line.
    if let Some(m) = margin_eq {
        rect(
            &mut body,
            sx(-m),
            plot_top,
            sx(m) - sx(-m),
            plot_bottom - plot_top,
            r##"fill="#ececec""##,
        );
        for edge in [-m, m] {
            line(
                &mut body,
                sx(edge),
                plot_top,
                sx(edge),
                plot_bottom,
                r##"stroke="#b5b5b5" stroke-width="1" stroke-dasharray="3 3""##,
            );
        }
    }
    for v in &ticks.values {
        if *v != 0.0 {
            line(
                &mut body,
                sx(*v),
                plot_top,
                sx(*v),
                plot_bottom,
                &format!(r#"stroke="{GRID}" stroke-width="0.8""#),
            );
        }
    }
    line(
        &mut body,
        sx(0.0),
        plot_top,
        sx(0.0),
        plot_bottom,
        r##"stroke="#333333" stroke-width="1.2""##,
    );

    // Group headers and rows.
    for (gi, rows) in laid.iter().enumerate() {
        if !group_lines[gi].is_empty() {
            text_lines(
                &mut body,
                margin,
                group_tops[gi] + 13.0,
                &group_lines[gi],
                16.0,
                r#"font-weight="700""#,
            );
        }
        if gi > 0 {
            line(
                &mut body,
                margin,
                group_tops[gi] - 4.0,
                width - margin,
                group_tops[gi] - 4.0,
                r##"stroke="#d0d0d0" stroke-width="0.8""##,
            );
        }
        for l in rows {
            let cy = l.top + l.height / 2.0;
            let first = cy + 4.0 - (l.label.len() - 1) as f64 * 7.0;
            text_lines(&mut body, margin + indent, first, &l.label, 14.0, "");
            let numeric_attrs = if finite(l.row.estimate).is_some() {
                format!(r#"font-size="{NUM_SIZE}""#)
            } else {
                format!(r#"font-size="{NUM_SIZE}" font-style="italic" fill="{MUTED}""#)
            };
            text(&mut body, numeric_x, cy + 4.0, &l.numeric, &numeric_attrs);
            if !l.annotation.is_empty() {
                let first = cy + 4.0 - (l.annotation.len() - 1) as f64 * 7.0;
                text_lines(
                    &mut body,
                    annotation_x,
                    first,
                    &l.annotation,
                    14.0,
                    &format!(r#"font-size="11" font-style="italic" fill="{MUTED}""#),
                );
            }
            let colour = l.row.verdict.colour();
            if let Some(link) = &l.row.link {
                // The whole row of the plot is the link's target, not just the small marker.
                let _ = write!(
                    body,
                    r#"<a href="{}"><title>{}</title>"#,
                    esc(link),
                    esc(&format!(
                        "Read the transcripts: {} / {}",
                        l.row.group, l.row.label
                    ))
                );
                rect(
                    &mut body,
                    plot_left,
                    l.top,
                    plot_right - plot_left,
                    l.height,
                    r#"fill="transparent""#,
                );
            }
            if let Some((a, b)) = finite_ci(l.row.ci) {
                let stroke = format!(r#"stroke="{colour}" stroke-width="1.8""#);
                line(&mut body, sx(a), cy, sx(b), cy, &stroke);
                for end in [a, b] {
                    line(&mut body, sx(end), cy - 4.0, sx(end), cy + 4.0, &stroke);
                }
            }
            match finite(l.row.estimate) {
                Some(e) => marker(&mut body, l.row.verdict, sx(e), cy, 4.5),
                None => text(
                    &mut body,
                    sx(0.0) + 6.0,
                    cy + 4.0,
                    "n/a",
                    &format!(r#"font-size="11" font-style="italic" fill="{MUTED}""#),
                ),
            }
            if l.row.link.is_some() {
                body.push_str("</a>");
            }
        }
    }

    // x axis.
    line(
        &mut body,
        plot_left,
        plot_bottom,
        plot_right,
        plot_bottom,
        r##"stroke="#333333" stroke-width="1""##,
    );
    for v in &ticks.values {
        line(
            &mut body,
            sx(*v),
            plot_bottom,
            sx(*v),
            plot_bottom + 4.0,
            r##"stroke="#333333""##,
        );
        text(
            &mut body,
            sx(*v),
            plot_bottom + 16.0,
            &fmt_signed(*v, ticks.decimals),
            r#"font-size="11" text-anchor="middle""#,
        );
    }
    let mut bottom = plot_bottom + 20.0;
    if !spec.x_label.trim().is_empty() {
        text(
            &mut body,
            plot_left + plot_w / 2.0,
            bottom + 16.0,
            &spec.x_label,
            r#"text-anchor="middle""#,
        );
        bottom += 20.0;
    }

    // Legend: the verdicts that appear, in the enum's order, then the band.
    let mut items: Vec<(Option<Verdict>, String)> = Verdict::ALL
        .iter()
        .filter(|v| {
            spec.rows
                .iter()
                .any(|r| r.verdict == **v && finite(r.estimate).is_some())
        })
        .map(|v| (Some(*v), v.label().to_string()))
        .collect();
    if let Some(m) = margin_eq {
        items.push((None, format!("Equivalence margin \u{00B1}{}", fmt_short(m))));
    }
    let item_w = |label: &str| 22.0 + text_width(label, 11.0) + 18.0;
    let legend_w: f64 = items.iter().map(|(_, l)| item_w(l)).sum();
    // Aligned with the plot when it fits on one line there, otherwise from the left margin.
    let legend_left = if plot_left + legend_w <= width - margin {
        plot_left
    } else {
        margin
    };
    let mut lx = legend_left;
    let mut ly = bottom + 18.0;
    for (verdict, label) in &items {
        let item_w = item_w(label);
        if lx + item_w > width - margin && lx > legend_left {
            lx = legend_left;
            ly += 20.0;
        }
        match verdict {
            Some(v) => marker(&mut body, *v, lx + 6.0, ly - 4.0, 4.5),
            None => rect(
                &mut body,
                lx,
                ly - 10.0,
                14.0,
                12.0,
                r##"fill="#ececec" stroke="#b5b5b5" stroke-dasharray="3 3""##,
            ),
        }
        text(&mut body, lx + 20.0, ly, label, r#"font-size="11""#);
        lx += item_w;
    }
    let height = if items.is_empty() { bottom } else { ly + 6.0 } + margin;

    let mut hash = IdHash::new("dotwhisker");
    hash.text(&spec.title);
    for row in &spec.rows {
        hash.text(&row.group);
        hash.text(&row.label);
        hash.number(row.estimate);
    }
    let id = hash.prefix("dotwhisker");
    let desc = dot_whisker_desc(spec);
    Document {
        width,
        height,
        title: spec.title.clone(),
        desc,
        id,
        defs: String::new(),
        body,
    }
    .render()
}

fn dot_whisker_desc(spec: &DotWhisker) -> String {
    let mut desc = format!(
        "Dot-and-whisker plot of {} effects with confidence intervals; vertical line at zero.",
        spec.rows.len()
    );
    if let Some(m) = finite(spec.equivalence_margin) {
        let _ = write!(
            desc,
            " Shaded band: equivalence margin \u{00B1}{}.",
            fmt_short(m.abs())
        );
    }
    for row in &spec.rows {
        let value = match (finite(row.estimate), finite_ci(row.ci)) {
            (Some(e), Some((a, b))) => format!(
                "{} [{}, {}]",
                fmt_signed(e, 2),
                fmt_value(a, 2),
                fmt_value(b, 2)
            ),
            (Some(e), None) => fmt_signed(e, 2),
            (None, _) => "n/a".to_string(),
        };
        let _ = write!(
            desc,
            " {}{}{}: {value}, {}",
            row.group,
            if row.group.is_empty() { "" } else { ", " },
            row.label,
            row.verdict.label().to_lowercase()
        );
        if !row.annotation.trim().is_empty() {
            let _ = write!(desc, " ({})", row.annotation);
        }
        desc.push('.');
    }
    desc
}

// ---------------------------------------------------------------------------------------------
// Specification curve
// ---------------------------------------------------------------------------------------------

const KEEPS: &str = "#0072B2";
const CHANGES: &str = "#D55E00";

/// A specification curve: estimates with intervals sorted by estimate (top), and which analysis
/// choices each specification made (bottom).
pub fn spec_curve(spec: &SpecCurve) -> String {
    let specs = &spec.specifications;
    if specs.is_empty() {
        return empty_figure("speccurve", &spec.title, "No specifications to show.");
    }
    let n = specs.len();
    // Sorted by estimate (ties: input order); undefined estimates go to the right.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(
        |&a, &b| match (finite(specs[a].estimate), finite(specs[b].estimate)) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.cmp(&b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        },
    );
    let defined = order
        .iter()
        .filter(|&&i| finite(specs[i].estimate).is_some())
        .count();
    let keeps = specs.iter().filter(|s| s.keeps_conclusion).count();

    // Indicator rows: dimensions and options in order of first appearance.
    let mut dims: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in specs {
        for (d, o) in &s.choices {
            match dims.iter_mut().find(|(name, _)| *name == d.as_str()) {
                Some((_, options)) => {
                    if !options.contains(&o.as_str()) {
                        options.push(o.as_str());
                    }
                }
                None => dims.push((d.as_str(), vec![o.as_str()])),
            }
        }
    }

    // y domain.
    let reference = finite(spec.reference);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in specs {
        for v in finite(s.estimate)
            .into_iter()
            .chain(finite_ci(s.ci).into_iter().flat_map(|(a, b)| [a, b]))
            .chain(reference)
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let ticks = nice_ticks(lo, hi, 6);

    // Horizontal layout.
    const ROW_LABEL_MAX: f64 = 230.0;
    const IND_SIZE: f64 = 11.0;
    let margin = 16.0;
    let conclusion_label = "Keeps headline conclusion";
    let option_label = |d: &str, o: &str| -> String {
        if o.trim().is_empty() {
            d.to_string()
        } else {
            o.to_string()
        }
    };
    let indicator_w = dims
        .iter()
        .flat_map(|(d, opts)| {
            std::iter::once(bold_width(d, IND_SIZE)).chain(
                opts.iter()
                    .map(move |o| text_width(&option_label(d, o), IND_SIZE) + 10.0),
            )
        })
        .chain(std::iter::once(bold_width(conclusion_label, IND_SIZE)))
        .fold(0.0, f64::max)
        .min(ROW_LABEL_MAX + 10.0);
    let tick_w = ticks
        .values
        .iter()
        .map(|v| text_width(&fmt_value(*v, ticks.decimals), 11.0))
        .fold(0.0, f64::max);
    let y_label_w = if spec.y_label.trim().is_empty() {
        0.0
    } else {
        20.0
    };
    let left_w = indicator_w.max(tick_w + 8.0 + y_label_w);
    let plot_left = margin + left_w + 12.0;
    let width = 900.0f64.max(plot_left + 200.0 + margin);
    let plot_right = width - margin;
    let plot_w = plot_right - plot_left;
    let pitch = plot_w / n as f64;
    let col_x = |rank: usize| plot_left + (rank as f64 + 0.5) * pitch;

    // Marker sizes shrink with density so that 200 specifications stay distinct.
    let point_r = (pitch * 0.38).clamp(1.3, 3.5);
    let ci_w = (pitch * 0.35).clamp(0.6, 1.6);

    // Vertical layout.
    let mut body = String::new();
    let mut y = title_block(&mut body, &spec.title, margin, 12.0, width - 2.0 * margin);
    // Legend line.
    y += 4.0;
    let legend = [
        (KEEPS, format!("Keeps headline conclusion ({keeps} of {n})")),
        (CHANGES, format!("Changes it ({} of {n})", n - keeps)),
    ];
    let mut lx = plot_left;
    for (colour, label) in &legend {
        let _ = writeln!(
            body,
            r#"<circle cx="{}" cy="{}" r="4" fill="{colour}"/>"#,
            num(lx + 4.0),
            num(y + 8.0)
        );
        text(&mut body, lx + 13.0, y + 12.0, label, r#"font-size="11""#);
        lx += 13.0 + text_width(label, 11.0) + 22.0;
    }
    y += 22.0;
    let headline_rank = spec
        .headline
        .filter(|&h| h < n)
        .and_then(|h| order.iter().position(|&i| i == h));
    if headline_rank.is_some() {
        y += 16.0;
    }
    let top = y;
    let top_h = 230.0;
    let bottom_y = top + top_h;
    let sy = |v: f64| bottom_y - (v - ticks.min) / (ticks.max - ticks.min) * top_h;

    // Top panel: grid, reference, undefined region, intervals, points.
    for v in &ticks.values {
        line(
            &mut body,
            plot_left,
            sy(*v),
            plot_right,
            sy(*v),
            &format!(r#"stroke="{GRID}" stroke-width="0.8""#),
        );
        line(
            &mut body,
            plot_left - 4.0,
            sy(*v),
            plot_left,
            sy(*v),
            r##"stroke="#333333""##,
        );
        text(
            &mut body,
            plot_left - 7.0,
            sy(*v) + 4.0,
            &fmt_value(*v, ticks.decimals),
            r#"font-size="11" text-anchor="end""#,
        );
    }
    line(
        &mut body,
        plot_left,
        top,
        plot_left,
        bottom_y,
        r##"stroke="#333333""##,
    );
    if let Some(r) = reference {
        line(
            &mut body,
            plot_left,
            sy(r),
            plot_right,
            sy(r),
            r##"stroke="#333333" stroke-width="1" stroke-dasharray="4 3""##,
        );
    }
    if y_label_w > 0.0 {
        let cx = plot_left - tick_w - 20.0;
        let cy = top + top_h / 2.0;
        let attrs = format!(
            r#"text-anchor="middle" transform="rotate(-90 {} {})""#,
            num(cx),
            num(cy)
        );
        text(&mut body, cx, cy, &spec.y_label, &attrs);
    }
    let mut hash = IdHash::new("speccurve");
    hash.text(&spec.title);
    for s in specs {
        hash.number(s.estimate);
        for (d, o) in &s.choices {
            hash.text(d);
            hash.text(o);
        }
    }
    let id = hash.prefix("speccurve");
    let mut defs = String::new();
    if defined < n {
        let x0 = plot_left + defined as f64 * pitch;
        let _ = writeln!(
            defs,
            r##"<pattern id="{id}hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d6d6d6" stroke-width="2"/></pattern>"##
        );
        rect(
            &mut body,
            x0,
            top,
            plot_right - x0,
            top_h,
            &format!(r#"fill="url(#{id}hatch)""#),
        );
        let label = format!("n/a ({})", n - defined);
        if text_width(&label, 11.0) + 8.0 <= plot_right - x0 {
            text(
                &mut body,
                (x0 + plot_right) / 2.0,
                top + top_h / 2.0,
                &label,
                &format!(
                    r#"font-size="11" font-style="italic" text-anchor="middle" fill="{MUTED}""#
                ),
            );
        }
    }
    if let Some(rank) = headline_rank {
        highlight(&mut body, col_x(rank), pitch, top, bottom_y);
    }
    for (rank, &i) in order.iter().enumerate() {
        let s = &specs[i];
        let colour = if s.keeps_conclusion { KEEPS } else { CHANGES };
        if let Some((a, b)) = finite_ci(s.ci) {
            line(
                &mut body,
                col_x(rank),
                sy(a),
                col_x(rank),
                sy(b),
                &format!(
                    r#"stroke="{colour}" stroke-width="{}" stroke-opacity="0.45""#,
                    num_fine(ci_w)
                ),
            );
        }
    }
    for (rank, &i) in order.iter().enumerate() {
        let s = &specs[i];
        let colour = if s.keeps_conclusion { KEEPS } else { CHANGES };
        if let Some(e) = finite(s.estimate) {
            let _ = writeln!(
                body,
                r#"<circle cx="{}" cy="{}" r="{}" fill="{colour}"/>"#,
                num(col_x(rank)),
                num(sy(e)),
                num_fine(point_r)
            );
        }
    }
    if let Some(rank) = headline_rank {
        let x = col_x(rank);
        let ty = top - 3.0;
        let _ = writeln!(
            body,
            r#"<polygon points="{},{} {},{} {},{}" fill="{INK}"/>"#,
            num(x - 5.0),
            num(ty - 8.0),
            num(x + 5.0),
            num(ty - 8.0),
            num(x),
            num(ty)
        );
        let (anchor, tx) = if x > plot_left + plot_w / 2.0 {
            ("end", x - 8.0)
        } else {
            ("start", x + 8.0)
        };
        text(
            &mut body,
            tx,
            ty - 1.0,
            "Headline analysis",
            &format!(r#"font-size="11" font-weight="600" text-anchor="{anchor}""#),
        );
    }

    // Bottom panel: indicator matrix. Shading goes to `under`, marks and labels to `over`, so
    // that the headline's highlight can sit between them.
    let mut under = String::new();
    let mut over = String::new();
    let panel_top = bottom_y + 22.0;
    let mut y = panel_top;
    let row_h = 14.0;
    let header_h = 16.0;
    let mark_w = (pitch * 0.6).clamp(1.0, 6.0);
    let mark = |body: &mut String, rank: usize, cy: f64, colour: &str| {
        if pitch >= 9.0 {
            let _ = writeln!(
                body,
                r#"<circle cx="{}" cy="{}" r="3" fill="{colour}"/>"#,
                num(col_x(rank)),
                num(cy)
            );
        } else {
            rect(
                body,
                col_x(rank) - mark_w / 2.0,
                cy - 4.5,
                mark_w,
                9.0,
                &format!(r#"fill="{colour}""#),
            );
        }
    };
    let guide = |body: &mut String, cy: f64| {
        line(
            body,
            plot_left,
            cy,
            plot_right,
            cy,
            r##"stroke="#dddddd" stroke-width="0.6""##,
        );
    };
    let label_attrs = format!(r#"font-size="{IND_SIZE}""#);
    let bold_attrs = format!(r#"font-size="{IND_SIZE}" font-weight="700""#);
    // First row: the conclusion itself, so that it is readable without colour.
    let shown = truncate_to_width(conclusion_label, ROW_LABEL_MAX, IND_SIZE * 1.08);
    text(&mut over, margin, y + 11.0, &shown, &bold_attrs);
    guide(&mut over, y + 7.0);
    for (rank, &i) in order.iter().enumerate() {
        if specs[i].keeps_conclusion {
            mark(&mut over, rank, y + 7.0, KEEPS);
        }
    }
    y += row_h + 8.0;
    let uses =
        |i: usize, d: &str, o: &str| specs[i].choices.iter().any(|(cd, co)| cd == d && co == o);
    for (di, (d, options)) in dims.iter().enumerate() {
        // A yes/no choice (one option, unnamed) takes a single row under its own name.
        let single = options.len() == 1 && options[0].trim().is_empty();
        let block_h = if single {
            row_h
        } else {
            header_h + row_h * options.len() as f64
        };
        if di % 2 == 0 {
            rect(
                &mut under,
                margin,
                y - 3.0,
                plot_right - margin,
                block_h + 6.0,
                r##"fill="#f3f3f3""##,
            );
        }
        let shown = truncate_to_width(d, ROW_LABEL_MAX, IND_SIZE * 1.08);
        if single {
            text_with_tooltip(&mut over, margin, y + 11.0, &shown, d, &bold_attrs);
            guide(&mut over, y + 7.0);
            for (rank, &i) in order.iter().enumerate() {
                if uses(i, d, options[0]) {
                    let colour = if specs[i].keeps_conclusion {
                        KEEPS
                    } else {
                        CHANGES
                    };
                    mark(&mut over, rank, y + 7.0, colour);
                }
            }
            y += row_h + 8.0;
            continue;
        }
        text_with_tooltip(&mut over, margin, y + 12.0, &shown, d, &bold_attrs);
        y += header_h;
        for o in options {
            let full = option_label(d, o);
            let shown = truncate_to_width(&full, ROW_LABEL_MAX - 10.0, IND_SIZE);
            text_with_tooltip(
                &mut over,
                margin + 10.0,
                y + 11.0,
                &shown,
                &full,
                &label_attrs,
            );
            guide(&mut over, y + 7.0);
            for (rank, &i) in order.iter().enumerate() {
                if uses(i, d, o) {
                    let colour = if specs[i].keeps_conclusion {
                        KEEPS
                    } else {
                        CHANGES
                    };
                    mark(&mut over, rank, y + 7.0, colour);
                }
            }
            y += row_h;
        }
        y += 8.0;
    }
    body.push_str(&under);
    if let Some(rank) = headline_rank {
        highlight(&mut body, col_x(rank), pitch, panel_top - 3.0, y - 5.0);
    }
    body.push_str(&over);
    let caption = format!("Specifications, ranked by estimate (n = {n})");
    text(
        &mut body,
        plot_left + plot_w / 2.0,
        y + 14.0,
        &caption,
        r#"text-anchor="middle""#,
    );
    let height = y + 20.0 + margin;

    let desc = spec_curve_desc(spec, keeps, defined, &ticks, &order);
    Document {
        width,
        height,
        title: spec.title.clone(),
        desc,
        id,
        defs,
        body,
    }
    .render()
}

/// The headline specification's column, shaded behind its marks in both panels.
fn highlight(out: &mut String, x: f64, pitch: f64, y0: f64, y1: f64) {
    let w = pitch.clamp(5.0, 12.0);
    rect(out, x - w / 2.0, y0, w, y1 - y0, r##"fill="#fcebb0""##);
}

/// Stroke widths and radii below one pixel need two decimals.
fn num_fine(x: f64) -> String {
    if !x.is_finite() {
        return "1".to_string();
    }
    let s = format!("{:.2}", x.clamp(0.0, 1e6));
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn spec_curve_desc(
    spec: &SpecCurve,
    keeps: usize,
    defined: usize,
    ticks: &Ticks,
    order: &[usize],
) -> String {
    let n = spec.specifications.len();
    let mut desc = format!(
        "Specification curve of {n} analyses; {keeps} keep the headline conclusion and {} change it.",
        n - keeps
    );
    let estimates: Vec<f64> = order
        .iter()
        .filter_map(|&i| finite(spec.specifications[i].estimate))
        .collect();
    if let (Some(first), Some(last)) = (estimates.first(), estimates.last()) {
        let _ = write!(
            desc,
            " Estimates range from {} to {}.",
            fmt_value(*first, ticks.decimals + 1),
            fmt_value(*last, ticks.decimals + 1)
        );
    }
    if defined < n {
        let _ = write!(desc, " {} analyses have no estimate (n/a).", n - defined);
    }
    desc
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `svg` as XML and checks the document-level promises every figure makes.
    fn check_document(svg: &str) -> roxmltree::Document<'_> {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.attribute("role"), Some("img"));
        for attr in [
            "width",
            "height",
            "viewBox",
            "aria-labelledby",
            "font-family",
        ] {
            assert!(root.attribute(attr).is_some(), "missing {attr}");
        }
        // aria-labelledby and describedby point at the <title> and <desc> children.
        let title = root.first_element_child().expect("a first child");
        assert_eq!(title.tag_name().name(), "title");
        assert_eq!(root.attribute("aria-labelledby"), title.attribute("id"));
        let desc = title.next_sibling_element().expect("a desc");
        assert_eq!(desc.tag_name().name(), "desc");
        assert_eq!(root.attribute("aria-describedby"), desc.attribute("id"));
        assert!(!desc.text().unwrap_or("").is_empty());
        for bad in [
            "NaN",
            "inf",
            "<script",
            "xlink:href",
            "@import",
            "<image",
            "<foreignObject",
        ] {
            assert!(!svg.contains(bad), "output contains {bad:?}");
        }
        // The only URL is the namespace; links are relative, to the explorer.
        assert_eq!(svg.matches("http").count(), 1);
        for link in svg.split("href=\"").skip(1) {
            let link = &link[..link.find('"').unwrap()];
            assert!(
                link.starts_with("../explorer.html#") || link.starts_with("x.html#"),
                "{link}"
            );
            assert!(!link.contains(':') && !link.contains('<'), "{link}");
        }
        // Every url(#...) reference resolves inside the document.
        for part in svg.split("url(#").skip(1) {
            let id = &part[..part.find(')').unwrap()];
            assert!(
                doc.descendants().any(|n| n.attribute("id") == Some(id)),
                "dangling reference {id}"
            );
        }
        // Sizes are positive numbers.
        for attr in ["width", "height"] {
            let v: f64 = root.attribute(attr).unwrap().parse().unwrap();
            assert!(v > 0.0 && v < 100_000.0, "{attr} = {v}");
        }
        doc
    }

    /// Snapshot files named without the crate's module path, so that they survive the move into
    /// the main crate unchanged.
    fn snapshot(name: &str, svg: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name, svg));
    }

    fn all_text(doc: &roxmltree::Document) -> String {
        doc.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("|")
    }

    fn typical_heatmap() -> Heatmap {
        let cell = |m: f64, lo: f64, hi: f64| format!("{m:.2}\n[{lo:.2}, {hi:.2}]");
        Heatmap {
            title: "Refusal appropriateness (0\u{2013}2)".into(),
            row_axis: "Model".into(),
            col_axis: "Scaffold".into(),
            legend_label: "Mean score".into(),
            row_labels: vec![
                "claude-3-5-sonnet".into(),
                "gpt-4o-2024-08-06".into(),
                "llama-3.1-70b-instruct".into(),
            ],
            col_labels: vec![
                "baseline".into(),
                "verification-steerability".into(),
                "tool-use".into(),
                "long-context".into(),
            ],
            values: vec![
                vec![Some(1.93), Some(1.71), Some(1.88), Some(1.42)],
                vec![Some(1.65), Some(0.98), None, Some(1.20)],
                vec![Some(0.41), Some(0.12), Some(0.77), Some(1.05)],
            ],
            scale: (0.0, 2.0),
            cell_text: vec![
                vec![
                    cell(1.93, 1.80, 2.00),
                    cell(1.71, 1.52, 1.86),
                    cell(1.88, 1.74, 1.97),
                    cell(1.42, 1.20, 1.63),
                ],
                vec![
                    cell(1.65, 1.44, 1.82),
                    cell(0.98, 0.71, 1.25),
                    String::new(),
                    cell(1.20, 0.95, 1.44),
                ],
                vec![
                    cell(0.41, 0.22, 0.63),
                    cell(0.12, 0.03, 0.25),
                    cell(0.77, 0.52, 1.01),
                    cell(1.05, 0.80, 1.29),
                ],
            ],
        }
    }

    fn effect(
        group: &str,
        label: &str,
        estimate: Option<f64>,
        ci: Option<(f64, f64)>,
        verdict: Verdict,
        annotation: &str,
    ) -> EffectRow {
        EffectRow {
            group: group.into(),
            label: label.into(),
            estimate,
            ci,
            verdict,
            annotation: annotation.into(),
            link: None,
        }
    }

    fn typical_dot_whisker() -> DotWhisker {
        use Verdict::*;
        DotWhisker {
            title: "Effect of each scaffold versus baseline".into(),
            x_label: "Difference in mean score (scaffold \u{2212} baseline)".into(),
            equivalence_margin: Some(0.2),
            rows: vec![
                effect(
                    "claude-3-5-sonnet",
                    "verification-steerability",
                    Some(0.35),
                    Some((0.12, 0.58)),
                    Improved,
                    "",
                ),
                effect(
                    "claude-3-5-sonnet",
                    "tool-use",
                    Some(0.07),
                    Some((-0.05, 0.15)),
                    Equivalent,
                    "within \u{00B1}0.2",
                ),
                effect(
                    "claude-3-5-sonnet",
                    "long-context",
                    Some(-0.41),
                    Some((-0.70, -0.12)),
                    Worse,
                    "",
                ),
                effect(
                    "gpt-4o-2024-08-06",
                    "verification-steerability",
                    Some(0.52),
                    Some((0.30, 0.52)),
                    Ceiling,
                    "raised to ceiling",
                ),
                effect(
                    "gpt-4o-2024-08-06",
                    "tool-use",
                    None,
                    None,
                    Inconclusive,
                    "all runs failed",
                ),
                effect(
                    "gpt-4o-2024-08-06",
                    "long-context",
                    Some(0.02),
                    Some((-0.31, 0.36)),
                    Inconclusive,
                    "",
                ),
                effect(
                    "llama-3.1-70b-instruct",
                    "verification-steerability",
                    Some(0.0),
                    Some((-0.12, 0.12)),
                    NoChange,
                    "",
                ),
                effect(
                    "llama-3.1-70b-instruct",
                    "tool-use",
                    Some(0.18),
                    Some((-0.02, 0.38)),
                    Inconclusive,
                    "n = 12",
                ),
            ],
        }
    }

    fn typical_spec_curve(n: usize) -> SpecCurve {
        // A deterministic, varied set of specifications cycling through a factorial design.
        let aggregation = ["mean", "median"];
        let rater = ["r1", "r2", "pooled"];
        let threshold = [">= 2", ">= 1"];
        let failed = ["excluded", "lowest score"];
        let specs: Vec<Specification> = (0..n)
            .map(|k| {
                let (a, r, t, f) = (k % 2, (k / 2) % 3, (k / 6) % 2, (k / 12) % 2);
                let exclude = (k / 24) % 2 == 1;
                let wobble = ((k * 37) % 23) as f64 / 23.0 - 0.5;
                let est = 0.25 + 0.1 * a as f64 - 0.15 * f as f64 + 0.05 * r as f64 + 0.2 * wobble;
                let mut choices = vec![
                    ("aggregation".to_string(), aggregation[a].to_string()),
                    ("rater".to_string(), rater[r].to_string()),
                    ("threshold".to_string(), threshold[t].to_string()),
                    ("failed cells".to_string(), failed[f].to_string()),
                ];
                if exclude {
                    choices.push(("exclude low-agreement items".to_string(), String::new()));
                }
                Specification {
                    estimate: Some(est),
                    ci: Some((est - 0.18, est + 0.18)),
                    keeps_conclusion: est - 0.18 > 0.0,
                    choices,
                }
            })
            .collect();
        SpecCurve {
            title: "Robustness of the verification-steerability effect".into(),
            y_label: "Effect on mean score".into(),
            specifications: specs,
            headline: Some(0),
            reference: Some(0.0),
        }
    }

    // -- nice ticks -----------------------------------------------------------------------------

    fn check_ticks(lo: f64, hi: f64, target: usize, expected: &[f64], step: f64) {
        let t = nice_ticks(lo, hi, target);
        assert_eq!(t.values, expected, "ticks for [{lo}, {hi}] x{target}");
        assert!((t.step - step).abs() < 1e-12, "step {} != {step}", t.step);
        assert!(t.min <= lo.min(hi) && t.max >= hi.max(lo));
    }

    #[test]
    fn nice_ticks_match_heckbert_worked_examples() {
        // Heckbert (1990), Graphics Gems p. 61: "if the data range is 105 to 543, we'd probably
        // want to plot the range from 100 to 600 and put tick marks every 100 units. Or if the data
        // range is 2.04 to 2.16, we'd probably plot a range from 2.00 to 2.20 with a tick spacing
        // of 0.05" (with label.c's NTICK = 5).
        check_ticks(
            105.0,
            543.0,
            5,
            &[100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
            100.0,
        );
        check_ticks(2.04, 2.16, 5, &[2.0, 2.05, 2.1, 2.15, 2.2], 0.05);
        // The C port in qianfan-Zhao/nice_number's README: -0.085..0.173 with 10 ticks.
        check_ticks(
            -0.085,
            0.173,
            10,
            &[-0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2],
            0.05,
        );
    }

    #[test]
    fn nice_ticks_on_rubric_ranges_and_edges() {
        check_ticks(0.0, 2.0, 5, &[0.0, 0.5, 1.0, 1.5, 2.0], 0.5);
        check_ticks(1.0, 5.0, 5, &[1.0, 2.0, 3.0, 4.0, 5.0], 1.0);
        check_ticks(0.0, 1.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 0.2);
        // Binary noise at the ends does not add ticks: 0.3 / 0.1 is 2.9999999999999996.
        check_ticks(0.1, 0.3, 3, &[0.1, 0.2, 0.3], 0.1);
        // Negative ranges and reversed bounds.
        check_ticks(-5.0, -1.0, 5, &[-5.0, -4.0, -3.0, -2.0, -1.0], 1.0);
        check_ticks(2.0, 0.0, 5, &[0.0, 0.5, 1.0, 1.5, 2.0], 0.5);
        // Degenerate ranges widen.
        check_ticks(0.0, 0.0, 5, &[-1.0, -0.5, 0.0, 0.5, 1.0], 0.5);
        let single = nice_ticks(3.0, 3.0, 5);
        assert!(single.min < 3.0 && single.max > 3.0);
        for (lo, hi) in [
            (f64::NAN, 1.0),
            (f64::NEG_INFINITY, f64::INFINITY),
            (f64::NAN, f64::NAN),
            (-1e308, 1e308),
            (1e-300, 2e-300),
        ] {
            let t = nice_ticks(lo, hi, 5);
            assert!(t.values.len() >= 2, "{lo} {hi}: {t:?}");
            assert!(t.values.iter().all(|v| v.is_finite()), "{lo} {hi}: {t:?}");
        }
    }

    #[test]
    fn nice_ticks_are_multiples_of_the_step_and_print_distinctly() {
        for (lo, hi) in [(-0.73, 0.41), (0.003, 0.0071), (12.0, 987.0), (-3.3, 3.3)] {
            let t = nice_ticks(lo, hi, 6);
            let printed: Vec<String> = t.values.iter().map(|v| fmt_value(*v, t.decimals)).collect();
            for w in printed.windows(2) {
                assert_ne!(w[0], w[1], "{printed:?}");
            }
            for v in &t.values {
                let k = v / t.step;
                assert!(
                    (k - k.round()).abs() < 1e-6,
                    "{v} not a multiple of {}",
                    t.step
                );
            }
            assert!(t.values.len() >= 3 && t.values.len() <= 13, "{t:?}");
        }
    }

    // -- text -----------------------------------------------------------------------------------

    #[test]
    fn escaping_covers_markup_and_forbidden_characters() {
        let check = |input: &str, expected: &str| assert_eq!(esc(input), expected);
        check("a & b", "a &amp; b");
        check(
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        );
        check(
            r#"say "hi" & 'bye'"#,
            "say &quot;hi&quot; &amp; &#39;bye&#39;",
        );
        check("bell\u{7}nul\u{0}", "bell\u{FFFD}nul\u{FFFD}");
        check("tab\tnew\nline", "tab new line");
        check("\u{FFFE}", "\u{FFFD}");
        check("ümlaut 模型 🙂", "ümlaut 模型 🙂");
    }

    #[test]
    fn numbers_never_print_nan_inf_or_negative_zero() {
        let check = |x: f64, expected: &str| assert_eq!(num(x), expected, "num({x})");
        check(12.0, "12");
        check(12.34, "12.3");
        check(-0.04, "0");
        check(-0.0, "0");
        check(f64::NAN, "0");
        check(f64::INFINITY, "0");
        assert_eq!(fmt_value(-0.001, 2), "0.00");
        assert_eq!(fmt_value(-0.25, 2), "\u{2212}0.25");
        assert_eq!(fmt_value(f64::NAN, 2), "n/a");
        assert_eq!(fmt_signed(0.35, 2), "+0.35");
        assert_eq!(fmt_signed(0.0, 2), "0.00");
        assert_eq!(fmt_signed(-0.0001, 2), "0.00");
        assert_eq!(fmt_short(2.0), "2");
        assert_eq!(fmt_short(0.25), "0.25");
        assert_eq!(fmt_short(1.0 / 3.0), "0.333");
    }

    #[test]
    fn wrapping_prefers_word_breaks_and_keeps_every_character() {
        let (lines, split) = wrap("verification-steerability", 90.0, 12.0);
        assert_eq!(lines, ["verification-", "steerability"]);
        assert!(!split);
        let (lines, split) = wrap("short", 90.0, 12.0);
        assert_eq!(lines, ["short"]);
        assert!(!split);
        let long = "a".repeat(60);
        let (lines, split) = wrap(&long, 90.0, 12.0);
        assert!(split && lines.len() > 1);
        assert_eq!(lines.concat(), long);
        for l in &lines {
            assert!(text_width(l, 12.0) <= 90.0);
        }
        let (lines, _) = wrap("two\nlines", 500.0, 12.0);
        assert_eq!(lines, ["two", "lines"]);
        assert_eq!(wrap("", 90.0, 12.0).0, [""]);
    }

    // -- colour ---------------------------------------------------------------------------------

    #[test]
    fn viridis_ends_and_text_contrast() {
        assert_eq!(viridis(0.0).hex(), "#440154");
        assert_eq!(viridis(0.5).hex(), "#21908c");
        assert_eq!(viridis(1.0).hex(), "#fde725");
        assert_eq!(viridis(f64::NAN).hex(), "#440154");
        assert_eq!(viridis(7.0).hex(), "#fde725");
        // Luminance rises monotonically: the ramp reads as an order in greyscale too.
        let mut previous = -1.0;
        for i in 0..=200 {
            let rgb = viridis(i as f64 / 200.0);
            let l = rgb.luminance();
            assert!(l > previous, "luminance not increasing at {i}");
            previous = l;
            // WCAG AA for normal text (4.5:1) in every cell.
            let text = if text_colour_on(rgb) == "#000000" {
                Rgb(0.0, 0.0, 0.0)
            } else {
                Rgb(255.0, 255.0, 255.0)
            };
            assert!(contrast(rgb, text) >= 4.5, "contrast at {i}");
        }
        assert_eq!(text_colour_on(viridis(0.0)), "#ffffff");
        assert_eq!(text_colour_on(viridis(1.0)), "#000000");
        // WCAG's reference pair: black on white is 21:1.
        assert!((contrast(Rgb(0.0, 0.0, 0.0), Rgb(255.0, 255.0, 255.0)) - 21.0).abs() < 1e-9);
    }

    // -- heatmap --------------------------------------------------------------------------------

    #[test]
    fn heatmap_typical_snapshot() {
        let svg = heatmap(&typical_heatmap());
        check_document(&svg);
        snapshot("heatmap_typical", &svg);
    }

    #[test]
    fn heatmap_cells_show_text_and_missing_values() {
        let svg = heatmap(&typical_heatmap());
        let doc = check_document(&svg);
        let text = all_text(&doc);
        assert!(text.contains("[1.80, 2.00]"));
        assert!(text.contains("n/a"));
        // 12 cells, each a rect with a tooltip; the missing one is hatched.
        let cells: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.children().any(|c| c.has_tag_name("title")))
            .collect();
        assert_eq!(cells.len(), 12);
        let hatched = cells
            .iter()
            .filter(|n| n.attribute("fill").unwrap().contains("hatch"))
            .count();
        assert_eq!(hatched, 1);
        // Scale ends in the legend.
        assert!(text.contains("|0|") && text.contains("|2|"), "{text}");
    }

    #[test]
    fn heatmap_colour_follows_the_scale_not_the_data() {
        let spec = Heatmap {
            row_labels: vec!["m".into()],
            col_labels: vec!["a".into(), "b".into()],
            values: vec![vec![Some(1.0), Some(5.0)]],
            scale: (1.0, 5.0),
            ..Default::default()
        };
        let svg = heatmap(&spec);
        check_document(&svg);
        assert!(svg.contains(r##"fill="#440154""##));
        assert!(svg.contains(r##"fill="#fde725""##));
        // A value outside the scale is clamped in colour but printed as is.
        let spec = Heatmap {
            values: vec![vec![Some(7.5), Some(-1.0)]],
            ..spec
        };
        let svg = heatmap(&spec);
        check_document(&svg);
        assert!(svg.contains(">7.50<") && svg.contains(">\u{2212}1.00<"));
    }

    #[test]
    fn heatmap_edge_inputs_stay_well_formed() {
        let base = typical_heatmap();
        let cases: Vec<(&str, Heatmap)> = vec![
            ("empty", Heatmap::default()),
            (
                "no columns",
                Heatmap {
                    col_labels: vec![],
                    ..base.clone()
                },
            ),
            (
                "all none",
                Heatmap {
                    values: vec![vec![None; 4]; 3],
                    ..base.clone()
                },
            ),
            (
                "ragged and short",
                Heatmap {
                    values: vec![vec![Some(1.0)], vec![]],
                    cell_text: vec![],
                    ..base.clone()
                },
            ),
            (
                "single value",
                Heatmap {
                    row_labels: vec!["only".into()],
                    col_labels: vec!["one".into()],
                    values: vec![vec![Some(1.5)]],
                    cell_text: vec![],
                    ..base.clone()
                },
            ),
            (
                "negative range",
                Heatmap {
                    scale: (-2.0, 2.0),
                    values: vec![vec![Some(-2.0), Some(-0.5), Some(0.0), Some(2.0)]; 3],
                    ..base.clone()
                },
            ),
            (
                "degenerate and non-finite",
                Heatmap {
                    scale: (f64::NAN, f64::INFINITY),
                    values: vec![
                        vec![Some(f64::NAN), Some(f64::INFINITY), Some(1.0), Some(1.0)];
                        3
                    ],
                    ..base.clone()
                },
            ),
            (
                "equal ends",
                Heatmap {
                    scale: (2.0, 2.0),
                    ..base.clone()
                },
            ),
            (
                "long labels",
                Heatmap {
                    col_labels: vec![
                        "a-very-long-scaffold-name-that-goes-on-and-on".into(),
                        "x".repeat(120),
                        "verification-steerability".into(),
                        "".into(),
                    ],
                    row_labels: vec![
                        "model with a name far longer than anyone would reasonably choose".into(),
                        "m".repeat(90),
                        "".into(),
                    ],
                    ..base.clone()
                },
            ),
        ];
        for (name, spec) in cases {
            let svg = heatmap(&spec);
            let doc = check_document(&svg);
            if name == "all none" {
                // Twelve cells and the legend's swatch.
                let shown = doc
                    .descendants()
                    .filter(|n| n.has_tag_name("text") && n.text() == Some("n/a"))
                    .count();
                assert_eq!(shown, 12 + 1, "{name}");
            }
        }
    }

    #[test]
    fn heatmap_long_column_labels_rotate_and_fit_the_canvas() {
        let spec = Heatmap {
            col_labels: vec!["VerificationSteerabilityWithRetriesAndReflection".into(); 4],
            ..typical_heatmap()
        };
        let svg = heatmap(&spec);
        let doc = check_document(&svg);
        let width: f64 = doc
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        let rotated: Vec<_> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("text")
                    && n.attribute("transform").is_some_and(|t| t.contains("-45"))
            })
            .collect();
        assert_eq!(rotated.len(), 4);
        for t in rotated {
            let x: f64 = t.attribute("x").unwrap().parse().unwrap();
            let shown = t
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect::<String>();
            let right = x + text_width(&shown, LABEL_SIZE) * std::f64::consts::FRAC_1_SQRT_2;
            assert!(
                right <= width,
                "label runs off the canvas: {right} > {width}"
            );
        }
        // The typical labels fit horizontally (wrapped), so nothing rotates there.
        assert!(!heatmap(&typical_heatmap()).contains("rotate(-45"));
    }

    #[test]
    fn user_text_is_escaped_everywhere() {
        let evil = r#"<script>alert("x")</script> & 'q'"#;
        let spec = Heatmap {
            title: evil.into(),
            row_axis: evil.into(),
            col_axis: evil.into(),
            legend_label: evil.into(),
            row_labels: vec![evil.into(), "ok".into()],
            col_labels: vec![evil.into(), evil.repeat(5)],
            values: vec![vec![Some(1.0), None], vec![Some(0.5), Some(2.0)]],
            scale: (0.0, 2.0),
            cell_text: vec![vec![evil.into(), evil.into()]],
        };
        let doc_text = heatmap(&spec);
        let doc = check_document(&doc_text);
        assert!(all_text(&doc).contains(evil));

        let dw = DotWhisker {
            title: evil.into(),
            x_label: evil.into(),
            rows: vec![effect(
                evil,
                evil,
                Some(0.1),
                Some((0.0, 0.2)),
                Verdict::Improved,
                evil,
            )],
            equivalence_margin: None,
        };
        let svg = dot_whisker(&dw);
        let doc = check_document(&svg);
        assert!(all_text(&doc).contains(evil));

        let sc = SpecCurve {
            title: evil.into(),
            y_label: evil.into(),
            specifications: vec![Specification {
                estimate: Some(0.1),
                ci: None,
                keeps_conclusion: true,
                choices: vec![(evil.into(), evil.into())],
            }],
            headline: None,
            reference: None,
        };
        let svg = spec_curve(&sc);
        let doc = check_document(&svg);
        assert!(all_text(&doc).contains(evil));
    }

    #[test]
    fn output_is_deterministic_and_ids_differ_between_figures() {
        assert_eq!(heatmap(&typical_heatmap()), heatmap(&typical_heatmap()));
        assert_eq!(
            dot_whisker(&typical_dot_whisker()),
            dot_whisker(&typical_dot_whisker())
        );
        assert_eq!(
            spec_curve(&typical_spec_curve(60)),
            spec_curve(&typical_spec_curve(60))
        );
        let id_of = |svg: &str| {
            let doc = roxmltree::Document::parse(svg).unwrap();
            doc.root_element()
                .attribute("aria-labelledby")
                .unwrap()
                .to_string()
        };
        let a = heatmap(&typical_heatmap());
        let b = heatmap(&Heatmap {
            title: "another dimension".into(),
            ..typical_heatmap()
        });
        assert_ne!(id_of(&a), id_of(&b));
    }

    // -- dot-whisker ----------------------------------------------------------------------------

    #[test]
    fn dot_whisker_typical_snapshot() {
        let svg = dot_whisker(&typical_dot_whisker());
        check_document(&svg);
        snapshot("dot_whisker_typical", &svg);
    }

    #[test]
    fn dot_whisker_draws_groups_markers_and_band() {
        let svg = dot_whisker(&typical_dot_whisker());
        let doc = check_document(&svg);
        let text = all_text(&doc);
        for needle in [
            "claude-3-5-sonnet",
            "gpt-4o-2024-08-06",
            "raised to ceiling",
            "+0.35 [0.12, 0.58]",
            "\u{2212}0.41 [\u{2212}0.70, \u{2212}0.12]",
            "Equivalence margin \u{00B1}0.2",
            "Raised to ceiling",
            "Worse",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        // The row with no estimate reads n/a in the plot and in the numbers column.
        assert!(text.matches("n/a").count() >= 2);
        // Group headers appear once each, in first-appearance order.
        let first = text.find("claude-3-5-sonnet").unwrap();
        let second = text.find("gpt-4o-2024-08-06").unwrap();
        assert!(first < second);
        // Every plotted verdict has a marker of its own shape: 7 estimates -> markers.
        let circles = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count();
        let polygons = doc
            .descendants()
            .filter(|n| n.has_tag_name("polygon"))
            .count();
        // Improved(1) + Inconclusive(2 plotted) + legend(2 circle kinds) = 5 circles;
        // Equivalent, Ceiling, Worse in plot and legend = 6 polygons.
        assert_eq!((circles, polygons), (5, 6));
    }

    #[test]
    fn dot_whisker_rows_link_where_asked() {
        let mut spec = typical_dot_whisker();
        spec.rows[0].link = Some("../explorer.html#m=a&s=\"x\"".into());
        let svg = dot_whisker(&spec);
        check_document(&svg);
        assert_eq!(svg.matches("<a href=").count(), 1);
        assert!(svg.contains(r#"<a href="../explorer.html#m=a&amp;s=&quot;x&quot;"><title>"#));
        assert!(!dot_whisker(&typical_dot_whisker()).contains("<a "));
    }

    #[test]
    fn dot_whisker_zero_line_sits_at_zero() {
        let svg = dot_whisker(&typical_dot_whisker());
        let doc = check_document(&svg);
        let zero_line = doc
            .descendants()
            .find(|n| n.has_tag_name("line") && n.attribute("stroke-width") == Some("1.2"))
            .unwrap();
        let zero_label = doc
            .descendants()
            .find(|n| n.has_tag_name("text") && n.text() == Some("0.0"))
            .unwrap();
        assert_eq!(zero_line.attribute("x1"), zero_label.attribute("x"));
    }

    #[test]
    fn dot_whisker_edge_inputs_stay_well_formed() {
        use Verdict::*;
        let cases: Vec<DotWhisker> = vec![
            DotWhisker::default(),
            DotWhisker {
                rows: vec![effect("", "only", None, None, Inconclusive, "")],
                ..Default::default()
            },
            DotWhisker {
                rows: vec![effect("g", "one", Some(0.3), None, Improved, "")],
                equivalence_margin: Some(f64::NAN),
                ..Default::default()
            },
            DotWhisker {
                rows: vec![
                    effect("g", "nan", Some(f64::NAN), Some((f64::NAN, 1.0)), Worse, ""),
                    effect(
                        "g",
                        "unbounded",
                        Some(f64::INFINITY),
                        Some((f64::NEG_INFINITY, f64::INFINITY)),
                        Worse,
                        "",
                    ),
                    effect(
                        "g",
                        "reversed ci",
                        Some(-3.0),
                        Some((-1.0, -5.0)),
                        Worse,
                        "",
                    ),
                ],
                equivalence_margin: Some(-0.5),
                ..Default::default()
            },
            DotWhisker {
                rows: vec![
                    effect(
                        "a",
                        "all negative",
                        Some(-120.0),
                        Some((-180.0, -60.0)),
                        Worse,
                        "",
                    ),
                    effect(
                        "b",
                        &"long ".repeat(40),
                        Some(-20.0),
                        None,
                        NoChange,
                        &"note ".repeat(60),
                    ),
                    effect("a", "back to a", Some(-1.0), Some((-2.0, 0.0)), Ceiling, ""),
                ],
                ..Default::default()
            },
        ];
        for spec in &cases {
            check_document(&dot_whisker(spec));
        }
    }

    // -- specification curve --------------------------------------------------------------------

    #[test]
    fn spec_curve_typical_snapshot() {
        let svg = spec_curve(&typical_spec_curve(24));
        check_document(&svg);
        snapshot("spec_curve_typical", &svg);
    }

    #[test]
    fn spec_curve_sorts_by_estimate_and_marks_choices() {
        let spec = SpecCurve {
            title: "t".into(),
            y_label: "y".into(),
            specifications: vec![
                Specification {
                    estimate: Some(0.5),
                    ci: Some((0.2, 0.8)),
                    keeps_conclusion: true,
                    choices: vec![("aggregation".into(), "mean".into())],
                },
                Specification {
                    estimate: None,
                    ci: None,
                    keeps_conclusion: false,
                    choices: vec![("aggregation".into(), "median".into())],
                },
                Specification {
                    estimate: Some(-0.1),
                    ci: Some((-0.4, 0.2)),
                    keeps_conclusion: false,
                    choices: vec![("aggregation".into(), "median".into())],
                },
            ],
            headline: Some(0),
            reference: Some(0.0),
        };
        let svg = spec_curve(&spec);
        let doc = check_document(&svg);
        let text = all_text(&doc);
        assert!(text.contains("Headline analysis") && text.contains("n/a (1)"));
        // Points left to right: -0.1 (changes), then 0.5 (keeps); the n/a one has no point.
        let points: Vec<(f64, &str)> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("circle")
                    && n.attribute("r") != Some("4")
                    && n.attribute("r") != Some("3")
            })
            .map(|n| {
                (
                    n.attribute("cx").unwrap().parse().unwrap(),
                    n.attribute("fill").unwrap(),
                )
            })
            .collect();
        assert_eq!(points.len(), 2);
        assert!(points[0].0 < points[1].0);
        assert_eq!(points[0].1, CHANGES);
        assert_eq!(points[1].1, KEEPS);
        // Indicator marks: 1 "keeps" row mark + one per specification's choice.
        let marks = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("r") == Some("3"))
            .count();
        assert_eq!(marks, 1 + 3);
    }

    #[test]
    fn spec_curve_scales_to_two_hundred_specifications() {
        let spec = typical_spec_curve(200);
        assert_eq!(spec.specifications.len(), 200);
        let svg = spec_curve(&spec);
        let doc = check_document(&svg);
        let width: f64 = doc
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        assert!(width <= 900.0);
        // Dense marks become thin bars that do not touch their neighbours.
        let bar_widths: Vec<f64> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("9"))
            .map(|n| n.attribute("width").unwrap().parse().unwrap())
            .collect();
        assert!(!bar_widths.is_empty());
        let pitch = (width - 16.0 - doc_plot_left(&doc)) / 200.0;
        assert!(
            bar_widths.iter().all(|w| *w < pitch),
            "{bar_widths:?} vs pitch {pitch}"
        );
    }

    fn doc_plot_left(doc: &roxmltree::Document) -> f64 {
        // The y axis is the first vertical line from the top panel.
        doc.descendants()
            .find(|n| {
                n.has_tag_name("line")
                    && n.attribute("x1") == n.attribute("x2")
                    && n.attribute("stroke") == Some("#333333")
            })
            .and_then(|n| n.attribute("x1"))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn spec_curve_edge_inputs_stay_well_formed() {
        let one = |estimate: Option<f64>, ci: Option<(f64, f64)>| Specification {
            estimate,
            ci,
            keeps_conclusion: false,
            choices: vec![],
        };
        let cases = vec![
            SpecCurve::default(),
            SpecCurve {
                specifications: vec![one(None, None)],
                headline: Some(5),
                ..Default::default()
            },
            SpecCurve {
                specifications: vec![one(Some(2.0), None)],
                headline: Some(0),
                ..Default::default()
            },
            SpecCurve {
                specifications: vec![
                    one(Some(f64::NAN), Some((f64::NAN, f64::INFINITY))),
                    one(Some(-4.0), Some((-9.0, -1.0))),
                    one(Some(f64::NEG_INFINITY), None),
                ],
                reference: Some(f64::NAN),
                ..Default::default()
            },
            SpecCurve {
                specifications: vec![one(None, None); 300],
                ..Default::default()
            },
        ];
        for spec in &cases {
            check_document(&spec_curve(spec));
        }
    }

    // -- arbitrary user data ----------------------------------------------------------------------

    mod arbitrary {
        use super::*;
        use proptest::prelude::*;

        fn label() -> impl Strategy<Value = String> {
            // Any Unicode (control characters included), and markup-heavy ASCII whose letters
            // cannot spell the words that `check_document` forbids ("inf", "href", "http").
            prop_oneof![".{0,40}", "[<>&\"'; a-e/=-]{0,30}"]
        }

        fn number() -> impl Strategy<Value = Option<f64>> {
            prop::option::of(prop_oneof![
                -10.0..10.0f64,
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                prop::num::f64::ANY,
            ])
        }

        fn interval() -> impl Strategy<Value = Option<(f64, f64)>> {
            prop::option::of(
                (number(), number()).prop_map(|(a, b)| (a.unwrap_or(f64::NAN), b.unwrap_or(0.0))),
            )
        }

        fn verdict() -> impl Strategy<Value = Verdict> {
            prop::sample::select(Verdict::ALL.to_vec())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn heatmap_is_well_formed_for_any_input(
                title in label(),
                rows in prop::collection::vec(label(), 0..5),
                cols in prop::collection::vec(label(), 0..6),
                values in prop::collection::vec(prop::collection::vec(number(), 0..7), 0..6),
                text in prop::collection::vec(prop::collection::vec(label(), 0..7), 0..6),
                scale in (number(), number()),
            ) {
                let spec = Heatmap {
                    title,
                    row_axis: "Model".into(),
                    col_axis: "Scaffold".into(),
                    legend_label: String::new(),
                    row_labels: rows,
                    col_labels: cols,
                    values,
                    scale: (scale.0.unwrap_or(f64::NAN), scale.1.unwrap_or(2.0)),
                    cell_text: text,
                };
                let svg = heatmap(&spec);
                check_document(&svg);
                prop_assert_eq!(svg, heatmap(&spec));
            }

            #[test]
            fn dot_whisker_is_well_formed_for_any_input(
                rows in prop::collection::vec(
                    (label(), label(), number(), interval(), verdict(), label()),
                    0..8,
                ),
                margin in number(),
            ) {
                let spec = DotWhisker {
                    title: "t".into(),
                    x_label: "x".into(),
                    rows: rows
                        .into_iter()
                        .map(|(group, label, estimate, ci, verdict, annotation)| EffectRow {
                            group, label, estimate, ci, verdict, annotation, link: Some("x.html#a&b".into()),
                        })
                        .collect(),
                    equivalence_margin: margin,
                };
                check_document(&dot_whisker(&spec));
            }

            #[test]
            fn spec_curve_is_well_formed_for_any_input(
                specs in prop::collection::vec(
                    (number(), interval(), any::<bool>(),
                     prop::collection::vec((label(), label()), 0..4)),
                    0..30,
                ),
                headline in prop::option::of(0usize..40),
                reference in number(),
            ) {
                let spec = SpecCurve {
                    title: "t".into(),
                    y_label: "y".into(),
                    specifications: specs
                        .into_iter()
                        .map(|(estimate, ci, keeps_conclusion, choices)| Specification {
                            estimate, ci, keeps_conclusion, choices,
                        })
                        .collect(),
                    headline,
                    reference,
                };
                check_document(&spec_curve(&spec));
            }
        }
    }
}
