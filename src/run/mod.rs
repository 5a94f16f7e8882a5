//! The async matrix runner: every planned cell through its scaffold's protocol, over HTTP.
//!
//! Each model proceeds independently (its own cell slots, concurrency cap and rate limits), so a
//! slow or failing model never stalls the others. Requests go through `limits`, are retried as
//! `retry` decides, and each finished cell becomes a [`TranscriptRecord`] sent to the writer, which
//! appends it at once. The runner owns retries and limits; providers only translate.

pub mod batch;
pub mod cell;
pub mod limits;
pub mod manifest;
pub mod progress;
pub mod protocol;
pub mod record;
pub mod resume;
pub mod retry;
pub mod summary;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::plan::{Cell, estimate_tokens};
use crate::provider::send::send;
use crate::provider::{
    ChatRequest, Endpoint, ErrorKind, ProviderError, Reply, build_request, parse_response,
};
use crate::study::{ModelSpec, Study};
use cell::{CellState, Pricing};
use limits::{GlobalGate, ModelGate};
use record::{CellError, Status, TranscriptRecord};
use retry::{Decision, RetryPolicy};

/// Counters shared with the progress display.
#[derive(Debug, Default)]
pub struct Counters {
    pub total: AtomicU64,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub retrying: AtomicU64,
    pub in_flight: AtomicU64,
    /// Requests waiting in provider batches.
    pub batched: AtomicU64,
}

impl Counters {
    pub fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// A spending cap over the whole run folder: recorded cost plus a bound on what is in flight.
#[derive(Debug)]
pub struct Budget {
    pub cap_usd: f64,
    state: Mutex<BudgetState>,
}

#[derive(Debug, Default)]
struct BudgetState {
    spent: f64,
    reserved: f64,
    exhausted: bool,
}

impl Budget {
    pub fn new(cap_usd: f64, already_spent: f64) -> Self {
        Budget {
            cap_usd,
            state: Mutex::new(BudgetState {
                spent: already_spent,
                ..BudgetState::default()
            }),
        }
    }

    /// Reserves `bound` for a cell about to start; false (and exhausted) when it would exceed.
    fn reserve(&self, bound: f64) -> bool {
        let mut s = self.state.lock().expect("not poisoned");
        if s.exhausted || s.spent + s.reserved + bound > self.cap_usd {
            s.exhausted = true;
            return false;
        }
        s.reserved += bound;
        true
    }

    /// Reserves `amount` that is already committed (a batch submitted before a restart), even
    /// past the cap.
    fn commit(&self, amount: f64) {
        self.state.lock().expect("not poisoned").reserved += amount;
    }

    fn settle(&self, bound: f64, actual: f64) {
        let mut s = self.state.lock().expect("not poisoned");
        s.reserved = (s.reserved - bound).max(0.0);
        s.spent += actual;
    }

    pub fn exhausted(&self) -> bool {
        self.state.lock().expect("not poisoned").exhausted
    }

    pub fn spent(&self) -> f64 {
        self.state.lock().expect("not poisoned").spent
    }
}

/// Cells waiting to run, made one at a time (a filtered `plan::model_cells`), so that a runner
/// never holds a large matrix.
pub type CellStream = Box<dyn Iterator<Item = Cell> + Send>;

/// What one run has to do: each model's cells, in plan order, and how many there are in all.
pub struct Todo {
    pub total: u64,
    pub models: Vec<(String, CellStream)>,
}

pub struct Runner {
    study: Arc<Study>,
    endpoints: HashMap<String, Endpoint>,
    gates: HashMap<String, Arc<ModelGate>>,
    global: GlobalGate,
    client: reqwest::Client,
    pub counters: Arc<Counters>,
    budget: Option<Arc<Budget>>,
    jitter: Mutex<ChaCha8Rng>,
    cancel: CancellationToken,
    batch: Mutex<Option<batch::BatchSetup>>,
    batch_failure: Mutex<Option<String>>,
}

/// What a request produced, or why it failed, with the attempts it took.
struct Success {
    reply: Reply,
    attempts: u32,
    latency: Duration,
}

struct Failure {
    error: CellError,
    attempts: u32,
}

impl Runner {
    /// `endpoints` must hold every model the study's cells talk to (crossed models and simulated
    /// users), with keys already read from the environment.
    pub fn new(
        study: Arc<Study>,
        endpoints: HashMap<String, Endpoint>,
        concurrency: usize,
        budget: Option<Arc<Budget>>,
        jitter_seed: u64,
        cancel: CancellationToken,
    ) -> Self {
        let gates = study
            .models
            .iter()
            .map(|m| (m.id.clone(), Arc::new(ModelGate::new(m))))
            .collect();
        let aliases: Vec<String> = study.models.iter().map(|m| m.id.clone()).collect();
        Runner {
            global: GlobalGate::new(concurrency, &aliases),
            study,
            endpoints,
            gates,
            client: crate::provider::send::client(),
            counters: Arc::new(Counters::default()),
            budget,
            jitter: Mutex::new(ChaCha8Rng::seed_from_u64(jitter_seed)),
            cancel,
            batch: Mutex::new(None),
            batch_failure: Mutex::new(None),
        }
    }

    /// Runs the cells of the setup's batch models (and every cell its journal knows) through
    /// provider batches.
    pub fn with_batch(self, setup: batch::BatchSetup) -> Self {
        *self.batch.lock().expect("not poisoned") = Some(setup);
        self
    }

    /// Why the batch driver stopped the run, if it did (its journal could not be written).
    pub fn batch_failure(&self) -> Option<String> {
        self.batch_failure.lock().expect("not poisoned").clone()
    }

    fn fail_batches(&self, message: String) {
        *self.batch_failure.lock().expect("not poisoned") = Some(message);
        self.cancel.cancel();
    }

    fn jitter(&self) -> f64 {
        self.jitter.lock().expect("not poisoned").random::<f64>()
    }

    /// Runs the cells of `todo` and sends each finished record to `records`. Returns when every
    /// dispatched cell has finished; stops dispatching when cancelled or when the budget is
    /// exhausted.
    pub async fn execute(self: Arc<Self>, todo: Todo, records: mpsc::Sender<TranscriptRecord>) {
        self.counters.total.store(todo.total, Ordering::Relaxed);
        let setup = self.batch.lock().expect("not poisoned").take();
        let mut batched: Vec<Cell> = Vec::new();
        let mut live: Vec<(String, CellStream)> = Vec::new();
        match &setup {
            Some(setup) => {
                let journaled = setup.cells_in_journal();
                for (model, cells) in todo.models {
                    if setup.models.contains(&model) {
                        batched.extend(cells);
                    } else if journaled.is_empty() {
                        live.push((model, cells));
                    } else {
                        // Cells already in a batch finish through it even when their model now
                        // runs live (a batch run resumed without --batch); only then are a live
                        // model's cells held in memory.
                        let (in_batch, rest): (Vec<Cell>, Vec<Cell>) =
                            cells.partition(|c| journaled.contains(&c.id));
                        batched.extend(in_batch);
                        live.push((model, Box::new(rest.into_iter())));
                    }
                }
            }
            None => live = todo.models,
        }
        let mut models = JoinSet::new();
        if let Some(setup) = setup.filter(|_| !batched.is_empty()) {
            models.spawn(batch::drive(self.clone(), setup, batched, records.clone()));
        }
        for (model, cells) in live {
            let runner = self.clone();
            let records = records.clone();
            models.spawn(async move { runner.drive_model(model, cells, records).await });
        }
        while models.join_next().await.is_some() {}
    }

    async fn drive_model(
        self: Arc<Self>,
        model: String,
        cells: CellStream,
        records: mpsc::Sender<TranscriptRecord>,
    ) {
        let Some(spec) = self.study.model(&model).cloned() else {
            return;
        };
        let gate = self.gates[&model].clone();
        let slots = Arc::new(Semaphore::new(spec.max_concurrency.max(1) as usize));
        let mut running = JoinSet::new();
        for cell in cells {
            // Reap finished cells as we go so that the set only ever holds cells in flight.
            while running.try_join_next().is_some() {}
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("never closed"),
                _ = self.cancel.cancelled() => break,
            };
            if self.cancel.is_cancelled() {
                break;
            }
            if let Some(reason) = gate.stopped() {
                let record = self.failed_without_trying(&cell, "model_stopped", reason);
                self.finish(record, &records).await;
                continue;
            }
            let bound = self.cost_bound(&cell);
            if let (Some(budget), Some(bound)) = (&self.budget, bound)
                && !budget.reserve(bound)
            {
                break;
            }
            let runner = self.clone();
            let records = records.clone();
            running.spawn(async move {
                let record = runner.run_cell(&cell).await;
                if let (Some(budget), Some(bound)) = (&runner.budget, bound) {
                    budget.settle(bound, record.cost_usd.unwrap_or(bound));
                }
                runner.finish(record, &records).await;
                drop(permit);
            });
        }
        while running.join_next().await.is_some() {}
    }

    async fn finish(&self, record: TranscriptRecord, records: &mpsc::Sender<TranscriptRecord>) {
        let counter = match record.status {
            Status::Ok => &self.counters.ok,
            Status::Failed => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // The writer outlives every runner task; a closed channel means the run is being torn down.
        let _ = records.send(record).await;
    }

    /// An upper bound on a cell's cost, for the budget; None when a model has no prices.
    fn cost_bound(&self, cell: &Cell) -> Option<f64> {
        let study = &self.study;
        let spec = study.model(&cell.model)?;
        let scaffold = study.scaffold(&cell.scaffold)?;
        let prompt = study.prompts.iter().find(|p| p.id == cell.prompt)?;
        let counts = crate::plan::requests_per_cell(scaffold, prompt);
        let reply = spec
            .max_tokens
            .map_or(crate::plan::DEFAULT_REPLY_TOKENS, u64::from);
        let context = estimate_tokens(&prompt.text)
            + scaffold.system.as_deref().map_or(0, estimate_tokens)
            + u64::from(counts.assistant) * (reply + 60);
        let turns = u64::from(counts.assistant);
        let mut cost = price(spec, context * turns, reply * turns)?;
        if let Some(user) = scaffold
            .user_sim
            .as_ref()
            .and_then(|u| study.model(&u.model))
        {
            let user_reply = user
                .max_tokens
                .map_or(crate::plan::DEFAULT_REPLY_TOKENS, u64::from);
            let n = u64::from(counts.user_sim);
            cost += price(user, context * n, user_reply * n)?;
        }
        Some(cost)
    }

    fn failed_without_trying(&self, cell: &Cell, kind: &str, message: String) -> TranscriptRecord {
        cell::failed_record(cell, kind, message, &now_rfc3339())
    }

    async fn run_cell(&self, cell: &Cell) -> TranscriptRecord {
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let record = self.run_cell_inner(cell).await;
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        record
    }

    async fn run_cell_inner(&self, cell: &Cell) -> TranscriptRecord {
        let study = &self.study;
        let mut state = match CellState::start(study, cell, now_rfc3339()) {
            Ok(state) => state,
            Err(record) => return *record,
        };
        let mut failure = None;
        while let Some(call) = state.next_call(study) {
            match self.request(&cell.id, &call.alias, &call.request).await {
                Ok(success) => state.answer(
                    &call,
                    success.reply,
                    Pricing::Live,
                    success.attempts,
                    success.latency.as_millis() as u64,
                ),
                Err(f) => {
                    state.add_attempts(f.attempts);
                    failure = Some(f.error);
                    break;
                }
            }
        }
        state.finish(study, failure, now_rfc3339())
    }

    /// One request outside the matrix (a judge's), under the same limits, retries and stopping
    /// rules as the cells: the reply and the attempts it took.
    pub async fn ask(
        &self,
        label: &str,
        alias: &str,
        chat: &ChatRequest,
    ) -> Result<(Reply, u32), CellError> {
        self.request(label, alias, chat)
            .await
            .map(|s| (s.reply, s.attempts))
            .map_err(|f| f.error)
    }

    /// One model request with retries.
    async fn request(
        &self,
        cell_id: &str,
        alias: &str,
        chat: &ChatRequest,
    ) -> Result<Success, Failure> {
        let endpoint = &self.endpoints[alias];
        let gate = &self.gates[alias];
        let spec = self
            .study
            .model(alias)
            .expect("endpoints come from the study");
        let http = build_request(endpoint, chat).map_err(|e| Failure {
            error: cell_error(&e),
            attempts: 0,
        })?;
        let policy = RetryPolicy::for_model(spec);
        let tokens = request_tokens(chat, spec);
        let timeout = retry::request_timeout(spec);
        let mut attempts = 0;
        loop {
            if let Some(reason) = gate.stopped() {
                return Err(Failure {
                    error: CellError {
                        kind: "model_stopped".into(),
                        status: None,
                        message: reason,
                        body: None,
                        transient: false,
                    },
                    attempts,
                });
            }
            attempts += 1;
            let permits = limits::acquire(gate, &self.global, alias, tokens).await;
            let started = Instant::now();
            let result = match send(&self.client, &http, timeout).await {
                Ok(response) => parse_response(endpoint.kind, &response),
                Err(e) => Err(e),
            };
            let latency = started.elapsed();
            drop(permits);
            let error = match result {
                Ok(reply) => {
                    return Ok(Success {
                        reply,
                        attempts,
                        latency,
                    });
                }
                Err(error) => error,
            };
            if error.is_auth() {
                let reason = format!(
                    "model '{alias}' stopped after an authentication failure ({}): {}",
                    error
                        .status
                        .map_or("no status".into(), |s| format!("HTTP {s}")),
                    error.message
                );
                if gate.stop(reason.clone()) {
                    warn!("{reason}");
                }
                return Err(Failure {
                    error: cell_error(&error),
                    attempts,
                });
            }
            match policy.decide(attempts, &error, SystemTime::now(), self.jitter()) {
                Decision::RetryAfter(delay) => {
                    debug!(
                        cell = cell_id,
                        model = alias,
                        attempt = attempts,
                        delay_ms = delay.as_millis() as u64,
                        cause = %error,
                        "retrying"
                    );
                    self.counters.retrying.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    self.counters.retrying.fetch_sub(1, Ordering::Relaxed);
                }
                Decision::GiveUp(reason) => {
                    debug!(cell = cell_id, model = alias, attempt = attempts, ?reason, cause = %error, "giving up");
                    let mut recorded = cell_error(&error);
                    if let Some(why) = retry::why_given_up(reason, &error, SystemTime::now()) {
                        warn!("cell {cell_id}, model '{alias}': {why}");
                        recorded.message = format!("{}; {why}", recorded.message);
                    }
                    return Err(Failure {
                        error: recorded,
                        attempts,
                    });
                }
            }
        }
    }
}

fn request_tokens(chat: &ChatRequest, spec: &ModelSpec) -> u32 {
    let (input, output) = request_estimate(chat, spec);
    (input + output).min(u64::from(u32::MAX)) as u32
}

/// A request's estimated input tokens and its most output tokens.
fn request_estimate(chat: &ChatRequest, spec: &ModelSpec) -> (u64, u64) {
    let input: u64 = chat.system.as_deref().map_or(0, estimate_tokens)
        + chat
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum::<u64>();
    let output = spec
        .max_tokens
        .map_or(crate::plan::DEFAULT_REPLY_TOKENS, u64::from);
    (input, output)
}

/// USD for a token count at a model's prices; None without prices.
pub fn price(spec: &ModelSpec, input: u64, output: u64) -> Option<f64> {
    Some(
        input as f64 / 1e6 * spec.price_input_per_mtok?
            + output as f64 / 1e6 * spec.price_output_per_mtok?,
    )
}

fn cell_error(error: &ProviderError) -> CellError {
    let kind = match &error.kind {
        ErrorKind::Http { .. } => "http",
        ErrorKind::Transport => "transport",
        ErrorKind::Timeout => "timeout",
        ErrorKind::InvalidResponse { .. } => "invalid_response",
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::Batch { .. } => "batch",
    };
    CellError {
        kind: kind.to_string(),
        status: error.status,
        message: error.to_string(),
        body: error.body.clone(),
        transient: error.is_transient(),
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
