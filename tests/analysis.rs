//! `agree`, `unblind`, `report`, `prereg` and `demo`: the numbers and the refusals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{assert_clean_failure, blindfold, copy_dir, stderr_of, stdout_of};

fn golden(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/stats")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `agree --format json` on a long-format sheet.
fn agree(sheet: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.csv");
    std::fs::write(&path, sheet).unwrap();
    let output = blindfold()
        .arg("agree")
        .arg(&path)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn close(actual: &Value, expected: f64, tolerance: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!(
        (a - expected).abs() <= tolerance,
        "{what}: {a} vs {expected} (± {tolerance})"
    );
}

/// Reliability data (rows = coders, columns = units; null = missing) as a long sheet.
fn sheet_from_matrix(rows: &[Vec<Option<f64>>]) -> String {
    let mut sheet = String::from("unit,coder,value\n");
    for (c, row) in rows.iter().enumerate() {
        for (u, v) in row.iter().enumerate() {
            match v {
                Some(v) => sheet.push_str(&format!("u{u},c{c},{v}\n")),
                // Missing ratings as empty values, the other form the format allows.
                None if u % 2 == 0 => sheet.push_str(&format!("u{u},c{c},\n")),
                None => {}
            }
        }
    }
    sheet
}

#[test]
fn agree_reproduces_cohens_worked_example() {
    let g = golden("cohen_kappa_wikipedia_grant_proposals.json");
    let table = &g["data"]["table"];
    let mut sheet = String::from("unit,coder,value\n");
    let mut unit = 0;
    for (a, row) in ["yes", "no"].iter().enumerate() {
        for (b, col) in ["yes", "no"].iter().enumerate() {
            for _ in 0..table[a][b].as_u64().unwrap() {
                sheet.push_str(&format!(
                    "p{unit},A,{}\np{unit},B,{}\n",
                    (a == 0) as u8,
                    (b == 0) as u8
                ));
                unit += 1;
                let _ = (row, col);
            }
        }
    }
    let out = agree(&sheet, &[]);
    let tol = g["tolerance"].as_f64().unwrap();
    close(
        &out["cohen_kappa"],
        g["expected"]["kappa"].as_f64().unwrap(),
        tol,
        "kappa",
    );
    close(
        &out["percent_agreement"],
        g["expected"]["p_o"].as_f64().unwrap(),
        tol,
        "p_o",
    );
    assert_eq!(out["n_units"], 50);
    assert_eq!(out["n_coders"], 2);
    assert!(
        out.get("weighted_kappa_linear").is_some() && out.get("weighted_kappa_quadratic").is_some()
    );
    assert!(
        out.get("fleiss_kappa").is_some(),
        "every unit has two ratings"
    );
}

#[test]
fn agree_reproduces_fleiss_worked_example() {
    let g = golden("fleiss_kappa_wikipedia.json");
    let mut sheet = String::from("unit,coder,value\n");
    for (s, counts) in g["data"]["counts"].as_array().unwrap().iter().enumerate() {
        let mut coder = 0;
        for (category, n) in counts.as_array().unwrap().iter().enumerate() {
            for _ in 0..n.as_u64().unwrap() {
                sheet.push_str(&format!("s{s},r{coder},{}\n", category + 1));
                coder += 1;
            }
        }
    }
    let out = agree(&sheet, &["--categories", "1,2,3,4,5"]);
    close(
        &out["fleiss_kappa"],
        g["expected"]["kappa"].as_f64().unwrap(),
        g["tolerance"].as_f64().unwrap(),
        "fleiss",
    );
    assert!(
        out.get("cohen_kappa").is_none(),
        "14 coders: no two-coder statistics"
    );
}

#[test]
fn agree_reproduces_krippendorffs_worked_examples() {
    let g = golden("krippendorff_alpha_wikipedia_3x15.json");
    let rows: Vec<Vec<Option<f64>>> = g["data"]["reliability_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(Value::as_f64).collect())
        .collect();
    let sheet = sheet_from_matrix(&rows);
    let tol = g["tolerance"].as_f64().unwrap();
    for level in ["nominal", "interval"] {
        let out = agree(&sheet, &["--level", level]);
        close(
            &out["krippendorff_alpha"],
            g["expected"][level].as_f64().unwrap(),
            tol,
            level,
        );
    }
    // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers x
    // 12 units with missing data; published to three decimals.
    let grid = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ];
    let rows: Vec<Vec<Option<f64>>> = grid
        .iter()
        .map(|r| r.split(' ').map(|v| v.parse().ok()).collect())
        .collect();
    let sheet = sheet_from_matrix(&rows);
    for (level, expected) in [
        ("nominal", 0.743),
        ("ordinal", 0.815),
        ("interval", 0.849),
        ("ratio", 0.797),
    ] {
        let out = agree(&sheet, &["--level", level]);
        close(&out["krippendorff_alpha"], expected, 0.0005, level);
    }
}

#[test]
fn agree_reports_undefined_statistics_as_null() {
    // Everyone always says 1: chance agreement is total, so kappa and alpha are undefined.
    let out = agree("unit,coder,value\na,x,1\na,y,1\nb,x,1\nb,y,1\n", &[]);
    assert_eq!(out["percent_agreement"], 1.0);
    assert!(out["krippendorff_alpha"].is_null(), "{out}");
    assert!(out["cohen_kappa"].is_null(), "{out}");
    assert!(out["fleiss_kappa"].is_null(), "{out}");
}

#[test]
fn agree_refuses_bad_sheets_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    for (sheet, needles) in [
        ("unit,rater,value\n", &["missing column 'coder'"][..]),
        (
            "unit,coder,value\na,x,1\na,x,2\n",
            &["bad.csv:3", "twice"][..],
        ),
    ] {
        std::fs::write(&path, sheet).unwrap();
        let output = blindfold().arg("agree").arg(&path).output().unwrap();
        assert_clean_failure(&output, "bad.csv", needles);
    }
    // Labels have no order of their own: ordinal data needs --categories, and a value outside
    // the declared categories names its line, unit and coder.
    for (sheet, args, needles) in [
        (
            "unit,coder,value\na,x,3\na,y,high\n",
            &["--level", "ordinal"][..],
            &["bad.csv:3", "'high' is not a number", "--categories"][..],
        ),
        (
            "unit,coder,value\na,x,low\na,y,hihg\n",
            &["--level", "ordinal", "--categories", "low,mid,high"][..],
            &[
                "bad.csv:3",
                "'hihg'",
                "unit 'a'",
                "coder 'y'",
                "low, mid, high",
            ][..],
        ),
    ] {
        std::fs::write(&path, sheet).unwrap();
        let output = blindfold()
            .arg("agree")
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert_clean_failure(&output, "bad.csv", needles);
    }
}

/// Category labels as a long sheet: `coders[c][u]` is coder `c`'s label for unit `u` ("" for
/// none).
fn labelled_sheet(coders: &[&[&str]]) -> String {
    let mut sheet = String::from("unit,coder,value\n");
    for (c, labels) in coders.iter().enumerate() {
        for (u, label) in labels.iter().enumerate() {
            if !label.is_empty() {
                sheet.push_str(&format!("u{u},c{c},{label}\n"));
            }
        }
    }
    sheet
}

/// A nominal yes/no/unsure sheet, 3 coders x 10 units. Reference values:
/// - α: Python `krippendorff` 0.9.0, `alpha(reliability_data=[A, B, C],
///   level_of_measurement="nominal", value_domain=["no", "unsure", "yes"])` on the label
///   strings = 0.5915492957746479;
/// - Fleiss' κ: the formula of R `irr` 0.84.1 `kappam.fleiss` (r-cran-irr is not in Debian's
///   archive here), evaluated in R 4.2.2 on the labels = 0.57746478873239426.
#[test]
fn agree_takes_nominal_labels_like_krippendorff_and_irr() {
    const A: &[&str] = &[
        "yes", "no", "yes", "unsure", "no", "yes", "yes", "no", "unsure", "yes",
    ];
    const B: &[&str] = &[
        "yes", "no", "no", "unsure", "no", "yes", "unsure", "no", "unsure", "yes",
    ];
    const C: &[&str] = &[
        "yes", "yes", "yes", "unsure", "no", "yes", "yes", "no", "no", "yes",
    ];
    let out = agree(&labelled_sheet(&[A, B, C]), &["--resamples", "0"]);
    close(
        &out["krippendorff_alpha"],
        0.5915492957746479,
        1e-12,
        "alpha",
    );
    close(
        &out["fleiss_kappa"],
        0.577_464_788_732_394_3,
        1e-12,
        "Fleiss' kappa",
    );
    assert_eq!(out["n_units"], 10);
    assert_eq!(out["n_coders"], 3);
    // Nominal labels keep their order of first appearance.
    assert_eq!(
        out["categories"],
        serde_json::json!(["yes", "no", "unsure"])
    );
    // The same sheet with the labels declared in another order: nominal statistics do not move.
    // A coder with only empty values is not a coder: not counted, and Cohen's kappa between
    // the two who rated is still given.
    let mut sheet = labelled_sheet(&[A, B]);
    sheet.push_str("u0,c9,\nu1,c9,\n");
    let two = agree(&sheet, &["--resamples", "0"]);
    assert_eq!(two["n_coders"], 2);
    assert!(two["cohen_kappa"].is_number(), "{two}");
    let declared = agree(
        &labelled_sheet(&[A, B, C]),
        &["--resamples", "0", "--categories", "no,unsure,yes"],
    );
    assert_eq!(declared["krippendorff_alpha"], out["krippendorff_alpha"]);
}

/// An ordinal absent/partial/present sheet, 2 coders x 12 units (unit 12 rated once).
/// Reference values:
/// - α: Python `krippendorff` 0.9.0, `alpha(reliability_data=np.array([X, Y]),
///   level_of_measurement="ordinal", value_domain=["absent", "partial", "present"])` on the
///   label strings = 0.7613636363636364 (the once-rated unit is not pairable either way);
/// - κ: the formulas of R `irr` 0.84.1 `kappa2(weight = "unweighted" | "equal" | "squared")`
///   on factor levels in the declared order, evaluated in R 4.2.2: 0.45, 0.60714285714285698,
///   0.74999999999999989.
#[test]
fn agree_takes_ordinal_labels_in_the_declared_order_like_krippendorff_and_irr() {
    const X: &[&str] = &[
        "absent", "partial", "present", "present", "partial", "absent", "absent", "present",
        "partial", "present", "absent", "",
    ];
    const Y: &[&str] = &[
        "absent", "present", "present", "partial", "partial", "absent", "partial", "present",
        "absent", "present", "absent", "partial",
    ];
    let args = [
        "--level",
        "ordinal",
        "--categories",
        "absent,partial,present",
        "--resamples",
        "0",
    ];
    let out = agree(&labelled_sheet(&[X, Y]), &args);
    close(
        &out["krippendorff_alpha"],
        0.7613636363636364,
        1e-12,
        "alpha",
    );
    close(&out["cohen_kappa"], 0.45, 1e-12, "Cohen's kappa");
    close(
        &out["weighted_kappa_linear"],
        0.607_142_857_142_857,
        1e-12,
        "linear kappa",
    );
    close(
        &out["weighted_kappa_quadratic"],
        0.749_999_999_999_999_9,
        1e-12,
        "quadratic kappa",
    );
    assert_eq!(
        out["categories"],
        serde_json::json!(["absent", "partial", "present"])
    );
    // The order is the declared one, not the alphabetical one: reversing the scale changes
    // nothing (distances are symmetric), moving the middle level does.
    let reversed = agree(
        &labelled_sheet(&[X, Y]),
        &[
            "--level",
            "ordinal",
            "--categories",
            "present,partial,absent",
            "--resamples",
            "0",
        ],
    );
    close(
        &reversed["krippendorff_alpha"],
        0.7613636363636364,
        1e-12,
        "reversed alpha",
    );
    let scrambled = agree(
        &labelled_sheet(&[X, Y]),
        &[
            "--level",
            "ordinal",
            "--categories",
            "partial,absent,present",
            "--resamples",
            "0",
        ],
    );
    assert_ne!(scrambled["krippendorff_alpha"], out["krippendorff_alpha"]);
}

/// A finished demo, shared by the tests that read its outputs (it takes a few seconds).
pub(crate) fn demo() -> &'static (tempfile::TempDir, PathBuf, String) {
    static DEMO: std::sync::OnceLock<(tempfile::TempDir, PathBuf, String)> =
        std::sync::OnceLock::new();
    DEMO.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("demo");
        let output = blindfold()
            .arg("demo")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        let text = stdout_of(&output);
        // "At the top level" means every rater gave the top level: sim-alpha's verification
        // transcripts reach it in 87% of cases, short of the 0.9 that "raised to ceiling" needs.
        assert!(
            text.contains("sim-alpha: the verification scaffold's effect on verification_support")
                && (text.contains("improved") || text.contains("raised to ceiling")),
            "{text}"
        );
        assert!(text.contains("at the top level (every rater)"), "{text}");
        assert!(text.contains("depends on the model"), "{text}");
        assert!(text.contains("Krippendorff"), "{text}");
        assert!(text.contains("report.html"), "{text}");
        (tmp, out, text)
    })
}

pub(crate) fn run_dir() -> PathBuf {
    demo().1.join("study/runs/demo")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_demo_prints_its_headline_table() {
    // Every random choice of the demo comes from recorded seeds, so its numbers are pinned.
    let (_, out, text) = demo();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&out.display().to_string()), "[DEMO]");
    settings.add_filter(r"finished in \d+\.\d s", "finished in [TIME] s");
    settings.bind(|| insta::assert_snapshot!("demo_headline", text));
}

#[test]
fn the_demo_writes_the_whole_report() {
    let report = run_dir().join("report");
    for file in [
        "report.md",
        "report.html",
        "efficacy.csv",
        "efficacy.json",
        "agreement.json",
        "results.json",
        "tables/all.tex",
        "figures/heatmap-verification_support.svg",
    ] {
        assert!(report.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for needle in [
        "interaction-level",
        "Inferential distance",
        "Krippendorff",
        "Pre-registration",
    ] {
        assert!(md.contains(needle), "{needle}");
    }
    // The simulated raters' agreement and the judge's are reported.
    let agreement = json(&report.join("agreement.json"));
    let first = &agreement["dimensions"][0]["agreement"];
    assert!(first["krippendorff_alpha"]["value"].as_f64().unwrap() > 0.5);
    assert_eq!(first["judges"][0]["judge"], "judge-sim-gamma");
}

#[test]
fn the_demo_shows_that_scaffold_efficacy_depends_on_the_model() {
    let results = json(&run_dir().join("report/results.json"));
    let primary = &results["dimensions"][0];
    assert_eq!(primary["id"], "verification_support");
    let effect = |model: &str| -> &Value {
        primary["effects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["model"] == model && e["scaffold"] == "verification")
            .unwrap()
    };
    // The responsive model improves; "raised to ceiling" only if every rater gave the top level
    // on at least 90% of its transcripts (the demo's sim-alpha reaches 87%).
    let alpha = effect("sim-alpha");
    let cell = primary["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "sim-alpha" && c["scaffold"] == "verification")
        .unwrap();
    let share = cell["ceiling_share"]["value"].as_f64().unwrap();
    assert!(alpha["effect"]["ci_low"].as_f64().unwrap() > 0.0, "{alpha}");
    assert!(alpha["p_adjusted"].as_f64().unwrap() < 0.05, "{alpha}");
    assert_eq!(
        alpha["label"],
        if share >= 0.9 {
            "raised_to_ceiling"
        } else {
            "improved"
        },
        "{alpha}"
    );
    // The unresponsive model: "equivalent" only when the adjusted TOST p says so (its 90%
    // interval inside the margin, after the family's adjustment).
    let beta = effect("sim-beta");
    let equivalent = beta["tost_p_adjusted"].as_f64().is_some_and(|p| p < 0.05);
    let changed = beta["p_adjusted"].as_f64().is_some_and(|p| p < 0.05);
    assert!(!changed, "{beta}");
    assert_eq!(
        beta["label"],
        if equivalent {
            "equivalent"
        } else {
            "inconclusive"
        },
        "{beta}"
    );
    if equivalent {
        let margin = primary["margin"].as_f64().unwrap();
        let (lo, hi) = (
            beta["tost_ci"]["ci_low"].as_f64().unwrap(),
            beta["tost_ci"]["ci_high"].as_f64().unwrap(),
        );
        assert!(-margin < lo && hi < margin, "{beta}");
    }
    assert!(primary["interaction"]["p_value"].as_f64().unwrap() < 0.01);
}

#[test]
fn report_tables_agree_with_a_recomputation_from_unblinded_csv() {
    // An independent recomputation of every point value of the efficacy, ceiling and
    // equivalence tables from unblinded.csv, by the documented rules: a transcript scores the
    // mean of its human raters and is at the top level when every one of them gave the top
    // level; a prompt's value is the mean over its transcripts (repeats); a cell's the mean over
    // its prompts; an effect the mean paired difference over prompts rated under both.
    let run = run_dir();
    let efficacy = json(&run.join("report/efficacy.json"));
    let top: BTreeMap<String, f64> = efficacy["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["max"].as_f64().unwrap(),
            )
        })
        .collect();
    type Cell = (String, String, String);
    // (dimension, model, scaffold) -> prompt -> cell id -> human scores.
    let mut scores: BTreeMap<Cell, BTreeMap<String, BTreeMap<String, Vec<f64>>>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(run.join("blind/round-1/unblinded.csv")).unwrap();
    for row in reader.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        if row["rater"].starts_with("judge-") {
            continue;
        }
        scores
            .entry((
                row["dimension"].clone(),
                row["model"].clone(),
                row["scaffold"].clone(),
            ))
            .or_default()
            .entry(row["prompt"].clone())
            .or_default()
            .entry(row["cell_id"].clone())
            .or_default()
            .push(row["score"].parse().unwrap());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // (dimension, model, scaffold) -> prompt -> (mean score, share at the top level).
    let mut prompts: BTreeMap<Cell, BTreeMap<String, (f64, f64)>> = BTreeMap::new();
    let mut transcripts: BTreeMap<Cell, usize> = BTreeMap::new();
    for (cell, by_prompt) in &scores {
        for (prompt, by_transcript) in by_prompt {
            let means: Vec<f64> = by_transcript.values().map(|s| mean(s)).collect();
            let tops: Vec<f64> = by_transcript
                .values()
                .map(|s| f64::from(u8::from(s.iter().all(|&x| x == top[&cell.0]))))
                .collect();
            prompts
                .entry(cell.clone())
                .or_default()
                .insert(prompt.clone(), (mean(&means), mean(&tops)));
            *transcripts.entry(cell.clone()).or_default() += by_transcript.len();
        }
    }
    let close = |reported: &str, expected: f64, what: &str| {
        let reported: f64 = reported
            .parse()
            .unwrap_or_else(|_| panic!("{what}: '{reported}'"));
        assert!(
            (reported - expected).abs() < 1e-9,
            "{what}: {reported} vs {expected}"
        );
    };
    let mut checked = (0, 0);
    let mut reader = csv::Reader::from_path(run.join("report/efficacy.csv")).unwrap();
    for row in reader.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        let key = |scaffold: &str| {
            (
                row["dimension"].clone(),
                row["model"].clone(),
                scaffold.to_string(),
            )
        };
        let cell = &prompts[&key(&row["scaffold"])];
        let what = format!("{} {} {}", row["dimension"], row["model"], row["scaffold"]);
        close(
            &row["mean"],
            mean(&cell.values().map(|v| v.0).collect::<Vec<_>>()),
            &what,
        );
        close(
            &row["ceiling_share"],
            mean(&cell.values().map(|v| v.1).collect::<Vec<_>>()),
            &what,
        );
        assert_eq!(
            row["n"],
            transcripts[&key(&row["scaffold"])].to_string(),
            "{what}"
        );
        assert_eq!(row["n_prompts"], cell.len().to_string(), "{what}");
        checked.0 += 1;
        if row["scaffold"] == "baseline" {
            continue;
        }
        let base = &prompts[&key("baseline")];
        let pairs: Vec<(f64, f64)> = cell
            .iter()
            .filter_map(|(p, t)| base.get(p).map(|b| (t.0 - b.0, t.1 - b.1)))
            .collect();
        assert_eq!(row["n_pairs"], pairs.len().to_string(), "{what}");
        close(
            &row["effect"],
            mean(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
            &what,
        );
        if !row["ceiling_change"].is_empty() {
            close(
                &row["ceiling_change"],
                mean(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()),
                &what,
            );
        }
        // The verdict follows from the adjusted p-values as documented.
        let significant = |column: &str| row[column].parse::<f64>().is_ok_and(|p| p < 0.05);
        let up = row["effect"].parse::<f64>().unwrap() > 0.0;
        let expected = match (
            significant("p_adjusted"),
            significant("tost_p_adjusted"),
            up,
        ) {
            (true, true, true) => vec!["improved_within_margin"],
            (true, true, false) => vec!["worse_within_margin"],
            (true, false, true) => vec!["improved", "raised_to_ceiling"],
            (true, false, false) => vec!["worse"],
            (false, true, _) => vec!["equivalent"],
            (false, false, _) => vec!["inconclusive", ""],
        };
        assert!(expected.contains(&row["label"].as_str()), "{what}: {row:?}");
        if row["label"] == "raised_to_ceiling" {
            assert!(
                row["ceiling_share"].parse::<f64>().unwrap() >= 0.9,
                "{what}"
            );
        }
        checked.1 += 1;
    }
    assert_eq!(checked, (4 * 3 * 4, 4 * 3 * 3));
    // efficacy.json holds the same numbers as efficacy.csv.
    let cell = &efficacy["dimensions"][0]["cells"][0];
    let key = (
        "verification_support".to_string(),
        cell["model"].as_str().unwrap().to_string(),
        cell["scaffold"].as_str().unwrap().to_string(),
    );
    let expected = mean(&prompts[&key].values().map(|v| v.0).collect::<Vec<_>>());
    assert!((cell["mean"]["value"].as_f64().unwrap() - expected).abs() < 1e-9);
}

#[test]
fn a_deviation_from_the_registered_plan_is_listed() {
    let run = run_dir();
    // The demo registered its plan; analysing another primary dimension is a deviation.
    let output = blindfold()
        .arg("report")
        .arg(&run)
        .args(["--primary", "helpfulness"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let results = json(&run.join("report/results.json"));
    let deviations: Vec<&str> = results["prereg"]["deviations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        deviations
            .contains(&"primary dimension: registered verification_support, used helpfulness"),
        "{deviations:?}"
    );
    let md = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(md.contains("registered verification_support, used helpfulness"));
    // The headline, on the terminal too, says so before anything else.
    let terminal = stdout_of(&output).replace('\n', " ");
    assert!(
        terminal.contains("This analysis deviates from the registered plan (primary dimension: registered verification_support, used helpfulness)"),
        "{terminal}"
    );
    // Put the registered analysis back for the other tests.
    assert!(
        blindfold()
            .arg("report")
            .arg(&run)
            .output()
            .unwrap()
            .status
            .success()
    );
}

/// After registration, editing `[analysis]` changes nothing but a warning; without a registered
/// plan, the study's current `[analysis]` is what runs.
#[test]
fn the_registered_plan_runs_and_study_edits_after_it_only_warn() {
    let tmp = tempfile::tempdir().unwrap();
    copy_round(&demo().1, tmp.path());
    let study = tmp.path().join("study");
    let run = study.join("runs/demo");
    let toml = std::fs::read_to_string(study.join("study.toml")).unwrap();
    let edited = toml.replace(
        "primary = \"verification_support\"",
        "primary = \"helpfulness\"",
    );
    assert_ne!(toml, edited);
    std::fs::write(study.join("study.toml"), edited).unwrap();
    let report = || blindfold().arg("report").arg(&run).output().unwrap();

    let output = report();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("differs from the plan registered in"),
        "{}",
        stderr_of(&output)
    );
    let results = json(&run.join("report/results.json"));
    assert_eq!(results["primary"], "verification_support");
    assert_eq!(results["prereg"]["deviations"], serde_json::json!([]));

    std::fs::remove_dir_all(study.join("prereg")).unwrap();
    let output = report();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let results = json(&run.join("report/results.json"));
    assert_eq!(results["primary"], "helpfulness");
    assert!(results["prereg"].is_null());
}

pub(crate) fn copy_round(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_round(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn bad_ratings_are_refused_with_file_and_line_and_nothing_is_written() {
    let (_, demo_out, _) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let round = tmp.path().join("round");
    copy_round(&run_dir().join("blind/round-1"), &round);
    std::fs::remove_file(round.join("unblinded.csv")).unwrap();
    let ratings = demo_out.join("ratings");
    let good = std::fs::read_to_string(ratings.join("r1.csv")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let bad = tmp.path().join("r1.csv");
    let others = [ratings.join("r2.csv"), ratings.join("r3.csv")];

    let item = |line: &str| line.split(',').nth(1).unwrap().to_string();
    let with_value = |line: &str, column: usize, value: &str| {
        let mut fields: Vec<&str> = line.split(',').collect();
        fields[column] = value;
        fields.join(",")
    };
    let not_mine = {
        // An item of r2's packet that r1 was not given.
        let manifest = json(&round.join("packets/manifest.json"));
        let mine: Vec<&str> = manifest["packets"]["r1"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        manifest["packets"]["r2"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .find(|i| !mine.contains(&i.as_str()))
            .unwrap()
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            lines[1].replacen(&item(lines[1]), "ZZZZ-ZZZZ", 1),
            vec!["r1.csv:2".into(), "unknown item id 'ZZZZ-ZZZZ'".into()],
        ),
        (
            lines[1].replacen(&item(lines[1]), &not_mine, 1),
            vec!["r1.csv:2".into(), "was not assigned to rater 'r1'".into()],
        ),
        (
            format!("{}\n{}", lines[1], lines[1]),
            vec!["r1.csv:3".into(), "duplicate rating".into()],
        ),
        (
            with_value(lines[1], 2, "7"),
            vec![
                "r1.csv:2".into(),
                "'7' is not a level of verification_support".into(),
            ],
        ),
        (
            with_value(lines[1], 3, ""),
            vec![
                "r1.csv:2".into(),
                "missing required dimension: process_steerability".into(),
            ],
        ),
    ];
    for (first_row, needles) in cases {
        let mut text = vec![lines[0].to_string(), first_row];
        text.extend(lines[2..].iter().map(|l| l.to_string()));
        std::fs::write(&bad, text.join("\n") + "\n").unwrap();
        let output = blindfold()
            .arg("unblind")
            .arg(&round)
            .arg(&bad)
            .args(&others)
            .output()
            .unwrap();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_clean_failure(&output, needles[0], &needles[1..]);
        assert!(!round.join("unblinded.csv").exists(), "nothing written");
    }

    // Missing ratings: refused unless --allow-missing.
    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .arg(ratings.join("r1.csv"))
        .arg(&others[0])
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        "coverage is incomplete",
        &["rater r3: 0 of 120 rated", "--allow-missing"],
    );
    assert!(!round.join("unblinded.csv").exists());

    // A key changed after blinding no longer matches its commitment.
    let key = round.join("key.json");
    let text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, text.replacen("sim-alpha", "sim-beta", 1)).unwrap();
    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .arg(ratings.join("r1.csv"))
        .args(&others)
        .output()
        .unwrap();
    assert_clean_failure(&output, "key.json", &["does not match the commitment"]);
    std::fs::write(&key, text).unwrap();

    // And the good files go through.
    let output = blindfold()
        .arg("unblind")
        .arg(&round)
        .arg(ratings.join("r1.csv"))
        .args(&others)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(round.join("unblinded.csv").exists());
}

#[test]
fn prereg_prints_the_hash_of_its_document() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("s");
    assert!(
        blindfold()
            .arg("init")
            .arg(&study)
            .output()
            .unwrap()
            .status
            .success()
    );
    let output = blindfold().arg("prereg").arg(&study).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let bytes = std::fs::read(study.join("prereg/prereg.json")).unwrap();
    let sha = blindfold::hash::sha256_hex(&bytes);
    assert!(stdout_of(&output).contains(&sha));
    let md = std::fs::read_to_string(study.join("prereg/prereg.md")).unwrap();
    assert!(md.contains("Primary dimension: `verification_support`") && md.contains(&sha));
}

#[test]
fn the_demo_refuses_to_overwrite_a_folder_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precious.txt"), "keep me").unwrap();
    let output = blindfold()
        .arg("demo")
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_clean_failure(&output, "not a blindfold demo folder", &[]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let output = blindfold().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

/// A second round deals every transcript of the demo again (`blind --all`) to the same raters,
/// rated with another seed. Each (transcript, rater) counts once, from the earliest-blinded
/// round; pairs rated in both rounds give test–retest reliability; and un-blinding the rounds in
/// the other order changes nothing.
#[test]
fn overlapping_rounds_count_each_rating_once_whatever_the_unblinding_order() {
    let source = &demo().1;
    let tmp = tempfile::tempdir().unwrap();
    let os = |p: &Path| p.as_os_str().to_owned();
    let mut dimensions = Vec::new();
    for (i, reverse) in [false, true].into_iter().enumerate() {
        let copy = tmp.path().join(format!("copy-{i}"));
        copy_dir(source, &copy);
        let run = copy.join("study/runs/demo");
        let report = |run: &Path| -> Value {
            run_ok(&[os(Path::new("report")).as_os_str(), os(run).as_os_str()]);
            json(&run.join("report/results.json"))
        };
        let single = report(&run);
        let round_1 = run.join("blind/round-1");
        let round_2 = run.join("blind/round-2");
        let out = run_ok(&[
            "blind".as_ref(),
            run.as_os_str(),
            "--all".as_ref(),
            "--round".as_ref(),
            "round-2".as_ref(),
            "--seed".as_ref(),
            "11".as_ref(),
        ]);
        assert!(round_2.join("key.json").exists(), "{out}");
        let mut sheets = Vec::new();
        for rater in ["r1", "r2", "r3"] {
            let sheet = copy.join(format!("again-{rater}.csv"));
            run_ok(&[
                "rate".as_ref(),
                "--simulate".as_ref(),
                round_2.join(format!("packets/{rater}.json")).as_os_str(),
                "--out".as_ref(),
                sheet.as_os_str(),
                "--seed".as_ref(),
                "99".as_ref(),
            ]);
            sheets.push(sheet);
        }
        let unblind = |round: &Path, sheets: &[PathBuf]| {
            let mut args = vec![os(Path::new("unblind")), os(round)];
            args.extend(sheets.iter().map(|s| os(s)));
            let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            run_ok(&refs);
        };
        if reverse {
            // Round 1 un-blinded again after round 2.
            std::fs::remove_file(round_1.join("unblinded.csv")).unwrap();
            std::fs::remove_file(round_1.join("unblinded-notes.csv")).unwrap();
            unblind(&round_2, &sheets);
            let mut first: Vec<PathBuf> = ["r1", "r2", "r3"]
                .iter()
                .map(|r| copy.join(format!("ratings/{r}.csv")))
                .collect();
            first.push(round_1.join("judge-sim-gamma.csv"));
            unblind(&round_1, &first);
        } else {
            unblind(&round_2, &sheets);
        }
        let pooled = report(&run);
        assert_eq!(pooled["rounds"], serde_json::json!(["round-1", "round-2"]));
        // Round 2 deals the transcripts to raters anew: a (transcript, rater) pair rated in both
        // rounds counts once (and is re-rated), a pair new in round 2 is new data.
        let pairs = |round: &Path| -> std::collections::BTreeSet<(String, String)> {
            let mut reader = csv::Reader::from_path(round.join("unblinded.csv")).unwrap();
            reader
                .deserialize::<BTreeMap<String, String>>()
                .map(|r| r.unwrap())
                .filter(|r| !r["rater"].starts_with("judge-"))
                .map(|r| (r["cell_id"].clone(), r["rater"].clone()))
                .collect()
        };
        let (first, second) = (pairs(&round_1), pairs(&round_2));
        assert_eq!(
            single["n_ratings"].as_u64().unwrap() as usize,
            first.len(),
            "one round"
        );
        assert_eq!(
            pooled["n_ratings"].as_u64().unwrap() as usize,
            first.union(&second).count(),
            "each pair once"
        );
        let rerated = first.intersection(&second).count();
        assert!(rerated > 0);
        assert_eq!(pooled["n_rerated"].as_u64().unwrap() as usize, rerated);
        for d in pooled["dimensions"].as_array().unwrap() {
            let retest = &d["agreement"]["test_retest"];
            assert!(retest["n_units"].as_u64().unwrap() > 0, "{retest}");
        }
        dimensions.push(pooled["dimensions"].clone());
    }
    assert_eq!(
        dimensions[0], dimensions[1],
        "the un-blinding order changes nothing"
    );
}
