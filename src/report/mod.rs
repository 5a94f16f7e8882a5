//! The report: tables, figures and text that state what the ratings show and at which level of
//! evidence. Renderers are pure (results in, bytes out); `commands` writes the files.

pub mod svg;
pub mod terminal;

use crate::analyze::results::StudyResults;

/// Every rendered file of the report, relative to RUN/report/.
pub fn render_all(_results: &StudyResults) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(Vec::new())
}
