//! How `destroy` looks: the deletes before asking, the summary and each failure; or
//! one JSON document.

use serde_json::json;

use super::apply::{failures, preview_text};
use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_engine::apply::Report;
use aoai_lb_engine::plan::{Action, Plan};

/// What a destroy did.
pub struct Destroyed<'a> {
    pub report: &'a Report,
    /// The plan it ran (the deletes, and what it does to the APIM identity).
    pub plan: &'a Plan,
}

impl Destroyed<'_> {
    pub fn ok(&self) -> bool {
        self.report.ok()
    }

    /// `Destroy complete: 13 deleted, 1 updated (apim_identity.x: put back as ...); 0
    /// failed. ARM requests: ...`: every step counted, the updates named (destroy's
    /// only update is what it does to the APIM identity).
    pub fn summary(&self, verb: &str) -> String {
        let (report, r) = (self.report, &self.report.requests);
        let not_done: Vec<&String> = report
            .failed
            .iter()
            .map(|(a, _)| a)
            .chain(&report.skipped)
            .chain(&report.cancelled)
            .chain(&report.abandoned)
            .collect();
        let updates: Vec<String> = self
            .plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Update && !not_done.contains(&&c.address))
            .map(|c| match &c.note {
                Some(note) => format!("{}: {note}", c.address),
                None => c.address.clone(),
            })
            .collect();
        let mut counts = format!("{} deleted", report.deleted);
        if report.updated > 0 {
            counts.push_str(&format!(", {} updated", report.updated));
            if !updates.is_empty() {
                counts.push_str(&format!(" ({})", updates.join("; ")));
            }
        }
        if !report.left_alone.is_empty() {
            counts.push_str(&format!(", {} left alone", report.left_alone.len()));
        }
        if !report.abandoned.is_empty() {
            counts.push_str(&format!(", {} abandoned", report.abandoned.len()));
        }
        let not_started = report.skipped.len() + report.cancelled.len();
        if not_started > 0 {
            counts.push_str(&format!(", {not_started} not started"));
        }
        format!(
            "{verb}: {counts}; {} failed. ARM requests: {} reads, {} writes, {} polls ({} retries). {:.1}s.",
            report.failed.len(),
            r.reads,
            r.writes,
            r.polls,
            r.retries,
            report.wall_seconds
        )
    }
}

/// What becomes of the accounts a destroy deleted: Azure keeps them soft-deleted for
/// 48 hours, their names and subdomains taken ("Recover or purge deleted Azure AI
/// services resources", learn.microsoft.com); how to purge them.
pub fn soft_deleted_note(report: &Report) -> Option<String> {
    let kept: Vec<_> = report
        .deleted_accounts
        .iter()
        .filter(|a| !a.purged)
        .collect();
    let purged = report.deleted_accounts.len() - kept.len();
    let mut out = Vec::new();
    if purged > 0 {
        out.push(format!(
            "{purged} account(s) purged: their names are free again."
        ));
    }
    if !kept.is_empty() {
        out.push(format!(
            "{} account(s) stay soft-deleted for 48 hours, their names and subdomains taken: `aoai-lb apply` restores them; to free the names now, purge them (or run `aoai-lb destroy --purge` next time):",
            kept.len()
        ));
        for a in kept {
            out.push(format!(
                "  az cognitiveservices account purge --name {} --resource-group {} --location {}",
                a.name,
                a.resource_group,
                a.location.as_deref().unwrap_or("<its region>")
            ));
        }
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

/// The view of `aoai-lb destroy`.
pub trait DestroyView: View {
    /// The state lists nothing aoai-lb created.
    fn nothing(&self, state: &aoai_lb_engine::state::Location);

    /// The deletes (and the APIM identity put back), before asking.
    fn preview(&self, plan: &Plan);

    fn destroyed(&self, d: &Destroyed);

    /// The outcome as a job summary, and a `changes` step output (GitHub Actions).
    fn github(&self, d: &Destroyed) {
        let Some(gh) = super::github::GitHub::detect() else {
            return;
        };
        let verb = if d.ok() {
            "**Destroy complete**"
        } else {
            "**Destroy incomplete**"
        };
        let mut md = format!("### aoai-lb destroy\n\n{}\n", d.summary(verb));
        for (address, e) in &d.report.failed {
            md.push_str(&format!("\n- ❌ `{address}`: {}", super::github::cell(e)));
        }
        gh.summary(&md);
        let deleted = d.report.deleted > 0;
        gh.output("changes", if deleted { "true" } else { "false" });
    }
}

pub fn view(printer: &Printer) -> Box<dyn DestroyView> {
    super::for_format!(printer)
}

impl DestroyView for Human {
    fn nothing(&self, state: &aoai_lb_engine::state::Location) {
        self.printer.result(&format!(
            "Nothing to destroy: {state} lists no resource created by aoai-lb."
        ));
    }

    fn preview(&self, plan: &Plan) {
        preview_text(&self.printer, plan, None);
    }

    fn destroyed(&self, d: &Destroyed) {
        let printer = &self.printer;
        let verb = if d.ok() {
            "Destroy complete"
        } else {
            "Destroy incomplete"
        };
        printer.result(&d.summary(verb));
        if let Some(note) = soft_deleted_note(d.report) {
            printer.result(&note);
        }
        failures(printer, d.report);
        if let Some(e) = &d.report.state_error {
            printer.error(&format!("error: {e}"));
        }
        if !d.ok() {
            printer.error("Run `aoai-lb destroy` again: the state file still lists what is left.");
        }
    }
}

impl DestroyView for Json {
    fn nothing(&self, _state: &aoai_lb_engine::state::Location) {
        self.printer.json(&json!({ "ok": true, "deleted": 0 }));
    }

    fn preview(&self, _plan: &Plan) {}

    fn destroyed(&self, d: &Destroyed) {
        self.printer
            .json(&json!({ "ok": d.ok(), "report": d.report }));
    }
}
