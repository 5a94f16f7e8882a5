//! `blindfold sim serve`: wire formats, usage counts, faults, and the three models' differences,
//! all over loopback HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};

use serde_json::{Value, json};

/// A `blindfold sim serve` child on a free port, killed on drop.
pub struct SimServe {
    child: Child,
    pub base: String,
}

impl SimServe {
    pub fn start(args: &[&str]) -> Self {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
            .args(["sim", "serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        SimServe {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for SimServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one client call to completion (the tests themselves are synchronous).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Value) {
    block_on(async {
        let client = reqwest::Client::new();
        let mut request = client.post(url).json(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body: Value = response.json().await.unwrap();
        (status, headers, body)
    })
}

/// The message of an OpenAI- or Anthropic-style error body.
fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

fn get(url: &str) -> Value {
    block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

const VERIFY: &str = "Support the user in verifying your answer: list the specific claims they should check, \
give for each a concrete source or a way to check it, and state your confidence in the answer and why.";
const QUESTION: &str = "Is it safe to take ibuprofen while on lisinopril?";

fn openai_reply(server: &SimServe, model: &str, system: Option<&str>, seed: u64) -> Value {
    let mut messages = vec![];
    if let Some(system) = system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": QUESTION}));
    let (status, _, body) = post(
        &format!("{}/v1/chat/completions", server.base),
        &json!({"model": model, "messages": messages, "temperature": 0.7, "seed": seed}),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn openai_wire_format_with_usage_and_determinism() {
    let server = SimServe::start(&[]);
    let body = openai_reply(&server, "sim-alpha", None, 7);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["model"].as_str().unwrap().starts_with("sim-alpha-"));
    let usage = &body["usage"];
    let (prompt, completion) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert!(prompt > 0 && completion > 0);
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), prompt + completion);
    // Same request, same seed: same text. Another seed: another text.
    assert_eq!(
        openai_reply(&server, "sim-alpha", None, 7)["choices"],
        body["choices"]
    );
    assert_ne!(
        openai_reply(&server, "sim-alpha", None, 8)["choices"],
        body["choices"]
    );

    let models = get(&format!("{}/v1/models", server.base));
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sim-alpha", "sim-beta", "sim-gamma"]);
}

#[test]
fn anthropic_wire_format_with_usage() {
    let server = SimServe::start(&[]);
    let (status, headers, body) = post(
        &format!("{}/v1/messages", server.base),
        &json!({
            "model": "sim-gamma",
            "max_tokens": 400,
            "system": VERIFY,
            "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        }),
        &[("anthropic-version", "2023-06-01"), ("x-api-key", "unused")],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["content"][0]["type"], "text");
    assert!(!body["content"][0]["text"].as_str().unwrap().is_empty());
    assert!(body["stop_reason"] == "end_turn" || body["stop_reason"] == "max_tokens");
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(body["usage"]["output_tokens"].as_u64().unwrap() <= 400);
    assert!(headers.iter().any(|(k, _)| k == "request-id"));

    // Anthropic requires max_tokens; the simulation says so as the API does.
    let (status, _, body) = post(
        &format!("{}/v1/messages", server.base),
        &json!({"model": "sim-gamma", "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    );
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
}

#[test]
fn unknown_models_and_bad_bodies_get_provider_style_errors() {
    let server = SimServe::start(&[]);
    let (status, _, body) = post(
        &format!("{}/v1/chat/completions", server.base),
        &json!({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    );
    assert_eq!(status, 404);
    assert!(error_message(&body).contains("gpt-9"));
    let (status, _, _) = post(
        &format!("{}/v1/chat/completions", server.base),
        &json!({"model": "sim-beta"}),
        &[],
    );
    assert_eq!(status, 400);
    // Streaming is refused plainly rather than answered in a shape a streaming client can't read.
    let (status, _, body) = post(
        &format!("{}/v1/chat/completions", server.base),
        &json!({"model": "sim-beta", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    );
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("stream"));
    let (status, _, body) = post(
        &format!("{}/v1/messages", server.base),
        &json!({"model": "sim-beta", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    // A body that is not JSON, and a path that does not exist, get JSON errors too.
    let raw = |path: &str, body: &'static str| {
        block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{}{path}", server.base))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    let (status, body) = raw("/v1/messages", "{\"model\": ");
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
    assert!(error_message(&body).contains("not valid JSON"));
    let (status, body) = raw("/v1/completions", "{}");
    assert_eq!(status, 404);
    assert!(error_message(&body).contains("/v1/completions"));
}

#[test]
fn injected_429s_carry_retry_after() {
    let server = SimServe::start(&["--fail-rate", "429=1.0"]);
    let (status, headers, body) = post(
        &format!("{}/v1/chat/completions", server.base),
        &json!({"model": "sim-beta", "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    );
    assert_eq!(status, 429);
    assert!(headers.iter().any(|(k, v)| k == "retry-after" && v == "1"));
    assert!(body["error"]["message"].as_str().is_some());
}

#[test]
fn the_three_models_answer_the_same_verification_instruction_differently() {
    let server = SimServe::start(&[]);
    let text = |model: &str, system: Option<&str>| -> String {
        openai_reply(&server, model, system, 3)["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_lowercase()
    };
    let has_checks = |t: &str| t.contains("how to verify") || t.contains("claims you can check");
    let has_confidence = |t: &str| t.contains("confidence");
    let alpha = text("sim-alpha", Some(VERIFY));
    let beta = text("sim-beta", Some(VERIFY));
    let gamma = text("sim-gamma", Some(VERIFY));
    // Alpha complies fully, gamma in part (a stated confidence, no checks), beta not at all.
    assert!(has_checks(&alpha) && has_confidence(&alpha), "{alpha}");
    assert!(!has_checks(&gamma) && has_confidence(&gamma), "{gamma}");
    assert!(!has_checks(&beta) && !has_confidence(&beta), "{beta}");
    // Without the instruction, alpha offers no verification support either.
    let alpha_plain = text("sim-alpha", None);
    assert!(!has_checks(&alpha_plain), "{alpha_plain}");
}

/// The official Python client libraries can use the server (non-streaming chat and messages).
#[test]
fn official_client_libraries_can_use_the_server() {
    let available = StdCommand::new("python3")
        .args(["-c", "import openai, anthropic"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the openai and anthropic Python packages (see .ci/run)"
        );
        eprintln!(
            "skipping: the openai and anthropic Python packages are not installed (pip install openai anthropic)"
        );
        return;
    }
    let server = SimServe::start(&[]);
    let script = r#"
import sys, openai, anthropic
base = sys.argv[1]
o = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
r = o.chat.completions.create(model="sim-alpha", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How do I check a used car before buying it?"}], seed=4)
assert r.choices[0].message.content, r
assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage
ids = [m.id for m in o.models.list()]
assert ids == ["sim-alpha", "sim-beta", "sim-gamma"], ids
a = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0)
m = a.messages.create(model="sim-beta", max_tokens=300, system="Be brief.", messages=[{"role": "user", "content": "How do I check a used car before buying it?"}])
assert m.content[0].type == "text" and m.content[0].text, m
assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0, m.usage
print("ok", r.model, m.model)
"#;
    let output = StdCommand::new("python3")
        .args(["-c", script, &server.base])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok sim-alpha-"));
}
