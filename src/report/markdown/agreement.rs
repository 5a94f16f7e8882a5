//! The "Raters and agreement" section: coverage, agreement per dimension with Krippendorff's
//! reading judged on the interval, rater pairs, judges as extra coders, test–retest.

use std::fmt::Write as _;

use super::{ALPHA_FLOOR, Flavor, Left, Right, ids, plural, stacked_table, table, unreliable_flag};
use crate::analyze::results::{Agreement, StudyResults};
use crate::report::format::{count, estimate, fixed, level, md, percent};

/// The reliability column: Krippendorff's reading of the interval, flagged when alpha is not
/// shown to reach 0.667.
pub(crate) fn reliability_text(a: &Agreement) -> String {
    let reading = a.reliability.map_or("no interval", |r| r.text());
    if a.unreliable {
        format!("**{}**: {reading}", unreliable_flag())
    } else {
        reading.to_string()
    }
}

pub(super) fn agreement(out: &mut String, r: &StudyResults, flavor: Flavor) {
    out.push_str("## Raters and agreement\n\n");
    let _ = writeln!(
        out,
        "{} ({}) rated {} ({}).{}\n",
        plural(r.raters.len(), "human rater", "human raters"),
        ids(&r.raters),
        plural(r.n_items, "transcript", "transcripts"),
        plural(r.n_ratings, "rating", "ratings"),
        if r.n_rerated > 0 {
            format!(
                " {} rated again by the same rater in a later round: every analysis counts \
                 each (transcript, rater) once, with the rating from the earliest-blinded round, \
                 and the later ratings give the test–retest reliability below.",
                plural(r.n_rerated, "transcript was", "transcripts were")
            )
        } else {
            String::new()
        }
    );
    if !r.coverage.per_rater.is_empty() {
        let rows: Vec<Vec<String>> = r
            .coverage
            .per_rater
            .iter()
            .map(|(rater, &(assigned, rated))| {
                let share = (assigned > 0).then(|| rated as f64 / assigned as f64);
                vec![md(rater), count(assigned), count(rated), percent(share)]
            })
            .collect();
        table(
            out,
            &[
                ("Rater", Left),
                ("Assigned", Right),
                ("Rated", Right),
                ("Share", Right),
            ],
            &rows,
        );
    }
    let short: Vec<String> = r
        .coverage
        .per_condition
        .iter()
        .filter(|(_, (expected, present))| present < expected)
        .map(|(condition, (expected, present))| {
            format!(
                "{}: {} of {}",
                md(condition),
                count(*present),
                count(*expected)
            )
        })
        .collect();
    if r.coverage.complete && short.is_empty() {
        out.push_str("Coverage is complete: every assigned item was rated.\n\n");
    } else if short.is_empty() {
        out.push_str(
            "Coverage is incomplete: some assigned items were not rated, although every \
             model/scaffold condition has its expected number of ratings.\n\n",
        );
    } else {
        let _ = writeln!(
            out,
            "Coverage is incomplete: {} of {} model/scaffold conditions are missing ratings \
             ({}). Estimates use the ratings present.\n",
            count(short.len()),
            count(r.coverage.per_condition.len()),
            short.join("; ")
        );
    }

    let ci = level(r.confidence);
    let rows: Vec<Vec<String>> = r
        .dimensions
        .iter()
        .map(|d| {
            let a = &d.agreement;
            vec![
                md(&d.id),
                md(&a.level),
                count(a.n_units),
                estimate(&a.percent_agreement, 3),
                estimate(&a.krippendorff_alpha, 3),
                estimate(&a.fleiss_kappa, 3),
                reliability_text(a),
            ]
        })
        .collect();
    let headers = [
        format!("Observed agreement [{ci} CI]"),
        format!("Krippendorff's α [{ci} CI]"),
        format!("Fleiss' κ [{ci} CI]"),
    ];
    stacked_table(
        out,
        flavor,
        &[
            ("Dimension", Left),
            ("α metric", Left),
            ("Units", Right),
            (&headers[0], Right),
            (&headers[1], Right),
            (&headers[2], Right),
            ("Reliability", Left),
        ],
        &rows,
    );
    let _ = writeln!(
        out,
        "Reliability follows Krippendorff (2004), judged on α's {ci} interval rather than its \
         point estimate: reliable when the whole interval is at or above 0.800, tentative when \
         it lies within {ALPHA_FLOOR}–0.800, unreliable when it lies below {ALPHA_FLOOR}, \
         uncertain when it straddles a threshold. A dimension whose interval reaches below \
         {ALPHA_FLOOR} is flagged: its results are reported below but should not carry a claim. \
         Every interval of this section is a percentile bootstrap that resamples prompts (a \
         prompt's transcripts together), {} resamples. Fleiss' κ is n/a where transcripts had \
         unequal numbers of raters.\n",
        count(r.resamples as usize)
    );

    let pair_rows: Vec<Vec<String>> = r
        .dimensions
        .iter()
        .flat_map(|d| {
            d.agreement.pairs.iter().map(move |p| {
                vec![
                    md(&d.id),
                    format!("{} – {}", md(&p.rater_a), md(&p.rater_b)),
                    count(p.n),
                    fixed(p.percent_agreement, 3),
                    estimate(&p.cohen_kappa, 3),
                    estimate(&p.weighted_kappa_linear, 3),
                    estimate(&p.weighted_kappa_quadratic, 3),
                ]
            })
        })
        .collect();
    if !pair_rows.is_empty() {
        out.push_str("### Rater pairs\n\n");
        let headers = [
            format!("Cohen's κ [{ci} CI]"),
            format!("Weighted κ, linear [{ci} CI]"),
            format!("Weighted κ, quadratic [{ci} CI]"),
        ];
        stacked_table(
            out,
            flavor,
            &[
                ("Dimension", Left),
                ("Raters", Left),
                ("Shared items", Right),
                ("Agreement", Right),
                (&headers[0], Right),
                (&headers[1], Right),
                (&headers[2], Right),
            ],
            &pair_rows,
        );
    }

    let judge_rows: Vec<Vec<String>> = r
        .dimensions
        .iter()
        .flat_map(|d| {
            d.agreement.judges.iter().map(move |j| {
                vec![
                    md(&d.id),
                    md(&j.judge),
                    count(j.n),
                    estimate(&j.krippendorff_alpha, 3),
                    fixed(j.weighted_kappa_quadratic, 3),
                    fixed(j.human_alpha, 3),
                ]
            })
        })
        .collect();
    if !judge_rows.is_empty() {
        out.push_str("### Automated judges beside the human raters\n\n");
        out.push_str(
            "The judge joins the human raters as one more coder on the transcripts it rated \
             (each transcript one unit, its judge rating counted once). A judge can stand in for \
             human raters only where adding it leaves α about where the humans alone have it on \
             the same transcripts. Quadratic κ: the judge against each human on the transcripts \
             both rated, averaged over the humans.\n\n",
        );
        let header = format!("α humans + judge [{ci} CI]");
        table(
            out,
            &[
                ("Dimension", Left),
                ("Judge", Left),
                ("Transcripts", Right),
                (&header, Right),
                ("Quadratic κ", Right),
                ("α humans only", Right),
            ],
            &judge_rows,
        );
    }

    let retest_rows: Vec<Vec<String>> = r
        .dimensions
        .iter()
        .filter_map(|d| {
            let t = d.agreement.test_retest.as_ref()?;
            Some(vec![
                md(&d.id),
                count(t.n_units),
                count(t.n_raters),
                fixed(t.percent_agreement, 3),
                estimate(&t.krippendorff_alpha, 3),
            ])
        })
        .collect();
    if !retest_rows.is_empty() {
        out.push_str("### Test–retest (the same rater, later rounds)\n\n");
        out.push_str(
            "Each (transcript, rater) rated in more than one round is a unit whose values are \
             that rater's ratings of it; α at the dimension's level measures how consistently \
             raters rate the same transcript again.\n\n",
        );
        let header = format!("α [{ci} CI]");
        table(
            out,
            &[
                ("Dimension", Left),
                ("Units", Right),
                ("Raters", Right),
                ("Agreement", Right),
                (&header, Right),
            ],
            &retest_rows,
        );
    }
}
