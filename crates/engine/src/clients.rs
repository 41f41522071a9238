//! Verify's per-client check (issue 15): through each client's own key (listSecrets of
//! its APIM subscription), what the gateway answers and how many tokens each answer used
//! (the responses' `usage`, what verify observes itself: real APIM has no metrics
//! endpoint), per backend (told apart by `x-ms-region`) and deployment; and whether each
//! per-minute limit holds: a limited client gets 429 with Retry-After once its tokens
//! are spent, having been answered no more than its limit, while unlimited clients,
//! sending more, are never refused.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use aoai_lb_arm::ArmClient;
use aoai_lb_core::model::{Client, Model};

use aoai_lb_arm::resources::SubscriptionKeys;
use aoai_lb_core::ids::{self, api_version};

use super::traffic::{ApiKey, Endpoint, TrafficError};

/// Requests sent to a limited client: its prompt is sized so that about six exceed the
/// limit, so a few more than that must meet a 429.
const LIMIT_REQUESTS: usize = 10;
/// A per-minute limit above this is not exercised (the prompt would be too large).
pub const MAX_EXERCISED_TPM: u32 = 200_000;

/// What one client saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientReport {
    pub name: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u32>,
    pub deployment: String,
    pub requests: usize,
    pub answered: usize,
    /// Total tokens of the answered requests (their `usage.total_tokens`).
    pub tokens: u64,
    /// Tokens per backend (by `x-ms-region`; `unknown` when the answer had none).
    pub tokens_by_backend: BTreeMap<String, u64>,
    /// The first 429: after how many answered tokens, with which Retry-After.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled: Option<Throttled>,
    /// Other failures (status and count).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<u16, usize>,
    pub ok: bool,
    /// What was checked, in a sentence.
    pub verdict: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttled {
    pub after_tokens: u64,
    pub retry_after: Option<String>,
}

/// The prompt (in characters, about 4 per token) that makes `LIMIT_REQUESTS` requests
/// exceed `tpm` after about six.
fn prompt_chars(tpm: u32) -> usize {
    (tpm as usize / 6).max(1) * 4
}

/// One answer: status, Retry-After, backend region, total tokens.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    region: Option<String>,
    tokens: u64,
}

async fn send(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    key: &ApiKey,
    body: &Value,
) -> Result<Answer, String> {
    let r = http
        .post(&endpoint.url)
        .header(endpoint.header.as_str(), key.expose())
        .json(body)
        .send()
        .await
        .map_err(|e| key.scrub(&aoai_lb_arm::client::error_chain(&e)))?;
    let status = r.status().as_u16();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string())
    };
    let (retry_after, region) = (header("retry-after"), header("x-ms-region"));
    let text = r.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        retry_after,
        region,
        tokens: usage(&text),
    })
}

/// `usage.total_tokens` of a JSON answer, or of a stream's usage chunk.
fn usage(text: &str) -> u64 {
    let total = |v: &Value| v.pointer("/usage/total_tokens").and_then(Value::as_u64);
    if let Some(t) = serde_json::from_str::<Value>(text)
        .ok()
        .as_ref()
        .and_then(total)
    {
        return t;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find_map(|v| total(&v))
        .unwrap_or(0)
}

fn backend_of(model: &Model, region: Option<&str>) -> String {
    region
        .and_then(|r| {
            model
                .accounts
                .iter()
                .find(|a| a.region_display_name.eq_ignore_ascii_case(r))
                .map(|a| a.backend.name.clone())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The APIM subscription verify sends its traffic with: the plan's `subscription`, else
/// its first client without limits, else its first client.
pub fn verify_subscription(model: &Model) -> Option<&str> {
    let clients = &model.apim.clients;
    model
        .apim
        .subscription
        .as_ref()
        .map(|s| s.name.as_str())
        .or_else(|| {
            clients
                .iter()
                .find(|c| !c.is_limited())
                .map(|c| c.name.as_str())
        })
        .or_else(|| clients.first().map(|c| c.name.as_str()))
}

/// The primary key of the plan's APIM subscription (listSecrets).
pub async fn subscription_key(client: &ArmClient, model: &Model) -> Result<ApiKey, TrafficError> {
    let name = verify_subscription(model).ok_or(TrafficError::NoSubscription)?;
    key_of(client, model, name).await
}

/// The primary key of the APIM subscription `name` of the plan's service (listSecrets).
pub async fn key_of(client: &ArmClient, model: &Model, name: &str) -> Result<ApiKey, TrafficError> {
    let service_id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let secrets = client
        .post(
            &format!("{}/listSecrets", ids::apim_subscription(&service_id, name)),
            api_version::API_MANAGEMENT,
            None,
        )
        .await
        .map_err(|source| TrafficError::ReadKey {
            subscription: name.to_string(),
            source: Box::new(source),
        })?;
    let keys = SubscriptionKeys::from_value(&secrets)
        .ok_or_else(|| TrafficError::NoPrimaryKey(name.to_string()))?;
    Ok(ApiKey::new(keys.primary_key))
}

/// Sends each client's requests and judges them. `Err` only when a key cannot be read.
pub async fn check(
    arm: &ArmClient,
    model: &Model,
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Vec<ClientReport>, TrafficError> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("aoai-lb/", env!("CARGO_PKG_VERSION"), " verify"))
        .build()
        .map_err(TrafficError::HttpClient)?;
    let clients = &model.apim.clients;
    let exercised = |c: &Client| c.tokens_per_minute.filter(|t| *t <= MAX_EXERCISED_TPM);
    // Unlimited clients send as much as the largest exercised limit allows, and more.
    let largest = clients.iter().filter_map(exercised).max();
    let mut out = Vec::new();
    for c in clients {
        let key = key_of(arm, model, &c.name).await?;
        let (chars, requests) = match (exercised(c), largest) {
            (Some(tpm), _) => (prompt_chars(tpm), LIMIT_REQUESTS),
            (None, Some(tpm)) if !c.is_limited() => (prompt_chars(tpm), LIMIT_REQUESTS),
            _ => (40, 3),
        };
        let mut body = json!({
            "messages": [{"role": "user", "content": "x".repeat(chars)}],
            "max_tokens": 5,
        });
        if endpoint.v1 {
            body["model"] = json!(endpoint.deployment);
        }
        out.push(
            one(
                &http,
                model,
                endpoint,
                c,
                &key,
                &body,
                requests,
                exercised(c),
            )
            .await,
        );
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn one(
    http: &reqwest::Client,
    model: &Model,
    endpoint: &Endpoint,
    c: &Client,
    key: &ApiKey,
    body: &Value,
    requests: usize,
    tpm: Option<u32>,
) -> ClientReport {
    let mut r = ClientReport {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        tokens_per_minute: c.tokens_per_minute,
        deployment: endpoint.deployment.clone(),
        requests: 0,
        answered: 0,
        tokens: 0,
        tokens_by_backend: BTreeMap::new(),
        throttled: None,
        failures: BTreeMap::new(),
        ok: false,
        verdict: String::new(),
    };
    for _ in 0..requests {
        r.requests += 1;
        match send(http, endpoint, key, body).await {
            Ok(a) if (200..300).contains(&a.status) => {
                r.answered += 1;
                r.tokens += a.tokens;
                *r.tokens_by_backend
                    .entry(backend_of(model, a.region.as_deref()))
                    .or_default() += a.tokens;
            }
            Ok(a) if a.status == 429 => {
                r.throttled = Some(Throttled {
                    after_tokens: r.tokens,
                    retry_after: a.retry_after,
                });
                break;
            }
            Ok(a) => *r.failures.entry(a.status).or_default() += 1,
            Err(_) => *r.failures.entry(0).or_default() += 1,
        }
    }
    (r.ok, r.verdict) = judge(&r, c, tpm);
    r
}

fn judge(r: &ClientReport, c: &Client, tpm: Option<u32>) -> (bool, String) {
    if !r.failures.is_empty() {
        return (
            false,
            format!("{} request(s) failed", r.failures.values().sum::<usize>()),
        );
    }
    match (tpm, &r.throttled) {
        (Some(limit), Some(t)) if t.retry_after.is_none() => (
            false,
            format!(
                "throttled after {} tokens (limit {limit}/min) but without Retry-After",
                t.after_tokens
            ),
        ),
        (Some(limit), Some(t)) if t.after_tokens <= u64::from(limit) => (
            true,
            format!(
                "limit holds: 429 after {} tokens of {limit}/min",
                t.after_tokens
            ),
        ),
        (Some(limit), Some(t)) => (
            false,
            format!(
                "answered {} tokens, more than its {limit}/min, before a 429",
                t.after_tokens
            ),
        ),
        (Some(limit), None) => (
            false,
            format!(
                "never throttled: {} tokens answered against a limit of {limit}/min",
                r.tokens
            ),
        ),
        (None, Some(_)) if !c.is_limited() => (
            false,
            "throttled (429) although it has no limit".to_string(),
        ),
        (None, _) if c.is_limited() => (
            true,
            "answered (its limit is not exercised by verify)".to_string(),
        ),
        (None, _) => (true, "never throttled".to_string()),
    }
}

/// What one client got while every client of the plan sent at once (the demo's step):
/// answered, refused with 429 (its token limit), otherwise failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub name: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u32>,
    pub requests: usize,
    pub answered: usize,
    /// Answers with status 429.
    pub throttled: usize,
    /// The first 429's `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// Other failures (any other status, or no answer).
    pub failed: usize,
    /// Total tokens of the answered requests (their `usage.total_tokens`).
    pub tokens: u64,
}

/// Every client sends `requests` requests through its own key, in turns (one request of
/// each client, then the next round), all with the same prompt: a third of the smallest
/// exercised per-minute limit, so a limited client is answered twice a minute and refused
/// from its third request (three rounds fit a minute of a time-scaled emulator even on a
/// slow machine) while the others keep being answered. `Err` only when a key
/// cannot be read.
pub async fn contend(
    arm: &ArmClient,
    model: &Model,
    endpoint: &Endpoint,
    timeout: Duration,
    requests: usize,
) -> Result<Vec<Tally>, TrafficError> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("aoai-lb/", env!("CARGO_PKG_VERSION"), " demo"))
        .build()
        .map_err(TrafficError::HttpClient)?;
    let clients = &model.apim.clients;
    let smallest = clients
        .iter()
        .filter_map(|c| c.tokens_per_minute.filter(|t| *t <= MAX_EXERCISED_TPM))
        .min();
    let mut body = json!({
        "messages": [{"role": "user", "content": "x".repeat(smallest.map_or(40, |t| (t as usize / 3).max(1) * 4))}],
        "max_tokens": 5,
    });
    if endpoint.v1 {
        body["model"] = json!(endpoint.deployment);
    }
    let mut keyed = Vec::new();
    for c in clients {
        let tally = Tally {
            name: c.name.clone(),
            display_name: c.display_name.clone(),
            tokens_per_minute: c.tokens_per_minute,
            requests: 0,
            answered: 0,
            throttled: 0,
            retry_after: None,
            failed: 0,
            tokens: 0,
        };
        keyed.push((key_of(arm, model, &c.name).await?, tally));
    }
    for _ in 0..requests {
        for (key, t) in &mut keyed {
            t.requests += 1;
            match send(&http, endpoint, key, &body).await {
                Ok(a) if (200..300).contains(&a.status) => {
                    t.answered += 1;
                    t.tokens += a.tokens;
                }
                Ok(a) if a.status == 429 => {
                    t.throttled += 1;
                    t.retry_after = t.retry_after.take().or(a.retry_after);
                }
                _ => t.failed += 1,
            }
        }
    }
    Ok(keyed.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_read_from_answers_and_stream_chunks() {
        assert_eq!(usage(r#"{"usage": {"total_tokens": 12}}"#), 12);
        assert_eq!(
            usage(
                "data: {\"choices\": []}\n\ndata: {\"usage\": {\"total_tokens\": 7}}\n\ndata: [DONE]\n\n"
            ),
            7
        );
        assert_eq!(usage("not json"), 0);
    }

    #[test]
    fn prompts_are_sized_to_the_limit() {
        // 5000/min: 833 tokens a prompt, so the sixth or seventh request is refused.
        assert_eq!(prompt_chars(5000), 3332);
    }
}
