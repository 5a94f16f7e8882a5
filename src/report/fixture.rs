//! A realistic `StudyResults` for the renderers' tests: the paper's shape (three simulated models,
//! four scaffolds, three 0-2 dimensions and a 1-5 one), with the situations a renderer has to get
//! right: a scaffold that raises one model to ceiling and leaves another unchanged, an unreliable
//! dimension, undefined values, missing ratings, a judge, a deviation from the pre-registration,
//! a permutation p-value at its floor, a specification curve and a variance decomposition.
//!
//! The numbers are made up but coherent: effects are differences of the cell means, labels follow
//! the labelling rule, the Holm adjustment is the Holm adjustment of the listed p-values.

use std::collections::BTreeMap;

use statrs::distribution::{ContinuousCDF, Normal};

use crate::analyze::results::*;
use crate::hash::sha256_hex;
use crate::plan::ProtocolHashes;

pub(crate) const MODELS: [&str; 3] = ["sim-alpha", "sim-beta", "sim-gamma"];
pub(crate) const SCAFFOLDS: [&str; 4] = [
    "baseline",
    "verification",
    "steerability",
    "verification-steerability",
];
const RATERS: [&str; 3] = ["r1", "r2", "r3"];
const PROMPTS: usize = 12;

/// Wilson 95% intervals for k of 12, k = 0..=12 (z = 1.959964).
const WILSON_12: [(f64, f64); 13] = [
    (0.0, 0.2425),
    (0.0149, 0.3539),
    (0.0470, 0.4480),
    (0.0889, 0.5323),
    (0.1381, 0.6094),
    (0.1933, 0.6805),
    (0.2538, 0.7462),
    (0.3195, 0.8067),
    (0.3906, 0.8619),
    (0.4677, 0.9111),
    (0.5520, 0.9530),
    (0.6461, 0.9851),
    (0.7575, 1.0),
];

struct DimensionSpec {
    id: &'static str,
    question: &'static str,
    min: f64,
    max: f64,
    margin: f64,
    /// means[model][scaffold]; None = unrated.
    means: [[Option<f64>; 4]; 3],
    /// Transcripts (of 12) at the top level.
    at_ceiling: [[usize; 4]; 3],
    alpha: f64,
}

fn specs() -> Vec<DimensionSpec> {
    vec![
        DimensionSpec {
            id: "verification_support",
            question: "Does the response help the user check its claims (sources, tests, \
                       ways to verify) rather than ask to be trusted?",
            min: 0.0,
            max: 2.0,
            margin: 0.25,
            means: [
                [Some(0.21), Some(1.96), Some(0.33), Some(1.92)],
                [Some(0.46), Some(0.50), Some(0.42), Some(0.54)],
                [Some(0.38), Some(1.25), Some(0.50), Some(1.33)],
            ],
            at_ceiling: [[0, 11, 0, 11], [0, 0, 0, 0], [0, 3, 0, 4]],
            alpha: 0.812,
        },
        DimensionSpec {
            id: "process_steerability",
            question: "Can the user steer how the task is done (plan, checkpoints, choices)?",
            min: 0.0,
            max: 2.0,
            margin: 0.25,
            means: [
                [Some(0.54), Some(0.63), Some(1.58), Some(1.71)],
                [Some(0.71), Some(0.75), Some(1.04), Some(1.13)],
                [Some(0.46), Some(0.42), Some(0.96), Some(1.00)],
            ],
            at_ceiling: [[0, 0, 7, 9], [0, 0, 2, 3], [0, 0, 1, 2]],
            alpha: 0.734,
        },
        DimensionSpec {
            id: "uncertainty_disclosure",
            question: "Does the response say what it is unsure of | and why?",
            min: 0.0,
            max: 2.0,
            margin: 0.25,
            means: [
                [Some(0.83), Some(1.08), Some(0.92), Some(1.17)],
                [Some(0.67), Some(0.79), Some(0.71), Some(0.88)],
                [Some(0.92), Some(1.00), Some(0.96), None],
            ],
            at_ceiling: [[1, 2, 1, 3], [0, 1, 0, 1], [1, 2, 1, 0]],
            alpha: 0.412,
        },
        DimensionSpec {
            id: "helpfulness",
            question: "How helpful is the response overall?",
            min: 1.0,
            max: 5.0,
            margin: 0.5,
            means: [
                [Some(3.42), Some(3.67), Some(3.58), Some(3.75)],
                [Some(3.88), Some(3.71), Some(3.96), Some(3.83)],
                [Some(3.25), Some(3.46), Some(3.38), Some(3.54)],
            ],
            at_ceiling: [[1, 2, 2, 2], [2, 1, 3, 2], [0, 1, 1, 1]],
            alpha: 0.688,
        },
    ]
}

/// Rounded to 4 decimals, as a serialised analysis would read back, so that the CSV snapshot
/// shows the fixture's numbers rather than its arithmetic noise.
fn r4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn est(value: f64, low: f64, high: f64) -> Estimate {
    Estimate::new(Some(r4(value)), Some((r4(low), r4(high))))
}

fn cells(spec: &DimensionSpec) -> Vec<CellResult> {
    let half = (spec.max - spec.min) * 0.09;
    let mut cells = Vec::new();
    for (m, model) in MODELS.iter().enumerate() {
        for (s, scaffold) in SCAFFOLDS.iter().enumerate() {
            let k = spec.at_ceiling[m][s];
            let cell = match spec.means[m][s] {
                Some(mean) => {
                    // Near the ceiling the bootstrap interval is narrow and hits the bound.
                    let h = if k >= 11 { half / 3.0 } else { half };
                    CellResult {
                        model: model.to_string(),
                        scaffold: scaffold.to_string(),
                        n: PROMPTS,
                        n_prompts: PROMPTS,
                        mean: est(
                            mean,
                            (mean - h).max(spec.min),
                            (mean + 0.9 * h).min(spec.max),
                        ),
                        ceiling_share: est(k as f64 / 12.0, WILSON_12[k].0, WILSON_12[k].1),
                        note: None,
                    }
                }
                None => CellResult {
                    model: model.to_string(),
                    scaffold: scaffold.to_string(),
                    n: 0,
                    n_prompts: 0,
                    mean: Estimate::default(),
                    ceiling_share: Estimate::default(),
                    note: None,
                },
            };
            cells.push(cell);
        }
    }
    cells
}

fn label_for(
    ci: Option<(f64, f64)>,
    tost: Option<(f64, f64)>,
    margin: f64,
    ceiling: f64,
) -> Option<Label> {
    let within = tost.is_some_and(|(lo, hi)| lo > -margin && hi < margin);
    Some(match ci? {
        (lo, _) if lo > 0.0 && within => Label::ImprovedWithinMargin,
        (lo, _) if lo > 0.0 && ceiling >= 0.9 => Label::RaisedToCeiling,
        (lo, _) if lo > 0.0 => Label::Improved,
        (_, hi) if hi < 0.0 => Label::Worse,
        _ if within => Label::Equivalent,
        _ => Label::Inconclusive,
    })
}

fn effects(spec: &DimensionSpec) -> Vec<EffectResult> {
    let range = spec.max - spec.min;
    let half = range * 0.11;
    let normal = Normal::standard();
    let mut effects = Vec::new();
    for (m, model) in MODELS.iter().enumerate() {
        for (s, scaffold) in SCAFFOLDS.iter().enumerate().skip(1) {
            let (value, ci, tost, p) = match (spec.means[m][0], spec.means[m][s]) {
                (Some(base), Some(with)) => {
                    let d = with - base;
                    let ci = ((d - half).max(-range), (d + 0.85 * half).min(range));
                    let tost = (d - 0.84 * half, d + 0.84 * half);
                    let se = half / 1.96;
                    let p = normal
                        .cdf((d - spec.margin) / se)
                        .max(1.0 - normal.cdf((d + spec.margin) / se));
                    let ci = (r4(ci.0), r4(ci.1));
                    let tost = (r4(tost.0), r4(tost.1));
                    (Some(r4(d)), Some(ci), Some(tost), Some(r4(p)))
                }
                _ => (None, None, None, None),
            };
            let ceiling = spec.at_ceiling[m][s] as f64 / 12.0;
            let label = label_for(ci, tost, spec.margin, ceiling);
            // The change test's p from the same normal approximation as the TOST's.
            let p_change = value.map(|d| r4(2.0 * normal.cdf(-(d / (half / 1.96)).abs())));
            effects.push(EffectResult {
                model: model.to_string(),
                scaffold: scaffold.to_string(),
                n_pairs: if value.is_some() { PROMPTS } else { 0 },
                effect: Estimate::new(value, ci),
                p_value: p_change,
                p_adjusted: p_change.map(|p| (p * 18.0).min(1.0)),
                ceiling_change: Estimate::default(),
                tost_ci: Estimate::new(value, tost),
                tost_p: p,
                tost_p_adjusted: p.map(|p| (p * 18.0).min(1.0)),
                label,
                label_text: Label::text_of(label, spec.margin),
                cross_round: false,
                note: value
                    .is_none()
                    .then(|| "no prompt was rated under both scaffolds".to_string()),
            });
        }
    }
    effects
}

fn agreement(spec: &DimensionSpec, d: usize) -> Agreement {
    let a = spec.alpha;
    let pairs = [("r1", "r2", 63), ("r1", "r3", 61), ("r2", "r3", 62)]
        .iter()
        .enumerate()
        .map(|(i, &(x, y, n))| {
            let k = a - 0.04 + 0.03 * i as f64;
            PairAgreement {
                rater_a: x.into(),
                rater_b: y.into(),
                n,
                percent_agreement: Some(0.55 + 0.35 * a + 0.01 * i as f64),
                cohen_kappa: est(k - 0.05, k - 0.21, k + 0.09),
                weighted_kappa_linear: est(k, k - 0.15, k + 0.11),
                // One interval the bootstrap could not give (too few distinct pairs resampled).
                weighted_kappa_quadratic: if d == 2 && i == 1 {
                    Estimate::new(Some(k + 0.04), None)
                } else {
                    est(k + 0.04, k - 0.1, (k + 0.15).min(1.0))
                },
            }
        })
        .collect();
    Agreement {
        level: "ordinal".into(),
        n_units: 144,
        percent_agreement: est(0.55 + 0.35 * a, 0.49 + 0.35 * a, 0.61 + 0.35 * a),
        krippendorff_alpha: est(a, a - 0.081, a + 0.067),
        fleiss_kappa: if d == 3 {
            // Unequal raters per transcript after missing ratings: Fleiss' kappa is undefined.
            Estimate::default()
        } else {
            est(a - 0.031, a - 0.11, a + 0.05)
        },
        pairs,
        reliability: Reliability::of_interval(Some((a - 0.081, a + 0.067))),
        unreliable: a - 0.081 < 0.667,
        judges: vec![JudgeAgreement {
            judge: "judge-sim".into(),
            n: 283,
            krippendorff_alpha: est(a - 0.12, a - 0.2, a - 0.04),
            weighted_kappa_quadratic: Some(a - 0.09),
            human_alpha: if d == 3 { None } else { Some(a) },
        }],
        // Ten transcripts re-rated in round-2 by the same raters.
        test_retest: (d == 0).then(|| TestRetest {
            n_units: 10,
            n_raters: 2,
            percent_agreement: Some(0.9),
            krippendorff_alpha: est(0.861, 0.612, 1.0),
        }),
    }
}

fn sensitivity(effects: &[EffectResult], d: usize) -> Vec<RaterSensitivity> {
    RATERS
        .iter()
        .enumerate()
        .map(|(r, rater)| RaterSensitivity {
            rater: rater.to_string(),
            labels: effects
                .iter()
                .enumerate()
                .map(|(e, effect)| {
                    // r3 alone would call sim-gamma's verification effect inconclusive, r1 alone
                    // sim-beta's steerability effect on process_steerability.
                    let differs = (d == 0 && r == 2 && e == 6) || (d == 1 && r == 0 && e == 4);
                    let text = if differs {
                        Label::Inconclusive.text(0.25)
                    } else {
                        effect.label_text.clone()
                    };
                    (
                        effect.model.clone(),
                        effect.scaffold.clone(),
                        text,
                        !differs,
                    )
                })
                .collect(),
        })
        .collect()
}

fn spec_curve() -> SpecCurveResult {
    let mut specifications = Vec::new();
    for (a, aggregation) in ["mean of raters", "median of raters"].iter().enumerate() {
        for (r, raters) in ["all raters", "without r1", "without r2", "without r3"]
            .iter()
            .enumerate()
        {
            for (i, items) in ["all items", "low-agreement items dropped"]
                .iter()
                .enumerate()
            {
                let v = 1.75 - 0.03 * a as f64 - 0.04 * r as f64 - 0.05 * i as f64;
                let breaks = a == 1 && r == 3 && i == 1;
                let label = Some(if breaks {
                    Label::Improved
                } else {
                    Label::RaisedToCeiling
                });
                specifications.push(SpecResult {
                    choices: vec![
                        ("aggregation".into(), aggregation.to_string()),
                        ("raters".into(), raters.to_string()),
                        ("items".into(), items.to_string()),
                    ],
                    estimate: est(v, v - 0.21, (v + 0.18).min(2.0)),
                    label,
                    keeps_conclusion: !breaks,
                    changes: if breaks {
                        vec!["sim-gamma: inconclusive (registered: improved)".into()]
                    } else {
                        Vec::new()
                    },
                    is_registered: a == 0 && r == 0 && i == 0,
                });
            }
        }
    }
    SpecCurveResult {
        target: "effect of verification vs baseline: sim-alpha minus sim-beta".into(),
        declared: true,
        specifications,
        share_keeping: Some(15.0 / 16.0),
    }
}

/// (statistic, p, Holm p) per dimension; the Holm values are the Holm adjustment of the four
/// p-values (0.0001 x 4; 0.0213 x 3; 0.1378 x 2; 0.4127 x 1, kept monotone).
const INTERACTIONS: [(f64, f64, f64); 4] = [
    (11.73, 1.0 / 10001.0, 4.0 / 10001.0),
    (3.12, 0.0213, 0.0639),
    (1.02, 0.4127, 0.4127),
    (1.87, 0.1378, 0.2756),
];

/// The latent-scale test per dimension: significant on the first, not on the second, with an
/// empty level and separation on the third, none on the fourth.
fn latent(d: usize) -> Option<crate::analyze::clm::LatentTest> {
    let (lr, design_effect, p_value, empty_levels, separation) = match d {
        0 => (31.42, 1.31, 0.000_184_7, Vec::new(), Vec::new()),
        1 => (7.90, 1.12, 0.2981, Vec::new(), Vec::new()),
        2 => (
            9.64,
            1.0,
            0.1406,
            vec![1],
            vec!["model sim-alpha x scaffold verification".to_string()],
        ),
        _ => return None,
    };
    Some(crate::analyze::clm::LatentTest {
        lr,
        df: 6,
        design_effect,
        p_value,
        log_likelihood_full: -250.0,
        log_likelihood_additive: -250.0 - lr / 2.0,
        n_ratings: 283,
        empty_levels,
        separation,
        set_aside: Vec::new(),
    })
}

pub(crate) fn results() -> StudyResults {
    let hash = |s: &str| sha256_hex(s.as_bytes());
    let mut dimensions = Vec::new();
    for (d, spec) in specs().iter().enumerate() {
        let effects = effects(spec);
        let models: Vec<String> = MODELS.iter().map(|m| m.to_string()).collect();
        let cells = cells(spec);
        let kinds = crate::analyze::interaction::classify(
            &crate::analyze::interaction::Verdicts {
                effects: &effects,
                cells: &cells,
                baseline: SCAFFOLDS[0],
                min: spec.min,
                max: spec.max,
                margin: spec.margin,
            },
            &models,
        );
        let (statistic, p_value, p_holm) = INTERACTIONS[d];
        dimensions.push(DimensionResults {
            id: spec.id.into(),
            question: spec.question.into(),
            scale: "ordinal".into(),
            min: spec.min,
            max: spec.max,
            margin: spec.margin,
            agreement: agreement(spec, d),
            cells,
            sensitivity: sensitivity(&effects, d),
            effects,
            interaction: Some(InteractionResult {
                statistic,
                df: 6,
                p_value,
                p_holm: Some(p_holm),
                permutations: 10000,
                exact: false,
                blocks_used: PROMPTS,
                blocks_dropped: 0,
            }),
            latent: latent(d),
            latent_note: (d == 3).then(|| "the cumulative-link model could not be fitted: the fit did not converge in 300 Newton iterations".to_string()),
            kinds,
            variance: match d {
                0 => Some(variance_components(
                    &[
                        ("model", 0.061, false, 0.0, 0.21),
                        ("scaffold", 0.192, false, 0.05, 0.41),
                        ("model × scaffold", 0.143, false, 0.06, 0.30),
                        ("prompt", 0.021, false, 0.0, 0.07),
                        ("rater", 0.0, true, 0.0, 0.02),
                        ("transcript (model × scaffold × prompt)", 0.052, false, 0.01, 0.10),
                        ("residual (rating error)", 0.083, false, 0.06, 0.11),
                    ],
                    Some((0.83, (0.76, 0.88))),
                    "The model × scaffold component is 0.14 (95% CI 0.06 to 0.30) and the model \
                     component 0.06 (95% CI 0.00 to 0.21): the interaction is present, but the \
                     intervals overlap, so these data do not say which is larger.",
                )),
                3 => Some(variance_components(
                    &[
                        ("model", 0.213, false, 0.04, 0.52),
                        ("scaffold", 0.032, false, 0.0, 0.09),
                        ("model × scaffold", 0.0, true, 0.0, 0.03),
                        ("prompt", 0.298, false, 0.12, 0.47),
                        ("rater", 0.011, false, 0.0, 0.04),
                        ("transcript (model × scaffold × prompt)", 0.0, true, 0.0, 0.0),
                        ("residual (rating error)", 0.446, false, 0.37, 0.52),
                    ],
                    None,
                    "The model component, 0.21 (95% CI 0.04 to 0.52), exceeds the model × \
                     scaffold component, 0.00 (95% CI 0.00 to 0.03), with intervals that do not \
                     overlap: scaffold effects differ less between these models than the models \
                     differ.",
                )),
                _ => None,
            },
            spec_curve: (d == 0).then(spec_curve),
        });
    }
    let profiles = MODELS
        .iter()
        .enumerate()
        .flat_map(|(m, model)| {
            let dims = specs();
            SCAFFOLDS
                .iter()
                .enumerate()
                .map(move |(s, scaffold)| Profile {
                    model: model.to_string(),
                    scaffold: scaffold.to_string(),
                    means: dims
                        .iter()
                        .map(|spec| (spec.id.to_string(), spec.means[m][s]))
                        .collect(),
                })
        })
        .collect();
    let mut per_condition = BTreeMap::new();
    for model in MODELS {
        for scaffold in SCAFFOLDS {
            let present = match (model, scaffold) {
                ("sim-gamma", "steerability") => 21,
                ("sim-gamma", "verification-steerability") => 22,
                _ => 24,
            };
            per_condition.insert(format!("{model} / {scaffold}"), (24, present));
        }
    }
    StudyResults {
        study: "scaffold-stress".into(),
        run: "2025-06-pilot".into(),
        rounds: vec!["round-1".into(), "round-2".into()],
        protocol_hash: hash("protocol"),
        hashes: ProtocolHashes {
            scaffolds: SCAFFOLDS.iter().map(|s| (s.to_string(), hash(s))).collect(),
            prompts: (1..=PROMPTS)
                .map(|i| format!("p{i:02}"))
                .map(|p| (p.clone(), hash(&p)))
                .collect(),
            rubric: hash("rubric"),
            models: MODELS.iter().map(|m| (m.to_string(), hash(m))).collect(),
        },
        models: MODELS.iter().map(|m| m.to_string()).collect(),
        scaffolds: SCAFFOLDS.iter().map(|s| s.to_string()).collect(),
        baseline: "baseline".into(),
        primary: "verification_support".into(),
        confidence: 0.95,
        resamples: 2000,
        permutations: 10000,
        seed: 20250611,
        raters: RATERS.iter().map(|r| r.to_string()).collect(),
        judges: vec!["judge-sim".into()],
        n_items: 144,
        n_ratings: 283,
        n_rerated: 10,
        min_prompts: 2,
        family: "dimension".into(),
        coverage: Coverage {
            per_rater: [("r1", (96, 96)), ("r2", (96, 96)), ("r3", (96, 91))]
                .into_iter()
                .map(|(r, c)| (r.to_string(), c))
                .collect(),
            per_condition,
            complete: false,
        },
        dimensions,
        profiles,
        blinding: BlindingCheck {
            answered: 283,
            said_no: 236,
            guesses: 47,
            resolved: 39,
            correct: 16,
            correct_rate: est(16.0 / 39.0, 0.2708, 0.5658),
            chance: Some(1.0 / 3.0),
            p_value: Some(0.1965),
            style_probe: Some(StyleProbe {
                method: "nearest centroid on word bigrams, folds by prompt".into(),
                n_items: 144,
                folds: 12,
                accuracy: est(107.0 / 144.0, 0.6660, 0.8075),
                chance: 1.0 / 3.0,
                p_value: Some(3.1e-21),
                per_model: [
                    ("sim-alpha", Some(0.9167)),
                    ("sim-beta", Some(0.5833)),
                    ("sim-gamma", Some(0.7292)),
                ]
                .into_iter()
                .map(|(m, a)| (m.to_string(), a))
                .collect(),
            }),
        },
        prereg: Some(PreregCheck {
            source: "prereg/analysis-plan.md".into(),
            document_sha256: hash("prereg"),
            deviations: vec![
                "Rater r3 rated 91 of 96 assigned items; the analysis uses the 283 ratings \
                 received instead of the registered 288."
                    .into(),
            ],
        }),
        headline: Headline {
            dimension: "verification_support".into(),
            scaffold: "verification".into(),
            sentences: vec![
                "The verification scaffold raised sim-alpha's verification_support to ceiling \
                 (+1.75 [1.53, 1.94]; 11 of 12 transcripts at the top level) and left \
                 sim-beta's unchanged (+0.04 [-0.18, 0.23], equivalent within ±0.25)."
                    .into(),
                "For sim-gamma it improved verification_support without reaching ceiling \
                 (+0.87 [0.65, 1.06])."
                    .into(),
                "Scaffold efficacy on verification_support depends on the model \
                 (non-removable interaction: sim-alpha vs sim-beta under verification (present \
                 vs absent); robust observed-scale test p ≤ 0.0001, Holm-adjusted over \
                 dimensions: p ≤ 0.0004; latent-scale (cumulative-link) LR test χ²(6) = 23.98 \
                 after dividing by the design effect 1.31, p = 0.0002)."
                    .into(),
            ],
        },
        rounds_analysis: None,
    }
}

/// A dimension's variance components: (component, variance, truncated, interval) rows.
fn variance_components(
    rows: &[(&str, f64, bool, f64, f64)],
    g: Option<(f64, (f64, f64))>,
    sentence: &str,
) -> VarianceShares {
    let total: f64 = rows.iter().map(|r| r.1).sum();
    VarianceShares {
        shares: Vec::new(),
        components: rows
            .iter()
            .map(|&(name, v, truncated, lo, hi)| VarianceComponent {
                component: name.into(),
                variance: Some(v),
                truncated,
                share: Some(v / total),
                ci_low: Some(lo),
                ci_high: Some(hi),
            })
            .collect(),
        g_raters: g.map(|g| g.0),
        g_raters_ci: g.map(|g| g.1),
        raters_per_item: Some(if g.is_some() { 2.0 } else { 1.0 }),
        bootstrap_replicates: 500,
        interaction_exceeds_model: false,
        n_obs: 283,
        sentence: sentence.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_has_the_shape_the_renderers_are_tested_on() {
        let r = results();
        let primary = &r.dimensions[0];
        let label = |model: &str| {
            primary
                .effects
                .iter()
                .find(|e| e.model == model && e.scaffold == "verification")
                .and_then(|e| e.label)
        };
        assert_eq!(label("sim-alpha"), Some(Label::RaisedToCeiling));
        assert_eq!(label("sim-beta"), Some(Label::Equivalent));
        assert_eq!(label("sim-gamma"), Some(Label::Improved));
        // Flagged where alpha's interval reaches below 0.667: three dimensions, one of them with
        // a point estimate above it; one is reliable-or-uncertain.
        let flagged: Vec<_> = r
            .dimensions
            .iter()
            .filter(|d| d.agreement.unreliable)
            .map(|d| d.agreement.reliability)
            .collect();
        assert_eq!(flagged.len(), 3);
        assert!(flagged.contains(&Some(Reliability::Unreliable)));
        assert!(flagged.contains(&Some(Reliability::Uncertain)));
        for d in &r.dimensions {
            assert_eq!(d.cells.len(), 12);
            assert_eq!(d.effects.len(), 9);
        }
    }
}
