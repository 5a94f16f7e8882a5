//! The providers' batch APIs, translated: OpenAI Batch (a JSONL file uploaded to `/files`, then
//! `/batches`), Anthropic Message Batches (`/v1/messages/batches`) and Gemini batch mode
//! (`models/{model}:batchGenerateContent` with inline requests, polled as a long-running
//! operation).
//!
//! Why this layer exists: a batch is half the price of live requests, and the runner must be able
//! to submit one, find it again after a crash (by id, or by listing the provider's batches and
//! matching the tag it carries) and read its results, without knowing any wire format. So, as for
//! live requests, everything here is pure: each step is a `build` function returning an
//! [`HttpCall`] and a `parse` function reading the [`HttpResponse`]. The runner
//! (`run::batch`) sends the calls, owns the state machine, polling, retries and limits.
//!
//! Each request of a batch is the body the live API would get ([`super::build_request`], with
//! `extra` merged), and each result goes through the live [`super::parse_response`], so a batch
//! reply is read exactly like a live one.

#![allow(clippy::result_large_err)]

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Endpoint, HttpResponse, ProviderError, ProviderKind, Reply, http_error};

pub mod anthropic;
pub mod gemini;
pub mod openai;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// The body of a batch-API call.
#[derive(Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    /// A multipart/form-data file upload (OpenAI `/files`): a `purpose` field and the file.
    Upload {
        purpose: String,
        file_name: String,
        bytes: Vec<u8>,
    },
}

/// One call to a batch API, ready to send. Its `Debug` output redacts credentials and shows
/// only the size of an upload.
#[derive(Clone, PartialEq)]
pub struct HttpCall {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = super::redacted(&self.headers);
        f.debug_struct("HttpCall")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// Uploads show their size only: the prompts they carry do not belong in logs.
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Body::Upload {
                purpose,
                file_name,
                bytes,
            } => write!(f, "Upload({purpose}, {file_name}, {} bytes)", bytes.len()),
        }
    }
}

/// One request of a batch: its custom id and the body the live API would receive.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub custom_id: String,
    pub body: Value,
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndState {
    Completed,
    Failed,
    Expired,
    Cancelled,
}

impl fmt::Display for EndState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndState::Completed => "completed",
            EndState::Failed => "failed",
            EndState::Expired => "expired",
            EndState::Cancelled => "cancelled",
        })
    }
}

/// Request counts as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// Where a finished batch's results are.
#[derive(Debug, Clone, PartialEq)]
pub enum Results {
    /// Not (yet) available.
    None,
    /// OpenAI: the output and error files.
    Files(Vec<String>),
    /// Anthropic: the `results_url`.
    Url(String),
    /// Gemini: in the operation itself.
    Inline(Vec<ItemResult>),
}

/// A batch as the provider describes it, in provider-neutral terms.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchView {
    /// The provider's id (`batch_...`, `msgbatch_...`, `batches/...`).
    pub id: String,
    /// The provider's own name of the state, for display.
    pub state: String,
    /// Set once the batch has ended; results can then be read.
    pub end: Option<EndState>,
    pub counts: Counts,
    /// The idempotency tag the batch carries (OpenAI metadata, Gemini display name); Anthropic
    /// batches carry none.
    pub tag: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix: Option<i64>,
    /// Why the whole batch failed, in the provider's words.
    pub reason: Option<String>,
    pub results: Results,
}

/// What happened to one request of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok(Reply),
    Failed(ProviderError),
    /// Not attempted: the batch was cancelled before the request ran.
    NotRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    /// The custom id, when the provider echoes it (Gemini's inline responses may not).
    pub custom_id: Option<String>,
    /// Position among the results (Gemini returns them in request order).
    pub index: usize,
    pub outcome: Outcome,
}

/// The provider's documented limits on one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_requests: usize,
    pub max_bytes: usize,
}

/// OpenAI: 50,000 requests and 200 MB per input file; Anthropic: 100,000 requests or 256 MB;
/// Gemini inline requests: 20 MB in all (kept a little under, for the envelope).
pub fn limits(kind: ProviderKind) -> Limits {
    match kind {
        ProviderKind::OpenAi | ProviderKind::Sim => Limits {
            max_requests: 50_000,
            max_bytes: 200_000_000,
        },
        ProviderKind::Anthropic => Limits {
            max_requests: 100_000,
            max_bytes: 256_000_000,
        },
        ProviderKind::Gemini => Limits {
            max_requests: 100_000,
            max_bytes: 19_500_000,
        },
    }
}

/// Bytes one item adds to a batch (its serialised form, with a separator).
pub fn item_bytes(kind: ProviderKind, item: &Item) -> usize {
    match kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::line(item).len() + 1,
        ProviderKind::Anthropic => anthropic::entry(item).to_string().len() + 1,
        ProviderKind::Gemini => gemini::entry(item).to_string().len() + 1,
    }
}

/// Splits items, in order, into batches within `limits`. An item that alone exceeds the byte
/// limit is returned apart, in the second list: no batch can carry it.
pub fn split(kind: ProviderKind, items: Vec<Item>, limits: Limits) -> (Vec<Vec<Item>>, Vec<Item>) {
    let mut batches: Vec<Vec<Item>> = Vec::new();
    let mut too_large = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = item_bytes(kind, &item);
        if size > limits.max_bytes {
            too_large.push(item);
            continue;
        }
        let fits = batches
            .last()
            .is_some_and(|b| b.len() < limits.max_requests && bytes + size <= limits.max_bytes);
        if !fits {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        batches.last_mut().expect("pushed above").push(item);
    }
    (batches, too_large)
}

/// What submitting takes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Another call (OpenAI: create the batch from the uploaded file).
    Next(HttpCall),
    Created(BatchView),
}

/// The first call of a submission: OpenAI uploads the input file; the others create the batch.
pub fn submit(endpoint: &Endpoint, items: &[Item], tag: &str) -> Result<HttpCall, ProviderError> {
    match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => Ok(openai::upload(endpoint, items)),
        ProviderKind::Anthropic => Ok(anthropic::create(endpoint, items)),
        ProviderKind::Gemini => gemini::create(endpoint, items, tag),
    }
}

/// Reads the answer to a submission call.
pub fn parse_submit(
    endpoint: &Endpoint,
    tag: &str,
    response: &HttpResponse,
) -> Result<Submitted, ProviderError> {
    let json = json_body(endpoint.kind, response)?;
    match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => {
            openai::parse_submit(endpoint, tag, &json, response)
        }
        ProviderKind::Anthropic => Ok(Submitted::Created(shape(anthropic::view(&json), response)?)),
        ProviderKind::Gemini => Ok(Submitted::Created(shape(gemini::view(&json), response)?)),
    }
}

/// Retrieves one batch by id.
pub fn get(endpoint: &Endpoint, id: &str) -> Result<HttpCall, ProviderError> {
    match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => Ok(openai::get(endpoint, id)),
        ProviderKind::Anthropic => Ok(anthropic::get(endpoint, id)),
        ProviderKind::Gemini => gemini::get(endpoint, id),
    }
}

/// Asks the provider to cancel a batch; the answer is read with [`parse_cancel`].
pub fn cancel(endpoint: &Endpoint, id: &str) -> Result<HttpCall, ProviderError> {
    match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => Ok(openai::cancel(endpoint, id)),
        ProviderKind::Anthropic => Ok(anthropic::cancel(endpoint, id)),
        ProviderKind::Gemini => gemini::cancel(endpoint, id),
    }
}

/// Lists batches, most recent first; `cursor` continues from an earlier page.
pub fn list(endpoint: &Endpoint, cursor: Option<&str>) -> HttpCall {
    match endpoint.kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::list(endpoint, cursor),
        ProviderKind::Anthropic => anthropic::list(endpoint, cursor),
        ProviderKind::Gemini => gemini::list(endpoint, cursor),
    }
}

/// Reads a batch object (a retrieval, or OpenAI's and Anthropic's cancel answer).
pub fn parse_batch(
    kind: ProviderKind,
    response: &HttpResponse,
) -> Result<BatchView, ProviderError> {
    let json = json_body(kind, response)?;
    let view = match kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::view(&json),
        ProviderKind::Anthropic => anthropic::view(&json),
        ProviderKind::Gemini => gemini::view(&json),
    };
    shape(view, response)
}

/// Checks a cancel answer (Gemini answers with an empty object).
pub fn parse_cancel(kind: ProviderKind, response: &HttpResponse) -> Result<(), ProviderError> {
    json_body(kind, response).map(|_| ())
}

/// One page of a listing and the cursor of the next, if there is one.
pub fn parse_list(
    kind: ProviderKind,
    response: &HttpResponse,
) -> Result<(Vec<BatchView>, Option<String>), ProviderError> {
    let json = json_body(kind, response)?;
    let page = match kind {
        ProviderKind::OpenAi | ProviderKind::Sim => openai::parse_list(&json),
        ProviderKind::Anthropic => anthropic::parse_list(&json),
        ProviderKind::Gemini => gemini::parse_list(&json),
    };
    page.map_err(|missing| shape_error(missing, response))
}

/// The calls that fetch a finished batch's results (none when they came inline).
pub fn result_calls(endpoint: &Endpoint, view: &BatchView) -> Result<Vec<HttpCall>, ProviderError> {
    match (&view.results, endpoint.kind) {
        (Results::Files(ids), ProviderKind::OpenAi | ProviderKind::Sim) => Ok(ids
            .iter()
            .map(|id| openai::file_content(endpoint, id))
            .collect()),
        (Results::Url(url), ProviderKind::Anthropic) => {
            anthropic::results(endpoint, url).map(|c| vec![c])
        }
        _ => Ok(Vec::new()),
    }
}

/// Reads a results file (OpenAI output or error file, Anthropic results): one result per line,
/// or the line's problem. Blank lines are skipped.
pub fn parse_results(
    kind: ProviderKind,
    response: &HttpResponse,
) -> Result<Vec<Result<ItemResult, String>>, ProviderError> {
    if !(200..=299).contains(&response.status) {
        return Err(http_error(kind, response));
    }
    let mut out = Vec::new();
    for (index, line) in response
        .body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("line {}: not JSON ({e})", index + 1))
            .and_then(|json| match kind {
                ProviderKind::OpenAi | ProviderKind::Sim => openai::result_line(&json, index),
                ProviderKind::Anthropic => anthropic::result_line(&json, index),
                ProviderKind::Gemini => Err("Gemini results come inline".into()),
            });
        out.push(parsed);
    }
    Ok(out)
}

/// A 2xx answer's JSON body, or the provider's error.
fn json_body(kind: ProviderKind, response: &HttpResponse) -> Result<Value, ProviderError> {
    if !(200..=299).contains(&response.status) {
        return Err(http_error(kind, response));
    }
    serde_json::from_str(&response.body).map_err(|e| {
        ProviderError::invalid_response(
            response.status,
            true,
            format!("response body is not JSON ({e})"),
            &response.body,
        )
    })
}

fn shape(
    view: Result<BatchView, String>,
    response: &HttpResponse,
) -> Result<BatchView, ProviderError> {
    view.map_err(|missing| shape_error(missing, response))
}

fn shape_error(missing: String, response: &HttpResponse) -> ProviderError {
    ProviderError::invalid_response(
        response.status,
        false,
        format!("unexpected batch response shape: {missing}"),
        &response.body,
    )
}

/// A single-result body read like a live answer: the same parser, the same errors.
fn live_result(
    kind: ProviderKind,
    status: u16,
    headers: Vec<(String, String)>,
    body: &Value,
) -> Outcome {
    let response = HttpResponse {
        status,
        headers,
        body: body.to_string(),
    };
    match super::parse_response(kind, &response) {
        Ok(reply) => Outcome::Ok(reply),
        Err(error) => Outcome::Failed(error),
    }
}

/// A count that may come as a JSON number or, as protobuf int64 fields do, as a string.
fn number(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Seconds since the epoch of an RFC 3339 time.
fn rfc3339_unix(value: Option<&Value>) -> Option<i64> {
    let text = value?.as_str()?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Whether `url` has the same scheme, host and port as `base_url`: the runner sends its key only
/// to the origin the study names.
fn same_origin(url: &str, base_url: &str) -> bool {
    fn origin(url: &str) -> Option<(&str, &str)> {
        let (scheme, rest) = url.trim().split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        Some((scheme, authority))
    }
    match (origin(url), origin(base_url)) {
        (Some((s1, a1)), Some((s2, a2))) => {
            s1.eq_ignore_ascii_case(s2) && a1.eq_ignore_ascii_case(a2)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, text: &str) -> Item {
        Item {
            custom_id: id.into(),
            body: json!({"model": "m", "messages": [{"role": "user", "content": text}]}),
        }
    }

    #[test]
    fn splitting_respects_request_and_byte_limits_and_keeps_order() {
        let items: Vec<Item> = (0..7).map(|i| item(&format!("c{i}"), "hello")).collect();
        let one = item_bytes(ProviderKind::OpenAi, &items[0]);
        let (batches, too_large) = split(
            ProviderKind::OpenAi,
            items.clone(),
            Limits {
                max_requests: 3,
                max_bytes: 1_000_000,
            },
        );
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert!(too_large.is_empty());
        let ids: Vec<&str> = batches
            .iter()
            .flatten()
            .map(|i| i.custom_id.as_str())
            .collect();
        assert_eq!(ids, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);

        let (batches, _) = split(
            ProviderKind::OpenAi,
            items,
            Limits {
                max_requests: 100,
                max_bytes: 2 * one,
            },
        );
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 2, 2, 1]
        );

        let big = item("big", &"x".repeat(500));
        let (batches, too_large) = split(
            ProviderKind::Anthropic,
            vec![item("a", "hi"), big, item("b", "hi")],
            Limits {
                max_requests: 100,
                max_bytes: 300,
            },
        );
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 2);
        assert_eq!(too_large[0].custom_id, "big");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert!(same_origin(
            "https://api.anthropic.com/v1/messages/batches/x/results",
            "https://api.anthropic.com"
        ));
        assert!(same_origin(
            "http://127.0.0.1:9/a",
            "http://127.0.0.1:9/gw/"
        ));
        assert!(!same_origin("http://127.0.0.1:10/a", "http://127.0.0.1:9"));
        assert!(!same_origin(
            "https://evil.example/a",
            "https://api.anthropic.com"
        ));
        assert!(!same_origin(
            "http://api.anthropic.com/a",
            "https://api.anthropic.com"
        ));
        assert!(!same_origin("not a url", "https://api.anthropic.com"));
    }

    #[test]
    fn counts_read_numbers_and_protobuf_strings() {
        assert_eq!(number(Some(&json!(7))), 7);
        assert_eq!(number(Some(&json!("12"))), 12);
        assert_eq!(number(Some(&json!(null))), 0);
        assert_eq!(number(None), 0);
        assert_eq!(
            rfc3339_unix(Some(&json!("2024-09-24T18:37:24.100435Z"))),
            Some(1_727_203_044)
        );
        assert_eq!(rfc3339_unix(Some(&json!("yesterday"))), None);
    }

    #[test]
    fn debug_output_redacts_keys_and_summarises_uploads() {
        let call = HttpCall {
            method: Method::Post,
            url: "https://api.openai.com/v1/files".into(),
            headers: vec![("authorization".into(), "Bearer sk-SECRET".into())],
            body: Body::Upload {
                purpose: "batch".into(),
                file_name: "batch.jsonl".into(),
                bytes: b"{\"secret prompt\": 1}".to_vec(),
            },
        };
        let printed = format!("{call:?}");
        assert!(!printed.contains("SECRET"), "{printed}");
        assert!(!printed.contains("secret prompt"), "{printed}");
        assert!(
            printed.contains("[redacted]") && printed.contains("20 bytes"),
            "{printed}"
        );
    }
}
