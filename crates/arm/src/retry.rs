//! Retries, as ARM wants them, with a budget per cause, so one cause cannot use up
//! another's: throttling (429) waits what `Retry-After` / `retry-after-ms` says for as
//! long as the operation's deadline allows; transient server errors (408, 500, 502, 503,
//! 504) and failed tries (refused, reset, dropped, no complete response in time) each
//! have their own count, with an exponential backoff with jitter and a cap when ARM
//! sends no Retry-After; `409` "another operation is in progress" (`RequestConflict`,
//! `AnotherOperationInProgress`) and `PrincipalNotFound` (a new identity not yet
//! replicated) for a bounded time. Everything else is returned at once. Every retry is
//! reported to the client's [`RetryObserver`] (by default a warning in the log).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use rand::Rng;

use super::bound::{Bound, OperationDeadline, secs};
use super::stats::Stats;

#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// Retries of a transient server error (408, 500, 502, 503, 504).
    pub max_server_retries: u32,
    /// Retries of a try that got no complete response (refused, reset, dropped, deadline).
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
            max_server_retries: 8,
            max_connection_retries: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            conflict_window: Duration::from_secs(600),
            principal_window: Duration::from_secs(300),
        }
    }
}

/// Why a request is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryCause {
    /// 429.
    Throttled,
    /// 408 or 5xx.
    ServerError(u16),
    /// No complete response: the reason.
    NoResponse(String),
    /// 409 another operation, or PrincipalNotFound: ARM's code.
    Busy(String),
}

/// One retry, as the progress view shows it:
/// `retrying GET …/accounts/x in 4s: 429 throttled (2)`.
#[derive(Clone, Debug)]
pub struct RetryEvent {
    pub method: String,
    /// The request's path (no query: nothing secret, and short).
    pub path: String,
    pub wait: Duration,
    pub cause: RetryCause,
    /// This cause's retries so far, this one included.
    pub attempt: u32,
    /// This cause's budget (None: as long as the deadline or window allows).
    pub budget: Option<u32>,
}

impl std::fmt::Display for RetryEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let segments: Vec<&str> = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .take(2)
            .collect();
        let short = if self.path.matches('/').count() > 2 {
            format!("…/{}/{}", segments[1], segments[0])
        } else {
            self.path.clone()
        };
        let cause = match &self.cause {
            RetryCause::Throttled => "429 throttled".to_string(),
            RetryCause::ServerError(s) => format!("{s} server error"),
            RetryCause::NoResponse(why) => format!("no response: {why}"),
            RetryCause::Busy(code) => format!("409/400 {code}"),
        };
        let count = match self.budget {
            Some(b) => format!("{}/{b}", self.attempt),
            None => format!("{}/…", self.attempt),
        };
        write!(
            f,
            "retrying {} {short} in {}: {cause} ({count})",
            self.method,
            secs(self.wait)
        )
    }
}

/// Who hears about retries (the CLI's progress view; by default the log, as a warning).
pub trait RetryObserver: Send + Sync {
    fn retrying(&self, event: &RetryEvent);
}

/// The observer slot a client and its retry policy share (set after the client is made).
pub type ObserverSlot = Arc<RwLock<Option<Arc<dyn RetryObserver>>>>;

/// The wait a response asks for: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds)
/// first, then `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &Headers) -> Option<Duration> {
    let get = |name: &'static str| {
        headers.get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.trim().parse::<f64>().ok())
            && ms >= 0.0
            && ms.is_finite()
        {
            return Some(Duration::from_secs_f64((ms / 1000.0).min(86_400.0)));
        }
    }
    let value = get("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite())
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let date = azure_core::time::parse_rfc7231(value).ok()?;
    let now = azure_core::time::OffsetDateTime::now_utc();
    Some(if date > now {
        Duration::from_secs_f64((date - now).as_seconds_f64().min(86_400.0))
    } else {
        Duration::ZERO
    })
}

/// ARM error codes that mean "try the same request again later".
fn retriable_code(status: u16, code: &str, message: &str) -> Option<Window> {
    match (status, code) {
        // ARM's code for a second operation on one account (ARM-NOTES "Added 2026-12"),
        // and the older one Azure OpenAI and the emulator answer.
        (409, "RequestConflict" | "AnotherOperationInProgress") => Some(Window::Conflict),
        (409, "OperationNotAllowed" | "Conflict")
            if message.to_lowercase().contains("another operation") =>
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

/// The retries of one request so far, per cause.
#[derive(Default)]
struct Tally {
    throttled: u32,
    server: u32,
    transport: u32,
    busy: u32,
    window: Option<(Window, Instant)>,
}

#[derive(Debug)]
pub struct RetryPolicy {
    options: RetryOptions,
    stats: Arc<Stats>,
    observer: ObserverSlot,
}

impl std::fmt::Debug for dyn RetryObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryObserver")
    }
}

/// What to do after one try.
enum Next {
    Return(PolicyResult),
    /// Wait, then try again; `last` is given back if the deadline comes first.
    Retry {
        wait: Duration,
        cause: RetryCause,
        attempt: u32,
        budget: Option<u32>,
        last: PolicyResult,
    },
}

impl RetryPolicy {
    pub fn new(options: RetryOptions, stats: Arc<Stats>, observer: ObserverSlot) -> RetryPolicy {
        RetryPolicy {
            options,
            stats,
            observer,
        }
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

    /// Judges one answer.
    async fn judge(&self, response: AsyncRawResponse, t: &mut Tally) -> Next {
        let status = u16::from(response.status());
        let asked = retry_after(response.headers());
        if status == 429 {
            t.throttled += 1;
            return Next::Retry {
                wait: asked.unwrap_or_else(|| self.backoff(t.throttled - 1)),
                cause: RetryCause::Throttled,
                attempt: t.throttled,
                budget: None,
                last: Ok(response),
            };
        }
        if matches!(status, 408 | 500 | 502 | 503 | 504) {
            if t.server >= self.options.max_server_retries {
                return Next::Return(Ok(response));
            }
            t.server += 1;
            return Next::Retry {
                wait: asked.unwrap_or_else(|| self.backoff(t.server - 1)),
                cause: RetryCause::ServerError(status),
                attempt: t.server,
                budget: Some(self.options.max_server_retries),
                last: Ok(response),
            };
        }
        if !matches!(status, 400 | 404 | 409) {
            return Next::Return(Ok(response));
        }
        let (status_code, headers, body) = response.deconstruct();
        let bytes = match body.collect().await {
            Ok(b) => b,
            Err(e) => return Next::Return(Err(e)),
        };
        let (code, message) = super::client::error_code(&bytes);
        let rebuilt = AsyncRawResponse::from_bytes(status_code, headers, bytes);
        let Some(window) = retriable_code(status, &code, &message) else {
            return Next::Return(Ok(rebuilt));
        };
        let (w, since) = *t.window.get_or_insert((window, Instant::now()));
        let limit = match w {
            Window::Conflict => self.options.conflict_window,
            Window::Principal => self.options.principal_window,
        };
        if since.elapsed() >= limit {
            return Next::Return(Ok(rebuilt));
        }
        t.busy += 1;
        Next::Retry {
            wait: asked.unwrap_or_else(|| self.backoff(t.busy.min(6) - 1)),
            cause: RetryCause::Busy(code),
            attempt: t.busy,
            budget: None,
            last: Ok(rebuilt),
        }
    }

    /// Judges a try that got no answer.
    fn judge_error(&self, e: azure_core::Error, t: &mut Tally) -> Next {
        let transient = matches!(e.kind(), ErrorKind::Io | ErrorKind::Connection)
            && !matches!(e.downcast_ref::<Bound>(), Some(Bound::TooLarge(_)));
        if !transient || t.transport >= self.options.max_connection_retries {
            return Next::Return(Err(e));
        }
        t.transport += 1;
        let why = match e.downcast_ref::<Bound>() {
            Some(b) => b.to_string(),
            None => super::client::error_chain(&e),
        };
        Next::Retry {
            wait: self.backoff(t.transport - 1),
            cause: RetryCause::NoResponse(why),
            attempt: t.transport,
            budget: Some(self.options.max_connection_retries),
            last: Err(e),
        }
    }

    fn report(&self, event: &RetryEvent) {
        let observer = self.observer.read().expect("observer slot").clone();
        match observer {
            Some(o) => o.retrying(event),
            None => tracing::warn!("{event}"),
        }
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
        let deadline = ctx.value::<OperationDeadline>().map(|d| d.0);
        let mut tally = Tally::default();
        let mut previous: Option<PolicyResult> = None;
        loop {
            let result = next[0].send(ctx, request, &next[1..]).await;
            // A try cut short by the operation's deadline says nothing new: the answer
            // before it (a 429, a 5xx) is the one to report.
            if let Err(e) = &result
                && matches!(e.downcast_ref::<Bound>(), Some(Bound::Deadline(_)))
                && deadline.is_some_and(|end| Instant::now() >= end)
                && let Some(p) = previous.take()
            {
                return p;
            }
            let decision = match result {
                Ok(response) => self.judge(response, &mut tally).await,
                Err(e) => self.judge_error(e, &mut tally),
            };
            let (wait, cause, attempt, budget, last) = match decision {
                Next::Return(r) => return r,
                Next::Retry {
                    wait,
                    cause,
                    attempt,
                    budget,
                    last,
                } => (wait, cause, attempt, budget, last),
            };
            // Never wait past the operation's deadline: give back the last answer.
            if deadline.is_some_and(|end| Instant::now() + wait >= end) {
                return last;
            }
            previous = Some(last);
            self.stats.retry();
            self.report(&RetryEvent {
                method: request.method().to_string(),
                path: request.url().path().to_string(),
                wait,
                cause,
                attempt,
                budget,
            });
            tokio::time::sleep(wait).await;
        }
    }
}
