//! The engine: diff, dependency-graph scheduler and state. It turns a validated model
//! and what ARM says into a [`plan::Plan`] (plain data: each change carries its
//! request), executes it with [`apply::apply`], and removes what it created with a
//! plan of deletes that ends by putting the APIM identity back.
//!
//! - [`graph`]: the DAG walker (knows nothing of Azure).
//! - [`diff`]: desired vs live, field by field, the way ARM means its values.
//! - [`plan`]: reading Azure and computing the changes.
//! - [`reads`]: reading Azure through its collection GETs.
//! - [`preflight`]: the plan's deployments against ARM's live model catalog and quotas
//!   ([`quota`]).
//! - [`request`]: the request each change sends, and the placeholders apply fills.
//! - [`apply`]: executing a plan; [`execute`]: one change of it.
//! - [`import`]: adopting what exists, by writing the ownership marks
//!   ([`import_marks`]) and recording it in the state.
//! - [`ownership`]: acting only on what carries this deployment's mark; finding it
//!   without the state file.
//! - [`reliance`]: who relies on a shared APIM service's identity.
//! - [`replace`]: replacements (what ARM cannot change in place) and soft-deleted accounts.
//! - [`state`]: the state file and its lock.
//! - [`clients`]: verify's per-client token check.
//! - [`traffic`]: verify's traffic through the APIM gateway, and finding its URL and key.
//! - [`deployments`]: verify's check of every deployment's own pool (a pool per deployment).
//! - [`error`]: why a change failed.

pub mod apply;
pub mod clients;
pub mod deployments;
pub mod diff;
pub mod error;
pub mod execute;
pub mod graph;
pub mod import;
pub mod import_marks;
pub mod ownership;
pub mod plan;
pub mod preflight;
pub mod quota;
pub mod reads;
pub mod reliance;
pub mod replace;
pub mod request;
pub mod saved;
pub mod state;
pub mod traffic;
