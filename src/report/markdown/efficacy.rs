//! The "Efficacy by dimension" section: cell means and shares at the top level, effects with
//! their tests and verdicts (and why a verdict is missing), the interaction test, single-rater
//! sensitivity; and the methods paragraph that says for every interval and verdict what it
//! rests on.

use std::fmt::Write as _;

use super::{Align, Flavor, Left, Right, SAME, figure, find_effect, table, unreliable_flag};
use crate::analyze::results::{DimensionResults, StudyResults, trim_number};
use crate::report::format::{
    NA, count, effect, estimate, estimate_prose, level, md, p_value, range, tost_level,
};
use crate::report::html::FigureKind;

pub(super) fn efficacy(out: &mut String, r: &StudyResults, flavor: Flavor) {
    out.push_str("## Efficacy by dimension\n\n");
    methods(out, r);
    for d in &r.dimensions {
        efficacy_dimension(out, r, d, flavor);
    }
}

/// One paragraph that says, for every interval and verdict of the section, its unit, method,
/// simulated coverage, multiplicity family and minimum data (docs/statistics.md has the rest).
fn methods(out: &mut String, r: &StudyResults) {
    let ci = level(r.confidence);
    let tost = tost_level(r.confidence);
    let family = match r.family.as_str() {
        "study" => "every model × scaffold effect of every dimension together".to_string(),
        _ => format!(
            "each dimension's model × scaffold effects (the {} effects of {} being the \
             confirmatory family)",
            count(r.models.len() * r.scaffolds.len().saturating_sub(1)),
            md(&r.primary)
        ),
    };
    let _ = writeln!(
        out,
        "**How to read these tables.** Prompts are the independent unit: a prompt's transcripts \
         (its repeats) are averaged first, and every mean, share and effect is a mean over \
         prompts, each transcript scored as the mean of its human raters. A mean (and a share at \
         the top level, where every rater gave the top level) has a {ci} bounded Wilson–t \
         interval over prompts; an effect (and a change in that share) is the mean paired \
         difference against {} over prompts rated under both, with a {ci} MOVER interval. In \
         seeded simulations with 15 prompts on 0–2 ratings both covered at least 94% at \
         nominal 95% (docs/statistics.md). p is the two-sided test of no effect; the TOST \
         tests equivalence within the margin with its {tost} interval; both p-values are \
         adjusted (Holm, with Shaffer's constraint that an effect cannot be both zero and \
         beyond the margin) over one family: {family}. A verdict claims a change or \
         equivalence only where the adjusted p is below {}; a change smaller than the margin \
         says both. With fewer than {} prompts (pairs), or with no variation at all, there is \
         no interval and no verdict, and a note says why.\n",
        md(&r.baseline),
        p_value(Some(1.0 - r.confidence)),
        count(r.min_prompts.max(2) as usize),
    );
}

fn efficacy_dimension(out: &mut String, r: &StudyResults, d: &DimensionResults, flavor: Flavor) {
    let ci = level(r.confidence);
    let tost = tost_level(r.confidence);
    let _ = writeln!(out, "### {}\n", md(&d.id));
    if !d.question.trim().is_empty() {
        let _ = writeln!(out, "> {}\n", md(d.question.trim()));
    }
    let a = &d.agreement;
    let flag = if a.unreliable {
        format!(
            " **{}**: the raters did not agree well enough for these results to carry a claim.",
            unreliable_flag()
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "Scale {} ({}); equivalence margin ±{}. Krippendorff's α = {}.{flag}\n",
        range(d.min, d.max),
        md(&d.scale),
        crate::analyze::results::trim_number(d.margin),
        estimate_prose(&a.krippendorff_alpha, 3, r.confidence),
    );

    figure(
        out,
        FigureKind::Heatmap,
        &d.id,
        &format!("Mean {} by model and scaffold", d.id),
        flavor,
    );
    let rows: Vec<Vec<String>> = d
        .cells
        .iter()
        .map(|c| {
            vec![
                md(&c.model),
                md(&c.scaffold),
                format!("{} ({})", count(c.n), count(c.n_prompts)),
                estimate(&c.mean, 2),
                estimate(&c.ceiling_share, 2),
            ]
        })
        .collect();
    let mean_header = format!("Mean [{ci} CI]");
    let ceiling_header = format!("At top level [{ci} CI]");
    table(
        out,
        &[
            ("Model", Left),
            ("Scaffold", Left),
            ("n (prompts)", Right),
            (&mean_header, Right),
            (&ceiling_header, Right),
        ],
        &rows,
    );
    notes(
        out,
        d.cells
            .iter()
            .filter_map(|c| Some((format!("{} / {}", c.model, c.scaffold), c.note.as_ref()?))),
    );

    figure(
        out,
        FigureKind::Effects,
        &d.id,
        &format!("Effects on {} versus {}", d.id, r.baseline),
        flavor,
    );
    if d.effects.is_empty() {
        out.push_str("No effects versus baseline could be estimated.\n\n");
    } else {
        let rows: Vec<Vec<String>> = d
            .effects
            .iter()
            .map(|e| {
                vec![
                    md(&e.model),
                    md(&e.scaffold),
                    count(e.n_pairs),
                    effect(&e.effect),
                    adjusted_p(e.p_value, e.p_adjusted),
                    crate::report::format::interval(e.tost_ci.ci_low, e.tost_ci.ci_high, 2),
                    adjusted_p(e.tost_p, e.tost_p_adjusted),
                    md(&e.label_text),
                    effect(&e.ceiling_change),
                ]
            })
            .collect();
        let effect_header = format!("Effect [{ci} CI]");
        let ceiling_header = format!("Δ share at top [{ci} CI]");
        let tost_header = format!("TOST {tost} CI");
        table(
            out,
            &[
                ("Model", Left),
                ("Scaffold", Left),
                ("Pairs", Right),
                (&effect_header, Right),
                ("p (adjusted)", Right),
                (&tost_header, Right),
                ("TOST p (adjusted)", Right),
                ("Verdict", Left),
                (&ceiling_header, Right),
            ],
            &rows,
        );
        notes(
            out,
            d.effects
                .iter()
                .filter_map(|e| Some((format!("{} / {}", e.model, e.scaffold), e.note.as_ref()?))),
        );
        let _ = writeln!(
            out,
            "Equivalence margin ±{}: \"equivalent\" needs the adjusted TOST p below {} (the \
             {tost} TOST interval inside the margin, and the family's adjustment passed).\n",
            trim_number(d.margin),
            p_value(Some(1.0 - r.confidence)),
        );
    }

    super::interaction::tests(out, d);
    super::interaction::kinds(out, d);

    sensitivity(out, d);
}

fn sensitivity(out: &mut String, d: &DimensionResults) {
    if d.sensitivity.is_empty() {
        out.push_str("**Single-rater sensitivity.** Not available for this dimension.\n\n");
        return;
    }
    // Rows in the order of the main effects, then anything only a rater's analysis has.
    let mut keys: Vec<(String, String)> = d
        .effects
        .iter()
        .map(|e| (e.model.clone(), e.scaffold.clone()))
        .collect();
    for s in &d.sensitivity {
        for (m, sc, _, _) in &s.labels {
            if !keys.iter().any(|(km, ks)| km == m && ks == sc) {
                keys.push((m.clone(), sc.clone()));
            }
        }
    }
    let mut differing = 0;
    let mut total = 0;
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(model, scaffold)| {
            let mut row = vec![
                md(model),
                md(scaffold),
                find_effect(d, model, scaffold)
                    .map(|e| md(&e.label_text))
                    .unwrap_or_else(|| NA.to_string()),
            ];
            for s in &d.sensitivity {
                let cell = s
                    .labels
                    .iter()
                    .find(|(m, sc, _, _)| m == model && sc == scaffold)
                    .map(|(_, _, text, same)| {
                        total += 1;
                        if *same {
                            SAME.to_string()
                        } else {
                            differing += 1;
                            format!("**{}**", md(text))
                        }
                    })
                    .unwrap_or_else(|| NA.to_string());
                row.push(cell);
            }
            row
        })
        .collect();
    let summary = if differing == 0 {
        format!(
            "all {} single-rater verdicts agree with the pooled ones",
            count(total)
        )
    } else {
        format!(
            "{} of {} single-rater verdicts {} from the pooled one (shown in bold; \"{SAME}\" \
             marks agreement)",
            count(differing),
            count(total),
            if differing == 1 { "differs" } else { "differ" }
        )
    };
    let _ = writeln!(
        out,
        "**Single-rater sensitivity.** The verdicts recomputed from each rater's scores alone: \
         {summary}.\n"
    );
    let rater_headers: Vec<String> = d.sensitivity.iter().map(|s| md(&s.rater)).collect();
    let mut header: Vec<(&str, Align)> = vec![
        ("Model", Left),
        ("Scaffold", Left),
        ("Pooled (all raters)", Left),
    ];
    header.extend(rater_headers.iter().map(|h| (h.as_str(), Left)));
    table(out, &header, &rows);
}

/// "0.0123 (0.0480)": a p-value and its adjusted value.
fn adjusted_p(p: Option<f64>, adjusted: Option<f64>) -> String {
    match (p, adjusted) {
        (None, _) => NA.to_string(),
        (Some(_), None) => p_value(p),
        (Some(_), Some(_)) => format!("{} ({})", p_value(p), p_value(adjusted)),
    }
}

/// Notes below a table: why an interval or a verdict is missing, or what the adjustment changed.
fn notes<'a>(out: &mut String, notes: impl Iterator<Item = (String, &'a String)>) {
    let mut any = false;
    for (what, note) in notes {
        let _ = writeln!(out, "- {}: {}", md(&what), md(note));
        any = true;
    }
    if any {
        out.push('\n');
    }
}
