//! The specification curve of the primary dimension: the headline scaffold's verdicts and a
//! registered contrast between two models, recomputed under every combination of the analysis
//! choices the plan lists (aggregation of raters, scale, low-agreement items, failed cells).
//!
//! Both the target and the choices come from the plan, registered before any rating: choosing
//! the contrast after seeing the data (say, the most and the least responsive model) would make
//! the curve confirm whatever the data showed.

use super::efficacy::{self, Efficacy};
use super::results::*;
use super::study::{Aggregation, CONSENSUS, Context, Spec};
use crate::study::{Dimension, Scale};

pub(super) fn spec_curve(
    ctx: &Context<'_>,
    dim: &Dimension,
    scaffold: usize,
    main: &Efficacy,
    others: &[Option<f64>],
) -> Option<SpecCurveResult> {
    let plan = &ctx.input.plan;
    let scaffold_id = &ctx.scaffolds[scaffold];
    let (declared, pair) = match &plan.contrast {
        Some(c) if c.len() == 2 => (true, (c[0].clone(), c[1].clone())),
        _ => (
            false,
            (ctx.models.first()?.clone(), ctx.models.get(1)?.clone()),
        ),
    };
    let a = Context::index(&ctx.models, &pair.0)?;
    let b = Context::index(&ctx.models, &pair.1)?;
    let registered: Vec<&EffectResult> = ctx
        .models
        .iter()
        .filter_map(|m| {
            main.effects
                .iter()
                .find(|e| &e.model == m && &e.scaffold == scaffold_id)
        })
        .collect();

    let chosen = &plan.specifications;
    let mut aggregations = Vec::new();
    for option in &chosen.aggregation {
        match option.as_str() {
            "mean" => aggregations.push(Aggregation::Mean),
            "median" => aggregations.push(Aggregation::Median),
            "each-rater" => {
                aggregations.extend(ctx.humans.iter().map(|h| Aggregation::Rater(h.clone())))
            }
            "consensus" if ctx.observations.iter().any(|o| o.rater == CONSENSUS) => {
                aggregations.push(Aggregation::Rater(CONSENSUS.into()))
            }
            _ => {}
        }
    }
    let mut thresholds: Vec<Option<f64>> = vec![None];
    if dim.scale == Scale::Ordinal && chosen.scale.iter().any(|s| s == "binarised") {
        thresholds.extend(dim.levels.iter().skip(1).map(|l| Some(l.value as f64)));
    }
    let low_agreement: Vec<bool> = chosen
        .low_agreement
        .iter()
        .map(|o| o == "excluded")
        .collect();
    let failed: Vec<bool> = chosen.failed_cells.iter().map(|o| o == "lowest").collect();
    // Rounds with anchors measured their drift: the drift-adjusted analysis is one more choice.
    let drift: Vec<bool> = if ctx.drift.is_empty() {
        vec![false]
    } else {
        vec![false, true]
    };

    let mut specifications = Vec::new();
    for aggregation in &aggregations {
        for threshold in &thresholds {
            for &exclude_low_agreement in &low_agreement {
                for (&intention_to_treat, &drift_adjusted) in failed
                    .iter()
                    .flat_map(|f| drift.iter().map(move |d| (f, d)))
                {
                    let spec = Spec {
                        aggregation: aggregation.clone(),
                        threshold: *threshold,
                        exclude_low_agreement,
                        intention_to_treat,
                        adjudicated: true,
                        drift_adjusted,
                    };
                    let mut out = vec![efficacy::efficacy(ctx, dim, &spec)];
                    efficacy::adjust_with(&mut out, others, plan);
                    let here = |model: &str| {
                        out[0]
                            .effects
                            .iter()
                            .find(|e| e.model == model && &e.scaffold == scaffold_id)
                    };
                    let changes: Vec<String> = registered
                        .iter()
                        .filter_map(|r| match here(&r.model) {
                            Some(e) if e.label == r.label => None,
                            Some(e) => Some(format!(
                                "{}: {} (registered: {})",
                                e.model, e.label_text, r.label_text
                            )),
                            None => Some(format!(
                                "{}: no estimate (registered: {})",
                                r.model, r.label_text
                            )),
                        })
                        .collect();
                    let scores = ctx.scores(dim, &spec);
                    let estimate = efficacy::contrast(
                        &scores,
                        (a, b),
                        scaffold,
                        ctx.baseline,
                        spec.bounds(dim),
                        plan,
                    );
                    specifications.push(SpecResult {
                        choices: vec![
                            ("aggregation".into(), aggregation.describe()),
                            (
                                "scale".into(),
                                threshold.map_or("raw scores".into(), |t| {
                                    format!("binarised at >= {t}")
                                }),
                            ),
                            (
                                "low-agreement items".into(),
                                if exclude_low_agreement {
                                    "excluded"
                                } else {
                                    "included"
                                }
                                .into(),
                            ),
                            (
                                "failed cells".into(),
                                if intention_to_treat {
                                    "lowest score (ITT)"
                                } else {
                                    "excluded"
                                }
                                .into(),
                            ),
                        ]
                        .into_iter()
                        .chain(drift_adjusted.then(|| {
                            ("rounds".into(), "drift-adjusted (anchor items)".to_string())
                        }))
                        .collect(),
                        estimate,
                        label: ctx
                            .models
                            .first()
                            .and_then(|m| here(m))
                            .and_then(|e| e.label),
                        keeps_conclusion: changes.is_empty(),
                        changes,
                        is_registered: spec == Spec::registered(),
                    });
                }
            }
        }
    }
    let keeping = specifications.iter().filter(|s| s.keeps_conclusion).count();
    Some(SpecCurveResult {
        target: format!(
            "effect of {} vs {}: {} minus {}",
            scaffold_id, ctx.scaffolds[ctx.baseline], pair.0, pair.1
        ),
        declared,
        share_keeping: (!specifications.is_empty())
            .then(|| keeping as f64 / specifications.len() as f64),
        specifications,
    })
}
