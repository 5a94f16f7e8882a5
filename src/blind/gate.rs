//! The leak gate: after redaction, every item is judged again by the redactor's own judgement
//! ([`Redactor::find`]) in the three forms raters get it: the source (the JSON packet, judges),
//! the rendered view (the visible text of the page, as the redactor reads it) and the text of
//! the rendered HTML itself (read independently of the redactor's view). Anything found there
//! is a leak: something the redactor could not replace (a system-prompt sentence in a user
//! turn, a name only the page itself spells). The page around the items is checked once, for
//! study-derived text (rubric, instructions, rater names) that names a model, a vendor or a
//! scaffold. No invisible character (tag, bidi, variation selector, zero-width) may remain in
//! any packet file.
//!
//! The fixed parts of the form (its `<meta>` tags, its labels such as "Assistant") are the same
//! for every item and every study, so they can tell no condition and are not scanned: a
//! `--redact meta` never trips over the page itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lexicon::{Category, is_ordinary_word};
use super::normalise::{View, invisible_class};
use super::packet::{Item, render_markdown};
use super::redact::{Finding, Redactor, TurnRole, rendered_view};
use super::visible::html_text;
use crate::provider::Role;

/// Where a leak was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// The turn's markdown, as the JSON packet and judges have it.
    Source,
    /// The visible text of the rendered turn.
    Rendered,
    /// The text of the HTML the page shows.
    Html,
    /// The page around the items (rubric, instructions, names).
    Page,
    /// A packet file, byte for byte (invisible characters).
    File,
}

/// One leak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leak {
    pub category: Category,
    /// The term (lexicon or study), fingerprint kind or character class found.
    pub term: String,
    pub seen: Seen,
    /// The item, or for the page the field (`rubric.instructions`, ...), or the file.
    pub place: String,
    /// 1-based turn of the item, when in an item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
    /// Up to 40 chars either side, the match between ⟦ and ⟧, line breaks shown as ⏎.
    pub context: String,
}

fn leaks_in(redactor: &Redactor, view: &View, role: TurnRole) -> Vec<Found> {
    redactor
        .find(view, role)
        .into_iter()
        .map(|f| {
            let context = context_around(&view.text, f.start, f.end);
            (f, context)
        })
        .collect()
}

/// A finding and its context.
type Found = (Finding, String);
/// A term as the leak report groups it.
type TermKey = (Category, String);

/// The leaks of one redacted item.
pub fn gate_item(redactor: &Redactor, item: &Item) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for (t, turn) in item.turns.iter().enumerate() {
        let role = match turn.role {
            Role::Assistant => TurnRole::Assistant,
            _ => TurnRole::User,
        };
        let html = html_text(&render_markdown(&turn.content));
        let views = [
            (Seen::Source, View::of_plain(&turn.content)),
            (Seen::Rendered, rendered_view(&turn.content)),
            (Seen::Html, View::of_plain(&html)),
        ];
        // The same leak seen in several views is one leak: per term, the leaks of the view
        // that sees it most often (the first such view).
        let mut best: BTreeMap<TermKey, (Seen, Vec<Found>)> = BTreeMap::new();
        for (seen, view) in views {
            let mut by_term: BTreeMap<(Category, String), Vec<(Finding, String)>> = BTreeMap::new();
            for (f, context) in leaks_in(redactor, &view, role) {
                by_term
                    .entry((f.category, f.label.clone()))
                    .or_default()
                    .push((f, context));
            }
            for (term, found) in by_term {
                let entry = best.entry(term).or_insert((seen, Vec::new()));
                if found.len() > entry.1.len() {
                    *entry = (seen, found);
                }
            }
        }
        let mut found: Vec<(Seen, Finding, String)> = best
            .into_values()
            .flat_map(|(seen, found)| found.into_iter().map(move |(f, c)| (seen, f, c)))
            .collect();
        found.sort_by_key(|(_, f, _)| f.start);
        for (seen, f, context) in found {
            leaks.push(Leak {
                category: f.category,
                term: f.label,
                seen,
                place: item.item_id.clone(),
                turn: Some(t + 1),
                context,
            });
        }
    }
    leaks
}

/// The leaks of the page around the items: each `(field, text)` is study-derived text every
/// rater sees. `[blinding] redact` terms that are ordinary words are not looked for here (the
/// rubric may well say "assistant").
pub fn gate_page(redactor: &Redactor, fields: &[(String, String)]) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for (field, text) in fields {
        let view = View::of_plain(text);
        for (f, context) in leaks_in(redactor, &view, TurnRole::User) {
            if f.category == Category::Extra && is_ordinary_word(&f.label) {
                continue;
            }
            leaks.push(Leak {
                category: f.category,
                term: f.label,
                seen: Seen::Page,
                place: field.clone(),
                turn: None,
                context,
            });
        }
        leaks.extend(invisible_leaks(text, Seen::Page, field));
    }
    leaks
}

/// Invisible characters left in a packet file (none should be: the redactor removes them from
/// the turns, and the page strips them from study text).
pub fn invisible_leaks(text: &str, seen: Seen, place: &str) -> Vec<Leak> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, c) in text.char_indices() {
        if let Some(class) = invisible_class(c) {
            if matches!(c, '\r') {
                continue;
            }
            let name = serde_json::to_value(class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            counts.entry(name).or_insert((i, 0)).1 += 1;
        }
    }
    counts
        .into_iter()
        .map(|(class, (first, n))| Leak {
            category: Category::TemplateToken,
            term: format!("invisible character: {class}"),
            seen,
            place: place.to_string(),
            turn: None,
            context: format!("{n} in the file, first at byte {first}"),
        })
        .collect()
}

/// `leak-report.json`: every leak, grouped by term and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakReport {
    pub format: u32,
    pub round: String,
    /// Whether `blind` refused to write the packets because of these leaks.
    pub blocked: bool,
    pub total: usize,
    pub groups: Vec<LeakGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakGroup {
    pub term: String,
    pub category: Category,
    pub count: usize,
    /// Distinct items (or page fields, files) with this leak.
    pub places: usize,
    /// Up to five of them.
    pub examples: Vec<String>,
    pub leaks: Vec<Leak>,
}

impl LeakReport {
    pub fn new(round: &str, blocked: bool, leaks: &[Leak]) -> LeakReport {
        let mut groups: BTreeMap<(String, Category), Vec<Leak>> = BTreeMap::new();
        for leak in leaks {
            groups
                .entry((leak.term.clone(), leak.category))
                .or_default()
                .push(leak.clone());
        }
        let mut groups: Vec<LeakGroup> = groups
            .into_iter()
            .map(|((term, category), leaks)| {
                let mut places: Vec<String> = Vec::new();
                for l in &leaks {
                    if !places.contains(&l.place) {
                        places.push(l.place.clone());
                    }
                }
                LeakGroup {
                    term,
                    category,
                    count: leaks.len(),
                    places: places.len(),
                    examples: places.into_iter().take(5).collect(),
                    leaks,
                }
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.term.cmp(&b.term)));
        LeakReport {
            format: 1,
            round: round.to_string(),
            blocked,
            total: leaks.len(),
            groups,
        }
    }

    /// A few lines for the terminal: the largest groups.
    pub fn summary(&self, max_groups: usize) -> String {
        let mut out = String::new();
        for g in self.groups.iter().take(max_groups) {
            out.push_str(&format!(
                "\n  {} '{}': {} time{} in {} place{} (e.g. {}): {}",
                g.category,
                g.term,
                g.count,
                if g.count == 1 { "" } else { "s" },
                g.places,
                if g.places == 1 { "" } else { "s" },
                g.examples.join(", "),
                g.leaks[0].context
            ));
        }
        if self.groups.len() > max_groups {
            out.push_str(&format!(
                "\n  ... and {} more terms",
                self.groups.len() - max_groups
            ));
        }
        out
    }
}

fn context_around(text: &str, start: usize, end: usize) -> String {
    const WIDTH: usize = 40;
    let before: Vec<char> = text[..start].chars().rev().take(WIDTH + 1).collect();
    let after: Vec<char> = text[end..].chars().take(WIDTH + 1).collect();
    let mut out = String::new();
    if before.len() > WIDTH {
        out.push('…');
    }
    out.extend(before.iter().take(WIDTH).rev());
    out.push('⟦');
    out.push_str(&text[start..end]);
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
