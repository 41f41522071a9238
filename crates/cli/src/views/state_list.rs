//! How `state list` looks: one line per resource (address, ARM id, and whether it is
//! pending or not aoai-lb's), or one JSON document.

use serde_json::json;

use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_engine::state::State;

/// A state file and what it records.
pub struct Listed<'a> {
    pub path: &'a aoai_lb_engine::state::Location,
    pub exists: bool,
    pub state: &'a State,
}

/// The view of `aoai-lb state list`.
pub trait StateListView: View {
    fn listed(&self, l: &Listed);
}

pub fn view(printer: &Printer) -> Box<dyn StateListView> {
    super::for_format!(printer)
}

impl StateListView for Human {
    fn listed(&self, l: &Listed) {
        if !l.exists {
            self.printer.result(&format!(
                "No state file at {}: nothing is recorded.",
                l.path
            ));
            return;
        }
        let width = l
            .state
            .resources
            .iter()
            .map(|e| e.address.len())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for e in &l.state.resources {
            let mut flags = Vec::new();
            if e.pending {
                flags.push("pending");
            }
            if !e.owned {
                flags.push("not owned: destroy leaves it");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("  ({})", flags.join(", "))
            };
            text.push_str(&format!("{:width$}  {}{flags}\n", e.address, e.id));
        }
        if l.state.resources.is_empty() {
            text.push_str(&format!("{}: no resources recorded.\n", l.path));
        }
        self.printer.result(text.trim_end());
    }
}

impl StateListView for Json {
    fn listed(&self, l: &Listed) {
        self.printer.json(&json!({
            "state": l.path.to_string(),
            "exists": l.exists,
            "deployment": l.state.deployment,
            "subscriptionId": l.state.subscription_id,
            "resources": l.state.resources.iter().map(|e| json!({
                "address": e.address,
                "kind": e.kind,
                "id": e.id,
                "owned": e.owned,
                "pending": e.pending,
            })).collect::<Vec<_>>(),
        }));
    }
}
