//! Verify's traffic: finds where a plan's API answers (the APIM service's gateway URL)
//! and its key (listSecrets of the plan's APIM subscription), then sends chat
//! completions through the gateway and records every response (status, `x-ms-region`,
//! latency). The statistics and the chart are pure and live in `aoai_lb_core::verify`;
//! this module does the I/O and prints nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use aoai_lb_arm::resources::ApimService;
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::model::{Model, SpecSource};
use aoai_lb_core::verify::{self, Analysis, Sample};

/// Why verify's traffic could not be sent or recorded.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("the gateway URL `{0}` is not a URL")]
    NotAUrl(String),
    #[error("the gateway URL `{0}` is not https: the subscription key would travel in clear text")]
    ClearText(String),
    #[error("the plan has no deployment to send requests to: pass --deployment")]
    NoCommonDeployment,
    #[error("no ARM client to {0}")]
    NoArmClient(&'static str),
    #[error("reading the APIM service {service}: {source}")]
    ReadService {
        service: String,
        #[source]
        source: Box<ArmError>,
    },
    #[error("the APIM service {0} does not exist")]
    NoService(String),
    #[error("the APIM service {0} has no gatewayUrl")]
    NoGatewayUrl(String),
    #[error(
        "the plan has no APIM subscription to take a key from: pass --key or set AOAI_LB_API_KEY"
    )]
    NoSubscription,
    #[error("reading the key of APIM subscription {subscription}: {source}")]
    ReadKey {
        subscription: String,
        #[source]
        source: Box<ArmError>,
    },
    #[error("APIM subscription {0} returned no primaryKey")]
    NoPrimaryKey(String),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("`{0}` is not a valid header name")]
    HeaderName(String),
    #[error("the subscription key is not a valid header value")]
    KeyValue,
    #[error("a request task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    #[error("cannot write the chart {}: {source}", path.display())]
    Chart {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A subscription key. Never printed: `Debug` redacts it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// The key itself, for the one place that shows it on request
    /// (`aoai-lb output --show-secrets`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Removes the key from a text that is about to be shown.
    pub fn scrub(&self, text: &str) -> String {
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

impl Load {
    /// No traffic: what `output` and `apply` need to describe the endpoint: the spec's
    /// api-version and a deployment to name in the snippets, one every account has, else
    /// the plan's first (each deployment is routed to the accounts that serve it).
    pub fn for_snippets(model: &Model) -> Load {
        Load {
            requests: 0,
            concurrency: 1,
            timeout: Duration::from_secs(1),
            deployment: default_deployment(model),
            api_version: None,
        }
    }
}

/// Where the requests go.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub gateway_url: String,
    /// `{gateway}/{api path}`.
    pub api_url: String,
    /// The chat completions URL, with its `api-version` (none on the v1 API).
    pub url: String,
    pub deployment: String,
    /// The dated api-version, or `v1` on the v1 API.
    pub api_version: String,
    pub header: String,
    /// The API is the v1 API alone (`spec: v1`): the URL is `{api}/v1/chat/completions`
    /// and the body names the deployment in `model`.
    pub v1: bool,
}

/// Every request's outcome and how long it all took.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub samples: Vec<Sample>,
    pub seconds: f64,
}

/// One verify's results: where the traffic went, what came back, the analysis, and
/// the chart written (a panel per deployment checked), or why it could not be.
#[derive(Debug)]
pub struct Measured {
    pub endpoint: Endpoint,
    pub load: Load,
    pub traffic: Traffic,
    pub analysis: Analysis,
    pub chart: Option<PathBuf>,
    pub chart_error: Option<TrafficError>,
    /// Each client's own traffic and limit check (plans with `apim.clients`).
    pub clients: Vec<super::clients::ClientReport>,
    /// The other deployments checked in the same run, each against its own pool (a plan
    /// with a pool per deployment verified without `--deployment`); the fields above are
    /// the first deployment's.
    pub others: Vec<super::deployments::DeploymentCheck>,
}

impl Measured {
    /// The split is the plan's (for every deployment checked), every request succeeded,
    /// and the chart is written.
    pub fn ok(&self) -> bool {
        self.analysis.ok
            && self.others.iter().all(|d| d.analysis.ok)
            && self.chart_error.is_none()
            && self.clients.iter().all(|c| c.ok)
    }

    /// The chart, if it was written.
    pub fn chart_written(&self) -> Option<&Path> {
        self.chart.as_deref().filter(|_| self.chart_error.is_none())
    }
}

/// The deployment verify calls without `--deployment`: the first the plan names that
/// every account has, else the plan's first (its own pool decides where it goes, and
/// verify expects that pool's split).
fn default_deployment(model: &Model) -> Option<String> {
    let first = model.apim.pools.first()?.deployments.first().cloned();
    let common = model
        .apim
        .pools
        .iter()
        .flat_map(|p| &p.deployments)
        .find(|name| {
            model
                .accounts
                .iter()
                .all(|a| a.deployments.iter().any(|d| &d.name == *name))
        });
    common.cloned().or(first)
}

/// `https://...`, or `http://` on a loopback address (the emulator): the key must not
/// cross a network in clear text.
fn check_gateway(url: &str) -> Result<String, TrafficError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| TrafficError::NotAUrl(url.to_string()))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| TrafficError::NotAUrl(url.to_string()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(url.trim_end_matches('/').to_string()),
        "http" if loopback => Ok(url.trim_end_matches('/').to_string()),
        _ => Err(TrafficError::ClearText(url.to_string())),
    }
}

/// The endpoint of a plan's API behind `gateway_url`.
pub fn endpoint(model: &Model, gateway_url: &str, load: &Load) -> Result<Endpoint, TrafficError> {
    let gateway_url = check_gateway(gateway_url)?;
    let deployment = match &load.deployment {
        Some(d) => d.clone(),
        None => default_deployment(model).ok_or(TrafficError::NoCommonDeployment)?,
    };
    let api_version = load
        .api_version
        .clone()
        .unwrap_or_else(|| match &model.apim.api.spec {
            SpecSource::Bundled { version } => version.clone(),
            SpecSource::File { .. } => "2024-02-01".to_string(),
        });
    let api_url = format!("{gateway_url}/{}", model.apim.api.path.trim_matches('/'));
    let v1 = aoai_lb_core::spec::is_v1(&model.apim.api.spec);
    let url = if v1 {
        format!(
            "{api_url}{}/chat/completions",
            aoai_lb_core::spec::V1_PREFIX
        )
    } else {
        format!("{api_url}/deployments/{deployment}/chat/completions?api-version={api_version}")
    };
    Ok(Endpoint {
        url,
        gateway_url,
        api_url,
        deployment,
        api_version,
        header: model.apim.api.subscription_key_header.clone(),
        v1,
    })
}

/// The gateway URL of the plan's APIM service (a GET of the service).
pub async fn gateway_url(client: &ArmClient, model: &Model) -> Result<String, TrafficError> {
    let service_id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let name = &model.apim.name;
    let service = client
        .get(&service_id, api_version::API_MANAGEMENT)
        .await
        .map_err(|source| TrafficError::ReadService {
            service: name.clone(),
            source: Box::new(source),
        })?
        .ok_or_else(|| TrafficError::NoService(name.clone()))?;
    ApimService::from_value(&service)
        .gateway_url
        .ok_or_else(|| TrafficError::NoGatewayUrl(name.clone()))
}

pub use super::clients::{key_of, subscription_key, verify_subscription};

/// The gateway URL and the key, each found through ARM unless given.
pub async fn discover(
    client: Option<&ArmClient>,
    model: &Model,
    gateway: Option<String>,
    key: Option<ApiKey>,
) -> Result<(String, ApiKey), TrafficError> {
    let gateway = match gateway {
        Some(g) => g,
        None => {
            let client = client.ok_or(TrafficError::NoArmClient("find the gateway URL with"))?;
            gateway_url(client, model).await?
        }
    };
    let key = match key {
        Some(k) => k,
        None if verify_subscription(model).is_none() => return Err(TrafficError::NoSubscription),
        None => {
            let client =
                client.ok_or(TrafficError::NoArmClient("read the subscription key with"))?;
            subscription_key(client, model).await?
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

/// What every request of one verify shares.
#[derive(Clone)]
struct Sender {
    client: reqwest::Client,
    url: String,
    header: HeaderName,
    key_value: HeaderValue,
    key: ApiKey,
    body: Vec<u8>,
    timeout: Duration,
    t0: Instant,
}

impl Sender {
    fn new(endpoint: &Endpoint, key: &ApiKey, load: &Load) -> Result<Sender, TrafficError> {
        let client = reqwest::Client::builder()
            .timeout(load.timeout)
            .pool_max_idle_per_host(load.concurrency as usize)
            .user_agent(concat!("aoai-lb/", env!("CARGO_PKG_VERSION"), " verify"))
            .build()
            .map_err(TrafficError::HttpClient)?;
        // A small prompt and a small completion: verifying costs little on real Azure.
        let mut body = json!({
            "messages": [{"role": "user", "content": "Reply with one word: hello."}],
            "max_tokens": 5,
        });
        if endpoint.v1 {
            // The v1 API names the deployment in the body (Microsoft docs, "Azure OpenAI
            // v1 API": `model` is the deployment name).
            body["model"] = json!(endpoint.deployment);
        }
        let body = serde_json::to_vec(&body).expect("a JSON body");
        let header = HeaderName::from_bytes(endpoint.header.as_bytes())
            .map_err(|_| TrafficError::HeaderName(endpoint.header.clone()))?;
        let mut key_value = HeaderValue::from_str(&key.0).map_err(|_| TrafficError::KeyValue)?;
        key_value.set_sensitive(true);
        Ok(Sender {
            client,
            url: endpoint.url.clone(),
            header,
            key_value,
            key: key.clone(),
            body,
            timeout: load.timeout,
            t0: Instant::now(),
        })
    }

    /// Sends request number `index` and records its outcome (the error, key scrubbed).
    async fn one(&self, index: usize) -> Sample {
        let start = self.t0.elapsed();
        let sent = self
            .client
            .post(&self.url)
            .header(self.header.clone(), self.key_value.clone())
            .header("content-type", "application/json")
            .body(self.body.clone())
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
                match response.bytes().await {
                    Ok(b) if !(200..300).contains(&status) => {
                        sample.error = Some(self.key.scrub(&failure_reason(status, &b)));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        sample.status = None;
                        sample.error = Some(self.key.scrub(&format!(
                            "reading the response: {}",
                            aoai_lb_arm::client::error_chain(&e)
                        )));
                    }
                }
            }
            Err(e) if e.is_timeout() => {
                sample.error = Some(format!("no response within {} s", self.timeout.as_secs()));
            }
            Err(e) => {
                sample.error = Some(self.key.scrub(&aoai_lb_arm::client::error_chain(&e)));
            }
        }
        sample.latency_ms = (self.t0.elapsed() - start).as_secs_f64() * 1000.0;
        sample
    }
}

/// Sends `load.requests` chat completions, `load.concurrency` at a time.
pub async fn send(endpoint: &Endpoint, key: &ApiKey, load: &Load) -> Result<Traffic, TrafficError> {
    let sender = Sender::new(endpoint, key, load)?;
    let next = Arc::new(AtomicUsize::new(0));
    let total = load.requests as usize;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let (sender, next) = (sender.clone(), next.clone());
        workers.spawn(async move {
            let mut out = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= total {
                    break;
                }
                out.push(sender.one(index).await);
            }
            out
        });
    }
    let mut samples = Vec::with_capacity(total);
    while let Some(done) = workers.join_next().await {
        samples.extend(done.map_err(TrafficError::Task)?);
    }
    samples.sort_by_key(|s| s.index);
    Ok(Traffic {
        samples,
        seconds: sender.t0.elapsed().as_secs_f64(),
    })
}

/// Writes the chart of a verify: a panel for the first deployment (its endpoint, traffic
/// and analysis) and one for each of `others`, in order
/// (`aoai_lb_core::verify::deployments_chart`; with no others, the one-deployment chart).
pub fn write_chart(
    path: &Path,
    load: &Load,
    (endpoint, traffic, analysis): (&Endpoint, &Traffic, &Analysis),
    others: &[super::deployments::DeploymentCheck],
) -> Result<(), TrafficError> {
    use verify::deployments_chart::{Panel, Run};
    let run = Run {
        api_url: &endpoint.api_url,
        api_version: &endpoint.api_version,
        concurrency: load.concurrency,
    };
    fn panel<'a>(
        endpoint: &'a Endpoint,
        traffic: &'a Traffic,
        analysis: &'a Analysis,
    ) -> Panel<'a> {
        Panel {
            deployment: &endpoint.deployment,
            seconds: traffic.seconds,
            samples: &traffic.samples,
            analysis,
        }
    }
    let panels: Vec<Panel> = std::iter::once(panel(endpoint, traffic, analysis))
        .chain(
            others
                .iter()
                .map(|d| panel(&d.endpoint, &d.traffic, &d.analysis)),
        )
        .collect();
    std::fs::write(path, verify::deployments_chart::svg(&run, &panels)).map_err(|source| {
        TrafficError::Chart {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Sends the traffic to `endpoint` and analyses it against the plan; then, for a plan
/// with a pool per deployment and no `--deployment`, the same traffic to each other
/// deployment ([`super::deployments`]); then writes the chart, a panel per deployment.
/// `Err` only when nothing could be measured.
pub async fn measure(
    model: &Model,
    endpoint: Endpoint,
    key: &ApiKey,
    load: &Load,
    chart: Option<&Path>,
) -> Result<Measured, TrafficError> {
    let traffic = send(&endpoint, key, load).await?;
    let analysis = verify::analyse(
        &verify::expected(model, &endpoint.deployment),
        &traffic.samples,
    );
    let names = super::deployments::others(model, load, &endpoint.deployment);
    let others = super::deployments::measure(model, &endpoint, key, load, &names).await?;
    let chart_error = chart
        .and_then(|path| write_chart(path, load, (&endpoint, &traffic, &analysis), &others).err());
    Ok(Measured {
        endpoint,
        load: load.clone(),
        traffic,
        analysis,
        chart: chart.map(Path::to_path_buf),
        chart_error,
        clients: Vec::new(),
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_must_be_https_unless_local() {
        assert!(check_gateway("https://x.azure-api.net/").is_ok());
        assert!(check_gateway("http://127.0.0.1:8080/gateway/a").is_ok());
        assert!(check_gateway("http://[::1]:8080/gateway/a").is_ok());
        assert!(check_gateway("http://localhost:8080").is_ok());
        assert!(matches!(
            check_gateway("http://x.azure-api.net"),
            Err(TrafficError::ClearText(_))
        ));
        assert!(matches!(
            check_gateway("x.azure-api.net"),
            Err(TrafficError::NotAUrl(_))
        ));
    }

    #[test]
    fn failure_reasons_come_from_either_error_shape() {
        assert_eq!(
            failure_reason(
                401,
                br#"{"statusCode": 401, "message": "Access denied due to invalid subscription key."}"#
            ),
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
