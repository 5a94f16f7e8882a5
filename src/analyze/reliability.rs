//! Rater agreement per dimension, as the report states it: among the human raters, each judge as
//! one more coder beside them, and each rater against themselves across rounds (test–retest).
//!
//! Transcripts of one prompt are not independent units, so every interval here is a cluster
//! bootstrap over prompts (`resample::cluster_bootstrap`); Krippendorff's reading of alpha
//! (reliable, tentative, unreliable) is judged on that interval, not on the point estimate.

use std::collections::{BTreeMap, BTreeSet};

use super::agreement::{ClusterPairTables, ClusterSums, CodedUnits, KappaWeights, Level};
use super::resample;
use super::results::*;
use super::study::{Context, Observation};
use crate::rate::import::is_judge;
use crate::study::{Dimension, Scale};

/// Units grouped by their prompt, for the cluster bootstrap: `prompts[i]` is the prompt of unit
/// `i`.
fn clusters(prompts: &[&str]) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in prompts.iter().enumerate() {
        by.entry(p).or_default().push(i);
    }
    by.into_values().collect()
}

/// A statistic with its percentile cluster-bootstrap interval. The statistics here are sums over
/// units, so `stat` gets the drawn cluster indices and adds per-cluster sums (`ClusterSums`,
/// `ClusterPairTables`): a resample costs O(clusters), not O(units), with the same draws and
/// values as `resample::cluster_bootstrap` over the units.
fn boot(
    ctx: &Context<'_>,
    groups: &[Vec<usize>],
    seed: &[&str],
    stat: impl Fn(&[usize]) -> Option<f64> + Sync,
) -> Estimate {
    let plan = &ctx.input.plan;
    let b = resample::cluster_bootstrap_drawn(groups.len(), plan.resamples, ctx.seed(seed), stat);
    Estimate::new(b.estimate, resample::percentile_ci(&b, plan.confidence))
}

fn level_of(dim: &Dimension) -> Level {
    match dim.scale {
        Scale::Binary => Level::Nominal,
        Scale::Ordinal => Level::Ordinal,
    }
}

/// Transcripts, their prompts, and the transcripts x coders values.
type Matrix<'o> = (Vec<&'o str>, Vec<&'o str>, Vec<Vec<Option<f64>>>);

/// Transcripts x coders, one row per transcript with a value from any of `coders`.
fn matrix<'o>(obs: impl Iterator<Item = &'o Observation>, coders: &[&str]) -> Matrix<'o> {
    let mut rows: BTreeMap<&str, (&str, Vec<Option<f64>>)> = BTreeMap::new();
    for o in obs {
        if let Some(c) = coders.iter().position(|c| *c == o.rater) {
            rows.entry(o.cell_id.as_str())
                .or_insert_with(|| (o.prompt.as_str(), vec![None; coders.len()]))
                .1[c] = Some(o.score);
        }
    }
    let mut cells = Vec::new();
    let mut prompts = Vec::new();
    let mut units = Vec::new();
    for (cell, (prompt, row)) in rows {
        cells.push(cell);
        prompts.push(prompt);
        units.push(row);
    }
    (cells, prompts, units)
}

pub(super) fn agreement(ctx: &Context<'_>, dim: &Dimension) -> Agreement {
    let level = level_of(dim);
    let categories = dim.values();
    let obs: Vec<&Observation> = ctx
        .observations
        .iter()
        .filter(|o| o.dimension == dim.id)
        .collect();
    let humans: Vec<&str> = ctx.humans.iter().map(String::as_str).collect();
    let (_, prompts, units) = matrix(obs.iter().copied(), &humans);
    let mut result = Agreement {
        level: format!("{level:?}").to_lowercase(),
        n_units: units.len(),
        percent_agreement: Estimate::default(),
        krippendorff_alpha: Estimate::default(),
        fleiss_kappa: Estimate::default(),
        pairs: Vec::new(),
        reliability: None,
        unreliable: true,
        judges: Vec::new(),
        test_retest: test_retest(ctx, dim, level, &categories),
    };
    let Ok(coded) = CodedUnits::new(&units, &categories) else {
        return result;
    };
    let groups = clusters(&prompts);
    let sums = ClusterSums::new(&coded, &groups);
    let id = dim.id.as_str();
    result.krippendorff_alpha = boot(ctx, &groups, &["agreement", id, "alpha"], |drawn| {
        sums.krippendorff_alpha_of(drawn, level).ok().flatten()
    });
    result.percent_agreement = boot(ctx, &groups, &["agreement", id, "percent"], |drawn| {
        sums.percent_agreement_of(drawn)
    });
    if coded.fleiss_kappa().is_some() {
        result.fleiss_kappa = boot(ctx, &groups, &["agreement", id, "fleiss"], |drawn| {
            sums.fleiss_kappa_of(drawn)
        });
    }
    let a = &result.krippendorff_alpha;
    let ci = a.ci_low.zip(a.ci_high);
    result.reliability = Reliability::of_interval(ci);
    result.unreliable = a.ci_low.is_none_or(|lo| lo < ALPHA_TENTATIVE);

    for a in 0..humans.len() {
        for b in a + 1..humans.len() {
            let shared: Vec<usize> = (0..units.len())
                .filter(|&u| units[u][a].is_some() && units[u][b].is_some())
                .collect();
            if shared.is_empty() {
                continue;
            }
            let shared_prompts: Vec<&str> = shared.iter().map(|&u| prompts[u]).collect();
            let groups: Vec<Vec<usize>> = clusters(&shared_prompts)
                .into_iter()
                .map(|g| g.into_iter().map(|i| shared[i]).collect())
                .collect();
            let tables = ClusterPairTables::new(&coded, a, b, &groups);
            let pair_boot = |label: &str, weights: Option<KappaWeights>| -> Estimate {
                boot(
                    ctx,
                    &groups,
                    &["agreement", id, label, humans[a], humans[b]],
                    |drawn| match weights {
                        None => tables.cohen_kappa_of(drawn).and_then(|k| k.kappa),
                        Some(w) => tables.weighted_kappa_of(drawn, w).and_then(|k| k.kappa),
                    },
                )
            };
            let ordinal = dim.scale == Scale::Ordinal;
            result.pairs.push(PairAgreement {
                rater_a: humans[a].to_string(),
                rater_b: humans[b].to_string(),
                n: shared.len(),
                percent_agreement: coded
                    .cohen_kappa_of(a, b, shared.iter().copied())
                    .map(|k| k.p_o),
                cohen_kappa: pair_boot("cohen", None),
                weighted_kappa_linear: if ordinal {
                    pair_boot("linear", Some(KappaWeights::Linear))
                } else {
                    Estimate::default()
                },
                weighted_kappa_quadratic: if ordinal {
                    pair_boot("quadratic", Some(KappaWeights::Quadratic))
                } else {
                    Estimate::default()
                },
            });
        }
    }
    result.judges = judge_agreement(ctx, dim, level, &categories, &obs);
    result
}

/// Each judge as one more coder on the transcripts it rated (units are transcripts, so a judge
/// rating counts once however many humans rated the transcript).
fn judge_agreement(
    ctx: &Context<'_>,
    dim: &Dimension,
    level: Level,
    categories: &[f64],
    obs: &[&Observation],
) -> Vec<JudgeAgreement> {
    let judges: BTreeSet<&str> = obs
        .iter()
        .map(|o| o.rater.as_str())
        .filter(|r| is_judge(r))
        .collect();
    let mut out = Vec::new();
    for judge in judges {
        let judged: BTreeSet<&str> = obs
            .iter()
            .filter(|o| o.rater == judge)
            .map(|o| o.cell_id.as_str())
            .collect();
        let humans: Vec<&str> = ctx.humans.iter().map(String::as_str).collect();
        let mut coders = humans.clone();
        coders.push(judge);
        let on_judged = || {
            obs.iter()
                .copied()
                .filter(|o| judged.contains(o.cell_id.as_str()))
        };
        let (_, prompts, mut units) = matrix(on_judged(), &coders);
        // Only transcripts with a human rating compare the judge with anyone.
        let keep: Vec<bool> = units
            .iter()
            .map(|u| u[..humans.len()].iter().any(Option::is_some))
            .collect();
        let prompts: Vec<&str> = prompts
            .into_iter()
            .zip(&keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        let mut k = keep.iter();
        units.retain(|_| *k.next().expect("one flag per unit"));
        let Ok(coded) = CodedUnits::new(&units, categories) else {
            continue;
        };
        let j = humans.len();
        let groups = clusters(&prompts);
        let sums = ClusterSums::new(&coded, &groups);
        let alpha = boot(ctx, &groups, &["judge", &dim.id, judge], |drawn| {
            sums.krippendorff_alpha_of(drawn, level).ok().flatten()
        });
        let human_units: Vec<Vec<Option<f64>>> = units.iter().map(|u| u[..j].to_vec()).collect();
        let human_alpha = CodedUnits::new(&human_units, categories)
            .ok()
            .and_then(|c| c.krippendorff_alpha(level).ok().flatten());
        let kappas: Vec<f64> = (0..j)
            .filter_map(|h| {
                coded
                    .weighted_kappa_of(j, h, 0..coded.n_units(), KappaWeights::Quadratic)
                    .and_then(|k| k.kappa)
            })
            .collect();
        out.push(JudgeAgreement {
            judge: judge.to_string(),
            n: coded.n_units(),
            krippendorff_alpha: alpha,
            weighted_kappa_quadratic: (!kappas.is_empty())
                .then(|| kappas.iter().sum::<f64>() / kappas.len() as f64),
            human_alpha,
        });
    }
    out
}

/// Test–retest: every (transcript, human rater) rated in more than one round is a unit whose
/// values are that rater's ratings, in round order.
fn test_retest(
    ctx: &Context<'_>,
    dim: &Dimension,
    level: Level,
    categories: &[f64],
) -> Option<TestRetest> {
    let mut by: BTreeMap<(&str, &str), (&str, Vec<f64>)> = BTreeMap::new();
    let human = |o: &&Observation| o.dimension == dim.id && ctx.humans.contains(&o.rater);
    for o in ctx.later.iter().filter(human) {
        by.entry((o.cell_id.as_str(), o.rater.as_str()))
            .or_insert_with(|| (o.prompt.as_str(), Vec::new()))
            .1
            .push(o.score);
    }
    if by.is_empty() {
        return None;
    }
    for o in ctx.observations.iter().filter(human) {
        if let Some((_, values)) = by.get_mut(&(o.cell_id.as_str(), o.rater.as_str())) {
            values.insert(0, o.score);
        }
    }
    let occasions = by.values().map(|(_, v)| v.len()).max()?;
    let mut prompts = Vec::new();
    let mut units = Vec::new();
    let mut raters = BTreeSet::new();
    for ((_, rater), (prompt, values)) in &by {
        raters.insert(*rater);
        prompts.push(*prompt);
        let mut row: Vec<Option<f64>> = values.iter().map(|v| Some(*v)).collect();
        row.resize(occasions, None);
        units.push(row);
    }
    let coded = CodedUnits::new(&units, categories).ok()?;
    let groups = clusters(&prompts);
    let sums = ClusterSums::new(&coded, &groups);
    let alpha = boot(ctx, &groups, &["retest", &dim.id], |drawn| {
        sums.krippendorff_alpha_of(drawn, level).ok().flatten()
    });
    Some(TestRetest {
        n_units: units.len(),
        n_raters: raters.len(),
        percent_agreement: coded.percent_agreement(),
        krippendorff_alpha: alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_grouped_by_prompt() {
        assert_eq!(
            clusters(&["b", "a", "b", "c", "a"]),
            vec![vec![1, 4], vec![0, 2], vec![3]]
        );
    }

    #[test]
    fn reliability_is_judged_on_the_interval() {
        let of = |lo: f64, hi: f64| Reliability::of_interval(Some((lo, hi)));
        assert_eq!(of(0.81, 0.9), Some(Reliability::Reliable));
        assert_eq!(of(0.8, 0.9), Some(Reliability::Reliable));
        assert_eq!(of(0.67, 0.79), Some(Reliability::Tentative));
        assert_eq!(of(0.3, 0.6), Some(Reliability::Unreliable));
        // The audit's example: process_steerability, 95% CI [0.658, 0.834].
        assert_eq!(of(0.658, 0.834), Some(Reliability::Uncertain));
        assert_eq!(of(0.7, 0.85), Some(Reliability::Uncertain));
        assert_eq!(of(0.6, 0.7), Some(Reliability::Uncertain));
        assert_eq!(Reliability::of_interval(None), None);
    }
}
