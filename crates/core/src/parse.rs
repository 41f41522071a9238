//! YAML text to a raw [`Plan`], with serde-saphyr's positions turned into diagnostics.

use super::diag::Diagnostic;
use super::located::Pos;
use super::plan::Plan;

/// The error's message without serde-saphyr's " at line N, column M" suffix (the
/// position is reported separately) or hints meant for Rust developers.
pub fn message_of(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if text[i..].contains(", column ") => text[..i].to_string(),
        _ => text,
    };
    let text = text.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    // Rust type names mean nothing to a plan author.
    let text = match text.as_str() {
        "invalid i64" | "invalid u64" | "invalid u8" | "invalid u32" => {
            "expected a whole number".to_string()
        }
        "expected string scalar" => "expected a string".to_string(),
        _ => text,
    };
    // "unknown field `x`, expected one of a, b" reads better with the choices quoted.
    if let Some((head, list)) = text.split_once(", expected one of ") {
        let choices: Vec<String> = list
            .split(", ")
            .map(|c| format!("`{}`", c.trim_matches('`')))
            .collect();
        return format!("{head}; expected one of {}", choices.join(", "));
    }
    text
}

/// Parses a plan. YAML syntax, type and unknown-field errors stop at the first one:
/// serde cannot go on past a field it cannot read.
pub fn parse(text: &str) -> Result<Plan, Diagnostic> {
    if text.trim().is_empty() {
        return Err(Diagnostic::error(Pos::START, "", "the plan is empty"));
    }
    serde_saphyr::from_str::<Plan>(text).map_err(|err| {
        let pos = err
            .location()
            .map(|l| Pos::new(l.line(), l.column()))
            .unwrap_or(Pos::START);
        Diagnostic::error(pos, "", message_of(&err))
    })
}
