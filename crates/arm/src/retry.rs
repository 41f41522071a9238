//! Retries, as ARM wants them: on throttling (429), transient server errors (408, 500,
//! 502, 503, 504) and dropped connections, waiting what `Retry-After` /
//! `retry-after-ms` says or else an exponential backoff with jitter and a cap; on
//! `409` "another operation is in progress" and on `PrincipalNotFound` (a new identity
//! not yet replicated) for a bounded time. Everything else is returned at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use rand::Rng;

use super::stats::Stats;

#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// Retries of a throttled or transient (408, 429, 5xx) request.
    pub max_retries: u32,
    /// Retries of a request that got no response at all (refused, reset, dropped).
    pub max_connection_retries: u32,
    /// First backoff step; doubles each retry.
    pub base_delay: Duration,
    /// Longest single wait (a larger Retry-After is still honoured).
    pub max_delay: Duration,
    /// How long a `409` "another operation in progress" is retried.
    pub conflict_window: Duration,
    /// How long `PrincipalNotFound` is retried after the first one.
    pub principal_window: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_retries: 8,
            max_connection_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            conflict_window: Duration::from_secs(600),
            principal_window: Duration::from_secs(300),
        }
    }
}

/// The wait a response asks for: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds)
/// first, then `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &Headers) -> Option<Duration> {
    let get = |name: &'static str| {
        headers.get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.trim().parse::<f64>().ok())
            && ms >= 0.0
        {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = get("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = azure_core::time::parse_rfc7231(value).ok()?;
    let now = azure_core::time::OffsetDateTime::now_utc();
    Some(if date > now {
        Duration::from_secs_f64((date - now).as_seconds_f64())
    } else {
        Duration::ZERO
    })
}

/// ARM error codes that mean "try the same request again later".
fn retriable_code(status: u16, code: &str, message: &str) -> Option<Window> {
    match (status, code) {
        (
            409,
            "AnotherOperationInProgress" | "OperationNotAllowed" | "Conflict" | "RequestConflict",
        ) if status == 409
            && (code == "AnotherOperationInProgress"
                || message.to_lowercase().contains("another operation")) =>
        {
            Some(Window::Conflict)
        }
        (400 | 404, "PrincipalNotFound") => Some(Window::Principal),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Window {
    Conflict,
    Principal,
}

#[derive(Debug)]
pub struct RetryPolicy {
    options: RetryOptions,
    stats: Arc<Stats>,
}

impl RetryPolicy {
    pub fn new(options: RetryOptions, stats: Arc<Stats>) -> RetryPolicy {
        RetryPolicy { options, stats }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .options
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        let capped = exp.min(self.options.max_delay);
        // Jitter: between half and all of the step, so parallel clients spread out.
        let factor = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }
}

#[async_trait]
impl Policy for RetryPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let started = Instant::now();
        let mut retries = 0u32;
        let mut window_started: Option<(Window, Instant)> = None;
        loop {
            let result = next[0].send(ctx, request, &next[1..]).await;
            let wait = match result {
                Ok(response) => {
                    let status = u16::from(response.status());
                    if matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
                        if retries >= self.options.max_retries {
                            return Ok(response);
                        }
                        retry_after(response.headers()).unwrap_or_else(|| self.backoff(retries))
                    } else if matches!(status, 400 | 404 | 409) {
                        let (status_code, headers, body) = response.deconstruct();
                        let bytes = body.collect().await?;
                        let (code, message) = super::client::error_code(&bytes);
                        let rebuilt = || {
                            AsyncRawResponse::from_bytes(
                                status_code,
                                headers.clone(),
                                bytes.clone(),
                            )
                        };
                        let Some(window) = retriable_code(status, &code, &message) else {
                            return Ok(rebuilt());
                        };
                        let (w, since) = *window_started.get_or_insert((window, Instant::now()));
                        let limit = match w {
                            Window::Conflict => self.options.conflict_window,
                            Window::Principal => self.options.principal_window,
                        };
                        if since.elapsed() >= limit {
                            return Ok(rebuilt());
                        }
                        tracing::info!(
                            "{} {}: {code}, retrying (for up to {}s)",
                            request.method(),
                            request.url().path(),
                            limit.as_secs()
                        );
                        retry_after(&headers).unwrap_or_else(|| self.backoff(retries.min(5)))
                    } else {
                        return Ok(response);
                    }
                }
                Err(e) => {
                    let transient = matches!(e.kind(), ErrorKind::Io | ErrorKind::Connection);
                    if !transient || retries >= self.options.max_connection_retries {
                        return Err(e);
                    }
                    tracing::debug!(
                        "{} {}: {e}; retrying",
                        request.method(),
                        request.url().path()
                    );
                    self.backoff(retries)
                }
            };
            retries += 1;
            self.stats.retry();
            tracing::debug!(
                "retry {retries} of {} {} in {} ms (after {} ms)",
                request.method(),
                request.url().path(),
                wait.as_millis(),
                started.elapsed().as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }
}
