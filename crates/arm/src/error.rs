//! ARM errors, as users need them: what was asked of which resource, and ARM's own
//! `code` and `message`.

use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArmError {
    /// ARM answered with an error status.
    Api {
        method: String,
        resource: String,
        status: u16,
        code: String,
        message: String,
    },
    /// A long-running operation ended Failed or Canceled.
    OperationFailed {
        method: String,
        resource: String,
        status: String,
        code: String,
        message: String,
    },
    /// A long-running operation did not finish in time.
    Timeout {
        method: String,
        resource: String,
        after: Duration,
    },
    /// No response (connection refused, reset, DNS, TLS), after retries.
    Transport {
        method: String,
        resource: String,
        message: String,
    },
    /// No credential could produce a token.
    Credential(String),
}

impl ArmError {
    /// ARM's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api { code, .. } | ArmError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a later `apply` may succeed without the user changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            ArmError::Api { status, .. } => {
                matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
            }
            ArmError::Timeout { .. } | ArmError::Transport { .. } => true,
            ArmError::OperationFailed { .. } | ArmError::Credential(_) => false,
        }
    }
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArmError::Api {
                method,
                resource,
                status,
                code,
                message,
            } => {
                write!(f, "{method} {resource}: {status} {code}: {message}")
            }
            ArmError::OperationFailed {
                method,
                resource,
                status,
                code,
                message,
            } => {
                write!(
                    f,
                    "{method} {resource}: the operation ended {status}: {code}: {message}"
                )
            }
            ArmError::Timeout {
                method,
                resource,
                after,
            } => {
                write!(
                    f,
                    "{method} {resource}: still running after {}s; it may finish on its own, run again to converge",
                    after.as_secs()
                )
            }
            ArmError::Transport {
                method,
                resource,
                message,
            } => {
                write!(f, "{method} {resource}: no response from ARM: {message}")
            }
            ArmError::Credential(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ArmError {}
