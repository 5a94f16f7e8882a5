//! Cumulative-link (proportional-odds, logit) models of ordinal ratings, fitted by Newton's
//! method on the exact log-likelihood, and the likelihood-ratio test of the model x scaffold
//! interaction on the latent scale.
//!
//! Why: on a bounded rating scale an effect that is the same on an underlying continuous scale
//! looks smaller for a model already near the top, so an interaction of observed means can be a
//! ceiling artefact. The proportional-odds model puts the ratings on a latent logistic scale
//! with free thresholds between levels — every monotone rescaling of the levels gives the same
//! fit — so an interaction it still finds cannot be removed by rescaling the rating scale.
//!
//! The model (the parametrisation of R's `ordinal::clm`): `logit P(Y ≤ j) = θⱼ − xᵀβ` with
//! increasing thresholds θ. Categories nobody used are dropped (as `clm` does with unused
//! factor levels) and reported. A coefficient that runs off to infinity (quasi-complete
//! separation: e.g. a cell whose every rating is at the top level) is reported too; the
//! log-likelihood still converges to its supremum, so the LR statistic stays defined.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::anova::SequentialFit;

/// A coefficient beyond this on the logit scale (an odds ratio above 3·10⁶) is taken as a sign
/// that it diverges: finite data without separation do not produce it.
pub(super) const DIVERGENCE: f64 = 15.0;
/// Newton stops when the largest gradient component is below this.
const GRADIENT_TOLERANCE: f64 = 1e-10;
const MAX_ITERATIONS: usize = 300;

/// Why a cumulative-link model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClmError {
    #[error("fewer than two rating levels were used")]
    TooFewCategories,
    #[error("no observations")]
    NoObservations,
    #[error("the fit did not converge in {0} Newton iterations")]
    NotConverged(usize),
}

/// A fitted cumulative-link model.
#[derive(Debug, Clone, PartialEq)]
pub struct ClmFit {
    /// θ between consecutive used categories.
    pub thresholds: Vec<f64>,
    /// β, one per design column.
    pub coefficients: Vec<f64>,
    pub log_likelihood: f64,
    pub iterations: usize,
    /// The categories (as given) that occur, ascending.
    pub used_categories: Vec<usize>,
    /// Categories between the lowest and highest given level that no rating used.
    pub empty_categories: Vec<usize>,
    /// Coefficients whose estimate diverges (separation), by column index.
    pub diverging: Vec<usize>,
    /// Each observation's score for its linear predictor, ∂ℓᵢ/∂ηᵢ, at the fit.
    pub scores: Vec<f64>,
}

/// A design matrix row: (column, value) for the non-zero entries.
pub type Row = Vec<(usize, f64)>;

fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The expected rating at linear predictor `eta`: `Σⱼ valuesⱼ · P(Y = j)` under
/// `logit P(Y ≤ j) = θⱼ − η`, with `values` one per category (one more than `thresholds`).
pub fn expected_value(thresholds: &[f64], values: &[f64], eta: f64) -> f64 {
    debug_assert_eq!(values.len(), thresholds.len() + 1);
    values
        .iter()
        .enumerate()
        .map(|(j, v)| {
            let upper = thresholds.get(j).map_or(f64::INFINITY, |t| t - eta);
            let lower = if j == 0 {
                f64::NEG_INFINITY
            } else {
                thresholds[j - 1] - eta
            };
            v * interval_probability(upper, lower)
        })
        .sum()
}

/// `F(a) − F(b)` for `b < a`, computed on the tail where it does not cancel.
fn interval_probability(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        logistic(-b) - logistic(-a)
    } else {
        logistic(a) - logistic(b)
    }
}

/// Per observation: log π and the derivatives of log π in (a, b), the upper and lower
/// linear predictors `θ_y − η` and `θ_{y−1} − η` (infinite at the extremes).
struct Pieces {
    ga: f64,
    gb: f64,
    gaa: f64,
    gbb: f64,
    gab: f64,
}

fn pieces(a: f64, b: f64) -> Pieces {
    let p = interval_probability(a, b).max(f64::MIN_POSITIVE);
    let density = |x: f64| {
        if x.is_infinite() {
            (0.0, 0.0)
        } else {
            let f = logistic(x);
            let d = f * (1.0 - f);
            (d, d * (1.0 - 2.0 * f))
        }
    };
    let (fa, dfa) = density(a);
    let (fb, dfb) = density(b);
    let ga = fa / p;
    let gb = -fb / p;
    Pieces {
        ga,
        gb,
        gaa: dfa / p - ga * ga,
        gbb: -dfb / p - gb * gb,
        gab: -ga * gb,
    }
}

/// Fits `logit P(Y ≤ j) = θⱼ − xᵀβ` by Newton's method with step halving, from the marginal
/// cumulative logits and β = 0. `y` holds category labels (any integers; gaps are empty
/// categories), `rows` the design without an intercept, `columns` its width. The design must
/// have full column rank together with the intercept (see [`Design`]).
pub fn fit(y: &[usize], rows: &[Row], columns: usize) -> Result<ClmFit, ClmError> {
    if y.is_empty() {
        return Err(ClmError::NoObservations);
    }
    let lowest = *y.iter().min().expect("non-empty");
    let highest = *y.iter().max().expect("non-empty");
    let used: Vec<usize> = (lowest..=highest).filter(|c| y.contains(c)).collect();
    let empty: Vec<usize> = (lowest..=highest).filter(|c| !y.contains(c)).collect();
    if used.len() < 2 {
        return Err(ClmError::TooFewCategories);
    }
    let level: Vec<usize> = y
        .iter()
        .map(|v| used.binary_search(v).expect("used"))
        .collect();
    let k = used.len() - 1;
    let dim = k + columns;
    let n = y.len() as f64;

    let mut phi = DVector::zeros(dim);
    let mut below = 0usize;
    for j in 0..k {
        below += level.iter().filter(|&&l| l == j).count();
        let share = below as f64 / n;
        phi[j] = (share / (1.0 - share)).ln();
    }

    let linear = |phi: &DVector<f64>, row: &Row| -> f64 {
        row.iter().map(|&(c, v)| v * phi[k + c]).sum::<f64>()
    };
    let bounds = |phi: &DVector<f64>, l: usize, eta: f64| -> (f64, f64) {
        let a = if l < k { phi[l] - eta } else { f64::INFINITY };
        let b = if l > 0 {
            phi[l - 1] - eta
        } else {
            f64::NEG_INFINITY
        };
        (a, b)
    };
    let log_likelihood = |phi: &DVector<f64>| -> Option<f64> {
        if (1..k).any(|j| phi[j] <= phi[j - 1]) || phi.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut total = 0.0;
        for (row, &l) in rows.iter().zip(&level) {
            let (a, b) = bounds(phi, l, linear(phi, row));
            total += interval_probability(a, b).max(f64::MIN_POSITIVE).ln();
        }
        Some(total)
    };
    // Gradient and Hessian of ℓ; `u` and `v` are ∂a/∂φ and ∂b/∂φ (sparse).
    let derivatives = |phi: &DVector<f64>| -> (DVector<f64>, DMatrix<f64>) {
        let mut g = DVector::zeros(dim);
        let mut h = DMatrix::zeros(dim, dim);
        let mut u: Vec<(usize, f64)> = Vec::new();
        let mut v: Vec<(usize, f64)> = Vec::new();
        for (row, &l) in rows.iter().zip(&level) {
            let (a, b) = bounds(phi, l, linear(phi, row));
            let p = pieces(a, b);
            u.clear();
            v.clear();
            if l < k {
                u.push((l, 1.0));
            }
            if l > 0 {
                v.push((l - 1, 1.0));
            }
            for &(c, x) in row {
                u.push((k + c, -x));
                v.push((k + c, -x));
            }
            for &(i, ui) in &u {
                g[i] += p.ga * ui;
                for &(j, uj) in &u {
                    h[(i, j)] += p.gaa * ui * uj;
                }
                for &(j, vj) in &v {
                    h[(i, j)] += p.gab * ui * vj;
                    h[(j, i)] += p.gab * ui * vj;
                }
            }
            for &(i, vi) in &v {
                g[i] += p.gb * vi;
                for &(j, vj) in &v {
                    h[(i, j)] += p.gbb * vi * vj;
                }
            }
        }
        (g, h)
    };

    let mut current = log_likelihood(&phi).ok_or(ClmError::NoObservations)?;
    let mut iterations = 0;
    loop {
        let (g, h) = derivatives(&phi);
        let max_gradient = g.amax();
        if max_gradient < GRADIENT_TOLERANCE {
            break;
        }
        if iterations >= MAX_ITERATIONS {
            return Err(ClmError::NotConverged(iterations));
        }
        iterations += 1;
        // Newton direction from the observed information; a ridge only where it is not
        // numerically positive definite (a diverging coefficient flattens the likelihood).
        let information = -h;
        let scale = information.diagonal().amax().max(1e-300);
        let mut ridge = 0.0;
        let direction = loop {
            let mut m = information.clone();
            for i in 0..dim {
                m[(i, i)] += ridge;
            }
            if let Some(ch) = m.cholesky() {
                break ch.solve(&g);
            }
            ridge = if ridge == 0.0 {
                1e-12 * scale
            } else {
                ridge * 10.0
            };
        };
        let mut step = 1.0;
        let mut improved = false;
        for _ in 0..60 {
            let candidate = &phi + &direction * step;
            if let Some(value) = log_likelihood(&candidate)
                && value >= current - 1e-12 * current.abs().max(1.0)
            {
                let flat = (value - current).abs() <= 1e-15 * current.abs().max(1.0);
                phi = candidate;
                current = value;
                improved = !flat;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            // No step changes the likelihood any more: it sits at its supremum (separation
            // leaves a gradient that shrinks only as fast as the coefficients grow).
            if max_gradient < 1e-5 {
                break;
            }
            return Err(ClmError::NotConverged(iterations));
        }
    }

    let coefficients: Vec<f64> = phi.iter().skip(k).copied().collect();
    let diverging = coefficients
        .iter()
        .enumerate()
        .filter(|(_, b)| b.abs() > DIVERGENCE)
        .map(|(i, _)| i)
        .collect();
    let scores = rows
        .iter()
        .zip(&level)
        .map(|(row, &l)| {
            let (a, b) = bounds(&phi, l, linear(&phi, row));
            let p = pieces(a, b);
            // ∂ℓ/∂η = −(ga + gb), since a and b both move by −η.
            -(p.ga + p.gb)
        })
        .collect();
    Ok(ClmFit {
        thresholds: phi.iter().take(k).copied().collect(),
        coefficients,
        log_likelihood: current,
        iterations,
        used_categories: used,
        empty_categories: empty,
        diverging,
        scores,
    })
}

/// A treatment-coded design from factors: every level but each factor's first (in sorted
/// order) gets a dummy column, and a column that is a linear combination of the intercept and
/// the columns before it (an empty or aliased level) is dropped, as R drops aliased terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub rows: Vec<Row>,
    /// Per kept column: (factor index, level label).
    pub columns: Vec<(usize, usize)>,
}

impl Design {
    /// `factors[f][i]` is observation i's level of factor f.
    pub fn treatment(factors: &[Vec<usize>]) -> Design {
        let n = factors.first().map_or(0, Vec::len);
        let mut rows: Vec<Row> = vec![Vec::new(); n];
        let mut columns = Vec::new();
        let mut fit = SequentialFit::new(DVector::zeros(n));
        // The intercept first: dummies are judged against it.
        let _ = fit.add_column(DVector::from_element(n, 1.0));
        for (f, levels) in factors.iter().enumerate() {
            let distinct: std::collections::BTreeSet<usize> = levels.iter().copied().collect();
            for &level in distinct.iter().skip(1) {
                let column = DVector::from_iterator(
                    n,
                    levels.iter().map(|&l| f64::from(u8::from(l == level))),
                );
                if fit.add_column(column).is_some() {
                    let c = columns.len();
                    for (row, &l) in rows.iter_mut().zip(levels) {
                        if l == level {
                            row.push((c, 1.0));
                        }
                    }
                    columns.push((f, level));
                }
            }
        }
        Design { rows, columns }
    }
}

/// One rating for the latent-scale interaction test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub model: usize,
    pub scaffold: usize,
    pub prompt: usize,
    pub rater: usize,
    /// The rating, counted from the scale's minimum. Ratings of one (model, scaffold, prompt)
    /// are one cluster (raters of a transcript, repeats of a prompt share its draw).
    pub level: usize,
}

/// The likelihood-ratio test of the model x scaffold interaction on the latent scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentTest {
    /// `2 (ℓ_full − ℓ_additive)`.
    pub lr: f64,
    pub df: usize,
    /// The clustering correction: the LR is divided by this before the χ² reference.
    pub design_effect: f64,
    /// Upper χ²(df) probability of `lr / design_effect`.
    pub p_value: f64,
    pub log_likelihood_full: f64,
    pub log_likelihood_additive: f64,
    pub n_ratings: usize,
    /// Rating levels inside the scale's range that nobody used (dropped from the fit).
    pub empty_levels: Vec<usize>,
    /// What diverges, in words ("model sim-a x scaffold verification", "prompt p03"): the
    /// LR statistic is then a supremum and the χ² reference is less certain.
    pub separation: Vec<String>,
    /// Prompts and raters whose every rating sits at one end of the levels in use, set aside
    /// before fitting ("prompt p03 (every rating at the lowest level in use)"): see
    /// `set_aside_separated`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
}

/// What a term of the design is called in [`LatentTest::separation`].
pub struct Names<'a> {
    pub models: &'a [String],
    pub scaffolds: &'a [String],
    pub prompts: &'a [String],
    pub raters: &'a [String],
}

/// Fits the full model (a parameter per model x scaffold cell, plus prompt and rater effects)
/// and the additive one (model + scaffold + prompt + rater) and compares them by likelihood
/// ratio. Ratings of one transcript (and repeats of one prompt in one cell) are not
/// independent, so the LR is divided by the design effect of the cluster sums of the full
/// model's scores, `ĉ = Σ_c (Σ_{i∈c} uᵢ)² / Σᵢ uᵢ²` (at least 1): the first-order Rao–Scott
/// (1984) correction for a term that is constant within clusters, as every cell contrast is.
/// Rater effects enter only when there are at least two raters.
pub fn latent_interaction_test(
    ratings: &[Rating],
    names: &Names<'_>,
) -> Result<LatentTest, ClmError> {
    let (kept, set_aside) = set_aside_separated(ratings, names);
    let ratings = kept.as_slice();
    let y: Vec<usize> = ratings.iter().map(|r| r.level).collect();
    let pick = |f: fn(&Rating) -> usize| ratings.iter().map(f).collect::<Vec<usize>>();
    let cells = pick(|r| r.model * 1_000_000 + r.scaffold);
    let mut shared = vec![pick(|r| r.prompt)];
    let raters = pick(|r| r.rater);
    if raters
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1
    {
        shared.push(raters);
    }
    let mut full_factors = vec![cells.clone()];
    full_factors.extend(shared.iter().cloned());
    let mut additive_factors = vec![pick(|r| r.model), pick(|r| r.scaffold)];
    additive_factors.extend(shared.iter().cloned());

    let full_design = Design::treatment(&full_factors);
    let additive_design = Design::treatment(&additive_factors);
    let full = fit(&y, &full_design.rows, full_design.columns.len())?;
    let additive = fit(&y, &additive_design.rows, additive_design.columns.len())?;

    let df =
        full_design.columns.len() - additive_design.columns.len().min(full_design.columns.len());
    let lr = (2.0 * (full.log_likelihood - additive.log_likelihood)).max(0.0);

    let mut clusters: std::collections::BTreeMap<(usize, usize, usize), f64> = Default::default();
    for (r, u) in ratings.iter().zip(&full.scores) {
        *clusters.entry((r.model, r.scaffold, r.prompt)).or_default() += u;
    }
    let within: f64 = full.scores.iter().map(|u| u * u).sum();
    let between: f64 = clusters.values().map(|s| s * s).sum();
    let design_effect = if within > 0.0 {
        (between / within).max(1.0)
    } else {
        1.0
    };
    let p_value = if df == 0 {
        1.0
    } else {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        ChiSquared::new(df as f64).map_or(1.0, |d| d.sf(lr / design_effect))
    };

    let name = |label: &[String], i: usize| label.get(i).cloned().unwrap_or_else(|| i.to_string());
    let mut separation = Vec::new();
    for &c in &full.diverging {
        let (factor, level) = full_design.columns[c];
        separation.push(match factor {
            0 => format!(
                "model {} x scaffold {}",
                name(names.models, level / 1_000_000),
                name(names.scaffolds, level % 1_000_000)
            ),
            1 => format!("prompt {}", name(names.prompts, level)),
            _ => format!("rater {}", name(names.raters, level)),
        });
    }
    for &c in &additive.diverging {
        let (factor, level) = additive_design.columns[c];
        let text = match factor {
            0 => format!("model {}", name(names.models, level)),
            1 => format!("scaffold {}", name(names.scaffolds, level)),
            2 => format!("prompt {}", name(names.prompts, level)),
            _ => format!("rater {}", name(names.raters, level)),
        };
        if !separation.contains(&text) {
            separation.push(text);
        }
    }
    Ok(LatentTest {
        lr,
        df,
        design_effect,
        p_value,
        log_likelihood_full: full.log_likelihood,
        log_likelihood_additive: additive.log_likelihood,
        n_ratings: ratings.len(),
        empty_levels: full.empty_categories,
        separation,
        set_aside,
    })
}

/// Sets aside the prompts (and, with two or more raters, the raters) whose every rating is at
/// the lowest or at the highest level in use, and names them.
///
/// Why: such a level separates — its coefficient runs off to infinity — and at that supremum
/// its ratings have likelihood 1 under both models whatever the other parameters are, so they
/// add nothing to either log-likelihood, to the LR or to the scores of the design effect. Left
/// in, they only add a diverging nuisance coefficient, which would set the latent test aside as
/// "separated" although no term of the interaction diverges. Setting them aside gives the same
/// LR with a regular fit. Repeated until nothing changes, since removing ratings can change
/// which levels are in use. Separation within the model x scaffold cells is left in place and
/// reported: that one does bear on the interaction.
fn set_aside_separated(ratings: &[Rating], names: &Names<'_>) -> (Vec<Rating>, Vec<String>) {
    let mut kept = ratings.to_vec();
    let mut named = Vec::new();
    while let Some(more) = separated_level(&kept, names) {
        let (facet, separated) = more;
        kept.retain(|r| !separated.iter().any(|(k, _)| *k == facet.of(r)));
        named.extend(separated.into_iter().map(|(_, text)| text));
    }
    (kept, named)
}

/// A nuisance facet of the latent fit.
#[derive(Clone, Copy)]
enum Facet {
    Prompt,
    Rater,
}

impl Facet {
    fn of(self, r: &Rating) -> usize {
        match self {
            Facet::Prompt => r.prompt,
            Facet::Rater => r.rater,
        }
    }
}

/// The first facet with levels whose every rating is at the lowest or highest level in use,
/// with those levels and how to name them; `None` when there is none. A facet all of whose
/// levels are at one end would leave nothing to fit, so it is left alone.
fn separated_level(kept: &[Rating], names: &Names<'_>) -> Option<(Facet, Vec<(usize, String)>)> {
    use std::collections::{BTreeMap, BTreeSet};
    let low = kept.iter().map(|r| r.level).min()?;
    let high = kept.iter().map(|r| r.level).max()?;
    if low == high {
        return None;
    }
    let raters = kept.iter().map(|r| r.rater).collect::<BTreeSet<_>>().len();
    // Rater effects enter the fit only with two or more raters.
    let facets = [
        (Facet::Prompt, "prompt", names.prompts),
        (Facet::Rater, "rater", names.raters),
    ];
    for (facet, word, labels) in facets {
        if matches!(facet, Facet::Rater) && raters < 2 {
            continue;
        }
        let mut levels: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for r in kept {
            levels.entry(facet.of(r)).or_default().insert(r.level);
        }
        let total = levels.len();
        let separated: Vec<(usize, String)> = levels
            .into_iter()
            .filter_map(|(k, used)| {
                let only = *used.iter().next()?;
                (used.len() == 1 && (only == low || only == high)).then(|| {
                    let label = labels.get(k).cloned().unwrap_or_else(|| k.to_string());
                    let end = if only == low { "lowest" } else { "highest" };
                    (
                        k,
                        format!("{word} {label} (every rating at the {end} level in use)"),
                    )
                })
            })
            .collect();
        if !separated.is_empty() && separated.len() < total {
            return Some((facet, separated));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64, what: &str) {
        assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
    }

    /// Ratings in R's `expand.grid(rater, prompt, scaffold, model)` order (rater fastest).
    fn ratings(
        models: usize,
        scaffolds: usize,
        prompts: usize,
        raters: usize,
        y: &str,
    ) -> Vec<Rating> {
        let mut out = Vec::new();
        let mut levels = y.bytes().map(|b| usize::from(b - b'0'));
        for model in 0..models {
            for scaffold in 0..scaffolds {
                for prompt in 0..prompts {
                    for rater in 0..raters {
                        out.push(Rating {
                            model,
                            scaffold,
                            prompt,
                            rater,
                            level: levels.next().unwrap(),
                        });
                    }
                }
            }
        }
        assert!(levels.next().is_none());
        out
    }

    fn full_fit(r: &[Rating]) -> ClmFit {
        let factors = vec![
            r.iter().map(|r| r.model * 1_000_000 + r.scaffold).collect(),
            r.iter().map(|r| r.prompt).collect(),
            r.iter().map(|r| r.rater).collect(),
        ];
        let design = Design::treatment(&factors);
        fit(
            &r.iter().map(|r| r.level).collect::<Vec<_>>(),
            &design.rows,
            design.columns.len(),
        )
        .unwrap()
    }

    const NO_NAMES: Names<'static> = Names {
        models: &[],
        scaffolds: &[],
        prompts: &[],
        raters: &[],
    };

    // Reference values: tests/golden/r/clm_reference.R, R 4.2.2 with ordinal 2022.11.16:
    // clm(Y ~ cell + prompt + rater) and clm(Y ~ model + scaffold + prompt + rater) with
    // clm.control(gradTol = 1e-13), anova() of the two for the LR.
    const DATA_A: &str = "000001000101102020202001011212121220000101010112102020202021010112011212010102010212202021202121121222122222";
    const DATA_B: &str = "000002000220303030300223232323000202020220303030300202230223";

    #[test]
    fn matches_r_ordinal_clm_on_a_three_level_study() {
        let r = ratings(3, 3, 6, 2, DATA_A);
        let f = full_fit(&r);
        let thresholds = [2.703898256414, 4.418714883896];
        let beta = [
            1.740021860889,
            2.925238887785,
            1.182433302660,
            2.260160779904,
            2.235444204447,
            1.879214287051,
            2.751059405301,
            4.480523783628,
            0.741182562657,
            1.771340931944,
            0.741182562657,
            1.771340931944,
            2.089567677283,
            0.274289835681,
        ];
        for (a, b) in f.thresholds.iter().zip(thresholds) {
            close(*a, b, 1e-6, "threshold");
        }
        assert_eq!(f.coefficients.len(), beta.len());
        for (a, b) in f.coefficients.iter().zip(beta) {
            close(*a, b, 1e-6, "coefficient");
        }
        close(f.log_likelihood, -97.335744254439, 1e-6, "logLik full");
        assert!(f.diverging.is_empty() && f.empty_categories.is_empty());
        let test = latent_interaction_test(&r, &NO_NAMES).unwrap();
        close(
            test.log_likelihood_additive,
            -99.373704414705,
            1e-6,
            "logLik additive",
        );
        close(test.lr, 4.075920320530, 1e-6, "LR");
        assert_eq!(test.df, 4);
        // One rating per rater per cell and prompt: two ratings per cluster.
        assert!(test.design_effect >= 1.0);
        if test.design_effect == 1.0 {
            close(test.p_value, 0.395828647391, 1e-6, "p");
        }
    }

    #[test]
    fn matches_r_ordinal_clm_with_an_empty_level() {
        // Level 1 of 0–3 is never used; clm drops it as an unused factor level.
        let r = ratings(2, 3, 5, 2, DATA_B);
        let f = full_fit(&r);
        assert_eq!(f.used_categories, vec![0, 2, 3]);
        assert_eq!(f.empty_categories, vec![1]);
        for (a, b) in f.thresholds.iter().zip([2.971969930117, 4.686631635004]) {
            close(*a, b, 1e-6, "threshold");
        }
        let beta = [
            2.303249629077,
            3.169029501534,
            0.931939865843,
            2.303249629077,
            2.258179106141,
            1.214786947307,
            2.004148573479,
            1.214786947307,
            2.004148573479,
            0.100660459231,
        ];
        for (a, b) in f.coefficients.iter().zip(beta) {
            close(*a, b, 1e-6, "coefficient");
        }
        close(f.log_likelihood, -53.347032660854, 1e-6, "logLik full");
        let test = latent_interaction_test(&r, &NO_NAMES).unwrap();
        close(
            test.log_likelihood_additive,
            -54.388283748404,
            1e-6,
            "logLik additive",
        );
        close(test.lr, 2.082502175101, 1e-6, "LR");
        assert_eq!((test.df, test.empty_levels.clone()), (2, vec![1]));
    }

    #[test]
    fn prompts_at_one_end_of_the_scale_are_set_aside_not_called_separation() {
        let names = Names {
            models: &[],
            scaffolds: &[],
            prompts: &["p0".into(), "p1".into(), "p2".into()],
            raters: &[],
        };
        let base = ratings(3, 3, 6, 2, DATA_A);
        // Prompt 0 entirely at the top, prompt 1 entirely in the middle level.
        let mut r = base.clone();
        for x in r.iter_mut() {
            match x.prompt {
                0 => x.level = 2,
                1 => x.level = 1,
                _ => {}
            }
        }
        let test = latent_interaction_test(&r, &names).unwrap();
        assert_eq!(
            test.set_aside,
            vec!["prompt p0 (every rating at the highest level in use)".to_string()]
        );
        assert!(test.separation.is_empty(), "{:?}", test.separation);
        // The set-aside ratings add nothing: the test equals the one without them.
        let rest: Vec<Rating> = r.iter().copied().filter(|x| x.prompt != 0).collect();
        let without = latent_interaction_test(&rest, &NO_NAMES).unwrap();
        assert_eq!(test.n_ratings, rest.len());
        close(test.lr, without.lr, 1e-12, "LR");
        close(test.p_value, without.p_value, 1e-12, "p");
        // Data set A as it is has no such prompt.
        assert!(
            latent_interaction_test(&base, &names)
                .unwrap()
                .set_aside
                .is_empty()
        );
    }

    #[test]
    fn separation_is_reported_and_the_likelihood_ratio_stays_finite() {
        // Data set A with every rating of model 2 x scaffold 2 at the top level.
        let mut r = ratings(3, 3, 6, 2, DATA_A);
        for x in r.iter_mut().filter(|x| x.model == 2 && x.scaffold == 2) {
            x.level = 2;
        }
        let names = Names {
            models: &["m0".into(), "m1".into(), "m2".into()],
            scaffolds: &["s0".into(), "s1".into(), "s2".into()],
            prompts: &[],
            raters: &[],
        };
        let test = latent_interaction_test(&r, &names).unwrap();
        assert_eq!(test.separation, vec!["model m2 x scaffold s2".to_string()]);
        assert!(test.lr.is_finite() && test.lr > 0.0 && test.p_value > 0.0);
        // One level only: nothing to fit.
        let flat: Vec<Rating> = r.iter().map(|x| Rating { level: 1, ..*x }).collect();
        assert_eq!(
            latent_interaction_test(&flat, &NO_NAMES),
            Err(ClmError::TooFewCategories)
        );
    }
}
