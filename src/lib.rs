//! aoai-lb: Azure OpenAI accounts behind one Azure API Management backend pool, from
//! one YAML plan.
//!
//! - [`core`]: the pure core (plan -> model -> desired ARM resources -> bodies, policy, spec).
//! - [`arm`]: the ARM layer (auth, retries, long-running operations), plan-agnostic.
//! - [`commands`]: one module per subcommand, thin over the core.
//! - [`engine`]: plan (diff), apply (dependency graph), state.
//! - [`emulator`]: the local ARM emulator (HTTP only), with the APIM data plane.
//! - [`verify`]: expected shares, the goodness-of-fit test and the chart of `verify`.
//! - [`cli`], [`printer`], [`exit`], [`env`]: the command line, output, exit statuses and
//!   environment variables, each in one place.
//!
//! See DEVELOPERS.md for the architecture and where the ARM layer, the engine and the
//! emulator go.

pub mod arm;
pub mod cli;
pub mod commands;
pub mod core;
pub mod emulator;
pub mod engine;
pub mod env;
pub mod exit;
pub mod github;
pub mod logging;
pub mod printer;
pub mod verify;
pub mod views;
