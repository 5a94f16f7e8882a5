//! Load benchmark of `blindfold collect` (on demand, not part of the test suite):
//!
//! 200 simulated raters open their links and save answers concurrently for a minute against the
//! release binary; then the server is killed with SIGKILL while requests are in flight. The
//! database is checked at once (every acknowledged answer must be in it), the server is
//! restarted, each rater sends its unacknowledged request again (as the form does), and the
//! database is checked once more: every answer exactly once. Prints save latency (p50, p95,
//! p99, max), throughput and the page-load latency.
//!
//!   cargo bench --bench collect -- [--raters 200] [--seconds 60] [--think-ms 0] [--seed 1]
//!
//! `--think-ms` is a rater's mean pause between saves (exponential); 0 saves back to back, the
//! worst case.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blindfold::collect::db::{Db, RoundId, SavedChange};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_blindfold");

struct Settings {
    raters: usize,
    seconds: u64,
    think_ms: u64,
    seed: u64,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    Settings {
        raters: value("--raters", 200) as usize,
        seconds: value("--seconds", 60),
        think_ms: value("--think-ms", 0),
        seed: value("--seed", 1),
    }
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().expect("blindfold runs");
    assert!(
        output.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A study run and blinded for `raters` raters, its packets copied into `served/`.
fn prepare(work: &Path, raters: usize) -> PathBuf {
    let study = work.join("study");
    run(Command::new(BIN).arg("init").arg(&study));
    run(Command::new(BIN)
        .arg("-q")
        .arg("run")
        .arg(&study)
        .args(["--run", "r"]));
    let names: Vec<String> = (1..=raters).map(|i| format!("b{i:03}")).collect();
    // 180 transcripts, 20 raters each: 18 items per rater.
    let per_item = 20.min(raters).to_string();
    run(Command::new(BIN)
        .arg("-q")
        .arg("blind")
        .arg(study.join("runs/r"))
        .args(["--round", "load", "--seed", "1", "--per-item", &per_item])
        .arg("--raters")
        .arg(names.join(",")));
    let served = work.join("served");
    std::fs::create_dir_all(served.join("packets")).unwrap();
    for entry in std::fs::read_dir(study.join("runs/r/blind/load/packets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), served.join("packets").join(entry.file_name())).unwrap();
    }
    served
}

struct Server {
    child: Child,
    base: String,
}

fn start(served: &Path, addr: &str) -> Server {
    let mut child = Command::new(BIN)
        .arg("-q")
        .arg("collect")
        .arg(served)
        .args(["--addr", addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn signal(child: &Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

fn tokens(served: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(served.join("collect/tokens.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("rater\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// One change as sent: (session, seq, item, field, value).
type Sent = (i64, i64, String, String, String);

#[derive(Default)]
struct RaterLog {
    /// Changes the server acknowledged.
    acked: Vec<Sent>,
    /// The request on the wire when the server died, to send again.
    unacked: Option<(String, Vec<Sent>)>,
    latencies: Vec<Duration>,
    failures: usize,
}

struct Rater {
    save_url: String,
    session: i64,
    csrf: String,
    /// (item ids, fields with their possible values)
    items: Vec<String>,
    fields: Vec<(String, Vec<String>)>,
}

async fn open(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    packet: &Value,
) -> (Rater, Duration) {
    let started = Instant::now();
    let html = client
        .get(format!("{base}/r/{token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let took = started.elapsed();
    let start = html.find("id=\"hosted-data\">").expect("a hosted form");
    let rest = &html[start + "id=\"hosted-data\">".len()..];
    let hosted: Value = serde_json::from_str(&rest[..rest.find("</script>").unwrap()]).unwrap();
    let mut fields: Vec<(String, Vec<String>)> = packet["rubric"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut values: Vec<String> = d["levels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["value"].to_string())
                .collect();
            values.push(String::new());
            (format!("score:{}", d["id"].as_str().unwrap()), values)
        })
        .collect();
    fields.push((
        "comment".into(),
        vec!["looks fine".into(), "hedges, then \"cites\" a law".into()],
    ));
    fields.push((
        "identity".into(),
        vec!["no".into(), "guess".into(), String::new()],
    ));
    (
        Rater {
            save_url: format!("{base}/r/{token}/api/save"),
            session: hosted["session"].as_i64().unwrap(),
            csrf: hosted["csrf"].as_str().unwrap().to_string(),
            items: packet["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["item_id"].as_str().unwrap().to_string())
                .collect(),
            fields,
        },
        took,
    )
}

async fn post(client: &reqwest::Client, url: &str, csrf: &str, body: &str) -> Result<(), String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-blindfold-csrf", csrf)
        .body(body.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let reply: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() && reply["ok"] == json!(true) {
        Ok(())
    } else {
        Err(format!("{status}: {reply}"))
    }
}

/// Saves until `until`, then stops sending new requests; a request that fails is kept (the
/// server is gone) for the retry phase.
async fn rate(
    client: reqwest::Client,
    rater: Rater,
    until: Instant,
    think_ms: u64,
    seed: u64,
) -> (Rater, RaterLog) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut log = RaterLog::default();
    let mut seq = 0;
    while Instant::now() < until {
        let n = rng.random_range(1..=3);
        let mut changes = Vec::new();
        for _ in 0..n {
            seq += 1;
            let item = &rater.items[rng.random_range(0..rater.items.len())];
            let (field, values) = &rater.fields[rng.random_range(0..rater.fields.len())];
            let value = &values[rng.random_range(0..values.len())];
            changes.push((
                rater.session,
                seq,
                item.clone(),
                field.clone(),
                value.clone(),
            ));
        }
        let body = json!({
            "session": rater.session,
            "changes": changes.iter().map(|(_, seq, item, field, value)| json!({
                "seq": seq, "item_id": item, "field": field, "value": value
            })).collect::<Vec<_>>(),
            "current": changes[0].2,
        })
        .to_string();
        let started = Instant::now();
        match post(&client, &rater.save_url, &rater.csrf, &body).await {
            Ok(()) => {
                log.latencies.push(started.elapsed());
                log.acked.extend(changes);
            }
            Err(_) => {
                log.failures += 1;
                log.unacked = Some((body, changes));
                break;
            }
        }
        if think_ms > 0 {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            tokio::time::sleep(Duration::from_micros(
                (-u.ln() * think_ms as f64 * 1000.0) as u64,
            ))
            .await;
        }
    }
    (rater, log)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn history(served: &Path) -> Vec<SavedChange> {
    let manifest = std::fs::read(served.join("packets/manifest.json")).unwrap();
    let round: Value = serde_json::from_slice(&manifest).unwrap();
    Db::open(
        &served.join("collect/ratings.sqlite"),
        &RoundId {
            round: round["round"].as_str().unwrap(),
            manifest_sha256: &blindfold::hash::sha256_hex(&manifest),
        },
        false,
    )
    .unwrap()
    .history()
    .unwrap()
}

/// Every acknowledged change is a row with its values; returns the rows not acknowledged.
fn check(served: &Path, acked: &[Sent]) -> usize {
    let rows = history(served);
    let mut seen = HashSet::new();
    for r in &rows {
        assert!(
            seen.insert((r.session, r.seq)),
            "change {:?} stored twice",
            (r.session, r.seq)
        );
    }
    let stored: HashMap<(i64, i64), (&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                (r.session, r.seq),
                (r.item_id.as_str(), r.field.as_str(), r.value.as_str()),
            )
        })
        .collect();
    for (session, seq, item, field, value) in acked {
        assert_eq!(
            stored.get(&(*session, *seq)),
            Some(&(item.as_str(), field.as_str(), value.as_str())),
            "acknowledged change {session}/{seq} is missing or different"
        );
    }
    rows.len() - acked.len()
}

fn main() {
    let s = settings();
    let work = tempfile::tempdir().unwrap();
    let prep = Instant::now();
    let served = prepare(work.path(), s.raters);
    eprintln!(
        "prepared {} raters in {:.1}s",
        s.raters,
        prep.elapsed().as_secs_f64()
    );
    let mut server = start(&served, "127.0.0.1:0");
    let base = server.base.clone();
    let port = base.rsplit(':').next().unwrap().to_string();
    let tokens = tokens(&served);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(s.raters * 2)
        .build()
        .unwrap();

    // Open every page, then save for the given time, all at once.
    let (raters, page_loads): (Vec<Rater>, Vec<Duration>) = runtime.block_on(async {
        let mut tasks = Vec::new();
        for (name, token) in &tokens {
            let packet: Value = serde_json::from_str(
                &std::fs::read_to_string(served.join(format!("packets/{name}.json"))).unwrap(),
            )
            .unwrap();
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                open(&client, &base, &token, &packet).await
            }));
        }
        let mut out = (Vec::new(), Vec::new());
        for t in tasks {
            let (rater, took) = t.await.unwrap();
            out.0.push(rater);
            out.1.push(took);
        }
        out
    });
    let deadline = Instant::now() + Duration::from_secs(s.seconds);
    let killer = {
        let pid = server.child.id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            // Requests are still arriving: SIGKILL lands with some of them in flight.
            Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        })
    };
    let started = Instant::now();
    let results: Vec<(Rater, RaterLog)> = runtime.block_on(async {
        let tasks: Vec<_> = raters
            .into_iter()
            .enumerate()
            .map(|(i, rater)| {
                let client = client.clone();
                let seed = s.seed * 1_000_003 + i as u64;
                // Keep sending past the deadline, so the kill lands on traffic.
                let until = deadline + Duration::from_secs(5);
                tokio::spawn(rate(client, rater, until, s.think_ms, seed))
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    killer.join().unwrap();
    let _ = server.child.wait();
    let elapsed = deadline.saturating_duration_since(started).as_secs_f64();

    let acked: Vec<Sent> = results.iter().flat_map(|(_, l)| l.acked.clone()).collect();
    let mut latencies: Vec<Duration> = results
        .iter()
        .flat_map(|(_, l)| l.latencies.iter().copied())
        .collect();
    latencies.sort();
    let in_flight = results.iter().filter(|(_, l)| l.unacked.is_some()).count();
    let extra = check(&served, &acked);
    eprintln!(
        "after kill -9: all {} acknowledged changes present; {} more rows from the {} requests \
         in flight (committed, not acknowledged)",
        acked.len(),
        extra,
        in_flight
    );

    // Restart; each rater sends its unacknowledged request again, as the form does.
    server = start(&served, &format!("127.0.0.1:{port}"));
    let resent: Vec<Sent> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for (rater, log) in &results {
            if let Some((body, changes)) = log.unacked.clone() {
                let (client, url, csrf) =
                    (client.clone(), rater.save_url.clone(), rater.csrf.clone());
                tasks.push(tokio::spawn(async move {
                    let mut last = String::new();
                    for _ in 0..20 {
                        match post(&client, &url, &csrf, &body).await {
                            Ok(()) => return changes,
                            Err(e) => last = e,
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    panic!("a retried request was never acknowledged: {last}");
                }));
            }
        }
        let mut out = Vec::new();
        for t in tasks {
            out.extend(t.await.unwrap());
        }
        out
    });
    signal(&server.child, "-TERM");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful stop");
    let mut all = acked.clone();
    all.extend(resent.iter().cloned());
    let extra = check(&served, &all);
    assert_eq!(extra, 0, "rows that no request acknowledged");

    let saves = latencies.len();
    let mut loads = page_loads;
    loads.sort();
    let db_bytes: u64 = std::fs::read_dir(served.join("collect"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ratings.sqlite")
        })
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "raters: {}, think time: {} ms, duration: {:.1} s",
        s.raters, s.think_ms, elapsed
    );
    println!(
        "saves acknowledged: {} ({:.0}/s), changes: {} ({:.0}/s)",
        saves,
        saves as f64 / elapsed,
        acked.len(),
        acked.len() as f64 / elapsed
    );
    println!(
        "save latency ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!(
        "page load ms (all {} at once): p50 {:.0}, p99 {:.0}",
        loads.len(),
        percentile(&loads, 50.0),
        percentile(&loads, 99.0)
    );
    println!(
        "kill -9 with {} requests in flight: every acknowledged change present, none twice; \
         {} resent after restart, stored once",
        in_flight,
        resent.len()
    );
    println!("database: {:.1} MB", db_bytes as f64 / 1e6);
}
