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

/// The verdict on one scaffold's effect for one model, after the multiplicity adjustment over
/// its family. No change is ever claimed from non-significance alone: "equivalent" needs the
/// equivalence test against the registered margin, and a change that is shown but smaller than
/// the margin says both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    RaisedToCeiling,
    Improved,
    /// Shown to differ from zero and shown to lie within the margin.
    ImprovedWithinMargin,
    Equivalent,
    Inconclusive,
    WorseWithinMargin,
    Worse,
}

impl Label {
    pub fn text(self, margin: f64) -> String {
        let m = trim_number(margin);
        match self {
            Label::RaisedToCeiling => "raised to ceiling".into(),
            Label::Improved => "improved".into(),
            Label::ImprovedWithinMargin => format!("improved, by less than ±{m}"),
            Label::Equivalent => format!("equivalent (within ±{m})"),
            Label::Inconclusive => "inconclusive".into(),
            Label::WorseWithinMargin => format!("worse, by less than ±{m}"),
            Label::Worse => "worse".into(),
        }
    }

    /// The text of an optional verdict: "no verdict" where there is none (the note says why).
    pub fn text_of(label: Option<Label>, margin: f64) -> String {
        label.map_or_else(|| NO_VERDICT.to_string(), |l| l.text(margin))
    }
}

/// What the tables say where too little or degenerate data allow no verdict.
pub const NO_VERDICT: &str = "no verdict";

/// Krippendorff's (2004) reading of alpha, judged on its confidence interval: reliable when
/// the whole interval is at or above 0.800, tentative when it lies within [0.667, 0.800),
/// unreliable when it lies below 0.667, uncertain when it straddles a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reliability {
    Reliable,
    Tentative,
    Unreliable,
    Uncertain,
}

/// Krippendorff's thresholds: the lowest alpha for tentative conclusions, and for reliable ones.
pub const ALPHA_TENTATIVE: f64 = 0.667;
pub const ALPHA_RELIABLE: f64 = 0.800;

impl Reliability {
    /// `None` without an interval.
    pub fn of_interval(ci: Option<(f64, f64)>) -> Option<Reliability> {
        let (lo, hi) = ci?;
        Some(if lo >= ALPHA_RELIABLE {
            Reliability::Reliable
        } else if lo >= ALPHA_TENTATIVE && hi < ALPHA_RELIABLE {
            Reliability::Tentative
        } else if hi < ALPHA_TENTATIVE {
            Reliability::Unreliable
        } else {
            Reliability::Uncertain
        })
    }

    pub fn text(self) -> &'static str {
        match self {
            Reliability::Reliable => "reliable",
            Reliability::Tentative => "tentative",
            Reliability::Unreliable => "unreliable",
            Reliability::Uncertain => "uncertain",
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
    /// Human ratings that count: (transcript, rater) pairs, each once (see `analyze::pooling`).
    pub n_ratings: usize,
    /// Human (transcript, rater) pairs rated again in a later round: the later ratings feed only
    /// the test–retest reliability.
    #[serde(default)]
    pub n_rerated: usize,
    /// Fewest prompts (cells) or prompt pairs (effects) an interval and a verdict need.
    #[serde(default)]
    pub min_prompts: u32,
    /// The multiplicity family of the verdicts: "dimension" (each dimension's effects) or "study"
    /// (every effect of every dimension).
    #[serde(default)]
    pub family: String,
    pub coverage: Coverage,
    pub dimensions: Vec<DimensionResults>,
    /// Model x scaffold profiles: every dimension side by side.
    pub profiles: Vec<Profile>,
    pub blinding: BlindingCheck,
    pub prereg: Option<PreregCheck>,
    pub headline: Headline,
    /// Drift on anchor items, adjudication and cross-round comparisons; absent for a study
    /// blinded in one round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_analysis: Option<RoundsAnalysis>,
}

/// What a study rated over several rounds needs said: which comparisons cross rounds, how far
/// the raters drifted on the anchor items, and what adjudication changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoundsAnalysis {
    /// Effects (model, scaffold) whose scaffold and baseline ratings come from different rounds.
    pub cross_round: Vec<(String, String)>,
    /// Per dimension and later round: the mean change on the anchor items.
    pub drift: Vec<DriftResult>,
    /// Cross-round effects of the primary dimension, registered and drift-adjusted.
    pub adjusted_effects: Vec<AdjustedEffect>,
    pub adjudication: Option<AdjudicationResult>,
}

/// How a round's ratings of anchor items differ from the earlier ratings of the same transcripts
/// (later minus earlier, on the dimension's scale; intervals over prompts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftResult {
    pub dimension: String,
    pub round: String,
    /// Anchor transcripts rated in the round.
    pub n_items: usize,
    pub n_prompts: usize,
    pub mean_change: Estimate,
    /// The round's shift on the latent (logit) scale of the cumulative-link fit behind the
    /// drift-adjusted specification; null when no fit links the round to the first.
    #[serde(default)]
    pub latent_shift: Option<f64>,
    pub per_rater: Vec<RaterDrift>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaterDrift {
    pub rater: String,
    /// Anchor ratings compared with this rater's own earlier ratings (drift).
    pub n_same: usize,
    /// Anchor ratings by a rater new to the transcript, compared with the earlier raters' mean
    /// (calibration).
    pub n_new: usize,
    pub mean_change: Estimate,
    /// Share of the rater's own earlier ratings given again exactly (intra-rater agreement).
    pub same_agreement: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdjustedEffect {
    pub model: String,
    pub scaffold: String,
    pub registered: Estimate,
    pub adjusted: Estimate,
    pub label_registered: String,
    pub label_adjusted: String,
    /// Set when a side of the comparison had every rating of a drifted round at the end of the
    /// scale the raters drifted toward: how far it moved cannot be measured, and `adjusted` is
    /// only a bound on the drift-free effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<Bound>,
}

/// Which way an adjusted effect is a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The drift-free effect is at least the adjusted value.
    AtLeast,
    /// The drift-free effect is at most the adjusted value.
    AtMost,
    /// Both sides are at an end of the scale, in opposite directions: no bound either way.
    Neither,
}

/// Items settled by adjudication rounds, and how the plan's rule changed the primary effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdjudicationResult {
    pub rule: String,
    pub rounds: Vec<String>,
    pub n_items: usize,
    /// Primary-dimension effects that the rule changed: (model, scaffold, without, with,
    /// label without, label with).
    pub changes: Vec<AdjudicationChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdjudicationChange {
    pub model: String,
    pub scaffold: String,
    pub without: Option<f64>,
    pub with: Option<f64>,
    pub label_without: String,
    pub label_with: String,
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
    /// The observed-scale test: studentised sign-flip test of the interaction contrasts.
    pub interaction: Option<InteractionResult>,
    /// The latent-scale test: cumulative-link (proportional-odds) likelihood ratio.
    #[serde(default)]
    pub latent: Option<crate::analyze::clm::LatentTest>,
    /// Why there is no latent-scale test, when there is none.
    #[serde(default)]
    pub latent_note: Option<String>,
    /// The kind of interaction of every pair of models under every scaffold.
    #[serde(default)]
    pub kinds: Vec<crate::analyze::interaction::PairKind>,
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
    /// Krippendorff's reading of alpha, judged on its interval; null without one.
    #[serde(default)]
    pub reliability: Option<Reliability>,
    /// Alpha not shown to reach 0.667 (its interval reaches below, or there is none): the
    /// dimension is flagged.
    pub unreliable: bool,
    /// Each judge as an extra coder beside the human raters.
    pub judges: Vec<JudgeAgreement>,
    /// The same raters rating the same transcripts again in later rounds; null without repeats.
    #[serde(default)]
    pub test_retest: Option<TestRetest>,
}

/// Intra-rater (test–retest) reliability: each (transcript, rater) rated in more than one round
/// is a unit whose values are that rater's ratings of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRetest {
    /// (transcript, rater) units rated at least twice.
    pub n_units: usize,
    pub n_raters: usize,
    /// Share of agreeing pairs of ratings within a unit, averaged over units.
    pub percent_agreement: Option<f64>,
    /// Alpha at the dimension's level, with a bootstrap interval over prompts.
    pub krippendorff_alpha: Estimate,
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
    /// Transcripts the judge rated that also have a human rating.
    pub n: usize,
    /// Alpha over those transcripts with the judge as one more coder beside the humans, with a
    /// bootstrap interval over prompts.
    pub krippendorff_alpha: Estimate,
    /// Quadratic-weighted kappa of the judge against each human on the transcripts both rated,
    /// averaged over the humans (Light 1971).
    pub weighted_kappa_quadratic: Option<f64>,
    /// Human-only alpha on the same transcripts, for comparison.
    pub human_alpha: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub model: String,
    pub scaffold: String,
    /// Transcripts with at least one rating.
    pub n: usize,
    /// Prompts among them (the independent unit of every interval).
    #[serde(default)]
    pub n_prompts: usize,
    /// Mean over prompts of the prompt's mean score (repeats averaged; each transcript scored
    /// as the mean of its raters), with the bounded Wilson–t interval over prompts.
    pub mean: Estimate,
    /// Share at the top level (every rater gave the top level), averaged over prompts the same
    /// way, with the same interval.
    pub ceiling_share: Estimate,
    /// Why an interval is missing, when one is.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectResult {
    pub model: String,
    pub scaffold: String,
    /// Prompts with both this scaffold's and the baseline's transcripts rated.
    pub n_pairs: usize,
    /// Mean paired difference (scaffold - baseline) over prompts, with the MOVER interval.
    pub effect: Estimate,
    /// Two-sided p-value of "no effect" (the interval inverted), and adjusted over the family
    /// (Holm with Shaffer's constraint, `hypothesis::holm_shaffer`).
    #[serde(default)]
    pub p_value: Option<f64>,
    #[serde(default)]
    pub p_adjusted: Option<f64>,
    /// Change in the share at the top level (scaffold - baseline), paired by prompt, with the
    /// MOVER interval.
    #[serde(default)]
    pub ceiling_change: Estimate,
    /// The (1 - 2 alpha) interval of the TOST (90% at 95% confidence), its p-value against the
    /// margin (the larger one-sided p), and that p adjusted over the family.
    pub tost_ci: Estimate,
    pub tost_p: Option<f64>,
    #[serde(default)]
    pub tost_p_adjusted: Option<f64>,
    /// Null where too little or degenerate data allow no verdict (`note` says why).
    pub label: Option<Label>,
    pub label_text: String,
    /// The scaffold's and the baseline's ratings come from different rounds: the effect mixes in
    /// any drift of the raters between them (see `rounds_analysis`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cross_round: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionResult {
    /// The studentised statistic `T = P z̄ᵀ S⁺ z̄` of the interaction contrasts (see
    /// `analyze::interaction`).
    pub statistic: f64,
    /// Interaction contrasts with variation (the test's dimension).
    #[serde(default)]
    pub df: usize,
    pub p_value: f64,
    /// Holm-adjusted across dimensions.
    pub p_holm: Option<f64>,
    pub permutations: usize,
    /// Whether `permutations` counts every sign flip (an exact p) rather than random draws.
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
    /// Legacy Type I shares of results.json files written before the variance components;
    /// no longer produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<(String, f64)>,
    /// Variance components of the crossed design (Method I; see docs/statistics.md).
    #[serde(default)]
    pub components: Vec<VarianceComponent>,
    /// Reliability of the mean of `raters_per_item` ratings of a transcript; null when no
    /// transcript has two ratings.
    #[serde(default)]
    pub g_raters: Option<f64>,
    #[serde(default)]
    pub g_raters_ci: Option<(f64, f64)>,
    /// Harmonic mean of the ratings per transcript.
    #[serde(default)]
    pub raters_per_item: Option<f64>,
    /// Cluster-bootstrap replicates over prompts behind the intervals.
    #[serde(default)]
    pub bootstrap_replicates: usize,
    /// The model × scaffold component's interval lies wholly above the model component's.
    #[serde(default)]
    pub interaction_exceeds_model: bool,
    pub n_obs: usize,
    pub sentence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceComponent {
    pub component: String,
    /// Estimate truncated at 0; null when the design cannot separate the component.
    pub variance: Option<f64>,
    /// The estimate was negative and has been set to 0.
    #[serde(default)]
    pub truncated: bool,
    /// Share of the summed (truncated) components.
    pub share: Option<f64>,
    /// 95% percentile interval from the bootstrap over prompts.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecCurveResult {
    /// The contrast the curve estimates, e.g. "effect of verification vs baseline: sim-alpha
    /// minus sim-beta".
    pub target: String,
    /// Whether the plan declared the contrast (`[analysis] contrast`) or the default (the
    /// study's first two models) was used.
    #[serde(default)]
    pub declared: bool,
    pub specifications: Vec<SpecResult>,
    /// Share of specifications that keep the headline conclusion.
    pub share_keeping: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecResult {
    pub choices: Vec<(String, String)>,
    pub estimate: Estimate,
    /// The verdict for the study's first model under this specification.
    pub label: Option<Label>,
    /// Every model's verdict is the same as in the registered analysis.
    pub keeps_conclusion: bool,
    /// The models whose verdict changes under this specification, as
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
