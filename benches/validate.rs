//! Benchmark: how long `validate` takes on a large plan (50 accounts x 3 deployments).
//!
//! Run with `cargo bench --bench validate`. Prints figures; asserts nothing (speed goals
//! live here, not in timed tests). Goal from issue 2: well under 50 ms.

use std::time::{Duration, Instant};

use aoai_lb::core::desired::{self, Facts};
use aoai_lb::core::validate::{Context, Files, validate};
use aoai_lb::core::{parse, render};

const REGIONS: &[&str] = &[
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

fn large_plan(accounts: usize, deployments: usize) -> String {
    let mut s = String::from(
        "subscriptionId: 00000000-0000-0000-0000-000000000000\nresourceGroup:\n  name: rg-bench\n  location: westus\ntags:\n  project: bench\naccounts:\n",
    );
    for i in 0..accounts {
        s.push_str(&format!(
            "  - name: aoai-bench-{i:03}\n    location: {}\n    deployments:\n",
            REGIONS[i % REGIONS.len()]
        ));
        for d in 0..deployments {
            s.push_str(&format!(
                "      - {{ name: model-{d}, model: gpt-4o, version: \"2024-11-20\", sku: Standard, capacity: 10 }}\n"
            ));
        }
        s.push_str(&format!(
            "    backend: {{ name: backend-{i:03}, priority: {}, weight: {} }}\n",
            1 + i % 3,
            1 + i % 7
        ));
    }
    s.push_str(
        "apim:\n  name: apim-bench\n  identity: SystemAssigned\n  api:\n    name: aoai\n    path: openai\n    spec: 2024-10-21\n    subscriptionKeyHeader: api-key\n  pool:\n    name: bench-pool\n    circuitBreaker:\n      failures: 3\n      interval: PT1M\n      statusCodes: [\"429\", \"500-599\"]\n      tripDuration: PT1M\n      acceptRetryAfter: true\n  policy:\n    template: pool\n  subscription:\n    name: bench-clients\n",
    );
    s
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (samples[0], p(0.5), p(0.95))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let text = large_plan(50, 3);
    let ctx = Context::default();
    let files = Files::new();

    // In-process: parse + validate (what `validate` does before printing).
    let mut validate_samples = Vec::new();
    let mut build_samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let plan = parse::parse(&text).expect("bench plan parses");
        let outcome = validate(&plan, &ctx, &files);
        let model = outcome.model.expect("bench plan is valid");
        validate_samples.push(t.elapsed());
        let t = Instant::now();
        let resources = desired::build(&model, &Facts::unknown()).unwrap();
        let _ = render::bundle(&model, &Facts::unknown(), "https://management.azure.com").unwrap();
        build_samples.push(t.elapsed());
        assert_eq!(resources.len(), 1 + 50 + 150 + 1 + 50 + 50 + 1 + 1 + 1 + 1);
    }

    // The whole command, as a user runs it (process start included).
    let dir = std::env::temp_dir().join(format!("aoai-lb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = dir.join("large.yaml");
    std::fs::write(&plan_path, &text).unwrap();
    let mut process_samples = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_aoai-lb"))
            .arg("validate")
            .arg(&plan_path)
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        process_samples.push(t.elapsed());
        assert!(status.success());
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "validate benchmark: plan of 50 accounts x 3 deployments ({} bytes, {} lines)",
        text.len(),
        text.lines().count()
    );
    for (name, samples) in [
        ("parse + validate (in process)", validate_samples),
        ("desired state + render bundle", build_samples),
        ("`aoai-lb validate` process", process_samples),
    ] {
        let n = samples.len();
        let (min, median, p95) = stats(samples);
        println!(
            "  {name:<32} n={n:<4} min {:>10}  median {:>10}  p95 {:>10}",
            ms(min),
            ms(median),
            ms(p95)
        );
    }
}
