//! Gemini API `generateContent`
//! (`POST {base_url}/v1beta/models/{model}:generateContent`).
//!
//! The key goes in the `x-goog-api-key` header, never in a `?key=` query parameter, so that no
//! URL in a log can carry it. Roles are `user` and `model`; the system prompt is a separate
//! `systemInstruction`; sampling parameters live under `generationConfig`.
//!
//! Things that differ from the other providers and matter for the study:
//! * `seed` is a 32-bit signed integer in Gemini's `GenerationConfig`, so a seed above
//!   2147483647 is rejected here rather than silently changed.
//! * `usageMetadata.candidatesTokenCount` excludes thinking; `thoughtsTokenCount` is added to
//!   the output count so that output tokens mean the same thing for every provider.
//! * Safety blocking is reported in-band with HTTP 200: a blocked prompt has no candidates but
//!   `promptFeedback.blockReason`, a blocked answer has a safety-type `finishReason` and usually
//!   no content. Both become an empty, `refusal: true` reply (the block reason becomes the
//!   finish reason when there is no candidate).
//! * An invalid API key is answered with HTTP 400 (`API_KEY_INVALID`), not 401, and the retry
//!   hint of a 429 is in the body (`google.rpc.RetryInfo`), not in a `Retry-After` header.
//!   Per-day quotas also come as 429 and are treated as exhausted (permanent), since retrying
//!   before the daily reset cannot succeed.

use serde_json::{Value, json};

use super::{
    ChatRequest, Endpoint, ErrorDetails, HttpRequest, ProviderError, Reply, Role, Usage, api_key,
    count, join_url, non_empty_str,
};

/// Finish reasons that mean the provider withheld the answer (safety, recitation and policy
/// filters), as opposed to STOP, MAX_TOKENS or tool-call problems.
pub const REFUSAL_FINISH_REASONS: [&str; 8] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "MODEL_ARMOR",
];

pub(crate) fn build(
    endpoint: &Endpoint,
    request: &ChatRequest,
) -> Result<HttpRequest, ProviderError> {
    let contents: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "model"
            } else {
                "user"
            };
            json!({"role": role, "parts": [{"text": m.content}]})
        })
        .collect();
    let mut body = json!({"contents": contents});
    if let Some(system) = &request.system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    let mut config = serde_json::Map::new();
    if let Some(temperature) = request.temperature {
        config.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max_tokens));
    }
    if let Some(seed) = request.seed {
        let seed = i32::try_from(seed).map_err(|_| {
            ProviderError::invalid_request(format!(
                "seed {seed} exceeds Gemini's 32-bit maximum of {}",
                i32::MAX
            ))
        })?;
        config.insert("seed".into(), json!(seed));
    }
    if !config.is_empty() {
        body["generationConfig"] = Value::Object(config);
    }
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(key) = api_key(endpoint) {
        headers.push(("x-goog-api-key".to_owned(), key.to_owned()));
    }
    let url = join_url(
        &endpoint.base_url,
        &format!(
            "/v1beta/{}:generateContent",
            model_resource(&endpoint.model)?
        ),
    );
    Ok(HttpRequest { url, headers, body })
}

/// `models/{model}` for a bare model id; a full resource name (`models/x`, `tunedModels/x`) is
/// used as given. The name becomes part of the URL path, so only characters that need no
/// escaping are accepted.
pub(crate) fn model_resource(model: &str) -> Result<String, ProviderError> {
    let model = model.trim();
    let safe = model
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !safe || model.starts_with('/') || model.ends_with('/') || model.contains("..") {
        return Err(ProviderError::invalid_request(format!(
            "{model:?} is not a valid Gemini model name"
        )));
    }
    Ok(if model.contains('/') {
        model.to_owned()
    } else {
        format!("models/{model}")
    })
}

/// Reads `candidates[0]`, or `promptFeedback` when the prompt was blocked; the `Err` names what
/// was missing.
pub(crate) fn parse_reply(json: &Value, _headers: &[(String, String)]) -> Result<Reply, String> {
    let usage = json.get("usageMetadata");
    let usage_field = |name: &str| count(usage.and_then(|u| u.get(name)));
    let mut reply = Reply {
        text: String::new(),
        reasoning: None,
        finish_reason: None,
        refusal: false,
        usage: Usage {
            input_tokens: usage_field("promptTokenCount"),
            output_tokens: usage_field("candidatesTokenCount") + usage_field("thoughtsTokenCount"),
        },
        model_version: non_empty_str(json.get("modelVersion")),
        request_id: non_empty_str(json.get("responseId")),
    };
    let first_candidate = json
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let Some(candidate) = first_candidate else {
        let block_reason = non_empty_str(
            json.get("promptFeedback")
                .and_then(|f| f.get("blockReason")),
        );
        return match block_reason {
            Some(reason) => Ok(Reply {
                finish_reason: Some(reason),
                refusal: true,
                ..reply
            }),
            None => Err("no candidates and no `promptFeedback.blockReason`".into()),
        };
    };
    let parts = candidate
        .get("content")
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array);
    let mut thoughts = String::new();
    for part in parts.into_iter().flatten() {
        let Some(text) = part.get("text").and_then(Value::as_str) else {
            continue;
        };
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            thoughts.push_str(text);
        } else {
            reply.text.push_str(text);
        }
    }
    reply.reasoning = (!thoughts.is_empty()).then_some(thoughts);
    reply.finish_reason = non_empty_str(candidate.get("finishReason"));
    reply.refusal = reply
        .finish_reason
        .as_deref()
        .is_some_and(|r| REFUSAL_FINISH_REASONS.contains(&r));
    Ok(reply)
}

/// `{"error": {"code", "message", "status", "details": [...]}}` (google.rpc.Status). The details
/// may hold an `ErrorInfo` (machine-readable `reason`), a `RetryInfo` (`retryDelay`) and a
/// `QuotaFailure` (which quotas were hit).
pub(crate) fn error_details(json: &Value) -> ErrorDetails {
    let error = json.get("error");
    let details: &[Value] = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let of_type = |suffix: &'static str| details_of_type(details, suffix);
    let reason = of_type("google.rpc.ErrorInfo").find_map(|d| non_empty_str(d.get("reason")));
    let status = non_empty_str(error.and_then(|e| e.get("status")));
    let retry_info_delay =
        of_type("google.rpc.RetryInfo").find_map(|d| non_empty_str(d.get("retryDelay")));
    let quota_exhausted = of_type("google.rpc.QuotaFailure")
        .filter_map(|d| d.get("violations").and_then(Value::as_array))
        .flatten()
        .any(|v| {
            let per_day = v
                .get("quotaId")
                .and_then(Value::as_str)
                .is_some_and(|id| id.contains("PerDay"));
            let zero_limit = v.get("quotaValue").and_then(Value::as_str) == Some("0");
            per_day || zero_limit
        });
    let auth_failed = reason.as_deref() == Some("API_KEY_INVALID")
        || matches!(
            status.as_deref(),
            Some("UNAUTHENTICATED" | "PERMISSION_DENIED")
        );
    ErrorDetails {
        code: reason.or(status),
        quota_exhausted,
        auth_failed,
        retry_info_delay,
        request_id: None,
    }
}

/// The entries of a `google.rpc.Status.details` list whose `@type` ends with `suffix`.
fn details_of_type<'a>(
    details: &'a [Value],
    suffix: &'static str,
) -> impl Iterator<Item = &'a Value> {
    details.iter().filter(move |d| {
        d.get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with(suffix))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use serde_json::json;

    const KIND: ProviderKind = ProviderKind::Gemini;

    #[test]
    fn request_fixture_with_thinking_config_and_safety_settings() {
        let endpoint = endpoint(
            KIND,
            "https://generativelanguage.googleapis.com/",
            "gemini-2.5-flash",
            json!({
                "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}},
                "safetySettings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}
                ]
            }),
        );
        check_build(
            &endpoint,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
            &[
                ("content-type", "application/json"),
                ("x-goog-api-key", "sk-test-SECRET-123"),
            ],
            include_str!("../../tests/fixtures/providers/gemini/request.json"),
        );
    }

    #[test]
    fn key_never_in_the_url() {
        let built = build_request(
            &endpoint(
                KIND,
                "https://generativelanguage.googleapis.com",
                "gemini-2.5-pro",
                json!({}),
            ),
            &fixture_chat_request(),
        )
        .unwrap();
        assert!(!built.url.contains("key"));
        assert!(!built.url.contains("SECRET"));
    }

    #[test]
    fn generation_config_only_when_needed_and_seed_must_fit_32_bits() {
        let mut request = fixture_chat_request();
        request.temperature = None;
        request.max_tokens = None;
        request.seed = None;
        request.system = None;
        let base = "https://generativelanguage.googleapis.com";
        let built =
            build_request(&endpoint(KIND, base, "gemini-2.5-pro", json!({})), &request).unwrap();
        assert!(built.body.get("generationConfig").is_none());
        assert!(built.body.get("systemInstruction").is_none());
        request.seed = Some(i32::MAX as u64);
        let built =
            build_request(&endpoint(KIND, base, "gemini-2.5-pro", json!({})), &request).unwrap();
        assert_eq!(built.body["generationConfig"], json!({"seed": 2147483647}));
        request.seed = Some(i32::MAX as u64 + 1);
        let error = build_request(&endpoint(KIND, base, "gemini-2.5-pro", json!({})), &request)
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn model_names_that_would_break_the_url_are_rejected() {
        for model in [
            "gemini 2.5",
            "gemini?alt=sse",
            "../admin",
            "models/",
            "/models/x",
            "gemini#x",
            "gemini%2F",
        ] {
            let error = build_request(
                &endpoint(
                    KIND,
                    "https://generativelanguage.googleapis.com",
                    model,
                    json!({}),
                ),
                &fixture_chat_request(),
            )
            .unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidRequest, "{model}");
        }
    }

    #[test]
    fn responses() {
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/gemini/response_basic.json"),
            &[],
            Expect {
                text: "Rome is the capital of Italy.",
                reasoning: None,
                finish_reason: Some("STOP"),
                refusal: false,
                usage: (24, 8),
                model_version: Some("gemini-2.0-flash"),
                request_id: Some("dIjPaPfSGK2j1MkPq6y7mAQ"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/gemini/response_thinking.json"),
            &[],
            Expect {
                text: "The capital of Italy is Rome, on the Tiber.",
                reasoning: Some(
                    "**Identifying the capital**\n\nThe user moved from France to Italy; the capital of Italy is Rome.",
                ),
                finish_reason: Some("STOP"),
                refusal: false,
                usage: (24, 12 + 187),
                model_version: Some("gemini-2.5-flash"),
                request_id: Some("n4nPaKzdA9Ctz7IPsNWj6Ag"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/gemini/response_safety.json"),
            &[],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("SAFETY"),
                refusal: true,
                usage: (31, 0),
                model_version: Some("gemini-2.5-flash"),
                request_id: Some("o5nPaMrGKZuWz7IP2pKx2Q0"),
            },
        );
        check_parse(
            KIND,
            include_str!("../../tests/fixtures/providers/gemini/response_prompt_blocked.json"),
            &[],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("PROHIBITED_CONTENT"),
                refusal: true,
                usage: (47, 0),
                model_version: Some("gemini-2.5-pro"),
                request_id: Some("p6nPaJ3bN8-tz7IPm8-C2Qs"),
            },
        );
        // STOP with a candidate but no content parts (seen with thinking models): empty reply.
        let empty = r#"{"candidates":[{"content":{"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"gemini-2.5-pro","responseId":"r1"}"#;
        check_parse(
            KIND,
            empty,
            &[],
            Expect {
                text: "",
                reasoning: None,
                finish_reason: Some("STOP"),
                refusal: false,
                usage: (5, 0),
                model_version: Some("gemini-2.5-pro"),
                request_id: Some("r1"),
            },
        );
    }

    #[test]
    fn errors() {
        check_error(
            KIND,
            400,
            &[],
            include_str!("../../tests/fixtures/providers/gemini/error_400_api_key.json"),
            ExpectError {
                code: Some("API_KEY_INVALID"),
                message_starts: "API key not valid. Please pass a valid API key.",
                transient: false,
                auth: true,
                quota: false,
                retry_delay: None,
                request_id: None,
            },
        );
        check_error(
            KIND,
            429,
            &[],
            include_str!("../../tests/fixtures/providers/gemini/error_429_per_minute.json"),
            ExpectError {
                code: Some("RESOURCE_EXHAUSTED"),
                message_starts: "You exceeded your current quota",
                transient: true,
                auth: false,
                quota: false,
                retry_delay: Some(Duration::from_secs(43)),
                request_id: None,
            },
        );
        check_error(
            KIND,
            429,
            &[],
            include_str!("../../tests/fixtures/providers/gemini/error_429_per_day.json"),
            ExpectError {
                code: Some("RESOURCE_EXHAUSTED"),
                message_starts: "You exceeded your current quota",
                transient: false,
                auth: false,
                quota: true,
                retry_delay: Some(Duration::from_secs(22)),
                request_id: None,
            },
        );
        check_error(
            KIND,
            503,
            &[],
            include_str!("../../tests/fixtures/providers/gemini/error_503.json"),
            ExpectError {
                code: Some("UNAVAILABLE"),
                message_starts: "The model is overloaded. Please try again later.",
                transient: true,
                auth: false,
                quota: false,
                retry_delay: None,
                request_id: None,
            },
        );
        check_error(
            KIND,
            400,
            &[],
            include_str!("../../tests/fixtures/providers/gemini/error_400_argument.json"),
            ExpectError {
                code: Some("INVALID_ARGUMENT"),
                message_starts: "The input token count",
                transient: false,
                auth: false,
                quota: false,
                retry_delay: None,
                request_id: None,
            },
        );
    }
}
