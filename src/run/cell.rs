//! One cell's conversation in progress: the scaffold's protocol, the turns so far, and the record
//! being filled in. Pure.
//!
//! Both execution paths drive cells through this: the live runner asks for each model call and
//! sends it at once; the batch runner collects the next call of many cells into a provider batch
//! and, after a crash, replays the replies it journaled. Keeping the bookkeeping (usage, cost,
//! finish reasons, request ids) in one place is what makes a batch record indistinguishable from
//! a live one.

use crate::plan::Cell;
use crate::provider::{ChatRequest, Reply, Role};
use crate::study::{ModelSpec, Study};

use super::protocol::{Protocol, Step};
use super::record::{CellError, Status, TokenUsage, TranscriptMessage, TranscriptRecord};

/// How a reply was bought, which decides its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    Live,
    Batch,
}

/// The next model call of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// 0 for the cell's first model call, then 1, 2, ...
    pub index: u32,
    /// The model alias the call goes to (the assistant, or the simulated user's model).
    pub alias: String,
    pub role: Role,
    pub request: ChatRequest,
}

#[derive(Debug, Clone)]
pub struct CellState {
    pub cell: Cell,
    protocol: Protocol,
    messages: Vec<TranscriptMessage>,
    record: TranscriptRecord,
    assistant: String,
    user_model: Option<String>,
    /// Tokens per (alias, pricing), in the order first seen: priced when the cell finishes.
    usage: Vec<(String, Pricing, TokenUsage)>,
}

impl CellState {
    /// Starts a cell; a cell whose protocol cannot be set up is already finished, failed.
    pub fn start(
        study: &Study,
        cell: &Cell,
        started_at: String,
    ) -> Result<CellState, Box<TranscriptRecord>> {
        let mut record = failed_record(cell, "protocol", String::new(), &started_at);
        let (Some(assistant), Some(scaffold), Some(prompt)) = (
            study.model(&cell.model),
            study.scaffold(&cell.scaffold),
            study.prompts.iter().find(|p| p.id == cell.prompt),
        ) else {
            set_message(
                &mut record,
                "the cell refers to a model, scaffold or prompt the study does not have",
            );
            return Err(Box::new(record));
        };
        let protocol = match Protocol::new(scaffold, prompt) {
            Ok(p) => p,
            Err(message) => {
                set_message(&mut record, &message);
                return Err(Box::new(record));
            }
        };
        let user_model = scaffold
            .user_sim
            .as_ref()
            .and_then(|u| study.model(&u.model))
            .map(|m| m.id.clone());
        Ok(CellState {
            cell: cell.clone(),
            messages: protocol.start(),
            protocol,
            record,
            assistant: assistant.id.clone(),
            user_model,
            usage: Vec::new(),
        })
    }

    /// Model calls answered so far.
    pub fn answered(&self) -> u32 {
        self.record.requests
    }

    /// Appends scripted turns until the next model call, or None when the conversation is over.
    pub fn next_call(&mut self, study: &Study) -> Option<Call> {
        let assistant = study.model(&self.assistant)?;
        let user_model = self.user_model.as_deref().and_then(|u| study.model(u));
        loop {
            match self
                .protocol
                .next(&self.messages, assistant, user_model, self.cell.seed)
            {
                Step::Done => return None,
                Step::UserTurn(text) => {
                    self.messages.push(TranscriptMessage::new(Role::User, text))
                }
                Step::Assistant(request) => {
                    return Some(self.call(assistant, Role::Assistant, request));
                }
                Step::SimulatedUser(request) => {
                    let user = user_model.expect("a simulated-user step implies a user model");
                    return Some(self.call(user, Role::User, request));
                }
            }
        }
    }

    fn call(&self, model: &ModelSpec, role: Role, request: ChatRequest) -> Call {
        Call {
            index: self.answered(),
            alias: model.id.clone(),
            role,
            request,
        }
    }

    /// Records the answer to `call`, which took `attempts` attempts and `latency_ms` (0 for a
    /// batch reply, which has no latency of its own).
    pub fn answer(
        &mut self,
        call: &Call,
        reply: Reply,
        pricing: Pricing,
        attempts: u32,
        latency_ms: u64,
    ) {
        let record = &mut self.record;
        record.requests += 1;
        record.attempts += attempts;
        record.latency_ms += latency_ms;
        let usage = TokenUsage {
            input_tokens: reply.usage.input_tokens,
            output_tokens: reply.usage.output_tokens,
        };
        if call.role == Role::Assistant {
            record.usage.add(usage);
            record.model_version = reply.model_version.clone();
            record.finish_reasons.push(reply.finish_reason.clone());
            record.refused |= reply.refusal;
        } else {
            record.user_sim_usage.add(usage);
        }
        match self
            .usage
            .iter_mut()
            .find(|(a, p, _)| *a == call.alias && *p == pricing)
        {
            Some((_, _, total)) => total.add(usage),
            None => self.usage.push((call.alias.clone(), pricing, usage)),
        }
        record.request_ids.extend(reply.request_id.clone());
        self.messages.push(TranscriptMessage {
            role: call.role,
            content: reply.text,
            reasoning: reply.reasoning,
        });
    }

    /// Counts attempts that bought nothing (a failed request inside a batch).
    pub fn add_attempts(&mut self, attempts: u32) {
        self.record.attempts += attempts;
    }

    /// The cost of what was answered so far; None when a model involved has no prices.
    pub fn cost(&self, study: &Study) -> Option<f64> {
        if self.usage.is_empty() {
            return super::price(study.model(&self.assistant)?, 0, 0);
        }
        self.usage
            .iter()
            .try_fold(0.0, |sum, (alias, pricing, usage)| {
                let spec = study.model(alias)?;
                let cost = match pricing {
                    Pricing::Live => super::price(spec, usage.input_tokens, usage.output_tokens)?,
                    Pricing::Batch => batch_price(spec, usage.input_tokens, usage.output_tokens)?,
                };
                Some(sum + cost)
            })
    }

    /// The finished record: ok, or failed with `error` (keeping the turns it got).
    pub fn finish(
        mut self,
        study: &Study,
        error: Option<CellError>,
        finished_at: String,
    ) -> TranscriptRecord {
        let cost = self.cost(study);
        let record = &mut self.record;
        record.messages = self.messages;
        record.finished_at = finished_at;
        record.cost_usd = cost;
        match error {
            Some(error) => record.error = Some(error),
            None => {
                record.status = Status::Ok;
                record.error = None;
            }
        }
        self.record
    }
}

/// USD for a token count at a model's batch prices; None without prices.
pub fn batch_price(spec: &ModelSpec, input: u64, output: u64) -> Option<f64> {
    let (input_price, output_price) = spec.batch_prices()?;
    Some(input as f64 / 1e6 * input_price + output as f64 / 1e6 * output_price)
}

fn set_message(record: &mut TranscriptRecord, message: &str) {
    if let Some(error) = record.error.as_mut() {
        error.message = message.to_string();
    }
}

/// A failed record with no turns and nothing spent.
pub fn failed_record(cell: &Cell, kind: &str, message: String, at: &str) -> TranscriptRecord {
    TranscriptRecord {
        cell_id: cell.id.clone(),
        model: cell.model.clone(),
        scaffold: cell.scaffold.clone(),
        prompt: cell.prompt.clone(),
        repeat: cell.repeat,
        seed: cell.seed,
        status: Status::Failed,
        messages: Vec::new(),
        error: Some(CellError {
            kind: kind.to_string(),
            status: None,
            message,
            body: None,
            transient: false,
        }),
        usage: TokenUsage::default(),
        user_sim_usage: TokenUsage::default(),
        cost_usd: Some(0.0),
        requests: 0,
        attempts: 0,
        latency_ms: 0,
        model_version: None,
        request_ids: Vec::new(),
        finish_reasons: Vec::new(),
        refused: false,
        started_at: at.to_string(),
        finished_at: at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Usage;
    use crate::study::{UserSim, defaults};

    fn reply(text: &str, input: u64, output: u64) -> Reply {
        Reply {
            text: text.into(),
            reasoning: None,
            finish_reason: Some("stop".into()),
            refusal: false,
            usage: Usage {
                input_tokens: input,
                output_tokens: output,
            },
            model_version: Some("v1".into()),
            request_id: Some(format!("req-{text}")),
        }
    }

    #[test]
    fn a_two_turn_cell_with_a_simulated_user_is_priced_per_model_and_pricing() {
        let mut study = defaults::study().unwrap();
        for m in &mut study.models {
            m.price_input_per_mtok = Some(2.0);
            m.price_output_per_mtok = Some(4.0);
        }
        study.models[1].batch.price_input_per_mtok = Some(0.5);
        let scaffold = study
            .scaffolds
            .iter_mut()
            .find(|s| s.id == "steerability")
            .unwrap();
        scaffold.user_sim = Some(UserSim {
            model: "sim-beta".into(),
            persona: "a retiree".into(),
            turns: 1,
        });
        let plan = crate::plan::plan(&study);
        let cell = plan
            .cells
            .iter()
            .find(|c| c.scaffold == "steerability" && c.model == "sim-alpha")
            .unwrap();
        let mut state = CellState::start(&study, cell, "t0".into()).unwrap();
        let mut calls = Vec::new();
        while let Some(call) = state.next_call(&study) {
            let pricing = if call.role == Role::User {
                Pricing::Batch
            } else {
                Pricing::Live
            };
            state.answer(
                &call,
                reply(&format!("r{}", call.index), 1000, 100),
                pricing,
                2,
                5,
            );
            calls.push((call.index, call.alias, call.role));
        }
        assert_eq!(
            calls,
            [
                (0, "sim-alpha".to_string(), Role::Assistant),
                (1, "sim-alpha".to_string(), Role::Assistant),
                (2, "sim-beta".to_string(), Role::User),
                (3, "sim-alpha".to_string(), Role::Assistant),
            ]
        );
        let record = state.finish(&study, None, "t1".into());
        assert_eq!(record.status, Status::Ok);
        assert_eq!(
            (record.requests, record.attempts, record.latency_ms),
            (4, 8, 20)
        );
        assert_eq!(record.usage.input_tokens, 3000);
        assert_eq!(record.user_sim_usage.output_tokens, 100);
        assert_eq!(record.request_ids.len(), 4);
        assert_eq!(record.finish_reasons.len(), 3);
        // Three live assistant replies at 2/4, one batch user reply at 0.5 (set) / 2 (4 x 0.5).
        let expected =
            3.0 * (1000.0 * 2.0 + 100.0 * 4.0) / 1e6 + (1000.0 * 0.5 + 100.0 * 2.0) / 1e6;
        assert!((record.cost_usd.unwrap() - expected).abs() < 1e-12);
        let roles: Vec<Role> = record.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles.first(), Some(&Role::System));
        // System, two scripted user turns, three assistant replies and one simulated user turn.
        assert_eq!(roles.len(), 7);
    }

    #[test]
    fn a_failed_cell_keeps_its_turns_and_an_unknown_model_fails_at_once() {
        let study = defaults::study().unwrap();
        let cell = crate::plan::plan(&study).cells[0].clone();
        let mut state = CellState::start(&study, &cell, "t0".into()).unwrap();
        let call = state.next_call(&study).unwrap();
        let error = CellError {
            kind: "http".into(),
            status: Some(400),
            message: "bad".into(),
            body: None,
            transient: false,
        };
        state.add_attempts(3);
        let record = state.finish(&study, Some(error.clone()), "t1".into());
        assert_eq!(record.status, Status::Failed);
        assert_eq!(record.error, Some(error));
        assert_eq!(record.attempts, 3);
        assert_eq!(
            record.messages.last().unwrap().content,
            call.request.messages[0].content
        );
        assert_eq!(record.cost_usd, None, "sim models have no prices");

        let mut stranger = cell.clone();
        stranger.model = "gone".into();
        let record = CellState::start(&study, &stranger, "t0".into()).unwrap_err();
        assert_eq!(record.error.unwrap().kind, "protocol");
    }
}
