//! Analysis of variance for the confirmatory analysis: the classical balanced two-way ANOVA,
//! and the sequential least-squares fit the cumulative-link likelihood-ratio test builds on.
//! (The report's variance decomposition is in `gtheory`: variance components whose values do
//! not depend on the order of the facets, unlike the Type I shares once computed here.)

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
}
