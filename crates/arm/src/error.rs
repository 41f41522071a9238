//! ARM errors, as users need them: what was asked of which resource, ARM's own status,
//! `code` and `message`, and for failures below HTTP the cause as a `source()` chain.

use std::sync::Arc;
use std::time::Duration;

use super::bound::secs;

/// An error below HTTP (connection refused, reset, TLS), kept for `source()`.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status.
    #[error("{method} {resource}: {status} {code}: {message}")]
    Api {
        method: String,
        resource: String,
        status: u16,
        code: String,
        message: String,
    },
    /// A long-running operation ended Failed or Canceled.
    #[error("{method} {resource}: the operation ended {status}: {code}: {message}")]
    OperationFailed {
        method: String,
        resource: String,
        status: String,
        code: String,
        message: String,
    },
    /// A long-running operation did not finish in time.
    #[error(
        "{method} {resource}: still running after {}; it may finish on its own, run again to converge (--operation-timeout)",
        secs(*after)
    )]
    Timeout {
        method: String,
        resource: String,
        after: Duration,
    },
    /// No response (connection refused, reset, DNS, TLS), after retries.
    #[error("{method} {resource}: no response from ARM: {message}")]
    Transport {
        method: String,
        resource: String,
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// Tries that did not complete within the per-request deadline, after retries.
    #[error(
        "{method} {url}: no complete response from ARM within {} per try, retries included (--request-timeout)",
        secs(*after)
    )]
    Deadline {
        method: String,
        url: String,
        after: Duration,
    },
    /// A response body over the size cap (it is not read further).
    #[error(
        "{method} {url}: the response is larger than {limit} bytes, more than aoai-lb reads from ARM"
    )]
    TooLarge {
        method: String,
        url: String,
        limit: u64,
    },
    /// A success status whose body is not JSON.
    #[error("invalid JSON from ARM for {method} {url}: {source}")]
    InvalidJson {
        method: String,
        url: String,
        status: u16,
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// No credential could produce a token.
    #[error("{0}")]
    Credential(String),
}

/// Why a URL did not parse (`url::ParseError`, named through the `Url` azure_core
/// re-exports, so no direct dependency on `url` is needed).
pub type UrlParseError = <azure_core::http::Url as std::str::FromStr>::Err;

/// The ARM endpoint a client was asked for is not a URL.
#[derive(Clone, Debug, thiserror::Error)]
#[error("ARM endpoint `{endpoint}`: {source}")]
pub struct EndpointError {
    pub endpoint: String,
    #[source]
    pub source: UrlParseError,
}

/// A URL ARM sent to follow (`Azure-AsyncOperation`, `Location`, `nextLink`) that
/// aoai-lb will not follow.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PollUrlError {
    #[error("`{raw}` is not a URL: {source}")]
    NotAUrl {
        raw: String,
        #[source]
        source: UrlParseError,
    },
    /// Not on the ARM endpoint's host: the bearer token would go with it.
    #[error("ARM sent a poll URL on another host ({raw}); refusing to send it a token")]
    OtherHost { raw: String },
}

impl ArmError {
    /// ARM's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api { code, .. } | ArmError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status ARM answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Api { status, .. } | ArmError::InvalidJson { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a later `apply` may succeed without the user changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            ArmError::Api { status, .. } => {
                matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
            }
            ArmError::Timeout { .. } | ArmError::Transport { .. } | ArmError::Deadline { .. } => {
                true
            }
            ArmError::OperationFailed { .. }
            | ArmError::Credential(_)
            | ArmError::TooLarge { .. }
            | ArmError::InvalidJson { .. } => false,
        }
    }
}
