//! What ARM refuses before any resource provider sees a request: a body over its size
//! cap. ARM answers `413` with `RequestContentTooLarge`, "The request content size exceeds
//! the maximum size of 4 MB." (the error users quote: Azure/azure-api-management-devops-resource-kit#594,
//! Azure/ALZ-Bicep#833; the 4 MB figure is also the template limit in learn.microsoft.com
//! "Resolve errors for job size exceeded"). Nesting is bounded where bodies are read:
//! JSON by serde_json's recursion limit (128 levels; deeper is `400 InvalidRequestContent`),
//! policies by `policy::MAX_DEPTH`.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};

use super::reply::ArmError;

/// ARM's request content cap: 4 MB.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// How much of an oversized body is read (and dropped) so the client sees the answer
/// instead of a reset connection; beyond it the connection is closed.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// Over `MAX_REQUEST_BYTES` (read to the end, or up to `DRAIN_BYTES`).
    TooLarge,
    /// The connection failed while the body was read.
    Broken,
}

impl BodyError {
    pub fn arm_error(&self) -> ArmError {
        match self {
            BodyError::TooLarge => ArmError::new(
                413,
                "RequestContentTooLarge",
                "The request content size exceeds the maximum size of 4 MB.",
            ),
            BodyError::Broken => ArmError::bad_request(
                "InvalidRequestContent",
                "The request content could not be read.",
            ),
        }
    }
}

/// Reads a request body of at most `MAX_REQUEST_BYTES`; a larger one is drained, not kept.
pub async fn read_body(mut body: Body) -> Result<Bytes, BodyError> {
    let mut kept: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > DRAIN_BYTES {
            return Err(BodyError::TooLarge);
        }
        if total <= MAX_REQUEST_BYTES {
            kept.extend_from_slice(&data);
        } else {
            kept = Vec::new();
        }
    }
    if total > MAX_REQUEST_BYTES {
        Err(BodyError::TooLarge)
    } else {
        Ok(Bytes::from(kept))
    }
}
