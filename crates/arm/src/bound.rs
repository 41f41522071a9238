//! The per-try bounds of every ARM request: a deadline on the whole exchange (headers
//! and body: a server that trickles a byte a second, or says nothing, cannot hold a run
//! for minutes) and a cap on the body read (streamed with the limit: what a server
//! claims is never allocated). The body is read here, so later layers see bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request};
use futures_util::StreamExt;

/// Why a try was cut short (the inner error of the pipeline's error; the client turns it
/// into [`super::ArmError::Deadline`] or [`super::ArmError::TooLarge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Bound {
    #[error("no complete response within {}", secs(*.0))]
    Deadline(Duration),
    #[error("the response body is larger than {0} bytes")]
    TooLarge(u64),
}

/// `1.5s`, `60s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

/// The end of the whole operation a request belongs to (retries included), put in the
/// request's context by the client: no try runs past it.
#[derive(Clone, Copy, Debug)]
pub struct OperationDeadline(pub Instant);

#[derive(Debug)]
pub struct BoundPolicy {
    /// Longest one try may take, body included.
    pub request_timeout: Duration,
    /// Largest body read.
    pub max_response_bytes: u64,
}

impl BoundPolicy {
    async fn read(&self, response: AsyncRawResponse) -> PolicyResult {
        let limit = self.max_response_bytes;
        let too_large = || azure_core::Error::new(ErrorKind::Other, Bound::TooLarge(limit));
        let declared = response
            .headers()
            .get_optional_str(&azure_core::http::headers::CONTENT_LENGTH)
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let (status, headers, mut body) = response.deconstruct();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(AsyncRawResponse::from_bytes(status, headers, bytes))
    }
}

#[async_trait]
impl Policy for BoundPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let mut limit = self.request_timeout;
        if let Some(OperationDeadline(end)) = ctx.value::<OperationDeadline>().copied() {
            limit = limit.min(end.saturating_duration_since(Instant::now()));
        }
        let exchange = async {
            let response = next[0].send(ctx, request, &next[1..]).await?;
            self.read(response).await
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(azure_core::Error::new(
                ErrorKind::Io,
                Bound::Deadline(limit),
            )),
        }
    }
}
