//! The state file: what aoai-lb created, so `destroy` removes exactly that.
//!
//! JSON, written atomically (a temporary file in the same directory, then rename)
//! after every change, mode 0600, never holding a secret. Entries are written *before*
//! the request that creates a resource (`pending`), so a crash between the request and
//! the record cannot leave an orphan: the next run finds the pending entry and checks.
//! A lock keeps two runs from working on one state: an exclusive `flock` on the
//! directory that holds the real state file (a symlinked state is followed first), which
//! the kernel releases when the process dies and which deleting a file cannot defeat;
//! `STATE.lock` beside it only says who holds it (pid, host, command) for the message.
//!
//! The state names the deployment and subscription it belongs to: a state of another
//! deployment is refused rather than planned against (see [`State::belongs_to`]).

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
    /// The deployment this state belongs to (the plan's `deployment`, or derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The subscription of that deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
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

    /// The deployment and subscription this state belongs to: as recorded, or (for a
    /// state written before deployments had names) derived from the plan it holds.
    pub fn owner(&self) -> Option<(String, String)> {
        let deployment = self.deployment.clone().or_else(|| {
            let apim = self.plan.pointer("/apim/name")?.as_str()?;
            let api = self.plan.pointer("/apim/api/name")?.as_str()?;
            Some(aoai_lb_core::model::derived_deployment(apim, api))
        })?;
        let sub = self
            .subscription_id
            .clone()
            .or_else(|| Some(self.plan.get("subscriptionId")?.as_str()?.to_string()))
            .unwrap_or_default();
        Some((deployment, sub))
    }

    /// Refuses a state that belongs to another deployment or subscription. An empty
    /// state, or one that names no deployment, belongs to anyone.
    pub fn belongs_to(
        &self,
        path: &Path,
        deployment: &str,
        subscription: &str,
    ) -> Result<(), StateError> {
        let Some((found, found_sub)) = self.owner() else {
            return Ok(());
        };
        let same_sub = found_sub.is_empty() || found_sub.eq_ignore_ascii_case(subscription);
        if found == deployment && same_sub {
            return Ok(());
        }
        Err(StateError::Foreign {
            path: path.to_path_buf(),
            found,
            found_sub,
            wanted: deployment.to_string(),
            wanted_sub: subscription.to_string(),
        })
    }

    /// Records whose state this is (done by apply before its first write).
    pub fn claim(&mut self, deployment: &str, subscription: &str) {
        self.deployment = Some(deployment.to_string());
        self.subscription_id = Some(subscription.to_string());
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state {} is locked: another aoai-lb apply or destroy is running on it{}. Wait for it to finish (the lock is released when it exits).",
        .0.display(), holder_text(.1)
    )]
    Locked(PathBuf, Option<String>),
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
    #[error("the state {} belongs to deployment `{found}` in subscription {found_sub}, not to this plan's deployment `{wanted}` in subscription {wanted_sub}: aoai-lb will not plan against another deployment's state. Pass this plan's own state with --state (or AOAI_LB_STATE), or set `deployment:` in the plan if it really is the same deployment.", .path.display())]
    Foreign {
        path: PathBuf,
        found: String,
        found_sub: String,
        wanted: String,
        wanted_sub: String,
    },
}

fn holder_text(holder: &Option<String>) -> String {
    holder
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default()
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
    /// The real file (symlinks followed), which is what is read, written and locked.
    path: PathBuf,
    info: PathBuf,
    _lock: File,
    pub state: State,
}

impl LockedState {
    /// Locks `path` and reads it (an absent file is an empty state).
    pub fn open(path: &Path) -> Result<LockedState, StateError> {
        let real = resolve(path)?;
        let dir = parent_of(&real);
        std::fs::create_dir_all(&dir).map_err(StateError::io(&dir))?;
        let info = lock_path(&real);
        let lock = File::open(&dir).map_err(StateError::io(&dir))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked(path.to_path_buf(), holder(&dir)));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StateError::io(&dir)(e)),
        }
        let state = read(&real)?;
        // Who holds the lock, for the message another run prints; the lock itself is
        // the directory's, so losing this file loses only the message.
        let mut note = open_private(&info, true).map_err(StateError::io(&info))?;
        let _ = writeln!(
            note,
            "{}",
            serde_json::json!({
                "pid": std::process::id(),
                "host": hostname(),
                "command": std::env::args().collect::<Vec<_>>().join(" "),
            })
        );
        Ok(LockedState {
            path: real,
            info,
            _lock: lock,
            state,
        })
    }

    /// The real state file (symlinks followed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state atomically (0600). An empty state removes the file.
    pub fn save(&self) -> Result<(), StateError> {
        write_atomic(&self.path, &self.state)
    }
}

impl Drop for LockedState {
    fn drop(&mut self) {
        // Before the lock is released (fields drop after this), so a new holder's note
        // is never removed.
        let _ = std::fs::remove_file(&self.info);
    }
}

/// The real file behind `path`: symlinks (even dangling ones) are followed, so the link
/// stays a link and the file it names is what gets written and locked.
pub fn resolve(path: &Path) -> Result<PathBuf, StateError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(StateError::io(&current))?;
                current = parent_of(&current).join(target);
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(StateError::io(&current)(e)),
        }
    }
    Err(StateError::io(path)(std::io::Error::other(
        "too many levels of symbolic links",
    )))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
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

/// Who holds the lock of `dir`, from the notes beside the state files in it.
fn holder(dir: &Path) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .find_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let v: Value = serde_json::from_str(text.trim()).ok()?;
            Some(format!(
                "pid {} on {}: {}",
                v.get("pid")?,
                v.get("host")?.as_str()?,
                v.get("command")?.as_str()?
            ))
        })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this host".into())
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

/// The state file every plan shared before deployments had names.
pub const LEGACY_DEFAULT: &str = "aoai-lb.state.json";

/// The default state of a plan: `<plan stem>.aoai-lb.state.json` in the current
/// directory, so two plans in one directory never share a state. A legacy
/// `aoai-lb.state.json` is used instead while it exists and belongs to this deployment
/// (the second value says so, for the user).
pub fn default_path(
    plan_file: &Path,
    deployment: &str,
    subscription: &str,
) -> (PathBuf, Option<String>) {
    let stem = plan_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    let path = PathBuf::from(format!("{stem}.aoai-lb.state.json"));
    let legacy = PathBuf::from(LEGACY_DEFAULT);
    if path.exists() || !legacy.exists() {
        return (path, None);
    }
    match read(&legacy) {
        Ok(s) if s.owner().is_some() && s.belongs_to(&legacy, deployment, subscription).is_ok() => {
            let note = format!(
                "Using {LEGACY_DEFAULT}, which belongs to this deployment; rename it to {} (the default state of this plan) when convenient.",
                path.display()
            );
            (legacy, Some(note))
        }
        _ => (path, None),
    }
}

/// Reads a state file without locking it (for `plan`, which writes nothing). Each
/// entry is checked, so a malformed one is an error naming it, never a panic later.
pub fn read(path: &Path) -> Result<State, StateError> {
    let path = &resolve(path)?;
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
#[path = "state_tests.rs"]
mod tests;
