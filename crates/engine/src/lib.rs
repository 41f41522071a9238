//! The engine: diff, dependency-graph scheduler and state. It turns a validated model
//! and what ARM says into a [`plan::Plan`] (plain data), executes it with
//! [`apply::apply`], and removes what it created with a plan of deletes.
//!
//! - [`graph`]: the DAG walker (knows nothing of Azure).
//! - [`diff`]: desired vs live, field by field, the way ARM means its values.
//! - [`plan`]: reading Azure and computing the changes.
//! - [`apply`]: executing them, recording state as it goes.
//! - [`state`]: the state file and its lock.
//! - [`traffic`]: verify's traffic through the APIM gateway, and finding its URL and key.

pub mod apply;
pub mod diff;
pub mod graph;
pub mod plan;
pub mod state;
pub mod traffic;
