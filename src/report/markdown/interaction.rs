//! The interaction evidence of a dimension: the robust observed-scale test, the latent-scale
//! (cumulative-link) test, and the kind of interaction of every pair of models under every
//! scaffold, with the one rule that says which kinds no rescaling of the scale can remove.

use std::fmt::Write as _;

use super::{Left, interaction_p_text, plural, table};
use crate::analyze::interaction::{InteractionKind, NON_REMOVABLE_RULE};
use crate::analyze::results::DimensionResults;
use crate::report::format::{count, fixed, md, p_value};

/// The two tests of one dimension, as the efficacy section gives them.
pub(super) fn tests(out: &mut String, d: &DimensionResults) {
    match &d.interaction {
        Some(i) => {
            let draws = if i.exact {
                format!(
                    "all {} sign flips enumerated, so p is exact",
                    count(i.permutations)
                )
            } else {
                format!("{} random sign flips", count(i.permutations))
            };
            let _ = write!(
                out,
                "**Model × scaffold interaction, observed scale.** Studentised test of the \
                 interaction contrasts of {} ({} {}), referred to their sign-flip distribution \
                 with whole prompts flipped ({draws}), which holds its size when models differ \
                 in noise: statistic {}, {}.",
                plural(i.blocks_used, "prompt block", "prompt blocks"),
                i.df,
                if i.df == 1 { "contrast" } else { "contrasts" },
                fixed(Some(i.statistic), 2),
                interaction_p_text(i),
            );
            if i.blocks_dropped > 0 {
                let _ = write!(
                    out,
                    " {} left out because a model × scaffold cell had no score.",
                    plural(i.blocks_dropped, "prompt was", "prompts were"),
                );
            }
            if !i.exact && crate::report::format::at_permutation_floor(i.p_value, i.permutations) {
                let _ = write!(
                    out,
                    " No sign flip reached the observed statistic; with {} flips the smallest \
                     attainable p is 1/{}.",
                    count(i.permutations),
                    count(i.permutations + 1)
                );
            }
            out.push_str("\n\n");
        }
        None => out.push_str(
            "**Model × scaffold interaction, observed scale.** Not tested: the test needs at \
             least two models, two scaffolds and two prompts on which every model × scaffold \
             cell has a score.\n\n",
        ),
    }
    match (&d.latent, &d.latent_note) {
        (Some(t), _) => {
            let _ = write!(
                out,
                "**Model × scaffold interaction, latent scale.** Cumulative-link (proportional \
                 odds, logit) models of the {} ratings with prompt and rater effects, one with a \
                 parameter per model × scaffold cell and one additive; their thresholds absorb \
                 any order-preserving rescaling of the levels. Likelihood ratio {} on {} df",
                count(t.n_ratings),
                fixed(Some(t.lr), 2),
                t.df,
            );
            if t.design_effect > 1.0 {
                let _ = write!(
                    out,
                    ", divided by the design effect {} of ratings clustered in transcripts",
                    fixed(Some(t.design_effect), 2)
                );
            }
            let _ = write!(out, ": χ² p {}.", p_value(Some(t.p_value)));
            if !t.empty_levels.is_empty() {
                let levels: Vec<String> = t.empty_levels.iter().map(|l| l.to_string()).collect();
                let _ = write!(
                    out,
                    " No rating used {} {} (counted from the scale's minimum); the model \
                     has thresholds only between the levels used.",
                    if levels.len() == 1 { "level" } else { "levels" },
                    levels.join(", ")
                );
            }
            if !t.separation.is_empty() {
                let _ = write!(
                    out,
                    " Separation: the estimate for {} runs off to infinity (every rating at one \
                     end of the scale), so the likelihood ratio is a supremum and its χ² \
                     reference is approximate.",
                    t.separation
                        .iter()
                        .map(|s| md(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if !t.set_aside.is_empty() {
                let _ = write!(
                    out,
                    " Set aside before fitting, because their every rating sits at one end of \
                     the scale and so adds nothing to either model: {}.",
                    t.set_aside
                        .iter()
                        .map(|s| md(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            out.push_str("\n\n");
        }
        (None, note) => {
            let _ = writeln!(
                out,
                "**Model × scaffold interaction, latent scale.** Not tested{}.\n",
                note.as_ref()
                    .map(|n| format!(": {}", md(n)))
                    .unwrap_or_default()
            );
        }
    }
}

/// The kind of interaction of every pair of models, with the rule.
pub(super) fn kinds(out: &mut String, d: &DimensionResults) {
    if d.kinds.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**Kind of interaction on {}.** {NON_REMOVABLE_RULE}\n",
        md(&d.id)
    );
    let rows: Vec<Vec<String>> = d
        .kinds
        .iter()
        .map(|k| {
            vec![
                md(&k.scaffold),
                format!("{} vs {}", md(&k.model_a), md(&k.model_b)),
                k.kind.text().to_string(),
                k.kind.reading().to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            ("Scaffold", Left),
            ("Models", Left),
            ("Kind", Left),
            ("Reading", Left),
        ],
        &rows,
    );
}

/// The kinds under the profile table: which differences between the profiles of
/// `d` survive a rescaling of its scale.
pub(super) fn profile_kinds(out: &mut String, d: &DimensionResults) {
    let decided: Vec<String> = d
        .kinds
        .iter()
        .filter(|k| k.kind != InteractionKind::Undetermined)
        .map(|k| {
            format!(
                "{} vs {} under {}: {} ({})",
                md(&k.model_a),
                md(&k.model_b),
                md(&k.scaffold),
                k.kind.text(),
                k.kind.reading()
            )
        })
        .collect();
    if d.kinds.is_empty() {
        return;
    }
    let undetermined = d.kinds.len() - decided.len();
    let _ = writeln!(
        out,
        "Kinds of interaction on {} (crossover and present vs absent are non-removable; same \
         direction, different size can be a floor or ceiling artefact): {}{}.\n",
        md(&d.id),
        if decided.is_empty() {
            "none decided".to_string()
        } else {
            decided.join("; ")
        },
        if undetermined > 0 {
            format!("; {} undetermined", plural(undetermined, "pair", "pairs"))
        } else {
            String::new()
        }
    );
}
