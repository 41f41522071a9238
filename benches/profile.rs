//! The critical path of a plan's apply under the emulator's `azure` latency profile
//! (docs/emulator.md, "Latency profiles"), shared by the benchmarks: each operation
//! takes its profile duration, seen done at the first poll at or after it (ARM's
//! Retry-After granularity); the critical path is the longest chain of the dependency
//! graph, the one-at-a-time figure the sum of every operation.

use std::collections::BTreeMap;

use aoai_lb::core::desired::{self, Kind};
use aoai_lb::core::model::Model;

/// (duration, Retry-After) in seconds of each kind's long-running operation under the
/// emulator's `azure` profile; 0 = not long-running.
pub fn profile(kind: Kind) -> (f64, f64) {
    match kind {
        Kind::Account => (30.0, 10.0),
        Kind::Deployment => (60.0, 15.0),
        Kind::ApimIdentity => (20.0, 10.0),
        Kind::Api => (5.0, 2.0),
        _ => (0.0, 0.0),
    }
}

/// An operation that takes `d` and is polled every `ra` is seen done at the first poll
/// at or after `d`.
pub fn at_granularity(d: f64, ra: f64) -> f64 {
    if ra == 0.0 { d } else { (d / ra).ceil() * ra }
}

/// (critical path, one at a time) in seconds, at `time_scale`.
pub fn critical_path(model: &Model, time_scale: f64) -> (f64, f64) {
    let resources = desired::build(model, &Default::default()).unwrap();
    let cost: BTreeMap<&str, f64> = resources
        .iter()
        .map(|r| {
            let (d, ra) = profile(r.kind);
            (r.address.as_str(), at_granularity(d, ra) * time_scale)
        })
        .collect();
    let mut finish: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &resources {
        // Resources come in dependency order.
        let start = r
            .depends_on
            .iter()
            .filter_map(|d| finish.get(d.as_str()))
            .fold(0.0f64, |a, b| a.max(*b));
        finish.insert(r.address.as_str(), start + cost[r.address.as_str()]);
    }
    let critical = finish.values().fold(0.0f64, |a, b| a.max(*b));
    let sequential = cost.values().sum();
    (critical, sequential)
}
