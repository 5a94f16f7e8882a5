//! The table `blindfold demo` and `blindfold report` print: the headline at a glance.
//!
//! It shows the primary dimension only, with intervals, the headline scaffold's effect per model
//! and the agreement behind it, so that a quick look at the terminal cannot be mistaken for the
//! whole result or read without its uncertainty. It fits 120 columns: long scaffold ids wrap at
//! their hyphens, the effect and its verdict take two lines.

use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::format::{estimate, level, range};
use super::markdown::{headline_dimension, headline_grid, unreliable_flag};
use crate::analyze::results::StudyResults;

const WIDTH: usize = 120;
/// Sentences wrap narrower than the table: they are read, not scanned.
const TEXT_WIDTH: usize = 100;

/// The headline table, its sentences and one line on agreement, ending with a newline.
pub fn headline_table(results: &StudyResults) -> String {
    let Some(d) = headline_dimension(results) else {
        return "No dimension was analysed.\n".to_string();
    };
    let grid = headline_grid(results, d);
    let mut out = format!(
        "{} ({}, primary): mean [{} CI] by model and scaffold\n",
        one_line(&d.id),
        range(d.min, d.max),
        level(results.confidence)
    );

    let mean_width = grid
        .rows
        .iter()
        .flat_map(|r| r.means.iter().map(|m| m.chars().count()))
        .max()
        .unwrap_or(4);
    let mut header = vec!["model".to_string()];
    header.extend(
        grid.scaffolds
            .iter()
            .map(|s| wrap_id(&one_line(s), mean_width)),
    );
    if let Some(s) = &grid.effect_scaffold {
        header.push(format!(
            "{}\nvs {}",
            wrap_id(&one_line(s), 18),
            one_line(&results.baseline)
        ));
    }
    let effect_width = grid
        .rows
        .iter()
        .filter_map(|r| r.effect.as_ref().map(|(e, _)| e.chars().count()))
        .max()
        .unwrap_or(18);
    let build = |wrap: bool| {
        let mut table = Table::new();
        table
            .load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
            .force_no_tty()
            .set_header(header.clone());
        if wrap {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(WIDTH as u16);
        }
        for r in &grid.rows {
            let mut row = vec![one_line(&r.model)];
            row.extend(r.means.iter().cloned());
            if let Some((e, label)) = &r.effect {
                row.push(format!(
                    "{e}\n{}",
                    wrap_label(&one_line(label), effect_width)
                ));
            }
            table.add_row(row);
        }
        for i in 1..=grid.scaffolds.len() {
            if let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.to_string()
    };
    // Laid out as is when it fits; wrapped by comfy-table only when it would not (its dynamic
    // arrangement also wraps tables that fit).
    let mut table = build(false);
    if table.lines().any(|l| l.chars().count() > WIDTH) {
        table = build(true);
    }
    out.push_str(&table);
    out.push('\n');

    if !results.headline.sentences.is_empty() {
        out.push('\n');
        for sentence in &results.headline.sentences {
            for line in wrap(&one_line(sentence), TEXT_WIDTH) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    let a = &d.agreement;
    let reading = a.reliability.map_or("no interval", |r| r.text());
    let verdict = if a.unreliable {
        format!(
            "{reading}, {}: read the headline with caution",
            unreliable_flag()
        )
    } else {
        format!("{reading} (judged on the interval; Krippendorff 2004)")
    };
    out.push('\n');
    let agreement = format!(
        "Agreement on {}: Krippendorff's α = {} ({}, {} units); {verdict}.",
        one_line(&d.id),
        estimate(&a.krippendorff_alpha, 3),
        one_line(&a.level),
        a.n_units
    );
    for line in wrap(&agreement, TEXT_WIDTH) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Terminal text: no control characters (an escape sequence in a study id must not reach the
/// terminal), no line breaks.
fn one_line(s: &str) -> String {
    super::format::one_line(s)
}

/// An id wider than `width` broken after its hyphens or underscores, so that the column keeps
/// the width of its numbers.
fn wrap_id(id: &str, width: usize) -> String {
    if id.chars().count() <= width {
        return id.to_string();
    }
    let mut lines: Vec<String> = vec![String::new()];
    let mut part = String::new();
    let flush = |lines: &mut Vec<String>, part: &mut String| {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.chars().count() + part.chars().count() > width {
            lines.push(std::mem::take(part));
        } else {
            last.push_str(part);
            part.clear();
        }
    };
    for c in id.chars() {
        part.push(c);
        if c == '-' || c == '_' {
            flush(&mut lines, &mut part);
        }
    }
    flush(&mut lines, &mut part);
    lines.join("\n")
}

/// A verdict under its effect, no wider than the effect: broken before its parenthesis first
/// ("equivalent" / "(within ±0.25)"), then between words.
fn wrap_label(label: &str, width: usize) -> String {
    if label.chars().count() <= width {
        return label.to_string();
    }
    let parts: Vec<&str> = match label.find(" (") {
        Some(i) => vec![&label[..i], &label[i + 1..]],
        None => vec![label],
    };
    parts
        .iter()
        .flat_map(|part| wrap(part, width))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn headline_table_matches_snapshot() {
        let text = headline_table(&fixture::results());
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("headline_table", text));
    }

    #[test]
    fn fits_120_columns() {
        let mut r = fixture::results();
        let check = |r: &StudyResults| {
            for line in headline_table(r).lines() {
                assert!(
                    line.chars().count() <= WIDTH,
                    "{} > {WIDTH}: {line}",
                    line.chars().count()
                );
            }
        };
        check(&r);
        // Longer ids still fit.
        r.scaffolds = r
            .scaffolds
            .iter()
            .map(|s| format!("{s}-with-a-long-suffix"))
            .collect();
        r.models = r
            .models
            .iter()
            .map(|m| format!("{m}-2025-06-01-preview"))
            .collect();
        check(&r);
    }

    #[test]
    fn shows_every_model_and_the_headline_effects() {
        let text = headline_table(&fixture::results());
        for needle in [
            "sim-alpha",
            "sim-beta",
            "sim-gamma",
            "+1.75 [1.53, 1.94]",
            "raised to ceiling",
            "equivalent",
            "(within ±0.25)",
            "Krippendorff's α = 0.812 [0.731, 0.879]",
            "uncertain (judged on the interval; Krippendorff 2004)",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }

    #[test]
    fn an_unreliable_primary_dimension_is_flagged() {
        let mut r = fixture::results();
        r.dimensions[0].agreement.unreliable = true;
        assert!(headline_table(&r).contains(&unreliable_flag()));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut r = fixture::results();
        r.models[0] = "sim\u{1b}[31m-alpha".into();
        r.headline.sentences[0] = "bell\u{7} and\nnewline".into();
        let text = headline_table(&r);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    }

    #[test]
    fn labels_wrap_before_their_parenthesis() {
        assert_eq!(wrap_label("improved", 18), "improved");
        assert_eq!(
            wrap_label("equivalent (within ±0.25)", 19),
            "equivalent\n(within ±0.25)"
        );
        assert_eq!(wrap_label("raised to ceiling", 10), "raised to\nceiling");
    }

    #[test]
    fn ids_wrap_at_hyphens() {
        assert_eq!(wrap_id("baseline", 17), "baseline");
        assert_eq!(
            wrap_id("verification-steerability", 17),
            "verification-\nsteerability"
        );
        assert_eq!(wrap_id("a-b-c-d", 4), "a-b-\nc-d");
        assert_eq!(wrap_id("averyveryverylongid", 5), "averyveryverylongid");
    }
}
