//! One ARM request from arrival to answer: authentication, fault injection, path and
//! api-version checks, body parsing and schema validation, then the handler under the
//! one lock, persistence and the request log. Nothing here waits: operations progress
//! by their timestamps when a request comes in.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use serde_json::{Value, json};

use super::address::{self, Address, Namespace, PathError};
use super::clock::{Clock, iso_now};
use super::config::Config;
use super::dataplane::{DataPlaneState, point_gateways};
use super::faults::{Fault, FaultState};
use super::handlers::{self, Cx};
use super::limits::read_body;
use super::log::{Entry, RequestLog};
use super::ops;
use super::reply::{ArmError, Reply, into_response};
use super::schema::{ArmSchemas, BodyKind};
use super::store::Store;
use super::throttle::{Buckets, Verdict};
use super::versions;

/// Marks a response whose connection must be closed without sending it.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// The emulator: configuration, clock and the one mutex-protected state.
pub struct Emulator {
    pub config: Config,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub clock: Clock,
    /// The token the test hooks require (`hooks::guard`), new for every start.
    pub hook_token: String,
    inner: Mutex<Inner>,
}

pub struct Inner {
    pub store: Store,
    pub faults: FaultState,
    pub log: RequestLog,
    pub dataplane: DataPlaneState,
    /// ARM's subscription token buckets (used when `throttling.enabled`).
    pub buckets: Buckets,
}

impl Emulator {
    /// Builds the state: the state file if there is one, then the seeds.
    pub fn new(config: Config, base: String) -> std::io::Result<Emulator> {
        let iso = iso_now();
        let mut store = match &config.state_file {
            Some(path) => Store::load(path)?.unwrap_or_default(),
            None => Store::default(),
        };
        // A new process: in-flight operations end, and every principal has replicated.
        ops::settle_all(&mut store, &iso);
        for p in store.principals.values_mut() {
            p.issued_ms = None;
        }
        super::seed::apply(&config, &mut store, &iso);
        point_gateways(&mut store, &base);
        let emulator = Emulator {
            inner: Mutex::new(Inner {
                store,
                faults: FaultState::new(config.faults.clone()),
                log: RequestLog::default(),
                dataplane: DataPlaneState::new(config.data_plane.clone()),
                buckets: Buckets::default(),
            }),
            config,
            base,
            clock: Clock::new(),
            hook_token: format!("{:032x}", rand::random::<u128>()),
        };
        if let Some(path) = &emulator.config.state_file {
            emulator.lock().store.persist(path)?;
        }
        Ok(emulator)
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn persist(&self, inner: &Inner) {
        if let Some(path) = &self.config.state_file
            && let Err(e) = inner.store.persist(path)
        {
            tracing::warn!("cannot write the emulator state to {}: {e}", path.display());
        }
    }

    /// Back to the seeded state, log cleared, faults and data plane as configured.
    pub fn reset(&self) {
        let mut inner = self.lock();
        let mut store = Store::default();
        super::seed::apply(&self.config, &mut store, &iso_now());
        point_gateways(&mut store, &self.base);
        inner.store = store;
        inner.faults = FaultState::new(self.config.faults.clone());
        inner.dataplane = DataPlaneState::new(self.config.data_plane.clone());
        inner.log.clear();
        inner.buckets = Buckets::default();
        self.persist(&inner);
    }
}

/// Query parameters, keys lower-cased, values percent-decoded.
pub fn parse_query(query: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k).to_ascii_lowercase(), decode(v))
        })
        .collect()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        })
}

fn path_error(e: PathError) -> ArmError {
    match e {
        PathError::NoRoute => ArmError::new(
            404,
            "NotFound",
            "The requested path is not an ARM resource the emulator serves.",
        ),
        PathError::UnknownNamespace(_) => {
            ArmError::bad_request("NoRegisteredProviderFound", e.to_string())
        }
        PathError::UnknownType(..) => ArmError::new(404, "InvalidResourceType", e.to_string()),
    }
}

fn fault_reply(fault: Fault, config: &Config) -> Reply {
    match fault {
        Fault::Throttle => {
            let ms =
                (config.faults.retry_after_seconds * 1000.0 * config.time_scale).round() as u64;
            let mut r = Reply::new(
                429,
                ArmError::new(429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type. Please retry after the time in Retry-After.").body(),
            );
            r.headers = ops::retry_headers(ms);
            r
        }
        Fault::ServerError(500) => Reply::new(
            500,
            ArmError::new(
                500,
                "InternalServerError",
                "Encountered internal server error. Please try again.",
            )
            .body(),
        ),
        Fault::ServerError(status) => Reply::new(
            status,
            ArmError::new(
                status,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please try again.",
            )
            .body(),
        ),
        Fault::Drop => Reply::empty(0),
    }
}

/// Which schema a request body is checked against (and which part of it).
fn body_kind(addr: &Address, method: &Method) -> Option<BodyKind> {
    let put = *method == Method::PUT;
    Some(match addr {
        Address::Account(..) if put => BodyKind::Account,
        Address::Deployment(..) if put => BodyKind::Deployment,
        Address::RoleAssignment { .. } if put => BodyKind::RoleAssignment,
        Address::Backend(..) if put => BodyKind::Backend,
        Address::Api(..) if put => BodyKind::Api,
        Address::ApiPolicy(..) if put => BodyKind::ApiPolicy,
        Address::ApimSubscription(..) if put => BodyKind::Subscription,
        Address::Logger(..) if put => BodyKind::Logger,
        Address::ApiDiagnostic(..) if put => BodyKind::ApiDiagnostic,
        Address::ServiceDiagnostic(..) if put => BodyKind::ServiceDiagnostic,
        Address::Component(..) if put => BodyKind::Component,
        Address::Workspace(..) if put => BodyKind::Workspace,
        // The rest of a service body is checked by its handler, without the read-only
        // members ARM ignores (handlers/apim_service.rs).
        Address::ApimService(..) if put || *method == Method::PATCH => BodyKind::ApimIdentity,
        _ => return None,
    })
}

fn schema_check(addr: &Address, method: &Method, body: &Value) -> Result<(), ArmError> {
    let Some(kind) = body_kind(addr, method) else {
        return Ok(());
    };
    let ns = addr.namespace();
    let target = match kind {
        // The read-only members a GET shows (and a client may send back) are ignored.
        BodyKind::ApimIdentity => match body.get("identity") {
            Some(identity) => {
                let mut i = identity.clone();
                if let Some(o) = i.as_object_mut() {
                    o.remove("principalId");
                    o.remove("tenantId");
                }
                Cow::Owned(i)
            }
            None => return Ok(()),
        },
        // The schema requires `properties`, the service does not: a workspace PUT of
        // `{"tags": {}, "location": "East US"}` was answered 200 (Azure PowerShell
        // SessionRecords, TestWorkspaceCreateUpdateDelete.json).
        BodyKind::Workspace if body.get("properties").is_none() => {
            let mut b = body.clone();
            if let Some(o) = b.as_object_mut() {
                o.insert("properties".into(), json!({}));
            }
            Cow::Owned(b)
        }
        _ => Cow::Borrowed(body),
    };
    let Err(errors) = ArmSchemas::get().validate(kind, &addr.id(), ns.api_version(), &target)
    else {
        return Ok(());
    };
    let code = if ns == Namespace::ApiManagement {
        "ValidationError"
    } else {
        "InvalidRequestContent"
    };
    let details = errors
        .iter()
        .map(|e| json!({"code": code, "message": e}))
        .collect();
    let message = if ns == Namespace::ApiManagement {
        format!(
            "One or more fields contain incorrect values: {}",
            errors.join("; ")
        )
    } else {
        format!(
            "The request content was invalid and could not be deserialized: {}",
            errors.join("; ")
        )
    };
    Err(ArmError::bad_request(code, message).with_details(details))
}

/// Why a request was refused before reaching its handler.
enum Refused {
    Arm(ArmError),
    /// An api-version outside its window: the error names the request's location.
    Version(versions::Unsupported),
}

impl From<ArmError> for Refused {
    fn from(e: ArmError) -> Refused {
        Refused::Arm(e)
    }
}

/// Everything before the lock: path, api-version, body.
fn prepare(
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Bytes,
) -> Result<(Address, Option<Value>), Refused> {
    let addr = address::parse(path).map_err(path_error)?;
    let ns = addr.namespace();
    let type_ = versions::resource_type(path);
    let Some(version) = query.get("api-version") else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
        .into());
    };
    versions::check(ns, &type_, version).map_err(Refused::Version)?;
    let parsed = if body.iter().all(u8::is_ascii_whitespace)
        || *method == Method::GET
        || *method == Method::HEAD
        || *method == Method::DELETE
    {
        None
    } else {
        let mut value = serde_json::from_slice::<Value>(body).map_err(|e| {
            ArmError::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: {e}"),
            )
        })?;
        versions::adapt_request(&type_, version, &mut value);
        Some(value)
    };
    if let Some(b) = &parsed {
        schema_check(&addr, method, b)?;
    }
    Ok((addr, parsed))
}

/// The location an api-version error names: the body's, else the resource's or its
/// group's as stored, else `global`.
fn request_location(inner: &Inner, path: &str, body: &Bytes) -> String {
    let sent = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["location"].as_str().map(str::to_string));
    let stored = |id: &str| {
        inner
            .store
            .get(id)
            .and_then(|r| r.body["location"].as_str().map(str::to_string))
    };
    let group = path
        .to_ascii_lowercase()
        .find("/providers/")
        .map(|i| &path[..i])
        .map(str::to_string);
    sent.or_else(|| stored(path))
        .or_else(|| group.as_deref().and_then(stored))
        .unwrap_or_else(|| "global".into())
}

/// The handler under the lock.
fn run(
    em: &Emulator,
    inner: &mut Inner,
    method: &Method,
    addr: &Address,
    query: &BTreeMap<String, String>,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Result<Reply, ArmError> {
    let now = em.clock.now_ms();
    let iso = iso_now();
    match addr {
        Address::Operation { id, .. } => {
            if let Some(op) = inner.store.operations.get_mut(id) {
                op.observed = true;
            }
        }
        _ if *method == Method::GET || *method == Method::HEAD => {
            ops::observe(&mut inner.store, &addr.id())
        }
        _ => {}
    }
    let advanced = ops::advance(&mut inner.store, now, &iso);
    let mut cx = Cx {
        store: &mut inner.store,
        faults: &mut inner.faults,
        config: &em.config,
        now,
        iso,
        base: &em.base,
        query,
        if_match,
    };
    let result = handlers::handle(&mut cx, method, addr, body);
    let reads = *method == Method::GET || *method == Method::HEAD;
    let changed = advanced || (!reads && result.is_ok());
    if changed {
        em.persist(inner);
    }
    result
}

/// The axum fallback: every ARM request.
pub async fn arm(
    State(em): State<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response<Body> {
    let start_ms = em.clock.now_ms();
    let body = read_body(body).await;
    let path = uri.path().to_string();
    let raw_query = uri.query().unwrap_or_default().to_string();
    let authorized = authorized(&headers);
    let (seq, fault, quota) = {
        let mut inner = em.lock();
        let seq = inner.log.begin();
        let counted = authorized && body.is_ok();
        // ARM throttles before the request reaches a resource provider (throttle.rs).
        let quota = counted
            .then(|| {
                let now = em.clock.now_ms();
                let c = &em.config;
                inner
                    .buckets
                    .take(&c.throttling, c.time_scale, now, &method, &path)
            })
            .flatten();
        let throttled = matches!(quota, Some(Verdict::Throttled { .. }));
        let fault = if counted && !throttled {
            inner.faults.draw()
        } else {
            None
        };
        (seq, fault, quota)
    };
    let (throttled, quota_headers) = match quota {
        Some(Verdict::Throttled { error, headers }) => (Some(error), headers),
        Some(Verdict::Pass(headers)) => (None, headers),
        None => (None, Vec::new()),
    };
    let query = parse_query(&raw_query);
    let result = if let Err(e) = &body {
        Err(e.arm_error())
    } else if let Some(e) = throttled {
        Err(e)
    } else if !authorized {
        Err(ArmError::new(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ))
    } else if let Some(f) = fault {
        Ok(fault_reply(f, &em.config))
    } else {
        let body = body.as_ref().expect("checked above");
        match prepare(&method, &path, &query, body) {
            Ok((addr, parsed)) => {
                let mut inner = em.lock();
                let if_match = headers.get("if-match").and_then(|v| v.to_str().ok());
                let mut result = run(
                    &em,
                    &mut inner,
                    &method,
                    &addr,
                    &query,
                    parsed.as_ref(),
                    if_match,
                );
                if let (Ok(reply), Some(v)) = (&mut result, query.get("api-version"))
                    && let Some(b) = reply.body.as_mut()
                {
                    versions::adapt_response(&versions::resource_type(&path), v, b);
                }
                result
            }
            Err(Refused::Arm(e)) => Err(e),
            Err(Refused::Version(v)) => {
                let inner = em.lock();
                Err(v.arm_error(&request_location(&inner, &path, body)))
            }
        }
    };
    let dropped = fault == Some(Fault::Drop);
    let entry = Entry {
        seq,
        method: method.to_string(),
        path,
        query: raw_query,
        status: (!dropped).then_some(match &result {
            Ok(r) => r.status,
            Err(e) => e.status,
        }),
        start_ms,
        end_ms: em.clock.now_ms(),
        fault: fault.map(|f| f.name().to_string()),
        early: result.as_ref().is_ok_and(|r| r.early),
    };
    em.lock().log.record(entry);
    if dropped {
        let mut response = Response::new(Body::empty());
        response.extensions_mut().insert(DropConnection);
        return response;
    }
    let mut response = into_response(&result);
    for (name, value) in quota_headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = parse_query("api-version=2024-05-01&Format=rawxml&x=a%20b");
        assert_eq!(q["api-version"], "2024-05-01");
        assert_eq!(q["format"], "rawxml");
        assert_eq!(q["x"], "a b");
    }

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert!(!authorized(&h));
        h.insert("authorization", "bearer anything".parse().unwrap());
        assert!(authorized(&h));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert!(!authorized(&h));
    }
}
