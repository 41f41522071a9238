//! aoai-lb: Azure OpenAI accounts behind one Azure API Management backend pool, from
//! one YAML plan. This crate is the binary's library: the command line, one module per
//! subcommand, the views and the printer. The work lives in the workspace's other
//! crates, re-exported here as a facade (as kube-rs does):
//!
//! - [`core`] (`aoai-lb-core`): the pure core (plan -> model -> desired ARM resources ->
//!   bodies, policy, spec) and verify's math and chart.
//! - [`arm`] (`aoai-lb-arm`): the ARM client (auth, retries, long-running operations),
//!   plan-agnostic.
//! - [`engine`] (`aoai-lb-engine`): plan (diff), apply (dependency graph), state.
//! - [`emulator`] (`aoai-lb-emulator`): the local ARM emulator (HTTP only), with the APIM
//!   data plane; it shares no code with the others.
//! - [`cli`], [`printer`], [`exit`], [`env`]: the command line, output, exit statuses and
//!   environment variables, each in one place.
//!
//! See DEVELOPERS.md for the architecture.

pub use aoai_lb_arm as arm;
pub use aoai_lb_core as core;
pub use aoai_lb_core::verify;
pub use aoai_lb_emulator as emulator;
pub use aoai_lb_engine as engine;

pub mod cli;
pub mod commands;
pub mod emulated;
pub mod env;
pub mod exit;
pub mod logging;
pub mod printer;
pub mod views;

pub use views::github;
