//! The state file: what aoai-lb created, so `destroy` removes exactly that.
//!
//! JSON, written atomically (a temporary file in the same directory, then rename)
//! after every change, mode 0600, never holding a secret. Entries are written *before*
//! the request that creates a resource (`pending`), so a crash between the request and
//! the record cannot leave an orphan: the next run finds the pending entry and checks.
//! A lock (an exclusive `flock` on `STATE.lock`, released by the kernel if the process
//! dies) keeps two runs from working on one state.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT_VERSION: u32 = 1;

/// One resource aoai-lb touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub address: String,
    pub kind: aoai_lb_core::desired::Kind,
    pub id: String,
    pub api_version: String,
    /// Whether aoai-lb created it (and so may delete it).
    pub owned: bool,
    /// Written before the request that creates it; cleared once ARM confirmed it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// For an API: SHA-256 of the spec last imported (ARM does not return it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_sha256: Option<String>,
    /// For an account: its region, to purge it after a soft delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub version: u32,
    /// The plan file this state came from, as given on the command line.
    #[serde(default)]
    pub plan_file: String,
    /// The validated plan (no secrets in it), so `destroy` works without the file.
    #[serde(default)]
    pub plan: Value,
    /// The APIM service whose identity aoai-lb changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apim_service_id: Option<String>,
    /// The APIM service's identity as aoai-lb found it, to put back on destroy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apim_identity_before: Option<Value>,
    #[serde(default)]
    pub resources: Vec<Entry>,
}

impl State {
    pub fn new() -> State {
        State {
            version: FORMAT_VERSION,
            ..State::default()
        }
    }

    pub fn get(&self, address: &str) -> Option<&Entry> {
        self.resources.iter().find(|e| e.address == address)
    }

    /// Inserts or replaces the entry with this address.
    pub fn upsert(&mut self, entry: Entry) {
        match self
            .resources
            .iter_mut()
            .find(|e| e.address == entry.address)
        {
            Some(e) => *e = entry,
            None => self.resources.push(entry),
        }
    }

    pub fn remove(&mut self, address: &str) {
        self.resources.retain(|e| e.address != address);
    }
}

#[derive(Debug)]
pub enum StateError {
    Locked(PathBuf),
    Io(PathBuf, std::io::Error),
    Corrupt(PathBuf, String),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Locked(p) => write!(
                f,
                "the state {} is locked: another aoai-lb apply or destroy is running on it. Wait for it to finish (the lock is released when it exits).",
                p.display()
            ),
            StateError::Io(p, e) => write!(f, "state {}: {e}", p.display()),
            StateError::Corrupt(p, why) => write!(
                f,
                "state {} is not a valid aoai-lb state file: {why}. Restore it from a backup, or move it aside if nothing was created with it.",
                p.display()
            ),
        }
    }
}

/// A state file held under its lock. Dropping it releases the lock.
#[derive(Debug)]
pub struct LockedState {
    path: PathBuf,
    _lock: File,
    pub state: State,
}

impl LockedState {
    /// Locks `path` and reads it (an absent file is an empty state).
    pub fn open(path: &Path) -> Result<LockedState, StateError> {
        let lock_path = lock_path(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StateError::Io(dir.to_path_buf(), e))?;
        }
        let lock =
            open_private(&lock_path, false).map_err(|e| StateError::Io(lock_path.clone(), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked(path.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StateError::Io(lock_path, e)),
        }
        let state = read(path)?;
        Ok(LockedState {
            path: path.to_path_buf(),
            _lock: lock,
            state,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state atomically (0600). An empty state removes the file.
    pub fn save(&self) -> Result<(), StateError> {
        write_atomic(&self.path, &self.state)
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

fn open_private(path: &Path, truncate: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Reads a state file without locking it (for `plan`, which writes nothing).
pub fn read(path: &Path) -> Result<State, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
        Err(e) => return Err(StateError::Io(path.to_path_buf(), e)),
    };
    let state: State = serde_json::from_str(&text)
        .map_err(|e| StateError::Corrupt(path.to_path_buf(), e.to_string()))?;
    if state.version != FORMAT_VERSION {
        return Err(StateError::Corrupt(
            path.to_path_buf(),
            format!(
                "format version {} (this aoai-lb reads {FORMAT_VERSION})",
                state.version
            ),
        ));
    }
    Ok(state)
}

fn write_atomic(path: &Path, state: &State) -> Result<(), StateError> {
    if state.resources.is_empty() && state.apim_identity_before.is_none() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Io(path.to_path_buf(), e)),
        };
    }
    let mut text = serde_json::to_string_pretty(state).expect("state serializes");
    text.push('\n');
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let io = |e| StateError::Io(path.to_path_buf(), e);
    let mut file = open_private(&tmp, true).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aoai_lb_core::desired::Kind;

    fn entry(address: &str) -> Entry {
        Entry {
            address: address.into(),
            kind: Kind::Account,
            id: format!("/x/{address}"),
            api_version: "v".into(),
            owned: true,
            pending: false,
            spec_sha256: None,
            location: None,
        }
    }

    #[test]
    fn round_trips_atomically_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut locked = LockedState::open(&path).unwrap();
        locked.state.upsert(entry("account.a"));
        locked.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(read(&path).unwrap().resources.len(), 1);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "state and lock only: {names:?}");
    }

    #[test]
    fn a_second_opener_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let first = LockedState::open(&path).unwrap();
        assert!(matches!(
            LockedState::open(&path),
            Err(StateError::Locked(_))
        ));
        drop(first);
        assert!(LockedState::open(&path).is_ok());
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("is not a valid aoai-lb state file"), "{err}");
    }
}
