//! efficacy.csv: the efficacy results as one flat table, for readers who re-plot or meta-analyse
//! them in R, Python or a spreadsheet.
//!
//! One row per dimension x model x scaffold, in study order, so that the file lines up with the
//! report's tables. Numbers are written at full precision (the shortest text that reads back to
//! the same f64), not rounded as in the report; an undefined value is an empty cell, never "NaN"
//! or "n/a", which every CSV reader takes as missing. The baseline scaffold has no effect on
//! itself, so its effect cells are empty.

use crate::analyze::results::{Estimate, Label, StudyResults};

pub const EFFICACY_COLUMNS: [&str; 26] = [
    "dimension",
    "model",
    "scaffold",
    "n",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "ceiling_share",
    "ceiling_ci_low",
    "ceiling_ci_high",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "tost_ci_low",
    "tost_ci_high",
    "tost_p",
    "label",
    "ceiling_change",
    "ceiling_change_ci_low",
    "ceiling_change_ci_high",
    "n_prompts",
    "n_pairs",
    "p",
    "p_adjusted",
    "tost_p_adjusted",
    "note",
];

fn number(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            // Display never uses an exponent and never prints "-0".
            if v == 0.0 {
                "0".to_string()
            } else {
                v.to_string()
            }
        }
        _ => String::new(),
    }
}

fn estimate(e: Option<&Estimate>) -> [String; 3] {
    match e {
        Some(e) => [number(e.value), number(e.ci_low), number(e.ci_high)],
        None => Default::default(),
    }
}

/// The label as its machine name, the same as in efficacy.json: `raised_to_ceiling`, ...
fn label_name(label: Option<Label>) -> &'static str {
    match label {
        Some(Label::RaisedToCeiling) => "raised_to_ceiling",
        Some(Label::Improved) => "improved",
        Some(Label::ImprovedWithinMargin) => "improved_within_margin",
        Some(Label::Equivalent) => "equivalent",
        Some(Label::Inconclusive) => "inconclusive",
        Some(Label::WorseWithinMargin) => "worse_within_margin",
        Some(Label::Worse) => "worse",
        None => "",
    }
}

/// efficacy.csv (RFC 4180, LF line ends, header row first).
pub fn efficacy_csv(results: &StudyResults) -> Vec<u8> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for d in &results.dimensions {
        // Study order; cells the analysis did not list still get a row, with empty values.
        let mut keys: Vec<(&str, &str)> = results
            .models
            .iter()
            .flat_map(|m| {
                results
                    .scaffolds
                    .iter()
                    .map(move |s| (m.as_str(), s.as_str()))
            })
            .collect();
        for c in &d.cells {
            if !keys.contains(&(c.model.as_str(), c.scaffold.as_str())) {
                keys.push((c.model.as_str(), c.scaffold.as_str()));
            }
        }
        for (model, scaffold) in keys {
            let cell = d
                .cells
                .iter()
                .find(|c| c.model == model && c.scaffold == scaffold);
            let effect = d
                .effects
                .iter()
                .find(|e| e.model == model && e.scaffold == scaffold);
            let mut row = vec![
                d.id.clone(),
                model.to_string(),
                scaffold.to_string(),
                cell.map(|c| c.n.to_string()).unwrap_or_default(),
            ];
            row.extend(estimate(cell.map(|c| &c.mean)));
            row.extend(estimate(cell.map(|c| &c.ceiling_share)));
            row.extend(estimate(effect.map(|e| &e.effect)));
            let tost = estimate(effect.map(|e| &e.tost_ci));
            row.push(tost[1].clone());
            row.push(tost[2].clone());
            row.push(number(effect.and_then(|e| e.tost_p)));
            row.push(
                effect
                    .map(|e| label_name(e.label).to_string())
                    .unwrap_or_default(),
            );
            row.extend(estimate(effect.map(|e| &e.ceiling_change)));
            row.push(cell.map(|c| c.n_prompts.to_string()).unwrap_or_default());
            row.push(effect.map(|e| e.n_pairs.to_string()).unwrap_or_default());
            row.push(number(effect.and_then(|e| e.p_value)));
            row.push(number(effect.and_then(|e| e.p_adjusted)));
            row.push(number(effect.and_then(|e| e.tost_p_adjusted)));
            // The cell's note (why its interval is missing) and the effect's, in that order.
            let notes: Vec<&str> = [
                cell.and_then(|c| c.note.as_deref()),
                effect.and_then(|e| e.note.as_deref()),
                effect
                    .filter(|e| e.cross_round)
                    .map(|_| "crosses rounds: scaffold and baseline rated in different rounds"),
            ]
            .into_iter()
            .flatten()
            .collect();
            row.push(notes.join("; "));
            rows.push(row);
        }
    }
    // Writing to memory cannot fail: the only errors of `csv::Writer` are I/O errors.
    writer
        .write_record(EFFICACY_COLUMNS)
        .expect("in-memory write");
    for row in rows {
        writer.write_record(&row).expect("in-memory write");
    }
    writer.into_inner().expect("in-memory write")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn parse(bytes: &[u8]) -> Vec<::csv::StringRecord> {
        ::csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn efficacy_csv_matches_snapshot() {
        let bytes = efficacy_csv(&fixture::results());
        let text = String::from_utf8(bytes).unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("efficacy_csv", text));
    }

    #[test]
    fn one_row_per_dimension_model_scaffold_with_empty_baseline_effects() {
        let r = fixture::results();
        let records = parse(&efficacy_csv(&r));
        assert_eq!(records[0].iter().collect::<Vec<_>>(), EFFICACY_COLUMNS);
        assert_eq!(records.len(), 1 + 4 * 3 * 4);
        for record in &records[1..] {
            assert_eq!(record.len(), EFFICACY_COLUMNS.len());
            let baseline = &record[2] == "baseline";
            for column in 10..16 {
                assert_eq!(
                    record[column].is_empty(),
                    baseline || &record[3] == "0",
                    "{record:?}"
                );
            }
            // No verdict for the baseline, nor without data (the note says why).
            assert_eq!(
                record[16].is_empty(),
                baseline || &record[3] == "0",
                "{record:?}"
            );
        }
    }

    #[test]
    fn values_round_trip_and_undefined_values_are_empty() {
        let r = fixture::results();
        let records = parse(&efficacy_csv(&r));
        let row = |dim: &str, model: &str, scaffold: &str| {
            records
                .iter()
                .find(|x| &x[0] == dim && &x[1] == model && &x[2] == scaffold)
                .unwrap()
                .clone()
        };
        let alpha = row("verification_support", "sim-alpha", "verification");
        let effect = &r.dimensions[0].effects[0];
        assert_eq!(
            alpha[10].parse::<f64>().unwrap(),
            effect.effect.value.unwrap()
        );
        assert_eq!(alpha[15].parse::<f64>().unwrap(), effect.tost_p.unwrap());
        assert_eq!(&alpha[16], "raised_to_ceiling");
        let unrated = row(
            "uncertainty_disclosure",
            "sim-gamma",
            "verification-steerability",
        );
        assert_eq!(&unrated[3], "0");
        assert!((4..16).all(|i| unrated[i].is_empty()), "{unrated:?}");
        assert_eq!(&unrated[16], "");
        assert!(unrated[25].contains("no prompt"), "{unrated:?}");
        let text = String::from_utf8(efficacy_csv(&r)).unwrap();
        assert!(!text.contains("NaN") && !text.contains("n/a") && !text.contains('\r'));
    }

    #[test]
    fn numbers_are_never_nan_or_negative_zero() {
        for (x, expected) in [
            (Some(-0.0), "0"),
            (Some(f64::NAN), ""),
            (None, ""),
            (Some(1e-21), "0.000000000000000000001"),
            (Some(0.1 + 0.2), "0.30000000000000004"),
        ] {
            assert_eq!(number(x), expected);
        }
    }
}
