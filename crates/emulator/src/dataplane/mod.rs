//! The data plane: every API Management service's `gatewayUrl` is
//! `http://127.0.0.1:PORT/gateway/{serviceName}`, where the emulator serves the APIs
//! imported into it as API Management does for what aoai-lb's policies use: the
//! subscription key (the API's header or query parameter), `set-backend-service` to a
//! pool or a backend (priority groups, weights, circuit breakers) or to a URL picked at
//! random, `retry`, `on-error`'s `return-response`, and `authentication-managed-identity`
//! checked against the role assignments of the account called. The Azure OpenAI
//! accounts behind it answer in process (`openai`). It reads only the resources
//! applied to it, never a plan. See docs/emulator.md, "Data plane".

mod bodies;
pub mod breaker;
mod context;
mod identity;
pub mod inbound;
pub mod matching;
pub mod metrics;
mod openai;
mod periods;
mod pick;
pub mod policy;
mod prepare;
mod route;
mod state;
pub mod tokens;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

use self::pick::{feed, pick};
use self::prepare::{Own, Prepared, loggable_query, own, prepare};
pub use self::state::{Attempt, DataPlaneState, GatewayEntry, Trip};
use super::clock::iso_now;
use super::ops;
use super::pipeline::{Emulator, Inner};
use super::store::{Kind, Store};

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

/// The outcome of one try, or of a request the policy answered itself.
enum Outcome {
    Backend(openai::Answer),
    Gateway(Own),
    /// `return-response` in the inbound section: no try at all.
    Returned(inbound::Returned),
}

impl Outcome {
    fn status(&self) -> u16 {
        match self {
            Outcome::Backend(a) => a.status,
            Outcome::Gateway(o) => o.status,
            Outcome::Returned(r) => r.status,
        }
    }
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
            client_request_id: p.client_request_id.as_deref(),
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

/// A backend's answer as the gateway passes it on: its JSON body, or its event stream
/// (`text/event-stream`, one `data: {json}` event a frame, then `data: [DONE]`), sent
/// on as a stream rather than gathered first.
fn respond_backend(a: &openai::Answer) -> Response<Body> {
    let Some(events) = &a.events else {
        return respond(a.status, &a.headers, Some(&a.body));
    };
    let mut response = respond(a.status, &a.headers, None);
    let frames: Vec<Result<Bytes, std::convert::Infallible>> = events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .chain(std::iter::once("data: [DONE]\n\n".to_string()))
        .map(|f| Ok(Bytes::from(f)))
        .collect();
    *response.body_mut() = Body::from_stream(futures_util::stream::iter(frames));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response
}

/// The tries of a request: the first, then the `retry` policy's, waiting its interval.
async fn tries(
    em: &Emulator,
    p: &Prepared,
    body: &Bytes,
    method: &Method,
    attempts: &mut Vec<Attempt>,
) -> Outcome {
    let retry = &p.route.retry;
    let mut n = 0;
    loop {
        let (outcome, a) = attempt(em, p, body, method).await;
        attempts.push(a);
        if n >= retry.count || !retry.retries(outcome.status()) {
            return outcome;
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
}

/// A request under its policy: the token limits admit it (or answer 429/403 themselves),
/// the backend is tried, then the limits are settled with the tokens the answer used, the
/// token metrics recorded, and `on-error` runs for the gateway's own errors.
async fn governed(
    em: &Emulator,
    p: &Prepared,
    body: &Bytes,
    method: &Method,
    seq: u64,
    attempts: &mut Vec<Attempt>,
) -> Outcome {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let ask = tokens::Ask {
        prompt_estimate: openai::estimate(&request).0,
        stream: request["stream"].as_bool() == Some(true),
        at: tokens::At {
            now: em.clock.now_ms(),
            scale: em.config.time_scale,
            origin_unix_ms: em.clock.start_unix_ms(),
        },
    };
    let admitted = {
        let mut inner = em.lock();
        let counters = &mut inner.dataplane.token_counters;
        tokens::admit(counters, &p.service_id, &p.limits, &p.context, &ask)
    };
    let mut outcome = match admitted {
        Err(r) => Outcome::Gateway(Own {
            status: r.status,
            message: r.message,
            headers: r.headers,
        }),
        Ok(admission) => {
            let mut outcome = tries(em, p, body, method, attempts).await;
            let mut inner = em.lock();
            let at = tokens::At {
                now: em.clock.now_ms(),
                ..ask.at
            };
            let dp = &mut inner.dataplane;
            let used = match &outcome {
                Outcome::Backend(a) if (200..300).contains(&a.status) => Some(tokens::used(
                    &a.body,
                    a.events.as_deref(),
                    ask.prompt_estimate,
                )),
                _ => None,
            };
            let headers = tokens::settle(&mut dp.token_counters, &p.limits, admission, used, at);
            if let (Outcome::Backend(a), Some(used)) = (&outcome, used) {
                let answered = metrics::Answered {
                    backend: attempts.last().and_then(|x| x.backend.as_deref()),
                    account: &a.account,
                    region: &a.region,
                };
                let records = metrics::emit(
                    &p.metrics,
                    &p.context,
                    &answered,
                    used,
                    seq,
                    at.now,
                    p.logger_id.as_deref(),
                );
                dp.metrics.extend(records);
            }
            match &mut outcome {
                Outcome::Backend(a) => a.headers.extend(headers),
                Outcome::Gateway(o) => o.headers.extend(headers),
                Outcome::Returned(r) => r.headers.extend(headers),
            }
            outcome
        }
    };
    // on-error runs for the gateway's own errors.
    if let Outcome::Gateway(o) = &outcome
        && let Some(r) = p.route.on_error_for(o.status)
    {
        outcome = Outcome::Gateway(own(r.status, String::new()));
    }
    outcome
}

/// What `return-response` describes: its status, headers and body, as set (the
/// return-response policy reference: the body is sent as written).
fn respond_returned(r: &inbound::Returned) -> Response<Body> {
    let mut response = respond(r.status, &r.headers, None);
    if let Some(body) = &r.body {
        *response.body_mut() = Body::from(body.clone());
    }
    response
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
        let prepared = prepare(
            &inner.store,
            method.as_str(),
            service,
            rest,
            &raw_query,
            &headers,
            &body,
        );
        (seq, start_ms, prepared)
    };
    let mut attempts = Vec::new();
    let operation = prepared.as_ref().ok().map(|p| p.operation.name.clone());
    let subscription = prepared
        .as_ref()
        .ok()
        .and_then(|p| p.context.subscription.as_ref().map(|s| s.0.clone()));
    let outcome = match prepared {
        Err(o) => Outcome::Gateway(o),
        Ok(p) if p.route.returned.is_some() => {
            Outcome::Returned(p.route.returned.clone().expect("checked"))
        }
        Ok(p) => {
            // A policy that read the body without preserveContent forwarded none (context.rs).
            let body = if p.context.body_consumed.get() {
                Bytes::new()
            } else {
                body
            };
            governed(&em, &p, &body, &method, seq, &mut attempts).await
        }
    };
    let response = match &outcome {
        Outcome::Backend(a) => respond_backend(a),
        Outcome::Gateway(o) if o.message.is_empty() => respond(o.status, &o.headers, None),
        Outcome::Gateway(o) => respond(
            o.status,
            &o.headers,
            Some(&json!({"statusCode": o.status, "message": o.message})),
        ),
        Outcome::Returned(r) => respond_returned(r),
    };
    let (region, backend) = match &outcome {
        Outcome::Backend(a) => (
            Some(a.region.clone()),
            attempts.last().and_then(|x| x.backend.clone()),
        ),
        Outcome::Gateway(_) | Outcome::Returned(_) => (None, None),
    };
    let mut inner = em.lock();
    let dp = &mut inner.dataplane;
    let entry = GatewayEntry {
        seq,
        method: method.to_string(),
        path,
        query: loggable_query(&raw_query),
        operation,
        subscription,
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
    use super::prepare::strip_query;
    use super::*;
    use crate::store::Record;

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
