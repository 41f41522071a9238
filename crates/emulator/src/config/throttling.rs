//! `throttling:` in the configuration file: ARM's subscription token buckets, off by
//! default. The sizes and refill rates are those Microsoft documents in "Understand how
//! Azure Resource Manager throttles requests"
//! (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling,
//! "Regional throttling and token bucket algorithm"): per subscription and principal,
//! reads 250 refilled 25/s, writes 200 refilled 10/s, deletes 200 refilled 10/s, and a
//! global subscription limit of 15 times those for all principals together.

use serde::{Deserialize, Serialize};

/// One bucket: how many requests it holds, and how many come back per second (of the
/// emulator's clock: `timeScale` speeds refills up as it speeds everything else).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bucket {
    pub size: u32,
    pub refill_per_second: f64,
}

/// The buckets of one subscription, by operation type.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Throttling {
    /// Every ARM reply of a subscription carries
    /// `x-ms-ratelimit-remaining-subscription-{reads|writes|deletes}` and its `-global-`
    /// counterpart, as real ARM's do. Off: no bucket runs down (each reply says a full
    /// bucket less one) and no request is throttled. On: the buckets empty and refill,
    /// and an empty one answers `429 SubscriptionRequestsThrottled`.
    pub enabled: bool,
    /// GET and HEAD (polls of long-running operations included).
    pub reads: Bucket,
    /// PUT, PATCH and POST.
    pub writes: Bucket,
    pub deletes: Bucket,
}

impl Default for Throttling {
    fn default() -> Self {
        Throttling {
            enabled: false,
            reads: Bucket {
                size: 250,
                refill_per_second: 25.0,
            },
            writes: Bucket {
                size: 200,
                refill_per_second: 10.0,
            },
            deletes: Bucket {
                size: 200,
                refill_per_second: 10.0,
            },
        }
    }
}

impl Throttling {
    /// The first bucket that cannot work: (which, why).
    pub fn check(&self) -> Result<(), String> {
        for (name, b) in [
            ("reads", self.reads),
            ("writes", self.writes),
            ("deletes", self.deletes),
        ] {
            if b.size == 0 {
                return Err(format!("throttling.{name}.size must be at least 1"));
            }
            if !(b.refill_per_second.is_finite() && b.refill_per_second > 0.0) {
                return Err(format!(
                    "throttling.{name}.refillPerSecond must be a number above 0, not {}",
                    b.refill_per_second
                ));
            }
        }
        Ok(())
    }
}
