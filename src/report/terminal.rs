//! The headline table printed by `report` and `demo` (temporary minimal version).

use crate::analyze::results::StudyResults;

pub fn headline_table(results: &StudyResults) -> String {
    let mut out = String::new();
    for s in &results.headline.sentences {
        out.push_str(s);
        out.push('\n');
    }
    out
}
