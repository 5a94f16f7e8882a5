//! Studies rated over several rounds: which comparisons cross rounds, how far the raters drifted
//! between rounds (measured on anchor items), the drift-adjusted re-analysis, and what the
//! adjudication rule changed.
//!
//! Drift of a later round on a dimension: for each anchor transcript, the mean of its ratings in
//! that round minus the mean of its first (pooled) ratings; averaged within prompts, then over
//! prompts, with a t interval over prompts (prompts are the independent unit, as everywhere in
//! the analysis). Per rater: each anchor rating minus the rater's own earlier rating of the
//! transcript where there is one (drift), else minus the earlier raters' mean (calibration of a
//! new rater). The drift-adjusted specification puts each drifted round's ratings back on the
//! first round's scale through a cumulative-link fit (see [`round_adjustments`]); rounds that
//! nothing links to the first are left as they are.

use std::collections::{BTreeMap, BTreeSet};

use super::clustered::t_critical;
use super::efficacy::{self, Efficacy};
use super::results::*;
use super::study::{Context, Observation, Spec, mean, median};
use crate::blind::round::ItemRole;
use crate::study::AdjudicationRule;

/// The plan's score of each adjudicated (transcript, dimension): the adjudicators' rating (their
/// mean if several), or the median of every human rating of it, adjudicators included.
pub(super) fn adjudicated_scores(
    kept: &[Observation],
    adjudications: &[Observation],
    humans: &[String],
    rule: AdjudicationRule,
) -> BTreeMap<(String, String), f64> {
    let mut third: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for o in adjudications {
        third
            .entry((o.cell_id.clone(), o.dimension.clone()))
            .or_default()
            .push(o.score);
    }
    let mut originals: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for o in kept.iter().filter(|o| humans.contains(&o.rater)) {
        originals
            .entry((o.cell_id.as_str(), o.dimension.as_str()))
            .or_default()
            .push(o.score);
    }
    third
        .into_iter()
        .map(|(key, scores)| {
            let value = match rule {
                AdjudicationRule::Adjudicator => mean(&scores).expect("at least one rating"),
                AdjudicationRule::Median => {
                    let mut all = originals
                        .get(&(key.0.as_str(), key.1.as_str()))
                        .cloned()
                        .unwrap_or_default();
                    all.extend(scores);
                    median(&mut all)
                }
            };
            (key, value)
        })
        .collect()
}

/// A mean over prompts of prompt-level means, with a t interval over prompts (none below
/// `min_prompts`).
fn over_prompts(values: &[(&str, f64)], confidence: f64, min_prompts: usize) -> (Estimate, usize) {
    let mut by_prompt: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (p, v) in values {
        by_prompt.entry(p).or_default().push(*v);
    }
    let means: Vec<f64> = by_prompt.values().filter_map(|v| mean(v)).collect();
    let n = means.len();
    let Some(m) = mean(&means) else {
        return (Estimate::default(), 0);
    };
    let ci = (n >= min_prompts.max(2))
        .then(|| {
            let var = means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
            let half = t_critical(n - 1, confidence)? * (var / n as f64).sqrt();
            Some((m - half, m + half))
        })
        .flatten();
    (Estimate::new(Some(m), ci), n)
}

/// Anchor ratings of one round on one dimension, against the first ratings of the same
/// transcripts.
/// Per transcript: prompt, first ratings by rater, anchor ratings by (rater, score).
type AnchorItems<'a> = BTreeMap<&'a str, (&'a str, BTreeMap<&'a str, f64>, Vec<(&'a str, f64)>)>;

struct AnchorData<'a> {
    /// Per transcript: prompt, first ratings by rater, anchor ratings by rater.
    items: AnchorItems<'a>,
}

fn anchor_data<'a>(
    kept: &'a [Observation],
    anchors: &'a [Observation],
    humans: &[String],
    round: &str,
    dim: &str,
) -> AnchorData<'a> {
    let mut items: AnchorItems<'a> = BTreeMap::new();
    for a in anchors
        .iter()
        .filter(|a| a.round == round && a.dimension == dim && humans.contains(&a.rater))
    {
        items
            .entry(&a.cell_id)
            .or_insert_with(|| (&a.prompt, BTreeMap::new(), Vec::new()))
            .2
            .push((&a.rater, a.score));
    }
    for o in kept
        .iter()
        .filter(|o| o.dimension == dim && humans.contains(&o.rater))
    {
        if let Some(entry) = items.get_mut(o.cell_id.as_str()) {
            entry.1.insert(&o.rater, o.score);
        }
    }
    items.retain(|_, (_, first, _)| !first.is_empty());
    AnchorData { items }
}

fn anchor_rounds(anchors: &[Observation]) -> BTreeSet<(String, String)> {
    anchors
        .iter()
        .map(|a| (a.round.clone(), a.dimension.clone()))
        .collect()
}

/// How a later round's ratings are put back on the first round's scale: per transcript of the
/// round, the change its ratings carry, to be subtracted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DriftAdjustment {
    /// The round's shift on the latent (logit) scale, relative to the first round (beyond
    /// ±15 when it diverges: every rating of the round at one end).
    pub latent_shift: f64,
    /// Per transcript rated in the round: the expected change of a rating at its group's place
    /// on the scale.
    pub by_cell: BTreeMap<String, f64>,
    /// (model, scaffold) whose every rating in the round sits at the end of the scale the round
    /// drifted toward: how far they moved cannot be measured (the fit puts them at infinity and
    /// subtracts nothing).
    pub at_scale_end: BTreeSet<(String, String)>,
}

impl DriftAdjustment {
    /// A rating of `cell` made in this round, on the first round's scale.
    pub(super) fn adjust(&self, cell: &str, score: f64) -> f64 {
        score - self.by_cell.get(cell).copied().unwrap_or(0.0)
    }
}

/// Each drifted round's adjustment per dimension (what the drift-adjusted specification
/// applies), from one cumulative-link fit per dimension.
///
/// Why a model: a drift of the raters moves a rating only where the transcript sits near a
/// boundary between levels, so a condition at the floor moves by a different amount than the
/// anchors' average (subtracting the mean change, or equating the anchors' marginal
/// distributions, left a third of an injected bias in place). The fit is
/// `logit P(Y ≤ j) = θⱼ − μ_g − δ_r` over every human rating of the dimension (first ratings
/// and anchor re-ratings), with a group g per (model, scaffold, anchored or not) and a shift δ_r
/// per round (the first round the reference). An anchored transcript's ratings from two rounds
/// share a group, so δ_r is measured within the same transcripts; a round nothing links to the
/// first (its shift aliased with the groups) gets none and is left as it is. A rating of group g
/// in round r then moves by `E[Y | μ_g + δ_r] − E[Y | μ_g]`, which is what is subtracted.
pub(super) fn round_adjustments(
    kept: &[Observation],
    anchors: &[Observation],
    humans: &[String],
    rounds: &[String],
) -> BTreeMap<(String, String), DriftAdjustment> {
    let anchored: BTreeSet<&str> = anchors.iter().map(|a| a.cell_id.as_str()).collect();
    let dims: BTreeSet<&str> = anchors.iter().map(|a| a.dimension.as_str()).collect();
    let mut out = BTreeMap::new();
    for dim in dims {
        let ratings: Vec<&Observation> = kept
            .iter()
            .chain(anchors)
            .filter(|o| o.dimension == dim && humans.contains(&o.rater))
            .collect();
        let Some(fit) = RoundFit::new(&ratings, &anchored, rounds) else {
            continue;
        };
        out.extend(fit.adjustments(&ratings, &anchored, dim));
    }
    out
}

/// The cumulative-link fit behind [`round_adjustments`], for one dimension.
struct RoundFit<'a> {
    /// The rating values in use, ascending (the fit's categories).
    values: Vec<f64>,
    thresholds: Vec<f64>,
    /// μ per group (0 for the reference group).
    groups: BTreeMap<(&'a str, &'a str, bool), f64>,
    /// δ per round that has one.
    shifts: BTreeMap<&'a str, f64>,
}

impl<'a> RoundFit<'a> {
    fn new(
        ratings: &[&'a Observation],
        anchored: &BTreeSet<&str>,
        rounds: &[String],
    ) -> Option<RoundFit<'a>> {
        let mut values: Vec<f64> = ratings.iter().map(|o| o.score).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        // Rounds in the pooling order (unlisted ones after, by name): the first is the reference.
        let round_names: BTreeSet<(usize, &str)> = ratings
            .iter()
            .map(|o| {
                let r = o.round.as_str();
                (
                    rounds.iter().position(|x| x == r).unwrap_or(rounds.len()),
                    r,
                )
            })
            .collect();
        let round_names: Vec<&str> = round_names.into_iter().map(|(_, r)| r).collect();
        let group_of = |o: &&'a Observation| {
            (
                o.model.as_str(),
                o.scaffold.as_str(),
                anchored.contains(o.cell_id.as_str()),
            )
        };
        let group_names: Vec<(&str, &str, bool)> = ratings
            .iter()
            .map(group_of)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let y: Vec<usize> = ratings
            .iter()
            .map(|o| values.partition_point(|v| *v < o.score))
            .collect();
        let factors = vec![
            ratings
                .iter()
                .map(|o| group_names.binary_search(&group_of(o)).expect("listed"))
                .collect(),
            ratings
                .iter()
                .map(|o| {
                    round_names
                        .iter()
                        .position(|r| *r == o.round)
                        .expect("listed")
                })
                .collect(),
        ];
        let design = super::clm::Design::treatment(&factors);
        let shifted = design.columns.iter().any(|(f, _)| *f == 1);
        if !shifted {
            return None;
        }
        let fit = super::clm::fit(&y, &design.rows, design.columns.len()).ok()?;
        let values: Vec<f64> = fit.used_categories.iter().map(|&c| values[c]).collect();
        let mut groups: BTreeMap<(&str, &str, bool), f64> =
            group_names.iter().map(|g| (*g, 0.0)).collect();
        let mut shifts = BTreeMap::new();
        for (&(factor, level), &beta) in design.columns.iter().zip(&fit.coefficients) {
            if factor == 0 {
                groups.insert(group_names[level], beta);
            } else {
                shifts.insert(round_names[level], beta);
            }
        }
        Some(RoundFit {
            values,
            thresholds: fit.thresholds,
            groups,
            shifts,
        })
    }

    fn adjustments(
        &self,
        ratings: &[&Observation],
        anchored: &BTreeSet<&str>,
        dim: &str,
    ) -> BTreeMap<(String, String), DriftAdjustment> {
        let expected = |eta: f64| super::clm::expected_value(&self.thresholds, &self.values, eta);
        let mut out: BTreeMap<(String, String), DriftAdjustment> = BTreeMap::new();
        // Per (round, model, scaffold): does every rating sit at the end the round drifted to?
        let mut at_end: BTreeMap<(&str, &str, &str), bool> = BTreeMap::new();
        let (lowest, highest) = (self.values[0], self.values[self.values.len() - 1]);
        // Anchor re-ratings measure the drift; they are not what the effects are computed from.
        for o in ratings.iter().filter(|o| o.role != ItemRole::Anchor) {
            let Some(&delta) = self.shifts.get(o.round.as_str()) else {
                continue;
            };
            let end = if delta < 0.0 { lowest } else { highest };
            // A shift that diverges (every rating of the round at one end) measures nothing: the
            // whole round is then at the end.
            *at_end
                .entry((&o.round, &o.model, &o.scaffold))
                .or_insert(true) &= delta != 0.0 && (diverges(delta) || o.score == end);
        }
        for o in ratings {
            let Some(&delta) = self.shifts.get(o.round.as_str()) else {
                continue;
            };
            let group = (
                o.model.as_str(),
                o.scaffold.as_str(),
                anchored.contains(o.cell_id.as_str()),
            );
            let mu = self.groups[&group];
            let entry = out
                .entry((o.round.clone(), dim.to_string()))
                .or_insert_with(|| DriftAdjustment {
                    latent_shift: delta,
                    by_cell: BTreeMap::new(),
                    at_scale_end: BTreeSet::new(),
                });
            if at_end
                .get(&(o.round.as_str(), o.model.as_str(), o.scaffold.as_str()))
                .is_some_and(|&all| all)
            {
                entry
                    .at_scale_end
                    .insert((o.model.clone(), o.scaffold.clone()));
            }
            entry.by_cell.entry(o.cell_id.clone()).or_insert_with(|| {
                if diverges(delta) {
                    0.0
                } else {
                    expected(mu + delta) - expected(mu)
                }
            });
        }
        out
    }
}

fn diverges(coefficient: f64) -> bool {
    coefficient.abs() > super::clm::DIVERGENCE
}

fn item_changes<'a>(data: &AnchorData<'a>) -> Vec<(&'a str, f64)> {
    data.items
        .values()
        .filter_map(|(prompt, first, again)| {
            let before = mean(&first.values().copied().collect::<Vec<_>>())?;
            let after = mean(&again.iter().map(|(_, v)| *v).collect::<Vec<_>>())?;
            Some((*prompt, after - before))
        })
        .collect()
}

fn drift_result(ctx: &Context<'_>, round: &str, dim: &str) -> Option<DriftResult> {
    let plan = &ctx.input.plan;
    let data = anchor_data(&ctx.observations, &ctx.anchors, &ctx.humans, round, dim);
    if data.items.is_empty() {
        return None;
    }
    let (mean_change, n_prompts) =
        over_prompts(&item_changes(&data), plan.confidence, plan.min_prompts);
    // Per rater: (prompt, change) pairs, own re-ratings, calibration ratings, exact repeats.
    type PerRater<'a> = BTreeMap<&'a str, (Vec<(&'a str, f64)>, usize, usize, usize)>;
    let mut per: PerRater<'_> = BTreeMap::new();
    for (prompt, first, again) in data.items.values() {
        let others = mean(&first.values().copied().collect::<Vec<_>>())?;
        for (rater, score) in again {
            let e = per.entry(rater).or_default();
            match first.get(rater) {
                Some(own) => {
                    e.0.push((prompt, score - own));
                    e.1 += 1;
                    e.3 += usize::from(score == own);
                }
                None => {
                    e.0.push((prompt, score - others));
                    e.2 += 1;
                }
            }
        }
    }
    let per_rater = per
        .into_iter()
        .map(|(rater, (changes, n_same, n_new, same_exact))| RaterDrift {
            rater: rater.to_string(),
            n_same,
            n_new,
            mean_change: over_prompts(&changes, plan.confidence, plan.min_prompts).0,
            same_agreement: (n_same > 0).then(|| same_exact as f64 / n_same as f64),
        })
        .collect();
    Some(DriftResult {
        dimension: dim.to_string(),
        round: round.to_string(),
        n_items: data.items.len(),
        n_prompts,
        mean_change,
        latent_shift: ctx
            .drift
            .get(&(round.to_string(), dim.to_string()))
            .map(|a| a.latent_shift)
            .filter(|s| !diverges(*s)),
        per_rater,
    })
}

/// (model, scaffold) effects whose scaffold and baseline ratings do not all come from one round.
pub(super) fn cross_round_pairs(ctx: &Context<'_>) -> BTreeSet<(String, String)> {
    let mut rounds: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for o in ctx
        .observations
        .iter()
        .filter(|o| ctx.humans.contains(&o.rater))
    {
        rounds
            .entry((&o.model, &o.scaffold))
            .or_default()
            .insert(&o.round);
    }
    let baseline = &ctx.scaffolds[ctx.baseline];
    let mut out = BTreeSet::new();
    for model in &ctx.models {
        let Some(base) = rounds.get(&(model.as_str(), baseline.as_str())) else {
            continue;
        };
        for scaffold in ctx.scaffolds.iter().filter(|s| *s != baseline) {
            if let Some(here) = rounds.get(&(model.as_str(), scaffold.as_str()))
                && here.union(base).count() > 1
            {
                out.insert((model.clone(), scaffold.clone()));
            }
        }
    }
    out
}

/// Whether a drift-adjusted effect is only a bound: a side of it had every rating of a drifted
/// round at the end the raters drifted toward. A condition at the floor of a round that drifted
/// down would have rated higher without the drift, by an amount nothing measures.
fn bound(ctx: &Context<'_>, dim: &str, model: &str, scaffold: &str) -> Option<Bound> {
    let baseline = ctx.scaffolds[ctx.baseline].as_str();
    let mut directions = BTreeSet::new();
    for ((_, d), adjustment) in &ctx.drift {
        if d != dim {
            continue;
        }
        // The undrifted mean of a condition at the end lies away from the end, against the drift.
        let up = adjustment.latent_shift < 0.0;
        for (side, sign) in [(scaffold, true), (baseline, false)] {
            if adjustment
                .at_scale_end
                .contains(&(model.to_string(), side.to_string()))
            {
                directions.insert(up == sign);
            }
        }
    }
    match directions.len() {
        0 => None,
        1 if directions.contains(&true) => Some(Bound::AtLeast),
        1 => Some(Bound::AtMost),
        _ => Some(Bound::Neither),
    }
}

/// The rounds section of the results; `None` for a study rated in one round without anchors or
/// adjudication.
pub(super) fn rounds_analysis(
    ctx: &Context<'_>,
    main: &[Efficacy],
    cross_round: &BTreeSet<(String, String)>,
    others: &[Option<f64>],
) -> Option<RoundsAnalysis> {
    if cross_round.is_empty() && ctx.anchors.is_empty() && ctx.adjudicated.is_empty() {
        return None;
    }
    let plan = &ctx.input.plan;
    let study = ctx.input.study;
    let drift: Vec<DriftResult> = anchor_rounds(&ctx.anchors)
        .into_iter()
        .filter_map(|(round, dim)| drift_result(ctx, &round, &dim))
        .collect();
    let primary_index = study
        .rubric
        .dimensions
        .iter()
        .position(|d| d.id == plan.primary);
    let mut adjusted_effects = Vec::new();
    let mut adjudication = None;
    if let Some(i) = primary_index {
        let dim = &study.rubric.dimensions[i];
        let registered = &main[i];
        let redo = |spec: Spec| {
            let mut out = vec![efficacy::efficacy(ctx, dim, &spec)];
            efficacy::adjust_with(&mut out, others, plan);
            out.remove(0)
        };
        if !ctx.drift.is_empty() {
            let adjusted = redo(Spec {
                drift_adjusted: true,
                ..Spec::registered()
            });
            for e in registered
                .effects
                .iter()
                .filter(|e| cross_round.contains(&(e.model.clone(), e.scaffold.clone())))
            {
                if let Some(a) = adjusted
                    .effects
                    .iter()
                    .find(|a| a.model == e.model && a.scaffold == e.scaffold)
                {
                    adjusted_effects.push(AdjustedEffect {
                        model: e.model.clone(),
                        scaffold: e.scaffold.clone(),
                        registered: e.effect,
                        adjusted: a.effect,
                        label_registered: e.label_text.clone(),
                        label_adjusted: a.label_text.clone(),
                        bound: bound(ctx, &dim.id, &e.model, &e.scaffold),
                    });
                }
            }
        }
        if !ctx.adjudicated.is_empty() {
            let without = redo(Spec {
                adjudicated: false,
                ..Spec::registered()
            });
            let changes = registered
                .effects
                .iter()
                .filter_map(|e| {
                    let w = without
                        .effects
                        .iter()
                        .find(|w| w.model == e.model && w.scaffold == e.scaffold)?;
                    let differs = match (w.effect.value, e.effect.value) {
                        (Some(a), Some(b)) => (a - b).abs() > 1e-12,
                        (a, b) => a.is_some() != b.is_some(),
                    };
                    (differs || w.label != e.label).then(|| AdjudicationChange {
                        model: e.model.clone(),
                        scaffold: e.scaffold.clone(),
                        without: w.effect.value,
                        with: e.effect.value,
                        label_without: w.label_text.clone(),
                        label_with: e.label_text.clone(),
                    })
                })
                .collect();
            adjudication = Some(AdjudicationResult {
                rule: plan.adjudication.as_str().to_string(),
                rounds: ctx.adjudication_rounds.iter().cloned().collect(),
                n_items: ctx
                    .adjudicated
                    .keys()
                    .map(|(cell, _)| cell.as_str())
                    .collect::<BTreeSet<_>>()
                    .len(),
                changes,
            });
        }
    }
    Some(RoundsAnalysis {
        cross_round: cross_round.iter().cloned().collect(),
        drift,
        adjusted_effects,
        adjudication,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_over_prompts_has_a_t_interval() {
        // Prompt means 0.5, 1.0, 0.0 (p1 averages two items): mean 0.5, sd 0.5, n 3;
        // t(2, 0.975) = 4.302652729749464 (R: qt(0.975, 2)), half-width 4.3027 * 0.5 / sqrt(3).
        let values = [("p1", 0.0), ("p1", 1.0), ("p2", 1.0), ("p3", 0.0)];
        let (e, n) = over_prompts(&values, 0.95, 2);
        assert_eq!(n, 3);
        assert!((e.value.unwrap() - 0.5).abs() < 1e-12);
        let half = 4.302652729749464 * 0.5 / 3f64.sqrt();
        assert!((e.ci_high.unwrap() - (0.5 + half)).abs() < 1e-9, "{e:?}");
        assert!((e.ci_low.unwrap() - (0.5 - half)).abs() < 1e-9, "{e:?}");
        // One prompt: a value, no interval.
        let (e, _) = over_prompts(&[("p1", 0.5)], 0.95, 2);
        assert_eq!(e.value, Some(0.5));
        assert_eq!(e.ci_low, None);
    }

    fn rating(round: &str, cell: &str, scaffold: &str, rater: &str, score: f64) -> Observation {
        Observation {
            round: round.into(),
            cell_id: cell.into(),
            model: "m".into(),
            scaffold: scaffold.into(),
            prompt: "p".into(),
            repeat: 0,
            rater: rater.into(),
            dimension: "d".into(),
            score,
            role: ItemRole::New,
        }
    }

    /// Round one: anchored transcripts a1-a6 and others b1-b4 of scaffold s0, two raters each;
    /// round two: a new scaffold s1 (n1-n4) and r1 re-rating a1-a6 (`again`).
    fn grown(again: [f64; 6]) -> (Vec<Observation>, Vec<Observation>) {
        let mut kept = Vec::new();
        let pairs = |cells: &[&str], scores: &[(f64, f64)], round: &str, scaffold: &str| {
            cells
                .iter()
                .zip(scores)
                .flat_map(|(c, (x, y))| {
                    [
                        rating(round, c, scaffold, "r1", *x),
                        rating(round, c, scaffold, "r2", *y),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let a = ["a1", "a2", "a3", "a4", "a5", "a6"];
        let first = [(0., 1.), (1., 1.), (1., 2.), (2., 2.), (0., 0.), (1., 0.)];
        kept.extend(pairs(&a, &first, "one", "s0"));
        let b = [(0., 1.), (1., 1.), (2., 1.), (1., 2.)];
        kept.extend(pairs(&["b1", "b2", "b3", "b4"], &b, "one", "s0"));
        let n = [(0., 0.), (0., 1.), (1., 0.), (0., 0.)];
        kept.extend(pairs(&["n1", "n2", "n3", "n4"], &n, "two", "s1"));
        let anchors = a
            .iter()
            .zip(again)
            .map(|(c, v)| Observation {
                role: ItemRole::Anchor,
                ..rating("two", c, "s0", "r1", v)
            })
            .collect();
        (kept, anchors)
    }

    #[test]
    fn a_drifted_round_is_put_back_by_its_latent_shift_at_each_condition() {
        let (kept, anchors) = grown([1., 2., 2., 2., 1., 1.]);
        let humans = ["r1", "r2"].map(String::from).to_vec();
        let rounds = ["one", "two"].map(String::from).to_vec();
        let adjustments = round_adjustments(&kept, &anchors, &humans, &rounds);
        let two = &adjustments[&("two".to_string(), "d".to_string())];
        // R 4.2.2, ordinal 2022.11.16: clm(y ~ g + r) with g = (s0 others, s0 anchored, s1),
        // r = (one, two); tests/golden/r/drift_reference.R.
        let (thresholds, shift, new_scaffold) = (
            [-1.604346468002, 0.913317573193],
            1.655946072706,
            -4.392961557298,
        );
        assert!((two.latent_shift - shift).abs() < 1e-6, "{two:?}");
        let expected =
            |eta: f64| crate::analyze::clm::expected_value(&thresholds, &[0.0, 1.0, 2.0], eta);
        let moved = expected(new_scaffold + shift) - expected(new_scaffold);
        assert!((two.by_cell["n1"] - moved).abs() < 1e-6, "{two:?}");
        assert!((two.adjust("n1", 1.0) - (1.0 - moved)).abs() < 1e-6);
        // The new scaffold sits near the floor, where a shift of the raters moves ratings less
        // than in the middle of the scale.
        let middle = expected(shift / 2.0) - expected(-shift / 2.0);
        assert!(moved < middle, "{moved} {middle}");
        assert!(!adjustments.contains_key(&("one".to_string(), "d".to_string())));
    }

    #[test]
    fn a_condition_at_the_end_the_raters_drifted_to_is_only_a_bound() {
        let (mut kept, anchors) = grown([0., 0., 0., 1., 0., 0.]);
        for o in kept.iter_mut().filter(|o| o.scaffold == "s1") {
            o.score = 0.0;
        }
        let humans = ["r1", "r2"].map(String::from).to_vec();
        let rounds = ["one", "two"].map(String::from).to_vec();
        let adjustments = round_adjustments(&kept, &anchors, &humans, &rounds);
        let two = &adjustments[&("two".to_string(), "d".to_string())];
        assert!(two.latent_shift < 0.0, "{two:?}");
        let at_end: Vec<_> = two.at_scale_end.iter().cloned().collect();
        assert_eq!(at_end, [("m".to_string(), "s1".to_string())]);
        assert!(two.by_cell["n1"].abs() < 1e-6, "{two:?}");
        // Anchors at the floor measure the drift; they do not make their condition a bound.
        assert!(
            !two.at_scale_end
                .contains(&("m".to_string(), "s0".to_string()))
        );
    }

    #[test]
    fn anchors_rated_as_before_adjust_nothing() {
        let (mut kept, _) = grown([0.0; 6]);
        // Both raters give every anchored transcript its first ratings again.
        let anchors: Vec<Observation> = kept
            .iter()
            .filter(|o| o.cell_id.starts_with('a'))
            .map(|o| Observation {
                round: "two".into(),
                role: ItemRole::Anchor,
                ..o.clone()
            })
            .collect();
        let humans = ["r1", "r2"].map(String::from).to_vec();
        let rounds = ["one", "two"].map(String::from).to_vec();
        let adjustments = round_adjustments(&kept, &anchors, &humans, &rounds);
        let two = &adjustments[&("two".to_string(), "d".to_string())];
        assert!(two.latent_shift.abs() < 1e-8, "{two:?}");
        assert!(two.by_cell.values().all(|d| d.abs() < 1e-8), "{two:?}");
        // Without anchors nothing links round two to round one: no adjustment.
        assert!(round_adjustments(&kept, &[], &humans, &rounds).is_empty());
        // Nor when the anchors' round shares no condition with the first.
        kept.retain(|o| o.round == "two");
        assert!(round_adjustments(&kept, &[], &humans, &rounds).is_empty());
    }

    #[test]
    fn the_adjudication_rule_scores_adjudicated_items() {
        let obs = |rater: &str, score: f64| rating("r", "t1", "s", rater, score);
        let kept = vec![obs("a", 0.0), obs("b", 2.0)];
        let third = vec![obs("c", 2.0)];
        let humans: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let key = ("t1".to_string(), "d".to_string());
        let by_adjudicator =
            adjudicated_scores(&kept, &third, &humans, AdjudicationRule::Adjudicator);
        assert_eq!(by_adjudicator[&key], 2.0);
        let third = vec![obs("c", 1.0)];
        let by_median = adjudicated_scores(&kept, &third, &humans, AdjudicationRule::Median);
        assert_eq!(by_median[&key], 1.0);
    }
}
