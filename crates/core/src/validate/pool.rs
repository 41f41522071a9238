//! The backend pool and its circuit breaker.

use super::checker::Checker;
use crate::located::Located;
use crate::model;
use crate::names;
use crate::plan;

pub(super) fn pool(c: &mut Checker, pool: &plan::Pool) -> model::Pool {
    c.rule(&pool.name, "apim.pool.name", "pool name", |s| {
        names::apim_entity_id(s, 80)
    });
    let description = match &pool.description {
        Some(d) => {
            c.char_count(d, "apim.pool.description", "description", 1, 2000);
            d.value.clone()
        }
        None => "Azure OpenAI backend pool, managed by aoai-lb".to_string(),
    };
    let circuit_breaker = pool
        .circuit_breaker
        .as_ref()
        .map(|cb| circuit_breaker(c, cb));
    model::Pool {
        name: pool.name.value.clone(),
        description,
        circuit_breaker,
    }
}

fn circuit_breaker(c: &mut Checker, cb: &plan::CircuitBreaker) -> model::CircuitBreaker {
    let field = |rest: &str| format!("apim.pool.circuitBreaker.{rest}");
    let failures = c.int_range(&cb.failures, &field("failures"), "failures", 1, 10_000) as u32;
    c.duration(&cb.interval, &field("interval"), "interval");
    c.duration(&cb.trip_duration, &field("tripDuration"), "tripDuration");
    if cb.status_codes.is_empty() {
        c.error(
            cb.status_codes.pos,
            &field("statusCodes"),
            "statusCodes must list at least one status code or range",
        );
    }
    let mut ranges = Vec::new();
    for (k, code) in cb.status_codes.iter().enumerate() {
        match parse_status_range(code) {
            Ok(r) => ranges.push(r),
            Err(reason) => c.error(
                code.pos,
                &field(&format!("statusCodes[{k}]")),
                reason.to_string(),
            ),
        }
    }
    model::CircuitBreaker {
        failures,
        interval: cb.interval.value.clone(),
        status_codes: ranges,
        trip_duration: cb.trip_duration.value.clone(),
        accept_retry_after: cb.accept_retry_after.as_ref().is_some_and(|b| b.value),
    }
}

/// Why a circuit breaker's status code entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum StatusCodeError {
    #[error("status code `{0}` must be a number or a range such as `500-599`, within 200-599")]
    NotARange(String),
    #[error("status code `{0}` is outside 200-599")]
    OutOfRange(String),
    #[error("status code range `{0}` is reversed")]
    Reversed(String),
}

/// `"429"` or `"500-599"`, within 200..=599.
fn parse_status_range(code: &Located<String>) -> Result<(u16, u16), StatusCodeError> {
    let text = code.trim();
    let bad = || StatusCodeError::NotARange(code.value.clone());
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text, text),
    };
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if !(200..=599).contains(&lo) || !(200..=599).contains(&hi) {
        return Err(StatusCodeError::OutOfRange(code.value.clone()));
    }
    if lo > hi {
        return Err(StatusCodeError::Reversed(code.value.clone()));
    }
    Ok((lo, hi))
}
