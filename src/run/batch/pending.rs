//! A cell that runs through batches, between its model calls: the call it waits on, the failed
//! attempts of that call, and where it waits. Pure.
//!
//! The same steps serve a fresh cell, a cell rebuilt from the journal after a crash
//! ([`replay`]), and a cell whose batch just ended, so a resumed run continues exactly where
//! the killed one stood.

use crate::provider::Reply;
use crate::run::cell::{Call, CellState, Pricing};
use crate::run::now_rfc3339;
use crate::run::record::{CellError, TranscriptRecord};
use crate::study::Study;

use super::journal::CellHistory;

/// Where a cell's current call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Needs to be sent (or the cell to be finished).
    Ready,
    /// In the queue of the next batch of its model.
    Queued,
    /// In this journal batch, at the provider.
    Batch(u64),
    /// Sent live.
    Live,
    /// Not sent this run (the spending cap was reached).
    Blocked,
}

/// What a cell needs next.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    Send(Call),
    Finished(Box<TranscriptRecord>),
}

#[derive(Debug, Clone)]
pub struct Pending {
    state: Option<CellState>,
    call: Option<Call>,
    /// Failed attempts of the current call, with whether a retry may help.
    failures: Vec<(CellError, bool)>,
    pub waiting: Waiting,
}

impl Pending {
    pub fn new(state: CellState) -> Self {
        Pending {
            state: Some(state),
            call: None,
            failures: Vec::new(),
            waiting: Waiting::Ready,
        }
    }

    /// The call the cell waits on.
    pub fn call(&self) -> Option<&Call> {
        self.call.as_ref()
    }

    /// The cost of what the cell has bought so far.
    pub fn cost(&self, study: &Study) -> Option<f64> {
        self.state.as_ref().and_then(|s| s.cost(study))
    }

    /// The next call to send, or the finished record: ok when the protocol is done, failed when
    /// the current call failed for good (a permanent error, or `max_attempts` of its model).
    pub fn next(&mut self, study: &Study) -> Need {
        let state = self
            .state
            .as_mut()
            .expect("a finished cell is not asked again");
        let call = match &self.call {
            Some(call) => call.clone(),
            None => match state.next_call(study) {
                Some(call) => {
                    self.call = Some(call.clone());
                    call
                }
                None => return Need::Finished(Box::new(self.finish(study, None, 0))),
            },
        };
        if let Some((error, retry)) = self.failures.last().cloned() {
            let max = study.model(&call.alias).map_or(1, |m| m.max_attempts);
            if !retry || self.failures.len() as u32 >= max {
                return Need::Finished(Box::new(self.finish(study, Some(error), 0)));
            }
        }
        Need::Send(call)
    }

    /// The current call was answered, after `attempts` attempts (plus the failed ones before).
    pub fn answered(&mut self, reply: Reply, pricing: Pricing, attempts: u32, latency_ms: u64) {
        let call = self.call.take().expect("answering the current call");
        let failed = self.failures.len() as u32;
        self.failures.clear();
        self.state.as_mut().expect("not finished").answer(
            &call,
            reply,
            pricing,
            failed + attempts,
            latency_ms,
        );
        self.waiting = Waiting::Ready;
    }

    /// One attempt of the current call failed; [`Self::next`] decides whether to try again.
    pub fn failed(&mut self, error: CellError, retry: bool) {
        self.failures.push((error, retry));
        self.waiting = Waiting::Ready;
    }

    /// The current call failed for good after `attempts` attempts (a live request gave up).
    pub fn give_up(&mut self, study: &Study, error: CellError, attempts: u32) -> TranscriptRecord {
        self.finish(study, Some(error), attempts)
    }

    fn finish(
        &mut self,
        study: &Study,
        error: Option<CellError>,
        attempts: u32,
    ) -> TranscriptRecord {
        let mut state = self.state.take().expect("finished once");
        if error.is_some() {
            state.add_attempts(self.failures.len() as u32 + attempts);
        }
        state.finish(study, error, now_rfc3339())
    }
}

/// How a replayed cell stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    Finished(Box<TranscriptRecord>),
    /// Its current call waits in this batch.
    Waiting(u64),
    /// Its current call is to be sent.
    Ready,
}

/// Rebuilds a cell from what the journal tells of its calls.
pub fn replay(pending: &mut Pending, history: &CellHistory, study: &Study) -> Replayed {
    loop {
        let call = match pending.next(study) {
            Need::Finished(record) => return Replayed::Finished(record),
            Need::Send(call) => call,
        };
        let Some(h) = history.calls.get(&call.index) else {
            return Replayed::Ready;
        };
        if pending.failures.len() < h.failures.len() {
            for (error, retry) in &h.failures[pending.failures.len()..] {
                pending.failed(error.clone(), *retry);
            }
            if h.ok.is_none() {
                // Let `next` decide whether the failures end the cell.
                continue;
            }
        }
        if let Some((reply, batch, attempts, latency)) = &h.ok {
            let pricing = if *batch {
                Pricing::Batch
            } else {
                Pricing::Live
            };
            pending.answered(reply.clone(), pricing, *attempts, *latency);
            continue;
        }
        return match h.in_flight {
            Some(batch) => Replayed::Waiting(batch),
            None => Replayed::Ready,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Usage;
    use crate::run::batch::journal::CallHistory;
    use crate::run::record::Status;
    use crate::study::defaults;

    fn reply(text: &str) -> Reply {
        Reply {
            text: text.into(),
            reasoning: None,
            finish_reason: Some("stop".into()),
            refusal: false,
            usage: Usage {
                input_tokens: 100,
                output_tokens: 10,
            },
            model_version: None,
            request_id: Some(text.into()),
        }
    }

    fn error(transient: bool) -> CellError {
        CellError {
            kind: "http".into(),
            status: Some(if transient { 503 } else { 400 }),
            message: "no".into(),
            body: None,
            transient,
        }
    }

    /// A steerability cell (two assistant calls) of the default study.
    fn setup() -> (Study, Pending) {
        let study = defaults::study().unwrap();
        let cell = crate::plan::plan(&study)
            .cells
            .into_iter()
            .find(|c| c.scaffold == "steerability")
            .unwrap();
        let state = CellState::start(&study, &cell, "t0".into()).unwrap();
        (study, Pending::new(state))
    }

    #[test]
    fn calls_are_retried_within_max_attempts_then_the_cell_fails() {
        let (mut study, mut p) = setup();
        study.models[0].max_attempts = 3;
        let Need::Send(first) = p.next(&study) else {
            panic!()
        };
        assert_eq!(first.index, 0);
        p.failed(error(true), true);
        assert_eq!(p.next(&study), Need::Send(first.clone()), "same call again");
        p.answered(reply("a0"), Pricing::Batch, 1, 0);
        let Need::Send(second) = p.next(&study) else {
            panic!()
        };
        assert_eq!(second.index, 1);
        assert_eq!(
            second.request.messages.len(),
            3,
            "the first answer is in the context"
        );
        for _ in 0..3 {
            p.failed(error(true), true);
        }
        let Need::Finished(record) = p.next(&study) else {
            panic!()
        };
        assert_eq!(record.status, Status::Failed);
        assert_eq!((record.requests, record.attempts), (1, 2 + 3));
        assert_eq!(record.messages.len(), 4, "system, user, assistant, user");

        let (study, mut p) = setup();
        p.next(&study);
        p.failed(error(false), false);
        let Need::Finished(record) = p.next(&study) else {
            panic!()
        };
        assert_eq!(
            record.error.unwrap().status,
            Some(400),
            "a permanent error ends it at once"
        );
    }

    #[test]
    fn replay_continues_where_the_journal_stands() {
        let (study, mut p) = setup();
        let mut history = CellHistory::default();
        history.calls.insert(
            0,
            CallHistory {
                failures: vec![(error(true), true)],
                ok: Some((reply("a0"), true, 1, 0)),
                in_flight: None,
            },
        );
        history.calls.insert(
            1,
            CallHistory {
                failures: vec![(error(true), true)],
                ok: None,
                in_flight: Some(7),
            },
        );
        assert_eq!(replay(&mut p, &history, &study), Replayed::Waiting(7));
        assert_eq!(p.call().unwrap().index, 1);
        // The batch ends with the answer: the cell is done, with every attempt counted.
        p.answered(reply("a1"), Pricing::Batch, 1, 0);
        let Need::Finished(record) = p.next(&study) else {
            panic!()
        };
        assert_eq!(record.status, Status::Ok);
        assert_eq!((record.requests, record.attempts), (2, 4));
        assert_eq!(record.request_ids, ["a0", "a1"]);

        // Nothing journaled for the call: it is to be sent.
        let (study, mut p) = setup();
        assert_eq!(
            replay(&mut p, &CellHistory::default(), &study),
            Replayed::Ready
        );
        // Failures that used up max_attempts end the cell on replay.
        let (study, mut p) = setup();
        let mut history = CellHistory::default();
        history.calls.insert(
            0,
            CallHistory {
                failures: vec![(error(true), true); 5],
                ok: None,
                in_flight: None,
            },
        );
        assert!(matches!(
            replay(&mut p, &history, &study),
            Replayed::Finished(r) if r.status == Status::Failed && r.attempts == 5
        ));
    }
}
