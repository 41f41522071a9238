//! The local ARM emulator: an HTTP server that behaves like Azure Resource Manager for
//! every endpoint aoai-lb uses. It backs the tests, the benchmarks and the offline demo,
//! and speaks only HTTP: nothing in the product calls into it directly.
//! See docs/emulator.md.
//!
//! Layout: `address` parses paths into typed addresses; `pipeline` takes a request from
//! arrival to answer (auth, faults, api-version, schema, log); `handlers/` do what each
//! resource provider does on the `store`; `ops` runs long-running operations from
//! timestamps; `dataplane` is the APIM gateway and the Azure OpenAI accounts behind it;
//! `faults`, `log`, `seed`, `hooks` and `server` are what their names say.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let running = aoai_lb_emulator::start(aoai_lb_emulator::Config::default(), 0).await?;
//! println!("{}", running.url());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

pub mod address;
mod catalog;
mod clock;
mod config;
pub mod dataplane;
mod faults;
mod handlers;
mod hooks;
mod ids;
mod limits;
mod log;
mod op_urls;
mod ops;
mod pipeline;
pub mod policy;
mod regions;
mod reply;
pub mod schema;
mod seed;
mod server;
mod store;
mod throttle;
pub mod versions;

pub use config::Bucket;
pub use config::{
    AccountSettings, CatalogSettings, Config, ConfigError, DEFAULT_SUBSCRIPTION, DataPlane,
    DataPlaneError, FailLro, Faults, FaultsError, Flags, Latency, LroKind, Seed, SeedApim,
    SeedApimIdentity, SeedIdentity, SeedPrincipal, Throttling, UnknownLroKind,
};
pub use hooks::HOOK_TOKEN_HEADER;
pub use server::{Running, start};
