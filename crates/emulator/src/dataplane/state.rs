//! The data plane's live state and what it records: the gateway's request log, breaker
//! trips, account usage, the token limits' counters and the random state of backend
//! choices (`GET /_emulator/dataplane`), and the token metrics (`GET /_emulator/metrics`).

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Value, json};

use super::breaker::Breaker;
use super::metrics::Record;
use super::openai::Usage;
use super::tokens::Counters;
use crate::config::DataPlane;

/// One attempt of a gateway request on a backend.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The backend entity (pool member or single backend), when there is one.
    pub backend: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The backend's status; `None` when no backend was available or reachable.
    pub status: Option<u16>,
    pub at_ms: u64,
}

/// One request the gateway answered; `seq` numbers arrivals.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewayEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The query without subscription keys.
    pub query: String,
    /// The API operation the request matched (none: APIM's own 404 or an earlier refusal).
    pub operation: Option<String>,
    /// The APIM subscription whose key the request carried (its identifier), if any.
    pub subscription: Option<String>,
    pub status: u16,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The region of the response (its `x-ms-region`), if a backend answered.
    pub region: Option<String>,
    pub backend: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// A circuit breaker that tripped.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Trip {
    pub backend: String,
    pub status: u16,
    pub at_ms: u64,
    pub until_ms: u64,
}

/// The data plane's live state: its configuration (replaceable at run time), random
/// state, account budgets, breakers and log. Not persisted: a restart starts afresh.
pub struct DataPlaneState {
    pub config: DataPlane,
    pub(super) rng: StdRng,
    pub usage: BTreeMap<String, Usage>,
    /// By backend id, lower-cased.
    pub breakers: BTreeMap<String, Breaker>,
    pub log: Vec<GatewayEntry>,
    pub trips: Vec<Trip>,
    pub(super) next_seq: u64,
    /// The token limits' windows (`llm-token-limit`, `azure-openai-token-limit`).
    pub token_counters: Counters,
    /// Every token metric the policies emitted (`GET /_emulator/metrics`).
    pub metrics: Vec<Record>,
}

fn rng_for(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    }
}

impl DataPlaneState {
    pub fn new(config: DataPlane) -> DataPlaneState {
        DataPlaneState {
            rng: rng_for(config.seed),
            config,
            usage: BTreeMap::new(),
            breakers: BTreeMap::new(),
            log: Vec::new(),
            trips: Vec::new(),
            next_seq: 0,
            token_counters: Counters::new(),
            metrics: Vec::new(),
        }
    }

    /// A new configuration (`PUT /_emulator/dataplane`): budgets and latencies apply
    /// from the next request; usage, breakers and the log stay; a seed restarts the
    /// random sequence.
    pub fn replace_config(&mut self, config: DataPlane) {
        if config.seed.is_some() {
            self.rng = rng_for(config.seed);
        }
        self.config = config;
    }

    /// What `GET /_emulator/dataplane` shows; requests by arrival (`seq`).
    pub fn view(&self, now: u64) -> Value {
        let breakers: BTreeMap<&String, &Breaker> = self.breakers.iter().collect();
        let mut requests: Vec<&GatewayEntry> = self.log.iter().collect();
        requests.sort_by_key(|e| e.seq);
        json!({
            "nowMs": now,
            "config": self.config,
            "requests": requests,
            "trips": self.trips,
            "breakers": breakers,
            "usage": self.usage,
            "tokenCounters": self.token_counters,
        })
    }
}
