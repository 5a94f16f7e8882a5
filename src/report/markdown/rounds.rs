//! The "Rounds, drift and adjudication" section: which comparisons cross rounds, how far the
//! raters drifted on the anchor items (per round, per rater, with intra-rater agreement), what
//! the drift-adjusted analysis gives for the cross-round effects, and how many items were
//! adjudicated and what the plan's rule changed.

use std::fmt::Write as _;

use super::{Left, Right, table};
use crate::analyze::results::{Bound, StudyResults};
use crate::report::format::{count, effect, level, md, percent};

/// The mark beside every effect whose scaffold and baseline were rated in different rounds.
pub(crate) const CROSS_ROUND_MARK: &str = "†";

pub(super) fn rounds(out: &mut String, r: &StudyResults) {
    let Some(a) = &r.rounds_analysis else {
        return;
    };
    out.push_str("## Rounds, drift and adjudication\n\n");
    let ci = level(r.confidence);
    if a.cross_round.is_empty() {
        out.push_str("Every effect compares ratings made in the same round.\n\n");
    } else {
        let _ = writeln!(
            out,
            "{} effect{} compare{} ratings made in different rounds (marked {CROSS_ROUND_MARK} in \
             the tables and figures): {}. Raters may judge differently weeks apart, and a round that \
             holds a new condition tells its raters something about it, so these effects mix the \
             scaffold with the round.\n",
            count(a.cross_round.len()),
            if a.cross_round.len() == 1 { "" } else { "s" },
            if a.cross_round.len() == 1 { "s" } else { "" },
            a.cross_round
                .iter()
                .map(|(m, s)| format!("{} / {}", md(m), md(s)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if a.drift.is_empty() {
        if !a.cross_round.is_empty() {
            out.push_str(
                "No round holds anchor items, so the drift between rounds cannot be measured; \
                 `blind --anchors N` mixes earlier transcripts into a later round for that.\n\n",
            );
        }
    } else {
        let _ = writeln!(
            out,
            "**Drift on anchor items.** Anchor items are transcripts rated in an earlier round and \
             blinded again, under fresh ids, among a later round's items. The change is the later \
             rating minus the earlier one (a rater's own earlier rating where there is one — \
             drift —, else the earlier raters' mean — calibration of a new rater), averaged within \
             prompts, then over prompts, with a t interval over prompts ({ci}). Anchor ratings \
             count only here and in test–retest agreement, never in means.\n"
        );
        let rows: Vec<Vec<String>> = a
            .drift
            .iter()
            .flat_map(|d| {
                std::iter::once(vec![
                    md(&d.round),
                    md(&d.dimension),
                    "all raters".to_string(),
                    format!("{} ({})", count(d.n_items), count(d.n_prompts)),
                    effect(&d.mean_change),
                    String::new(),
                ])
                .chain(d.per_rater.iter().map(|p| {
                    vec![
                        String::new(),
                        String::new(),
                        md(&p.rater),
                        format!("{} own + {} new", count(p.n_same), count(p.n_new)),
                        effect(&p.mean_change),
                        p.same_agreement
                            .map_or_else(String::new, |x| percent(Some(x))),
                    ]
                }))
            })
            .collect();
        let change_header = format!("Mean change [{ci} CI]");
        table(
            out,
            &[
                ("Round", Left),
                ("Dimension", Left),
                ("Rater", Left),
                ("Anchors (prompts)", Right),
                (&change_header, Right),
                ("Same rating again", Right),
            ],
            &rows,
        );
        out.push_str(
            "\"Same rating again\" is the share of a rater's own earlier ratings given again \
             exactly (intra-rater agreement); test–retest α is in the agreement section.\n\n",
        );
        if !a.adjusted_effects.is_empty() {
            let shifts: Vec<String> = a
                .drift
                .iter()
                .filter(|d| d.dimension == r.primary)
                .filter_map(|d| {
                    d.latent_shift
                        .map(|s| format!("{} {s:+.2} logits", md(&d.round)))
                })
                .collect();
            let _ = writeln!(
                out,
                "**Drift-adjusted effects** ({}; also a specification of the specification curve): \
                 each drifted round's ratings put back on the first round's scale by a \
                 cumulative-link model of every rating with a shift per round, measured within the \
                 anchor transcripts ({}). A rating moves by what that shift does at its \
                 condition's place on the scale, so a condition at the floor or the ceiling moves \
                 less than one in the middle.\n",
                md(&r.primary),
                if shifts.is_empty() {
                    "no round linked to the first".to_string()
                } else {
                    shifts.join(", ")
                }
            );
            let rows: Vec<Vec<String>> = a
                .adjusted_effects
                .iter()
                .map(|e| {
                    vec![
                        md(&e.model),
                        format!("{} {CROSS_ROUND_MARK}", md(&e.scaffold)),
                        effect(&e.registered),
                        md(&e.label_registered),
                        match e.bound {
                            None => effect(&e.adjusted),
                            Some(Bound::AtLeast) => format!("at least {}", effect(&e.adjusted)),
                            Some(Bound::AtMost) => format!("at most {}", effect(&e.adjusted)),
                            Some(Bound::Neither) => format!("unknown ({})", effect(&e.adjusted)),
                        },
                        md(&e.label_adjusted),
                    ]
                })
                .collect();
            let registered = format!("Registered [{ci} CI]");
            let adjusted = format!("Drift-adjusted [{ci} CI]");
            table(
                out,
                &[
                    ("Model", Left),
                    ("Scaffold", Left),
                    (&registered, Right),
                    ("Verdict", Left),
                    (&adjusted, Right),
                    ("Verdict", Left),
                ],
                &rows,
            );
            if a.adjusted_effects.iter().any(|e| e.bound.is_some()) {
                out.push_str(
                    "\"At least\" and \"at most\": every rating of one side of the comparison in \
                     a drifted round sits at the end of the scale the raters drifted toward, so how \
                     far it moved cannot be measured; the drift-adjusted value is then only a bound \
                     on the drift-free effect (\"unknown\": both sides, in opposite directions). \
                     More anchors do not help; a round rated again by steady raters does.\n\n",
                );
            }
        }
    }
    if let Some(adj) = &a.adjudication {
        let _ = writeln!(
            out,
            "**Adjudication.** {} item{} whose raters disagreed went to a rater who had not seen \
             {} (round{} {}); the plan scores them by {}. On {}, the rule changed {} of the \
             effects{}\n",
            count(adj.n_items),
            if adj.n_items == 1 { "" } else { "s" },
            if adj.n_items == 1 { "it" } else { "them" },
            if adj.rounds.len() == 1 { "" } else { "s" },
            adj.rounds
                .iter()
                .map(|s| md(s))
                .collect::<Vec<_>>()
                .join(", "),
            if adj.rule == "median" {
                "the median of every rating of the item (the median of three)"
            } else {
                "the adjudicator's rating"
            },
            md(&r.primary),
            count(adj.changes.len()),
            if adj.changes.is_empty() { "." } else { ":" }
        );
        if !adj.changes.is_empty() {
            let rows: Vec<Vec<String>> = adj
                .changes
                .iter()
                .map(|c| {
                    let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:+.2}"));
                    vec![
                        md(&c.model),
                        md(&c.scaffold),
                        show(c.without),
                        md(&c.label_without),
                        show(c.with),
                        md(&c.label_with),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    ("Model", Left),
                    ("Scaffold", Left),
                    ("Without adjudication", Right),
                    ("Verdict", Left),
                    ("With (the plan's rule)", Right),
                    ("Verdict", Left),
                ],
                &rows,
            );
        }
    }
}
