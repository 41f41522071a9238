//! YAML text to a raw [`Plan`], with serde-saphyr's positions turned into diagnostics.

use super::diag::{self, Diagnostic};
use super::located::Pos;
use super::plan::Plan;
use super::{schema, shape};

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

/// Parses a plan. When the typed parse fails (it stops at its first error), the plan
/// is walked against its schema ([`crate::shape`]) so that every unknown field, missing
/// field and type error is reported at once; the typed parse's own error is kept
/// unless the walk found one on the same line (the same problem, in the walk's words).
pub fn parse(text: &str) -> Result<Plan, Vec<Diagnostic>> {
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::error(Pos::START, "", "the plan is empty")]);
    }
    let err = match serde_saphyr::from_str::<Plan>(text) {
        Ok(plan) => return Ok(plan),
        Err(err) => err,
    };
    let pos = err
        .location()
        .map(|l| Pos::new(l.line(), l.column()))
        .unwrap_or(Pos::START);
    let first = Diagnostic::error(pos, "", message_of(&err));
    if !is_about_shape(&err) {
        return Err(vec![first]);
    }
    let mut diags = shape::check(text, plan_schema());
    if !diags.iter().any(|d| d.line == first.line) {
        diags.push(first);
    }
    diag::sort(&mut diags);
    Err(diags)
}

/// The plan's schema, generated once per process (only failed parses need it).
fn plan_schema() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(schema::plan_schema)
}

/// Whether the typed parse's error may be one of several shape problems. Input the
/// reader refused as a whole (over budget, an alias bomb, an unknown anchor) is not
/// read a second time.
fn is_about_shape(err: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    !matches!(
        err.without_snippet(),
        E::Budget { .. }
            | E::AliasError { .. }
            | E::AliasReplayCounterOverflow { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. }
            | E::UnknownAnchor { .. }
            | E::Eof { .. }
            | E::MultipleDocuments { .. }
    )
}
