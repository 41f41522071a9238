//! `verify`'s pure part: the shares a plan expects per backend, the analysis of the
//! responses (per backend share, latency percentiles, errors, a chi-square
//! goodness-of-fit test), and the chart. The requests themselves are sent by
//! `commands/verify.rs`.
//!
//! Backends are told apart by `x-ms-region`, as the seed lab does: each response names
//! the region of the Azure OpenAI account that answered, and the plan says which
//! backend is in which region. Two backends in one region cannot be told apart: they are
//! counted together, and verify says so.

pub mod chart;
pub mod clients_chart;
pub mod deployments_chart;
pub mod stats;

use serde::Serialize;

use crate::model::{Model, PolicyTemplate};

/// Below this p-value the observed split is not the plan's.
pub const ALPHA: f64 = 0.01;

/// One request's outcome.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// In the order the requests were sent.
    pub index: usize,
    /// When it was sent, ms after the first.
    pub start_ms: f64,
    /// Until the whole response was read.
    pub latency_ms: f64,
    /// None: no response (connection error, timeout).
    pub status: Option<u16>,
    /// `x-ms-region` of the response.
    pub region: Option<String>,
    /// Why it failed, in a line (never a key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// The share of traffic a region's backends should get.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedRow {
    /// Backend names (more than one: same region, counted together).
    pub backends: Vec<String>,
    pub accounts: Vec<String>,
    /// Region display name (what `x-ms-region` says).
    pub region: String,
    pub priorities: Vec<u8>,
    pub weights: Vec<u8>,
    pub share: f64,
}

impl ExpectedRow {
    pub fn label(&self) -> String {
        self.backends.join(" + ")
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub rows: Vec<ExpectedRow>,
    /// How the shares were derived, and what could not be told apart.
    pub notes: Vec<String>,
}

/// What the plan expects for requests to `deployment`: with the `random` template, every
/// account alike; otherwise the pool that serves the deployment (its members only, with
/// that deployment's priorities and weights): its lowest priority group gets everything,
/// split by weight (equally when the weights are all 0).
pub fn expected(model: &Model, deployment: &str) -> Expected {
    let mut notes = Vec::new();
    let random =
        matches!(&model.apim.policy.template, PolicyTemplate::Builtin { name } if name == "random");
    // (account, priority, weight) of each backend the requests may reach.
    let members: Vec<(usize, u8, u8)> = match model
        .apim
        .pools
        .iter()
        .find(|p| p.deployments.iter().any(|d| d == deployment))
    {
        Some(pool) if !random => {
            if model.apim.pools.len() > 1 {
                notes.push(format!(
                    "Requests for `{deployment}` go to pool {}: the {} account(s) that serve it.",
                    pool.name,
                    pool.members.len()
                ));
            }
            pool.members
                .iter()
                .map(|m| (m.account, m.priority, m.weight))
                .collect()
        }
        _ => model
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (i, a.backend.priority, a.backend.weight))
            .collect(),
    };
    let n = members.len().max(1) as f64;
    let top = members.iter().map(|m| m.1).min().unwrap_or(1);
    let group_weight: u32 = members
        .iter()
        .filter(|m| m.1 == top)
        .map(|m| m.2 as u32)
        .sum();
    let group_size = members.iter().filter(|m| m.1 == top).count().max(1) as f64;
    if random {
        notes.push("The `random` template picks an account uniformly at random: every backend should get an equal share.".into());
    } else {
        if let PolicyTemplate::File { path, .. } = &model.apim.policy.template {
            notes.push(format!(
                "Custom template {path}: the expected shares assume it sends requests to the pool."
            ));
        }
        if members.iter().any(|m| m.1 != top) {
            notes.push(format!(
                "Priority {top} takes all traffic while its backends are available; the others are fallbacks (expected 0%)."
            ));
        }
    }
    let mut rows: Vec<ExpectedRow> = Vec::new();
    for &(i, priority, weight) in &members {
        let a = &model.accounts[i];
        let share = if random {
            1.0 / n
        } else if priority != top {
            0.0
        } else if group_weight == 0 {
            1.0 / group_size
        } else {
            weight as f64 / group_weight as f64
        };
        match rows
            .iter_mut()
            .find(|r| r.region.eq_ignore_ascii_case(&a.region_display_name))
        {
            Some(r) => {
                r.backends.push(a.backend.name.clone());
                r.accounts.push(a.name.clone());
                r.priorities.push(priority);
                r.weights.push(weight);
                r.share += share;
            }
            None => rows.push(ExpectedRow {
                backends: vec![a.backend.name.clone()],
                accounts: vec![a.name.clone()],
                region: a.region_display_name.clone(),
                priorities: vec![priority],
                weights: vec![weight],
                share,
            }),
        }
    }
    for r in rows.iter().filter(|r| r.backends.len() > 1) {
        notes.push(format!(
            "Ambiguous: backends {} are all in {}; responses name only the region, so they are counted together.",
            r.backends.join(", "),
            r.region
        ));
    }
    Expected { rows, notes }
}

/// One row of the result: a backend (or backends sharing a region), or a region the
/// plan does not have.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Backend names; empty for a region the plan does not have.
    pub backends: Vec<String>,
    pub region: String,
    pub expected_share: f64,
    pub observed_share: f64,
    /// Successful responses from this region.
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// Failed responses that named this region.
    pub errors: u64,
}

impl Row {
    pub fn label(&self) -> String {
        if self.backends.is_empty() {
            "(not in the plan)".into()
        } else {
            self.backends.join(" + ")
        }
    }
}

/// Failed requests with one status and reason.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorGroup {
    /// None: no response.
    pub status: Option<u16>,
    pub count: u64,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChiSquare {
    /// None when infinite (a region that should get nothing got something).
    pub statistic: Option<f64>,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub requests: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rows: Vec<Row>,
    pub errors: Vec<ErrorGroup>,
    /// None when no request succeeded.
    pub chi_square: Option<ChiSquare>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// The observed split is the plan's (p ≥ ALPHA).
    pub split_ok: bool,
    /// The split is the plan's and no request failed.
    pub ok: bool,
    pub notes: Vec<String>,
}

const NO_REGION: &str = "(no x-ms-region)";

impl Row {
    fn new(backends: Vec<String>, region: String, expected_share: f64) -> Row {
        Row {
            backends,
            region,
            expected_share,
            observed_share: 0.0,
            count: 0,
            p50_ms: None,
            p95_ms: None,
            errors: 0,
        }
    }
}

/// Counts each sample in its region's row (adding rows for regions the plan does not
/// expect) and groups the failures; returns the latencies of each row's successes.
fn tally(rows: &mut Vec<Row>, errors: &mut Vec<ErrorGroup>, samples: &[Sample]) -> Vec<Vec<f64>> {
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for s in samples {
        let region = s.region.clone().unwrap_or_else(|| NO_REGION.into());
        let i = match rows
            .iter()
            .position(|r| r.region.eq_ignore_ascii_case(&region))
        {
            Some(i) => Some(i),
            None if s.ok() || s.region.is_some() => {
                rows.push(Row::new(Vec::new(), region.clone(), 0.0));
                latencies.push(Vec::new());
                Some(rows.len() - 1)
            }
            None => None,
        };
        if s.ok() {
            let i = i.expect("a successful sample has a row");
            rows[i].count += 1;
            latencies[i].push(s.latency_ms);
            continue;
        }
        if let Some(i) = i {
            rows[i].errors += 1;
        }
        let message = s.error.clone().unwrap_or_default();
        match errors
            .iter_mut()
            .find(|g| g.status == s.status && g.message == message)
        {
            Some(g) => g.count += 1,
            None => errors.push(ErrorGroup {
                status: s.status,
                count: 1,
                message,
            }),
        }
    }
    latencies
}

/// The chi-square test of the observed counts against the expected shares.
fn chi_square(rows: &[Row], succeeded: u64, notes: &mut Vec<String>) -> Option<ChiSquare> {
    (succeeded > 0).then(|| {
        let observed: Vec<u64> = rows.iter().map(|r| r.count).collect();
        let shares: Vec<f64> = rows.iter().map(|r| r.expected_share).collect();
        let (x, df) = stats::chi_square(&observed, &shares);
        if rows
            .iter()
            .any(|r| r.expected_share > 0.0 && r.expected_share * (succeeded as f64) < 5.0)
        {
            notes.push(
                "Some expected counts are below 5: the p-value is approximate; send more requests."
                    .into(),
            );
        }
        ChiSquare {
            statistic: x.is_finite().then_some(x),
            degrees_of_freedom: df,
            p_value: stats::chi_square_p_value(x, df),
        }
    })
}

/// Compares the responses with what the plan expects.
pub fn analyse(expected: &Expected, samples: &[Sample]) -> Analysis {
    let mut notes = expected.notes.clone();
    let mut rows: Vec<Row> = expected
        .rows
        .iter()
        .map(|e| Row::new(e.backends.clone(), e.region.clone(), e.share))
        .collect();
    let mut errors: Vec<ErrorGroup> = Vec::new();
    let latencies = tally(&mut rows, &mut errors, samples);
    errors.sort_by_key(|g| std::cmp::Reverse(g.count));
    let succeeded: u64 = rows.iter().map(|r| r.count).sum();
    for (r, l) in rows.iter_mut().zip(&latencies) {
        r.observed_share = if succeeded > 0 {
            r.count as f64 / succeeded as f64
        } else {
            0.0
        };
        r.p50_ms = stats::percentile(l, 50.0);
        r.p95_ms = stats::percentile(l, 95.0);
    }
    if rows.iter().any(|r| r.backends.is_empty() && r.count > 0) {
        notes.push("Some responses came from regions where the plan has no backend: the deployed pool is not the plan's.".into());
    }
    let chi_square = chi_square(&rows, succeeded, &mut notes);
    let ok_latencies: Vec<f64> = samples
        .iter()
        .filter(|s| s.ok())
        .map(|s| s.latency_ms)
        .collect();
    let split_ok = chi_square.as_ref().is_some_and(|c| c.p_value >= ALPHA);
    let failed = samples.len() as u64 - succeeded;
    Analysis {
        requests: samples.len() as u64,
        succeeded,
        failed,
        rows,
        errors,
        chi_square,
        mean_ms: stats::mean(&ok_latencies),
        p50_ms: stats::percentile(&ok_latencies, 50.0),
        p95_ms: stats::percentile(&ok_latencies, 95.0),
        split_ok,
        ok: split_ok && failed == 0,
        notes,
    }
}

/// `p = 0.523`, `p = 3.1e-4`, `p < 1e-12`.
pub fn p_phrase(p: f64) -> String {
    let f = format_p(p);
    if f.starts_with('<') {
        format!("p {f}")
    } else {
        format!("p = {f}")
    }
}

/// A p-value as people read it: `0.52`, `0.0031`, `< 1e-12`.
pub fn format_p(p: f64) -> String {
    if p < 1e-12 {
        "< 1e-12".into()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(yaml_accounts: &[(&str, &str, u8, u8)], template: &str) -> Model {
        let mut accounts = String::new();
        for (name, region, priority, weight) in yaml_accounts {
            accounts.push_str(&format!(
                "  - name: acct-{name}\n    location: {region}\n    deployments: [{{ name: gpt-4o, model: gpt-4o, version: \"2024-08-06\", sku: Standard, capacity: 1 }}]\n    backend: {{ name: be-{name}, priority: {priority}, weight: {weight} }}\n"
            ));
        }
        let text = format!(
            "subscriptionId: 00000000-0000-0000-0000-000000000000\nresourceGroup: {{ name: rg, location: westus }}\naccounts:\n{accounts}apim:\n  name: apim1\n  identity: SystemAssigned\n  api: {{ name: api1, path: openai, spec: 2024-02-01 }}\n  pool: {{ name: pool1 }}\n  policy: {{ template: {template} }}\n"
        );
        let plan = crate::parse::parse(&text).unwrap();
        let out = crate::validate::validate(
            &plan,
            &crate::validate::Context::default(),
            &crate::validate::Files::new(),
        );
        out.model.unwrap_or_else(|| panic!("{:?}", out.diagnostics))
    }

    fn samples(regions: &[(&str, usize)]) -> Vec<Sample> {
        let mut out = Vec::new();
        for (region, n) in regions {
            for _ in 0..*n {
                out.push(Sample {
                    index: out.len(),
                    start_ms: 0.0,
                    latency_ms: 10.0 + out.len() as f64,
                    status: Some(200),
                    region: Some(region.to_string()),
                    error: None,
                });
            }
        }
        out
    }

    #[test]
    fn expected_shares_follow_priorities_and_weights() {
        let m = model(
            &[
                ("a", "westus", 1, 2),
                ("b", "eastus", 1, 1),
                ("c", "westus3", 2, 5),
            ],
            "pool",
        );
        let e = expected(&m, "gpt-4o");
        let shares: Vec<f64> = e.rows.iter().map(|r| r.share).collect();
        assert!(
            (shares[0] - 2.0 / 3.0).abs() < 1e-12 && shares[2] == 0.0,
            "{shares:?}"
        );
        assert_eq!(e.rows[1].region, "East US");
        let m = model(&[("a", "westus", 1, 2), ("b", "eastus", 1, 1)], "random");
        assert!(expected(&m, "gpt-4o").rows.iter().all(|r| r.share == 0.5));
    }

    #[test]
    fn two_backends_in_one_region_are_counted_together() {
        let m = model(
            &[
                ("a", "westus", 1, 1),
                ("b", "West US", 1, 3),
                ("c", "eastus", 1, 4),
            ],
            "pool",
        );
        let e = expected(&m, "gpt-4o");
        assert_eq!(e.rows.len(), 2);
        assert_eq!(e.rows[0].label(), "be-a + be-b");
        assert!((e.rows[0].share - 0.5).abs() < 1e-12);
        assert!(e.notes.iter().any(|n| n.starts_with("Ambiguous")));
    }

    #[test]
    fn a_matching_split_passes_and_a_wrong_one_fails() {
        let m = model(&[("a", "westus", 1, 2), ("b", "eastus", 1, 1)], "pool");
        let e = expected(&m, "gpt-4o");
        let good = analyse(&e, &samples(&[("West US", 395), ("east us", 205)]));
        assert!(good.ok, "{good:?}");
        assert_eq!(good.rows[1].count, 205, "regions match case-insensitively");
        assert!(good.chi_square.as_ref().unwrap().p_value > 0.4);
        assert_eq!(good.p50_ms, Some(10.0 + 299.0));
        let bad = analyse(&e, &samples(&[("West US", 300), ("East US", 300)]));
        assert!(!bad.split_ok && !bad.ok);
        assert!(bad.chi_square.unwrap().p_value < 1e-10);
    }

    #[test]
    fn unknown_regions_and_failures_fail() {
        let m = model(&[("a", "westus", 1, 1)], "pool");
        let e = expected(&m, "gpt-4o");
        let mut s = samples(&[("West US", 50), ("Japan East", 1)]);
        let a = analyse(&e, &s);
        assert!(!a.split_ok);
        assert_eq!(a.rows[1].label(), "(not in the plan)");
        assert_eq!(a.chi_square.as_ref().unwrap().statistic, None);
        s.truncate(50);
        s.push(Sample {
            index: 50,
            start_ms: 0.0,
            latency_ms: 1.0,
            status: Some(429),
            region: Some("West US".into()),
            error: Some("rate limited".into()),
        });
        s.push(Sample {
            index: 51,
            start_ms: 0.0,
            latency_ms: 1.0,
            status: Some(503),
            region: None,
            error: Some("Service Unavailable".into()),
        });
        let a = analyse(&e, &s);
        assert!(a.split_ok && !a.ok);
        assert_eq!((a.failed, a.rows[0].errors), (2, 1));
        assert_eq!(a.errors.len(), 2);
        assert_eq!(a.rows.len(), 1, "a failure without a region adds no row");
    }

    #[test]
    fn p_values_read_well() {
        assert_eq!(format_p(0.5234), "0.523");
        assert_eq!(format_p(0.00031), "3.1e-4");
        assert_eq!(format_p(0.0), "< 1e-12");
        assert_eq!(p_phrase(0.0), "p < 1e-12");
        assert_eq!(p_phrase(0.5), "p = 0.500");
    }
}
