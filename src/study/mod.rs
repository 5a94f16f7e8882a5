//! The study: what is crossed, with which fixed protocol, rated on which rubric.
//!
//! A study is a folder of plain TOML files (`study.toml`, `scaffolds/*.toml`, `prompts/*.toml`,
//! `rubric.toml`; see `docs/study-format.md`). This module holds the validated, provider-neutral
//! types that every later stage reads. Loading is split in two so that the checks stay pure:
//! [`load`] reads the files (the only I/O here) and [`parse`] turns their text into a [`Study`],
//! collecting every problem it can find with its file, line and id instead of stopping at the first.
//!
//! Invariant: a `Study` that exists has passed every check in [`parse`]; later stages never
//! re-validate references (an unknown scaffold, a rubric level without anchor, ...).

pub mod defaults;
mod diagnostics;
mod parse;
mod raw;
mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use diagnostics::{Diagnostic, StudyError};
pub(crate) use parse::id_problem;
pub use parse::{SourceFile, parse};
pub use template::{TemplateVars, render_template};

use crate::provider::ProviderKind;

/// A validated study.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Study {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub repeats: u32,
    /// Every model the study names, crossed or not (simulated users and judges live here too).
    pub models: Vec<ModelSpec>,
    /// Aliases of the models that are crossed with scaffolds and prompts, in study order.
    pub crossed_models: Vec<String>,
    /// Scaffolds in the order the study lists them.
    pub scaffolds: Vec<Scaffold>,
    /// Prompt items of every crossed prompt set, in file order.
    pub prompts: Vec<PromptItem>,
    pub rubric: Rubric,
    pub blinding: Blinding,
    pub analysis: Analysis,
}

impl Study {
    pub fn model(&self, alias: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == alias)
    }

    pub fn scaffold(&self, id: &str) -> Option<&Scaffold> {
        self.scaffolds.iter().find(|s| s.id == id)
    }

    pub fn crossed(&self) -> impl Iterator<Item = &ModelSpec> {
        self.crossed_models
            .iter()
            .filter_map(move |alias| self.model(alias))
    }
}

/// One model as the study configures it. `id` is the study-local alias used everywhere else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub provider: ProviderKind,
    pub model: String,
    pub base_url: Option<String>,
    /// The *name* of the environment variable that holds the key; the key itself is never stored.
    pub api_key_env: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
    pub max_concurrency: u32,
    pub rpm: Option<u32>,
    pub tpm: Option<u32>,
    pub timeout_s: f64,
    pub max_attempts: u32,
    pub backoff_ms: u64,
    pub backoff_max_ms: u64,
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
    /// Provider-specific body fields, deep-merged into every request.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Whether and how the model runs through its provider's batch API.
    #[serde(default)]
    pub batch: BatchSettings,
}

/// The batch-API settings of a model (`batch`, `batch_*` and `price_batch_*` keys). Execution
/// settings: they never change a cell's identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BatchSettings {
    /// Run this model's requests through batches (`run --batch` turns it on for every model).
    pub enabled: bool,
    /// First wait between polls of a batch, in seconds.
    pub poll_s: f64,
    /// The wait doubles while nothing changes, up to this many seconds.
    pub poll_max_s: f64,
    /// At most this many requests per batch (default: the provider's limit).
    pub max_requests: Option<u32>,
    /// At most this many bytes per batch (default: the provider's limit).
    pub max_bytes: Option<u64>,
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
    /// Batch prices as a share of the live prices, when no batch price is set.
    pub discount: f64,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            enabled: false,
            poll_s: 30.0,
            poll_max_s: 600.0,
            max_requests: None,
            max_bytes: None,
            price_input_per_mtok: None,
            price_output_per_mtok: None,
            discount: 0.5,
        }
    }
}

impl ModelSpec {
    /// USD per million (input, output) tokens in batch mode: the batch prices where set, else the
    /// live prices times the discount. None when a price is missing.
    pub fn batch_prices(&self) -> Option<(f64, f64)> {
        let b = &self.batch;
        Some((
            b.price_input_per_mtok
                .or(self.price_input_per_mtok.map(|p| p * b.discount))?,
            b.price_output_per_mtok
                .or(self.price_output_per_mtok.map(|p| p * b.discount))?,
        ))
    }

    /// The settings that shape what the model writes, and so belong to a cell's identity.
    /// Execution settings (limits, timeouts, retries, prices) are deliberately left out: changing
    /// them must not make earlier transcripts look incomparable.
    pub fn generation_settings(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "extra": self.extra,
        })
    }
}

/// A fixed interaction protocol.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scaffold {
    pub id: String,
    pub description: Option<String>,
    pub system: Option<String>,
    /// Template of the first user turn.
    pub first_turn: String,
    /// Scripted user turns (templates), sent after the first reply, in order.
    pub follow_ups: Vec<String>,
    /// Whether the prompt's own follow-ups are sent too (after the scaffold's).
    pub prompt_follow_ups: bool,
    pub user_sim: Option<UserSim>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserSim {
    /// Alias of the model that plays the user.
    pub model: String,
    pub persona: String,
    pub turns: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PromptItem {
    pub id: String,
    /// The prompt set (file stem) it came from.
    pub set: String,
    pub text: String,
    pub category: Option<String>,
    pub follow_ups: Vec<String>,
    pub metadata: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rubric {
    pub name: Option<String>,
    pub instructions: Option<String>,
    pub dimensions: Vec<Dimension>,
}

impl Rubric {
    pub fn dimension(&self, id: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.id == id)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    Binary,
    Ordinal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dimension {
    pub id: String,
    pub question: String,
    pub scale: Scale,
    pub required: bool,
    /// Levels in ascending order of value.
    pub levels: Vec<Level>,
}

impl Dimension {
    pub fn min(&self) -> i64 {
        self.levels.first().map_or(0, |l| l.value)
    }

    pub fn max(&self) -> i64 {
        self.levels.last().map_or(0, |l| l.value)
    }

    pub fn has_level(&self, value: i64) -> bool {
        self.levels.iter().any(|l| l.value == value)
    }

    pub fn values(&self) -> Vec<f64> {
        self.levels.iter().map(|l| l.value as f64).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Level {
    pub value: i64,
    pub label: String,
    pub anchor: String,
}

/// Defaults for `blindfold blind`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Blinding {
    pub raters: Vec<String>,
    pub per_item: u32,
    /// Extra terms to redact from transcripts, beyond the built-in lexicon and the study's names.
    pub redact: Vec<String>,
    /// Which fingerprints that are not names are neutralised.
    #[serde(default)]
    pub fingerprints: FingerprintSwitches,
    /// `blind` warns when the identifiability audit predicts the model or the scaffold this much
    /// above chance (accuracy minus chance), with a permutation p-value of at most 0.05.
    #[serde(default = "default_identifiability_margin")]
    pub identifiability_margin: f64,
    /// Label shuffles of the audit's permutation p-value.
    #[serde(default = "default_audit_permutations")]
    pub audit_permutations: u32,
    /// Anchor items a later round mixes in (transcripts rated in earlier rounds).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub anchors: u32,
    /// Anchors as a share of the round's new items; the larger of the two counts.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub anchor_share: f64,
    /// `blind --adjudicate`: ratings this many levels apart send an item to adjudication.
    #[serde(
        default = "default_adjudication_threshold",
        skip_serializing_if = "is_default_threshold"
    )]
    pub adjudication_threshold: u32,
    /// On which dimensions a disagreement counts for adjudication.
    #[serde(default, skip_serializing_if = "AdjudicateOn::is_default")]
    pub adjudicate_on: AdjudicateOn,
    /// `blind` splits a rater's packet into numbered parts of at most this many items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_packet: Option<u32>,
}

pub fn default_adjudication_threshold() -> u32 {
    2
}

fn is_default_threshold(t: &u32) -> bool {
    *t == default_adjudication_threshold()
}

fn is_zero_u32(x: &u32) -> bool {
    *x == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

/// Which dimensions' disagreements send an item to adjudication.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AdjudicateOn {
    #[default]
    Any,
    Primary,
}

impl AdjudicateOn {
    fn is_default(&self) -> bool {
        *self == AdjudicateOn::Any
    }
}

/// How an adjudicated item is scored (`[analysis] adjudication`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AdjudicationRule {
    /// The adjudicator's rating replaces the disagreeing ones.
    #[default]
    Adjudicator,
    /// The median of every rating of the item (two originals and the adjudicator: of three).
    Median,
}

impl AdjudicationRule {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjudicationRule::Adjudicator => "adjudicator",
            AdjudicationRule::Median => "median",
        }
    }

    fn is_default(&self) -> bool {
        *self == AdjudicationRule::Adjudicator
    }
}

pub fn default_identifiability_margin() -> f64 {
    0.10
}

pub fn default_audit_permutations() -> u32 {
    199
}

/// `[blinding.fingerprints]`: each kind of fingerprint that is not a name, on or off.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct FingerprintSwitches {
    /// "My training data goes up to April 2024", "as of my last update in ...".
    pub knowledge_cutoff: bool,
    /// "A large language model trained by ...", "helpful, harmless, and honest", ...
    pub boilerplate: bool,
    /// `<|im_start|>`, `<end_of_turn>`, `[/INST]`, `<think>…</think>`, "Human:" (removed).
    pub template_tokens: bool,
    /// "As instructed by my system prompt", "my system prompt is 79 words long", ...
    pub instruction_talk: bool,
}

impl Default for FingerprintSwitches {
    fn default() -> Self {
        FingerprintSwitches {
            knowledge_cutoff: true,
            boilerplate: true,
            template_tokens: true,
            instruction_talk: true,
        }
    }
}

/// The analysis plan (registered before ratings come in; see `blindfold prereg`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub primary: String,
    pub baseline: String,
    pub confidence: f64,
    pub resamples: u32,
    pub permutations: u32,
    pub seed: u64,
    /// Equivalence margin per dimension id, on the dimension's own scale.
    pub margins: BTreeMap<String, f64>,
    /// Share of transcripts at the top level from which an improvement counts as "raised to ceiling".
    pub ceiling_share: f64,
    /// Fewest prompts (a cell) or prompt pairs (an effect) an interval and a verdict need.
    #[serde(default = "default_min_prompts")]
    pub min_prompts: u32,
    /// Over which effects the verdicts are adjusted for multiplicity.
    #[serde(default)]
    pub family: Family,
    /// The scaffold the headline and the specification curve are about; `None` = the first
    /// non-baseline scaffold named like the primary dimension (`verification` for
    /// `verification_support`), else the first non-baseline scaffold.
    #[serde(default)]
    pub scaffold: Option<String>,
    /// The specification curve's target: that scaffold's effect for the first model minus the
    /// second's. `None` = the study's first two models.
    #[serde(default)]
    pub contrast: Option<Vec<String>>,
    /// The choices the specification curve varies.
    #[serde(default)]
    pub specifications: Specifications,
    /// How items sent to adjudication are scored.
    #[serde(default, skip_serializing_if = "AdjudicationRule::is_default")]
    pub adjudication: AdjudicationRule,
}

pub fn default_min_prompts() -> u32 {
    2
}

/// The multiplicity family of the efficacy verdicts (Holm over every test in it).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Each dimension's model x scaffold effects form one family (the primary dimension's is the
    /// confirmatory one).
    #[default]
    Dimension,
    /// Every effect of every dimension forms one family.
    Study,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Dimension => "dimension",
            Family::Study => "study",
        }
    }
}

/// The options of each choice the specification curve varies (the registered option of each is
/// always included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Specifications {
    /// Of "mean", "median", "each-rater", "consensus".
    pub aggregation: Vec<String>,
    /// Of "raw", "binarised".
    pub scale: Vec<String>,
    /// Of "included", "excluded".
    pub low_agreement: Vec<String>,
    /// Of "excluded", "lowest".
    pub failed_cells: Vec<String>,
}

impl Specifications {
    pub const AGGREGATION: [&'static str; 4] = ["mean", "median", "each-rater", "consensus"];
    pub const SCALE: [&'static str; 2] = ["raw", "binarised"];
    pub const LOW_AGREEMENT: [&'static str; 2] = ["included", "excluded"];
    pub const FAILED_CELLS: [&'static str; 2] = ["excluded", "lowest"];
}

impl Default for Specifications {
    fn default() -> Self {
        let all = |options: &[&str]| options.iter().map(|o| o.to_string()).collect();
        Specifications {
            aggregation: all(&Self::AGGREGATION),
            scale: all(&Self::SCALE),
            low_agreement: all(&Self::LOW_AGREEMENT),
            failed_cells: all(&Self::FAILED_CELLS),
        }
    }
}

/// Reads every file a study consists of; the only I/O of this module.
pub fn load(dir: &Path) -> Result<Study, StudyError> {
    let files = read_sources(dir)?;
    parse(&files)
}

/// Collects the text of `study.toml` and every scaffold, prompt set and rubric file it may use.
///
/// All `.toml` files under `scaffolds/` and `prompts/` are read (sorted by name), so that `parse`
/// can name files the study does not reference as well as references to missing files.
pub fn read_sources(dir: &Path) -> Result<Vec<SourceFile>, StudyError> {
    let study_path = dir.join("study.toml");
    if study_path.is_dir() {
        return Err(StudyError::Io {
            path: study_path,
            source: std::io::Error::other("it is a folder, not a file"),
        });
    }
    if !study_path.is_file() {
        return Err(StudyError::NotAStudy {
            dir: dir.to_path_buf(),
        });
    }
    let mut files = vec![read_one(dir, Path::new("study.toml"))?];
    for sub in ["scaffolds", "prompts"] {
        let folder = dir.join(sub);
        if !folder.is_dir() {
            continue;
        }
        let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|source| StudyError::Io {
                path: folder.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        names.sort();
        for path in names {
            let relative = Path::new(sub).join(path.file_name().unwrap_or_default());
            files.push(read_one(dir, &relative)?);
        }
    }
    // The rubric path is named in study.toml; read it if it parses far enough to say which.
    if let Some(rubric) = parse::rubric_path(&files[0].text)
        && !files.iter().any(|f| f.path == Path::new(&rubric))
    {
        let path = Path::new(&rubric);
        if dir.join(path).is_file() {
            files.push(read_one(dir, path)?);
        }
    }
    Ok(files)
}

fn read_one(dir: &Path, relative: &Path) -> Result<SourceFile, StudyError> {
    let full = dir.join(relative);
    let text = std::fs::read_to_string(&full).map_err(|source| StudyError::Io {
        path: full.clone(),
        source,
    })?;
    Ok(SourceFile {
        path: relative.to_path_buf(),
        display: full,
        text,
    })
}
