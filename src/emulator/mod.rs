//! The local ARM emulator: an HTTP server that behaves like Azure Resource Manager for
//! every endpoint aoai-lb uses. It backs the tests, the benchmarks and the offline demo,
//! and speaks only HTTP: nothing in the product calls into it directly.
//! See docs/emulator.md.

pub mod schema;
