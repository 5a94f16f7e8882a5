//! Running cells through the providers' batch APIs: half the price, never paid twice.
//!
//! For each model in batch mode, the next model call of every waiting cell goes into one batch
//! (split at the provider's limits); multi-turn cells advance one call per batch round. The
//! driver journals its intent before submitting and the provider's batch id after
//! ([`journal`]), so a run killed at any point resumes by re-attaching to what it finds: by id,
//! or by listing the provider's batches and recognising its own ([`recognise`]) — never by
//! submitting the same requests again. Results are journaled as they are read and applied to the
//! cells with the same bookkeeping as live replies ([`crate::run::cell`]); a finished cell's
//! record goes to the transcript writer exactly like a live one.
//!
//! Requests that fail or expire inside a batch go into the next batch, within the model's
//! `max_attempts`; a batch that fails as a whole fails its requests with the provider's reason.
//! Calls to models that are not in batch mode (a live simulated user) are sent live. Ctrl-C stops
//! polling and leaves the batches running; the next run picks them up.
//!
//! Providers only translate (`provider::batch`); the policy — polling with backoff, retries of
//! control calls, the spending cap on each batch's worst case — lives here.

pub mod journal;
pub mod pending;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::plan::Cell;
use crate::provider::batch::{
    self as wire, BatchView, Counts, EndState, Item, ItemResult, Limits, Results,
};
use crate::provider::send::send_call;
use crate::provider::{Endpoint, ProviderError, ProviderKind, build_request};
use crate::store::StoreError;
use crate::study::ModelSpec;

use super::cell::{CellState, Pricing, batch_price};
use super::record::{Status, TranscriptRecord};
use super::retry::{Decision, RetryPolicy};
use super::{Failure, Runner, Success, cell_error, now_rfc3339, price, request_estimate};
use journal::{Entry, Intent, IntentRequest, Journal, JournalState, Outcome};
use pending::{Need, Pending, Replayed, Waiting, replay};

/// What the runner needs to drive batches: the open journal, which models are in batch mode,
/// and what tells this run folder's batches from any other's.
pub struct BatchSetup {
    pub journal: Journal,
    /// Aliases whose calls go into batches.
    pub models: BTreeSet<String>,
    /// Part of every tag: the run folder's name and creation time.
    pub run_id: String,
    pub pause: Option<Pause>,
}

impl BatchSetup {
    /// Cells the journal knows: they continue through the batch driver whatever the mode.
    pub fn cells_in_journal(&self) -> HashSet<String> {
        let state = &self.journal.state;
        state
            .batches
            .values()
            .flat_map(|b| b.intent.requests.iter().map(|r| r.cell_id.clone()))
            .chain(state.live.iter().map(|l| l.cell_id.clone()))
            .collect()
    }
}

/// A test hook (`BLINDFOLD_TEST_PAUSE=POINT[:N][@MODEL]`): the process stops for good at a named
/// point of the batch protocol, so that a test can kill it exactly there. Points:
/// `batch-submit` (the intent is journaled, nothing sent), `batch-created` (the provider accepted
/// the batch, its id is not journaled), `batch-poll` (after the first poll of a batch in flight),
/// `batch-download` (after N results are journaled, default 1).
#[derive(Debug)]
pub struct Pause {
    point: String,
    after: u64,
    model: Option<String>,
    fired: AtomicBool,
}

impl Pause {
    pub fn parse(spec: &str) -> Option<Pause> {
        let (rest, model) = match spec.split_once('@') {
            Some((rest, model)) => (rest, Some(model.to_string())),
            None => (spec, None),
        };
        let (point, after) = match rest.split_once(':') {
            Some((point, n)) => (point, n.parse().ok()?),
            None => (rest, 1),
        };
        Some(Pause {
            point: point.to_string(),
            after,
            model,
            fired: AtomicBool::new(false),
        })
    }

    /// Blocks this thread for good when the point is reached (the first time only).
    fn at(&self, point: &str, model: &str, count: u64) {
        let here = self.point == point
            && count >= self.after
            && self.model.as_deref().is_none_or(|m| m == model);
        if here && !self.fired.swap(true, Ordering::SeqCst) {
            eprintln!("blindfold test hook: paused at {point} ({model})");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

fn pause(pause: &Option<Arc<Pause>>, point: &str, model: &str, count: u64) {
    if let Some(p) = pause {
        p.at(point, model, count);
    }
}

/// A content-derived custom id: the cell's id, the call's number, and a digest of the run
/// folder's identity (so that a batch another run folder submitted is never taken for ours).
pub fn custom_id(cell_id: &str, call: u32, run_salt: &str) -> String {
    format!("{cell_id}-{call}-{run_salt}")
}

/// The run folder's part of every custom id.
fn run_salt(run_id: &str) -> String {
    crate::hash::sha256_hex(run_id.as_bytes())[..8].to_string()
}

/// The tag a batch carries: unique to this run folder, model, journal number and requests.
fn tag(run_id: &str, model: &str, batch: u64, requests: &[IntentRequest]) -> String {
    let ids: Vec<&str> = requests.iter().map(|r| r.custom_id.as_str()).collect();
    let digest = crate::hash::content_hash(&serde_json::json!({
        "run": run_id, "model": model, "batch": batch, "requests": ids,
    }));
    format!("bf-{}", &digest[..20])
}

/// How far back, in seconds, a listed batch's creation may lie before the intent's time and still
/// be taken for it (clocks differ).
const CLOCK_SKEW_S: i64 = 600;

/// Finds the batch of `intent` among listed ones: the one carrying its tag; or, for Anthropic,
/// whose batches carry no tag, the unknown batch with as many requests created closest to the
/// intent (not long before it, allowing for clock skew). Its results then confirm it: a batch
/// whose custom ids are not ours is dropped (see `Driver::on_ended`).
pub fn recognise<'a>(
    intent: &Intent,
    known: &HashSet<String>,
    listed: &'a [BatchView],
) -> Option<&'a BatchView> {
    if let Some(tagged) = listed
        .iter()
        .find(|b| b.tag.as_deref() == Some(intent.tag.as_str()))
    {
        return Some(tagged);
    }
    if intent.provider != ProviderKind::Anthropic {
        return None;
    }
    let at = rfc3339_unix(&intent.at)?;
    listed
        .iter()
        .filter(|b| !known.contains(&b.id) && b.tag.is_none())
        .filter(|b| b.counts.total == intent.requests.len() as u64)
        .filter_map(|b| Some((b, b.created_unix?)))
        .filter(|(_, created)| *created >= at - CLOCK_SKEW_S)
        // Closest to the intent, and of two as close, the later one (ours was created after).
        .min_by_key(|(_, created)| ((created - at).abs(), -created))
        .map(|(b, _)| b)
}

fn rfc3339_unix(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// A batch in flight, as `status` shows it (from the journal: the state of the last poll).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InFlight {
    pub batch: u64,
    pub model: String,
    pub provider: ProviderKind,
    /// Null while the submission is unconfirmed (the next run looks for it).
    pub id: Option<String>,
    pub requests: usize,
    pub state: Option<String>,
    pub counts: Option<Counts>,
    pub submitted_at: String,
    pub cancel_requested: bool,
}

/// The batches a run folder has at the provider, or may have (unconfirmed submissions).
pub fn in_flight(state: &JournalState) -> Vec<InFlight> {
    state
        .batches
        .values()
        .filter(|b| b.in_flight() || b.unresolved())
        .map(|b| InFlight {
            batch: b.intent.batch,
            model: b.intent.model.clone(),
            provider: b.intent.provider,
            id: b.id.clone(),
            requests: b.intent.requests.len(),
            state: b.status.as_ref().map(|(s, _, _)| s.clone()),
            counts: b.status.as_ref().map(|(_, c, _)| *c),
            submitted_at: b.intent.at.clone(),
            cancel_requested: b.cancel_requested,
        })
        .collect()
}

/// What a watcher reports.
enum Event {
    Status {
        batch: u64,
        state: String,
        counts: Counts,
    },
    Ended {
        batch: u64,
        view: BatchView,
        results: Vec<ItemResult>,
        problems: Vec<String>,
    },
    /// The provider does not know the batch (any more).
    Gone { batch: u64, error: String },
    /// Polling gave up; the batch keeps running at the provider.
    Lost { batch: u64, error: String },
}

type LiveDone = (String, super::cell::Call, Result<Success, Failure>);

struct Driver {
    runner: Arc<Runner>,
    journal: Journal,
    models: BTreeSet<String>,
    run_id: String,
    pause: Option<Arc<Pause>>,
    records: mpsc::Sender<TranscriptRecord>,
    salt: String,
    cells: HashMap<String, Pending>,
    /// Per model, the cells whose call waits for its next batch, in arrival order.
    queue: BTreeMap<String, Vec<String>>,
    /// Batches being watched, with their model.
    watched: HashMap<u64, String>,
    live: JoinSet<LiveDone>,
    events: mpsc::Sender<Event>,
    inbox: mpsc::Receiver<Event>,
    watchers: JoinSet<()>,
}

/// Drives `cells` through batches until each is finished, or the run is interrupted.
pub(super) async fn drive(
    runner: Arc<Runner>,
    setup: BatchSetup,
    cells: Vec<Cell>,
    records: mpsc::Sender<TranscriptRecord>,
) {
    let (events, inbox) = mpsc::channel(64);
    let mut driver = Driver {
        runner: runner.clone(),
        journal: setup.journal,
        models: setup.models,
        salt: run_salt(&setup.run_id),
        run_id: setup.run_id,
        pause: setup.pause.map(Arc::new),
        records,
        cells: HashMap::new(),
        queue: BTreeMap::new(),
        watched: HashMap::new(),
        live: JoinSet::new(),
        events,
        inbox,
        watchers: JoinSet::new(),
    };
    if let Err(error) = driver.run(cells).await {
        // Without its journal the driver cannot promise anything: stop the whole run.
        runner.fail_batches(format!("the batch journal cannot be written: {error}"));
    }
    driver.watchers.abort_all();
}

impl Driver {
    fn spec(&self, alias: &str) -> &ModelSpec {
        self.runner
            .study
            .model(alias)
            .expect("aliases come from the study")
    }

    async fn run(&mut self, cells: Vec<Cell>) -> Result<(), StoreError> {
        self.resolve_unconfirmed().await?;
        let study = self.runner.study.clone();
        let history = self.journal.state.history();
        if let Some(budget) = &self.runner.budget {
            for b in self.journal.state.in_flight() {
                budget.commit(b.intent.worst_case_usd.unwrap_or(0.0));
            }
        }
        let in_flight: HashSet<u64> = self
            .journal
            .state
            .in_flight()
            .map(|b| b.intent.batch)
            .collect();
        for cell in cells {
            let h = history.get(&cell.id);
            let started = h
                .and_then(|h| h.first_at.clone())
                .unwrap_or_else(now_rfc3339);
            let state = match CellState::start(&study, &cell, started) {
                Ok(state) => state,
                Err(record) => {
                    self.finish(*record).await;
                    continue;
                }
            };
            let mut p = Pending::new(state);
            let replayed = match h {
                Some(h) => replay(&mut p, h, &study),
                None => Replayed::Ready,
            };
            // Replies bought in earlier runs and not yet in a record count as spent.
            if let Some(budget) = &self.runner.budget {
                budget.settle(0.0, p.cost(&study).unwrap_or(0.0));
            }
            match replayed {
                Replayed::Finished(record) => {
                    self.finish(*record).await;
                    continue;
                }
                Replayed::Waiting(batch) if in_flight.contains(&batch) => {
                    p.waiting = Waiting::Batch(batch);
                    self.runner.counters.batched.fetch_add(1, Ordering::Relaxed);
                }
                // An unconfirmed batch whose fate could not be told: the call waits, unsent.
                Replayed::Waiting(_) => p.waiting = Waiting::Blocked,
                Replayed::Ready => {}
            }
            self.cells.insert(cell.id.clone(), p);
        }
        let waited: BTreeSet<u64> = self
            .cells
            .values()
            .filter_map(|p| match p.waiting {
                Waiting::Batch(b) => Some(b),
                _ => None,
            })
            .collect();
        for batch in waited {
            let record = &self.journal.state.batches[&batch];
            let (model, id) = (
                record.intent.model.clone(),
                record.id.clone().expect("in flight"),
            );
            info!("re-attaching to batch {batch} of {model} ({id})");
            self.watch(batch, &model, &id);
        }

        let cancel = self.runner.cancel.clone();
        loop {
            self.advance().await?;
            if cancel.is_cancelled() {
                break;
            }
            self.submit_queued().await?;
            if self.watched.is_empty() && self.live.is_empty() {
                break;
            }
            tokio::select! {
                Some(event) = self.inbox.recv() => self.on_event(event).await?,
                Some(done) = self.live.join_next() => {
                    if let Ok(done) = done {
                        self.on_live(done).await?;
                    }
                }
                _ = cancel.cancelled() => break,
            }
        }
        if !self.watched.is_empty() {
            info!(
                "{} batch(es) left running at the provider; run again to collect their results",
                self.watched.len()
            );
        }
        let blocked = self
            .cells
            .values()
            .filter(|p| p.waiting == Waiting::Blocked)
            .count();
        if blocked > 0 {
            warn!("{blocked} cell(s) were not sent in a batch this run; run again to send them");
        }
        Ok(())
    }

    /// Records a finished cell; a failed one is closed in the journal first, so that a run with
    /// `--retry-failed` starts it afresh instead of replaying its failures.
    async fn finish(&mut self, record: TranscriptRecord) {
        if record.status == Status::Failed
            && let Err(error) = self.journal.append_synced(Entry::CellFailed {
                cell_id: record.cell_id.clone(),
                at: now_rfc3339(),
            })
        {
            warn!(
                "cell {}: the batch journal cannot be written ({error}); --retry-failed may replay its failures",
                record.cell_id
            );
        }
        self.runner.finish(record, &self.records).await;
    }

    /// Moves every ready cell on: finished cells are recorded, calls go to a batch queue or live.
    async fn advance(&mut self) -> Result<(), StoreError> {
        let study = self.runner.study.clone();
        let ready: Vec<String> = self
            .cells
            .iter()
            .filter(|(_, p)| p.waiting == Waiting::Ready)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ready {
            let p = self.cells.get_mut(&id).expect("listed above");
            match p.next(&study) {
                Need::Finished(record) => {
                    self.cells.remove(&id);
                    self.finish(*record).await;
                }
                Need::Send(call) if self.models.contains(&call.alias) => {
                    p.waiting = Waiting::Queued;
                    self.queue.entry(call.alias.clone()).or_default().push(id);
                }
                Need::Send(call) => self.send_live(id, call),
            }
        }
        Ok(())
    }

    fn send_live(&mut self, cell_id: String, call: super::cell::Call) {
        let spec = self.spec(&call.alias);
        let bound = request_bound(spec, &call.request, Pricing::Live);
        if let (Some(budget), Some(bound)) = (&self.runner.budget, bound)
            && !budget.reserve(bound)
        {
            self.cells.get_mut(&cell_id).expect("pending").waiting = Waiting::Blocked;
            return;
        }
        self.cells.get_mut(&cell_id).expect("pending").waiting = Waiting::Live;
        let runner = self.runner.clone();
        self.live.spawn(async move {
            let result = runner.request(&cell_id, &call.alias, &call.request).await;
            if let (Some(budget), Some(bound)) = (&runner.budget, bound) {
                let actual = result.as_ref().ok().and_then(|s| {
                    let spec = runner.study.model(&call.alias)?;
                    price(
                        spec,
                        s.reply.usage.input_tokens,
                        s.reply.usage.output_tokens,
                    )
                });
                budget.settle(bound, actual.unwrap_or(0.0));
            }
            (cell_id, call, result)
        });
    }

    async fn on_live(&mut self, (cell_id, call, result): LiveDone) -> Result<(), StoreError> {
        let study = self.runner.study.clone();
        let Some(p) = self.cells.get_mut(&cell_id) else {
            return Ok(());
        };
        match result {
            Ok(success) => {
                self.journal.append(Entry::Live {
                    cell_id: cell_id.clone(),
                    call: call.index,
                    model: call.alias.clone(),
                    reply: success.reply.clone(),
                    attempts: success.attempts,
                    latency_ms: success.latency.as_millis() as u64,
                })?;
                let latency = success.latency.as_millis() as u64;
                p.answered(success.reply, Pricing::Live, success.attempts, latency);
            }
            Err(failure) => {
                let record = p.give_up(&study, failure.error, failure.attempts);
                self.cells.remove(&cell_id);
                self.finish(record).await;
            }
        }
        Ok(())
    }

    /// Submits the queue of every model that has no batch in flight.
    async fn submit_queued(&mut self) -> Result<(), StoreError> {
        let busy: HashSet<&String> = self.watched.values().collect();
        let models: Vec<String> = self
            .queue
            .iter()
            .filter(|(m, ids)| !ids.is_empty() && !busy.contains(m))
            .map(|(m, _)| m.clone())
            .collect();
        for model in models {
            let ids = self.queue.remove(&model).unwrap_or_default();
            self.submit_model(&model, ids).await?;
        }
        Ok(())
    }

    async fn submit_model(&mut self, model: &str, ids: Vec<String>) -> Result<(), StoreError> {
        let study = self.runner.study.clone();
        let endpoint = self.runner.endpoints[model].clone();
        let spec = self.spec(model).clone();
        let mut items = Vec::new();
        for id in ids {
            let p = self.cells.get_mut(&id).expect("queued cells are pending");
            let call = p.call().expect("a queued cell has a call").clone();
            match build_request(&endpoint, &call.request) {
                Ok(http) => items.push(Item {
                    custom_id: custom_id(&id, call.index, &self.salt),
                    body: http.body,
                }),
                Err(error) => {
                    let record = p.give_up(&study, cell_error(&error), 0);
                    self.cells.remove(&id);
                    self.finish(record).await;
                }
            }
        }
        let provider = wire::limits(endpoint.kind);
        let limits = Limits {
            max_requests: spec
                .batch
                .max_requests
                .map_or(provider.max_requests, |n| n as usize),
            max_bytes: spec
                .batch
                .max_bytes
                .map_or(provider.max_bytes, |n| n as usize),
        };
        let (chunks, too_large) = wire::split(endpoint.kind, items, limits);
        for item in too_large {
            let error = ProviderError::invalid_request(format!(
                "the request is larger than a {} batch may be ({} bytes)",
                endpoint.kind, limits.max_bytes
            ));
            self.fail_item(&item.custom_id, &error, 0).await;
        }
        let mut blocked = false;
        for chunk in chunks {
            if blocked
                || !self
                    .submit_chunk(model, &endpoint, &spec, chunk.clone())
                    .await?
            {
                blocked = true;
                for item in &chunk {
                    if let Some(p) = self.cells.get_mut(cell_of(&item.custom_id)) {
                        p.waiting = Waiting::Blocked;
                    }
                }
            }
        }
        Ok(())
    }

    async fn fail_item(&mut self, custom_id: &str, error: &ProviderError, attempts: u32) {
        let id = cell_of(custom_id).to_string();
        if let Some(mut p) = self.cells.remove(&id) {
            let record = p.give_up(&self.runner.study.clone(), cell_error(error), attempts);
            self.finish(record).await;
        }
    }

    /// Journals, submits and watches one batch; false when the spending cap refuses it.
    async fn submit_chunk(
        &mut self,
        model: &str,
        endpoint: &Endpoint,
        spec: &ModelSpec,
        items: Vec<Item>,
    ) -> Result<bool, StoreError> {
        let requests: Vec<IntentRequest> = items
            .iter()
            .map(|item| {
                let cell_id = cell_of(&item.custom_id).to_string();
                let call = self.cells[&cell_id].call().expect("queued").index;
                IntentRequest {
                    custom_id: item.custom_id.clone(),
                    cell_id,
                    call,
                }
            })
            .collect();
        let worst: Option<f64> = requests
            .iter()
            .map(|r| {
                let call = self.cells[&r.cell_id].call().expect("queued");
                request_bound(spec, &call.request, Pricing::Batch)
            })
            .sum();
        if let (Some(budget), Some(worst)) = (&self.runner.budget, worst)
            && !budget.reserve(worst)
        {
            return Ok(false);
        }
        let batch = self.journal.state.next_batch();
        let intent = Intent {
            batch,
            model: model.to_string(),
            provider: endpoint.kind,
            tag: tag(&self.run_id, model, batch, &requests),
            at: now_rfc3339(),
            worst_case_usd: worst,
            requests,
        };
        self.journal.append_synced(Entry::Intent(intent.clone()))?;
        pause(&self.pause, "batch-submit", model, 1);
        let submitted = self
            .submit_with_retries(endpoint, spec, &items, &intent)
            .await;
        match submitted {
            Ok((view, recovered)) => {
                pause(&self.pause, "batch-created", model, 1);
                self.journal.append_synced(Entry::Submitted {
                    batch,
                    id: view.id.clone(),
                    recovered,
                    at: now_rfc3339(),
                })?;
                for r in &intent.requests {
                    if let Some(p) = self.cells.get_mut(&r.cell_id) {
                        p.waiting = Waiting::Batch(batch);
                    }
                }
                let n = intent.requests.len() as u64;
                self.runner.counters.batched.fetch_add(n, Ordering::Relaxed);
                info!(
                    "batch {batch} of {model}: {n} request(s) submitted ({})",
                    view.id
                );
                self.watch(batch, model, &view.id);
            }
            Err(error) => {
                warn!("batch {batch} of {model} could not be submitted: {error}");
                self.journal.append_synced(Entry::Abandoned {
                    batch,
                    reason: error.to_string(),
                    at: now_rfc3339(),
                })?;
                if let (Some(budget), Some(worst)) = (&self.runner.budget, worst) {
                    budget.settle(worst, 0.0);
                }
                if error.is_auth() {
                    self.runner.gates[model].stop(format!(
                        "model '{model}' stopped after an authentication failure: {error}"
                    ));
                }
                for r in &intent.requests {
                    if let Some(p) = self.cells.get_mut(&r.cell_id) {
                        p.failed(cell_error(&error), error.is_transient());
                    }
                }
            }
        }
        Ok(true)
    }

    /// Submits, retrying as for live requests; before retrying after an answer that may have
    /// created the batch anyway (a timeout, a 5xx), looks for it among the provider's batches.
    async fn submit_with_retries(
        &self,
        endpoint: &Endpoint,
        spec: &ModelSpec,
        items: &[Item],
        intent: &Intent,
    ) -> Result<(BatchView, bool), ProviderError> {
        let policy = policy(spec);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match self.try_submit(endpoint, spec, items, &intent.tag).await {
                Ok(view) => return Ok((view, false)),
                Err(error) => error,
            };
            if error.is_transient()
                && let Ok(Some(view)) = self.find_listed(endpoint, spec, intent).await
            {
                return Ok((view, true));
            }
            match policy.decide(attempts, &error, SystemTime::now(), self.runner.jitter()) {
                Decision::RetryAfter(delay) => tokio::time::sleep(delay).await,
                Decision::GiveUp(_) => return Err(error),
            }
        }
    }

    async fn try_submit(
        &self,
        endpoint: &Endpoint,
        spec: &ModelSpec,
        items: &[Item],
        tag: &str,
    ) -> Result<BatchView, ProviderError> {
        let mut call = wire::submit(endpoint, items, tag)?;
        loop {
            let response = send_call(&self.runner.client, &call, timeout(spec)).await?;
            match wire::parse_submit(endpoint, tag, &response)? {
                wire::Submitted::Next(next) => call = next,
                wire::Submitted::Created(view) => return Ok(view),
            }
        }
    }

    async fn find_listed(
        &self,
        endpoint: &Endpoint,
        spec: &ModelSpec,
        intent: &Intent,
    ) -> Result<Option<BatchView>, ProviderError> {
        find_listed(&self.runner, &self.journal.state, endpoint, spec, intent).await
    }

    /// Settles every journaled intent whose submission was never confirmed: found at the
    /// provider (then watched like any other), or abandoned as never sent. When the provider
    /// cannot be asked, the intent stays open and its requests are not sent again.
    async fn resolve_unconfirmed(&mut self) -> Result<(), StoreError> {
        let open: Vec<Intent> = self
            .journal
            .state
            .batches
            .values()
            .filter(|b| b.unresolved())
            .map(|b| b.intent.clone())
            .collect();
        for intent in open {
            let Some(endpoint) = self.runner.endpoints.get(&intent.model).cloned() else {
                continue;
            };
            let spec = self.spec(&intent.model).clone();
            match self.find_listed(&endpoint, &spec, &intent).await {
                Ok(Some(view)) => {
                    info!(
                        "batch {} of {} was submitted before the last run stopped: found as {}",
                        intent.batch, intent.model, view.id
                    );
                    self.journal.append_synced(Entry::Submitted {
                        batch: intent.batch,
                        id: view.id,
                        recovered: true,
                        at: now_rfc3339(),
                    })?;
                }
                Ok(None) => {
                    self.journal.append_synced(Entry::Abandoned {
                        batch: intent.batch,
                        reason: "not found among the provider's batches: the last run stopped before submitting it".into(),
                        at: now_rfc3339(),
                    })?;
                }
                Err(error) => warn!(
                    "cannot tell whether batch {} of {} reached the provider (listing its batches failed: {error}); its requests wait for a later run",
                    intent.batch, intent.model
                ),
            }
        }
        Ok(())
    }

    fn watch(&mut self, batch: u64, model: &str, id: &str) {
        self.watched.insert(batch, model.to_string());
        let runner = self.runner.clone();
        let events = self.events.clone();
        let pause = self.pause.clone();
        let (model, id) = (model.to_string(), id.to_string());
        self.watchers
            .spawn(async move { watch(runner, batch, model, id, events, pause).await });
    }

    async fn on_event(&mut self, event: Event) -> Result<(), StoreError> {
        match event {
            Event::Status {
                batch,
                state,
                counts,
            } => {
                let model = self.watched.get(&batch).cloned().unwrap_or_default();
                info!(
                    "batch {batch} of {model}: {state}, {} of {} done ({} failed)",
                    counts.succeeded + counts.failed,
                    counts.total,
                    counts.failed
                );
                self.journal.append(Entry::Status {
                    batch,
                    state,
                    counts,
                    at: now_rfc3339(),
                })?;
            }
            Event::Ended {
                batch,
                view,
                results,
                problems,
            } => self.on_ended(batch, view, results, problems).await?,
            Event::Gone { batch, error } => {
                warn!(
                    "batch {batch} is unknown to the provider ({error}); its requests will be sent again"
                );
                self.journal.append_synced(Entry::Abandoned {
                    batch,
                    reason: format!("the provider no longer knows it: {error}"),
                    at: now_rfc3339(),
                })?;
                self.release(batch);
            }
            Event::Lost { batch, error } => {
                warn!(
                    "stopped polling batch {batch}: {error}; it keeps running at the provider, and the next run re-attaches to it"
                );
                self.watched.remove(&batch);
            }
        }
        Ok(())
    }

    async fn on_ended(
        &mut self,
        batch: u64,
        view: BatchView,
        results: Vec<ItemResult>,
        problems: Vec<String>,
    ) -> Result<(), StoreError> {
        let record = self.journal.state.batches[&batch].clone();
        let model = record.intent.model.clone();
        for problem in problems {
            warn!("batch {batch} of {model}: a result could not be read: {problem}");
        }
        let ours: HashSet<&str> = record
            .intent
            .requests
            .iter()
            .map(|r| r.custom_id.as_str())
            .collect();
        let (mut journaled, mut foreign) = (0, 0);
        for item in results {
            let custom_id = item.custom_id.clone().or_else(|| {
                record
                    .intent
                    .requests
                    .get(item.index)
                    .map(|r| r.custom_id.clone())
            });
            let Some(custom_id) = custom_id.filter(|c| ours.contains(c.as_str())) else {
                foreign += 1;
                continue;
            };
            if self.journal.state.batches[&batch]
                .results
                .contains_key(&custom_id)
            {
                continue;
            }
            let outcome = match item.outcome {
                wire::Outcome::Ok(reply) => Outcome::Ok { reply },
                wire::Outcome::Failed(error) => Outcome::Failed {
                    error: cell_error(&error),
                    retry: error.is_transient(),
                },
                wire::Outcome::NotRun => Outcome::NotRun,
            };
            self.journal.append(Entry::Result {
                batch,
                custom_id,
                outcome,
            })?;
            journaled += 1;
            pause(&self.pause, "batch-download", &model, journaled);
        }
        if foreign > 0 {
            warn!(
                "batch {batch} of {model} ({}) returned {foreign} result(s) for requests it was not sent",
                view.id
            );
        }
        let end = view.end.expect("an ended batch");
        self.journal.append_synced(Entry::Ended {
            batch,
            state: end,
            reason: view.reason.clone(),
            at: now_rfc3339(),
        })?;
        let record = self.journal.state.batches[&batch].clone();
        if let Some(budget) = &self.runner.budget {
            let spec = self.spec(&model);
            let actual: f64 = record
                .results
                .values()
                .filter_map(|o| match o {
                    Outcome::Ok { reply } => {
                        batch_price(spec, reply.usage.input_tokens, reply.usage.output_tokens)
                    }
                    _ => None,
                })
                .sum();
            budget.settle(record.intent.worst_case_usd.unwrap_or(0.0), actual);
        }
        let (mut ok, mut failed) = (0, 0);
        for request in &record.intent.requests {
            let Some(p) = self.cells.get_mut(&request.cell_id) else {
                continue;
            };
            if p.waiting != Waiting::Batch(batch) || p.call().map(|c| c.index) != Some(request.call)
            {
                continue;
            }
            self.runner.counters.batched.fetch_sub(1, Ordering::Relaxed);
            match record.outcome(&request.custom_id) {
                Some(Outcome::Ok { reply }) => {
                    ok += 1;
                    p.answered(reply, Pricing::Batch, 1, 0);
                }
                Some(Outcome::Failed { error, retry }) => {
                    failed += 1;
                    p.failed(error, retry);
                }
                Some(Outcome::NotRun) | None => p.waiting = Waiting::Ready,
            }
        }
        self.watched.remove(&batch);
        match end {
            EndState::Failed => warn!(
                "batch {batch} of {model} ({}) failed as a whole: {}",
                view.id,
                view.reason
                    .as_deref()
                    .unwrap_or("the provider gave no reason")
            ),
            EndState::Expired => warn!(
                "batch {batch} of {model} ({}) expired: {ok} answered; the others go into the next batch (within max_attempts)",
                view.id
            ),
            _ => info!(
                "batch {batch} of {model} ({}) {end}: {ok} answered, {failed} failed",
                view.id
            ),
        }
        Ok(())
    }

    /// The cells waiting in `batch` are to be sent again (their requests never ran).
    fn release(&mut self, batch: u64) {
        self.watched.remove(&batch);
        for p in self.cells.values_mut() {
            if p.waiting == Waiting::Batch(batch) {
                p.waiting = Waiting::Ready;
                self.runner.counters.batched.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// The cell id in a custom id (cell ids are hex digits).
fn cell_of(custom_id: &str) -> &str {
    custom_id.split('-').next().unwrap_or(custom_id)
}

fn policy(spec: &ModelSpec) -> RetryPolicy {
    RetryPolicy {
        max_attempts: spec.max_attempts,
        base: Duration::from_millis(spec.backoff_ms),
        cap: Duration::from_millis(spec.backoff_max_ms),
    }
}

fn timeout(spec: &ModelSpec) -> Duration {
    Duration::from_secs_f64(spec.timeout_s)
}

/// An upper bound on a request's cost (its estimated input and `max_tokens` of output).
fn request_bound(
    spec: &ModelSpec,
    request: &crate::provider::ChatRequest,
    pricing: Pricing,
) -> Option<f64> {
    let (input, output) = request_estimate(request, spec);
    match pricing {
        Pricing::Live => price(spec, input, output),
        Pricing::Batch => batch_price(spec, input, output),
    }
}

/// Looks for the batch of `intent` among the provider's batches (newest first), stopping at
/// batches created well before it.
async fn find_listed(
    runner: &Runner,
    state: &JournalState,
    endpoint: &Endpoint,
    spec: &ModelSpec,
    intent: &Intent,
) -> Result<Option<BatchView>, ProviderError> {
    let known: HashSet<String> = state
        .batches
        .values()
        .filter_map(|b| b.id.clone())
        .collect();
    let since = rfc3339_unix(&intent.at).map(|t| t - CLOCK_SKEW_S);
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let call = wire::list(endpoint, cursor.as_deref());
        let (page, next) = retrying(runner, spec, || async {
            let response = send_call(&runner.client, &call, timeout(spec)).await?;
            wire::parse_list(endpoint.kind, &response)
        })
        .await?;
        if let Some(found) = recognise(intent, &known, &page) {
            return Ok(Some(found.clone()));
        }
        let older = since.is_some_and(|since| {
            page.iter()
                .filter_map(|b| b.created_unix)
                .min()
                .is_some_and(|oldest| oldest < since)
        });
        match next {
            Some(next) if !older => cursor = Some(next),
            _ => break,
        }
    }
    Ok(None)
}

/// Runs a control call (poll, list, download) with the model's retry policy.
async fn retrying<T, F, Fut>(
    runner: &Runner,
    spec: &ModelSpec,
    mut f: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let policy = policy(spec);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match f().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match policy.decide(attempts, &error, SystemTime::now(), runner.jitter()) {
            Decision::RetryAfter(delay) => tokio::time::sleep(delay).await,
            Decision::GiveUp(_) => return Err(error),
        }
    }
}

/// Polls one batch until it ends (then reads its results), with a wait that doubles while
/// nothing changes; stops when the run is interrupted.
async fn watch(
    runner: Arc<Runner>,
    batch: u64,
    model: String,
    id: String,
    events: mpsc::Sender<Event>,
    pause_at: Option<Arc<Pause>>,
) {
    let spec = runner.study.model(&model).expect("in the study").clone();
    let endpoint = runner.endpoints[&model].clone();
    let base = Duration::from_secs_f64(spec.batch.poll_s);
    let cap = Duration::from_secs_f64(spec.batch.poll_max_s.max(spec.batch.poll_s));
    let mut wait = base;
    let mut last: Option<(String, Counts)> = None;
    let mut polls = 0;
    loop {
        let view = retrying(&runner, &spec, || async {
            let call = wire::get(&endpoint, &id)?;
            let response = send_call(&runner.client, &call, timeout(&spec)).await?;
            wire::parse_batch(endpoint.kind, &response)
        })
        .await;
        let view = match view {
            Ok(view) => view,
            Err(error) if error.status == Some(404) => {
                let _ = events
                    .send(Event::Gone {
                        batch,
                        error: error.to_string(),
                    })
                    .await;
                return;
            }
            Err(error) => {
                let _ = events
                    .send(Event::Lost {
                        batch,
                        error: error.to_string(),
                    })
                    .await;
                return;
            }
        };
        polls += 1;
        let now = (view.state.clone(), view.counts);
        if last.as_ref() != Some(&now) {
            let _ = events
                .send(Event::Status {
                    batch,
                    state: now.0.clone(),
                    counts: now.1,
                })
                .await;
            last = Some(now);
            wait = base;
        } else {
            wait = (wait * 2).min(cap);
        }
        if view.end.is_some() {
            let (results, problems) = match read_results(&runner, &spec, &endpoint, &view).await {
                Ok(read) => read,
                Err(error) => {
                    let _ = events
                        .send(Event::Lost {
                            batch,
                            error: format!("its results could not be read: {error}"),
                        })
                        .await;
                    return;
                }
            };
            let _ = events
                .send(Event::Ended {
                    batch,
                    view,
                    results,
                    problems,
                })
                .await;
            return;
        }
        pause(&pause_at, "batch-poll", &model, polls);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = runner.cancel.cancelled() => return,
        }
    }
}

/// The results of an ended batch, and the lines that could not be read.
async fn read_results(
    runner: &Runner,
    spec: &ModelSpec,
    endpoint: &Endpoint,
    view: &BatchView,
) -> Result<(Vec<ItemResult>, Vec<String>), ProviderError> {
    if let Results::Inline(results) = &view.results {
        return Ok((results.clone(), Vec::new()));
    }
    let (mut results, mut problems) = (Vec::new(), Vec::new());
    for call in wire::result_calls(endpoint, view)? {
        let lines = retrying(runner, spec, || async {
            let response = send_call(&runner.client, &call, timeout(spec)).await?;
            wire::parse_results(endpoint.kind, &response)
        })
        .await?;
        for line in lines {
            match line {
                Ok(result) => results.push(result),
                Err(problem) => problems.push(problem),
            }
        }
    }
    Ok((results, problems))
}

/// `run --batch-cancel`: asks the provider to cancel every batch of the journal that is (or may
/// be) in flight, and journals the request. Returns one line per batch for the user.
pub async fn cancel_all(runner: &Runner, journal: &mut Journal) -> Result<Vec<String>, StoreError> {
    let mut lines = Vec::new();
    let open: Vec<(u64, Option<String>, Intent)> = journal
        .state
        .batches
        .values()
        .filter(|b| b.in_flight() || b.unresolved())
        .map(|b| (b.intent.batch, b.id.clone(), b.intent.clone()))
        .collect();
    for (batch, id, intent) in open {
        let Some(endpoint) = runner.endpoints.get(&intent.model) else {
            lines.push(format!(
                "batch {batch} of {}: the model is no longer in the study; cancel it at the provider",
                intent.model
            ));
            continue;
        };
        let spec = runner.study.model(&intent.model).expect("has an endpoint");
        let id = match id {
            Some(id) => id,
            None => {
                // An unconfirmed submission: find it first.
                match find_listed(runner, &journal.state, endpoint, spec, &intent).await {
                    Ok(Some(view)) => {
                        journal.append_synced(Entry::Submitted {
                            batch,
                            id: view.id.clone(),
                            recovered: true,
                            at: now_rfc3339(),
                        })?;
                        view.id
                    }
                    Ok(None) => {
                        journal.append_synced(Entry::Abandoned {
                            batch,
                            reason: "not found among the provider's batches: never submitted"
                                .into(),
                            at: now_rfc3339(),
                        })?;
                        lines.push(format!(
                            "batch {batch} of {}: never submitted",
                            intent.model
                        ));
                        continue;
                    }
                    Err(error) => {
                        lines.push(format!(
                            "batch {batch} of {}: cannot tell whether it was submitted ({error})",
                            intent.model
                        ));
                        continue;
                    }
                }
            }
        };
        let result = retrying(runner, spec, || async {
            let call = wire::cancel(endpoint, &id)?;
            let response = send_call(&runner.client, &call, timeout(spec)).await?;
            wire::parse_cancel(endpoint.kind, &response)
        })
        .await;
        match result {
            Ok(()) => {
                journal.append_synced(Entry::CancelRequested {
                    batch,
                    at: now_rfc3339(),
                })?;
                lines.push(format!(
                    "batch {batch} of {} ({id}): cancellation requested",
                    intent.model
                ));
            }
            Err(error) => lines.push(format!(
                "batch {batch} of {} ({id}): cannot cancel: {error}",
                intent.model
            )),
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::batch::Results;

    fn view(id: &str, tag: Option<&str>, total: u64, created: i64) -> BatchView {
        BatchView {
            id: id.into(),
            state: "in_progress".into(),
            end: None,
            counts: Counts {
                total,
                succeeded: 0,
                failed: 0,
            },
            tag: tag.map(str::to_owned),
            created_unix: Some(created),
            reason: None,
            results: Results::None,
        }
    }

    fn intent(provider: ProviderKind, requests: usize) -> Intent {
        Intent {
            batch: 3,
            model: "m".into(),
            provider,
            tag: "bf-abc".into(),
            // 2024-09-24T18:37:24Z
            at: "2024-09-24T18:37:24.5Z".into(),
            worst_case_usd: None,
            requests: (0..requests)
                .map(|i| IntentRequest {
                    custom_id: format!("c{i}-0-s"),
                    cell_id: format!("c{i}"),
                    call: 0,
                })
                .collect(),
        }
    }

    const AT: i64 = 1_727_203_044;

    #[test]
    fn batches_are_recognised_by_tag_or_for_anthropic_by_size_and_time() {
        let none = HashSet::new();
        let listed = vec![
            view("b3", Some("bf-other"), 2, AT + 1),
            view("b2", Some("bf-abc"), 2, AT - 5000),
            view("b1", None, 2, AT),
        ];
        let openai = intent(ProviderKind::OpenAi, 2);
        assert_eq!(recognise(&openai, &none, &listed).unwrap().id, "b2");
        let gemini = intent(ProviderKind::Gemini, 2);
        assert_eq!(
            recognise(&gemini, &none, &listed[..1]),
            None,
            "a tag is required"
        );

        let anthropic = intent(ProviderKind::Anthropic, 2);
        let listed = vec![
            view("new", None, 2, AT + 1),
            view("wrong-size", None, 3, AT),
            view("older", None, 2, AT - 2),
            view("ancient", None, 2, AT - CLOCK_SKEW_S - 1),
        ];
        assert_eq!(recognise(&anthropic, &none, &listed).unwrap().id, "new");
        let known: HashSet<String> = ["new".to_string()].into();
        assert_eq!(recognise(&anthropic, &known, &listed).unwrap().id, "older");
        assert_eq!(recognise(&anthropic, &none, &listed[3..]), None, "too old");
        assert_eq!(
            recognise(&anthropic, &none, &listed[1..2]),
            None,
            "wrong size"
        );
    }

    #[test]
    fn custom_ids_are_content_derived_and_give_back_their_cell() {
        let salt = run_salt("run@2024-09-24T18:37:24Z");
        assert_eq!(salt.len(), 8);
        assert_ne!(salt, run_salt("run@2024-09-24T18:37:25Z"));
        let id = custom_id("0123456789abcdef", 2, &salt);
        assert_eq!(id, format!("0123456789abcdef-2-{salt}"));
        assert_eq!(cell_of(&id), "0123456789abcdef");
        // Every provider's custom-id rules: at most 64 of [A-Za-z0-9_-].
        assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        let requests = intent(ProviderKind::OpenAi, 2).requests;
        assert_eq!(tag("r", "m", 1, &requests), tag("r", "m", 1, &requests));
        assert_ne!(tag("r", "m", 1, &requests), tag("r", "m", 2, &requests));
        assert!(tag("r", "m", 1, &requests).starts_with("bf-"));
    }

    #[test]
    fn the_test_hook_parses_point_count_and_model() {
        let p = Pause::parse("batch-download:3@sim-beta").unwrap();
        assert_eq!(
            (p.point.as_str(), p.after, p.model.as_deref()),
            ("batch-download", 3, Some("sim-beta"))
        );
        let p = Pause::parse("batch-submit").unwrap();
        assert_eq!((p.after, p.model.as_deref()), (1, None));
        assert!(Pause::parse("batch-download:x").is_none());
        // Not reached: returns at once.
        p.at("batch-poll", "m", 5);
        Pause::parse("batch-submit@other")
            .unwrap()
            .at("batch-submit", "m", 1);
    }
}
