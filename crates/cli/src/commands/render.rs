//! `aoai-lb render PLAN [--out DIR]`

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::Settings;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::render::{self as view, Rendered};
use aoai_lb_core::desired::Facts;
use aoai_lb_core::render::{self, Bundle};

use super::load;

/// Marks a directory as written by `render`, so a later render may replace it whole.
const MARKER: &str = ".aoai-lb-render";

pub fn run(printer: &Printer, settings: &Settings, plan: &Path, out: Option<&Path>) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match load::load_offline(plan) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    view.warnings(&loaded);
    let bundle = match render::bundle(&loaded.model, &Facts::unknown(), &settings.arm_endpoint) {
        Ok(b) => b,
        Err(e) => {
            view.error(&format!("{}: {e}", loaded.file));
            return ExitStatus::Usage;
        }
    };
    if let Some(dir) = out
        && let Err(e) = write_dir(dir, &bundle)
    {
        view.error(&e.to_string());
        return ExitStatus::Failure;
    }
    view.rendered(&Rendered {
        loaded: &loaded,
        bundle: &bundle,
        out,
    });
    ExitStatus::Success
}

fn request_file(r: &render::Request) -> String {
    let mut text = serde_json::to_string_pretty(&json!({
        "address": r.address,
        "method": r.method,
        "url": r.url,
        "dependsOn": r.depends_on,
        "body": r.body,
    }))
    .expect("a request serializes");
    text.push('\n');
    text
}

/// Why `--out DIR` could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutError {
    #[error("--out {}: exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "--out {}: refusing to replace a non-empty directory that `aoai-lb render` did not write",
        .0.display()
    )]
    NotOurs(PathBuf),
    #[error("--out {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes the bundle into `dir` all at once: files go to a fresh sibling directory that
/// replaces `dir` by rename, so a failure leaves the old content as it was.
fn write_dir(dir: &Path, bundle: &Bundle) -> Result<(), OutError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutError::Io { path, source }
    };
    if dir.exists() {
        if !dir.is_dir() {
            return Err(OutError::NotADirectory(dir.to_path_buf()));
        }
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        let empty = entries.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(OutError::NotOurs(dir.to_path_buf()));
        }
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "render".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.aoai-lb-new-{pid}"));
    let old = parent.join(format!(".{name}.aoai-lb-old-{pid}"));
    let write_all = || -> std::io::Result<()> {
        std::fs::create_dir(&staging)?;
        for r in &bundle.requests {
            std::fs::write(staging.join(&r.file), request_file(r))?;
        }
        std::fs::write(staging.join("policy.xml"), &bundle.policy)?;
        std::fs::write(staging.join("inference.json"), &bundle.spec)?;
        std::fs::write(
            staging.join(MARKER),
            "written by aoai-lb render; replaced whole on the next render\n",
        )?;
        Ok(())
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io(dir)(e));
    }
    let swap = || -> std::io::Result<()> {
        if dir.exists() {
            std::fs::rename(dir, &old)?;
        }
        if let Err(e) = std::fs::rename(&staging, dir) {
            if old.exists() {
                let _ = std::fs::rename(&old, dir);
            }
            return Err(e);
        }
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        Ok(())
    };
    swap().map_err(|e| {
        let _ = std::fs::remove_dir_all(&staging);
        io(dir)(e)
    })
}
