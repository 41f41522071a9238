//! How a verify looks: the per-backend table and the verdict (text), the same as one
//! JSON document, and as Markdown for a GitHub job summary.

use serde_json::{Value, json};

use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_core::verify::{ALPHA, Analysis, p_phrase};
use aoai_lb_engine::traffic::{Endpoint, Load, Measured, Traffic};

/// The view of `aoai-lb verify`.
pub trait VerifyView: View {
    /// Before the traffic starts (`others`: the deployments checked after the endpoint's).
    fn sending(&self, endpoint: &Endpoint, load: &Load, others: &[String]) {
        let per = if others.is_empty() {
            String::new()
        } else {
            format!(
                " for each of {} deployments ({}, {})",
                others.len() + 1,
                endpoint.deployment,
                others.join(", ")
            )
        };
        self.info(&format!(
            "Sending {} chat completions{per} to {}, {} at a time...",
            load.requests, endpoint.api_url, load.concurrency
        ));
    }

    /// The results of one verify of `file`.
    fn measured(&self, file: &str, m: &Measured);

    /// The results, in a GitHub job summary and step outputs (under GitHub Actions).
    fn github(&self, file: &str, m: &Measured) {
        if let Some(gh) = super::github::GitHub::detect() {
            let mut md = markdown_report(file, &m.analysis);
            for d in &m.others {
                md.push_str(&format!(
                    "\n#### deployment `{}`\n\n",
                    d.endpoint.deployment
                ));
                md.push_str(&markdown_report(file, &d.analysis));
            }
            gh.summary(&md);
            let split_ok = m.analysis.split_ok && m.others.iter().all(|d| d.analysis.split_ok);
            gh.output("split-ok", if split_ok { "true" } else { "false" });
        }
    }
}

pub fn view(printer: &Printer) -> Box<dyn VerifyView> {
    super::for_format!(printer)
}

impl VerifyView for Human {
    fn measured(&self, _file: &str, m: &Measured) {
        show_text(&self.printer, m);
    }
}

impl VerifyView for Json {
    fn measured(&self, file: &str, m: &Measured) {
        if let Some(e) = &m.chart_error {
            self.printer.error(&format!("error: {e}"));
        }
        self.printer.json(&json_report(file, m));
    }
}

/// The text of a verify's results (also a step of the demo).
pub(crate) fn show_text(printer: &Printer, m: &Measured) {
    if let Some(e) = &m.chart_error {
        printer.error(&format!("error: {e}"));
    }
    printer.result(&text_report(m));
    if !m.clients.is_empty() {
        printer.result(&clients_report(m));
    }
    if let Some(path) = m.chart_written() {
        printer.info(&format!("Chart: {}", path.display()));
    }
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The table and the verdict, as text: one block per deployment checked, and with more
/// than one, a last line naming the deployments whose check failed.
pub fn text_report(m: &Measured) -> String {
    let mut out = block(&m.endpoint, &m.load, &m.traffic, &m.analysis);
    for d in &m.others {
        out.push('\n');
        out.push_str(&block(&d.endpoint, &m.load, &d.traffic, &d.analysis));
    }
    if !m.others.is_empty() {
        let failed: Vec<&str> = std::iter::once((&m.endpoint, &m.analysis))
            .chain(m.others.iter().map(|d| (&d.endpoint, &d.analysis)))
            .filter(|(_, a)| !a.ok)
            .map(|(e, _)| e.deployment.as_str())
            .collect();
        out.push('\n');
        if failed.is_empty() {
            out.push_str(&format!(
                "Every deployment passed ({}): each one's split matches its pool.\n",
                m.others.len() + 1
            ));
        } else {
            out.push_str(&format!(
                "{} of {} deployments failed: {}.\n",
                failed.len(),
                m.others.len() + 1,
                failed.join(", ")
            ));
        }
    }
    out
}

/// One deployment's header line, table, findings and verdict.
fn block(endpoint: &Endpoint, load: &Load, traffic: &Traffic, a: &Analysis) -> String {
    let mut out = format!(
        "Sent {} chat completions to {} (deployment {}, api-version {}, concurrency {}) in {:.1} s: {} succeeded, {} failed.\n\n",
        a.requests,
        endpoint.api_url,
        endpoint.deployment,
        endpoint.api_version,
        load.concurrency,
        traffic.seconds,
        a.succeeded,
        a.failed
    );
    out.push_str(&table(a));
    out.push('\n');
    out.push_str(&findings(a));
    out.push_str(&verdict(a));
    out
}

/// The per-backend table, columns aligned (names left, figures right).
fn table(a: &Analysis) -> String {
    let header = [
        "backend", "region", "expected", "observed", "requests", "p50 ms", "p95 ms", "errors",
    ];
    let mut table: Vec<[String; 8]> = vec![header.map(str::to_string)];
    for r in &a.rows {
        table.push([
            r.label(),
            r.region.clone(),
            pct(r.expected_share),
            pct(r.observed_share),
            r.count.to_string(),
            ms(r.p50_ms),
            ms(r.p95_ms),
            r.errors.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            table
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let mut line = String::from("  ");
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c < 2 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Response times, failures grouped, notes, and the goodness-of-fit sentence.
fn findings(a: &Analysis) -> String {
    let mut out = String::new();
    if let (Some(mean), Some(p50), Some(p95)) = (a.mean_ms, a.p50_ms, a.p95_ms) {
        out.push_str(&format!(
            "Response time: mean {mean:.1} ms, p50 {p50:.1} ms, p95 {p95:.1} ms.\n"
        ));
    }
    for g in &a.errors {
        let status = g
            .status
            .map_or_else(|| "no response".into(), |s| s.to_string());
        out.push_str(&format!("Failed: {} x {status}: {}\n", g.count, g.message));
    }
    for n in &a.notes {
        out.push_str(&format!("Note: {n}\n"));
    }
    match &a.chi_square {
        Some(c) if c.degrees_of_freedom == 0 => {
            out.push_str(&format!(
                "The plan sends everything to one region: {} ({}).\n",
                if a.split_ok {
                    "every response came from it"
                } else {
                    "some responses came from elsewhere"
                },
                p_phrase(c.p_value)
            ));
        }
        Some(c) => {
            let statistic = c
                .statistic
                .map_or_else(|| "infinite".into(), |x| format!("{x:.2}"));
            out.push_str(&format!(
                "Chi-square {statistic} with {} degree{} of freedom: {} ({} {ALPHA}).\n",
                c.degrees_of_freedom,
                if c.degrees_of_freedom == 1 { "" } else { "s" },
                p_phrase(c.p_value),
                if a.split_ok { ">=" } else { "<" },
            ));
        }
        None => out.push_str("No request succeeded: the split cannot be checked.\n"),
    }
    out
}

/// `Verify passed: ...` or `Verify failed: <why>.`
fn verdict(a: &Analysis) -> String {
    let mut problems = Vec::new();
    if !a.split_ok && a.chi_square.is_some() {
        problems.push("the split does not match the plan's priorities and weights".to_string());
    }
    if a.failed > 0 {
        problems.push(format!("{} of {} requests failed", a.failed, a.requests));
    }
    if problems.is_empty() {
        "Verify passed: the split matches the plan and every request succeeded.\n".to_string()
    } else {
        format!("Verify failed: {}.\n", problems.join("; "))
    }
}

/// The per-backend table and the verdict as Markdown (GitHub job summary).
pub fn markdown_report(file: &str, a: &Analysis) -> String {
    use super::github::cell;
    let mut md = format!(
        "### aoai-lb verify `{file}`\n\n{} requests: {} succeeded, {} failed.\n\n| backend | region | expected | observed | requests | p50 ms | p95 ms | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
        a.requests, a.succeeded, a.failed
    );
    for r in &a.rows {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.label()),
            cell(&r.region),
            pct(r.expected_share),
            pct(r.observed_share),
            r.count,
            ms(r.p50_ms),
            ms(r.p95_ms),
            r.errors
        ));
    }
    let p = a
        .chi_square
        .as_ref()
        .map(|c| p_phrase(c.p_value))
        .unwrap_or_else(|| "no p-value".into());
    let verdict = if a.split_ok && a.failed == 0 {
        "✅ **Verify passed**"
    } else {
        "❌ **Verify failed**"
    };
    md.push_str(&format!("\n{verdict} ({p}).\n"));
    md
}

/// A verify's results as JSON (also a step of the demo's JSON).
/// Each client's tokens per backend and its limit check, as text.
pub fn clients_report(m: &Measured) -> String {
    let mut out = String::from("Clients (each through its own key):\n");
    for c in &m.clients {
        let limit = c.tokens_per_minute.map_or_else(
            || "no per-minute limit".to_string(),
            |t| format!("{t} tokens/min"),
        );
        let backends: Vec<String> = c
            .tokens_by_backend
            .iter()
            .map(|(b, t)| format!("{b} {t}"))
            .collect();
        out.push_str(&format!(
            "  {} {} ({limit}): {} of {} answered, {} tokens on {} ({}): {}\n",
            if c.ok { "ok " } else { "BAD" },
            c.name,
            c.answered,
            c.requests,
            c.tokens,
            c.deployment,
            backends.join(", "),
            c.verdict
        ));
    }
    out
}

pub fn json_report(file: &str, m: &Measured) -> Value {
    let mut v = json_measured(file, m);
    if !m.others.is_empty() {
        let checks = std::iter::once((&m.endpoint, &m.traffic, &m.analysis)).chain(
            m.others
                .iter()
                .map(|d| (&d.endpoint, &d.traffic, &d.analysis)),
        );
        v["deployments"] = checks.map(|(e, t, a)| json_check(e, t, a)).collect();
    }
    if !m.clients.is_empty() {
        v["clients"] = json!(m.clients);
    }
    if !m.others.is_empty() || !m.clients.is_empty() {
        v["ok"] = json!(
            m.analysis.ok
                && m.others.iter().all(|d| d.analysis.ok)
                && m.clients.iter().all(|c| c.ok)
        );
    }
    v
}

/// One deployment's check in `deployments[]`: its split and verdict.
fn json_check(endpoint: &Endpoint, traffic: &Traffic, a: &Analysis) -> Value {
    json!({
        "deployment": endpoint.deployment,
        "url": endpoint.url,
        "seconds": traffic.seconds,
        "ok": a.ok,
        "splitOk": a.split_ok,
        "requests": a.requests,
        "succeeded": a.succeeded,
        "failed": a.failed,
        "backends": a.rows,
        "errors": a.errors,
        "chiSquare": a.chi_square,
        "p50Ms": a.p50_ms,
        "p95Ms": a.p95_ms,
        "notes": a.notes,
    })
}

fn json_measured(file: &str, m: &Measured) -> Value {
    let (endpoint, a) = (&m.endpoint, &m.analysis);
    json!({
        "file": file,
        "gatewayUrl": endpoint.gateway_url,
        "apiUrl": endpoint.api_url,
        "deployment": endpoint.deployment,
        "apiVersion": endpoint.api_version,
        "concurrency": m.load.concurrency,
        "seconds": m.traffic.seconds,
        "ok": a.ok,
        "splitOk": a.split_ok,
        "alpha": ALPHA,
        "requests": a.requests,
        "succeeded": a.succeeded,
        "failed": a.failed,
        "backends": a.rows,
        "errors": a.errors,
        "chiSquare": a.chi_square,
        "meanMs": a.mean_ms,
        "p50Ms": a.p50_ms,
        "p95Ms": a.p95_ms,
        "notes": a.notes,
        "chart": m.chart_written().map(|p| p.display().to_string()),
    })
}
