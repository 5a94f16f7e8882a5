//! Anthropic Message Batches: `POST {base_url}/v1/messages/batches` with
//! `{"requests": [{"custom_id", "params"}]}` (each `params` a Messages API body),
//! `GET .../batches/{id}` to poll (`processing_status`: `in_progress`, `canceling`, `ended`),
//! `POST .../batches/{id}/cancel`, `GET .../batches` to list (most recent first), and the
//! results as JSONL from the batch's `results_url`, one
//! `{"custom_id", "result": {"type": "succeeded" | "errored" | "canceled" | "expired", ...}}` per
//! request, in no particular order.
//!
//! A Message Batch carries no metadata, so it cannot carry blindfold's tag: after a crash between
//! the submission and the journal, the runner recognises its batch by creation time and request
//! count instead (see `run::batch`). The key is sent only to the `results_url` of the study's own
//! `base_url` origin.

use serde_json::{Value, json};

use super::{
    BatchView, Body, Counts, EndState, HttpCall, Item, ItemResult, Method, Outcome, Results,
    live_result, number, rfc3339_unix, same_origin,
};
use crate::provider::anthropic::ANTHROPIC_VERSION;
use crate::provider::{
    Endpoint, HttpResponse, ProviderError, ProviderKind, api_key, http_error, join_url,
};

fn call(endpoint: &Endpoint, method: Method, url: String, body: Body) -> HttpCall {
    let mut headers = Vec::new();
    if matches!(body, Body::Json(_)) {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    headers.push(("anthropic-version".to_owned(), ANTHROPIC_VERSION.to_owned()));
    if let Some(key) = api_key(endpoint) {
        headers.push(("x-api-key".to_owned(), key.to_owned()));
    }
    HttpCall {
        method,
        url,
        headers,
        body,
    }
}

fn url(endpoint: &Endpoint, path: &str) -> String {
    join_url(&endpoint.base_url, &format!("/v1/messages/batches{path}"))
}

/// One entry of the `requests` array.
pub(crate) fn entry(item: &Item) -> Value {
    json!({"custom_id": item.custom_id, "params": item.body})
}

pub(crate) fn create(endpoint: &Endpoint, items: &[Item]) -> HttpCall {
    let requests: Vec<Value> = items.iter().map(entry).collect();
    call(
        endpoint,
        Method::Post,
        url(endpoint, ""),
        Body::Json(json!({"requests": requests})),
    )
}

pub(crate) fn get(endpoint: &Endpoint, id: &str) -> HttpCall {
    call(
        endpoint,
        Method::Get,
        url(endpoint, &format!("/{id}")),
        Body::Empty,
    )
}

pub(crate) fn cancel(endpoint: &Endpoint, id: &str) -> HttpCall {
    call(
        endpoint,
        Method::Post,
        url(endpoint, &format!("/{id}/cancel")),
        Body::Empty,
    )
}

pub(crate) fn list(endpoint: &Endpoint, cursor: Option<&str>) -> HttpCall {
    let query = match cursor {
        Some(after) => format!("?limit=100&after_id={after}"),
        None => "?limit=100".to_string(),
    };
    call(endpoint, Method::Get, url(endpoint, &query), Body::Empty)
}

/// The results of an ended batch, from its `results_url`; a URL on another origin than the
/// study's `base_url` is refused rather than sent the key.
pub(crate) fn results(endpoint: &Endpoint, results_url: &str) -> Result<HttpCall, ProviderError> {
    if !same_origin(results_url, &endpoint.base_url) {
        return Err(ProviderError::invalid_request(format!(
            "the batch's results_url {results_url:?} is not on the origin of base_url {:?}; \
             the key is not sent there",
            endpoint.base_url
        )));
    }
    Ok(call(
        endpoint,
        Method::Get,
        results_url.to_owned(),
        Body::Empty,
    ))
}

/// A `message_batch` object.
pub(crate) fn view(json: &Value) -> Result<BatchView, String> {
    if json.get("type").and_then(Value::as_str) != Some("message_batch") {
        return Err("not a message batch (`type` is not \"message_batch\")".into());
    }
    let id = json
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("no `id`")?;
    let state = json
        .get("processing_status")
        .and_then(Value::as_str)
        .ok_or("no `processing_status`")?;
    let counts = json.get("request_counts");
    let count = |name: &str| number(counts.and_then(|c| c.get(name)));
    let cancelled = json
        .get("cancel_initiated_at")
        .is_some_and(|c| !c.is_null());
    let end = (state == "ended").then_some(if cancelled {
        EndState::Cancelled
    } else {
        EndState::Completed
    });
    let results = match json.get("results_url").and_then(Value::as_str) {
        Some(url) if end.is_some() => Results::Url(url.to_owned()),
        _ => Results::None,
    };
    Ok(BatchView {
        id: id.to_owned(),
        state: state.to_owned(),
        end,
        counts: Counts {
            total: ["processing", "succeeded", "errored", "canceled", "expired"]
                .iter()
                .map(|c| count(c))
                .sum(),
            succeeded: count("succeeded"),
            failed: count("errored") + count("canceled") + count("expired"),
        },
        tag: None,
        created_unix: rfc3339_unix(json.get("created_at")),
        reason: None,
        results,
    })
}

pub(crate) fn parse_list(json: &Value) -> Result<(Vec<BatchView>, Option<String>), String> {
    let data = json
        .get("data")
        .and_then(Value::as_array)
        .ok_or("no `data` array")?;
    let batches = data.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    let more = json.get("has_more").and_then(Value::as_bool) == Some(true);
    let next = json
        .get("last_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| batches.last().map(|b| b.id.clone()));
    Ok((batches, next.filter(|_| more)))
}

/// The HTTP status Anthropic uses for each error type, so that an errored result is classified
/// exactly as the same error of a live request.
fn status_of(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// One line of the results.
pub(crate) fn result_line(json: &Value, index: usize) -> Result<ItemResult, String> {
    let custom_id = json
        .get("custom_id")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("line {}: no `custom_id`", index + 1))?;
    let result = json
        .get("result")
        .ok_or_else(|| format!("line {}: no `result`", index + 1))?;
    let outcome = match result.get("type").and_then(Value::as_str) {
        Some("succeeded") => {
            let message = result.get("message").cloned().unwrap_or(Value::Null);
            live_result(ProviderKind::Anthropic, 200, Vec::new(), &message)
        }
        Some("errored") => {
            let error = result.get("error").cloned().unwrap_or(Value::Null);
            let error_type = error
                .get("error")
                .and_then(|e| e.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("api_error");
            Outcome::Failed(http_error(
                ProviderKind::Anthropic,
                &HttpResponse {
                    status: status_of(error_type),
                    headers: Vec::new(),
                    body: error.to_string(),
                },
            ))
        }
        Some("canceled") => Outcome::NotRun,
        Some("expired") => Outcome::Failed(ProviderError::batch(
            true,
            "expired",
            "the batch ended (24 hours passed) before this request was processed",
        )),
        other => {
            return Err(format!("line {}: unknown result type {other:?}", index + 1));
        }
    };
    Ok(ItemResult {
        custom_id: Some(custom_id.to_owned()),
        index,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::result_line;
    use crate::provider::test_support::*;
    use crate::provider::{ErrorKind, ProviderKind};
    use serde_json::{Value, json};

    const KIND: ProviderKind = ProviderKind::Anthropic;

    #[test]
    fn create_sends_the_documented_requests_array() {
        let endpoint = endpoint(
            KIND,
            "https://api.anthropic.com/",
            "claude-opus-4-20250514",
            json!({}),
        );
        let items = vec![
            Item {
                custom_id: "my-first-request".into(),
                body: json!({"model": "claude-opus-4-20250514", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello, world"}]}),
            },
            Item {
                custom_id: "my-second-request".into(),
                body: json!({"model": "claude-opus-4-20250514", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hi again, friend"}]}),
            },
        ];
        let call = submit(&endpoint, &items, "ignored").unwrap();
        assert_eq!(call.method, Method::Post);
        assert_eq!(call.url, "https://api.anthropic.com/v1/messages/batches");
        assert_eq!(
            call.headers,
            [
                ("content-type".to_string(), "application/json".to_string()),
                ("anthropic-version".to_string(), "2023-06-01".to_string()),
                ("x-api-key".to_string(), "sk-test-SECRET-123".to_string()),
            ]
        );
        let expected: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/providers/anthropic/batch_request.json"
        ))
        .unwrap();
        assert_eq!(call.body, Body::Json(expected));

        let created =
            include_str!("../../../tests/fixtures/providers/anthropic/batch_created.json");
        let Submitted::Created(view) =
            parse_submit(&endpoint, "ignored", &response(200, &[], created)).unwrap()
        else {
            panic!()
        };
        assert_eq!(view.id, "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF");
        assert_eq!((view.state.as_str(), view.end), ("in_progress", None));
        assert_eq!(view.counts.total, 2);
        assert_eq!(view.tag, None);
        assert_eq!(view.created_unix, Some(1_727_203_044));
    }

    #[test]
    fn ended_batches_lists_results_and_cancel() {
        let endpoint = endpoint(KIND, "https://api.anthropic.com", "m", json!({}));
        let ended = include_str!("../../../tests/fixtures/providers/anthropic/batch_ended.json");
        let view = parse_batch(KIND, &response(200, &[], ended)).unwrap();
        assert_eq!(view.end, Some(EndState::Completed));
        assert_eq!(
            view.counts,
            Counts {
                total: 3,
                succeeded: 2,
                failed: 1
            }
        );
        let calls = result_calls(&endpoint, &view).unwrap();
        assert_eq!(
            calls[0].url,
            "https://api.anthropic.com/v1/messages/batches/msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d/results"
        );
        // A results_url elsewhere is never sent the key.
        let mut elsewhere = view.clone();
        elsewhere.results = Results::Url("https://attacker.example/results".into());
        assert_eq!(
            result_calls(&endpoint, &elsewhere).unwrap_err().kind,
            ErrorKind::InvalidRequest
        );

        let list_page = include_str!("../../../tests/fixtures/providers/anthropic/batch_list.json");
        let (batches, next) = parse_list(KIND, &response(200, &[], list_page)).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].end, Some(EndState::Cancelled));
        assert_eq!(next, None);
        assert_eq!(
            list(&endpoint, Some("msgbatch_x")).url,
            "https://api.anthropic.com/v1/messages/batches?limit=100&after_id=msgbatch_x"
        );
        assert_eq!(
            cancel(&endpoint, "msgbatch_x").unwrap().url,
            "https://api.anthropic.com/v1/messages/batches/msgbatch_x/cancel"
        );
    }

    #[test]
    fn result_lines_of_every_type() {
        let body = include_str!("../../../tests/fixtures/providers/anthropic/batch_results.jsonl");
        let results: Vec<ItemResult> = parse_results(KIND, &response(200, &[], body))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].custom_id.as_deref(), Some("my-second-request"));
        let Outcome::Ok(reply) = &results[0].outcome else {
            panic!()
        };
        assert!(reply.text.starts_with("Hello again!"));
        assert_eq!(
            (reply.usage.input_tokens, reply.usage.output_tokens),
            (11, 36)
        );
        assert_eq!(reply.finish_reason.as_deref(), Some("end_turn"));
        let Outcome::Failed(invalid) = &results[2].outcome else {
            panic!()
        };
        assert_eq!(invalid.status, Some(400));
        assert_eq!(
            invalid.provider_code.as_deref(),
            Some("invalid_request_error")
        );
        assert!(!invalid.is_transient());
        let Outcome::Failed(overloaded) = &results[3].outcome else {
            panic!()
        };
        assert!(overloaded.is_transient());
        assert_eq!(results[4].outcome, Outcome::NotRun);
        let expired =
            result_line(&json!({"custom_id": "x", "result": {"type": "expired"}}), 0).unwrap();
        let Outcome::Failed(e) = expired.outcome else {
            panic!()
        };
        assert_eq!(e.kind, ErrorKind::Batch { transient: true });
        assert!(result_line(&json!({"custom_id": "x", "result": {"type": "new"}}), 0).is_err());
    }
}
