//! A fault-injecting OpenAI-compatible server for the runner's tests: it answers, fails with a
//! chosen status (and Retry-After), or hangs, as a test's behaviour function decides per call, and
//! records what it saw (arrival times, attempts per conversation, concurrency per model).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

/// One request as the behaviour function sees it.
#[derive(Debug, Clone)]
pub struct Call {
    pub model: String,
    /// 1 for the first request with this model and key, 2 for the next, ...
    pub attempt: u32,
}

pub enum Behaviour {
    Ok {
        delay: Duration,
    },
    Status {
        status: u16,
        retry_after: Option<&'static str>,
    },
    Hang,
    /// Fails with `status`, echoing the request's headers in the error body, as a misconfigured
    /// gateway might (the API key with them).
    EchoHeaders {
        status: u16,
    },
    /// Answers with this text (a model that writes what a test needs).
    Reply {
        text: String,
    },
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub model: String,
    /// The last user message: identifies the conversation (one per cell in single-turn studies).
    pub key: String,
    pub at: Duration,
    /// The text of every message, the system message first: what the runner's token estimate reads.
    pub contents: Vec<String>,
}

type BehaviourFn = dyn Fn(&Call) -> Behaviour + Send + Sync;

struct Shared {
    behaviour: Box<BehaviourFn>,
    started: Instant,
    seen: Mutex<Vec<Seen>>,
    attempts: Mutex<HashMap<(String, String), u32>>,
    in_flight: Mutex<(HashMap<String, usize>, usize)>,
    max_in_flight: Mutex<(HashMap<String, usize>, usize)>,
}

pub struct FaultServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultServer {
    pub fn start(behaviour: impl Fn(&Call) -> Behaviour + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            behaviour: Box::new(behaviour),
            started: Instant::now(),
            seen: Mutex::default(),
            attempts: Mutex::default(),
            in_flight: Mutex::default(),
            max_in_flight: Mutex::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FaultServer {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn seen_by(&self, model: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.model == model)
            .collect()
    }

    /// The largest number of requests in flight at once: per model, and overall.
    pub fn max_in_flight(&self) -> (HashMap<String, usize>, usize) {
        self.shared.max_in_flight.lock().unwrap().clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Decrements the in-flight counts when a request ends, however it ends.
struct InFlight {
    shared: Arc<Shared>,
    model: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = self.shared.in_flight.lock().unwrap();
        *in_flight.0.entry(self.model.clone()).or_default() -= 1;
        in_flight.1 -= 1;
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let key = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let contents = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect();
    let attempt = {
        let mut attempts = shared.attempts.lock().unwrap();
        let n = attempts.entry((model.clone(), key.clone())).or_default();
        *n += 1;
        *n
    };
    shared.seen.lock().unwrap().push(Seen {
        model: model.clone(),
        key: key.clone(),
        at: shared.started.elapsed(),
        contents,
    });
    let _guard = {
        let mut in_flight = shared.in_flight.lock().unwrap();
        let mut max = shared.max_in_flight.lock().unwrap();
        let per_model = in_flight.0.entry(model.clone()).or_default();
        *per_model += 1;
        let per_model = *per_model;
        in_flight.1 += 1;
        let m = max.0.entry(model.clone()).or_default();
        *m = (*m).max(per_model);
        max.1 = max.1.max(in_flight.1);
        InFlight {
            shared: shared.clone(),
            model: model.clone(),
        }
    };
    let call = Call {
        model: model.clone(),
        attempt,
    };
    let reply = |text: String| {
        Json(json!({
                "id": format!("chatcmpl-test-{attempt}"),
                "object": "chat.completion",
                "created": 0,
                "model": format!("{model}-2026-01-01"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            }))
            .into_response()
    };
    match (shared.behaviour)(&call) {
        Behaviour::Ok { delay } => {
            tokio::time::sleep(delay).await;
            reply(format!("Answer to: {key}"))
        }
        Behaviour::Reply { text } => reply(text),
        Behaviour::Status {
            status,
            retry_after,
        } => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"error": {"message": format!("injected {status}"), "type": "test", "code": null}})),
            )
                .into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static(value));
            }
            response
        }
        Behaviour::EchoHeaders { status } => {
            let echoed: Vec<String> = headers
                .iter()
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
                .collect();
            (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"error": {"message": format!("rejected request with headers {}", echoed.join("; ")), "type": "test"}})),
            )
                .into_response()
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}
