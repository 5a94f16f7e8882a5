//! `batches.jsonl`: what the batch runner intends, did and got, one event per line.
//!
//! A batch costs money the moment the provider accepts it, so the runner writes (and syncs) its
//! intent — the model, the tag and every request's custom id, cell and call — *before* it
//! submits, and the provider's batch id right after. Whatever kills the process, the next run
//! reads this log and knows each batch's fate: never sent, sent but not recorded (found again by
//! listing the provider's batches), in flight (re-attached by id), or ended with these results.
//! Results are journaled as they are read, so a reply bought once is never bought again; the
//! cells' conversations are rebuilt from them ([`JournalState::history`]).
//!
//! Replaying is pure; the file itself goes through `store`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::provider::batch::{Counts, EndState};
use crate::provider::{ProviderKind, Reply};
use crate::run::record::CellError;
use crate::store::StoreError;
use crate::store::transcripts::{self, JsonlLog, ReadReport};

pub const FILE_NAME: &str = "batches.jsonl";

/// One request of an intended batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentRequest {
    pub custom_id: String,
    pub cell_id: String,
    /// Which model call of the cell (0 for the first).
    pub call: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The journal's own number for the batch.
    pub batch: u64,
    pub model: String,
    pub provider: ProviderKind,
    /// Carried in the batch (OpenAI metadata, Gemini display name) so that it can be found again.
    pub tag: String,
    pub at: String,
    /// What the batch can cost at most, at batch prices; null without prices.
    pub worst_case_usd: Option<f64>,
    pub requests: Vec<IntentRequest>,
}

/// What one request of a batch came back with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Ok {
        reply: Reply,
    },
    /// `retry`: whether a later batch may succeed (within `max_attempts`).
    Failed {
        error: CellError,
        retry: bool,
    },
    /// The batch was cancelled before the request ran.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    Intent(Intent),
    Submitted {
        batch: u64,
        id: String,
        /// Found by listing the provider's batches after a crash, not from the submission.
        #[serde(default)]
        recovered: bool,
        at: String,
    },
    /// The state and counts of the last poll that changed them.
    Status {
        batch: u64,
        state: String,
        counts: Counts,
        at: String,
    },
    Result {
        batch: u64,
        custom_id: String,
        outcome: Outcome,
    },
    /// A reply to a live request made for a cell that runs through batches (a simulated user
    /// whose model is not in batch mode).
    Live {
        cell_id: String,
        call: u32,
        model: String,
        reply: Reply,
        attempts: u32,
        latency_ms: u64,
    },
    /// Every result of the batch has been journaled.
    Ended {
        batch: u64,
        state: EndState,
        #[serde(default)]
        reason: Option<String>,
        at: String,
    },
    /// The batch never reached the provider, or the provider no longer knows it; its requests
    /// were not run.
    Abandoned {
        batch: u64,
        reason: String,
        at: String,
    },
    CancelRequested {
        batch: u64,
        at: String,
    },
    /// The cell was recorded as failed: what the journal says of it so far is closed, and a
    /// later run (`--retry-failed`) starts it afresh.
    CellFailed {
        cell_id: String,
        at: String,
    },
}

/// Everything the journal says about one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecord {
    pub intent: Intent,
    pub id: Option<String>,
    pub recovered: bool,
    pub status: Option<(String, Counts, String)>,
    /// Results by custom id, the first journaled one winning.
    pub results: BTreeMap<String, Outcome>,
    pub ended: Option<(EndState, Option<String>, String)>,
    pub abandoned: Option<String>,
    pub cancel_requested: bool,
}

impl BatchRecord {
    /// At the provider and not yet read.
    pub fn in_flight(&self) -> bool {
        self.id.is_some() && self.ended.is_none() && self.abandoned.is_none()
    }

    /// Intended, but whether the provider got it is unknown (a crash during the submission).
    pub fn unresolved(&self) -> bool {
        self.id.is_none() && self.ended.is_none() && self.abandoned.is_none()
    }

    /// What the request with `custom_id` came back with, once the batch has ended: its journaled
    /// result, or what the batch's end implies for a request without one.
    pub fn outcome(&self, custom_id: &str) -> Option<Outcome> {
        let (state, reason, _) = self.ended.as_ref()?;
        if let Some(outcome) = self.results.get(custom_id) {
            return Some(outcome.clone());
        }
        let batch_error = |transient: bool, message: String| Outcome::Failed {
            error: CellError {
                kind: "batch".into(),
                status: None,
                message,
                body: None,
                transient,
            },
            retry: transient,
        };
        Some(match state {
            EndState::Cancelled => Outcome::NotRun,
            EndState::Expired => batch_error(
                true,
                "batch (expired): the batch expired before this request ran".into(),
            ),
            EndState::Failed => batch_error(
                false,
                format!(
                    "batch (failed): the provider failed the whole batch: {}",
                    reason.as_deref().unwrap_or("no reason given")
                ),
            ),
            EndState::Completed => batch_error(
                true,
                "batch (no_result): the batch completed without a result for this request".into(),
            ),
        })
    }
}

/// A live reply of a batch-driven cell.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveReply {
    pub cell_id: String,
    pub call: u32,
    pub reply: Reply,
    pub attempts: u32,
    pub latency_ms: u64,
}

/// The journal replayed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalState {
    pub batches: BTreeMap<u64, BatchRecord>,
    pub live: Vec<LiveReply>,
    /// Events that refer to a batch the journal never announced (skipped).
    pub orphans: Vec<String>,
    /// Cells recorded as failed: the last batch number and the number of live replies journaled
    /// by then. What came before is history of an earlier attempt at the cell.
    pub closed: HashMap<String, (u64, usize)>,
}

/// What the journal knows about one model call of a cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallHistory {
    /// Failed attempts, in order, with whether a retry may help.
    pub failures: Vec<(CellError, bool)>,
    /// The reply, whether a batch bought it, the attempts of that purchase (1 for a batch; the
    /// failures above are counted apart) and its latency.
    pub ok: Option<(Reply, bool, u32, u64)>,
    /// The batch the call waits in.
    pub in_flight: Option<u64>,
}

/// What the journal knows about one cell: its calls, and when it first appeared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellHistory {
    pub calls: BTreeMap<u32, CallHistory>,
    pub first_at: Option<String>,
}

impl JournalState {
    pub fn replay(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut state = JournalState::default();
        for entry in entries {
            state.apply(entry);
        }
        state
    }

    /// Applies one event, as appending it does.
    pub fn apply(&mut self, entry: Entry) {
        let batch_of = |entry: &Entry| match entry {
            Entry::Submitted { batch, .. }
            | Entry::Status { batch, .. }
            | Entry::Result { batch, .. }
            | Entry::Ended { batch, .. }
            | Entry::Abandoned { batch, .. }
            | Entry::CancelRequested { batch, .. } => Some(*batch),
            Entry::Intent(_) | Entry::Live { .. } | Entry::CellFailed { .. } => None,
        };
        if let Some(n) = batch_of(&entry)
            && !self.batches.contains_key(&n)
        {
            self.orphans
                .push(format!("an event for batch {n}, which has no intent"));
            return;
        }
        match entry {
            Entry::Intent(intent) => {
                self.batches.insert(
                    intent.batch,
                    BatchRecord {
                        intent,
                        id: None,
                        recovered: false,
                        status: None,
                        results: BTreeMap::new(),
                        ended: None,
                        abandoned: None,
                        cancel_requested: false,
                    },
                );
            }
            Entry::Submitted {
                batch,
                id,
                recovered,
                ..
            } => {
                let b = self.batches.get_mut(&batch).expect("checked above");
                b.id = Some(id);
                b.recovered = recovered;
            }
            Entry::Status {
                batch,
                state,
                counts,
                at,
            } => {
                self.batches.get_mut(&batch).expect("checked above").status =
                    Some((state, counts, at));
            }
            Entry::Result {
                batch,
                custom_id,
                outcome,
            } => {
                self.batches
                    .get_mut(&batch)
                    .expect("checked above")
                    .results
                    .entry(custom_id)
                    .or_insert(outcome);
            }
            Entry::Live {
                cell_id,
                call,
                reply,
                attempts,
                latency_ms,
                ..
            } => self.live.push(LiveReply {
                cell_id,
                call,
                reply,
                attempts,
                latency_ms,
            }),
            Entry::Ended {
                batch,
                state,
                reason,
                at,
            } => {
                self.batches.get_mut(&batch).expect("checked above").ended =
                    Some((state, reason, at));
            }
            Entry::Abandoned { batch, reason, .. } => {
                self.batches
                    .get_mut(&batch)
                    .expect("checked above")
                    .abandoned = Some(reason);
            }
            Entry::CancelRequested { batch, .. } => {
                self.batches
                    .get_mut(&batch)
                    .expect("checked above")
                    .cancel_requested = true;
            }
            Entry::CellFailed { cell_id, .. } => {
                let last_batch = self.batches.keys().next_back().copied().unwrap_or(0);
                self.closed.insert(cell_id, (last_batch, self.live.len()));
            }
        }
    }

    /// The number the next intent gets.
    pub fn next_batch(&self) -> u64 {
        self.batches.keys().next_back().map_or(1, |n| n + 1)
    }

    pub fn in_flight(&self) -> impl Iterator<Item = &BatchRecord> {
        self.batches.values().filter(|b| b.in_flight())
    }

    /// Each cell's calls as the journal tells them: replies (from ended batches and live
    /// requests), failed attempts, and calls waiting in a batch (in flight or unresolved).
    pub fn history(&self) -> HashMap<String, CellHistory> {
        let mut cells: HashMap<String, CellHistory> = HashMap::new();
        for batch in self.batches.values() {
            for request in &batch.intent.requests {
                if self
                    .closed
                    .get(&request.cell_id)
                    .is_some_and(|(last, _)| batch.intent.batch <= *last)
                {
                    continue;
                }
                let cell = cells.entry(request.cell_id.clone()).or_default();
                cell.first_at.get_or_insert_with(|| batch.intent.at.clone());
                let call = cell.calls.entry(request.call).or_default();
                if call.ok.is_some() || batch.abandoned.is_some() {
                    continue;
                }
                if batch.in_flight() || batch.unresolved() {
                    call.in_flight = Some(batch.intent.batch);
                    continue;
                }
                match batch.outcome(&request.custom_id) {
                    Some(Outcome::Ok { reply }) => {
                        call.ok = Some((reply, true, 1, 0));
                        call.in_flight = None;
                    }
                    Some(Outcome::Failed { error, retry }) => {
                        call.failures.push((error, retry));
                        call.in_flight = None;
                    }
                    Some(Outcome::NotRun) | None => call.in_flight = None,
                }
            }
        }
        for (i, live) in self.live.iter().enumerate() {
            if self
                .closed
                .get(&live.cell_id)
                .is_some_and(|(_, lives)| i < *lives)
            {
                continue;
            }
            let cell = cells.entry(live.cell_id.clone()).or_default();
            let call = cell.calls.entry(live.call).or_default();
            if call.ok.is_none() {
                call.ok = Some((live.reply.clone(), false, live.attempts, live.latency_ms));
            }
        }
        cells
    }
}

/// Reads a journal (a missing one is empty), with what a crash may have left behind.
pub fn read(path: &Path) -> Result<(JournalState, ReadReport), StoreError> {
    let (entries, report) = transcripts::read::<Entry>(path)?;
    Ok((JournalState::replay(entries), report))
}

/// The journal of a run folder, open for appending; every append also updates [`Self::state`].
pub struct Journal {
    log: JsonlLog,
    pub state: JournalState,
}

impl Journal {
    /// Opens (creating) the journal; an incomplete last line is set aside as for transcripts.
    /// Returns the journal and warnings about what reading it found.
    pub fn open(path: &Path) -> Result<(Journal, Vec<String>), StoreError> {
        let (state, report) = read(path)?;
        let mut warnings: Vec<String> = report
            .bad_lines
            .iter()
            .map(|(line, e)| {
                format!(
                    "{}:{line}: not a journal event, skipped ({e})",
                    path.display()
                )
            })
            .collect();
        if let Some(tail) = &report.truncated_tail {
            warnings.push(format!(
                "{}:{}: the last line is incomplete (an interrupted write); it is set aside",
                path.display(),
                tail.line
            ));
        }
        warnings.extend(
            state
                .orphans
                .iter()
                .map(|o| format!("{}: {o}, skipped", path.display())),
        );
        let log = JsonlLog::open(path, report.truncated_tail.as_ref())?;
        Ok((Journal { log, state }, warnings))
    }

    /// Appends an event (flushed to the operating system, so it survives a killed process).
    pub fn append(&mut self, entry: Entry) -> Result<(), StoreError> {
        self.log.append(&entry)?;
        self.state.apply(entry);
        Ok(())
    }

    /// Appends an event and syncs it to disk: for the events money depends on.
    pub fn append_synced(&mut self, entry: Entry) -> Result<(), StoreError> {
        self.append(entry)?;
        self.log.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Usage;

    fn reply(text: &str) -> Reply {
        Reply {
            text: text.into(),
            reasoning: None,
            finish_reason: Some("stop".into()),
            refusal: false,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
            },
            model_version: None,
            request_id: None,
        }
    }

    fn intent(batch: u64, requests: &[(&str, u32)]) -> Entry {
        Entry::Intent(Intent {
            batch,
            model: "m".into(),
            provider: ProviderKind::OpenAi,
            tag: format!("bf-{batch}"),
            at: format!("t{batch}"),
            worst_case_usd: None,
            requests: requests
                .iter()
                .map(|(cell, call)| IntentRequest {
                    custom_id: format!("{cell}-{call}"),
                    cell_id: (*cell).into(),
                    call: *call,
                })
                .collect(),
        })
    }

    fn submitted(batch: u64) -> Entry {
        Entry::Submitted {
            batch,
            id: format!("batch_{batch}"),
            recovered: false,
            at: "t".into(),
        }
    }

    fn result(batch: u64, custom_id: &str, outcome: Outcome) -> Entry {
        Entry::Result {
            batch,
            custom_id: custom_id.into(),
            outcome,
        }
    }

    fn ended(batch: u64, state: EndState) -> Entry {
        Entry::Ended {
            batch,
            state,
            reason: Some("input file invalid".into()),
            at: "t".into(),
        }
    }

    fn failure(retry: bool) -> Outcome {
        Outcome::Failed {
            error: CellError {
                kind: "http".into(),
                status: Some(500),
                message: "boom".into(),
                body: None,
                transient: retry,
            },
            retry,
        }
    }

    #[test]
    fn a_cell_recorded_as_failed_starts_afresh() {
        let state = JournalState::replay([
            intent(1, &[("a", 0), ("b", 0)]),
            submitted(1),
            result(1, "a-0", failure(false)),
            result(1, "b-0", Outcome::Ok { reply: reply("B0") }),
            ended(1, EndState::Completed),
            Entry::CellFailed {
                cell_id: "a".into(),
                at: "t".into(),
            },
            // --retry-failed: a is sent again.
            intent(2, &[("a", 0)]),
            submitted(2),
        ]);
        let h = state.history();
        let a = &h["a"].calls[&0];
        assert_eq!(a.failures.len(), 0, "the earlier failure is closed");
        assert_eq!(a.in_flight, Some(2));
        assert_eq!(h["a"].first_at.as_deref(), Some("t2"));
        assert_eq!(h["b"].calls[&0].ok.as_ref().unwrap().0.text, "B0");
    }

    #[test]
    fn histories_follow_each_call_through_batches() {
        let state = JournalState::replay([
            intent(1, &[("a", 0), ("b", 0), ("c", 0), ("d", 0)]),
            submitted(1),
            result(1, "a-0", Outcome::Ok { reply: reply("A0") }),
            result(1, "b-0", failure(true)),
            result(1, "c-0", Outcome::NotRun),
            // d-0 has no result: the batch expired before it ran.
            ended(1, EndState::Expired),
            intent(2, &[("a", 1), ("b", 0), ("d", 0)]),
            submitted(2),
            result(2, "b-0", Outcome::Ok { reply: reply("B0") }),
            // The download of batch 2 was cut short: a-1 and d-0 are still in flight.
            intent(3, &[("c", 0)]),
            // Batch 3 was never confirmed: unresolved, so c-0 waits too.
        ]);
        assert_eq!(state.next_batch(), 4);
        assert_eq!(state.in_flight().count(), 1);
        assert!(state.batches[&3].unresolved());
        let h = state.history();
        assert_eq!(h["a"].calls[&0].ok.as_ref().unwrap().0.text, "A0");
        assert_eq!(h["a"].calls[&1].in_flight, Some(2));
        assert_eq!(h["a"].first_at.as_deref(), Some("t1"));
        // In flight in batch 2: its journaled result is not applied before the batch ends.
        assert_eq!(h["b"].calls[&0].failures.len(), 1);
        assert_eq!(h["b"].calls[&0].ok, None);
        assert_eq!(h["b"].calls[&0].in_flight, Some(2));
        assert_eq!(h["c"].calls[&0].failures.len(), 0, "not run is no attempt");
        assert_eq!(h["c"].calls[&0].in_flight, Some(3));
        let d = &h["d"].calls[&0];
        assert_eq!(d.failures.len(), 1);
        assert!(d.failures[0].1, "an expired request may be retried");
        assert_eq!(d.in_flight, Some(2));

        // Once batch 2 ends, its results count, with the attempts they took.
        let mut state = state;
        state.apply(result(2, "a-1", Outcome::Ok { reply: reply("A1") }));
        state.apply(ended(2, EndState::Completed));
        state.apply(Entry::Abandoned {
            batch: 3,
            reason: "never reached the provider".into(),
            at: "t".into(),
        });
        let h = state.history();
        let (b, batch, attempts, _) = h["b"].calls[&0].ok.clone().unwrap();
        assert_eq!((b.text.as_str(), batch, attempts), ("B0", true, 1));
        assert_eq!(
            h["b"].calls[&0].failures.len(),
            1,
            "the failed attempt before it"
        );
        assert_eq!(h["a"].calls[&1].ok.as_ref().unwrap().0.text, "A1");
        let d = &h["d"].calls[&0];
        assert_eq!(
            d.failures.len(),
            2,
            "completed without a result: a retryable failure"
        );
        assert_eq!((d.in_flight, &d.ok), (None, &None));
        assert_eq!(
            h["c"].calls[&0].in_flight, None,
            "abandoned: to be sent again"
        );
    }

    #[test]
    fn a_batch_that_failed_as_a_whole_fails_its_requests_for_good() {
        let state = JournalState::replay([
            intent(1, &[("a", 0)]),
            submitted(1),
            ended(1, EndState::Failed),
        ]);
        let (error, retry) = state.history()["a"].calls[&0].failures[0].clone();
        assert!(!retry);
        assert!(
            error.message.contains("input file invalid"),
            "{}",
            error.message
        );
        let cancelled = JournalState::replay([
            intent(1, &[("a", 0)]),
            submitted(1),
            Entry::CancelRequested {
                batch: 1,
                at: "t".into(),
            },
            ended(1, EndState::Cancelled),
        ]);
        assert!(cancelled.batches[&1].cancel_requested);
        assert_eq!(cancelled.history()["a"].calls[&0], CallHistory::default());
    }

    #[test]
    fn orphan_events_are_reported_and_live_replies_count() {
        let state = JournalState::replay([
            result(9, "x-0", Outcome::NotRun),
            Entry::Live {
                cell_id: "z".into(),
                call: 2,
                model: "u".into(),
                reply: reply("Z2"),
                attempts: 3,
                latency_ms: 40,
            },
        ]);
        assert_eq!(state.orphans.len(), 1);
        let (r, batch, attempts, latency) = state.history()["z"].calls[&2].ok.clone().unwrap();
        assert_eq!(
            (r.text.as_str(), batch, attempts, latency),
            ("Z2", false, 3, 40)
        );
    }

    #[test]
    fn the_journal_file_round_trips_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let (mut journal, warnings) = Journal::open(&path).unwrap();
        assert!(warnings.is_empty());
        journal.append_synced(intent(1, &[("a", 0)])).unwrap();
        journal.append(submitted(1)).unwrap();
        drop(journal);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"event\":\"result\",\"batch\":1,\"cus");
        std::fs::write(&path, text).unwrap();
        let (journal, warnings) = Journal::open(&path).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(journal.state.in_flight().count(), 1);
        let line: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(line["event"], "intent");
        assert_eq!(line["requests"][0]["custom_id"], "a-0");
    }
}
