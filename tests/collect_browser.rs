//! The form served by `blindfold collect`, in headless Chromium: rating through the link with
//! the keyboard alone, an offline moment, a reload and a second browser that continue where the
//! rater left off, the completion page; and a served page that runs no transcript script, loads
//! nothing remote and reaches nothing of another rater's.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::browser::{
    Driver, assert_quiet_console, beacon_server, console, current_index, dimension_ids, item_ids,
    js, levels, planned_score, press, read_json, tools, type_text, wait_ready, wait_until,
    with_session,
};
use crate::collect::{Collector, serve_copy, served_round};
use crate::util::{blindfold, stderr_of};

async fn open_link(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    wait_ready(c).await;
}

async fn status_text(c: &Client) -> String {
    js(
        c,
        "return document.getElementById('save-status').textContent",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn wait_saved(c: &Client, timeout: Duration) {
    wait_until(
        c,
        "every change to be saved",
        "return window.blindfold.pending() === 0 && \
         document.getElementById('save-status').textContent.indexOf('All answers saved') === 0",
        timeout,
    )
    .await;
}

/// The digits that rate item `i` (one per question), then `j`.
fn item_keys(plan: &[Vec<i64>], i: usize) -> Vec<char> {
    let mut keys: Vec<char> = plan[i]
        .iter()
        .map(|&v| char::from_digit(v as u32, 10).unwrap())
        .collect();
    keys.push('j');
    keys
}

/// Everything through the link, by keyboard: twelve items over two browsers and a reload, with
/// the server killed (-9) and restarted in between; Finish shows the completion code; the
/// export holds every answer as typed.
#[tokio::test]
async fn a_rater_rates_through_the_link_by_keyboard_and_continues_anywhere() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (study, _round, served) =
        served_round(1, &["--seed", "3", "--raters", "solo", "--per-item", "1"]);
    let packet = read_json(&served.join("packets/solo.json"));
    let levels = levels(&packet);
    let ids = item_ids(&packet);
    let n = ids.len();
    assert_eq!(n, 12);
    let plan: Vec<Vec<i64>> = (0..n)
        .map(|i| {
            (0..levels.len())
                .map(|k| planned_score(&levels, i, k))
                .collect()
        })
        .collect();
    let collector = Collector::start(&served, &["--completion-code", "K3YB0ARD"]);
    let link = collector.url(&format!(
        "/r/{}?PROLIFIC_PID=pid-42",
        collector.token(Some("solo"))
    ));
    let collector = Arc::new(Mutex::new(collector));
    let comment = "Hosted, with a \"quote\", a comma";
    let driver = Driver::start(chromium, &chromedriver);
    let prep = started.elapsed();

    // The first browser: four items, an offline moment, four more, a reload.
    let c = driver
        .session(
            &study.tmp.path().join("profile-1"),
            &study.tmp.path().join("downloads"),
            (1366, 850),
        )
        .await;
    let (plan1, link1, server) = (plan.clone(), link.clone(), collector.clone());
    let saved_state: Arc<Mutex<Value>> = Arc::default();
    let saved = saved_state.clone();
    with_session(c, move |c| async move {
        let (plan, link) = (plan1, link1);
        open_link(&c, &link).await;
        assert_eq!(
            js(&c, "return window.blindfold.storage").await,
            json!("server")
        );
        // A first visit: the instructions, which say where answers go.
        let note = js(
            &c,
            "return document.querySelector('#instructions-dialog .note').textContent",
        )
        .await;
        assert!(
            note.as_str()
                .unwrap()
                .contains("saved on the study's server")
        );
        press(&c, &[Key::Escape.into()]).await;
        wait_until(
            &c,
            "the instructions to close",
            "return !document.getElementById('instructions-dialog').open \
             && document.activeElement.type === 'radio'",
            Duration::from_secs(5),
        )
        .await;
        for i in 0..4 {
            press(&c, &item_keys(&plan, i)).await;
        }
        // Item 5 with a comment typed in its box: `c`, the text, Esc back to the questions.
        press(&c, &['c']).await;
        type_text(&c, comment).await;
        press(&c, &[Key::Escape.into()]).await;
        press(&c, &item_keys(&plan, 4)).await;
        wait_saved(&c, Duration::from_secs(10)).await;
        assert!(status_text(&c).await.starts_with("All answers saved at "));

        // The server dies: changes wait in the page, which says so, and go out when it is back.
        server.lock().unwrap().kill9();
        for i in 5..8 {
            press(&c, &item_keys(&plan, i)).await;
        }
        wait_until(
            &c,
            "the page to say it is offline",
            "return document.getElementById('save-status').textContent.indexOf('Offline') === 0",
            Duration::from_secs(10),
        )
        .await;
        let pending = js(&c, "return window.blindfold.pending()").await;
        assert!(pending.as_u64().unwrap() > 0, "{pending}");
        assert!(
            js(
                &c,
                "return document.getElementById('save-status').classList.contains('is-bad')"
            )
            .await
                == json!(true)
        );
        server.lock().unwrap().restart();
        wait_saved(&c, Duration::from_secs(40)).await;
        // The console has the failed requests of the offline moment; nothing else since.
        let _ = console(&c).await;
        assert_eq!(current_index(&c).await, 8);

        // A reload starts where the rater was, with every answer.
        let before = js(&c, "return window.blindfold.state()").await;
        c.refresh().await.unwrap();
        wait_ready(&c).await;
        assert!(
            !js(
                &c,
                "return document.getElementById('instructions-dialog').open"
            )
            .await
            .as_bool()
            .unwrap(),
            "no instructions for a rater who has begun"
        );
        assert_eq!(js(&c, "return window.blindfold.state()").await, before);
        assert_eq!(current_index(&c).await, 8);
        assert_eq!(
            js(&c, "return window.blindfold.progress()").await,
            json!({"rated": 8, "total": 12})
        );
        *saved.lock().unwrap() = before;
        assert_quiet_console(&c).await;
    })
    .await;

    // A second browser (another profile: nothing shared but the link) continues, and finishes.
    let c = driver
        .session(
            &study.tmp.path().join("profile-2"),
            &study.tmp.path().join("downloads"),
            (1366, 850),
        )
        .await;
    let (plan2, link2) = (plan.clone(), link.clone());
    let before = saved_state.lock().unwrap().clone();
    with_session(c, move |c| async move {
        let plan = plan2;
        open_link(&c, &link2).await;
        assert_eq!(js(&c, "return window.blindfold.state()").await, before);
        assert_eq!(current_index(&c).await, 8);
        // Focus on the first question of the shown item, as after any item change.
        wait_until(
            &c,
            "focus on a question",
            "return document.activeElement.type === 'radio'",
            Duration::from_secs(5),
        )
        .await;
        for i in 8..12 {
            press(&c, &item_keys(&plan, i)[..plan[i].len()]).await;
            if i < 11 {
                press(&c, &['j']).await;
            }
        }
        wait_saved(&c, Duration::from_secs(10)).await;
        // `e` finishes: nothing is missing, so straight to the completion page.
        press(&c, &['e']).await;
        wait_until(
            &c,
            "the completion page",
            "return location.pathname.endsWith('/done') && !!document.getElementById('completion-code')",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(
            js(&c, "return document.getElementById('completion-code').textContent").await,
            json!("K3YB0ARD")
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    let browser = started.elapsed() - prep;

    assert!(collector.lock().unwrap().stop().success());
    let output = blindfold()
        .args(["collect", "export"])
        .arg(&served)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let csv = std::fs::read_to_string(served.join("collect/export/ratings-solo.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let dims = dimension_ids(&packet);
    for (i, row) in rows.records().enumerate() {
        let row = row.unwrap();
        assert_eq!(&row[1], ids[i].as_str());
        let scores: Vec<i64> = (0..dims.len())
            .map(|k| row[2 + k].parse().unwrap())
            .collect();
        assert_eq!(scores, plan[i], "item {}", i + 1);
        let expected = if i == 4 { comment } else { "" };
        assert_eq!(&row[2 + dims.len()], expected, "item {}", i + 1);
    }
    let sessions = std::fs::read_to_string(served.join("collect/export/sessions.csv")).unwrap();
    assert_eq!(sessions.lines().count(), 4, "three openings:\n{sessions}");
    assert_eq!(sessions.matches(",pid-42").count(), 3, "{sessions}");
    eprintln!(
        "browser: hosted rating session {:.1}s (study, run and blind {:.1}s)",
        browser.as_secs_f64(),
        prep.as_secs_f64()
    );
}

/// Hostile transcript text, served: no script runs, nothing remote loads, and the page's own
/// access reaches neither another rater's items nor the dashboard.
#[tokio::test]
async fn a_served_page_runs_no_transcript_script_and_reaches_only_its_raters_items() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    let (port, hits) = beacon_server();
    drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (study, run) = crate::browser::hostile_run(port);
    let round = crate::browser::blind(
        &run,
        &["--seed", "1", "--raters", "r1,r2", "--per-item", "1"],
    );
    let served = serve_copy(&study, &round);
    let collector = Collector::start(&served, &[]);
    let (t1, dash) = (collector.token(Some("r1")), collector.token(None));
    let link = collector.url(&format!("/r/{t1}"));
    let dashboard = collector.url(&format!("/d/{t1}"));
    let real_dashboard = collector.url(&format!("/d/{dash}"));
    let theirs: Vec<String> = item_ids(&read_json(&served.join("packets/r2.json")));
    let driver = Driver::start(chromium, &chromedriver);
    let c = driver
        .session(
            &study.tmp.path().join("profile"),
            &study.tmp.path().join("downloads"),
            (1366, 850),
        )
        .await;
    with_session(c, move |c| async move {
        open_link(&c, &link).await;
        for index in [0, 1, 5] {
            assert_eq!(
                js(&c, &format!("return window.blindfold.goTo({index})")).await,
                json!(true)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(js(&c, "return typeof window.__pwned").await, json!("undefined"));
        assert_eq!(
            js(
                &c,
                "return document.querySelectorAll('#items script, #items img, #items iframe, \
                 #items link, #items [onerror], #items [src], #items a[href]').length"
            )
            .await,
            json!(0)
        );
        let shown = js(&c, "return document.getElementById('items').textContent").await;
        assert!(shown.as_str().unwrap().contains("<script>window.__pwned=1</script>"));
        for other in &theirs {
            assert!(!shown.as_str().unwrap().contains(other.as_str()), "{other}");
        }
        // The page's own session cannot save another rater's item, nor a made-up session.
        let script = |item: &str, session: &str| {
            format!(
                "var h = JSON.parse(document.getElementById('hosted-data').textContent); \
                 var done = arguments[0]; \
                 fetch(h.save_url, {{method: 'POST', headers: {{'Content-Type': 'application/json', \
                 'X-Blindfold-Csrf': h.csrf}}, body: JSON.stringify({{session: {session}, \
                 changes: [{{seq: 1000, item_id: '{item}', field: 'comment', value: 'x'}}]}})}})\
                 .then(function (r) {{ done(r.status); }}, function () {{ done(-1); }});"
            )
        };
        let status = |v: Value| v.as_i64().unwrap();
        let theirs_status = c
            .execute_async(&script(&theirs[0], "h.session"), vec![])
            .await
            .unwrap();
        assert_eq!(status(theirs_status), 400);
        let forged = c
            .execute_async(&script("X", "h.session + 1"), vec![])
            .await
            .unwrap();
        assert_eq!(status(forged), 403);
        // Expected refusals leave console errors; read them away, then check the rest.
        let _ = console(&c).await;
        // The dashboard with the rater's token: the same 404 as any unknown address.
        c.goto(&dashboard).await.unwrap();
        let text = js(&c, "return document.body.textContent").await;
        assert_eq!(text, json!("Not found\n"));
        c.goto(&real_dashboard).await.unwrap();
        let text = js(&c, "return document.body.textContent").await;
        assert!(text.as_str().unwrap().contains("Progress of round b"));
        assert_eq!(js(&c, "return document.scripts.length").await, json!(0));
        let logged = console(&c).await;
        assert!(
            logged.iter().all(|e| !e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Content Security Policy")),
            "{logged:#?}"
        );
        assert_quiet_console(&c).await;
    })
    .await;
    drop(driver);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the probe: nothing remote"
    );
    eprintln!(
        "browser: hostile transcripts, served {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
