//! What kind of model x scaffold interaction the data show, and an observed-scale test of it
//! whose size holds when models differ in noise.
//!
//! Why: "scaffold efficacy depends on the model" is the claim users publish. Two kinds of
//! interaction survive any order-preserving rescaling of the rating scale — effects of opposite
//! sign (a crossover), and an effect shown for one model while the other's is shown to be
//! absent — and one kind does not: effects in the same direction but of different size, which
//! a floor or a ceiling can produce from one common latent effect. [`classify`] sorts every
//! pair of models by scaffold into these kinds from the efficacy verdicts (which carry the
//! multiplicity adjustment and the equivalence margin).
//!
//! [`robust_interaction_test`] replaces the row-permutation test of centred profiles, whose
//! size rises to about 0.11 when one model's ratings are noisier than another's (permuting
//! rows then swaps unlike variances). Each prompt's table is reduced to its interaction
//! contrasts `zₚ` (orthonormal model contrasts x orthonormal scaffold contrasts), which are
//! independent across prompts whatever the models' variances; the statistic is the
//! studentised quadratic form `T = P z̄ᵀ S⁻¹ z̄` with `S = Σ zₚzₚᵀ / P`, and the reference is
//! the sign-flip (Rademacher wild) distribution, which flips whole prompts and so keeps every
//! covariance between models and scaffolds. `S` does not change under flips, so each flip is
//! cheap. Each flip draws from its own ChaCha stream (the seed, stream = draw index), so the
//! result does not depend on the order in which flips are evaluated.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::hypothesis::{self, Block};
use super::results::{
    CellResult, DimensionResults, EffectResult, InteractionResult, Label, trim_number,
};

/// Result of [`robust_interaction_test`].
#[derive(Debug, Clone, PartialEq)]
pub struct RobustTest {
    /// `T = P z̄ᵀ S⁺ z̄` (at most `P`).
    pub statistic: f64,
    pub p_value: f64,
    /// Random sign flips drawn, or every flip enumerated when `exact`.
    pub draws: usize,
    pub exact: bool,
    pub blocks_used: usize,
    pub blocks_dropped: usize,
    /// Interaction contrasts that carry variation (the rank of `S`).
    pub df: usize,
}

/// Orthonormal contrasts of `n` levels (Helmert, normalised): `n x (n − 1)`, columns orthogonal
/// to the constant.
fn helmert(n: usize) -> DMatrix<f64> {
    let mut h = DMatrix::zeros(n, n.saturating_sub(1));
    for j in 1..n {
        let norm = ((j * (j + 1)) as f64).sqrt();
        for i in 0..j {
            h[(i, j - 1)] = 1.0 / norm;
        }
        h[(j, j - 1)] = -(j as f64) / norm;
    }
    h
}

/// The studentised sign-flip test of "no model x scaffold interaction" over prompt blocks
/// (see the module doc). Blocks missing a cell of the largest `M x S` shape are dropped.
/// `None` with fewer than 2 models, 2 scaffolds or 2 complete blocks, no variation in the
/// contrasts, or `draws == 0`. When `2^P ≤ draws` every flip is enumerated and `p` is exact;
/// otherwise `p = (1 + #{T* ≥ T}) / (1 + draws)`.
pub fn robust_interaction_test(blocks: &[Block], draws: usize, seed: u64) -> Option<RobustTest> {
    let models = blocks.iter().map(Vec::len).max()?;
    let scaffolds = blocks.iter().flatten().map(Vec::len).max()?;
    if models < 2 || scaffolds < 2 || draws == 0 {
        return None;
    }
    let (hm, hs) = (helmert(models), helmert(scaffolds));
    let q = (models - 1) * (scaffolds - 1);
    let mut contrasts: Vec<DVector<f64>> = Vec::new();
    let mut scale = 0.0;
    for block in blocks {
        if !super::hypothesis::is_complete(block, models, scaffolds) {
            continue;
        }
        let y = DMatrix::from_fn(models, scaffolds, |m, s| block[m][s].unwrap_or(0.0));
        let grand = y.mean();
        scale += y.iter().map(|v| (v - grand).powi(2)).sum::<f64>();
        let z = hm.transpose() * y * &hs;
        contrasts.push(DVector::from_column_slice(z.as_slice()));
    }
    let used = contrasts.len();
    if used < 2 {
        return None;
    }
    let mut second = DMatrix::zeros(q, q);
    for z in &contrasts {
        second += z * z.transpose();
    }
    second /= used as f64;
    // Whitening by the pseudo-inverse square root of S: directions without variation drop out.
    let eigen = SymmetricEigen::new(second);
    // No interaction variation beyond rounding of the data's own variation: nothing to test.
    let largest = eigen.eigenvalues.amax();
    if largest <= 1e-20 * scale / used as f64 || largest <= 0.0 {
        return None;
    }
    let kept: Vec<usize> = (0..q)
        .filter(|&i| eigen.eigenvalues[i] > 1e-10 * largest)
        .collect();
    let whitened: Vec<Vec<f64>> = contrasts
        .iter()
        .map(|z| {
            kept.iter()
                .map(|&i| eigen.eigenvectors.column(i).dot(z) / eigen.eigenvalues[i].sqrt())
                .collect()
        })
        .collect();
    let statistic_of = |signs: &dyn Fn(usize) -> bool| -> f64 {
        let mut sum = vec![0.0; kept.len()];
        for (p, w) in whitened.iter().enumerate() {
            let sign = if signs(p) { -1.0 } else { 1.0 };
            for (s, v) in sum.iter_mut().zip(w) {
                *s += sign * v;
            }
        }
        sum.iter().map(|s| s * s).sum::<f64>() / used as f64
    };
    let observed = statistic_of(&|_| false);
    let threshold = observed - 1e-9 * observed.abs().max(1e-12);

    let exact = used < usize::BITS as usize && (1usize << used) <= draws;
    let (count, total) = if exact {
        let total = 1usize << used;
        let count = (0..total)
            .filter(|mask| statistic_of(&|p| (mask >> p) & 1 == 1) >= threshold)
            .count();
        (count, total)
    } else {
        let count = (0..draws)
            .filter(|&i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(i as u64);
                let words: Vec<u64> = (0..used.div_ceil(64)).map(|_| rng.random()).collect();
                statistic_of(&|p| (words[p / 64] >> (p % 64)) & 1 == 1) >= threshold
            })
            .count();
        (count, draws)
    };
    let p_value = if exact {
        count as f64 / total as f64
    } else {
        (1 + count) as f64 / (1 + total) as f64
    };
    Some(RobustTest {
        statistic: observed,
        p_value,
        draws: total,
        exact,
        blocks_used: used,
        blocks_dropped: blocks.len() - used,
        df: kept.len(),
    })
}

/// The kind of interaction one pair of models shows for one scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// Effects of opposite sign, both shown to differ from zero.
    Crossover,
    /// One effect shown to differ from zero, the other shown to lie within the margin.
    PresentVsAbsent,
    /// Both shown to differ from zero in the same direction: a monotone rescaling of the
    /// scale (a floor or ceiling) can make them equal.
    SameDirection,
    /// Both shown to lie within the margin: no interaction to remove.
    BothAbsent,
    /// At least one effect is inconclusive or has no verdict.
    Undetermined,
}

impl InteractionKind {
    /// Whether no order-preserving rescaling of the rating scale can remove it.
    pub fn is_non_removable(self) -> bool {
        matches!(
            self,
            InteractionKind::Crossover | InteractionKind::PresentVsAbsent
        )
    }

    pub fn text(self) -> &'static str {
        match self {
            InteractionKind::Crossover => "crossover",
            InteractionKind::PresentVsAbsent => "present vs absent",
            InteractionKind::SameDirection => "same direction, different size",
            InteractionKind::BothAbsent => "absent for both",
            InteractionKind::Undetermined => "undetermined",
        }
    }

    /// What the kind means for the claim, in a few words.
    pub fn reading(self) -> &'static str {
        match self {
            InteractionKind::Crossover | InteractionKind::PresentVsAbsent => {
                "non-removable: not a scale artefact"
            }
            InteractionKind::SameDirection => {
                "removable by a monotone rescaling: possibly a floor/ceiling artefact"
            }
            InteractionKind::BothAbsent => "no interaction",
            InteractionKind::Undetermined => "the verdicts do not decide",
        }
    }
}

/// One pair of models under one scaffold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairKind {
    pub scaffold: String,
    pub model_a: String,
    pub model_b: String,
    pub kind: InteractionKind,
    /// The kind with the two effects and their verdicts, for a reader to check.
    pub sentence: String,
}

/// The sentence that says why the first two kinds are non-removable; the report prints it once.
pub const NON_REMOVABLE_RULE: &str = "An interaction is non-removable when, for the same \
    scaffold, two models' effects are shown to differ from zero with opposite signs \
    (crossover), or one model's effect is shown to differ from zero while the other's \
    equivalence interval lies inside the margin and its baseline leaves room to move \
    (present vs absent): an order-preserving rescaling of the rating scale keeps every sign \
    and keeps a zero effect at zero, so no floor or ceiling can produce these; effects in the \
    same direction but of different size can be.";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Direction {
    Up,
    Down,
    Zero,
    Unknown,
}

fn direction(label: Option<Label>) -> Direction {
    match label {
        Some(Label::RaisedToCeiling | Label::Improved | Label::ImprovedWithinMargin) => {
            Direction::Up
        }
        Some(Label::Worse | Label::WorseWithinMargin) => Direction::Down,
        Some(Label::Equivalent) => Direction::Zero,
        Some(Label::Inconclusive) | None => Direction::Unknown,
    }
}

/// An effect's direction: shown to differ from zero by its verdict (adjusted over the family),
/// or shown absent when its `1 − 2α` TOST interval lies inside the margin (the equivalence test
/// of this one effect, not adjusted: the claim it supports also needs the other effect of the
/// pair shown present, after adjustment).
fn effect_direction(e: &EffectResult, margin: f64) -> Direction {
    match direction(e.label) {
        Direction::Unknown
            if e.tost_ci.ci_low.is_some_and(|l| l > -margin)
                && e.tost_ci.ci_high.is_some_and(|h| h < margin) =>
        {
            Direction::Zero
        }
        d => d,
    }
}

fn kind_of(a: Direction, b: Direction) -> InteractionKind {
    use Direction::*;
    match (a, b) {
        (Up, Down) | (Down, Up) => InteractionKind::Crossover,
        (Up | Down, Zero) | (Zero, Up | Down) => InteractionKind::PresentVsAbsent,
        (Up, Up) | (Down, Down) => InteractionKind::SameDirection,
        (Zero, Zero) => InteractionKind::BothAbsent,
        _ => InteractionKind::Undetermined,
    }
}

fn describe(e: &EffectResult, margin: f64) -> String {
    let value = e.effect.value.map_or("n/a".into(), |v| format!("{v:+.2}"));
    let ci = match (e.effect.ci_low, e.effect.ci_high) {
        (Some(l), Some(h)) => format!(" [{l:.2}, {h:.2}]"),
        _ => String::new(),
    };
    format!(
        "{} {value}{ci} ({})",
        e.model,
        Label::text_of(e.label, margin)
    )
}

/// Where one dimension's effects stand: the cells they come from and the scale's bounds.
pub struct Verdicts<'a> {
    pub effects: &'a [EffectResult],
    pub cells: &'a [CellResult],
    pub baseline: &'a str,
    pub min: f64,
    pub max: f64,
    pub margin: f64,
}

impl Verdicts<'_> {
    /// Whether `model`'s baseline cell leaves no room, within the margin, for an effect in the
    /// direction `up`: its interval reaches within a margin of the bound it would move towards.
    /// An effect shown "absent" there may be a floor or ceiling, not an absence.
    fn no_room(&self, model: &str, up: bool) -> bool {
        let Some(cell) = self
            .cells
            .iter()
            .find(|c| c.model == model && c.scaffold == self.baseline)
        else {
            return true;
        };
        match (up, cell.mean.ci_low, cell.mean.ci_high) {
            (true, _, Some(high)) => high >= self.max - self.margin,
            (false, Some(low), _) => low <= self.min + self.margin,
            _ => true,
        }
    }
}

/// Every pair of models (in study order) for every scaffold with effects, from the efficacy
/// verdicts of one dimension. "Present vs absent" needs the absent model to have room to move:
/// when its baseline sits within a margin of the bound the other model's effect moves towards,
/// the pair is undetermined (the absence may be a ceiling or floor).
pub fn classify(v: &Verdicts<'_>, models: &[String]) -> Vec<PairKind> {
    let mut scaffolds: Vec<&str> = Vec::new();
    for e in v.effects {
        if !scaffolds.contains(&e.scaffold.as_str()) {
            scaffolds.push(&e.scaffold);
        }
    }
    let mut out = Vec::new();
    for scaffold in scaffolds {
        let of = |m: &String| {
            v.effects
                .iter()
                .find(|e| e.scaffold == scaffold && &e.model == m)
        };
        for (i, a) in models.iter().enumerate() {
            for b in &models[i + 1..] {
                let (Some(ea), Some(eb)) = (of(a), of(b)) else {
                    continue;
                };
                let (da, db) = (
                    effect_direction(ea, v.margin),
                    effect_direction(eb, v.margin),
                );
                let mut kind = kind_of(da, db);
                let mut why = kind.reading().to_string();
                if kind == InteractionKind::PresentVsAbsent {
                    let (absent, up) = if da == Direction::Zero {
                        (ea, db == Direction::Up)
                    } else {
                        (eb, da == Direction::Up)
                    };
                    if v.no_room(&absent.model, up) {
                        kind = InteractionKind::Undetermined;
                        why = format!(
                            "{}'s baseline is within the margin of the {bound}, so its absent \
                             effect may be a {bound} artefact",
                            absent.model,
                            bound = if up { "ceiling" } else { "floor" },
                        );
                    }
                }
                out.push(PairKind {
                    scaffold: scaffold.to_string(),
                    model_a: a.clone(),
                    model_b: b.clone(),
                    kind,
                    sentence: format!(
                        "{scaffold}: {} vs {}: {} ({why}; margin ±{}).",
                        describe(ea, v.margin),
                        describe(eb, v.margin),
                        kind.text(),
                        trim_number(v.margin)
                    ),
                });
            }
        }
    }
    out
}

/// What the evidence allows the report to claim about one dimension's interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A non-removable interaction (crossover or present vs absent) or a significant
    /// latent-scale test without separation: "efficacy depends on the model".
    DependsOnModel,
    /// Only the observed-scale test is significant: possibly a scale artefact.
    PossibleArtefact,
    /// Nothing shows an interaction.
    NotShown,
    /// No test and no classification.
    Untested,
}

/// The claim [`Claim`] the results of one dimension support at significance level `alpha`
/// (the observed-scale test is judged on its Holm value over dimensions when there is one).
pub fn claim(dim: &DimensionResults, alpha: f64) -> Claim {
    if dim.interaction.is_none() && dim.latent.is_none() && dim.kinds.is_empty() {
        return Claim::Untested;
    }
    let non_removable = dim.kinds.iter().any(|k| k.kind.is_non_removable());
    // A separated fit's LR is a supremum whose χ² reference overstates it (17% rejections at
    // nominal 5% in the ceiling simulation): it cannot carry the claim alone.
    let latent = dim
        .latent
        .as_ref()
        .is_some_and(|t| t.p_value < alpha && t.separation.is_empty());
    let observed = dim
        .interaction
        .as_ref()
        .is_some_and(|i| i.p_holm.unwrap_or(i.p_value) < alpha);
    if non_removable || latent {
        Claim::DependsOnModel
    } else if observed {
        Claim::PossibleArtefact
    } else {
        Claim::NotShown
    }
}

/// "p = 0.0312" or the bound at a Monte Carlo floor; with the Holm value over dimensions.
fn observed_p_text(i: &InteractionResult) -> String {
    let draws = (!i.exact).then_some(i.permutations);
    let p = hypothesis::p_relation(i.p_value, draws);
    let holm = i
        .p_holm
        .map(|h| {
            // The Holm value of a bound is a bound too.
            let at_floor = draws.is_some_and(|d| hypothesis::at_monte_carlo_floor(i.p_value, d));
            let h = hypothesis::p_relation(h, None);
            let h = match h.strip_prefix("= ") {
                Some(v) if at_floor => format!("≤ {v}"),
                _ => h,
            };
            format!(", Holm-adjusted over dimensions: p {h}")
        })
        .unwrap_or_default();
    format!("p {p}{holm}")
}

/// Both tests in words, as the headline and the report give them: "robust observed-scale test p = …; latent-scale (cumulative-link) LR
/// test p = …".
pub fn tests_text(dim: &DimensionResults) -> String {
    let observed = dim.interaction.as_ref().map_or_else(
        || "robust observed-scale test not available".to_string(),
        |i| format!("robust observed-scale test {}", observed_p_text(i)),
    );
    let latent = match (&dim.latent, &dim.latent_note) {
        (Some(t), _) => {
            let separation = if t.separation.is_empty() {
                String::new()
            } else {
                format!(", with separation in {}", t.separation.join(", "))
            };
            format!(
                "latent-scale (cumulative-link) LR test χ²({}) = {:.2}{}, p {}{separation}",
                t.df,
                t.lr / t.design_effect,
                if t.design_effect > 1.0 {
                    format!(
                        " after dividing by the design effect {:.2}",
                        t.design_effect
                    )
                } else {
                    String::new()
                },
                hypothesis::p_relation(t.p_value, None)
            )
        }
        (None, Some(note)) => format!("no latent-scale test ({note})"),
        (None, None) => "no latent-scale test".to_string(),
    };
    format!("{observed}; {latent}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::results::Estimate;

    fn effect(model: &str, label: Option<Label>, value: f64) -> EffectResult {
        EffectResult {
            model: model.into(),
            scaffold: "s".into(),
            n_pairs: 15,
            effect: Estimate::new(Some(value), Some((value - 0.2, value + 0.2))),
            p_value: None,
            p_adjusted: None,
            ceiling_change: Estimate::default(),
            tost_ci: Estimate::default(),
            tost_p: None,
            tost_p_adjusted: None,
            label,
            label_text: String::new(),
            note: None,
            cross_round: false,
        }
    }

    #[test]
    fn kinds_follow_the_verdicts() {
        use Label::*;
        let cases = [
            (Some(Improved), Some(Worse), InteractionKind::Crossover),
            (
                Some(WorseWithinMargin),
                Some(RaisedToCeiling),
                InteractionKind::Crossover,
            ),
            (
                Some(Improved),
                Some(Equivalent),
                InteractionKind::PresentVsAbsent,
            ),
            (
                Some(Equivalent),
                Some(Worse),
                InteractionKind::PresentVsAbsent,
            ),
            (
                Some(RaisedToCeiling),
                Some(Improved),
                InteractionKind::SameDirection,
            ),
            (
                Some(Equivalent),
                Some(Equivalent),
                InteractionKind::BothAbsent,
            ),
            (
                Some(Improved),
                Some(Inconclusive),
                InteractionKind::Undetermined,
            ),
            (None, Some(Equivalent), InteractionKind::Undetermined),
        ];
        for (a, b, want) in cases {
            let effects = [effect("a", a, 0.5), effect("b", b, 0.0)];
            let kinds = classify(&verdicts(&effects, 1.0), &["a".into(), "b".into()]);
            assert_eq!(kinds.len(), 1);
            assert_eq!(kinds[0].kind, want, "{a:?} vs {b:?}");
            assert!(kinds[0].sentence.contains(want.text()));
        }
        let three = [
            effect("a", Some(Improved), 1.0),
            effect("b", Some(Equivalent), 0.0),
            effect("c", Some(Improved), 0.6),
        ];
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let kinds: Vec<_> = classify(&verdicts(&three, 1.0), &names)
            .iter()
            .map(|k| k.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                InteractionKind::PresentVsAbsent,
                InteractionKind::SameDirection,
                InteractionKind::PresentVsAbsent
            ]
        );
    }

    fn verdicts(effects: &[EffectResult], baseline_mean: f64) -> Verdicts<'_> {
        let cells: &'static [CellResult] = Box::leak(
            ["a", "b", "c"]
                .iter()
                .map(|m| CellResult {
                    model: m.to_string(),
                    scaffold: "base".into(),
                    n: 15,
                    n_prompts: 15,
                    mean: Estimate::new(
                        Some(baseline_mean),
                        Some((baseline_mean - 0.2, baseline_mean + 0.2)),
                    ),
                    ceiling_share: Estimate::default(),
                    note: None,
                })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        Verdicts {
            effects,
            cells,
            baseline: "base",
            min: 0.0,
            max: 2.0,
            margin: 0.25,
        }
    }

    #[test]
    fn an_inconclusive_effect_inside_the_margin_counts_as_absent() {
        let mut inside = effect("b", Some(Label::Inconclusive), 0.02);
        inside.tost_ci = Estimate::new(Some(0.02), Some((-0.2, 0.24)));
        let effects = [effect("a", Some(Label::Improved), 0.8), inside];
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let kinds = classify(&verdicts(&effects, 0.3), &names);
        assert_eq!(kinds[0].kind, InteractionKind::PresentVsAbsent);
        let mut outside = effects[1].clone();
        outside.tost_ci = Estimate::new(Some(0.02), Some((-0.2, 0.26)));
        let effects = [effects[0].clone(), outside];
        let kinds = classify(&verdicts(&effects, 0.3), &names);
        assert_eq!(kinds[0].kind, InteractionKind::Undetermined);
    }

    #[test]
    fn an_absence_at_the_ceiling_is_undetermined() {
        let effects = [
            effect("a", Some(Label::Improved), 0.8),
            effect("b", Some(Label::Equivalent), 0.0),
        ];
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        // b's baseline 1.7 [1.5, 1.9] reaches within 0.25 of the top: no room to improve.
        let kinds = classify(&verdicts(&effects, 1.7), &names);
        assert_eq!(kinds[0].kind, InteractionKind::Undetermined);
        assert!(
            kinds[0].sentence.contains("ceiling"),
            "{}",
            kinds[0].sentence
        );
        // A worsening towards the floor from 1.7 has room.
        let worse = [
            effect("a", Some(Label::Worse), -0.8),
            effect("b", Some(Label::Equivalent), 0.0),
        ];
        assert_eq!(
            classify(&verdicts(&worse, 1.7), &names)[0].kind,
            InteractionKind::PresentVsAbsent
        );
    }

    fn block(values: [[f64; 3]; 2]) -> Block {
        values
            .iter()
            .map(|row| row.iter().map(|&v| Some(v)).collect())
            .collect()
    }

    #[test]
    fn robust_test_is_exact_for_few_prompts_and_order_free() {
        // Six prompts, a clear interaction (model 1 helped, model 0 not) with small noise.
        let blocks: Vec<Block> = (0..6)
            .map(|p| {
                let e = 0.05 * ((p * 7 % 5) as f64 - 2.0);
                block([[1.0 + e, 1.0, 1.0 - e], [0.0, 1.0 + e, 2.0 - e]])
            })
            .collect();
        let t = robust_interaction_test(&blocks, 1000, 1).unwrap();
        assert!(t.exact);
        assert_eq!((t.draws, t.blocks_used, t.df), (64, 6, 2));
        // All signs equal gives the largest statistic; so does its mirror: p = 2/64.
        assert!((t.p_value - 2.0 / 64.0).abs() < 1e-12, "{}", t.p_value);
        let sampled = robust_interaction_test(&blocks, 40, 7).unwrap();
        assert!(!sampled.exact);
        assert_eq!(sampled, robust_interaction_test(&blocks, 40, 7).unwrap());
        // No interaction at all: the contrasts are all zero.
        let flat: Vec<Block> = (0..6)
            .map(|p| {
                let p = p as f64;
                block([[p, 1.0 + p, 2.0 + p], [0.5, 1.5, 2.5]])
            })
            .collect();
        assert_eq!(robust_interaction_test(&flat, 1000, 1), None);
        assert_eq!(robust_interaction_test(&blocks[..1], 1000, 1), None);
    }
}
