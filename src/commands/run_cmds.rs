//! `run`, `status` and `sim serve`: the commands that talk to models.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::run_batch;
use crate::cli::{Format, RunArgs, SimServeArgs, StatusArgs};
use crate::hash::derive_seed;
use crate::plan::{self, Cell};
use crate::provider::{Endpoint, ProviderKind, default_base_url};
use crate::run::record::{Manifest, TranscriptRecord};
use crate::run::resume::Recorded;
use crate::run::{self, Budget, Runner, manifest, summary};
use crate::sim::batch::BatchFaults;
use crate::sim::server::{self, SimOptions};
use crate::store::{self, transcripts};
use crate::study::{self, Study};

pub const MANIFEST: &str = "manifest.json";

/// A run folder name from a study name: lower case, runs of other characters as one '-'.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "run".to_string()
    } else {
        trimmed.to_string()
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let study = study::load(&args.study)?;
    let name = match &args.run_name {
        Some(name) if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') => {
            bail!("--run '{name}' must be a plain folder name")
        }
        Some(name) => name.clone(),
        None => slug(&study.name),
    };
    let run_dir = args.study.join("runs").join(&name);
    if args.batch_cancel {
        return run_batch::cancel(&study, &run_dir);
    }
    let options = RunOptions {
        concurrency: args.concurrency as usize,
        retry_failed: args.retry_failed,
        dry_run: args.dry_run,
        max_cost: args.max_cost,
        grace: Duration::from_secs_f64(args.grace.max(0.0)),
        quiet_summary: false,
        batch: args.batch,
    };
    let outcome = run_study(&study, &run_dir, &options)?;
    Ok(outcome.exit_code())
}

/// Settings of one `run`, resolved from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    pub retry_failed: bool,
    pub dry_run: bool,
    pub max_cost: Option<f64>,
    pub grace: Duration,
    /// Leave out the summary table (the demo prints its own).
    pub quiet_summary: bool,
    /// Every model through its provider's batch API (`--batch`).
    pub batch: bool,
}

pub struct RunOutcome {
    pub interrupted: bool,
    pub summary: summary::Summary,
    pub dry_run: bool,
}

impl RunOutcome {
    fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            ExitCode::from(130)
        } else if self.dry_run || (self.summary.failed() == 0 && self.summary.missing() == 0) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Runs a study into `run_dir`; shared by `run` and `demo`. A real run holds the run folder's
/// lock throughout (a dry run only reads); a run refused before it wrote anything leaves no
/// folder behind.
///
/// The plan is never materialised: it is streamed once to count what is to do (and, in a dry run,
/// to estimate it), again by each model's runner task, and once more for the summary, so memory
/// stays flat however many cells a study has.
pub fn run_study(
    study: &Study,
    run_dir: &Path,
    options: &RunOptions,
) -> anyhow::Result<RunOutcome> {
    if options.dry_run {
        return run_locked(study, run_dir, options);
    }
    let created = !run_dir.exists();
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create the run folder {}", run_dir.display()))?;
    let lock = store::RunLock::acquire(run_dir, "run")?;
    let outcome = run_locked(study, run_dir, options);
    if outcome.is_err() && created && !run_dir.join(MANIFEST).exists() {
        lock.remove();
        let _ = std::fs::remove_dir(run_dir);
    }
    outcome
}

fn run_locked(study: &Study, run_dir: &Path, options: &RunOptions) -> anyhow::Result<RunOutcome> {
    let log_path = run_dir.join(transcripts::FILE_NAME);
    let (recorded, report) = Recorded::read(&log_path)?;
    for (line, error) in &report.bad_lines {
        warn!(
            "{}:{line}: not a valid transcript record, skipped ({error})",
            log_path.display()
        );
    }
    if let Some(tail) = &report.truncated_tail {
        warn!(
            "{}:{}: the last line is incomplete (an interrupted write, {} bytes); it will be set aside \
             in transcripts.partial.txt and its cell run again",
            log_path.display(),
            tail.line,
            tail.bytes
        );
    }

    let now = run::now_rfc3339();
    let run_name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut new_manifest = manifest::build(study, &run_name, &now);
    let manifest_path = run_dir.join(MANIFEST);
    if manifest_path.exists() {
        let old: Manifest = store::read_json(&manifest_path).with_context(|| {
            format!(
                "{} cannot be read; restore it, or move it aside to lock the protocol afresh (the transcripts are kept, and cells already done are not run again)",
                manifest_path.display()
            )
        })?;
        let changes = manifest::compare(&old, &new_manifest);
        for change in &changes {
            if change.breaks_comparability {
                warn!("{}", change.message);
            } else {
                eprintln!("note: {}", change.message);
            }
        }
        new_manifest = manifest::update(old, new_manifest, &changes);
    }

    let recorded = Arc::new(recorded);
    let retry_failed = options.retry_failed;
    let pending = {
        let recorded = recorded.clone();
        move |c: &Cell| !recorded.is_ok(&c.id) && (retry_failed || !recorded.is_recorded(&c.id))
    };
    let planned = plan::cell_count(study);
    let mut tally = Tally::default();
    let todo_cells = plan::cells(study).filter(|c| {
        tally.add(c, &recorded);
        pending(c)
    });
    // A dry run estimates the cells to do in the same pass that counts them.
    let estimate = if options.dry_run {
        Some(plan::estimate(study, todo_cells))
    } else {
        todo_cells.for_each(drop);
        None
    };
    let (done_before, failed_skipped) = (tally.done, tally.failed);
    let todo_count = if retry_failed {
        planned - done_before
    } else {
        planned - done_before - failed_skipped
    };
    let involved = tally.models_involved(study, retry_failed);

    let batch_models = run_batch::batch_models(study, options.batch);
    let budget = match options.max_cost {
        Some(cap) => {
            let unpriced: Vec<&str> = involved
                .iter()
                .copied()
                .filter(|m| {
                    study.model(m).is_some_and(|s| {
                        if batch_models.contains(*m) {
                            s.batch_prices().is_none()
                        } else {
                            run::price(s, 0, 0).is_none()
                        }
                    })
                })
                .collect();
            if !unpriced.is_empty() {
                bail!(
                    "--max-cost needs prices (price_input_per_mtok, price_output_per_mtok) on every model involved; missing on: {}",
                    unpriced.join(", ")
                );
            }
            Some(Arc::new(Budget::new(cap, recorded.spent_usd)))
        }
        None => None,
    };

    // Everything that would stop the run is checked before anything is written, and in a dry
    // run too: missing keys, a cap without prices.
    if todo_count > 0 {
        endpoints(study, &involved, Some("http://127.0.0.1:1/v1"))?;
    }
    if let Some(estimate) = estimate {
        print_dry_run(
            study,
            &tally,
            &estimate,
            planned,
            options,
            budget.as_deref(),
        )?;
        return Ok(RunOutcome {
            interrupted: false,
            summary: summary::Summary::default(),
            dry_run: true,
        });
    }

    if let Some(budget) = budget
        .as_ref()
        .filter(|b| todo_count > 0 && b.spent() >= b.cap_usd)
    {
        bail!(
            "the spending cap of ${:.2} is already reached (${:.4} spent in this run folder), so no cell would run; raise --max-cost to go on",
            budget.cap_usd,
            budget.spent()
        );
    }
    // A read-only log would otherwise fail only after the manifest had been rewritten.
    if todo_count > 0 {
        store::check_writable(&log_path)?;
    }
    store::write_atomic(&manifest_path, &store::to_json_bytes(&new_manifest))?;
    if todo_count == 0 {
        note!(
            "Nothing to run: {done_before} of {planned} cells are done{}.",
            if failed_skipped > 0 {
                format!(
                    "; {failed_skipped} failed earlier (run again with --retry-failed to retry them)"
                )
            } else {
                String::new()
            }
        );
    } else {
        note!(
            "Running {todo_count} of {planned} cells into {} ({done_before} already done{}).",
            run_dir.display(),
            if failed_skipped > 0 && !options.retry_failed {
                format!(
                    ", {failed_skipped} failed earlier and left alone: --retry-failed retries them"
                )
            } else {
                String::new()
            }
        );
    }

    let interrupted = if todo_count == 0 {
        false
    } else {
        let batch = run_batch::setup(study, run_dir, &new_manifest, options.batch)?;
        let shared = Arc::new(study.clone());
        let models = study
            .crossed()
            .filter(|m| tally.has_todo(&m.id, retry_failed))
            .map(|m| {
                let pending = pending.clone();
                let cells: run::CellStream =
                    Box::new(plan::model_cells(shared.clone(), &m.id).filter(move |c| pending(c)));
                (m.id.clone(), cells)
            })
            .collect();
        let todo = run::Todo {
            total: todo_count,
            models,
        };
        let rt = runtime()?;
        rt.block_on(execute(
            study,
            &involved,
            todo,
            &log_path,
            report.truncated_tail.as_ref(),
            budget.clone(),
            options,
            batch,
        ))?
    };

    if let Some(budget) = &budget
        && budget.exhausted()
    {
        eprintln!(
            "Stopped dispatching: the spending cap of ${:.2} would have been exceeded (spent ${:.4} in this run folder).",
            budget.cap_usd,
            budget.spent()
        );
    }
    let mut builder = summary::SummaryBuilder::new(plan::cells(study));
    transcripts::for_each::<TranscriptRecord>(&log_path, |r| builder.add(&r))?;
    let summary = builder.finish();
    if !options.quiet_summary {
        note!();
        out!("{}", summary::render(&summary));
    }
    if interrupted {
        eprintln!(
            "Interrupted. Finished cells are saved in {}; run the same command again to resume.",
            log_path.display()
        );
    } else if summary.failed() > 0 {
        eprintln!(
            "{} cells failed; see the error of each in {} and retry them with --retry-failed.",
            summary.failed(),
            log_path.display()
        );
    }
    Ok(RunOutcome {
        interrupted,
        summary,
        dry_run: false,
    })
}

/// The plan counted as it streams by: cells done and failed earlier, and the cells to do by
/// model and scaffold (with and without the failed ones, which `--retry-failed` adds).
#[derive(Default)]
struct Tally {
    done: u64,
    failed: u64,
    /// (model, scaffold) -> (cells never recorded, cells failed earlier), in plan order.
    pairs: Vec<((String, String), (u64, u64))>,
}

impl Tally {
    fn add(&mut self, cell: &Cell, recorded: &Recorded) {
        if recorded.is_ok(&cell.id) {
            self.done += 1;
            return;
        }
        let failed = recorded.is_recorded(&cell.id);
        self.failed += u64::from(failed);
        let at = match self
            .pairs
            .iter()
            .rposition(|((m, s), _)| *m == cell.model && *s == cell.scaffold)
        {
            Some(at) => at,
            None => {
                self.pairs
                    .push(((cell.model.clone(), cell.scaffold.clone()), (0, 0)));
                self.pairs.len() - 1
            }
        };
        let counts = &mut self.pairs[at].1;
        if failed {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }

    /// Cells to do per (model, scaffold).
    fn todo(&self, retry_failed: bool) -> impl Iterator<Item = (&str, &str, u64)> {
        self.pairs
            .iter()
            .filter_map(move |((m, s), (new, failed))| {
                let n = new + if retry_failed { *failed } else { 0 };
                (n > 0).then_some((m.as_str(), s.as_str(), n))
            })
    }

    fn has_todo(&self, model: &str, retry_failed: bool) -> bool {
        self.todo(retry_failed).any(|(m, _, _)| m == model)
    }

    /// Models the cells to do talk to: their own, and their scaffolds' simulated users'.
    fn models_involved<'a>(&self, study: &'a Study, retry_failed: bool) -> BTreeSet<&'a str> {
        let mut models = BTreeSet::new();
        for (model, scaffold, _) in self.todo(retry_failed) {
            if let Some(m) = study.model(model) {
                models.insert(m.id.as_str());
            }
            if let Some(user) = study
                .scaffold(scaffold)
                .and_then(|s| s.user_sim.as_ref())
                .and_then(|u| study.model(&u.model))
            {
                models.insert(user.id.as_str());
            }
        }
        models
    }
}

fn print_dry_run(
    study: &Study,
    tally: &Tally,
    estimate: &plan::Estimate,
    planned: u64,
    options: &RunOptions,
    budget: Option<&Budget>,
) -> anyhow::Result<()> {
    let batch_models = run_batch::batch_models(study, options.batch);
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (model, scaffold, n) in tally.todo(options.retry_failed) {
        *counts.entry((model, scaffold)).or_default() += n;
    }
    outln!(
        "Dry run: {} of {planned} cells would run ({} done, {} failed earlier{}).",
        estimate.cells,
        tally.done,
        tally.failed,
        if options.retry_failed {
            " and retried"
        } else {
            " and left alone"
        }
    );
    for ((model, scaffold), n) in counts {
        outln!("  {model:<20} {scaffold:<28} {n:>5}");
    }
    // Models in batch mode count at batch prices.
    let cost: Option<f64> = estimate
        .per_model
        .iter()
        .map(|m| {
            if batch_models.contains(&m.model) {
                m.batch_cost_usd
            } else {
                m.cost_usd
            }
        })
        .sum();
    let batched: Vec<&str> = estimate
        .per_model
        .iter()
        .filter(|m| batch_models.contains(&m.model))
        .map(|m| m.model.as_str())
        .collect();
    outln!(
        "Estimated: {} requests, ~{} input tokens, at most {} output tokens, cost {}{}.",
        estimate.requests,
        estimate.estimated_input_tokens,
        estimate.estimated_output_tokens,
        cost.map_or("unknown (no prices)".into(), |c| format!("at most ${c:.2}")),
        if batched.is_empty() {
            String::new()
        } else {
            format!(" (batch prices for {})", batched.join(", "))
        }
    );
    if let (Some(budget), Some(cost)) = (budget, cost)
        && budget.spent() + cost > budget.cap_usd
    {
        outln!(
            "The spending cap of ${:.2} (${:.4} already spent here) could stop dispatching before every cell runs.",
            budget.cap_usd,
            budget.spent()
        );
    }
    Ok(())
}

/// Reads each model's key from the environment it names; the keys live only in memory.
pub fn endpoints(
    study: &Study,
    models: &BTreeSet<&str>,
    sim_base_url: Option<&str>,
) -> anyhow::Result<HashMap<String, Endpoint>> {
    let mut out = HashMap::new();
    let mut problems = Vec::new();
    for alias in models {
        let Some(spec) = study.model(alias) else {
            continue;
        };
        let api_key = match &spec.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.trim().is_empty() => {
                    crate::secrets::register(&key);
                    Some(key.trim().to_string())
                }
                _ => {
                    problems.push(format!(
                        "model '{alias}': the environment variable {var} (named by api_key_env) is not set"
                    ));
                    None
                }
            },
            None => None,
        };
        let needs_key = match spec.provider {
            ProviderKind::Anthropic | ProviderKind::Gemini => spec.base_url.is_none(),
            ProviderKind::OpenAi => spec.base_url.is_none(),
            ProviderKind::Sim => false,
        };
        if needs_key && spec.api_key_env.is_none() {
            problems.push(format!(
                "model '{alias}': provider {} needs a key: set api_key_env to the name of the environment variable that holds it",
                spec.provider
            ));
        }
        let base_url = match spec.provider {
            ProviderKind::Sim => sim_base_url
                .map(str::to_string)
                .unwrap_or_else(|| default_base_url(ProviderKind::Sim).to_string()),
            kind => spec
                .base_url
                .clone()
                .unwrap_or_else(|| default_base_url(kind).to_string()),
        };
        out.insert(
            spec.id.clone(),
            Endpoint {
                kind: spec.provider,
                base_url,
                model: spec.model.clone(),
                api_key,
                extra: spec.extra.clone(),
            },
        );
    }
    if !problems.is_empty() {
        bail!("cannot reach every model:\n  {}", problems.join("\n  "));
    }
    Ok(out)
}

/// Runs `todo`, appending records as they finish. Returns whether the run was interrupted.
#[allow(clippy::too_many_arguments)]
async fn execute(
    study: &Study,
    models: &BTreeSet<&str>,
    todo: run::Todo,
    log_path: &Path,
    truncated_tail: Option<&transcripts::TruncatedTail>,
    budget: Option<Arc<Budget>>,
    options: &RunOptions,
    batch: Option<run::batch::BatchSetup>,
) -> anyhow::Result<bool> {
    let sim = if models.iter().any(|m| {
        study
            .model(m)
            .is_some_and(|s| s.provider == ProviderKind::Sim)
    }) {
        Some(
            server::start(([127, 0, 0, 1], 0).into(), SimOptions::default())
                .await
                .context("cannot start the built-in simulated-model server on loopback")?,
        )
    } else {
        None
    };
    let endpoints = endpoints(
        study,
        models,
        sim.as_ref().map(|s| s.openai_base_url()).as_deref(),
    )?;

    let mut log = transcripts::JsonlLog::open(log_path, truncated_tail)?;
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<TranscriptRecord>(256);
    // The writer appends each record the moment it arrives; a write failure stops the run.
    let writer_cancel = cancel.clone();
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        while let Some(record) = rx.blocking_recv() {
            if let Err(e) = log.append(&record) {
                writer_cancel.cancel();
                return Err(e.into());
            }
        }
        log.sync()?;
        Ok(())
    });

    let runner = Runner::new(
        Arc::new(study.clone()),
        endpoints,
        options.concurrency,
        budget,
        derive_seed(&["retry-jitter", &study.seed.to_string()]),
        cancel.clone(),
    );
    let runner = Arc::new(match batch {
        Some(setup) => runner.with_batch(setup),
        None => runner,
    });
    let progress_stop = CancellationToken::new();
    let progress = run::progress::spawn(runner.counters.clone(), progress_stop.clone());

    let mut work = tokio::spawn(runner.clone().execute(todo, tx));
    let mut interrupted = false;
    tokio::select! {
        _ = &mut work => {}
        signal = super::signals::stop_requested() => {
            interrupted = true;
            cancel.cancel();
            eprintln!(
                "\nInterrupted ({signal}): no new cells start; cells in flight get {:.0} s to finish (Ctrl-C again to stop now).",
                options.grace.as_secs_f64()
            );
            let finished = tokio::select! {
                _ = &mut work => true,
                _ = tokio::time::sleep(options.grace) => false,
                _ = super::signals::stop_requested() => false,
            };
            if !finished {
                work.abort();
                let _ = (&mut work).await;
            }
        }
        _ = cancel.cancelled() => {
            // The writer failed: stop everything; its error is reported below.
            work.abort();
            let _ = (&mut work).await;
        }
    }
    progress_stop.cancel();
    let _ = progress.await;
    let batch_failure = runner.batch_failure();
    drop(runner);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the transcript writer panicked"))??;
    if let Some(failure) = batch_failure {
        bail!("{failure}");
    }
    Ok(interrupted)
}

pub fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let manifest_path = args.run_dir.join(MANIFEST);
    if !manifest_path.exists() {
        bail!(
            "{} is not a run folder: it has no {MANIFEST} (runs live in STUDY/runs/NAME)",
            args.run_dir.display()
        );
    }
    let manifest: Manifest = store::read_json(&manifest_path)?;
    let log_path: PathBuf = args.run_dir.join(transcripts::FILE_NAME);
    let mut builder = summary::SummaryBuilder::new(manifest.cells());
    let report = transcripts::for_each::<TranscriptRecord>(&log_path, |r| builder.add(&r))?;
    let summary = builder.finish();
    let batches = run_batch::in_flight(&args.run_dir)?;
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&summary)?;
            value["batches_in_flight"] = serde_json::to_value(&batches)?;
            outln!("{}", serde_json::to_string_pretty(&value)?)
        }
        Format::Text => {
            outln!(
                "Run '{}' of study '{}' (protocol {})",
                manifest.run,
                manifest.study.name,
                &manifest.protocol_hash[..12]
            );
            out!("{}", summary::render(&summary));
            if !batches.is_empty() {
                out!("\n{}", run_batch::render(&batches));
            }
            if report.truncated_tail.is_some() {
                outln!(
                    "The last line of transcripts.jsonl is incomplete; the next `run` sets it aside."
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sim_serve(args: &SimServeArgs) -> anyhow::Result<ExitCode> {
    let faults = match &args.fail_rate {
        Some(spec) => {
            server::parse_fail_rate(spec).map_err(|e| anyhow::anyhow!("--fail-rate: {e}"))?
        }
        None => Vec::new(),
    };
    if !(0.0..=1.0).contains(&args.batch_fail_rate) {
        bail!("--batch-fail-rate must be between 0 and 1");
    }
    let options = SimOptions {
        latency: Duration::from_millis(args.latency_ms),
        faults,
        seed: args.seed,
        batch: BatchFaults {
            delay: Duration::from_millis(args.batch_delay_ms),
            fail_rate: args.batch_fail_rate,
            fail_first: args.batch_fail_first,
            expire_first: args.batch_expire_first,
        },
    };
    runtime()?.block_on(async {
        let server = server::start(args.addr, options)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        // One line on stdout, which scripts read for the address; a reader that hangs up after it
        // must not bring the server down, so write errors are ignored.
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "Simulated models on http://{} (OpenAI: /v1/chat/completions, /v1/models, /v1/files, /v1/batches; Anthropic: /v1/messages, /v1/messages/batches; Gemini: /v1beta/models/MODEL:generateContent, :batchGenerateContent, /v1beta/batches)", server.addr);
        let _ = stdout.flush();
        eprintln!("Models: {}. Stop with Ctrl-C.", crate::sim::MODEL_NAMES.join(", "));
        super::signals::stop_requested().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_plain_folder_names() {
        assert_eq!(slug("verification-stress-test"), "verification-stress-test");
        assert_eq!(slug("My Study: v2!"), "my-study-v2");
        assert_eq!(slug("***"), "run");
    }
}
