//! The per model × scaffold summary of a run, shown at the end of `run` and by `status`.

use std::collections::{BTreeMap, HashMap};

use comfy_table::{CellAlignment, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use super::record::{Status, TranscriptRecord};
use crate::plan::Cell;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SummaryRow {
    pub model: String,
    pub scaffold: String,
    pub planned: u64,
    pub ok: u64,
    pub failed: u64,
    pub missing: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// None when some record lacks a cost (no prices).
    #[serde(serialize_with = "nano_dollars")]
    pub cost_usd: Option<f64>,
    pub mean_latency_ms: Option<f64>,
}

/// Sums of prices carry binary noise (0.031816000000000004); rounded to a billionth of a
/// dollar, far below any real price of a token.
fn nano_dollars<S: serde::Serializer>(cost: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match cost {
        Some(c) => s.serialize_some(&((c * 1e9).round() / 1e9)),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub rows: Vec<SummaryRow>,
    /// Records of cells that are not in the current plan (the study changed since).
    pub outside_plan: u64,
}

impl Summary {
    pub fn ok(&self) -> u64 {
        self.rows.iter().map(|r| r.ok).sum()
    }
    pub fn failed(&self) -> u64 {
        self.rows.iter().map(|r| r.failed).sum()
    }
    pub fn missing(&self) -> u64 {
        self.rows.iter().map(|r| r.missing).sum()
    }
    pub fn planned(&self) -> u64 {
        self.rows.iter().map(|r| r.planned).sum()
    }
}

/// Builds a [`Summary`] from records streamed one at a time, so that `status` and the end of a
/// run never hold a large run's transcripts in memory. A cell counts as ok if any of its records
/// is ok, failed if it only has failed ones, missing otherwise. Tokens and cost add up every
/// record (failed attempts cost money too).
pub struct SummaryBuilder {
    rows: Vec<SummaryRow>,
    /// cell id -> (row index, has a record, has an ok record)
    cells: HashMap<String, (usize, bool, bool)>,
    latency: Vec<(u64, u64)>,
    outside_plan: u64,
}

impl SummaryBuilder {
    pub fn new(cells: &[Cell]) -> Self {
        let mut rows: Vec<SummaryRow> = Vec::new();
        let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut by_cell = HashMap::with_capacity(cells.len());
        for cell in cells {
            let i = *index
                .entry((cell.model.as_str(), cell.scaffold.as_str()))
                .or_insert_with(|| {
                    rows.push(SummaryRow {
                        model: cell.model.clone(),
                        scaffold: cell.scaffold.clone(),
                        cost_usd: Some(0.0),
                        ..SummaryRow::default()
                    });
                    rows.len() - 1
                });
            rows[i].planned += 1;
            by_cell.insert(cell.id.clone(), (i, false, false));
        }
        let latency = vec![(0, 0); rows.len()];
        SummaryBuilder {
            rows,
            cells: by_cell,
            latency,
            outside_plan: 0,
        }
    }

    pub fn add(&mut self, r: &TranscriptRecord) {
        let Some((i, recorded, ok)) = self.cells.get_mut(&r.cell_id) else {
            self.outside_plan += 1;
            return;
        };
        *recorded = true;
        *ok |= r.status == Status::Ok;
        let row = &mut self.rows[*i];
        row.input_tokens += r.usage.input_tokens + r.user_sim_usage.input_tokens;
        row.output_tokens += r.usage.output_tokens + r.user_sim_usage.output_tokens;
        row.cost_usd = match (row.cost_usd, r.cost_usd) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        if r.status == Status::Ok {
            self.latency[*i].0 += r.latency_ms;
            self.latency[*i].1 += u64::from(r.requests);
        }
    }

    pub fn finish(mut self) -> Summary {
        for (i, recorded, ok) in self.cells.values() {
            let row = &mut self.rows[*i];
            match (recorded, ok) {
                (_, true) => row.ok += 1,
                (true, false) => row.failed += 1,
                (false, false) => row.missing += 1,
            }
        }
        for (row, (ms, requests)) in self.rows.iter_mut().zip(&self.latency) {
            row.mean_latency_ms = (*requests > 0).then(|| *ms as f64 / *requests as f64);
        }
        Summary {
            rows: self.rows,
            outside_plan: self.outside_plan,
        }
    }
}

pub fn render(summary: &Summary) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header(vec![
        "model",
        "scaffold",
        "ok",
        "failed",
        "missing",
        "tokens in",
        "tokens out",
        "cost (USD)",
        "mean latency",
    ]);
    for r in &summary.rows {
        table.add_row(vec![
            r.model.clone(),
            r.scaffold.clone(),
            format!("{}/{}", r.ok, r.planned),
            r.failed.to_string(),
            r.missing.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cost_usd.map_or("-".into(), |c| format!("{c:.4}")),
            r.mean_latency_ms
                .map_or("-".into(), |ms| format!("{ms:.0} ms")),
        ]);
    }
    for i in 2..9 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = table.to_string();
    out.push_str(&format!(
        "\n{} of {} cells ok, {} failed, {} missing",
        summary.ok(),
        summary.planned(),
        summary.failed(),
        summary.missing()
    ));
    if summary.outside_plan > 0 {
        out.push_str(&format!(
            "; {} earlier records belong to cells no longer in the plan",
            summary.outside_plan
        ));
    }
    out.push('\n');
    out
}
