//! The state: what aoai-lb created, so `destroy` removes exactly that.
//!
//! JSON, written after every change and never holding a secret. Entries are written
//! *before* the request that creates a resource (`pending`), so a crash between the
//! request and the record cannot leave an orphan: the next run finds the pending entry
//! and checks. A lock keeps two runs from working on one state.
//!
//! Where it is kept is a [`Location`]: a local file (the default; [`file`]: atomic
//! writes, a `flock`), or a blob in Azure Storage shared by a team and its CI
//! ([`blob`], [`lease`]: a lease as the lock, ETag-conditional writes, a snapshot
//! before each overwrite). [`LockedState`] is the same for both.
//!
//! The state names the deployment and subscription it belongs to: a state of another
//! deployment is refused rather than planned against (see [`State::belongs_to`]).

pub mod blob;
mod file;
mod lease;
mod location;
mod shared_key;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use blob::{BlobAuth, BlobUrl};
pub use file::resolve;
pub use lease::{LEASE_SECONDS, LeaseTiming};
pub use location::{Holder, Location, Who};

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
        at: impl Into<Location>,
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
            state: at.into().to_string(),
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
    /// A blob state leased by another run: who, when, what, and how to break it.
    #[error(
        "the state {url} is locked by another aoai-lb run: {holder}. Wait for it to finish; if that run is gone (killed, cancelled), its lease lapses within {LEASE_SECONDS} s, or break it now with `aoai-lb force-unlock {} --state {url}`.",
        .holder.lock_id
    )]
    BlobLocked { url: String, holder: Box<Holder> },
    #[error("state {url}: {why}")]
    Blob { url: String, why: String },
    /// A conditional write refused: the blob is not the version this run read.
    #[error(
        "the state {url} changed since this run read it (its ETag no longer matches), so it was not overwritten: another writer holds or broke the lock. Run again to work from the current state."
    )]
    Stale { url: String },
    #[error(
        "the lock on the state {url} was lost ({why}): someone ran force-unlock, or the lease could not be renewed. Nothing more is written; run again (plan first) to see where things stand."
    )]
    LeaseLost { url: String, why: String },
    #[error("the state {state} is not locked: nothing to unlock")]
    NotLocked { state: String },
    #[error(
        "the state {state} is locked by {} ({holder}), not by {given}: nothing was unlocked. Check the lock id in the message of the run that was refused.",
        .holder.lock_id
    )]
    OtherLock {
        state: String,
        given: String,
        holder: Box<Holder>,
    },
    #[error("state {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state {state} is not a valid aoai-lb state file: {why}. Restore it from a backup (for a blob state, a snapshot: docs/ci.md), or move it aside if nothing was created with it."
    )]
    Corrupt { state: String, why: String },
    /// One entry is malformed: named by its place in the file and its address.
    #[error(
        "state {state}: entry {entry} is not valid: {why}. Fix or remove that entry (restore the file from a backup if unsure)."
    )]
    Entry {
        state: String,
        entry: String,
        why: String,
    },
    #[error(
        "the state {state} belongs to deployment `{found}` in subscription {found_sub}, not to this plan's deployment `{wanted}` in subscription {wanted_sub}: aoai-lb will not plan against another deployment's state. Pass this plan's own state with --state (or AOAI_LB_STATE), or set `deployment:` in the plan if it really is the same deployment."
    )]
    Foreign {
        state: String,
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

/// A state held under its lock (a `flock`, or a blob lease). Dropping it releases the lock.
#[derive(Debug)]
pub struct LockedState {
    at: Location,
    hold: Hold,
    pub state: State,
}

#[derive(Debug)]
enum Hold {
    File(file::FileLock),
    Blob(lease::BlobLock),
}

impl LockedState {
    /// Locks the state and reads it (none yet is an empty state), as this process.
    pub fn open(at: impl Into<Location>) -> Result<LockedState, StateError> {
        LockedState::open_as(at, &Who::of_process(None, None))
    }

    /// Locks the state and reads it; `who` is what the lock tells another run.
    pub fn open_as(at: impl Into<Location>, who: &Who) -> Result<LockedState, StateError> {
        LockedState::open_leased(at, who, LeaseTiming::default())
    }

    /// [`LockedState::open_as`] with a blob lease of this timing (tests; the default is
    /// what runs use).
    pub fn open_leased(
        at: impl Into<Location>,
        who: &Who,
        timing: LeaseTiming,
    ) -> Result<LockedState, StateError> {
        let at = at.into();
        let (hold, text, named) = match &at {
            Location::File(p) => {
                let (lock, text) = file::FileLock::open(p, who)?;
                let named = lock.path().display().to_string();
                (Hold::File(lock), text, named)
            }
            Location::Blob { url, auth } => {
                let blob = blob::Blob::new(url.clone(), auth.clone());
                let (lock, text) = lease::BlobLock::open(blob, who, timing)?;
                // A blob is created empty to be leased: an empty blob is an empty state.
                let text = Some(text).filter(|t| !t.trim().is_empty());
                (Hold::Blob(lock), text, at.to_string())
            }
        };
        let state = match text {
            Some(t) => parse(&t, &named)?,
            None => State::new(),
        };
        Ok(LockedState { at, hold, state })
    }

    /// Where the state is kept (for a file, as given: see [`LockedState::path`]).
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// The real state file (symlinks followed); for a blob, `None`.
    pub fn path(&self) -> Option<&Path> {
        match &self.hold {
            Hold::File(f) => Some(f.path()),
            Hold::Blob(_) => None,
        }
    }

    /// Writes the state: a file atomically (0600; an empty state removes it); a blob
    /// after a snapshot of what it replaces, If-Match the ETag this run last saw.
    pub fn save(&self) -> Result<(), StateError> {
        match &self.hold {
            Hold::File(f) => f.save(&self.state),
            Hold::Blob(b) => {
                let mut text = serde_json::to_string_pretty(&self.state).expect("state serializes");
                text.push('\n');
                b.save(text)
            }
        }
    }
}

/// `aoai-lb force-unlock LOCK_ID`: breaks the lock `lock_id` of the state at `at`, and
/// says what was done. A blob's lease is broken at once if its metadata names
/// `lock_id`; a local lock held by a live process is refused (it ends with the process).
pub fn force_unlock(at: &Location, lock_id: &str) -> Result<String, StateError> {
    match at {
        Location::File(p) => file::force_unlock(p, lock_id),
        Location::Blob { url, auth } => {
            let holder = lease::break_lease(blob::Blob::new(url.clone(), auth.clone()), lock_id)?;
            Ok(format!("broke the lease on {at}: {holder}"))
        }
    }
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

/// Reads a state without locking it (for `plan`, which writes nothing). Each entry is
/// checked, so a malformed one is an error naming it, never a panic later.
pub fn read(at: impl Into<Location>) -> Result<State, StateError> {
    let at = at.into();
    let named = match &at {
        Location::File(p) => resolve(p)?.display().to_string(),
        Location::Blob { .. } => at.to_string(),
    };
    match read_text(&at)? {
        None => Ok(State::new()),
        // A blob is created empty to be leased: an empty blob is an empty state.
        Some(t) if at.is_blob() && t.trim().is_empty() => Ok(State::new()),
        Some(t) => parse(&t, &named),
    }
}

/// The text of a state as stored (`None`: there is none yet), unlocked.
pub fn read_text(at: &Location) -> Result<Option<String>, StateError> {
    match at {
        Location::File(p) => file::read_text(p),
        Location::Blob { url, auth } => lease::read(blob::Blob::new(url.clone(), auth.clone())),
    }
}

/// Parses a state's text; `named` is how errors name the state.
fn parse(text: &str, named: &str) -> Result<State, StateError> {
    let corrupt = |why: String| StateError::Corrupt {
        state: named.to_string(),
        why,
    };
    let mut raw: Value = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
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
            state: named.to_string(),
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
        Kind::Component => "/providers/microsoft.insights/components/",
        Kind::Logger => "/loggers/",
        Kind::Diagnostic => "/diagnostics/",
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

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
