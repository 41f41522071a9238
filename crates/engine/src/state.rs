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

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state {} is locked: another aoai-lb apply or destroy is running on it. Wait for it to finish (the lock is released when it exits).",
        .0.display()
    )]
    Locked(PathBuf),
    #[error("state {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state {} is not a valid aoai-lb state file: {why}. Restore it from a backup, or move it aside if nothing was created with it.",
        .path.display()
    )]
    Corrupt { path: PathBuf, why: String },
    /// One entry is malformed: named by its place in the file and its address.
    #[error(
        "state {}: entry {entry} is not valid: {why}. Fix or remove that entry (restore the file from a backup if unsure).",
        .path.display()
    )]
    Entry {
        path: PathBuf,
        entry: String,
        why: String,
    },
}

impl StateError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
        move |source| StateError::Io {
            path: path.to_path_buf(),
            source,
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
            std::fs::create_dir_all(dir).map_err(StateError::io(dir))?;
        }
        let lock = open_private(&lock_path, false).map_err(StateError::io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked(path.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StateError::io(&lock_path)(e)),
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

/// Reads a state file without locking it (for `plan`, which writes nothing). Each
/// entry is checked, so a malformed one is an error naming it, never a panic later.
pub fn read(path: &Path) -> Result<State, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
        Err(e) => return Err(StateError::io(path)(e)),
    };
    let corrupt = |why: String| StateError::Corrupt {
        path: path.to_path_buf(),
        why,
    };
    let mut raw: Value = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    // Entries one by one, so an error names the entry, not a column of the file.
    let entries = match raw.as_object_mut().and_then(|m| m.remove("resources")) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(corrupt("`resources` is not a list".into())),
    };
    let mut state: State = serde_json::from_value(raw).map_err(|e| corrupt(e.to_string()))?;
    if state.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "format version {} (this aoai-lb reads {FORMAT_VERSION})",
            state.version
        )));
    }
    for (i, item) in entries.into_iter().enumerate() {
        let name = item
            .get("address")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{}", i + 1), |a| format!("#{} ({a})", i + 1));
        let bad = |why: String| StateError::Entry {
            path: path.to_path_buf(),
            entry: name.clone(),
            why,
        };
        let entry: Entry = serde_json::from_value(item).map_err(|e| bad(e.to_string()))?;
        if let Some(why) = entry_fault(&entry) {
            return Err(bad(why));
        }
        state.resources.push(entry);
    }
    Ok(state)
}

/// What the engine relies on in an entry: an ARM id of its kind, an api-version, a
/// whole SHA-256. Returns what is wrong, if anything.
fn entry_fault(e: &Entry) -> Option<String> {
    use aoai_lb_core::desired::Kind;
    let id = e.id.to_ascii_lowercase();
    if !id.starts_with("/subscriptions/") {
        return Some(format!("id `{}` is not an ARM resource id", e.id));
    }
    let marker = match e.kind {
        Kind::ResourceGroup => "/resourcegroups/",
        Kind::Account => "/providers/microsoft.cognitiveservices/accounts/",
        Kind::Deployment => "/deployments/",
        Kind::ApimIdentity => "/providers/microsoft.apimanagement/service/",
        Kind::RoleAssignment => "/providers/microsoft.authorization/roleassignments/",
        Kind::Backend | Kind::Pool => "/backends/",
        Kind::Api | Kind::ApiPolicy => "/apis/",
        Kind::Subscription => "/providers/microsoft.apimanagement/service/",
    };
    if !id.contains(marker) || id.ends_with('/') {
        return Some(format!(
            "id `{}` is not an id of kind {}",
            e.id,
            e.kind.as_str()
        ));
    }
    if e.api_version.trim().is_empty() {
        return Some("apiVersion is empty".into());
    }
    if let Some(sha) = &e.spec_sha256
        && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Some(format!(
            "specSha256 `{sha}` is not a SHA-256 (64 hexadecimal digits)"
        ));
    }
    None
}

fn write_atomic(path: &Path, state: &State) -> Result<(), StateError> {
    if state.resources.is_empty() && state.apim_identity_before.is_none() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::io(path)(e)),
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
    let io = |e| StateError::io(path)(e);
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
            id: format!(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/{address}"
            ),
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

    fn write_with(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let path = dir.join("s.json");
        let mut api = entry("api.x");
        api.kind = Kind::Api;
        api.id =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/a/apis/x"
                .into();
        api.spec_sha256 = Some("ab".repeat(32));
        let mut state = State::new();
        state.resources.push(api);
        let mut v = serde_json::to_value(&state).unwrap();
        edit(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
        path
    }

    #[test]
    fn a_malformed_entry_is_an_error_naming_the_file_and_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_with(dir.path(), |_| {});
        assert_eq!(read(&good).unwrap().resources.len(), 1);
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 4] = [
            ("specSha256", |v| {
                v["resources"][0]["specSha256"] = "abc".into()
            }),
            ("unknown variant", |v| {
                v["resources"][0]["kind"] = "gateway".into()
            }),
            ("not an ARM resource id", |v| {
                v["resources"][0]["id"] = "apis/x".into()
            }),
            ("not an id of kind api", |v| {
                v["resources"][0]["id"] = "/subscriptions/s/resourceGroups/g".into()
            }),
        ];
        for (why, edit) in cases {
            let path = write_with(dir.path(), edit);
            let err = read(&path).unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("entry #1 (api.x)"), "{err}");
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    #[test]
    fn a_failed_write_names_the_state_and_chains_the_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let mut locked = LockedState::open(&path).unwrap();
        locked.state.upsert(entry("account.a"));
        // The temporary file it writes through cannot be created (even as root).
        std::fs::create_dir(
            dir.path()
                .join(format!("s.json.tmp-{}", std::process::id())),
        )
        .unwrap();
        let err = locked.save().unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let source = std::error::Error::source(&err).expect("the io error is chained");
        assert!(
            source.downcast_ref::<std::io::Error>().is_some(),
            "{source}"
        );
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
