//! The files exactly as written, before any check: serde shapes with byte spans on every value an
//! error may need to point at. `parse` turns these into the validated types of `study`.
//!
//! Every table denies unknown fields, so that a typo (`temprature`) is an error with a line number
//! rather than a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    pub study: StudyTable,
    #[serde(default)]
    pub model: Vec<Model>,
    pub blinding: Option<BlindingTable>,
    pub analysis: Option<AnalysisTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyTable {
    pub name: S<String>,
    pub description: Option<String>,
    pub seed: S<i64>,
    pub repeats: Option<S<i64>>,
    pub models: Option<Vec<S<String>>>,
    pub scaffolds: Option<Vec<S<String>>>,
    pub prompts: Option<Vec<S<String>>>,
    pub rubric: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub id: S<String>,
    pub provider: S<String>,
    pub model: S<String>,
    pub base_url: Option<S<String>>,
    pub api_key_env: Option<S<String>>,
    pub temperature: Option<S<f64>>,
    pub max_tokens: Option<S<i64>>,
    pub seed: Option<S<i64>>,
    pub max_concurrency: Option<S<i64>>,
    pub rpm: Option<S<i64>>,
    pub tpm: Option<S<i64>>,
    pub timeout_s: Option<S<f64>>,
    pub max_attempts: Option<S<i64>>,
    pub backoff_ms: Option<S<i64>>,
    pub backoff_max_ms: Option<S<i64>>,
    pub price_input_per_mtok: Option<S<f64>>,
    pub price_output_per_mtok: Option<S<f64>>,
    pub batch: Option<bool>,
    pub batch_poll_s: Option<S<f64>>,
    pub batch_poll_max_s: Option<S<f64>>,
    pub batch_max_requests: Option<S<i64>>,
    pub batch_max_bytes: Option<S<i64>>,
    pub price_batch_input_per_mtok: Option<S<f64>>,
    pub price_batch_output_per_mtok: Option<S<f64>>,
    pub batch_discount: Option<S<f64>>,
    pub extra: Option<toml::Table>,
    pub omit: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlindingTable {
    pub raters: Option<S<Vec<S<String>>>>,
    pub per_item: Option<S<i64>>,
    pub redact: Option<Vec<S<String>>>,
    pub fingerprints: Option<FingerprintTable>,
    pub identifiability_margin: Option<S<f64>>,
    pub audit_permutations: Option<S<i64>>,
    pub anchors: Option<S<i64>>,
    pub anchor_share: Option<S<f64>>,
    pub adjudication_threshold: Option<S<i64>>,
    pub adjudicate_on: Option<S<String>>,
    pub max_items_per_packet: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintTable {
    pub knowledge_cutoff: Option<bool>,
    pub boilerplate: Option<bool>,
    pub template_tokens: Option<bool>,
    pub instruction_talk: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisTable {
    pub primary: Option<S<String>>,
    pub baseline: Option<S<String>>,
    pub confidence: Option<S<f64>>,
    pub resamples: Option<S<i64>>,
    pub permutations: Option<S<i64>>,
    pub seed: Option<S<i64>>,
    pub ceiling_share: Option<S<f64>>,
    pub margins: Option<BTreeMap<S<String>, S<f64>>>,
    pub min_prompts: Option<S<i64>>,
    pub family: Option<S<String>>,
    pub scaffold: Option<S<String>>,
    pub contrast: Option<S<Vec<S<String>>>>,
    pub specifications: Option<SpecificationsTable>,
    pub adjudication: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecificationsTable {
    pub aggregation: Option<Vec<S<String>>>,
    pub scale: Option<Vec<S<String>>>,
    pub low_agreement: Option<Vec<S<String>>>,
    pub failed_cells: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaffoldFile {
    pub id: Option<S<String>>,
    pub description: Option<String>,
    pub system: Option<String>,
    pub first_turn: Option<S<String>>,
    #[serde(default)]
    pub follow_ups: Vec<S<String>>,
    pub prompt_follow_ups: Option<bool>,
    pub user_sim: Option<UserSimTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSimTable {
    pub model: S<String>,
    pub persona: S<String>,
    pub turns: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptFile {
    /// Accepted for the reader of the file; not used by the tool.
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(default)]
    pub prompt: Vec<Prompt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub id: S<String>,
    pub text: S<String>,
    pub category: Option<String>,
    #[serde(default)]
    pub follow_ups: Vec<S<String>>,
    #[serde(default)]
    pub metadata: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricFile {
    pub rubric: Option<RubricTable>,
    #[serde(default)]
    pub dimension: Vec<Dimension>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricTable {
    pub name: Option<String>,
    pub instructions: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub id: S<String>,
    pub question: S<String>,
    pub scale: S<String>,
    pub required: Option<bool>,
    #[serde(default)]
    pub level: Vec<Level>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub value: S<i64>,
    pub label: S<String>,
    pub anchor: Option<S<String>>,
}
