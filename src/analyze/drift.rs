//! Studies rated over several rounds: which comparisons cross rounds, how far the raters drifted
//! between rounds (measured on anchor items), the drift-adjusted re-analysis, and what the
//! adjudication rule changed.
//!
//! Drift of a later round on a dimension: for each anchor transcript, the mean of its ratings in
//! that round minus the mean of its first (pooled) ratings; averaged within prompts, then over
//! prompts, with a t interval over prompts (prompts are the independent unit, as everywhere in
//! the analysis). Per rater: each anchor rating minus the rater's own earlier rating of the
//! transcript where there is one (drift), else minus the earlier raters' mean (calibration of a
//! new rater). The drift-adjusted specification subtracts each round's measured drift from its
//! ratings; rounds without anchors are left as they are.

use std::collections::{BTreeMap, BTreeSet};

use super::clustered::t_critical;
use super::efficacy::{self, Efficacy};
use super::results::*;
use super::study::{Context, Observation, Spec, mean, median};
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

/// How a later round's ratings map onto the earlier rounds' scale, from its anchor items.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Equating {
    /// The mean change (later minus earlier) over prompts: the shift of levels never seen among
    /// the anchors.
    pub mean_change: f64,
    /// Later level → the earlier ratings' mean over the same quantile band.
    pub levels: Vec<(f64, f64)>,
}

impl Equating {
    /// A later rating on the earlier rounds' scale.
    pub(super) fn adjust(&self, score: f64) -> f64 {
        self.levels
            .iter()
            .find(|(l, _)| *l == score)
            .map_or(score - self.mean_change, |(_, v)| *v)
    }
}

/// Equipercentile equating of discrete ratings: each later level L takes the quantile band
/// [P(later < L), P(later ≤ L)] of the anchors' later ratings and maps to the mean of the earlier
/// ratings' quantile function over that band. Unlike subtracting the mean change it respects
/// the scale's floor and ceiling, where a drift cannot show.
fn equipercentile(earlier: &mut [f64], later: &mut [f64]) -> Vec<(f64, f64)> {
    earlier.sort_by(f64::total_cmp);
    later.sort_by(f64::total_cmp);
    let (n1, n2) = (earlier.len() as f64, later.len() as f64);
    if earlier.is_empty() || later.is_empty() {
        return Vec::new();
    }
    let mut levels: Vec<f64> = later.to_vec();
    levels.dedup();
    levels
        .into_iter()
        .map(|level| {
            let lo = later.iter().filter(|v| **v < level).count() as f64 / n2;
            let hi = later.iter().filter(|v| **v <= level).count() as f64 / n2;
            let mut sum = 0.0;
            for (k, v) in earlier.iter().enumerate() {
                let (a, b) = (k as f64 / n1, (k + 1) as f64 / n1);
                let overlap = (b.min(hi) - a.max(lo)).max(0.0);
                sum += overlap * v;
            }
            (level, sum / (hi - lo))
        })
        .collect()
}

/// Each anchored round's equating per dimension (what the drift-adjusted specification applies).
pub(super) fn round_shifts(
    kept: &[Observation],
    anchors: &[Observation],
    humans: &[String],
) -> BTreeMap<(String, String), Equating> {
    anchor_rounds(anchors)
        .into_iter()
        .filter_map(|(round, dim)| {
            let data = anchor_data(kept, anchors, humans, &round, &dim);
            let (e, _) = over_prompts(&item_changes(&data), 0.95, 2);
            let mut earlier: Vec<f64> = data
                .items
                .values()
                .flat_map(|(_, first, _)| first.values().copied())
                .collect();
            let mut later: Vec<f64> = data
                .items
                .values()
                .flat_map(|(_, _, again)| again.iter().map(|(_, v)| *v))
                .collect();
            let levels = equipercentile(&mut earlier, &mut later);
            e.value.map(|mean_change| {
                (
                    (round, dim),
                    Equating {
                        mean_change,
                        levels,
                    },
                )
            })
        })
        .collect()
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

    #[test]
    fn equipercentile_equating_maps_bands_of_the_later_scale() {
        // Earlier 0,0,1,2 ; later 1,1,1,2: later 1 covers quantiles [0, 0.75] → mean of 0,0,1
        // = 1/3; later 2 covers [0.75, 1] → 2.
        let levels = equipercentile(&mut [2.0, 0.0, 1.0, 0.0], &mut [1.0, 2.0, 1.0, 1.0]);
        assert_eq!(levels.len(), 2);
        assert!((levels[0].1 - 1.0 / 3.0).abs() < 1e-12, "{levels:?}");
        assert_eq!(levels[1], (2.0, 2.0));
        let e = Equating {
            mean_change: 0.25,
            levels,
        };
        assert_eq!(e.adjust(2.0), 2.0);
        assert_eq!(e.adjust(0.0), -0.25);
        // No drift: the identity.
        let same = equipercentile(&mut [0.0, 1.0, 2.0], &mut [2.0, 1.0, 0.0]);
        assert_eq!(same, vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]);
    }

    #[test]
    fn the_adjudication_rule_scores_adjudicated_items() {
        let obs = |rater: &str, score: f64| Observation {
            round: "r".into(),
            cell_id: "t1".into(),
            model: "m".into(),
            scaffold: "s".into(),
            prompt: "p".into(),
            repeat: 0,
            rater: rater.into(),
            dimension: "d".into(),
            score,
            role: crate::blind::round::ItemRole::New,
        };
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
