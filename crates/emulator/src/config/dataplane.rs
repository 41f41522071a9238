//! The data-plane part of the configuration (`dataPlane` in the config file): budgets,
//! latencies and the gateway's random seed, per account, region or default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Why a data-plane configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    #[error("dataPlane.windowSeconds must be a number above 0, not {0}")]
    WindowSeconds(f64),
    #[error("dataPlane.accounts.{key}.{name} must be 0 or more, not {value}")]
    Duration {
        key: String,
        name: &'static str,
        value: f64,
    },
}

/// The data plane's behaviour (docs/emulator.md, "Data plane"). Durations are Azure
/// time: multiplied by `timeScale`, in both latency profiles.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DataPlane {
    /// Seed of the gateway's random choices (weights in a pool, the `random` template);
    /// unset: a different sequence every run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Length of an account's budget window, seconds.
    pub window_seconds: f64,
    /// Budgets and response times of the Azure OpenAI accounts, keyed by account name,
    /// region (`westus` or `West US`) or `default`; for each field the most specific key
    /// that sets it wins.
    pub accounts: BTreeMap<String, AccountSettings>,
}

impl Default for DataPlane {
    fn default() -> Self {
        DataPlane {
            seed: None,
            window_seconds: 60.0,
            accounts: BTreeMap::new(),
        }
    }
}

/// What one Azure OpenAI account (or every account of a region) does.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountSettings {
    /// Requests per window; beyond: `429` + `Retry-After`. Unset: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Tokens per window (prompt estimate + `max_tokens`, as Azure OpenAI counts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Response time in ms (Azure time). Unset: 0 under `instant`, 500 under `azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Uniform jitter around `latencyMs`, ms. Unset: 0 under `instant`, 150 under `azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
}

impl DataPlane {
    pub fn check(&self) -> Result<(), DataPlaneError> {
        if !(self.window_seconds.is_finite() && self.window_seconds > 0.0) {
            return Err(DataPlaneError::WindowSeconds(self.window_seconds));
        }
        for (key, a) in &self.accounts {
            for (name, v) in [("latencyMs", a.latency_ms), ("jitterMs", a.jitter_ms)] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(DataPlaneError::Duration {
                        key: key.clone(),
                        name,
                        value: v,
                    });
                }
            }
        }
        Ok(())
    }

    /// The settings of an account: each field from the most specific key that sets it
    /// (account name, then region name or display name, then `default`).
    pub fn settings_for(&self, account: &str, region: &str) -> AccountSettings {
        let region = crate::regions::lookup(region);
        let rank = |key: &str| -> Option<u8> {
            if key.eq_ignore_ascii_case(account) {
                Some(0)
            } else if region.is_some() && crate::regions::lookup(key) == region {
                Some(1)
            } else if key.eq_ignore_ascii_case("default") {
                Some(2)
            } else {
                None
            }
        };
        let mut matching: Vec<(u8, &AccountSettings)> = self
            .accounts
            .iter()
            .filter_map(|(k, v)| rank(k).map(|r| (r, v)))
            .collect();
        matching.sort_by_key(|(r, _)| *r);
        let pick = |f: fn(&AccountSettings) -> Option<f64>| matching.iter().find_map(|(_, s)| f(s));
        let pick_u =
            |f: fn(&AccountSettings) -> Option<u64>| matching.iter().find_map(|(_, s)| f(s));
        AccountSettings {
            requests: pick_u(|s| s.requests),
            tokens: pick_u(|s| s.tokens),
            latency_ms: pick(|s| s.latency_ms),
            jitter_ms: pick(|s| s.jitter_ms),
        }
    }
}
