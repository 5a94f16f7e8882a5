//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `blindfold` binary, with logging quiet unless a test asks otherwise.
pub fn blindfold() -> Command {
    let mut cmd = Command::cargo_bin("blindfold").expect("the binary is built");
    cmd.env_remove("RUST_LOG");
    // A hung command fails its test instead of hanging the suite.
    cmd.timeout(std::time::Duration::from_secs(180));
    cmd
}

/// A fresh copy of the default study in a temp folder (written by `blindfold init`).
pub struct StudyDir {
    pub tmp: tempfile::TempDir,
}

impl StudyDir {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        blindfold()
            .arg("init")
            .arg(tmp.path().join("study"))
            .assert()
            .success();
        StudyDir { tmp }
    }

    pub fn path(&self) -> PathBuf {
        self.tmp.path().join("study")
    }

    pub fn file(&self, relative: &str) -> PathBuf {
        self.path().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.file(relative)).unwrap()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.file(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The default study cut to its first `prompts` prompts (3 x 4 x `prompts` cells).
    pub fn with_prompts(prompts: usize) -> Self {
        let study = StudyDir::new();
        let deployment = study.read("prompts/deployment.toml");
        let first: Vec<&str> = deployment.split("[[prompt]]").take(prompts + 1).collect();
        study.write("prompts/small.toml", &first.join("[[prompt]]"));
        study.edit(
            "study.toml",
            "prompts = [\"deployment\"]",
            "prompts = [\"small\"]",
        );
        study
    }

    /// Runs the study into runs/`name` (it must succeed) and returns the run folder.
    pub fn run(&self, name: &str) -> PathBuf {
        let output = blindfold()
            .arg("run")
            .arg(self.path())
            .args(["--run", name])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        self.path().join("runs").join(name)
    }

    /// Replaces the first occurrence of `from` in a study file, failing if it is absent.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replacen(from, to, 1));
    }
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts that a command failed cleanly: non-zero exit, no panic, and the message names `file`.
pub fn assert_clean_failure(output: &std::process::Output, file: &str, needles: &[&str]) {
    let stderr = stderr_of(output);
    assert!(
        !output.status.success(),
        "expected failure, got success:\n{stderr}"
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit code; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
    assert!(
        stderr.contains(file),
        "message should name {file}:\n{stderr}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "message should contain {needle:?}:\n{stderr}"
        );
    }
}

/// Rewrites every assistant message of a run's transcripts.jsonl in place (tests that plant
/// content a model could have produced: reasoning, hostile markup).
pub fn edit_assistant_messages(run: &std::path::Path, edit: impl Fn(&mut serde_json::Value)) {
    let log = run.join("transcripts.jsonl");
    let text: String = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            for message in record["messages"].as_array_mut().unwrap() {
                if message["role"] == "assistant" {
                    edit(message);
                }
            }
            serde_json::to_string(&record).unwrap() + "\n"
        })
        .collect();
    std::fs::write(&log, text).unwrap();
}

/// Sends SIGINT (what Ctrl-C sends) to a child process.
pub fn interrupt(child: &std::process::Child) {
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

/// Copies a folder tree (a run or a study) so a test can change the copy.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
