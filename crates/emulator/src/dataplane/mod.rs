//! The data plane: every API Management service's `gatewayUrl` is
//! `http://127.0.0.1:PORT/gateway/{serviceName}`, where the emulator serves the APIs
//! imported into it as API Management does for what aoai-lb's policies use: the
//! subscription key (the API's header or query parameter), `set-backend-service` to a
//! pool or a backend (priority groups, weights, circuit breakers) or to a URL picked at
//! random, `retry`, `on-error`'s `return-response`, and `authentication-managed-identity`
//! checked against the role assignments of the account called. The Azure OpenAI
//! accounts behind it answer in process (`openai`). It reads only the resources
//! applied to it, never a plan. See docs/emulator.md, "Data plane".

pub mod breaker;
mod identity;
mod openai;
mod pick;
pub mod policy;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use self::breaker::{Breaker, Member, Rule};
use self::identity::{NoPrincipal, principal_of};
use self::openai::Usage;
use self::pick::{feed, pick};
use self::policy::{Auth, Route, Target};
use super::clock::iso_now;
use super::config::DataPlane;
use super::ops;
use super::pipeline::{Emulator, Inner, parse_query};
use super::store::{Kind, Record, Store, key};
use crate::policy::{self as policy_doc, Format};

/// One attempt of a gateway request on a backend.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The backend entity (pool member or single backend), when there is one.
    pub backend: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The backend's status; `None` when no backend was available or reachable.
    pub status: Option<u16>,
    pub at_ms: u64,
}

/// One request the gateway answered; `seq` numbers arrivals.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The query without subscription keys.
    pub query: String,
    pub status: u16,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The region of the response (its `x-ms-region`), if a backend answered.
    pub region: Option<String>,
    pub backend: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// A circuit breaker that tripped.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Trip {
    pub backend: String,
    pub status: u16,
    pub at_ms: u64,
    pub until_ms: u64,
}

/// The data plane's live state: its configuration (replaceable at run time), random
/// state, account budgets, breakers and log. Not persisted: a restart starts afresh.
pub struct DataPlaneState {
    pub config: DataPlane,
    rng: StdRng,
    pub usage: BTreeMap<String, Usage>,
    /// By backend id, lower-cased.
    pub breakers: BTreeMap<String, Breaker>,
    pub log: Vec<GatewayEntry>,
    pub trips: Vec<Trip>,
    next_seq: u64,
}

fn rng_for(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    }
}

impl DataPlaneState {
    pub fn new(config: DataPlane) -> DataPlaneState {
        DataPlaneState {
            rng: rng_for(config.seed),
            config,
            usage: BTreeMap::new(),
            breakers: BTreeMap::new(),
            log: Vec::new(),
            trips: Vec::new(),
            next_seq: 0,
        }
    }

    /// A new configuration (`PUT /_emulator/dataplane`): budgets and latencies apply
    /// from the next request; usage, breakers and the log stay; a seed restarts the
    /// random sequence.
    pub fn replace_config(&mut self, config: DataPlane) {
        if config.seed.is_some() {
            self.rng = rng_for(config.seed);
        }
        self.config = config;
    }

    /// What `GET /_emulator/dataplane` shows; requests by arrival (`seq`).
    pub fn view(&self, now: u64) -> Value {
        let breakers: BTreeMap<&String, &Breaker> = self.breakers.iter().collect();
        let mut requests: Vec<&GatewayEntry> = self.log.iter().collect();
        requests.sort_by_key(|e| e.seq);
        json!({
            "nowMs": now,
            "config": self.config,
            "requests": requests,
            "trips": self.trips,
            "breakers": breakers,
            "usage": self.usage,
        })
    }
}

/// The gateway URL of a service.
pub fn gateway_url(base: &str, service: &str) -> String {
    format!("{base}/gateway/{service}")
}

/// Points every API Management service's `gatewayUrl` at this emulator.
pub fn point_gateways(store: &mut Store, base: &str) {
    for r in store.resources.values_mut() {
        if r.kind == Kind::ApimService {
            let url = gateway_url(base, r.name());
            if let Some(p) = r.body.get_mut("properties").and_then(Value::as_object_mut) {
                p.insert("gatewayUrl".into(), Value::from(url));
            }
        }
    }
}

/// A response the gateway itself makes (not a backend's).
struct Own {
    status: u16,
    message: String,
}

/// The outcome of one try.
enum Outcome {
    Backend(openai::Answer),
    Gateway(Own),
}

impl Outcome {
    fn status(&self) -> u16 {
        match self {
            Outcome::Backend(a) => a.status,
            Outcome::Gateway(o) => o.status,
        }
    }
}

/// Everything decided before the first try.
struct Prepared {
    service_id: String,
    /// The operation's path after the API's path, from its `/`.
    suffix: String,
    /// The query forwarded to the backend (subscription key removed).
    forward_query: String,
    route: Route,
    service_url: Option<String>,
    /// The managed identity's principal, or why there is none.
    principal: Result<Option<String>, NoPrincipal>,
    api_key: bool,
}

fn own(status: u16, message: impl Into<String>) -> Own {
    Own {
        status,
        message: message.into(),
    }
}

/// A query string without the named parameters.
fn strip_query(raw: &str, names: &[String]) -> String {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split_once('=').map_or(*p, |(k, _)| k);
            let k = parse_query(k).into_keys().next().unwrap_or_default();
            !names.iter().any(|n| n.eq_ignore_ascii_case(&k))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The query as the log keeps it: without anything that may be a secret.
fn loggable_query(raw: &str) -> String {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p
                .split_once('=')
                .map_or(*p, |(k, _)| k)
                .to_ascii_lowercase();
            !["key", "sig", "token", "secret"]
                .iter()
                .any(|s| k.contains(s))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The route of an API's policy as applied (no policy: the API's service URL).
fn route_of(store: &Store, api_id: &str) -> Result<Route, Own> {
    let Some(p) = store.get(&format!("{api_id}/policies/policy")) else {
        return Ok(Route::without_policy());
    };
    let raw = p.private["format"].as_str() == Some("rawxml");
    let format = if raw { Format::RawXml } else { Format::Xml };
    let value = p.private["value"].as_str().unwrap_or_default();
    let root = policy_doc::parse(value, format)
        .map_err(|e| own(500, format!("The API's policy does not parse: {e}")))?;
    Ok(policy::route(&root))
}

/// Service, API, subscription key, policy: APIM's checks before the backend.
fn prepare(
    store: &Store,
    service_name: &str,
    rest: &str,
    raw_query: &str,
    headers: &HeaderMap,
) -> Result<Prepared, Own> {
    let not_found = || own(404, "Resource not found");
    let service = store
        .resources
        .values()
        .find(|r| r.kind == Kind::ApimService && r.name().eq_ignore_ascii_case(service_name))
        .ok_or_else(not_found)?;
    let rest = rest.trim_start_matches('/');
    let api = store
        .below(&service.id)
        .filter(|r| r.kind == Kind::Api)
        .filter_map(|r| {
            let path = r.body["properties"]["path"]
                .as_str()
                .unwrap_or_default()
                .trim_matches('/')
                .to_ascii_lowercase();
            let lower = rest.to_ascii_lowercase();
            let fits = path.is_empty() || lower == path || lower.starts_with(&format!("{path}/"));
            fits.then_some((path.len(), r))
        })
        .max_by_key(|(len, _)| *len)
        .ok_or_else(not_found)?;
    let (path_len, api): (usize, &Record) = api;
    let props = &api.body["properties"];
    let header_name = props
        .pointer("/subscriptionKeyParameterNames/header")
        .and_then(Value::as_str)
        .unwrap_or("Ocp-Apim-Subscription-Key")
        .to_string();
    let query_name = props
        .pointer("/subscriptionKeyParameterNames/query")
        .and_then(Value::as_str)
        .unwrap_or("subscription-key")
        .to_string();
    let query = parse_query(raw_query);
    if props["subscriptionRequired"].as_bool().unwrap_or(true) {
        let sent = headers
            .get(header_name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| query.get(&query_name.to_ascii_lowercase()).cloned());
        let Some(sent) = sent.filter(|s| !s.is_empty()) else {
            return Err(own(
                401,
                "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
            ));
        };
        let api_key = key(&api.id);
        let all_apis = key(&format!("{}/apis", service.id));
        let valid = store.below(&service.id).any(|s| {
            s.kind == Kind::ApimSubscription
                && s.body["properties"]["state"].as_str() == Some("active")
                && s.body["properties"]["scope"]
                    .as_str()
                    .is_some_and(|sc| key(sc) == api_key || key(sc) == all_apis)
                && ["primaryKey", "secondaryKey"]
                    .iter()
                    .any(|k| s.private[k].as_str() == Some(sent.as_str()))
        });
        if !valid {
            return Err(own(
                401,
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
            ));
        }
    }
    let route = route_of(store, &api.id)?;
    let suffix = rest.get(path_len..).unwrap_or_default();
    let suffix = if suffix.is_empty() || suffix.starts_with('/') {
        suffix.to_string()
    } else {
        format!("/{suffix}")
    };
    Ok(Prepared {
        service_id: service.id.clone(),
        suffix,
        forward_query: strip_query(raw_query, &[query_name]),
        principal: principal_of(&service.body, &route),
        api_key: route.auth == Auth::ApiKey,
        route,
        service_url: props["serviceUrl"].as_str().map(str::to_string),
    })
}

/// One try: pick a backend, call it (the call's latency is waited out unlocked), and
/// feed its breaker. Times are read under the lock, so the log orders them as they
/// happened.
async fn attempt(em: &Emulator, p: &Prepared, body: &Bytes, method: &Method) -> (Outcome, Attempt) {
    let mut record = Attempt {
        backend: None,
        account: None,
        region: None,
        status: None,
        at_ms: 0,
    };
    let scale = em.config.time_scale;
    let (picked, answer) = {
        let mut inner = em.lock();
        let now = em.clock.now_ms();
        record.at_ms = now;
        let picked = match pick(&mut inner, p, now) {
            Ok(x) => x,
            Err(o) => return (Outcome::Gateway(o), record),
        };
        record.backend = picked.backend.as_ref().map(|b| b.name().to_string());
        let principal = match &p.principal {
            Ok(x) => x.clone(),
            Err(why) => return (Outcome::Gateway(own(500, why.to_string())), record),
        };
        let url = format!(
            "{}{}{}",
            picked.url.trim_end_matches('/'),
            p.suffix,
            if p.forward_query.is_empty() {
                String::new()
            } else {
                format!("?{}", p.forward_query)
            }
        );
        let call = openai::Call {
            url: &url,
            method: method.as_str(),
            body,
            principal: principal.as_deref(),
            api_key: p.api_key,
        };
        let Inner {
            store, dataplane, ..
        } = &mut *inner;
        let answer = openai::answer(
            store,
            &em.config,
            &dataplane.config,
            &mut dataplane.usage,
            &mut dataplane.rng,
            now,
            &call,
        );
        // An instant answer feeds the breaker under the same lock: no request can pick
        // the backend between its response and its trip.
        if let (Some(a), Some(b)) = (&answer, &picked.backend)
            && a.latency_ms == 0
        {
            feed(dataplane, b, a, now, scale);
        }
        (picked, answer)
    };
    let Some(answer) = answer else {
        let host = picked.url.clone();
        return (
            Outcome::Gateway(own(
                500,
                format!(
                    "BackendConnectionFailure: {host} is not an Azure OpenAI account of this emulator."
                ),
            )),
            record,
        );
    };
    record.account = Some(answer.account.clone());
    record.region = Some(answer.region.clone());
    record.status = Some(answer.status);
    if answer.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(answer.latency_ms)).await;
        if let Some(b) = &picked.backend {
            let mut inner = em.lock();
            let arrived = em.clock.now_ms();
            feed(&mut inner.dataplane, b, &answer, arrived, scale);
        }
    }
    (Outcome::Backend(answer), record)
}

fn respond(status: u16, headers: &[(String, String)], body: Option<&Value>) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    match body {
        Some(v) => builder
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(serde_json::to_vec(v).unwrap_or_default())),
        None => builder.body(Body::empty()),
    }
    .expect("a response from valid parts")
}

/// `ANY /gateway/{service}/{*rest}`: one client request through API Management.
pub async fn gateway(
    State(em): State<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_string();
    let raw_query = uri.query().unwrap_or_default().to_string();
    let after = path.strip_prefix("/gateway/").unwrap_or_default();
    let (service, rest) = after.split_once('/').unwrap_or((after, ""));
    let (seq, start_ms, prepared) = {
        let mut inner = em.lock();
        let start_ms = em.clock.now_ms();
        inner.dataplane.next_seq += 1;
        let seq = inner.dataplane.next_seq;
        if ops::advance(&mut inner.store, start_ms, &iso_now()) {
            em.persist(&inner);
        }
        let prepared = prepare(&inner.store, service, rest, &raw_query, &headers);
        (seq, start_ms, prepared)
    };
    let mut attempts = Vec::new();
    let outcome = match prepared {
        Err(o) => Outcome::Gateway(o),
        Ok(p) => {
            let retry = &p.route.retry;
            let mut outcome;
            let mut n = 0;
            loop {
                let (o, a) = attempt(&em, &p, &body, &method).await;
                outcome = o;
                attempts.push(a);
                if n >= retry.count || !retry.retries(outcome.status()) {
                    break;
                }
                n += 1;
                let wait = if retry.first_fast_retry && n == 1 {
                    0
                } else {
                    em.config.data_plane_ms(retry.interval_seconds)
                };
                if wait > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
            }
            // on-error runs for the gateway's own errors.
            if let Outcome::Gateway(o) = &outcome
                && let Some(r) = p.route.on_error_for(o.status)
            {
                outcome = Outcome::Gateway(own(r.status, String::new()));
            }
            outcome
        }
    };
    let response = match &outcome {
        Outcome::Backend(a) => respond(a.status, &a.headers, Some(&a.body)),
        Outcome::Gateway(o) if o.message.is_empty() => respond(o.status, &[], None),
        Outcome::Gateway(o) => respond(
            o.status,
            &[],
            Some(&json!({"statusCode": o.status, "message": o.message})),
        ),
    };
    let (region, backend) = match &outcome {
        Outcome::Backend(a) => (
            Some(a.region.clone()),
            attempts.last().and_then(|x| x.backend.clone()),
        ),
        Outcome::Gateway(_) => (None, None),
    };
    let mut inner = em.lock();
    let dp = &mut inner.dataplane;
    let entry = GatewayEntry {
        seq,
        method: method.to_string(),
        path,
        query: loggable_query(&raw_query),
        status: outcome.status(),
        start_ms,
        end_ms: em.clock.now_ms(),
        region,
        backend,
        attempts,
    };
    dp.log.push(entry);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_reach_the_log() {
        assert_eq!(
            loggable_query("api-version=1&subscription-key=s&api-key=k&x=1"),
            "api-version=1&x=1"
        );
        assert_eq!(
            strip_query(
                "api-version=2024-02-01&API-KEY=secret&x=1",
                &["api-key".into()]
            ),
            "api-version=2024-02-01&x=1"
        );
        assert_eq!(strip_query("", &["api-key".into()]), "");
    }

    #[test]
    fn gateways_point_at_the_emulator() {
        let mut store = Store::default();
        let id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/Apim1";
        store.put(Record::new(
            Kind::ApimService,
            id.into(),
            json!({"id": id, "properties": {"gatewayUrl": "https://apim1.azure-api.net"}}),
        ));
        point_gateways(&mut store, "http://127.0.0.1:1");
        assert_eq!(
            store.get(id).unwrap().body["properties"]["gatewayUrl"],
            "http://127.0.0.1:1/gateway/Apim1"
        );
    }
}
