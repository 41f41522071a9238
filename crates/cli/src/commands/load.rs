//! Reading a plan from disk: the file, the files it refers to, the environment; then
//! the core's parse and validation.

use std::path::Path;

use serde_json::json;

use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_core::diag::Diagnostic;
use aoai_lb_core::model::Model;
use aoai_lb_core::parse;
use aoai_lb_core::validate::{self, Context, Files};

/// A valid plan.
#[derive(Debug)]
pub struct Loaded {
    /// The plan path as the user wrote it (what diagnostics name).
    pub file: String,
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug)]
pub enum LoadError {
    Unreadable {
        file: String,
        reason: String,
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

fn load_with(path: &Path, offline: bool) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read(path)
        .map_err(|e| LoadError::Unreadable {
            file: file.clone(),
            reason: e.to_string(),
        })
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| LoadError::Unreadable {
                file: file.clone(),
                reason: "it is not UTF-8 text".into(),
            })
        })?;
    let plan = parse::parse(&text).map_err(|d| LoadError::Invalid {
        file: file.clone(),
        diagnostics: vec![d],
    })?;

    let base = path.parent().unwrap_or(Path::new("."));
    let mut files = Files::new();
    for reference in validate::referenced_files(&plan) {
        let full = base.join(&reference);
        let content = std::fs::read_to_string(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no such file {}", full.display()),
            _ => format!("{}: {e}", full.display()),
        });
        files.insert(reference, content);
    }
    let ctx = Context {
        subscription_id: env::var(env::AZURE_SUBSCRIPTION_ID),
        offline,
    };
    let outcome = validate::validate(&plan, &ctx, &files);
    match outcome.model {
        Some(model) => Ok(Loaded {
            file,
            model,
            warnings: outcome.diagnostics,
        }),
        None => Err(LoadError::Invalid {
            file,
            diagnostics: outcome.diagnostics,
        }),
    }
}

/// Reports a plan that could not be loaded, and the status to exit with (2).
pub fn report(printer: &Printer, err: &LoadError) -> ExitStatus {
    match err {
        LoadError::Unreadable { file, reason } => {
            if printer.is_json() {
                printer.json(&json!({ "file": file, "valid": false, "error": format!("cannot read the plan: {reason}") }));
            } else {
                printer.error(&format!("error: cannot read the plan {file}: {reason}"));
            }
        }
        LoadError::Invalid { file, diagnostics } => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            if let Some(gh) = crate::github::GitHub::detect() {
                gh.annotate(file, diagnostics);
                let mut md =
                    format!("### aoai-lb: `{file}` is invalid\n\n| where | problem |\n|---|---|\n");
                for d in diagnostics {
                    md.push_str(&format!(
                        "| `{file}:{}:{}` | {} |\n",
                        d.line,
                        d.column,
                        crate::github::cell(&d.message)
                    ));
                }
                gh.summary(&md);
            }
            if printer.is_json() {
                printer.json(&json!({ "file": file, "valid": false, "diagnostics": diagnostics }));
            } else {
                for d in diagnostics {
                    printer.error(&d.display(file).to_string());
                }
                let noun = if errors == 1 { "error" } else { "errors" };
                printer.error(&format!(
                    "error: {file} is invalid ({errors} {noun}); nothing was done"
                ));
            }
        }
    }
    ExitStatus::Usage
}

/// Prints the warnings of a valid plan (text mode; JSON carries them in the result).
pub fn report_warnings(printer: &Printer, loaded: &Loaded) {
    if !printer.is_json() {
        for w in &loaded.warnings {
            printer.warn(&w.display(&loaded.file).to_string());
        }
    }
}
