//! `init`, `validate` and `plan`: commands that only read (or write) the study itself.

use std::cell::RefCell;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;
use serde::ser::SerializeMap as _;

use crate::cli::{Format, InitArgs, PlanArgs, StudyArgs};
use crate::plan::{self, Estimate};
use crate::store;
use crate::study::{self, Study, defaults};

pub fn init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let existing: Vec<String> = defaults::FILES
        .iter()
        .filter(|(path, _)| args.dir.join(path).exists())
        .map(|(path, _)| args.dir.join(path).display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "refusing to overwrite existing files (nothing was written):\n  {}",
            existing.join("\n  ")
        );
    }
    for (path, content) in defaults::FILES {
        store::write_new(&args.dir.join(path), content.as_bytes())?;
    }
    let shown = args.dir.display();
    outln!("Created a new study in {shown}: 3 simulated models x 4 scaffolds x 15 prompts.");
    outln!(
        "Next: edit {shown}/study.toml, then `blindfold validate {shown}` and `blindfold plan {shown}`."
    );
    Ok(ExitCode::SUCCESS)
}

pub fn validate(args: &StudyArgs) -> anyhow::Result<ExitCode> {
    let study = study::load(&args.study)?;
    for warning in warnings(&study) {
        eprintln!("warning: {warning}");
    }
    outln!(
        "ok: study '{}' is valid: {} model{} x {} scaffold{} x {} prompt{} x {} repeat{} = {} cells; rubric of {} dimension{}",
        study.name,
        study.crossed_models.len(),
        plural(study.crossed_models.len()),
        study.scaffolds.len(),
        plural(study.scaffolds.len()),
        study.prompts.len(),
        plural(study.prompts.len()),
        study.repeats,
        plural(study.repeats as usize),
        plan::cell_count(&study),
        study.rubric.dimensions.len(),
        plural(study.rubric.dimensions.len()),
    );
    Ok(ExitCode::SUCCESS)
}

/// Things that are not errors but that a user should hear about before running.
fn warnings(study: &Study) -> Vec<String> {
    let mut out = Vec::new();
    for model in &study.models {
        if let Some(var) = &model.api_key_env
            && std::env::var_os(var).is_none()
        {
            out.push(format!(
                "model '{}': the environment variable {var} is not set; `run` will need it",
                model.id
            ));
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `plan` streams the matrix: the estimate is summed cell by cell, and `--cells` writes each cell
/// as it is made, so a study of millions of cells plans in constant memory.
pub fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let study = study::load(&args.study)?;
    let estimate = plan::estimate(&study, plan::cells(&study));
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&estimate)?;
            value["study"] = study.name.clone().into();
            let serde_json::Value::Object(fields) = value else {
                unreachable!("an estimate is a JSON object")
            };
            let listed = PlanJson {
                cell_list: args
                    .cells
                    .then(|| StreamedSeq(RefCell::new(Some(plan::cells(&study))))),
                fields,
            };
            // Through io::Error, so that a closed pipe is recognised as one.
            serde_json::to_writer_pretty(&mut stdout, &listed).map_err(std::io::Error::from)?;
            writeln!(stdout)?;
        }
        Format::Text => {
            write!(stdout, "{}", render_plan(&study, &estimate))?;
            if args.cells {
                for cell in plan::cells(&study) {
                    writeln!(
                        stdout,
                        "{}  {}  {}  {}  repeat {}",
                        cell.id, cell.model, cell.scaffold, cell.prompt, cell.repeat
                    )?;
                }
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `plan --format json`: the estimate's fields in key order, with `cell_list` (which sorts first)
/// written cell by cell from the plan instead of built as one value.
struct PlanJson<'a> {
    cell_list: Option<StreamedSeq<plan::Cells<&'a Study>>>,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Serialize for PlanJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(cells) = &self.cell_list {
            map.serialize_entry("cell_list", cells)?;
        }
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A sequence serialised straight from an iterator (once).
struct StreamedSeq<I>(RefCell<Option<I>>);

impl<I: Iterator<Item = plan::Cell>> Serialize for StreamedSeq<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self.0.borrow_mut().take();
        serializer.collect_seq(items.into_iter().flatten())
    }
}

fn render_plan(study: &Study, e: &Estimate) -> String {
    let mut out = format!("Study '{}'\n\n", study.name);
    let sets: Vec<&str> = {
        let mut sets: Vec<&str> = study.prompts.iter().map(|p| p.set.as_str()).collect();
        sets.dedup();
        sets
    };
    let rows = [
        ("models", e.models, study.crossed_models.join(", ")),
        (
            "scaffolds",
            e.scaffolds,
            study
                .scaffolds
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("prompts", e.prompts, format!("from {}", sets.join(", "))),
        ("repeats", e.repeats, String::new()),
    ];
    for (name, count, detail) in rows {
        let line = format!("  {name:<10}{count:>6}  {detail}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("  {:<10}{:>6}\n", "cells", e.cells));
    let per_cell: Vec<String> = e
        .requests_per_cell
        .iter()
        // A scaffold whose prompts bring follow-ups of their own averages a fractional count.
        .map(|(s, n)| {
            let rounded = format!("{n:.2}");
            format!(
                "{s} {}",
                rounded.trim_end_matches('0').trim_end_matches('.')
            )
        })
        .collect();
    out.push_str(&format!(
        "  {:<10}{:>6}  per cell: {}\n\n",
        "requests",
        e.requests,
        per_cell.join(", ")
    ));
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(vec![
        "model",
        "cells",
        "requests",
        "input tokens",
        "output tokens (max)",
        "cost (USD)",
        "batch cost (USD)",
    ]);
    let usd = |c: Option<f64>| c.map_or("no prices".into(), |c| format!("{c:.2}"));
    for m in &e.per_model {
        table.add_row(vec![
            m.model.clone(),
            m.cells.to_string(),
            m.requests.to_string(),
            m.input_tokens.to_string(),
            m.output_tokens.to_string(),
            usd(m.cost_usd),
            if m.batch {
                format!("{} (batch = true)", usd(m.batch_cost_usd))
            } else {
                usd(m.batch_cost_usd)
            },
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    out.push_str(&format!(
        "\nEstimated tokens: ~{} input, at most {} output (each reply assumed to use max_tokens, or {} when unset).\n",
        e.estimated_input_tokens,
        e.estimated_output_tokens,
        plan::DEFAULT_REPLY_TOKENS
    ));
    match e.estimated_cost_usd {
        Some(cost) => out.push_str(&format!("Estimated cost: at most ${cost:.2}.\n")),
        None => out.push_str(
            "Estimated cost: unknown (set price_input_per_mtok and price_output_per_mtok on each model).\n",
        ),
    }
    if let Some(cost) = e.estimated_batch_cost_usd {
        out.push_str(&format!(
            "With every model through its provider's batch API (run --batch): at most ${cost:.2}.\n"
        ));
    }
    out
}
