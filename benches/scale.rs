//! Benchmark: aoai-lb at scale under ARM's bucket model (issue 14 items 5-6). For plans
//! of 10 and 50 accounts x 3 deployments, the `aoai-lb` binary (a child process) applies
//! the plan to an emulator with ARM's subscription token buckets on (reads 250 + 25/s,
//! writes and deletes 200 + 10/s, on the emulator's clock) and the `azure` latency
//! profile, scaled; then plans again (a no-op). Prints, for each: wall time, ARM requests
//! by kind from the emulator's request log, 429s; for the apply, the critical path of its
//! operations under the profile (benches/profile.rs, plus the service PATCH that records
//! the reliance on its identity after the walk) and the ratio (goal: at most 1.10,
//! no 429) and the child's peak memory (wait4's maxrss). Run with
//! `cargo bench --bench scale`. Asserts only correctness: the figures are to be read.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use aoai_lb::core::model::Model;
use aoai_lb::emulator::{Config, Latency, Running};
use serde_json::Value;

#[path = "profile.rs"]
mod profile;
#[path = "../tests/it/scale_plan.rs"]
mod scale_plan;

/// The emulator's `timeScale` (default 0.02: a 60 s deployment takes 1.2 s).
/// `AOAI_LB_BENCH_TIME_SCALE` overrides it: the less time is compressed, the less the
/// machine's own overhead (process start, JSON, the requests themselves) weighs against
/// Azure's durations, so 0.1 or 1 shows the ratio a real apply would have.
fn time_scale() -> f64 {
    std::env::var("AOAI_LB_BENCH_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v <= 1.0)
        .unwrap_or(0.02)
}

fn plan_of(accounts: usize) -> String {
    scale_plan::scale_plan("scale", accounts)
}

/// What one run of the binary took.
struct Child {
    wall: f64,
    /// Peak resident set, KiB (wait4's ru_maxrss on Linux).
    max_rss_kib: i64,
    code: i32,
}

/// Runs `aoai-lb ARGS PLAN` against the emulator and waits for it with wait4, which
/// gives that child's own resource usage.
fn child(emu: &Running, dir: &Path, args: &[&str]) -> Child {
    let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let started = Instant::now();
    // Reaped by wait4 below, which (unlike Child::wait) gives the child's own rusage.
    #[allow(clippy::zombie_processes)]
    let spawned = Command::new(env!("CARGO_BIN_EXE_aoai-lb"))
        .args(args)
        .arg(dir.join("plan.yaml"))
        .env("AOAI_LB_ARM_ENDPOINT", emu.url())
        .env("AOAI_LB_ACCESS_TOKEN", "bench")
        .env("AOAI_LB_STATE", dir.join("state.json"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("aoai-lb starts");
    let pid = spawned.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Child {
        wall: started.elapsed().as_secs_f64(),
        max_rss_kib: usage.ru_maxrss,
        code,
    }
}

/// The emulator's request log.
fn requests(rt: &tokio::runtime::Runtime, emu: &Running) -> Vec<Value> {
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/_emulator/requests", emu.url()))
            .header(aoai_lb::emulator::HOOK_TOKEN_HEADER, emu.hook_token())
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    })
}

/// Requests by kind: (resource reads, catalog reads, polls, writes, deletes, 429s).
#[derive(Debug, Default)]
struct Tally {
    reads: usize,
    catalog: usize,
    polls: usize,
    writes: usize,
    deletes: usize,
    throttled: usize,
}

fn tally(log: &[Value]) -> Tally {
    let mut t = Tally::default();
    for r in log {
        let path = r["path"].as_str().unwrap_or_default().to_lowercase();
        let query = r["query"].as_str().unwrap_or_default().to_lowercase();
        if r["status"] == 429 {
            t.throttled += 1;
        }
        match r["method"].as_str().unwrap_or_default() {
            "GET" | "HEAD" => {
                if path.contains("/operationresults/")
                    || path.contains("/operationstatuses/")
                    || query.contains("asyncid=")
                {
                    t.polls += 1;
                } else if path.contains("/providers/microsoft.cognitiveservices/locations/") {
                    t.catalog += 1;
                } else {
                    t.reads += 1;
                }
            }
            "DELETE" => t.deletes += 1,
            _ => t.writes += 1,
        }
    }
    t
}

fn show(t: &Tally) -> String {
    format!(
        "{} resource reads (+{} catalog), {} polls, {} writes, {} deletes; {} throttled (429)",
        t.reads, t.catalog, t.polls, t.writes, t.deletes, t.throttled
    )
}

fn config(model: &Model) -> Config {
    let mut c = Config {
        latency: Latency::Azure,
        time_scale: time_scale(),
        principal_replication_seconds: Some(0.0),
        ..aoai_lb::emulated::config_for_plan(model)
    };
    c.throttling.enabled = true;
    c
}

fn bench(rt: &tokio::runtime::Runtime, accounts: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.yaml"), plan_of(accounts)).unwrap();
    let model = aoai_lb::commands::load(&dir.path().join("plan.yaml"))
        .expect("bench plan loads")
        .model;
    let emu = rt
        .block_on(aoai_lb::emulator::start(config(&model), 0))
        .unwrap();
    let apply = child(&emu, dir.path(), &["apply", "--yes", "--parallelism", "64"]);
    let log = requests(rt, &emu);
    assert_eq!(
        apply.code,
        0,
        "apply failed: {}",
        std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
    );
    let (critical, sequential) = profile::critical_path(&model, time_scale());
    // After the walk, the apply command records on the APIM service that this
    // deployment relies on its identity: a long-running PATCH of the service (20 s,
    // Retry-After 10 s under the profile, like the identity PATCH).
    let (d, ra) = profile::profile(aoai_lb::core::desired::Kind::ApimIdentity);
    let reliance = profile::at_granularity(d, ra) * time_scale();
    let (critical, sequential) = (critical + reliance, sequential + reliance);
    println!("  {accounts} accounts x 3 deployments");
    println!(
        "    apply          {:>7.2} s   critical path {:.2} s   ratio {:.3} (goal <= 1.10)   one at a time {:.2} s",
        apply.wall,
        critical,
        apply.wall / critical,
        sequential
    );
    println!("                   {}", show(&tally(&log)));
    println!(
        "                   peak memory (maxrss of the aoai-lb process) {:.1} MiB",
        apply.max_rss_kib as f64 / 1024.0
    );
    let before = log.len();
    let plan = child(&emu, dir.path(), &["plan"]);
    assert_eq!(plan.code, 0, "the no-op plan failed");
    let log = requests(rt, &emu);
    println!(
        "    no-op plan     {:>7.2} s   {}   peak memory {:.1} MiB",
        plan.wall,
        show(&tally(&log[before..])),
        plan.max_rss_kib as f64 / 1024.0
    );
    rt.block_on(emu.shutdown());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "scale benchmark: aoai-lb (child process) against the emulator, ARM's token buckets on, `azure` profile x {} (a 60 s deployment takes {:.1} s; buckets refill on the same clock)",
        time_scale(),
        60.0 * time_scale()
    );
    for accounts in [10, 50] {
        bench(&rt, accounts);
    }
}
