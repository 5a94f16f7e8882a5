//! Rating packets as bytes: the self-contained HTML form, the blank CSV sheet and the JSON for
//! programmatic raters. Pure: blinded items in, file contents out; `commands` writes them.
//!
//! Transcript text reaches raters only through [`render_markdown`]: markdown becomes HTML, but
//! any raw HTML a model wrote is shown as inert text, images become a text placeholder, links
//! lose their targets, and the result is sanitised again by ammonia. The page's
//! Content-Security-Policy allows only its own script and style (by hash) and no network at all,
//! so even a sanitiser bug could neither run a script nor make a request.

use base64::Engine;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ops::Range;

use super::parts::PartOf;
use crate::provider::Role;
use crate::study::{Dimension, Rubric};

const FORM_TEMPLATE: &str = include_str!("form/form.html.j2");
const FORM_JS: &str = include_str!("form/form.js");
const FORM_CSS: &str = include_str!("form/form.css");

/// The fixed columns of a ratings file around the rubric's dimensions.
pub const LEADING_COLUMNS: [&str; 2] = ["rater", "item_id"];
pub const TRAILING_COLUMNS: [&str; 2] = ["comment", "identity_guess"];

/// `rater,item_id,<dimension ids>,comment,identity_guess` — the import format.
pub fn csv_columns(rubric: &Rubric) -> Vec<String> {
    LEADING_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(rubric.dimensions.iter().map(|d| d.id.clone()))
        .chain(TRAILING_COLUMNS.iter().map(|c| c.to_string()))
        .collect()
}

/// One user-visible turn, already redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

/// A blinded item as a rater sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub item_id: String,
    pub turns: Vec<Turn>,
}

/// One rater's packet, in the order the rater sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet<'a> {
    pub rater: &'a str,
    pub packet_id: &'a str,
    pub items: Vec<&'a Item>,
}

/// Default instructions when the rubric has none.
pub const DEFAULT_INSTRUCTIONS: &str = "You will read conversations between a user and an AI \
assistant. You do not know which system wrote them or how it was set up. Rate each conversation \
on every question, using the descriptions of the levels to decide.";

pub fn instructions(rubric: &Rubric) -> &str {
    rubric
        .instructions
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_INSTRUCTIONS)
}

/// The markdown options of the rating form: tables and strikethrough.
fn markdown_options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// The markdown events a rater's page is rendered from, with the source range of each: raw
/// HTML a model wrote becomes text, images become the text `[image: URL — alt]` and links
/// `[URL] text`. Text the form adds itself (`[image: `, `] `) has an empty range at the place it
/// stands for. [`render_markdown`] renders these events and `blind::visible` reads what they
/// show, so the redactor and the leak gate see exactly what the page shows.
pub fn rater_events(text: &str) -> Vec<(Event<'_>, Range<usize>)> {
    let mut out = Vec::new();
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        let here = range.start..range.start;
        match event {
            // Raw HTML from a model is shown as the text it is, never interpreted.
            Event::Html(html) | Event::InlineHtml(html) => out.push((Event::Text(html), range)),
            Event::Start(Tag::Image { dest_url, .. }) => {
                out.push((Event::Text(CowStr::from("[image: ")), here.clone()));
                out.push((Event::Text(dest_url), range));
                out.push((Event::Text(CowStr::from(" — ")), here));
            }
            Event::End(TagEnd::Image) => {
                out.push((Event::Text(CowStr::from("]")), range.end..range.end));
            }
            // Links keep their text and show their target as text; nothing is clickable.
            Event::Start(Tag::Link { dest_url, .. }) => {
                out.push((Event::Text(CowStr::from("[")), here.clone()));
                out.push((Event::Text(dest_url), range));
                out.push((Event::Text(CowStr::from("] ")), here));
            }
            Event::End(TagEnd::Link) => {}
            other => out.push((other, range)),
        }
    }
    out
}

/// Markdown to sanitised HTML, with every active or remote element neutralised.
pub fn render_markdown(text: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, rater_events(text).into_iter().map(|(e, _)| e));
    SANITIZER.clean(&html).to_string()
}

/// Built once: a builder's tag sets cost more than cleaning a short message.
static SANITIZER: std::sync::LazyLock<ammonia::Builder<'static>> =
    std::sync::LazyLock::new(sanitizer);

fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "hr",
            "strong",
            "em",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
        ])
        .add_tag_attributes("ol", ["start"])
        .add_tag_attributes("th", ["align"])
        .add_tag_attributes("td", ["align"])
        .link_rel(None)
        .strip_comments(true);
    builder
}

/// The page's Content-Security-Policy: its own script and style by hash, nothing else.
/// Delivered in a `<meta>` element (a packet is a file, with no headers), so it holds only
/// directives that a `<meta>` policy obeys: browsers ignore `frame-ancestors`, `report-uri` and
/// `sandbox` there and log an error on every page load. The hosted form may also send requests
/// to the server it came from (`connect-src 'self'`), and nowhere else.
pub fn content_security_policy(hosted: bool) -> String {
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; \
         {}form-action 'none'; base-uri 'none'",
        sha256_base64(FORM_JS),
        sha256_base64(FORM_CSS),
        if hosted { "connect-src 'self'; " } else { "" }
    )
}

/// The CSP source expression's hash of an inline script or style.
pub fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// JSON for embedding in a `<script type="application/json">` block: `<`, `>` and `&` escaped so
/// that no text can close the block.
pub(crate) fn json_for_script<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .expect("serialisable")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[derive(Serialize)]
struct FormTurn {
    role: &'static str,
    html: String,
}

#[derive(Serialize)]
struct FormItem<'a> {
    item_id: &'a str,
    position: usize,
    turns: Vec<FormTurn>,
}

#[derive(Serialize)]
struct FormDimension<'a> {
    id: &'a str,
    question: &'a str,
    required: bool,
    levels: &'a [crate::study::Level],
}

fn form_dimensions(rubric: &Rubric) -> Vec<FormDimension<'_>> {
    rubric
        .dimensions
        .iter()
        .map(|d: &Dimension| FormDimension {
            id: &d.id,
            question: &d.question,
            required: d.required,
            levels: &d.levels,
        })
        .collect()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::System => "system",
    }
}

/// The HTML rating form of one packet.
pub fn render_html(packet: &Packet<'_>, rubric: &Rubric) -> Vec<u8> {
    render_form(packet, rubric, None, None)
}

/// The form of one part of a rater's packet: the same form, labelled "Part 2 of 5" and exporting
/// `ratings-RATER-part-02.csv`.
pub fn render_part_html(packet: &Packet<'_>, rubric: &Rubric, part: PartOf) -> Vec<u8> {
    render_form(packet, rubric, None, Some(part))
}

/// The same form served by `blindfold collect`: `hosted` holds what its script needs to keep
/// answers on the server instead of in the browser (where to send them, the session, the answers
/// saved so far); see `collect::pages`.
pub fn render_hosted_html(
    packet: &Packet<'_>,
    rubric: &Rubric,
    hosted: &serde_json::Value,
) -> Vec<u8> {
    render_form(packet, rubric, Some(hosted), None)
}

fn render_form(
    packet: &Packet<'_>,
    rubric: &Rubric,
    hosted: Option<&serde_json::Value>,
    part: Option<PartOf>,
) -> Vec<u8> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("form.html", FORM_TEMPLATE)
        .expect("the form template is valid");
    let items: Vec<FormItem<'_>> = packet
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| FormItem {
            item_id: &item.item_id,
            position: i + 1,
            turns: item
                .turns
                .iter()
                .map(|t| FormTurn {
                    role: role_name(t.role),
                    html: render_markdown(&t.content),
                })
                .collect(),
        })
        .collect();
    let dimensions = form_dimensions(rubric);
    let rubric_json = json_for_script(&serde_json::json!({ "dimensions": dimensions }));
    let context = serde_json::json!({
        "rater": packet.rater,
        "packet_id": packet.packet_id,
        "title": match part {
            Some(p) => format!("Rating packet for {}, part {} of {}", packet.rater, p.part, p.of),
            None => format!("Rating packet for {}", packet.rater),
        },
        // Absent for a whole packet, whose page is then exactly what it was before parts.
        "part": part.map(|p| p.describe()),
        "export_name": part.map(|p| format!("ratings-{}.csv", p.file_stem(packet.rater))),
        "instructions": instructions(rubric),
        "csp": content_security_policy(hosted.is_some()),
        "hosted": hosted.is_some(),
        "hosted_json": hosted.map(json_for_script),
        "css": FORM_CSS,
        "js": FORM_JS,
        "rubric_json": rubric_json,
        "dimensions": dimensions,
        "items": items,
        "csv_columns": csv_columns(rubric),
    });
    env.get_template("form.html")
        .and_then(|t| t.render(Serde(&context)))
        .expect("the form template renders with this context")
        .into_bytes()
}

/// The blank ratings sheet: the header and one row per item with rater and item id filled in.
pub fn render_csv(packet: &Packet<'_>, rubric: &Rubric) -> Vec<u8> {
    let columns = csv_columns(rubric);
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(&columns).expect("writing to memory");
    for item in &packet.items {
        let mut row = vec![packet.rater.to_string(), item.item_id.clone()];
        row.resize(columns.len(), String::new());
        writer.write_record(&row).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// The packet as JSON, for programmatic raters (and the simulated ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketJson {
    pub format: u32,
    pub rater: String,
    pub packet_id: String,
    pub instructions: String,
    pub rubric: Rubric,
    pub csv_columns: Vec<String>,
    pub items: Vec<Item>,
    /// Which part of the rater's packet this is; absent for a whole packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<PartOf>,
}

pub fn packet_json(packet: &Packet<'_>, rubric: &Rubric) -> PacketJson {
    PacketJson {
        format: 1,
        rater: packet.rater.to_string(),
        packet_id: packet.packet_id.to_string(),
        instructions: instructions(rubric).to_string(),
        rubric: rubric.clone(),
        csv_columns: csv_columns(rubric),
        items: packet.items.iter().map(|i| (*i).clone()).collect(),
        part: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    #[test]
    fn raw_html_from_a_model_is_inert_text() {
        let html = render_markdown(
            "Hi <script>alert(1)</script> and <img src=x onerror=alert(2)>\n\n<iframe src=\"https://evil\"></iframe>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<iframe"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("onerror"), "shown as text: {html}");
    }

    #[test]
    fn images_and_links_lose_their_power_but_not_their_information() {
        let html = render_markdown(
            "See ![chart](https://tracker.example/p.png) and [the law](https://laws.example/act).",
        );
        assert!(!html.contains("<img") && !html.contains("<a "), "{html}");
        assert!(
            html.contains("[image: https://tracker.example/p.png — chart]"),
            "{html}"
        );
        assert!(
            html.contains("[https://laws.example/act] the law"),
            "{html}"
        );
    }

    #[test]
    fn markdown_structure_survives() {
        let html = render_markdown(
            "### Claims\n\n1. **First** claim\n2. `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        for tag in ["<h3>", "<ol>", "<strong>", "<code>", "<table>", "<td>"] {
            assert!(html.contains(tag), "{tag} in {html}");
        }
    }

    fn sample_items() -> Vec<Item> {
        vec![Item {
            item_id: "K7QX-2M9P".into(),
            turns: vec![
                Turn {
                    role: Role::User,
                    content: "Is it safe?".into(),
                },
                Turn {
                    role: Role::Assistant,
                    content: "Mostly. <script>x()</script>".into(),
                },
            ],
        }]
    }

    /// r1's packet P1 of `items`.
    fn packet_of(items: &[Item]) -> Packet<'_> {
        Packet {
            rater: "r1",
            packet_id: "P1",
            items: items.iter().collect(),
        }
    }

    #[test]
    fn csv_sheet_has_the_import_header_and_one_row_per_item() {
        let rubric = defaults::study().unwrap().rubric;
        let items = sample_items();
        let packet = packet_of(&items);
        let text = String::from_utf8(render_csv(&packet, &rubric)).unwrap();
        assert_eq!(
            text,
            "rater,item_id,verification_support,process_steerability,uncertainty_disclosure,helpfulness,comment,identity_guess\n\
             r1,K7QX-2M9P,,,,,,\n"
        );
    }

    #[test]
    fn html_form_is_self_contained_with_a_hash_csp() {
        let rubric = defaults::study().unwrap().rubric;
        let items = sample_items();
        let packet = packet_of(&items);
        let html = String::from_utf8(render_html(&packet, &rubric)).unwrap();
        assert!(
            html.contains("default-src &#x27;none&#x27;"),
            "the CSP, entity-escaped in its attribute"
        );
        assert!(
            html.contains(&format!("<script>{FORM_JS}</script>")),
            "script emitted byte for byte"
        );
        assert!(!html.contains("<script>x()"), "transcript script is inert");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no remote references"
        );
        assert!(html.contains("K7QX-2M9P"));
        assert!(
            html.contains(&rubric.dimensions[0].levels[0].anchor.replace('"', "&quot;"))
                || html.contains("Nothing in the conversation")
        );
    }

    #[test]
    fn script_json_cannot_close_its_block() {
        assert_eq!(
            json_for_script(&"</script><b>&"),
            "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\""
        );
    }
}
