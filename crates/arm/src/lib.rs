//! The ARM layer: authentication, retries, long-running operations and typed reads,
//! on azure_core's pipeline. It knows nothing of plans (that is the engine's job).
//!
//! - [`auth`]: the credential chain and the bearer policy (http only on loopback).
//! - [`retry`]: what is retried, for how long per cause, and who hears of it.
//! - [`bound`]: the per-try deadline and the response size cap.
//! - [`pace`]: waiting before ARM's per-subscription buckets run dry.
//! - [`lro`]: waiting for long-running operations.
//! - [`client`]: [`ArmClient`], the verbs (GET, PUT, PATCH, DELETE, POST).
//! - [`pages`]: collection GETs, `nextLink` followed.
//! - [`resources`]: typed views of what the engine reads back.
//! - [`catalog`]: a region's model catalog (versions, skus, retirement dates).
//! - [`redact`]: keeping secrets out of logs.

pub mod auth;
pub mod bound;
pub mod catalog;
pub mod client;
pub mod env;
pub mod error;
pub mod hints;
pub mod lro;
pub mod observe;
pub mod pace;
pub mod pages;
pub mod redact;
pub mod resources;
pub mod retry;
pub mod stats;

pub use client::{ArmClient, ArmClientOptions, ArmResponse};
pub use error::ArmError;
pub use lro::LroOptions;
pub use pace::PacingOptions;
pub use retry::RetryOptions;
pub use stats::Counts;
