//! Variance components of the crossed rating design (generalizability theory), replacing the
//! order-dependent Type I shares the report once printed.
//!
//! A rating is modelled as grand mean + model + scaffold + model × scaffold + prompt + rater +
//! transcript (model × scaffold × prompt) + residual, every term random with its own variance.
//! The transcript term separates what the raters agree a transcript deserves from their
//! disagreement about it; without it no reliability of the raters' mean can be formed.
//!
//! The estimator is Henderson's Method I (the ANOVA method for unbalanced data; Searle,
//! Casella & McCulloch, *Variance Components*, 1992, §5.2): for every facet the uncorrected
//! sum of squares of its level totals, `T_f = Σ_a y_a² / n_a`, minus the correction
//! `(Σy)² / n`, set equal to its expectation `Σ_k σ²_k tr(Q_f Z_k Z_kᵀ)`, and the linear
//! system solved for the σ². Each facet's quadratic form is computed from that facet alone, so
//! the estimates do not depend on any facet order; they are unbiased when only the mean is
//! fixed, whatever the balance (dual coding: every transcript rated by 2 of R raters); on
//! balanced data they equal the classical expected-mean-squares estimates and REML's (when
//! none is negative). Negative solutions are truncated to 0 and flagged.
//!
//! Intervals come from a cluster bootstrap over prompts (each drawn prompt, with all its
//! transcripts and ratings, becomes a new prompt), replicate `i` drawing from ChaCha stream `i`
//! of the recorded seed, so results do not depend on threads or evaluation order. They reflect
//! the sampling of prompts and ratings; the models and scaffolds are the study's own set.

use std::collections::{BTreeMap, HashMap};

use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Dense lookup tables up to this many slots (and 16 a key); larger key spaces use a hash map.
const DENSE_SLOTS: usize = 1 << 22;

/// Level ids in order of first appearance of `keys`, each below `slots` (the key space's size;
/// `None` when it does not fit in a usize): the ids a hash map would give, without hashing.
fn first_appearance_ids(
    keys: impl ExactSizeIterator<Item = usize>,
    slots: Option<usize>,
) -> Vec<usize> {
    let bound = DENSE_SLOTS.min(16 * keys.len().max(256));
    match slots {
        Some(slots) if slots <= bound => {
            let mut index = vec![usize::MAX; slots];
            let mut next = 0;
            keys.map(|key| {
                if index[key] == usize::MAX {
                    index[key] = next;
                    next += 1;
                }
                index[key]
            })
            .collect()
        }
        _ => {
            let mut index: HashMap<usize, usize> = HashMap::new();
            keys.map(|key| {
                let next = index.len();
                *index.entry(key).or_insert(next)
            })
            .collect()
        }
    }
}

/// One rating with its design labels (arbitrary identifiers, need not be contiguous).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    pub model: usize,
    pub scaffold: usize,
    pub prompt: usize,
    pub rater: usize,
    pub y: f64,
}

/// The variance components, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Model,
    Scaffold,
    ModelxScaffold,
    Prompt,
    Rater,
    Transcript,
    Residual,
}

impl Facet {
    pub const ALL: [Facet; 7] = [
        Facet::Model,
        Facet::Scaffold,
        Facet::ModelxScaffold,
        Facet::Prompt,
        Facet::Rater,
        Facet::Transcript,
        Facet::Residual,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Facet::Model => "model",
            Facet::Scaffold => "scaffold",
            Facet::ModelxScaffold => "model × scaffold",
            Facet::Prompt => "prompt",
            Facet::Rater => "rater",
            Facet::Transcript => "transcript (model × scaffold × prompt)",
            Facet::Residual => "residual (rating error)",
        }
    }

    /// The facet's level key for one rating; `None` for the residual.
    fn key(self, r: &Rating) -> Option<(usize, usize, usize)> {
        match self {
            Facet::Model => Some((r.model, 0, 0)),
            Facet::Scaffold => Some((r.scaffold, 0, 0)),
            Facet::ModelxScaffold => Some((r.model, r.scaffold, 0)),
            Facet::Prompt => Some((r.prompt, 0, 0)),
            Facet::Rater => Some((r.rater, 0, 0)),
            Facet::Transcript => Some((r.model, r.scaffold, r.prompt)),
            Facet::Residual => None,
        }
    }
}

/// Method I estimates for a list of random factors (each rating's level index per factor) plus
/// a residual, which comes last. Factors with fewer than 2 levels, or with a level per rating,
/// cannot be told apart from the mean or the residual: their estimate is `None` and they are
/// left out of the system. `None` overall for no data, non-finite data or a singular system.
pub fn method_one(y: &[f64], factors: &[Vec<usize>]) -> Option<Vec<Option<f64>>> {
    let n = y.len();
    if n < 2 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let levels: Vec<usize> = factors
        .iter()
        .map(|f| f.iter().copied().max().map_or(0, |m| m + 1))
        .collect();
    let counts: Vec<Vec<f64>> = factors
        .iter()
        .zip(&levels)
        .map(|(f, &l)| {
            let mut c = vec![0.0; l];
            f.iter().for_each(|&a| c[a] += 1.0);
            c
        })
        .collect();
    let distinct = |i: usize| counts[i].iter().filter(|&&c| c > 0.0).count();
    let used: Vec<usize> = (0..factors.len())
        .filter(|&i| distinct(i) >= 2 && distinct(i) < n)
        .collect();

    let total: f64 = y.iter().sum();
    let correction = total * total / nf;
    // Σ_l n_l² / n: the correction's coefficient of σ²_k.
    let sum_sq_over_n = |k: usize| counts[k].iter().map(|c| c * c).sum::<f64>() / nf;

    // Every distinct combination of the used factors' levels with its number of ratings: the
    // joint counts of any two factors follow from these, without a pass over the ratings per
    // pair of factors.
    let mut combination = vec![0usize; n];
    let mut combinations = 1usize;
    for &i in &used {
        let slots = combinations.checked_mul(levels[i]);
        combination = first_appearance_ids(
            combination
                .iter()
                .zip(&factors[i])
                .map(|(&c, &a)| c * levels[i] + a),
            slots,
        );
        combinations = combination.iter().copied().max().map_or(0, |m| m + 1);
    }
    let mut combination_counts = vec![0.0; combinations];
    let mut combination_levels = vec![Vec::new(); combinations];
    for (r, &c) in combination.iter().enumerate() {
        if combination_counts[c] == 0.0 {
            combination_levels[c] = used.iter().map(|&i| factors[i][r]).collect();
        }
        combination_counts[c] += 1.0;
    }

    let size = used.len() + 1;
    let mut c = DMatrix::<f64>::zeros(size, size);
    let mut q = DVector::<f64>::zeros(size);
    for (row, &i) in used.iter().enumerate() {
        let mut sums = vec![0.0; levels[i]];
        factors[i].iter().zip(y).for_each(|(&a, v)| sums[a] += v);
        q[row] = sums
            .iter()
            .zip(&counts[i])
            .filter(|(_, n)| **n > 0.0)
            .map(|(s, n)| s * s / n)
            .sum::<f64>()
            - correction;
        for (col, &k) in used.iter().enumerate() {
            // tr(H_i Z_k Z_kᵀ) = Σ_a (1/n_a) Σ_l n_{a,l}². The joint counts come from the
            // combinations' counts (whole numbers, so the sums are exact in any order), the
            // trace is summed in key order as before.
            let mut joint: BTreeMap<(usize, usize), f64> = BTreeMap::new();
            for (c, &weight) in combination_counts.iter().enumerate() {
                *joint
                    .entry((combination_levels[c][row], combination_levels[c][col]))
                    .or_default() += weight;
            }
            let trace: f64 = joint.iter().map(|(&(a, _), m)| m * m / counts[i][a]).sum();
            c[(row, col)] = trace - sum_sq_over_n(k);
        }
        c[(row, size - 1)] = distinct(i) as f64 - 1.0;
    }
    let last = size - 1;
    q[last] = y.iter().map(|v| v * v).sum::<f64>() - correction;
    for (col, &k) in used.iter().enumerate() {
        c[(last, col)] = nf - sum_sq_over_n(k);
    }
    c[(last, last)] = nf - 1.0;

    let solution = c.clone().lu().solve(&q)?;
    // A numerically singular system (two facets with the same partition) gives a solution
    // that does not reproduce the equations.
    let check = (&c * &solution - &q).norm();
    if !solution.iter().all(|v| v.is_finite()) || check > 1e-8 * (1.0 + q.norm()) {
        return None;
    }
    let mut out = vec![None; factors.len() + 1];
    for (row, &i) in used.iter().enumerate() {
        out[i] = Some(solution[row]);
    }
    out[factors.len()] = Some(solution[last]);
    Some(out)
}

/// Raw (untruncated) Method I estimates of the seven components, in [`Facet::ALL`] order.
pub fn estimate(ratings: &[Rating]) -> Option<Vec<Option<f64>>> {
    let y: Vec<f64> = ratings.iter().map(|r| r.y).collect();
    let factors: Vec<Vec<usize>> = Facet::ALL
        .iter()
        .filter_map(|f| {
            let keys: Vec<_> = ratings.iter().map(|r| f.key(r)).collect::<Option<_>>()?;
            // Keys packed into one number (mixed radix), numbered in order of first appearance.
            let radix = |part: fn(&(usize, usize, usize)) -> usize| {
                keys.iter().map(part).max().map_or(1, |m| m + 1)
            };
            let (r1, r2) = (radix(|k| k.1), radix(|k| k.2));
            let slots = radix(|k| k.0)
                .checked_mul(r1)
                .and_then(|s| s.checked_mul(r2));
            Some(match slots {
                Some(slots) => first_appearance_ids(
                    keys.iter().map(|k| (k.0 * r1 + k.1) * r2 + k.2),
                    Some(slots),
                ),
                None => {
                    let mut index: HashMap<(usize, usize, usize), usize> = HashMap::new();
                    keys.iter()
                        .map(|k| {
                            let next = index.len();
                            *index.entry(*k).or_insert(next)
                        })
                        .collect()
                }
            })
        })
        .collect();
    method_one(&y, &factors)
}

/// Reliability of the mean of `raters_per_item` ratings of a transcript: transcript variance
/// (everything a transcript carries whoever rates it) over itself plus the error of the
/// raters' mean. Raters differ between transcripts, so rater leniency is part of that error
/// (the G coefficient of a design with raters nested in transcripts).
pub fn g_coefficient(components: &[f64], raters_per_item: f64) -> Option<f64> {
    let at = |f: Facet| components[Facet::ALL.iter().position(|&x| x == f).unwrap_or(0)];
    let item = at(Facet::Model)
        + at(Facet::Scaffold)
        + at(Facet::ModelxScaffold)
        + at(Facet::Prompt)
        + at(Facet::Transcript);
    let error = (at(Facet::Rater) + at(Facet::Residual)) / raters_per_item;
    (raters_per_item > 0.0 && item + error > 0.0).then(|| item / (item + error))
}

/// One component: the truncated estimate, whether truncation happened and its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentEstimate {
    pub facet: Facet,
    /// `max(raw, 0)`; `None` when the design cannot separate the facet.
    pub variance: Option<f64>,
    pub raw: Option<f64>,
    pub truncated: bool,
    pub ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Components {
    pub components: Vec<ComponentEstimate>,
    /// Harmonic mean of ratings per transcript.
    pub raters_per_item: f64,
    pub g: Option<f64>,
    pub g_ci: Option<(f64, f64)>,
    pub replicates: usize,
    pub n_obs: usize,
}

impl Components {
    pub fn get(&self, facet: Facet) -> Option<&ComponentEstimate> {
        self.components.iter().find(|c| c.facet == facet)
    }
}

/// Percentile interval (type 7 quantiles) of the finite values, at least 20 of them.
fn percentile_interval(mut values: Vec<f64>, level: f64) -> Option<(f64, f64)> {
    values.retain(|v| v.is_finite());
    if values.len() < 20 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let quantile = |p: f64| {
        let h = (values.len() - 1) as f64 * p;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        values[lo] + (h - lo as f64) * (values[hi] - values[lo])
    };
    let tail = (1.0 - level) / 2.0;
    Some((quantile(tail), quantile(1.0 - tail)))
}

fn truncated(raw: &[Option<f64>]) -> Vec<f64> {
    raw.iter().map(|v| v.unwrap_or(0.0).max(0.0)).collect()
}

/// Estimates, G coefficient and 95% cluster-bootstrap intervals over prompts (`replicates`
/// draws from `seed`). `None` when the point estimates are not defined.
pub fn components(ratings: &[Rating], replicates: usize, seed: u64) -> Option<Components> {
    // A canonical order, so the input's order cannot change even the last bit of a sum.
    let mut sorted = ratings.to_vec();
    sorted.sort_by(|a, b| {
        (a.model, a.scaffold, a.prompt, a.rater)
            .cmp(&(b.model, b.scaffold, b.prompt, b.rater))
            .then(a.y.total_cmp(&b.y))
    });
    let ratings = &sorted[..];
    let raw = estimate(ratings)?;
    let point = truncated(&raw);
    let mut per_item: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
    for r in ratings {
        *per_item.entry((r.model, r.scaffold, r.prompt)).or_default() += 1;
    }
    let raters_per_item =
        per_item.len() as f64 / per_item.values().map(|&c| 1.0 / c as f64).sum::<f64>();
    let transcript_separable = raw[5].is_some();
    let g = if transcript_separable {
        g_coefficient(&point, raters_per_item)
    } else {
        None
    };

    let mut by_prompt: HashMap<usize, Vec<Rating>> = HashMap::new();
    for r in ratings {
        by_prompt.entry(r.prompt).or_default().push(*r);
    }
    let mut prompts: Vec<usize> = by_prompt.keys().copied().collect();
    prompts.sort_unstable();
    // Replicates in parallel, collected in replicate order (each has its own stream).
    let draws: Vec<Option<Vec<Option<f64>>>> = (0..replicates)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            let sample: Vec<Rating> = (0..prompts.len())
                .flat_map(|slot| {
                    let p = prompts[rng.random_range(0..prompts.len())];
                    by_prompt[&p]
                        .iter()
                        .map(move |r| Rating { prompt: slot, ..*r })
                })
                .collect();
            estimate(&sample)
        })
        .collect();
    let interval = |pick: &dyn Fn(&[Option<f64>]) -> Option<f64>| {
        percentile_interval(
            draws.iter().flatten().filter_map(|d| pick(d)).collect(),
            0.95,
        )
    };
    let components = Facet::ALL
        .iter()
        .enumerate()
        .map(|(k, &facet)| ComponentEstimate {
            facet,
            variance: raw[k].map(|v| v.max(0.0)),
            raw: raw[k],
            truncated: raw[k].is_some_and(|v| v < 0.0),
            ci: raw[k].and(interval(&|d| d[k].map(|v| v.max(0.0)))),
        })
        .collect();
    let g_ci = g.and(interval(&|d| {
        d[5].and_then(|_| g_coefficient(&truncated(d), raters_per_item))
    }));
    Some(Components {
        components,
        raters_per_item,
        g,
        g_ci,
        replicates,
        n_obs: ratings.len(),
    })
}

/// The report's comparison: the model × scaffold component's interval lies wholly above the
/// model component's (lower bound above upper bound, and above 0).
pub fn exceeds(c: &Components) -> bool {
    let ci = |f| c.get(f).and_then(|e| e.ci);
    match (ci(Facet::ModelxScaffold), ci(Facet::Model)) {
        (Some((lo, _)), Some((_, hi))) => lo > hi && lo > 0.0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/golden/r/variance_components.R: 2 models × 3 scaffolds × 5 prompts × 3 raters,
    /// rater fastest, then prompt, scaffold, model.
    const BALANCED: [f64; 90] = [
        1.8, 1.7, 1.3, 2.8, 3.7, 2.5, 1.3, 1.5, 1.5, 3.4, 2.8, 2.4, 1.4, 1.4, 0.4, 3.5, 3.7, 3.5,
        4.6, 4.0, 4.4, 2.6, 2.5, 2.1, 4.4, 4.7, 3.8, 4.3, 4.7, 3.1, 5.7, 4.7, 5.3, 4.4, 4.1, 3.5,
        3.2, 3.3, 3.2, 6.6, 6.4, 5.5, 4.2, 6.0, 4.5, 4.3, 5.2, 3.7, 5.1, 4.0, 2.7, 2.9, 2.9, 1.8,
        6.6, 6.4, 5.1, 3.8, 4.2, 1.8, 3.4, 2.8, 3.0, 4.7, 4.9, 4.3, 4.1, 3.0, 2.9, 7.5, 6.9, 6.4,
        3.9, 3.6, 3.4, 4.3, 5.1, 5.0, 6.7, 6.2, 5.0, 2.6, 3.5, 4.1, 7.3, 8.8, 6.7, 6.1, 5.6, 4.6,
    ];

    fn balanced() -> Vec<Rating> {
        let mut out = Vec::new();
        for model in 0..2 {
            for scaffold in 0..3 {
                for prompt in 0..5 {
                    for rater in 0..3 {
                        out.push(Rating {
                            model,
                            scaffold,
                            prompt,
                            rater,
                            y: BALANCED[out.len()],
                        });
                    }
                }
            }
        }
        out
    }

    fn close(actual: f64, expected: f64, what: &str) {
        assert!(
            (actual - expected).abs() < 1e-4,
            "{what}: {actual} vs R {expected}"
        );
    }

    /// lme4 1.1.31 on R 4.2.2, `lmer(y ~ 1 + (1|model) + (1|scaffold) + (1|model:scaffold) +
    /// (1|prompt) + (1|rater) + (1|model:scaffold:prompt), REML = TRUE)`, tight bobyqa.
    #[test]
    fn balanced_components_match_lme4_reml() {
        let raw = estimate(&balanced()).unwrap();
        let expected = [
            0.523583702988,
            0.901873340425,
            0.220268032963,
            1.061247968062,
            0.144819840468,
            0.395339998276,
            0.284735656503,
        ];
        for ((facet, got), want) in Facet::ALL.iter().zip(&raw).zip(expected) {
            close(got.unwrap(), want, facet.name());
        }
    }

    /// The brief's five-facet model (no transcript term), same data: lme4 1.1.31
    /// `lmer(y ~ 1 + (1|model) + (1|scaffold) + (1|model:scaffold) + (1|prompt) + (1|rater))`.
    #[test]
    fn five_facet_model_matches_lme4_reml() {
        let data = balanced();
        let y: Vec<f64> = data.iter().map(|r| r.y).collect();
        let factors = vec![
            data.iter().map(|r| r.model).collect(),
            data.iter().map(|r| r.scaffold).collect(),
            data.iter().map(|r| r.model * 3 + r.scaffold).collect(),
            data.iter().map(|r| r.prompt).collect(),
            data.iter().map(|r| r.rater).collect::<Vec<_>>(),
        ];
        let raw = method_one(&y, &factors).unwrap();
        let expected = [
            0.523585002642,
            0.901874212025,
            0.279062277590,
            1.110243556710,
            0.134682996603,
            0.588843299258,
        ];
        for (i, (got, want)) in raw.iter().zip(expected).enumerate() {
            close(got.unwrap(), want, &format!("component {i}"));
        }
    }

    /// Dual coding: 3 models × 4 scaffolds × 15 prompts, each transcript rated by 2 of 4
    /// raters.
    fn dual_coded(seed: u64, interaction: f64) -> Vec<Rating> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = move || {
            let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let ms: Vec<f64> = (0..12).map(|_| interaction * normal()).collect();
        let mut out = Vec::new();
        for model in 0..3 {
            for scaffold in 0..4 {
                for prompt in 0..15 {
                    let first = (model + scaffold + prompt) % 4;
                    for rater in [first, (first + 1 + prompt % 3) % 4] {
                        let y = ms[model * 4 + scaffold] + normal();
                        out.push(Rating {
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
        out
    }

    /// Estimates do not depend on the order of the ratings or of the labels, and replicates
    /// are reproducible from the seed.
    #[test]
    fn unbalanced_estimates_are_order_free_and_reproducible() {
        let data = dual_coded(7, 1.0);
        let a = components(&data, 200, 42).unwrap();
        let mut reversed = data.clone();
        reversed.reverse();
        for r in &mut reversed {
            r.prompt = 100 - r.prompt;
            r.model = 9 - r.model;
        }
        let b = components(&reversed, 200, 42).unwrap();
        for (x, y) in a.components.iter().zip(&b.components) {
            let (x, y) = (x.raw.unwrap(), y.raw.unwrap());
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
        assert_eq!(a, components(&data, 200, 42).unwrap());
        assert!((a.raters_per_item - 2.0).abs() < 1e-12);
        let mxs = a.get(Facet::ModelxScaffold).unwrap();
        let (lo, hi) = mxs.ci.unwrap();
        assert!(lo <= mxs.variance.unwrap() && mxs.variance.unwrap() <= hi);
        assert!(a.g.is_some() && a.g_ci.is_some());
    }

    /// Method I is unbiased on unbalanced data: averaged over many dual-coded data sets with
    /// only an interaction (variance 1) and noise (variance 1), the estimates centre on the
    /// truth.
    #[test]
    fn unbalanced_estimates_are_unbiased() {
        let mut sums = [0.0; 7];
        let sets = 300;
        for seed in 0..sets {
            let raw = estimate(&dual_coded(seed, 1.0)).unwrap();
            for (s, v) in sums.iter_mut().zip(&raw) {
                *s += v.unwrap() / sets as f64;
            }
        }
        assert!((sums[2] - 1.0).abs() < 0.15, "interaction {}", sums[2]);
        assert!((sums[6] - 1.0).abs() < 0.05, "residual {}", sums[6]);
        for k in [0, 1, 3, 4, 5] {
            assert!(sums[k].abs() < 0.12, "component {k}: {}", sums[k]);
        }
    }

    #[test]
    fn degenerate_designs_are_undefined_not_wrong() {
        assert_eq!(estimate(&[]), None);
        let r = |rater, y| Rating {
            model: 0,
            scaffold: 0,
            prompt: 0,
            rater,
            y,
        };
        assert_eq!(estimate(&[r(0, 1.0), r(1, f64::NAN)]), None);
        // One model, one scaffold, one prompt: only raters and the residual are separable.
        let raw = estimate(&[r(0, 1.0), r(0, 2.0), r(1, 4.0), r(1, 5.0)]).unwrap();
        assert_eq!(raw[0], None);
        assert_eq!(raw[5], None);
        assert!(raw[4].unwrap() > 0.0);
        // A single rating per transcript: no G coefficient.
        let single: Vec<Rating> = dual_coded(3, 0.0)
            .into_iter()
            .filter(|x| (x.model + x.scaffold + x.prompt) % 4 == x.rater)
            .collect();
        let c = components(&single, 50, 1).unwrap();
        assert_eq!(c.g, None);
        assert_eq!(c.get(Facet::Transcript).unwrap().variance, None);
    }

    /// How often pure noise yields an interaction interval wholly above the model's interval
    /// (the report's comparison sentence), at the study's size. Seeds 0..200, 200 replicates.
    /// Observed: see docs/statistics.md.
    #[test]
    #[ignore = "simulation; run with --ignored --nocapture"]
    fn comparison_sentence_on_pure_noise() {
        let sets: u64 = 200;
        let fired = (0..sets)
            .filter(|&seed| {
                let c = components(&dual_coded(1000 + seed, 0.0), 200, seed).unwrap();
                exceeds(&c)
            })
            .count();
        println!("comparison sentence fired in {fired}/{sets} pure-noise data sets");
        assert!(fired as u64 * 20 <= sets);
    }

    /// The estimator as first written (a pass over the ratings per pair of factors, hash-map
    /// level ids): the faster one must give the same bits.
    fn reference_estimate(ratings: &[Rating]) -> Option<Vec<Option<f64>>> {
        let y: Vec<f64> = ratings.iter().map(|r| r.y).collect();
        let factors: Vec<Vec<usize>> = Facet::ALL
            .iter()
            .filter_map(|f| {
                let keys: Vec<_> = ratings.iter().map(|r| f.key(r)).collect::<Option<_>>()?;
                let mut index: HashMap<(usize, usize, usize), usize> = HashMap::new();
                Some(
                    keys.iter()
                        .map(|k| {
                            let next = index.len();
                            *index.entry(*k).or_insert(next)
                        })
                        .collect(),
                )
            })
            .collect();
        let n = y.len();
        if n < 2 || y.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let nf = n as f64;
        let levels: Vec<usize> = factors
            .iter()
            .map(|f| f.iter().copied().max().map_or(0, |m| m + 1))
            .collect();
        let counts: Vec<Vec<f64>> = factors
            .iter()
            .zip(&levels)
            .map(|(f, &l)| {
                let mut c = vec![0.0; l];
                f.iter().for_each(|&a| c[a] += 1.0);
                c
            })
            .collect();
        let distinct = |i: usize| counts[i].iter().filter(|&&c| c > 0.0).count();
        let used: Vec<usize> = (0..factors.len())
            .filter(|&i| distinct(i) >= 2 && distinct(i) < n)
            .collect();
        let total: f64 = y.iter().sum();
        let correction = total * total / nf;
        let sum_sq_over_n = |k: usize| counts[k].iter().map(|c| c * c).sum::<f64>() / nf;
        let size = used.len() + 1;
        let mut c = DMatrix::<f64>::zeros(size, size);
        let mut q = DVector::<f64>::zeros(size);
        for (row, &i) in used.iter().enumerate() {
            let mut sums = vec![0.0; levels[i]];
            factors[i].iter().zip(&y).for_each(|(&a, v)| sums[a] += v);
            q[row] = sums
                .iter()
                .zip(&counts[i])
                .filter(|(_, n)| **n > 0.0)
                .map(|(s, n)| s * s / n)
                .sum::<f64>()
                - correction;
            for (col, &k) in used.iter().enumerate() {
                let mut joint: BTreeMap<(usize, usize), f64> = BTreeMap::new();
                factors[i]
                    .iter()
                    .zip(&factors[k])
                    .for_each(|(&a, &l)| *joint.entry((a, l)).or_default() += 1.0);
                let trace: f64 = joint.iter().map(|(&(a, _), m)| m * m / counts[i][a]).sum();
                c[(row, col)] = trace - sum_sq_over_n(k);
            }
            c[(row, size - 1)] = distinct(i) as f64 - 1.0;
        }
        let last = size - 1;
        q[last] = y.iter().map(|v| v * v).sum::<f64>() - correction;
        for (col, &k) in used.iter().enumerate() {
            c[(last, col)] = nf - sum_sq_over_n(k);
        }
        c[(last, last)] = nf - 1.0;
        let solution = c.clone().lu().solve(&q)?;
        let check = (&c * &solution - &q).norm();
        if !solution.iter().all(|v| v.is_finite()) || check > 1e-8 * (1.0 + q.norm()) {
            return None;
        }
        let mut out = vec![None; factors.len() + 1];
        for (row, &i) in used.iter().enumerate() {
            out[i] = Some(solution[row]);
        }
        out[factors.len()] = Some(solution[last]);
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn estimate_gives_the_bits_of_the_reference(
            ratings in proptest::collection::vec(
                (0..3usize, 0..3usize, 0..6usize, 0..5usize, -20i32..20),
                2..120,
            )
        ) {
            let ratings: Vec<Rating> = ratings
                .into_iter()
                .map(|(model, scaffold, prompt, rater, y)| Rating {
                    // Odd sevenths: sums that depend on their order.
                    // Large model ids: their keys take the hash-map path.
                    model: model * 10_000_000,
                    scaffold,
                    prompt,
                    rater,
                    y: f64::from(y) / 7.0,
                })
                .collect();
            let bits = |e: Option<Vec<Option<f64>>>| {
                e.map(|v| v.into_iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>())
            };
            proptest::prop_assert_eq!(bits(estimate(&ratings)), bits(reference_estimate(&ratings)));
        }
    }
}
