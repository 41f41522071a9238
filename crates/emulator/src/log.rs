//! The request log (`GET /_emulator/requests`): what ARM saw, in arrival order, with
//! timings, injected faults and too-early polls, so tests assert on behaviour instead of
//! sleeping.

use serde::Serialize;

/// One product request.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// None when the connection was dropped.
    pub status: Option<u16>,
    pub start_ms: u64,
    pub end_ms: u64,
    pub fault: Option<String>,
    pub early: bool,
}

#[derive(Default)]
pub struct RequestLog {
    next_seq: u64,
    entries: Vec<Entry>,
}

impl RequestLog {
    /// The sequence number of a request that just arrived.
    pub fn begin(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn record(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// Every entry, by sequence number.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = self.entries.clone();
        out.sort_by_key(|e| e.seq);
        out
    }

    pub fn clear(&mut self) {
        *self = RequestLog::default();
    }
}
