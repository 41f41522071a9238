//! ARM's subscription throttling, as Microsoft documents it in "Understand how Azure
//! Resource Manager throttles requests"
//! (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
//!
//! - "Regional throttling and token bucket algorithm": a bucket per subscription,
//!   principal and operation type (reads 250 refilled 25/s, deletes and writes 200
//!   refilled 10/s; sizes in `config/throttling.rs`), and "a global subscription limit
//!   equal to 15 times the individual service principal limit" for all principals; "if
//!   you send 250 read requests in a second, the bucket is empty and your requests are
//!   throttled", and tokens come back at the refill rate.
//! - "Remaining requests": `x-ms-ratelimit-remaining-subscription-reads` on reads,
//!   `-writes` on writes (and `-deletes`); the global bucket's count is sent as
//!   `x-ms-ratelimit-remaining-subscription-global-{reads|writes}`: recorded replies show
//!   `x-ms-ratelimit-remaining-subscription-writes: 199` with
//!   `x-ms-ratelimit-remaining-subscription-global-writes: 2999` (200 x 15 - 1).
//! - "Error code": an empty bucket is `429 Too many requests` with a `Retry-After` in
//!   seconds; the body's code is `SubscriptionRequestsThrottled` and its message says
//!   "Number of ... requests for subscription '…' ... exceeded. Please try again after
//!   '6' seconds." (MicrosoftDocs/azure-docs#105248, #51431).
//!
//! The emulator has one principal (any bearer token), so the principal's bucket is the
//! one that empties; the global one is counted alongside. Tenant-level requests (no
//! subscription in the path) are not counted. Time is the emulator's clock: `timeScale`
//! speeds refills up as it speeds every operation, and scales the Retry-After.

use std::collections::BTreeMap;

use axum::http::Method;

use crate::config::{Bucket, Throttling};
use crate::ops::retry_headers;
use crate::reply::ArmError;

/// The global subscription bucket is this many times the principal's.
const GLOBAL_FACTOR: f64 = 15.0;

/// ARM's operation types, each with its own bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OperationType {
    Read,
    Write,
    Delete,
}

impl OperationType {
    pub fn of(method: &Method) -> OperationType {
        match *method {
            Method::GET | Method::HEAD => OperationType::Read,
            Method::DELETE => OperationType::Delete,
            _ => OperationType::Write,
        }
    }

    fn word(self) -> &'static str {
        match self {
            OperationType::Read => "read",
            OperationType::Write => "write",
            OperationType::Delete => "delete",
        }
    }

    fn headers(self) -> (&'static str, &'static str) {
        match self {
            OperationType::Read => (
                "x-ms-ratelimit-remaining-subscription-reads",
                "x-ms-ratelimit-remaining-subscription-global-reads",
            ),
            OperationType::Write => (
                "x-ms-ratelimit-remaining-subscription-writes",
                "x-ms-ratelimit-remaining-subscription-global-writes",
            ),
            OperationType::Delete => (
                "x-ms-ratelimit-remaining-subscription-deletes",
                "x-ms-ratelimit-remaining-subscription-global-deletes",
            ),
        }
    }

    fn bucket(self, t: &Throttling) -> Bucket {
        match self {
            OperationType::Read => t.reads,
            OperationType::Write => t.writes,
            OperationType::Delete => t.deletes,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Level {
    tokens: f64,
    at_ms: u64,
}

/// What the buckets say of one request: let it through (with the remaining-quota
/// headers), or throttle it.
#[derive(Debug)]
pub enum Verdict {
    Pass(Vec<(&'static str, String)>),
    Throttled {
        error: ArmError,
        headers: Vec<(&'static str, String)>,
    },
}

/// Every bucket, by (subscription, operation type, global?).
#[derive(Debug, Default)]
pub struct Buckets {
    levels: BTreeMap<(String, OperationType, bool), Level>,
}

/// The subscription a request path names, lower-cased.
fn subscription(path: &str) -> Option<String> {
    let mut parts = path.split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => {
            Some(id.to_ascii_lowercase())
        }
        _ => None,
    }
}

impl Buckets {
    /// The level of one bucket now, refilled since it was last seen.
    fn level(
        &mut self,
        key: (String, OperationType, bool),
        size: f64,
        rate: f64,
        now: u64,
    ) -> &mut Level {
        let level = self.levels.entry(key).or_insert(Level {
            tokens: size,
            at_ms: now,
        });
        let elapsed = now.saturating_sub(level.at_ms) as f64 / 1000.0;
        level.tokens = (level.tokens + elapsed * rate).min(size);
        level.at_ms = now;
        level
    }

    /// Takes a token for a request (None: the request names no subscription; with
    /// throttling off, every bucket is full). `now_ms` is real time; `time_scale` converts it to the emulator's.
    pub fn take(
        &mut self,
        config: &Throttling,
        time_scale: f64,
        now_ms: u64,
        method: &Method,
        path: &str,
    ) -> Option<Verdict> {
        let sub = subscription(path)?;
        let op = OperationType::of(method);
        let b = op.bucket(config);
        let size = f64::from(b.size);
        let (own_header, global_header) = op.headers();
        if !config.enabled {
            // Real ARM sends the counts on every reply; with throttling off the buckets
            // never run down, so each reply finds them full and took one token, as a
            // lone request does (`-writes: 199` with `-global-writes: 2999` recorded).
            return Some(Verdict::Pass(vec![
                (own_header, (b.size.saturating_sub(1)).to_string()),
                (
                    global_header,
                    ((size * GLOBAL_FACTOR) as u64)
                        .saturating_sub(1)
                        .to_string(),
                ),
            ]));
        }
        // Refill per real second: the emulator's seconds pass 1/time_scale times faster.
        let rate = b.refill_per_second / time_scale;
        let own = *self.level((sub.clone(), op, false), size, rate, now_ms);
        let global = *self.level(
            (sub.clone(), op, true),
            size * GLOBAL_FACTOR,
            rate * GLOBAL_FACTOR,
            now_ms,
        );
        if own.tokens >= 1.0 && global.tokens >= 1.0 {
            let mut remaining = Vec::new();
            for (global_bucket, header) in [(false, own_header), (true, global_header)] {
                let level = self
                    .levels
                    .get_mut(&(sub.clone(), op, global_bucket))
                    .expect("levels were just made");
                level.tokens -= 1.0;
                remaining.push((header, (level.tokens.floor() as u64).to_string()));
            }
            return Some(Verdict::Pass(remaining));
        }
        // Real milliseconds until a token is back in the principal's bucket.
        let short = (1.0 - own.tokens).max(0.0) / rate;
        let wait_ms = (short * 1000.0).ceil().max(1.0) as u64;
        let mut headers = vec![
            (own_header, (own.tokens.floor() as u64).to_string()),
            (global_header, (global.tokens.floor() as u64).to_string()),
        ];
        headers.extend(retry_headers(wait_ms));
        let seconds = (wait_ms as f64 / 1000.0).round().max(1.0) as u64;
        let error = ArmError::new(
            429,
            "SubscriptionRequestsThrottled",
            format!(
                "Number of '{}' requests for subscription '{sub}' exceeded. Please try again after '{seconds}' seconds after the last request. Please see https://aka.ms/ARMThrottling for more information.",
                op.word()
            ),
        );
        Some(Verdict::Throttled { error, headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(size: u32, rate: f64) -> Throttling {
        let b = Bucket {
            size,
            refill_per_second: rate,
        };
        Throttling {
            enabled: true,
            reads: b,
            writes: b,
            deletes: b,
        }
    }

    const PATH: &str = "/subscriptions/S/resourceGroups/g";

    #[test]
    fn a_bucket_empties_then_refills_at_its_rate() {
        let (t, mut b) = (on(3, 10.0), Buckets::default());
        let mut remaining = Vec::new();
        for _ in 0..3 {
            match b.take(&t, 1.0, 0, &Method::GET, PATH) {
                Some(Verdict::Pass(h)) => remaining.push(h[0].1.clone()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(remaining, ["2", "1", "0"]);
        let Some(Verdict::Throttled { error, headers }) = b.take(&t, 1.0, 0, &Method::GET, PATH)
        else {
            panic!("not throttled")
        };
        assert_eq!(
            (error.status, error.code.as_str()),
            (429, "SubscriptionRequestsThrottled")
        );
        assert!(
            headers.contains(&("retry-after-ms", "100".into())),
            "{headers:?}"
        );
        // Writes have their own bucket; another subscription too.
        assert!(matches!(
            b.take(&t, 1.0, 0, &Method::PUT, PATH),
            Some(Verdict::Pass(_))
        ));
        assert!(matches!(
            b.take(&t, 1.0, 0, &Method::GET, "/subscriptions/other/x"),
            Some(Verdict::Pass(_))
        ));
        // 100 ms later (10/s) one read is back.
        assert!(matches!(
            b.take(&t, 1.0, 100, &Method::GET, PATH),
            Some(Verdict::Pass(_))
        ));
        // Off: never throttled, the counts of a full bucket. Not a subscription's request:
        // not counted.
        for _ in 0..300 {
            let Some(Verdict::Pass(h)) = b.take(&Throttling::default(), 1.0, 0, &Method::GET, PATH)
            else {
                panic!("throttled with throttling off")
            };
            assert_eq!(h[0].1, "249");
        }
        assert!(
            b.take(&t, 1.0, 0, &Method::GET, "/providers/Microsoft.Resources/x")
                .is_none()
        );
    }

    #[test]
    fn the_global_bucket_is_fifteen_times_the_principals() {
        let mut b = Buckets::default();
        let Some(Verdict::Pass(h)) = b.take(
            &Throttling {
                enabled: true,
                ..Default::default()
            },
            1.0,
            0,
            &Method::PUT,
            PATH,
        ) else {
            panic!()
        };
        assert_eq!(
            h,
            [
                (
                    "x-ms-ratelimit-remaining-subscription-writes",
                    "199".to_string()
                ),
                (
                    "x-ms-ratelimit-remaining-subscription-global-writes",
                    "2999".to_string()
                )
            ]
        );
    }
}
