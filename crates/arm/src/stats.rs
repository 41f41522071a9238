//! Request counts by kind, so the engine and the benchmarks can report ARM reads,
//! writes, polls and retries.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What a request is for; put in the request's context by the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestClass {
    Read,
    Write,
    Poll,
}

#[derive(Debug, Default)]
pub struct Stats {
    reads: AtomicU64,
    writes: AtomicU64,
    polls: AtomicU64,
    retries: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// GETs of resources (each attempt counts).
    pub reads: u64,
    /// PUT, PATCH, DELETE and POST attempts.
    pub writes: u64,
    /// GETs of long-running operation status.
    pub polls: u64,
    /// Attempts that were retries of an earlier one.
    pub retries: u64,
}

impl Stats {
    pub fn record(&self, class: RequestClass) {
        let counter = match class {
            RequestClass::Read => &self.reads,
            RequestClass::Write => &self.writes,
            RequestClass::Poll => &self.polls,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            polls: self.polls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}
