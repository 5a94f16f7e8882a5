//! report/explorer.html in headless Chromium: reached from report.html's tables and figures by
//! mouse and keyboard, filtered and sorted against numbers computed here from unblinded.csv,
//! read side by side; a large explorer split into parts behind an index, reached the same way;
//! and hostile transcripts and comments that stay inert. The harness is
//! tests/browser.rs's (ChromeDriver through fantoccini; CI=true makes these tests mandatory).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{
    Driver, assert_quiet_console, beacon_server, blind, file_url, hostile_run, js, press, tools,
    type_text, wait_until, with_session,
};
use crate::util::{blindfold, stderr_of};

async fn wait_explorer(c: &Client) {
    wait_until(
        c,
        "the explorer to be ready",
        "return location.pathname.endsWith('explorer.html') && document.body \
         && document.body.dataset.ready === 'true'",
        Duration::from_secs(20),
    )
    .await;
}

async fn state(c: &Client) -> Value {
    js(c, "return window.explorer.state()").await
}

async fn listed(c: &Client) -> Vec<String> {
    serde_json::from_value(js(c, "return window.explorer.listed()").await).unwrap()
}

/// (model, scaffold, prompt) of a cell, as the page has it.
async fn condition_of(c: &Client, cell: &str) -> (String, String, String) {
    serde_json::from_value(
        js(
            c,
            &format!("return window.explorer.conditionOf({})", json!(cell)),
        )
        .await,
    )
    .unwrap()
}

/// Per cell: model, scaffold and each human rater's score per dimension, from unblinded.csv.
struct Truth {
    condition: BTreeMap<String, (String, String, String)>,
    scores: BTreeMap<(String, String), Vec<f64>>,
}

fn truth(round: &Path) -> Truth {
    let mut reader = csv::Reader::from_path(round.join("unblinded.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (cell, rater, dim, score) = (col("cell_id"), col("rater"), col("dimension"), col("score"));
    let (model, scaffold, prompt) = (col("model"), col("scaffold"), col("prompt"));
    let mut t = Truth {
        condition: BTreeMap::new(),
        scores: BTreeMap::new(),
    };
    for rec in reader.records() {
        let rec = rec.unwrap();
        t.condition.insert(
            rec[cell].to_string(),
            (
                rec[model].to_string(),
                rec[scaffold].to_string(),
                rec[prompt].to_string(),
            ),
        );
        if rec[rater].starts_with("judge-") {
            continue;
        }
        t.scores
            .entry((rec[cell].to_string(), rec[dim].to_string()))
            .or_default()
            .push(rec[score].parse().unwrap());
    }
    t
}

impl Truth {
    fn mean(&self, cell: &str, dim: &str) -> Option<f64> {
        let s = self.scores.get(&(cell.to_string(), dim.to_string()))?;
        Some(s.iter().sum::<f64>() / s.len() as f64)
    }

    fn spread(&self, cell: &str, dim: &str) -> Option<f64> {
        let s = self.scores.get(&(cell.to_string(), dim.to_string()))?;
        (s.len() >= 2).then(|| {
            s.iter().cloned().fold(f64::MIN, f64::max) - s.iter().cloned().fold(f64::MAX, f64::min)
        })
    }

    fn cells_where(
        &self,
        keep: impl Fn(&str, &(String, String, String)) -> bool,
    ) -> BTreeSet<String> {
        self.condition
            .iter()
            .filter(|(cell, cond)| keep(cell, cond))
            .map(|(cell, _)| cell.clone())
            .collect()
    }
}

fn set(cells: &[String]) -> BTreeSet<String> {
    cells.iter().cloned().collect()
}

/// The whole way through, on the demo's report: a table cell clicked and a table link taken by
/// keyboard, an effect point clicked; filters by mouse and keys checked against unblinded.csv;
/// the list walked by keys; the side-by-side view by mouse and keys.
#[tokio::test]
async fn the_explorer_is_reached_from_the_report_filtered_and_compared_by_mouse_and_keyboard() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (tmp, _, _) = crate::analysis::demo();
    let run = crate::analysis::run_dir();
    let report = run.join("report/report.html");
    let truth = truth(&run.join("blind/round-1"));
    // Never beside the packets: only the report folder holds it.
    assert!(run.join("report/explorer.html").is_file());
    for entry in std::fs::read_dir(run.join("blind/round-1/packets")).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().contains("explorer"), "{name:?}");
    }
    let profile = tmp.path().join("explorer-profile");
    let downloads = tmp.path().join("explorer-downloads");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1400, 900)).await;
    let report_url = file_url(&report);
    with_session(c, move |c| async move {
        // 1. A cell of an efficacy table, clicked.
        c.goto(&report_url).await.unwrap();
        let link = c
            .find(Locator::Css("table a.explore[href*='s=verification&']"))
            .await
            .unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        link.click().await.unwrap();
        wait_explorer(&c).await;
        let s = state(&c).await;
        assert_eq!((s["m"].as_str(), s["s"].as_str()), (Some("sim-alpha"), Some("verification")), "{href}");
        assert_eq!(s["d"], json!("verification_support"));
        let expected = truth.cells_where(|_, (m, sc, _)| m == "sim-alpha" && sc == "verification");
        assert_eq!(expected.len(), 15);
        assert_eq!(set(&listed(&c).await), expected);
        assert_quiet_console(&c).await;

        // 2. The first table link of the report, by keyboard: Tab reaches it, Enter follows it.
        c.goto(&report_url).await.unwrap();
        let first = js(
            &c,
            "return document.querySelector('a.explore[href]').getAttribute('href')",
        )
        .await;
        let mut tabs = 0;
        while js(&c, "return document.activeElement.getAttribute('href')").await != first {
            press(&c, &[Key::Tab.into()]).await;
            tabs += 1;
            assert!(tabs < 40, "Tab never reached {first}");
        }
        press(&c, &[Key::Enter.into()]).await;
        wait_explorer(&c).await;
        let s = state(&c).await;
        let first = first.as_str().unwrap();
        assert!(first.contains(&format!("m={}", s["m"].as_str().unwrap())), "{first}");
        assert!(first.contains(&format!("s={}", s["s"].as_str().unwrap())), "{first}");
        for cell in listed(&c).await {
            let (m, sc, _) = condition_of(&c, &cell).await;
            assert_eq!((m.as_str(), sc.as_str()), (s["m"].as_str().unwrap(), s["s"].as_str().unwrap()));
        }

        // 3. A point of an effects figure, clicked.
        c.goto(&report_url).await.unwrap();
        let point = c
            .find(Locator::Css("figure svg a[href*='m=sim-beta&s=steerability&']"))
            .await
            .unwrap();
        point.click().await.unwrap();
        wait_explorer(&c).await;
        let s = state(&c).await;
        assert_eq!((s["m"].as_str(), s["s"].as_str()), (Some("sim-beta"), Some("steerability")));
        assert_eq!(listed(&c).await.len(), 15);

        // 4. Filters by mouse: clear, then a model and a score range on a dimension.
        c.find(Locator::Id("f-reset")).await.unwrap().click().await.unwrap();
        assert_eq!(listed(&c).await.len(), truth.condition.len());
        c.find(Locator::Id("f-m")).await.unwrap().select_by_value("sim-gamma").await.unwrap();
        c.find(Locator::Id("f-d")).await.unwrap().select_by_value("verification_support").await.unwrap();
        c.find(Locator::Id("f-min")).await.unwrap().click().await.unwrap();
        type_text(&c, "1.5").await;
        let expected = truth.cells_where(|cell, (m, _, _)| {
            m == "sim-gamma" && truth.mean(cell, "verification_support").is_some_and(|v| v >= 1.5)
        });
        assert!(!expected.is_empty() && expected.len() < 60, "{}", expected.len());
        assert_eq!(set(&listed(&c).await), expected, "{}", state(&c).await);
        // The fragment holds the state: a reload shows the same list.
        c.refresh().await.unwrap();
        wait_explorer(&c).await;
        assert_eq!(set(&listed(&c).await), expected);
        assert_eq!(
            js(&c, "return document.getElementById('f-min').value").await,
            json!("1.5")
        );

        // 5. Filters by keyboard: disagreement typed, then sorted by it, descending.
        c.find(Locator::Id("f-reset")).await.unwrap().click().await.unwrap();
        js(&c, "document.getElementById('f-dis').focus()").await;
        type_text(&c, "1").await;
        let expected = truth.cells_where(|cell, _| {
            ["verification_support", "process_steerability", "uncertainty_disclosure", "helpfulness"]
                .iter()
                .any(|d| truth.spread(cell, d).is_some_and(|s| s >= 1.0))
        });
        assert_eq!(set(&listed(&c).await), expected);
        let r = js(&c, "return window.explorer.apply({d: 'process_steerability', sort: 'score', dir: 'desc'})").await;
        let sorted = listed(&c).await;
        assert_eq!(r["count"].as_u64().unwrap() as usize, sorted.len());
        let means: Vec<f64> = sorted
            .iter()
            .map(|cell| truth.mean(cell, "process_steerability").unwrap())
            .collect();
        assert!(means.windows(2).all(|w| w[0] >= w[1]), "{means:?}");
        assert!(sorted.iter().all(|cell| truth.spread(cell, "process_steerability").is_some_and(|s| s >= 1.0)));

        // 6. The list by keys: focus it, two rows down, Enter opens the third row.
        js(&c, "window.explorer.apply({m: '', d: '', dis: '', sort: '', dir: ''})").await;
        js(&c, "document.getElementById('list').focus()").await;
        press(&c, &[Key::Down.into(), Key::Down.into(), Key::Enter.into()]).await;
        let third = listed(&c).await[2].clone();
        let (m, sc, p) = condition_of(&c, &third).await;
        assert_eq!(state(&c).await["open"], json!(third));
        let heading = c.find(Locator::Css("#detail h2")).await.unwrap().text().await.unwrap();
        assert_eq!(heading, format!("{m} · {sc} · {p}"));
        let shown = c.find(Locator::Id("detail")).await.unwrap().text().await.unwrap();
        assert!(shown.contains("Mean of raters") && shown.contains("ASSISTANT"), "{shown}");

        // 7. Side by side by mouse: the prompt across scaffolds for the model.
        c.find(Locator::Id("compare-scaffolds")).await.unwrap().click().await.unwrap();
        let columns = js(&c, "return Array.from(document.querySelectorAll('#columns .column')).map(function (c) { return c.dataset.column; })").await;
        assert_eq!(columns, json!(["baseline", "verification", "steerability", "verification-steerability"]));
        assert_eq!(
            js(&c, "return document.querySelectorAll('#columns .column table.scores').length").await,
            json!(4),
            "the scores under each column"
        );
        // A system prompt shows (marked as such) where the scaffold has one.
        let text = c.find(Locator::Id("columns")).await.unwrap().text().await.unwrap();
        assert!(text.contains("RATERS NEVER SAW IT"), "{text}");
        // 8. ... and by keys: the focused "Columns" choice moved to models with the arrow key.
        assert_eq!(js(&c, "return document.activeElement.id").await, json!("c-by"));
        press(&c, &[Key::Down.into()]).await;
        wait_until(&c, "columns by model", "return window.explorer.state().by === 'model'", Duration::from_secs(5)).await;
        let columns = js(&c, "return Array.from(document.querySelectorAll('#columns .column')).map(function (c) { return c.dataset.column; })").await;
        assert_eq!(columns, json!(["sim-alpha", "sim-beta", "sim-gamma"]));
        let s = state(&c).await;
        assert_eq!((s["cs"].as_str(), s["cp"].as_str()), (Some(sc.as_str()), Some(p.as_str())));
        // Back to the list by keys.
        js(&c, "document.getElementById('c-back').focus()").await;
        press(&c, &[Key::Enter.into()]).await;
        assert_eq!(state(&c).await["view"], json!("list"));
        assert_eq!(js(&c, "return document.getElementById('compare').hidden").await, json!(true));
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    eprintln!("browser: explorer {:.1}s", started.elapsed().as_secs_f64());
}

/// Transcripts and a comment that carry script, handlers, images and a stylesheet: the explorer
/// shows them as text, runs nothing and fetches nothing.
#[tokio::test]
async fn hostile_transcripts_and_comments_are_inert_in_the_explorer() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (port, hits) = beacon_server();
    drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (study, run) = hostile_run(port);
    let round = blind(
        &run,
        &["--seed", "1", "--raters", "solo", "--per-item", "1"],
    );
    let ratings = study.tmp.path().join("solo.csv");
    let out = blindfold()
        .arg("rate")
        .arg("--simulate")
        .arg(round.join("packets/solo.json"))
        .arg("--out")
        .arg(&ratings)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // Every comment is an attack too.
    let comment = format!(
        "</script><script>window.__pwned=3</script><img src=\"http://127.0.0.1:{port}/comment.png\" onerror=\"window.__pwned=4\">"
    );
    let mut reader = csv::Reader::from_path(&ratings).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = headers.iter().position(|h| h == "comment").unwrap();
    let mut writer = csv::Writer::from_path(study.tmp.path().join("hostile.csv")).unwrap();
    writer.write_record(&headers).unwrap();
    for rec in reader.records() {
        let rec: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        let rec: Vec<&str> = rec
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i == at {
                    comment.as_str()
                } else {
                    f.as_str()
                }
            })
            .collect();
        writer.write_record(rec).unwrap();
    }
    writer.flush().unwrap();
    let hostile = study.tmp.path().join("hostile.csv");
    for args in [
        vec![Path::new("unblind"), &round, &hostile],
        vec![Path::new("report"), &run],
    ] {
        let out = blindfold().args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let explorer = run.join("report/explorer.html");
    let profile = study.tmp.path().join("profile");
    let downloads = study.tmp.path().join("downloads");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver.session(&profile, &downloads, (1366, 850)).await;
    with_session(c, move |c| async move {
        c.goto(&file_url(&explorer)).await.unwrap();
        wait_explorer(&c).await;
        let cells = listed(&c).await;
        assert_eq!(cells.len(), 12);
        // Open a few transcripts by keys, and the side-by-side view, giving each time to misbehave.
        js(&c, "document.getElementById('list').focus()").await;
        for _ in 0..3 {
            press(&c, &[Key::Enter.into()]).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let shown = c
                .find(Locator::Id("detail"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for visible in [
                "<script>window.__pwned=1</script>".to_string(),
                format!("[image: http://127.0.0.1:{port}/beacon.png — x]"),
                comment.clone(),
            ] {
                assert!(
                    shown.contains(&visible),
                    "{visible:?} shown as text in:\n{shown}"
                );
            }
            press(&c, &[Key::Down.into()]).await;
        }
        c.find(Locator::Id("compare-models"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The comment filter searches the attack's text as text.
        js(&c, "document.getElementById('c-back').click()").await;
        c.find(Locator::Id("f-q"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        type_text(&c, "<img src=").await;
        assert_eq!(listed(&c).await.len(), 12);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            js(&c, "return typeof window.__pwned").await,
            json!("undefined")
        );
        assert_eq!(
            js(
                &c,
                "return document.querySelectorAll('main script, main img, main iframe, main link, \
                 main [onerror], main [src], main a[href]').length"
            )
            .await,
            json!(0),
            "no active element among the transcripts"
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
        "browser: hostile explorer {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// A synthetic explorer of `n` transcripts: 5 models × 4 scaffolds × n/20 prompts, a system
/// prompt, a question and a ~2 KB markdown answer each, two human ratings and a judge's.
fn synthetic_explorer(n: usize) -> blindfold::report::explorer::Explorer {
    use blindfold::provider::Role;
    use blindfold::report::explorer::{Dimension, Explorer, Rating, Transcript};
    const WORDS: &[&str] = &[
        "verify",
        "source",
        "check",
        "the",
        "answer",
        "because",
        "policy",
        "tax",
        "dose",
        "court",
        "deadline",
        "assume",
        "confidence",
        "primary",
        "document",
        "calculate",
        "risk",
        "plan",
        "user",
        "step",
        "evidence",
        "official",
        "page",
        "note",
        "limit",
        "which",
        "could",
        "should",
    ];
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = move |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let text = |words: usize, next: &mut dyn FnMut(usize) -> usize| {
        let mut out = String::new();
        for i in 0..words {
            if i > 0 && i % 40 == 0 {
                out.push_str(if next(3) == 0 { "\n\n- " } else { "\n\n" });
            } else if i > 0 {
                out.push(' ');
            }
            let w = WORDS[next(WORDS.len())];
            if next(25) == 0 {
                out.push_str(&format!("**{w}**"));
            } else {
                out.push_str(w);
            }
        }
        out
    };
    let models: Vec<String> = (0..5).map(|i| format!("model-{i}")).collect();
    let scaffolds: Vec<String> = ["baseline", "verification", "steerability", "both"]
        .map(String::from)
        .to_vec();
    let prompts: Vec<String> = (0..n.div_ceil(20))
        .map(|i| format!("prompt-{i:04}"))
        .collect();
    let dims = [
        "verification_support",
        "process_steerability",
        "uncertainty_disclosure",
        "helpfulness",
    ];
    let mut transcripts = Vec::with_capacity(n);
    for k in 0..n {
        let (m, s, p) = (k % 5, (k / 5) % 4, k / 20);
        let ratings = ["r1", "r2", "judge-model-0"]
            .iter()
            .map(|rater| Rating {
                round: "round-1".into(),
                rater: rater.to_string(),
                judge: rater.starts_with("judge-"),
                scores: (0..4)
                    .map(|d| Some(((m + s + d + next(3)) % 3) as i64))
                    .collect(),
                comment: if next(4) == 0 {
                    text(12, &mut next)
                } else {
                    String::new()
                },
                identity_guess: String::new(),
            })
            .collect();
        transcripts.push(Transcript {
            cell_id: format!("{k:016x}"),
            model: models[m].clone(),
            scaffold: scaffolds[s].clone(),
            prompt: prompts[p].clone(),
            repeat: 0,
            messages: vec![
                (Role::System, text(60, &mut next)),
                (Role::User, text(40, &mut next)),
                (Role::Assistant, text(300, &mut next)),
            ],
            ratings,
        });
    }
    Explorer {
        study: "synthetic".into(),
        models,
        scaffolds,
        prompts,
        dimensions: dims
            .iter()
            .map(|d| Dimension {
                id: d.to_string(),
                min: 0,
                max: 2,
            })
            .collect(),
        transcripts,
    }
}

/// The benchmark of docs/performance.md: a 10,000-transcript explorer opened in headless
/// Chromium, its first paint and filtering timed. Run with benches/explorer.sh.
#[tokio::test]
#[ignore = "a benchmark; run with benches/explorer.sh"]
async fn explorer_benchmark() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let n: usize = std::env::var("EXPLORER_TRANSCRIPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().unwrap();
    let built = Instant::now();
    let html = blindfold::report::explorer::explorer_html(&synthetic_explorer(n));
    let build_s = built.elapsed().as_secs_f64();
    let page = tmp.path().join("explorer.html");
    std::fs::write(&page, &html).unwrap();
    let size_mb = html.len() as f64 / 1e6;
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver
        .session(
            &tmp.path().join("profile"),
            &tmp.path().join("dl"),
            (1400, 900),
        )
        .await;
    with_session(c, move |c| async move {
        let mut rows = Vec::new();
        for run in 0..3 {
            c.goto(&file_url(&page)).await.unwrap();
            wait_explorer(&c).await;
            wait_until(
                &c,
                "the list's paint",
                "return window.explorer.timings.list_painted_ms !== null",
                Duration::from_secs(20),
            )
            .await;
            let t = js(
                &c,
                "var p = performance.getEntriesByName('first-contentful-paint')[0]; \
                 return [p ? p.startTime : null, window.explorer.timings.list_painted_ms, \
                 window.explorer.timings.script_ms]",
            )
            .await;
            let mut filters = Vec::new();
            for change in [
                "{m: 'model-2'}",
                "{s: 'verification'}",
                "{d: 'verification_support', min: '1.5'}",
                "{dis: '2'}",
                "{q: 'deadline'}",
                "{sort: 'score', dir: 'desc'}",
                "{m: '', s: '', d: '', min: '', dis: '', q: '', sort: 'spread'}",
            ] {
                let r = js(&c, &format!("return window.explorer.apply({change})")).await;
                filters.push((change, r["ms"].as_f64().unwrap(), r["count"].as_u64().unwrap()));
            }
            // Opening a transcript parses the messages block the first time.
            let open = js(
                &c,
                "var t0 = performance.now(); document.querySelector('.row').click(); \
                 return performance.now() - t0",
            )
            .await;
            assert_eq!(listed(&c).await.len(), n);
            rows.push((run, t, filters, open));
        }
        eprintln!("explorer benchmark: {n} transcripts, {size_mb:.1} MB page, built in {build_s:.1} s");
        for (run, t, filters, open) in rows {
            eprintln!(
                "run {run}: first contentful paint {:.0} ms, list painted {:.0} ms, script {:.0} ms, first transcript opened {:.0} ms",
                t[0].as_f64().unwrap_or(f64::NAN),
                t[1].as_f64().unwrap_or(f64::NAN),
                t[2].as_f64().unwrap_or(f64::NAN),
                open.as_f64().unwrap_or(f64::NAN),
            );
            for (change, ms, count) in filters {
                eprintln!("  filter {change}: {ms:.1} ms ({count} listed)");
            }
        }
    })
    .await;
}

/// Writes docs/images/explorer-side-by-side.png: the demo's first prompt across the four
/// scaffolds for sim-alpha. Run with
/// `cargo test --test integration explorer_screenshot -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/images/explorer-side-by-side.png; run on demand"]
async fn explorer_screenshot() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let (tmp, _, _) = crate::analysis::demo();
    let explorer = crate::analysis::run_dir().join("report/explorer.html");
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver
        .session(
            &tmp.path().join("shot"),
            &tmp.path().join("dl"),
            (1500, 950),
        )
        .await;
    with_session(c, move |c| async move {
        c.goto(&file_url(&explorer)).await.unwrap();
        wait_explorer(&c).await;
        let first = listed(&c).await[0].clone();
        let (_, _, prompt) = condition_of(&c, &first).await;
        let chrome = js(
            &c,
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
        )
        .await;
        let extra = |i: usize| chrome[i].as_u64().unwrap() as u32;
        c.set_window_size(1500 + extra(0), 950 + extra(1)).await.unwrap();
        js(
            &c,
            &format!(
                "location.hash = 'view=compare&by=scaffold&cm=sim-alpha&cp=' + encodeURIComponent({})",
                json!(prompt)
            ),
        )
        .await;
        wait_until(
            &c,
            "the columns",
            "return document.querySelectorAll('#columns .column').length === 4",
            Duration::from_secs(5),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.unwrap();
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/explorer-side-by-side.png");
        std::fs::write(&out, png).unwrap();
        eprintln!("wrote {}", out.display());
    })
    .await;
}

/// The demo's report written again, in a copy of its folder, with parts of at most 50
/// transcripts: its 180 transcripts (12 per prompt) become four parts of 48, 48, 48 and 36.
fn split_demo() -> &'static (tempfile::TempDir, PathBuf) {
    static SPLIT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    SPLIT.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        crate::util::copy_dir(&crate::analysis::demo().1, &tmp.path().join("demo"));
        let run = tmp.path().join("demo/study/runs/demo");
        let out = blindfold()
            .arg("report")
            .arg(&run)
            .args(["--explorer-part-size", "50"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        (tmp, run)
    })
}

/// A JSON block of a page, by its id.
fn json_block(page: &str, id: &str) -> Value {
    let open = format!("id=\"{id}\">");
    let start = page.find(&open).unwrap() + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

/// A cell and its (model, scaffold, prompt).
type Cell = (String, (String, String, String));

/// Per part file: the cells it holds, from its own data.
fn parts_of(run: &Path) -> Vec<(String, Vec<Cell>)> {
    let dir = run.join("report/explorer");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.first().map(String::as_str),
        Some("index.html"),
        "{names:?}"
    );
    names.remove(0);
    names
        .into_iter()
        .map(|name| {
            let page = std::fs::read_to_string(dir.join(&name)).unwrap();
            let idx = json_block(&page, "explorer-index");
            let name_of = |list: &str, i: &Value| {
                idx[list][i.as_u64().unwrap() as usize]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            let cells = idx["t"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let cond = (
                        name_of("models", &t[1]),
                        name_of("scaffolds", &t[2]),
                        name_of("prompts", &t[3]),
                    );
                    (t[0].as_str().unwrap().to_string(), cond)
                })
                .collect();
            (name, cells)
        })
        .collect()
}

/// Above the part size the report writes explorer/index.html and self-contained parts, cut
/// between prompts, and report.html and its figures link to the index; below it, one page.
#[test]
fn a_large_explorer_is_written_as_an_index_and_parts_that_report_html_links_to() {
    // The demo's own report (default part size) keeps the single page.
    let demo_report = crate::analysis::run_dir().join("report");
    assert!(demo_report.join("explorer.html").is_file());
    assert!(!demo_report.join("explorer").exists());

    let run = &split_demo().1;
    let report = run.join("report");
    assert!(!report.join("explorer.html").exists());
    let truth = truth(&run.join("blind/round-1"));
    let parts = parts_of(run);
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "part-001.html",
            "part-002.html",
            "part-003.html",
            "part-004.html"
        ]
    );
    let sizes: Vec<usize> = parts.iter().map(|(_, c)| c.len()).collect();
    assert_eq!(sizes, [48, 48, 48, 36]);
    // Every transcript in exactly one part, as un-blinded; every prompt in one part.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut prompt_part: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (name, cells)) in parts.iter().enumerate() {
        for (cell, cond) in cells {
            *seen.entry(cell.clone()).or_default() += 1;
            assert_eq!(truth.condition.get(cell), Some(cond), "{name}: {cell}");
            assert_eq!(
                *prompt_part.entry(cond.2.clone()).or_insert(i),
                i,
                "{} split",
                cond.2
            );
        }
        let page = std::fs::read_to_string(report.join("explorer").join(name)).unwrap();
        let csp = blindfold::report::explorer::content_security_policy();
        assert!(page.contains(&format!("content=\"{csp}\"")), "{name}");
        assert_eq!(
            page.matches("<script").count(),
            3,
            "{name}: its own data, no other script"
        );
        assert!(!page.contains("<script src"), "{name}");
        assert!(page.contains(&format!("Part {} of 4", i + 1)));
    }
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        truth.condition.keys().cloned().collect()
    );
    assert!(seen.values().all(|&n| n == 1));
    assert_eq!(prompt_part.len(), 15);

    // The index: each part with its count, and its counts per condition for the filter.
    let index = std::fs::read_to_string(report.join("explorer/index.html")).unwrap();
    let csp = blindfold::report::explorer::index_content_security_policy();
    assert!(index.contains(&format!("content=\"{csp}\"")));
    assert!(index.contains("Transcript explorer in 4 parts"));
    let data = json_block(&index, "explorer-parts");
    for (i, (name, cells)) in parts.iter().enumerate() {
        assert_eq!(data["parts"][i]["file"], json!(name));
        let counted: u64 = data["parts"][i]["c"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[3].as_u64().unwrap())
            .sum();
        assert_eq!(counted as usize, cells.len());
        assert!(index.contains(&format!("<a href=\"{name}\">Part {}</a>", i + 1)));
    }

    // report.html's table cells, effect points and footer, and the figures, go to the index.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        !html.contains("explorer.html"),
        "a link left to the single page"
    );
    assert!(html.contains("<a href=\"explorer/index.html\">Read the transcripts</a>"));
    assert!(html.contains(
        "class=\"explore\" href=\"explorer/index.html#m=sim-alpha&amp;s=verification&amp;d="
    ));
    assert!(html.contains("<a href=\"explorer/index.html#m=sim-beta&amp;s=steerability&amp;d="));
    let mut figures = 0;
    for entry in std::fs::read_dir(report.join("figures")).unwrap() {
        let svg = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!svg.contains("explorer.html"));
        figures += usize::from(svg.contains("href=\"../explorer/index.html#m="));
    }
    assert!(figures > 0);

    // The flag's range, stated when refused.
    let out = blindfold()
        .arg("report")
        .arg(run)
        .args(["--explorer-part-size", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("--explorer-part-size") && err.contains("1 to 10000000"),
        "{err}"
    );
}

/// A table cell of report.html leads to the split explorer's index, which counts the
/// condition's transcripts in each part; a part taken from there opens filtered to it, lists
/// exactly its transcripts of the condition, compares side by side within itself and links back
/// to the index with the filter kept.
#[tokio::test]
async fn a_split_explorer_is_reached_from_the_report_through_its_index_with_the_filter() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (tmp, run) = split_demo();
    let truth = truth(&run.join("blind/round-1"));
    let parts = parts_of(run);
    // Per part, the condition's transcripts in it.
    let expected: Vec<BTreeSet<String>> = parts
        .iter()
        .map(|(_, cells)| {
            cells
                .iter()
                .filter(|(_, (m, s, _))| m == "sim-alpha" && s == "verification")
                .map(|(cell, _)| cell.clone())
                .collect()
        })
        .collect();
    assert_eq!(expected.iter().map(BTreeSet::len).sum::<usize>(), 15);
    assert_eq!(
        expected.iter().flatten().cloned().collect::<BTreeSet<_>>(),
        truth.cells_where(|_, (m, s, _)| m == "sim-alpha" && s == "verification")
    );
    let names: Vec<String> = parts.into_iter().map(|(name, _)| name).collect();
    let report_url = file_url(&run.join("report/report.html"));
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver
        .session(
            &tmp.path().join("profile"),
            &tmp.path().join("downloads"),
            (1400, 900),
        )
        .await;
    with_session(c, move |c| async move {
        c.goto(&report_url).await.unwrap();
        c.find(Locator::Css("table a.explore[href*='m=sim-alpha&s=verification&']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_until(
            &c,
            "the explorer's index",
            "return location.pathname.endsWith('/explorer/index.html') && document.body.dataset.ready === 'true'",
            Duration::from_secs(20),
        )
        .await;
        let hash = js(&c, "return location.hash").await;
        let hash = hash.as_str().unwrap().to_string();
        assert!(hash.starts_with("#m=sim-alpha&s=verification&d="), "{hash}");
        let rows = js(
            &c,
            "return Array.from(document.querySelectorAll('#parts > tbody > tr')).map(function (r) { \
             return [r.dataset.matches, r.querySelector('a').getAttribute('href')]; })",
        )
        .await;
        for (i, name) in names.iter().enumerate() {
            assert_eq!(rows[i], json!([expected[i].len().to_string(), format!("{name}{hash}")]));
        }
        let status = c.find(Locator::Id("filter")).await.unwrap().text().await.unwrap();
        assert!(status.contains("15 matching transcripts in 4 of 4 parts"), "{status}");
        assert_quiet_console(&c).await;

        // The second part, by its link: filtered to the condition, its transcripts only.
        c.find(Locator::Css("#part-2 a")).await.unwrap().click().await.unwrap();
        wait_until(
            &c,
            "the second part",
            "return location.pathname.endsWith('/explorer/part-002.html') && document.body.dataset.ready === 'true'",
            Duration::from_secs(20),
        )
        .await;
        let s = state(&c).await;
        assert_eq!((s["m"].as_str(), s["s"].as_str()), (Some("sim-alpha"), Some("verification")));
        let shown = set(&listed(&c).await);
        assert_eq!(shown, expected[1]);
        // Side by side within the part: the prompt under all four scaffolds.
        let cell = shown.iter().next().unwrap().clone();
        js(&c, &format!("window.explorer.apply({{open: {}}})", json!(cell))).await;
        c.find(Locator::Id("compare-scaffolds")).await.unwrap().click().await.unwrap();
        let columns = js(&c, "return document.querySelectorAll('#columns .column').length").await;
        assert_eq!(columns, json!(4));
        // Back to the index with the filter as it now stands.
        let back = js(&c, "return [document.getElementById('to-index').getAttribute('href'), location.hash]").await;
        assert_eq!(back[0].as_str().unwrap(), format!("index.html{}", back[1].as_str().unwrap()));
        assert!(back[0].as_str().unwrap().contains("m=sim-alpha&s=verification"));
        assert_quiet_console(&c).await;

        // A model the study does not have matches nothing in any part.
        c.find(Locator::Id("to-index")).await.unwrap().click().await.unwrap();
        wait_until(&c, "the index again", "return location.pathname.endsWith('/explorer/index.html') && document.body.dataset.ready === 'true'", Duration::from_secs(20)).await;
        js(&c, "location.hash = '#m=nobody'").await;
        wait_until(&c, "no matches", "return document.getElementById('filter').textContent.indexOf('0 matching') >= 0", Duration::from_secs(5)).await;
        let matches = js(&c, "return Array.from(document.querySelectorAll('#parts > tbody > tr')).map(function (r) { return r.dataset.matches; })").await;
        assert_eq!(matches, json!(["0", "0", "0", "0"]));
    })
    .await;
    drop(driver);
    eprintln!(
        "browser: split explorer {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
