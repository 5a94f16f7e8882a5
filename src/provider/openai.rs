//! OpenAI Chat Completions (`POST {base_url}/chat/completions`), also spoken by blindfold's sim
//! server and by most OpenAI-compatible servers and gateways (vLLM, Ollama, OpenRouter, DeepSeek).
//!
//! The request follows the official API reference: `model`, `messages` (system message first),
//! `temperature`, `max_tokens`, `seed`. OpenAI's reasoning models reject `max_tokens` (they take
//! `max_completion_tokens`) and non-default temperatures; the study says so per model through
//! `extra`, e.g. `{"max_tokens": null, "temperature": null, "max_completion_tokens": 2000}`.
//!
//! The response side is tolerant of the compatible servers' variations because the transcripts
//! must not lose text: `content` may be a string, null, or an array of content parts (Mistral's
//! reasoning models send `[{"type": "thinking", ...}, {"type": "text", ...}]`), and the
//! reasoning trace may come as `message.reasoning_content` (DeepSeek, vLLM) or
//! `message.reasoning` (OpenRouter, newer vLLM).

use serde_json::{Value, json};

use super::{
    ChatRequest, Endpoint, ErrorDetails, HttpRequest, ProviderError, Reply, Role, Usage, api_key,
    count, header, join_url, non_empty_str,
};

pub(crate) fn build(
    endpoint: &Endpoint,
    request: &ChatRequest,
) -> Result<HttpRequest, ProviderError> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in &request.messages {
        let role = match message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": message.content}));
    }
    let mut body = json!({"model": endpoint.model, "messages": messages});
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(seed) = request.seed {
        // The API takes a signed 64-bit seed; a larger one would be rejected with a 400.
        let seed = i64::try_from(seed).map_err(|_| {
            ProviderError::invalid_request(format!(
                "seed {seed} exceeds the OpenAI maximum of {}",
                i64::MAX
            ))
        })?;
        body["seed"] = json!(seed);
    }
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(key) = api_key(endpoint) {
        headers.push(("authorization".to_owned(), format!("Bearer {key}")));
    }
    Ok(HttpRequest {
        url: join_url(&endpoint.base_url, "/chat/completions"),
        headers,
        body,
    })
}

/// Reads `choices[0]`; the `Err` names what was missing.
pub(crate) fn parse_reply(json: &Value, headers: &[(String, String)]) -> Result<Reply, String> {
    let choice = json
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("no `choices` array")?
        .first()
        .ok_or("empty `choices` array")?;
    let message = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or("no `choices[0].message` object")?;

    let mut parts = ContentParts::default();
    match message.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => parts.text.push_str(text),
        Some(Value::Array(items)) => items.iter().for_each(|item| parts.add(item)),
        Some(_) => return Err("`message.content` is neither a string, null nor an array".into()),
    }
    if let Some(refusal) = non_empty_str(message.get("refusal")) {
        parts.refusal.push(refusal);
    }
    let reasoning = non_empty_str(message.get("reasoning_content"))
        .or_else(|| non_empty_str(message.get("reasoning")))
        .into_iter()
        .chain(parts.thinking)
        .collect::<Vec<_>>();

    let finish_reason = non_empty_str(choice.get("finish_reason"));
    let refused = !parts.refusal.is_empty() || finish_reason.as_deref() == Some("content_filter");
    // A refusal sent outside `content` becomes the text, so the transcript shows what was said.
    let text = if parts.text.is_empty() {
        parts.refusal.join("\n")
    } else {
        parts.text
    };
    let usage = json.get("usage");
    Ok(Reply {
        text,
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n\n")),
        finish_reason,
        refusal: refused,
        usage: Usage {
            input_tokens: count(usage.and_then(|u| u.get("prompt_tokens"))),
            output_tokens: count(usage.and_then(|u| u.get("completion_tokens"))),
        },
        model_version: non_empty_str(json.get("model")),
        request_id: non_empty_str(json.get("id"))
            .or_else(|| header(headers, "x-request-id").map(str::to_owned)),
    })
}

#[derive(Default)]
struct ContentParts {
    text: String,
    thinking: Vec<String>,
    refusal: Vec<String>,
}

impl ContentParts {
    /// One element of a content-part array: `{"type": "text", "text"}`,
    /// `{"type": "refusal", "refusal"}`, or Mistral's `{"type": "thinking", "thinking": [parts]}`.
    /// Other part types (images, audio, references) carry no text for the transcript.
    fn add(&mut self, part: &Value) {
        match part.get("type").and_then(Value::as_str) {
            Some("text") | None => {
                if let Some(text) = part.get("text").and_then(Value::as_str) {
                    self.text.push_str(text);
                }
            }
            Some("refusal") => self.refusal.extend(non_empty_str(part.get("refusal"))),
            Some("thinking") => {
                let thinking = match part.get("thinking") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(inner)) => inner
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect(),
                    _ => String::new(),
                };
                if !thinking.is_empty() {
                    self.thinking.push(thinking);
                }
            }
            Some(_) => {}
        }
    }
}

/// `{"error": {"message", "type", "param", "code"}}`. Exhausted credit comes as HTTP 429 with
/// code (and type) `insufficient_quota`, which no amount of waiting fixes.
pub(crate) fn error_details(json: &Value) -> ErrorDetails {
    let error = json.get("error");
    let field = |name: &str| non_empty_str(error.and_then(|e| e.get(name)));
    let code = field("code").or_else(|| field("type"));
    let quota_exhausted = [field("code"), field("type")]
        .iter()
        .any(|v| v.as_deref() == Some("insufficient_quota"));
    let auth_failed = code.as_deref() == Some("invalid_api_key");
    ErrorDetails {
        code,
        quota_exhausted,
        auth_failed,
        ..ErrorDetails::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use serde_json::json;

    const KIND: ProviderKind = ProviderKind::OpenAi;

    #[test]
    fn request_fixture_for_a_reasoning_model_with_extra() {
        let endpoint = endpoint(
            KIND,
            "https://api.openai.com/v1/",
            "o4-mini",
            json!({"max_tokens": null, "temperature": null, "max_completion_tokens": 2000, "reasoning_effort": "low"}),
        );
        check_build(
            &endpoint,
            "https://api.openai.com/v1/chat/completions",
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer sk-test-SECRET-123"),
            ],
            include_str!("../../tests/fixtures/providers/openai/request.json"),
        );
    }

    #[test]
    fn plain_request_keeps_the_sampling_parameters() {
        let built = build_request(
            &endpoint(KIND, "http://localhost:8000/v1", "llama", json!({})),
            &fixture_chat_request(),
        )
        .unwrap();
        assert_eq!(built.body["temperature"], json!(0.7));
        assert_eq!(built.body["max_tokens"], json!(4096));
        assert_eq!(built.body["seed"], json!(42));
        assert_eq!(
            built.body["messages"][0],
            json!({"role": "system", "content": "You are a careful assistant."})
        );
        let mut no_system = fixture_chat_request();
        no_system.system = None;
        no_system.temperature = None;
        no_system.max_tokens = None;
        no_system.seed = None;
        let built = build_request(
            &endpoint(KIND, "http://localhost:8000/v1", "llama", json!({})),
            &no_system,
        )
        .unwrap();
        assert_eq!(
            built.body,
            json!({"model": "llama", "messages": [
                {"role": "user", "content": "What is the capital of France?"},
                {"role": "assistant", "content": "Paris."},
                {"role": "user", "content": "And of Italy?"}]})
        );
    }

    #[test]
    fn seeds_beyond_i64_are_rejected() {
        let mut request = fixture_chat_request();
        request.seed = Some(i64::MAX as u64);
        assert!(
            build_request(
                &endpoint(KIND, "https://api.openai.com/v1", "gpt-4o", json!({})),
                &request
            )
            .is_ok()
        );
        request.seed = Some(i64::MAX as u64 + 1);
        let error = build_request(
            &endpoint(KIND, "https://api.openai.com/v1", "gpt-4o", json!({})),
            &request,
        )
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn responses() {
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_basic.json"),
            &[("x-request-id", "req_abc")],
            Expect {
                text: "Hi there! How can I assist you today?",
                reasoning: None,
                finish_reason: Some("stop"),
                refusal: false,
                usage: (19, 10),
                model_version: Some("gpt-4o-2024-08-06"),
                request_id: Some("chatcmpl-123456"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_refusal.json"),
            &[],
            Expect {
                text: "I'm sorry, I can't assist with that request.",
                reasoning: None,
                finish_reason: Some("stop"),
                refusal: true,
                usage: (81, 11),
                model_version: Some("gpt-4o-2024-08-06"),
                request_id: Some("chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC"),
            },
        );
        // A reasoning model that spent its whole budget thinking: empty text, finish "length".
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_empty_length.json"),
            &[("X-Request-Id", "req_7f3")],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("length"),
                refusal: false,
                usage: (1117, 2000),
                model_version: Some("o4-mini-2025-04-16"),
                request_id: Some("chatcmpl-BZQnH8W0q2c5dKXyT1pVhrE4mOuLs"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_content_parts.json"),
            &[],
            Expect {
                text: "Rome is the capital of Italy.",
                reasoning: Some(
                    "The user asks about Italy after France. The capital of Italy is Rome.",
                ),
                finish_reason: Some("stop"),
                refusal: false,
                usage: (33, 58),
                model_version: Some("magistral-medium-2509"),
                request_id: Some("d6c1e7a4f0b24a58a3b9d5b1f2a6c7e8"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_reasoning_content.json"),
            &[],
            Expect {
                text: "The capital of Italy is Rome.",
                reasoning: Some(
                    "The user previously asked about France; now Italy. Italy's capital is Rome.",
                ),
                finish_reason: Some("stop"),
                refusal: false,
                usage: (28, 45),
                model_version: Some("deepseek-reasoner"),
                request_id: Some("930c60df-bf64-41c9-a88e-3ec75f81e00e"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/openai/response_content_filter.json"),
            &[],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("content_filter"),
                refusal: true,
                usage: (25, 0),
                model_version: Some("gpt-4o-2024-11-20"),
                request_id: Some("chatcmpl-AzureFiltered01"),
            },
        );
    }

    #[test]
    fn minimal_local_server_reply_without_usage_or_ids() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#;
        check_parse(
            ProviderKind::Sim,
            body,
            &[("x-request-id", "sim-7")],
            Expect {
                text: "ok",
                reasoning: None,
                finish_reason: Some("stop"),
                refusal: false,
                usage: (0, 0),
                model_version: None,
                request_id: Some("sim-7"),
            },
        );
    }

    #[test]
    fn errors() {
        check_error(
            KIND,
            401,
            &[("x-request-id", "req_401")],
            include_str!("../../tests/fixtures/providers/openai/error_401.json"),
            ExpectError {
                code: Some("invalid_api_key"),
                message_starts: "Incorrect API key provided",
                transient: false,
                auth: true,
                quota: false,
                retry_delay: None,
                request_id: Some("req_401"),
            },
        );
        check_error(
            KIND,
            429,
            &[("retry-after", "2"), ("retry-after-ms", "1500")],
            include_str!("../../tests/fixtures/providers/openai/error_429_rate_limit.json"),
            ExpectError {
                code: Some("rate_limit_exceeded"),
                message_starts: "Rate limit reached for gpt-4o",
                transient: true,
                auth: false,
                quota: false,
                retry_delay: Some(Duration::from_millis(1500)),
                request_id: None,
            },
        );
        check_error(
            KIND,
            429,
            &[],
            include_str!("../../tests/fixtures/providers/openai/error_429_quota.json"),
            ExpectError {
                code: Some("insufficient_quota"),
                message_starts: "You exceeded your current quota",
                transient: false,
                auth: false,
                quota: true,
                retry_delay: None,
                request_id: None,
            },
        );
        check_error(
            KIND,
            400,
            &[],
            include_str!("../../tests/fixtures/providers/openai/error_400.json"),
            ExpectError {
                code: Some("unsupported_parameter"),
                message_starts: "Unsupported parameter: 'max_tokens'",
                transient: false,
                auth: false,
                quota: false,
                retry_delay: None,
                request_id: None,
            },
        );
        check_error(
            KIND,
            500,
            &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")],
            include_str!("../../tests/fixtures/providers/openai/error_500.json"),
            ExpectError {
                code: Some("server_error"),
                message_starts: "The server had an error while processing your request",
                transient: true,
                auth: false,
                quota: false,
                // The date lies ~25 years after the epoch used as "now" by check_error.
                retry_delay: Some(Duration::from_secs(784_111_777)),
                request_id: None,
            },
        );
    }
}
