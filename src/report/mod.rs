//! The report: tables, figures and text that state what the ratings show and at which level of
//! evidence. Renderers are pure (results in, bytes out); `commands` writes the files.

pub mod csv;
pub mod explorer;
mod format;
pub mod html;
pub mod latex;
pub mod markdown;
pub mod svg;
pub mod terminal;

#[cfg(test)]
pub(crate) mod fixture;

pub use self::csv::efficacy_csv;
pub use html::{FigureKind, Figures, figure_path, figures, report_html};
pub use markdown::report_markdown;
pub use terminal::headline_table;

use crate::analyze::results::StudyResults;

/// Every rendered file of the report, relative to RUN/report/: report.md and report.html, the
/// figures beside them, efficacy.csv, and the LaTeX tables under tables/.
pub fn render_all(results: &StudyResults) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let figures = figures(results);
    let mut files = vec![
        (
            "report.md".to_string(),
            report_markdown(results).into_bytes(),
        ),
        (
            "report.html".to_string(),
            report_html(results, &figures).into_bytes(),
        ),
        ("efficacy.csv".to_string(), efficacy_csv(results)),
    ];
    files.extend(
        figures
            .files()
            .map(|(path, svg)| (path.to_string(), svg.as_bytes().to_vec())),
    );
    files.extend(
        latex::tables(results)
            .into_iter()
            .map(|(name, tex)| (format!("tables/{name}"), tex.into_bytes())),
    );
    Ok(files)
}
