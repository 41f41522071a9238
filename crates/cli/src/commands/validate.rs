//! `aoai-lb validate PLAN`

use std::path::Path;

use serde_json::json;

use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_core::desired::{self, Facts};

use super::load;

pub fn run(printer: &Printer, plan: &Path) -> ExitStatus {
    let loaded = match load::load_offline(plan) {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    let m = &loaded.model;
    let resources = match desired::build(m, &Facts::unknown()) {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!("error: {}: {e}", loaded.file));
            return ExitStatus::Usage;
        }
    };
    let deployments: usize = m.accounts.iter().map(|a| a.deployments.len()).sum();
    if printer.is_json() {
        printer.json(&json!({
            "file": loaded.file,
            "valid": true,
            "diagnostics": loaded.warnings,
            "summary": {
                "accounts": m.accounts.len(),
                "deployments": deployments,
                "armResources": resources.len(),
                "pool": {
                    "name": m.apim.pool.name,
                    "members": m.accounts.iter().map(|a| json!({
                        "backend": a.backend.name,
                        "account": a.name,
                        "region": a.location,
                        "priority": a.backend.priority,
                        "weight": a.backend.weight,
                    })).collect::<Vec<_>>(),
                },
            },
        }));
    } else {
        load::report_warnings(printer, &loaded);
        let members: Vec<String> = m
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "{} ({}, priority {}, weight {})",
                    a.backend.name, a.location, a.backend.priority, a.backend.weight
                )
            })
            .collect();
        printer.result(&format!(
            "{}: valid. {} account(s), {} deployment(s), {} ARM resources; pool {}: {}.",
            loaded.file,
            m.accounts.len(),
            deployments,
            resources.len(),
            m.apim.pool.name,
            members.join(", ")
        ));
    }
    ExitStatus::Success
}
