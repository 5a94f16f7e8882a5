//! Efficacy per model x scaffold: cell means and shares at the top level, paired effects against
//! the baseline with their change and equivalence tests, and the verdicts, adjusted for
//! multiplicity over the plan's family.
//!
//! Everything here is computed from prompt-level values (a prompt's transcripts averaged over
//! repeats), because prompts are the independent unit: see `clustered` for the intervals and
//! docs/statistics.md for their simulated coverage. There is no randomness in this module.

use std::collections::BTreeMap;

use super::clustered::{BoundedMean, Paired, mover};
use super::hypothesis;
use super::results::*;
use super::study::{Context, Plan, Scored, Spec};
use crate::study::{Dimension, Family};

/// One prompt's values in one cell: its transcripts' mean score and share at the top level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PromptValue {
    pub mean: f64,
    pub share: f64,
}

/// Per-prompt values of one model x scaffold (repeats averaged).
pub(super) fn per_prompt(
    scores: &[Scored],
    model: usize,
    scaffold: usize,
) -> BTreeMap<&str, PromptValue> {
    let mut sums: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for s in scores
        .iter()
        .filter(|s| s.model == model && s.scaffold == scaffold)
    {
        let e = sums.entry(s.prompt.as_str()).or_default();
        e.0 += s.score;
        e.1 += f64::from(u8::from(s.at_top));
        e.2 += 1;
    }
    sums.into_iter()
        .map(|(p, (sum, top, n))| {
            (
                p,
                PromptValue {
                    mean: sum / n as f64,
                    share: top / n as f64,
                },
            )
        })
        .collect()
}

/// The efficacy tables of one dimension under one specification, before or after the verdicts.
#[derive(Debug, Clone)]
pub(super) struct Efficacy {
    pub cells: Vec<CellResult>,
    pub effects: Vec<EffectResult>,
    /// Per effect: the ceiling share of its scaffold's cell.
    ceiling: Vec<Option<f64>>,
    margin: f64,
}

impl Efficacy {
    /// The p-values that enter the multiplicity family: per effect, the change test and the
    /// equivalence test.
    pub(super) fn p_values(&self) -> Vec<Option<f64>> {
        self.effects
            .iter()
            .flat_map(|e| [e.p_value, e.tost_p])
            .collect()
    }
}

/// Why a mean or an effect has no interval.
fn too_few(n: usize, min: usize, what: &str) -> String {
    format!("{n} {what} (an interval needs at least {min})")
}

fn estimate_of(m: &BoundedMean, ci: Option<(f64, f64)>) -> Estimate {
    Estimate::new(Some(m.estimate), ci)
}

pub(super) fn efficacy(ctx: &Context<'_>, dim: &Dimension, spec: &Spec) -> Efficacy {
    let plan = &ctx.input.plan;
    let scores = ctx.scores(dim, spec);
    let (lo, hi) = spec.bounds(dim);
    let margin = plan.margin(dim);
    // Binarised scores live on [0, 1]: the margin shrinks with the range.
    let margin = margin / (dim.max() - dim.min()).max(1) as f64 * (hi - lo);
    let tables: Vec<Vec<BTreeMap<&str, PromptValue>>> = (0..ctx.models.len())
        .map(|m| {
            (0..ctx.scaffolds.len())
                .map(|s| per_prompt(&scores, m, s))
                .collect()
        })
        .collect();

    let mut cells = Vec::new();
    let mut shares: BTreeMap<(usize, usize), Option<f64>> = BTreeMap::new();
    for (m, model) in ctx.models.iter().enumerate() {
        for (s, scaffold) in ctx.scaffolds.iter().enumerate() {
            let prompts = &tables[m][s];
            let means: Vec<f64> = prompts.values().map(|v| v.mean).collect();
            let tops: Vec<f64> = prompts.values().map(|v| v.share).collect();
            let n = scores
                .iter()
                .filter(|x| x.model == m && x.scaffold == s)
                .count();
            let g = prompts.len();
            let (mean, share, note) = match (
                BoundedMean::new(&means, lo, hi),
                BoundedMean::new(&tops, 0.0, 1.0),
            ) {
                (Some(mean), Some(top)) if g >= plan.min_prompts => {
                    let ci = mean.ci(plan.confidence);
                    let note = ci
                        .is_none()
                        .then(|| format!("no variation: every prompt scored {:.2}", mean.estimate));
                    (
                        estimate_of(&mean, ci),
                        estimate_of(&top, top.ci(plan.confidence)),
                        note,
                    )
                }
                (Some(mean), Some(top)) => (
                    estimate_of(&mean, None),
                    estimate_of(&top, None),
                    Some(too_few(g, plan.min_prompts, "prompt")),
                ),
                _ => (Estimate::default(), Estimate::default(), None),
            };
            shares.insert((m, s), share.value);
            cells.push(CellResult {
                model: model.clone(),
                scaffold: scaffold.clone(),
                n,
                n_prompts: g,
                mean,
                ceiling_share: share,
                note,
            });
        }
    }

    let alpha = plan.alpha();
    let mut effects = Vec::new();
    let mut ceiling = Vec::new();
    for (m, model) in ctx.models.iter().enumerate() {
        for (s, scaffold) in ctx.scaffolds.iter().enumerate() {
            if s == ctx.baseline {
                continue;
            }
            let (treated, base) = (&tables[m][s], &tables[m][ctx.baseline]);
            let paired: Vec<(PromptValue, PromptValue)> = treated
                .iter()
                .filter_map(|(p, t)| base.get(p).map(|b| (*t, *b)))
                .collect();
            let side = |f: fn(&PromptValue) -> f64, first: bool| -> Vec<f64> {
                paired
                    .iter()
                    .map(|(t, b)| if first { f(t) } else { f(b) })
                    .collect()
            };
            let scores_pair =
                Paired::new(&side(|v| v.mean, true), &side(|v| v.mean, false), lo, hi);
            let tops_pair = Paired::new(
                &side(|v| v.share, true),
                &side(|v| v.share, false),
                0.0,
                1.0,
            );
            let n_pairs = paired.len();
            let mut effect = EffectResult {
                model: model.clone(),
                scaffold: scaffold.clone(),
                n_pairs,
                effect: Estimate::new(scores_pair.as_ref().map(Paired::estimate), None),
                p_value: None,
                p_adjusted: None,
                ceiling_change: Estimate::new(tops_pair.as_ref().map(Paired::estimate), None),
                tost_ci: Estimate::default(),
                tost_p: None,
                tost_p_adjusted: None,
                label: None,
                label_text: String::new(),
                cross_round: false,
                note: None,
            };
            match &scores_pair {
                None => effect.note = Some("no prompt was rated under both scaffolds".into()),
                Some(_) if n_pairs < plan.min_prompts => {
                    effect.note = Some(too_few(n_pairs, plan.min_prompts, "prompt pair"));
                }
                Some(p) => match p.ci(plan.confidence) {
                    None => {
                        effect.note = Some(format!(
                            "no variation: every prompt scored {:.2} under {scaffold} and {:.2} under {}",
                            p.treated.estimate, p.base.estimate, ctx.scaffolds[ctx.baseline]
                        ));
                    }
                    Some(ci) => {
                        effect.effect = Estimate::new(Some(p.estimate()), Some(ci));
                        effect.p_value = p.p_value(0.0);
                        effect.ceiling_change = match &tops_pair {
                            Some(t) => Estimate::new(Some(t.estimate()), t.ci(plan.confidence)),
                            None => Estimate::default(),
                        };
                        if p.both_at_same_bound() {
                            let at = if p.treated.estimate <= lo {
                                "the floor (the lowest level)"
                            } else {
                                "the ceiling (the top level)"
                            };
                            effect.note = Some(format!(
                                "every transcript at {at} under both scaffolds: the scale cannot show a difference here, so equivalence is not tested"
                            ));
                        } else {
                            // The conventional TOST (Schuirmann 1987) at alpha: its 1 - 2 alpha
                            // interval, and the larger one-sided p against the margins.
                            effect.tost_ci =
                                Estimate::new(Some(p.estimate()), p.ci(1.0 - 2.0 * alpha));
                            effect.tost_p = p
                                .p_above(-margin)
                                .zip(p.p_below(margin))
                                .map(|(a, b)| a.max(b));
                        }
                    }
                },
            }
            ceiling.push(shares[&(m, s)]);
            effects.push(effect);
        }
    }
    Efficacy {
        cells,
        effects,
        ceiling,
        margin,
    }
}

/// Adjusts the registered analysis over the plan's family: each dimension alone, or all of
/// them together.
pub(super) fn adjust_families(all: &mut [Efficacy], plan: &Plan) {
    match plan.family {
        Family::Dimension => {
            for one in all.iter_mut() {
                adjust_with(std::slice::from_mut(one), &[], plan);
            }
        }
        Family::Study => adjust_with(all, &[], plan),
    }
}

/// Adjusts every change and equivalence p-value of `group` plus `others` (p-values of the same
/// family computed elsewhere, in the same (change, equivalence) pairs) by Holm's procedure with
/// Shaffer's constraint that an effect's two nulls cannot both be true; then the verdicts.
pub(super) fn adjust_with(group: &mut [Efficacy], others: &[Option<f64>], plan: &Plan) {
    let mut p: Vec<Option<f64>> = group.iter().flat_map(Efficacy::p_values).collect();
    let own = p.len();
    p.extend_from_slice(others);
    let effect_of: Vec<usize> = (0..p.len()).map(|i| i / 2).collect();
    let adjusted = hypothesis::holm_shaffer(&p, &effect_of);
    let mut next = adjusted[..own].iter();
    for one in group.iter_mut() {
        let margin = one.margin;
        for (effect, ceiling) in one.effects.iter_mut().zip(&one.ceiling) {
            effect.p_adjusted = *next.next().expect("one per p-value");
            effect.tost_p_adjusted = *next.next().expect("one per p-value");
            effect.label = verdict(effect, *ceiling, plan);
            effect.label_text = Label::text_of(effect.label, margin);
            if let Some(n) = adjustment_note(effect, plan.alpha()) {
                effect.note = Some(match effect.note.take() {
                    Some(before) => format!("{before}; {n}"),
                    None => n,
                });
            }
        }
    }
}

/// The verdict from the Holm-adjusted p-values: a change where "no effect" is rejected, within
/// the margin where "at least the margin" is rejected, both where both are. `None` without an
/// interval.
fn verdict(e: &EffectResult, ceiling: Option<f64>, plan: &Plan) -> Option<Label> {
    e.effect.ci_low?;
    let alpha = plan.alpha();
    let changed = e.p_adjusted.is_some_and(|p| p < alpha);
    let equivalent = e.tost_p_adjusted.is_some_and(|p| p < alpha);
    let up = e.effect.value.is_some_and(|v| v > 0.0);
    Some(match (changed, equivalent, up) {
        (true, true, true) => Label::ImprovedWithinMargin,
        (true, true, false) => Label::WorseWithinMargin,
        (true, false, true) if ceiling.is_some_and(|c| c >= plan.ceiling_share) => {
            Label::RaisedToCeiling
        }
        (true, false, true) => Label::Improved,
        (true, false, false) => Label::Worse,
        (false, true, _) => Label::Equivalent,
        (false, false, _) => Label::Inconclusive,
    })
}

/// Says so where an unadjusted test would have claimed what the adjusted one does not.
fn adjustment_note(e: &EffectResult, alpha: f64) -> Option<String> {
    let lost = |raw: Option<f64>, adjusted: Option<f64>| {
        raw.is_some_and(|p| p < alpha) && adjusted.is_some_and(|p| p >= alpha)
    };
    let mut parts = Vec::new();
    if lost(e.p_value, e.p_adjusted) {
        parts.push(format!(
            "the interval excludes 0 but not after the multiplicity adjustment (p = {}, adjusted {})",
            hypothesis::p_text(e.p_value?, None),
            hypothesis::p_text(e.p_adjusted?, None)
        ));
    }
    if lost(e.tost_p, e.tost_p_adjusted) {
        parts.push(format!(
            "within the margin unadjusted but not after the multiplicity adjustment (TOST p = {}, adjusted {})",
            hypothesis::p_text(e.tost_p?, None),
            hypothesis::p_text(e.tost_p_adjusted?, None)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The difference between two models' paired effects of `scaffold`, over the prompts both have
/// pairs on: MOVER over the two effects' intervals with the correlation of their per-prompt
/// differences.
pub(super) fn contrast(
    scores: &[Scored],
    models: (usize, usize),
    scaffold: usize,
    baseline: usize,
    bounds: (f64, f64),
    plan: &Plan,
) -> Estimate {
    let (lo, hi) = bounds;
    let sides = |m: usize| -> BTreeMap<&str, (f64, f64)> {
        let t = per_prompt(scores, m, scaffold);
        let b = per_prompt(scores, m, baseline);
        t.into_iter()
            .filter_map(|(p, v)| b.get(p).map(|x| (p, (v.mean, x.mean))))
            .collect()
    };
    let (a, b) = (sides(models.0), sides(models.1));
    // Per shared prompt: (model A treated, A baseline, model B treated, B baseline).
    let shared: Vec<[f64; 4]> = a
        .iter()
        .filter_map(|(p, x)| b.get(p).map(|y| [x.0, x.1, y.0, y.1]))
        .collect();
    let column = |i: usize| -> Vec<f64> { shared.iter().map(|s| s[i]).collect() };
    let pa = Paired::new(&column(0), &column(1), lo, hi);
    let pb = Paired::new(&column(2), &column(3), lo, hi);
    let (Some(pa), Some(pb)) = (pa, pb) else {
        return Estimate::default();
    };
    let estimate = pa.estimate() - pb.estimate();
    if shared.len() < plan.min_prompts {
        return Estimate::new(Some(estimate), None);
    }
    let (Some((la, ua)), Some((lb, ub))) = (pa.ci(plan.confidence), pb.ci(plan.confidence)) else {
        return Estimate::new(Some(estimate), None);
    };
    let da: Vec<f64> = shared.iter().map(|s| s[0] - s[1]).collect();
    let db: Vec<f64> = shared.iter().map(|s| s[2] - s[3]).collect();
    let r = correlation(&da, &db);
    let (ea, eb) = (pa.estimate(), pb.estimate());
    let ci = mover(
        estimate,
        (ea - la, ua - ea),
        (eb - lb, ub - eb),
        r,
        2.0 * (hi - lo),
    );
    Estimate::new(Some(estimate), Some(ci))
}

/// Pearson correlation; 0 when either side does not vary.
fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx > 0.0 && syy > 0.0 {
        (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    fn plan() -> Plan {
        Plan::from_study(&defaults::study().unwrap())
    }

    fn effect(value: f64, p: Option<f64>, tost: Option<f64>) -> EffectResult {
        EffectResult {
            model: "m".into(),
            scaffold: "s".into(),
            n_pairs: 15,
            effect: Estimate::new(Some(value), Some((value - 0.1, value + 0.1))),
            p_value: p,
            p_adjusted: p,
            ceiling_change: Estimate::default(),
            tost_ci: Estimate::default(),
            tost_p: tost,
            tost_p_adjusted: tost,
            label: None,
            label_text: String::new(),
            cross_round: false,
            note: None,
        }
    }

    #[test]
    fn verdicts_claim_no_change_from_non_significance_and_say_both_when_both_hold() {
        let p = plan();
        let check = |e: EffectResult, ceiling: Option<f64>, expected: Option<Label>| {
            assert_eq!(verdict(&e, ceiling, &p), expected, "{e:?}");
        };
        check(
            effect(1.0, Some(0.001), Some(0.9)),
            Some(0.95),
            Some(Label::RaisedToCeiling),
        );
        check(
            effect(1.0, Some(0.001), Some(0.9)),
            Some(0.5),
            Some(Label::Improved),
        );
        check(
            effect(-1.0, Some(0.001), Some(0.9)),
            None,
            Some(Label::Worse),
        );
        check(
            effect(0.0, Some(0.6), Some(0.3)),
            None,
            Some(Label::Inconclusive),
        );
        check(
            effect(0.0, Some(1.0), Some(0.001)),
            None,
            Some(Label::Equivalent),
        );
        // Differs from zero and lies within the margin: both are said.
        check(
            effect(0.2, Some(0.01), Some(0.01)),
            Some(0.95),
            Some(Label::ImprovedWithinMargin),
        );
        check(
            effect(-0.2, Some(0.01), Some(0.01)),
            None,
            Some(Label::WorseWithinMargin),
        );
        // No interval, no verdict.
        let mut none = effect(0.5, None, None);
        none.effect.ci_low = None;
        check(none, None, None);
    }

    fn scored(model: usize, scaffold: usize, prompt: &str, repeat: u32, score: f64) -> Scored {
        Scored {
            model,
            scaffold,
            prompt: prompt.into(),
            repeat,
            score,
            at_top: score >= 2.0,
        }
    }

    #[test]
    fn repeats_are_averaged_within_their_prompt() {
        let scores = vec![
            scored(0, 1, "a", 0, 2.0),
            scored(0, 1, "a", 1, 1.0),
            scored(0, 1, "b", 0, 0.0),
            scored(1, 1, "a", 0, 0.0), // another model
        ];
        let values = per_prompt(&scores, 0, 1);
        assert_eq!(
            values["a"],
            PromptValue {
                mean: 1.5,
                share: 0.5
            }
        );
        assert_eq!(
            values["b"],
            PromptValue {
                mean: 0.0,
                share: 0.0
            }
        );
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn holm_runs_over_the_change_and_equivalence_tests_together() {
        let p = plan();
        let mut e = Efficacy {
            cells: Vec::new(),
            effects: vec![
                effect(0.5, Some(0.01), Some(0.9)),
                effect(0.5, Some(0.03), Some(0.8)),
            ],
            ceiling: vec![None, None],
            margin: 0.25,
        };
        adjust_with(std::slice::from_mut(&mut e), &[], &p);
        // Sorted 0.01, 0.03, 0.8, 0.9 over 2, 2, 2, 1 effects left: 0.02, 0.06, 1, 1.
        let adjusted: Vec<_> = e
            .effects
            .iter()
            .map(|x| (x.p_adjusted, x.tost_p_adjusted))
            .collect();
        assert_eq!(adjusted[0].0, Some(0.02));
        assert_eq!(adjusted[1].0, Some(0.06));
        assert_eq!((adjusted[0].1, adjusted[1].1), (Some(1.0), Some(1.0)));
        assert_eq!(e.effects[0].label, Some(Label::Improved));
        // The second would be "improved" unadjusted; the note says why it is not.
        assert_eq!(e.effects[1].label, Some(Label::Inconclusive));
        assert!(
            e.effects[1]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("not after the multiplicity adjustment")),
            "{:?}",
            e.effects[1].note
        );
        // p-values from elsewhere in the family make the adjustment stricter.
        let mut f = e.clone();
        adjust_with(std::slice::from_mut(&mut f), &[Some(0.5); 6], &p);
        assert_eq!(f.effects[0].p_adjusted, Some(0.05));
        assert_eq!(f.effects[0].label, Some(Label::Inconclusive));
    }
}
