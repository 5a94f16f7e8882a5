//! `judge`: a model rates every item of a round, through the same providers and runner as the
//! cells (limits, retries, resume). It reads the packets only: never the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::blind::packet::{Item, PacketJson};
use crate::blind::round::{MANIFEST_FILE, PACKETS_DIR, RoundManifest};
use crate::cli::JudgeArgs;
use crate::commands::blind_cmd::read_run_manifest;
use crate::commands::run_cmds::{endpoints, runtime};
use crate::hash::derive_seed;
use crate::provider::ProviderKind;
use crate::rate::import::JUDGE_PREFIX;
use crate::rate::judge::{judge_request, parse_judgement};
use crate::run::Runner;
use crate::sim::server::{self, SimOptions};
use crate::store::{self, transcripts};
use crate::study::{self, Study};

/// Locks the run folder a round belongs to (RUN/blind/ROUND), or the round folder itself when it
/// has been moved out of its run.
pub fn lock_round(round_dir: &Path, command: &str) -> anyhow::Result<store::RunLock> {
    // Canonical, so that `.` inside a round and RUN/blind/ROUND lock the same folder.
    let round_dir = std::fs::canonicalize(round_dir).unwrap_or_else(|_| round_dir.to_path_buf());
    let run_dir = round_dir
        .parent()
        .and_then(Path::parent)
        .filter(|run| run.join(crate::commands::run_cmds::MANIFEST).is_file());
    Ok(store::RunLock::acquire(
        run_dir.unwrap_or(&round_dir),
        command,
    )?)
}

/// One line of `ROUND/judges/judge-ALIAS.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JudgeRecord {
    pub item_id: String,
    pub ok: bool,
    /// Dimension id -> level, when ok.
    #[serde(default)]
    pub scores: BTreeMap<String, i64>,
    #[serde(default)]
    pub error: Option<String>,
    /// The judge's raw answer, kept so that a rejected answer can be inspected.
    #[serde(default)]
    pub answer: String,
    pub attempts: u32,
    #[serde(default)]
    pub model_version: Option<String>,
}

pub fn judge(args: &JudgeArgs) -> anyhow::Result<ExitCode> {
    let (_, unrated) = judge_round(args, true)?;
    Ok(if unrated == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Rates a round with a judge; returns the ratings file and the number of items without a usable
/// answer. `verbose` prints progress and the summary.
pub fn judge_round(args: &JudgeArgs, verbose: bool) -> anyhow::Result<(std::path::PathBuf, usize)> {
    let manifest_path = args.round_dir.join(PACKETS_DIR).join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        bail!(
            "{} is not a blinding round: it has no {PACKETS_DIR}/{MANIFEST_FILE}",
            args.round_dir.display()
        );
    }
    let round: RoundManifest = store::read_json(&manifest_path)?;
    let _lock = lock_round(&args.round_dir, "judge")?;
    let study: Study = match &args.study {
        Some(dir) => study::load(dir)?,
        None => {
            let run_dir = args.round_dir.parent().and_then(Path::parent).context(
                "a round folder lives in RUN/blind/ROUND; pass --study to name the study",
            )?;
            read_run_manifest(run_dir)?.study
        }
    };
    let Some(spec) = study.model(&args.model).cloned() else {
        bail!(
            "unknown model '{}': the study's models are {}",
            args.model,
            study
                .models
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    // The items, once each, from the packets raters got.
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    for rater in round.packets.keys() {
        let packet: PacketJson = store::read_json(
            &args
                .round_dir
                .join(PACKETS_DIR)
                .join(format!("{rater}.json")),
        )?;
        for item in packet.items {
            items.entry(item.item_id.clone()).or_insert(item);
        }
    }
    let judge_name = format!("{JUDGE_PREFIX}{}", args.model);
    let log_path = args
        .round_dir
        .join("judges")
        .join(format!("{judge_name}.jsonl"));
    let (done, report) = transcripts::read::<JudgeRecord>(&log_path)?;
    let ok: BTreeSet<String> = done
        .iter()
        .filter(|r| r.ok)
        .map(|r| r.item_id.clone())
        .collect();
    let todo: Vec<Item> = items
        .values()
        .filter(|i| !ok.contains(&i.item_id))
        .cloned()
        .collect();
    if verbose {
        note!(
            "Judge {judge_name}: {} of {} items to rate ({} done before).",
            todo.len(),
            items.len(),
            ok.len()
        );
    }
    if !todo.is_empty() {
        if let Some(parent) = log_path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut log = transcripts::JsonlLog::open(&log_path, report.truncated_tail.as_ref())?;
        let (tx, mut rx) = mpsc::channel::<JudgeRecord>(64);
        let writer = std::thread::spawn(move || -> anyhow::Result<()> {
            while let Some(record) = rx.blocking_recv() {
                log.append(&record)?;
            }
            log.sync()?;
            Ok(())
        });
        runtime()?.block_on(rate_all(
            &study,
            &spec.id,
            &round,
            todo,
            args.concurrency as usize,
            tx,
        ))?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the judge's writer panicked"))??;
    }

    // The ratings file: the latest usable answer per item.
    let (records, _) = transcripts::read::<JudgeRecord>(&log_path)?;
    let mut latest: BTreeMap<&str, &JudgeRecord> = BTreeMap::new();
    let mut failures: BTreeMap<&str, &JudgeRecord> = BTreeMap::new();
    for r in &records {
        if r.ok {
            latest.insert(&r.item_id, r);
        } else {
            failures.insert(&r.item_id, r);
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&round.csv_columns)?;
    for (item_id, record) in &latest {
        let row: Vec<String> = round
            .csv_columns
            .iter()
            .map(|c| match c.as_str() {
                "rater" => judge_name.clone(),
                "item_id" => item_id.to_string(),
                "comment" | "identity_guess" => String::new(),
                dim => record
                    .scores
                    .get(dim)
                    .map(i64::to_string)
                    .unwrap_or_default(),
            })
            .collect();
        writer.write_record(&row)?;
    }
    let out = args.round_dir.join(format!("{judge_name}.csv"));
    store::write_atomic(
        &out,
        &writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
    )?;
    let failed: Vec<&&JudgeRecord> = failures
        .iter()
        .filter(|(id, _)| !latest.contains_key(*id))
        .map(|(_, r)| r)
        .collect();
    if !verbose || crate::commands::quiet() {
        return Ok((out, failed.len()));
    }
    outln!(
        "Judge {judge_name} rated {} of {} items into {}.",
        latest.len(),
        items.len(),
        out.display()
    );
    if !failed.is_empty() {
        outln!(
            "{} items have no usable answer (e.g. {}: {}); run the same command again to retry them.",
            failed.len(),
            failed[0].item_id,
            failed[0].error.as_deref().unwrap_or("unknown error")
        );
    } else {
        outln!(
            "Add it to `blindfold unblind` with the human ratings to compare judge and human agreement."
        );
    }
    Ok((out, failed.len()))
}

async fn rate_all(
    study: &Study,
    alias: &str,
    round: &RoundManifest,
    items: Vec<Item>,
    concurrency: usize,
    records: mpsc::Sender<JudgeRecord>,
) -> anyhow::Result<()> {
    let spec = study.model(alias).expect("checked by the caller");
    let sim = if spec.provider == ProviderKind::Sim {
        Some(server::start(([127, 0, 0, 1], 0).into(), SimOptions::default()).await?)
    } else {
        None
    };
    let models = BTreeSet::from([alias]);
    let endpoints = endpoints(
        study,
        &models,
        sim.as_ref().map(|s| s.openai_base_url()).as_deref(),
    )?;
    let runner = Arc::new(Runner::new(
        Arc::new(study.clone()),
        endpoints,
        concurrency,
        None,
        derive_seed(&["judge-jitter", alias]),
        CancellationToken::new(),
    ));
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let rubric = Arc::new(round.rubric.clone());
    let seed = spec.seed.unwrap_or(study.seed);
    let mut tasks = tokio::task::JoinSet::new();
    // Ctrl-C, SIGTERM and SIGHUP stop the judge as they stop a run: no new item starts, items in
    // flight get a grace period, and what finished is kept for the next `judge` to resume from.
    let stop = super::signals::stop_requested();
    tokio::pin!(stop);
    let mut stopped = None;
    for item in items {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            signal = &mut stop => {
                stopped = Some(signal);
                break;
            }
        };
        let (runner, rubric, records, alias, max_tokens) = (
            runner.clone(),
            rubric.clone(),
            records.clone(),
            alias.to_string(),
            spec.max_tokens,
        );
        tasks.spawn(async move {
            let request = judge_request(&item, &rubric, max_tokens, seed);
            let record = match runner.ask(&item.item_id, &alias, &request).await {
                Ok((reply, attempts)) => match parse_judgement(&reply.text, &rubric) {
                    Ok(scores) => JudgeRecord {
                        item_id: item.item_id.clone(),
                        ok: true,
                        scores: rubric
                            .dimensions
                            .iter()
                            .map(|d| d.id.clone())
                            .zip(scores)
                            .collect(),
                        error: None,
                        answer: reply.text,
                        attempts,
                        model_version: reply.model_version,
                    },
                    Err(reason) => JudgeRecord {
                        item_id: item.item_id.clone(),
                        ok: false,
                        scores: BTreeMap::new(),
                        error: Some(format!("unusable answer: {reason}")),
                        answer: reply.text,
                        attempts,
                        model_version: reply.model_version,
                    },
                },
                Err(error) => JudgeRecord {
                    item_id: item.item_id.clone(),
                    ok: false,
                    scores: BTreeMap::new(),
                    error: Some(error.message),
                    answer: String::new(),
                    attempts: 0,
                    model_version: None,
                },
            };
            let _ = records.send(record).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    if stopped.is_none() {
        tokio::select! {
            _ = async { while tasks.join_next().await.is_some() {} } => return Ok(()),
            signal = &mut stop => stopped = Some(signal),
        }
    }
    eprintln!(
        "\nInterrupted ({}): no new items start; items in flight get {} s to finish (Ctrl-C again to stop now).",
        stopped.unwrap_or("SIGINT"),
        JUDGE_GRACE.as_secs()
    );
    tokio::select! {
        _ = async { while tasks.join_next().await.is_some() {} } => {}
        _ = tokio::time::sleep(JUDGE_GRACE) => {}
        _ = super::signals::stop_requested() => {}
    }
    tasks.abort_all();
    anyhow::bail!(
        "Interrupted. Finished items are saved in ROUND/judges/judge-{alias}.jsonl; run the same command again to resume."
    )
}

/// How long items in flight may finish after a stop request.
const JUDGE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);
