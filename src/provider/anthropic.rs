//! Anthropic Messages API (`POST {base_url}/v1/messages`, `anthropic-version: 2023-06-01`).
//!
//! Differences from the neutral request that matter for the study:
//! * `max_tokens` is required by the API; when the chat request leaves it open,
//!   [`ANTHROPIC_DEFAULT_MAX_TOKENS`] (1024) is sent. With extended thinking
//!   (`extra: {"thinking": {"type": "enabled", "budget_tokens": N}}`) `max_tokens` must exceed
//!   `N`, and `temperature` must be left unset (`extra: {"temperature": null}`).
//! * There is no seed parameter: a requested seed is not sent, so Anthropic samples are not
//!   reproducible by seed and the study must not claim they are.
//!
//! In the response, `text` blocks form the reply, `thinking` blocks the reasoning, and
//! `redacted_thinking` blocks (encrypted, unreadable) appear in the reasoning as a
//! `[redacted thinking]` marker so that their presence is recorded.

use serde_json::{Value, json};

use super::{
    ANTHROPIC_DEFAULT_MAX_TOKENS, ChatRequest, Endpoint, ErrorDetails, HttpRequest, ProviderError,
    Reply, Role, Usage, api_key, count, header, join_url, non_empty_str,
};

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Stands in for a `redacted_thinking` block, whose `data` is an encrypted blob.
pub const REDACTED_THINKING_MARKER: &str = "[redacted thinking]";

pub(crate) fn build(
    endpoint: &Endpoint,
    request: &ChatRequest,
) -> Result<HttpRequest, ProviderError> {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "assistant"
            } else {
                "user"
            };
            json!({"role": role, "content": m.content})
        })
        .collect();
    let mut body = json!({
        "model": endpoint.model,
        "messages": messages,
        "max_tokens": request.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS),
    });
    if let Some(system) = &request.system {
        body["system"] = json!(system);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("anthropic-version".to_owned(), ANTHROPIC_VERSION.to_owned()),
    ];
    if let Some(key) = api_key(endpoint) {
        headers.push(("x-api-key".to_owned(), key.to_owned()));
    }
    Ok(HttpRequest {
        url: join_url(&endpoint.base_url, "/v1/messages"),
        headers,
        body,
    })
}

/// Reads the content blocks; the `Err` names what was missing.
pub(crate) fn parse_reply(json: &Value, headers: &[(String, String)]) -> Result<Reply, String> {
    let blocks = json
        .get("content")
        .and_then(Value::as_array)
        .ok_or("no `content` array")?;
    let mut text = String::new();
    let mut reasoning = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            Some("thinking") => reasoning.extend(non_empty_str(block.get("thinking"))),
            Some("redacted_thinking") => reasoning.push(REDACTED_THINKING_MARKER.to_owned()),
            _ => {} // tool use and server-tool blocks carry no reply text
        }
    }
    let finish_reason = non_empty_str(json.get("stop_reason"));
    let usage = json.get("usage");
    let usage_field = |name: &str| count(usage.and_then(|u| u.get(name)));
    Ok(Reply {
        text,
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n\n")),
        refusal: finish_reason.as_deref() == Some("refusal"),
        finish_reason,
        usage: Usage {
            // Total input is the sum of the uncached, cache-write and cache-read counts.
            input_tokens: usage_field("input_tokens")
                + usage_field("cache_creation_input_tokens")
                + usage_field("cache_read_input_tokens"),
            output_tokens: usage_field("output_tokens"),
        },
        model_version: non_empty_str(json.get("model")),
        request_id: non_empty_str(json.get("id"))
            .or_else(|| header(headers, "request-id").map(str::to_owned)),
    })
}

/// `{"type": "error", "error": {"type", "message"}, "request_id"}`.
pub(crate) fn error_details(json: &Value) -> ErrorDetails {
    let code = non_empty_str(json.get("error").and_then(|e| e.get("type")));
    ErrorDetails {
        quota_exhausted: code.as_deref() == Some("billing_error"),
        auth_failed: matches!(
            code.as_deref(),
            Some("authentication_error" | "permission_error")
        ),
        request_id: non_empty_str(json.get("request_id")),
        code,
        ..ErrorDetails::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use serde_json::json;

    const KIND: ProviderKind = ProviderKind::Anthropic;

    #[test]
    fn request_fixture_with_extended_thinking() {
        let endpoint = endpoint(
            KIND,
            "https://api.anthropic.com",
            "claude-sonnet-4-5",
            json!({"thinking": {"type": "enabled", "budget_tokens": 2000}, "temperature": null}),
        );
        check_build(
            &endpoint,
            "https://api.anthropic.com/v1/messages",
            &[
                ("content-type", "application/json"),
                ("anthropic-version", "2023-06-01"),
                ("x-api-key", "sk-test-SECRET-123"),
            ],
            include_str!("../../tests/fixtures/providers/anthropic/request.json"),
        );
    }

    #[test]
    fn max_tokens_defaults_to_1024_and_seed_is_never_sent() {
        let mut request = fixture_chat_request();
        request.max_tokens = None;
        request.system = None;
        let built = build_request(
            &endpoint(
                KIND,
                "https://api.anthropic.com",
                "claude-haiku-4-5",
                json!({}),
            ),
            &request,
        )
        .unwrap();
        assert_eq!(
            built.body["max_tokens"],
            json!(ANTHROPIC_DEFAULT_MAX_TOKENS)
        );
        assert_eq!(built.body["temperature"], json!(0.7));
        assert!(built.body.get("seed").is_none());
        assert!(built.body.get("system").is_none());
    }

    #[test]
    fn responses() {
        // The example response of the Messages API reference.
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/anthropic/response_basic.json"),
            &[("request-id", "req_018EeWyXxfu5pfWkrYcMdjWG")],
            Expect {
                text: "Hi! My name is Claude.",
                reasoning: None,
                finish_reason: Some("end_turn"),
                refusal: false,
                usage: (2095, 503),
                model_version: Some("claude-3-7-sonnet-20250219"),
                request_id: Some("msg_013Zva2CMHLNnXjNJJKqJ2EF"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/anthropic/response_thinking.json"),
            &[],
            Expect {
                text: "The capital of Italy is Rome. It has been the capital since 1871.",
                reasoning: Some(
                    "The user asked about France first, then Italy.\n\n[redacted thinking]\n\nItaly's capital is Rome.",
                ),
                finish_reason: Some("end_turn"),
                refusal: false,
                usage: (12 + 1800 + 3400, 389),
                model_version: Some("claude-sonnet-4-5-20250929"),
                request_id: Some("msg_01AhT6YVbpUDCsSGwsWqFMVZ"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/anthropic/response_refusal.json"),
            &[],
            Expect {
                text: "I can help with general chemistry, but",
                reasoning: None,
                finish_reason: Some("refusal"),
                refusal: true,
                usage: (41, 9),
                model_version: Some("claude-sonnet-4-5-20250929"),
                request_id: Some("msg_01Xq3rVKRefusal7Bz9sT2mPd"),
            },
        );
        // max_tokens reached before any text: an empty reply, not an error.
        let truncated = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}"#;
        check_parse(
            KIND,
            truncated,
            &[("request-id", "req_9")],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("max_tokens"),
                refusal: false,
                usage: (10, 1),
                model_version: Some("claude-haiku-4-5-20251001"),
                request_id: Some("msg_01"),
            },
        );
    }

    #[test]
    fn errors() {
        check_error(
            KIND,
            401,
            &[("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")],
            include_str!("../../tests/fixtures/providers/anthropic/error_401.json"),
            ExpectError {
                code: Some("authentication_error"),
                message_starts: "invalid x-api-key",
                transient: false,
                auth: true,
                quota: false,
                retry_delay: None,
                request_id: Some("req_011CSHoEeqs5C35K2UUqR7Fy"),
            },
        );
        check_error(
            KIND,
            429,
            &[
                ("retry-after", "30"),
                ("anthropic-ratelimit-input-tokens-remaining", "0"),
            ],
            include_str!("../../tests/fixtures/providers/anthropic/error_429.json"),
            ExpectError {
                code: Some("rate_limit_error"),
                message_starts: "This request would exceed the rate limit",
                transient: true,
                auth: false,
                quota: false,
                retry_delay: Some(Duration::from_secs(30)),
                request_id: Some("req_011CTqX9Ph4RZ1xXxkdsG6a7"),
            },
        );
        check_error(
            KIND,
            529,
            &[],
            include_str!("../../tests/fixtures/providers/anthropic/error_529.json"),
            ExpectError {
                code: Some("overloaded_error"),
                message_starts: "Overloaded",
                transient: true,
                auth: false,
                quota: false,
                retry_delay: None,
                request_id: Some("req_011CTqYb7nHkQ2mGQpW8cX1e"),
            },
        );
        check_error(
            KIND,
            400,
            &[],
            include_str!("../../tests/fixtures/providers/anthropic/error_400.json"),
            ExpectError {
                code: Some("invalid_request_error"),
                message_starts: "`max_tokens` must be greater than `thinking.budget_tokens`",
                transient: false,
                auth: false,
                quota: false,
                retry_delay: None,
                request_id: Some("req_011CTqZ3Lw5uV8hJ1sNcK4dF"),
            },
        );
        check_error(
            KIND,
            402,
            &[],
            include_str!("../../tests/fixtures/providers/anthropic/error_402.json"),
            ExpectError {
                code: Some("billing_error"),
                message_starts: "Your credit balance is too low",
                transient: false,
                auth: false,
                quota: true,
                retry_delay: None,
                request_id: None,
            },
        );
    }
}
