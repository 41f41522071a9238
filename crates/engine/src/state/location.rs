//! Where a state is kept (a local file, or a blob), and who holds its lock: what a
//! run writes in the lock and what a refused run is told.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::blob::{BlobAuth, BlobUrl};

/// Where a state is kept.
#[derive(Clone, Debug)]
pub enum Location {
    /// A local file (the default).
    File(PathBuf),
    /// A blob in Azure Storage (or the storage emulator), and how to reach it.
    Blob { url: BlobUrl, auth: BlobAuth },
}

impl Location {
    /// Whether `text` names a blob (an http or https URL) rather than a file.
    pub fn is_url(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    }

    /// A state location as given by `--state`, `AOAI_LB_STATE` or the plan's `state:`:
    /// a URL is a blob (authorized by `auth`, asked only then), anything else a file.
    pub fn parse(
        text: &str,
        auth: impl FnOnce() -> Result<BlobAuth, String>,
    ) -> Result<Location, String> {
        if !Location::is_url(text) {
            return Ok(Location::File(PathBuf::from(text)));
        }
        let url = BlobUrl::parse(text)?;
        Ok(Location::Blob { url, auth: auth()? })
    }

    pub fn is_blob(&self) -> bool {
        matches!(self, Location::Blob { .. })
    }

    /// The file, for a local state.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(p) => Some(p),
            Location::Blob { .. } => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Blob { url, .. } => write!(f, "{url}"),
        }
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::File(p.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::File(p.clone())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::File(p)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

/// Who takes a lock: written into it, shown to a run it refuses.
#[derive(Clone, Debug, Default)]
pub struct Who {
    /// `user@host`.
    pub user: String,
    /// The command line, without the program's path.
    pub command: String,
    /// The CI run (in GitHub Actions: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`).
    pub run_url: Option<String>,
}

impl Who {
    /// This process: its arguments and host, with the user and CI run the caller read
    /// from the environment.
    pub fn of_process(user: Option<String>, run_url: Option<String>) -> Who {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let host = super::file::hostname();
        Who {
            user: user.map_or(host.clone(), |u| format!("{u}@{host}")),
            command: format!("aoai-lb {}", args.join(" ")),
            run_url,
        }
    }

    /// The lock's metadata (names without aoai-lb's prefix).
    pub fn metadata(&self, lock_id: &str) -> BTreeMap<String, String> {
        let mut m = BTreeMap::from([
            ("lock_id".to_string(), lock_id.to_string()),
            ("who".to_string(), self.user.clone()),
            (
                "when".to_string(),
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            ),
            ("command".to_string(), self.command.clone()),
        ]);
        if let Some(u) = &self.run_url {
            m.insert("run_url".into(), u.clone());
        }
        m
    }
}

/// Who holds a lock, as its metadata says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    pub lock_id: String,
    pub who: String,
    pub when: String,
    pub command: String,
    pub run_url: Option<String>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lock {}", self.lock_id)?;
        if !self.who.is_empty() {
            write!(f, " held by {}", self.who)?;
        }
        if !self.when.is_empty() {
            write!(f, " since {}", self.when)?;
        }
        if !self.command.is_empty() {
            write!(f, ", running `{}`", self.command)?;
        }
        if let Some(u) = &self.run_url {
            write!(f, " in {u}")?;
        }
        Ok(())
    }
}
