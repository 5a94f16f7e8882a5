//! Hypothesis tests for the report: multiplicity adjustment, the model x scaffold
//! interaction test, and equivalence (TOST) tests for the pre-registered confirmatory claims.
//!
//! The central question of a blindfold study is whether a scaffold's effect depends on the
//! model it wraps. With ~15 prompts and bounded scores, an F test's normality assumption is
//! hard to defend, so the interaction is tested by permutation within prompts, which needs
//! only exchangeability of model labels under the null. Claims of "no difference" are
//! tested as equivalence within a pre-registered margin rather than read off a
//! non-significant difference test.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::resample::{bootstrap, percentile_ci};

/// Holm (1979) step-down adjusted p-values, as R's `p.adjust(p, method = "holm")`:
/// with the `m` defined p-values sorted ascending, `p̃₍ᵢ₎ = min(1, maxⱼ≤ᵢ (m − j + 1) p₍ⱼ₎)`.
/// `None` entries (tests that could not be run) stay `None` and do not count towards `m`;
/// so do non-finite or out-of-range entries, which are not p-values.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    // Every hypothesis its own group: Shaffer's count of groups left is Holm's m - j + 1.
    let singles: Vec<usize> = (0..p.len()).collect();
    holm_shaffer(p, &singles)
}

/// Holm's step-down procedure with Shaffer's (1986) logical constraint, for families in which
/// the hypotheses of one `group` cannot all be true at once — here the change test ("no effect")
/// and the equivalence test ("an effect at least the margin") of one effect: at most one of them
/// is true. At step `j` Holm multiplies `p₍ⱼ₎` by the number of hypotheses left, `m − j + 1`;
/// Shaffer's method S1 multiplies it by the largest number of them that can be true together
/// once the `j − 1` before are false, which is the number of distinct groups among those left.
/// Adjusted: `p̃₍ⱼ₎ = max_{i ≤ j} min(1, tᵢ p₍ᵢ₎)`. Family-wise error is controlled at any level
/// (Shaffer 1986, J. Am. Stat. Assoc. 81:826–831). With every group of size one this is exactly
/// [`holm`]. `None` entries (tests that could not run) stay `None` and leave the family.
pub fn holm_shaffer(p: &[Option<f64>], group: &[usize]) -> Vec<Option<f64>> {
    assert_eq!(p.len(), group.len(), "one group per p-value");
    let mut order: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| (0.0..=1.0).contains(v)).map(|v| (i, v)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut adjusted = vec![None; p.len()];
    let mut running_max: f64 = 0.0;
    for rank in 0..order.len() {
        let left: std::collections::BTreeSet<usize> =
            order[rank..].iter().map(|(i, _)| group[*i]).collect();
        let (index, value) = order[rank];
        running_max = running_max.max((left.len() as f64 * value).min(1.0));
        adjusted[index] = Some(running_max);
    }
    adjusted
}

/// One prompt's cell scores: `block[model][scaffold]`, `None` where the cell is missing.
pub type Block = Vec<Vec<Option<f64>>>;

/// Result of [`interaction_permutation_test`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionTest {
    /// Interaction sum of squares of the models x scaffolds table of prompt-averaged scores.
    pub statistic: f64,
    /// Monte Carlo permutation p-value `(1 + #{T* ≥ T}) / (1 + permutations)`, or, when
    /// `exact`, the share of all arrangements with `T* ≥ T` (the observed one included).
    pub p_value: f64,
    /// Number of random permutations drawn, or of arrangements enumerated when `exact`.
    pub permutations: usize,
    /// Whether every arrangement was enumerated: there were no more of them than `permutations`
    /// asked for, so sampling would only have repeated them.
    pub exact: bool,
    /// Complete blocks (prompts) that entered the test.
    pub blocks_used: usize,
    /// Blocks dropped because a cell was missing, non-finite or the block had the wrong shape.
    pub blocks_dropped: usize,
}

/// A prompt block with every model x scaffold cell scored: the interaction tests use only these.
pub(super) fn is_complete(block: &Block, models: usize, scaffolds: usize) -> bool {
    block.len() == models
        && block
            .iter()
            .all(|row| row.len() == scaffolds && row.iter().all(|v| v.is_some_and(f64::is_finite)))
}

/// Permutation test of "scaffold efficacy does not depend on the model", blocked by prompt.
///
/// The shape `M x S` is the largest number of model rows and scaffold columns among the
/// blocks; a block missing any of those cells (or holding a non-finite score) is dropped.
/// Within each block every model row is centred on its own mean, which removes model and
/// prompt effects and leaves each model's scaffold profile. The statistic is
/// `T = P Σₘ Σₛ (d̄ₘₛ − d̄·ₛ)²`, where `d̄` averages the centred profiles over the `P` blocks
/// and `d̄·ₛ` averages `d̄` over models; for a complete design this is exactly the
/// model x scaffold interaction sum of squares of the three-way layout with prompts as blocks.
/// Under H0 model labels are exchangeable within a prompt, so each permutation shuffles the
/// rows of every block independently (a randomisation test for randomised-block designs;
/// Edgington & Onghena 2007), and `p = (1 + #{T* ≥ T − 1e-12·scale}) / (1 + permutations)`
/// (Phipson & Smyth 2010), where `scale` is the total sum of squares of the centred
/// profiles, so permutations that reproduce `T` up to rounding count as ties.
///
/// When there are no more distinct arrangements, `(M!)^P`, than `permutations`, all of them
/// are enumerated instead and `p` is exact (a few blocks of a few models).
///
/// `None` when fewer than 2 models, 2 scaffolds or 2 complete blocks remain (with one block
/// every arrangement has the observed statistic, so the test cannot reject), or
/// `permutations == 0`.
pub fn interaction_permutation_test(
    blocks: &[Block],
    permutations: usize,
    seed: u64,
) -> Option<InteractionTest> {
    let models = blocks.iter().map(Vec::len).max()?;
    let scaffolds = blocks.iter().flatten().map(Vec::len).max()?;
    if models < 2 || scaffolds < 2 || permutations == 0 {
        return None;
    }
    let cells = models * scaffolds;

    // Centred profiles of the complete blocks, flattened block-major, then model, then scaffold.
    let mut centred = Vec::with_capacity(blocks.len() * cells);
    for block in blocks {
        if !is_complete(block, models, scaffolds) {
            continue;
        }
        for row in block {
            let mean = row.iter().flatten().sum::<f64>() / scaffolds as f64;
            centred.extend(row.iter().flatten().map(|v| v - mean));
        }
    }
    let used = centred.len() / cells;
    if used < 2 {
        return None;
    }

    // Column totals over models and blocks are invariant under row permutations, so the
    // statistic needs only the per-(model, scaffold) sums over blocks.
    let mut column_mean_of_sums = vec![0.0; scaffolds];
    for (i, v) in centred.iter().enumerate() {
        column_mean_of_sums[i % scaffolds] += v / models as f64;
    }
    let statistic_of = |sums: &[f64]| -> f64 {
        sums.iter()
            .enumerate()
            .map(|(i, s)| (s - column_mean_of_sums[i % scaffolds]).powi(2))
            .sum::<f64>()
            / used as f64
    };

    let mut sums = vec![0.0; cells];
    for block in centred.chunks_exact(cells) {
        for (sum, v) in sums.iter_mut().zip(block) {
            *sum += v;
        }
    }
    let observed = statistic_of(&sums);
    let scale = centred.iter().map(|v| v * v).sum::<f64>();
    let threshold = observed - 1e-12 * scale;

    let add_block = |sums: &mut [f64], block: &[f64], order: &[usize]| {
        for (target, &source) in order.iter().enumerate() {
            let from = &block[source * scaffolds..(source + 1) * scaffolds];
            let to = &mut sums[target * scaffolds..(target + 1) * scaffolds];
            for (s, v) in to.iter_mut().zip(from) {
                *s += v;
            }
        }
    };

    let arrangements = (1..=models as u128)
        .try_fold(1u128, |f, k| f.checked_mul(k))
        .and_then(|per_block| per_block.checked_pow(used as u32))
        .filter(|&n| n <= permutations as u128);
    if let Some(n) = arrangements {
        let orders = all_orders(models);
        let mut digits = vec![0usize; used];
        let mut at_least_as_extreme = 0usize;
        for _ in 0..n {
            sums.fill(0.0);
            for (block, &d) in centred.chunks_exact(cells).zip(&digits) {
                add_block(&mut sums, block, &orders[d]);
            }
            if statistic_of(&sums) >= threshold {
                at_least_as_extreme += 1;
            }
            // Next arrangement: a mixed-radix counter over the blocks.
            for d in digits.iter_mut() {
                *d += 1;
                if *d < orders.len() {
                    break;
                }
                *d = 0;
            }
        }
        return Some(InteractionTest {
            statistic: observed,
            p_value: at_least_as_extreme as f64 / n as f64,
            permutations: n as usize,
            exact: true,
            blocks_used: used,
            blocks_dropped: blocks.len() - used,
        });
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // One permutation per block, reshuffled in place: a shuffle of any permutation is again
    // uniformly distributed, so there is no need to reset to the identity.
    let mut row_order: Vec<usize> = (0..used).flat_map(|_| 0..models).collect();
    let mut at_least_as_extreme = 0usize;
    for _ in 0..permutations {
        sums.fill(0.0);
        for (block, order) in centred
            .chunks_exact(cells)
            .zip(row_order.chunks_exact_mut(models))
        {
            // Fisher-Yates with rand's portable index sampling.
            for i in (1..models).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            add_block(&mut sums, block, order);
        }
        if statistic_of(&sums) >= threshold {
            at_least_as_extreme += 1;
        }
    }

    Some(InteractionTest {
        statistic: observed,
        p_value: (1 + at_least_as_extreme) as f64 / (1 + permutations) as f64,
        permutations,
        exact: false,
        blocks_used: used,
        blocks_dropped: blocks.len() - used,
    })
}

/// Whether a Monte Carlo permutation p-value sits at its floor `1 / (1 + draws)`: no permuted
/// statistic was as extreme as the observed one, so the true p is only known to be at most that.
pub fn at_monte_carlo_floor(p: f64, draws: usize) -> bool {
    p <= (1.0 + 1e-9) / (1.0 + draws as f64)
}

/// A p-value as the reports write it: "0.0312", "< 0.0001" for an exact or analytic p below
/// that, or, at the floor of a Monte Carlo test with `draws` draws, the bound "≤ 1/(draws + 1)"
/// rounded up to four decimals ("≤ 0.0010" for 999, "≤ 0.0001" for 10,000): with `draws` draws a
/// Monte Carlo p is never known more finely than that, so it is never written as smaller.
/// `draws` is `None` for exact or analytic p-values.
pub fn p_text(p: f64, draws: Option<usize>) -> String {
    match draws {
        Some(draws) if at_monte_carlo_floor(p, draws) => {
            let floor = 1.0 / (1.0 + draws as f64);
            // Four decimals, more when the floor is smaller; rounded up (ignoring binary noise)
            // so that the bound stays a true bound.
            let decimals = (-floor.log10()).round().max(4.0) as i32;
            let scale = 10f64.powi(decimals);
            format!(
                "≤ {:.*}",
                decimals as usize,
                (floor * scale - 1e-6).ceil() / scale
            )
        }
        _ if p < 0.0001 => "< 0.0001".to_string(),
        _ => format!("{p:.4}"),
    }
}

/// "= 0.0312" for a value, the bound itself ("< 0.0001", "≤ 0.0010") for a bound.
pub fn p_relation(p: f64, draws: Option<usize>) -> String {
    let text = p_text(p, draws);
    if text.starts_with(['<', '≤']) {
        text
    } else {
        format!("= {text}")
    }
}

/// Every order of `0..n`, the identity first.
fn all_orders(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for shorter in all_orders(n - 1) {
        for at in (0..n).rev() {
            let mut order = shorter.clone();
            order.insert(at, n - 1);
            out.push(order);
        }
    }
    out
}

/// Two one-sided tests (Schuirmann 1987) of equivalence of a paired mean difference within
/// `(−margin, +margin)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tost {
    /// Mean of the paired differences.
    pub estimate: f64,
    /// The `1 − 2·alpha` confidence interval of the mean.
    pub ci: (f64, f64),
    /// p-value of H0: mean ≤ −margin.
    pub p_lower: f64,
    /// p-value of H0: mean ≥ +margin.
    pub p_upper: f64,
    /// `max(p_lower, p_upper)`, the TOST p-value.
    pub p: f64,
    /// Both one-sided nulls rejected at `alpha`; equivalently `ci` lies strictly inside the margins.
    pub equivalent: bool,
}

fn valid_tost_arguments(margin: f64, alpha: f64) -> bool {
    margin.is_finite() && margin > 0.0 && alpha > 0.0 && alpha < 0.5
}

/// Bootstrap TOST for per-cluster paired differences (one difference per prompt, so
/// resampling differences is the bootstrap clustered by prompt). `ci` is the percentile
/// interval at `1 − 2·alpha` ([`percentile_ci`], R type 7 quantiles). The one-sided p-values
/// invert that interval: `p_lower` is the largest level whose lower percentile limit is still
/// `≤ −margin` and `p_upper` the largest level whose upper limit is still `≥ +margin`, i.e.
/// the interpolated share of replicates beyond each margin. Hence `equivalent` (`p < alpha`)
/// holds exactly when `ci` lies strictly inside the margins. The bootstrap-percentile TOST
/// follows Efron & Tibshirani (1993, ch. 16) and Schuirmann (1987).
///
/// `None` when fewer than 2 differences, a non-finite difference, `margin ≤ 0`, `alpha` not
/// in (0, 0.5) or `resamples < 2`.
pub fn tost_bootstrap(
    diffs: &[f64],
    margin: f64,
    alpha: f64,
    resamples: usize,
    seed: u64,
) -> Option<Tost> {
    if diffs.len() < 2
        || diffs.iter().any(|d| !d.is_finite())
        || !valid_tost_arguments(margin, alpha)
        || resamples < 2
    {
        return None;
    }
    let mean = |idx: &[usize]| Some(idx.iter().map(|&i| diffs[i]).sum::<f64>() / idx.len() as f64);
    let boot = bootstrap(diffs.len(), resamples, seed, mean);
    let estimate = boot.estimate?;
    let ci = percentile_ci(&boot, 1.0 - 2.0 * alpha)?;
    let mut sorted = boot.replicates;
    sorted.sort_by(f64::total_cmp);
    let p_lower = largest_level_at_or_below(&sorted, -margin);
    let p_upper = 1.0 - smallest_level_at_or_above(&sorted, margin);
    let p = p_lower.max(p_upper);
    Some(Tost {
        estimate,
        ci,
        p_lower,
        p_upper,
        p,
        equivalent: p < alpha,
    })
}

/// `sup{q ∈ [0, 1] : Q₇(q) ≤ value}` for the type 7 quantile function `Q₇` of `sorted`
/// (at least two values), `0` when even the minimum exceeds `value`.
fn largest_level_at_or_below(sorted: &[f64], value: f64) -> f64 {
    let steps = (sorted.len() - 1) as f64;
    let at_or_below = sorted.partition_point(|&x| x <= value);
    match at_or_below {
        0 => 0.0,
        k if k == sorted.len() => 1.0,
        k => {
            let (low, high) = (sorted[k - 1], sorted[k]);
            ((k - 1) as f64 + (value - low) / (high - low)) / steps
        }
    }
}

/// `inf{q ∈ [0, 1] : Q₇(q) ≥ value}`, `1` when even the maximum is below `value`.
fn smallest_level_at_or_above(sorted: &[f64], value: f64) -> f64 {
    let steps = (sorted.len() - 1) as f64;
    let below = sorted.partition_point(|&x| x < value);
    match below {
        0 => 0.0,
        k if k == sorted.len() => 1.0,
        k => {
            let (low, high) = (sorted[k - 1], sorted[k]);
            ((k - 1) as f64 + (value - low) / (high - low)) / steps
        }
    }
}

/// Analytic paired TOST with Student's t (Schuirmann 1987; Lakens 2017), for cross-checking
/// [`tost_bootstrap`]: `t₁ = (d̄ + margin)/se`, `t₂ = (d̄ − margin)/se` on `n − 1` df, and the
/// `1 − 2·alpha` interval `d̄ ± t_{1−alpha, n−1}·se`. `None` when fewer than 2 differences,
/// a non-finite difference, zero variance, `margin ≤ 0` or `alpha` not in (0, 0.5).
pub fn tost_t(diffs: &[f64], margin: f64, alpha: f64) -> Option<Tost> {
    if diffs.len() < 2 || diffs.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    tost_t_summary(mean, sd, diffs.len(), margin, alpha)
}

/// [`tost_t`] from summary statistics: mean and standard deviation of `n` paired differences.
pub fn tost_t_summary(mean: f64, sd: f64, n: usize, margin: f64, alpha: f64) -> Option<Tost> {
    if n < 2 || !mean.is_finite() || !sd.is_finite() || sd <= 0.0 {
        return None;
    }
    if !valid_tost_arguments(margin, alpha) {
        return None;
    }
    let se = sd / (n as f64).sqrt();
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    let p_lower = t.sf((mean + margin) / se);
    let p_upper = t.cdf((mean - margin) / se);
    let critical = t.inverse_cdf(1.0 - alpha);
    let p = p_lower.max(p_upper);
    Some(Tost {
        estimate: mean,
        ci: (mean - critical * se, mean + critical * se),
        p_lower,
        p_upper,
        p,
        equivalent: p < alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::anova::two_way_anova_balanced;

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: {actual} vs {expected}"
        );
    }

    fn check_holm(p: &[f64], expected: &[f64], tolerance: f64) {
        let input: Vec<Option<f64>> = p.iter().copied().map(Some).collect();
        let adjusted = holm(&input);
        for (i, (got, want)) in adjusted.iter().zip(expected).enumerate() {
            assert_close(got.unwrap(), *want, tolerance, &format!("holm[{i}]"));
        }
    }

    #[test]
    fn holm_matches_r_p_adjust() {
        // R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") = 0.05 0.08 0.09 0.09 0.09
        check_holm(
            &[0.01, 0.02, 0.03, 0.04, 0.05],
            &[0.05, 0.08, 0.09, 0.09, 0.09],
            1e-15,
        );
        // R multtest::mt.rawp2adjp "Holm" column, as tested in statsmodels
        // (statsmodels/stats/tests/test_multi.py, res_multtest1 and res_multtest3);
        // R 4.2.2 p.adjust(p, "holm") prints the same values.
        check_holm(
            &[
                0.838541367553,
                0.642193923795,
                0.680845947633,
                0.967833824309,
                0.71626938238,
                0.177096952723,
                5.23656777208e-05,
                0.0202732688798,
                0.00028140506198,
                0.0149877310796,
            ],
            &[
                1.0,
                1.0,
                1.0,
                1.0,
                1.0,
                1.0,
                5.23656777208e-04,
                0.1419128821586,
                0.00253264555782,
                0.1199018486368,
            ],
            1e-15,
        );
        check_holm(
            &[
                0.001, 0.002, 0.003, 0.004, 0.005, 0.05, 0.06, 0.07, 0.08, 0.09,
            ],
            &[
                0.01, 0.018, 0.024, 0.028, 0.03, 0.25, 0.25, 0.25, 0.25, 0.25,
            ],
            1e-15,
        );
    }

    #[test]
    fn holm_keeps_missing_entries_out_of_the_family() {
        let adjusted = holm(&[Some(0.01), None, Some(0.04), None, Some(f64::NAN)]);
        assert_eq!(adjusted, vec![Some(0.02), None, Some(0.04), None, None]);
        assert_eq!(holm(&[]), Vec::<Option<f64>>::new());
        assert_eq!(holm(&[None]), vec![None]);
    }

    #[test]
    fn holm_is_monotone_in_the_raw_order_and_capped() {
        let p = [0.3, 0.001, 0.6, 0.02, 0.02, 0.9, 0.04];
        let adjusted: Vec<f64> = holm(&p.map(Some)).into_iter().map(Option::unwrap).collect();
        for i in 0..p.len() {
            assert!(adjusted[i] >= p[i] && adjusted[i] <= 1.0);
            for j in 0..p.len() {
                if p[i] < p[j] {
                    assert!(adjusted[i] <= adjusted[j]);
                }
            }
        }
    }

    /// Deterministic standard normal draws (Box-Muller) for simulated data.
    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Blocks with model, scaffold and prompt main effects plus noise, and `interaction[m][s]`.
    fn simulated_blocks(
        rng: &mut ChaCha8Rng,
        prompts: usize,
        interaction: &[Vec<f64>],
        noise: f64,
    ) -> Vec<Block> {
        let models = interaction.len();
        let scaffolds = interaction[0].len();
        (0..prompts)
            .map(|_| {
                let prompt_effect = 2.0 * normal(rng);
                (0..models)
                    .map(|m| {
                        (0..scaffolds)
                            .map(|s| {
                                let main = 0.5 * m as f64 - 0.3 * s as f64;
                                Some(
                                    3.0 + prompt_effect
                                        + main
                                        + interaction[m][s]
                                        + noise * normal(rng),
                                )
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn no_interaction(models: usize, scaffolds: usize) -> Vec<Vec<f64>> {
        vec![vec![0.0; scaffolds]; models]
    }

    #[test]
    fn holm_shaffer_is_holm_without_constraints_and_counts_groups_with_them() {
        let p = [Some(0.01), Some(0.04), Some(0.03), None, Some(0.005)];
        let singles: Vec<usize> = (0..p.len()).collect();
        // R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, NA, 0.005), "holm").
        let r = [Some(0.03), Some(0.06), Some(0.06), None, Some(0.02)];
        for (a, e) in holm_shaffer(&p, &singles).iter().zip(r) {
            assert_eq!(a.is_some(), e.is_some());
            assert!((a.unwrap_or(0.0) - e.unwrap_or(0.0)).abs() < 1e-15);
        }
        // Two effects, each with a change and an equivalence test (at most one true per effect):
        // sorted 0.005 (effect 1), 0.01 (effect 0), 0.03 (effect 1), 0.04 (effect 0). Hypotheses
        // left at each step span 2, 2, 2, 1 effects: 0.01, 0.02, 0.06, 0.06 (running maximum).
        let p = [Some(0.01), Some(0.04), Some(0.005), Some(0.03)];
        let adjusted = holm_shaffer(&p, &[0, 0, 1, 1]);
        let expected = [0.02, 0.06, 0.01, 0.06];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a.unwrap() - e).abs() < 1e-15, "{adjusted:?}");
        }
    }

    #[test]
    fn null_p_values_are_roughly_uniform() {
        // 200 null datasets of 15 prompts x 3 models x 4 scaffolds, 199 permutations each.
        // Under H0 P(p <= 0.05) = 0.05 exactly (10 of 200 expected, sd 3.1), P(p <= 0.5) = 0.5.
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let mut below_05 = 0;
        let mut below_50 = 0;
        for dataset in 0..200 {
            let blocks = simulated_blocks(&mut rng, 15, &no_interaction(3, 4), 1.0);
            let test = interaction_permutation_test(&blocks, 199, dataset).unwrap();
            below_05 += usize::from(test.p_value <= 0.05);
            below_50 += usize::from(test.p_value <= 0.5);
        }
        // Binomial(200, 0.05): P(X <= 2) + P(X >= 20) < 0.005. Binomial(200, 0.5): +-3.5 sd.
        assert!((3..20).contains(&below_05), "{below_05} of 200 below 0.05");
        assert!(
            (75..=125).contains(&below_50),
            "{below_50} of 200 below 0.5"
        );
    }

    #[test]
    fn crossover_interaction_gives_the_smallest_possible_p() {
        let crossover = vec![
            vec![1.0, -1.0, 0.5, -0.5],
            vec![-1.0, 1.0, -0.5, 0.5],
            vec![0.0; 4],
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let blocks = simulated_blocks(&mut rng, 15, &crossover, 0.3);
        let test = interaction_permutation_test(&blocks, 999, 17).unwrap();
        assert_eq!(test.p_value, 1.0 / 1000.0);
        assert_eq!(
            (test.blocks_used, test.blocks_dropped, test.permutations),
            (15, 0, 999)
        );
    }

    #[test]
    fn statistic_is_the_classical_interaction_sum_of_squares() {
        // With prompts as replicates of each model x scaffold cell, the two-way ANOVA's SS_AB
        // is exactly the statistic (prompt effects cancel in the interaction contrast).
        let interaction = vec![vec![0.3, 0.0, -0.3], vec![0.0, 0.2, -0.2]];
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let blocks = simulated_blocks(&mut rng, 6, &interaction, 1.0);
        let cells: Vec<Vec<Vec<f64>>> = (0..2)
            .map(|m| {
                (0..3)
                    .map(|s| blocks.iter().map(|b| b[m][s].unwrap()).collect())
                    .collect()
            })
            .collect();
        let anova = two_way_anova_balanced(&cells).unwrap();
        let test = interaction_permutation_test(&blocks, 10, 1).unwrap();
        assert_close(
            test.statistic,
            anova.ss_ab,
            1e-10 * anova.ss_total,
            "T vs SS_AB",
        );
    }

    fn relabelled(blocks: &[Block], model_order: &[usize], scaffold_order: &[usize]) -> Vec<Block> {
        blocks
            .iter()
            .map(|b| {
                model_order
                    .iter()
                    .map(|&m| scaffold_order.iter().map(|&s| b[m][s]).collect())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn invariant_to_relabelling_models_and_scaffolds() {
        let interaction = vec![
            vec![0.4, 0.0, -0.2, -0.2],
            vec![0.0; 4],
            vec![-0.4, 0.0, 0.2, 0.2],
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let blocks = simulated_blocks(&mut rng, 15, &interaction, 1.0);
        let base = interaction_permutation_test(&blocks, 4999, 3).unwrap();

        // Scaffold relabelling permutes columns only: every permuted statistic is unchanged,
        // so with the same seed the p-value is identical.
        let by_scaffold =
            interaction_permutation_test(&relabelled(&blocks, &[0, 1, 2], &[2, 0, 3, 1]), 4999, 3)
                .unwrap();
        assert_close(by_scaffold.statistic, base.statistic, 1e-10, "statistic");
        assert_eq!(by_scaffold.p_value, base.p_value);

        // Model relabelling changes which rows the random draws pick, so the p-value agrees
        // only up to Monte Carlo error (sd <= 0.0071 per run at 4999 permutations).
        let by_model =
            interaction_permutation_test(&relabelled(&blocks, &[2, 0, 1], &[0, 1, 2, 3]), 4999, 3)
                .unwrap();
        assert_close(by_model.statistic, base.statistic, 1e-10, "statistic");
        assert_close(by_model.p_value, base.p_value, 0.03, "p-value");
    }

    #[test]
    fn incomplete_blocks_are_dropped_and_counted() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut blocks = simulated_blocks(&mut rng, 6, &no_interaction(3, 4), 1.0);
        blocks[1][2][3] = None;
        blocks[3][0][0] = Some(f64::NAN);
        blocks[4].pop(); // a model row missing altogether
        blocks[5][1].pop(); // a ragged row
        let test = interaction_permutation_test(&blocks, 99, 1).unwrap();
        assert_eq!((test.blocks_used, test.blocks_dropped), (2, 4));
        let complete: Vec<Block> = vec![blocks[0].clone(), blocks[2].clone()];
        assert_eq!(
            interaction_permutation_test(&complete, 99, 1)
                .unwrap()
                .statistic,
            test.statistic
        );
    }

    #[test]
    fn degenerate_designs_give_none() {
        let one_model: Vec<Block> = vec![vec![vec![Some(1.0), Some(2.0)]]];
        assert_eq!(interaction_permutation_test(&one_model, 99, 1), None);
        let one_scaffold: Vec<Block> = vec![vec![vec![Some(1.0)], vec![Some(2.0)]]];
        assert_eq!(interaction_permutation_test(&one_scaffold, 99, 1), None);
        let no_complete: Vec<Block> = vec![vec![vec![Some(1.0), None], vec![Some(2.0), Some(3.0)]]];
        assert_eq!(interaction_permutation_test(&no_complete, 99, 1), None);
        assert_eq!(interaction_permutation_test(&[], 99, 1), None);
        let fine: Vec<Block> = vec![vec![vec![Some(1.0), Some(4.0)], vec![Some(2.0), Some(3.0)]]];
        assert_eq!(interaction_permutation_test(&fine, 0, 1), None);
        // No interaction at all: every permutation ties, p = 1.
        let additive: Vec<Block> =
            vec![vec![vec![Some(1.0), Some(2.0)], vec![Some(5.0), Some(6.0)]]; 3];
        let test = interaction_permutation_test(&additive, 50, 1).unwrap();
        assert_eq!((test.statistic, test.p_value), (0.0, 1.0));
    }

    #[test]
    fn one_block_cannot_be_tested() {
        // Shuffling the model rows of a single block only relabels the models, so every
        // arrangement has the observed statistic: no p-value, rather than a meaningless 1.
        let crossover: Vec<Block> = vec![vec![
            vec![Some(2.0), Some(0.0)],
            vec![Some(0.0), Some(2.0)],
            vec![Some(1.0), Some(1.0)],
        ]];
        assert_eq!(interaction_permutation_test(&crossover, 10_000, 1), None);
    }

    #[test]
    fn few_arrangements_are_enumerated_exactly() {
        // Two blocks of a 2 x 2 crossover: of the (2!)^2 = 4 arrangements, the identity and
        // the double swap give the observed statistic, the single swaps give 0: p = 2/4.
        let block: Block = vec![vec![Some(1.0), Some(0.0)], vec![Some(0.0), Some(1.0)]];
        let test = interaction_permutation_test(&[block.clone(), block], 10_000, 1).unwrap();
        assert!(test.exact);
        assert_eq!((test.p_value, test.permutations), (0.5, 4));
        // (3!)^4 = 1,296 arrangements of four 3-model blocks: enumerated when that many are
        // asked for, sampled when fewer are; the two agree up to Monte Carlo error (sd <= 0.014).
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let blocks = simulated_blocks(&mut rng, 4, &no_interaction(3, 2), 1.0);
        let exact = interaction_permutation_test(&blocks, 1296, 1).unwrap();
        assert_eq!((exact.exact, exact.permutations), (true, 1296));
        let sampled = interaction_permutation_test(&blocks, 1295, 1).unwrap();
        assert!(!sampled.exact);
        assert_close(
            sampled.p_value,
            exact.p_value,
            0.05,
            "Monte Carlo vs exact p",
        );
    }

    #[test]
    fn all_orders_lists_each_order_once() {
        let orders = all_orders(4);
        assert_eq!(orders.len(), 24);
        assert_eq!(orders[0], vec![0, 1, 2, 3]);
        let distinct: std::collections::BTreeSet<_> = orders.iter().collect();
        assert_eq!(distinct.len(), 24);
    }

    #[cfg(not(debug_assertions))]
    #[test]
    fn ten_thousand_permutations_on_a_full_study_are_fast() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let blocks = simulated_blocks(&mut rng, 15, &no_interaction(3, 4), 1.0);
        let start = std::time::Instant::now();
        interaction_permutation_test(&blocks, 10_000, 1).unwrap();
        let elapsed = start.elapsed();
        assert!(elapsed.as_millis() < 100, "{elapsed:?}");
    }

    #[test]
    fn tost_t_matches_toster_paired_example() {
        // TOSTER (Lakens 2017) TOSTpaired.raw(n = 65, m1 = 5.83, m2 = 5.75, sd1 = 1.17,
        // sd2 = 1.30, r12 = 0.745, low_eqbound = -0.34, high_eqbound = 0.34), values from
        // Lakens/TOSTER tests/testthat/test-known_results.R: t1 = 3.803437, p1 = 0.0001606103,
        // t2 = -2.354508, p2 = 0.01081349, 90% CI (-0.1043032, 0.2643032); R 4.2.2 pt/qt on
        // the same summary give 0.0001606102635, 0.0108134901950, -0.1043031768610, 0.2643031768610.
        let sd_diff = (1.17f64.powi(2) + 1.30f64.powi(2) - 2.0 * 0.745 * 1.17 * 1.30).sqrt();
        let tost = tost_t_summary(5.83 - 5.75, sd_diff, 65, 0.34, 0.05).unwrap();
        assert_close(tost.p_lower, 0.0001606103, 1e-9, "p_lower");
        assert_close(tost.p_upper, 0.01081349, 1e-8, "p_upper");
        assert_close(tost.ci.0, -0.1043032, 1e-7, "CI lower");
        assert_close(tost.ci.1, 0.2643032, 1e-7, "CI upper");
        assert_close(tost.p, 0.01081349, 1e-8, "p");
        assert!(tost.equivalent);
    }

    /// R's `sleep` data (Cushny & Peebles 1905, via Student 1908): extra sleep under drug 2
    /// minus drug 1 for the same 10 patients.
    const SLEEP_DIFFS: [f64; 10] = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4];

    #[test]
    fn tost_t_interval_matches_r_t_test_on_sleep() {
        // R: t.test(extra ~ group, data = sleep, paired = TRUE) gives t = -4.0621, df = 9,
        // 95% CI (-2.4598858, -0.7001142) for group 1 - group 2; alpha = 0.025 gives the same
        // 95% interval for group 2 - group 1.
        let tost = tost_t(&SLEEP_DIFFS, 2.0, 0.025).unwrap();
        assert_close(tost.estimate, 1.58, 1e-12, "mean");
        assert_close(tost.ci.0, 0.7001142, 1e-7, "CI lower");
        assert_close(tost.ci.1, 2.4598858, 1e-7, "CI upper");
        assert!(!tost.equivalent);
        assert_eq!(tost_t(&[1.0, 1.0, 1.0], 2.0, 0.05), None, "zero variance");
        assert_eq!(tost_t(&[1.0], 2.0, 0.05), None);
        assert_eq!(tost_t(&SLEEP_DIFFS, 0.0, 0.05), None);
        assert_eq!(tost_t(&SLEEP_DIFFS, 2.0, 0.5), None);
    }

    #[test]
    fn tost_bootstrap_agrees_with_its_own_interval_and_with_tost_t() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for case in 0..60 {
            let shift = 0.05 * (case % 12) as f64 - 0.3;
            let diffs: Vec<f64> = (0..15).map(|_| shift + 0.4 * normal(&mut rng)).collect();
            let margin = 0.25;
            let boot = tost_bootstrap(&diffs, margin, 0.05, 2000, case).unwrap();
            let inside = -margin < boot.ci.0 && boot.ci.1 < margin;
            assert_eq!(boot.equivalent, inside, "case {case}: {boot:?}");
            assert_eq!(boot.equivalent, boot.p_lower < 0.05 && boot.p_upper < 0.05);
            // The interpolated p-values are within one replicate of the raw tail shares.
            let share_below = |v: f64| {
                let b = bootstrap(15, 2000, case, |idx| {
                    Some(idx.iter().map(|&i| diffs[i]).sum::<f64>() / 15.0)
                });
                b.replicates.iter().filter(|&&r| r <= v).count() as f64 / 2000.0
            };
            assert_close(
                boot.p_lower,
                share_below(-margin),
                1.0 / 1999.0 + 1e-12,
                "p_lower",
            );
            assert_close(
                boot.p_upper,
                1.0 - share_below(margin),
                1.0 / 1999.0 + 1e-12,
                "p_upper",
            );
            // Against the t-based TOST: same estimate; the percentile CI is narrower by
            // about sqrt((n-1)/n) and t vs z, so compare loosely.
            let t = tost_t(&diffs, margin, 0.05).unwrap();
            assert_close(boot.estimate, t.estimate, 1e-12, "estimate");
            let width = t.ci.1 - t.ci.0;
            assert_close(boot.ci.0, t.ci.0, 0.2 * width, "CI lower");
            assert_close(boot.ci.1, t.ci.1, 0.2 * width, "CI upper");
        }
    }

    #[test]
    fn tost_bootstrap_edge_cases() {
        // All differences zero: the bootstrap distribution is a point mass at 0.
        let zero = tost_bootstrap(&[0.0; 15], 0.1, 0.05, 500, 1).unwrap();
        assert_eq!((zero.ci, zero.p, zero.equivalent), ((0.0, 0.0), 0.0, true));
        // Clearly outside the margin.
        let far = tost_bootstrap(&[1.0, 1.1, 0.9, 1.2, 0.8], 0.1, 0.05, 500, 1).unwrap();
        assert_eq!((far.p_upper, far.p, far.equivalent), (1.0, 1.0, false));
        assert_eq!(far.p_lower, 0.0);
        // Reproducible from the seed.
        let diffs = [0.1, -0.2, 0.05, 0.0, 0.3, -0.1];
        assert_eq!(
            tost_bootstrap(&diffs, 0.3, 0.05, 300, 9),
            tost_bootstrap(&diffs, 0.3, 0.05, 300, 9)
        );
        for bad in [
            tost_bootstrap(&[0.1], 0.3, 0.05, 300, 9),
            tost_bootstrap(&[0.1, f64::NAN], 0.3, 0.05, 300, 9),
            tost_bootstrap(&diffs, -0.3, 0.05, 300, 9),
            tost_bootstrap(&diffs, 0.3, 0.6, 300, 9),
            tost_bootstrap(&diffs, 0.3, 0.05, 1, 9),
        ] {
            assert_eq!(bad, None);
        }
    }
}
