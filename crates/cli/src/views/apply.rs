//! How `apply` looks: the plan before asking, the summary, each failure with its hint,
//! and where clients go; or one JSON document. Also the summary line destroy and the
//! demo share.

use serde_json::json;

use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_core::model::Model;
use aoai_lb_engine::apply::Report;
use aoai_lb_engine::plan::Plan;
use aoai_lb_engine::traffic::Endpoint;

/// `Apply complete: N created, ... ARM requests: ... 1.2s.`
pub fn summary_text(report: &Report, verb: &str) -> String {
    let r = &report.requests;
    let mut also = String::new();
    for (n, what) in [
        (report.replaced, "replaced"),
        (report.restored, "restored"),
        (report.abandoned.len(), "abandoned"),
    ] {
        if n > 0 {
            also.push_str(&format!(", {n} {what}"));
        }
    }
    format!(
        "{verb}: {} created, {} updated, {} unchanged, {} deleted{also}; {} failed. ARM requests: {} reads, {} writes, {} polls ({} retries). {:.1}s.",
        report.created,
        report.updated,
        report.unchanged,
        report.deleted,
        report.failed.len(),
        r.reads,
        r.writes,
        r.polls,
        r.retries,
        report.wall_seconds
    )
}

/// `error: ADDRESS: ...` and its hint, per failed change.
pub(crate) fn failures(printer: &Printer, report: &Report) {
    for (address, e) in &report.failed {
        printer.error(&format!("error: {address}: {e}"));
        if let Some(h) = aoai_lb_arm::hints::hint_in(e) {
            printer.error(&format!("  hint: {h}"));
        }
    }
    if !report.abandoned.is_empty() {
        printer.error(&format!(
            "Abandoned while in flight (Azure may still finish them; the state keeps them pending and the next run resolves them): {}",
            report.abandoned.join(", ")
        ));
    }
    // Not updated or deleted: no longer this deployment's.
    for (address, why) in &report.left_alone {
        printer.error(&format!("left alone: {address} {why}"));
    }
}

/// The plan on stderr before asking (text, unless --quiet).
pub(crate) fn preview_text(printer: &Printer, plan: &Plan, note: Option<&str>) {
    if printer.quiet {
        return;
    }
    let mut text = super::plan::render(plan, super::stderr_colour());
    if let Some(note) = note {
        text.push_str(note);
        text.push('\n');
    }
    printer.prompt(&text);
}

/// What an apply did, and where clients go now.
pub struct Applied<'a> {
    pub file: &'a str,
    pub model: &'a Model,
    /// The plan that was applied.
    pub plan: &'a Plan,
    pub report: &'a Report,
    pub gateway: Option<String>,
    /// The API's endpoint behind the gateway, for the client snippets (none without a
    /// gateway URL or a deployment every account has).
    pub endpoint: Option<Endpoint>,
}

impl Applied<'_> {
    /// `{gateway}/{api path}`.
    pub fn api_url(&self) -> Option<String> {
        self.gateway
            .as_ref()
            .map(|g| format!("{}/{}", g.trim_end_matches('/'), self.model.apim.api.path))
    }
}

/// The view of `aoai-lb apply`.
pub trait ApplyView: View {
    /// The changes, before asking whether to make them.
    fn preview(&self, plan: &Plan);

    fn applied(&self, a: &Applied);

    /// The plan and the outcome as a job summary, and step outputs (GitHub Actions).
    fn github(&self, a: &Applied) {
        let Some(gh) = super::github::GitHub::detect() else {
            return;
        };
        let report = a.report;
        gh.warn_each(&a.plan.warnings);
        let mut md = super::plan::markdown(a.plan, &format!("aoai-lb apply `{}`", a.file));
        let verb = if report.ok() {
            "**Apply complete**"
        } else {
            "**Apply incomplete**"
        };
        md.push_str(&format!("\n{}\n", summary_text(report, verb)));
        for (address, e) in &report.failed {
            md.push_str(&format!("\n- ❌ `{address}`: {}", super::github::cell(e)));
        }
        let api_url = a.api_url();
        if let (true, Some(url)) = (report.ok(), &api_url) {
            md.push_str(&format!(
                "\nEndpoint: `{url}` (key header `{}`)\n",
                a.model.apim.api.subscription_key_header
            ));
        }
        gh.summary(&md);
        let changed =
            report.created + report.updated + report.deleted + report.replaced + report.restored
                > 0;
        gh.output("changes", if changed { "true" } else { "false" });
        gh.output("gateway-url", a.gateway.as_deref().unwrap_or_default());
        gh.output("api-url", api_url.as_deref().unwrap_or_default());
    }
}

pub fn view(printer: &Printer) -> Box<dyn ApplyView> {
    super::for_format!(printer)
}

impl ApplyView for Human {
    fn preview(&self, plan: &Plan) {
        preview_text(&self.printer, plan, None);
    }

    fn applied(&self, a: &Applied) {
        let (printer, report) = (&self.printer, a.report);
        let verb = if report.ok() {
            "Apply complete"
        } else {
            "Apply incomplete"
        };
        printer.result(&summary_text(report, verb));
        failures(printer, report);
        if let Some(e) = &report.state_error {
            printer.error(&format!("error: the run stopped: {e}"));
        }
        if !report.skipped.is_empty() {
            printer.error(&format!(
                "Skipped because something they depend on failed: {}",
                report.skipped.join(", ")
            ));
        }
        if !report.ok() {
            printer.error("Run `aoai-lb apply` again to converge: nothing done so far is lost (see the state file).");
            return;
        }
        if let Some(url) = a.api_url() {
            let key_hint = match &a.model.apim.subscription {
                Some(s) => format!(
                    " with the key of APIM subscription `{}` in the `{}` header",
                    s.name, a.model.apim.api.subscription_key_header
                ),
                None => String::new(),
            };
            printer.result(&format!("\nEndpoint: {url}\nClients call it{key_hint}."));
        }
        if let Some(e) = &a.endpoint {
            let text = super::output::human_snippets(&super::snippets::for_api(a.model, e));
            printer.result(text.trim_end());
        }
    }
}

impl ApplyView for Json {
    fn preview(&self, _plan: &Plan) {}

    fn applied(&self, a: &Applied) {
        self.printer.json(&json!({
            "file": a.file,
            "ok": a.report.ok(),
            "report": a.report,
            "warnings": a.plan.warnings,
            "gatewayUrl": a.gateway,
            "apiUrl": a.api_url(),
            "subscriptionKeyHeader": a.model.apim.api.subscription_key_header,
            "snippets": a.endpoint.as_ref().map(|e| {
                super::output::json_snippets(&super::snippets::for_api(a.model, e))
            }),
        }));
    }
}
