//! Analysis of variance for the confirmatory analysis: the classical balanced two-way ANOVA,
//! and a variance decomposition of ratings into model, scaffold, model x scaffold, prompt,
//! rater and residual shares.
//!
//! The decomposition answers "how much of the spread in ratings is due to what we vary
//! (models, scaffolds) versus what we do not control (prompts, raters)". Its shares are
//! shares of the total sum of squares (eta squared, η² = SS_effect / SS_total), with
//! sequential (Type I) sums of squares from an ordinary least-squares fit in the fixed order
//! Model, Scaffold, Model x Scaffold, Prompt, Rater: each component is the reduction in
//! residual sum of squares when its dummy columns join the columns before it, so the shares
//! sum to 1. In a balanced, complete design the effect columns are orthogonal, the order is
//! immaterial and the components equal the classical ANOVA sums of squares. When the data
//! are unbalanced (missing transcripts or ratings, raters who rated only some cells) the
//! columns correlate, and a component absorbs variance it shares with the components after
//! it: earlier components are credited first, so shares then depend on this order.

use std::collections::BTreeMap;

use nalgebra::DVector;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// Classical two-way fixed-effects ANOVA with interaction for a balanced design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TwoWayAnova {
    pub ss_a: f64,
    pub ss_b: f64,
    pub ss_ab: f64,
    pub ss_error: f64,
    pub ss_total: f64,
    pub df_a: usize,
    pub df_b: usize,
    pub df_ab: usize,
    pub df_error: usize,
    /// F ratios against the error mean square; `None` when the error mean square is 0.
    pub f_a: Option<f64>,
    pub f_b: Option<f64>,
    pub f_ab: Option<f64>,
    /// Upper-tail F probabilities; `None` exactly when the F ratio is.
    pub p_a: Option<f64>,
    pub p_b: Option<f64>,
    pub p_ab: Option<f64>,
}

/// Two-way ANOVA with interaction for `data[i][j]` = the `n` replicates of cell (A = i, B = j),
/// by the textbook decomposition into main effects, interaction and within-cell error
/// (Montgomery, Design and Analysis of Experiments, §5.3). `None` unless the design has at
/// least 2 levels of each factor, the same `n ≥ 2` replicates in every cell and finite data.
pub fn two_way_anova_balanced(data: &[Vec<Vec<f64>>]) -> Option<TwoWayAnova> {
    let a = data.len();
    let b = data.first()?.len();
    let n = data.first()?.first()?.len();
    let balanced = data
        .iter()
        .all(|row| row.len() == b && row.iter().all(|cell| cell.len() == n));
    if a < 2
        || b < 2
        || n < 2
        || !balanced
        || data.iter().flatten().flatten().any(|v| !v.is_finite())
    {
        return None;
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let cell_means: Vec<Vec<f64>> = data
        .iter()
        .map(|row| row.iter().map(|c| mean(c)).collect())
        .collect();
    let row_means: Vec<f64> = cell_means.iter().map(|row| mean(row)).collect();
    let column_means: Vec<f64> = (0..b)
        .map(|j| cell_means.iter().map(|row| row[j]).sum::<f64>() / a as f64)
        .collect();
    let grand = mean(&row_means);

    let (a_f, b_f, n_f) = (a as f64, b as f64, n as f64);
    let ss_a = b_f * n_f * row_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let ss_b = a_f
        * n_f
        * column_means
            .iter()
            .map(|m| (m - grand).powi(2))
            .sum::<f64>();
    let mut ss_ab = 0.0;
    let mut ss_error = 0.0;
    let mut ss_total = 0.0;
    for (i, row) in data.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            let cell_mean = cell_means[i][j];
            ss_ab += n_f * (cell_mean - row_means[i] - column_means[j] + grand).powi(2);
            for y in cell {
                ss_error += (y - cell_mean).powi(2);
                ss_total += (y - grand).powi(2);
            }
        }
    }

    let (df_a, df_b) = (a - 1, b - 1);
    let df_ab = df_a * df_b;
    let df_error = a * b * (n - 1);
    let ms_error = ss_error / df_error as f64;
    let test = |ss: f64, df: usize| -> (Option<f64>, Option<f64>) {
        if ms_error <= 0.0 {
            return (None, None);
        }
        let f = (ss / df as f64) / ms_error;
        let p = FisherSnedecor::new(df as f64, df_error as f64)
            .ok()
            .map(|d| d.sf(f));
        (Some(f), p)
    };
    let (f_a, p_a) = test(ss_a, df_a);
    let (f_b, p_b) = test(ss_b, df_b);
    let (f_ab, p_ab) = test(ss_ab, df_ab);
    Some(TwoWayAnova {
        ss_a,
        ss_b,
        ss_ab,
        ss_error,
        ss_total,
        df_a,
        df_b,
        df_ab,
        df_error,
        f_a,
        f_b,
        f_ab,
        p_a,
        p_b,
        p_ab,
    })
}

/// One rating (or one transcript score) with its design labels. Labels are arbitrary
/// identifiers; they need not be contiguous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub model: usize,
    pub scaffold: usize,
    pub prompt: usize,
    pub rater: usize,
    pub y: f64,
}

/// Variance components, in the order in which they enter the sequential fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Component {
    Model,
    Scaffold,
    ModelxScaffold,
    Prompt,
    Rater,
    Residual,
}

impl Component {
    /// All components in fit order, `Residual` last.
    pub const ALL: [Component; 6] = [
        Component::Model,
        Component::Scaffold,
        Component::ModelxScaffold,
        Component::Prompt,
        Component::Rater,
        Component::Residual,
    ];
}

/// Type I decomposition of the total sum of squares (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decomposition {
    /// `SS_component / SS_total` for every component in [`Component::ALL`] order; sums to 1.
    pub shares: Vec<(Component, f64)>,
    /// Sequential sums of squares in the same order; they sum to `total_ss`.
    pub sums_of_squares: Vec<(Component, f64)>,
    /// Degrees of freedom: the rank each component adds to the fit (residual: n − rank).
    pub degrees_of_freedom: Vec<(Component, usize)>,
    /// `Σ (y − ȳ)²`.
    pub total_ss: f64,
    /// Number of observations.
    pub n_obs: usize,
}

/// Dummy-coded factor: each observation's level index among the distinct labels (sorted).
fn level_indices<K: Ord + Copy>(keys: impl Iterator<Item = K>) -> (Vec<usize>, usize) {
    let keys: Vec<K> = keys.collect();
    let levels: BTreeMap<K, usize> = keys
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<K>>()
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    let count = levels.len();
    (keys.iter().map(|k| levels[k]).collect(), count)
}

/// Columns whose norm drops below this fraction of their original norm after projection on
/// the columns before them are treated as linearly dependent (the default `tol` of R's
/// `lm.fit`, whose LINPACK QR applies the same relative test).
const COLLINEARITY_TOLERANCE: f64 = 1e-7;

/// Sequential least-squares fit by Gram-Schmidt QR: each column is orthogonalised against
/// the accepted basis (two passes, which makes classical Gram-Schmidt as accurate as
/// Householder QR; Giraud et al. 2005), dropped if it is dependent, and otherwise its unit
/// vector `q` takes `(qᵀr)²` out of the running residual `r`. The captured squares of a
/// block of columns are its Type I sum of squares (the "effects" of R's `lm`/`anova`).
pub(super) struct SequentialFit {
    basis: Vec<DVector<f64>>,
    residual: DVector<f64>,
}

impl SequentialFit {
    pub(super) fn new(y: DVector<f64>) -> Self {
        SequentialFit {
            basis: Vec::new(),
            residual: y,
        }
    }

    /// Adds one column; returns the sum of squares it explains, or `None` if it is
    /// (numerically) a combination of the columns already in the fit.
    pub(super) fn add_column(&mut self, mut column: DVector<f64>) -> Option<f64> {
        let original_norm = column.norm();
        if original_norm == 0.0 {
            return None;
        }
        for _ in 0..2 {
            for q in &self.basis {
                let coefficient = q.dot(&column);
                column.axpy(-coefficient, q, 1.0);
            }
        }
        let norm = column.norm();
        if norm <= COLLINEARITY_TOLERANCE * original_norm {
            return None;
        }
        column /= norm;
        let effect = column.dot(&self.residual);
        self.residual.axpy(-effect, &column, 1.0);
        self.basis.push(column);
        Some(effect * effect)
    }
}

/// Sequential (Type I) sums of squares for Model, Scaffold, Model x Scaffold, Prompt and
/// Rater from an OLS fit with full dummy coding of each factor (all levels; the intercept is
/// removed by centring `y` and every dummy column), fitted by rank-aware QR as R's
/// `anova(lm(y ~ model + scaffold + model:scaffold + prompt + rater))` with the terms kept in
/// that order. Shares are η², i.e. shares of the total sum of squares; see the module doc for
/// when the order matters. `None` for no observations, a non-finite `y` or zero total variation.
///
/// The QR is written out on nalgebra vectors rather than taken from nalgebra 0.35's
/// decompositions: its SVD returned a wrong factorisation (reconstruction error of order 1)
/// for an exactly rank-deficient centred dummy matrix with its default tolerance, and its
/// `ColPivQR` pivots on the largest entry rather than the largest column norm, so it is not
/// rank-revealing.
pub fn variance_decomposition(obs: &[Obs]) -> Option<Decomposition> {
    if obs.is_empty() || obs.iter().any(|o| !o.y.is_finite()) {
        return None;
    }
    let n = obs.len();
    let mean = obs.iter().map(|o| o.y).sum::<f64>() / n as f64;
    let y = DVector::from_iterator(n, obs.iter().map(|o| o.y - mean));
    let total_ss = y.norm_squared();
    if total_ss <= 0.0 {
        return None;
    }

    let factors = [
        level_indices(obs.iter().map(|o| (o.model, 0))),
        level_indices(obs.iter().map(|o| (o.scaffold, 0))),
        level_indices(obs.iter().map(|o| (o.model, o.scaffold))),
        level_indices(obs.iter().map(|o| (o.prompt, 0))),
        level_indices(obs.iter().map(|o| (o.rater, 0))),
    ];
    let mut fit = SequentialFit::new(y);
    let mut sums_of_squares = Vec::with_capacity(Component::ALL.len());
    let mut degrees_of_freedom = Vec::with_capacity(Component::ALL.len());
    for (component, (indices, levels)) in Component::ALL.into_iter().zip(&factors) {
        let (mut ss, mut df) = (0.0, 0);
        for level in 0..*levels {
            let share_at_level = indices.iter().filter(|&&i| i == level).count() as f64 / n as f64;
            // Centred dummy: the intercept stays implicit and the columns stay well conditioned.
            let column = DVector::from_iterator(
                n,
                indices
                    .iter()
                    .map(|&i| f64::from(u8::from(i == level)) - share_at_level),
            );
            if let Some(explained) = fit.add_column(column) {
                ss += explained;
                df += 1;
            }
        }
        sums_of_squares.push((component, ss));
        degrees_of_freedom.push((component, df));
    }
    let residual_ss = fit.residual.norm_squared();
    sums_of_squares.push((Component::Residual, residual_ss));
    // One degree of freedom went to the intercept (centring).
    degrees_of_freedom.push((Component::Residual, (n - 1).saturating_sub(fit.basis.len())));

    // The captured squares and the residual add up to the total up to rounding; normalising
    // by their sum makes the shares sum to 1 exactly as documented.
    let accounted: f64 = sums_of_squares.iter().map(|(_, ss)| ss).sum();
    let shares = sums_of_squares
        .iter()
        .map(|&(component, ss)| (component, ss / accounted))
        .collect();
    Some(Decomposition {
        shares,
        sums_of_squares,
        degrees_of_freedom,
        total_ss,
        n_obs: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Montgomery, Design and Analysis of Experiments (8th ed.), Example 5.1:
    /// battery life (hours) by plate material (rows) and temperature 15/70/125 °F (columns),
    /// 4 replicates per cell (also `ACSWR::battery` in R).
    fn battery() -> Vec<Vec<Vec<f64>>> {
        vec![
            vec![
                vec![130.0, 155.0, 74.0, 180.0],
                vec![34.0, 40.0, 80.0, 75.0],
                vec![20.0, 70.0, 82.0, 58.0],
            ],
            vec![
                vec![150.0, 188.0, 159.0, 126.0],
                vec![136.0, 122.0, 106.0, 115.0],
                vec![25.0, 70.0, 58.0, 45.0],
            ],
            vec![
                vec![138.0, 110.0, 168.0, 160.0],
                vec![174.0, 120.0, 150.0, 139.0],
                vec![96.0, 104.0, 82.0, 60.0],
            ],
        ]
    }

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: {actual} vs {expected}"
        );
    }

    #[test]
    fn battery_example_matches_montgomery_example_5_1() {
        // Montgomery's ANOVA for Example 5.1: SS material 10,683.72, temperature 39,118.72, interaction
        // 9,613.78, error 18,230.75, total 77,646.97; df 2, 2, 4, 27;
        // F0 = 7.91, 28.97, 3.56; P = 0.0020, < 0.0001, 0.0186.
        let anova = two_way_anova_balanced(&battery()).unwrap();
        assert_close(anova.ss_a, 10683.72, 0.005, "SS material");
        assert_close(anova.ss_b, 39118.72, 0.005, "SS temperature");
        assert_close(anova.ss_ab, 9613.78, 0.005, "SS interaction");
        assert_close(anova.ss_error, 18230.75, 0.005, "SS error");
        assert_close(anova.ss_total, 77646.97, 0.005, "SS total");
        assert_eq!(
            (anova.df_a, anova.df_b, anova.df_ab, anova.df_error),
            (2, 2, 4, 27)
        );
        assert_close(anova.f_a.unwrap(), 7.91, 0.005, "F material");
        assert_close(anova.f_b.unwrap(), 28.97, 0.005, "F temperature");
        assert_close(anova.f_ab.unwrap(), 3.56, 0.005, "F interaction");
        assert_close(anova.p_a.unwrap(), 0.0020, 0.00005, "P material");
        assert!(anova.p_b.unwrap() < 0.0001);
        assert_close(anova.p_ab.unwrap(), 0.0186, 0.00005, "P interaction");
        // Full precision from R 4.2.2: anova(lm(life ~ material * temperature)) gives
        // Pr(>F) = 0.00197608259091, 1.90859589743e-07, 0.0186111681889.
        assert_close(
            anova.p_a.unwrap(),
            0.00197608259091,
            1e-13,
            "P material (R)",
        );
        assert_close(
            anova.p_b.unwrap(),
            1.90859589743e-07,
            1e-17,
            "P temperature (R)",
        );
        assert_close(
            anova.p_ab.unwrap(),
            0.0186111681889,
            1e-12,
            "P interaction (R)",
        );
    }

    #[test]
    fn two_way_anova_rejects_unbalanced_or_degenerate_designs() {
        let mut ragged = battery();
        ragged[1][2].pop();
        assert_eq!(two_way_anova_balanced(&ragged), None);
        let single_replicate: Vec<Vec<Vec<f64>>> =
            vec![vec![vec![1.0], vec![2.0]], vec![vec![3.0], vec![5.0]]];
        assert_eq!(two_way_anova_balanced(&single_replicate), None);
        assert_eq!(two_way_anova_balanced(&battery()[..1]), None);
        assert_eq!(two_way_anova_balanced(&[]), None);
        let mut with_nan = battery();
        with_nan[0][0][0] = f64::NAN;
        assert_eq!(two_way_anova_balanced(&with_nan), None);
        // No within-cell variation: sums of squares exist but F does not.
        let exact: Vec<Vec<Vec<f64>>> = vec![
            vec![vec![1.0, 1.0], vec![2.0, 2.0]],
            vec![vec![3.0, 3.0], vec![5.0, 5.0]],
        ];
        let anova = two_way_anova_balanced(&exact).unwrap();
        assert_eq!((anova.ss_error, anova.f_ab, anova.p_ab), (0.0, None, None));
    }

    fn share(decomposition: &Decomposition, component: Component) -> f64 {
        decomposition
            .shares
            .iter()
            .find(|(c, _)| *c == component)
            .unwrap()
            .1
    }

    fn ss(decomposition: &Decomposition, component: Component) -> f64 {
        decomposition
            .sums_of_squares
            .iter()
            .find(|(c, _)| *c == component)
            .unwrap()
            .1
    }

    #[test]
    fn balanced_decomposition_equals_classical_anova() {
        // Replicate r of each battery cell plays the role of "prompt" r: the prompt and
        // residual components together are the ANOVA error term.
        let data = battery();
        let mut obs = Vec::new();
        for (model, row) in data.iter().enumerate() {
            for (scaffold, cell) in row.iter().enumerate() {
                for (prompt, &y) in cell.iter().enumerate() {
                    obs.push(Obs {
                        model: 10 * model,
                        scaffold: scaffold + 7,
                        prompt,
                        rater: 0,
                        y,
                    });
                }
            }
        }
        let anova = two_way_anova_balanced(&data).unwrap();
        let decomposition = variance_decomposition(&obs).unwrap();
        let tolerance = 1e-9 * anova.ss_total;
        assert_close(decomposition.total_ss, anova.ss_total, tolerance, "total");
        assert_close(
            ss(&decomposition, Component::Model),
            anova.ss_a,
            tolerance,
            "model",
        );
        assert_close(
            ss(&decomposition, Component::Scaffold),
            anova.ss_b,
            tolerance,
            "scaffold",
        );
        assert_close(
            ss(&decomposition, Component::ModelxScaffold),
            anova.ss_ab,
            tolerance,
            "interaction",
        );
        let error = ss(&decomposition, Component::Prompt) + ss(&decomposition, Component::Residual);
        assert_close(error, anova.ss_error, tolerance, "prompt + residual");
        assert_close(
            ss(&decomposition, Component::Rater),
            0.0,
            tolerance,
            "single rater",
        );
        assert_close(
            share(&decomposition, Component::Model),
            anova.ss_a / anova.ss_total,
            1e-12,
            "share",
        );
        let dfs: Vec<usize> = decomposition
            .degrees_of_freedom
            .iter()
            .map(|(_, df)| *df)
            .collect();
        assert_eq!(dfs, vec![2, 2, 4, 3, 0, 24]);
        assert_close(
            decomposition.shares.iter().map(|(_, s)| s).sum(),
            1.0,
            1e-12,
            "shares sum",
        );
    }

    #[test]
    fn full_study_layout_recovers_planted_components() {
        // 3 models x 4 scaffolds x 15 prompts x 2 raters with exactly additive effects and no
        // noise except a rater offset: shares are the planted sums of squares.
        let mut obs = Vec::new();
        for model in 0..3 {
            for scaffold in 0..4 {
                for prompt in 0..15 {
                    for rater in 0..2 {
                        let y = 2.0 * model as f64
                            + 0.5 * scaffold as f64
                            + 0.1 * (prompt % 5) as f64
                            + if rater == 0 { -0.25 } else { 0.25 };
                        obs.push(Obs {
                            model,
                            scaffold,
                            prompt,
                            rater,
                            y,
                        });
                    }
                }
            }
        }
        let d = variance_decomposition(&obs).unwrap();
        let n_per_model = 4.0 * 15.0 * 2.0;
        assert_close(
            ss(&d, Component::Model),
            n_per_model * 2.0 * 4.0,
            1e-9,
            "model",
        );
        assert_close(ss(&d, Component::Rater), 360.0 * 0.0625, 1e-9, "rater");
        assert_close(
            ss(&d, Component::ModelxScaffold),
            0.0,
            1e-9,
            "no interaction",
        );
        assert_close(ss(&d, Component::Residual), 0.0, 1e-9, "no residual");
        assert_close(
            d.shares.iter().map(|(_, s)| s).sum(),
            1.0,
            1e-12,
            "shares sum",
        );
        assert_eq!(d.n_obs, 360);
    }

    /// A deterministic unbalanced rating layout: 3 models x 4 scaffolds x 5 prompts x 3
    /// raters with about a third of the ratings missing in a pattern that confounds raters
    /// with cells, additive effects, an interaction in one cell and fixed pseudo-noise.
    fn unbalanced_ratings() -> Vec<Obs> {
        let mut obs = Vec::new();
        for model in 0..3usize {
            for scaffold in 0..4usize {
                for prompt in 0..5usize {
                    for rater in 0..3usize {
                        let k = model * 60 + scaffold * 15 + prompt * 3 + rater;
                        if (k * 7 + model + rater * scaffold) % 3 == 0 {
                            continue;
                        }
                        let noise = ((k * 37 + 11) % 17) as f64 / 8.0 - 1.0;
                        let interaction = if model == 2 && scaffold == 3 {
                            1.0
                        } else {
                            0.0
                        };
                        let y = 0.4 * model as f64 - 0.3 * scaffold as f64
                            + interaction
                            + 0.2 * (prompt % 3) as f64
                            + 0.5 * rater as f64
                            + noise;
                        obs.push(Obs {
                            model,
                            scaffold,
                            prompt,
                            rater,
                            y,
                        });
                    }
                }
            }
        }
        obs
    }

    #[test]
    fn unbalanced_decomposition_matches_r_sequential_anova() {
        // R 4.2.2 on the same 120 rows:
        //   tt <- terms(y ~ model + scaffold + model:scaffold + prompt + rater, keep.order = TRUE)
        //   anova(lm(tt, data = d))   # all four predictors as factors
        // Sum Sq = 10.900173611111, 7.082638888889, 9.117708333333, 3.815552083333,
        //          13.195192307692, 41.329547275641 on Df 2, 3, 5, 4, 2, 103.
        let obs = unbalanced_ratings();
        assert_eq!(obs.len(), 120);
        let d = variance_decomposition(&obs).unwrap();
        let expected = [
            10.900173611111,
            7.082638888889,
            9.117708333333,
            3.815552083333,
            13.195192307692,
            41.329547275641,
        ];
        for ((component, got), want) in d.sums_of_squares.iter().zip(expected) {
            assert_close(*got, want, 1e-9, &format!("{component:?}"));
        }
        let dfs: Vec<usize> = d.degrees_of_freedom.iter().map(|(_, df)| *df).collect();
        assert_eq!(dfs, vec![2, 3, 5, 4, 2, 103]);
        assert_close(
            d.shares.iter().map(|(_, s)| s).sum(),
            1.0,
            1e-12,
            "shares sum",
        );
        assert_close(
            d.sums_of_squares.iter().map(|(_, s)| s).sum(),
            d.total_ss,
            1e-9,
            "SS sum",
        );
    }

    #[test]
    fn order_matters_only_for_unbalanced_data() {
        // Unbalanced and confounded: scaffold 1 mostly used with model 1. Type I credits the
        // shared variation to Model, which enters first.
        let mut obs = Vec::new();
        let cells = [(0, 0, 6), (0, 1, 1), (1, 0, 1), (1, 1, 6)];
        let mut prompt = 0;
        for (model, scaffold, count) in cells {
            for k in 0..count {
                let y = 1.0 * scaffold as f64 + 0.1 * k as f64;
                obs.push(Obs {
                    model,
                    scaffold,
                    prompt,
                    rater: 0,
                    y,
                });
                prompt = (prompt + 1) % 3;
            }
        }
        let d = variance_decomposition(&obs).unwrap();
        assert!(ss(&d, Component::Model) > ss(&d, Component::Scaffold));
        let swapped: Vec<Obs> = obs
            .iter()
            .map(|o| Obs {
                model: o.scaffold,
                scaffold: o.model,
                ..*o
            })
            .collect();
        let e = variance_decomposition(&swapped).unwrap();
        assert!(ss(&e, Component::Model) > ss(&d, Component::Scaffold));
        assert_close(
            d.shares.iter().map(|(_, s)| s).sum(),
            1.0,
            1e-12,
            "shares sum",
        );
        assert!(d.sums_of_squares.iter().all(|(_, s)| *s >= 0.0));
    }

    #[test]
    fn decomposition_rejects_degenerate_input() {
        let o = |y| Obs {
            model: 0,
            scaffold: 0,
            prompt: 0,
            rater: 0,
            y,
        };
        assert_eq!(variance_decomposition(&[]), None);
        assert_eq!(
            variance_decomposition(&[o(1.0), o(1.0)]),
            None,
            "no variation"
        );
        assert_eq!(variance_decomposition(&[o(1.0), o(f64::INFINITY)]), None);
        let residual_only = variance_decomposition(&[o(1.0), o(2.0), o(4.0)]).unwrap();
        assert_eq!(share(&residual_only, Component::Residual), 1.0);
    }
}
