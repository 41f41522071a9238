//! The validator's notebook: collects diagnostics and holds the small checks every
//! area of the plan repeats (naming rules, regions, ranges, durations, unique names).

use std::collections::HashMap;

use crate::diag::Diagnostic;
use crate::located::{Located, Pos};
use crate::{names, regions};

pub(super) struct Checker {
    pub(super) diags: Vec<Diagnostic>,
}

impl Checker {
    pub(super) fn new() -> Self {
        Checker { diags: Vec::new() }
    }

    pub(super) fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    pub(super) fn error(&mut self, pos: Pos, field: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, field, msg));
    }

    pub(super) fn warn(&mut self, pos: Pos, field: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(pos, field, msg));
    }

    /// Runs a naming rule, reporting `what `value` is invalid: reason`.
    pub(super) fn rule(
        &mut self,
        value: &Located<String>,
        field: &str,
        what: &str,
        rule: impl Fn(&str) -> Result<(), names::NameError>,
    ) {
        if let Err(reason) = rule(value) {
            self.error(
                value.pos,
                field,
                format!("{what} `{}` is invalid: {reason}", value.value),
            );
        }
    }

    pub(super) fn region(&mut self, value: &Located<String>, field: &str) -> (String, String) {
        match regions::lookup(value) {
            Some((name, display)) => (name.to_string(), display.to_string()),
            None => {
                let hint = regions::suggest(value)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.error(
                    value.pos,
                    field,
                    format!("unknown Azure region `{}`{hint}", value.value),
                );
                (value.value.clone(), value.value.clone())
            }
        }
    }

    pub(super) fn int_range(
        &mut self,
        value: &Located<i64>,
        field: &str,
        what: &str,
        lo: i64,
        hi: i64,
    ) -> i64 {
        if !(lo..=hi).contains(&value.value) {
            self.error(
                value.pos,
                field,
                format!("{what} must be between {lo} and {hi}, not {}", value.value),
            );
        }
        value.value.clamp(lo, hi)
    }

    /// A length in characters within `lo..=hi`, reported as `what must be … long, not n`.
    pub(super) fn char_count(
        &mut self,
        value: &Located<String>,
        field: &str,
        what: &str,
        lo: usize,
        hi: usize,
    ) {
        let n = value.chars().count();
        if !(lo..=hi).contains(&n) {
            self.error(
                value.pos,
                field,
                format!("{what} must be {lo} to {hi} characters long, not {n}"),
            );
        }
    }

    pub(super) fn duration(&mut self, value: &Located<String>, field: &str, what: &str) {
        match names::iso8601_duration(value) {
            Ok(secs) if secs <= 0.0 => {
                self.error(value.pos, field, format!("{what} must be longer than zero"))
            }
            Ok(_) => {}
            Err(reason) => self.error(
                value.pos,
                field,
                format!("{what} `{}` {reason}", value.value),
            ),
        }
    }
}

/// Keeps the first position of each case-insensitive name and reports repeats.
pub(super) struct Unique {
    what: String,
    /// Appended after the name, as in `` in account `x` ``.
    scope: String,
    seen: HashMap<String, Pos>,
}

impl Unique {
    pub(super) fn new(what: impl Into<String>) -> Self {
        Unique {
            what: what.into(),
            scope: String::new(),
            seen: HashMap::new(),
        }
    }

    pub(super) fn within(mut self, scope: String) -> Self {
        self.scope = scope;
        self
    }

    /// Reports `name` if it was seen before; returns whether it is new.
    pub(super) fn check(&mut self, c: &mut Checker, name: &str, pos: Pos, field: &str) -> bool {
        let key = name.to_lowercase();
        if let Some(first) = self.seen.get(&key) {
            c.error(
                pos,
                field,
                format!(
                    "duplicate {} `{name}`{} (first at line {}; names are case-insensitive)",
                    self.what, self.scope, first.line
                ),
            );
            false
        } else {
            self.seen.insert(key, pos);
            true
        }
    }
}
