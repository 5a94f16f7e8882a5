//! Studies that grow: a later round with anchor items, drift measured on them, the drift-adjusted
//! specification, adjudication rounds and `blindfold rounds`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{StudyDir, blindfold, copy_dir, stderr_of, stdout_of};

const PRIMARY: &str = "verification_support";
/// Added to every simulated rater's leniency in round 2 (canonical 0-2 units).
const DRIFT: &str = "0.6";

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(args: &[&OsStr]) -> String {
    let output = blindfold().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

fn os<P: AsRef<OsStr> + ?Sized>(p: &P) -> &OsStr {
    p.as_ref()
}

/// Rates every packet of a round with simulated raters and un-blinds it; returns the sheets.
fn rate_and_unblind(dir: &Path, round: &Path, tag: &str, drift: &str) -> Vec<PathBuf> {
    let manifest = json(&round.join("packets/manifest.json"));
    let mut sheets = Vec::new();
    for rater in manifest["packets"].as_object().unwrap().keys() {
        let sheet = dir.join(format!("{tag}-{rater}.csv"));
        ok(&[
            os("rate"),
            os("--simulate"),
            round.join(format!("packets/{rater}.json")).as_os_str(),
            os("--out"),
            sheet.as_os_str(),
            os("--seed"),
            os("5"),
            os("--drift"),
            os(drift),
        ]);
        sheets.push(sheet);
    }
    let mut args = vec![os("unblind"), round.as_os_str()];
    args.extend(sheets.iter().map(|s| s.as_os_str()));
    ok(&args);
    sheets
}

/// (item id, rater, dimension) → score, from a ratings sheet.
fn sheet_scores(path: &Path) -> BTreeMap<(String, String, String), f64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let get = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_string();
        for dim in headers
            .iter()
            .filter(|h| !matches!(*h, "rater" | "item_id" | "comment" | "identity_guess"))
        {
            out.insert(
                (get("item_id"), get("rater"), dim.to_string()),
                get(dim).parse::<f64>().unwrap(),
            );
        }
    }
    out
}

fn estimate(v: &Value) -> (f64, f64, f64) {
    (
        v["value"].as_f64().unwrap(),
        v["ci_low"].as_f64().unwrap(),
        v["ci_high"].as_f64().unwrap(),
    )
}

fn primary_effect(results: &Value, model: &str, scaffold: &str) -> Value {
    results["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == PRIMARY)
        .unwrap()["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model"] == model && e["scaffold"] == scaffold)
        .unwrap()
        .clone()
}

/// The acceptance scenario of a study that grows: the default study (cut to 8 prompts) rated in
/// round 1; a fifth scaffold and a fourth model added; round 2 blinded with anchor items and
/// rated by raters who drifted; the report marks the cross-round effects, measures the drift
/// within its interval, and its drift-adjusted specification removes it (compared with the same
/// round rated without drift). Then an adjudication round of round 1's disagreements.
#[test]
fn a_grown_study_measures_drift_on_anchors_and_adjudicates_disagreements() {
    let study = StudyDir::with_prompts(8);
    let tmp = study.tmp.path().to_path_buf();
    let run = study.run("r");
    ok(&[os("blind"), run.as_os_str(), os("--seed"), os("1")]);
    let round_1 = run.join("blind/round-1");
    rate_and_unblind(&tmp, &round_1, "one", "0");

    // A fifth scaffold and a fourth model.
    study.write(
        "scaffolds/socratic-v1.toml",
        "system = \"Answer only with guiding questions.\"\n",
    );
    study.edit(
        "study.toml",
        "\"verification-steerability\"]",
        "\"verification-steerability\", \"socratic-v1\"]",
    );
    study.edit(
        "study.toml",
        "models = [\"sim-alpha\", \"sim-beta\", \"sim-gamma\"]",
        "models = [\"sim-alpha\", \"sim-beta\", \"sim-gamma\", \"sim-delta\"]",
    );
    let mut toml = study.read("study.toml");
    toml.push_str(
        "\n[[model]]\nid = \"sim-delta\"\nprovider = \"sim\"\nmodel = \"sim-beta\"\ntemperature = 0.3\n",
    );
    study.write("study.toml", &toml);
    study.run("r");

    let out = ok(&[
        os("blind"),
        run.as_os_str(),
        os("--seed"),
        os("2"),
        os("--anchors"),
        os("48"),
    ]);
    let round_2 = run.join("blind/round-2");
    let key = json(&round_2.join("key.json"));
    let items = key["items"].as_array().unwrap();
    let anchors: BTreeSet<&str> = items
        .iter()
        .filter(|i| i["role"] == "anchor")
        .map(|i| i["item_id"].as_str().unwrap())
        .collect();
    // 4 new scaffold cells x 3 models + 5 x 1 new model, 8 prompts each; 48 anchors.
    assert_eq!(anchors.len(), 48, "{out}");
    assert_eq!(items.len(), 8 * (3 + 5) + 48);
    // Balanced across the 12 earlier conditions: 4 each.
    let mut per_condition: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in items.iter().filter(|i| i["role"] == "anchor") {
        *per_condition
            .entry((i["model"].to_string(), i["scaffold"].to_string()))
            .or_default() += 1;
    }
    assert_eq!(per_condition.len(), 12);
    assert!(per_condition.values().all(|&n| n == 4), "{per_condition:?}");
    // The key records the confounding; blind printed the per-model share of new-condition items,
    // lowered by the anchors for the models that were in round 1 (8 new of 8 + 16 anchors).
    assert_eq!(
        key["confounding"]["by_model"]["sim-alpha"]["share"],
        8.0 / 24.0
    );
    assert_eq!(key["confounding"]["by_model"]["sim-delta"]["share"], 1.0);
    assert!(out.contains("sim-alpha 8/24 (33%)"), "{out}");
    assert!(json(&round_2.join("packets/manifest.json"))["confounded"] == true);

    // Anchors and new items are indistinguishable in the packets: same id format, same fields,
    // shuffled together, and nothing says "anchor".
    let id_shape = |id: &str| {
        id.len() == 9
            && id.as_bytes()[4] == b'-'
            && id
                .chars()
                .filter(|c| *c != '-')
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    };
    for rater in ["r1", "r2", "r3"] {
        let text = std::fs::read_to_string(round_2.join(format!("packets/{rater}.json"))).unwrap();
        assert!(!text.contains("from_round"), "{rater}");
        let packet: Value = serde_json::from_str(&text).unwrap();
        let packet_items = packet["items"].as_array().unwrap();
        let fields =
            |i: &Value| -> Vec<String> { i.as_object().unwrap().keys().cloned().collect() };
        let positions: Vec<usize> = packet_items
            .iter()
            .enumerate()
            .filter(|(_, i)| anchors.contains(i["item_id"].as_str().unwrap()))
            .map(|(n, _)| n)
            .collect();
        for i in packet_items {
            assert!(id_shape(i["item_id"].as_str().unwrap()), "{i}");
            assert_eq!(fields(i), ["item_id", "turns"]);
        }
        // Shuffled together: the anchors do not form one block.
        assert!(!positions.is_empty());
        assert!(
            positions.last().unwrap() - positions.first().unwrap() + 1 > positions.len(),
            "{rater}: anchors in one block {positions:?}"
        );
    }

    // The control: the same round rated by raters who did not drift.
    let control = tmp.join("control");
    copy_dir(&study.path(), &control);
    let control_run = control.join("runs/r");
    let drifted = rate_and_unblind(&tmp, &round_2, "two", DRIFT);
    let steady = rate_and_unblind(&tmp, &control_run.join("blind/round-2"), "steady", "0");
    for run_dir in [&run, &control_run] {
        ok(&[os("report"), run_dir.as_os_str()]);
    }
    let results = json(&run.join("report/results.json"));
    let baseline = json(&control_run.join("report/results.json"));
    let rounds = &results["rounds_analysis"];
    let cross: Vec<(String, String)> =
        serde_json::from_value(rounds["cross_round"].clone()).unwrap();
    let new_scaffold: Vec<(String, String)> = ["sim-alpha", "sim-beta", "sim-gamma"]
        .iter()
        .map(|m| (m.to_string(), "socratic-v1".to_string()))
        .collect();
    assert_eq!(
        cross, new_scaffold,
        "only the new scaffold's effects cross rounds"
    );
    assert_eq!(
        primary_effect(&results, "sim-alpha", "socratic-v1")["cross_round"],
        true
    );
    assert!(
        primary_effect(&results, "sim-delta", "socratic-v1")
            .get("cross_round")
            .is_none()
    );
    let report_md = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(report_md.contains("socratic-v1 †"), "tables mark them");
    assert!(report_md.contains("## Rounds, drift and adjudication"));
    let html = std::fs::read_to_string(run.join("report/report.html")).unwrap();
    assert!(html.contains("socratic-v1 †"), "figures mark them");

    let drift_of = |results: &Value| -> (f64, f64, f64) {
        let d = results["rounds_analysis"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dimension"] == PRIMARY && d["round"] == "round-2")
            .unwrap()
            .clone();
        estimate(&d["mean_change"])
    };
    // The drift the ratings actually carry on the anchor items: the same rater, item and noise
    // draw with and without it (rounding to levels makes it smaller than DRIFT).
    let injected = realised_drift(&drifted, &steady, &anchors);
    let (measured, lo, hi) = drift_of(&results);
    assert!(
        lo <= injected && injected <= hi && lo > 0.0,
        "injected {injected:.3}, measured {measured:.3} [{lo:.3}, {hi:.3}]"
    );
    let (_, lo, hi) = drift_of(&baseline);
    assert!(lo <= 0.0 && 0.0 <= hi, "no drift without one: [{lo}, {hi}]");

    // The drift-adjusted specification removes the drift from the cross-round effects: it lands
    // near the effect the steady raters give, the registered one does not. What one seed leaves
    // is noise (the realised drift of a few ratings against its expectation): over 30 rating
    // seeds benches/drift_sim.py measured a mean residual within ±0.01 of a +0.54 bias, rms 0.07.
    // This seed leaves +0.02, +0.19 and +0.09 of +0.44, +0.75 and +0.62.
    let (mut bias, mut left) = (0.0, 0.0);
    for (model, _) in &new_scaffold {
        let steady_effect = primary_effect(&baseline, model, "socratic-v1")["effect"]["value"]
            .as_f64()
            .unwrap();
        let adjusted = rounds["adjusted_effects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["model"] == model.as_str())
            .unwrap();
        let registered = adjusted["registered"]["value"].as_f64().unwrap();
        let corrected = adjusted["adjusted"]["value"].as_f64().unwrap();
        let said = format!(
            "{model}: steady {steady_effect:.3}, registered {registered:.3}, drift-adjusted {corrected:.3}"
        );
        assert!(registered - steady_effect > 0.3, "{said}");
        assert!(
            (corrected - steady_effect).abs() < 0.3 * (registered - steady_effect),
            "{said}"
        );
        bias += registered - steady_effect;
        left += corrected - steady_effect;
    }
    assert!(left.abs() < 0.2 * bias, "left {left:.3} of {bias:.3}");
    let curve = results["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == PRIMARY)
        .unwrap()["spec_curve"]["specifications"]
        .to_string();
    assert!(
        curve.contains("drift-adjusted"),
        "a specification of the curve"
    );

    // Adjudication of round 1: exactly the items whose human ratings differ by 2 levels on some
    // dimension, never to their raters.
    let mut ranges: BTreeMap<String, BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(round_1.join("unblinded.csv")).unwrap();
    for row in reader.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        let score: i64 = row["score"].parse().unwrap();
        let e = ranges
            .entry(row["cell_id"].clone())
            .or_default()
            .entry(row["dimension"].clone())
            .or_insert((score, score));
        e.0 = e.0.min(score);
        e.1 = e.1.max(score);
    }
    let disagreeing: BTreeSet<String> = ranges
        .into_iter()
        .filter(|(_, dims)| dims.values().any(|(lo, hi)| hi - lo >= 2))
        .map(|(cell, _)| cell)
        .collect();
    assert!(!disagreeing.is_empty());
    let out = ok(&[
        os("blind"),
        run.as_os_str(),
        os("--adjudicate"),
        os("round-1"),
        os("--threshold"),
        os("2"),
        os("--raters"),
        os("r1,r2,r3,r4"),
        os("--seed"),
        os("3"),
    ]);
    assert!(out.contains("Adjudication of round 'round-1'"), "{out}");
    let round_3 = run.join("blind/round-3");
    let key_3 = json(&round_3.join("key.json"));
    assert_eq!(key_3["adjudicates"], "round-1");
    let cells: BTreeSet<String> = key_3["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["cell_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(cells, disagreeing);
    let mut earlier_raters: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in [json(&round_1.join("key.json")), key] {
        for i in key["items"].as_array().unwrap() {
            for r in i["raters"].as_array().unwrap() {
                earlier_raters
                    .entry(i["cell_id"].as_str().unwrap().to_string())
                    .or_default()
                    .insert(r.as_str().unwrap().to_string());
            }
        }
    }
    for i in key_3["items"].as_array().unwrap() {
        assert_eq!(i["role"], "adjudication");
        let raters = i["raters"].as_array().unwrap();
        assert_eq!(raters.len(), 1);
        let cell = i["cell_id"].as_str().unwrap();
        assert!(
            !earlier_raters[cell].contains(raters[0].as_str().unwrap()),
            "{cell} went back to one of its raters"
        );
    }
    rate_and_unblind(&tmp, &round_3, "three", "0");
    let listing = ok(&[os("rounds"), run.as_os_str()]);
    for needle in ["round-1", "round-2", "round-3", "48"] {
        assert!(listing.contains(needle), "{listing}");
    }
    ok(&[os("report"), run.as_os_str()]);
    let results = json(&run.join("report/results.json"));
    let adjudication = &results["rounds_analysis"]["adjudication"];
    assert_eq!(adjudication["n_items"], disagreeing.len());
    assert_eq!(adjudication["rule"], "adjudicator");
    let report_md = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(report_md.contains("**Adjudication.**"), "{report_md}");
}

/// The mean over anchor items and raters of (drifted − steady) primary ratings.
fn realised_drift(drifted: &[PathBuf], steady: &[PathBuf], anchors: &BTreeSet<&str>) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (d, s) in drifted.iter().zip(steady) {
        let (d, s) = (sheet_scores(d), sheet_scores(s));
        for (key, v) in &d {
            if key.2 == PRIMARY && anchors.contains(key.0.as_str()) {
                sum += v - s[key];
                n += 1;
            }
        }
    }
    sum / n as f64
}
