//! Diagnostic logs on stderr, from `-v` (what credential, what was written, retries) and
//! `-vv` (every ARM request with status and timing; redacted bodies). Only aoai-lb's own
//! events are shown: library internals stay at warnings, and RUST_LOG is not read, so no
//! library can be talked into logging a header.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::new(format!("warn,aoai_lb={level}"));
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && crate::env::var(crate::env::NO_COLOR).is_none();
    let _ = tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
