//! report.html: the Markdown report as one self-contained, printable page with its figures
//! inline.
//!
//! The page has to open offline, years later, from an archive or an e-mail attachment, and it
//! carries text that came from study files. So it is built as: Markdown (the same text as
//! report.md) -> HTML with pulldown-cmark -> sanitised with ammonia -> figures inserted. No
//! scripts, no external resources, and a Content-Security-Policy that forbids both in case
//! something slipped through. The SVG figures are inserted after sanitising because ammonia does
//! not allow SVG; they come from `report::svg`, which escapes every piece of text it draws.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, TextMergeStream};

use super::explorer;
use super::format::{self, slug};
use super::markdown::{SAME, label_texts, markdown_for_html, unreliable_flag};
use super::svg;
use crate::analyze::results::{DimensionResults, Label, StudyResults};

/// The kinds of figure the report has per dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FigureKind {
    Heatmap,
    Effects,
    SpecCurve,
}

impl FigureKind {
    pub fn name(self) -> &'static str {
        match self {
            FigureKind::Heatmap => "heatmap",
            FigureKind::Effects => "effects",
            FigureKind::SpecCurve => "spec-curve",
        }
    }
}

/// The placeholder key: report.md marks a figure with `<!-- figure: KEY -->`.
pub fn figure_key(kind: FigureKind, dimension: &str) -> String {
    format!("{} {}", kind.name(), slug(dimension))
}

/// Where `report` writes a figure, relative to report.md: `figures/KIND-DIMENSION.svg`.
pub fn figure_path(kind: FigureKind, dimension: &str) -> String {
    format!("figures/{}-{}.svg", kind.name(), slug(dimension))
}

/// Every figure of a report, as standalone SVG documents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Placeholder key -> (relative file path, SVG).
    by_key: BTreeMap<String, (String, String)>,
}

impl Figures {
    pub fn get(&self, kind: FigureKind, dimension: &str) -> Option<&str> {
        self.by_key
            .get(&figure_key(kind, dimension))
            .map(|(_, svg)| svg.as_str())
    }

    /// (path relative to report.md, SVG) for each figure, for `report` to write.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_key
            .values()
            .map(|(path, svg)| (path.as_str(), svg.as_str()))
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn insert(&mut self, kind: FigureKind, dimension: &str, svg: String) {
        self.by_key.insert(
            figure_key(kind, dimension),
            (figure_path(kind, dimension), svg),
        );
    }
}

/// Builds every figure from the results: per dimension a heatmap of the cell means and a
/// dot-whisker plot of the effects, and the specification curve where there is one.
pub fn figures(results: &StudyResults) -> Figures {
    let mut figures = Figures::default();
    for d in &results.dimensions {
        figures.insert(
            FigureKind::Heatmap,
            &d.id,
            svg::heatmap(&heatmap(results, d)),
        );
        figures.insert(
            FigureKind::Effects,
            &d.id,
            svg::dot_whisker(&dot_whisker(results, d)),
        );
        if let Some(curve) = &d.spec_curve {
            let specifications = curve
                .specifications
                .iter()
                .map(|s| svg::Specification {
                    estimate: s.estimate.value,
                    ci: pair(s.estimate.ci_low, s.estimate.ci_high),
                    keeps_conclusion: s.keeps_conclusion,
                    choices: s.choices.clone(),
                })
                .collect();
            let spec = svg::SpecCurve {
                title: format!("{}: specification curve, {}", d.id, curve.target),
                y_label: format!("Effect ({} CI)", format::level(results.confidence)),
                specifications,
                headline: curve.specifications.iter().position(|s| s.is_registered),
                reference: Some(0.0),
            };
            figures.insert(FigureKind::SpecCurve, &d.id, svg::spec_curve(&spec));
        }
    }
    figures
}

fn pair(low: Option<f64>, high: Option<f64>) -> Option<(f64, f64)> {
    low.zip(high)
}

fn heatmap(results: &StudyResults, d: &DimensionResults) -> svg::Heatmap {
    let cell = |model: &str, scaffold: &str| {
        d.cells
            .iter()
            .find(|c| c.model == model && c.scaffold == scaffold)
    };
    let values = results
        .models
        .iter()
        .map(|m| {
            results
                .scaffolds
                .iter()
                .map(|s| cell(m, s).and_then(|c| c.mean.value))
                .collect()
        })
        .collect();
    let cell_text = results
        .models
        .iter()
        .map(|m| {
            results
                .scaffolds
                .iter()
                .map(|s| match cell(m, s) {
                    Some(c) if c.mean.value.is_some() => format!(
                        "{}\n{}",
                        format::fixed(c.mean.value, 2),
                        format::interval(c.mean.ci_low, c.mean.ci_high, 2)
                    ),
                    _ => format::NA.to_string(),
                })
                .collect()
        })
        .collect();
    svg::Heatmap {
        title: format!(
            "{}: mean score by model and scaffold ({} CI)",
            d.id,
            format::level(results.confidence)
        ),
        row_axis: "Model".into(),
        col_axis: "Scaffold".into(),
        legend_label: format!("Mean ({})", format::range(d.min, d.max)),
        row_labels: results.models.clone(),
        col_labels: results.scaffolds.clone(),
        values,
        scale: (d.min, d.max),
        cell_text,
    }
}

fn verdict(label: Option<Label>) -> svg::Verdict {
    match label {
        Some(Label::RaisedToCeiling) => svg::Verdict::Ceiling,
        Some(Label::Improved) => svg::Verdict::Improved,
        Some(Label::ImprovedWithinMargin) => svg::Verdict::ImprovedWithinMargin,
        Some(Label::Equivalent) => svg::Verdict::Equivalent,
        Some(Label::Inconclusive) => svg::Verdict::Inconclusive,
        Some(Label::WorseWithinMargin) => svg::Verdict::WorseWithinMargin,
        Some(Label::Worse) => svg::Verdict::Worse,
        None => svg::Verdict::NoVerdict,
    }
}

fn dot_whisker(results: &StudyResults, d: &DimensionResults) -> svg::DotWhisker {
    svg::DotWhisker {
        title: format!(
            "{}: effect of each scaffold versus {}",
            d.id, results.baseline
        ),
        x_label: format!(
            "Mean paired difference, scaffold − {} ({} CI)",
            results.baseline,
            format::level(results.confidence)
        ),
        rows: d
            .effects
            .iter()
            .map(|e| svg::EffectRow {
                group: e.model.clone(),
                label: e.scaffold.clone(),
                estimate: e.effect.value,
                ci: pair(e.effect.ci_low, e.effect.ci_high),
                verdict: verdict(e.label),
                annotation: e.label_text.clone(),
                // Relative to figures/, where the figure's file is; `insert_figures` makes it
                // relative to report.html.
                link: Some(format!(
                    "../{}",
                    explorer::condition_link(&e.model, &e.scaffold, Some(&d.id))
                )),
            })
            .collect(),
        equivalence_margin: Some(d.margin),
    }
}

/// CSS class of a verdict.
fn verdict_class(label: Option<Label>) -> &'static str {
    match label {
        Some(Label::RaisedToCeiling) => "v-ceiling",
        Some(Label::Improved | Label::ImprovedWithinMargin) => "v-improved",
        Some(Label::Equivalent) => "v-equivalent",
        Some(Label::Inconclusive) | None => "v-inconclusive",
        Some(Label::WorseWithinMargin | Label::Worse) => "v-worse",
    }
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { background: #ffffff; }
body {
  margin: 0; color: #1f2328; background: #ffffff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
  font-size: 15px; line-height: 1.55;
  -webkit-text-size-adjust: 100%;
}
main { max-width: 960px; margin: 0 auto; padding: 2.5rem 1.5rem 4rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 0.5rem; font-weight: 650; }
h2 { font-size: 1.3rem; margin: 2.6rem 0 0.8rem; padding-bottom: 0.3rem; border-bottom: 1px solid #d8dee4; font-weight: 620; }
h3 { font-size: 1.08rem; margin: 1.9rem 0 0.6rem; font-weight: 620; }
h1 + p { color: #59636e; font-size: 0.92rem; }
p, ul, ol, blockquote, table, details, figure { margin: 0 0 1rem; }
ul, ol { padding-left: 1.4rem; }
li + li { margin-top: 0.25rem; }
blockquote { margin-left: 0; padding: 0.1rem 0 0.1rem 0.9rem; border-left: 3px solid #d8dee4; color: #424a53; font-style: italic; }
blockquote p { margin: 0; }
code { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.82em; background: #f3f4f6; border-radius: 4px; padding: 0.1em 0.3em; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: auto; max-width: 100%; font-size: 0.82rem; line-height: 1.35; font-variant-numeric: tabular-nums; }
thead th { border-bottom: 1.5px solid #8c959f; font-weight: 600; vertical-align: bottom; line-height: 1.25; }
th, td { padding: 0.34rem 0.55rem; text-align: left; vertical-align: top; }
th:first-child, td:first-child { padding-left: 0.1rem; }
tbody td { border-bottom: 1px solid #eaeef2; }
tbody tr:last-child td { border-bottom: 1px solid #8c959f; }
td:nth-child(-n+2) { white-space: nowrap; }
.same { color: #8c959f; }
.stacked .ci { display: block; }
.ci { color: #59636e; white-space: nowrap; font-size: 0.94em; }
td code { font-size: 0.78rem; background: none; padding: 0; }
details { border: 1px solid #eaeef2; border-radius: 6px; padding: 0.5rem 0.8rem; }
details[open] summary { margin-bottom: 0.6rem; }
summary { cursor: pointer; color: #424a53; }
figure { margin: 1.2rem 0 1.4rem; }
figure svg { display: block; max-width: 100%; height: auto; }
strong { font-weight: 620; }
.flag { display: inline-block; color: #8a2a0a; background: #fdf1ea; border: 1px solid #efc3a9; border-radius: 4px; padding: 0 0.35em; font-size: 0.86em; font-weight: 600; letter-spacing: 0.01em; white-space: nowrap; }
.verdict { white-space: nowrap; }
td .verdict { white-space: normal; }
.verdict::before { content: ""; display: inline-block; width: 0.55em; height: 0.55em; border-radius: 50%; margin-right: 0.4em; vertical-align: 0.08em; background: currentColor; }
.v-ceiling { color: #00704f; font-weight: 600; }
.v-improved { color: #005a8c; font-weight: 600; }
.v-equivalent { color: #8e3f73; }
.v-inconclusive { color: #59636e; }
.v-inconclusive::before { background: transparent; box-shadow: inset 0 0 0 1.5px currentColor; }
.v-worse { color: #a6410a; font-weight: 600; }
strong .verdict { text-decoration: underline; text-underline-offset: 2px; }
a.explore { color: inherit; text-decoration: none; }
a.explore:hover, a.explore:focus-visible { text-decoration: underline; text-underline-offset: 2px; }
footer { margin-top: 3rem; color: #59636e; font-size: 0.82rem; border-top: 1px solid #d8dee4; padding-top: 0.8rem; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  table, figure { break-inside: avoid; page-break-inside: avoid; }
  details { border: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// report.html: the report's Markdown rendered, sanitised, with `figures` inlined.
pub fn report_html(results: &StudyResults, figures: &Figures) -> String {
    let markdown = markdown_for_html(results);
    let (html, links) = render_markdown(&markdown, results);
    let body = insert_links(&sanitise(&html), &links);
    let body = insert_figures(&body, figures);
    let mut out = String::with_capacity(body.len() + STYLE.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    let _ = writeln!(
        out,
        "<title>{} — blindfold report</title>",
        format::html(&format::one_line(&results.study))
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    out.push_str(&body);
    let _ = writeln!(
        out,
        "<footer><p><a href=\"explorer.html\">Read the transcripts</a> in the un-blinded \
         explorer: each table row and effect above opens it at its condition.</p>Interaction-level evidence: blinded ratings of transcripts under fixed \
         protocols (protocol {}). Not a property of the models; not a measurement of a \
         deployment.</footer>",
        format::html(&format::one_line(&results.protocol_hash))
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Markdown to HTML, with verdicts and the unreliable flag marked for styling: text holding
/// exactly a verdict's text, or the flag, becomes `<span class="...">`; in table cells, the
/// interval after an estimate ("0.21 [0.03, 0.37]") becomes `<span class="ci">`, so that it
/// can be set apart from the estimate and wrap under it as a unit.
fn render_markdown(markdown: &str, results: &StudyResults) -> (String, Vec<String>) {
    let labels: HashMap<String, Option<Label>> = label_texts(results).into_iter().collect();
    let flag = unreliable_flag();
    let mut in_cell = false;
    let events = TextMergeStream::new(Parser::new_ext(markdown, Options::ENABLE_TABLES)).collect();
    let (events, links) = mark_condition_cells(events, results);
    let events = events.into_iter().map(|event| match event {
        Event::Start(Tag::TableCell) => {
            in_cell = true;
            event
        }
        Event::End(TagEnd::TableCell) => {
            in_cell = false;
            event
        }
        Event::Text(text) => {
            if let Some(label) = labels.get(text.as_ref()) {
                Event::InlineHtml(CowStr::from(format!(
                    "<span class=\"verdict {}\">{}</span>",
                    verdict_class(*label),
                    format::html(&text)
                )))
            } else if text.as_ref() == flag {
                Event::InlineHtml(CowStr::from(format!(
                    "<span class=\"flag\">{}</span>",
                    format::html(&text)
                )))
            } else if in_cell && text.as_ref() == SAME {
                Event::InlineHtml(CowStr::from(format!("<span class=\"same\">{SAME}</span>")))
            } else if let Some((value, ci)) = in_cell.then(|| split_interval(&text)).flatten() {
                Event::InlineHtml(CowStr::from(format!(
                    "{} <span class=\"ci\">{}</span>",
                    format::html(value),
                    format::html(ci)
                )))
            } else {
                Event::Text(text)
            }
        }
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events);
    (html, links)
}

/// The markers of a table cell's link to the explorer, put in as comments (which the sanitiser
/// keeps and user text cannot make: the Markdown escapes every '<') and turned into links by
/// [`insert_links`] after sanitising, which drops every other link.
const LINK_OPEN: &str = "<!-- explore: ";
const LINK_CLOSE: &str = "<!-- /explore -->";

/// Marks every cell of the rows of the "Efficacy by dimension" tables that name a model and a
/// scaffold (their first two cells) as a link to the explorer filtered to that condition, with
/// the dimension of the table's section. Returns the events and the links, by number.
fn mark_condition_cells<'a>(
    events: Vec<Event<'a>>,
    results: &StudyResults,
) -> (Vec<Event<'a>>, Vec<String>) {
    let mut out = Vec::with_capacity(events.len());
    let mut links = Vec::new();
    let (mut in_section, mut dimension) = (false, None::<String>);
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut row: Option<Vec<Event<'a>>> = None;
    for event in events {
        match &event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((*level, String::new())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = heading.take() {
                    match level {
                        HeadingLevel::H1 | HeadingLevel::H2 => {
                            in_section = text == "Efficacy by dimension";
                            dimension = None;
                        }
                        HeadingLevel::H3 => {
                            dimension = results
                                .dimensions
                                .iter()
                                .any(|d| d.id == text)
                                .then_some(text);
                        }
                        _ => {}
                    }
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = &mut heading {
                    text.push_str(t);
                }
            }
            _ => {}
        }
        let starts_row = matches!(event, Event::Start(Tag::TableRow));
        let ends_row = matches!(event, Event::End(TagEnd::TableRow));
        if row.is_none() {
            if starts_row && in_section {
                row = Some(vec![event]);
            } else {
                out.push(event);
            }
            continue;
        }
        let cells = row.as_mut().expect("a row");
        cells.push(event);
        if !ends_row {
            continue;
        }
        let cells = row.take().unwrap_or_default();
        let texts = cell_texts(&cells);
        let condition = (texts.len() >= 2
            && results.models.contains(&texts[0])
            && results.scaffolds.contains(&texts[1]))
        .then(|| explorer::condition_link(&texts[0], &texts[1], dimension.as_deref()));
        let Some(link) = condition else {
            out.extend(cells);
            continue;
        };
        let n = links.len();
        links.push(link);
        for e in cells {
            if matches!(e, Event::End(TagEnd::TableCell)) {
                out.push(Event::InlineHtml(CowStr::from(LINK_CLOSE)));
            }
            let open = matches!(e, Event::Start(Tag::TableCell));
            out.push(e);
            if open {
                out.push(Event::InlineHtml(CowStr::from(format!(
                    "{LINK_OPEN}{n} -->"
                ))));
            }
        }
    }
    if let Some(cells) = row {
        out.extend(cells);
    }
    (out, links)
}

/// The plain text of each cell of a table row's events.
fn cell_texts(events: &[Event<'_>]) -> Vec<String> {
    let mut texts = Vec::new();
    for e in events {
        match e {
            Event::Start(Tag::TableCell) => texts.push(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(last) = texts.last_mut() {
                    last.push_str(t);
                }
            }
            _ => {}
        }
    }
    texts
}

/// Turns the sanitised page's link markers into links to the explorer: an open marker names
/// one of `links` by number, so no text can make a link to anywhere else.
fn insert_links(html: &str, links: &[String]) -> String {
    let mut out = String::with_capacity(html.len() + links.len() * 64);
    let mut rest = html;
    while let Some(start) = rest.find("<!-- ") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix(LINK_CLOSE) {
            out.push_str("</a>");
            rest = after;
            continue;
        }
        let link = tail.strip_prefix(LINK_OPEN).and_then(|t| {
            let end = t.find(" -->")?;
            let link = links.get(t[..end].parse::<usize>().ok()?)?;
            Some((link, &t[end + " -->".len()..]))
        });
        match link {
            Some((link, after)) => {
                let _ = write!(out, "<a class=\"explore\" href=\"{}\">", format::html(link));
                rest = after;
            }
            None => {
                out.push_str("<!-- ");
                rest = &tail["<!-- ".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// "0.21 [0.03, 0.37]" -> ("0.21", "[0.03, 0.37]"); None for anything else.
fn split_interval(text: &str) -> Option<(&str, &str)> {
    let (value, ci) = text.split_once(' ')?;
    let number = |s: &str| {
        let s = s.trim_start_matches(['+', '-']);
        s == format::NA || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    let inner = ci.strip_prefix('[')?.strip_suffix(']')?;
    let well_formed = inner == format::NA
        || inner
            .split_once(", ")
            .is_some_and(|(lo, hi)| number(lo) && number(hi));
    (number(value) && well_formed).then_some((value, ci))
}

/// ammonia with the document tags it needs and nothing that reaches outside the page: no links,
/// no images, no URL schemes at all. Comments are kept, because the figure placeholders are
/// comments; user text cannot create one, since the Markdown renderer escapes every '<'.
fn sanitise(html: &str) -> String {
    let classes: HashSet<&str> = [
        "ci",
        "same",
        "verdict",
        "flag",
        "v-ceiling",
        "v-improved",
        "v-equivalent",
        "v-inconclusive",
        "v-worse",
    ]
    .into_iter()
    .collect();
    ammonia::Builder::default()
        .rm_tags(["a", "img", "map", "area"])
        .url_schemes(HashSet::new())
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .filter_style_properties(["text-align"].into_iter().collect())
        .allowed_classes(
            [
                ("span", classes),
                ("div", ["stacked"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .strip_comments(false)
        .clean(html)
        .to_string()
}

/// A figure's link to the explorer, as written in its file under figures/ and inline.
const FIGURE_LINK: &str = "href=\"../explorer.html#";
const INLINE_LINK: &str = "href=\"explorer.html#";

/// Replaces each `<!-- figure: KEY -->` with its SVG; a placeholder without a figure becomes a
/// visible note rather than silently nothing.
fn insert_figures(html: &str, figures: &Figures) -> String {
    const OPEN: &str = "<!-- figure: ";
    const CLOSE: &str = " -->";
    let mut out = String::with_capacity(
        html.len() + figures.by_key.values().map(|f| f.1.len()).sum::<usize>(),
    );
    let mut rest = html;
    while let Some(start) = rest.find(OPEN) {
        let Some(len) = rest[start + OPEN.len()..].find(CLOSE) else {
            break;
        };
        let key = &rest[start + OPEN.len()..start + OPEN.len() + len];
        out.push_str(&rest[..start]);
        match figures.by_key.get(key) {
            Some((_, svg)) => {
                out.push_str("<figure>\n");
                out.push_str(&svg.trim_end().replace(FIGURE_LINK, INLINE_LINK));
                out.push_str("\n</figure>");
            }
            None => {
                let _ = write!(
                    out,
                    "<p><em>Figure not available: {}</em></p>",
                    format::html(key)
                );
            }
        }
        rest = &rest[start + OPEN.len() + len + CLOSE.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn report() -> String {
        let r = fixture::results();
        report_html(&r, &figures(&r))
    }

    #[test]
    fn the_page_is_self_contained_and_script_free() {
        let html = report();
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "script");
        assert!(!lower.contains("javascript:"));
        let handler = regex::Regex::new(r"<[^>]+\son[a-z]+\s*=").unwrap();
        assert!(!handler.is_match(&lower), "event handler attribute");
        assert!(!lower.contains("<link") && !lower.contains("<iframe") && !lower.contains("<img"));
        assert!(!lower.contains("@import"));
        // url() only for the figures' own fragments (patterns, gradients).
        let url = regex::Regex::new(r#"url\(\s*['"]?[^#'"\s)]"#).unwrap();
        assert!(!url.is_match(&lower), "url() to a resource");
        // The only URLs are the SVG namespace.
        let urls =
            regex::Regex::new(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\x22'<>]*").unwrap();
        for m in urls.find_iter(&html) {
            assert_eq!(m.as_str(), "http://www.w3.org/2000/svg", "unexpected URL");
        }
        assert!(html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )));
    }

    #[test]
    fn every_placeholder_is_replaced_by_its_figure() {
        let r = fixture::results();
        let figs = figures(&r);
        assert_eq!(figs.len(), 2 * r.dimensions.len() + 1);
        let html = report_html(&r, &figs);
        assert!(!html.contains("<!--"), "a comment is left");
        assert!(!html.contains("Figure not available"));
        assert_eq!(html.matches("<svg ").count(), figs.len());
        assert_eq!(html.matches("<figure>").count(), figs.len());
        for (_, svg) in figs.files() {
            assert!(html.contains(&svg.trim_end().replace(FIGURE_LINK, INLINE_LINK)));
        }
        // No Markdown image survives into the page.
        assert!(!html.contains("figures/"));
    }

    #[test]
    fn figure_paths_and_keys_agree() {
        let r = fixture::results();
        let figs = figures(&r);
        let paths: Vec<&str> = figs.files().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "figures/effects-helpfulness.svg",
                "figures/effects-process_steerability.svg",
                "figures/effects-uncertainty_disclosure.svg",
                "figures/effects-verification_support.svg",
                "figures/heatmap-helpfulness.svg",
                "figures/heatmap-process_steerability.svg",
                "figures/heatmap-uncertainty_disclosure.svg",
                "figures/heatmap-verification_support.svg",
                "figures/spec-curve-verification_support.svg",
            ]
        );
        assert!(
            figs.get(FigureKind::SpecCurve, "verification_support")
                .is_some()
        );
        assert!(figs.get(FigureKind::SpecCurve, "helpfulness").is_none());
    }

    #[test]
    fn heatmap_cells_carry_mean_and_interval() {
        let r = fixture::results();
        let h = heatmap(&r, &r.dimensions[0]);
        assert_eq!(h.cell_text[0][1], "1.96\n[1.90, 2.00]");
        assert_eq!(h.values[0][1], Some(1.96));
        let u = heatmap(&r, &r.dimensions[2]);
        assert_eq!(u.cell_text[2][3], "n/a");
        assert_eq!(u.values[2][3], None);
        let d = dot_whisker(&r, &r.dimensions[0]);
        assert_eq!(d.equivalence_margin, Some(0.25));
        assert_eq!(d.rows[0].verdict, svg::Verdict::Ceiling);
        assert_eq!(d.rows[3].verdict, svg::Verdict::Equivalent);
    }

    /// The sanitised part (everything outside the inline SVGs) parses as XML once void
    /// elements are closed: tags are balanced.
    #[test]
    fn the_body_is_well_formed() {
        let html = report();
        let body = html
            .split("<main>")
            .nth(1)
            .and_then(|s| s.split("</main>").next())
            .unwrap();
        let xml = format!(
            "<main>{}</main>",
            body.replace("<br>", "<br/>").replace("<hr>", "<hr/>")
        );
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}"));
        let svgs = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "svg")
            .count();
        assert_eq!(svgs, 9);
        assert_eq!(
            doc.descendants()
                .filter(|n| n.tag_name().name() == "table")
                .count(),
            report_tables()
        );
    }

    /// Tables in report.md: one delimiter row each.
    fn report_tables() -> usize {
        let md = crate::report::markdown::report_markdown(&fixture::results());
        md.lines().filter(|l| l.starts_with("| ---")).count()
    }

    #[test]
    fn verdicts_and_the_flag_are_marked_for_styling() {
        let html = report();
        assert!(html.contains("<span class=\"verdict v-ceiling\">raised to ceiling</span>"));
        assert!(
            html.contains("<span class=\"verdict v-equivalent\">equivalent (within ±0.25)</span>")
        );
        assert!(
            html.contains(
                "<strong><span class=\"flag\">FLAGGED: α not shown ≥ 0.667</span></strong>"
            ),
            "{html}"
        );
        assert!(html.contains("<td style=\"text-align:right\">"));
    }

    #[test]
    fn efficacy_cells_and_effect_points_link_to_the_explorer() {
        let r = fixture::results();
        let html = report();
        let section = &html[html.find("<h2>Efficacy by dimension</h2>").unwrap()..];
        let section = &section[..section[4..].find("<h2>").unwrap() + 4];
        let d = &r.dimensions[0];
        let c = &d.cells[0];
        let link = explorer::condition_link(&c.model, &c.scaffold, Some(&d.id));
        let anchor = format!("<a class=\"explore\" href=\"{}\">", format::html(&link));
        // Every cell of the condition's row in the means table...
        assert_eq!(section.matches(&anchor).count(), 5, "{anchor}");
        // ... and in the effects table.
        let e = &d.effects[0];
        let link = explorer::condition_link(&e.model, &e.scaffold, Some(&d.id));
        let anchor = format!("<a class=\"explore\" href=\"{}\">", format::html(&link));
        assert!(section.matches(&anchor).count() >= 5 + 9, "{anchor}");
        let e = &d.effects[0];
        let point = format!(
            "<a href=\"{}\">",
            format::html(&explorer::condition_link(
                &e.model,
                &e.scaffold,
                Some(&d.id)
            ))
        );
        assert!(section.contains(&point), "{point}");
        // Every link opens, every marker closes; none is left as a comment.
        assert_eq!(html.matches("<a ").count(), html.matches("</a>").count());
        assert!(!html.contains("<!-- explore:") && !html.contains("<!-- /explore"));
        assert!(
            !html.contains("../explorer"),
            "figure links are relative to the page"
        );
        // Outside the section no table cell links.
        let before = &html[..html.find("<h2>Efficacy by dimension</h2>").unwrap()];
        assert!(!before.contains("class=\"explore\""));
    }

    #[test]
    fn link_markers_only_name_links_the_page_made() {
        let links = vec!["explorer.html#m=a".to_string()];
        assert_eq!(
            insert_links(
                "<!-- explore: 0 -->x<!-- /explore --><!-- explore: 7 --><!-- other -->",
                &links
            ),
            "<a class=\"explore\" href=\"explorer.html#m=a\">x</a><!-- explore: 7 --><!-- other -->"
        );
    }

    #[test]
    fn intervals_in_cells_are_split_from_their_estimates() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("0.21 [0.03, 0.37]", Some(("0.21", "[0.03, 0.37]"))),
            ("+1.75 [1.53, 1.94]", Some(("+1.75", "[1.53, 1.94]"))),
            ("-0.04 [-0.26, 0.15]", Some(("-0.04", "[-0.26, 0.15]"))),
            ("0.442 [n/a]", Some(("0.442", "[n/a]"))),
            ("n/a", None),
            ("[1.57, 1.93]", None),
            ("sim-alpha [x]", None),
            ("0.21 [0.03, 0.37] extra", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(split_interval(text), expected, "{text}");
        }
        assert!(report().contains(
            "<td style=\"text-align:right\">0.21 <span class=\"ci\">[0.03, 0.37]</span></td>"
        ));
    }

    #[test]
    fn hostile_text_is_inert() {
        let mut r = fixture::results();
        r.study = "</title><script>alert(1)</script>".into();
        r.headline.sentences = vec![
            "<img src=x onerror=alert(1)> [link](https://evil.example) <!-- figure: heatmap helpfulness -->".into(),
        ];
        r.dimensions[0].question = "<svg onload=alert(1)>".into();
        let html = report_html(&r, &figures(&r));
        assert!(!html.to_lowercase().contains("<script"));
        assert!(!html.contains("<img"));
        for link in html.split("href=\"").skip(1) {
            let link = &link[..link.find('"').unwrap()];
            assert!(link.starts_with("explorer.html"), "{link}");
        }
        assert!(!html.contains("<svg onload"));
        // The sentence's fake placeholder is text, not a second heatmap.
        assert_eq!(html.matches("<figure>").count(), 9);
    }

    /// Empty and degenerate results still render every output without panicking.
    #[test]
    fn degenerate_results_render() {
        let mut r = fixture::results();
        r.headline = Default::default();
        r.prereg = None;
        r.blinding = Default::default();
        for d in &mut r.dimensions {
            d.interaction = None;
            d.latent = None;
            d.kinds.clear();
            d.sensitivity.clear();
            d.effects.clear();
            d.spec_curve = None;
            d.variance = None;
            d.agreement.pairs.clear();
            d.agreement.judges.clear();
        }
        let html = report_html(&r, &figures(&r));
        assert!(html.contains("No interaction test is available"));
        assert!(!html.contains("<!--"));
        r.dimensions.clear();
        r.models.clear();
        r.scaffolds.clear();
        r.profiles.clear();
        r.coverage = Default::default();
        let html = report_html(&r, &figures(&r));
        assert!(html.contains("No dimension was analysed."));
        assert!(crate::report::headline_table(&r).contains("No dimension was analysed."));
        assert_eq!(
            String::from_utf8(crate::report::efficacy_csv(&r))
                .unwrap()
                .lines()
                .count(),
            1
        );
    }

    #[test]
    fn excerpt_matches_snapshot() {
        let html = report();
        let start = html.find("<h2>Headline</h2>").unwrap();
        let end = html[start..].find("<h2>Fixed protocol</h2>").unwrap() + start;
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("report_html_headline", &html[start..end]));
    }
}
