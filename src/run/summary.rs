//! The per model × scaffold summary of a run, shown at the end of `run` and by `status`.

use comfy_table::{CellAlignment, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use super::record::{Status, TranscriptRecord};
use crate::plan::{self, Cell};

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
    /// Planned cells sorted by id (as a number, see `plan::id_key`): (id, row index, flags).
    /// Sixteen bytes a cell, which keeps `status` of a million-cell run small.
    cells: Vec<(u64, u32, u8)>,
    latency: Vec<(u64, u64)>,
    outside_plan: u64,
}

const RECORDED: u8 = 1;
const OK: u8 = 2;

impl SummaryBuilder {
    /// `cells` is the plan, streamed (`plan::cells`).
    pub fn new(cells: impl IntoIterator<Item = Cell>) -> Self {
        let cells = cells.into_iter();
        let mut rows: Vec<SummaryRow> = Vec::new();
        let mut by_cell = Vec::with_capacity(cells.size_hint().0);
        for cell in cells {
            let Some(key) = plan::id_key(&cell.id) else {
                continue;
            };
            // Rows are few (models x scaffolds) and the plan comes row by row: search from the end.
            let i = match rows
                .iter()
                .rposition(|r| r.model == cell.model && r.scaffold == cell.scaffold)
            {
                Some(i) => i,
                None => {
                    rows.push(SummaryRow {
                        model: cell.model,
                        scaffold: cell.scaffold,
                        cost_usd: Some(0.0),
                        ..SummaryRow::default()
                    });
                    rows.len() - 1
                }
            };
            rows[i].planned += 1;
            by_cell.push((key, i as u32, 0));
        }
        by_cell.sort_unstable_by_key(|&(key, _, _)| key);
        let latency = vec![(0, 0); rows.len()];
        SummaryBuilder {
            rows,
            cells: by_cell,
            latency,
            outside_plan: 0,
        }
    }

    pub fn add(&mut self, r: &TranscriptRecord) {
        let found = plan::id_key(&r.cell_id)
            .and_then(|key| self.cells.binary_search_by_key(&key, |&(k, _, _)| k).ok());
        let Some(at) = found else {
            self.outside_plan += 1;
            return;
        };
        let (_, i, flags) = &mut self.cells[at];
        *flags |= RECORDED;
        if r.status == Status::Ok {
            *flags |= OK;
        }
        let i = *i as usize;
        let row = &mut self.rows[i];
        row.input_tokens += r.usage.input_tokens + r.user_sim_usage.input_tokens;
        row.output_tokens += r.usage.output_tokens + r.user_sim_usage.output_tokens;
        row.cost_usd = match (row.cost_usd, r.cost_usd) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        if r.status == Status::Ok {
            self.latency[i].0 += r.latency_ms;
            self.latency[i].1 += u64::from(r.requests);
        }
    }

    pub fn finish(mut self) -> Summary {
        for &(_, i, flags) in &self.cells {
            let row = &mut self.rows[i as usize];
            if flags & OK != 0 {
                row.ok += 1;
            } else if flags & RECORDED != 0 {
                row.failed += 1;
            } else {
                row.missing += 1;
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
