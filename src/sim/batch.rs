//! The simulated models behind the three providers' batch APIs, so that batch mode is tested
//! offline over loopback, crashes included: OpenAI (`/v1/files` with purpose `batch`,
//! `/v1/batches`), Anthropic Message Batches (`/v1/messages/batches`, results as JSONL) and
//! Gemini batch mode (`models/{model}:batchGenerateContent`, `/v1beta/batches`).
//!
//! A batch completes `delay` after its creation; each request is answered exactly as the live
//! endpoint would answer it. Faults are drawn from the server's seed: a share of requests fail
//! with a retryable server error, and the first batches can fail as a whole or expire with half
//! their requests done. Every submission is recorded (`GET /_sim/batches`), so a test can check
//! that no request was ever submitted twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Value, json};

use super::server::{
    AppState, anthropic_message, error_response, gemini_error, gemini_response, openai_completion,
    parse_body, parse_gemini,
};

/// How the simulated batch APIs behave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchFaults {
    /// Time from a batch's creation to its end.
    pub delay: Duration,
    /// Probability that a request fails (HTTP 500 inside the batch).
    pub fail_rate: f64,
    /// The first N batches fail as a whole.
    pub fail_first: u32,
    /// The next N batches expire with half their requests done.
    pub expire_first: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    OpenAi,
    Anthropic,
    Gemini,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Complete,
    Fail,
    Expire,
}

struct Request {
    custom_id: String,
    body: Value,
    fails: bool,
}

/// What one request came to.
enum Item {
    Ok(Value),
    /// Failed with this HTTP status and message (`invalid` when the request itself was bad).
    Error {
        status: u16,
        message: String,
        invalid: bool,
    },
    Expired,
    Cancelled,
}

struct SimBatch {
    number: u64,
    id: String,
    api: Api,
    created: Instant,
    created_unix: i64,
    model: String,
    requests: Vec<Request>,
    metadata: Value,
    input_file_id: String,
    fate: Fate,
    /// Why the input was rejected (the batch fails at once).
    invalid: Option<String>,
    cancelled_unix: Option<i64>,
    done: Option<Done>,
}

struct Done {
    ended_unix: i64,
    items: Vec<Item>,
    output_file: Option<String>,
    error_file: Option<String>,
}

/// One submission, as `GET /_sim/batches` reports it.
#[derive(Debug, Clone, Serialize)]
struct Submission {
    api: Api,
    id: String,
    model: String,
    custom_ids: Vec<String>,
}

struct Inner {
    files: HashMap<String, Vec<u8>>,
    batches: Vec<SimBatch>,
    submissions: Vec<Submission>,
    next_file: u64,
    rng: ChaCha8Rng,
}

/// The batch APIs' state: uploaded files, batches and the log of submissions.
pub struct BatchStore {
    faults: BatchFaults,
    inner: Mutex<Inner>,
}

impl BatchStore {
    pub fn new(faults: BatchFaults, seed: u64) -> Self {
        BatchStore {
            faults,
            inner: Mutex::new(Inner {
                files: HashMap::new(),
                batches: Vec::new(),
                submissions: Vec::new(),
                next_file: 1,
                rng: ChaCha8Rng::seed_from_u64(crate::hash::derive_seed(&[
                    "sim-batch",
                    &seed.to_string(),
                ])),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("not poisoned")
    }
}

impl Inner {
    fn add_file(&mut self, bytes: Vec<u8>) -> String {
        let id = format!("file-sim{:04}", self.next_file);
        self.next_file += 1;
        self.files.insert(id.clone(), bytes);
        id
    }

    /// Records a new batch; its fate and its requests' failures are drawn here.
    fn create(
        &mut self,
        faults: &BatchFaults,
        api: Api,
        model: String,
        requests: Vec<(String, Value)>,
        metadata: Value,
    ) -> usize {
        let number = self.batches.len() as u64 + 1;
        let id = match api {
            Api::OpenAi => format!("batch_sim{number:04}"),
            Api::Anthropic => format!("msgbatch_sim{number:04}"),
            Api::Gemini => format!("batches/sim{number:04}"),
        };
        let fate = if number <= u64::from(faults.fail_first) {
            Fate::Fail
        } else if number <= u64::from(faults.fail_first + faults.expire_first) {
            Fate::Expire
        } else {
            Fate::Complete
        };
        let requests: Vec<Request> = requests
            .into_iter()
            .map(|(custom_id, body)| Request {
                custom_id,
                body,
                fails: self.rng.random::<f64>() < faults.fail_rate,
            })
            .collect();
        self.submissions.push(Submission {
            api,
            id: id.clone(),
            model: model.clone(),
            custom_ids: requests.iter().map(|r| r.custom_id.clone()).collect(),
        });
        self.batches.push(SimBatch {
            number,
            id,
            api,
            created: Instant::now(),
            created_unix: unix_now(),
            model,
            requests,
            metadata,
            input_file_id: String::new(),
            fate,
            invalid: None,
            cancelled_unix: None,
            done: None,
        });
        self.batches.len() - 1
    }

    fn find(&mut self, api: Api, id: &str) -> Option<usize> {
        self.batches.iter().position(|b| b.api == api && b.id == id)
    }

    /// Ends the batch if its time has come, answering its requests once.
    fn settle(&mut self, index: usize, delay: Duration) {
        let batch = &self.batches[index];
        let over = batch.cancelled_unix.is_some()
            || batch.invalid.is_some()
            || batch.created.elapsed() >= delay;
        if batch.done.is_some() || !over {
            return;
        }
        let n = batch.requests.len();
        let items: Vec<Item> = batch
            .requests
            .iter()
            .enumerate()
            .map(|(i, request)| {
                if batch.cancelled_unix.is_some() {
                    Item::Cancelled
                } else if batch.fate == Fate::Fail {
                    Item::Error {
                        status: 500,
                        message: "the simulated server failed the whole batch".into(),
                        invalid: false,
                    }
                } else if batch.fate == Fate::Expire && i >= n.div_ceil(2) {
                    Item::Expired
                } else if request.fails {
                    Item::Error {
                        status: 500,
                        message: "The simulated server had an error processing this request."
                            .into(),
                        invalid: false,
                    }
                } else {
                    answer(batch.api, &batch.model, &request.body)
                }
            })
            .collect();
        let mut done = Done {
            ended_unix: unix_now(),
            items,
            output_file: None,
            error_file: None,
        };
        if batch.api == Api::OpenAi && batch.invalid.is_none() && batch.fate != Fate::Fail {
            let (output, errors) = openai_files(batch, &done.items);
            if !output.is_empty() {
                done.output_file = Some(self.add_file(output));
            }
            if !errors.is_empty() {
                done.error_file = Some(self.add_file(errors));
            }
        }
        self.batches[index].done = Some(done);
    }
}

/// The live answer to one request of a batch.
fn answer(api: Api, model: &str, body: &Value) -> Item {
    let parsed = match api {
        Api::OpenAi => parse_body(body, false),
        Api::Anthropic => parse_body(body, true),
        Api::Gemini => parse_gemini(body, model),
    };
    match parsed {
        Ok(parsed) => Item::Ok(match api {
            Api::OpenAi => openai_completion(&parsed).1,
            Api::Anthropic => anthropic_message(&parsed).1,
            Api::Gemini => gemini_response(&parsed),
        }),
        Err((status, message)) => Item::Error {
            status: status.as_u16(),
            message,
            invalid: true,
        },
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(super) fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/v1/files", post(openai_upload))
        .route("/v1/files/{id}/content", get(openai_file))
        .route("/v1/batches", post(openai_create).get(openai_list))
        .route("/v1/batches/{id}", get(openai_get))
        .route("/v1/batches/{id}/cancel", post(openai_cancel))
        .route(
            "/v1/messages/batches",
            post(anthropic_create).get(anthropic_list),
        )
        .route("/v1/messages/batches/{id}", get(anthropic_get))
        .route("/v1/messages/batches/{id}/cancel", post(anthropic_cancel))
        .route("/v1/messages/batches/{id}/results", get(anthropic_results))
        .route("/_sim/batches", get(submissions))
}

async fn submissions(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!(state.batches.lock().submissions))
}

fn openai_error(status: StatusCode, message: impl Into<String>) -> Response {
    error_response(status, message.into(), false)
}

fn anthropic_error(status: StatusCode, message: impl Into<String>) -> Response {
    error_response(status, message.into(), true)
}

/// Newest first, `limit` at a time after the item with id `after`.
fn page<'a>(
    batches: &'a [SimBatch],
    api: Api,
    after: Option<&str>,
    limit: usize,
) -> (Vec<&'a SimBatch>, bool) {
    let mut newest: Vec<&SimBatch> = batches.iter().filter(|b| b.api == api).rev().collect();
    if let Some(after) = after
        && let Some(at) = newest.iter().position(|b| b.id == after)
    {
        newest.drain(..=at);
    }
    let more = newest.len() > limit;
    newest.truncate(limit);
    (newest, more)
}

fn limit(query: &HashMap<String, String>, key: &str) -> usize {
    query
        .get(key)
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, 1000)
}

// ---- OpenAI ----

async fn openai_upload(State(state): State<Arc<AppState>>, mut form: Multipart) -> Response {
    let (mut purpose, mut file) = (None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("purpose") => purpose = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.jsonl").to_string();
                file = field.bytes().await.ok().map(|b| (name, b.to_vec()));
            }
            _ => {}
        }
    }
    let Some((name, bytes)) = file else {
        return openai_error(StatusCode::BAD_REQUEST, "'file' is a required property");
    };
    if purpose.as_deref() != Some("batch") {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "the simulated server accepts only files with purpose 'batch'",
        );
    }
    let size = bytes.len();
    let id = state.batches.lock().add_file(bytes);
    Json(
        json!({"id": id, "object": "file", "bytes": size, "created_at": unix_now(),
        "filename": name, "purpose": "batch"}),
    )
    .into_response()
}

async fn openai_file(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.batches.lock().files.get(&id) {
        Some(bytes) => bytes.clone().into_response(),
        None => openai_error(StatusCode::NOT_FOUND, format!("No such File object: {id}")),
    }
}

/// The requests of an input file, or why the file is invalid.
fn openai_lines(bytes: &[u8]) -> Result<Vec<(String, Value)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_string())?;
    let mut seen = HashSet::new();
    let mut requests = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let json: Value = serde_json::from_str(line)
            .map_err(|_| format!("invalid_json_line: line {} is not valid JSON", i + 1))?;
        let custom_id = json
            .get("custom_id")
            .and_then(Value::as_str)
            .ok_or(format!(
                "missing_required_parameter: line {}: custom_id",
                i + 1
            ))?;
        if !seen.insert(custom_id.to_string()) {
            return Err(format!(
                "duplicate_custom_id: line {}: the custom_id '{custom_id}' is not unique",
                i + 1
            ));
        }
        if json.get("method").and_then(Value::as_str) != Some("POST")
            || json.get("url").and_then(Value::as_str) != Some("/v1/chat/completions")
        {
            return Err(format!(
                "invalid_url: line {}: requests must POST to /v1/chat/completions",
                i + 1
            ));
        }
        let body = json
            .get("body")
            .filter(|b| b.is_object())
            .ok_or(format!("missing_required_parameter: line {}: body", i + 1))?;
        requests.push((custom_id.to_string(), body.clone()));
    }
    if requests.is_empty() {
        return Err("empty_file: the input file has no requests".into());
    }
    Ok(requests)
}

async fn openai_create(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "the request body is not valid JSON",
        );
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("");
    if field("endpoint") != "/v1/chat/completions" {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "the simulated server batches only /v1/chat/completions",
        );
    }
    if field("completion_window") != "24h" {
        return openai_error(StatusCode::BAD_REQUEST, "completion_window must be '24h'");
    }
    let file_id = field("input_file_id").to_string();
    let store = &state.batches;
    let mut inner = store.lock();
    let Some(bytes) = inner.files.get(&file_id).cloned() else {
        return openai_error(
            StatusCode::NOT_FOUND,
            format!("No such File object: {file_id}"),
        );
    };
    let metadata = body.get("metadata").cloned().unwrap_or(Value::Null);
    let (requests, invalid) = match openai_lines(&bytes) {
        Ok(requests) => (requests, None),
        Err(reason) => (Vec::new(), Some(reason)),
    };
    let model = requests
        .first()
        .and_then(|(_, b)| b.get("model"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let index = inner.create(&store.faults, Api::OpenAi, model, requests, metadata);
    inner.batches[index].input_file_id = file_id;
    inner.batches[index].invalid = invalid;
    inner.settle(index, store.faults.delay);
    Json(openai_batch(&inner.batches[index])).into_response()
}

fn openai_batch(b: &SimBatch) -> Value {
    let n = b.requests.len();
    let (status, errors) = match (&b.done, &b.invalid) {
        (_, Some(reason)) => {
            let (code, message) = reason.split_once(": ").unwrap_or(("invalid", reason));
            (
                "failed",
                json!({"object": "list", "data": [{"code": code, "message": message, "param": null, "line": null}]}),
            )
        }
        (None, None) => ("in_progress", Value::Null),
        (Some(_), None) if b.cancelled_unix.is_some() => ("cancelled", Value::Null),
        (Some(_), None) if b.fate == Fate::Fail => (
            "failed",
            json!({"object": "list", "data": [{"code": "batch_failed",
                "message": "The simulated server failed this batch (--batch-fail-first).",
                "param": null, "line": null}]}),
        ),
        (Some(_), None) if b.fate == Fate::Expire => ("expired", Value::Null),
        (Some(_), None) => ("completed", Value::Null),
    };
    let (completed, failed) = match &b.done {
        Some(done) if b.invalid.is_none() => {
            let ok = done
                .items
                .iter()
                .filter(|i| matches!(i, Item::Ok(_)))
                .count();
            (ok, n - ok)
        }
        _ => (0, 0),
    };
    let ended = b.done.as_ref().map(|d| d.ended_unix);
    json!({
        "id": b.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": errors,
        "input_file_id": b.input_file_id,
        "completion_window": "24h",
        "status": status,
        "output_file_id": b.done.as_ref().and_then(|d| d.output_file.clone()),
        "error_file_id": b.done.as_ref().and_then(|d| d.error_file.clone()),
        "created_at": b.created_unix,
        "in_progress_at": b.created_unix,
        "expires_at": b.created_unix + 86_400,
        "finalizing_at": ended,
        "completed_at": ended.filter(|_| status == "completed"),
        "failed_at": ended.filter(|_| status == "failed"),
        "expired_at": ended.filter(|_| status == "expired"),
        "cancelling_at": b.cancelled_unix,
        "cancelled_at": ended.filter(|_| status == "cancelled"),
        "request_counts": {"total": n, "completed": completed, "failed": failed},
        "metadata": b.metadata,
    })
}

/// The output and error files of an ended batch.
fn openai_files(b: &SimBatch, items: &[Item]) -> (Vec<u8>, Vec<u8>) {
    let (mut output, mut errors) = (Vec::new(), Vec::new());
    for (i, (request, item)) in b.requests.iter().zip(items).enumerate() {
        let line_id = format!("batch_req_sim{:04}_{i}", b.number);
        let request_id = format!("req_sim{:04}_{i}", b.number);
        let (line, ok) = match item {
            Item::Ok(body) => (
                json!({"id": line_id, "custom_id": request.custom_id,
                    "response": {"status_code": 200, "request_id": request_id, "body": body},
                    "error": null}),
                true,
            ),
            Item::Error {
                status,
                message,
                invalid,
            } => (
                json!({"id": line_id, "custom_id": request.custom_id,
                    "response": {"status_code": status, "request_id": request_id, "body": {"error": {
                        "message": message,
                        "type": if *invalid { "invalid_request_error" } else { "server_error" },
                        "param": null, "code": null}}},
                    "error": null}),
                false,
            ),
            Item::Expired | Item::Cancelled => {
                let (code, message) = if matches!(item, Item::Expired) {
                    (
                        "batch_expired",
                        "This request could not be executed before the completion window expired.",
                    )
                } else {
                    (
                        "batch_cancelled",
                        "This request was not executed because the batch was cancelled.",
                    )
                };
                (
                    json!({"id": line_id, "custom_id": request.custom_id, "response": null,
                        "error": {"code": code, "message": message}}),
                    false,
                )
            }
        };
        let file = if ok { &mut output } else { &mut errors };
        file.extend_from_slice(line.to_string().as_bytes());
        file.push(b'\n');
    }
    (output, errors)
}

fn openai_lookup(state: &AppState, id: &str, cancel: bool) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    let Some(index) = inner.find(Api::OpenAi, id) else {
        return openai_error(
            StatusCode::NOT_FOUND,
            format!("No batch found with id '{id}'."),
        );
    };
    if cancel && inner.batches[index].done.is_none() {
        inner.batches[index].cancelled_unix = Some(unix_now());
    }
    inner.settle(index, store.faults.delay);
    Json(openai_batch(&inner.batches[index])).into_response()
}

async fn openai_get(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    openai_lookup(&state, &id, false)
}

async fn openai_cancel(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    openai_lookup(&state, &id, true)
}

async fn openai_list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    for i in 0..inner.batches.len() {
        inner.settle(i, store.faults.delay);
    }
    let (batches, more) = page(
        &inner.batches,
        Api::OpenAi,
        query.get("after").map(String::as_str),
        limit(&query, "limit"),
    );
    let data: Vec<Value> = batches.iter().map(|b| openai_batch(b)).collect();
    Json(json!({"object": "list", "data": data,
        "first_id": batches.first().map(|b| b.id.clone()),
        "last_id": batches.last().map(|b| b.id.clone()),
        "has_more": more}))
    .into_response()
}

// ---- Anthropic ----

fn valid_custom_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn anthropic_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return anthropic_error(
            StatusCode::BAD_REQUEST,
            "the request body is not valid JSON",
        );
    };
    let Some(entries) = body
        .get("requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
    else {
        return anthropic_error(
            StatusCode::BAD_REQUEST,
            "requests: at least one request is required",
        );
    };
    let mut seen = HashSet::new();
    let mut requests = Vec::new();
    for entry in entries {
        let custom_id = entry.get("custom_id").and_then(Value::as_str).unwrap_or("");
        if !valid_custom_id(custom_id) {
            return anthropic_error(
                StatusCode::BAD_REQUEST,
                format!("requests: custom_id '{custom_id}' must match ^[a-zA-Z0-9_-]{{1,64}}$"),
            );
        }
        if !seen.insert(custom_id.to_string()) {
            return anthropic_error(
                StatusCode::BAD_REQUEST,
                format!("requests: custom_id '{custom_id}' is not unique within the batch"),
            );
        }
        let params = entry.get("params").cloned().unwrap_or(Value::Null);
        requests.push((custom_id.to_string(), params));
    }
    let model = requests[0]
        .1
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let store = &state.batches;
    let mut inner = store.lock();
    let index = inner.create(&store.faults, Api::Anthropic, model, requests, Value::Null);
    inner.settle(index, store.faults.delay);
    Json(anthropic_batch(&inner.batches[index], &host(&headers))).into_response()
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn anthropic_batch(b: &SimBatch, host: &str) -> Value {
    let n = b.requests.len();
    let mut counts =
        json!({"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0});
    if let Some(done) = &b.done {
        let count = |f: fn(&Item) -> bool| done.items.iter().filter(|i| f(i)).count();
        counts = json!({
            "processing": 0,
            "succeeded": count(|i| matches!(i, Item::Ok(_))),
            "errored": count(|i| matches!(i, Item::Error { .. })),
            "canceled": count(|i| matches!(i, Item::Cancelled)),
            "expired": count(|i| matches!(i, Item::Expired)),
        });
    }
    json!({
        "id": b.id,
        "type": "message_batch",
        "processing_status": if b.done.is_some() { "ended" } else { "in_progress" },
        "request_counts": counts,
        "ended_at": b.done.as_ref().map(|d| rfc3339(d.ended_unix)),
        "created_at": rfc3339(b.created_unix),
        "expires_at": rfc3339(b.created_unix + 86_400),
        "archived_at": null,
        "cancel_initiated_at": b.cancelled_unix.map(rfc3339),
        "results_url": b.done.as_ref().map(|_| format!("http://{host}/v1/messages/batches/{}/results", b.id)),
    })
}

fn anthropic_lookup(state: &AppState, id: &str, headers: &HeaderMap, cancel: bool) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    let Some(index) = inner.find(Api::Anthropic, id) else {
        return anthropic_error(
            StatusCode::NOT_FOUND,
            format!("Message batch {id} not found"),
        );
    };
    if cancel && inner.batches[index].done.is_none() {
        inner.batches[index].cancelled_unix = Some(unix_now());
    }
    inner.settle(index, store.faults.delay);
    Json(anthropic_batch(&inner.batches[index], &host(headers))).into_response()
}

async fn anthropic_get(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    anthropic_lookup(&state, &id, &headers, false)
}

async fn anthropic_cancel(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    anthropic_lookup(&state, &id, &headers, true)
}

async fn anthropic_list(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    for i in 0..inner.batches.len() {
        inner.settle(i, store.faults.delay);
    }
    let (batches, more) = page(
        &inner.batches,
        Api::Anthropic,
        query.get("after_id").map(String::as_str),
        limit(&query, "limit"),
    );
    let host = host(&headers);
    let data: Vec<Value> = batches.iter().map(|b| anthropic_batch(b, &host)).collect();
    Json(json!({"data": data, "has_more": more,
        "first_id": batches.first().map(|b| b.id.clone()),
        "last_id": batches.last().map(|b| b.id.clone())}))
    .into_response()
}

async fn anthropic_results(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    let Some(index) = inner.find(Api::Anthropic, &id) else {
        return anthropic_error(
            StatusCode::NOT_FOUND,
            format!("Message batch {id} not found"),
        );
    };
    inner.settle(index, store.faults.delay);
    let b = &inner.batches[index];
    let Some(done) = &b.done else {
        return anthropic_error(
            StatusCode::BAD_REQUEST,
            format!("Message batch {id} has not ended yet"),
        );
    };
    let mut out = String::new();
    for (request, item) in b.requests.iter().zip(&done.items) {
        let result = match item {
            Item::Ok(message) => json!({"type": "succeeded", "message": message}),
            Item::Error {
                message, invalid, ..
            } => json!({"type": "errored", "error": {"type": "error", "error": {
                "type": if *invalid { "invalid_request_error" } else { "api_error" },
                "message": message}}}),
            Item::Expired => json!({"type": "expired"}),
            Item::Cancelled => json!({"type": "canceled"}),
        };
        out.push_str(&json!({"custom_id": request.custom_id, "result": result}).to_string());
        out.push('\n');
    }
    ([("content-type", "application/x-jsonl")], out).into_response()
}

// ---- Gemini ----

fn gemini_operation(b: &SimBatch) -> Value {
    let n = b.requests.len();
    let state = match &b.done {
        None => "BATCH_STATE_RUNNING",
        Some(_) if b.cancelled_unix.is_some() => "BATCH_STATE_CANCELLED",
        Some(_) if b.fate == Fate::Fail => "BATCH_STATE_FAILED",
        Some(_) if b.fate == Fate::Expire => "BATCH_STATE_EXPIRED",
        Some(_) => "BATCH_STATE_SUCCEEDED",
    };
    let mut stats = json!({"requestCount": n.to_string(), "pendingRequestCount": n.to_string()});
    let mut responses = Vec::new();
    if let Some(done) = &b.done {
        let ok = done
            .items
            .iter()
            .filter(|i| matches!(i, Item::Ok(_)))
            .count();
        stats = json!({"requestCount": n.to_string(), "successfulRequestCount": ok.to_string(),
            "failedRequestCount": (n - ok).to_string()});
        if state != "BATCH_STATE_FAILED" && state != "BATCH_STATE_CANCELLED" {
            for (request, item) in b.requests.iter().zip(&done.items) {
                let metadata = json!({"key": request.custom_id});
                match item {
                    Item::Ok(response) => {
                        responses.push(json!({"response": response, "metadata": metadata}))
                    }
                    Item::Error {
                        message, invalid, ..
                    } => {
                        let (code, status) = if *invalid {
                            (3, "INVALID_ARGUMENT")
                        } else {
                            (13, "INTERNAL")
                        };
                        responses.push(json!({"error": {"code": code, "message": message,
                            "status": status}, "metadata": metadata}));
                    }
                    Item::Expired | Item::Cancelled => {}
                }
            }
        }
    }
    let mut metadata = json!({
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        "model": format!("models/{}", b.model),
        "displayName": b.metadata,
        "createTime": rfc3339(b.created_unix),
        "updateTime": rfc3339(b.done.as_ref().map_or(b.created_unix, |d| d.ended_unix)),
        "batchStats": stats,
        "state": state,
        "name": b.id,
    });
    let mut operation = json!({"name": b.id, "metadata": metadata.clone()});
    if let Some(done) = &b.done {
        metadata["endTime"] = json!(rfc3339(done.ended_unix));
        operation["metadata"] = metadata;
        operation["done"] = json!(true);
        if state == "BATCH_STATE_FAILED" {
            operation["error"] = json!({"code": 13,
                "message": "The simulated server failed this batch (--batch-fail-first)."});
        } else {
            operation["response"] = json!({
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
                "inlinedResponses": {"inlinedResponses": responses},
            });
        }
    }
    operation
}

/// `POST /v1beta/...` other than `generateContent`: batch creation and cancellation.
pub(super) fn gemini_post(
    state: Arc<AppState>,
    rest: &str,
    _headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let store = &state.batches;
    if let Some(model) = rest
        .strip_prefix("models/")
        .and_then(|r| r.strip_suffix(":batchGenerateContent"))
    {
        if model.parse::<super::model::SimModel>().is_err() {
            return gemini_error(
                StatusCode::NOT_FOUND,
                &format!(
                    "models/{model} is not found (simulated models: sim-alpha, sim-beta, sim-gamma)"
                ),
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return gemini_error(
                StatusCode::BAD_REQUEST,
                "the request body is not valid JSON",
            );
        };
        let batch = body.get("batch");
        let Some(entries) = batch
            .and_then(|b| b.pointer("/inputConfig/requests/requests"))
            .and_then(Value::as_array)
            .filter(|r| !r.is_empty())
        else {
            return gemini_error(
                StatusCode::BAD_REQUEST,
                "batch.inputConfig.requests.requests: at least one request is required",
            );
        };
        let requests: Vec<(String, Value)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let key = e
                    .pointer("/metadata/key")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_owned);
                (key, e.get("request").cloned().unwrap_or(Value::Null))
            })
            .collect();
        let display = batch
            .and_then(|b| b.get("displayName"))
            .cloned()
            .unwrap_or(json!(""));
        let mut inner = store.lock();
        let index = inner.create(
            &store.faults,
            Api::Gemini,
            model.to_string(),
            requests,
            display,
        );
        inner.settle(index, store.faults.delay);
        return Json(gemini_operation(&inner.batches[index])).into_response();
    }
    if let Some(id) = rest.strip_suffix(":cancel") {
        let mut inner = store.lock();
        let Some(index) = inner.find(Api::Gemini, id) else {
            return gemini_error(StatusCode::NOT_FOUND, &format!("{id} is not found"));
        };
        if inner.batches[index].done.is_none() {
            inner.batches[index].cancelled_unix = Some(unix_now());
        }
        inner.settle(index, store.faults.delay);
        return Json(json!({})).into_response();
    }
    gemini_error(
        StatusCode::NOT_FOUND,
        &format!("no route POST /v1beta/{rest}"),
    )
}

/// `GET /v1beta/batches` and `GET /v1beta/batches/{id}`.
pub(super) async fn gemini_get(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = &state.batches;
    let mut inner = store.lock();
    if rest == "batches" {
        for i in 0..inner.batches.len() {
            inner.settle(i, store.faults.delay);
        }
        let (batches, more) = page(
            &inner.batches,
            Api::Gemini,
            query.get("pageToken").map(String::as_str),
            limit(&query, "pageSize"),
        );
        let operations: Vec<Value> = batches.iter().map(|b| gemini_operation(b)).collect();
        let mut body = json!({"operations": operations});
        if more && let Some(last) = batches.last() {
            body["nextPageToken"] = json!(last.id);
        }
        return Json(body).into_response();
    }
    let Some(index) = inner.find(Api::Gemini, &rest) else {
        return gemini_error(StatusCode::NOT_FOUND, &format!("{rest} is not found"));
    };
    inner.settle(index, store.faults.delay);
    Json(gemini_operation(&inner.batches[index])).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_input_files_are_checked_line_by_line() {
        let good = b"{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"sim-alpha\"}}\n";
        assert_eq!(openai_lines(good).unwrap().len(), 1);
        let twice = [&good[..], &good[..]].concat();
        assert!(
            openai_lines(&twice)
                .unwrap_err()
                .starts_with("duplicate_custom_id")
        );
        assert!(
            openai_lines(b"not json\n")
                .unwrap_err()
                .starts_with("invalid_json_line")
        );
        assert!(openai_lines(b"").unwrap_err().starts_with("empty_file"));
        let wrong_url =
            String::from_utf8_lossy(good).replace("/v1/chat/completions", "/v1/embeddings");
        assert!(
            openai_lines(wrong_url.as_bytes())
                .unwrap_err()
                .starts_with("invalid_url")
        );
    }

    #[test]
    fn fates_follow_the_options_and_the_seed() {
        let faults = BatchFaults {
            delay: Duration::ZERO,
            fail_rate: 0.5,
            fail_first: 1,
            expire_first: 1,
        };
        let draw = |seed| {
            let store = BatchStore::new(faults.clone(), seed);
            let mut inner = store.lock();
            let requests: Vec<(String, Value)> =
                (0..40).map(|i| (i.to_string(), json!({}))).collect();
            for _ in 0..3 {
                inner.create(
                    &faults,
                    Api::Anthropic,
                    "sim-alpha".into(),
                    requests.clone(),
                    Value::Null,
                );
            }
            let fates: Vec<Fate> = inner.batches.iter().map(|b| b.fate).collect();
            let fails: Vec<bool> = inner.batches[2].requests.iter().map(|r| r.fails).collect();
            (fates, fails)
        };
        let (fates, fails) = draw(3);
        assert_eq!(fates, [Fate::Fail, Fate::Expire, Fate::Complete]);
        let share = fails.iter().filter(|f| **f).count();
        assert!((8..=32).contains(&share), "{share} of 40");
        assert_eq!(draw(3).1, fails, "the same seed draws the same failures");
        assert_ne!(draw(4).1, fails);
        assert!(valid_custom_id("0123abcd-2") && !valid_custom_id("a b") && !valid_custom_id(""));
    }
}
