//! Packets in parts (`[blinding] max_items_per_packet`, `blind --max-items-per-packet`): numbered,
//! complete forms balanced across conditions, and `unblind` taking their exports in any order
//! and naming the parts that are missing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{StudyDir, assert_clean_failure, blindfold, copy_dir, stderr_of, stdout_of};

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn blind(run: &Path, args: &[&str]) -> std::process::Output {
    blindfold()
        .arg("blind")
        .arg(run)
        .args(args)
        .output()
        .unwrap()
}

fn unblind(round: &Path, sheets: &[PathBuf], extra: &[&str]) -> std::process::Output {
    blindfold()
        .arg("unblind")
        .arg(round)
        .args(sheets)
        .args(extra)
        .output()
        .unwrap()
}

/// The default study cut to two prompts (24 cells): 3 raters × 16 items with dual coding.
fn small_run() -> (StudyDir, PathBuf) {
    let study = StudyDir::with_prompts(2);
    let run = study.run("r");
    (study, run)
}

/// Rates every part's JSON with a simulated rater into `dir/ratings-RATER-part-NN.csv`.
fn rate_parts(round: &Path, dir: &Path) -> BTreeMap<String, PathBuf> {
    let manifest = json(&round.join("packets/manifest.json"));
    let mut sheets = BTreeMap::new();
    for (rater, packet) in manifest["packets"].as_object().unwrap() {
        let parts = packet["parts"].as_array().unwrap();
        for p in 1..=parts.len() {
            let stem = format!("{rater}-part-{p:02}");
            let sheet = dir.join(format!("ratings-{stem}.csv"));
            let output = blindfold()
                .arg("rate")
                .arg("--simulate")
                .arg(round.join(format!("packets/{stem}.json")))
                .arg("--out")
                .arg(&sheet)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", stderr_of(&output));
            sheets.insert(stem, sheet);
        }
    }
    sheets
}

#[test]
fn parts_are_complete_balanced_forms_and_unblind_takes_them_in_any_order() {
    let (study, run) = small_run();
    let output = blind(&run, &["--seed", "7", "--max-items-per-packet", "5"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output)
            .contains("r1: 16 items in 4 parts (r1-part-01 to r1-part-04, 4 items each)"),
        "{}",
        stdout_of(&output)
    );
    let round = run.join("blind/round-1");
    let packets = round.join("packets");
    let manifest = json(&packets.join("manifest.json"));
    let key = json(&round.join("key.json"));
    assert_eq!(manifest["max_items_per_packet"], 5);
    assert_eq!(key["max_items_per_packet"], 5);
    let condition: HashMap<&str, (&str, &str)> = key["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap(),
                (
                    i["model"].as_str().unwrap(),
                    i["scaffold"].as_str().unwrap(),
                ),
            )
        })
        .collect();

    for (rater, packet) in manifest["packets"].as_object().unwrap() {
        // Parts replace the form and the sheet; the whole JSON stays for programs.
        assert!(!packets.join(format!("{rater}.html")).exists());
        assert!(!packets.join(format!("{rater}.csv")).exists());
        let whole = json(&packets.join(format!("{rater}.json")));
        assert_eq!(whole["items"].as_array().unwrap().len(), 16);
        let parts = packet["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 4, "{rater}");
        let mut concatenated = Vec::new();
        let mut per_condition: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (p, part) in parts.iter().enumerate() {
            let stem = format!("{rater}-part-{:02}", p + 1);
            let items: Vec<&str> = part["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap())
                .collect();
            assert_eq!(items.len(), 4);
            for item in &items {
                per_condition
                    .entry(condition[item])
                    .or_insert_with(|| vec![0; 4])[p] += 1;
            }
            concatenated.extend(items.iter().map(|s| s.to_string()));

            // A complete form: its own packet id, its part, its export name, the same CSP.
            let html = std::fs::read_to_string(packets.join(format!("{stem}.html"))).unwrap();
            assert!(html.contains(&format!("Part {} of 4", p + 1)), "{stem}");
            assert!(html.contains(&format!("data-export-name=\"ratings-{stem}.csv\"")));
            assert!(html.contains(&format!(
                "data-packet-id=\"{}\"",
                part["packet_id"].as_str().unwrap()
            )));
            assert!(html.contains("Content-Security-Policy") && html.contains("default-src"));
            assert!(html.contains("id=\"btn-export\""));
            assert!(html.trim_end().ends_with("</html>"));
            for item in &items {
                assert!(html.contains(&format!("data-item-id=\"{item}\"")), "{stem}");
            }
            let sheet = std::fs::read_to_string(packets.join(format!("{stem}.csv"))).unwrap();
            assert_eq!(sheet.lines().count(), 5, "header and four rows");
            let part_json = json(&packets.join(format!("{stem}.json")));
            assert_eq!(
                part_json["part"],
                serde_json::json!({"part": p + 1, "of": 4})
            );
            assert_eq!(part_json["packet_id"], part["packet_id"]);
        }
        assert_eq!(
            Value::from(concatenated),
            packet["items"],
            "the packet's items are its parts', part after part"
        );
        // Each condition is spread over the parts as evenly as its count allows.
        for (c, counts) in per_condition {
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{rater}: {c:?} over the parts: {counts:?}");
        }
    }

    // The parts' exports in shuffled order (not by rater, not by part) un-blind the round.
    let sheets = rate_parts(&round, study.tmp.path());
    let mut order: Vec<PathBuf> = sheets.values().cloned().collect();
    order.reverse();
    order.swap(1, 7);
    order.swap(0, 5);
    let output = unblind(&round, &order, &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut reader = csv::Reader::from_path(round.join("unblinded.csv")).unwrap();
    let rated: std::collections::BTreeSet<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[3].to_string())
        })
        .collect();
    assert_eq!(rated.len(), 48, "every item rated by its two raters");

    // One part missing: unblind names it and writes nothing new.
    std::fs::remove_file(round.join("unblinded.csv")).unwrap();
    let without: Vec<PathBuf> = order
        .iter()
        .filter(|p| !p.ends_with("ratings-r2-part-03.csv"))
        .cloned()
        .collect();
    let output = unblind(&round, &without, &[]);
    assert_clean_failure(
        &output,
        "",
        &["rater r2: missing part-03 of 4", "coverage is incomplete"],
    );
    assert!(!round.join("unblinded.csv").exists());
    // As with a missing rater, --allow-missing un-blinds what there is, with a warning.
    let output = unblind(&round, &without, &["--allow-missing"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("rater r2: missing part-03 of 4"));

    // The same part twice: an error naming both files.
    let again = study.tmp.path().join("again.csv");
    std::fs::copy(&sheets["r1-part-02"], &again).unwrap();
    let mut twice = order.clone();
    twice.push(again);
    let output = unblind(&round, &twice, &[]);
    assert_clean_failure(
        &output,
        "again.csv",
        &["part-02 of rater r1 is also in", "ratings-r1-part-02.csv"],
    );

    // A file named after one part holding another: the content decides, and the name conflicts.
    let renamed = study.tmp.path().join("x/ratings-r3-part-01.csv");
    std::fs::create_dir_all(renamed.parent().unwrap()).unwrap();
    std::fs::copy(&sheets["r3-part-04"], &renamed).unwrap();
    let swapped: Vec<PathBuf> = order
        .iter()
        .filter(|p| {
            !p.ends_with("ratings-r3-part-04.csv") && !p.ends_with("ratings-r3-part-01.csv")
        })
        .cloned()
        .chain([renamed])
        .collect();
    let output = unblind(&round, &swapped, &[]);
    assert_clean_failure(
        &output,
        "ratings-r3-part-01.csv",
        &["its name says part-01 of rater r3, but its rows are part-04 of 4"],
    );
}

#[test]
fn the_split_is_deterministic_and_no_split_under_the_cap_changes_nothing() {
    let (study, run) = small_run();
    let copy = study.tmp.path().join("copy");
    copy_dir(&run, &copy);
    for dir in [&run, &copy] {
        let output = blind(dir, &["--seed", "3", "--max-items-per-packet", "6"]);
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let packets =
        |dir: &Path| json(&dir.join("blind/round-1/packets/manifest.json"))["packets"].clone();
    assert_eq!(packets(&run), packets(&copy), "same seed, same parts");
    for name in ["r1-part-01.html", "r2-part-03.json", "r3-part-02.csv"] {
        assert_eq!(
            std::fs::read(run.join("blind/round-1/packets").join(name)).unwrap(),
            std::fs::read(copy.join("blind/round-1/packets").join(name)).unwrap(),
            "{name}"
        );
    }

    // At or under the cap: the packets are byte for byte those of a round without the setting.
    let output = blind(
        &run,
        &[
            "--seed",
            "3",
            "--round",
            "b",
            "--all",
            "--max-items-per-packet",
            "16",
        ],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = blind(&copy, &["--seed", "3", "--round", "b", "--all"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for name in ["r1.html", "r1.csv", "r2.json", "r3.html"] {
        assert_eq!(
            std::fs::read(run.join("blind/b/packets").join(name)).unwrap(),
            std::fs::read(copy.join("blind/b/packets").join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(!run.join("blind/b/packets/r1-part-01.html").exists());
    assert!(
        json(&run.join("blind/b/packets/manifest.json"))["packets"]["r1"]
            .get("parts")
            .is_none()
    );
}

#[test]
fn the_study_setting_splits_and_a_bad_value_names_the_file_and_key() {
    let study = StudyDir::with_prompts(2);
    study.edit(
        "study.toml",
        "per_item = 2",
        "per_item = 2\nmax_items_per_packet = 0",
    );
    let output = blindfold()
        .arg("validate")
        .arg(study.path())
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        "study.toml",
        &["max_items_per_packet must be at least 1"],
    );

    study.edit(
        "study.toml",
        "max_items_per_packet = 0",
        "max_items_per_packet = 8",
    );
    let run = study.run("r");
    let output = blind(&run, &["--seed", "1"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let packets = run.join("blind/round-1/packets");
    assert!(packets.join("r1-part-02.html").exists());
    assert!(!packets.join("r1-part-03.html").exists());
    // The flag overrides the study.
    let output = blind(
        &run,
        &["--seed", "1", "--all", "--max-items-per-packet", "4"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(run.join("blind/round-2/packets/r1-part-04.html").exists());
}
