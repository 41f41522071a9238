//! How the demo looks: each step as it happens (text), or one JSON document with every
//! step at the end (the JSON view collects them).

use std::cell::RefCell;

use serde_json::{Value, json};

use super::apply::summary_text;
use super::{Human, Json, View};
use crate::commands::{DemoError, LoadError, Loaded};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_core::model::{Account, Model};
use aoai_lb_engine::apply::Report;
use aoai_lb_engine::clients::Tally;
use aoai_lb_engine::plan::Plan;
use aoai_lb_engine::traffic::Measured;

/// How many steps the tour has: five, six when the plan has clients.
pub fn steps(model: &Model) -> usize {
    if model.apim.clients.is_empty() { 5 } else { 6 }
}

/// The clients step: every client of the plan sent at once through the gateway.
pub struct Clients<'a> {
    pub tallies: &'a [Tally],
    /// Where the chart went, and the error writing it, if any.
    pub chart: Option<&'a std::path::Path>,
    pub chart_error: Option<String>,
    /// With `apim.appInsights`: what the plan's logger carried to the component (or why
    /// it could not be read).
    pub metrics: Option<Result<Metrics, String>>,
}

/// The token metrics the gateway sent through the plan's Application Insights logger.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub logger: String,
    pub records: usize,
    /// Total tokens per `Client` dimension.
    pub tokens_by_client: std::collections::BTreeMap<String, u64>,
}

impl Clients<'_> {
    /// Each limited client met its limit (at least one 429, with Retry-After), no unlimited
    /// one did, every client was answered, and nothing else failed; with Application
    /// Insights, its metrics count each client's tokens as its answers did.
    pub fn ok(&self) -> bool {
        self.chart_error.is_none()
            && self.tallies.iter().all(|t| {
                t.failed == 0
                    && t.answered > 0
                    && t.tokens_per_minute.is_some() == (t.throttled > 0)
                    && (t.throttled == 0 || t.retry_after.is_some())
            })
            && self.metrics_agree()
    }

    /// No Application Insights, or its metrics give each client the tokens its answers
    /// counted.
    pub fn metrics_agree(&self) -> bool {
        match &self.metrics {
            None => true,
            Some(Err(_)) => false,
            Some(Ok(m)) => self
                .tallies
                .iter()
                .all(|t| m.tokens_by_client.get(&t.name).copied().unwrap_or(0) == t.tokens),
        }
    }
}

/// The verify while the primary backend (or the whole first priority group) is throttled.
pub struct Failover<'a> {
    pub file: &'a str,
    pub model: &'a Model,
    /// The throttled accounts: the primary, or every account of the first priority group.
    pub throttled: &'a [&'a Account],
    pub measured: &'a Measured,
    pub served_by_primary: u64,
    pub served_elsewhere: u64,
}

/// `a`, `a and b`, `a, b and c`: the backends of the throttled accounts.
fn backend_names(accounts: &[&Account]) -> String {
    let names: Vec<&str> = accounts.iter().map(|a| a.backend.name.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}

/// "was" or "were", for the throttled accounts.
fn was(accounts: &[&Account]) -> &'static str {
    if accounts.len() == 1 { "was" } else { "were" }
}

impl Failover<'_> {
    /// The others answered, the throttled one did not.
    pub fn ok(&self) -> bool {
        self.served_by_primary == 0 && self.served_elsewhere > 0
    }
}

/// The tour's outcome.
pub struct Toured<'a> {
    pub file: &'a str,
    pub ok: bool,
    /// The first verify (the plan's split).
    pub first: &'a Measured,
    pub throttled: &'a [&'a Account],
}

/// The view of `aoai-lb demo`.
pub trait DemoView: View {
    fn step(&self, n: usize, of: usize, title: &str);
    fn applied(&self, report: &Report);
    fn planned(&self, plan: &Plan);
    /// The first verify: the plan's split.
    fn verified(&self, file: &str, m: &Measured);
    /// The second verify, with the primary throttled.
    fn failover(&self, f: &Failover);
    /// The clients step: a limited client refused, the others answered.
    fn clients(&self, c: &Clients);
    fn destroyed(&self, outcome: &Result<Report, DemoError>);
    fn done(&self, t: &Toured);
}

pub fn view(printer: &Printer) -> Box<dyn DemoView> {
    match printer.format {
        crate::cli::OutputFormat::Text => Box::new(Human { printer: *printer }),
        crate::cli::OutputFormat::Json => Box::new(JsonDemo {
            json: Json { printer: *printer },
            steps: RefCell::new(Vec::new()),
        }),
    }
}

/// Failures of the apply step, on stderr (both views).
fn apply_failures(printer: &Printer, report: &Report) {
    for (address, e) in &report.failed {
        printer.error(&format!("error: {address}: {e}"));
    }
}

impl DemoView for Human {
    fn step(&self, n: usize, of: usize, title: &str) {
        self.printer.result(&format!("\n== Step {n}/{of}: {title}"));
    }

    fn applied(&self, report: &Report) {
        let verb = if report.ok() {
            "Apply complete"
        } else {
            "Apply incomplete"
        };
        self.printer.result(&summary_text(report, verb));
        apply_failures(&self.printer, report);
    }

    fn planned(&self, plan: &Plan) {
        if plan.has_changes() {
            self.printer
                .result(&super::plan::render(plan, super::stderr_colour()));
        } else {
            self.printer.result(&format!(
                "No changes: all {} resources match the plan.",
                plan.summary().unchanged
            ));
        }
    }

    fn verified(&self, _file: &str, m: &Measured) {
        super::verify::show_text(&self.printer, m);
    }

    fn failover(&self, f: &Failover) {
        super::verify::show_text(&self.printer, f.measured);
        self.printer.result(&failover_text(f));
    }

    fn clients(&self, c: &Clients) {
        self.printer.result(&clients_text(c));
        if let Some(e) = &c.chart_error {
            self.printer.error(&format!("error: {e}"));
        }
    }

    fn destroyed(&self, outcome: &Result<Report, DemoError>) {
        match outcome {
            Ok(report) => self
                .printer
                .result(&summary_text(report, "Destroy complete")),
            Err(e) => self.printer.error(&format!("error: {e}")),
        }
    }

    fn done(&self, t: &Toured) {
        if !t.ok {
            self.printer
                .error("\nDemo incomplete: see the step that failed above.");
            return;
        }
        let first = &t.first;
        let verified = if first.others.is_empty() {
            format!("verified ({})", split_phrase(&first.analysis))
        } else {
            // Every deployment checked, each against its own pool.
            let each: Vec<String> = std::iter::once((&first.endpoint, &first.analysis))
                .chain(first.others.iter().map(|d| (&d.endpoint, &d.analysis)))
                .map(|(e, a)| format!("{} {}", e.deployment, split_phrase(a)))
                .collect();
            format!("verified {} deployments ({})", each.len(), each.join("; "))
        };
        self.printer.result(&format!(
            "\nDemo complete: {} applied, {verified}, failed over while {} {} throttled, destroyed. Run it on Azure: `aoai-lb apply PLAN` then `aoai-lb verify PLAN`.",
            t.file,
            backend_names(t.throttled),
            was(t.throttled)
        ));
    }
}

/// A deployment's observed split and its p-value: `50%/50% split, p = 0.62`.
fn split_phrase(a: &aoai_lb_core::verify::Analysis) -> String {
    let split = a
        .rows
        .iter()
        .map(|r| format!("{:.0}%", r.observed_share * 100.0))
        .collect::<Vec<_>>()
        .join("/");
    let p = a.chi_square.as_ref().map_or_else(
        || "no p-value".into(),
        |c| aoai_lb_core::verify::p_phrase(c.p_value),
    );
    format!("{split} split, {p}")
}

/// What the failover showed, and why, in a paragraph.
fn failover_text(f: &Failover) -> String {
    let (a, backend, was) = (
        &f.measured.analysis,
        backend_names(f.throttled),
        was(f.throttled),
    );
    let (its, it) = if f.throttled.len() == 1 {
        ("its", "it comes")
    } else {
        ("their", "they come")
    };
    let mut text = format!(
        "Failover: while {backend} {was} throttled, {} of {} requests were answered by the other backends ({} failed).",
        f.served_elsewhere, a.requests, a.failed
    );
    if f.model.apim.pool.circuit_breaker.is_some() {
        text.push_str(&format!(
            " The pool's circuit breaker took {backend} out after {its} 429 (for as long as {its} Retry-After said) and the gateway sent the requests to the next backends; {it} back when the trip ends."
        ));
    } else if a.failed > 0 {
        text.push_str(&format!(
            " This pool has no circuit breaker: {backend} {} in rotation, and a retry (the policy retries {} time(s) on 429) may land on {} again, so some requests still got 429. A `circuitBreaker` on the pool takes a throttled backend out: try `aoai-lb demo examples/priority-spillover.yaml`.",
            if f.throttled.len() == 1 { "stays" } else { "stay" },
            f.model.apim.policy.retry,
            if f.throttled.len() == 1 { "it" } else { "them" }
        ));
    }
    text.push_str(" (The verify above fails by design: the split is not the plan's while a backend is throttled.)");
    text
}

/// A line per client, then what it shows.
fn clients_text(c: &Clients) -> String {
    let mut lines = Vec::new();
    for t in c.tallies {
        let limit = t
            .tokens_per_minute
            .map_or_else(|| "no limit".to_string(), |l| format!("{l} tokens/min"));
        let mut line = format!(
            "  {} ({limit}): {} of {} answered ({} tokens), {} throttled (429)",
            t.name, t.answered, t.requests, t.tokens, t.throttled
        );
        if let Some(r) = &t.retry_after {
            line.push_str(&format!(", the first with Retry-After: {r}"));
        }
        if t.failed > 0 {
            line.push_str(&format!(", {} failed", t.failed));
        }
        lines.push(line);
    }
    let limited: Vec<&str> = c
        .tallies
        .iter()
        .filter(|t| t.tokens_per_minute.is_some())
        .map(|t| t.name.as_str())
        .collect();
    let open: Vec<&str> = c
        .tallies
        .iter()
        .filter(|t| t.tokens_per_minute.is_none())
        .map(|t| t.name.as_str())
        .collect();
    lines.push(if c.ok() {
        format!(
            "Token limits: {} hit its limit and got 429 + Retry-After while {} carried on, never throttled: each client counts its own tokens.",
            limited.join(", "),
            open.join(", ")
        )
    } else {
        "Token limits: not as expected (a limited client should get 429, an unlimited one none).".to_string()
    });
    match &c.metrics {
        Some(Ok(m)) => {
            let each: Vec<String> = m
                .tokens_by_client
                .iter()
                .map(|(client, tokens)| format!("{client} {tokens}"))
                .collect();
            lines.push(format!(
                "Application Insights: {} token-metric records through logger {} ({} tokens by client){}",
                m.records,
                m.logger,
                each.join(", "),
                if c.metrics_agree() {
                    ", the same counts as the answers'."
                } else {
                    ", NOT the counts of the answers."
                }
            ));
        }
        Some(Err(e)) => lines.push(format!(
            "Application Insights: the metrics could not be read: {e}"
        )),
        None => {}
    }
    if let Some(p) = c.chart {
        lines.push(format!("Chart: {}", p.display()));
    }
    lines.join("\n")
}

/// The JSON view of the demo: collects the steps, prints them all at the end.
struct JsonDemo {
    json: Json,
    steps: RefCell<Vec<Value>>,
}

impl JsonDemo {
    fn push(&self, step: Value) {
        self.steps.borrow_mut().push(step);
    }
}

impl View for JsonDemo {
    fn printer(&self) -> &Printer {
        self.json.printer()
    }
    fn progress(&self) -> super::progress::Progress {
        self.json.progress()
    }
    fn invalid(&self, err: &LoadError) -> ExitStatus {
        self.json.invalid(err)
    }
    fn warnings(&self, loaded: &Loaded) {
        self.json.warnings(loaded)
    }
}

impl DemoView for JsonDemo {
    fn step(&self, _n: usize, _of: usize, _title: &str) {}

    fn applied(&self, report: &Report) {
        self.push(json!({"step": "apply", "ok": report.ok(), "report": report}));
        apply_failures(self.printer(), report);
    }

    fn planned(&self, plan: &Plan) {
        self.push(json!({"step": "plan", "ok": !plan.has_changes(), "summary": plan.summary()}));
    }

    fn verified(&self, file: &str, m: &Measured) {
        if let Some(e) = &m.chart_error {
            self.printer().error(&format!("error: {e}"));
        }
        self.push(json!({
            "step": "verify",
            "ok": m.analysis.ok,
            "result": super::verify::json_report(file, m),
        }));
    }

    fn failover(&self, f: &Failover) {
        if let Some(e) = &f.measured.chart_error {
            self.printer().error(&format!("error: {e}"));
        }
        self.push(json!({
            "step": "failover",
            "ok": f.ok(),
            // The first throttled account, as before groups; every one in `throttledAccounts`.
            "throttled": f.throttled.first().map(|a| a.name.as_str()),
            "throttledAccounts": f.throttled.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            "servedByThrottled": f.served_by_primary,
            "servedByOthers": f.served_elsewhere,
            "result": super::verify::json_report(f.file, f.measured),
        }));
    }

    fn clients(&self, c: &Clients) {
        if let Some(e) = &c.chart_error {
            self.printer().error(&format!("error: {e}"));
        }
        self.push(json!({
            "step": "clients",
            "ok": c.ok(),
            "clients": c.tallies,
            "chart": c.chart.map(|p| p.display().to_string()),
            "appInsights": match &c.metrics {
                Some(Ok(m)) => json!(m),
                Some(Err(e)) => json!({"error": e}),
                None => Value::Null,
            },
        }));
    }

    fn destroyed(&self, outcome: &Result<Report, DemoError>) {
        self.push(json!({"step": "destroy", "ok": outcome.is_ok()}));
    }

    fn done(&self, t: &Toured) {
        let steps = std::mem::take(&mut *self.steps.borrow_mut());
        self.printer()
            .json(&json!({"file": t.file, "ok": t.ok, "steps": steps}));
    }
}
