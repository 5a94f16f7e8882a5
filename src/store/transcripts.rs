//! `transcripts.jsonl`: the append-only log of finished cells.
//!
//! Each record is one line, appended and flushed the moment its cell finishes, so a crash loses
//! at most the cells in flight. Reading tolerates what a crash can leave behind: a truncated last
//! line is reported and set aside (its bytes are kept in `transcripts.partial.txt`), and the log is
//! trimmed back to its last complete line before anything new is appended.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::StoreError;

pub const FILE_NAME: &str = "transcripts.jsonl";

/// What reading a log found besides its records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadReport {
    /// 1-based line numbers of complete lines that are not valid records (skipped).
    pub bad_lines: Vec<(usize, String)>,
    /// A last line without its newline, as a crash leaves it.
    pub truncated_tail: Option<TruncatedTail>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TruncatedTail {
    pub line: usize,
    /// Byte offset where the incomplete line starts.
    pub offset: u64,
    pub bytes: usize,
}

/// Reads every record (or any lighter view of one, such as `RecordHead`) of a log into memory.
/// A missing file is an empty log.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, ReadReport), StoreError> {
    let mut records = Vec::new();
    let report = for_each(path, |record| records.push(record))?;
    Ok((records, report))
}

/// Streams the records of a log through `visit`, one at a time, so that large runs are never
/// held in memory. A missing file is an empty log.
pub fn for_each<T: DeserializeOwned>(
    path: &Path,
    mut visit: impl FnMut(T),
) -> Result<ReadReport, StoreError> {
    let mut report = ReadReport::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let read_error = |source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut offset = 0u64;
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(read_error)?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            report.truncated_tail = Some(TruncatedTail {
                line: number,
                offset,
                bytes: n,
            });
            break;
        }
        offset += n as u64;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(&text) {
            Ok(record) => visit(record),
            Err(e) => report.bad_lines.push((number, e.to_string())),
        }
    }
    Ok(report)
}

/// An open JSON-lines log (transcripts, judge answers), positioned to append.
pub struct JsonlLog {
    file: File,
    path: PathBuf,
}

impl JsonlLog {
    /// Opens (creating) the log for appending. If the log ends in a truncated line, that line is
    /// moved to `transcripts.partial.txt` beside it and cut from the log first.
    pub fn open(path: &Path, tail: Option<&TruncatedTail>) -> Result<Self, StoreError> {
        let write_error = |source| StoreError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(write_error)?;
        if let Some(tail) = tail {
            let mut fragment = Vec::new();
            file.seek(SeekFrom::Start(tail.offset))
                .map_err(write_error)?;
            file.read_to_end(&mut fragment).map_err(write_error)?;
            let partial = path.with_extension("partial.txt");
            let mut keep = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&partial)
                .map_err(|source| StoreError::Write {
                    path: partial.clone(),
                    source,
                })?;
            fragment.push(b'\n');
            keep.write_all(&fragment)
                .and_then(|_| keep.sync_all())
                .map_err(|source| StoreError::Write {
                    path: partial.clone(),
                    source,
                })?;
            file.set_len(tail.offset).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
        }
        Ok(JsonlLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record as a single line and flushes it to the operating system.
    pub fn append<T: serde::Serialize>(&mut self, record: &T) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(record).expect("records serialise");
        // A key a server echoed (in an error body, or a reply) is never written.
        if let std::borrow::Cow::Owned(scrubbed) = crate::secrets::scrub_bytes(&line) {
            line = scrubbed;
        }
        line.push(b'\n');
        // One write call per line: with O_APPEND, a concurrent reader never sees half a record
        // from us except after a crash, which `read` tolerates.
        self.file
            .write_all(&line)
            .and_then(|_| self.file.flush())
            .map_err(|source| StoreError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Flushes to disk; called when a run ends.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.file.sync_all().map_err(|source| StoreError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::{RecordHead, Status, TokenUsage, TranscriptRecord};

    fn record(id: &str) -> TranscriptRecord {
        TranscriptRecord {
            cell_id: id.into(),
            model: "m".into(),
            scaffold: "s".into(),
            prompt: "p".into(),
            repeat: 0,
            seed: 1,
            status: Status::Ok,
            messages: vec![],
            error: None,
            usage: TokenUsage::default(),
            user_sim_usage: TokenUsage::default(),
            cost_usd: None,
            requests: 1,
            attempts: 1,
            latency_ms: 5,
            model_version: None,
            request_ids: vec![],
            finish_reasons: vec![],
            refused: false,
            started_at: "t0".into(),
            finished_at: "t1".into(),
        }
    }

    #[test]
    fn appended_records_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut log = JsonlLog::open(&path, None).unwrap();
        log.append(&record("a")).unwrap();
        log.append(&record("b")).unwrap();
        let (records, report) = read::<TranscriptRecord>(&path).unwrap();
        assert_eq!(records, vec![record("a"), record("b")]);
        assert_eq!(report, ReadReport::default());
    }

    #[test]
    fn a_truncated_tail_is_reported_kept_aside_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut text = serde_json::to_string(&record("a")).unwrap();
        text.push('\n');
        text.push_str("{\"cell_id\":\"b\",\"sta");
        std::fs::write(&path, &text).unwrap();

        let (heads, report) = read::<RecordHead>(&path).unwrap();
        assert_eq!(heads.len(), 1);
        let tail = report.truncated_tail.clone().unwrap();
        assert_eq!(tail.line, 2);

        let mut log = JsonlLog::open(&path, Some(&tail)).unwrap();
        log.append(&record("c")).unwrap();
        let (records, report) = read::<TranscriptRecord>(&path).unwrap();
        assert_eq!(
            records
                .iter()
                .map(|r| r.cell_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(report, ReadReport::default());
        let kept = std::fs::read_to_string(dir.path().join("transcripts.partial.txt")).unwrap();
        assert_eq!(kept, "{\"cell_id\":\"b\",\"sta\n");
    }

    #[test]
    fn bad_complete_lines_are_reported_with_their_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let good = serde_json::to_string(&record("a")).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let (heads, report) = read::<RecordHead>(&path).unwrap();
        assert_eq!(heads.len(), 2);
        assert_eq!(report.bad_lines.len(), 1);
        assert_eq!(report.bad_lines[0].0, 2);
        assert_eq!(heads[0].status, Status::Ok);
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (heads, _) = read::<RecordHead>(&dir.path().join("none.jsonl")).unwrap();
        assert!(heads.is_empty());
    }
}
