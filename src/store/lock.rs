//! One writer per run folder.
//!
//! Two `run`s on one folder would both run every cell (and spend twice); a `report` next to an
//! `unblind` could read half of what the other writes. So every command that writes under a run
//! folder (`run`, `blind`, `judge`, `unblind`, `report`) first takes an exclusive lock on
//! `RUN/.blindfold.lock`: an OS advisory lock (flock on Unix) that the kernel releases when the
//! process ends, however it ends, so a killed command never leaves a stale lock. A second writer
//! is refused at once with the holder's pid, which the holder writes into the file. Readers
//! (`status`, `plan`, `run --dry-run`) take no lock and are never refused.
//!
//! The lock is also what makes leftovers safe to remove: while it is held no other blindfold
//! process writes in the folder, so temporary files and folders of processes that are gone
//! (`.NAME.tmp-PID`, `.ROUND.partial-PID`, `.report.old-PID`) are cleaned up on taking it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

pub const LOCK_FILE: &str = ".blindfold.lock";

/// An exclusive lock on a run folder, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Locks `dir` (which must exist) for `command`, or says who holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<RunLock, StoreError> {
        let path = dir.join(LOCK_FILE);
        let lock_error = |source: io::Error| StoreError::Write {
            path: path.clone(),
            source,
        };
        let mut file = loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(lock_error)?;
            match try_lock(&file) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(StoreError::Busy {
                        dir: dir.to_path_buf(),
                        holder: holder(&path),
                    });
                }
                Err(source) => return Err(lock_error(source)),
            }
            // A holder that removed the file between our open and our lock (`remove`) leaves us
            // holding a lock on a file no one else will open: try again with the file now there.
            if same_file(&file, &path) {
                break file;
            }
        };
        file.set_len(0)
            .and_then(|_| writeln!(file, "pid {} ({command})", std::process::id()))
            .map_err(lock_error)?;
        clean_stale(dir);
        Ok(RunLock { file, path })
    }

    /// Releases the lock and removes the lock file (for a folder the command created and is
    /// about to remove again).
    pub fn remove(self) {
        let _ = fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Takes the exclusive lock without waiting: false when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(io::Error::from(e)),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}

/// "pid 1234 (run)", as the holder wrote it, or a plain statement when it has not yet.
fn holder(path: &Path) -> String {
    fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty() && text.len() < 200)
        .unwrap_or_else(|| "pid not yet recorded".into())
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether the process `pid` is still running (true when that cannot be known).
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            // It exists but belongs to someone else.
            Err(e) => e == rustix::io::Errno::PERM,
        }
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// What kind of leftover a hidden name is: `.NAME.tmp-PID` (an atomic write), `.NAME.partial-PID`
/// (a folder being built), `.NAME.old-PID` (a folder being replaced); with NAME and PID.
pub fn leftover(name: &str) -> Option<(&str, &str, u32)> {
    let rest = name.strip_prefix('.')?;
    let (stem, pid) = rest.rsplit_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    let (target, kind) = stem.rsplit_once('.')?;
    matches!(kind, "tmp" | "partial" | "old")
        .then_some((target, kind, pid))
        .filter(|(target, _, _)| !target.is_empty())
}

/// Removes the leftovers of dead processes in `dir` and the folders below it (a run folder is
/// shallow: blind/ROUND/packets, blind/ROUND/judges, report/tables). A `.NAME.old-PID` whose
/// replacement never arrived is put back as NAME: it is the last complete version.
fn clean_stale(dir: &Path) {
    clean_stale_at(dir, 4);
}

fn clean_stale_at(dir: &Path, depth: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        match leftover(&name) {
            Some((target, kind, pid)) if !process_alive(pid) => {
                let target = dir.join(target);
                let restored = kind == "old"
                    && is_dir
                    && !target.exists()
                    && fs::rename(&path, &target).is_ok();
                if !restored {
                    let _ = if is_dir {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                }
            }
            Some(_) => {}
            None if is_dir && depth > 1 => clean_stale_at(&path, depth - 1),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_names_are_recognised() {
        assert_eq!(
            leftover(".efficacy.csv.tmp-1234"),
            Some(("efficacy.csv", "tmp", 1234))
        );
        assert_eq!(
            leftover(".round-1.partial-99"),
            Some(("round-1", "partial", 99))
        );
        assert_eq!(leftover(".report.old-7"), Some(("report", "old", 7)));
        for name in [
            ".blindfold.lock",
            "report",
            ".tmp-12",
            ".a.tmp-x",
            ".a.new-12",
            "a.tmp-12",
        ] {
            assert_eq!(leftover(name), None, "{name}");
        }
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "run").unwrap();
        let err = RunLock::acquire(dir.path(), "report").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("pid {} (run)", std::process::id())),
            "{message}"
        );
        drop(first);
        RunLock::acquire(dir.path(), "report").unwrap();
    }

    #[test]
    fn leftovers_of_dead_processes_are_cleaned_and_an_orphaned_old_folder_restored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A pid that cannot be running: above the kernel's pid_max.
        let dead = 4_194_304 + 17;
        fs::create_dir_all(root.join("blind/round-1/packets")).unwrap();
        fs::write(
            root.join(format!("blind/round-1/.unblinded.csv.tmp-{dead}")),
            "x",
        )
        .unwrap();
        fs::create_dir_all(root.join(format!("blind/.round-2.partial-{dead}/packets"))).unwrap();
        fs::create_dir_all(root.join(format!(".report.old-{dead}"))).unwrap();
        fs::write(
            root.join(format!(".report.old-{dead}/report.md")),
            "previous",
        )
        .unwrap();
        let alive = std::process::id();
        fs::write(root.join(format!(".manifest.json.tmp-{alive}")), "mine").unwrap();

        let _lock = RunLock::acquire(root, "report").unwrap();
        assert!(
            !root
                .join(format!("blind/round-1/.unblinded.csv.tmp-{dead}"))
                .exists()
        );
        assert!(!root.join(format!("blind/.round-2.partial-{dead}")).exists());
        assert_eq!(
            fs::read_to_string(root.join("report/report.md")).unwrap(),
            "previous",
            "the last complete report is put back"
        );
        assert!(root.join(format!(".manifest.json.tmp-{alive}")).exists());
        assert!(root.join("blind/round-1/packets").is_dir());
    }
}
