//! Inter-rater agreement statistics.
//!
//! Blinded human ratings are only worth quoting once we know how far the raters agree beyond
//! chance, so every rubric dimension (and any coding sheet given to `blindfold agree`) is reported
//! with percent agreement, Cohen's kappa (plain and weighted) for rater pairs, Fleiss' kappa where
//! its design holds, and Krippendorff's alpha, which copes with the missing cells of a dual-coding
//! design. Undefined statistics are `None`, never NaN or a made-up value.
//!
//! Reliability data are units x coders (`&[Vec<Option<f64>>]`, `None` = not rated) plus the scale's
//! declared categories in order. [`CodedUnits`] validates and maps the data to category indices
//! once; its `*_of` methods then take any selection of unit indices (e.g. a bootstrap resample)
//! without copying the data.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Level of measurement; chooses Krippendorff's difference function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Nominal,
    Ordinal,
    Interval,
    Ratio,
}

/// Agreement weights for weighted kappa over the **values** `v_i, v_j` of the declared categories
/// (their `--level interval` spacing): linear `1 - |v_i - v_j|/R`, quadratic
/// `1 - (v_i - v_j)^2/R^2`, with `R` the range of the declared values. For equally spaced
/// categories (0, 1, 2 or labels coded by position) these are Cohen's (1968) weights over
/// positions, `1 - |i-j|/(k-1)` and `1 - (i-j)^2/(k-1)^2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KappaWeights {
    Linear,
    Quadratic,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum AgreementError {
    #[error("no categories declared")]
    NoCategories,
    #[error("declared category {value} is not a finite number")]
    NonFiniteCategory { value: f64 },
    #[error("category {value} is declared more than once")]
    DuplicateCategory { value: f64 },
    /// For pair input (`cohen_kappa`, `weighted_kappa`) `unit` is the pair's index and `coder` is
    /// 0 or 1.
    #[error("unit {unit}, coder {coder}: value {value} is not a declared category")]
    UnknownValue {
        unit: usize,
        coder: usize,
        value: f64,
    },
    #[error("unit {unit}, coder {coder}: value {value} is not a finite number")]
    NonFiniteValue {
        unit: usize,
        coder: usize,
        value: f64,
    },
    #[error("unit {unit} has {found} coder columns, expected {expected} like the first unit")]
    RaggedUnits {
        unit: usize,
        found: usize,
        expected: usize,
    },
    #[error("the ratio metric needs non-negative values, but category {value} is negative")]
    NegativeRatioCategory { value: f64 },
    #[error("subject {subject} has {found} category counts, expected {expected}")]
    RaggedCounts {
        subject: usize,
        found: usize,
        expected: usize,
    },
    #[error(
        "subject {subject} has {found} ratings, expected {expected}: Fleiss' kappa needs the same number of ratings for every subject"
    )]
    UnequalRaters {
        subject: usize,
        found: u64,
        expected: u64,
    },
    #[error("Fleiss' kappa needs at least 2 ratings per subject, found {found}")]
    TooFewRaters { found: u64 },
}

/// Cohen's kappa (plain or weighted) with its ingredients. `p_o` and `p_e` are the (weighted)
/// observed and chance agreement proportions; `kappa` is `None` when `p_e == 1` (both raters used
/// one and the same category throughout), where kappa is 0/0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kappa {
    pub kappa: Option<f64>,
    pub p_o: f64,
    pub p_e: f64,
    /// Number of units both raters rated.
    pub n: usize,
}

/// Kappas of one pair of coders over the units both rated (coder indices are columns).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairKappa {
    pub coder_a: usize,
    pub coder_b: usize,
    pub n: usize,
    pub cohen: Option<f64>,
    pub linear: Option<f64>,
    pub quadratic: Option<f64>,
}

/// Fleiss' kappa with the intermediate values of Fleiss (1971).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleiss {
    /// `None` when `p_e_bar == 1` (every rating in one category).
    pub kappa: Option<f64>,
    /// Per-subject agreement P_i.
    pub p_i: Vec<f64>,
    pub p_bar: f64,
    pub p_e_bar: f64,
    /// Share of all ratings in category j.
    pub p_j: Vec<f64>,
    pub n_subjects: usize,
    pub raters_per_subject: u64,
}

/// Krippendorff's alpha with its disagreements, for reports that show the working.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KrippendorffAlpha {
    pub alpha: f64,
    /// D_o = sum_ck o_ck delta_ck / n
    pub observed_disagreement: f64,
    /// D_e = sum_ck n_c n_k delta_ck / (n (n - 1))
    pub expected_disagreement: f64,
    /// n: values in units with at least two values.
    pub n_pairable_values: usize,
    pub n_pairable_units: usize,
}

/// Everything `blindfold` reports about one variable. Weighted kappas need ordered categories, so
/// they are `None` (also in `pairwise`) when the level is nominal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementSummary {
    pub level: Level,
    /// Units with at least one value.
    pub n_units: usize,
    /// Units with at least two values (the ones any agreement statistic can use).
    pub n_pairable_units: usize,
    pub n_values: usize,
    /// Coders with at least one value.
    pub n_coders: usize,
    pub percent_agreement: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    /// Only when exactly two coders have values.
    pub cohen_kappa: Option<Kappa>,
    pub weighted_kappa_linear: Option<Kappa>,
    pub weighted_kappa_quadratic: Option<Kappa>,
    /// Only when every unit with a rating has the same number (>= 2) of ratings.
    pub fleiss_kappa: Option<f64>,
    /// Every coder pair with at least one shared unit.
    pub pairwise: Vec<PairKappa>,
}

/// Reliability data validated against the declared categories and stored as category indices.
///
/// Build it once; the `*_of` methods accept any selection of unit indices (repeats allowed, as in a
/// bootstrap resample) and cost O(selected units x coders + k^2) with a handful of k- or k^2-sized
/// buffers. They panic if a selected index is `>= n_units()`, like slice indexing.
#[derive(Debug, Clone)]
pub struct CodedUnits {
    categories: Vec<f64>,
    n_units: usize,
    n_coders: usize,
    /// Row-major units x coders.
    cells: Vec<Option<usize>>,
}

/// How a kappa penalises a pair of category positions: 0 for agreement, larger for worse.
#[derive(Debug, Clone, Copy)]
enum Disagreement {
    Nominal,
    Linear,
    Quadratic,
}

impl Disagreement {
    /// Between the categories at positions `i` and `j` of `values`.
    fn between(self, values: &[f64], i: usize, j: usize) -> f64 {
        let gap = (values[i] - values[j]).abs();
        match self {
            Disagreement::Nominal => f64::from(u8::from(i != j)),
            Disagreement::Linear => gap,
            Disagreement::Quadratic => gap * gap,
        }
    }
}

impl From<KappaWeights> for Disagreement {
    fn from(weights: KappaWeights) -> Self {
        match weights {
            KappaWeights::Linear => Disagreement::Linear,
            KappaWeights::Quadratic => Disagreement::Quadratic,
        }
    }
}

/// Per-unit category counts, reset in O(values) so one buffer serves every unit.
struct Tally {
    counts: Vec<usize>,
    present: Vec<usize>,
}

impl Tally {
    fn new(k: usize) -> Self {
        Tally {
            counts: vec![0; k],
            present: Vec::with_capacity(k),
        }
    }

    /// Counts the unit's values and returns how many there are.
    fn load(&mut self, row: &[Option<usize>]) -> usize {
        for &c in &self.present {
            self.counts[c] = 0;
        }
        self.present.clear();
        let mut m = 0;
        for &c in row.iter().flatten() {
            if self.counts[c] == 0 {
                self.present.push(c);
            }
            self.counts[c] += 1;
            m += 1;
        }
        m
    }

    fn present_counts(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.present.iter().map(|&c| (c, self.counts[c]))
    }
}

fn validate_categories(categories: &[f64]) -> Result<(), AgreementError> {
    if categories.is_empty() {
        return Err(AgreementError::NoCategories);
    }
    for (i, &value) in categories.iter().enumerate() {
        if !value.is_finite() {
            return Err(AgreementError::NonFiniteCategory { value });
        }
        if categories[..i].contains(&value) {
            return Err(AgreementError::DuplicateCategory { value });
        }
    }
    Ok(())
}

/// Position of `value` among the categories; exact comparison, as codes are parsed, not computed.
fn category_index(categories: &[f64], value: f64) -> Option<usize> {
    categories.iter().position(|&c| c == value)
}

fn code_value(
    categories: &[f64],
    unit: usize,
    coder: usize,
    value: f64,
) -> Result<usize, AgreementError> {
    category_index(categories, value).ok_or(AgreementError::UnknownValue { unit, coder, value })
}

impl CodedUnits {
    /// Validates the categories (non-empty, finite, distinct) and every value (a declared
    /// category); all units must have the same number of coder columns.
    pub fn new(units: &[Vec<Option<f64>>], categories: &[f64]) -> Result<Self, AgreementError> {
        validate_categories(categories)?;
        let n_coders = units.first().map_or(0, Vec::len);
        let mut cells = Vec::with_capacity(units.len() * n_coders);
        for (unit, row) in units.iter().enumerate() {
            if row.len() != n_coders {
                return Err(AgreementError::RaggedUnits {
                    unit,
                    found: row.len(),
                    expected: n_coders,
                });
            }
            for (coder, value) in row.iter().enumerate() {
                let coded = match *value {
                    None => None,
                    Some(value) => Some(code_value(categories, unit, coder, value)?),
                };
                cells.push(coded);
            }
        }
        Ok(CodedUnits {
            categories: categories.to_vec(),
            n_units: units.len(),
            n_coders,
            cells,
        })
    }

    pub fn n_units(&self) -> usize {
        self.n_units
    }

    pub fn n_coders(&self) -> usize {
        self.n_coders
    }

    pub fn categories(&self) -> &[f64] {
        &self.categories
    }

    fn all(&self) -> std::ops::Range<usize> {
        0..self.n_units
    }

    fn row(&self, unit: usize) -> &[Option<usize>] {
        &self.cells[unit * self.n_coders..(unit + 1) * self.n_coders]
    }

    pub fn percent_agreement(&self) -> Option<f64> {
        self.percent_agreement_of(self.all())
    }

    /// Mean over units with >= 2 values of the share of agreeing pairs among the unit's value
    /// pairs; for two coders this is the share of units on which they agree.
    pub fn percent_agreement_of<S: IntoIterator<Item = usize>>(&self, selection: S) -> Option<f64> {
        let mut tally = Tally::new(self.categories.len());
        let mut sum = 0.0;
        let mut units = 0usize;
        for unit in selection {
            let m = tally.load(self.row(unit));
            if m < 2 {
                continue;
            }
            let agreeing: usize = tally.present_counts().map(|(_, n)| n * (n - 1)).sum();
            sum += agreeing as f64 / (m * (m - 1)) as f64;
            units += 1;
        }
        (units > 0).then(|| sum / units as f64)
    }

    pub fn krippendorff_alpha(&self, level: Level) -> Result<Option<f64>, AgreementError> {
        self.krippendorff_alpha_of(self.all(), level)
    }

    pub fn krippendorff_alpha_of<S: IntoIterator<Item = usize>>(
        &self,
        selection: S,
        level: Level,
    ) -> Result<Option<f64>, AgreementError> {
        Ok(self
            .krippendorff_alpha_detail_of(selection, level)?
            .map(|detail| detail.alpha))
    }

    pub fn krippendorff_alpha_detail(
        &self,
        level: Level,
    ) -> Result<Option<KrippendorffAlpha>, AgreementError> {
        self.krippendorff_alpha_detail_of(self.all(), level)
    }

    /// Krippendorff's alpha by the coincidence matrix (Krippendorff 2011, "Computing
    /// Krippendorff's Alpha-Reliability"): units with fewer than two values are unpairable and
    /// dropped; `None` when fewer than two pairable values or only one distinct pairable value
    /// remain (D_e = 0). A single pairable unit gives exactly 0 whenever it is defined (its
    /// observed and expected coincidences coincide). Ordinal differences use the declared order
    /// and the pairable marginal frequencies; interval and ratio use the category values.
    pub fn krippendorff_alpha_detail_of<S: IntoIterator<Item = usize>>(
        &self,
        selection: S,
        level: Level,
    ) -> Result<Option<KrippendorffAlpha>, AgreementError> {
        self.check_level(level)?;
        let k = self.categories.len();
        let mut tally = Tally::new(k);
        let mut coincidence = vec![0.0; k * k];
        let mut marginals = vec![0usize; k];
        let mut n_pairable_units = 0usize;
        for unit in selection {
            let m = tally.load(self.row(unit));
            if m < 2 {
                continue;
            }
            n_pairable_units += 1;
            let per_pair = 1.0 / (m - 1) as f64;
            for (c, n_c) in tally.present_counts() {
                marginals[c] += n_c;
                for (d, n_d) in tally.present_counts() {
                    let ordered_pairs = if c == d { n_c * (n_c - 1) } else { n_c * n_d };
                    coincidence[c * k + d] += ordered_pairs as f64 * per_pair;
                }
            }
        }
        Ok(self.alpha_from(&coincidence, &marginals, n_pairable_units, level))
    }

    /// Alpha from the summed coincidences, pairable marginals and pairable units.
    fn alpha_from(
        &self,
        coincidence: &[f64],
        marginals: &[usize],
        n_pairable_units: usize,
        level: Level,
    ) -> Option<KrippendorffAlpha> {
        let k = self.categories.len();
        let n: usize = marginals.iter().sum();
        let distinct = marginals.iter().filter(|&&n_c| n_c > 0).count();
        if n < 2 || distinct < 2 {
            return None;
        }
        let delta = self.difference_matrix(level, marginals);
        let observed: f64 = coincidence.iter().zip(&delta).map(|(o, d)| o * d).sum();
        let mut expected = 0.0;
        for c in 0..k {
            for d in 0..k {
                expected += (marginals[c] * marginals[d]) as f64 * delta[c * k + d];
            }
        }
        let n_f = n as f64;
        Some(KrippendorffAlpha {
            alpha: 1.0 - (n_f - 1.0) * observed / expected,
            observed_disagreement: observed / n_f,
            expected_disagreement: expected / (n_f * (n_f - 1.0)),
            n_pairable_values: n,
            n_pairable_units,
        })
    }

    fn check_level(&self, level: Level) -> Result<(), AgreementError> {
        if level == Level::Ratio
            && let Some(&value) = self.categories.iter().find(|&&c| c < 0.0)
        {
            return Err(AgreementError::NegativeRatioCategory { value });
        }
        Ok(())
    }

    /// Squared differences delta^2_ck of Krippendorff (2011), k x k row-major.
    fn difference_matrix(&self, level: Level, marginals: &[usize]) -> Vec<f64> {
        let values = &self.categories;
        let k = values.len();
        let mut delta = vec![0.0; k * k];
        // Ordinal: sum of marginals from c through k (inclusive) less half of the two ends.
        let mut cumulative = vec![0.0; k + 1];
        for (c, &n_c) in marginals.iter().enumerate() {
            cumulative[c + 1] = cumulative[c] + n_c as f64;
        }
        for c in 0..k {
            for d in 0..k {
                if c == d {
                    continue;
                }
                let (lo, hi) = (c.min(d), c.max(d));
                delta[c * k + d] = match level {
                    Level::Nominal => 1.0,
                    Level::Ordinal => {
                        let span = cumulative[hi + 1]
                            - cumulative[lo]
                            - (marginals[lo] + marginals[hi]) as f64 / 2.0;
                        span * span
                    }
                    Level::Interval => (values[c] - values[d]).powi(2),
                    Level::Ratio => {
                        let sum = values[c] + values[d];
                        // Unreachable for distinct non-negative categories; kept against 0/0.
                        if sum == 0.0 {
                            0.0
                        } else {
                            ((values[c] - values[d]) / sum).powi(2)
                        }
                    }
                };
            }
        }
        delta
    }

    /// k x k table of (coder a's category, coder b's category) over the units both rated.
    fn pair_table<S: IntoIterator<Item = usize>>(
        &self,
        coder_a: usize,
        coder_b: usize,
        selection: S,
    ) -> Vec<u64> {
        let k = self.categories.len();
        let mut table = vec![0u64; k * k];
        for unit in selection {
            let row = self.row(unit);
            if let (Some(a), Some(b)) = (row[coder_a], row[coder_b]) {
                table[a * k + b] += 1;
            }
        }
        table
    }

    /// Cohen's kappa between two coder columns over the units both rated; `None` when they share
    /// no unit. Panics if a coder index is `>= n_coders()`.
    pub fn cohen_kappa_of<S: IntoIterator<Item = usize>>(
        &self,
        coder_a: usize,
        coder_b: usize,
        selection: S,
    ) -> Option<Kappa> {
        let table = self.pair_table(coder_a, coder_b, selection);
        kappa_from_table(&table, &self.categories, Disagreement::Nominal)
    }

    /// Weighted kappa between two coder columns; see [`KappaWeights`].
    pub fn weighted_kappa_of<S: IntoIterator<Item = usize>>(
        &self,
        coder_a: usize,
        coder_b: usize,
        selection: S,
        weights: KappaWeights,
    ) -> Option<Kappa> {
        let table = self.pair_table(coder_a, coder_b, selection);
        kappa_from_table(&table, &self.categories, weights.into())
    }

    pub fn pairwise_kappas(&self) -> Vec<PairKappa> {
        self.pairwise_kappas_of(self.all())
    }

    /// Plain, linear and quadratic kappa for every coder pair with at least one shared unit.
    pub fn pairwise_kappas_of<S>(&self, selection: S) -> Vec<PairKappa>
    where
        S: IntoIterator<Item = usize> + Clone,
    {
        let mut result = Vec::new();
        for coder_a in 0..self.n_coders {
            for coder_b in coder_a + 1..self.n_coders {
                let table = self.pair_table(coder_a, coder_b, selection.clone());
                let n = table.iter().sum::<u64>() as usize;
                if n == 0 {
                    continue;
                }
                let kappa = |scheme| {
                    kappa_from_table(&table, &self.categories, scheme).and_then(|r| r.kappa)
                };
                result.push(PairKappa {
                    coder_a,
                    coder_b,
                    n,
                    cohen: kappa(Disagreement::Nominal),
                    linear: kappa(Disagreement::Linear),
                    quadratic: kappa(Disagreement::Quadratic),
                });
            }
        }
        result
    }

    pub fn fleiss_kappa(&self) -> Option<Fleiss> {
        self.fleiss_kappa_full_of(self.all())
    }

    /// Fleiss' kappa with its intermediate values; `None` unless every selected unit with a
    /// rating has the same number (>= 2) of ratings. Raters may differ from unit to unit.
    pub fn fleiss_kappa_full_of<S: IntoIterator<Item = usize>>(
        &self,
        selection: S,
    ) -> Option<Fleiss> {
        let k = self.categories.len();
        let mut tally = Tally::new(k);
        let mut counts: Vec<Vec<u32>> = Vec::new();
        let mut raters = None;
        for unit in selection {
            let m = tally.load(self.row(unit));
            if m == 0 {
                continue;
            }
            if m < 2 || *raters.get_or_insert(m) != m {
                return None;
            }
            let mut row = vec![0u32; k];
            for (c, n_c) in tally.present_counts() {
                // A unit's count cannot exceed the number of coders, which fits in memory.
                row[c] = u32::try_from(n_c).ok()?;
            }
            counts.push(row);
        }
        // The table is equal-raters with >= 2 per subject by construction, so this cannot fail.
        fleiss_kappa_from_counts(&counts).ok().flatten()
    }

    /// Fleiss' kappa alone, without building the count table (for bootstrap loops).
    pub fn fleiss_kappa_of<S: IntoIterator<Item = usize>>(&self, selection: S) -> Option<f64> {
        let k = self.categories.len();
        let mut tally = Tally::new(k);
        let mut column_totals = vec![0usize; k];
        let mut raters = None;
        let mut subjects = 0usize;
        let mut sum_p_i = 0.0;
        for unit in selection {
            let m = tally.load(self.row(unit));
            if m == 0 {
                continue;
            }
            if m < 2 || *raters.get_or_insert(m) != m {
                return None;
            }
            let squares: usize = tally.present_counts().map(|(_, n)| n * n).sum();
            sum_p_i += (squares - m) as f64 / (m * (m - 1)) as f64;
            for (c, n_c) in tally.present_counts() {
                column_totals[c] += n_c;
            }
            subjects += 1;
        }
        fleiss_from_sums(sum_p_i, &column_totals, subjects, raters?)
    }

    /// Everything in [`AgreementSummary`] over all units.
    pub fn summarize(&self, level: Level) -> Result<AgreementSummary, AgreementError> {
        let krippendorff_alpha = self.krippendorff_alpha(level)?;
        let mut n_units = 0;
        let mut n_pairable_units = 0;
        let mut n_values = 0;
        let mut coder_has_value = vec![false; self.n_coders];
        for unit in self.all() {
            let row = self.row(unit);
            let m = row.iter().flatten().count();
            n_units += usize::from(m > 0);
            n_pairable_units += usize::from(m > 1);
            n_values += m;
            for (has, cell) in coder_has_value.iter_mut().zip(row) {
                *has |= cell.is_some();
            }
        }
        let active: Vec<usize> = (0..self.n_coders).filter(|&c| coder_has_value[c]).collect();
        let ordered = level != Level::Nominal;
        let (mut cohen, mut linear, mut quadratic) = (None, None, None);
        if let [a, b] = active[..] {
            let table = self.pair_table(a, b, self.all());
            cohen = kappa_from_table(&table, &self.categories, Disagreement::Nominal);
            if ordered {
                linear = kappa_from_table(&table, &self.categories, Disagreement::Linear);
                quadratic = kappa_from_table(&table, &self.categories, Disagreement::Quadratic);
            }
        }
        let mut pairwise = self.pairwise_kappas();
        if !ordered {
            for pair in &mut pairwise {
                pair.linear = None;
                pair.quadratic = None;
            }
        }
        Ok(AgreementSummary {
            level,
            n_units,
            n_pairable_units,
            n_values,
            n_coders: active.len(),
            percent_agreement: self.percent_agreement(),
            krippendorff_alpha,
            cohen_kappa: cohen,
            weighted_kappa_linear: linear,
            weighted_kappa_quadratic: quadratic,
            fleiss_kappa: self.fleiss_kappa_of(self.all()),
            pairwise,
        })
    }
}

/// Addends that are multiples of 2^-GRID_BITS (a unit's coincidences or agreement share whenever
/// its number of values less one is a power of two, as with dual coding) sum exactly in f64, in
/// any order, while every partial sum stays below 2^(53 - GRID_BITS): then per-cluster sums added
/// cluster by cluster give the very bits of the unit-by-unit sum.
const GRID_BITS: i32 = 20;

/// Whether non-negative addends, all on the grid when `on_grid`, sum exactly over `n_clusters`
/// drawn clusters whose totals are at most `largest_cluster_total` (see [`GRID_BITS`]).
fn exact_sums(on_grid: bool, largest_cluster_total: f64, n_clusters: usize) -> bool {
    on_grid && largest_cluster_total * n_clusters as f64 * 2f64.powi(GRID_BITS) < 2f64.powi(53)
}

fn is_on_grid(x: f64) -> bool {
    let scaled = x * 2f64.powi(GRID_BITS);
    x >= 0.0 && scaled.fract() == 0.0 && scaled < 2f64.powi(53)
}

/// What Fleiss' kappa needs to know about the number of ratings of a cluster's units.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Raters {
    /// No unit of the cluster has a rating.
    Unrated,
    /// Every rated unit has this many (>= 2) ratings.
    Each(usize),
    /// A unit has one rating, or two units differ: Fleiss' kappa is undefined on any selection
    /// holding the cluster.
    Unequal,
}

/// Per-cluster sums of [`CodedUnits`] for a cluster bootstrap: the `*_of` methods take the drawn
/// cluster indices (repeats allowed) and cost O(drawn clusters x k^2), not O(units x coders),
/// with results bit for bit those of the unit-level methods on the drawn clusters' units,
/// concatenated. Where a float sum could depend on its order (a unit with, say, 4 values
/// contributes thirds), a statistic falls back to the unit-level method.
#[derive(Debug, Clone)]
pub struct ClusterSums<'a> {
    coded: &'a CodedUnits,
    clusters: &'a [Vec<usize>],
    /// Clusters x k x k coincidences, clusters x k pairable marginals, pairable units.
    coincidence: Vec<f64>,
    marginals: Vec<usize>,
    pairable: Vec<usize>,
    coincidence_exact: bool,
    /// Per cluster: the sum of unit agreement shares and the units with >= 2 values.
    percent_sum: Vec<f64>,
    percent_exact: bool,
    /// Per cluster: Fleiss' P_i summed and the rated units (its column totals are `marginals`).
    fleiss_raters: Vec<Raters>,
    fleiss_sum: Vec<f64>,
    fleiss_subjects: Vec<usize>,
    fleiss_exact: bool,
}

impl<'a> ClusterSums<'a> {
    /// One pass over the units of `clusters` (unit indices into `coded`).
    pub fn new(coded: &'a CodedUnits, clusters: &'a [Vec<usize>]) -> Self {
        let k = coded.categories.len();
        let n = clusters.len();
        let mut sums = ClusterSums {
            coded,
            clusters,
            coincidence: vec![0.0; n * k * k],
            marginals: vec![0; n * k],
            pairable: vec![0; n],
            coincidence_exact: true,
            percent_sum: vec![0.0; n],
            percent_exact: true,
            fleiss_raters: vec![Raters::Unrated; n],
            fleiss_sum: vec![0.0; n],
            fleiss_subjects: vec![0; n],
            fleiss_exact: true,
        };
        let mut tally = Tally::new(k);
        let (mut largest_coincidence, mut largest_percent, mut largest_fleiss) = (0.0, 0.0, 0.0);
        for (g, units) in clusters.iter().enumerate() {
            let coincidence = &mut sums.coincidence[g * k * k..(g + 1) * k * k];
            let marginals = &mut sums.marginals[g * k..(g + 1) * k];
            for &unit in units {
                let m = tally.load(coded.row(unit));
                if m == 0 {
                    continue;
                }
                // Fleiss, as in `fleiss_kappa_of`.
                sums.fleiss_raters[g] = match sums.fleiss_raters[g] {
                    _ if m < 2 => Raters::Unequal,
                    Raters::Unrated => Raters::Each(m),
                    Raters::Each(r) if r == m => Raters::Each(m),
                    _ => Raters::Unequal,
                };
                if m < 2 {
                    continue;
                }
                let squares: usize = tally.present_counts().map(|(_, n)| n * n).sum();
                let p_i = (squares - m) as f64 / (m * (m - 1)) as f64;
                sums.fleiss_exact &= is_on_grid(p_i);
                sums.fleiss_sum[g] += p_i;
                sums.fleiss_subjects[g] += 1;
                // Percent agreement, as in `percent_agreement_of`.
                let agreeing: usize = tally.present_counts().map(|(_, n)| n * (n - 1)).sum();
                let share = agreeing as f64 / (m * (m - 1)) as f64;
                sums.percent_exact &= is_on_grid(share);
                sums.percent_sum[g] += share;
                // Coincidences, as in `krippendorff_alpha_detail_of`.
                sums.pairable[g] += 1;
                let per_pair = 1.0 / (m - 1) as f64;
                for (c, n_c) in tally.present_counts() {
                    marginals[c] += n_c;
                    for (d, n_d) in tally.present_counts() {
                        let ordered_pairs = if c == d { n_c * (n_c - 1) } else { n_c * n_d };
                        let addend = ordered_pairs as f64 * per_pair;
                        sums.coincidence_exact &= is_on_grid(addend);
                        coincidence[c * k + d] += addend;
                    }
                }
            }
            largest_coincidence = f64::max(largest_coincidence, coincidence.iter().sum());
            largest_percent = f64::max(largest_percent, sums.percent_sum[g]);
            largest_fleiss = f64::max(largest_fleiss, sums.fleiss_sum[g]);
        }
        sums.coincidence_exact = exact_sums(sums.coincidence_exact, largest_coincidence, n);
        sums.percent_exact = exact_sums(sums.percent_exact, largest_percent, n);
        sums.fleiss_exact = exact_sums(sums.fleiss_exact, largest_fleiss, n);
        sums
    }

    /// The drawn clusters' units, concatenated: the unit-level methods' selection.
    fn units<'s>(&'s self, drawn: &'s [usize]) -> impl Iterator<Item = usize> + 's {
        drawn.iter().flat_map(|&g| self.clusters[g].iter().copied())
    }

    /// [`CodedUnits::krippendorff_alpha_of`] on the drawn clusters' units.
    pub fn krippendorff_alpha_of(
        &self,
        drawn: &[usize],
        level: Level,
    ) -> Result<Option<f64>, AgreementError> {
        if !self.coincidence_exact {
            return self.coded.krippendorff_alpha_of(self.units(drawn), level);
        }
        self.coded.check_level(level)?;
        let k = self.coded.categories.len();
        let mut coincidence = vec![0.0; k * k];
        let mut marginals = vec![0usize; k];
        let mut pairable = 0;
        for &g in drawn {
            for (sum, x) in coincidence
                .iter_mut()
                .zip(&self.coincidence[g * k * k..(g + 1) * k * k])
            {
                *sum += x;
            }
            for (sum, x) in marginals
                .iter_mut()
                .zip(&self.marginals[g * k..(g + 1) * k])
            {
                *sum += x;
            }
            pairable += self.pairable[g];
        }
        Ok(self
            .coded
            .alpha_from(&coincidence, &marginals, pairable, level)
            .map(|detail| detail.alpha))
    }

    /// [`CodedUnits::percent_agreement_of`] on the drawn clusters' units.
    pub fn percent_agreement_of(&self, drawn: &[usize]) -> Option<f64> {
        if !self.percent_exact {
            return self.coded.percent_agreement_of(self.units(drawn));
        }
        let mut sum = 0.0;
        let mut units = 0usize;
        for &g in drawn {
            sum += self.percent_sum[g];
            units += self.pairable[g];
        }
        (units > 0).then(|| sum / units as f64)
    }

    /// [`CodedUnits::fleiss_kappa_of`] on the drawn clusters' units.
    pub fn fleiss_kappa_of(&self, drawn: &[usize]) -> Option<f64> {
        if !self.fleiss_exact {
            return self.coded.fleiss_kappa_of(self.units(drawn));
        }
        let k = self.coded.categories.len();
        let mut column_totals = vec![0usize; k];
        let mut raters = None;
        let mut subjects = 0usize;
        let mut sum_p_i = 0.0;
        for &g in drawn {
            match self.fleiss_raters[g] {
                Raters::Unrated => continue,
                Raters::Unequal => return None,
                Raters::Each(m) => {
                    if *raters.get_or_insert(m) != m {
                        return None;
                    }
                }
            }
            sum_p_i += self.fleiss_sum[g];
            for (total, x) in column_totals
                .iter_mut()
                .zip(&self.marginals[g * k..(g + 1) * k])
            {
                *total += x;
            }
            subjects += self.fleiss_subjects[g];
        }
        fleiss_from_sums(sum_p_i, &column_totals, subjects, raters?)
    }
}

/// Per-cluster (coder a, coder b) tables of [`CodedUnits`] for a cluster bootstrap of a pair's
/// kappas: whole counts, so summing the drawn clusters' tables gives exactly the table of their
/// units.
#[derive(Debug, Clone)]
pub struct ClusterPairTables<'a> {
    coded: &'a CodedUnits,
    /// Clusters x k x k.
    tables: Vec<u64>,
}

impl<'a> ClusterPairTables<'a> {
    pub fn new(
        coded: &'a CodedUnits,
        coder_a: usize,
        coder_b: usize,
        clusters: &[Vec<usize>],
    ) -> Self {
        let tables = clusters
            .iter()
            .flat_map(|units| coded.pair_table(coder_a, coder_b, units.iter().copied()))
            .collect();
        ClusterPairTables { coded, tables }
    }

    fn table_of(&self, drawn: &[usize]) -> Vec<u64> {
        let kk = self.coded.categories.len().pow(2);
        let mut table = vec![0u64; kk];
        for &g in drawn {
            for (sum, x) in table.iter_mut().zip(&self.tables[g * kk..(g + 1) * kk]) {
                *sum += x;
            }
        }
        table
    }

    /// [`CodedUnits::cohen_kappa_of`] on the drawn clusters' units.
    pub fn cohen_kappa_of(&self, drawn: &[usize]) -> Option<Kappa> {
        let table = self.table_of(drawn);
        kappa_from_table(&table, &self.coded.categories, Disagreement::Nominal)
    }

    /// [`CodedUnits::weighted_kappa_of`] on the drawn clusters' units.
    pub fn weighted_kappa_of(&self, drawn: &[usize], weights: KappaWeights) -> Option<Kappa> {
        let table = self.table_of(drawn);
        kappa_from_table(&table, &self.coded.categories, weights.into())
    }
}

/// Fleiss' kappa from its sums over subjects: Σ P_i, each category's total count, the number
/// of subjects and the raters per subject. `None` when P̄_e is 1 (one category only).
fn fleiss_from_sums(
    sum_p_i: f64,
    column_totals: &[usize],
    subjects: usize,
    m: usize,
) -> Option<f64> {
    let total = subjects * m;
    if column_totals.contains(&total) {
        return None; // P_e_bar == 1
    }
    let p_bar = sum_p_i / subjects as f64;
    let p_e_bar: f64 = column_totals
        .iter()
        .map(|&t| (t as f64 / total as f64).powi(2))
        .sum();
    Some((p_bar - p_e_bar) / (1.0 - p_e_bar))
}

/// Kappa from a k x k count table (rows = rater A, columns = rater B).
///
/// kappa = 1 - n * sum(d O) / sum(d r c) with disagreement weights d (the agreement weights'
/// normalisation cancels); undefined exactly when sum(d r c) == 0, i.e. p_e == 1. All terms are
/// non-negative, so that zero test is exact in floating point.
fn kappa_from_table(table: &[u64], values: &[f64], scheme: Disagreement) -> Option<Kappa> {
    let k = values.len();
    let n: u64 = table.iter().sum();
    if n == 0 {
        return None;
    }
    let mut rows = vec![0u64; k];
    let mut cols = vec![0u64; k];
    for i in 0..k {
        for j in 0..k {
            rows[i] += table[i * k + j];
            cols[j] += table[i * k + j];
        }
    }
    // The largest disagreement between any two declared categories (declared order need not be
    // ascending for numbers).
    let max_disagreement = (0..k)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .map(|(i, j)| scheme.between(values, i, j))
        .fold(0.0, f64::max);
    let agreement_weight = |i, j| {
        if max_disagreement == 0.0 {
            1.0
        } else {
            1.0 - scheme.between(values, i, j) / max_disagreement
        }
    };
    let (mut observed_dis, mut expected_dis) = (0.0, 0.0);
    let (mut observed_agr, mut expected_agr) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let d = scheme.between(values, i, j);
            let w = agreement_weight(i, j);
            let o = table[i * k + j] as f64;
            let e = rows[i] as f64 * cols[j] as f64;
            observed_dis += d * o;
            expected_dis += d * e;
            observed_agr += w * o;
            expected_agr += w * e;
        }
    }
    let n_f = n as f64;
    Some(Kappa {
        kappa: (expected_dis > 0.0).then(|| 1.0 - n_f * observed_dis / expected_dis),
        p_o: observed_agr / n_f,
        p_e: expected_agr / (n_f * n_f),
        n: n as usize,
    })
}

fn pair_table_from_values(
    pairs: &[(f64, f64)],
    categories: &[f64],
) -> Result<Vec<u64>, AgreementError> {
    validate_categories(categories)?;
    let k = categories.len();
    let mut table = vec![0u64; k * k];
    for (unit, &(a, b)) in pairs.iter().enumerate() {
        let i = code_value(categories, unit, 0, a)?;
        let j = code_value(categories, unit, 1, b)?;
        table[i * k + j] += 1;
    }
    Ok(table)
}

/// Percent agreement: per unit with >= 2 values, the share of agreeing pairs among its value
/// pairs, averaged over those units. `None` when no unit has two values. Values are compared
/// exactly; non-finite values are an error.
pub fn percent_agreement(units: &[Vec<Option<f64>>]) -> Result<Option<f64>, AgreementError> {
    let mut sum = 0.0;
    let mut counted = 0usize;
    for (unit, row) in units.iter().enumerate() {
        let mut values = 0usize;
        let mut agreeing_pairs = 0usize;
        for (coder, value) in row.iter().enumerate() {
            let Some(value) = *value else { continue };
            if !value.is_finite() {
                return Err(AgreementError::NonFiniteValue { unit, coder, value });
            }
            // Each value pairs with every earlier value of the unit (unordered pairs).
            agreeing_pairs += row[..coder]
                .iter()
                .flatten()
                .filter(|&&v| v == value)
                .count();
            values += 1;
        }
        if values >= 2 {
            sum += agreeing_pairs as f64 / (values * (values - 1) / 2) as f64;
            counted += 1;
        }
    }
    Ok((counted > 0).then(|| sum / counted as f64))
}

/// Cohen's (1960) kappa over (rater A, rater B) pairs; `Ok(None)` when there are no pairs.
pub fn cohen_kappa(
    pairs: &[(f64, f64)],
    categories: &[f64],
) -> Result<Option<Kappa>, AgreementError> {
    let table = pair_table_from_values(pairs, categories)?;
    Ok(kappa_from_table(&table, categories, Disagreement::Nominal))
}

/// Weighted kappa (Cohen 1968) over the declared categories' values; see [`KappaWeights`].
pub fn weighted_kappa(
    pairs: &[(f64, f64)],
    categories: &[f64],
    weights: KappaWeights,
) -> Result<Option<Kappa>, AgreementError> {
    let table = pair_table_from_values(pairs, categories)?;
    Ok(kappa_from_table(&table, categories, weights.into()))
}

/// Plain, linear and quadratic kappa for every coder pair with at least one shared unit.
pub fn pairwise_kappas(
    units: &[Vec<Option<f64>>],
    categories: &[f64],
) -> Result<Vec<PairKappa>, AgreementError> {
    Ok(CodedUnits::new(units, categories)?.pairwise_kappas())
}

/// Fleiss' (1971) kappa from a subjects x categories count table with the same number (>= 2) of
/// ratings per subject; `Ok(None)` for an empty table.
pub fn fleiss_kappa_from_counts(counts: &[Vec<u32>]) -> Result<Option<Fleiss>, AgreementError> {
    let Some(first) = counts.first() else {
        return Ok(None);
    };
    let k = first.len();
    let raters: u64 = first.iter().map(|&c| u64::from(c)).sum();
    if raters < 2 {
        return Err(AgreementError::TooFewRaters { found: raters });
    }
    let mut column_totals = vec![0u64; k];
    let mut p_i = Vec::with_capacity(counts.len());
    let m = raters as f64;
    for (subject, row) in counts.iter().enumerate() {
        if row.len() != k {
            return Err(AgreementError::RaggedCounts {
                subject,
                found: row.len(),
                expected: k,
            });
        }
        let found: u64 = row.iter().map(|&c| u64::from(c)).sum();
        if found != raters {
            return Err(AgreementError::UnequalRaters {
                subject,
                found,
                expected: raters,
            });
        }
        let squares: u64 = row.iter().map(|&c| u64::from(c) * u64::from(c)).sum();
        p_i.push((squares - raters) as f64 / (m * (m - 1.0)));
        for (total, &c) in column_totals.iter_mut().zip(row) {
            *total += u64::from(c);
        }
    }
    let subjects = counts.len();
    let total = subjects as u64 * raters;
    let p_j: Vec<f64> = column_totals
        .iter()
        .map(|&t| t as f64 / total as f64)
        .collect();
    let p_bar = p_i.iter().sum::<f64>() / subjects as f64;
    let p_e_bar: f64 = p_j.iter().map(|p| p * p).sum();
    let kappa = (!column_totals.contains(&total)).then(|| (p_bar - p_e_bar) / (1.0 - p_e_bar));
    Ok(Some(Fleiss {
        kappa,
        p_i,
        p_bar,
        p_e_bar,
        p_j,
        n_subjects: subjects,
        raters_per_subject: raters,
    }))
}

/// Fleiss' kappa of reliability data; `Ok(None)` unless every unit with a rating has the same
/// number (>= 2) of ratings.
pub fn fleiss_kappa(
    units: &[Vec<Option<f64>>],
    categories: &[f64],
) -> Result<Option<Fleiss>, AgreementError> {
    Ok(CodedUnits::new(units, categories)?.fleiss_kappa())
}

/// Krippendorff's alpha; see [`CodedUnits::krippendorff_alpha_detail_of`].
pub fn krippendorff_alpha(
    units: &[Vec<Option<f64>>],
    level: Level,
    categories: &[f64],
) -> Result<Option<f64>, AgreementError> {
    CodedUnits::new(units, categories)?.krippendorff_alpha(level)
}

pub fn summarize(
    units: &[Vec<Option<f64>>],
    level: Level,
    categories: &[f64],
) -> Result<AgreementSummary, AgreementError> {
    CodedUnits::new(units, categories)?.summarize(level)
}

/// The distinct observed values in ascending order, for coding sheets without a declared scale
/// (`blindfold agree`). Non-finite values are an error.
pub fn categories_from_units(units: &[Vec<Option<f64>>]) -> Result<Vec<f64>, AgreementError> {
    let mut values = Vec::new();
    for (unit, row) in units.iter().enumerate() {
        for (coder, value) in row.iter().enumerate() {
            let Some(value) = *value else { continue };
            if !value.is_finite() {
                return Err(AgreementError::NonFiniteValue { unit, coder, value });
            }
            values.push(value);
        }
    }
    values.sort_by(f64::total_cmp);
    // -0.0 and 0.0 are one category (they compare equal when coding).
    values.dedup_by(|a, b| a == b);
    Ok(values)
}

#[cfg(test)]
#[path = "agreement_tests.rs"]
mod tests;
