//! The per-try policy that counts every attempt and logs it: method, URL, status,
//! time, the headers that matter for retries and LROs, and (at trace level, `-vv`)
//! redacted bodies. Authorization and key headers are never logged.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};

use super::redact;
use super::stats::{RequestClass, Stats};

#[derive(Debug)]
pub struct ObservePolicy {
    stats: Arc<Stats>,
}

impl ObservePolicy {
    pub fn new(stats: Arc<Stats>) -> ObservePolicy {
        ObservePolicy { stats }
    }
}

#[async_trait]
impl Policy for ObservePolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let class = ctx
            .value::<RequestClass>()
            .copied()
            .unwrap_or(RequestClass::Read);
        self.stats.record(class);
        let method = request.method();
        let url = request.url().to_string();
        if tracing::enabled!(tracing::Level::TRACE) {
            let body: &[u8] = match request.body() {
                azure_core::http::Body::Bytes(b) => b,
                #[allow(unreachable_patterns)]
                _ => &[],
            };
            tracing::trace!("-> {method} {url} {}", redact::body_for_log(body));
        }
        let started = Instant::now();
        let result = next[0].send(ctx, request, &next[1..]).await;
        let ms = started.elapsed().as_millis();
        match result {
            Ok(response) => {
                let status = response.status();
                let headers: Vec<String> = response
                    .headers()
                    .iter()
                    .filter(|(k, _)| redact::LOGGABLE_HEADERS.contains(&k.as_str()))
                    .map(|(k, v)| format!("{}={}", k.as_str(), v.as_str()))
                    .collect();
                tracing::debug!(
                    "{method} {url} -> {} in {ms} ms {}",
                    u16::from(status),
                    headers.join(" ")
                );
                if tracing::enabled!(tracing::Level::TRACE) {
                    let (status, headers, body) = response.deconstruct();
                    let bytes = body.collect().await?;
                    tracing::trace!("<- {} {}", u16::from(status), redact::body_for_log(&bytes));
                    return Ok(AsyncRawResponse::from_bytes(status, headers, bytes));
                }
                Ok(response)
            }
            Err(e) => {
                tracing::debug!(
                    "{method} {url} -> error after {ms} ms: {}",
                    super::client::error_chain(&e)
                );
                Err(e)
            }
        }
    }
}
