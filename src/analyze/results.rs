//! The results of a study's analysis, as data: what `report` renders (Markdown, HTML, LaTeX,
//! CSV, JSON, the terminal table) and what `efficacy.json` / `agreement.json` hold. Renderers read
//! these types only; they never recompute a statistic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A point estimate with its confidence interval; `None` wherever a value is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

impl Estimate {
    pub fn new(value: Option<f64>, ci: Option<(f64, f64)>) -> Self {
        Estimate {
            value,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
        }
    }
}

/// The verdict on one scaffold's effect for one model. No change is ever claimed from
/// non-significance alone: "equivalent" needs the interval inside the registered margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    RaisedToCeiling,
    Improved,
    Equivalent,
    Inconclusive,
    Worse,
}

impl Label {
    pub fn text(self, margin: f64) -> String {
        match self {
            Label::RaisedToCeiling => "raised to ceiling".into(),
            Label::Improved => "improved".into(),
            Label::Equivalent => format!("equivalent (within ±{})", trim_number(margin)),
            Label::Inconclusive => "inconclusive".into(),
            Label::Worse => "worse".into(),
        }
    }
}

/// `0.25`, `0.5`, `1` — margins as people write them.
pub fn trim_number(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The whole analysis of a study's ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyResults {
    pub study: String,
    pub run: String,
    pub rounds: Vec<String>,
    pub protocol_hash: String,
    /// Content hashes of scaffolds, prompts, rubric and model settings (from the run manifest).
    pub hashes: crate::plan::ProtocolHashes,
    pub models: Vec<String>,
    pub scaffolds: Vec<String>,
    pub baseline: String,
    pub primary: String,
    pub confidence: f64,
    pub resamples: u32,
    pub permutations: u32,
    pub seed: u64,
    /// Human raters (judges are listed apart).
    pub raters: Vec<String>,
    pub judges: Vec<String>,
    pub n_items: usize,
    /// Human ratings: (transcript, rater) pairs.
    pub n_ratings: usize,
    pub coverage: Coverage,
    pub dimensions: Vec<DimensionResults>,
    /// Model x scaffold profiles: every dimension side by side.
    pub profiles: Vec<Profile>,
    pub blinding: BlindingCheck,
    pub prereg: Option<PreregCheck>,
    pub headline: Headline,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Rater -> (assigned items, rated items).
    pub per_rater: BTreeMap<String, (usize, usize)>,
    /// "model / scaffold" -> (expected ratings, present ratings).
    pub per_condition: BTreeMap<String, (usize, usize)>,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionResults {
    pub id: String,
    pub question: String,
    /// "binary" or "ordinal".
    pub scale: String,
    pub min: f64,
    pub max: f64,
    pub margin: f64,
    pub agreement: Agreement,
    /// One per model x scaffold, model-major in study order.
    pub cells: Vec<CellResult>,
    /// One per model x non-baseline scaffold.
    pub effects: Vec<EffectResult>,
    pub interaction: Option<InteractionResult>,
    /// Headline labels recomputed from each single rater.
    pub sensitivity: Vec<RaterSensitivity>,
    pub variance: Option<VarianceShares>,
    pub spec_curve: Option<SpecCurveResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// "nominal" or "ordinal": the metric used for alpha.
    pub level: String,
    pub n_units: usize,
    pub percent_agreement: Estimate,
    pub krippendorff_alpha: Estimate,
    pub fleiss_kappa: Estimate,
    pub pairs: Vec<PairAgreement>,
    /// Alpha under 0.667 (or undefined): the dimension is flagged as unreliable.
    pub unreliable: bool,
    /// Each judge against the human raters.
    pub judges: Vec<JudgeAgreement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairAgreement {
    pub rater_a: String,
    pub rater_b: String,
    pub n: usize,
    pub percent_agreement: Option<f64>,
    pub cohen_kappa: Estimate,
    pub weighted_kappa_linear: Estimate,
    pub weighted_kappa_quadratic: Estimate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeAgreement {
    pub judge: String,
    /// (item, human rating) pairs the judge shares with the human raters.
    pub n: usize,
    /// Alpha between the judge and the humans: each (item, human) pair is a unit rated by two
    /// coders, the judge and that human.
    pub krippendorff_alpha: Estimate,
    /// Quadratic-weighted kappa over the same pairs.
    pub weighted_kappa_quadratic: Option<f64>,
    /// Human-human alpha on the same items, for comparison.
    pub human_alpha: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub model: String,
    pub scaffold: String,
    /// Transcripts with at least one rating.
    pub n: usize,
    /// Mean of the per-transcript scores (each the mean over its raters), with a bootstrap CI.
    pub mean: Estimate,
    /// Share of transcripts at the top level (their raters' mean within half a level of the top),
    /// with a Wilson CI.
    pub ceiling_share: Estimate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectResult {
    pub model: String,
    pub scaffold: String,
    /// Prompts with both this scaffold's and the baseline's transcripts rated.
    pub n_pairs: usize,
    /// Mean paired difference (scaffold - baseline) over prompts, with a bootstrap CI over prompts.
    pub effect: Estimate,
    /// Change in the share of transcripts at the top level (scaffold - baseline), paired by
    /// prompt and repeat, with Newcombe's interval for paired proportions.
    #[serde(default)]
    pub ceiling_change: Estimate,
    /// The (1 - 2 alpha) interval of the TOST, and its p-value against the margin.
    pub tost_ci: Estimate,
    pub tost_p: Option<f64>,
    pub label: Label,
    pub label_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionResult {
    pub statistic: f64,
    pub p_value: f64,
    /// Holm-adjusted across dimensions.
    pub p_holm: Option<f64>,
    pub permutations: usize,
    /// Whether `permutations` counts every arrangement (an exact p) rather than random draws.
    #[serde(default)]
    pub exact: bool,
    pub blocks_used: usize,
    /// Prompts left out because some model x scaffold cell had no score.
    #[serde(default)]
    pub blocks_dropped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaterSensitivity {
    pub rater: String,
    /// (model, scaffold, label text from this rater's scores alone, same as the main label?)
    pub labels: Vec<(String, String, String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceShares {
    /// Component name -> share of the total sum of squares (Type I, in the listed order).
    pub shares: Vec<(String, f64)>,
    pub n_obs: usize,
    pub sentence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecCurveResult {
    /// The effect the curve is about, e.g. "sim-alpha: verification vs baseline".
    pub target: String,
    pub specifications: Vec<SpecResult>,
    /// Share of specifications that keep the headline conclusion.
    pub share_keeping: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecResult {
    pub choices: Vec<(String, String)>,
    pub estimate: Estimate,
    pub label: Label,
    pub keeps_conclusion: bool,
    /// The models whose verdict changes direction under this specification, as
    /// "MODEL: verdict here (registered: verdict)".
    #[serde(default)]
    pub changes: Vec<String>,
    pub is_registered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub model: String,
    pub scaffold: String,
    /// Dimension id -> mean score (None when unrated).
    pub means: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BlindingCheck {
    /// Ratings whose identity question was answered at all.
    pub answered: usize,
    /// "No, I could not tell."
    pub said_no: usize,
    pub guesses: usize,
    /// Guesses that name exactly one of the study's models.
    pub resolved: usize,
    pub correct: usize,
    pub correct_rate: Estimate,
    pub chance: Option<f64>,
    /// One-sided exact binomial p-value of doing better than chance.
    pub p_value: Option<f64>,
    pub style_probe: Option<StyleProbe>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleProbe {
    pub method: String,
    pub n_items: usize,
    pub folds: usize,
    pub accuracy: Estimate,
    pub chance: f64,
    pub p_value: Option<f64>,
    /// Model -> share of its items classified correctly.
    pub per_model: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PreregCheck {
    pub source: String,
    pub document_sha256: String,
    pub deviations: Vec<String>,
}

/// The sentence-level summary the terminal and the report open with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Headline {
    pub dimension: String,
    /// The scaffold whose effect the headline reports (the first non-baseline scaffold named
    /// like the primary dimension, else the first non-baseline scaffold).
    pub scaffold: String,
    pub sentences: Vec<String>,
}
