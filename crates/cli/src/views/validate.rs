//! How `validate` shows a valid plan: one sentence with the pool, or a JSON summary.

use aoai_lb_core::model::{AccountKind, RoutedPool};
use serde_json::json;

use super::{Human, Json, View};
use crate::commands::Loaded;
use crate::printer::Printer;

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
        let pool = |p: &RoutedPool| -> String {
            p.members
                .iter()
                .map(|x| {
                    let a = &m.accounts[x.account];
                    // The kind is named when it is not the default.
                    let kind = match a.kind {
                        AccountKind::OpenAI => String::new(),
                        other => format!(", {}", other.as_str()),
                    };
                    format!(
                        "{} ({}{kind}, priority {}, weight {})",
                        x.backend, a.location, x.priority, x.weight
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pools = match &m.apim.pools[..] {
            [one] if one.name == m.apim.pool.name => format!("pool {}: {}", one.name, pool(one)),
            many => format!(
                "a pool per deployment: {}",
                many.iter()
                    .map(|p| format!("{} ({}): {}", p.name, p.deployments.join(", "), pool(p)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        self.printer.result(&format!(
            "{}: valid. {} account(s), {} deployment(s), {} ARM resources; {pools}.",
            v.loaded.file,
            m.accounts.len(),
            v.deployments(),
            v.resources,
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
                "pools": m.apim.pools.iter().map(|p| json!({
                    "name": p.name,
                    "deployments": p.deployments,
                    "members": p.members.iter().map(|x| json!({
                        "backend": x.backend,
                        "account": m.accounts[x.account].name,
                        "region": m.accounts[x.account].location,
                        "kind": m.accounts[x.account].kind.as_str(),
                        "priority": x.priority,
                        "weight": x.weight,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            },
        }));
    }
}
