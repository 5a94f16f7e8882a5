//! What a run leaves on disk: one [`TranscriptRecord`] per finished cell (a line of
//! `transcripts.jsonl`) and the [`Manifest`] that locks the protocol. Both formats are documented
//! in docs/formats.md; fields are only ever added, never renamed.

use serde::{Deserialize, Serialize};

use crate::plan::{self, ProtocolHashes};
use crate::provider::Role;
use crate::study::Study;

/// Version of the record and manifest formats.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptMessage {
    pub role: Role,
    pub content: String,
    /// Reasoning or thinking content the provider returned with this reply. Kept for the record,
    /// never shown to raters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

impl TranscriptMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        TranscriptMessage {
            role,
            content: content.into(),
            reasoning: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

/// Why a cell failed: the last error of its last attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellError {
    /// `http`, `transport`, `timeout`, `invalid_response`, `invalid_request`, `model_stopped`,
    /// `cost_cap` or `protocol`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub message: String,
    /// The provider's error body, truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub transient: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl TokenUsage {
    pub fn add(&mut self, other: TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptRecord {
    pub cell_id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    pub seed: u64,
    pub status: Status,
    /// The whole conversation: the system prompt (if any), then user and assistant turns.
    pub messages: Vec<TranscriptMessage>,
    #[serde(default)]
    pub error: Option<CellError>,
    /// Tokens of the assistant model's requests.
    pub usage: TokenUsage,
    /// Tokens of the simulated user's requests (charged to that model).
    #[serde(default)]
    pub user_sim_usage: TokenUsage,
    /// USD, from the study's prices; null when a model involved has no prices.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Requests sent to models that answered (assistant and simulated user).
    pub requests: u32,
    /// Attempts over all requests, retries included.
    pub attempts: u32,
    /// Summed latency of the requests that succeeded, in milliseconds.
    pub latency_ms: u64,
    /// The model version the provider reported (last reply).
    #[serde(default)]
    pub model_version: Option<String>,
    #[serde(default)]
    pub request_ids: Vec<String>,
    #[serde(default)]
    pub finish_reasons: Vec<Option<String>>,
    /// Whether the provider flagged any assistant reply as a refusal (a structured signal, not a
    /// guess from the text).
    #[serde(default)]
    pub refused: bool,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: String,
}

/// Just enough of a record to decide what to resume; cheap to parse for large runs.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordHead {
    pub cell_id: String,
    pub status: Status,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// `manifest.json`: the protocol lock of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub tool: ToolInfo,
    pub run: String,
    pub created_at: String,
    pub updated_at: String,
    /// SHA-256 over `hashes`: two runs with the same value used the same fixed protocol.
    pub protocol_hash: String,
    pub hashes: ProtocolHashes,
    /// The resolved study: model settings (never a secret), scaffolds, prompts, rubric, blinding
    /// and analysis defaults.
    pub study: Study,
    /// How many cells the current protocol plans. The cells themselves are not stored (a
    /// million-cell run would carry a 190 MB list): they are [`Manifest::cells`], the plan of
    /// `study`. Manifests written before kept a `cells` list, which is ignored when read.
    #[serde(default)]
    pub cell_count: u64,
    /// Earlier protocols of this run folder, oldest first, with what changed.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

impl Manifest {
    /// The planned cells of the current protocol, made one at a time from the recorded study
    /// (cell ids depend only on its content, so they are the ids this run planned).
    pub fn cells(&self) -> plan::Cells<&Study> {
        plan::cells(&self.study)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub until: String,
    pub protocol_hash: String,
    pub tool_version: String,
    pub changes: Vec<String>,
}
