//! The emulator's configuration: the config file of docs/emulator.md (YAML or JSON),
//! merged with the command-line flags (flags win). Validated here, once, so the server
//! never sees a share above 1 or a negative time scale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod dataplane;
mod error;
mod faults;
mod throttling;

pub use dataplane::{AccountSettings, DataPlane, DataPlaneError};
pub use error::ConfigError;
pub use faults::{FailLro, Faults, FaultsError, LroKind, UnknownLroKind};
pub use throttling::{Bucket, Throttling};

/// The subscription a seed lands in when none is given.
pub const DEFAULT_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

fn default_subscription() -> String {
    DEFAULT_SUBSCRIPTION.to_string()
}
fn default_location() -> String {
    "westus".to_string()
}
fn default_apim_sku() -> String {
    "Developer".to_string()
}
fn default_principal_type() -> String {
    "ServicePrincipal".to_string()
}

/// `catalog:` in the configuration file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CatalogSettings {
    /// The day (`YYYY-MM-DD`) retirement dates are compared with; unset: the snapshot's
    /// own date (`snapshot.date` of data/model-catalog.json), never the wall clock, so
    /// what the emulator accepts changes only with the snapshot.
    pub today: Option<String>,
    /// Model versions (`"gpt-4o 2024-08-06"`) the emulator's subscriptions have deployed
    /// before, outside this run: Azure's "existing customers", who may still deploy a
    /// version in the Deprecated stage (Models_List `Deprecating`); new customers may not.
    pub deployed_before: Vec<String>,
}

impl CatalogSettings {
    /// Whether `deployedBefore` names `name` `version` (names compared case-insensitively).
    pub fn deployed_before(&self, name: &str, version: &str) -> bool {
        self.deployed_before.iter().any(|d| {
            d.split_once(' ')
                .is_some_and(|(n, v)| n.eq_ignore_ascii_case(name) && v.trim() == version)
        })
    }
}

/// Everything the emulator can be told. `Default` is the `instant` profile with no faults.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    pub seed: Seed,
    pub latency: Latency,
    /// Multiplies every `azure` duration and every `Retry-After`.
    pub time_scale: f64,
    /// How long (scaled) a new identity's principal is unknown to role assignments.
    /// Unset: 20 s under `azure`, 0 under `instant`.
    pub principal_replication_seconds: Option<f64>,
    /// Capacity per subscription, region and deployment sku (`default` for the others);
    /// merged over the built-in quotas.
    pub quota: BTreeMap<String, u64>,
    pub faults: Faults,
    /// The data plane: the APIM gateway and the Azure OpenAI accounts behind it.
    pub data_plane: DataPlane,
    /// The model catalog snapshot's settings (catalog.rs).
    pub catalog: CatalogSettings,
    /// ARM's subscription token buckets (throttle.rs); off by default.
    pub throttling: Throttling,
    /// Where every resource is persisted (the `--state-file` flag; not a config-file key).
    #[serde(skip)]
    pub state_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: Seed::default(),
            latency: Latency::Instant,
            time_scale: 1.0,
            principal_replication_seconds: None,
            quota: BTreeMap::new(),
            faults: Faults::default(),
            data_plane: DataPlane::default(),
            catalog: CatalogSettings::default(),
            throttling: Throttling::default(),
            state_file: None,
        }
    }
}

/// Resources that exist before the first request (and after `POST /_emulator/reset`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Seed {
    pub apim: Vec<SeedApim>,
    pub user_assigned_identities: Vec<SeedIdentity>,
    /// Directory principals other than identities (e.g. users), usable in role
    /// assignments at once.
    pub principals: Vec<SeedPrincipal>,
    /// Ids of resources the emulator does not model but that exist as role-assignment
    /// scopes (e.g. a Cosmos DB account).
    pub scopes: Vec<String>,
    /// Custom role definition GUIDs accepted besides the built-in roles.
    pub role_definitions: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedApim {
    pub name: String,
    pub resource_group: String,
    #[serde(default = "default_subscription")]
    pub subscription: String,
    #[serde(default = "default_location")]
    pub location: String,
    #[serde(default = "default_apim_sku")]
    pub sku: String,
    #[serde(default)]
    pub identity: SeedApimIdentity,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum SeedApimIdentity {
    #[default]
    None,
    SystemAssigned,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedIdentity {
    pub name: String,
    pub resource_group: String,
    #[serde(default = "default_subscription")]
    pub subscription: String,
    #[serde(default = "default_location")]
    pub location: String,
    /// Fixed ids instead of generated ones.
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPrincipal {
    pub id: String,
    #[serde(rename = "type", default = "default_principal_type")]
    pub principal_type: String,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Latency {
    /// Every long-running operation is complete at its first poll.
    #[default]
    Instant,
    /// Durations close to real Azure, times `timeScale`.
    Azure,
}

/// The command line of a running emulator (`aoai-lb emulator`), as plain values: the
/// binary that hosts the emulator parses its flags and hands them over.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// `NAME@RG[@SUBSCRIPTION]` API Management services to seed.
    pub seed_apim: Vec<String>,
    /// `NAME@RG[@SUBSCRIPTION]` user-assigned identities to seed.
    pub seed_identity: Vec<String>,
    /// A configuration file (YAML or JSON).
    pub config: Option<PathBuf>,
    /// Where the emulator keeps its store between runs.
    pub state_file: Option<PathBuf>,
    /// `instant` or `azure`.
    pub latency: Option<String>,
    pub time_scale: Option<f64>,
    /// A fault spec, e.g. `throttle=0.2,error=0.05`.
    pub faults: Option<String>,
}

/// `NAME@RG[@SUBSCRIPTION]`.
fn parse_seed_ref(
    flag: &'static str,
    value: &str,
) -> Result<(String, String, String), ConfigError> {
    let parts: Vec<&str> = value.split('@').collect();
    let bad = || ConfigError::SeedRef {
        flag,
        value: value.to_string(),
    };
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.trim().is_empty()) {
        return Err(bad());
    }
    let sub = parts
        .get(2)
        .map_or_else(default_subscription, |s| s.to_string());
    Ok((parts[0].to_string(), parts[1].to_string(), sub))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Config {
    /// The `instant` configuration seeded with an API Management service (as a plan
    /// expects one to exist already), in `location`, with no identity.
    pub fn for_service(
        subscription: &str,
        resource_group: &str,
        name: &str,
        location: &str,
    ) -> Config {
        let mut config = Config::default();
        config.seed.apim.push(SeedApim {
            name: name.into(),
            resource_group: resource_group.into(),
            subscription: subscription.into(),
            location: location.into(),
            sku: default_apim_sku(),
            identity: SeedApimIdentity::None,
        });
        config
    }

    /// Adds a user-assigned identity to the seed (its principal and client ids are issued
    /// when the emulator starts).
    pub fn with_user_identity(
        mut self,
        subscription: &str,
        resource_group: &str,
        name: &str,
        location: &str,
    ) -> Config {
        self.seed.user_assigned_identities.push(SeedIdentity {
            name: name.into(),
            resource_group: resource_group.into(),
            subscription: subscription.into(),
            location: location.into(),
            principal_id: None,
            client_id: None,
        });
        self
    }

    /// Reads a configuration file: JSON when it ends in `.json` or starts with `{`, else YAML.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let json =
            path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
        type Source = Box<dyn std::error::Error + Send + Sync>;
        let parsed: Result<Config, Source> = if json {
            serde_json::from_str::<Config>(&text).map_err(Source::from)
        } else if text.trim().is_empty() {
            Ok(Config::default())
        } else {
            serde_saphyr::from_str::<Config>(&text).map_err(Source::from)
        };
        parsed.map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&source.to_string()),
            source,
        })
    }

    /// The configuration of `aoai-lb emulator`: the `--config` file, then the flags over it.
    pub fn from_args(args: &Flags) -> Result<Config, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        for value in &args.seed_apim {
            let (name, resource_group, subscription) = parse_seed_ref("--seed-apim", value)?;
            config.seed.apim.push(SeedApim {
                name,
                resource_group,
                subscription,
                location: default_location(),
                sku: default_apim_sku(),
                identity: SeedApimIdentity::None,
            });
        }
        for value in &args.seed_identity {
            let (name, resource_group, subscription) = parse_seed_ref("--seed-identity", value)?;
            config.seed.user_assigned_identities.push(SeedIdentity {
                name,
                resource_group,
                subscription,
                location: default_location(),
                principal_id: None,
                client_id: None,
            });
        }
        if let Some(latency) = &args.latency {
            config.latency = match latency.as_str() {
                "instant" => Latency::Instant,
                "azure" => Latency::Azure,
                other => return Err(ConfigError::Latency(other.to_string())),
            };
        }
        if let Some(scale) = args.time_scale {
            config.time_scale = scale;
        }
        if let Some(spec) = &args.faults {
            config.faults.apply_spec(spec)?;
        }
        if let Some(file) = &args.state_file {
            config.state_file = Some(file.clone());
        }
        config.check()?;
        Ok(config)
    }

    /// Every rule a configuration must follow.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(ConfigError::TimeScale(self.time_scale));
        }
        if let Some(s) = self.principal_replication_seconds
            && !(s.is_finite() && s >= 0.0)
        {
            return Err(ConfigError::ReplicationSeconds(s));
        }
        self.faults.check()?;
        self.data_plane.check()?;
        self.throttling.check().map_err(ConfigError::Throttling)?;
        let guid = crate::ids::is_guid;
        for id in &self.seed.user_assigned_identities {
            for v in [&id.principal_id, &id.client_id].into_iter().flatten() {
                if !guid(v) {
                    return Err(ConfigError::IdentityGuid {
                        name: id.name.clone(),
                        value: v.clone(),
                    });
                }
            }
        }
        for p in &self.seed.principals {
            if !guid(&p.id) {
                return Err(ConfigError::PrincipalGuid(p.id.clone()));
            }
        }
        for r in &self.seed.role_definitions {
            if !guid(r) {
                return Err(ConfigError::RoleDefinitionGuid(r.clone()));
            }
        }
        for s in &self.seed.scopes {
            if !s.to_ascii_lowercase().starts_with("/subscriptions/") {
                return Err(ConfigError::Scope(s.clone()));
            }
        }
        Ok(())
    }

    /// A duration in the configured profile and scale, in milliseconds.
    pub fn scaled_ms(&self, seconds: f64) -> u64 {
        match self.latency {
            Latency::Instant => 0,
            Latency::Azure => (seconds * 1000.0 * self.time_scale).round() as u64,
        }
    }

    /// The replication window of new principals, in milliseconds.
    pub fn replication_ms(&self) -> u64 {
        let seconds = self
            .principal_replication_seconds
            .unwrap_or(match self.latency {
                Latency::Instant => 0.0,
                Latency::Azure => 20.0,
            });
        (seconds * 1000.0 * self.time_scale).round() as u64
    }

    /// A data-plane duration (Azure seconds) in real milliseconds: scaled in both profiles.
    pub fn data_plane_ms(&self, seconds: f64) -> u64 {
        (seconds * 1000.0 * self.time_scale).round().max(0.0) as u64
    }

    /// The day retirement dates are compared with: `catalog.today`, else the snapshot's date.
    pub fn catalog_today(&self) -> String {
        self.catalog
            .today
            .clone()
            .unwrap_or_else(|| crate::catalog::snapshot_date().to_string())
    }

    /// The quota of one deployment sku.
    pub fn quota(&self, sku: &str) -> u64 {
        let built_in = |s: &str| match s {
            "GlobalStandard" => 450,
            _ => 300,
        };
        let find = |key: &str| {
            self.quota
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| *v)
        };
        find(sku)
            .or_else(|| find("default"))
            .unwrap_or_else(|| built_in(sku))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Flags {
        Flags {
            seed_apim: vec![],
            seed_identity: vec![],
            config: None,
            state_file: None,
            latency: None,
            time_scale: None,
            faults: None,
        }
    }

    #[test]
    fn the_documented_config_file_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emulator.yaml");
        std::fs::write(
            &path,
            r#"
seed:
  apim:
    - { name: apim-aoai-lb, resourceGroup: rg-apim, subscription: 00000000-0000-0000-0000-000000000000,
        location: westus, sku: Developer, identity: None }
  userAssignedIdentities:
    - { name: apim-id, resourceGroup: rg-apim, subscription: 00000000-0000-0000-0000-000000000000, location: westus }
latency: azure
timeScale: 0.01
principalReplicationSeconds: 20
quota:
  Standard: 300
  GlobalStandard: 450
  default: 300
catalog:
  today: 2026-03-01
  deployedBefore: ["gpt-4o 2024-08-06"]
faults:
  seed: 42
  throttle: 0.2
  retryAfterSeconds: 1
  serverError: 0.05
  drop: 0.0
  failLro:
    - { kind: deployment, times: 1 }
dataPlane:
  seed: 7
  windowSeconds: 60
  accounts:
    default: { latencyMs: 400, jitterMs: 100 }
    eastus: { requests: 100, tokens: 20000 }
    aoai-nov26-instance1: { requests: 0 }
"#,
        )
        .unwrap();
        let mut a = args();
        a.config = Some(path);
        a.time_scale = Some(0.5);
        a.seed_apim = vec!["other@rg2@sub2".into()];
        let c = Config::from_args(&a).unwrap();
        assert_eq!(c.latency, Latency::Azure);
        assert_eq!(c.time_scale, 0.5, "the flag wins");
        assert_eq!(c.seed.apim.len(), 2);
        assert_eq!(c.seed.apim[1].subscription, "sub2");
        assert_eq!(c.faults.fail_lro[0].kind, LroKind::Deployment);
        assert_eq!(c.faults.fail_lro[0].times, Some(1));
        assert_eq!(c.quota("GlobalStandard"), 450);
        assert_eq!(c.quota("DataZoneStandard"), 300);
        assert_eq!(c.replication_ms(), 10_000);
        assert_eq!(c.scaled_ms(60.0), 30_000);
        assert_eq!(c.data_plane.seed, Some(7));
        let east = c.data_plane.settings_for("aoai-nov26-instance2", "East US");
        assert_eq!(
            (east.requests, east.tokens, east.latency_ms),
            (Some(100), Some(20000), Some(400.0))
        );
        let west = c.data_plane.settings_for("AOAI-nov26-instance1", "westus");
        assert_eq!((west.requests, west.jitter_ms), (Some(0), Some(100.0)));
        assert_eq!(c.data_plane_ms(60.0), 30_000);
        assert_eq!(c.catalog_today(), "2026-03-01");
        assert!(c.catalog.deployed_before("GPT-4o", "2024-08-06"));
        assert!(!c.catalog.deployed_before("gpt-4o", "2024-05-13"));
    }

    #[test]
    fn data_plane_settings_are_checked() {
        let mut c = Config::default();
        c.data_plane.window_seconds = 0.0;
        assert!(c.check().unwrap_err().to_string().contains("windowSeconds"));
        c.data_plane.window_seconds = 60.0;
        c.data_plane.accounts.insert(
            "westus".into(),
            AccountSettings {
                latency_ms: Some(-1.0),
                ..Default::default()
            },
        );
        assert!(c.check().unwrap_err().to_string().contains("latencyMs"));
        // Instant profile: data-plane durations still scale.
        assert_eq!(Config::default().data_plane_ms(1.5), 1500);
    }

    #[test]
    fn flags_are_checked() {
        let mut a = args();
        a.faults = Some("seed=7,throttle=0.2,server-error=0.05,drop=0.01,retry-after=1,fail-lro=deployment+api:2".into());
        let c = Config::from_args(&a).unwrap();
        assert_eq!(c.faults.seed, 7);
        assert_eq!(c.faults.fail_lro.len(), 2);
        assert_eq!(c.faults.fail_lro[1].times, Some(2));
        for (field, value, message) in [
            ("faults", "throttle=2", "between 0 and 1"),
            ("faults", "bogus=1", "unknown key `bogus`"),
            ("faults", "fail-lro=nothing", "unknown fail-lro kind"),
            ("faults", "throttle=0.6,drop=0.6", "must not exceed 1"),
            ("latency", "slow", "expected `instant` or `azure`"),
            ("seed", "no-group", "expected NAME@RESOURCE_GROUP"),
            ("scale", "0", "above 0"),
        ] {
            let mut a = args();
            match field {
                "faults" => a.faults = Some(value.into()),
                "latency" => a.latency = Some(value.into()),
                "seed" => a.seed_apim = vec![value.into()],
                _ => a.time_scale = Some(value.parse().unwrap()),
            }
            let err = Config::from_args(&a).unwrap_err().to_string();
            assert!(err.contains(message), "{value}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn config_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "latency: azure\nbogus: 1\n").unwrap();
        let mut a = args();
        a.config = Some(path.clone());
        let err = Config::from_args(&a).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("bogus"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        std::fs::write(&path, "{\"timeScale\": 0.1}").unwrap();
        assert_eq!(Config::from_args(&a).unwrap().time_scale, 0.1);
    }

    #[test]
    fn instant_has_no_durations() {
        let c = Config::default();
        assert_eq!(c.scaled_ms(60.0), 0);
        assert_eq!(c.replication_ms(), 0);
    }
}
