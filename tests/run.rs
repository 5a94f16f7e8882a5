//! The runner over real loopback HTTP: the built-in simulated models, an external
//! `blindfold sim serve`, and the tests' own fault-injecting server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fault_server::{Behaviour, FaultServer};
use crate::sim::SimServe;
use crate::util::{StudyDir, blindfold, interrupt, stderr_of, stdout_of};

pub(crate) fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn run_dir(study: &StudyDir, name: &str) -> std::path::PathBuf {
    study.path().join("runs").join(name)
}

/// A one-scaffold study of `prompts` prompts whose models (id, extra TOML lines) all talk to
/// `base_url` with the OpenAI wire format.
pub(crate) fn small_study(base_url: &str, models: &[(&str, &str)], prompts: usize) -> StudyDir {
    let study = StudyDir::new();
    let mut toml = String::from(
        "[study]\nname = \"faults\"\nseed = 1\nscaffolds = [\"baseline\"]\nprompts = [\"small\"]\n\n",
    );
    for (id, extra) in models {
        toml.push_str(&format!(
            "[[model]]\nid = \"{id}\"\nprovider = \"openai\"\nmodel = \"{id}\"\nbase_url = \"{base_url}\"\nbackoff_ms = 10\nbackoff_max_ms = 50\n{extra}\n\n"
        ));
    }
    study.write("study.toml", &toml);
    let mut prompt_file = String::new();
    for i in 0..prompts {
        prompt_file.push_str(&format!(
            "[[prompt]]\nid = \"p{i}\"\ntext = \"Question number {i}?\"\n\n"
        ));
    }
    study.write("prompts/small.toml", &prompt_file);
    study
}

pub(crate) fn run(study: &StudyDir, extra_args: &[&str]) -> std::process::Output {
    blindfold()
        .arg("run")
        .arg(study.path())
        .args(["--run", "r"])
        .args(extra_args)
        .output()
        .unwrap()
}

/// `blindfold run` on `study` as a child process (for tests that kill or interrupt it), its
/// stdout and stderr made by `output`.
pub(crate) fn spawn_run(study: &StudyDir, output: fn() -> Stdio) -> std::process::Child {
    StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
        .arg("run")
        .arg(study.path())
        .args(["--run", "r"])
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap()
}

fn by_model(records: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in records {
        out.entry(r["model"].as_str().unwrap().to_string())
            .or_default()
            .push(r);
    }
    out
}

#[test]
fn default_study_gives_180_full_conversations_and_a_protocol_lock() {
    let study = StudyDir::new();
    let output = run(&study, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("180 of 180 cells ok"));
    let dir = run_dir(&study, "r");
    let all = records(&dir.join("transcripts.jsonl"));
    assert_eq!(all.len(), 180);
    let cells: BTreeSet<&str> = all.iter().map(|r| r["cell_id"].as_str().unwrap()).collect();
    assert_eq!(cells.len(), 180);
    for r in &all {
        assert_eq!(r["status"], "ok");
        let roles: Vec<&str> = r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        let expected: &[&str] = match r["scaffold"].as_str().unwrap() {
            "baseline" => &["user", "assistant"],
            "verification" => &["system", "user", "assistant"],
            _ => &["system", "user", "assistant", "user", "assistant"],
        };
        assert_eq!(roles, expected, "{}", r["cell_id"]);
        assert!(r["usage"]["output_tokens"].as_u64().unwrap() > 0);
        assert!(
            r["model_version"]
                .as_str()
                .unwrap()
                .starts_with(r["model"].as_str().unwrap())
        );
        assert!(r["started_at"].as_str().unwrap().ends_with('Z'));
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    // The cells are counted, not listed: they are the plan of the recorded study.
    assert_eq!(manifest["cell_count"], 180);
    assert!(manifest.get("cells").is_none());
    assert_eq!(
        manifest["hashes"]["scaffolds"].as_object().unwrap().len(),
        4
    );
    assert_eq!(manifest["hashes"]["prompts"].as_object().unwrap().len(), 15);
    assert_eq!(manifest["hashes"]["rubric"].as_str().unwrap().len(), 64);
    assert_eq!(manifest["protocol_hash"].as_str().unwrap().len(), 64);

    // Running again does nothing and duplicates nothing.
    let again = run(&study, &[]);
    assert!(again.status.success());
    assert!(
        stderr_of(&again).contains("Nothing to run"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(records(&dir.join("transcripts.jsonl")).len(), 180);

    // `status` summarises the same run.
    let status = blindfold().arg("status").arg(&dir).output().unwrap();
    assert!(status.status.success());
    assert!(stdout_of(&status).contains("180 of 180 cells ok"));

    // A manifest written before cells were left out (with its `cells` list and no
    // `cell_count`) still reads: status, a resumed run and blinding see the same 180 cells.
    let plan = blindfold()
        .args(["plan", "--cells", "--format", "json"])
        .arg(study.path())
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let mut old = manifest.clone();
    old["cells"] = plan["cell_list"].clone();
    old.as_object_mut().unwrap().remove("cell_count");
    std::fs::write(dir.join("manifest.json"), old.to_string()).unwrap();
    let status = blindfold().arg("status").arg(&dir).output().unwrap();
    assert!(stdout_of(&status).contains("180 of 180 cells ok"));
    blindfold()
        .args(["-q", "blind", "--seed", "1"])
        .arg(&dir)
        .assert()
        .success();
    let again = run(&study, &[]);
    assert!(stderr_of(&again).contains("Nothing to run: 180 of 180 cells are done"));
}

#[test]
fn adding_a_scaffold_runs_only_its_cells_and_editing_one_is_reported() {
    let study = StudyDir::new();
    assert!(run(&study, &[]).status.success());
    study.write(
        "scaffolds/socratic.toml",
        "system = \"Answer with questions that lead the user to the answer.\"\n",
    );
    study.edit(
        "study.toml",
        "\"verification-steerability\"]",
        "\"verification-steerability\", \"socratic\"]",
    );
    let output = run(&study, &[]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("scaffold 'socratic' is new"), "{stderr}");
    assert!(stderr.contains("Running 45 of 225 cells"), "{stderr}");

    study.edit(
        "scaffolds/socratic.toml",
        "with questions",
        "only with questions",
    );
    let output = run(&study, &[]);
    let stderr = stderr_of(&output);
    assert!(stderr.contains("scaffold 'socratic' changed"), "{stderr}");
    assert!(stderr.contains("not comparable"), "{stderr}");
    assert!(stderr.contains("Running 45 of 225 cells"), "{stderr}");
    assert!(
        stdout_of(&output).contains("45 earlier records belong to cells no longer in the plan")
    );
}

#[test]
fn dry_run_sends_nothing_and_max_cost_needs_prices() {
    let study = StudyDir::new();
    let output = run(&study, &["--dry-run"]);
    assert!(output.status.success());
    assert!(stdout_of(&output).contains("Dry run: 180 of 180 cells would run"));
    assert!(!run_dir(&study, "r").join("manifest.json").exists());

    // A dry run stops where the real run would, and neither leaves anything behind.
    for args in [&["--max-cost", "1", "--dry-run"][..], &["--max-cost", "1"]] {
        let output = run(&study, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr_of(&output).contains("--max-cost needs prices"));
        assert!(!run_dir(&study, "r").join("manifest.json").exists());
        assert!(!run_dir(&study, "r").join("transcripts.jsonl").exists());
    }
}

#[test]
fn a_spending_cap_stops_dispatching() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    // Each cell's bound: 1 request of at most 100 output tokens plus its input, at $1000/Mtok.
    let prices = "max_tokens = 100\nmax_concurrency = 1\nprice_input_per_mtok = 1000.0\nprice_output_per_mtok = 1000.0";
    let study = small_study(&server.base_url(), &[("m", prices)], 20);
    let output = run(&study, &["--max-cost", "0.5"]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("spending cap"), "{stderr}");
    let done = records(&run_dir(&study, "r").join("transcripts.jsonl"));
    let spent: f64 = done.iter().map(|r| r["cost_usd"].as_f64().unwrap()).sum();
    assert!(
        !done.is_empty() && done.len() < 20,
        "{} cells ran",
        done.len()
    );
    assert!(spent <= 0.5, "{spent}");
}

/// The default study with its simulated models reached through an external `blindfold sim
/// serve`, as an OpenAI-compatible server (two requests in flight per model).
pub(crate) fn default_study_against(server: &SimServe) -> StudyDir {
    let study = StudyDir::new();
    for model in ["sim-alpha", "sim-beta", "sim-gamma"] {
        study.edit(
            "study.toml",
            &format!("provider = \"sim\"\nmodel = \"{model}\""),
            &format!(
                "provider = \"openai\"\nmodel = \"{model}\"\nbase_url = \"{}/v1\"\nmax_concurrency = 2",
                server.base
            ),
        );
    }
    study
}

/// A server that fails each conversation's first request with `status`, then answers.
fn failing_once(status: u16) -> FaultServer {
    FaultServer::start(move |call| match call.attempt {
        1 => Behaviour::Status {
            status,
            retry_after: None,
        },
        _ => Behaviour::Ok {
            delay: Duration::ZERO,
        },
    })
}

#[test]
fn killed_midway_and_run_again_yields_each_cell_exactly_once() {
    let server = SimServe::start(&["--latency-ms", "25"]);
    let study = default_study_against(&server);
    let log = run_dir(&study, "r").join("transcripts.jsonl");
    let mut child = spawn_run(&study, Stdio::null);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 30 {
            break;
        }
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = records(&log).len();
    assert!(before < 180, "killed too late: {before} cells were done");
    // A crash in the middle of a write leaves half a line: it must be set aside, not break resume.
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"cell_id\":\"abc\",\"model\":\"sim-al");
    std::fs::write(&log, text).unwrap();

    let output = run(&study, &[]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("incomplete"), "{stderr}");
    let all = records(&log);
    let ok: Vec<&str> = all
        .iter()
        .filter(|r| r["status"] == "ok")
        .map(|r| r["cell_id"].as_str().unwrap())
        .collect();
    let distinct: BTreeSet<&str> = ok.iter().copied().collect();
    assert_eq!(ok.len(), 180, "no ok cell is duplicated");
    assert_eq!(distinct.len(), 180);
    assert!(
        run_dir(&study, "r")
            .join("transcripts.partial.txt")
            .exists()
    );
    drop(server);
}

#[test]
fn concurrency_never_exceeds_the_caps() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::from_millis(60),
    });
    let study = small_study(
        &server.base_url(),
        &[
            ("a", "max_concurrency = 2"),
            ("b", "max_concurrency = 2"),
            ("c", "max_concurrency = 5"),
        ],
        12,
    );
    let output = run(&study, &["--concurrency", "4"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let (per_model, total) = server.max_in_flight();
    assert!(total <= 4, "global cap: {total}");
    assert!(per_model["a"] <= 2 && per_model["b"] <= 2, "{per_model:?}");
    // The caps were actually reached, so the assertions above could have failed.
    assert_eq!(total, 4, "{per_model:?}");
    assert!(per_model["c"] >= 2, "{per_model:?}");
}

#[test]
fn rpm_is_respected() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    let study = small_study(
        &server.base_url(),
        &[("m", "rpm = 300\nmax_concurrency = 8")],
        6,
    );
    assert!(run(&study, &[]).status.success());
    let mut times: Vec<Duration> = server.seen().iter().map(|s| s.at).collect();
    times.sort();
    assert_eq!(times.len(), 6);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        // 300 rpm: one request every 200 ms.
        assert!(
            gap >= Duration::from_millis(180),
            "gap {gap:?} in {times:?}"
        );
    }
}

#[test]
fn tpm_is_respected() {
    // limits.rs: a governor bucket of `tpm` tokens, full at the start and refilled at tpm/60
    // tokens per second; each request is charged up front ceil(chars / 4) per message plus
    // `max_tokens`, at most `tpm`. So the requests admitted in any window of w seconds carry at
    // most tpm + w * tpm/60 estimated tokens (up to 2 * tpm in a 60-second window).
    const TPM: u64 = 6000; // 100 tokens per second
    const MAX_TOKENS: u64 = 10;
    let rate = TPM as f64 / 60.0;
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    // Two models with a bucket each, run side by side: one request at a time, and four waiting
    // on the bucket at once.
    let limits = |concurrency: u32| {
        format!("tpm = {TPM}\nmax_tokens = {MAX_TOKENS}\nmax_concurrency = {concurrency}")
    };
    let study = small_study(
        &server.base_url(),
        &[("serial", &limits(1)), ("parallel", &limits(4))],
        0,
    );
    // One prompt whose estimate (7500 + 10) is clamped to the whole bucket, and eight of 80
    // characters (20 + 10 = 30 tokens, 0.3 s of refill each): 240 tokens beyond the bucket.
    let mut prompts = format!(
        "[[prompt]]\nid = \"big\"\ntext = \"{}\"\n\n",
        "word ".repeat(6000)
    );
    for i in 0..8 {
        let text = format!("Question number {i}? {}", "x".repeat(61));
        assert_eq!(text.chars().count(), 80);
        prompts.push_str(&format!("[[prompt]]\nid = \"p{i}\"\ntext = \"{text}\"\n\n"));
    }
    study.write("prompts/small.toml", &prompts);
    let output = run(&study, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));

    for model in ["serial", "parallel"] {
        let mut seen = server.seen_by(model);
        seen.sort_by_key(|s| s.at);
        let charges: Vec<u64> = seen
            .iter()
            .map(|s| {
                let input: u64 = s
                    .contents
                    .iter()
                    .map(|c| (c.chars().count() as u64).div_ceil(4))
                    .sum();
                (input + MAX_TOKENS).min(TPM)
            })
            .collect();
        let mut sorted = charges.clone();
        sorted.sort();
        assert_eq!(sorted, [30, 30, 30, 30, 30, 30, 30, 30, 6000], "{model}");
        let times: Vec<f64> = seen.iter().map(|s| s.at.as_secs_f64()).collect();

        // Every window between two arrivals: at most the bucket plus its refill over the
        // window, give or take 50 ms of arrival jitter (5 tokens, less than one request).
        for i in 0..seen.len() {
            for j in i..seen.len() {
                let admitted: u64 = charges[i..=j].iter().sum();
                let allowed = TPM as f64 + rate * (times[j] - times[i] + 0.05);
                assert!(
                    admitted as f64 <= allowed,
                    "{model}: {admitted} tokens arrived in {:.3} s (at most {allowed:.0}): {times:?}",
                    times[j] - times[i]
                );
            }
        }
        // Over the whole run: the 240 tokens beyond the bucket take 2.4 s to refill, and the
        // limiter admits each request as soon as it may, so the run takes hardly longer.
        let total: u64 = charges.iter().sum();
        let implied = (total - TPM) as f64 / rate;
        let span = times[times.len() - 1] - times[0];
        assert!(
            span >= implied - 0.05 && span <= implied + 1.0,
            "{model}: span {span:.3} s, implied {implied:.3} s: {charges:?} at {times:?}"
        );
    }
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let server = FaultServer::start(|call| match call.attempt {
        1 => Behaviour::Status {
            status: 429,
            retry_after: Some("1"),
        },
        _ => Behaviour::Ok {
            delay: Duration::ZERO,
        },
    });
    let study = small_study(&server.base_url(), &[("m", "")], 2);
    let output = run(&study, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for r in records(&run_dir(&study, "r").join("transcripts.jsonl")) {
        assert_eq!(r["status"], "ok");
        assert_eq!(r["attempts"], 2);
    }
    let seen = server.seen();
    for key in seen.iter().map(|s| &s.key).collect::<BTreeSet<_>>() {
        let times: Vec<Duration> = seen
            .iter()
            .filter(|s| &s.key == key)
            .map(|s| s.at)
            .collect();
        assert_eq!(times.len(), 2);
        assert!(
            times[1] - times[0] >= Duration::from_millis(990),
            "{times:?}"
        );
    }
}

#[test]
fn server_errors_are_retried_and_bad_requests_are_not() {
    let server = FaultServer::start(|call| match (call.model.as_str(), call.attempt) {
        ("flaky", 1 | 2) => Behaviour::Status {
            status: 500,
            retry_after: None,
        },
        ("flaky", _) => Behaviour::Ok {
            delay: Duration::ZERO,
        },
        _ => Behaviour::Status {
            status: 400,
            retry_after: None,
        },
    });
    let study = small_study(&server.base_url(), &[("flaky", ""), ("strict", "")], 3);
    let output = run(&study, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "failed cells make the exit code non-zero"
    );
    let all = records(&run_dir(&study, "r").join("transcripts.jsonl"));
    let grouped = by_model(&all);
    for r in &grouped["flaky"] {
        assert_eq!(
            (r["status"].as_str(), r["attempts"].as_u64()),
            (Some("ok"), Some(3))
        );
    }
    for r in &grouped["strict"] {
        assert_eq!(r["status"], "failed");
        assert_eq!(r["attempts"], 1);
        assert_eq!(r["error"]["status"], 400);
        assert_eq!(r["error"]["transient"], false);
    }
    assert_eq!(
        server.seen_by("strict").len(),
        3,
        "one request per cell, no retries"
    );
    assert_eq!(server.seen_by("flaky").len(), 9);

    // --retry-failed tries the failed cells again; a plain re-run leaves them alone.
    let again = run(&study, &[]);
    assert!(
        stderr_of(&again).contains("--retry-failed"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(server.seen_by("strict").len(), 3);
    run(&study, &["--retry-failed"]);
    assert_eq!(server.seen_by("strict").len(), 6);
}

#[test]
fn a_hung_server_meets_the_timeout() {
    let server = FaultServer::start(|_| Behaviour::Hang);
    let study = small_study(
        &server.base_url(),
        &[("m", "timeout_s = 0.3\nmax_attempts = 2")],
        2,
    );
    let started = Instant::now();
    let output = run(&study, &[]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(1));
    for r in records(&run_dir(&study, "r").join("transcripts.jsonl")) {
        assert_eq!(r["status"], "failed");
        assert_eq!(r["error"]["kind"], "timeout");
        assert_eq!(r["attempts"], 2);
    }
}

#[test]
fn a_model_that_answers_401_is_stopped_and_others_go_on() {
    let server = FaultServer::start(|call| match call.model.as_str() {
        "locked" => Behaviour::Status {
            status: 401,
            retry_after: None,
        },
        _ => Behaviour::Ok {
            delay: Duration::from_millis(5),
        },
    });
    let study = small_study(
        &server.base_url(),
        &[("locked", "max_concurrency = 1"), ("open", "")],
        5,
    );
    let output = run(&study, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("stopped after an authentication failure"));
    let all = records(&run_dir(&study, "r").join("transcripts.jsonl"));
    let grouped = by_model(&all);
    assert_eq!(server.seen_by("locked").len(), 1, "not hammered");
    let kinds: Vec<&str> = grouped["locked"]
        .iter()
        .map(|r| r["error"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "http").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "model_stopped").count(), 4);
    assert!(grouped["open"].iter().all(|r| r["status"] == "ok"));
    assert_eq!(grouped["open"].len(), 5);
}

#[test]
fn a_missing_key_variable_stops_before_any_request() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    let study = small_study(
        &server.base_url(),
        &[("m", "api_key_env = \"BLINDFOLD_TEST_UNSET_KEY\"")],
        2,
    );
    let output = blindfold()
        .arg("run")
        .arg(study.path())
        .env_remove("BLINDFOLD_TEST_UNSET_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("BLINDFOLD_TEST_UNSET_KEY"));
    assert!(server.seen().is_empty());
    // Nothing is written: no protocol lock for a run that never started.
    assert!(!study.path().join("runs/faults").exists());
}

#[test]
fn keys_never_reach_files_or_logs() {
    let server = failing_once(500);
    let key = "sk-test-0123456789abcdefSECRET";
    let study = small_study(
        &server.base_url(),
        &[("m", "api_key_env = \"BLINDFOLD_TEST_KEY\"")],
        2,
    );
    let output = blindfold()
        .arg("-vv")
        .arg("run")
        .arg(study.path())
        .env("BLINDFOLD_TEST_KEY", key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("SECRET") && !stdout_of(&output).contains("SECRET"));
    for entry in walk(study.path().as_path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("SECRET"),
            "{} contains the key",
            entry.display()
        );
    }
}

pub(crate) fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn ctrl_c_lets_cells_in_flight_finish_and_says_how_to_resume() {
    let server = SimServe::start(&["--latency-ms", "400"]);
    let study = default_study_against(&server);
    let log = run_dir(&study, "r").join("transcripts.jsonl");
    let child = spawn_run(&study, Stdio::piped);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&log)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 6
    {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted_at = Instant::now();
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(8),
        "in-flight cells finish within the grace period"
    );
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with('\n'), "no half-written record");
    let done = records(&log).len();
    assert!((6..180).contains(&done), "{done}");

    let output = run(&study, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains(&format!("Running {} of 180 cells", 180 - done)));
    assert_eq!(records(&log).len(), 180);
}

/// On a terminal the run shows an indicatif bar with counts, retries and an ETA; through a pipe
/// it never draws one. The terminal is a real pseudo-terminal made by `script` (util-linux).
#[test]
fn a_terminal_gets_a_progress_bar_and_a_pipe_does_not() {
    let server = FaultServer::start(|call| match call.attempt {
        1 if call.model == "flaky" => Behaviour::Status {
            status: 503,
            retry_after: None,
        },
        _ => Behaviour::Ok {
            delay: Duration::from_millis(250),
        },
    });
    let study = small_study(&server.base_url(), &[("m", ""), ("flaky", "")], 4);
    let bin = assert_cmd::cargo::cargo_bin("blindfold");
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let command = format!(
        "{} run {} --run tty --concurrency 1",
        quote(&bin),
        quote(&study.path())
    );
    let output = match StdCommand::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("COLUMNS", "160")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: `script` (util-linux) cannot run: {e}");
            return;
        }
        Err(e) => {
            panic!("`script` (util-linux) cannot run: {e} (CI is set: this fails, not skips)")
        }
    };
    // `script` copies everything the terminal showed to its stdout.
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(screen.contains("/8 cells"), "{screen}");
    assert!(screen.contains("ETA"), "{screen}");
    assert!(
        screen.contains("retrying") && screen.contains("in flight"),
        "{screen}"
    );
    assert_eq!(
        records(&run_dir(&study, "tty").join("transcripts.jsonl")).len(),
        8
    );

    let piped = run(&study, &["--concurrency", "1"]);
    assert!(piped.status.success());
    let stderr = stderr_of(&piped);
    assert!(
        !stderr.contains("ETA") && !stderr.contains("cells  "),
        "{stderr}"
    );
}

#[test]
fn quiet_runs_write_nothing_but_warnings_and_errors() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    let study = small_study(&server.base_url(), &[("m", "")], 2);
    let output = blindfold()
        .arg("-q")
        .arg("run")
        .arg(study.path())
        .args(["--run", "r"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(stderr_of(&output), "");
    // Without -q the same run says what it does.
    let output = run(&study, &["--retry-failed"]);
    assert!(stderr_of(&output).contains("Nothing to run: 2 of 2 cells are done"));
}

#[test]
fn retries_are_logged_at_debug_level_with_the_cell_and_cause() {
    let server = failing_once(503);
    let study = small_study(&server.base_url(), &[("m", "")], 1);
    let quiet = run(&study, &[]);
    assert!(!stderr_of(&quiet).contains("retrying"));
    let study = small_study(&server.base_url(), &[("m2", "")], 1);
    let output = blindfold()
        .args(["-v", "run"])
        .arg(study.path())
        .args(["--run", "r"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let cell = &records(&run_dir(&study, "r").join("transcripts.jsonl"))[0]["cell_id"];
    let line = stderr
        .lines()
        .find(|l| l.contains("retrying"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains(cell.as_str().unwrap()) && line.contains("503"),
        "{line}"
    );
}

#[test]
fn a_judge_that_answers_badly_is_recorded_and_retried_on_the_next_run() {
    // A round of real blinded items (simulated models), judged by a model behind the fault server,
    // which answers in prose, never in the JSON the judge must give.
    let study = StudyDir::with_prompts(1);
    let run_folder = study.run("r");
    assert!(
        blindfold()
            .arg("blind")
            .arg(&run_folder)
            .args(["--seed", "4"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let round = run_folder.join("blind/round-1");
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    let judges = small_study(&server.base_url(), &[("m", "")], 1);
    let output = blindfold()
        .arg("judge")
        .arg(&round)
        .args(["--model", "m", "--study"])
        .arg(judges.path())
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        stderr_of(&output)
    );
    assert!(
        stdout.contains("12 items have no usable answer"),
        "{stdout}"
    );
    assert!(stdout.contains("not a JSON object"), "{stdout}");
    let log = round.join("judges/judge-m.jsonl");
    assert_eq!(records(&log).len(), 12);
    let sheet = std::fs::read_to_string(round.join("judge-m.csv")).unwrap();
    assert_eq!(
        sheet.lines().count(),
        1,
        "only the header: no answer was usable"
    );
    // Nothing was usable, so everything is asked again.
    let again = blindfold()
        .arg("judge")
        .arg(&round)
        .args(["--model", "m", "--study"])
        .arg(judges.path())
        .output()
        .unwrap();
    assert!(
        stderr_of(&again).contains("12 of 12 items to rate"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(records(&log).len(), 24);
}
