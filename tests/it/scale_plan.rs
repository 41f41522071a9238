//! The generated plan of the scale tests and benchmarks: `accounts` accounts spread over
//! ten regions, three deployments each (capacity 1, far below any quota), one backend each
//! at priority 1 and weight 1. `tag` names everything (`rg-{tag}`, `aoai-{tag}-NN`,
//! `apim-{tag}`, `{tag}-pool`), so plans of different tests never share a name. Shared by
//! tests/it (read_counts, throttling, faults_at_scale) and benches/scale.rs (by `#[path]`).

/// Ten regions: six the emulator's catalog snapshot covers, four it does not.
const REGIONS: [&str; 10] = [
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

pub fn scale_plan(tag: &str, accounts: usize) -> String {
    let mut s = format!(
        "subscriptionId: 00000000-0000-0000-0000-000000000000\nresourceGroup: {{ name: rg-{tag}, location: westus }}\naccounts:\n"
    );
    for i in 0..accounts {
        s.push_str(&format!(
            "  - name: aoai-{tag}-{i:02}\n    location: {}\n    deployments:\n",
            REGIONS[i % REGIONS.len()]
        ));
        for d in 0..3 {
            s.push_str(&format!("      - {{ name: model-{d}, model: gpt-4o, version: \"2024-11-20\", sku: Standard, capacity: 1 }}\n"));
        }
        s.push_str(&format!(
            "    backend: {{ name: backend-{i:02}, priority: 1, weight: 1 }}\n"
        ));
    }
    s.push_str(&format!("apim:\n  name: apim-{tag}\n  resourceGroup: rg-apim\n  api: {{ name: aoai, path: openai, subscriptionKeyHeader: api-key }}\n  pool: {{ name: {tag}-pool }}\n  subscription: {{ name: {tag}-clients }}\n"));
    s
}
