//! `aoai-lb verify PLAN`: sends chat completions through the APIM gateway, tells the
//! backends apart by `x-ms-region`, and checks the split against the plan's priorities
//! and weights (chi-square goodness of fit). The statistics and the chart are in
//! `aoai_lb_core::verify`; this file finds the endpoint and the key and sends the requests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{Settings, VerifyArgs, is_loopback};
use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_arm::ArmClient;
use aoai_lb_arm::resources::{ApimService, SubscriptionKeys};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::model::{Model, SpecSource};
use aoai_lb_core::verify::{self, ALPHA, Analysis, Sample, p_phrase};

use super::load;

/// A subscription key. Never printed: `Debug` redacts it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// Removes the key from a text that is about to be shown.
    fn scrub(&self, text: &str) -> String {
        if self.0.len() >= 4 {
            text.replace(&self.0, "<redacted>")
        } else {
            text.to_string()
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How much traffic, and how.
#[derive(Clone, Debug)]
pub struct Load {
    pub requests: u32,
    pub concurrency: u16,
    pub timeout: Duration,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
}

/// Where the requests go.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub gateway_url: String,
    /// `{gateway}/{api path}`.
    pub api_url: String,
    /// The chat completions URL, with its `api-version`.
    pub url: String,
    pub deployment: String,
    pub api_version: String,
    pub header: String,
}

/// Every request's outcome and how long it all took.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub samples: Vec<Sample>,
    pub seconds: f64,
}

/// The deployment every account has (the pool may send a request to any of them).
fn common_deployment(model: &Model) -> Option<String> {
    let first = model.accounts.first()?;
    first
        .deployments
        .iter()
        .map(|d| d.name.clone())
        .find(|name| {
            model.accounts.iter().all(|a| {
                a.deployments
                    .iter()
                    .any(|d| d.name.eq_ignore_ascii_case(name))
            })
        })
}

/// `https://...`, or `http://` on a loopback address (the emulator): the key must not
/// cross a network in clear text.
fn check_gateway(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("the gateway URL `{url}` is not a URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.trim_end_matches('/').to_string()),
        "http" if is_loopback(host) => Ok(url.trim_end_matches('/').to_string()),
        _ => Err(format!(
            "the gateway URL `{url}` is not https: the subscription key would travel in clear text"
        )),
    }
}

/// The endpoint of a plan's API behind `gateway_url`.
pub fn endpoint(model: &Model, gateway_url: &str, load: &Load) -> Result<Endpoint, String> {
    let gateway_url = check_gateway(gateway_url)?;
    let deployment = match &load.deployment {
        Some(d) => d.clone(),
        None => common_deployment(model).ok_or(
            "no deployment name is common to every account of the plan: pass --deployment",
        )?,
    };
    let api_version = load
        .api_version
        .clone()
        .unwrap_or_else(|| match &model.apim.api.spec {
            SpecSource::Bundled { version } => version.clone(),
            SpecSource::File { .. } => "2024-02-01".to_string(),
        });
    let api_url = format!("{gateway_url}/{}", model.apim.api.path.trim_matches('/'));
    Ok(Endpoint {
        url: format!(
            "{api_url}/deployments/{deployment}/chat/completions?api-version={api_version}"
        ),
        gateway_url,
        api_url,
        deployment,
        api_version,
        header: model.apim.api.subscription_key_header.clone(),
    })
}

/// The gateway URL (APIM GET) and the key (listSecrets of the plan's subscription),
/// unless given.
pub async fn discover(
    client: Option<&ArmClient>,
    model: &Model,
    gateway: Option<String>,
    key: Option<ApiKey>,
) -> Result<(String, ApiKey), String> {
    let service_id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let gateway = match gateway {
        Some(g) => g,
        None => {
            let client = client.ok_or("no ARM client to find the gateway URL with")?;
            let service = client
                .get(&service_id, api_version::API_MANAGEMENT)
                .await
                .map_err(|e| format!("reading the APIM service {}: {e}", model.apim.name))?
                .ok_or_else(|| format!("the APIM service {} does not exist", model.apim.name))?;
            ApimService::from_value(&service)
                .gateway_url
                .ok_or_else(|| format!("the APIM service {} has no gatewayUrl", model.apim.name))?
        }
    };
    let key = match key {
        Some(k) => k,
        None => {
            let Some(s) = &model.apim.subscription else {
                return Err(format!(
                    "the plan has no APIM subscription to take a key from: pass --key or set {}",
                    env::API_KEY
                ));
            };
            let client = client.ok_or("no ARM client to read the subscription key with")?;
            let secrets = client
                .post(
                    &format!(
                        "{}/listSecrets",
                        ids::apim_subscription(&service_id, &s.name)
                    ),
                    api_version::API_MANAGEMENT,
                    None,
                )
                .await
                .map_err(|e| format!("reading the key of APIM subscription {}: {e}", s.name))?;
            let keys = SubscriptionKeys::from_value(&secrets)
                .ok_or_else(|| format!("APIM subscription {} returned no primaryKey", s.name))?;
            ApiKey::new(keys.primary_key)
        }
    };
    Ok((gateway, key))
}

/// One line saying why a response failed, from APIM's or Azure OpenAI's error body.
fn failure_reason(status: u16, body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = v
        .pointer("/error/message")
        .or_else(|| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            v.pointer("/error/code")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_string()
        });
    let mut line: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 160 {
        line = line.chars().take(157).collect::<String>() + "...";
    }
    line
}

/// Sends `load.requests` chat completions, `load.concurrency` at a time.
pub async fn send(endpoint: &Endpoint, key: &ApiKey, load: &Load) -> Result<Traffic, String> {
    let client = reqwest::Client::builder()
        .timeout(load.timeout)
        .pool_max_idle_per_host(load.concurrency as usize)
        .user_agent(concat!("aoai-lb/", env!("CARGO_PKG_VERSION"), " verify"))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    // A small prompt and a small completion: verifying costs little on real Azure.
    let body = serde_json::to_vec(&json!({
        "messages": [{"role": "user", "content": "Reply with one word: hello."}],
        "max_tokens": 5,
    }))
    .expect("a JSON body");
    let header = reqwest::header::HeaderName::from_bytes(endpoint.header.as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", endpoint.header))?;
    let mut key_value = reqwest::header::HeaderValue::from_str(&key.0)
        .map_err(|_| "the subscription key is not a valid header value".to_string())?;
    key_value.set_sensitive(true);
    let next = Arc::new(AtomicUsize::new(0));
    let total = load.requests as usize;
    let t0 = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let (client, next, body, header, key_value) = (
            client.clone(),
            next.clone(),
            body.clone(),
            header.clone(),
            key_value.clone(),
        );
        let url = endpoint.url.clone();
        let key = key.clone();
        let timeout = load.timeout;
        workers.spawn(async move {
            let mut out = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= total {
                    break;
                }
                let start = t0.elapsed();
                let sent = client
                    .post(&url)
                    .header(header.clone(), key_value.clone())
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let mut sample = Sample {
                    index,
                    start_ms: start.as_secs_f64() * 1000.0,
                    latency_ms: 0.0,
                    status: None,
                    region: None,
                    error: None,
                };
                match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        sample.status = Some(status);
                        sample.region = response
                            .headers()
                            .get("x-ms-region")
                            .and_then(|v| v.to_str().ok())
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty());
                        let bytes = response.bytes().await;
                        match bytes {
                            Ok(b) if !(200..300).contains(&status) => {
                                sample.error = Some(key.scrub(&failure_reason(status, &b)));
                            }
                            Ok(_) => {}
                            Err(e) => {
                                sample.status = None;
                                sample.error = Some(key.scrub(&format!(
                                    "reading the response: {}",
                                    aoai_lb_arm::client::error_chain(&e)
                                )));
                            }
                        }
                    }
                    Err(e) if e.is_timeout() => {
                        sample.error = Some(format!("no response within {} s", timeout.as_secs()));
                    }
                    Err(e) => {
                        sample.error = Some(key.scrub(&aoai_lb_arm::client::error_chain(&e)));
                    }
                }
                sample.latency_ms = (t0.elapsed() - start).as_secs_f64() * 1000.0;
                out.push(sample);
            }
            out
        });
    }
    let mut samples = Vec::with_capacity(total);
    while let Some(done) = workers.join_next().await {
        samples.extend(done.map_err(|e| format!("a request task failed: {e}"))?);
    }
    samples.sort_by_key(|s| s.index);
    Ok(Traffic {
        samples,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The table and the verdict, as text.
pub fn text_report(endpoint: &Endpoint, load: &Load, traffic: &Traffic, a: &Analysis) -> String {
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
    out.push('\n');
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
    let mut problems = Vec::new();
    if !a.split_ok && a.chi_square.is_some() {
        problems.push("the split does not match the plan's priorities and weights".to_string());
    }
    if a.failed > 0 {
        problems.push(format!("{} of {} requests failed", a.failed, a.requests));
    }
    if problems.is_empty() {
        out.push_str("Verify passed: the split matches the plan and every request succeeded.\n");
    } else {
        out.push_str(&format!("Verify failed: {}.\n", problems.join("; ")));
    }
    out
}

/// The per-backend table and the verdict as Markdown (GitHub job summary).
pub fn markdown_report(file: &str, a: &Analysis) -> String {
    use crate::github::cell;
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

pub fn json_report(
    file: &str,
    endpoint: &Endpoint,
    load: &Load,
    traffic: &Traffic,
    a: &Analysis,
    chart: Option<&Path>,
) -> Value {
    json!({
        "file": file,
        "gatewayUrl": endpoint.gateway_url,
        "apiUrl": endpoint.api_url,
        "deployment": endpoint.deployment,
        "apiVersion": endpoint.api_version,
        "concurrency": load.concurrency,
        "seconds": traffic.seconds,
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
        "chart": chart.map(|p| p.display().to_string()),
    })
}

/// Writes the chart; the error in a sentence.
pub fn write_chart(
    path: &Path,
    endpoint: &Endpoint,
    load: &Load,
    traffic: &Traffic,
    a: &Analysis,
) -> Result<(), String> {
    let title = format!(
        "aoai-lb verify: {} requests through {}",
        a.requests, endpoint.api_url
    );
    let subtitle = format!(
        "deployment {} · api-version {} · concurrency {} · {:.1} s",
        endpoint.deployment, endpoint.api_version, load.concurrency, traffic.seconds
    );
    std::fs::write(
        path,
        verify::chart::svg(&title, &subtitle, &traffic.samples, a),
    )
    .map_err(|e| format!("cannot write the chart {}: {e}", path.display()))
}

/// One verify's results.
pub struct Measured {
    pub endpoint: Endpoint,
    pub traffic: Traffic,
    pub analysis: Analysis,
    /// Why the chart could not be written.
    pub chart_error: Option<String>,
}

impl Measured {
    pub fn status(&self) -> ExitStatus {
        if self.analysis.ok && self.chart_error.is_none() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

/// Sends the traffic, analyses it and writes the chart. `Err`: the message (key
/// scrubbed) and the status to exit with.
pub fn measure(
    printer: &Printer,
    runtime: &tokio::runtime::Runtime,
    model: &Model,
    gateway: &str,
    key: &ApiKey,
    load: &Load,
    chart: Option<&Path>,
) -> Result<Measured, (String, ExitStatus)> {
    let endpoint = endpoint(model, gateway, load).map_err(|e| (e, ExitStatus::Usage))?;
    printer.info(&format!(
        "Sending {} chat completions to {}, {} at a time...",
        load.requests, endpoint.api_url, load.concurrency
    ));
    let traffic = runtime
        .block_on(send(&endpoint, key, load))
        .map_err(|e| (key.scrub(&e), ExitStatus::Failure))?;
    let analysis = verify::analyse(&verify::expected(model), &traffic.samples);
    let chart_error =
        chart.and_then(|path| write_chart(path, &endpoint, load, &traffic, &analysis).err());
    Ok(Measured {
        endpoint,
        traffic,
        analysis,
        chart_error,
    })
}

/// Prints a verify's results (text or JSON).
pub fn print(printer: &Printer, file: &str, load: &Load, m: &Measured, chart: Option<&Path>) {
    if let Some(e) = &m.chart_error {
        printer.error(&format!("error: {e}"));
    }
    let chart = chart.filter(|_| m.chart_error.is_none());
    if printer.is_json() {
        printer.json(&json_report(
            file,
            &m.endpoint,
            load,
            &m.traffic,
            &m.analysis,
            chart,
        ));
    } else {
        printer.result(&text_report(&m.endpoint, load, &m.traffic, &m.analysis));
        if let Some(path) = chart {
            printer.info(&format!("Chart: {}", path.display()));
        }
    }
}

pub fn run(printer: &Printer, settings: &Settings, args: &VerifyArgs) -> ExitStatus {
    let loaded = match load::load(&args.plan) {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    load::report_warnings(printer, &loaded);
    let load = Load {
        requests: args.requests,
        concurrency: args.concurrency,
        timeout: Duration::from_secs(args.timeout),
        deployment: args.deployment.clone(),
        api_version: args.api_version.clone(),
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!("error: cannot start the async runtime: {e}"));
            return ExitStatus::Failure;
        }
    };
    let key = args
        .key
        .clone()
        .filter(|k| !k.trim().is_empty())
        .map(ApiKey::new);
    let needs_arm = args.gateway_url.is_none() || key.is_none();
    let client = if needs_arm {
        match super::arm_client(settings, 4) {
            Ok(c) => Some(c),
            Err(e) => {
                printer.error(&format!("error: {e}"));
                return ExitStatus::Usage;
            }
        }
    } else {
        None
    };
    let found = runtime.block_on(discover(
        client.as_ref(),
        &loaded.model,
        args.gateway_url.clone(),
        key,
    ));
    let (gateway, key) = match found {
        Ok(x) => x,
        Err(e) => {
            super::report_error(printer, &e);
            return ExitStatus::Failure;
        }
    };
    match measure(
        printer,
        &runtime,
        &loaded.model,
        &gateway,
        &key,
        &load,
        args.chart.as_deref(),
    ) {
        Ok(m) => {
            print(printer, &loaded.file, &load, &m, args.chart.as_deref());
            if let Some(gh) = crate::github::GitHub::detect() {
                gh.summary(&markdown_report(&loaded.file, &m.analysis));
                gh.output(
                    "split-ok",
                    if m.analysis.split_ok { "true" } else { "false" },
                );
            }
            m.status()
        }
        Err((message, status)) => {
            printer.error(&format!("error: {message}"));
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_must_be_https_unless_local() {
        assert!(check_gateway("https://x.azure-api.net/").is_ok());
        assert!(check_gateway("http://127.0.0.1:8080/gateway/a").is_ok());
        assert!(check_gateway("http://x.azure-api.net").is_err());
        assert!(check_gateway("x.azure-api.net").is_err());
    }

    #[test]
    fn failure_reasons_come_from_either_error_shape() {
        assert_eq!(
            failure_reason(401, br#"{"statusCode": 401, "message": "Access denied due to invalid subscription key."}"#),
            "Access denied due to invalid subscription key."
        );
        assert_eq!(
            failure_reason(
                429,
                br#"{"error": {"code": "429", "message": "Rate  limit\n reached"}}"#
            ),
            "Rate limit reached"
        );
        assert_eq!(failure_reason(503, b""), "Service Unavailable");
    }

    #[test]
    fn keys_are_scrubbed_and_never_debug_printed() {
        let k = ApiKey::new("0123456789abcdef".into());
        assert_eq!(k.scrub("x 0123456789abcdef y"), "x <redacted> y");
        assert_eq!(format!("{k:?}"), "ApiKey(<redacted>)");
    }
}
