//! Careless and unlucky use: two writers on one run folder, stop signals, keys echoed by a
//! server, interrupted reports, rating files from other systems.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::analysis::{copy_round, demo, run_dir as demo_run};
use crate::fault_server::{Behaviour, FaultServer};
use crate::run::{default_study_against, records, run, run_dir, small_study, spawn_run, walk};
use crate::sim::SimServe;
use crate::util::{assert_clean_failure, blindfold, stderr_of, stdout_of};

fn signal(pid: u32, name: &str) {
    assert!(
        StdCommand::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn wait_for_lines(log: &Path, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(log)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < at_least
    {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_runs_on_one_folder_one_is_refused_and_every_cell_runs_once() {
    // Slow replies keep the first run going long enough for the second to meet it even on a
    // loaded machine.
    let server = SimServe::start(&["--latency-ms", "250"]);
    let study = default_study_against(&server);
    let first = spawn_run(&study, Stdio::piped);
    let second = spawn_run(&study, Stdio::piped);
    let log = run_dir(&study, "r").join("transcripts.jsonl");
    wait_for_lines(&log, 1);
    // A reader is never refused while the run writes.
    let status = blindfold()
        .arg("status")
        .arg(run_dir(&study, "r"))
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr_of(&status));
    // Another writer is refused too, before it reads or writes anything.
    let blind = blindfold()
        .arg("blind")
        .arg(run_dir(&study, "r"))
        .output()
        .unwrap();
    assert_clean_failure(&blind, "is in use by another blindfold command", &["(run)"]);

    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let refused: Vec<&std::process::Output> =
        outputs.iter().filter(|o| !o.status.success()).collect();
    assert_eq!(
        refused.len(),
        1,
        "exactly one run is refused; the runs said:\n{}",
        outputs
            .iter()
            .map(|o| format!("{}: {}", o.status, stderr_of(o)))
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    let message = stderr_of(refused[0]);
    assert!(
        message.contains("is in use by another blindfold command (pid ")
            && message.contains("(run)"),
        "{message}"
    );
    let ok: Vec<String> = records(&log)
        .iter()
        .filter(|r| r["status"] == "ok")
        .map(|r| r["cell_id"].as_str().unwrap().to_string())
        .collect();
    let distinct: BTreeSet<&String> = ok.iter().collect();
    assert_eq!(ok.len(), 180, "every cell ran exactly once");
    assert_eq!(distinct.len(), 180);
}

#[test]
fn sigterm_and_sighup_stop_as_gracefully_as_ctrl_c() {
    let server = SimServe::start(&["--latency-ms", "300"]);
    let study = default_study_against(&server);
    let log = run_dir(&study, "r").join("transcripts.jsonl");
    for name in ["TERM", "HUP"] {
        let before = std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
        let child = spawn_run(&study, Stdio::piped);
        wait_for_lines(&log, before + 6);
        signal(child.id(), name);
        let output = child.wait_with_output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains(&format!("Interrupted (SIG{name})")),
            "{stderr}"
        );
        assert!(
            stderr.contains("run the same command again to resume"),
            "{stderr}"
        );
        assert!(std::fs::read_to_string(&log).unwrap().ends_with('\n'));
    }
}

#[test]
fn a_key_echoed_by_the_server_reaches_no_file_and_no_log() {
    let server = FaultServer::start(|_| Behaviour::EchoHeaders { status: 400 });
    let key = "sk-echo-0123456789abcdefSECRET";
    let study = small_study(
        &server.base_url(),
        &[("m", "api_key_env = \"BLINDFOLD_ECHO_KEY\"")],
        2,
    );
    let output = blindfold()
        .arg("-vv")
        .arg("run")
        .arg(study.path())
        .args(["--run", "r"])
        .env("BLINDFOLD_ECHO_KEY", key)
        .output()
        .unwrap();
    let logs = format!("{}{}", stderr_of(&output), stdout_of(&output));
    assert!(
        logs.contains("[redacted]"),
        "the echo is logged, scrubbed: {logs}"
    );
    assert!(!logs.contains("SECRET"), "{logs}");
    let log = std::fs::read_to_string(run_dir(&study, "r").join("transcripts.jsonl")).unwrap();
    assert!(log.contains("Bearer [redacted]"), "{log}");
    for path in walk(&study.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains("SECRET"), "{} holds the key", path.display());
    }
}

#[test]
fn a_base_url_with_credentials_or_a_query_is_refused_without_echoing_it() {
    for (url, needle) in [
        (
            "http://user:hunter2pw@127.0.0.1:9/v1",
            "must not contain credentials",
        ),
        (
            "http://127.0.0.1:9/v1?key=hunter2pw",
            "must not contain a query string",
        ),
    ] {
        let study = small_study(url, &[("m", "")], 1);
        let output = blindfold()
            .arg("validate")
            .arg(study.path())
            .output()
            .unwrap();
        assert_clean_failure(&output, "study.toml", &[needle]);
        assert!(!stderr_of(&output).contains("hunter2pw"));
    }
}

fn listing(dir: &Path) -> BTreeSet<String> {
    walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// A copy of the demo's run folder, to be reported on again.
fn demo_run_copy() -> (tempfile::TempDir, PathBuf) {
    demo();
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("study/runs/demo");
    copy_round(&demo_run(), &run);
    (tmp, run)
}

#[test]
fn report_is_replaced_whole_even_when_killed_and_leftovers_of_dead_processes_go() {
    let (_tmp, run) = demo_run_copy();
    let report = run.join("report");
    let complete = listing(&report);
    assert!(complete.contains("results.json") && complete.contains("report.html"));
    // Leftovers of a report killed by an earlier version, and a file of no report.
    let dead = 4_194_304 + 99;
    std::fs::write(report.join(format!(".efficacy.csv.tmp-{dead}")), "x").unwrap();
    std::fs::create_dir_all(run.join(format!(".report.partial-{dead}/tables"))).unwrap();
    std::fs::write(report.join("stale.txt"), "not part of any report").unwrap();

    // Killed at points spread over a report's run: the folder is always one whole report.
    let started = Instant::now();
    let output = blindfold().arg("report").arg(&run).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let full = started.elapsed();
    assert_eq!(
        listing(&report),
        complete,
        "the stale file went with the old report"
    );
    assert!(!run.join(format!(".report.partial-{dead}")).exists());
    for step in 1..=6 {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
            .arg("report")
            .arg(&run)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * step / 6);
        let _ = child.kill();
        child.wait().unwrap();
        assert_eq!(listing(&report), complete, "after a kill at {step}/6");
        let results = std::fs::read_to_string(report.join("results.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&results).unwrap();
    }
    let output = blindfold().arg("report").arg(&run).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let hidden: Vec<String> = walk(&run)
        .iter()
        .map(|p| p.strip_prefix(&run).unwrap().display().to_string())
        .filter(|p| p.contains(".tmp-") || p.contains(".partial-") || p.contains(".old-"))
        .collect();
    assert_eq!(
        hidden,
        Vec::<String>::new(),
        "leftovers of killed reports are removed"
    );
    let quiet = blindfold()
        .arg("-q")
        .arg("report")
        .arg(&run)
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", stderr_of(&quiet));
    assert_eq!(stdout_of(&quiet), "", "-q silences the summary");
}

/// The demo's round (without its unblinded files) and its three raters' files.
fn round_and_ratings() -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    let (_, demo_out, _) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let round = tmp.path().join("round");
    copy_round(&demo_run().join("blind/round-1"), &round);
    let files = ["r1.csv", "r2.csv", "r3.csv"]
        .iter()
        .map(|name| {
            let to = tmp.path().join(name);
            std::fs::copy(demo_out.join("ratings").join(name), &to).unwrap();
            to
        })
        .collect();
    (tmp, round, files)
}

fn unblind(round: &Path, files: &[PathBuf], quiet: bool) -> std::process::Output {
    let mut command = blindfold();
    if quiet {
        command.arg("-q");
    }
    command
        .arg("unblind")
        .arg(round)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn unblind_numbers_crlf_lines_accepts_consensus_and_caps_its_errors() {
    let (_tmp, round, files) = round_and_ratings();
    let good = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let item = lines[2].split(',').nth(1).unwrap();
    let bad_row = lines[2].replacen(item, "ZZZZ-ZZZZ", 1);
    // CRLF with a BOM and a comment over two lines, as a spreadsheet writes it.
    let first = lines[1].replacen(",,", ",\"two\r\nlines\",", 1);
    assert_ne!(
        first, lines[1],
        "the first row has an empty comment to fill"
    );
    let mut crlf = vec![format!("\u{feff}{}", lines[0]), first, bad_row];
    crlf.extend(lines[3..].iter().map(|l| l.to_string()));
    std::fs::write(&files[0], crlf.join("\r\n") + "\r\n").unwrap();
    let output = unblind(&round, &files, false);
    assert_clean_failure(&output, "r1.csv:4", &["unknown item id 'ZZZZ-ZZZZ'"]);

    // Sixty bad rows: the first fifty are shown, and how many more there are.
    let mut many = vec![lines[0].to_string()];
    many.extend((0..60).map(|i| {
        lines[1].replacen(
            lines[1].split(',').nth(1).unwrap(),
            &format!("ZZZZ-{i:04}"),
            1,
        )
    }));
    std::fs::write(&files[0], many.join("\n") + "\n").unwrap();
    let stderr = stderr_of(&unblind(&round, &files, false));
    assert_eq!(stderr.matches("unknown item id").count(), 50, "{stderr}");
    assert!(stderr.contains("... and 10 more"), "{stderr}");

    // The documented consensus rater may rate any item; a judge of no model may not.
    let consensus = lines[1].replacen("r1,", "consensus,", 1);
    assert!(consensus.starts_with("consensus,"), "{consensus}");
    let judge = lines[2].replacen("r1,", "judge-nobody,", 1);
    std::fs::write(&files[0], format!("{good}{judge}\n")).unwrap();
    let output = unblind(&round, &files, false);
    assert_clean_failure(&output, "r1.csv:", &["rater 'judge-nobody' is a judge"]);
    std::fs::write(&files[0], format!("{good}{consensus}\n")).unwrap();
    let output = unblind(&round, &files, true);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "", "-q silences the summary");
    let unblinded = std::fs::read_to_string(round.join("unblinded.csv")).unwrap();
    assert!(
        unblinded.contains(",consensus,") || unblinded.contains("consensus"),
        "consensus rows are kept"
    );
}

#[test]
fn every_unknown_table_and_key_is_named_and_a_folder_is_not_a_study_file() {
    let study = crate::util::StudyDir::new();
    study.edit(
        "study.toml",
        "temperature = 0.7\nmax_tokens = 900\n",
        "temprature = 0.7\nmax_tokens = 900\n",
    );
    let mut text = study.read("study.toml");
    text.push_str("\n[reporting]\nstyle = \"long\"\n\n[extras]\nx = 1\n");
    study.write("study.toml", &text);
    let lines = text.lines().count();
    let output = blindfold()
        .arg("validate")
        .arg(study.path())
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_clean_failure(
        &output,
        "study.toml:",
        &[
            "unknown field `temprature`",
            "unknown field `reporting`",
            "unknown field `extras`",
        ],
    );
    assert!(
        stderr.contains(&format!(
            "study.toml:{}:2: unknown field `extras`",
            lines - 1
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "study.toml:{}:2: unknown field `reporting`",
            lines - 4
        )),
        "{stderr}"
    );

    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(folder.path().join("study.toml")).unwrap();
    let output = blindfold()
        .arg("validate")
        .arg(folder.path())
        .output()
        .unwrap();
    assert_clean_failure(&output, "study.toml", &["it is a folder, not a file"]);
}

#[test]
fn a_retry_after_beyond_the_cap_says_why_the_cell_was_given_up() {
    let server = FaultServer::start(|_| Behaviour::Status {
        status: 429,
        retry_after: Some("86400"),
    });
    let study = small_study(&server.base_url(), &[("m", "")], 1);
    let output = run(&study, &[]);
    let stderr = stderr_of(&output);
    assert!(stderr.contains("asked to wait 86400 s"), "{stderr}");
    let records = records(&run_dir(&study, "r").join("transcripts.jsonl"));
    let message = records[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("more than the 15 minutes blindfold waits"),
        "{records:?}"
    );
}

#[test]
fn a_log_that_cannot_be_written_changes_nothing() {
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::ZERO,
    });
    let study = small_study(&server.base_url(), &[("m", "")], 1);
    let output = run(&study, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let folder = run_dir(&study, "r");
    let manifest = std::fs::read(folder.join("manifest.json")).unwrap();
    // A log that cannot be opened for writing (a link into a folder that is gone: permissions
    // would not stop the root user tests may run as).
    let log = folder.join("transcripts.jsonl");
    std::fs::rename(&log, folder.join("moved.jsonl")).unwrap();
    std::os::unix::fs::symlink(folder.join("gone/transcripts.jsonl"), &log).unwrap();
    study.edit(
        "prompts/small.toml",
        "Question number 0?",
        "Question number 0, edited?",
    );
    let output = run(&study, &[]);
    assert_clean_failure(&output, "transcripts.jsonl", &[]);
    assert_eq!(
        std::fs::read(folder.join("manifest.json")).unwrap(),
        manifest,
        "the manifest is not rewritten before the log can be written"
    );
}

#[test]
fn sigterm_stops_a_judge_gracefully_and_it_resumes() {
    let study = crate::util::StudyDir::with_prompts(1);
    let run_folder = study.run("r");
    let blind = blindfold()
        .arg("blind")
        .arg(&run_folder)
        .args(["--seed", "4"])
        .output()
        .unwrap();
    assert!(blind.status.success(), "{}", stderr_of(&blind));
    let round = run_folder.join("blind/round-1");
    let server = FaultServer::start(|_| Behaviour::Ok {
        delay: Duration::from_millis(400),
    });
    let judges = small_study(&server.base_url(), &[("m", "")], 1);
    let judge = || {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"));
        command
            .arg("judge")
            .arg(&round)
            .args(["--model", "m", "--concurrency", "2", "--study"])
            .arg(judges.path());
        command
    };
    let child = judge()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = round.join("judges/judge-m.jsonl");
    wait_for_lines(&log, 2);
    signal(child.id(), "TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = stderr_of(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("Interrupted (SIGTERM)"), "{stderr}");
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let done = text.lines().count();
    assert!(text.ends_with('\n') && (2..12).contains(&done), "{done}");
    // The fault server answers in prose, so no answer is usable and every item is asked again;
    // the interrupted run's records are kept beside the new ones.
    let again = judge().output().unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", stderr_of(&again));
    assert_eq!(records(&log).len(), done + 12);
}
