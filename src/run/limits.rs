//! Concurrency caps and rate limits, per model and overall.
//!
//! Every request passes four gates, in this order: its model's concurrency cap, its model's
//! requests-per-minute and tokens-per-minute limiters (governor), and the global cap. The global
//! cap keeps one permit in reserve for each model, so a model whose requests hang until their
//! timeout can fill the shared pool but never stall the other models.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::study::ModelSpec;

pub struct ModelGate {
    requests: Arc<Semaphore>,
    rpm: Option<DefaultDirectRateLimiter>,
    tpm: Option<(DefaultDirectRateLimiter, NonZeroU32)>,
    /// Why the model was stopped (401/403), if it was.
    stopped: Mutex<Option<String>>,
}

impl ModelGate {
    pub fn new(spec: &ModelSpec) -> Self {
        // One request every 60/rpm seconds, no burst: any 60-second window sees at most `rpm`
        // requests start, which is what providers count.
        let rpm = spec.rpm.and_then(NonZeroU32::new).and_then(|rpm| {
            Quota::with_period(Duration::from_secs_f64(60.0 / f64::from(rpm.get())))
                .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)))
        });
        // Tokens are known only after a reply, so each request is charged its estimate up front
        // (input plus max_tokens); the bucket holds a minute's worth.
        let tpm = spec
            .tpm
            .and_then(NonZeroU32::new)
            .map(|tpm| (RateLimiter::direct(Quota::per_minute(tpm)), tpm));
        ModelGate {
            requests: Arc::new(Semaphore::new(spec.max_concurrency.max(1) as usize)),
            rpm,
            tpm,
            stopped: Mutex::new(None),
        }
    }

    pub fn stopped(&self) -> Option<String> {
        self.stopped.lock().expect("not poisoned").clone()
    }

    /// Stops the model; the first reason wins.
    /// Stops the model; true for the call that stopped it (cells in flight may fail the same
    /// way, and only the first says so).
    pub fn stop(&self, reason: String) -> bool {
        let mut stopped = self.stopped.lock().expect("not poisoned");
        if stopped.is_none() {
            *stopped = Some(reason);
            return true;
        }
        false
    }
}

/// The global cap, with one reserved permit per model.
pub struct GlobalGate {
    shared: Arc<Semaphore>,
    reserved: HashMap<String, Arc<Semaphore>>,
}

impl GlobalGate {
    pub fn new(concurrency: usize, models: &[String]) -> Self {
        let concurrency = concurrency.max(1);
        // Reserve only when every model can have one and the pool keeps the rest.
        let reserve = concurrency >= models.len();
        let shared = if reserve {
            concurrency - models.len()
        } else {
            concurrency
        };
        GlobalGate {
            shared: Arc::new(Semaphore::new(shared)),
            reserved: if reserve {
                models
                    .iter()
                    .map(|m| (m.clone(), Arc::new(Semaphore::new(1))))
                    .collect()
            } else {
                HashMap::new()
            },
        }
    }
}

/// Held for the duration of one request.
pub struct Permits {
    _model: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// Waits until `model` may send a request of about `tokens` tokens.
pub async fn acquire(gate: &ModelGate, global: &GlobalGate, model: &str, tokens: u32) -> Permits {
    let model_permit = gate
        .requests
        .clone()
        .acquire_owned()
        .await
        .expect("semaphores are never closed");
    if let Some(rpm) = &gate.rpm {
        rpm.until_ready().await;
    }
    if let Some((tpm, capacity)) = &gate.tpm {
        let n = NonZeroU32::new(tokens.clamp(1, capacity.get())).unwrap_or(NonZeroU32::MIN);
        // Cannot fail: n is clamped to the bucket's capacity.
        let _ = tpm.until_n_ready(n).await;
    }
    let global_permit = match global.reserved.get(model) {
        Some(reserved) => tokio::select! {
            biased;
            permit = reserved.clone().acquire_owned() => permit,
            permit = global.shared.clone().acquire_owned() => permit,
        },
        None => global.shared.clone().acquire_owned().await,
    }
    .expect("semaphores are never closed");
    Permits {
        _model: model_permit,
        _global: global_permit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hung_model_cannot_take_every_global_permit() {
        let global = GlobalGate::new(3, &["a".into(), "b".into()]);
        let mut spec = crate::study::defaults::study().unwrap().models[0].clone();
        spec.max_concurrency = 10;
        let gate_a = ModelGate::new(&spec);
        let gate_b = ModelGate::new(&spec);
        let mut held = Vec::new();
        for _ in 0..2 {
            held.push(acquire(&gate_a, &global, "a", 10).await);
        }
        // "a" now holds its reserve and the one shared permit; a third must wait...
        let third = tokio::time::timeout(
            Duration::from_millis(50),
            acquire(&gate_a, &global, "a", 10),
        )
        .await;
        assert!(third.is_err());
        // ...while "b" still gets its reserved permit.
        let b = tokio::time::timeout(
            Duration::from_millis(50),
            acquire(&gate_b, &global, "b", 10),
        )
        .await;
        assert!(b.is_ok());
    }

    #[tokio::test]
    async fn rpm_spaces_requests_evenly() {
        let mut spec = crate::study::defaults::study().unwrap().models[0].clone();
        spec.rpm = Some(600); // one every 100 ms
        let gate = ModelGate::new(&spec);
        let global = GlobalGate::new(8, &["a".into()]);
        let start = std::time::Instant::now();
        for _ in 0..4 {
            drop(acquire(&gate, &global, "a", 1).await);
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    }
}
