//! Test hooks under `/_emulator/` (no bearer token, no faults, not logged): the request
//! log, the whole state as ARM would return it, reset to the seeds, replacing the fault
//! configuration, the data plane's configuration and log, and the token metrics its
//! policies emitted. They are reachable only
//! with the token of this run (`guard`): the process that started the emulator has it
//! (`Running::hook_token`; `aoai-lb emulator` prints it), anything else on the machine
//! that finds the port does not. The product never calls them (`aoai-lb demo`, which
//! runs its own emulator, uses the data plane's with the token of its own emulator).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::clock::iso_now;
use super::config::{DataPlane, Faults};
use super::faults::FaultState;
use super::ops;
use super::pipeline::Emulator;
use super::store::key;

/// The header that carries the hook token.
pub const HOOK_TOKEN_HEADER: &str = "x-aoai-lb-emulator-token";

fn refused(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": "HookTokenRequired", "message": message, "details": []}})),
    )
        .into_response()
}

/// Lets a hook request through only with this run's token in `HOOK_TOKEN_HEADER`:
/// `401` without it, `403` with another.
pub async fn guard(State(em): State<Arc<Emulator>>, request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get(HOOK_TOKEN_HEADER)
        .map(|v| v.as_bytes().to_vec());
    match sent {
        None => refused(
            StatusCode::UNAUTHORIZED,
            "Test hooks need the header x-aoai-lb-emulator-token with this emulator's hook token (Running::hook_token; `aoai-lb emulator` prints it).",
        ),
        Some(t) if !same(&t, em.hook_token.as_bytes()) => refused(
            StatusCode::FORBIDDEN,
            "The x-aoai-lb-emulator-token header does not carry this emulator's hook token.",
        ),
        Some(_) => next.run(request).await,
    }
}

/// Compares without stopping at the first difference (the time does not tell how much
/// of a guess was right).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn requests(State(em): State<Arc<Emulator>>) -> Response {
    Json(em.lock().log.entries()).into_response()
}

/// Every resource (soft-deleted accounts included, subscription keys never), by id.
pub async fn state(State(em): State<Arc<Emulator>>) -> Response {
    let mut inner = em.lock();
    if ops::advance(&mut inner.store, em.clock.now_ms(), &iso_now()) {
        em.persist(&inner);
    }
    let mut all: Vec<(String, Value)> = inner
        .store
        .resources
        .values()
        .map(|r| (key(&r.id), r.body.clone()))
        .chain(
            inner
                .store
                .deleted
                .values()
                .map(|d| (key(&d.id()), d.view())),
        )
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    Json(Value::Array(all.into_iter().map(|(_, v)| v).collect())).into_response()
}

pub async fn reset(State(em): State<Arc<Emulator>>) -> Response {
    em.reset();
    StatusCode::NO_CONTENT.into_response()
}

pub async fn faults(State(em): State<Arc<Emulator>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Faults>(&body)
        .map_err(|e| e.to_string())
        .and_then(|f| f.check().map_err(|e| e.to_string()).map(|()| f));
    match parsed {
        Ok(f) => {
            em.lock().faults = FaultState::new(f.clone());
            Json(json!(f)).into_response()
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": "InvalidFaults", "message": message, "details": []}})),
        )
            .into_response(),
    }
}

/// The data plane: its configuration, the gateway's request log, breaker trips, breaker
/// states and account usage.
pub async fn dataplane(State(em): State<Arc<Emulator>>) -> Response {
    let now = em.clock.now_ms();
    Json(em.lock().dataplane.view(now)).into_response()
}

/// The token metrics the gateway's emit-token-metric policies recorded, and their sums
/// per namespace and dimensions.
pub async fn metrics(State(em): State<Arc<Emulator>>) -> Response {
    let now = em.clock.now_ms();
    let inner = em.lock();
    Json(super::dataplane::metrics::view(
        &inner.dataplane.metrics,
        now,
    ))
    .into_response()
}

/// Replaces the data plane's configuration (JSON, as `dataPlane` in the config file).
pub async fn set_dataplane(State(em): State<Arc<Emulator>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<DataPlane>(&body)
        .map_err(|e| e.to_string())
        .and_then(|d| d.check().map_err(|e| e.to_string()).map(|()| d));
    match parsed {
        Ok(d) => {
            em.lock().dataplane.replace_config(d.clone());
            Json(json!(d)).into_response()
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": "InvalidDataPlane", "message": message, "details": []}})),
        )
            .into_response(),
    }
}

/// Any other path or method under `/_emulator/`: never an ARM request, never faulted.
pub async fn unknown() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"code": "NotFound", "message": "Test hooks: GET requests, GET state, POST reset, PUT faults, GET/PUT dataplane, GET metrics.", "details": []}})),
    )
        .into_response()
}
