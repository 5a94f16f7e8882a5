//! The rating form in a real browser: headless Chromium driven through ChromeDriver (fantoccini).
//!
//! Each test starts its own ChromeDriver on a port the driver picks itself, with a fresh Chromium
//! profile in a temp folder, and opens packets written by the real binary through `file://` URLs,
//! as a rater would. Without Chromium and ChromeDriver the tests skip with a message, unless the
//! `CI` environment variable is set: then they fail.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::util::{StudyDir, blindfold, edit_assistant_messages, stderr_of, stdout_of};

// ---------- the browser and its driver

fn on_path(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Chromium and ChromeDriver, or `None` (after saying why) when the tests should skip.
/// `BLINDFOLD_CHROMIUM` and `BLINDFOLD_CHROMEDRIVER` override where they are looked for.
pub(crate) fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium =
        on_path(&std::env::var("BLINDFOLD_CHROMIUM").unwrap_or_else(|_| "chromium".to_string()));
    let driver = on_path(
        &std::env::var("BLINDFOLD_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_string()),
    );
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing: Vec<&str> = [(c.is_none(), "chromium"), (d.is_none(), "chromedriver")]
                .into_iter()
                .filter_map(|(m, n)| m.then_some(n))
                .collect();
            let problem = format!(
                "{} not found; install chromium chromium-driver \
                 (Debian/Ubuntu: apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            if std::env::var_os("CI").is_some() {
                panic!("browser tests cannot run: {problem} (CI is set: they fail, not skip)");
            }
            eprintln!("skipping browser tests: {problem}");
            None
        }
    }
}

/// A running ChromeDriver; killed, with any browser it left behind, when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Driver {
    pub(crate) fn start(chromium: PathBuf, chromedriver: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let mut child = StdCommand::new(chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so that Drop can take the browsers down with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
                }
            }
        });
        let port = rx
            // Generous: with every core busy (the suite runs tests in parallel) ChromeDriver
            // has been seen to take over 20 s to start.
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .expect("chromedriver reports its port");
        Driver {
            child,
            port,
            chromium,
        }
    }

    /// A new browser session on the profile in `profile`; downloads go to `downloads`.
    pub(crate) async fn session(
        &self,
        profile: &Path,
        downloads: &Path,
        window: (u32, u32),
    ) -> Client {
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--hide-scrollbars",
                    format!("--window-size={},{}", window.0, window.1),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            }),
        );
        caps.insert("goog:loggingPrefs".to_string(), json!({ "browser": "ALL" }));
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session starts")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = StdCommand::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a browser test body with a session; the session is closed (and its browser quit) even
/// when the body panics, and then the panic goes on.
pub(crate) async fn with_session<F, Fut>(client: Client, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(body(client.clone())).await;
    let _ = client.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The browser's console since the last call (ChromeDriver's log endpoint).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

pub(crate) async fn console(c: &Client) -> Vec<Value> {
    match c.issue_cmd(BrowserLog).await.expect("the browser log") {
        Value::Array(entries) => entries,
        other => panic!("unexpected log answer: {other}"),
    }
}

/// Asserts that the page logged no warning or error (of its own, of the browser's, or a CSP
/// violation) since the last read of the console.
pub(crate) async fn assert_quiet_console(c: &Client) {
    // A warning of our own proves the console is being read.
    js(c, "console.warn('blindfold-test-sentinel')").await;
    let logged = console(c).await;
    let sentinel = |e: &&Value| {
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("blindfold-test-sentinel")
    };
    assert_eq!(
        logged.iter().filter(sentinel).count(),
        1,
        "console: {logged:#?}"
    );
    let problems: Vec<&Value> = logged
        .iter()
        .filter(|e| !sentinel(e))
        .filter(|e| e["level"] != "INFO" && e["level"] != "DEBUG")
        .collect();
    assert!(problems.is_empty(), "console: {problems:#?}");
}

// ---------- page helpers

pub(crate) async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {script}: {e}"))
}

pub(crate) async fn wait_until(c: &Client, what: &str, script: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        if js(c, script).await == Value::Bool(true) {
            return;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn file_url(path: &Path) -> String {
    reqwest::Url::from_file_path(path.canonicalize().unwrap())
        .unwrap()
        .to_string()
}

/// Opens a packet and waits for its script to be ready.
async fn open(c: &Client, packet: &Path) {
    c.goto(&file_url(packet)).await.unwrap();
    wait_ready(c).await;
}

pub(crate) async fn wait_ready(c: &Client) {
    wait_until(
        c,
        "the form to be ready",
        "return document.body && document.body.getAttribute('data-ready') === 'true'",
        Duration::from_secs(10),
    )
    .await;
}

/// Types `keys` as real key presses to whatever has focus (no element is targeted or clicked).
pub(crate) async fn press(c: &Client, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".to_string());
    for &k in keys {
        actions = actions
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
    }
    c.perform_actions(actions).await.unwrap();
}

pub(crate) async fn type_text(c: &Client, text: &str) {
    let keys: Vec<char> = text
        .chars()
        .map(|ch| if ch == '\n' { Key::Enter.into() } else { ch })
        .collect();
    press(c, &keys).await;
}

/// `{index, position, item_id, dimension}` of the shown item.
pub(crate) async fn current(c: &Client) -> Value {
    js(c, "return window.blindfold.current()").await
}

pub(crate) async fn current_index(c: &Client) -> usize {
    current(c).await["index"].as_u64().unwrap() as usize
}

async fn active_element_id(c: &Client) -> String {
    js(
        c,
        "var a = document.activeElement; return a ? (a.id || a.tagName + '.' + a.className) : ''",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn dialog_open(c: &Client, id: &str) -> bool {
    js(
        c,
        &format!("return document.getElementById('{id}').open === true"),
    )
    .await
        == Value::Bool(true)
}

/// Clicks the label of level `value` of question `dim` (0-based) of the shown item.
async fn click_level(c: &Client, dim: usize, value: i64) {
    let css = format!(
        "section.item.is-current fieldset.dim[data-dim-index=\"{dim}\"] input[value=\"{value}\"]"
    );
    let input = c.find(Locator::Css(&css)).await.unwrap();
    let label = input.find(Locator::XPath("..")).await.unwrap();
    label.click().await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn wait_for_file(path: &Path, timeout: Duration) -> Vec<u8> {
    let start = Instant::now();
    loop {
        // Chromium writes NAME.crdownload and renames it when the download is complete.
        if path.is_file() {
            return std::fs::read(path).unwrap();
        }
        assert!(
            start.elapsed() < timeout,
            "no download at {}; the folder holds {:?}",
            path.display(),
            std::fs::read_dir(path.parent().unwrap())
                .map(|d| d
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------- studies and packets

/// The default study cut to its first `prompts` prompts and run on the simulated models.
pub(crate) fn small_run(prompts: usize) -> (StudyDir, PathBuf) {
    let study = StudyDir::with_prompts(prompts);
    let run = study.run("r");
    (study, run)
}

pub(crate) fn blind(run: &Path, args: &[&str]) -> PathBuf {
    let output = blindfold()
        .arg("blind")
        .arg(run)
        .args(["--round", "b"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    run.join("blind/b")
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Level values of each rubric question, in order, from a packet's JSON.
pub(crate) fn levels(packet: &Value) -> Vec<Vec<i64>> {
    packet["rubric"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["levels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["value"].as_i64().unwrap())
                .collect()
        })
        .collect()
}

pub(crate) fn dimension_ids(packet: &Value) -> Vec<String> {
    packet["rubric"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

pub(crate) fn item_ids(packet: &Value) -> Vec<String> {
    packet["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_str().unwrap().to_string())
        .collect()
}

/// A spread of answers that uses every level: item `i`, question `k`.
pub(crate) fn planned_score(levels: &[Vec<i64>], i: usize, k: usize) -> i64 {
    let l = &levels[k];
    l[(i * 7 + k * 3 + i / 3) % l.len()]
}

/// `(item_id, dimension) -> score` of one rater in `unblinded.csv`.
pub(crate) fn unblinded_scores(round: &Path, rater: &str) -> BTreeMap<(String, String), i64> {
    let mut reader = csv::Reader::from_path(round.join("unblinded.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (r, i, d, s) = (col("rater"), col("item_id"), col("dimension"), col("score"));
    reader
        .records()
        .map(|rec| rec.unwrap())
        .filter(|rec| &rec[r] == rater)
        .map(|rec| {
            (
                (rec[i].to_string(), rec[d].to_string()),
                rec[s].parse().unwrap(),
            )
        })
        .collect()
}

// ---------- the tests

/// A rater's session: clicks and keys mixed, free text with CSV-hostile characters, answers that
/// survive a reload and a browser restart, a real download, and an import that keeps every score.
#[tokio::test]
async fn a_rater_rates_with_clicks_and_keys_and_the_download_unblinds() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (study, run) = small_run(1);
    let round = blind(&run, &["--seed", "7"]);
    let packets = round.join("packets");
    let packet = read_json(&packets.join("r1.json"));
    let levels = levels(&packet);
    let dims = dimension_ids(&packet);
    let ids = item_ids(&packet);
    let n = ids.len();
    assert_eq!(n, 8, "12 transcripts, each rated twice, over three raters");
    let plan: Vec<Vec<i64>> = (0..n)
        .map(|i| {
            (0..dims.len())
                .map(|k| planned_score(&levels, i, k))
                .collect()
        })
        .collect();
    let comment = "Cites the \"2019\" rule, then hedges,\nbut never says which country";
    let guess = "the terse one, maybe";

    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let html = packets.join("r1.html");
    let driver = Driver::start(chromium, &chromedriver);
    let prep = started.elapsed();

    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    let (html2, plan2, ids2) = (html.clone(), plan.clone(), ids.clone());
    with_session(c, move |c| async move {
        let (html, plan, ids) = (html2, plan2, ids2);
        open(&c, &html).await;
        // First visit: the instructions open by themselves; Esc closes them.
        assert!(dialog_open(&c, "instructions-dialog").await);
        press(&c, &[Key::Escape.into()]).await;
        wait_until(
            &c,
            "the instructions to close",
            "return !document.getElementById('instructions-dialog').open",
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(current_index(&c).await, 0);

        // Item 1 by mouse: a click on each answer's label, then the item's Next button.
        for (k, &v) in plan[0].iter().enumerate() {
            click_level(&c, k, v).await;
        }
        // The identity question by mouse too.
        click(
            &c,
            "section.item.is-current fieldset.identity input[value=\"no\"]",
        )
        .await;
        click(&c, "section.item.is-current .next-item").await;
        assert_eq!(current_index(&c).await, 1);

        // Item 2 by digits: each digit answers the highlighted question and moves down.
        let digits: Vec<char> = plan[1]
            .iter()
            .map(|v| char::from_digit(*v as u32, 10).unwrap())
            .collect();
        press(&c, &digits).await;
        assert_eq!(
            js(&c, "return window.blindfold.progress()").await,
            json!({"rated": 2, "total": n})
        );
        press(&c, &['j']).await;
        assert_eq!(current_index(&c).await, 2);

        // Item 3 out of order with the arrows, a wrong answer cleared and redone, a comment with a
        // comma, quotes and a newline, and a guess typed after `g`.
        let d = |v: i64| char::from_digit(v as u32, 10).unwrap();
        let p = &plan[2];
        press(&c, &[Key::Down.into(), Key::Down.into(), d(p[2]), d(p[3])]).await;
        assert_eq!(current(&c).await["dimension"], json!(dims_at(&c, 3).await));
        press(&c, &[Key::Up.into(), Key::Up.into(), Key::Up.into()]).await;
        assert_eq!(current(&c).await["dimension"], json!(dims_at(&c, 0).await));
        let wrong = levels_at(&c, 0)
            .await
            .into_iter()
            .find(|&v| v != p[0])
            .unwrap();
        press(&c, &[d(wrong), Key::Up.into(), Key::Backspace.into()]).await;
        assert_eq!(
            js(
                &c,
                "return window.blindfold.state().items[window.blindfold.current().item_id].ratings"
            )
            .await[dims_at(&c, 0).await.as_str()],
            json!("")
        );
        press(&c, &[d(p[0]), d(p[1])]).await;
        press(&c, &['c']).await;
        assert_eq!(active_element_id(&c).await, "comment-3");
        type_text(&c, comment).await;
        press(&c, &[Key::Escape.into(), 'g']).await;
        type_text(&c, guess).await;
        press(&c, &[Key::Escape.into()]).await;
        let state = js(&c, "return window.blindfold.state()").await;
        let shown = &state["items"][&ids[2]];
        assert_eq!(shown["comment"], json!(comment));
        assert_eq!(
            shown["identity"],
            json!("guess"),
            "typing a guess picks 'My guess'"
        );
        assert_eq!(shown["guess"], json!(guess));

        // Back with k, forward again with u (the next item not fully rated).
        press(&c, &['k']).await;
        assert_eq!(current_index(&c).await, 1);
        press(&c, &['u']).await;
        assert_eq!(current_index(&c).await, 3, "u skips the rated items");

        // The rest alternate: the native arrow keys on a radio group, clicks, digits.
        for (i, p) in plan.iter().enumerate().skip(3) {
            assert_eq!(current_index(&c).await, i);
            match i % 3 {
                0 => {
                    // The first question has focus on its first level: Right arrow selects the
                    // next level (the browser's own radio behaviour), then digits do the rest.
                    let first = levels_at(&c, 0).await;
                    let steps = first.iter().position(|&v| v == p[0]).unwrap();
                    let mut keys = Vec::new();
                    if steps == 0 {
                        keys.push(d(p[0]));
                    } else {
                        keys.extend(std::iter::repeat_n(char::from(Key::Right), steps));
                        keys.push(Key::Down.into());
                    }
                    keys.extend(p[1..].iter().map(|&v| d(v)));
                    press(&c, &keys).await;
                }
                1 => {
                    for (k, &v) in p.iter().enumerate() {
                        click_level(&c, k, v).await;
                    }
                }
                _ => {
                    let keys: Vec<char> = p.iter().map(|&v| d(v)).collect();
                    press(&c, &keys).await;
                }
            }
            if i + 1 < n {
                press(&c, &['j']).await;
            }
        }
        assert_eq!(
            js(&c, "return window.blindfold.progress()").await,
            json!({"rated": n, "total": n})
        );
        assert_eq!(
            js(
                &c,
                "return document.getElementById('progress-text').textContent"
            )
            .await,
            json!(format!("{n} of {n} rated"))
        );
        check_answers(&c, &ids, &plan, &dims_of(&c).await, comment, guess).await;

        // A reload keeps everything, and the instructions stay closed.
        c.refresh().await.unwrap();
        wait_ready(&c).await;
        assert!(!dialog_open(&c, "instructions-dialog").await);
        check_answers(&c, &ids, &plan, &dims_of(&c).await, comment, guess).await;
        assert_quiet_console(&c).await;
    })
    .await;

    // A new browser on the same profile still has the answers; the export is a real download.
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    let (html2, plan2, ids2, downloads2) =
        (html.clone(), plan.clone(), ids.clone(), downloads.clone());
    with_session(c, move |c| async move {
        let (html, plan, ids, downloads) = (html2, plan2, ids2, downloads2);
        open(&c, &html).await;
        assert!(!dialog_open(&c, "instructions-dialog").await);
        check_answers(&c, &ids, &plan, &dims_of(&c).await, comment, guess).await;
        click(&c, "#btn-export").await;
        assert!(
            !dialog_open(&c, "export-dialog").await,
            "nothing is missing, so no dialog"
        );
        let file = downloads.join("ratings-r1.csv");
        let downloaded = wait_for_file(&file, Duration::from_secs(10)).await;
        let expected = js(&c, "return window.blindfoldExportCsv()").await;
        assert_eq!(
            String::from_utf8(downloaded).unwrap(),
            expected.as_str().unwrap(),
            "the download is the export, byte for byte"
        );
        assert_eq!(
            std::fs::read_dir(&downloads).unwrap().count(),
            1,
            "one download, no leftovers"
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    let browser = started.elapsed() - prep;

    // The other raters' sheets come from simulated raters; the round un-blinds with all three.
    let mut sheets = vec![downloads.join("ratings-r1.csv")];
    for rater in ["r2", "r3"] {
        let out = study.tmp.path().join(format!("{rater}.csv"));
        let output = blindfold()
            .arg("rate")
            .arg("--simulate")
            .arg(packets.join(format!("{rater}.json")))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        sheets.push(out);
    }
    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .args(&sheets)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains(&format!("r1: {n} of {n} rated")));
    let scores = unblinded_scores(&round, "r1");
    let plan = &plan;
    let expected: BTreeMap<(String, String), i64> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, id)| {
            dims.iter()
                .enumerate()
                .map(move |(k, d)| ((id.clone(), d.clone()), plan[i][k]))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(scores, expected, "r1's scores, exactly as entered");
    let mut notes = csv::Reader::from_path(round.join("unblinded-notes.csv")).unwrap();
    let headers = notes.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let notes: Vec<csv::StringRecord> = notes
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[col("rater")] == "r1")
        .collect();
    let note = |i: usize| {
        notes
            .iter()
            .find(|r| r[col("item_id")] == ids[i])
            .unwrap_or_else(|| panic!("a note row for {}", ids[i]))
    };
    assert_eq!(&note(2)[col("comment")], comment);
    assert_eq!(&note(2)[col("identity_guess")], guess);
    assert_eq!(&note(0)[col("identity_guess")], "no");
    eprintln!(
        "browser: rater session {:.1}s (study, run and blind {:.1}s)",
        browser.as_secs_f64(),
        prep.as_secs_f64()
    );
}

async fn dims_of(c: &Client) -> Vec<String> {
    js(
        c,
        "return JSON.parse(document.getElementById('rubric-data').textContent)\
         .dimensions.map(function (d) { return d.id; })",
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|v| v.as_str().unwrap().to_string())
    .collect()
}

async fn dims_at(c: &Client, k: usize) -> String {
    dims_of(c).await[k].clone()
}

/// The level values of question `k` as the page shows them.
async fn levels_at(c: &Client, k: usize) -> Vec<i64> {
    js(
        c,
        &format!(
            "return Array.prototype.map.call(document.querySelectorAll(\
             'section.item.is-current fieldset.dim[data-dim-index=\"{k}\"] input[type=radio]'), \
             function (r) {{ return Number(r.value); }})"
        ),
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|v| v.as_i64().unwrap())
    .collect()
}

async fn check_answers(
    c: &Client,
    ids: &[String],
    plan: &[Vec<i64>],
    dims: &[String],
    comment: &str,
    guess: &str,
) {
    let state = js(c, "return window.blindfold.state()").await;
    for (i, id) in ids.iter().enumerate() {
        let item = &state["items"][id];
        for (k, dim) in dims.iter().enumerate() {
            assert_eq!(
                item["ratings"][dim],
                json!(plan[i][k].to_string()),
                "item {} {dim}",
                i + 1
            );
        }
        let (c_expected, identity, g) = match i {
            0 => ("", "no", ""),
            2 => (comment, "guess", guess),
            _ => ("", "", ""),
        };
        assert_eq!(item["comment"], json!(c_expected), "item {}", i + 1);
        assert_eq!(item["identity"], json!(identity), "item {}", i + 1);
        assert_eq!(item["guess"], json!(g), "item {}", i + 1);
    }
    assert_eq!(
        js(c, "return window.blindfold.missing().length").await,
        json!(0)
    );
}

/// Sixty items rated and exported with the keyboard alone: no clicks, no scripts that change
/// anything (scripts only read where focus is).
#[tokio::test]
async fn a_sixty_item_packet_can_be_rated_and_exported_by_keyboard_alone() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (study, run) = small_run(5);
    let round = blind(
        &run,
        &["--seed", "3", "--raters", "solo", "--per-item", "1"],
    );
    let packets = round.join("packets");
    let packet = read_json(&packets.join("solo.json"));
    let levels = levels(&packet);
    let ids = item_ids(&packet);
    let n = ids.len();
    assert_eq!(n, 60);
    let plan: Vec<Vec<i64>> = (0..n)
        .map(|i| {
            (0..levels.len())
                .map(|k| planned_score(&levels, i, k))
                .collect()
        })
        .collect();
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(chromium, &chromedriver);
    let prep = started.elapsed();
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    let (html, downloads2) = (packets.join("solo.html"), downloads.clone());
    let plan2 = plan.clone();
    with_session(c, move |c| async move {
        let (downloads, plan) = (downloads2, plan2);
        open(&c, &html).await;
        assert!(dialog_open(&c, "instructions-dialog").await);
        press(&c, &[Key::Escape.into()]).await;
        wait_until(
            &c,
            "the instructions to close",
            "return !document.getElementById('instructions-dialog').open \
             && document.activeElement.type === 'radio'",
            Duration::from_secs(5),
        )
        .await;
        // Per item: one digit per question (each moves to the next), then j; in batches of ten.
        for batch in plan.chunks(10) {
            let mut keys = Vec::new();
            for p in batch {
                keys.extend(p.iter().map(|&v| char::from_digit(v as u32, 10).unwrap()));
                keys.push('j');
            }
            press(&c, &keys).await;
        }
        assert_eq!(
            js(&c, "return window.blindfold.progress()").await,
            json!({"rated": 60, "total": 60})
        );
        assert_eq!(current_index(&c).await, 59);
        // `e` exports: complete packets download at once.
        press(&c, &['e']).await;
        let file = downloads.join("ratings-solo.csv");
        let downloaded = wait_for_file(&file, Duration::from_secs(10)).await;
        let expected = js(&c, "return window.blindfoldExportCsv()").await;
        assert_eq!(
            String::from_utf8(downloaded).unwrap(),
            expected.as_str().unwrap()
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    let browser = started.elapsed() - prep;

    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .arg(downloads.join("ratings-solo.csv"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("Un-blinded 60 ratings of 60 items"),
        "{}",
        stdout_of(&output)
    );
    let dims = dimension_ids(&packet);
    let scores = unblinded_scores(&round, "solo");
    assert_eq!(scores.len(), 60 * dims.len());
    for (i, id) in ids.iter().enumerate() {
        for (k, d) in dims.iter().enumerate() {
            assert_eq!(
                scores[&(id.clone(), d.clone())],
                plan[i][k],
                "item {} {d}",
                i + 1
            );
        }
    }
    eprintln!(
        "browser: 60 items by keyboard {:.1}s (study, run and blind {:.1}s)",
        browser.as_secs_f64(),
        prep.as_secs_f64()
    );
}

/// A loopback HTTP server that only counts the connections it gets.
/// A one-prompt run whose every answer ends in script, event handlers, a stylesheet and images
/// that would reach `port` if the page ever ran or loaded them.
pub(crate) fn hostile_run(port: u16) -> (StudyDir, PathBuf) {
    let (study, run) = small_run(1);
    let attack = format!(
        "Here is my answer.\n\n<script>window.__pwned=1</script>\n\n\
         <img src=x onerror=\"window.__pwned=2\">\n\n\
         ![x](http://127.0.0.1:{port}/beacon.png)\n\n\
         <img src=\"http://127.0.0.1:{port}/raw.png\">\n\n\
         <link rel=\"stylesheet\" href=\"http://127.0.0.1:{port}/x.css\">\n\nThat is all."
    );
    edit_assistant_messages(&run, |message| {
        let content = format!("{}\n\n{attack}", message["content"].as_str().unwrap());
        message["content"] = Value::String(content);
    });
    (study, run)
}

pub(crate) fn beacon_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read(&mut [0u8; 1024]);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, hits)
}

/// Hostile transcript text stays text: no script runs, no request leaves, nothing in the console.
#[tokio::test]
async fn hostile_transcripts_are_inert_in_the_browser() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (port, hits) = beacon_server();
    // The counter works: one probe of our own, so the page's share must be zero.
    drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (study, run) = hostile_run(port);
    let round = blind(
        &run,
        &["--seed", "1", "--raters", "solo", "--per-item", "1"],
    );
    let html = round.join("packets/solo.html");
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    with_session(c, move |c| async move {
        open(&c, &html).await;
        // Every item holds the attack; show a few of them, giving each time to misbehave.
        for index in [0, 1, 5] {
            assert_eq!(
                js(&c, &format!("return window.blindfold.goTo({index})")).await,
                json!(true)
            );
            tokio::time::sleep(Duration::from_millis(400)).await;
            let shown = c
                .find(Locator::Css("section.item.is-current .conversation"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for visible in [
                "<script>window.__pwned=1</script>".to_string(),
                "<img src=x onerror=\"window.__pwned=2\">".to_string(),
                format!("[image: http://127.0.0.1:{port}/beacon.png — x]"),
                format!("<img src=\"http://127.0.0.1:{port}/raw.png\">"),
            ] {
                assert!(
                    shown.contains(&visible),
                    "{visible:?} shown as text in:\n{shown}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            js(&c, "return typeof window.__pwned").await,
            json!("undefined")
        );
        assert_eq!(
            js(
                &c,
                "return document.querySelectorAll('#items script, #items img, #items iframe, \
                 #items [onerror], #items [src], #items a[href]').length"
            )
            .await,
            json!(0),
            "no active element inside the transcripts"
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the probe: the page made no requests"
    );
    eprintln!(
        "browser: hostile transcripts {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Issue 13's hostile corpus as raters read it: the visible text of every item, as headless
/// Chromium renders it, names no model, vendor or product to a keyword decoder that folds
/// look-alikes, spacing, leetspeak and reversed text.
#[tokio::test]
async fn a_hostile_corpus_shows_no_identity_in_the_rendered_page() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    // The corpus server runs its own runtime: build the round off this one.
    let (study, round) = tokio::task::spawn_blocking(|| {
        crate::adversarial::hostile_round(&["--raters", "solo", "--per-item", "1"])
    })
    .await
    .unwrap();
    let html = round.join("packets/solo.html");
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    with_session(c, move |c| async move {
        open(&c, &html).await;
        let count = js(
            &c,
            "return document.querySelectorAll('section.item').length",
        )
        .await;
        assert_eq!(count, json!(12));
        let mut failures = Vec::new();
        for index in 0..12 {
            assert_eq!(
                js(&c, &format!("return window.blindfold.goTo({index})")).await,
                json!(true)
            );
            let shown = c
                .find(Locator::Css("section.item.is-current .conversation"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(shown.contains("[REDACTED]"), "{shown}");
            let found = crate::adversarial::identities_in(&shown);
            if !found.is_empty() {
                failures.push(format!("item {index}: {found:?} in\n{shown}"));
            }
        }
        // The page around the items, too (title, instructions, labels).
        let page = js(
            &c,
            "return document.title + '\\n' + document.body.innerText",
        )
        .await;
        let found = crate::adversarial::identities_in(page.as_str().unwrap());
        if !found.is_empty() {
            failures.push(format!("page: {found:?}"));
        }
        assert!(failures.is_empty(), "{}", failures.join("\n----\n"));
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    eprintln!(
        "browser: hostile corpus {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Writes docs/images/rating-form.png: a realistic packet, one item partly rated.
/// Run with `cargo test --test integration rating_form_screenshot -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/images/rating-form.png; run on demand"]
async fn rating_form_screenshot() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let (study, run) = small_run(3);
    let round = blind(&run, &["--seed", "20260507"]);
    let html = round.join("packets/r1.html");
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    with_session(c, move |c| async move {
        open(&c, &html).await;
        // The window's size includes room for browser chrome, even headless: make the page
        // itself 1366x850.
        let chrome = js(
            &c,
            "return [window.outerWidth - window.innerWidth, \
             window.outerHeight - window.innerHeight]",
        )
        .await;
        let extra = |i: usize| chrome[i].as_u64().unwrap() as u32;
        c.set_window_size(1366 + extra(0), 850 + extra(1))
            .await
            .unwrap();
        press(&c, &[Key::Escape.into()]).await;
        // Items 1 to 3 rated, item 4 half way: two answers given, the third highlighted.
        press(
            &c,
            &[
                '2', '1', '1', '4', 'j', '1', '1', '2', '3', 'j', '2', '2', '1', '4', 'j', '2', '1',
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.unwrap();
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/rating-form.png");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(&out, png).unwrap();
        eprintln!("wrote {}", out.display());
    })
    .await;
}

/// A part of a split packet is a complete form in the browser: it says which part it is, and
/// its export downloads under the part's own name, byte for byte what the form exports.
#[tokio::test]
async fn a_part_of_a_packet_exports_under_its_own_name() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let (study, run) = small_run(1);
    let round = blind(&run, &["--seed", "7", "--max-items-per-packet", "3"]);
    let packets = round.join("packets");
    let part = read_json(&packets.join("r1-part-02.json"));
    let n = item_ids(&part).len();
    assert!((2..=3).contains(&n), "8 items in 3 parts: {n}");
    let html = packets.join("r1-part-02.html");
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    let downloads2 = downloads.clone();
    with_session(c, move |c| async move {
        open(&c, &html).await;
        assert!(dialog_open(&c, "instructions-dialog").await);
        press(&c, &[Key::Escape.into()]).await;
        wait_until(
            &c,
            "the instructions to close",
            "return !document.getElementById('instructions-dialog').open",
            Duration::from_secs(5),
        )
        .await;
        let label = js(
            &c,
            "return document.querySelector('.meta .part').textContent",
        )
        .await;
        assert_eq!(label, json!("Part 2 of 3"));
        // Nothing rated: the export asks first, then downloads the empty sheet.
        click(&c, "#btn-export").await;
        assert!(dialog_open(&c, "export-dialog").await);
        click(&c, "#export-anyway").await;
        let file = downloads2.join("ratings-r1-part-02.csv");
        let downloaded = wait_for_file(&file, Duration::from_secs(10)).await;
        let expected = js(&c, "return window.blindfoldExportCsv()").await;
        assert_eq!(
            String::from_utf8(downloaded).unwrap(),
            expected.as_str().unwrap()
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
}
