//! report/explorer.html: the un-blinded transcript explorer, the researcher's way from a number
//! in the report to the transcripts behind it.
//!
//! A table says a scaffold raised a model's scores; the claim rests on the transcripts. The page
//! lists every transcript of the un-blinded rounds with its model, scaffold, prompt, every
//! rater's and judge's scores and comments, filters and sorts them, shows one in full (system
//! prompt included) and puts the same prompt side by side across scaffolds or models. report.html
//! links each efficacy-table cell and effect-figure point to it by its URL fragment.
//!
//! Transcripts are untrusted: each message goes through the packets' renderer and sanitiser
//! ([`crate::blind::packet::render_markdown`]), and the page carries the packets' kind of CSP
//! (its own script and style by hash, no network), so a sanitiser bug could still neither run a
//! script nor make a request. Every other text (ids, comments) is put in the page by the script
//! as text, never as markup.
//!
//! Size: the page holds a compact index (dictionaries and integer columns) parsed at load, and
//! the rendered messages in a second JSON block parsed only when a transcript is first opened;
//! the list is virtualised, so 10,000 transcripts open and filter quickly
//! (docs/performance.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rayon::prelude::*;
use serde::Serialize;

use crate::blind::packet::{json_for_script, render_markdown, sha256_base64};
use crate::provider::Role;

mod split;
pub use split::{
    DEFAULT_PART_SIZE, EXPLORER_DIR, INDEX_FILE, Part, explorer_files,
    index_content_security_policy, is_split, link_to_index, split,
};

const EXPLORER_JS: &str = include_str!("explorer/explorer.js");
const EXPLORER_CSS: &str = include_str!("explorer/explorer.css");

/// The file name of the explorer in the report folder; report.html links to it.
pub const EXPLORER_FILE: &str = "explorer.html";

/// A rubric dimension as the explorer shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub id: String,
    pub min: i64,
    pub max: i64,
}

/// One rating of one transcript: scores in the order of the dimensions (`None` when the rater
/// left a question unanswered).
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub round: String,
    pub rater: String,
    pub judge: bool,
    pub scores: Vec<Option<i64>>,
    pub comment: String,
    pub identity_guess: String,
}

/// One un-blinded transcript: its condition, the whole conversation as the model saw it (system
/// prompt first) and its ratings.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub cell_id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    pub messages: Vec<(Role, String)>,
    pub ratings: Vec<Rating>,
}

/// Everything the explorer shows. Models, scaffolds and prompts are listed in the study's order
/// (conditions found only in the transcripts are added after them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Explorer {
    pub study: String,
    pub models: Vec<String>,
    pub scaffolds: Vec<String>,
    pub prompts: Vec<String>,
    pub dimensions: Vec<Dimension>,
    pub transcripts: Vec<Transcript>,
}

/// A condition of the explorer as a URL fragment: `explorer.html#m=MODEL&s=SCAFFOLD&d=DIM`, the
/// link report.html puts on a table cell or a figure's point. Values are percent-encoded the
/// way the page's `URLSearchParams` reads them.
pub fn condition_link(model: &str, scaffold: &str, dimension: Option<&str>) -> String {
    let mut link = format!(
        "{EXPLORER_FILE}#m={}&s={}",
        fragment_value(model),
        fragment_value(scaffold)
    );
    if let Some(d) = dimension {
        let _ = write!(link, "&d={}", fragment_value(d));
    }
    link
}

/// Percent-encodes all but unreserved characters, so a value can stand in a fragment and an
/// HTML or SVG attribute without further escaping.
fn fragment_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One rating in the index: [transcript, rater, round, scores, comment, guess].
type IndexRating<'a> = (usize, usize, usize, &'a [Option<i64>], &'a str, &'a str);

/// The index the page's script reads at load: dictionaries and integer columns.
#[derive(Serialize)]
struct Index<'a> {
    study: &'a str,
    dims: Vec<(&'a str, i64, i64)>,
    models: Vec<&'a str>,
    scaffolds: Vec<&'a str>,
    prompts: Vec<&'a str>,
    rounds: Vec<&'a str>,
    /// Rater names; `judges[i]` says whether rater i is a model judge.
    raters: Vec<&'a str>,
    judges: Vec<bool>,
    /// Per transcript: [cell id, model, scaffold, prompt, repeat] (indices into the lists).
    t: Vec<(&'a str, usize, usize, usize, u32)>,
    /// Per rating: [transcript, rater, round, scores (null when unanswered), comment, guess].
    r: Vec<IndexRating<'a>>,
}

/// Message roles in the bodies block: 0 system, 1 user, 2 assistant.
fn role_code(role: Role) -> u8 {
    match role {
        Role::System => 0,
        Role::User => 1,
        Role::Assistant => 2,
    }
}

/// Positions of names in a list that starts with `known` and takes the others as they come.
struct Names<'a> {
    list: Vec<&'a str>,
    at: BTreeMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    fn new(known: &'a [String]) -> Self {
        let mut names = Names {
            list: Vec::new(),
            at: BTreeMap::new(),
        };
        for k in known {
            names.of(k);
        }
        names
    }

    fn of(&mut self, name: &'a str) -> usize {
        if let Some(&i) = self.at.get(name) {
            return i;
        }
        self.list.push(name);
        self.at.insert(name, self.list.len() - 1);
        self.list.len() - 1
    }
}

/// The page's Content-Security-Policy: the packets' (its own script and style by hash, nothing
/// from anywhere) without a form to submit.
pub fn content_security_policy() -> String {
    policy_for(EXPLORER_JS)
}

/// The CSP of an explorer page running `script` with the explorer's style.
fn policy_for(script: &str) -> String {
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; \
         form-action 'none'; base-uri 'none'",
        sha256_base64(script),
        sha256_base64(EXPLORER_CSS),
    )
}

/// The start of every explorer page: its head (CSP, title, style) and the opening of the
/// un-blinded banner, up to and including the link back to the report (one folder up for the
/// pages of a split explorer).
fn open_page(out: &mut String, csp: &str, title: &str, title_suffix: &str, split: bool) {
    let (report, pages) = if split {
        (
            "../report.html",
            "These pages name the model and scaffold of every transcript and show \
          the system prompts raters never saw. Never give them to a rater.",
        )
    } else {
        (
            "report.html",
            "This page names the model and scaffold of every transcript and shows \
          the system prompts raters never saw. Never give it to a rater.",
        )
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    let _ = writeln!(
        out,
        "<title>{title} — transcript explorer (un-blinded){title_suffix}</title>"
    );
    let _ = writeln!(out, "<style>{EXPLORER_CSS}</style>\n</head>\n<body>");
    let _ = write!(
        out,
        "<header class=\"unblinded\" role=\"banner\"><strong>Un-blinded: the researcher's view.</strong> \
         {pages} <span class=\"study\">{title}</span> \
         <a href=\"{report}\">Back to the report</a>"
    );
}

/// explorer.html as bytes.
pub fn explorer_html(explorer: &Explorer) -> Vec<u8> {
    page(explorer, None)
}

/// Where a part of a split explorer sits: its place among the parts, named in its header with a
/// link to the index (explorer/index.html) beside it.
pub(crate) struct PartNav<'a> {
    pub number: usize,
    pub of: usize,
    pub prompts: &'a str,
}

/// The explorer page, whole or as one part of a split explorer (one folder down from the report).
pub(crate) fn page(explorer: &Explorer, part: Option<&PartNav>) -> Vec<u8> {
    let mut models = Names::new(&explorer.models);
    let mut scaffolds = Names::new(&explorer.scaffolds);
    let mut prompts = Names::new(&explorer.prompts);
    let mut rounds = Names::new(&[]);
    let mut raters = Names::new(&[]);
    let mut judges = Vec::new();
    let mut t = Vec::with_capacity(explorer.transcripts.len());
    let mut r = Vec::new();
    for (i, tr) in explorer.transcripts.iter().enumerate() {
        t.push((
            tr.cell_id.as_str(),
            models.of(&tr.model),
            scaffolds.of(&tr.scaffold),
            prompts.of(&tr.prompt),
            tr.repeat,
        ));
        for rating in &tr.ratings {
            let rater = raters.of(&rating.rater);
            if rater == judges.len() {
                judges.push(rating.judge);
            }
            r.push((
                i,
                rater,
                rounds.of(&rating.round),
                rating.scores.as_slice(),
                rating.comment.as_str(),
                rating.identity_guess.as_str(),
            ));
        }
    }
    // Rendering and sanitising every message is most of the page's cost: in parallel, collected
    // in transcript order.
    let bodies: Vec<Vec<(u8, String)>> = explorer
        .transcripts
        .par_iter()
        .map(|tr| {
            tr.messages
                .iter()
                .map(|(role, text)| (role_code(*role), render_markdown(text)))
                .collect()
        })
        .collect();
    // Rounds in name order, so the filter lists them as the report does.
    let index = Index {
        study: &explorer.study,
        dims: explorer
            .dimensions
            .iter()
            .map(|d| (d.id.as_str(), d.min, d.max))
            .collect(),
        models: models.list,
        scaffolds: scaffolds.list,
        prompts: prompts.list,
        rounds: rounds.list,
        raters: raters.list,
        judges,
        t,
        r,
    };
    let index = json_for_script(&index);
    let bodies = json_for_script(&bodies);
    let title = crate::report::format::html(&crate::report::format::one_line(&explorer.study));
    let mut out = String::with_capacity(index.len() + bodies.len() + EXPLORER_JS.len() + 4096);
    open_page(
        &mut out,
        &content_security_policy(),
        &title,
        "",
        part.is_some(),
    );
    if let Some(part) = part {
        // The script keeps this link's fragment in step with the filters.
        let _ = write!(
            out,
            "<br><span class=\"part\">Part {} of {}: prompts {}.</span> \
             <a id=\"to-index\" href=\"index.html\">All parts</a>",
            part.number,
            part.of,
            crate::report::format::html(part.prompts)
        );
    }
    out.push_str("</header>\n");
    out.push_str(
        "<main id=\"app\"><p id=\"loading\">Loading transcripts…</p>\
         <noscript><p>The explorer needs JavaScript; the report's tables and results.json \
         hold the same numbers.</p></noscript></main>\n",
    );
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"explorer-index\">{index}</script>"
    );
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"explorer-bodies\">{bodies}</script>"
    );
    let _ = writeln!(out, "<script>{EXPLORER_JS}</script>\n</body>\n</html>");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Explorer {
        let rating = |rater: &str, judge: bool, scores: Vec<Option<i64>>, comment: &str| Rating {
            round: "round-1".into(),
            rater: rater.into(),
            judge,
            scores,
            comment: comment.into(),
            identity_guess: String::new(),
        };
        Explorer {
            study: "s <b>".into(),
            models: vec!["m1".into(), "m2".into()],
            scaffolds: vec!["base".into(), "verify".into()],
            prompts: vec!["p1".into()],
            dimensions: vec![Dimension {
                id: "v".into(),
                min: 0,
                max: 2,
            }],
            transcripts: vec![Transcript {
                cell_id: "c1".into(),
                model: "m2".into(),
                scaffold: "verify".into(),
                prompt: "p9".into(),
                repeat: 0,
                messages: vec![
                    (Role::System, "Be careful.".into()),
                    (Role::User, "Hi".into()),
                    (
                        Role::Assistant,
                        "</script><script>alert(1)</script> <img src=x onerror=alert(2)> **ok**"
                            .into(),
                    ),
                ],
                ratings: vec![
                    rating(
                        "r1",
                        false,
                        vec![Some(2)],
                        "</script><script>alert(3)</script>",
                    ),
                    rating("judge-m1", true, vec![None], ""),
                ],
            }],
        }
    }

    #[test]
    fn hostile_text_cannot_leave_its_data_block_or_become_markup() {
        let html = String::from_utf8(explorer_html(&sample())).unwrap();
        // Exactly the page's three script elements: two JSON blocks and the script.
        assert_eq!(html.matches("<script").count(), 3, "{html}");
        assert_eq!(html.matches("</script>").count(), 3);
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        // The assistant's markdown is rendered through the packets' sanitiser.
        assert!(html.contains("\\u003cstrong\\u003eok\\u003c/strong\\u003e"));
        assert!(html.contains(&format!("content=\"{}\"", content_security_policy())));
        assert!(content_security_policy().contains("default-src 'none'"));
        assert!(html.contains("Un-blinded: the researcher's view."));
    }

    #[test]
    fn the_index_is_columns_over_dictionaries_in_study_order() {
        let html = String::from_utf8(explorer_html(&sample())).unwrap();
        let start = html.find("id=\"explorer-index\">").unwrap() + "id=\"explorer-index\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let index: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(index["models"], serde_json::json!(["m1", "m2"]));
        assert_eq!(index["prompts"], serde_json::json!(["p1", "p9"]));
        assert_eq!(index["t"], serde_json::json!([["c1", 1, 1, 1, 0]]));
        assert_eq!(index["raters"], serde_json::json!(["r1", "judge-m1"]));
        assert_eq!(index["judges"], serde_json::json!([false, true]));
        assert_eq!(index["r"][1], serde_json::json!([0, 1, 0, [null], "", ""]));
        assert_eq!(index["dims"], serde_json::json!([["v", 0, 2]]));
    }

    #[test]
    fn condition_links_encode_every_reserved_character() {
        assert_eq!(
            condition_link("sim-alpha", "verification", Some("verification_support")),
            "explorer.html#m=sim-alpha&s=verification&d=verification_support"
        );
        assert_eq!(
            condition_link("a b&c\"<", "x/y#z", None),
            "explorer.html#m=a%20b%26c%22%3C&s=x%2Fy%23z"
        );
        assert_eq!(fragment_value("é"), "%C3%A9");
    }
}
