//! How `validate` shows a valid plan: one sentence with the pool, or a JSON summary.

use serde_json::json;

use super::{Human, Json, View};
use crate::commands::Loaded;
use crate::printer::Printer;
use aoai_lb_core::model::AccountKind;

/// A valid plan and how many ARM resources it makes.
pub struct Validated<'a> {
    pub loaded: &'a Loaded,
    pub resources: usize,
}

impl Validated<'_> {
    fn deployments(&self) -> usize {
        let m = &self.loaded.model;
        m.accounts.iter().map(|a| a.deployments.len()).sum()
    }
}

/// The view of `aoai-lb validate`.
pub trait ValidateView: View {
    fn valid(&self, v: &Validated);
}

pub fn view(printer: &Printer) -> Box<dyn ValidateView> {
    super::for_format!(printer)
}

impl ValidateView for Human {
    fn valid(&self, v: &Validated) {
        self.warnings(v.loaded);
        let m = &v.loaded.model;
        let members: Vec<String> = m
            .accounts
            .iter()
            .map(|a| {
                // The kind is named when it is not the default.
                let kind = match a.kind {
                    AccountKind::OpenAI => String::new(),
                    other => format!(", {}", other.as_str()),
                };
                format!(
                    "{} ({}{kind}, priority {}, weight {})",
                    a.backend.name, a.location, a.backend.priority, a.backend.weight
                )
            })
            .collect();
        self.printer.result(&format!(
            "{}: valid. {} account(s), {} deployment(s), {} ARM resources; pool {}: {}.",
            v.loaded.file,
            m.accounts.len(),
            v.deployments(),
            v.resources,
            m.apim.pool.name,
            members.join(", ")
        ));
    }
}

impl ValidateView for Json {
    fn valid(&self, v: &Validated) {
        let m = &v.loaded.model;
        self.printer.json(&json!({
            "file": v.loaded.file,
            "valid": true,
            "diagnostics": v.loaded.warnings,
            "summary": {
                "accounts": m.accounts.len(),
                "deployments": v.deployments(),
                "armResources": v.resources,
                "pool": {
                    "name": m.apim.pool.name,
                    "members": m.accounts.iter().map(|a| json!({
                        "backend": a.backend.name,
                        "account": a.name,
                        "region": a.location,
                        "kind": a.kind.as_str(),
                        "priority": a.backend.priority,
                        "weight": a.backend.weight,
                    })).collect::<Vec<_>>(),
                },
            },
        }));
    }
}
