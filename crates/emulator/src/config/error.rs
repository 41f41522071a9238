//! Why a configuration (the config file, the flags of `aoai-lb emulator`, or one handed
//! to `start`) is refused: one typed error, whose message the command prints as is.

use std::path::PathBuf;

use super::dataplane::DataPlaneError;
use super::faults::FaultsError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a configuration; `message` is the parser's, on one line.
    #[error("{}: {message}", path.display())]
    Parse {
        path: PathBuf,
        message: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{flag} `{value}`: expected NAME@RESOURCE_GROUP[@SUBSCRIPTION]")]
    SeedRef { flag: &'static str, value: String },
    #[error("--latency `{0}`: expected `instant` or `azure`")]
    Latency(String),
    #[error(transparent)]
    Faults(#[from] FaultsError),
    #[error(transparent)]
    DataPlane(#[from] DataPlaneError),
    #[error("the time scale must be a number above 0, not {0}")]
    TimeScale(f64),
    #[error("principalReplicationSeconds must be 0 or more, not {0}")]
    ReplicationSeconds(f64),
    #[error("seed identity {name}: `{value}` is not a GUID")]
    IdentityGuid { name: String, value: String },
    #[error("seed principal `{0}` is not a GUID")]
    PrincipalGuid(String),
    #[error("seed role definition `{0}` is not a GUID")]
    RoleDefinitionGuid(String),
    #[error("seed scope `{0}` is not an ARM resource id")]
    Scope(String),
    #[error("{0}")]
    Throttling(String),
}
