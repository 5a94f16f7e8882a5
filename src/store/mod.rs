//! The file edge: every file blindfold writes goes through here.
//!
//! Single-file outputs are written atomically (a temporary file in the same folder, flushed and
//! synced, then renamed over the target), so a crash or Ctrl-C never leaves a half-written
//! manifest, key or report behind. Append-only logs (transcripts) live in `transcripts`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};

pub mod transcripts;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} already exists; refusing to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with_mode(path, bytes, None)
}

/// Like [`write_atomic`], but only the owner may read the file (mode 0600 on Unix), from the
/// moment it exists: for secrets such as the links of a hosted round.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with_mode(path, bytes, Some(0o600))
}

fn write_atomic_with_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), StoreError> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(write_error(parent))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_error(path))
}

/// Writes a new file, failing if it exists (no check-then-write race).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(write_error(parent))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => StoreError::Exists {
                path: path.to_path_buf(),
            },
            _ => StoreError::Write {
                path: path.to_path_buf(),
                source,
            },
        })?;
    file.write_all(bytes).map_err(write_error(path))?;
    file.sync_all().map_err(write_error(path))
}

pub fn read_to_string(path: &Path) -> Result<String, StoreError> {
    fs::read_to_string(path).map_err(|source| StoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Invalid {
        path: path.to_path_buf(),
        message: format!("line {}, column {}: {e}", e.line(), e.column()),
    })
}

/// Pretty JSON with a trailing newline, as every JSON file blindfold writes.
pub fn to_json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_new(&path, b"x").unwrap();
        assert!(matches!(
            write_new(&path, b"y"),
            Err(StoreError::Exists { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "x");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.txt");
        write_private(&path, b"s").unwrap();
        write_private(&path, b"t").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), "t");
    }
}
