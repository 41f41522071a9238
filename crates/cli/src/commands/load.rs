//! Reading a plan from disk: the file, the files it refers to, the environment; then
//! the core's parse and validation. Every read is bounded: only regular files are
//! opened for what the plan refers to, and no file is read past its size limit.

use std::io::Read;
use std::path::Path;

use crate::env;
use aoai_lb_core::diag::Diagnostic;
use aoai_lb_core::model::Model;
use aoai_lb_core::parse;
use aoai_lb_core::validate::{self, Context, FileError, FileKind, Files};
use aoai_lb_engine::saved::Hashed;

/// A valid plan.
#[derive(Debug)]
pub struct Loaded {
    /// The plan path as the user wrote it (what diagnostics name).
    pub file: String,
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
    /// The plan file and the files it refers to, hashed, for saved plans.
    pub plan_hash: Hashed,
    pub files: Vec<Hashed>,
}

#[derive(Debug)]
pub enum LoadError {
    Unreadable {
        file: String,
        reason: ReadPlanError,
    },
    Invalid {
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// Loads a plan for a command that talks to Azure: it needs a subscription.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    load_with(path, false)
}

/// Loads a plan for an offline command (`validate`, `render`): without a subscription
/// it is still valid, with a placeholder subscription and a warning that says so.
pub fn load_offline(path: &Path) -> Result<Loaded, LoadError> {
    load_with(path, true)
}

/// The plan's text, or why it cannot be read.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    read_plan(path).map_err(|reason| LoadError::Unreadable {
        file: path.display().to_string(),
        reason,
    })
}

fn load_with(path: &Path, offline: bool) -> Result<Loaded, LoadError> {
    let text = read_text(path)?;
    load_text(path, &text, offline)
}

/// Loads a plan whose text was read already (it may have come from a pipe).
pub fn load_text(path: &Path, text: &str, offline: bool) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let plan = parse::parse(text).map_err(|diagnostics| LoadError::Invalid {
        file: file.clone(),
        diagnostics,
    })?;

    let base = path.parent().unwrap_or(Path::new("."));
    let mut files = Files::new();
    for reference in validate::referenced_files(&plan) {
        let content = read_referenced(&base.join(&reference.path), reference.kind);
        files.insert(reference.path, content);
    }
    let ctx = Context {
        subscription_id: env::var(env::AZURE_SUBSCRIPTION_ID),
        offline,
    };
    let outcome = validate::validate(&plan, &ctx, &files);
    match outcome.model {
        Some(model) => Ok(Loaded {
            plan_hash: Hashed::of(&file, text),
            file,
            model,
            warnings: outcome.diagnostics,
            files: hashes(&files),
        }),
        None => Err(LoadError::Invalid {
            file,
            diagnostics: outcome.diagnostics,
        }),
    }
}

/// The files the plan refers to that were read, hashed, in path order.
fn hashes(files: &Files) -> Vec<Hashed> {
    let mut out: Vec<Hashed> = files
        .iter()
        .filter_map(|(path, content)| Some(Hashed::of(path, content.as_ref().ok()?)))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The plan is read up to this size: a plan is a few KB, and `/dev/zero` never ends.
const MAX_PLAN_BYTES: u64 = 16 * 1024 * 1024;

/// The plan's text. It may be a pipe (`<(generate-plan)`), so only its size is bounded.
fn read_plan(path: &Path) -> Result<String, ReadPlanError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(ReadPlanError::TooLarge);
    }
    String::from_utf8(bytes).map_err(ReadPlanError::NotUtf8)
}

/// Why the plan's text could not be read; shown after "cannot read the plan FILE: ".
#[derive(Debug, thiserror::Error)]
pub enum ReadPlanError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than 16 MiB, the limit for a plan")]
    TooLarge,
    #[error("it is not UTF-8 text")]
    NotUtf8(#[source] std::string::FromUtf8Error),
}

/// A file the plan refers to. Its type is looked at before it is opened: opening a
/// FIFO would block until someone writes, and a device such as `/dev/zero` never
/// ends; only a regular file within its kind's size limit is read (and no further
/// than the limit, should it grow meanwhile).
fn read_referenced(full: &Path, kind: FileKind) -> Result<String, FileError> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => {
            FileError::Unreadable(format!("no such file {}", full.display()))
        }
        _ => FileError::Unreadable(format!("{}: {e}", full.display())),
    };
    let meta = std::fs::metadata(full).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(file_type_name(&meta.file_type())));
    }
    if meta.len() > kind.max_bytes() {
        return Err(FileError::TooLarge(kind));
    }
    let file = std::fs::File::open(full).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(kind.max_bytes() + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > kind.max_bytes() {
        return Err(FileError::TooLarge(kind));
    }
    String::from_utf8(bytes).map_err(|_| FileError::NotUtf8)
}

/// What a file that is not a regular file is, in words.
fn file_type_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}
