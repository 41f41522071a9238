//! Helpers: run the built binary in a clean environment, locate the repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the tests are compiled as part of crates/cli).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `aoai-lb` binary, with the variables a developer's or CI's shell may set removed.
pub fn aoai_lb(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoai-lb"));
    cmd.current_dir(cwd);
    for var in [
        "AZURE_SUBSCRIPTION_ID",
        "AOAI_LB_ARM_ENDPOINT",
        "AOAI_LB_STATE",
        "AOAI_LB_ACCESS_TOKEN",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AOAI_LB_HEARTBEAT",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    }
}

/// Asserts that `text` holds every one of `needles`, naming those it lacks.
pub fn assert_has(text: &str, needles: &[&str]) {
    let missing: Vec<&&str> = needles.iter().filter(|n| !text.contains(**n)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}

pub fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// Loads and validates an example through the library (as the commands do).
pub fn load_example(path: &Path) -> aoai_lb::core::model::Model {
    match aoai_lb::commands::load(path) {
        Ok(l) => l.model,
        Err(e) => panic!("{} does not load: {e:?}", path.display()),
    }
}
