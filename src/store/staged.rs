//! A folder that is replaced whole or not at all.
//!
//! A report is some thirty files. Written one by one over the previous report, an interruption
//! (kill, full disk) leaves a mix of new and old files that looks like a report and is not one.
//! So the new folder is built beside its target as `.NAME.partial-PID`, every file synced, and
//! then swapped in with one atomic exchange of the two folders (`renameat2(RENAME_EXCHANGE)` on
//! Linux): at every instant the target is the previous complete folder or the new complete one.
//! Where the exchange is not available the previous folder is first renamed to `.NAME.old-PID`;
//! if the process dies in the instant between the two renames, the next command that locks the
//! run folder puts it back (see `lock`).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::{StoreError, write_new};

pub struct StagedDir {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Starts a replacement of the folder `target` (which may not exist yet).
    pub fn new(target: &Path) -> Result<StagedDir, StoreError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if target.exists() && !target.is_dir() {
            return Err(StoreError::Invalid {
                path: target.to_path_buf(),
                message: "exists and is not a folder; move it aside".into(),
            });
        }
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|source| StoreError::Write {
                path: tmp.clone(),
                source,
            })?;
        }
        fs::create_dir_all(&tmp).map_err(|source| StoreError::Write {
            path: tmp.clone(),
            source,
        })?;
        Ok(StagedDir {
            target: target.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Writes one file (`relative` may have folders) into the new folder, synced.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_new(&self.tmp.join(relative), bytes).map_err(|e| match e {
            // Name the file where it will end up, not the temporary folder.
            StoreError::Write { source, .. } => StoreError::Write {
                path: self.target.join(relative),
                source,
            },
            other => other,
        })
    }

    /// Puts the new folder in place of the old one, whole.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let move_error = |source| StoreError::Write {
            path: self.target.clone(),
            source,
        };
        sync_dir(&self.tmp).map_err(move_error)?;
        if !self.target.exists() {
            fs::rename(&self.tmp, &self.target).map_err(move_error)?;
        } else if exchange(&self.tmp, &self.target).is_ok() {
            // The previous folder now sits at the temporary name.
            let _ = fs::remove_dir_all(&self.tmp);
        } else {
            let old = self.tmp.with_file_name(
                self.tmp
                    .file_name()
                    .map(|n| n.to_string_lossy().replacen(".partial-", ".old-", 1))
                    .unwrap_or_default(),
            );
            fs::rename(&self.target, &old).map_err(move_error)?;
            if let Err(source) = fs::rename(&self.tmp, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(move_error(source));
            }
            let _ = fs::remove_dir_all(&old);
        }
        if let Some(parent) = self.target.parent() {
            let _ = sync_dir(parent);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedDir {
    /// An abandoned replacement (an error on the way) leaves nothing behind.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_folder_is_created_then_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        let first = StagedDir::new(&target).unwrap();
        first.write("a.txt", b"one").unwrap();
        first.write("tables/b.tex", b"one").unwrap();
        first.commit().unwrap();
        let second = StagedDir::new(&target).unwrap();
        second.write("a.txt", b"two").unwrap();
        second.commit().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "two");
        assert!(
            !target.join("tables").exists(),
            "nothing of the old folder stays"
        );
        assert_eq!(listing(dir.path()), ["report"], "no temporary folder stays");
    }

    #[test]
    fn an_abandoned_replacement_leaves_the_old_folder_and_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("a.txt"), "old").unwrap();
        {
            let staged = StagedDir::new(&target).unwrap();
            staged.write("a.txt", b"new").unwrap();
        }
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "old");
        assert_eq!(listing(dir.path()), ["report"]);
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        fs::write(&target, "not a folder").unwrap();
        let err = StagedDir::new(&target).err().unwrap().to_string();
        assert!(err.contains("is not a folder"), "{err}");
    }
}
