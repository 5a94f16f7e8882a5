//! Intervals and tests for means over prompts, the study's independent unit.
//!
//! Transcripts of one prompt share the prompt, and repeats of one cell share everything but the
//! sampling, so transcripts are not independent observations: every mean, share and paired
//! effect of the report is computed from prompt-level values (repeats averaged within their
//! prompt), and its interval treats the prompts as the sample. Rubric scores are bounded,
//! discrete and pile up at the floor or the ceiling, where a percentile bootstrap or a t interval
//! over 15 prompts covers well below its nominal level (docs/statistics.md gives the simulated
//! coverage of each method). Hence:
//!
//! - **a mean** of prompt-level values in `[lo, hi]` gets a Wilson score interval for the
//!   rescaled mean `p = (x̄ − lo)/(hi − lo)` with an effective sample size `p(1 − p)/v` (`v` the
//!   estimated variance of the rescaled mean over prompts, as Korn & Graubard 1998 do for
//!   clustered proportions) and Student's t quantile on `G − 1` degrees of freedom;
//! - **a paired difference** of two such means gets the MOVER interval (Zou & Donner 2008):
//!   the two sides' limits combined by square-and-add with the correlation of their prompt-level
//!   values, which is Newcombe's (1998) method 10 carried over to bounded means;
//! - **tests** invert those intervals, so a p-value below a level means exactly that the
//!   interval at that level excludes the null value.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// How the prompt-level values of a mean spread, which decides its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// The values vary: the Wilson interval uses the effective sample size `p(1 − p)/v`.
    Varies { n_eff: f64 },
    /// Every value at the bottom (or every value at the top) of the range. No variance can be
    /// estimated, but a bounded variable with mean `p` has variance at most `p(1 − p)`, so the
    /// Wilson interval for `G` prompts is a valid, conservative one: `[lo, u]` at the floor.
    AtBound,
    /// Every value the same, inside the range: nothing tells how far the mean could be from
    /// it, so there is no interval.
    Constant,
}

/// A mean over `n` prompt-level values bounded in `[lo, hi]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundedMean {
    pub estimate: f64,
    pub n: usize,
    pub lo: f64,
    pub hi: f64,
    pub spread: Spread,
}

/// Two-sided Student t critical value `t_{df}(1 − (1 − confidence)/2)`; `None` unless
/// `df ≥ 1` and `0 < confidence < 1`.
pub fn t_critical(df: usize, confidence: f64) -> Option<f64> {
    if df == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0))
}

/// Wilson score limits for a proportion `p` over `n` (effective) trials at critical value `q`,
/// clipped to [0, 1], exactly 0 at `p = 0` and 1 at `p = 1`.
pub fn wilson_limits(p: f64, n: f64, q: f64) -> (f64, f64) {
    let q2 = q * q;
    let denominator = 1.0 + q2 / n;
    let centre = (p + q2 / (2.0 * n)) / denominator;
    let half = q / denominator * ((p * (1.0 - p)).max(0.0) / n + q2 / (4.0 * n * n)).sqrt();
    let lower = if p <= 0.0 {
        0.0
    } else {
        (centre - half).clamp(0.0, p)
    };
    let upper = if p >= 1.0 {
        1.0
    } else {
        (centre + half).clamp(p, 1.0)
    };
    (lower, upper)
}

impl BoundedMean {
    /// `None` for no values, a non-finite value or an empty range (`lo ≥ hi`).
    pub fn new(values: &[f64], lo: f64, hi: f64) -> Option<Self> {
        if values.is_empty()
            || values.iter().any(|v| !v.is_finite())
            || lo >= hi
            || lo.is_nan()
            || hi.is_nan()
        {
            return None;
        }
        let n = values.len();
        let range = hi - lo;
        let estimate = values.iter().sum::<f64>() / n as f64;
        let p = ((estimate - lo) / range).clamp(0.0, 1.0);
        let all_equal = values.iter().all(|v| *v == values[0]);
        let spread = if all_equal {
            if p <= 0.0 || p >= 1.0 {
                Spread::AtBound
            } else {
                Spread::Constant
            }
        } else {
            let squares: f64 = values
                .iter()
                .map(|v| ((v - estimate) / range).powi(2))
                .sum();
            // Variance of the rescaled mean over prompts: s² / n with the unbiased s².
            let v = if n > 1 {
                squares / (n - 1) as f64 / n as f64
            } else {
                0.0
            };
            if v > 0.0 {
                Spread::Varies {
                    n_eff: p * (1.0 - p) / v,
                }
            } else {
                Spread::Constant
            }
        };
        Some(BoundedMean {
            estimate,
            n,
            lo,
            hi,
            spread,
        })
    }

    fn p(&self) -> f64 {
        ((self.estimate - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Limits at critical value `q`; `None` with fewer than 2 values or a constant interior
    /// value (see [`Spread`]).
    pub fn interval_at(&self, q: f64) -> Option<(f64, f64)> {
        if self.n < 2 || !q.is_finite() || q < 0.0 {
            return None;
        }
        let n_eff = match self.spread {
            Spread::Varies { n_eff } => n_eff,
            Spread::AtBound => self.n as f64,
            Spread::Constant => return None,
        };
        let (l, u) = wilson_limits(self.p(), n_eff, q);
        let range = self.hi - self.lo;
        Some((self.lo + range * l, self.lo + range * u))
    }

    /// The two-sided interval at `confidence`, with the t quantile on `n − 1` df.
    pub fn ci(&self, confidence: f64) -> Option<(f64, f64)> {
        self.interval_at(t_critical(self.n.checked_sub(1)?, confidence)?)
    }
}

/// A paired comparison over prompts: the mean of one side minus the mean of the other, each
/// side's values in `[lo, hi]`, paired by prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    pub treated: BoundedMean,
    pub base: BoundedMean,
    /// Pearson correlation of the paired prompt-level values; 0 when a side does not vary
    /// (as Newcombe sets φ = 0 for an empty margin).
    pub r: f64,
}

/// What a one-sided test asks: evidence that the difference is above, or below, a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Above,
    Below,
}

impl Paired {
    /// `None` unless both sides have the same, non-zero number of finite values in `[lo, hi]`.
    pub fn new(treated: &[f64], base: &[f64], lo: f64, hi: f64) -> Option<Self> {
        if treated.len() != base.len() {
            return None;
        }
        let t = BoundedMean::new(treated, lo, hi)?;
        let b = BoundedMean::new(base, lo, hi)?;
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in treated.iter().zip(base) {
            let (dx, dy) = (x - t.estimate, y - b.estimate);
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        let r = if sxx > 0.0 && syy > 0.0 {
            (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        Some(Paired {
            treated: t,
            base: b,
            r,
        })
    }

    pub fn estimate(&self) -> f64 {
        self.treated.estimate - self.base.estimate
    }

    pub fn n(&self) -> usize {
        self.treated.n
    }

    /// Both sides at the same bound throughout (every value at the floor, or at the ceiling,
    /// under both): the difference is 0 because the scale cannot show one.
    pub fn both_at_same_bound(&self) -> bool {
        self.treated.spread == Spread::AtBound
            && self.base.spread == Spread::AtBound
            && self.treated.estimate == self.base.estimate
    }

    /// MOVER limits (Zou & Donner 2008, eqs. 6–7) at critical value `q`, clipped to
    /// `[−(hi − lo), hi − lo]`.
    pub fn interval_at(&self, q: f64) -> Option<(f64, f64)> {
        let (lt, ut) = self.treated.interval_at(q)?;
        let (lb, ub) = self.base.interval_at(q)?;
        let (t, b) = (self.treated.estimate, self.base.estimate);
        Some(mover(
            t - b,
            (t - lt, ut - t),
            (b - lb, ub - b),
            self.r,
            self.range(),
        ))
    }

    fn range(&self) -> f64 {
        self.treated.hi - self.treated.lo
    }

    fn df(&self) -> usize {
        self.n().saturating_sub(1)
    }

    /// The two-sided interval at `confidence`, t quantile on `n − 1` df.
    pub fn ci(&self, confidence: f64) -> Option<(f64, f64)> {
        self.interval_at(t_critical(self.df(), confidence)?)
    }

    /// Two-sided p-value of H0: difference = `null`, by inverting the interval: the level at
    /// which its nearer limit reaches `null`.
    pub fn p_value(&self, null: f64) -> Option<f64> {
        let above = self.one_sided(null, Side::Above)?;
        let below = self.one_sided(null, Side::Below)?;
        Some((2.0 * above.min(below)).min(1.0))
    }

    /// One-sided p-value of H0: difference ≤ `bound` (small when the difference is above it).
    pub fn p_above(&self, bound: f64) -> Option<f64> {
        self.one_sided(bound, Side::Above)
    }

    /// One-sided p-value of H0: difference ≥ `bound` (small when the difference is below it).
    pub fn p_below(&self, bound: f64) -> Option<f64> {
        self.one_sided(bound, Side::Below)
    }

    fn one_sided(&self, bound: f64, side: Side) -> Option<f64> {
        // Undefined wherever the interval is.
        self.interval_at(0.0)?;
        let t = StudentsT::new(0.0, 1.0, self.df() as f64).ok()?;
        let estimate = self.estimate();
        if estimate == bound {
            return Some(0.5);
        }
        // The limit on the bound's side moves towards it as q grows; where it reaches the bound
        // is the critical value of the test. If the estimate already lies beyond, the other
        // limit reaches back to the bound and p is above one half.
        let supports = match side {
            Side::Above => estimate > bound,
            Side::Below => estimate < bound,
        };
        let use_lower = estimate > bound;
        let q = self.crossing(bound, use_lower);
        Some(if supports { t.cdf(-q) } else { t.cdf(q) })
    }

    /// The critical value at which the lower (or upper) limit reaches `target`, by bisection;
    /// a large value when it never does.
    fn crossing(&self, target: f64, lower: bool) -> f64 {
        let reached = |q: f64| {
            self.interval_at(q)
                .is_some_and(|(l, u)| if lower { l <= target } else { u >= target })
        };
        const FAR: f64 = 1e8;
        let mut high = 1.0;
        while !reached(high) {
            high *= 2.0;
            if high > FAR {
                return FAR;
            }
        }
        let mut low = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (low + high);
            if reached(mid) {
                high = mid;
            } else {
                low = mid;
            }
            if high - low <= 1e-13 * high {
                break;
            }
        }
        0.5 * (low + high)
    }
}

/// MOVER limits for a difference `estimate = θ₁ − θ₂` from each side's distances to its limits
/// `(θ − l, u − θ)` and their correlation `r` (Zou & Donner 2008; Newcombe 1998 method 10 when
/// the sides are Wilson intervals of paired proportions and `r` is its corrected φ), clipped to
/// `[−range, range]`.
pub fn mover(
    estimate: f64,
    first: (f64, f64),
    second: (f64, f64),
    r: f64,
    range: f64,
) -> (f64, f64) {
    let (down1, up1) = first;
    let (down2, up2) = second;
    let lower = (down1 * down1 + up2 * up2 - 2.0 * r * down1 * up2)
        .max(0.0)
        .sqrt();
    let upper = (up1 * up1 + down2 * down2 - 2.0 * r * up1 * down2)
        .max(0.0)
        .sqrt();
    (
        (estimate - lower).max(-range),
        (estimate + upper).min(range),
    )
}

#[cfg(test)]
// Reference values are written as R printed them (`sprintf("%.17g")`), to compare at full precision.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;
    use crate::analyze::intervals::{newcombe_paired, normal_quantile, wilson};

    #[track_caller]
    fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: {actual} vs {expected} (± {tolerance})"
        );
    }

    #[test]
    fn t_critical_matches_r_qt() {
        // R 4.2.2: qt(0.975, 14) = 2.1447866879178039, qt(0.975, 1) = 12.706204736174694,
        // qt(0.95, 29) = 1.6991270265334975.
        close(
            t_critical(14, 0.95).unwrap(),
            2.1447866879178039,
            1e-9,
            "df 14",
        );
        close(
            t_critical(1, 0.95).unwrap(),
            12.706204736174694,
            1e-7,
            "df 1",
        );
        close(
            t_critical(29, 0.90).unwrap(),
            1.6991270265334975,
            1e-9,
            "df 29",
        );
        assert_eq!(t_critical(0, 0.95), None);
        assert_eq!(t_critical(5, 1.0), None);
    }

    #[test]
    fn wilson_limits_with_the_normal_quantile_are_the_wilson_interval() {
        let z = normal_quantile(0.975).unwrap();
        for (x, n) in [(0u64, 15u64), (3, 15), (7, 15), (15, 15), (1, 2), (40, 100)] {
            let (l, u) = wilson_limits(x as f64 / n as f64, n as f64, z);
            let (wl, wu) = wilson(x, n, 0.95).unwrap();
            close(l, wl, 1e-14, "lower");
            close(u, wu, 1e-14, "upper");
        }
    }

    /// Reference values computed in R 4.2.2 with the formulas written out (no package):
    /// ```r
    /// options(digits = 17)
    /// bw <- function(x, lo, hi, conf = 0.95) {
    ///   G <- length(x); R <- hi - lo; p <- (mean(x) - lo) / R
    ///   v <- var(x / R) / G; n <- if (v > 0) p * (1 - p) / v else G
    ///   q <- qt(1 - (1 - conf) / 2, G - 1); d <- 1 + q^2 / n
    ///   c <- (p + q^2 / (2 * n)) / d; h <- q / d * sqrt(p * (1 - p) / n + q^2 / (4 * n^2))
    ///   lo + R * c(max(0, c - h), min(1, c + h)) }
    /// bw(c(0, 0.5, 1, 0, 0, 2, 1.5, 0, 0, 0.5, 1, 0, 0, 0, 0.5), 0, 2)
    /// #  0.20987596651424717 0.88271986396381164
    /// bw(rep(0, 15), 0, 2)             # 0 0.46939634027900801
    /// bw(c(2, 2, 1.5, 2, 2), 0, 2)     # 1.290510813140064 1.989973348390444
    /// ```
    #[test]
    fn bounded_mean_matches_the_formula_evaluated_in_r() {
        let x = [
            0.0, 0.5, 1.0, 0.0, 0.0, 2.0, 1.5, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 0.5,
        ];
        let m = BoundedMean::new(&x, 0.0, 2.0).unwrap();
        let (l, u) = m.ci(0.95).unwrap();
        close(l, 0.20987596651424717, 1e-9, "lower");
        close(u, 0.88271986396381164, 1e-9, "upper");

        let floor = BoundedMean::new(&[0.0; 15], 0.0, 2.0).unwrap();
        assert_eq!(floor.spread, Spread::AtBound);
        let (l, u) = floor.ci(0.95).unwrap();
        assert_eq!(l, 0.0);
        close(u, 0.46939634027900801, 1e-9, "upper at the floor");

        let high = BoundedMean::new(&[2.0, 2.0, 1.5, 2.0, 2.0], 0.0, 2.0).unwrap();
        let (l, u) = high.ci(0.95).unwrap();
        close(l, 1.290510813140064, 1e-9, "lower near the ceiling");
        close(u, 1.989973348390444, 1e-9, "upper near the ceiling");
    }

    #[test]
    fn degenerate_means_have_honest_intervals() {
        // A constant value inside the range: no interval (never a point, never NaN).
        let constant = BoundedMean::new(&[1.0; 10], 0.0, 2.0).unwrap();
        assert_eq!(constant.spread, Spread::Constant);
        assert_eq!(constant.ci(0.95), None);
        // One prompt: a mean, no interval.
        assert_eq!(BoundedMean::new(&[1.5], 0.0, 2.0).unwrap().ci(0.95), None);
        // At the top: [l, hi], l < hi.
        let top = BoundedMean::new(&[5.0; 4], 1.0, 5.0).unwrap();
        let (l, u) = top.ci(0.95).unwrap();
        assert!(l < 5.0 && u == 5.0, "{l} {u}");
        assert_eq!(BoundedMean::new(&[], 0.0, 1.0), None);
        assert_eq!(BoundedMean::new(&[f64::NAN], 0.0, 1.0), None);
        assert_eq!(BoundedMean::new(&[1.0], 1.0, 1.0), None);
    }

    #[test]
    fn mover_with_wilson_margins_and_corrected_phi_is_newcombes_method_10() {
        // Newcombe's (1998) method 10 is MOVER over the two margins' Wilson intervals with the
        // corrected phi; the published examples (also in intervals.rs) pin both.
        let z = normal_quantile(0.975).unwrap();
        for [a, b, c, d] in [
            [20u64, 12, 2, 16],
            [1, 1, 7, 12],
            [8, 3, 1, 2],
            [59, 6, 16, 80],
        ] {
            let n = (a + b + c + d) as f64;
            let (af, bf, cf, df) = (a as f64, b as f64, c as f64, d as f64);
            let p1 = (af + bf) / n;
            let p2 = (af + cf) / n;
            let (l1, u1) = wilson_limits(p1, n, z);
            let (l2, u2) = wilson_limits(p2, n, z);
            let cross = af * df - bf * cf;
            let corrected = if cross > n / 2.0 {
                cross - n / 2.0
            } else if cross >= 0.0 {
                0.0
            } else {
                cross
            };
            let phi = corrected / ((af + bf) * (cf + df) * (af + cf) * (bf + df)).sqrt();
            let (l, u) = mover(p1 - p2, (p1 - l1, u1 - p1), (p2 - l2, u2 - p2), phi, 1.0);
            let (_, (nl, nu)) = newcombe_paired(a, b, c, d, 0.95).unwrap();
            close(l, nl, 1e-12, "lower");
            close(u, nu, 1e-12, "upper");
        }
    }

    fn paired(treated: &[f64], base: &[f64]) -> Paired {
        Paired::new(treated, base, 0.0, 2.0).unwrap()
    }

    /// R 4.2.2, continuing the `bw` script above:
    /// ```r
    /// tr <- c(2, 1.5, 2, 1, 2, 0.5, 2, 1.5, 1, 2, 2, 1.5, 0.5, 2, 1)
    /// ba <- c(0, 0.5, 1, 0, 0, 1, 0.5, 0, 0, 0.5, 1, 0, 0, 0, 0.5)
    /// r <- cor(tr, ba); a <- bw(tr, 0, 2); b <- bw(ba, 0, 2)
    /// d <- mean(tr) - mean(ba)
    /// c(d - sqrt((mean(tr) - a[1])^2 + (b[2] - mean(ba))^2 - 2 * r * (mean(tr) - a[1]) * (b[2] - mean(ba))),
    ///   d + sqrt((a[2] - mean(tr))^2 + (mean(ba) - b[1])^2 - 2 * r * (a[2] - mean(tr)) * (mean(ba) - b[1])))
    /// #  0.72900172404716423 1.45067926018734328   (r = 0.077151674981045942)
    /// ```
    #[test]
    fn paired_mover_matches_the_formula_evaluated_in_r() {
        let tr = [
            2.0, 1.5, 2.0, 1.0, 2.0, 0.5, 2.0, 1.5, 1.0, 2.0, 2.0, 1.5, 0.5, 2.0, 1.0,
        ];
        let ba = [
            0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 0.5,
        ];
        let p = paired(&tr, &ba);
        close(p.r, 0.077151674981045942, 1e-12, "r");
        let (l, u) = p.ci(0.95).unwrap();
        close(l, 0.72900172404716423, 1e-9, "lower");
        close(u, 1.45067926018734328, 1e-9, "upper");
    }

    #[test]
    fn p_values_invert_the_interval() {
        let tr = [1.0, 1.5, 0.5, 1.0, 2.0, 0.5, 1.0, 1.5, 1.0, 0.0];
        let ba = [0.5, 1.0, 0.5, 0.0, 1.5, 0.5, 0.5, 1.0, 0.0, 0.0];
        let p = paired(&tr, &ba);
        let p0 = p.p_value(0.0).unwrap();
        // At the level 1 − p the interval's lower limit sits on 0.
        let (l, _) = p.ci(1.0 - p0).unwrap();
        close(l, 0.0, 1e-9, "limit at the inverted level");
        // Just inside and outside that level the verdict flips.
        assert!(p.ci(1.0 - p0 * 1.01).unwrap().0 > 0.0);
        assert!(p.ci(1.0 - p0 * 0.99).unwrap().0 < 0.0);
        // One-sided: p_above + p_below = 1, and the two-sided p is twice the smaller.
        for bound in [-0.5, 0.0, 0.3, 0.45, 1.0] {
            let (a, b) = (p.p_above(bound).unwrap(), p.p_below(bound).unwrap());
            close(a + b, 1.0, 1e-9, "complementary");
            close(
                p.p_value(bound).unwrap(),
                (2.0 * a.min(b)).min(1.0),
                1e-12,
                "two-sided",
            );
        }
        // The TOST verdict at 0.025 per side is the 95% interval inside the margins.
        let (l, u) = p.ci(0.95).unwrap();
        for margin in [0.5, 0.8, 1.0, 1.2] {
            let tost = p.p_above(-margin).unwrap().max(p.p_below(margin).unwrap());
            assert_eq!(tost < 0.025, -margin < l && u < margin, "margin {margin}");
        }
    }

    #[test]
    fn a_paired_comparison_at_the_floor_has_an_interval_but_no_spread() {
        let p = paired(&[0.0; 15], &[0.0; 15]);
        assert!(p.both_at_same_bound());
        let (l, u) = p.ci(0.95).unwrap();
        close(l, -0.46939634027900801, 1e-9, "lower");
        close(u, 0.46939634027900801, 1e-9, "upper");
        assert_eq!(p.p_value(0.0), Some(1.0));
        // A constant interior side: no interval, no p-value.
        let p = paired(&[1.0; 15], &[0.0; 15]);
        assert_eq!((p.ci(0.95), p.p_value(0.0)), (None, None));
        // Unequal lengths are not a pairing.
        assert_eq!(Paired::new(&[1.0, 2.0], &[1.0], 0.0, 2.0), None);
    }

    #[test]
    fn two_pairs_are_the_minimum_for_an_interval() {
        let p = paired(&[1.0], &[0.0]);
        assert_eq!((p.ci(0.95), p.p_value(0.0)), (None, None));
        let p = paired(&[1.0, 2.0], &[0.0, 0.5]);
        let (l, u) = p.ci(0.95).unwrap();
        assert!(l < p.estimate() && p.estimate() < u);
    }
}
