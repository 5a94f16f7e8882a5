//! The study format: init, validate, plan, and a clear error for every kind of broken study.

use crate::util::{StudyDir, assert_clean_failure, blindfold, stdout_of};

#[test]
fn init_validate_plan_gives_180_cells() {
    let study = StudyDir::new();
    blindfold()
        .arg("validate")
        .arg(study.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("= 180 cells"));
    let output = blindfold()
        .args(["plan", "--format", "json"])
        .arg(study.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["cells"], 180);
    assert_eq!(plan["models"], 3);
    assert_eq!(plan["scaffolds"], 4);
    assert_eq!(plan["prompts"], 15);
    assert_eq!(plan["repeats"], 1);
    assert_eq!(plan["requests"], 270);

    // --cells lists the plan (streamed into the same object), in plan order.
    let output = blindfold()
        .args(["plan", "--format", "json", "--cells"])
        .arg(study.path())
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let cells = listed["cell_list"].as_array().unwrap();
    assert_eq!(cells.len(), 180);
    assert_eq!(cells[0]["model"], "sim-alpha");
    assert_eq!(cells[60]["model"], "sim-beta");
    assert_eq!(listed["requests"], plan["requests"]);
    let text = blindfold()
        .args(["plan", "--cells"])
        .arg(study.path())
        .output()
        .unwrap();
    assert_eq!(stdout_of(&text).matches("  repeat 0").count(), 180);
}

#[test]
fn plan_text_shows_counts_and_cost() {
    let study = StudyDir::new();
    let output = blindfold().arg("plan").arg(study.path()).output().unwrap();
    let text = stdout_of(&output);
    assert!(output.status.success());
    for needle in [
        "cells",
        "180",
        "requests",
        "270",
        "sim-alpha",
        "Estimated cost: unknown",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}

#[test]
fn validate_defaults_to_the_current_directory() {
    let study = StudyDir::new();
    blindfold()
        .current_dir(study.path())
        .arg("validate")
        .assert()
        .success();
}

#[test]
fn init_refuses_to_overwrite_and_writes_nothing() {
    let study = StudyDir::new();
    std::fs::remove_file(study.file("rubric.toml")).unwrap();
    let before = study.read("study.toml");
    let output = blindfold().arg("init").arg(study.path()).output().unwrap();
    assert_clean_failure(&output, "study.toml", &["refusing to overwrite"]);
    assert_eq!(study.read("study.toml"), before);
    assert!(!study.file("rubric.toml").exists(), "nothing written");
}

#[test]
fn a_folder_without_study_toml_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let output = blindfold()
        .arg("validate")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        &tmp.path().display().to_string(),
        &["no study.toml"],
    );
}

/// One broken study: an edit of one file, and what the error must say.
struct Broken {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    /// `file:line` (or just file) the message must contain, and further text.
    expect: &'static [&'static str],
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "toml syntax error",
        file: "study.toml",
        from: "repeats = 1",
        to: "repeats = = 1",
        expect: &["study.toml:11:", "invalid TOML"],
    },
    Broken {
        name: "unknown scaffold",
        file: "study.toml",
        from: "\"steerability\", \"verification-steerability\"]",
        to: "\"steerability\", \"verification-steerability\", \"socratic\"]",
        expect: &["study.toml:13:", "unknown scaffold 'socratic'"],
    },
    Broken {
        name: "unknown crossed model",
        file: "study.toml",
        from: "models = [\"sim-alpha\", \"sim-beta\", \"sim-gamma\"]",
        to: "models = [\"sim-alpha\", \"sim-beta\", \"gpt\"]",
        expect: &["study.toml:12:", "unknown model 'gpt'"],
    },
    Broken {
        name: "duplicate model id",
        file: "study.toml",
        from: "id = \"sim-gamma\"",
        to: "id = \"sim-beta\"",
        expect: &["study.toml:", "duplicate model id 'sim-beta'"],
    },
    Broken {
        name: "unknown provider",
        file: "study.toml",
        from: "provider = \"sim\"\nmodel = \"sim-beta\"",
        to: "provider = \"openia\"\nmodel = \"sim-beta\"",
        expect: &["study.toml:", "model 'sim-beta': unknown provider 'openia'"],
    },
    Broken {
        name: "zero repeats",
        file: "study.toml",
        from: "repeats = 1",
        to: "repeats = 0",
        expect: &["study.toml:11:", "repeats must be at least 1"],
    },
    Broken {
        name: "api key pasted into api_key_env",
        file: "study.toml",
        from: "model = \"sim-alpha\"\n",
        to: "model = \"sim-alpha\"\napi_key_env = \"sk-proj-4f9aQ2kLmN8pR7sT1vW3xY5zB6cD\"\n",
        expect: &["study.toml:", "looks like an actual API key"],
    },
    Broken {
        name: "unknown field (typo)",
        file: "study.toml",
        from: "temperature = 0.7\nmax_tokens = 900\n",
        to: "temprature = 0.7\nmax_tokens = 900\n",
        expect: &["study.toml:", "unknown field `temprature`"],
    },
    Broken {
        name: "per_item exceeds raters",
        file: "study.toml",
        from: "per_item = 2",
        to: "per_item = 4",
        expect: &["study.toml:", "per_item is 4 but there are only 3 raters"],
    },
    Broken {
        name: "unknown primary dimension",
        file: "study.toml",
        from: "primary = \"verification_support\"",
        to: "primary = \"verifiability\"",
        expect: &["study.toml:", "unknown dimension 'verifiability'"],
    },
    Broken {
        name: "duplicate prompt id",
        file: "prompts/deployment.toml",
        from: "id = \"health-toddler-fever\"",
        to: "id = \"health-ibuprofen-lisinopril\"",
        expect: &[
            "prompts/deployment.toml:",
            "duplicate prompt id 'health-ibuprofen-lisinopril'",
        ],
    },
    Broken {
        name: "level without anchor",
        file: "rubric.toml",
        from: "label = \"Partial\"\nanchor = \"Some help",
        to: "label = \"Partial\"\nnote = \"Some help",
        expect: &["rubric.toml:", "unknown field `note`"],
    },
    Broken {
        name: "duplicate dimension id",
        file: "rubric.toml",
        from: "id = \"uncertainty_disclosure\"",
        to: "id = \"helpfulness\"",
        expect: &["rubric.toml:", "duplicate dimension id 'helpfulness'"],
    },
    Broken {
        name: "unknown template variable",
        file: "scaffolds/verification.toml",
        from: "first_turn = \"{{ prompt }}\"",
        to: "first_turn = \"{{ prompt }} ({{ user_name }})\"",
        expect: &[
            "scaffolds/verification.toml:",
            "unknown variable 'user_name'",
        ],
    },
    Broken {
        name: "template reads metadata some prompts lack",
        file: "scaffolds/verification.toml",
        from: "first_turn = \"{{ prompt }}\"",
        to: "first_turn = \"{{ prompt }} (stakes: {{ metadata.stakes }})\"",
        expect: &[
            "scaffolds/verification.toml",
            "first_turn reads metadata.stakes, which prompts 'law-deposit-withheld', 'law-noncompete'",
            "do not have",
        ],
    },
    Broken {
        name: "scaffold id differs from file name",
        file: "scaffolds/steerability.toml",
        from: "description =",
        to: "id = \"steer\"\ndescription =",
        expect: &["scaffolds/steerability.toml:", "differs from its file name"],
    },
];

#[test]
fn every_broken_study_fails_cleanly_naming_the_file() {
    for case in BROKEN {
        let study = StudyDir::new();
        study.edit(case.file, case.from, case.to);
        for command in ["validate", "plan"] {
            let output = blindfold().arg(command).arg(study.path()).output().unwrap();
            eprintln!("case: {} ({command})", case.name);
            assert_clean_failure(&output, case.expect[0], &case.expect[1..]);
        }
    }
}

#[test]
fn empty_prompt_file_and_missing_anchor_are_semantic_errors() {
    let study = StudyDir::new();
    study.write("prompts/deployment.toml", "description = \"nothing yet\"\n");
    study.edit(
        "rubric.toml",
        "anchor = \"Some help, but generic",
        "# anchor = \"Some help, but generic",
    );
    let output = blindfold()
        .arg("validate")
        .arg(study.path())
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        "prompts/deployment.toml",
        &[
            "prompt set 'deployment' is empty",
            "rubric.toml:",
            "level 1 has no anchor text",
            "2 problems",
        ],
    );
}

#[test]
fn unknown_user_sim_model_is_named() {
    let study = StudyDir::new();
    study.write(
        "scaffolds/socratic.toml",
        "first_turn = \"{{ prompt }}\"\n[user_sim]\nmodel = \"nobody\"\npersona = \"a curious student\"\n",
    );
    study.edit(
        "study.toml",
        "\"verification-steerability\"]",
        "\"verification-steerability\", \"socratic\"]",
    );
    let output = blindfold()
        .arg("validate")
        .arg(study.path())
        .output()
        .unwrap();
    assert_clean_failure(
        &output,
        "scaffolds/socratic.toml:3:",
        &["user_sim.model 'nobody' is not a model of the study"],
    );
}

#[test]
fn plan_output_snapshot() {
    let study = StudyDir::new();
    let output = blindfold().arg("plan").arg(study.path()).output().unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!("plan_default_study", stdout_of(&output));
}

#[test]
fn validate_output_snapshot() {
    let study = StudyDir::new();
    let output = blindfold()
        .arg("validate")
        .arg(study.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!("validate_default_study", stdout_of(&output));
}
