//! The matrix: a study expanded into cells (model x scaffold x prompt x repeat).
//!
//! A cell's id is derived from its content — the model's generation settings, the scaffold's and
//! the prompt's content hashes, the repeat and the seed — so editing one scaffold gives new ids to
//! that scaffold's cells and leaves every other cell (and its finished transcript) alone. That is
//! what makes resume, "add a model and run again" and the protocol lock work without bookkeeping.

use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::hash::content_hash;
use crate::study::{ModelSpec, PromptItem, Scaffold, Study};

/// Version of the cell-id recipe; bump it if the recipe ever changes.
const CELL_ID_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub id: String,
    pub model: String,
    pub scaffold: String,
    pub prompt: String,
    pub repeat: u32,
    /// The seed passed to the provider (where the API supports one): the model's seed, or the
    /// study's when the model has none, plus the repeat index.
    pub seed: u64,
}

/// Content hashes of everything that defines the fixed protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolHashes {
    pub scaffolds: BTreeMap<String, String>,
    pub prompts: BTreeMap<String, String>,
    pub rubric: String,
    /// Hash of each model's generation settings (never a secret: keys are not settings).
    pub models: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub cells: Vec<Cell>,
    pub hashes: ProtocolHashes,
}

pub fn protocol_hashes(study: &Study) -> ProtocolHashes {
    ProtocolHashes {
        scaffolds: study
            .scaffolds
            .iter()
            .map(|s| (s.id.clone(), content_hash(s)))
            .collect(),
        prompts: study
            .prompts
            .iter()
            .map(|p| (p.id.clone(), content_hash(p)))
            .collect(),
        rubric: content_hash(&study.rubric),
        models: study
            .models
            .iter()
            .map(|m| (m.id.clone(), content_hash(&m.generation_settings())))
            .collect(),
    }
}

/// Expands the study. Cells come model-major, then scaffold, prompt and repeat, in study order.
/// Collects the whole matrix: for small studies and tests; large ones use [`cells`].
pub fn plan(study: &Study) -> Plan {
    Plan {
        cells: cells(study).collect(),
        hashes: protocol_hashes(study),
    }
}

/// Number of cells of the study's matrix, without expanding it.
pub fn cell_count(study: &Study) -> u64 {
    study.crossed_models.len() as u64
        * study.scaffolds.len() as u64
        * study.prompts.len() as u64
        * u64::from(study.repeats)
}

/// The cells of the study, made one at a time in plan order, so that `run`, `plan` and a dry run
/// never hold a million-cell matrix in memory.
pub fn cells(study: &Study) -> Cells<&Study> {
    Cells::new(study, None)
}

/// The cells of one crossed model, in plan order (empty if `model` is not crossed).
pub fn model_cells<S: Deref<Target = Study>>(study: S, model: &str) -> Cells<S> {
    let model = Some(model.to_string());
    Cells::new(study, model)
}

/// Iterator over a study's cells; `S` is `&Study` or an owned handle such as `Arc<Study>` (a
/// runner task needs one that lives as long as it does).
pub struct Cells<S> {
    study: S,
    hashes: ProtocolHashes,
    /// Indices into `crossed()` order, scaffolds, prompts and the repeat of the next cell.
    models: Vec<usize>,
    next: [usize; 3],
    repeat: u32,
}

impl<S: Deref<Target = Study>> Cells<S> {
    fn new(study: S, only: Option<String>) -> Self {
        let hashes = protocol_hashes(&study);
        let models = study
            .crossed()
            .enumerate()
            .filter(|(_, m)| only.as_deref().is_none_or(|id| m.id == id))
            .map(|(i, _)| i)
            .collect();
        Cells {
            study,
            hashes,
            models,
            next: [0; 3],
            repeat: 0,
        }
    }
}

impl<S: Deref<Target = Study>> Iterator for Cells<S> {
    type Item = Cell;

    fn next(&mut self) -> Option<Cell> {
        let study: &Study = &self.study;
        if study.repeats == 0 || study.prompts.is_empty() || study.scaffolds.is_empty() {
            return None;
        }
        let [m, s, p] = self.next;
        let model_index = *self.models.get(m)?;
        let model = study.crossed().nth(model_index)?;
        let scaffold = &study.scaffolds[s];
        let prompt = &study.prompts[p];
        let repeat = self.repeat;
        let user_sim_settings = scaffold
            .user_sim
            .as_ref()
            .and_then(|u| study.model(&u.model))
            .map(ModelSpec::generation_settings);
        let base_seed = model.seed.unwrap_or(study.seed);
        let id = cell_id(&serde_json::json!({
            "v": CELL_ID_VERSION,
            "model": model.generation_settings(),
            "scaffold": self.hashes.scaffolds[&scaffold.id],
            "user_sim": user_sim_settings,
            "prompt": self.hashes.prompts[&prompt.id],
            "repeat": repeat,
            "seed": base_seed,
        }));
        let cell = Cell {
            id,
            model: model.id.clone(),
            scaffold: scaffold.id.clone(),
            prompt: prompt.id.clone(),
            repeat,
            seed: base_seed.wrapping_add(u64::from(repeat)),
        };
        // Advance: repeat fastest, then prompt, scaffold and model.
        self.repeat += 1;
        if self.repeat == study.repeats {
            self.repeat = 0;
            self.next[2] += 1;
            if self.next[2] == study.prompts.len() {
                self.next[2] = 0;
                self.next[1] += 1;
                if self.next[1] == study.scaffolds.len() {
                    self.next[1] = 0;
                    self.next[0] += 1;
                }
            }
        }
        Some(cell)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let study: &Study = &self.study;
        let repeats = study.repeats as usize;
        let per_scaffold = study.prompts.len() * repeats;
        let per_model = study.scaffolds.len() * per_scaffold;
        let [m, s, p] = self.next;
        let left = (self.models.len().saturating_sub(m) * per_model)
            .saturating_sub(s * per_scaffold + p * repeats + self.repeat as usize);
        (left, Some(left))
    }
}

/// A cell id as a number: ids are 16 lowercase hex digits, so this is exact and lets large runs
/// keep sets of ids in 8 bytes each. None for anything that is not such an id (it cannot be a
/// planned cell).
pub fn id_key(id: &str) -> Option<u64> {
    if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(id, 16).ok()
}

fn cell_id(content: &serde_json::Value) -> String {
    content_hash(content)[..16].to_string()
}

/// Requests one cell makes: to the assistant model, and to the simulated user's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    pub assistant: u32,
    pub user_sim: u32,
}

pub fn requests_per_cell(scaffold: &Scaffold, prompt: &PromptItem) -> RequestCount {
    let scripted = scaffold.follow_ups.len()
        + if scaffold.prompt_follow_ups {
            prompt.follow_ups.len()
        } else {
            0
        };
    let sim_turns = scaffold.user_sim.as_ref().map_or(0, |u| u.turns);
    RequestCount {
        assistant: 1 + scripted as u32 + sim_turns,
        user_sim: sim_turns,
    }
}

/// Rough token count used only for estimates: about four characters per token.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Assumed reply length when a model sets no `max_tokens`.
pub const DEFAULT_REPLY_TOKENS: u64 = 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelEstimate {
    pub model: String,
    pub cells: u64,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// None when the model has no prices.
    pub cost_usd: Option<f64>,
    /// The same requests through the provider's batch API (batch prices, or the live prices
    /// times `batch_discount`); None without prices.
    pub batch_cost_usd: Option<f64>,
    /// Whether the study runs this model in batch mode (`batch = true`).
    pub batch: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Estimate {
    pub cells: u64,
    pub models: u64,
    pub scaffolds: u64,
    pub prompts: u64,
    pub repeats: u64,
    pub requests: u64,
    /// Requests per cell, by scaffold (the prompt's own follow-ups can add to it).
    pub requests_per_cell: BTreeMap<String, f64>,
    pub estimated_input_tokens: u64,
    /// Upper bound: every reply is assumed to use `max_tokens`.
    pub estimated_output_tokens: u64,
    /// None when any model lacks prices. Models with `batch = true` count at batch prices.
    pub estimated_cost_usd: Option<f64>,
    /// Every model through its batch API (`run --batch`).
    pub estimated_batch_cost_usd: Option<f64>,
    pub per_model: Vec<ModelEstimate>,
}

/// Estimates requests, tokens and cost of running `cells` (streamed: a plan need not be held in
/// memory). Replies are assumed to use their model's `max_tokens` (an upper bound); input grows
/// with the conversation at each turn.
pub fn estimate(study: &Study, cells: impl IntoIterator<Item = Cell>) -> Estimate {
    let mut per_model: BTreeMap<&str, ModelEstimate> = BTreeMap::new();
    let mut requests_by_scaffold: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let prompts: HashMap<&str, &PromptItem> =
        study.prompts.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut n_cells = 0;
    for cell in cells {
        n_cells += 1;
        let (Some(model), Some(scaffold), Some(&prompt)) = (
            study.model(&cell.model),
            study.scaffold(&cell.scaffold),
            prompts.get(cell.prompt.as_str()),
        ) else {
            continue;
        };
        let counts = requests_per_cell(scaffold, prompt);
        let entry = match requests_by_scaffold.get_mut(&scaffold.id) {
            Some(entry) => entry,
            None => requests_by_scaffold.entry(scaffold.id.clone()).or_default(),
        };
        entry.0 += u64::from(counts.assistant + counts.user_sim);
        entry.1 += 1;

        let reply = model.max_tokens.map_or(DEFAULT_REPLY_TOKENS, u64::from);
        let system = scaffold.system.as_deref().map_or(0, estimate_tokens);
        let first = estimate_tokens(&prompt.text) + estimate_tokens(&scaffold.first_turn);
        let follow_up = 40; // a scripted or simulated user turn, roughly
        let mut input = 0;
        let mut context = system + first;
        for turn in 0..counts.assistant {
            if turn > 0 {
                context += follow_up;
            }
            input += context;
            context += reply;
        }
        let e = per_model.entry(&model.id).or_insert_with(|| ModelEstimate {
            model: model.id.clone(),
            cells: 0,
            requests: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: Some(0.0),
            batch_cost_usd: Some(0.0),
            batch: model.batch.enabled,
        });
        e.cells += 1;
        e.requests += u64::from(counts.assistant);
        e.input_tokens += input;
        e.output_tokens += reply * u64::from(counts.assistant);
        // Simulated-user requests are charged to the user model's own estimate.
        if let Some(user) = scaffold
            .user_sim
            .as_ref()
            .and_then(|u| study.model(&u.model))
        {
            let reply = user.max_tokens.map_or(DEFAULT_REPLY_TOKENS, u64::from);
            let u = per_model.entry(&user.id).or_insert_with(|| ModelEstimate {
                model: user.id.clone(),
                cells: 0,
                requests: 0,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: Some(0.0),
                batch_cost_usd: Some(0.0),
                batch: user.batch.enabled,
            });
            u.requests += u64::from(counts.user_sim);
            u.input_tokens += context * u64::from(counts.user_sim);
            u.output_tokens += reply * u64::from(counts.user_sim);
        }
    }
    for e in per_model.values_mut() {
        let model = study.model(&e.model);
        let at = |prices: Option<(f64, f64)>| {
            prices.map(|(i, o)| e.input_tokens as f64 / 1e6 * i + e.output_tokens as f64 / 1e6 * o)
        };
        e.cost_usd =
            at(model.and_then(|m| Some((m.price_input_per_mtok?, m.price_output_per_mtok?))));
        e.batch_cost_usd = at(model.and_then(ModelSpec::batch_prices));
    }
    let per_model: Vec<ModelEstimate> = study
        .models
        .iter()
        .filter_map(|m| per_model.remove(m.id.as_str()))
        .collect();
    Estimate {
        cells: n_cells,
        models: study.crossed_models.len() as u64,
        scaffolds: study.scaffolds.len() as u64,
        prompts: study.prompts.len() as u64,
        repeats: u64::from(study.repeats),
        requests: per_model.iter().map(|m| m.requests).sum(),
        requests_per_cell: requests_by_scaffold
            .into_iter()
            .map(|(s, (requests, cells))| (s, requests as f64 / cells.max(1) as f64))
            .collect(),
        estimated_input_tokens: per_model.iter().map(|m| m.input_tokens).sum(),
        estimated_output_tokens: per_model.iter().map(|m| m.output_tokens).sum(),
        estimated_cost_usd: per_model
            .iter()
            .map(|m| {
                if m.batch {
                    m.batch_cost_usd
                } else {
                    m.cost_usd
                }
            })
            .sum(),
        estimated_batch_cost_usd: per_model.iter().map(|m| m.batch_cost_usd).sum(),
        per_model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::defaults;

    #[test]
    fn default_study_plans_180_cells_in_model_major_order() {
        let study = defaults::study().unwrap();
        let plan = plan(&study);
        assert_eq!(plan.cells.len(), 180);
        let first = &plan.cells[0];
        assert_eq!(
            (
                first.model.as_str(),
                first.scaffold.as_str(),
                first.prompt.as_str()
            ),
            ("sim-alpha", "baseline", "health-ibuprofen-lisinopril")
        );
        assert_eq!(plan.cells[15].scaffold, "verification");
        assert_eq!(plan.cells[60].model, "sim-beta");
        let ids: std::collections::BTreeSet<_> = plan.cells.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), 180, "cell ids are unique");
    }

    #[test]
    fn cells_stream_in_plan_order_with_exact_sizes() {
        let mut study = defaults::study().unwrap();
        study.repeats = 2;
        let all = plan(&study).cells;
        assert_eq!(all.len() as u64, cell_count(&study));
        let mut stream = cells(&study);
        for (taken, expected) in all.iter().enumerate() {
            assert_eq!(stream.size_hint(), (360 - taken, Some(360 - taken)));
            assert_eq!(stream.next().as_ref(), Some(expected));
        }
        assert_eq!(stream.next(), None);
        // One model's cells are its slice of the plan, from an owned handle too.
        let beta: Vec<Cell> = model_cells(std::sync::Arc::new(study.clone()), "sim-beta").collect();
        assert_eq!(beta, all[120..240]);
        assert_eq!(model_cells(&study, "nobody").count(), 0);
        study.repeats = 0;
        assert_eq!((cells(&study).count(), cell_count(&study)), (0, 0));
    }

    #[test]
    fn id_keys_are_exact_for_cell_ids_only() {
        let study = defaults::study().unwrap();
        for cell in cells(&study).take(20) {
            assert_eq!(format!("{:016x}", id_key(&cell.id).unwrap()), cell.id);
        }
        for not_an_id in [
            "",
            "abc",
            "0123456789ABCDEF",
            "+123456789abcdef",
            "0123456789abcdef0",
        ] {
            assert_eq!(id_key(not_an_id), None, "{not_an_id}");
        }
    }

    #[test]
    fn editing_one_scaffold_changes_only_its_cells() {
        let study = defaults::study().unwrap();
        let before = plan(&study);
        let mut edited = study.clone();
        edited.scaffolds[1].system = Some("Cite sources.".into());
        let after = plan(&edited);
        for (a, b) in before.cells.iter().zip(&after.cells) {
            assert_eq!(a.id == b.id, a.scaffold != "verification", "{a:?}");
        }
    }

    #[test]
    fn execution_settings_do_not_change_cell_ids() {
        let study = defaults::study().unwrap();
        let mut tuned = study.clone();
        tuned.models[0].max_concurrency = 1;
        tuned.models[0].rpm = Some(10);
        tuned.models[0].timeout_s = 5.0;
        assert_eq!(plan(&study).cells, plan(&tuned).cells);
        let mut reseeded = study.clone();
        reseeded.models[0].temperature = Some(0.0);
        let changed = plan(&reseeded)
            .cells
            .iter()
            .zip(&plan(&study).cells)
            .filter(|(a, b)| a.id != b.id)
            .count();
        assert_eq!(changed, 60);
    }

    #[test]
    fn repeats_get_distinct_ids_and_seeds() {
        let mut study = defaults::study().unwrap();
        study.repeats = 3;
        let plan = plan(&study);
        assert_eq!(plan.cells.len(), 540);
        assert_eq!(plan.cells[0].seed + 1, plan.cells[1].seed);
        assert_ne!(plan.cells[0].id, plan.cells[1].id);
    }

    #[test]
    fn estimate_counts_follow_ups_and_costs() {
        let mut study = defaults::study().unwrap();
        let e = estimate(&study, cells(&study));
        assert_eq!(
            (e.cells, e.models, e.scaffolds, e.prompts, e.repeats),
            (180, 3, 4, 15, 1)
        );
        // baseline and verification: 1 request; the steerable ones add a steering turn.
        assert_eq!(e.requests, 3 * 15 * (1 + 1 + 2 + 2));
        assert_eq!(e.requests_per_cell["steerability"], 2.0);
        assert_eq!(
            e.estimated_cost_usd, None,
            "simulated models have no prices"
        );
        for m in &mut study.models {
            m.price_input_per_mtok = Some(1.0);
            m.price_output_per_mtok = Some(2.0);
        }
        let e = estimate(&study, cells(&study));
        let expected =
            e.estimated_input_tokens as f64 / 1e6 + 2.0 * e.estimated_output_tokens as f64 / 1e6;
        assert!((e.estimated_cost_usd.unwrap() - expected).abs() < 1e-9);
        // Batch prices: half by default, or as set; a batch model counts at them.
        assert!((e.estimated_batch_cost_usd.unwrap() - expected / 2.0).abs() < 1e-9);
        study.models[0].batch.enabled = true;
        study.models[0].batch.price_output_per_mtok = Some(0.0);
        let e = estimate(&study, cells(&study));
        let alpha = &e.per_model[0];
        let batch_alpha = alpha.input_tokens as f64 / 1e6 * 0.5;
        assert!((alpha.batch_cost_usd.unwrap() - batch_alpha).abs() < 1e-9);
        let live_others: f64 = e.per_model[1..].iter().map(|m| m.cost_usd.unwrap()).sum();
        assert!((e.estimated_cost_usd.unwrap() - (batch_alpha + live_others)).abs() < 1e-9);
    }
}
