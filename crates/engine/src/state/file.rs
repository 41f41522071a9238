//! A state in a local file (the default): written atomically (a temporary file in the
//! same directory, then rename), mode 0600, and locked with an exclusive `flock` on the
//! directory that holds the real state file (a symlinked state is followed first), which
//! the kernel releases when the process dies and which deleting a file cannot defeat;
//! `STATE.lock` beside it only says who holds it (pid, host, command, lock id) for the
//! message another run prints.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{State, StateError, Who};

/// A state file held under its lock. Dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct FileLock {
    /// The real file (symlinks followed), which is what is read, written and locked.
    path: PathBuf,
    info: PathBuf,
    _lock: File,
}

impl FileLock {
    /// Locks `path` and reads it (`None`: no file yet).
    pub fn open(path: &Path, who: &Who) -> Result<(FileLock, Option<String>), StateError> {
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
        let text = read_text(&real)?;
        // Who holds the lock, for the message another run prints; the lock itself is
        // the directory's, so losing this file loses only the message.
        let mut note = open_private(&info, true).map_err(StateError::io(&info))?;
        let _ = writeln!(
            note,
            "{}",
            serde_json::json!({
                "pid": std::process::id(),
                "host": hostname(),
                "command": who.command,
                "lockId": format!("local-{}", std::process::id()),
            })
        );
        let held = FileLock {
            path: real,
            info,
            _lock: lock,
        };
        Ok((held, text))
    }

    /// The real state file (symlinks followed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state atomically (0600). An empty state removes the file.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        write_atomic(&self.path, state)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Before the lock is released (fields drop after this), so a new holder's note
        // is never removed.
        let _ = std::fs::remove_file(&self.info);
    }
}

/// The text of a state file, `None` when there is none.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, StateError> {
    let path = &resolve(path)?;
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io(path)(e)),
    }
}

/// `force-unlock` of a local state: a lock held by a live process cannot be broken
/// (the kernel holds it until that process exits); what a killed run leaves behind is
/// only its note, which is removed.
pub(crate) fn force_unlock(path: &Path, lock_id: &str) -> Result<String, StateError> {
    let real = resolve(path)?;
    let dir = parent_of(&real);
    let info = lock_path(&real);
    let Ok(lock) = File::open(&dir) else {
        return Err(StateError::NotLocked {
            state: path.display().to_string(),
        });
    };
    if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
        return Err(StateError::Locked(path.to_path_buf(), holder(&dir)));
    }
    let note: Option<Value> = std::fs::read_to_string(&info)
        .ok()
        .and_then(|t| serde_json::from_str(t.trim()).ok());
    let Some(note) = note else {
        return Err(StateError::NotLocked {
            state: path.display().to_string(),
        });
    };
    let id = note.get("lockId").and_then(Value::as_str).unwrap_or("");
    if !id.eq_ignore_ascii_case(lock_id) {
        return Err(StateError::OtherLock {
            state: path.display().to_string(),
            given: lock_id.to_string(),
            holder: Box::new(super::Holder {
                lock_id: id.to_string(),
                who: note
                    .get("host")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                command: note
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                ..Default::default()
            }),
        });
    }
    std::fs::remove_file(&info).map_err(StateError::io(&info))?;
    Ok(format!(
        "no process holds the lock of {} (its run ended); removed the note it left ({})",
        path.display(),
        info.display()
    ))
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

pub(crate) fn hostname() -> String {
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
