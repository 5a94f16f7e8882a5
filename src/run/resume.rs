//! What a run folder already holds: which cells have a record and which an ok one, read from
//! `transcripts.jsonl` one record at a time and kept as 8-byte ids, so that resuming a
//! million-cell run does not hold its records (or a set of their id strings) in memory.

use std::path::Path;

use super::record::{RecordHead, Status};
use crate::plan::id_key;
use crate::store::StoreError;
use crate::store::transcripts::{self, ReadReport};

const RECORDED: u8 = 1;
const OK: u8 = 2;

#[derive(Debug, Default)]
pub struct Recorded {
    /// (id as a number, flags), sorted by id, one entry per cell.
    cells: Vec<(u64, u8)>,
    /// Cost of every record, in or outside the plan (the spending cap counts them all).
    pub spent_usd: f64,
}

impl Recorded {
    /// Reads the log at `path` (a missing file is an empty log).
    pub fn read(path: &Path) -> Result<(Recorded, ReadReport), StoreError> {
        let mut recorded = Recorded::default();
        let report = transcripts::for_each::<RecordHead>(path, |head| recorded.push(&head))?;
        recorded.seal();
        Ok((recorded, report))
    }

    fn push(&mut self, head: &RecordHead) {
        self.spent_usd += head.cost_usd.unwrap_or(0.0);
        // An id that is not a cell id cannot be a planned cell: nothing to remember.
        if let Some(key) = id_key(&head.cell_id) {
            let ok = if head.status == Status::Ok { OK } else { 0 };
            self.cells.push((key, RECORDED | ok));
        }
    }

    /// Sorts by id and merges the records of each cell.
    fn seal(&mut self) {
        self.cells.sort_unstable_by_key(|&(key, _)| key);
        self.cells.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 |= later.1;
                true
            } else {
                false
            }
        });
        self.cells.shrink_to_fit();
    }

    fn flags(&self, id: &str) -> u8 {
        id_key(id)
            .and_then(|key| self.cells.binary_search_by_key(&key, |&(k, _)| k).ok())
            .map_or(0, |at| self.cells[at].1)
    }

    /// Whether the cell has an ok record.
    pub fn is_ok(&self, id: &str) -> bool {
        self.flags(id) & OK != 0
    }

    /// Whether the cell has any record (ok or failed).
    pub fn is_recorded(&self, id: &str) -> bool {
        self.flags(id) & RECORDED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: &str, status: Status, cost: Option<f64>) -> RecordHead {
        RecordHead {
            cell_id: id.into(),
            status,
            cost_usd: cost,
        }
    }

    #[test]
    fn a_cell_is_ok_if_any_record_is_and_spending_counts_every_record() {
        let (a, b, c) = ("00000000000000ff", "0123456789abcdef", "fedcba9876543210");
        let mut recorded = Recorded::default();
        for h in [
            head(b, Status::Failed, Some(0.5)),
            head(a, Status::Ok, None),
            head(b, Status::Ok, Some(0.25)),
            head(c, Status::Failed, None),
            head("not-a-cell-id", Status::Ok, Some(1.0)),
            head("0123456789ABCDEF", Status::Ok, None),
        ] {
            recorded.push(&h);
        }
        recorded.seal();
        assert_eq!(recorded.cells.len(), 3);
        assert!(recorded.is_ok(a) && recorded.is_ok(b) && !recorded.is_ok(c));
        assert!(recorded.is_recorded(c));
        assert!(!recorded.is_recorded("1111111111111111"));
        assert!(
            !recorded.is_ok("0123456789ABCDEF"),
            "ids are lower-case hex"
        );
        assert_eq!(recorded.spent_usd, 1.75);
    }
}
