//! `blindfold collect`: the server over real loopback HTTP — access, forged writes, durability
//! across `kill -9`, read-only mode, the completion page, and ratings out through `export` and
//! `unblind`. (The form itself, in a browser, is in collect_browser.rs.)

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindfold::collect::db::{Db, RoundId, SavedChange};
use serde_json::{Value, json};

use crate::browser::{blind, item_ids, levels, planned_score, read_json, small_run};
use crate::util::{StudyDir, assert_clean_failure, blindfold, stderr_of, stdout_of};

/// A `blindfold collect` child; killed (-9) on drop if still running.
pub(crate) struct Collector {
    pub dir: PathBuf,
    pub base: String,
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
    /// The threads copying the server's output; joined on exit so that nothing it printed last
    /// is still in the pipe when a test reads `stderr`.
    drains: Vec<std::thread::JoinHandle<()>>,
}

fn drain(
    stream: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

impl Collector {
    /// Serves `dir` on a free loopback port with `args`.
    pub fn start(dir: &Path, args: &[&str]) -> Collector {
        let mut c = Collector {
            dir: dir.to_path_buf(),
            base: String::new(),
            port: 0,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
            stdout: Arc::default(),
            stderr: Arc::default(),
            drains: Vec::new(),
        };
        c.spawn("127.0.0.1:0");
        c
    }

    fn spawn(&mut self, addr: &str) {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
            .arg("collect")
            .arg(&self.dir)
            .args(["--addr", addr])
            .args(&self.args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let err = drain(child.stderr.take().unwrap(), self.stderr.clone());
        self.stdout.lock().unwrap().push_str(&line);
        let out = drain(out, self.stdout.clone());
        self.drains.extend([err, out]);
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| {
                std::thread::sleep(Duration::from_millis(300));
                panic!(
                    "no address in {line:?}; stderr: {}",
                    self.stderr.lock().unwrap()
                )
            })
            .to_string();
        self.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        self.base = format!("http://{addr}");
        self.child = Some(child);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The token of `rater` (or of the dashboard, for `None`) from the tokens file.
    pub fn token(&self, rater: Option<&str>) -> String {
        let text = std::fs::read_to_string(self.dir.join("collect/tokens.txt")).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| match rater {
                Some(r) => f[0] == "rater" && f[1] == r,
                None => f[0] == "dashboard",
            })
            .unwrap_or_else(|| panic!("no token for {rater:?} in\n{text}"))[2]
            .to_string()
    }

    fn pid(&self) -> String {
        self.child.as_ref().expect("running").id().to_string()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = StdCommand::new("kill")
            .args(["-TERM", &self.pid()])
            .status();
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                for handle in self.drains.drain(..) {
                    let _ = handle.join();
                }
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        let _ = StdCommand::new("kill")
            .args(["-KILL", &self.pid_of(&child)])
            .status();
        let _ = child.wait();
    }

    fn pid_of(&self, child: &Child) -> String {
        child.id().to_string()
    }

    /// Starts again on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        let addr = format!("127.0.0.1:{}", self.port);
        self.spawn(&addr);
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A small run blinded with `args`, and its packets copied into a folder of their own (what
/// `collect` serves). Returns (study, round folder, served folder).
pub(crate) fn served_round(prompts: usize, args: &[&str]) -> (StudyDir, PathBuf, PathBuf) {
    let (study, run) = small_run(prompts);
    let round = blind(&run, args);
    let served = serve_copy(&study, &round);
    (study, round, served)
}

/// A folder to serve: a copy of the round's packets, away from its key.
pub(crate) fn serve_copy(study: &StudyDir, round: &Path) -> PathBuf {
    let served = study.tmp.path().join("served");
    std::fs::create_dir_all(served.join("packets")).unwrap();
    for entry in std::fs::read_dir(round.join("packets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), served.join("packets").join(entry.file_name())).unwrap();
    }
    served
}

/// Runs one client call to completion (the tests themselves are synchronous).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// (status, body) of a GET.
fn get(url: &str) -> (u16, String) {
    block_on(async {
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// (status, JSON body) of a POST with `headers` (a JSON content type unless replaced).
fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    block_on(async {
        let mut request = reqwest::Client::new().post(url).body(body.to_string());
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

/// A rater's open page: its session and secret, and the state it started from.
pub(crate) struct Page {
    pub token: String,
    pub session: i64,
    pub csrf: String,
    pub state: Value,
    pub html: String,
    seq: i64,
}

impl Page {
    pub fn open(c: &Collector, token: &str, query: &str) -> Page {
        let (status, html) = get(&c.url(&format!("/r/{token}{query}")));
        assert_eq!(status, 200, "{html}");
        let start = html
            .find("<script type=\"application/json\" id=\"hosted-data\">")
            .expect("the hosted form");
        let rest = &html[start..];
        let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
        let hosted: Value = serde_json::from_str(json).unwrap();
        Page {
            token: token.to_string(),
            session: hosted["session"].as_i64().unwrap_or(0),
            csrf: hosted["csrf"].as_str().unwrap_or_default().to_string(),
            state: hosted["state"].clone(),
            html,
            seq: 0,
        }
    }

    /// The next change numbers for `changes` as (item, field, value).
    pub fn batch(&mut self, changes: &[(String, String, String)]) -> String {
        let changes: Vec<Value> = changes
            .iter()
            .map(|(item, field, value)| {
                self.seq += 1;
                json!({"seq": self.seq, "item_id": item, "field": field, "value": value})
            })
            .collect();
        json!({"session": self.session, "changes": changes}).to_string()
    }

    pub fn send(&self, c: &Collector, body: &str) -> (u16, Value) {
        post(
            &c.url(&format!("/r/{}/api/save", self.token)),
            body,
            &[("x-blindfold-csrf", &self.csrf)],
        )
    }
}

/// Every answer of a rater's whole packet: (item, field, value), planned so that every level
/// is used, with comments and identity answers that a CSV must quote.
fn planned_answers(packet: &Value, offset: usize) -> Vec<(String, String, String)> {
    let levels = levels(packet);
    let dims: Vec<String> = packet["rubric"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let mut out = Vec::new();
    for (i, item) in item_ids(packet).into_iter().enumerate() {
        for (k, dim) in dims.iter().enumerate() {
            out.push((
                item.clone(),
                format!("score:{dim}"),
                planned_score(&levels, i + offset, k).to_string(),
            ));
        }
        match i % 3 {
            0 => {
                out.push((
                    item.clone(),
                    "comment".into(),
                    format!("item {i}, \"quoted\"\nsecond line"),
                ));
                out.push((item.clone(), "identity".into(), "no".into()));
            }
            1 => {
                out.push((item.clone(), "identity".into(), "guess".into()));
                out.push((item.clone(), "guess".into(), " the chatty one ".into()));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn collect_refuses_a_folder_holding_the_key_and_one_without_packets() {
    let (_study, round, served) = served_round(1, &["--seed", "5"]);
    let output = blindfold().arg("collect").arg(&round).output().unwrap();
    assert_clean_failure(
        &output,
        &round.display().to_string(),
        &["key.json", "cp -r"],
    );
    let empty = served.parent().unwrap().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = blindfold().arg("collect").arg(&empty).output().unwrap();
    assert_clean_failure(&output, "empty", &["packets/manifest.json"]);
    // A copied key in the served folder is refused as well.
    std::fs::copy(round.join("key.json"), served.join("packets/key.json")).unwrap();
    let output = blindfold().arg("collect").arg(&served).output().unwrap();
    assert_clean_failure(&output, "packets", &["key.json"]);
    assert!(!served.join("collect").exists(), "nothing written");
}

/// Three raters' whole packets over HTTP, a retried request among them, a graceful stop; then
/// `unblind` straight from the database and from `collect export`'s files agree byte for byte.
#[test]
fn unblind_from_the_database_and_from_the_export_are_identical() {
    let (_study, round, served) = served_round(2, &["--seed", "11"]);
    let mut c = Collector::start(&served, &[]);
    let mut saved = 0;
    for (n, rater) in ["r1", "r2", "r3"].into_iter().enumerate() {
        let packet = read_json(&served.join(format!("packets/{rater}.json")));
        let mut page = Page::open(&c, &c.token(Some(rater)), "");
        let answers = planned_answers(&packet, n);
        for chunk in answers.chunks(7) {
            let body = page.batch(chunk);
            let (status, reply) = page.send(&c, &body);
            assert_eq!(
                (status, &reply["stored"]),
                (200, &json!(chunk.len())),
                "{reply}"
            );
            saved += chunk.len();
        }
        // A request whose answer was lost is sent again: stored once.
        let again = page.batch(&answers[..3]);
        assert_eq!(page.send(&c, &again).0, 200);
        let (status, reply) = page.send(&c, &again);
        assert_eq!(
            (status, reply["stored"].clone(), reply["repeated"].clone()),
            (200, json!(0), json!(3))
        );
        saved += 3;
    }
    let status = c.stop();
    assert!(status.success(), "{}", c.stderr.lock().unwrap());
    assert!(c.stderr.lock().unwrap().contains("Stopped"));

    let output = blindfold()
        .args(["collect", "export"])
        .arg(&served)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("r2: 16 of 16 rated"),
        "{}",
        stdout_of(&output)
    );
    let export = served.join("collect/export");
    let sessions = std::fs::read_to_string(export.join("sessions.csv")).unwrap();
    assert_eq!(sessions.lines().count(), 4, "{sessions}");

    let unblind = |sources: &[PathBuf]| -> (String, String) {
        let output = blindfold()
            .arg("unblind")
            .arg(&round)
            .args(sources)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        (
            std::fs::read_to_string(round.join("unblinded.csv")).unwrap(),
            std::fs::read_to_string(round.join("unblinded-notes.csv")).unwrap(),
        )
    };
    let from_db = unblind(&[served.join("collect/ratings.sqlite")]);
    let from_files = unblind(&["r1", "r2", "r3"].map(|r| export.join(format!("ratings-{r}.csv"))));
    assert_eq!(from_db, from_files);
    // 3 raters x 16 items x 4 dimensions, every score as sent.
    assert_eq!(from_db.0.lines().count(), 1 + 3 * 16 * 4);
    assert!(
        from_db
            .1
            .contains("\"item 0, \"\"quoted\"\"\nsecond line\""),
        "{}",
        from_db.1
    );
    assert!(
        from_db.1.contains(",the chatty one\n"),
        "the guess, trimmed"
    );
    assert_eq!(
        history(&served).len(),
        saved,
        "one row per answer, the repeat not twice"
    );
}

/// Every answer row of a served folder's database, read with the library.
pub(crate) fn history(served: &Path) -> Vec<SavedChange> {
    let manifest = std::fs::read(served.join("packets/manifest.json")).unwrap();
    let round: Value = serde_json::from_slice(&manifest).unwrap();
    let db = Db::open(
        &served.join("collect/ratings.sqlite"),
        &RoundId {
            round: round["round"].as_str().unwrap(),
            manifest_sha256: &blindfold::hash::sha256_hex(&manifest),
        },
        false,
    )
    .unwrap();
    db.history().unwrap()
}

/// Only an active token of the right kind opens anything; a rater's token reaches only that
/// rater's items; writes need the page's session, its secret, a JSON body and this origin;
/// revoked links stop working at once; repeated failures are rate limited.
#[test]
fn tokens_sessions_and_origins_guard_every_page_and_write() {
    let (_study, _round, served) = served_round(1, &["--seed", "4"]);
    let mut c = Collector::start(&served, &["--max-failures", "40"]);
    let (t1, t2, dash) = (c.token(Some("r1")), c.token(Some("r2")), c.token(None));
    let mut p1 = Page::open(&c, &t1, "");
    let p2 = Page::open(&c, &t2, "");
    let r1 = read_json(&served.join("packets/r1.json"));
    let r2 = read_json(&served.join("packets/r2.json"));
    let (mine, theirs) = (item_ids(&r1), item_ids(&r2));
    let only_theirs = theirs.iter().find(|i| !mine.contains(i)).unwrap().clone();
    assert!(
        !p1.html.contains(&only_theirs),
        "r1's page shows none of r2's other items"
    );

    // Pages: 404 for anything but the right kind of active token.
    for path in [
        "/".to_string(),
        "/r/".to_string(),
        "/r/bfr_00000000000000000000000000000000".to_string(),
        format!("/d/{t1}"),
        format!("/r/{dash}"),
        format!("/r/{t1}x"),
        format!("/r/{t1}/api/save"),
        "/packets/r1.json".to_string(),
        "/packets/manifest.json".to_string(),
    ] {
        let (status, body) = get(&c.url(&path));
        assert_eq!((status, body.as_str()), (404, "Not found\n"), "{path}");
    }
    let (status, body) = get(&c.url(&format!("/d/{dash}")));
    assert_eq!(status, 200);
    assert!(body.contains("r1") && !body.contains("<script"), "{body}");
    for hidden in [
        "sim-alpha",
        "sim-beta",
        "sim-gamma",
        "baseline",
        "verification",
    ] {
        assert!(
            !body.to_lowercase().contains(hidden),
            "{hidden} on the dashboard"
        );
    }

    let good = |page: &mut Page, item: &str| {
        page.batch(&[(
            item.to_string(),
            "score:helpfulness".to_string(),
            "3".to_string(),
        )])
    };
    let save_url = |t: &str| c.url(&format!("/r/{t}/api/save"));
    // Another rater's item, with my own token and session.
    let body = good(&mut p1, &only_theirs);
    let (status, reply) = p1.send(&c, &body);
    assert_eq!(status, 400);
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("not in this rater's packet")
    );
    // My session with another rater's token, or another's secret.
    let body = good(&mut p1, &mine[0]);
    let (status, _) = post(&save_url(&t2), &body, &[("x-blindfold-csrf", &p1.csrf)]);
    assert_eq!(status, 403);
    let (status, _) = post(&save_url(&t1), &body, &[("x-blindfold-csrf", &p2.csrf)]);
    assert_eq!(status, 403);
    // Forged requests: no secret, another site, not JSON.
    let (status, _) = post(&save_url(&t1), &body, &[]);
    assert_eq!(status, 403);
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("content-type", "text/plain")],
    ] {
        let mut all = headers.clone();
        all.push(("x-blindfold-csrf", &p1.csrf));
        let (status, _) = post(&save_url(&t1), &body, &all);
        assert!([403, 415].contains(&status), "{headers:?}: {status}");
    }
    // The page's own request passes, same-origin headers and all.
    let origin = c.base.clone();
    let (status, reply) = post(
        &save_url(&t1),
        &body,
        &[
            ("x-blindfold-csrf", &p1.csrf),
            ("origin", &origin),
            ("sec-fetch-site", "same-origin"),
        ],
    );
    assert_eq!((status, &reply["ok"]), (200, &json!(true)), "{reply}");
    // Too large a request.
    let huge = json!({"session": p1.session, "changes": [{"seq": 999, "item_id": mine[0],
        "field": "comment", "value": "x".repeat(300_000)}]})
    .to_string();
    assert_eq!(p1.send(&c, &huge).0, 413);
    let long = json!({"session": p1.session, "changes": [{"seq": 998, "item_id": mine[0],
        "field": "comment", "value": "x".repeat(20_001)}]})
    .to_string();
    assert_eq!(p1.send(&c, &long).0, 400);

    // Revoking r1 (while the server runs) closes the link and the open page's session at once;
    // a re-issued link works.
    let output = blindfold()
        .args(["collect", "links"])
        .arg(&served)
        .args(["--revoke", "r1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(get(&c.url(&format!("/r/{t1}"))).0, 404);
    let body = good(&mut p1, &mine[1]);
    assert_eq!(p1.send(&c, &body).0, 404);
    let output = blindfold()
        .args(["collect", "links"])
        .arg(&served)
        .args(["--issue", "r1", "--public-url", "https://rate.example.org/"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let new = c.token(Some("r1"));
    assert_ne!(new, t1);
    assert!(stdout_of(&output).contains(&format!("https://rate.example.org/r/{new}")));
    let page = Page::open(&c, &new, "");
    assert_eq!(
        page.state["items"][&mine[0]]["ratings"]["helpfulness"],
        json!("3"),
        "the new link continues the rater's answers"
    );
    let output = blindfold()
        .args(["collect", "links"])
        .arg(&served)
        .args(["--issue", "r9"])
        .output()
        .unwrap();
    assert_clean_failure(&output, "r9", &["not a rater of round b"]);

    // Rate limiting: past the quota of failures, even a good link gets 429 for a while.
    let mut statuses = Vec::new();
    for _ in 0..45 {
        statuses.push(get(&c.url("/r/bfr_00000000000000000000000000000000")).0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(get(&c.url(&format!("/r/{new}"))).0, 429);
    assert!(c.stop().success());
    let stderr = c.stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("too many failed attempts from 127.0.0.1"),
        "{stderr}"
    );
}

/// `kill -9` while raters save: every acknowledged answer is there after a restart, and the
/// requests a page sends again are stored once.
#[test]
fn acknowledged_answers_survive_kill_9_and_retries_are_stored_once() {
    let (_study, _round, served) = served_round(1, &["--seed", "8"]);
    let mut c = Collector::start(&served, &[]);
    let packet = read_json(&served.join("packets/r1.json"));
    let mut page = Page::open(&c, &c.token(Some("r1")), "");
    let answers = planned_answers(&packet, 0);
    let mut acknowledged = 0;
    let mut last = String::new();
    for chunk in answers.chunks(5) {
        last = page.batch(chunk);
        let (status, _) = page.send(&c, &last);
        assert_eq!(status, 200);
        acknowledged += chunk.len();
    }
    c.kill9();
    assert_eq!(
        history(&served).len(),
        acknowledged,
        "all there after kill -9"
    );
    c.restart();
    // The page did not see the last answer (say): it sends it again, with the same numbers.
    let (status, reply) = page.send(&c, &last);
    assert_eq!(
        (status, reply["stored"].clone()),
        (200, json!(0)),
        "{reply}"
    );
    let rows = history(&served);
    assert_eq!(rows.len(), acknowledged);
    let mut seen = std::collections::HashSet::new();
    assert!(
        rows.iter().all(|r| seen.insert((r.session, r.seq))),
        "none twice"
    );
    let reopened = Page::open(&c, &c.token(Some("r1")), "");
    let first = &item_ids(&packet)[0];
    assert_eq!(
        reopened.state["items"][first]["comment"],
        json!("item 0, \"quoted\"\nsecond line")
    );
    assert!(c.stop().success());
}

/// Crowd-platform parameters are recorded with the session; Finish leads to the completion
/// code; read-only mode shows the pages and refuses answers; the logs hold no token.
#[test]
fn crowd_sessions_completion_read_only_and_logs_without_tokens() {
    let (_study, _round, served) = served_round(1, &["--seed", "9"]);
    let mut c = Collector::start(
        &served,
        &[
            "--completion-code",
            "C0MPL3TE",
            "--completion-url",
            "https://app.prolific.com/submissions/complete?cc=C0MPL3TE",
            "-vv",
        ],
    );
    let token = c.token(Some("r2"));
    let mut page = Page::open(
        &c,
        &token,
        "?PROLIFIC_PID=5f1a&STUDY_ID=st9&SESSION_ID=se3&other=ignored",
    );
    let packet = read_json(&served.join("packets/r2.json"));
    let body = page.batch(&planned_answers(&packet, 0));
    assert_eq!(page.send(&c, &body).0, 200);
    let (status, done) = get(&c.url(&format!("/r/{token}/done")));
    assert_eq!(status, 200);
    assert!(done.contains("Not finished yet") && !done.contains("C0MPL3TE"));
    let (status, _) = post(
        &c.url(&format!("/r/{token}/api/finish")),
        &json!({"session": page.session}).to_string(),
        &[("x-blindfold-csrf", &page.csrf)],
    );
    assert_eq!(status, 200);
    let (_, done) = get(&c.url(&format!("/r/{token}/done")));
    assert!(done.contains(">C0MPL3TE</span>"), "{done}");
    assert!(done.contains("You rated 8 of 8 items"), "{done}");
    assert!(done.contains("http-equiv=\"refresh\""));
    let (_, dashboard) = get(&c.url(&format!("/d/{}", c.token(None))));
    for shown in ["5f1a", "st9", "se3", "8 / 8"] {
        assert!(dashboard.contains(shown), "{shown} in {dashboard}");
    }
    assert!(!dashboard.contains("ignored"));
    assert!(c.stop().success());
    let secrets = [
        c.token(Some("r1")),
        c.token(Some("r2")),
        c.token(None),
        page.csrf.clone(),
    ];
    let logs = c.stderr.lock().unwrap().clone();
    assert!(logs.contains("r2: opened the form"), "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret in the logs:\n{logs}"
        );
    }

    // Closed: pages still open (with the answers), writes are refused, no session is made.
    let mut closed = Collector::start(&served, &["--read-only"]);
    assert!(closed.stdout.lock().unwrap().contains("read-only"));
    let page = Page::open(&closed, &token, "");
    assert!(page.html.contains("\"read_only\":true"));
    assert_eq!(page.session, 0);
    let first = &item_ids(&packet)[0];
    assert_ne!(
        page.state["items"][first]["ratings"]["helpfulness"],
        json!("")
    );
    let (status, _) = post(
        &closed.url(&format!("/r/{token}/api/save")),
        &json!({"session": 1, "changes": []}).to_string(),
        &[("x-blindfold-csrf", &"0".repeat(32))],
    );
    assert_eq!(status, 409);
    assert!(closed.stop().success());
    let output = blindfold()
        .args(["collect", "export"])
        .arg(&served)
        .output()
        .unwrap();
    let sessions = std::fs::read_to_string(served.join("collect/export/sessions.csv")).unwrap();
    assert!(output.status.success());
    assert!(
        sessions.starts_with(
            "session,rater,started_at,last_seen,time_spent_s,finished_at,PROLIFIC_PID,SESSION_ID,STUDY_ID\n"
        ),
        "{sessions}"
    );
    assert!(sessions.contains(",5f1a,se3,st9\n"), "{sessions}");
    assert_eq!(sessions.lines().count(), 2, "read-only made no session");
}

/// Listening beyond loopback says so, and reminds of TLS.
#[test]
fn listening_on_every_interface_warns() {
    let (_study, _round, served) = served_round(1, &["--seed", "2"]);
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("blindfold"))
        .arg("collect")
        .arg(&served)
        .args(["--addr", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("warning: listening on 0.0.0.0"), "{stderr}");
    assert!(stderr.contains("TLS"), "{stderr}");
}
