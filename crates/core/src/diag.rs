//! Diagnostics: what the validator says about a plan, each tied to a place in the file.
//!
//! Rendered as `PLAN:LINE:COL: message` (the format compilers use, so editors and
//! GitHub annotations can jump to it), or as JSON for scripts.

use std::fmt;

use serde::Serialize;

use super::located::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: u64,
    pub column: u64,
    /// The plan field it is about, as a path (`accounts[1].backend.weight`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(pos: Pos, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            line: pos.line,
            column: pos.column,
            field: Some(field.into()).filter(|f: &String| !f.is_empty()),
            message: message.into(),
        }
    }

    pub fn warning(pos: Pos, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(pos, field, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `PLAN:LINE:COL: message` (warnings say so after the position).
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayDiag { diag: self, file }
    }
}

struct DisplayDiag<'a> {
    diag: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayDiag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diag;
        write!(f, "{}:{}:{}: ", self.file, d.line.max(1), d.column.max(1))?;
        if d.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&d.message)
    }
}

/// Diagnostics in file order, errors before warnings at the same place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.line, a.column, a.severity, &a.message).cmp(&(b.line, b.column, b.severity, &b.message))
    });
}
