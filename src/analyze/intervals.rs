//! Closed-form confidence intervals for proportions.
//!
//! Binary rubric outcomes (e.g. "refused", "complied") are summarised as proportions per
//! model x scaffold cell and compared against the `baseline` scaffold on the same prompts.
//! The Wald interval misbehaves at the small n and extreme proportions these studies
//! produce (0 of 15 is common), so cells use the Wilson score interval and paired
//! comparisons use Newcombe's Wilson-based interval for paired data, which never leaves
//! [-1, 1] and stays sensible when discordant pairs are rare.

use statrs::distribution::{ContinuousCDF, Normal};

/// Standard normal quantile `Φ⁻¹(p)` (statrs' `Normal::inverse_cdf`, an `erfc⁻¹` evaluation).
/// `None` unless `0 < p < 1`.
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    Some(Normal::standard().inverse_cdf(p))
}

/// Standard normal distribution function `Φ(x)`; kept beside its inverse so callers use one
/// implementation of both.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

/// Two-sided critical value `z = Φ⁻¹(1 − (1 − confidence)/2)`; `None` unless `0 < confidence < 1`.
pub(crate) fn two_sided_z(confidence: f64) -> Option<f64> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    normal_quantile(1.0 - (1.0 - confidence) / 2.0)
}

/// Wilson (1927) score interval for `x` successes in `n` trials, without continuity
/// correction, clipped to [0, 1] (as R `binom::binom.confint(method = "wilson")`).
/// `x = 0` gives a lower bound of exactly 0 and `x = n` an upper bound of exactly 1.
/// `None` when `n == 0`, `x > n` or `confidence` is not in (0, 1).
pub fn wilson(x: u64, n: u64, confidence: f64) -> Option<(f64, f64)> {
    if n == 0 || x > n {
        return None;
    }
    let z = two_sided_z(confidence)?;
    let n_f = n as f64;
    let p = x as f64 / n_f;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denominator;
    let half_width = z / denominator * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At x = 0 (x = n) centre and half width coincide analytically; pin the bound exactly
    // rather than report a rounding residue such as 1e-17.
    let lower = if x == 0 {
        0.0
    } else {
        (centre - half_width).max(0.0)
    };
    let upper = if x == n {
        1.0
    } else {
        (centre + half_width).min(1.0)
    };
    Some((lower, upper))
}

/// Difference of two paired proportions `p1 − p2 = (b − c)/n` with Newcombe's (1998) method 10:
/// Wilson score limits for each margin combined by "square-and-add", with the correlation
/// `φ` between the margins corrected as Newcombe prescribes (`AD − BC` reduced by `n/2`
/// when positive, floored at 0; left as is when negative; `φ = 0` when a margin is empty).
///
/// Cells follow the usual paired 2 x 2 layout: `a` = success under both conditions,
/// `b` = success under condition 1 only, `c` = success under condition 2 only,
/// `d` = failure under both. Returns `(estimate, (lower, upper))`, clipped to [-1, 1].
/// `None` when `a + b + c + d == 0` or `confidence` is not in (0, 1).
///
/// Reference: Newcombe, R. G. (1998). Improved confidence intervals for the difference
/// between binomial proportions based on paired data. Statistics in Medicine 17, 2635-2650.
pub fn newcombe_paired(
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    confidence: f64,
) -> Option<(f64, (f64, f64))> {
    let n = a.checked_add(b)?.checked_add(c)?.checked_add(d)?;
    if n == 0 {
        return None;
    }
    let (l1, u1) = wilson(a + b, n, confidence)?;
    let (l2, u2) = wilson(a + c, n, confidence)?;
    let n_f = n as f64;
    let (a_f, b_f, c_f, d_f) = (a as f64, b as f64, c as f64, d as f64);
    let p1 = (a_f + b_f) / n_f;
    let p2 = (a_f + c_f) / n_f;
    let estimate = (b_f - c_f) / n_f;

    let margins_product = (a_f + b_f) * (c_f + d_f) * (a_f + c_f) * (b_f + d_f);
    let phi = if margins_product == 0.0 {
        0.0
    } else {
        let cross = a_f * d_f - b_f * c_f;
        let corrected = if cross > n_f / 2.0 {
            cross - n_f / 2.0
        } else if cross >= 0.0 {
            0.0
        } else {
            cross
        };
        corrected / margins_product.sqrt()
    };

    let lower_radicand = (p1 - l1).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2).powi(2);
    let upper_radicand = (p2 - l2).powi(2) - 2.0 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1).powi(2);
    // |φ| ≤ 1 keeps both radicands non-negative analytically; clamp rounding residue.
    let lower = (estimate - lower_radicand.max(0.0).sqrt()).max(-1.0);
    let upper = (estimate + upper_radicand.max(0.0).sqrt()).min(1.0);
    Some((estimate, (lower, upper)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN_WILSON: &str = include_str!("../../tests/golden/stats/wilson_ci_R_binom.json");

    #[test]
    fn normal_quantile_matches_qnorm() {
        // R: qnorm(0.975) = 1.959963984540054
        let z = normal_quantile(0.975).unwrap();
        assert!((z - 1.959963984540054).abs() < 1e-12, "{z}");
        // R 4.2.2: qnorm(0.05) = -1.6448536269514726, qnorm(0.5) = 0
        assert!((normal_quantile(0.05).unwrap() + 1.6448536269514726).abs() < 1e-12);
        assert_eq!(normal_quantile(0.5), Some(0.0));
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert_eq!(normal_quantile(p), None, "p = {p}");
        }
    }

    #[test]
    fn wilson_matches_r_binom_golden_file() {
        let golden: serde_json::Value = serde_json::from_str(GOLDEN_WILSON).unwrap();
        let tolerance = golden["tolerance"].as_f64().unwrap();
        let cases = golden["cases"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let x = case["data"]["x"].as_u64().unwrap();
            let n = case["data"]["n"].as_u64().unwrap();
            let expected = case["expected"]["ci95"].as_array().unwrap();
            let (lo, hi) = wilson(x, n, 0.95).unwrap();
            let (e_lo, e_hi) = (expected[0].as_f64().unwrap(), expected[1].as_f64().unwrap());
            assert!(
                (lo - e_lo).abs() <= tolerance,
                "{}: lower {lo} vs {e_lo}",
                case["name"]
            );
            assert!(
                (hi - e_hi).abs() <= tolerance,
                "{}: upper {hi} vs {e_hi}",
                case["name"]
            );
        }
    }

    #[test]
    fn wilson_bounds_are_exact_at_the_extremes() {
        for n in [1, 2, 7, 30, 1000] {
            assert_eq!(wilson(0, n, 0.95).unwrap().0, 0.0);
            assert_eq!(wilson(n, n, 0.95).unwrap().1, 1.0);
        }
    }

    #[test]
    fn wilson_rejects_impossible_input() {
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(wilson(3, 2, 0.95), None);
        assert_eq!(wilson(1, 2, 1.0), None);
        assert_eq!(wilson(1, 2, 0.0), None);
    }

    fn check_newcombe(cells: [u64; 4], expected: (f64, f64), decimals: i32, source: &str) {
        check_newcombe_within(cells, expected, 0.5 * 10f64.powi(-decimals) + 1e-12, source);
    }

    fn check_newcombe_within(cells: [u64; 4], expected: (f64, f64), tolerance: f64, source: &str) {
        let [a, b, c, d] = cells;
        let (estimate, (lo, hi)) = newcombe_paired(a, b, c, d, 0.95).unwrap();
        let n = (a + b + c + d) as f64;
        assert!((estimate - (b as f64 - c as f64) / n).abs() < 1e-15);
        assert!(
            (lo - expected.0).abs() <= tolerance && (hi - expected.1).abs() <= tolerance,
            "{source} {cells:?}: got ({lo:.5}, {hi:.5}), published ({}, {})",
            expected.0,
            expected.1
        );
    }

    #[test]
    #[allow(clippy::approx_constant)] // 0.318 below is a published limit, not 1/pi
    fn newcombe_matches_published_examples() {
        // Newcombe (1998), example (b): method 10 limits 0.0562 to 0.3292; also asserted by
        // R package ratesci (petelaud/ratesci tests/testthat/test3.R, "against Newcombe's
        // method 10 result").
        check_newcombe([20, 12, 2, 16], (0.0562, 0.3292), 4, "Newcombe 1998 (b)");
        // Fagerland, Lydersen & Laake (2014, Stat Methods Med Res) airway example (Bentur 2009),
        // Newcombe method 10: -0.507 to -0.026 (ratesci test3.R).
        check_newcombe([1, 1, 7, 12], (-0.507, -0.026), 3, "Fagerland 2014");
        // Tang, Li & Tang (2010) example: -0.1574 to 0.4136 (ratesci test3.R).
        check_newcombe([8, 3, 1, 2], (-0.1574, 0.4136), 4, "Tang 2010");
        // Chang et al. (2024) example: 0.133 to 0.318 (ratesci test3.R).
        check_newcombe([7, 25, 2, 68], (0.133, 0.318), 3, "Chang 2024");
        // Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables,
        // ch. 8, Cavo et al. (2012): estimate -0.0621, 95% CI -0.1186 to -0.0046 (R package
        // contingencytables, tests/testthat/test-ch8.R, Newcombe_square_and_add_CI_paired_2x2).
        check_newcombe([59, 6, 16, 80], (-0.1186, -0.0046), 4, "Cavo 2012");
    }

    #[test]
    fn newcombe_matches_the_full_set_of_newcombe_1998_examples() {
        // Method 10 limits for Newcombe's (1998) worked examples, cells (e, f, g, h) =
        // (a, b, c, d), 4 decimals, as transcribed in a public test suite; row (b) above is
        // independently confirmed by ratesci. Note example (a) is theta = 10/50 = 0.2000
        // with limits 0.0569 to 0.3404. One limit does not reproduce to 4 decimals: for
        // (1, 97, 1, 1) the lower limit computes as 0.873672 (0.8737) against 0.8736 listed;
        // every other limit matches, so that row is held to 1e-4 instead.
        check_newcombe_within(
            [1, 97, 1, 1],
            (0.8736, 0.9850),
            1e-4,
            "Newcombe 1998 (1,97,1,1)",
        );
        let rows: [([u64; 4], (f64, f64)); 17] = [
            ([36, 12, 2, 0], (0.0569, 0.3404)),
            ([20, 12, 2, 16], (0.0562, 0.3292)),
            ([18, 12, 2, 18], (0.0562, 0.3290)),
            ([36, 14, 0, 0], (0.1528, 0.4167)),
            ([35, 14, 0, 1], (0.1461, 0.4175)),
            ([18, 14, 0, 18], (0.1441, 0.3963)),
            ([2, 97, 1, 0], (0.8721, 0.9854)),
            ([0, 29, 1, 0], (0.6666, 0.9882)),
            ([2, 98, 0, 0], (0.9178, 0.9945)),
            ([1, 98, 0, 1], (0.9171, 0.9916)),
            ([0, 30, 0, 0], (0.8395, 1.0)),
            ([54, 0, 0, 0], (-0.0664, 0.0664)),
            ([53, 0, 0, 1], (-0.0729, 0.0729)),
            ([30, 0, 0, 24], (-0.0358, 0.0358)),
            ([29, 0, 0, 25], (-0.0354, 0.0354)),
            ([28, 0, 0, 26], (-0.0352, 0.0352)),
            ([27, 0, 0, 27], (-0.0351, 0.0351)),
        ];
        for (cells, expected) in rows {
            check_newcombe(cells, expected, 4, "Newcombe 1998");
        }
    }

    #[test]
    fn newcombe_is_antisymmetric_in_the_discordant_cells() {
        for cells in [[1, 1, 7, 12], [36, 12, 2, 0], [0, 3, 0, 0], [5, 0, 9, 1]] {
            let [a, b, c, d] = cells;
            let (e1, (l1, u1)) = newcombe_paired(a, b, c, d, 0.9).unwrap();
            let (e2, (l2, u2)) = newcombe_paired(a, c, b, d, 0.9).unwrap();
            assert!((e1 + e2).abs() < 1e-15);
            assert!(
                (l1 + u2).abs() < 1e-12 && (u1 + l2).abs() < 1e-12,
                "{cells:?}"
            );
        }
    }

    #[test]
    fn newcombe_rejects_empty_tables_and_bad_levels() {
        assert_eq!(newcombe_paired(0, 0, 0, 0, 0.95), None);
        assert_eq!(newcombe_paired(1, 2, 3, 4, 1.0), None);
        assert_eq!(newcombe_paired(u64::MAX, 1, 0, 0, 0.95), None);
    }
}
