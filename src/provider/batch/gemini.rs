//! Gemini batch mode: `POST {base_url}/v1beta/models/{model}:batchGenerateContent` with the
//! requests inline (`{"batch": {"displayName", "inputConfig": {"requests": {"requests":
//! [{"request", "metadata": {"key"}}]}}}}`), answered by a long-running operation named
//! `batches/{id}`. `GET /v1beta/batches/{id}` polls it (`metadata.state`: `BATCH_STATE_PENDING`,
//! `_RUNNING`, `_SUCCEEDED`, `_FAILED`, `_CANCELLED`, `_EXPIRED`); when done it carries the
//! inlined responses, in request order, each a `GenerateContentResponse` or a `google.rpc.Status`
//! error. `GET /v1beta/batches` lists operations; `POST /v1beta/batches/{id}:cancel` cancels.
//!
//! The batch's display name carries blindfold's tag; each request's `metadata.key` its custom id
//! (responses are matched by key, or by position when the key is not echoed).

use serde_json::{Value, json};

use super::{
    BatchView, Body, Counts, EndState, HttpCall, Item, ItemResult, Method, Outcome, Results,
    live_result, number, rfc3339_unix,
};
use crate::provider::gemini::model_resource;
use crate::provider::{
    Endpoint, HttpResponse, ProviderError, ProviderKind, api_key, http_error, join_url,
};

fn call(endpoint: &Endpoint, method: Method, path: &str, body: Body) -> HttpCall {
    let mut headers = Vec::new();
    if matches!(body, Body::Json(_)) {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    if let Some(key) = api_key(endpoint) {
        headers.push(("x-goog-api-key".to_owned(), key.to_owned()));
    }
    HttpCall {
        method,
        url: join_url(&endpoint.base_url, &format!("/v1beta/{path}")),
        headers,
        body,
    }
}

/// One entry of the inline requests.
pub(crate) fn entry(item: &Item) -> Value {
    json!({"request": item.body, "metadata": {"key": item.custom_id}})
}

pub(crate) fn create(
    endpoint: &Endpoint,
    items: &[Item],
    tag: &str,
) -> Result<HttpCall, ProviderError> {
    let model = model_resource(&endpoint.model)?;
    let requests: Vec<Value> = items.iter().map(entry).collect();
    Ok(call(
        endpoint,
        Method::Post,
        &format!("{model}:batchGenerateContent"),
        Body::Json(json!({"batch": {
            "displayName": tag,
            "inputConfig": {"requests": {"requests": requests}},
        }})),
    ))
}

/// A batch's resource name (`batches/ID`), checked: it becomes part of a URL path.
fn batch_name(id: &str) -> Result<&str, ProviderError> {
    let rest = id.strip_prefix("batches/").unwrap_or("");
    let safe = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if safe {
        Ok(id)
    } else {
        Err(ProviderError::invalid_request(format!(
            "{id:?} is not a Gemini batch name (batches/ID)"
        )))
    }
}

pub(crate) fn get(endpoint: &Endpoint, id: &str) -> Result<HttpCall, ProviderError> {
    Ok(call(endpoint, Method::Get, batch_name(id)?, Body::Empty))
}

pub(crate) fn cancel(endpoint: &Endpoint, id: &str) -> Result<HttpCall, ProviderError> {
    Ok(call(
        endpoint,
        Method::Post,
        &format!("{}:cancel", batch_name(id)?),
        Body::Empty,
    ))
}

pub(crate) fn list(endpoint: &Endpoint, cursor: Option<&str>) -> HttpCall {
    let path = match cursor {
        Some(token) => format!("batches?pageSize=100&pageToken={}", percent_encode(token)),
        None => "batches?pageSize=100".to_string(),
    };
    call(endpoint, Method::Get, &path, Body::Empty)
}

/// Percent-encodes a query value (page tokens are opaque and may hold `=`, `+` or `/`).
fn percent_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An operation (or, from servers that answer with the resource itself, a batch).
pub(crate) fn view(json: &Value) -> Result<BatchView, String> {
    let batch = match json.get("metadata") {
        Some(m) if m.get("state").is_some() => m,
        _ => json,
    };
    let id = json
        .get("name")
        .or_else(|| batch.get("name"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("no `name`")?;
    let state = batch
        .get("state")
        .and_then(Value::as_str)
        .ok_or("no `metadata.state`")?;
    let end = match state.rsplit('_').next() {
        Some("SUCCEEDED") => Some(EndState::Completed),
        Some("FAILED") => Some(EndState::Failed),
        Some("CANCELLED") => Some(EndState::Cancelled),
        Some("EXPIRED") => Some(EndState::Expired),
        _ => None,
    };
    let stats = batch.get("batchStats");
    let stat = |name: &str| number(stats.and_then(|s| s.get(name)));
    let results = match end {
        None => Results::None,
        Some(_) => {
            let inlined = json
                .get("response")
                .and_then(|r| r.get("inlinedResponses"))
                .or_else(|| batch.get("output").and_then(|o| o.get("inlinedResponses")))
                .and_then(|r| r.get("inlinedResponses"))
                .and_then(Value::as_array);
            match inlined {
                Some(items) => Results::Inline(
                    items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| inline_result(item, index))
                        .collect(),
                ),
                None if json.pointer("/response/responsesFile").is_some()
                    || batch.pointer("/output/responsesFile").is_some() =>
                {
                    return Err(
                        "the results are in a responses file, which blindfold does not read \
                         (it submits inline requests)"
                            .into(),
                    );
                }
                None => Results::Inline(Vec::new()),
            }
        }
    };
    let reason = json
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(BatchView {
        id: id.to_owned(),
        state: state.to_owned(),
        end,
        counts: Counts {
            total: stat("requestCount"),
            succeeded: stat("successfulRequestCount"),
            failed: stat("failedRequestCount"),
        },
        tag: batch
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_unix: rfc3339_unix(batch.get("createTime")),
        reason,
        results,
    })
}

pub(crate) fn parse_list(json: &Value) -> Result<(Vec<BatchView>, Option<String>), String> {
    let operations = match json.get("operations") {
        None => &[][..],
        Some(ops) => ops
            .as_array()
            .map(Vec::as_slice)
            .ok_or("`operations` is not an array")?,
    };
    let batches = operations.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    let next = json
        .get("nextPageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok((batches, next))
}

/// The HTTP status of a gRPC code, as Google's HTTP mapping defines it.
fn http_status(code: u64) -> u16 {
    match code {
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        100..=599 => code as u16,
        _ => 500,
    }
}

/// One inlined response: a `GenerateContentResponse`, or a `google.rpc.Status` classified as the
/// same error of a live request would be.
fn inline_result(item: &Value, index: usize) -> ItemResult {
    let custom_id = item
        .get("metadata")
        .and_then(|m| m.get("key"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let outcome = match (item.get("response"), item.get("error")) {
        (Some(response), _) => live_result(ProviderKind::Gemini, 200, Vec::new(), response),
        (None, Some(status)) => {
            let code = status.get("code").and_then(Value::as_u64).unwrap_or(2);
            let http = http_status(code);
            let mut error = status.clone();
            if let Some(e) = error.as_object_mut() {
                e.insert("code".into(), json!(http));
            }
            Outcome::Failed(http_error(
                ProviderKind::Gemini,
                &HttpResponse {
                    status: http,
                    headers: Vec::new(),
                    body: json!({"error": error}).to_string(),
                },
            ))
        }
        (None, None) => Outcome::Failed(ProviderError::batch(
            true,
            "no_response",
            "the batch returned neither a response nor an error for this request",
        )),
    };
    ItemResult {
        custom_id,
        index,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::percent_encode;
    use crate::provider::test_support::*;
    use crate::provider::{ErrorKind, ProviderKind};
    use serde_json::{Value, json};

    const KIND: ProviderKind = ProviderKind::Gemini;

    #[test]
    fn create_puts_requests_inline_with_keys_and_the_tag_as_display_name() {
        let endpoint = endpoint(
            KIND,
            "https://generativelanguage.googleapis.com/",
            "gemini-2.5-flash",
            json!({}),
        );
        let items = vec![
            Item {
                custom_id: "request-1".into(),
                body: json!({"contents": [{"parts": [{"text": "Tell me a one-sentence joke."}], "role": "user"}]}),
            },
            Item {
                custom_id: "request-2".into(),
                body: json!({"contents": [{"parts": [{"text": "Why is the sky blue?"}], "role": "user"}]}),
            },
        ];
        let call = submit(&endpoint, &items, "bf-0123456789abcdef").unwrap();
        assert_eq!(
            call.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:batchGenerateContent"
        );
        assert_eq!(
            call.headers[1],
            (
                "x-goog-api-key".to_string(),
                "sk-test-SECRET-123".to_string()
            )
        );
        let expected: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/providers/gemini/batch_request.json"
        ))
        .unwrap();
        assert_eq!(call.body, Body::Json(expected));

        let created = include_str!("../../../tests/fixtures/providers/gemini/batch_created.json");
        let Submitted::Created(view) =
            parse_submit(&endpoint, "x", &response(200, &[], created)).unwrap()
        else {
            panic!()
        };
        assert_eq!(view.id, "batches/123456");
        assert_eq!(
            (view.state.as_str(), view.end),
            ("BATCH_STATE_PENDING", None)
        );
        assert_eq!(view.tag.as_deref(), Some("bf-0123456789abcdef"));
        assert_eq!(view.counts.total, 2);
        assert!(view.created_unix.is_some());

        let mut bad = endpoint.clone();
        bad.model = "../x".into();
        assert!(submit(&bad, &items, "t").is_err());
    }

    #[test]
    fn a_done_operation_carries_its_results_in_order() {
        let done = include_str!("../../../tests/fixtures/providers/gemini/batch_succeeded.json");
        let view = parse_batch(KIND, &response(200, &[], done)).unwrap();
        assert_eq!(view.end, Some(EndState::Completed));
        assert_eq!(
            view.counts,
            Counts {
                total: 2,
                succeeded: 1,
                failed: 1
            }
        );
        let Results::Inline(results) = &view.results else {
            panic!("{view:?}")
        };
        assert_eq!(results[0].custom_id.as_deref(), Some("request-1"));
        let Outcome::Ok(reply) = &results[0].outcome else {
            panic!()
        };
        assert!(reply.text.starts_with("Why don't scientists trust atoms?"));
        assert_eq!(reply.usage.input_tokens, 8);
        let Outcome::Failed(error) = &results[1].outcome else {
            panic!()
        };
        assert_eq!(error.status, Some(429));
        assert!(error.is_transient());

        // Without echoed keys, results are matched by position.
        let no_keys = json!({"name": "batches/1", "done": true,
            "metadata": {"state": "BATCH_STATE_SUCCEEDED"},
            "response": {"inlinedResponses": {"inlinedResponses": [
                {"error": {"code": 3, "message": "Invalid argument"}}]}}});
        let view = parse_batch(KIND, &response(200, &[], &no_keys.to_string())).unwrap();
        let Results::Inline(results) = view.results else {
            panic!()
        };
        assert_eq!((results[0].custom_id.clone(), results[0].index), (None, 0));
        let Outcome::Failed(error) = &results[0].outcome else {
            panic!()
        };
        assert_eq!(error.status, Some(400));
        assert!(!error.is_transient());

        let failed = json!({"name": "batches/2", "done": true,
            "metadata": {"state": "BATCH_STATE_FAILED"},
            "error": {"code": 3, "message": "Request payload size exceeds the limit"}});
        let view = parse_batch(KIND, &response(200, &[], &failed.to_string())).unwrap();
        assert_eq!(view.end, Some(EndState::Failed));
        assert_eq!(
            view.reason.as_deref(),
            Some("Request payload size exceeds the limit")
        );
    }

    #[test]
    fn lists_calls_and_names() {
        let endpoint = endpoint(
            KIND,
            "https://generativelanguage.googleapis.com",
            "m",
            json!({}),
        );
        let page = include_str!("../../../tests/fixtures/providers/gemini/batch_list.json");
        let (batches, next) = parse_list(KIND, &response(200, &[], page)).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].tag.as_deref(), Some("bf-fedcba9876543210"));
        assert_eq!(next.as_deref(), Some("CgwI+/4=x"));
        assert_eq!(
            list(&endpoint, next.as_deref()).url,
            "https://generativelanguage.googleapis.com/v1beta/batches?pageSize=100&pageToken=CgwI%2B%2F4%3Dx"
        );
        assert_eq!(
            parse_list(KIND, &response(200, &[], "{}")).unwrap(),
            (Vec::new(), None)
        );
        assert_eq!(
            get(&endpoint, "batches/123456").unwrap().url,
            "https://generativelanguage.googleapis.com/v1beta/batches/123456"
        );
        assert_eq!(
            cancel(&endpoint, "batches/123456").unwrap().url,
            "https://generativelanguage.googleapis.com/v1beta/batches/123456:cancel"
        );
        for bad in ["123456", "batches/../models", "batches/", "files/1"] {
            assert_eq!(
                get(&endpoint, bad).unwrap_err().kind,
                ErrorKind::InvalidRequest,
                "{bad}"
            );
        }
        parse_cancel(KIND, &response(200, &[], "{}")).unwrap();
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
