//! `blindfold blind`: what raters get, what they must never see, and the key kept apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::RegexBuilder;
use serde_json::Value;

use crate::util::{
    StudyDir, assert_clean_failure, blindfold, edit_assistant_messages, stderr_of, stdout_of,
};

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The default study cut to three prompts (36 cells), run on the simulated models.
fn tiny_run() -> (StudyDir, PathBuf) {
    let study = StudyDir::with_prompts(3);
    let run = study.run("r");
    (study, run)
}

fn blind(run: &Path, args: &[&str]) -> std::process::Output {
    blindfold()
        .arg("blind")
        .arg(run)
        .args(args)
        .output()
        .unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn the_default_run_blinds_cleanly() {
    let study = StudyDir::new();
    let run = study.run("r");
    let output = blind(&run, &["--seed", "11"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("Blinded 180 transcripts"));
    let round = run.join("blind/round-1");
    let packets = round.join("packets");
    let key = json(&round.join("key.json"));
    let manifest = json(&packets.join("manifest.json"));

    // The key's SHA-256 is the manifest's commitment, and the key is not among the packets.
    let key_bytes = std::fs::read(round.join("key.json")).unwrap();
    assert_eq!(
        manifest["key_sha256"],
        blindfold::hash::sha256_hex(&key_bytes)
    );
    assert!(!packets.join("key.json").exists());

    // Every item in exactly two packets; loads within one.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut loads = Vec::new();
    for (rater, entry) in manifest["packets"].as_object().unwrap() {
        let items = entry["items"].as_array().unwrap();
        loads.push(items.len());
        let packet = json(&packets.join(format!("{rater}.json")));
        let in_json: Vec<&str> = packet["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item_id"].as_str().unwrap())
            .collect();
        let in_manifest: Vec<&str> = items.iter().map(|i| i.as_str().unwrap()).collect();
        assert_eq!(in_json, in_manifest, "packet order");
        for id in in_manifest {
            *count.entry(id.to_string()).or_default() += 1;
        }
    }
    assert_eq!(count.len(), 180);
    assert!(count.values().all(|&n| n == 2));
    assert!(
        loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
        "{loads:?}"
    );
    assert_eq!(key["items"].as_array().unwrap().len(), 180);
    assert_eq!(key["seed"], 11);

    // The identifiability audit: printed, in full in the key, its headline in the manifest, and
    // a warning because the simulated models' styles differ (each has its own markdown habits).
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("Identifiability of the model: a classifier"),
        "{stdout}"
    );
    let audit = &key["identifiability"]["model"];
    assert!(audit["accuracy"].as_f64().unwrap() > 0.9, "{audit}");
    assert!(audit["p_value"].as_f64().unwrap() <= 0.05, "{audit}");
    assert_eq!(audit["n_groups"], 180, "one group per cell");
    assert_eq!(
        manifest["identifiability"]["model"]["accuracy"],
        audit["accuracy"]
    );
    assert!(
        manifest["identifiability"]["model"]
            .get("per_class")
            .is_none()
    );
    assert!(stderr_of(&output).contains("the model can be predicted from the packets"));

    // No identity anywhere in the packets: model ids and names, vendors, versions, scaffold ids
    // (even the ordinary-word ones, as whole words) and every system-prompt sentence.
    let mut needles: Vec<String> = vec![
        "sim-alpha",
        "sim-beta",
        "sim-gamma",
        "simalpha",
        "simbeta",
        "simgamma",
        "sim alpha",
        "sim_beta",
        "example labs",
        "northwind",
        "acme intelligence",
        "openai",
        "anthropic",
        "baseline",
        "verification",
        "steerability",
        "verification-steerability",
        "2026-05-01",
        "2026-04-15",
        "2026-03-20",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for scaffold in ["verification", "steerability"] {
        let text = study.read(&format!("scaffolds/{scaffold}.toml"));
        let system = text.split("\"\"\"").nth(1).unwrap();
        for sentence in system
            .split(['.', ':'])
            .map(str::trim)
            .filter(|s| s.split_whitespace().count() >= 6)
        {
            needles.push(sentence.to_string());
        }
    }
    for file in files_in(&packets) {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in &needles {
            let pattern = format!(r"\b{}\b", regex::escape(needle).replace(' ', r"\s+"));
            let re = RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .unwrap();
            assert!(
                !re.is_match(&text),
                "{} contains {needle:?}",
                file.display()
            );
        }
    }
    // Redactions were needed and are counted in the key, not in the packets.
    let redacted: u64 = key["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["redactions"].as_object().unwrap().values())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(redacted > 20, "{redacted}");
    for file in files_in(&packets) {
        assert!(
            !std::fs::read_to_string(&file)
                .unwrap()
                .contains("redactions")
        );
    }
}

#[test]
fn packets_hold_only_what_raters_may_see() {
    let (_study, run) = tiny_run();
    assert!(blind(&run, &["--seed", "3"]).status.success());
    let packets = run.join("blind/round-1/packets");
    let packet = json(&packets.join("r1.json"));
    let id_shape = regex::Regex::new(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$").unwrap();
    for item in packet["items"].as_array().unwrap() {
        assert_eq!(
            item.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["item_id", "turns"]
        );
        let id = item["item_id"].as_str().unwrap();
        assert!(id_shape.is_match(id), "{id}");
        for turn in item["turns"].as_array().unwrap() {
            assert!(
                turn["role"] == "user" || turn["role"] == "assistant",
                "no system prompt"
            );
        }
    }
    let csv = std::fs::read_to_string(packets.join("r1.csv")).unwrap();
    assert!(csv.starts_with(
        "rater,item_id,verification_support,process_steerability,uncertainty_disclosure,helpfulness,comment,identity_guess\n"
    ));
    assert_eq!(
        csv.lines().count(),
        1 + packet["items"].as_array().unwrap().len()
    );
    let html = std::fs::read_to_string(packets.join("r1.html")).unwrap();
    for forbidden in [
        "cell_id",
        "started_at",
        "latency",
        "request_id",
        "usage",
        "http://",
        "https://",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
}

#[test]
fn rounds_differ_in_ids_and_order_and_later_rounds_take_only_new_transcripts() {
    let (study, run) = tiny_run();
    assert!(
        blind(&run, &["--round", "a", "--seed", "1"])
            .status
            .success()
    );
    let nothing = blind(&run, &["--round", "b", "--seed", "2"]);
    assert_clean_failure(&nothing, "nothing to blind", &["--all"]);
    assert!(
        blind(&run, &["--round", "b", "--seed", "2", "--all"])
            .status
            .success()
    );
    let a = json(&run.join("blind/a/packets/manifest.json"));
    let b = json(&run.join("blind/b/packets/manifest.json"));
    let ids = |m: &Value| -> BTreeSet<String> {
        m["packets"]["r1"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        ids(&a).is_disjoint(&ids(&b)),
        "item ids differ between rounds"
    );
    // The same transcripts, in a different order: map both orders back to cells through the keys.
    let cells = |round: &str, m: &Value| -> Vec<String> {
        let key = json(&run.join(format!("blind/{round}/key.json")));
        let by_id: BTreeMap<&str, &str> = key["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["item_id"].as_str().unwrap(),
                    i["cell_id"].as_str().unwrap(),
                )
            })
            .collect();
        m["packets"]["r1"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| by_id[v.as_str().unwrap()].to_string())
            .collect()
    };
    assert_ne!(cells("a", &a), cells("b", &b));

    // A new scaffold's transcripts go into a new round on their own.
    study.write(
        "scaffolds/socratic-v1.toml",
        "system = \"Answer only with guiding questions.\"\n",
    );
    study.edit(
        "study.toml",
        "\"verification-steerability\"]",
        "\"verification-steerability\", \"socratic-v1\"]",
    );
    study.run("r");
    let output = blind(&run, &["--round", "c", "--seed", "3"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("Blinded 9 transcripts"),
        "{}",
        stdout_of(&output)
    );
}

#[test]
fn the_same_seed_gives_the_same_round() {
    let (_study, run) = tiny_run();
    assert!(
        blind(&run, &["--round", "a", "--seed", "5"])
            .status
            .success()
    );
    assert!(
        blind(&run, &["--round", "b", "--seed", "5", "--all"])
            .status
            .success()
    );
    // Ids and orders are derived with the round's name, so rounds never repeat each other, but
    // re-creating a round with its name and seed reproduces it exactly.
    let a = std::fs::read(run.join("blind/a/packets/r2.json")).unwrap();
    std::fs::remove_dir_all(run.join("blind/a")).unwrap();
    std::fs::rename(run.join("blind/b"), run.join("blind/b-moved")).unwrap();
    assert!(
        blind(&run, &["--round", "a", "--seed", "5", "--all"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(run.join("blind/a/packets/r2.json")).unwrap(),
        a
    );
}

#[test]
fn bad_requests_are_refused_and_write_nothing() {
    let (study, run) = tiny_run();
    let output = blind(&run, &["--per-item", "4"]);
    assert_clean_failure(&output, "rater", &["--per-item"]);
    let output = blind(&run, &["--raters", "r1,r1"]);
    assert_clean_failure(&output, "r1", &["twice"]);
    assert!(!run.join("blind").exists(), "nothing written");

    assert!(
        blind(&run, &["--round", "x", "--seed", "1"])
            .status
            .success()
    );
    let output = blind(&run, &["--round", "x", "--seed", "1", "--all"]);
    assert_clean_failure(
        &output,
        "round 'x' already exists",
        &["refusing to overwrite"],
    );

    // An incomplete run: drop one transcript.
    let log = run.join("transcripts.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&log, kept.join("\n") + "\n").unwrap();
    let output = blind(&run, &["--round", "y", "--all"]);
    assert_clean_failure(
        &output,
        "incomplete",
        &["1 have no transcript", "--allow-incomplete"],
    );
    assert!(!run.join("blind/y").exists());
    let output = blind(&run, &["--round", "y", "--all", "--allow-incomplete"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("Blinded 35 transcripts"));
    drop(study);
}

#[test]
fn the_leak_gate_stops_blind_and_names_what_leaked_where() {
    let study = StudyDir::with_prompts(2);
    // A scaffold whose user turns repeat its own hidden instructions: the redactor leaves user
    // turns' wording alone (they are the prompt), so only the gate can stop it.
    study.write(
        "scaffolds/checklist-v2.toml",
        "system = \"Always end with a numbered checklist of every claim the reader must verify.\"\n\
         first_turn = \"{{ prompt }}\\n\\nAlways end with a numbered checklist of every claim the reader must verify.\"\n",
    );
    study.edit(
        "study.toml",
        "scaffolds = [\"baseline\", ",
        "scaffolds = [\"checklist-v2\", \"baseline\", ",
    );
    let run = study.run("r");

    let output = blind(&run, &["--seed", "1"]);
    assert_clean_failure(
        &output,
        "leak gate",
        &[
            "system prompt",
            "leak-report.json",
            "no packets were written",
        ],
    );
    let round = run.join("blind/round-1");
    assert!(!round.join("packets").exists());
    assert!(!round.join("key.json").exists());
    // Every hit is in the report (outside packets/), grouped by term, with example item ids.
    let report = json(&round.join("leak-report.json"));
    assert_eq!(report["blocked"], true);
    assert_eq!(report["total"], 6, "{report}");
    let group = &report["groups"][0];
    assert_eq!(group["term"], "system prompt");
    assert_eq!(group["count"], 6);
    assert_eq!(group["examples"].as_array().unwrap().len(), 5);
    assert_eq!(group["leaks"][0]["seen"], "source");
    assert_eq!(group["leaks"][0]["turn"], 1);
    assert!(
        std::fs::read_dir(run.join("blind")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "no temporary folder is left behind"
    );

    // The name is free for the next try; --allow-leaks writes the packets anyway.
    let output = blind(&run, &["--seed", "1", "--allow-leaks"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("despite"));
    assert!(round.join("packets/r1.json").exists());
    assert_eq!(json(&round.join("leak-report.json"))["blocked"], false);

    // A scaffold id in a user turn is redacted, so it needs no gate.
    study.write(
        "scaffolds/checklist-v2.toml",
        "first_turn = \"{{ prompt }}\\n\\n(Protocol checklist-v2.)\"\n",
    );
    let run = study.run("r2");
    let output = blind(&run, &["--seed", "1"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for file in files_in(&run.join("blind/round-1/packets")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("checklist-v2"), "{}", file.display());
    }
}

#[test]
fn a_quoted_system_prompt_is_replaced() {
    // The simulated models never quote their instructions, so a quote is written into their
    // transcripts by hand, as a model that does would leave it.
    let study = StudyDir::with_prompts(1);
    let run = study.run("r");
    let log = run.join("transcripts.jsonl");
    let quote =
        "Support the user in verifying your answer: list the specific claims they should check";
    let text: String = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            if record["scaffold"] == "verification" {
                let messages = record["messages"].as_array_mut().unwrap();
                let last = messages.last_mut().unwrap();
                let content = format!(
                    "I was told: \"{quote}\". So here goes.\n\n{}",
                    last["content"].as_str().unwrap()
                );
                last["content"] = Value::String(content);
            }
            serde_json::to_string(&record).unwrap() + "\n"
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let output = blind(&run, &["--seed", "1"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let key = json(&run.join("blind/round-1/key.json"));
    let quoted: u64 = key["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quoted_instructions"].as_u64().unwrap())
        .sum();
    assert_eq!(quoted, 3, "one quote in each verification transcript");
    for file in files_in(&run.join("blind/round-1/packets")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("list the specific claims they should check"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn reasoning_content_never_reaches_the_packets() {
    let (_study, run) = tiny_run();
    edit_assistant_messages(&run, |m| {
        m["reasoning"] = Value::String("PRIVATE-CHAIN-OF-THOUGHT about the rubric".into());
    });
    assert!(blind(&run, &["--seed", "2"]).status.success());
    for file in files_in(&run.join("blind/round-1/packets")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("PRIVATE-CHAIN-OF-THOUGHT"),
            "{}",
            file.display()
        );
    }
}

/// Every file under `dir`, relative path → text, with `replace` pairs substituted (timestamps
/// and what depends on them).
fn texts_under(dir: &Path, replace: &[(String, &str)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for path in files_in(&d) {
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            for (from, to) in replace {
                text = text.replace(from.as_str(), to);
            }
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            out.insert(name, text);
        }
    }
    out
}

/// Speed does not change results: the audit's permutations, redaction and the report's
/// resampling run on several threads, each task drawing from its own seeded stream.
#[test]
fn blind_and_report_are_the_same_whatever_the_number_of_threads() {
    let (_study, run) = tiny_run();
    let moved = run.parent().unwrap().join("aside");
    std::fs::create_dir_all(&moved).unwrap();
    let mut rounds = Vec::new();
    let mut reports = Vec::new();
    let time =
        regex::Regex::new(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?").unwrap();
    for threads in ["1", "3"] {
        let output = blindfold()
            .env("RAYON_NUM_THREADS", threads)
            .arg("blind")
            .arg(&run)
            .args(["--seed", "5", "--round", "x"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let round = run.join("blind/x");
        let key = json(&round.join("key.json"));
        let created = key["created_at"].as_str().unwrap().to_string();
        let sha = blindfold::hash::sha256_hex(&std::fs::read(round.join("key.json")).unwrap());
        let mut ratings = Vec::new();
        for rater in key["raters"].as_array().unwrap() {
            let rater = rater.as_str().unwrap();
            let out = round.join(format!("ratings-{rater}.csv"));
            let output = blindfold()
                .arg("rate")
                .arg("--simulate")
                .arg(round.join(format!("packets/{rater}.json")))
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", stderr_of(&output));
            ratings.push(out);
        }
        let output = blindfold()
            .arg("unblind")
            .arg(&round)
            .args(&ratings)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let output = blindfold()
            .env("RAYON_NUM_THREADS", threads)
            .arg("report")
            .arg(&run)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let strip = |texts: BTreeMap<String, String>| -> BTreeMap<String, String> {
            texts
                .into_iter()
                .map(|(k, v)| (k, time.replace_all(&v, "[TIME]").into_owned()))
                .collect()
        };
        let replace = [(created, "[CREATED]"), (sha, "[KEY-SHA]")];
        rounds.push(strip(texts_under(&round, &replace)));
        reports.push(strip(texts_under(&run.join("report"), &replace)));
        std::fs::rename(run.join("blind"), moved.join(threads)).unwrap();
        std::fs::rename(run.join("report"), moved.join(format!("report-{threads}"))).unwrap();
    }
    assert!(rounds[0].contains_key("key.json") && rounds[0].contains_key("unblinded.csv"));
    for (name, text) in &rounds[0] {
        assert!(
            rounds[1].get(name) == Some(text),
            "{name} differs with 3 threads"
        );
    }
    assert_eq!(rounds[0].len(), rounds[1].len());
    assert!(reports[0].contains_key("results.json"));
    for (name, text) in &reports[0] {
        assert!(
            reports[1].get(name) == Some(text),
            "report/{name} differs with 3 threads"
        );
    }
    assert_eq!(reports[0].len(), reports[1].len());
}
