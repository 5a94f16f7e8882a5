//! The edge of batch mode for `run` and `status`: which models go through batches, the journal
//! of the run folder, `run --batch-cancel`, and the batches `status` shows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::run_cmds::{endpoints, runtime};
use crate::hash::derive_seed;
use crate::run::Runner;
use crate::run::batch::journal::{self, Journal};
use crate::run::batch::{self, BatchSetup, InFlight, Pause};
use crate::run::record::Manifest;
use crate::study::Study;

/// The environment variable of the batch test hook (see `run::batch::Pause`).
const PAUSE_VAR: &str = "BLINDFOLD_TEST_PAUSE";

/// The models whose requests go into batches: all with `--batch`, else those with `batch = true`.
pub fn batch_models(study: &Study, all: bool) -> BTreeSet<String> {
    study
        .models
        .iter()
        .filter(|m| all || m.batch.enabled)
        .map(|m| m.id.clone())
        .collect()
}

/// The batch setup of a run: when some model is in batch mode, or the run folder has a journal
/// (batches of an earlier run to collect, whatever the mode now).
pub fn setup(
    study: &Study,
    run_dir: &Path,
    manifest: &Manifest,
    all: bool,
) -> anyhow::Result<Option<BatchSetup>> {
    let models = batch_models(study, all);
    let path = run_dir.join(journal::FILE_NAME);
    if models.is_empty() && !path.exists() {
        return Ok(None);
    }
    let (journal, warnings) = Journal::open(&path)?;
    for warning in warnings {
        warn!("{warning}");
    }
    let pause = std::env::var(PAUSE_VAR).ok().and_then(|s| Pause::parse(&s));
    Ok(Some(BatchSetup {
        journal,
        models,
        run_id: format!("{}@{}", manifest.run, manifest.created_at),
        pause,
    }))
}

/// `run --batch-cancel`: cancels the run folder's batches in flight and stops.
pub fn cancel(study: &Study, run_dir: &Path) -> anyhow::Result<ExitCode> {
    let path = run_dir.join(journal::FILE_NAME);
    if !path.exists() {
        outln!("No batches: {} has no batch journal.", run_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (mut journal, warnings) = Journal::open(&path)?;
    for warning in warnings {
        warn!("{warning}");
    }
    let open = batch::in_flight(&journal.state);
    if open.is_empty() {
        outln!("No batches in flight in {}.", run_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let models: BTreeSet<&str> = open
        .iter()
        .filter_map(|b| study.model(&b.model).map(|m| m.id.as_str()))
        .collect();
    let endpoints = endpoints(study, &models, None)?;
    let runner = Runner::new(
        Arc::new(study.clone()),
        endpoints,
        4,
        None,
        derive_seed(&["retry-jitter", &study.seed.to_string()]),
        CancellationToken::new(),
    );
    let lines = runtime()?
        .block_on(batch::cancel_all(&runner, &mut journal))
        .context("cannot cancel the batches")?;
    for line in lines {
        outln!("{line}");
    }
    outln!("The next `run` collects what the cancelled batches finished and sends the rest again.");
    Ok(ExitCode::SUCCESS)
}

/// The batches in flight of a run folder, from its journal (empty without one).
pub fn in_flight(run_dir: &Path) -> anyhow::Result<Vec<InFlight>> {
    let path = run_dir.join(journal::FILE_NAME);
    let (state, _) = journal::read(&path)?;
    Ok(batch::in_flight(&state))
}

/// The `status` table of batches in flight, as of their last poll.
pub fn render(batches: &[InFlight]) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(vec![
        "batch",
        "model",
        "provider",
        "id",
        "state",
        "done",
        "failed",
        "submitted",
    ]);
    for b in batches {
        let (done, failed) = match &b.counts {
            Some(c) => (
                format!("{}/{}", c.succeeded + c.failed, b.requests),
                c.failed.to_string(),
            ),
            None => (format!("0/{}", b.requests), "0".into()),
        };
        let state = match (&b.id, &b.state) {
            (None, _) => "unconfirmed".to_string(),
            (Some(_), state) => {
                // Before its first journaled poll, a batch is known only as submitted.
                let s = state.as_deref().unwrap_or("submitted");
                if b.cancel_requested {
                    format!("{s} (cancel requested)")
                } else {
                    s.to_string()
                }
            }
        };
        table.add_row(vec![
            b.batch.to_string(),
            b.model.clone(),
            b.provider.to_string(),
            b.id.clone().unwrap_or_else(|| "-".into()),
            state,
            done,
            failed,
            b.submitted_at.clone(),
        ]);
    }
    let per_model: BTreeMap<&str, usize> = batches.iter().fold(BTreeMap::new(), |mut m, b| {
        *m.entry(b.model.as_str()).or_default() += b.requests;
        m
    });
    let waiting: Vec<String> = per_model
        .iter()
        .map(|(model, n)| format!("{model} {n}"))
        .collect();
    format!(
        "Batches in flight (as of their last poll; `run` re-attaches to them): {} request(s) waiting ({})\n{table}\n",
        batches.iter().map(|b| b.requests).sum::<usize>(),
        waiting.join(", ")
    )
}
