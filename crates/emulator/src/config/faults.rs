//! The fault-injection part of the configuration (`faults` in the config file,
//! `--faults` on the command line), validated once.

use serde::{Deserialize, Serialize};

/// Why a fault spec (`--faults`) or a fault configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultsError {
    #[error("--faults: `{0}` is not KEY=VALUE")]
    NotKeyValue(String),
    #[error("--faults: {key}={value} is not a number")]
    NotANumber { key: String, value: String },
    #[error("--faults: seed={0} is not an unsigned integer")]
    Seed(String),
    #[error("--faults: fail-lro {0}: TIMES is not a number")]
    Times(String),
    #[error("--faults: {0}")]
    LroKind(#[from] UnknownLroKind),
    #[error(
        "--faults: unknown key `{0}` (keys: seed, throttle, server-error, drop, retry-after, fail-lro)"
    )]
    UnknownKey(String),
    #[error("faults.{name} must be between 0 and 1, not {value}")]
    Share { name: &'static str, value: f64 },
    #[error("faults: throttle + serverError + drop must not exceed 1")]
    SharesAboveOne,
    #[error("faults.retryAfterSeconds must be 0 or more, not {0}")]
    RetryAfter(f64),
}

/// A `failLro` kind the emulator does not know.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown fail-lro kind `{0}` (kinds: account, deployment, apim_identity, api, resource_group_delete)"
)]
pub struct UnknownLroKind(pub String);

/// Injected faults. Shares are of product requests (never `/_emulator/`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Faults {
    pub seed: u64,
    pub throttle: f64,
    pub retry_after_seconds: f64,
    pub server_error: f64,
    pub drop: f64,
    pub fail_lro: Vec<FailLro>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            throttle: 0.0,
            retry_after_seconds: 1.0,
            server_error: 0.0,
            drop: 0.0,
            fail_lro: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailLro {
    pub kind: LroKind,
    /// How many operations of this kind fail (the first ones); unset: all of them.
    #[serde(default)]
    pub times: Option<u32>,
}

/// Long-running operations `failLro` can target.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum LroKind {
    Account,
    Deployment,
    ApimIdentity,
    Api,
    ResourceGroupDelete,
}

impl LroKind {
    fn parse(s: &str) -> Result<LroKind, UnknownLroKind> {
        Ok(match s {
            "account" => LroKind::Account,
            "deployment" => LroKind::Deployment,
            "apim_identity" | "apim-identity" => LroKind::ApimIdentity,
            "api" => LroKind::Api,
            "resource_group_delete" | "resource-group-delete" => LroKind::ResourceGroupDelete,
            other => return Err(UnknownLroKind(other.to_string())),
        })
    }
}

impl Faults {
    /// Parses `--faults`: `seed=7,throttle=0.2,server-error=0.05,drop=0.01,retry-after=1,fail-lro=deployment`
    /// over `self`. `fail-lro` takes `KIND[:TIMES]`, repeatable or joined with `+`.
    pub fn apply_spec(&mut self, spec: &str) -> Result<(), FaultsError> {
        let mut fail_lro: Option<Vec<FailLro>> = None;
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| FaultsError::NotKeyValue(part.to_string()))?;
            let (key, value) = (key.trim(), value.trim());
            let share = || -> Result<f64, FaultsError> {
                value.parse::<f64>().map_err(|_| FaultsError::NotANumber {
                    key: key.to_string(),
                    value: value.to_string(),
                })
            };
            match key {
                "seed" => {
                    self.seed = value
                        .parse()
                        .map_err(|_| FaultsError::Seed(value.to_string()))?
                }
                "throttle" => self.throttle = share()?,
                "server-error" | "serverError" => self.server_error = share()?,
                "drop" => self.drop = share()?,
                "retry-after" | "retryAfterSeconds" => self.retry_after_seconds = share()?,
                "fail-lro" | "failLro" => {
                    let list = fail_lro.get_or_insert_with(Vec::new);
                    for item in value.split('+').filter(|i| !i.is_empty()) {
                        let (kind, times) = match item.split_once(':') {
                            Some((k, t)) => (
                                k,
                                Some(
                                    t.parse::<u32>()
                                        .map_err(|_| FaultsError::Times(item.to_string()))?,
                                ),
                            ),
                            None => (item, None),
                        };
                        list.push(FailLro {
                            kind: LroKind::parse(kind)?,
                            times,
                        });
                    }
                }
                other => return Err(FaultsError::UnknownKey(other.to_string())),
            }
        }
        if let Some(list) = fail_lro {
            self.fail_lro = list;
        }
        Ok(())
    }

    pub fn check(&self) -> Result<(), FaultsError> {
        for (name, v) in [
            ("throttle", self.throttle),
            ("serverError", self.server_error),
            ("drop", self.drop),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(FaultsError::Share { name, value: v });
            }
        }
        if self.throttle + self.server_error + self.drop > 1.0 + 1e-9 {
            return Err(FaultsError::SharesAboveOne);
        }
        if !(self.retry_after_seconds.is_finite() && self.retry_after_seconds >= 0.0) {
            return Err(FaultsError::RetryAfter(self.retry_after_seconds));
        }
        Ok(())
    }
}
