//! Benchmark: apply against the emulator's `azure` latency profile (scaled), on the
//! two-region example and on a generated plan of 10 accounts x 3 deployments.
//!
//! Prints, per plan: wall time; the critical path of the dependency graph under the
//! profile, at ARM's Retry-After granularity; their ratio (goal: at most 1.10); what a
//! one-at-a-time executor would take; request counts. Then a no-op apply of the large
//! plan (reads only). Run with `cargo bench --bench apply`. Asserts nothing but
//! correctness: speed goals are figures to read, not tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aoai_lb::arm::auth::{CredentialChain, StaticToken};
use aoai_lb::arm::{ArmClient, ArmClientOptions};
use aoai_lb::core::model::Model;
use aoai_lb::emulator::{Config, Latency};
use aoai_lb::engine::apply::{self, ApplyOptions, Silent};
use aoai_lb::engine::graph::Cancel;
use aoai_lb::engine::plan::{self, Action};
use aoai_lb::engine::state::LockedState;

#[path = "profile.rs"]
mod profile;

const TIME_SCALE: f64 = 0.02;

/// The emulator for a plan, under the scaled `azure` profile, identities replicated at once.
fn bench_config(model: &Model) -> Config {
    Config {
        latency: Latency::Azure,
        time_scale: TIME_SCALE,
        principal_replication_seconds: Some(0.0),
        ..aoai_lb::emulated::config_for_plan(model)
    }
}

fn load(path: &Path) -> Model {
    aoai_lb::commands::load(path)
        .expect("bench plan loads")
        .model
}

fn large_plan() -> String {
    let regions = [
        "westus",
        "eastus",
        "eastus2",
        "swedencentral",
        "japaneast",
        "francecentral",
        "uksouth",
        "westus3",
        "australiaeast",
        "canadaeast",
    ];
    let mut s = String::from(
        "subscriptionId: 00000000-0000-0000-0000-000000000000\nresourceGroup: { name: rg-bench, location: westus }\naccounts:\n",
    );
    for (i, r) in regions.iter().enumerate() {
        s.push_str(&format!(
            "  - name: aoai-bench-{i:02}\n    location: {r}\n    deployments:\n"
        ));
        for d in 0..3 {
            s.push_str(&format!("      - {{ name: model-{d}, model: gpt-4o, version: \"2024-11-20\", sku: Standard, capacity: 10 }}\n"));
        }
        s.push_str(&format!(
            "    backend: {{ name: backend-{i:02}, priority: 1, weight: {} }}\n",
            1 + i % 3
        ));
    }
    s.push_str("apim:\n  name: apim-bench\n  resourceGroup: rg-apim\n  api: { name: aoai, path: openai, subscriptionKeyHeader: api-key }\n  pool: { name: bench-pool }\n  subscription: { name: bench-clients }\n");
    s
}

struct Figures {
    wall: f64,
    critical: f64,
    sequential: f64,
    requests: aoai_lb::arm::Counts,
    changes: usize,
}

fn run(
    rt: &tokio::runtime::Runtime,
    model: &Model,
    parallelism: usize,
    state_dir: &Path,
) -> Figures {
    let config = bench_config(model);
    let running = rt.block_on(aoai_lb::emulator::start(config, 0)).unwrap();
    let client = ArmClient::new(
        &running.url(),
        CredentialChain::single("bench", StaticToken::new("bench".into())),
        ArmClientOptions::default(),
    )
    .unwrap();
    let state_path = state_dir.join(format!("{}-{parallelism}.json", model.apim.name));
    let locked = LockedState::open(&state_path).unwrap();
    let started = Instant::now();
    let p = rt
        .block_on(plan::plan(&client, model, &locked.state))
        .unwrap();
    let changes = p
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .count();
    let run = apply::Run {
        client: &client,
        model: Some(model),
        plan_file: "bench",
        options: ApplyOptions {
            max_operations: parallelism,
            purge: false,
        },
        observer: Arc::new(Silent),
        cancel: Cancel::default(),
    };
    let (report, locked) = rt.block_on(apply::apply(run, p, locked));
    assert!(report.ok(), "bench apply failed: {:?}", report.failed);
    let wall = started.elapsed().as_secs_f64();
    if std::env::var_os("BENCH_TIMELINE").is_some() {
        let mut t: Vec<_> = report.timeline.iter().collect();
        t.sort_by(|a, b| a.1.0.partial_cmp(&b.1.0).unwrap());
        for (k, (a, b)) in t {
            eprintln!("  {a:7.3} {b:7.3} {:6.3} {k}", b - a);
        }
    }
    drop(locked);
    let (critical, sequential) = profile::critical_path(model, TIME_SCALE);
    let requests = client.counts();
    rt.block_on(running.shutdown());
    Figures {
        wall,
        critical,
        sequential,
        requests,
        changes,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("aoai-lb-bench-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let large_path = dir.join("large.yaml");
    std::fs::write(&large_path, large_plan()).unwrap();
    let repo = &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!(
        "apply benchmark: emulator `azure` profile x {TIME_SCALE} (a 60 s deployment takes {:.1} s)",
        60.0 * TIME_SCALE
    );
    for (name, path) in [
        ("two-regions.yaml", repo.join("examples/two-regions.yaml")),
        ("10 accounts x 3 deployments", large_path.clone()),
    ] {
        let model = load(&path);
        let f = run(&rt, &model, usize::MAX, &dir);
        println!("  {name}: {} changes", f.changes);
        println!("    wall time                 {:>7.2} s", f.wall);
        println!(
            "    critical path (profile)   {:>7.2} s   ratio wall/critical = {:.3} (goal <= 1.10)",
            f.critical,
            f.wall / f.critical
        );
        println!(
            "    one-at-a-time executor    {:>7.2} s   (sum of the profile's operation times)",
            f.sequential
        );
        println!(
            "    ARM requests              {} reads, {} writes, {} polls, {} retries",
            f.requests.reads, f.requests.writes, f.requests.polls, f.requests.retries
        );
        if name == "two-regions.yaml" {
            let one = run(&rt, &model, 1, &dir.join("seq"));
            println!("    measured one at a time:   {:>7.2} s", one.wall);
        }
    }

    // A no-op apply of the large plan: reads only.
    let model = load(&large_path);
    let config = bench_config(&model);
    let running = rt.block_on(aoai_lb::emulator::start(config, 0)).unwrap();
    let client = ArmClient::new(
        &running.url(),
        CredentialChain::single("bench", StaticToken::new("bench".into())),
        ArmClientOptions::default(),
    )
    .unwrap();
    let state_path = dir.join("noop.json");
    for round in 0..2 {
        let locked = LockedState::open(&state_path).unwrap();
        let before = client.counts();
        let started = Instant::now();
        let p = rt
            .block_on(plan::plan(&client, &model, &locked.state))
            .unwrap();
        let run = apply::Run {
            client: &client,
            model: Some(&model),
            plan_file: "bench",
            options: ApplyOptions::default(),
            observer: Arc::new(Silent),
            cancel: Cancel::default(),
        };
        let (report, _locked) = rt.block_on(apply::apply(run, p, locked));
        assert!(report.ok());
        let after = client.counts();
        if round == 1 {
            let reads = after.reads - before.reads;
            let writes = after.writes - before.writes;
            println!(
                "  no-op apply of the large plan: {:.3} s, {reads} reads, {writes} writes, {} polls",
                started.elapsed().as_secs_f64(),
                after.polls - before.polls
            );
            assert_eq!(writes, 0, "a no-op apply wrote");
        }
    }
    rt.block_on(running.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
