//! The simulated models over HTTP: an OpenAI-compatible `POST /v1/chat/completions` and
//! `GET /v1/models`, an Anthropic-compatible `POST /v1/messages`, a Gemini-compatible
//! `POST /v1beta/models/{model}:generateContent`, and the three providers' batch APIs
//! (`super::batch`).
//!
//! The runner starts this server in-process on an ephemeral loopback port for `provider = "sim"`
//! models, and talks to it over real HTTP like to any provider; `blindfold sim serve` runs it on
//! its own, with injected latency and faults for tests and benchmarks. Answers are deterministic
//! in (model, request content, seed); latency jitter and fault draws come from the server's seed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::batch::{self, BatchFaults, BatchStore};
use super::model::{Role, SimModel, SimReply, approx_tokens, respond};

/// Options of a simulated-model server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimOptions {
    /// Mean added latency per request.
    pub latency: Duration,
    /// Injected failures: (HTTP status, probability), drawn in order per request.
    pub faults: Vec<(u16, f64)>,
    pub seed: u64,
    /// How the batch APIs behave.
    pub batch: BatchFaults,
}

/// Parses `429=0.1,500=0.05`.
pub fn parse_fail_rate(spec: &str) -> Result<Vec<(u16, f64)>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (status, p) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}': expected STATUS=PROBABILITY, e.g. 429=0.1"))?;
        let status: u16 = status
            .trim()
            .parse()
            .ok()
            .filter(|s| (400..600).contains(s))
            .ok_or_else(|| format!("'{part}': the status must be an HTTP error code (400-599)"))?;
        let p: f64 = p
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..=1.0).contains(p))
            .ok_or_else(|| format!("'{part}': the probability must be between 0 and 1"))?;
        out.push((status, p));
    }
    let total: f64 = out.iter().map(|(_, p)| p).sum();
    if total > 1.0 + 1e-9 {
        return Err(format!(
            "the failure probabilities add up to {total}, more than 1"
        ));
    }
    Ok(out)
}

pub(super) struct AppState {
    options: SimOptions,
    rng: Mutex<ChaCha8Rng>,
    requests: AtomicU64,
    pub(super) batches: BatchStore,
}

/// A running server; dropping the handle does not stop it (it lives as long as the runtime).
pub struct SimServer {
    pub addr: SocketAddr,
}

impl SimServer {
    /// The OpenAI-style base URL of this server (`http://ADDR/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

pub fn router(options: SimOptions) -> Router {
    let state = Arc::new(AppState {
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(options.seed)),
        batches: BatchStore::new(options.batch.clone(), options.seed),
        options,
        requests: AtomicU64::new(0),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/messages", post(messages))
        .route("/v1/models", get(list_models))
        .merge(super::batch::routes())
        .route("/v1beta/{*rest}", post(gemini_post).get(batch::gemini_get))
        .fallback(not_found)
        .with_state(state)
}

/// Binds `addr` and serves in the background of the current tokio runtime.
pub async fn start(addr: SocketAddr, options: SimOptions) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(options)).await;
    });
    Ok(SimServer { addr })
}

/// Added latency and an injected fault, if one is drawn for this request.
async fn delay_and_fault(state: &AppState) -> Option<(u16, f64)> {
    let (sleep, draw) = {
        let mut rng = state.rng.lock().expect("not poisoned");
        let jitter = 0.8 + 0.4 * rng.random::<f64>();
        (state.options.latency.mul_f64(jitter), rng.random::<f64>())
    };
    state.requests.fetch_add(1, Ordering::Relaxed);
    if !sleep.is_zero() {
        tokio::time::sleep(sleep).await;
    }
    let mut cumulative = 0.0;
    for &(status, p) in &state.options.faults {
        cumulative += p;
        if draw < cumulative {
            return Some((status, draw));
        }
    }
    None
}

fn fault_response(status: u16, anthropic: bool) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status {
        429 => "Rate limit reached for the simulated model. Please retry after 1 second.",
        500..=599 => "The simulated server had an error while processing your request.",
        _ => "Injected failure.",
    };
    let body = if anthropic {
        let kind = match status {
            429 => "rate_limit_error",
            529 => "overloaded_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": message}})
    } else {
        let kind = if status == 429 {
            "requests"
        } else {
            "server_error"
        };
        json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
    };
    let mut response = (code, Json(body)).into_response();
    if status == 429 {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    response
}

/// The request body as JSON, or the provider's usual 400 error body (not axum's plain text).
fn json_body(bytes: &[u8], anthropic: bool) -> Result<Value, Box<Response>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(error_response(
            StatusCode::BAD_REQUEST,
            format!("the request body is not valid JSON: {e}"),
            anthropic,
        ))
    })
}

pub(super) fn error_response(status: StatusCode, message: String, anthropic: bool) -> Response {
    let body = if anthropic {
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
    } else {
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
    };
    (status, Json(body)).into_response()
}

/// Text of a message's content: a string, or an array of parts whose text parts are joined.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The request fields every wire format shares, extracted and checked.
pub(super) struct Parsed {
    model: SimModel,
    system: Option<String>,
    turns: Vec<(Role, String)>,
    max_tokens: Option<u64>,
    seed: u64,
}

/// A rejected request: the status and the message for the error body.
pub(super) type Rejection = (StatusCode, String);

fn sim_model(name: &str) -> Result<SimModel, Rejection> {
    name.parse().map_err(|_| {
        (
            StatusCode::NOT_FOUND,
            format!("The model `{name}` does not exist (simulated models: sim-alpha, sim-beta, sim-gamma)"),
        )
    })
}

pub(super) fn parse_body(body: &Value, anthropic: bool) -> Result<Parsed, Rejection> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    let model_name = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`model` is required".into()))?;
    let model = sim_model(model_name)?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` must be an array".into()))?;
    let mut system = body
        .get("system")
        .map(content_text)
        .filter(|s| !s.is_empty());
    let mut turns = Vec::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let text = m.get("content").map(content_text).unwrap_or_default();
        match role {
            "system" | "developer" if !anthropic => {
                system = Some(match system {
                    Some(s) => format!("{s}\n{text}"),
                    None => text,
                })
            }
            "user" => turns.push((Role::User, text)),
            "assistant" => turns.push((Role::Assistant, text)),
            other => return Err(bad(format!("unsupported message role '{other}'"))),
        }
    }
    if turns.is_empty() {
        return Err(bad(
            "`messages` must contain at least one user message".into()
        ));
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err(bad(
            "`stream`: the simulated models answer only non-streaming requests".into(),
        ));
    }
    let max_tokens = match body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
    {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => return Err(bad(format!("max_tokens: must be an integer >= 1, got {v}"))),
        },
    };
    if anthropic && max_tokens.is_none() {
        return Err(bad("max_tokens: Field required".into()));
    }
    Ok(Parsed {
        model,
        system,
        turns,
        max_tokens,
        seed: body.get("seed").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Runs the model and applies `max_tokens` (cutting the text, as a real model stops).
fn generate(parsed: &Parsed) -> (SimReply, bool) {
    let turns: Vec<(Role, &str)> = parsed.turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
    let mut reply = respond(parsed.model, parsed.system.as_deref(), &turns, parsed.seed);
    let mut truncated = false;
    if let Some(max) = parsed.max_tokens
        && reply.output_tokens > max
    {
        let keep = (max as usize).saturating_mul(4);
        reply.text = reply.text.chars().take(keep).collect();
        reply.output_tokens = approx_tokens(&reply.text);
        truncated = true;
    }
    (reply, truncated)
}

/// A stable id for a request: derived from its content, like everything else here.
fn request_id(prefix: &str, parsed: &Parsed, reply: &SimReply) -> String {
    let digest = crate::hash::sha256_hex(
        format!("{}|{}|{}", parsed.model.name(), parsed.seed, reply.text).as_bytes(),
    );
    format!("{prefix}{}", &digest[..24])
}

async fn chat_completions(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let body = match json_body(&body, false) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    if let Some((status, _)) = delay_and_fault(&state).await {
        return fault_response(status, false);
    }
    let parsed = match parse_body(&body, false) {
        Ok(p) => p,
        Err((status, message)) => return error_response(status, message, false),
    };
    let (id, body) = openai_completion(&parsed);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    (headers, Json(body)).into_response()
}

/// The chat completion a request gets, and its id.
pub(super) fn openai_completion(parsed: &Parsed) -> (String, Value) {
    let (reply, truncated) = generate(parsed);
    let id = request_id("chatcmpl-sim-", parsed, &reply);
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": 1_778_112_000u64,
        "model": reply.model_version,
        "system_fingerprint": "fp_sim",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": reply.text, "refusal": null},
            "logprobs": null,
            "finish_reason": if truncated { "length" } else { "stop" },
        }],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    });
    (id, body)
}

async fn messages(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let body = match json_body(&body, true) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    if let Some((status, _)) = delay_and_fault(&state).await {
        return fault_response(status, true);
    }
    let parsed = match parse_body(&body, true) {
        Ok(p) => p,
        Err((status, message)) => return error_response(status, message, true),
    };
    let (id, body) = anthropic_message(&parsed);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("req_{}", &id[8..])) {
        headers.insert("request-id", value);
    }
    (headers, Json(body)).into_response()
}

/// The Messages API answer a request gets, and its id.
pub(super) fn anthropic_message(parsed: &Parsed) -> (String, Value) {
    let (reply, truncated) = generate(parsed);
    let id = request_id("msg_sim_", parsed, &reply);
    let body = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": reply.model_version,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": if truncated { "max_tokens" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    });
    (id, body)
}

/// `POST /v1beta/models/{model}:generateContent` (live) and the Gemini batch calls.
async fn gemini_post(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(rest): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(model) = rest
        .strip_prefix("models/")
        .and_then(|r| r.strip_suffix(":generateContent"))
    else {
        return batch::gemini_post(state, &rest, &headers, &body);
    };
    let body = match json_body(&body, false) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    if let Some((status, _)) = delay_and_fault(&state).await {
        return fault_response(status, false);
    }
    match parse_gemini(&body, model) {
        Ok(parsed) => Json(gemini_response(&parsed)).into_response(),
        Err((status, message)) => gemini_error(status, &message),
    }
}

/// A `google.rpc.Status` error body.
pub(super) fn gemini_error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500..=599 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    };
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, Json(body)).into_response()
}

/// A Gemini `GenerateContentRequest` for `model` (a bare name or `models/NAME`).
pub(super) fn parse_gemini(body: &Value, model: &str) -> Result<Parsed, Rejection> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    let model = sim_model(model.strip_prefix("models/").unwrap_or(model))?;
    let texts = |content: &Value| -> String {
        content
            .get("parts")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    let system = body
        .get("systemInstruction")
        .map(texts)
        .filter(|s| !s.is_empty());
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad("* GenerateContentRequest.contents: contents is not specified".into())
        })?;
    let mut turns = Vec::new();
    for content in contents {
        let role = match content
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
        {
            "user" => Role::User,
            "model" => Role::Assistant,
            other => {
                return Err(bad(format!(
                    "Please use a valid role: user, model (got '{other}')"
                )));
            }
        };
        turns.push((role, texts(content)));
    }
    if turns.is_empty() {
        return Err(bad(
            "* GenerateContentRequest.contents: contents is not specified".into(),
        ));
    }
    let config = body.get("generationConfig");
    let max_tokens = match config.and_then(|c| c.get("maxOutputTokens")) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(bad(format!(
                    "maxOutputTokens must be a positive integer, got {v}"
                )));
            }
        },
    };
    Ok(Parsed {
        model,
        system,
        turns,
        max_tokens,
        seed: config
            .and_then(|c| c.get("seed"))
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// The `GenerateContentResponse` a request gets.
pub(super) fn gemini_response(parsed: &Parsed) -> Value {
    let (reply, truncated) = generate(parsed);
    let id = request_id("sim", parsed, &reply);
    json!({
        "candidates": [{
            "content": {"parts": [{"text": reply.text}], "role": "model"},
            "finishReason": if truncated { "MAX_TOKENS" } else { "STOP" },
            "index": 0,
        }],
        "usageMetadata": {
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.input_tokens + reply.output_tokens,
        },
        "modelVersion": reply.model_version,
        "responseId": id,
    })
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!(
            "no route {}: the simulated models serve POST /v1/chat/completions, POST /v1/messages, GET /v1/models, POST /v1beta/models/MODEL:generateContent and the batch APIs",
            uri.path()
        ),
        false,
    )
}

async fn list_models() -> Json<Value> {
    let data: Vec<Value> = SimModel::ALL
        .iter()
        .map(|m| json!({"id": m.name(), "object": "model", "created": 1_778_112_000u64, "owned_by": "blindfold-sim"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_rates_parse_and_are_checked() {
        assert_eq!(
            parse_fail_rate("429=0.1, 500=0.05").unwrap(),
            vec![(429, 0.1), (500, 0.05)]
        );
        assert!(parse_fail_rate("429").is_err());
        assert!(parse_fail_rate("200=0.1").is_err());
        assert!(parse_fail_rate("500=1.5").is_err());
        assert!(parse_fail_rate("500=0.6,429=0.6").is_err());
        assert!(parse_fail_rate("").unwrap().is_empty());
    }
}
