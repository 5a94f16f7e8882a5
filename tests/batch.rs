//! `run --batch` over loopback against `blindfold sim serve`, each simulated model behind one of
//! the three providers' batch APIs: the whole study, kills at every point of the submission
//! protocol, failures inside and of whole batches, `status`, `plan` and `--batch-cancel`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::sim::SimServe;
use crate::util::{StudyDir, blindfold, interrupt, stderr_of, stdout_of};

/// The three simulated models, each behind its own provider's API.
const APIS: [(&str, &str); 3] = [
    ("sim-alpha", "openai"),
    ("sim-beta", "anthropic"),
    ("sim-gamma", "gemini"),
];

/// The default study (cut to `prompts` prompts, or whole with `None`) with its simulated models
/// reached through `server`: sim-alpha as OpenAI, sim-beta as Anthropic, sim-gamma as Gemini,
/// polled every 20-200 ms, each model with the extra TOML lines `extra`.
fn three_api_study(server: &SimServe, prompts: Option<usize>, extra: &str) -> StudyDir {
    let study = match prompts {
        Some(n) => StudyDir::with_prompts(n),
        None => StudyDir::new(),
    };
    for (model, provider) in APIS {
        let base = match provider {
            "openai" => format!("{}/v1", server.base),
            _ => server.base.clone(),
        };
        study.edit(
            "study.toml",
            &format!("provider = \"sim\"\nmodel = \"{model}\""),
            &format!(
                "provider = \"{provider}\"\nmodel = \"{model}\"\nbase_url = \"{base}\"\nbatch_poll_s = 0.02\nbatch_poll_max_s = 0.2\nbackoff_ms = 10\nbackoff_max_ms = 50\n{extra}"
            ),
        );
    }
    study
}

fn run(study: &StudyDir, name: &str, args: &[&str]) -> std::process::Output {
    blindfold()
        .arg("run")
        .arg(study.path())
        .args(["--run", name])
        .args(args)
        .output()
        .unwrap()
}

fn records(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("transcripts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every submission the server saw: (api, model, custom ids).
fn submissions(server: &SimServe) -> Vec<(String, String, Vec<String>)> {
    let body: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::get(format!("{}/_sim/batches", server.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    body.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["api"].as_str().unwrap().to_string(),
                s["model"].as_str().unwrap().to_string(),
                s["custom_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Asserts that no request was submitted twice, and returns how many were.
fn each_request_submitted_once(server: &SimServe) -> usize {
    let mut seen = BTreeSet::new();
    for (_, _, ids) in submissions(server) {
        for id in ids {
            assert!(seen.insert(id.clone()), "{id} was submitted twice");
        }
    }
    seen.len()
}

/// Asserts that every cell of the run has one record, `ok`; returns the records by cell.
fn each_cell_ok_once(run: &Path, cells: usize) -> BTreeMap<String, Value> {
    let mut by_cell = BTreeMap::new();
    for r in records(run) {
        let id = r["cell_id"].as_str().unwrap().to_string();
        assert_eq!(r["status"], "ok", "{r}");
        assert!(
            by_cell.insert(id.clone(), r).is_none(),
            "{id} recorded twice"
        );
    }
    assert_eq!(by_cell.len(), cells);
    by_cell
}

/// `run --batch` as a child stopped by the test hook at `point`: returns once the hook fired.
fn run_until(study: &StudyDir, name: &str, point: &str) -> std::process::Child {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
        .arg("run")
        .arg(study.path())
        .args(["--run", name, "--batch"])
        .env("BLINDFOLD_TEST_PAUSE", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log.push_str(&line);
            log.push('\n');
            if line.contains("test hook: paused at") {
                let _ = tx.send(Ok(()));
            }
        }
        let _ = tx.send(Err(log));
    });
    match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(Ok(())) => child,
        Ok(Err(log)) => panic!("the run ended before {point}:\n{log}"),
        Err(_) => {
            let _ = child.kill();
            panic!("the run never reached {point}");
        }
    }
}

fn kill(mut child: std::process::Child) {
    // SIGKILL: no destructor, no flush, no signal handler runs.
    child.kill().unwrap();
    child.wait().unwrap();
}

fn run_folder(study: &StudyDir, name: &str) -> PathBuf {
    study.path().join("runs").join(name)
}

#[test]
fn the_default_study_runs_through_three_batch_apis_and_reads_like_a_live_run() {
    let server = SimServe::start(&["--batch-delay-ms", "50"]);
    let study = three_api_study(&server, None, "");
    let output = run(&study, "batch", &["--batch"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("180 of 180 cells ok"),
        "{}",
        stdout_of(&output)
    );
    let batched = each_cell_ok_once(&run_folder(&study, "batch"), 180);
    let subs = submissions(&server);
    let apis: BTreeSet<(&str, &str)> = subs
        .iter()
        .map(|(api, model, _)| (api.as_str(), model.as_str()))
        .collect();
    assert_eq!(apis, APIS.into_iter().map(|(m, a)| (a, m)).collect());
    // Every model call went through a batch, once: the multi-turn scaffolds took several rounds.
    let calls: u64 = batched
        .values()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(each_request_submitted_once(&server) as u64, calls);
    assert!(subs.len() > 3, "{} batches", subs.len());

    // The same study live: the same conversations, record for record.
    let output = run(&study, "live", &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let live = each_cell_ok_once(&run_folder(&study, "live"), 180);
    assert_eq!(submissions(&server).len(), subs.len(), "no batch when live");
    for (id, b) in &batched {
        let l = &live[id];
        for field in [
            "model",
            "scaffold",
            "prompt",
            "repeat",
            "seed",
            "messages",
            "usage",
            "user_sim_usage",
            "requests",
            "model_version",
            "finish_reasons",
            "refused",
        ] {
            assert_eq!(b[field], l[field], "{field} of {id}");
        }
    }

    // Blinding, rating, un-blinding and the report take the batch run as they take a live one.
    let folder = run_folder(&study, "batch");
    let output = blindfold()
        .arg("blind")
        .arg(&folder)
        .args(["--seed", "3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let round = folder.join("blind/round-1");
    let mut sheets = Vec::new();
    for packet in std::fs::read_dir(round.join("packets")).unwrap() {
        let packet = packet.unwrap().path();
        if packet.extension().is_none_or(|e| e != "json")
            || packet.file_name().is_some_and(|n| n == "manifest.json")
        {
            continue;
        }
        let sheet = study.tmp.path().join(format!(
            "{}.csv",
            packet.file_stem().unwrap().to_string_lossy()
        ));
        let output = blindfold()
            .arg("rate")
            .arg("--simulate")
            .arg(&packet)
            .arg("--out")
            .arg(&sheet)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        sheets.push(sheet);
    }
    assert!(!sheets.is_empty());
    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .args(&sheets)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = blindfold().arg("report").arg(&folder).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(folder.join("report/results.json").is_file());
}

#[test]
fn a_run_killed_at_any_point_of_a_batch_resumes_without_submitting_twice() {
    // Each point of the protocol, on each provider's API: killed there with SIGKILL, then run
    // again.
    for point in [
        "batch-submit",
        "batch-created",
        "batch-poll",
        "batch-download:2",
    ] {
        for (model, api) in APIS {
            let server = SimServe::start(&["--batch-delay-ms", "100"]);
            let study = three_api_study(&server, Some(1), "");
            let child = run_until(&study, "r", &format!("{point}@{model}"));
            kill(child);
            let output = run(&study, "r", &["--batch"]);
            let stderr = stderr_of(&output);
            assert!(output.status.success(), "{point} on {api}: {stderr}");
            if point != "batch-submit" {
                assert!(
                    stderr.contains("re-attaching to batch"),
                    "{point} on {api}: {stderr}"
                );
            }
            let folder = run_folder(&study, "r");
            if point == "batch-created" {
                // The batch the killed run submitted was found again at the provider.
                let journal = std::fs::read_to_string(folder.join("batches.jsonl")).unwrap();
                assert!(journal.contains("\"recovered\":true"), "{api}: {journal}");
            }
            let cells = each_cell_ok_once(&folder, 12);
            let calls: u64 = cells
                .values()
                .map(|r| r["requests"].as_u64().unwrap())
                .sum();
            assert_eq!(
                each_request_submitted_once(&server) as u64,
                calls,
                "{point} on {api}"
            );
            // Nothing is left to do, and nothing is sent again.
            let before = submissions(&server).len();
            let output = run(&study, "r", &["--batch"]);
            assert!(output.status.success(), "{}", stderr_of(&output));
            assert_eq!(submissions(&server).len(), before);
            assert_eq!(records(&folder).len(), 12);
        }
    }
}

#[test]
fn failed_and_expired_requests_go_into_the_next_batch() {
    // A fifth of the requests fail inside their batch, and the first batch expires half done.
    let server = SimServe::start(&[
        "--batch-fail-rate",
        "0.2",
        "--batch-expire-first",
        "1",
        "--seed",
        "7",
    ]);
    let study = three_api_study(&server, Some(2), "max_attempts = 8");
    let output = run(&study, "r", &["--batch"]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("expired"), "{stderr}");
    let cells = each_cell_ok_once(&run_folder(&study, "r"), 24);
    let retried: Vec<&Value> = cells
        .values()
        .filter(|r| r["attempts"].as_u64().unwrap() > r["requests"].as_u64().unwrap())
        .collect();
    assert!(!retried.is_empty(), "some requests needed a second batch");
    // Retries go into new batches, never into the same one twice.
    for (_, _, ids) in submissions(&server) {
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}

#[test]
fn a_batch_that_fails_as_a_whole_is_reported_with_the_reason() {
    // (Anthropic has no whole-batch failure: its batches end with a result per request.)
    let server = SimServe::start(&["--batch-fail-first", "1"]);
    let study = three_api_study(&server, Some(1), "");
    // One model in batch mode (by its setting), the others live, in one run.
    study.edit(
        "study.toml",
        "model = \"sim-alpha\"",
        "model = \"sim-alpha\"\nbatch = true",
    );
    let output = run(&study, "r", &[]);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("failed as a whole")
            && stderr.contains("The simulated server failed this batch"),
        "{stderr}"
    );
    let folder = run_folder(&study, "r");
    let failed: Vec<Value> = records(&folder)
        .into_iter()
        .filter(|r| r["status"] != "ok")
        .collect();
    assert_eq!(failed.len(), 4, "the four cells of sim-alpha");
    assert!(failed.iter().all(|r| r["model"] == "sim-alpha"));
    assert!(
        failed[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The simulated server failed this batch"),
        "{}",
        failed[0]
    );
    let subs = submissions(&server);
    assert!(subs.iter().all(|(api, _, _)| api == "openai"), "{subs:?}");
    // The next run sends them again, in a new batch that completes.
    let output = run(&study, "r", &["--retry-failed"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let ok = records(&folder)
        .iter()
        .filter(|r| r["status"] == "ok")
        .count();
    assert_eq!(ok, 12);
    assert!(submissions(&server).len() > subs.len());
}

#[test]
fn status_shows_batches_in_flight_and_batch_cancel_cancels_them() {
    // Batches that take a minute: the run is stopped while polling them.
    let server = SimServe::start(&["--batch-delay-ms", "60000"]);
    let study = three_api_study(&server, Some(1), "");
    let child = run_until(&study, "r", "batch-poll@sim-alpha");
    let folder = run_folder(&study, "r");
    let status = blindfold().arg("status").arg(&folder).output().unwrap();
    let text = stdout_of(&status);
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert!(text.contains("Batches in flight"), "{text}");
    assert!(text.contains("batch_sim"), "{text}");
    let json = blindfold()
        .arg("status")
        .arg(&folder)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    let in_flight = value["batches_in_flight"].as_array().unwrap();
    assert!(
        in_flight.iter().any(|b| b["model"] == "sim-alpha"),
        "{value}"
    );
    kill(child);

    let output = blindfold()
        .arg("run")
        .arg(study.path())
        .args(["--run", "r", "--batch-cancel"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(text.contains("batch_sim"), "{text}");
    let status = blindfold().arg("status").arg(&folder).output().unwrap();
    assert!(
        stdout_of(&status).contains("cancel"),
        "{}",
        stdout_of(&status)
    );
}

#[test]
fn plan_shows_batch_prices_and_the_cap_holds_on_each_batch_worst_case() {
    let server = SimServe::start(&[]);
    let study = three_api_study(
        &server,
        Some(1),
        "price_input_per_mtok = 2.0\nprice_output_per_mtok = 8.0\nprice_batch_output_per_mtok = 3.0",
    );
    let output = blindfold().arg("plan").arg(study.path()).output().unwrap();
    let text = stdout_of(&output);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(text.contains("batch cost (USD)"), "{text}");
    assert!(text.contains("run --batch"), "{text}");
    // A cap below the first batch's worst case: nothing is submitted.
    let output = run(&study, "r", &["--batch", "--max-cost", "0.0001"]);
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("cap"), "{}", stderr_of(&output));
    assert!(submissions(&server).is_empty());
}

#[test]
fn ctrl_c_leaves_the_batches_running_and_the_next_run_collects_them() {
    // Batches of at most three requests that take four seconds: Ctrl-C arrives while polling.
    let server = SimServe::start(&["--batch-delay-ms", "4000"]);
    let study = three_api_study(&server, Some(1), "batch_max_requests = 3");
    let journal = run_folder(&study, "r").join("batches.jsonl");
    let child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
        .arg("run")
        .arg(study.path())
        .args(["--run", "r", "--batch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&journal)
        .map(|t| t.matches("\"event\":\"submitted\"").count())
        .unwrap_or(0)
        < 6
    {
        assert!(std::time::Instant::now() < deadline, "nothing submitted");
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("left running at the provider"), "{stderr}");
    let submitted = submissions(&server);
    assert!(submitted.iter().all(|(_, _, ids)| ids.len() <= 3));
    let folder = run_folder(&study, "r");

    let output = run(&study, "r", &["--batch"]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("re-attaching to batch"), "{stderr}");
    let cells = each_cell_ok_once(&folder, 12);
    let calls: u64 = cells
        .values()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(each_request_submitted_once(&server) as u64, calls);
}
