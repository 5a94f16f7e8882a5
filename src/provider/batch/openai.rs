//! OpenAI Batch API, also spoken by blindfold's sim server and by OpenAI-compatible servers that
//! implement it: the requests go as a JSONL file (`{custom_id, method, url, body}` per line)
//! uploaded to `POST {base_url}/files` with purpose `batch`; `POST {base_url}/batches` creates the
//! batch for `/v1/chat/completions` with a 24 h completion window and our tag in its `metadata`;
//! `GET {base_url}/batches/{id}` polls it; its output and error files are read from
//! `GET {base_url}/files/{id}/content`.
//!
//! Statuses: `validating`, `in_progress`, `finalizing`, `cancelling` (running); `completed`,
//! `failed`, `expired`, `cancelled` (ended). A request that expired or was cancelled appears in
//! the error file with `error.code` `batch_expired` or `batch_cancelled`.

use serde_json::{Value, json};

use super::{
    BatchView, Body, Counts, EndState, HttpCall, Item, ItemResult, Method, Outcome, Results,
    Submitted, live_result, number,
};
use crate::provider::{Endpoint, HttpResponse, ProviderError, ProviderKind, api_key, join_url};

/// The metadata key that carries blindfold's idempotency tag.
pub const TAG_KEY: &str = "blindfold_tag";

/// The endpoint every request of the batch goes to, as the input file and `create` name it.
pub const CHAT_ENDPOINT: &str = "/v1/chat/completions";

fn headers(endpoint: &Endpoint, json: bool) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    if json {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    if let Some(key) = api_key(endpoint) {
        headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    }
    headers
}

fn call(endpoint: &Endpoint, method: Method, path: &str, body: Body) -> HttpCall {
    HttpCall {
        method,
        url: join_url(&endpoint.base_url, path),
        headers: headers(endpoint, matches!(body, Body::Json(_))),
        body,
    }
}

/// One line of the input file.
pub(crate) fn line(item: &Item) -> String {
    json!({"custom_id": item.custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": item.body})
        .to_string()
}

pub(crate) fn upload(endpoint: &Endpoint, items: &[Item]) -> HttpCall {
    let mut bytes = Vec::new();
    for item in items {
        bytes.extend_from_slice(line(item).as_bytes());
        bytes.push(b'\n');
    }
    call(
        endpoint,
        Method::Post,
        "/files",
        Body::Upload {
            purpose: "batch".into(),
            file_name: "blindfold-batch.jsonl".into(),
            bytes,
        },
    )
}

pub(crate) fn create(endpoint: &Endpoint, file_id: &str, tag: &str) -> HttpCall {
    call(
        endpoint,
        Method::Post,
        "/batches",
        Body::Json(json!({
            "input_file_id": file_id,
            "endpoint": CHAT_ENDPOINT,
            "completion_window": "24h",
            "metadata": {TAG_KEY: tag},
        })),
    )
}

/// The upload answers with a file object (then the batch is created), `create` with a batch.
pub(crate) fn parse_submit(
    endpoint: &Endpoint,
    tag: &str,
    json: &Value,
    response: &HttpResponse,
) -> Result<Submitted, ProviderError> {
    if json.get("object").and_then(Value::as_str) == Some("file") {
        let id = json
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| super::shape_error("a file object without `id`".into(), response))?;
        return Ok(Submitted::Next(create(endpoint, id, tag)));
    }
    super::shape(view(json), response).map(Submitted::Created)
}

pub(crate) fn get(endpoint: &Endpoint, id: &str) -> HttpCall {
    call(
        endpoint,
        Method::Get,
        &format!("/batches/{id}"),
        Body::Empty,
    )
}

pub(crate) fn cancel(endpoint: &Endpoint, id: &str) -> HttpCall {
    call(
        endpoint,
        Method::Post,
        &format!("/batches/{id}/cancel"),
        Body::Empty,
    )
}

pub(crate) fn list(endpoint: &Endpoint, cursor: Option<&str>) -> HttpCall {
    let path = match cursor {
        Some(after) => format!("/batches?limit=100&after={after}"),
        None => "/batches?limit=100".to_string(),
    };
    call(endpoint, Method::Get, &path, Body::Empty)
}

pub(crate) fn file_content(endpoint: &Endpoint, file_id: &str) -> HttpCall {
    call(
        endpoint,
        Method::Get,
        &format!("/files/{file_id}/content"),
        Body::Empty,
    )
}

/// A batch object.
pub(crate) fn view(json: &Value) -> Result<BatchView, String> {
    if json.get("object").and_then(Value::as_str) != Some("batch") {
        return Err("not a batch object (`object` is not \"batch\")".into());
    }
    let id = json
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("no `id`")?;
    let state = json
        .get("status")
        .and_then(Value::as_str)
        .ok_or("no `status`")?;
    let end = match state {
        "completed" => Some(EndState::Completed),
        "failed" => Some(EndState::Failed),
        "expired" => Some(EndState::Expired),
        "cancelled" => Some(EndState::Cancelled),
        _ => None,
    };
    let counts = json.get("request_counts");
    let count = |name: &str| number(counts.and_then(|c| c.get(name)));
    let reason = json
        .get("errors")
        .and_then(|e| e.get("data"))
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                    match e.get("code").and_then(Value::as_str) {
                        Some(code) => format!("{code}: {message}"),
                        None => message.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|r| !r.is_empty());
    let files: Vec<String> = ["output_file_id", "error_file_id"]
        .iter()
        .filter_map(|f| json.get(*f).and_then(Value::as_str))
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(BatchView {
        id: id.to_owned(),
        state: state.to_owned(),
        end,
        counts: Counts {
            total: count("total"),
            succeeded: count("completed"),
            failed: count("failed"),
        },
        tag: json
            .get("metadata")
            .and_then(|m| m.get(TAG_KEY))
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_unix: json.get("created_at").and_then(Value::as_i64),
        reason,
        results: if end.is_some() {
            Results::Files(files)
        } else {
            Results::None
        },
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

/// One line of the output or error file:
/// `{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null, "error": {"code", "message"} | null}`.
pub(crate) fn result_line(json: &Value, index: usize) -> Result<ItemResult, String> {
    let custom_id = json
        .get("custom_id")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("line {}: no `custom_id`", index + 1))?;
    let outcome = match json.get("response").filter(|r| !r.is_null()) {
        Some(response) => {
            let status = response
                .get("status_code")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| format!("line {}: no `response.status_code`", index + 1))?;
            let headers = response
                .get("request_id")
                .and_then(Value::as_str)
                .map(|id| vec![("x-request-id".to_owned(), id.to_owned())])
                .unwrap_or_default();
            let body = response.get("body").cloned().unwrap_or(Value::Null);
            live_result(ProviderKind::OpenAi, status, headers, &body)
        }
        None => {
            let error = json.get("error");
            let field = |f: &str| {
                error
                    .and_then(|e| e.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let (code, message) = (field("code"), field("message"));
            match code.as_str() {
                "batch_cancelled" => Outcome::NotRun,
                "batch_expired" => Outcome::Failed(ProviderError::batch(true, &code, message)),
                "" => {
                    return Err(format!(
                        "line {}: neither `response` nor `error`",
                        index + 1
                    ));
                }
                _ => Outcome::Failed(ProviderError::batch(false, &code, message)),
            }
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
    use crate::provider::test_support::*;
    use crate::provider::{ErrorKind, ProviderKind};
    use serde_json::{Value, json};

    const KIND: ProviderKind = ProviderKind::OpenAi;

    fn items() -> Vec<Item> {
        vec![
            Item {
                custom_id: "request-1".into(),
                body: json!({"model": "gpt-3.5-turbo-0125", "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello world!"}], "max_tokens": 1000}),
            },
            Item {
                custom_id: "request-2".into(),
                body: json!({"model": "gpt-3.5-turbo-0125", "messages": [{"role": "system", "content": "You are an unhelpful assistant."}, {"role": "user", "content": "Hello world!"}], "max_tokens": 1000}),
            },
        ]
    }

    #[test]
    fn submission_uploads_the_documented_jsonl_then_creates_the_batch() {
        let endpoint = endpoint(
            KIND,
            "https://api.openai.com/v1/",
            "gpt-3.5-turbo-0125",
            json!({}),
        );
        let upload = submit(&endpoint, &items(), "bf-tag").unwrap();
        assert_eq!(upload.method, Method::Post);
        assert_eq!(upload.url, "https://api.openai.com/v1/files");
        assert_eq!(
            upload.headers,
            [(
                "authorization".to_string(),
                "Bearer sk-test-SECRET-123".to_string()
            )]
        );
        let Body::Upload { purpose, bytes, .. } = &upload.body else {
            panic!("{upload:?}")
        };
        assert_eq!(purpose, "batch");
        let expected = include_str!("../../../tests/fixtures/providers/openai/batch_input.jsonl");
        let lines: Vec<Value> = std::str::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let fixture: Vec<Value> = expected
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, fixture);

        let file = include_str!("../../../tests/fixtures/providers/openai/batch_file.json");
        let Submitted::Next(create) =
            parse_submit(&endpoint, "bf-tag", &response(200, &[], file)).unwrap()
        else {
            panic!("expected the create call");
        };
        assert_eq!(create.url, "https://api.openai.com/v1/batches");
        assert_eq!(
            create.body,
            Body::Json(
                json!({"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions",
                "completion_window": "24h", "metadata": {"blindfold_tag": "bf-tag"}})
            )
        );
        let created = include_str!("../../../tests/fixtures/providers/openai/batch_created.json");
        let Submitted::Created(view) =
            parse_submit(&endpoint, "bf-tag", &response(200, &[], created)).unwrap()
        else {
            panic!("expected a batch");
        };
        assert_eq!(
            (view.id.as_str(), view.state.as_str(), view.end),
            ("batch_abc123", "validating", None)
        );
        assert_eq!(view.tag.as_deref(), Some("bf-tag"));
        assert_eq!(view.created_unix, Some(1711471533));
        assert_eq!(view.results, Results::None);
    }

    #[test]
    fn batch_objects_lists_and_calls() {
        let endpoint = endpoint(KIND, "https://api.openai.com/v1", "m", json!({}));
        let done = include_str!("../../../tests/fixtures/providers/openai/batch_completed.json");
        let view = parse_batch(KIND, &response(200, &[], done)).unwrap();
        assert_eq!(view.end, Some(EndState::Completed));
        assert_eq!(
            view.counts,
            Counts {
                total: 100,
                succeeded: 95,
                failed: 5
            }
        );
        assert_eq!(
            view.results,
            Results::Files(vec!["file-cvaTdG".into(), "file-HOWS94".into()])
        );
        let calls = result_calls(&endpoint, &view).unwrap();
        assert_eq!(
            calls[0].url,
            "https://api.openai.com/v1/files/file-cvaTdG/content"
        );
        assert_eq!(calls[1].method, Method::Get);

        let failed = include_str!("../../../tests/fixtures/providers/openai/batch_failed.json");
        let view = parse_batch(KIND, &response(200, &[], failed)).unwrap();
        assert_eq!(view.end, Some(EndState::Failed));
        assert_eq!(
            view.reason.as_deref(),
            Some("invalid_json_line: This line is not parseable as valid JSON.")
        );

        let page = include_str!("../../../tests/fixtures/providers/openai/batch_list.json");
        let (batches, next) = parse_list(KIND, &response(200, &[], page)).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(next.as_deref(), Some("batch_abc456"));
        assert_eq!(
            list(&endpoint, None).url,
            "https://api.openai.com/v1/batches?limit=100"
        );
        assert_eq!(
            list(&endpoint, next.as_deref()).url,
            "https://api.openai.com/v1/batches?limit=100&after=batch_abc456"
        );
        assert_eq!(
            cancel(&endpoint, "batch_1").unwrap().url,
            "https://api.openai.com/v1/batches/batch_1/cancel"
        );
        assert_eq!(get(&endpoint, "batch_1").unwrap().method, Method::Get);
        // An error answer is the provider's error, classified as for live requests.
        let error = parse_batch(
            KIND,
            &response(
                404,
                &[],
                r#"{"error": {"message": "No batch found with id 'batch_x'.", "type": "invalid_request_error", "code": null}}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(error.status, Some(404));
        assert!(!error.is_transient());
    }

    #[test]
    fn output_and_error_file_lines() {
        let output = include_str!("../../../tests/fixtures/providers/openai/batch_output.jsonl");
        let results = parse_results(KIND, &response(200, &[], output)).unwrap();
        let results: Vec<ItemResult> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(results[0].custom_id.as_deref(), Some("request-2"));
        let Outcome::Ok(reply) = &results[0].outcome else {
            panic!("{results:?}")
        };
        assert_eq!(reply.text, "Hello.");
        assert_eq!(
            (reply.usage.input_tokens, reply.usage.output_tokens),
            (22, 2)
        );
        assert_eq!(reply.request_id.as_deref(), Some("chatcmpl-123"));
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));

        let errors = include_str!("../../../tests/fixtures/providers/openai/batch_errors.jsonl");
        let results: Vec<ItemResult> = parse_results(KIND, &response(200, &[], errors))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // A request the API rejected: the live error, classified as live.
        let Outcome::Failed(rejected) = &results[0].outcome else {
            panic!()
        };
        assert_eq!(rejected.status, Some(400));
        assert!(!rejected.is_transient());
        let Outcome::Failed(server) = &results[1].outcome else {
            panic!()
        };
        assert!(server.is_transient());
        let Outcome::Failed(expired) = &results[2].outcome else {
            panic!()
        };
        assert_eq!(expired.kind, ErrorKind::Batch { transient: true });
        assert_eq!(expired.provider_code.as_deref(), Some("batch_expired"));
        assert_eq!(results[3].outcome, Outcome::NotRun);

        let bad = parse_results(
            KIND,
            &response(200, &[], "{\"custom_id\": \"x\"}\nnot json\n"),
        )
        .unwrap();
        assert!(bad[0].as_ref().unwrap_err().contains("neither"));
        assert!(bad[1].as_ref().unwrap_err().contains("line 2"));
    }
}
