//! Translation between blindfold's provider-neutral chat types and the wire formats of the model
//! APIs it talks to (OpenAI Chat Completions, Anthropic Messages, Gemini generateContent).
//!
//! Why this layer exists: the study must send *exactly* the conversation a scaffold produced and
//! record *exactly* what came back, whichever provider serves a model. Keeping the translation in
//! pure functions (`ChatRequest` -> [`HttpRequest`], [`HttpResponse`] -> [`Reply`]) makes every
//! byte that goes over the wire testable against recorded fixtures, and keeps all policy
//! (retries, rate limits, timeouts, concurrency) in the runner, which sends the requests.
//!
//! Provider-specific settings that the neutral types do not model (reasoning effort, thinking
//! budgets, safety settings, ...) come from [`Endpoint::extra`], which is merged into the request
//! body last as an RFC 7396 JSON Merge Patch: objects merge recursively, any other value replaces,
//! and a JSON `null` removes the key. So `{"max_tokens": null, "max_completion_tokens": 2000}`
//! turns an OpenAI request into one that reasoning models accept.
//!
//! Secrets: API keys travel only in headers, never in URLs, and the `Debug` output of
//! [`Endpoint`] and [`HttpRequest`] replaces them with `[redacted]`, so a key cannot reach a log
//! through `{:?}`. [`Endpoint`] also never serialises its key.

// One `ProviderError` per network call at most: its size is nothing next to the I/O, and a flat
// struct of plain fields is simpler for the runner to inspect and record than a boxed one.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod anthropic;
pub mod batch;
pub mod gemini;
pub mod openai;
pub mod send;

/// Which wire format an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Gemini,
    /// blindfold's simulated model: the OpenAI wire format against a loopback server.
    Sim,
}

impl ProviderKind {
    /// The name used in study files and serialised records.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Sim => "sim",
        }
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(ProviderKind::OpenAi),
            "anthropic" => Ok(ProviderKind::Anthropic),
            "gemini" => Ok(ProviderKind::Gemini),
            "sim" => Ok(ProviderKind::Sim),
            other => Err(format!("unknown provider '{other}'")),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// One model call. `messages` holds only user/assistant turns, alternating and starting with a
/// user turn; the system prompt goes in `system`. [`build_request`] rejects anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
}

/// Where and how to reach one model.
///
/// * `base_url` — OpenAI/Sim: including the API version (`https://api.openai.com/v1`);
///   Anthropic and Gemini: the root (`https://api.anthropic.com`). A gateway that serves a
///   provider under a path prefix works by putting the prefix here. Trailing slashes are ignored.
/// * `api_key` — sent in a header when present and not blank (local OpenAI-compatible servers
///   such as vLLM or Ollama need none). Never serialised, never printed by `Debug`.
/// * `extra` — merged into the request body last, as an RFC 7396 JSON Merge Patch (objects merge
///   recursively, other values replace, `null` removes the key). Examples:
///   OpenAI reasoning models `{"max_tokens": null, "max_completion_tokens": 2000,
///   "reasoning_effort": "low"}`; Anthropic `{"thinking": {"type": "enabled",
///   "budget_tokens": 2000}}`; Gemini `{"safetySettings": [...]}` or
///   `{"generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub kind: ProviderKind,
    pub base_url: String,
    pub model: String,
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub extra: Map<String, Value>,
}

/// A request ready to send: always `POST` with a JSON body.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// What the sender got back. Header names are matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Token counts as the provider bills them. `input_tokens` includes cached prompt tokens;
/// `output_tokens` includes reasoning/thinking tokens. A provider that reports no usage
/// (some local servers do) yields zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A successful model answer in provider-neutral form.
///
/// `refusal` is the provider's *structured* signal only (OpenAI `message.refusal` or
/// `finish_reason: "content_filter"`, Anthropic `stop_reason: "refusal"`, Gemini safety-type
/// finish reasons or a blocked prompt); a refusal written as ordinary text is not detected here.
/// When a provider returns its refusal message outside the normal content field (OpenAI
/// `message.refusal`), that message becomes `text`, so the transcript shows what the model said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub refusal: bool,
    pub usage: Usage,
    pub model_version: Option<String>,
    pub request_id: Option<String>,
}

/// What went wrong, coarsely, for the runner's retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ErrorKind {
    /// The server answered with a non-2xx status.
    Http { status: u16 },
    /// The request never got an answer (connection refused, reset, DNS, TLS, ...).
    Transport,
    /// The sender's deadline passed.
    Timeout,
    /// A 2xx answer that is not a usable reply. `transient` is true when the body is not JSON at
    /// all (a truncated transfer or a proxy's HTML page: worth another try) or carries an error
    /// object with a retryable code; it is false when the body is well-formed JSON of the wrong
    /// shape (wrong endpoint or a format change: retrying cannot help, a human must look).
    InvalidResponse { transient: bool },
    /// The request could not be built from the given endpoint and chat request.
    InvalidRequest,
    /// A request of a provider batch that the provider did not run: it expired, or the whole
    /// batch failed. `transient` says whether a later batch may succeed.
    Batch { transient: bool },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Http { status } => write!(f, "HTTP {status}"),
            ErrorKind::Transport => f.write_str("transport error"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::InvalidResponse { .. } => f.write_str("invalid response"),
            ErrorKind::InvalidRequest => f.write_str("invalid request"),
            ErrorKind::Batch { .. } => f.write_str("batch"),
        }
    }
}

/// Provider error bodies are kept for diagnosis, cut to this many characters.
pub const ERROR_BODY_LIMIT: usize = 2000;

/// Anthropic requires `max_tokens`; this is sent when the chat request leaves it open.
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 1024;

/// A failed model call, with everything the runner needs to decide what to do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind}{}: {message}", code_suffix(.provider_code))]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// HTTP status of the exchange, if there was one (also set for an invalid 2xx answer).
    pub status: Option<u16>,
    /// Raw `Retry-After` header value (delta-seconds or an HTTP-date).
    pub retry_after: Option<String>,
    /// Raw `retry-after-ms` header value: a non-standard header in milliseconds that the
    /// official OpenAI and Anthropic SDKs honour before `Retry-After`.
    pub retry_after_ms: Option<String>,
    /// Gemini's `google.rpc.RetryInfo.retryDelay` from the error body (e.g. `"22s"`): Gemini puts
    /// its retry hint in the body, not in a header.
    pub retry_info_delay: Option<String>,
    /// The provider's machine-readable code: OpenAI `error.code` (else `error.type`), Anthropic
    /// `error.type`, Gemini `google.rpc.ErrorInfo.reason` (else `error.status`).
    pub provider_code: Option<String>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
    /// Permanent quota or billing exhaustion (OpenAI `insufficient_quota`, Anthropic
    /// `billing_error`, HTTP 402, Gemini per-day or zero quotas): retrying cannot help.
    pub quota_exhausted: bool,
    /// The credentials were rejected (401/403, or Gemini's 400 `API_KEY_INVALID`).
    pub auth_failed: bool,
    /// The provider's response body, truncated to [`ERROR_BODY_LIMIT`] characters.
    pub body: Option<String>,
    /// Human-readable: the provider's own message where there is one.
    pub message: String,
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
}

impl ProviderError {
    fn bare(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            status: None,
            retry_after: None,
            retry_after_ms: None,
            retry_info_delay: None,
            provider_code: None,
            request_id: None,
            quota_exhausted: false,
            auth_failed: false,
            body: None,
            message: message.into(),
        }
    }

    /// For the sender: the request got no answer (connection, DNS, TLS, reset, ...).
    pub fn transport(message: impl Into<String>) -> Self {
        Self::bare(ErrorKind::Transport, message)
    }

    /// For the sender: the deadline passed before a full answer arrived.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::bare(ErrorKind::Timeout, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::bare(ErrorKind::InvalidRequest, message)
    }

    /// A batch request the provider did not run (see [`ErrorKind::Batch`]).
    pub fn batch(transient: bool, code: &str, message: impl Into<String>) -> Self {
        ProviderError {
            provider_code: Some(code.to_owned()),
            ..Self::bare(ErrorKind::Batch { transient }, message)
        }
    }

    pub(crate) fn invalid_response(
        status: u16,
        transient: bool,
        message: impl Into<String>,
        body: &str,
    ) -> Self {
        ProviderError {
            status: Some(status),
            body: Some(truncate_chars(body, ERROR_BODY_LIMIT)),
            ..Self::bare(ErrorKind::InvalidResponse { transient }, message)
        }
    }

    /// Worth retrying later: 408, 409 (lock timeout, retried by the official SDKs), 429, any 5xx
    /// (including Anthropic's 529 "overloaded"), transport failures and timeouts, and invalid
    /// answers marked transient. Never transient: quota or billing exhaustion (even when sent as
    /// 429), rejected credentials, and every other 4xx (400, 401, 403, 404, 413, 422, ...).
    pub fn is_transient(&self) -> bool {
        match self.kind {
            ErrorKind::Transport | ErrorKind::Timeout => true,
            ErrorKind::InvalidRequest => false,
            ErrorKind::Batch { transient } => transient,
            ErrorKind::InvalidResponse { transient } => transient,
            ErrorKind::Http { status } => {
                !self.quota_exhausted
                    && !self.auth_failed
                    && (matches!(status, 408 | 409 | 429) || (500..=599).contains(&status))
            }
        }
    }

    /// The credentials were rejected; the runner stops calling this model.
    pub fn is_auth(&self) -> bool {
        self.auth_failed
    }

    /// How long the server asked us to wait, if it said: `retry-after-ms` first, then
    /// `Retry-After`, then Gemini's body `RetryInfo` (the order of the official OpenAI SDK, which
    /// knows the first two). `None` when no hint is present or none parses.
    pub fn retry_delay(&self, now: SystemTime) -> Option<Duration> {
        self.retry_after_ms
            .as_deref()
            .and_then(retry_after_ms_delay)
            .or_else(|| {
                self.retry_after
                    .as_deref()
                    .and_then(|raw| retry_after_delay(raw, now))
            })
            .or_else(|| self.retry_info_delay.as_deref().and_then(protobuf_duration))
    }
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds, also fractional as some
/// servers send (`"1.5"`), or an HTTP-date in any of the three formats RFC 9110 requires
/// recipients to accept; a date in the past gives zero. `None` for anything else, including
/// negative numbers and values too large for a `Duration`.
pub fn retry_after_delay(raw: &str, now: SystemTime) -> Option<Duration> {
    let raw = raw.trim();
    if let Some(delay) = decimal_seconds(raw) {
        return Some(delay);
    }
    let date = httpdate::parse_http_date(raw).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses a `retry-after-ms` value: non-negative (possibly fractional) milliseconds.
pub fn retry_after_ms_delay(raw: &str) -> Option<Duration> {
    let millis = decimal_number(raw.trim())?;
    Duration::try_from_secs_f64(millis / 1000.0).ok()
}

/// Parses a protobuf JSON `Duration` such as Gemini's `"22s"` or `"10.689924287s"`.
pub fn protobuf_duration(raw: &str) -> Option<Duration> {
    decimal_seconds(raw.trim().strip_suffix('s')?)
}

fn decimal_seconds(raw: &str) -> Option<Duration> {
    Duration::try_from_secs_f64(decimal_number(raw)?).ok()
}

/// Digits with at most one decimal point: no sign, exponent, `inf` or `NaN`, all of which
/// `f64::from_str` would otherwise accept.
fn decimal_number(raw: &str) -> Option<f64> {
    let digits = raw.bytes().filter(u8::is_ascii_digit).count();
    let dots = raw.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != raw.len() {
        return None;
    }
    raw.parse().ok()
}

/// The base URL each provider is reached at when the study does not name one. The sim server's
/// address is normally set by the runner; this default is only a convention.
pub fn default_base_url(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => "https://api.openai.com/v1",
        ProviderKind::Anthropic => "https://api.anthropic.com",
        ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
        ProviderKind::Sim => "http://127.0.0.1:8080/v1",
    }
}

/// Builds the HTTP request for one model call. Fails with [`ErrorKind::InvalidRequest`] when the
/// chat request breaks its invariants (empty, not alternating user/assistant from a user turn, a
/// system message among the turns, a non-finite temperature), when the endpoint has no model or
/// no http(s) base URL, or when a value cannot be expressed in the provider's format.
pub fn build_request(
    endpoint: &Endpoint,
    request: &ChatRequest,
) -> Result<HttpRequest, ProviderError> {
    validate(endpoint, request)?;
    let mut built = match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::build(endpoint, request)?,
        ProviderKind::Anthropic => anthropic::build(endpoint, request)?,
        ProviderKind::Gemini => gemini::build(endpoint, request)?,
    };
    merge_patch(&mut built.body, &endpoint.extra);
    Ok(built)
}

/// Turns the provider's answer into a [`Reply`], or into a [`ProviderError`] that carries the
/// provider's own message, code, retry hints and (truncated) body.
pub fn parse_response(kind: ProviderKind, response: &HttpResponse) -> Result<Reply, ProviderError> {
    if !(200..=299).contains(&response.status) {
        return Err(http_error(kind, response));
    }
    let json: Value = serde_json::from_str(&response.body).map_err(|e| {
        ProviderError::invalid_response(
            response.status,
            true,
            format!("response body is not JSON ({e})"),
            &response.body,
        )
    })?;
    // Gateways (OpenRouter, for one) sometimes report an upstream failure inside a 200.
    if let Some(error) = json.get("error").filter(|e| !e.is_null()) {
        let embedded_status = error
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok());
        let transient = match embedded_status {
            Some(s) => matches!(s, 408 | 409 | 429) || (500..=599).contains(&s),
            None => true,
        };
        let message =
            error_message(&json).unwrap_or_else(|| "error object in a 2xx response".into());
        return Err(ProviderError::invalid_response(
            response.status,
            transient,
            message,
            &response.body,
        ));
    }
    let parsed = match kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::parse_reply(&json, &response.headers),
        ProviderKind::Anthropic => anthropic::parse_reply(&json, &response.headers),
        ProviderKind::Gemini => gemini::parse_reply(&json, &response.headers),
    };
    parsed.map_err(|missing| {
        ProviderError::invalid_response(
            response.status,
            false,
            format!("unexpected response shape: {missing}"),
            &response.body,
        )
    })
}

/// What a provider module reads out of an error body.
#[derive(Debug, Default)]
pub(crate) struct ErrorDetails {
    pub code: Option<String>,
    pub quota_exhausted: bool,
    pub auth_failed: bool,
    pub retry_info_delay: Option<String>,
    pub request_id: Option<String>,
}

pub(crate) fn http_error(kind: ProviderKind, response: &HttpResponse) -> ProviderError {
    let status = response.status;
    let json: Option<Value> = serde_json::from_str(&response.body).ok();
    let details = match (&json, kind) {
        (None, _) => ErrorDetails::default(),
        (Some(j), ProviderKind::OpenAi | ProviderKind::Sim) => openai::error_details(j),
        (Some(j), ProviderKind::Anthropic) => anthropic::error_details(j),
        (Some(j), ProviderKind::Gemini) => gemini::error_details(j),
    };
    let message = json
        .as_ref()
        .and_then(error_message)
        .map(|m| truncate_chars(&m, ERROR_BODY_LIMIT))
        .unwrap_or_else(|| format!("HTTP {status} without a provider error message"));
    let header_request_id = match kind {
        ProviderKind::Anthropic => header(&response.headers, "request-id"),
        _ => header(&response.headers, "x-request-id"),
    };
    ProviderError {
        kind: ErrorKind::Http { status },
        status: Some(status),
        retry_after: header(&response.headers, "retry-after").map(str::to_owned),
        retry_after_ms: header(&response.headers, "retry-after-ms").map(str::to_owned),
        retry_info_delay: details.retry_info_delay,
        provider_code: details.code,
        request_id: header_request_id.map(str::to_owned).or(details.request_id),
        quota_exhausted: details.quota_exhausted || status == 402,
        auth_failed: details.auth_failed || matches!(status, 401 | 403),
        body: (!response.body.is_empty()).then(|| truncate_chars(&response.body, ERROR_BODY_LIMIT)),
        message,
    }
}

/// The human message of an error body. All three providers use `{"error": {"message": ...}}`;
/// the fallbacks cover OpenAI-compatible servers (`{"error": "..."}` from Ollama,
/// `{"message": ...}` from vLLM, `{"detail": ...}` from FastAPI-based servers).
pub(crate) fn error_message(json: &Value) -> Option<String> {
    let error = json.get("error");
    let candidates = [
        error.and_then(|e| e.get("message")),
        error,
        json.get("message"),
        json.get("detail"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .map(str::to_owned)
}

/// Case-insensitive header lookup (HTTP field names are case-insensitive).
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The API key if one is configured and not blank.
pub(crate) fn api_key(endpoint: &Endpoint) -> Option<&str> {
    endpoint
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// `base_url` without trailing slashes, followed by `path` (which starts with '/').
pub(crate) fn join_url(base_url: &str, path: &str) -> String {
    format!("{}{}", base_url.trim().trim_end_matches('/'), path)
}

/// A string field, treating JSON null and the empty string as absent.
pub(crate) fn non_empty_str(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A token count, or zero when the provider did not report it.
pub(crate) fn count(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}

fn validate(endpoint: &Endpoint, request: &ChatRequest) -> Result<(), ProviderError> {
    let base = endpoint.base_url.trim();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ProviderError::invalid_request(format!(
            "base_url must start with http:// or https://, got {base:?}"
        )));
    }
    if endpoint.model.trim().is_empty() {
        return Err(ProviderError::invalid_request("model is empty"));
    }
    if request.messages.is_empty() {
        return Err(ProviderError::invalid_request(
            "a chat request needs at least one message",
        ));
    }
    for (index, message) in request.messages.iter().enumerate() {
        let expected = if index % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        if message.role != expected {
            return Err(ProviderError::invalid_request(format!(
                "message {index} has role {:?}; messages must alternate user/assistant starting with user \
                 (the system prompt goes in ChatRequest::system)",
                message.role
            )));
        }
    }
    // serde_json would silently turn NaN or infinity into null.
    if let Some(t) = request.temperature.filter(|t| !t.is_finite()) {
        return Err(ProviderError::invalid_request(format!(
            "temperature {t} is not a finite number"
        )));
    }
    Ok(())
}

/// RFC 7396 JSON Merge Patch, applied in place.
pub(crate) fn merge_patch(target: &mut Value, patch: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        unreachable!("made an object above")
    };
    for (key, value) in patch {
        match value {
            Value::Null => {
                target_map.remove(key);
            }
            Value::Object(inner) => {
                merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), inner);
            }
            other => {
                target_map.insert(key.clone(), other.clone());
            }
        }
    }
}

/// At most `limit` characters of `text`, cut on a character boundary, marked when cut.
pub(crate) fn truncate_chars(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…[truncated]", &text[..cut]),
    }
}

pub(crate) const REDACTED: &str = "[redacted]";

/// Headers whose values are credentials in one API or another.
pub(crate) const SECRET_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
];

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| REDACTED))
            .field("extra", &self.extra)
            .finish()
    }
}

/// Headers for `Debug` output, with the values of secret ones replaced by [`REDACTED`].
pub(crate) fn redacted(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| {
            let secret = SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s));
            (
                name.as_str(),
                if secret { REDACTED } else { value.as_str() },
            )
        })
        .collect()
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = redacted(&self.headers);
        f.debug_struct("HttpRequest")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Data-driven helpers shared by the provider modules' fixture tests.
    use super::*;

    pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_owned(),
        }
    }

    pub fn turn(role: Role, content: &str) -> Message {
        Message {
            role,
            content: content.to_owned(),
        }
    }

    /// The chat request behind every request fixture: system prompt, three turns, all
    /// sampling parameters.
    pub fn fixture_chat_request() -> ChatRequest {
        ChatRequest {
            system: Some("You are a careful assistant.".into()),
            messages: vec![
                turn(Role::User, "What is the capital of France?"),
                turn(Role::Assistant, "Paris."),
                turn(Role::User, "And of Italy?"),
            ],
            temperature: Some(0.7),
            max_tokens: Some(4096),
            seed: Some(42),
        }
    }

    pub fn endpoint(kind: ProviderKind, base_url: &str, model: &str, extra: Value) -> Endpoint {
        Endpoint {
            kind,
            base_url: base_url.into(),
            model: model.into(),
            api_key: Some("sk-test-SECRET-123".into()),
            extra: extra.as_object().cloned().unwrap_or_default(),
        }
    }

    /// Builds the fixture request and checks URL, headers and body (compared as JSON values).
    pub fn check_build(
        endpoint: &Endpoint,
        url: &str,
        headers: &[(&str, &str)],
        body_fixture: &str,
    ) {
        let built = build_request(endpoint, &fixture_chat_request()).expect("request builds");
        assert_eq!(built.url, url);
        let expected_headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(built.headers, expected_headers);
        let expected: Value = serde_json::from_str(body_fixture).expect("fixture is JSON");
        assert_eq!(built.body, expected);
    }

    pub struct Expect<'a> {
        pub text: &'a str,
        pub reasoning: Option<&'a str>,
        pub finish_reason: Option<&'a str>,
        pub refusal: bool,
        pub usage: (u64, u64),
        pub model_version: Option<&'a str>,
        pub request_id: Option<&'a str>,
    }

    pub fn check_parse(
        kind: ProviderKind,
        fixture: &str,
        headers: &[(&str, &str)],
        expect: Expect,
    ) {
        let reply = parse_response(kind, &response(200, headers, fixture)).expect("fixture parses");
        assert_eq!(reply.text, expect.text, "text");
        assert_eq!(reply.reasoning.as_deref(), expect.reasoning, "reasoning");
        assert_eq!(
            reply.finish_reason.as_deref(),
            expect.finish_reason,
            "finish_reason"
        );
        assert_eq!(reply.refusal, expect.refusal, "refusal");
        let usage = Usage {
            input_tokens: expect.usage.0,
            output_tokens: expect.usage.1,
        };
        assert_eq!(reply.usage, usage, "usage");
        assert_eq!(
            reply.model_version.as_deref(),
            expect.model_version,
            "model_version"
        );
        assert_eq!(reply.request_id.as_deref(), expect.request_id, "request_id");
    }

    pub struct ExpectError<'a> {
        pub code: Option<&'a str>,
        pub message_starts: &'a str,
        pub transient: bool,
        pub auth: bool,
        pub quota: bool,
        pub retry_delay: Option<Duration>,
        pub request_id: Option<&'a str>,
    }

    pub fn check_error(
        kind: ProviderKind,
        status: u16,
        headers: &[(&str, &str)],
        fixture: &str,
        expect: ExpectError,
    ) {
        let error =
            parse_response(kind, &response(status, headers, fixture)).expect_err("is an error");
        assert_eq!(error.kind, ErrorKind::Http { status });
        assert_eq!(error.status, Some(status));
        assert_eq!(error.provider_code.as_deref(), expect.code, "code");
        assert!(
            error.message.starts_with(expect.message_starts),
            "message {:?} should start with {:?}",
            error.message,
            expect.message_starts
        );
        assert_eq!(error.is_transient(), expect.transient, "transient");
        assert_eq!(error.is_auth(), expect.auth, "auth");
        assert_eq!(error.quota_exhausted, expect.quota, "quota");
        assert_eq!(
            error.retry_delay(SystemTime::UNIX_EPOCH),
            expect.retry_delay,
            "retry delay"
        );
        assert_eq!(error.request_id.as_deref(), expect.request_id, "request id");
        assert_eq!(
            error.body.as_deref(),
            Some(fixture),
            "body kept verbatim when short"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn retry_after_accepts_delta_seconds_including_fractions() {
        let now = SystemTime::UNIX_EPOCH;
        let cases: [(&str, Option<Duration>); 10] = [
            ("120", secs(120)),
            ("0", secs(0)),
            (" 7 ", secs(7)),
            ("1.5", Some(Duration::from_millis(1500))),
            ("-5", None),
            ("+5", None),
            ("1e3", None),
            ("inf", None),
            ("NaN", None),
            ("99999999999999999999999999", None), // does not fit a Duration: no hint
        ];
        for (raw, expected) in cases {
            assert_eq!(retry_after_delay(raw, now), expected, "{raw:?}");
        }
    }

    #[test]
    fn retry_after_accepts_the_three_http_date_formats() {
        // RFC 9110 §5.6.7 gives the same instant in all three formats.
        let date = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let ten_before = date - Duration::from_secs(10);
        for raw in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(retry_after_delay(raw, ten_before), secs(10), "{raw:?}");
        }
        let later = date + Duration::from_secs(3600);
        assert_eq!(
            retry_after_delay("Sun, 06 Nov 1994 08:49:37 GMT", later),
            secs(0),
            "past date"
        );
        assert_eq!(retry_after_delay("tomorrow", ten_before), None);
        assert_eq!(retry_after_delay("", ten_before), None);
    }

    #[test]
    fn retry_after_ms_and_protobuf_durations() {
        assert_eq!(
            retry_after_ms_delay("250"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after_ms_delay("0.5"),
            Some(Duration::from_micros(500))
        );
        assert_eq!(retry_after_ms_delay("-1"), None);
        assert_eq!(protobuf_duration("22s"), secs(22));
        assert_eq!(
            protobuf_duration("0.250s"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(protobuf_duration("22"), None);
    }

    #[test]
    fn retry_delay_prefers_milliseconds_then_header_then_body() {
        let mut error = ProviderError::bare(ErrorKind::Http { status: 429 }, "slow down");
        assert_eq!(error.retry_delay(SystemTime::UNIX_EPOCH), None);
        error.retry_info_delay = Some("30s".into());
        assert_eq!(error.retry_delay(SystemTime::UNIX_EPOCH), secs(30));
        error.retry_after = Some("20".into());
        assert_eq!(error.retry_delay(SystemTime::UNIX_EPOCH), secs(20));
        error.retry_after_ms = Some("1500".into());
        assert_eq!(
            error.retry_delay(SystemTime::UNIX_EPOCH),
            Some(Duration::from_millis(1500))
        );
        error.retry_after_ms = Some("garbage".into());
        assert_eq!(
            error.retry_delay(SystemTime::UNIX_EPOCH),
            secs(20),
            "unparsable hint is skipped"
        );
    }

    #[test]
    fn transient_and_auth_classification_by_status() {
        // (status, transient, auth)
        let cases = [
            (400, false, false),
            (401, false, true),
            (402, false, false),
            (403, false, true),
            (404, false, false),
            (408, true, false),
            (409, true, false),
            (413, false, false),
            (422, false, false),
            (429, true, false),
            (500, true, false),
            (502, true, false),
            (503, true, false),
            (504, true, false),
            (529, true, false),
        ];
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
        ] {
            for (status, transient, auth) in cases {
                let error = parse_response(kind, &response(status, &[], "")).unwrap_err();
                assert_eq!(error.is_transient(), transient, "{kind:?} {status}");
                assert_eq!(error.is_auth(), auth, "{kind:?} {status}");
                assert_eq!(error.body, None);
                assert_eq!(
                    error.message,
                    format!("HTTP {status} without a provider error message")
                );
            }
        }
        assert!(ProviderError::transport("connection refused").is_transient());
        assert!(ProviderError::timeout("deadline").is_transient());
        assert!(!ProviderError::invalid_request("bad").is_transient());
    }

    #[test]
    fn non_json_error_body_is_kept_and_truncated_on_a_char_boundary() {
        let html = format!("<html>{}</html>", "é".repeat(3000));
        let error = parse_response(ProviderKind::OpenAi, &response(502, &[], &html)).unwrap_err();
        assert!(error.is_transient());
        let body = error.body.unwrap();
        assert!(body.ends_with("…[truncated]"));
        assert_eq!(
            body.chars().count(),
            ERROR_BODY_LIMIT + "…[truncated]".chars().count()
        );
        assert_eq!(error.message, "HTTP 502 without a provider error message");
    }

    #[test]
    fn fallback_error_messages_of_compatible_servers() {
        let cases = [
            (
                r#"{"error": "model 'llama9' not found"}"#,
                "model 'llama9' not found",
            ),
            (
                r#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#,
                "max_tokens is too large",
            ),
            (r#"{"detail": "Not Found"}"#, "Not Found"),
        ];
        for (body, message) in cases {
            let error = parse_response(ProviderKind::Sim, &response(400, &[], body)).unwrap_err();
            assert_eq!(error.message, message);
        }
    }

    #[test]
    fn invalid_2xx_answers() {
        // Not JSON at all (truncated by a proxy): transient.
        let cut = parse_response(
            ProviderKind::OpenAi,
            &response(200, &[], r#"{"id": "chatcmpl-1", "choi"#),
        )
        .unwrap_err();
        assert_eq!(cut.kind, ErrorKind::InvalidResponse { transient: true });
        assert_eq!(cut.status, Some(200));
        assert!(cut.is_transient());
        // Well-formed JSON of the wrong shape: permanent.
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
        ] {
            let wrong =
                parse_response(kind, &response(200, &[], r#"{"hello": "world"}"#)).unwrap_err();
            assert_eq!(
                wrong.kind,
                ErrorKind::InvalidResponse { transient: false },
                "{kind:?}"
            );
            assert!(
                wrong.message.starts_with("unexpected response shape"),
                "{}",
                wrong.message
            );
        }
        // An upstream error reported inside a 200 (OpenRouter style): classified by its code.
        let upstream =
            r#"{"error": {"code": 502, "message": "Upstream provider returned an error"}}"#;
        let e = parse_response(ProviderKind::OpenAi, &response(200, &[], upstream)).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::InvalidResponse { transient: true },
                "Upstream provider returned an error"
            )
        );
        let rejected = r#"{"error": {"code": 400, "message": "Invalid model"}}"#;
        let e = parse_response(ProviderKind::OpenAi, &response(200, &[], rejected)).unwrap_err();
        assert!(!e.is_transient());
    }

    #[test]
    fn display_names_kind_code_and_message() {
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let error = parse_response(ProviderKind::Anthropic, &response(529, &[], body)).unwrap_err();
        assert_eq!(error.to_string(), "HTTP 529 (overloaded_error): Overloaded");
        assert_eq!(
            ProviderError::timeout("no answer after 60 s").to_string(),
            "timeout: no answer after 60 s"
        );
    }

    #[test]
    fn merge_patch_matches_rfc_7396_appendix_a() {
        // The object-patch examples of RFC 7396 Appendix A (extra is always an object).
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (original, patch, expected) in cases {
            let mut target = original.clone();
            merge_patch(&mut target, patch.as_object().unwrap());
            assert_eq!(target, expected, "{original} + {patch}");
        }
    }

    #[test]
    fn urls_join_with_and_without_trailing_slash_and_under_a_gateway_prefix() {
        // (kind, base_url, model, expected url)
        let cases = [
            (
                ProviderKind::OpenAi,
                "https://api.openai.com/v1",
                "gpt-4o",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                ProviderKind::OpenAi,
                "https://api.openai.com/v1/",
                "gpt-4o",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                ProviderKind::Sim,
                "http://127.0.0.1:9000/v1//",
                "sim-1",
                "http://127.0.0.1:9000/v1/chat/completions",
            ),
            (
                ProviderKind::OpenAi,
                "https://gw.example.org/openai/v1",
                "gpt-4o",
                "https://gw.example.org/openai/v1/chat/completions",
            ),
            (
                ProviderKind::Anthropic,
                "https://api.anthropic.com",
                "claude-sonnet-4-5",
                "https://api.anthropic.com/v1/messages",
            ),
            (
                ProviderKind::Anthropic,
                "https://api.anthropic.com/",
                "claude-sonnet-4-5",
                "https://api.anthropic.com/v1/messages",
            ),
            (
                ProviderKind::Anthropic,
                "https://gw.example.org/anthropic/",
                "claude-sonnet-4-5",
                "https://gw.example.org/anthropic/v1/messages",
            ),
            (
                ProviderKind::Gemini,
                "https://generativelanguage.googleapis.com",
                "gemini-2.5-flash",
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            ),
            (
                ProviderKind::Gemini,
                "https://generativelanguage.googleapis.com/",
                "gemini-2.5-flash",
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            ),
            (
                ProviderKind::Gemini,
                "https://gw.example.org/google",
                "models/gemini-2.5-pro",
                "https://gw.example.org/google/v1beta/models/gemini-2.5-pro:generateContent",
            ),
            (
                ProviderKind::Gemini,
                "https://generativelanguage.googleapis.com",
                "tunedModels/my-tune-7",
                "https://generativelanguage.googleapis.com/v1beta/tunedModels/my-tune-7:generateContent",
            ),
        ];
        for (kind, base, model, url) in cases {
            let built = build_request(
                &endpoint(kind, base, model, json!({})),
                &fixture_chat_request(),
            )
            .unwrap();
            assert_eq!(built.url, url, "{kind:?} {base}");
        }
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
            ProviderKind::Sim,
        ] {
            assert!(default_base_url(kind).starts_with("http"));
            assert!(!default_base_url(kind).ends_with('/'));
        }
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
            ProviderKind::Sim,
        ] {
            let endpoint = endpoint(kind, default_base_url(kind), "m", json!({"x": 1}));
            let built = build_request(&endpoint, &fixture_chat_request()).unwrap();
            for printed in [
                format!("{endpoint:?}"),
                format!("{endpoint:#?}"),
                format!("{built:?}"),
                format!("{built:#?}"),
            ] {
                assert!(!printed.contains("SECRET"), "{kind:?}: {printed}");
                assert!(printed.contains("[redacted]"), "{kind:?}: {printed}");
            }
            // The key is really sent, and really absent from serialised endpoints.
            assert!(
                built
                    .headers
                    .iter()
                    .any(|(_, v)| v.contains("sk-test-SECRET-123")),
                "{kind:?}"
            );
            assert!(!serde_json::to_string(&endpoint).unwrap().contains("SECRET"));
        }
    }

    #[test]
    fn no_key_no_auth_header() {
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
            ProviderKind::Sim,
        ] {
            for key in [None, Some(""), Some("   ")] {
                let mut endpoint = endpoint(kind, default_base_url(kind), "m", json!({}));
                endpoint.api_key = key.map(str::to_owned);
                let built = build_request(&endpoint, &fixture_chat_request()).unwrap();
                assert!(
                    built
                        .headers
                        .iter()
                        .all(|(n, _)| !SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s))),
                    "{kind:?} {key:?}: {:?}",
                    built.headers
                );
            }
        }
    }

    #[test]
    fn endpoint_deserialises_from_config_with_lowercase_kind() {
        let endpoint: Endpoint = serde_json::from_value(json!({
            "kind": "anthropic", "base_url": "https://api.anthropic.com", "model": "claude-sonnet-4-5",
            "api_key": "k", "extra": {"thinking": {"type": "enabled", "budget_tokens": 2000}}
        }))
        .unwrap();
        assert_eq!(endpoint.kind, ProviderKind::Anthropic);
        assert_eq!(endpoint.api_key.as_deref(), Some("k"));
        let kinds = [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
            ProviderKind::Sim,
        ];
        for (name, kind) in ["openai", "anthropic", "gemini", "sim"]
            .into_iter()
            .zip(kinds)
        {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(name.parse::<ProviderKind>(), Ok(kind));
            assert_eq!(kind.to_string(), name);
        }
        assert!("OpenAI".parse::<ProviderKind>().is_err());
        assert_eq!(
            serde_json::to_string(&Role::Assistant).unwrap(),
            "\"assistant\""
        );
    }

    #[test]
    fn invalid_chat_requests_are_rejected_before_sending() {
        let good = fixture_chat_request();
        let mut empty = good.clone();
        empty.messages.clear();
        let mut starts_with_assistant = good.clone();
        starts_with_assistant.messages.remove(0);
        let mut two_users = good.clone();
        two_users.messages[1].role = Role::User;
        let mut system_turn = good.clone();
        system_turn.messages[0].role = Role::System;
        let mut nan = good.clone();
        nan.temperature = Some(f64::NAN);
        let mut infinite = good.clone();
        infinite.temperature = Some(f64::INFINITY);
        for kind in [
            ProviderKind::OpenAi,
            ProviderKind::Anthropic,
            ProviderKind::Gemini,
        ] {
            let endpoint = endpoint(kind, default_base_url(kind), "m", json!({}));
            for bad in [
                &empty,
                &starts_with_assistant,
                &two_users,
                &system_turn,
                &nan,
                &infinite,
            ] {
                let error = build_request(&endpoint, bad).unwrap_err();
                assert_eq!(error.kind, ErrorKind::InvalidRequest, "{kind:?} {bad:?}");
                assert!(!error.is_transient());
            }
            let mut no_scheme = endpoint.clone();
            no_scheme.base_url = "api.example.org/v1".into();
            assert_eq!(
                build_request(&no_scheme, &good).unwrap_err().kind,
                ErrorKind::InvalidRequest
            );
            let mut no_model = endpoint.clone();
            no_model.model = " ".into();
            assert_eq!(
                build_request(&no_model, &good).unwrap_err().kind,
                ErrorKind::InvalidRequest
            );
        }
    }

    #[test]
    fn header_lookup_ignores_case() {
        let headers = vec![("X-Request-ID".to_string(), "req_1".to_string())];
        assert_eq!(header(&headers, "x-request-id"), Some("req_1"));
        assert_eq!(header(&headers, "request-id"), None);
    }
}
