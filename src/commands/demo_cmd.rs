//! `demo`: the whole job on the default study, offline, in one command: run the 180-cell matrix
//! against the simulated models over loopback HTTP, blind it for three raters with dual coding,
//! register the analysis plan, rate with simulated raters and a model judge, un-blind, report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::blind::packet::PacketJson;
use crate::blind::round::PACKETS_DIR;
use crate::cli::{BlindArgs, DemoArgs, JudgeArgs, PreregArgs, ReportArgs, UnblindArgs};
use crate::commands::blind_cmd::blind_round;
use crate::commands::judge_cmd::judge_round;
use crate::commands::rate_cmds::unblind_round;
use crate::commands::report_cmd::{analyze_run, lock_run, prereg_quiet, write_report};
use crate::commands::run_cmds::{RunOptions, run_study};
use crate::store;
use crate::study::{self, defaults};

/// Marks a folder as the demo's own, so that running the demo again may replace it.
const MARKER: &str = ".blindfold-demo";

fn prepare(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if out.join(MARKER).is_file() {
            std::fs::remove_dir_all(out)
                .with_context(|| format!("cannot replace the earlier demo in {}", out.display()))?;
        } else if !empty {
            bail!(
                "{} exists and is not a blindfold demo folder; choose another --out (nothing was changed)",
                out.display()
            );
        }
    }
    store::write_new(
        &out.join(MARKER),
        b"This folder was written by `blindfold demo`; running it again replaces it.\n",
    )?;
    Ok(())
}

fn step(n: usize, text: &str) {
    note!("[{n}/7] {text}");
}

pub fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out = &args.out;
    prepare(out)?;
    let study_dir = out.join("study");
    for (path, content) in defaults::FILES {
        store::write_new(&study_dir.join(path), content.as_bytes())?;
    }
    let study = study::load(&study_dir)?;
    let run_dir = study_dir.join("runs").join("demo");

    step(
        1,
        "Running 3 models x 4 scaffolds x 15 prompts = 180 cells against the simulated models over loopback HTTP",
    );
    let outcome = run_study(
        &study,
        &run_dir,
        &RunOptions {
            concurrency: 64,
            retry_failed: false,
            dry_run: false,
            max_cost: None,
            grace: Duration::from_secs(5),
            quiet_summary: true,
            batch: false,
        },
    )?;
    if outcome.summary.ok() != outcome.summary.planned() {
        bail!(
            "the demo run did not finish: {} of {} cells ok",
            outcome.summary.ok(),
            outcome.summary.planned()
        );
    }

    step(
        2,
        "Blinding: redaction, leak gate, 3 raters with dual coding, sealed key",
    );
    let round_dir = blind_round(
        &BlindArgs {
            run_dir: run_dir.clone(),
            round: Some("round-1".into()),
            raters: None,
            per_item: None,
            seed: Some(study.seed),
            redact: Vec::new(),
            allow_leaks: false,
            allow_incomplete: false,
            all: false,
            anchors: None,
            anchor_share: None,
            adjudicate: None,
            threshold: None,
            adjudicate_on: None,
            max_items_per_packet: None,
        },
        false,
    )?;

    step(
        3,
        "Registering the analysis plan and the key's commitment before any rating",
    );
    prereg_quiet(&PreregArgs {
        study: study_dir.clone(),
        round: Some(round_dir.clone()),
        out: None,
    })?;

    step(
        4,
        "Rating: three simulated raters, each reading only their own packet",
    );
    let ratings_dir = out.join("ratings");
    let mut ratings: Vec<PathBuf> = Vec::new();
    for rater in &study.blinding.raters {
        let packet: PacketJson =
            store::read_json(&round_dir.join(PACKETS_DIR).join(format!("{rater}.json")))?;
        let sheet = crate::rate::simulate::rate_packet(&packet, study.seed)?;
        let path = ratings_dir.join(format!("{rater}.csv"));
        store::write_atomic(&path, &sheet)?;
        ratings.push(path);
    }

    step(5, "Judging: sim-gamma rates every item as a model judge");
    let (judge_file, unrated) = judge_round(
        &JudgeArgs {
            round_dir: round_dir.clone(),
            model: "sim-gamma".into(),
            study: None,
            concurrency: 32,
        },
        false,
    )?;
    if unrated == 0 {
        ratings.push(judge_file);
    }

    step(
        6,
        "Un-blinding: checking every rating against the round, joining with the key",
    );
    unblind_round(
        &UnblindArgs {
            round_dir: round_dir.clone(),
            ratings,
            allow_missing: false,
        },
        false,
    )?;

    step(7, "Analysing and writing the report");
    let report_args = ReportArgs {
        run_dir: run_dir.clone(),
        rounds: None,
        prereg: None,
        primary: None,
        explorer_part_size: crate::report::explorer::DEFAULT_PART_SIZE,
    };
    let _lock = lock_run(&run_dir, "report")?;
    let results = analyze_run(&run_dir, &report_args)?;
    let report_dir = write_report(&run_dir, &results, report_args.explorer_part_size)?;

    outln!();
    out!("{}", crate::report::terminal::headline_table(&results));
    outln!();
    outln!("Report: {}", report_dir.join("report.html").display());
    outln!(
        "(demo finished in {:.1} s; everything it wrote is under {})",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
