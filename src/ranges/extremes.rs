//! Every numeric setting fed extreme values (NaN, ±inf, 0, negative, 1e300, u64::MAX and
//! arbitrary numbers): `validate` refuses what is out of range with a message stating the range,
//! accepts what is in it, and nothing the study then reaches (plan, estimate, limits, retries,
//! timeouts, prices, the analysis plan) panics. The flags get the same through clap.

use std::time::{Duration, SystemTime};

use clap::Parser;
use proptest::prelude::*;

use super::*;
use crate::cli::Cli;
use crate::provider::{HttpResponse, ProviderKind, parse_response};
use crate::run::limits::{GlobalGate, ModelGate};
use crate::run::retry::{RetryPolicy, request_timeout};
use crate::study::{SourceFile, Study, StudyError, defaults, parse};

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "-0.0",
    "0.5",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "9.2e18",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
];

const PLACEHOLDER: &str = "@@VALUE@@";

/// The default study cut to one model, scaffold and prompt (so that `repeats = 10000` plans
/// quickly), with a simulated user on the scaffold so that `user_sim.turns` exists.
fn base_files() -> Vec<(String, toml::Table)> {
    let mut files: Vec<(String, toml::Table)> = defaults::FILES
        .iter()
        .filter(|(path, _)| path.ends_with(".toml"))
        .filter(|(path, _)| !path.starts_with("scaffolds/") || *path == "scaffolds/baseline.toml")
        .map(|(path, text)| (path.to_string(), toml::from_str(text).unwrap()))
        .collect();
    for (path, table) in &mut files {
        match path.as_str() {
            "study.toml" => {
                let study = table["study"].as_table_mut().unwrap();
                study.insert(
                    "models".into(),
                    toml::Value::Array(vec!["sim-alpha".into()]),
                );
                study.insert(
                    "scaffolds".into(),
                    toml::Value::Array(vec!["baseline".into()]),
                );
            }
            "scaffolds/baseline.toml" => {
                let mut user = toml::Table::new();
                user.insert("model".into(), "sim-beta".into());
                user.insert("persona".into(), "a careful user".into());
                table.insert("user_sim".into(), toml::Value::Table(user));
            }
            p if p.starts_with("prompts/") => {
                let prompts = table["prompt"].as_array_mut().unwrap();
                prompts.truncate(1);
            }
            _ => {}
        }
    }
    files
}

/// The table a setting lives in, inside its file, and the key to set there.
fn locate<'a>(
    files: &'a mut [(String, toml::Table)],
    setting: &Setting,
) -> (&'a mut toml::Table, &'static str) {
    let file = match setting.place {
        Place::UserSim => "scaffolds/baseline.toml",
        Place::RubricLevel => "rubric.toml",
        _ => "study.toml",
    };
    let table = &mut files.iter_mut().find(|(p, _)| p == file).unwrap().1;
    let sub = |t: &'a mut toml::Table, name: &str| -> &'a mut toml::Table {
        t.entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap()
    };
    match setting.place {
        Place::Study => (sub(table, "study"), setting.key),
        Place::Model => (
            table["model"].as_array_mut().unwrap()[0]
                .as_table_mut()
                .unwrap(),
            setting.key,
        ),
        Place::Blinding => (sub(table, "blinding"), setting.key),
        Place::Analysis if setting.key == "margins" => (
            sub(sub(table, "analysis"), "margins"),
            "verification_support",
        ),
        Place::Analysis => (sub(table, "analysis"), setting.key),
        Place::UserSim => (sub(table, "user_sim"), setting.key),
        Place::RubricLevel => (
            table["dimension"].as_array_mut().unwrap()[0]["level"]
                .as_array_mut()
                .unwrap()[0]
                .as_table_mut()
                .unwrap(),
            setting.key,
        ),
        Place::Flag(_) => unreachable!("study settings only"),
    }
}

/// The study's files with `setting` written as the TOML literal `literal`.
fn study_with(setting: &Setting, literal: &str) -> Vec<SourceFile> {
    let mut files = base_files();
    let (table, key) = locate(&mut files, setting);
    table.insert(key.to_string(), PLACEHOLDER.into());
    files
        .into_iter()
        .map(|(path, table)| {
            let text = toml::to_string(&table)
                .unwrap()
                .replace(&format!("\"{PLACEHOLDER}\""), literal);
            SourceFile::new(path, text)
        })
        .collect()
}

/// What a TOML literal is: an integer, a float, or not a valid value (an integer past i64).
enum Literal {
    Int(i64),
    Float(f64),
    Invalid,
}

fn classify(literal: &str) -> Literal {
    if let Ok(v) = literal.parse::<i64>() {
        return Literal::Int(v);
    }
    let integer_like = literal
        .trim_start_matches(['-', '+'])
        .bytes()
        .all(|b| b.is_ascii_digit());
    match literal.parse::<f64>() {
        Ok(v) if !integer_like => Literal::Float(v),
        _ => Literal::Invalid,
    }
}

/// Whether the value is in the setting's range; `None` when TOML or the setting's type cannot
/// hold it at all (then it must simply be refused).
fn expected_in_range(setting: &Setting, literal: &str) -> Option<bool> {
    match (setting.range, classify(literal)) {
        (Range::Int { .. }, Literal::Int(v)) => Some(setting.check_int(i128::from(v)).is_ok()),
        (Range::Float { .. }, Literal::Int(v)) => Some(setting.check_float(v as f64).is_ok()),
        (Range::Float { .. }, Literal::Float(v)) => Some(setting.check_float(v).is_ok()),
        _ => None,
    }
}

/// Everything a study's numbers reach before any request: none of it may panic.
fn exercise(study: &Study) {
    let _ = crate::plan::estimate(study, crate::plan::cells(study));
    let transient = parse_response(
        ProviderKind::OpenAi,
        &HttpResponse {
            status: 503,
            headers: vec![("retry-after".into(), "1".into())],
            body: "{}".into(),
        },
    )
    .unwrap_err();
    let aliases: Vec<String> = study.models.iter().map(|m| m.id.clone()).collect();
    let _ = GlobalGate::new(usize::MAX >> 4, &aliases);
    for model in &study.models {
        let _ = ModelGate::new(model);
        let policy = RetryPolicy::for_model(model);
        for attempt in 1..=policy.max_attempts.saturating_add(1) {
            let _ = policy.backoff(attempt);
            let _ = policy.decide(attempt, &transient, SystemTime::now(), 0.999);
        }
        assert!(request_timeout(model) <= Duration::from_secs(86_400));
        let _ = crate::run::price(model, u64::MAX, u64::MAX);
    }
    let _ = crate::analyze::study::Plan::from_analysis(&study.analysis);
}

/// Parses the study with one setting at `literal` and checks the outcome against the range.
fn check(setting: &Setting, literal: &str) -> Result<(), TestCaseError> {
    let files = study_with(setting, literal);
    let result = std::panic::catch_unwind(|| parse(&files));
    let Ok(result) = result else {
        return Err(TestCaseError::fail(format!(
            "parse panicked on {} = {literal}",
            setting.key
        )));
    };
    let range_message = |e: &StudyError| match e {
        StudyError::Invalid(d) => d.iter().any(|d| d.message.contains(&setting.describe())),
        _ => false,
    };
    match (expected_in_range(setting, literal), &result) {
        (None, Ok(_)) => {
            return Err(TestCaseError::fail(format!(
                "{} = {literal} was accepted",
                setting.key
            )));
        }
        (Some(false), Ok(_)) => {
            return Err(TestCaseError::fail(format!(
                "{} = {literal} is out of range but was accepted",
                setting.key
            )));
        }
        (Some(false), Err(e)) => prop_assert!(
            range_message(e),
            "{} = {literal}: the message does not state the range \"{}\": {e}",
            setting.key,
            setting.describe()
        ),
        (Some(true), Err(e)) => prop_assert!(
            !range_message(e),
            "{} = {literal} is in range but was refused as out of it: {e}",
            setting.key
        ),
        _ => {}
    }
    if let Ok(study) = result {
        let outcome = std::panic::catch_unwind(|| exercise(&study));
        prop_assert!(
            outcome.is_ok(),
            "{} = {literal}: a later stage panicked",
            setting.key
        );
    }
    Ok(())
}

#[test]
fn the_unchanged_study_is_valid() {
    let files: Vec<SourceFile> = base_files()
        .into_iter()
        .map(|(p, t)| SourceFile::new(p, toml::to_string(&t).unwrap()))
        .collect();
    exercise(&parse(&files).unwrap());
}

#[test]
fn every_study_setting_at_every_extreme() {
    for setting in STUDY_SETTINGS {
        for literal in EXTREMES {
            check(setting, literal).unwrap();
        }
        // The ends of the range itself are accepted.
        let (lo, hi) = match setting.range {
            Range::Int { min, max } => (min.to_string(), max.to_string()),
            Range::Float {
                min,
                max,
                min_open,
                max_open,
            } => (
                format!("{:?}", if min_open { min + 1e-9 } else { min }),
                format!("{:?}", if max_open { max - 1e-9 } else { max }),
            ),
        };
        for literal in [lo, hi] {
            assert_eq!(
                expected_in_range(setting, &literal),
                Some(true),
                "{literal}"
            );
            check(setting, &literal).unwrap();
        }
    }
}

fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:?}")
    }
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(EXTREMES).prop_map(String::from),
        any::<i64>().prop_map(|v| v.to_string()),
        (-2_000_000i64..2_000_000).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(toml_float),
        (-10.0f64..100.0).prop_map(toml_float),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_study_setting_at_any_value(index in 0..STUDY_SETTINGS.len(), literal in literal()) {
        check(&STUDY_SETTINGS[index], &literal)?;
    }

    #[test]
    fn any_flag_at_any_value(index in 0..FLAG_SETTINGS.len(), literal in literal()) {
        check_flag(&FLAG_SETTINGS[index], &literal)?;
    }
}

/// A command line that sets `setting` to `value` (the `--flag=value` form, so that "-1" is a
/// value and not a flag).
fn command_line(setting: &Setting, value: &str) -> Vec<String> {
    let flag = format!("{}={value}", setting.key);
    let args: Vec<&str> = match (setting.place, setting.key) {
        (Place::Flag("run"), _) => vec!["run", "."],
        (Place::Flag("judge"), _) => vec!["judge", "round", "--model", "m"],
        // --threshold belongs to an adjudication round.
        (Place::Flag("blind"), "--threshold") => vec!["blind", "run", "--adjudicate", "round-1"],
        (Place::Flag("blind"), _) => vec!["blind", "run"],
        (Place::Flag("rate"), _) => vec!["rate", "--simulate", "p.json", "--out", "o.csv"],
        (Place::Flag("sim serve"), "--latency-ms") => vec!["sim", "serve"],
        (Place::Flag("agree"), _) => vec!["agree", "sheet.csv"],
        (Place::Flag("report"), _) => vec!["report", "run"],
        (Place::Flag(_), "--seed") => vec!["rate", "--simulate", "p.json", "--out", "o.csv"],
        _ => unreachable!("flags only"),
    };
    let mut line: Vec<String> = std::iter::once("blindfold")
        .chain(args)
        .map(String::from)
        .collect();
    line.push(flag);
    line
}

fn check_flag(setting: &Setting, literal: &str) -> Result<(), TestCaseError> {
    if setting.key == "--fail-rate" {
        return check_fail_rate(setting, literal);
    }
    let line = command_line(setting, literal);
    let parsed = std::panic::catch_unwind(|| Cli::try_parse_from(&line).map(|_| ()));
    let Ok(parsed) = parsed else {
        return Err(TestCaseError::fail(format!("{line:?} panicked")));
    };
    let in_range = match setting.range {
        Range::Int { .. } => literal
            .parse::<i128>()
            .is_ok_and(|v| setting.check_int(v).is_ok()),
        Range::Float { .. } => literal
            .parse::<f64>()
            .is_ok_and(|v| setting.check_float(v).is_ok()),
    };
    match parsed {
        Ok(()) => prop_assert!(in_range, "{line:?} was accepted"),
        Err(e) => {
            prop_assert!(!in_range, "{line:?} was refused: {e}");
            prop_assert!(
                e.to_string().contains(&setting.describe()),
                "{line:?}: the message does not state the range: {e}"
            );
        }
    }
    Ok(())
}

/// `--fail-rate` is a list (STATUS=P,...) parsed when the server starts.
fn check_fail_rate(setting: &Setting, literal: &str) -> Result<(), TestCaseError> {
    let in_range = literal
        .parse::<f64>()
        .is_ok_and(|v| setting.check_float(v).is_ok());
    let parsed = crate::sim::server::parse_fail_rate(&format!("429={literal}"));
    prop_assert_eq!(parsed.is_ok(), in_range, "--fail-rate 429={}", literal);
    if let Err(e) = parsed {
        prop_assert!(e.contains(&setting.describe()), "{e}");
    }
    Ok(())
}

#[test]
fn every_flag_at_every_extreme() {
    for setting in FLAG_SETTINGS {
        for literal in EXTREMES {
            check_flag(setting, literal).unwrap();
        }
    }
}
