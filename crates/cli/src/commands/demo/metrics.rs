//! What the demo's Application Insights got: the token metrics the emulator's gateway
//! sent through the plan's logger, read from the emulator the demo runs.

use std::time::Duration;

use serde_json::Value;

use crate::views::demo as view;

/// The token metrics the emulator's gateway sent through the plan's logger since request
/// `after_seq` (its test endpoint `GET /_emulator/metrics`: each record names the logger
/// it would reach in Azure), summed per `Client` dimension.
pub(super) fn sent(
    runtime: &tokio::runtime::Runtime,
    emulator: &aoai_lb_emulator::Running,
    logger: &str,
    after_seq: u64,
) -> Result<view::Metrics, String> {
    let all = emulator_metrics(runtime, emulator)?;
    let suffix = format!("/loggers/{}", logger.to_lowercase());
    let mut m = view::Metrics {
        logger: logger.to_string(),
        records: 0,
        tokens_by_client: Default::default(),
    };
    for r in records(&all).filter(|r| {
        r["seq"].as_u64().is_some_and(|s| s > after_seq)
            && r["loggerId"]
                .as_str()
                .is_some_and(|l| l.to_lowercase().ends_with(&suffix))
    }) {
        // One record per answered request, with its prompt, completion and total tokens.
        m.records += 1;
        let client = r["dimensions"]["Client"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        *m.tokens_by_client.entry(client).or_default() += r["totalTokens"].as_u64().unwrap_or(0);
    }
    Ok(m)
}

/// The last request sequence number the emulator's metrics hold (0: none yet).
pub(super) fn last_seq(
    runtime: &tokio::runtime::Runtime,
    emulator: &aoai_lb_emulator::Running,
) -> Result<u64, String> {
    let all = emulator_metrics(runtime, emulator)?;
    Ok(records(&all)
        .filter_map(|r| r["seq"].as_u64())
        .max()
        .unwrap_or(0))
}

fn records(metrics: &Value) -> impl Iterator<Item = &Value> {
    metrics["records"].as_array().into_iter().flatten()
}

/// `GET /_emulator/metrics`.
fn emulator_metrics(
    runtime: &tokio::runtime::Runtime,
    emulator: &aoai_lb_emulator::Running,
) -> Result<Value, String> {
    runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/_emulator/metrics", emulator.url()))
            .header(aoai_lb_emulator::HOOK_TOKEN_HEADER, emulator.hook_token())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())
    })
}
