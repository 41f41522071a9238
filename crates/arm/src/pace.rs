//! Pacing: ARM meters every principal per subscription with token buckets and says how
//! many requests are left on each reply (`x-ms-ratelimit-remaining-subscription-reads`
//! on reads, `-writes` on writes, `-deletes` on deletes, and the `-global-` count for
//! all principals together: "Understand how Azure Resource Manager throttles
//! requests", learn.microsoft.com). The client keeps a mirror of each bucket from those
//! headers and, when the estimate of what is left falls to its reserve, waits until the
//! refill has put a token back instead of sending a request ARM would answer 429. A
//! 429 that comes anyway is still retried after its Retry-After (retry.rs).
//!
//! The estimate of a bucket: the last remaining count ARM sent, plus what refilled
//! since at the refill rate, less the requests sent and not yet answered (ARM may not
//! have counted them yet). The refill rates are not in any header: they default to the
//! documented ones (reads 25/s, writes and deletes 10/s) and are options. Until ARM
//! has sent a count (an ARM that sends none), nothing waits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Method, Request};

use super::bound::OperationDeadline;

#[derive(Clone, Debug)]
pub struct PacingOptions {
    /// Off: requests go out as soon as the request semaphore allows.
    pub enabled: bool,
    /// The buckets' refill rates per second (ARM's documented ones by default).
    pub reads_per_second: f64,
    pub writes_per_second: f64,
    pub deletes_per_second: f64,
    /// Tokens left unused in each bucket (for the other clients of the subscription,
    /// and the polls of the operations in flight).
    pub reserve: f64,
}

impl Default for PacingOptions {
    fn default() -> Self {
        PacingOptions {
            enabled: true,
            reads_per_second: 25.0,
            writes_per_second: 10.0,
            deletes_per_second: 10.0,
            reserve: 10.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bucket {
    Reads,
    Writes,
    Deletes,
}

impl Bucket {
    fn of(method: &Method) -> Bucket {
        match method {
            Method::Get | Method::Head => Bucket::Reads,
            Method::Delete => Bucket::Deletes,
            _ => Bucket::Writes,
        }
    }

    /// The headers that count this bucket (the principal's, the subscription's global).
    fn headers(self) -> [&'static str; 2] {
        match self {
            Bucket::Reads => [
                "x-ms-ratelimit-remaining-subscription-reads",
                "x-ms-ratelimit-remaining-subscription-global-reads",
            ],
            Bucket::Writes => [
                "x-ms-ratelimit-remaining-subscription-writes",
                "x-ms-ratelimit-remaining-subscription-global-writes",
            ],
            Bucket::Deletes => [
                "x-ms-ratelimit-remaining-subscription-deletes",
                "x-ms-ratelimit-remaining-subscription-global-deletes",
            ],
        }
    }
}

/// What the client knows of one bucket.
#[derive(Clone, Copy, Debug, Default)]
struct Mirror {
    /// The last count ARM sent, and when it came (None: none yet).
    seen: Option<(f64, Instant)>,
    /// The largest count seen: the bucket's size, as far as the client knows.
    size: f64,
    /// Requests sent (or waiting to be) and not answered yet.
    outstanding: f64,
}

impl Mirror {
    fn estimate(&self, rate: f64, now: Instant) -> Option<f64> {
        let (count, at) = self.seen?;
        let refilled = (count + rate * now.duration_since(at).as_secs_f64()).min(self.size);
        Some(refilled - self.outstanding)
    }
}

/// The smallest count of `bucket` a reply carries.
fn remaining(headers: &Headers, bucket: Bucket) -> Option<f64> {
    bucket
        .headers()
        .iter()
        .filter_map(|h| headers.get_optional_str(&HeaderName::from_static(h)))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .reduce(f64::min)
}

/// The subscription a request is counted against (its path's), lower-cased.
fn subscription(request: &Request) -> String {
    let mut parts = request.url().path().split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => id.to_lowercase(),
        _ => String::new(),
    }
}

/// The per-try policy that paces requests by ARM's remaining-quota headers.
#[derive(Debug)]
pub struct PacePolicy {
    options: PacingOptions,
    mirrors: Mutex<BTreeMap<(String, Bucket), Mirror>>,
}

impl PacePolicy {
    pub fn new(options: PacingOptions) -> PacePolicy {
        PacePolicy {
            options,
            mirrors: Mutex::new(BTreeMap::new()),
        }
    }

    fn rate(&self, bucket: Bucket) -> f64 {
        let r = match bucket {
            Bucket::Reads => self.options.reads_per_second,
            Bucket::Writes => self.options.writes_per_second,
            Bucket::Deletes => self.options.deletes_per_second,
        };
        if r.is_finite() && r > 0.0 { r } else { 1.0 }
    }

    /// Counts a request as sent and says how long it must wait first.
    fn admit(&self, key: &(String, Bucket)) -> Duration {
        let rate = self.rate(key.1);
        let mut mirrors = self.mirrors.lock().expect("pacing lock");
        let m = mirrors.entry(key.clone()).or_default();
        let wait = match m.estimate(rate, Instant::now()) {
            Some(left) if left - 1.0 < self.options.reserve => {
                Duration::from_secs_f64((self.options.reserve + 1.0 - left) / rate)
            }
            _ => Duration::ZERO,
        };
        m.outstanding += 1.0;
        wait
    }

    /// Counts the answer (or the failure) of a request.
    fn settle(&self, key: &(String, Bucket), count: Option<f64>) {
        let mut mirrors = self.mirrors.lock().expect("pacing lock");
        let m = mirrors.entry(key.clone()).or_default();
        m.outstanding = (m.outstanding - 1.0).max(0.0);
        if let Some(c) = count {
            m.seen = Some((c, Instant::now()));
            m.size = m.size.max(c);
        }
    }
}

#[async_trait]
impl Policy for PacePolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if !self.options.enabled {
            return next[0].send(ctx, request, &next[1..]).await;
        }
        let key = (subscription(request), Bucket::of(&request.method()));
        let mut wait = self.admit(&key);
        if let Some(OperationDeadline(end)) = ctx.value::<OperationDeadline>().copied() {
            wait = wait.min(end.saturating_duration_since(Instant::now()));
        }
        if !wait.is_zero() {
            tracing::debug!(
                "pacing: {:?} of subscription {} nearly used up, waiting {:.2}s",
                key.1,
                key.0,
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
        let result = next[0].send(ctx, request, &next[1..]).await;
        let count = result
            .as_ref()
            .ok()
            .and_then(|r| remaining(r.headers(), key.1));
        self.settle(&key, count);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_low_count_makes_the_next_requests_wait_one_refill_each() {
        let p = PacePolicy::new(PacingOptions {
            reserve: 2.0,
            reads_per_second: 10.0,
            ..Default::default()
        });
        let key = (String::from("s"), Bucket::Reads);
        // Nothing known yet: no wait.
        assert_eq!(p.admit(&key), Duration::ZERO);
        p.settle(&key, Some(5.0));
        // 5 left, reserve 2: three go at once (leaving 2), the fourth waits one token
        // (0.1 s at 10/s), the fifth two.
        for _ in 0..3 {
            assert_eq!(p.admit(&key), Duration::ZERO);
        }
        let fourth = p.admit(&key).as_secs_f64();
        let fifth = p.admit(&key).as_secs_f64();
        assert!((0.09..=0.11).contains(&fourth), "{fourth}");
        assert!((0.19..=0.21).contains(&fifth), "{fifth}");
    }

    #[test]
    fn the_smallest_count_of_a_bucket_is_the_one_that_counts() {
        let mut h = Headers::new();
        h.insert("x-ms-ratelimit-remaining-subscription-reads", "249");
        h.insert("x-ms-ratelimit-remaining-subscription-global-reads", "3749");
        assert_eq!(remaining(&h, Bucket::Reads), Some(249.0));
        assert_eq!(remaining(&h, Bucket::Writes), None);
    }
}
