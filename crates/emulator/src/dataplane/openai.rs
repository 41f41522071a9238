//! The Azure OpenAI accounts behind the gateway, answered in process: a backend URL
//! `https://{customSubDomainName}.openai.azure.com/openai` resolves to the emulator's
//! account with that subdomain (no network). Chat completions get a valid response
//! body with `x-ms-region` (the account's region display name) and the rate-limit
//! headers; a budget per account and window (requests, tokens) answers `429` +
//! `Retry-After` beyond it, as Azure OpenAI does when a deployment's quota is used up.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{AccountSettings, Config, DataPlane, Latency};
use crate::ops::retry_headers;
use crate::reply::uuid_like;
use crate::store::{Kind, Record, Store, key};

/// Roles whose data actions include chat completions.
const DATA_ROLES: [&str; 3] = [
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd", // Cognitive Services OpenAI User
    "a001fd3d-188f-4b5d-821b-7da978bf7442", // Cognitive Services OpenAI Contributor
    "a97b65f3-24c7-4388-baec-2e87135dc908", // Cognitive Services User
];

/// What an account used in its current window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub window: u64,
    pub requests: u64,
    pub tokens: u64,
}

/// How the gateway calls the account.
pub struct Call<'a> {
    /// The full URL: backend URL, the operation's path, the query.
    pub url: &'a str,
    pub method: &'a str,
    pub body: &'a [u8],
    /// The principal of the managed identity the gateway authenticated as.
    pub principal: Option<&'a str>,
    /// The gateway set an `api-key` header (not checkable here: accepted).
    pub api_key: bool,
}

/// The account's answer, and how long it takes to arrive.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub account: String,
    /// Region display name (what `x-ms-region` says).
    pub region: String,
    pub retry_after_ms: Option<u64>,
    /// Real milliseconds before the answer arrives.
    pub latency_ms: u64,
}

/// Scheme-less host and path-and-query of a URL.
fn split_url(url: &str) -> Option<(String, String)> {
    let (_, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next()?.split(':').next()?;
    Some((host.to_ascii_lowercase(), path.to_string()))
}

/// The live account a backend URL's host names, if the emulator has one.
pub fn account_for_url<'s>(store: &'s Store, url: &str) -> Option<&'s Record> {
    let (host, _) = split_url(url)?;
    let sub = host
        .strip_suffix(".openai.azure.com")
        .or_else(|| host.strip_suffix(".cognitiveservices.azure.com"))?;
    store.resources.values().find(|r| {
        r.kind == Kind::Account
            && r.body
                .pointer("/properties/customSubDomainName")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
            && r.provisioning_state() == Some("Succeeded")
    })
}

/// The display name of an account's region (`West US`).
pub fn region_display(account: &Record) -> String {
    let location = account.body["location"].as_str().unwrap_or_default();
    crate::regions::display_name(location)
        .map(str::to_string)
        .unwrap_or_else(|| location.to_string())
}

fn has_data_role(store: &Store, account_id: &str, principal: &str) -> bool {
    let account = key(account_id);
    store.resources.values().any(|r| {
        let p = &r.body["properties"];
        r.kind == Kind::RoleAssignment
            && p["principalId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(principal))
            && p["scope"].as_str().is_some_and(|s| {
                let s = key(s.trim_end_matches('/'));
                account == s || account.starts_with(&format!("{s}/"))
            })
            && p["roleDefinitionId"].as_str().is_some_and(|d| {
                let d = d.to_ascii_lowercase();
                DATA_ROLES.iter().any(|g| d.ends_with(g))
            })
    })
}

fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// Tokens Azure OpenAI counts against a budget when a request arrives: an estimate of
/// the prompt, plus `max_tokens` (16 when unset).
pub fn estimate(body: &Value) -> (u64, u64) {
    let prompt: u64 = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|msg| {
                    let chars = match &msg["content"] {
                        Value::String(s) => s.chars().count(),
                        other => other.to_string().chars().count(),
                    };
                    chars.div_ceil(4) as u64 + 4
                })
                .sum::<u64>()
                + 3
        })
        .unwrap_or(0);
    let max = body["max_tokens"]
        .as_u64()
        .or_else(|| body["max_completion_tokens"].as_u64())
        .unwrap_or(16);
    (prompt, max)
}

fn content_filter() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

/// Response time of one call: `latencyMs` +- `jitterMs` (defaults by latency profile),
/// scaled.
fn response_ms<R: Rng>(config: &Config, settings: &AccountSettings, rng: &mut R) -> u64 {
    let azure = config.latency == Latency::Azure;
    let base = settings
        .latency_ms
        .unwrap_or(if azure { 500.0 } else { 0.0 });
    let jitter = settings
        .jitter_ms
        .unwrap_or(if azure { 150.0 } else { 0.0 });
    let drawn = if jitter > 0.0 {
        (base + rng.random_range(-jitter..=jitter)).max(0.0)
    } else {
        base
    };
    (drawn * config.time_scale).round() as u64
}

/// The deployment and query of `POST /openai/deployments/{d}/chat/completions?api-version=...`.
fn chat_completions(
    call: &Call,
    path_and_query: &str,
) -> Option<(String, BTreeMap<String, String>)> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let query = crate::pipeline::parse_query(query);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [o, d, name, c, co]
            if o.eq_ignore_ascii_case("openai")
                && d.eq_ignore_ascii_case("deployments")
                && c.eq_ignore_ascii_case("chat")
                && co.eq_ignore_ascii_case("completions")
                && call.method == "POST"
                && query.contains_key("api-version") =>
        {
            Some((name.to_string(), query))
        }
        _ => None,
    }
}

/// The 401 body when the caller may not call the account (None: it may).
fn refusal(store: &Store, account_id: &str, call: &Call) -> Option<Value> {
    let authorized = match call.principal {
        Some(p) => has_data_role(store, account_id, p),
        None => call.api_key,
    };
    if authorized {
        return None;
    }
    Some(match call.principal {
        Some(p) => error(
            "PermissionDenied",
            &format!(
                "The principal `{p}` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{{deployment-id}}/chat/completions` operation."
            ),
        ),
        None => error(
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        ),
    })
}

/// A `chat.completion` body: at most `max_tokens` words naming the account and region.
fn completion(out: &Answer, deployment: &str, dep: &Record, prompt: u64, max_tokens: u64) -> Value {
    let words: Vec<String> = format!(
        "Hello from {} in {}: the aoai-lb emulator answered this chat completion.",
        out.account, out.region
    )
    .split(' ')
    .map(str::to_string)
    .collect();
    let n = (max_tokens as usize).min(words.len()).max(1);
    let finish = if n < words.len() { "length" } else { "stop" };
    let model = &dep.body["properties"]["model"];
    let model_name = match (model["name"].as_str(), model["version"].as_str()) {
        (Some(m), Some(v)) => format!("{m}-{v}"),
        (Some(m), None) => m.to_string(),
        _ => deployment.to_string(),
    };
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    json!({
        "id": format!("chatcmpl-{}", uuid_like().replace('-', "")),
        "object": "chat.completion",
        "created": created,
        "model": model_name,
        "system_fingerprint": "fp_aoai_lb_emulator",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": content_filter()}],
        "choices": [{
            "index": 0,
            "finish_reason": finish,
            "logprobs": null,
            "message": {"role": "assistant", "content": words[..n].join(" ")},
            "content_filter_results": content_filter(),
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n as u64},
    })
}

/// Headers of a refusal for a used-up budget; its body, as Azure OpenAI words it.
fn throttled(
    out: &mut Answer,
    config: &Config,
    wait_ms: u64,
    (requests, tokens): (u64, u64),
    api_version: &str,
    what: &str,
) -> Value {
    let seconds = (wait_ms as f64 / config.time_scale / 1000.0)
        .ceil()
        .max(1.0) as u64;
    out.headers.extend(
        retry_headers(wait_ms)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    out.headers.push((
        "x-ratelimit-remaining-requests".into(),
        requests.to_string(),
    ));
    out.headers
        .push(("x-ratelimit-remaining-tokens".into(), tokens.to_string()));
    error(
        "429",
        &format!(
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {api_version} have exceeded {what} limit of your current OpenAI S0 pricing tier. Please retry after {seconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
        ),
    )
}

impl Answer {
    /// An answer of `account` in `region` before it is decided: 200, the headers every
    /// answer carries, a refusal's latency (refusals come back quicker than completions).
    fn started(account: String, region: String, full_ms: u64) -> Answer {
        Answer {
            status: 200,
            headers: vec![
                ("x-ms-region".into(), region.clone()),
                ("apim-request-id".into(), uuid_like()),
                ("x-request-id".into(), uuid_like()),
            ],
            body: Value::Null,
            account,
            region,
            retry_after_ms: None,
            latency_ms: full_ms / 10,
        }
    }
}

/// Answers one call. `usage` holds every account's window; `rng` draws the jitter.
pub fn answer<R: Rng>(
    store: &Store,
    config: &Config,
    dp: &DataPlane,
    usage: &mut BTreeMap<String, Usage>,
    rng: &mut R,
    now: u64,
    call: &Call,
) -> Option<Answer> {
    let account = account_for_url(store, call.url)?;
    let name = account.name().to_string();
    let region = region_display(account);
    let settings = dp.settings_for(&name, &region);
    let full_ms = response_ms(config, &settings, rng);
    let mut out = Answer::started(name.clone(), region, full_ms);
    let fail = |mut out: Answer, status: u16, body: Value| {
        out.status = status;
        out.body = body;
        Some(out)
    };
    let (_, path_and_query) = split_url(call.url)?;
    let Some((deployment, query)) = chat_completions(call, &path_and_query) else {
        return fail(out, 404, error("404", "Resource not found"));
    };
    if let Some(body) = refusal(store, &account.id, call) {
        return fail(out, 401, body);
    }
    let dep = store
        .get(&format!("{}/deployments/{deployment}", account.id))
        .filter(|d| d.provisioning_state() == Some("Succeeded"));
    let Some(dep) = dep else {
        return fail(
            out,
            404,
            error(
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
            ),
        );
    };
    let request: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    if request["messages"].as_array().is_none_or(|m| m.is_empty()) {
        return fail(
            out,
            400,
            json!({"error": {"code": "BadRequest", "message": "'messages' is a required property", "param": "messages", "type": "invalid_request_error"}}),
        );
    }
    let (prompt, max_tokens) = estimate(&request);
    let window_ms = config.data_plane_ms(dp.window_seconds).max(1);
    let window = now / window_ms;
    let used = usage.entry(key(&account.id)).or_default();
    if used.window != window {
        *used = Usage {
            window,
            ..Default::default()
        };
    }
    let capacity = dep.body["sku"]["capacity"].as_u64().unwrap_or(1);
    let per_window = |per_minute: u64| (per_minute as f64 * dp.window_seconds / 60.0).ceil() as u64;
    let limit_requests = settings.requests.unwrap_or(per_window(capacity * 6));
    let limit_tokens = settings.tokens.unwrap_or(per_window(capacity * 1000));
    let over_requests = settings.requests.is_some_and(|l| used.requests + 1 > l);
    let over_tokens = settings
        .tokens
        .is_some_and(|l| used.tokens + prompt + max_tokens > l);
    if over_requests || over_tokens {
        let wait_ms = ((window + 1) * window_ms - now).max(1);
        let api_version = query.get("api-version").cloned().unwrap_or_default();
        let what = if over_requests {
            "call rate"
        } else {
            "token rate"
        };
        let remaining = (
            limit_requests.saturating_sub(used.requests),
            limit_tokens.saturating_sub(used.tokens),
        );
        let body = throttled(&mut out, config, wait_ms, remaining, &api_version, what);
        out.retry_after_ms = Some(wait_ms);
        return fail(out, 429, body);
    }
    used.requests += 1;
    used.tokens += prompt + max_tokens;
    out.headers.push((
        "x-ratelimit-remaining-requests".into(),
        limit_requests.saturating_sub(used.requests).to_string(),
    ));
    out.headers.push((
        "x-ratelimit-remaining-tokens".into(),
        limit_tokens.saturating_sub(used.tokens).to_string(),
    ));
    out.body = completion(&out, &deployment, dep, prompt, max_tokens);
    out.latency_ms = full_ms;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("https://A.openai.azure.com/openai/deployments/d?x=1"),
            Some((
                "a.openai.azure.com".into(),
                "/openai/deployments/d?x=1".into()
            ))
        );
        assert_eq!(
            split_url("https://a.openai.azure.com:443"),
            Some(("a.openai.azure.com".into(), "".into()))
        );
        assert_eq!(split_url("nonsense"), None);
    }

    #[test]
    fn token_estimates_count_max_tokens() {
        let body = json!({"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 5});
        assert_eq!(estimate(&body), (9, 5));
        assert_eq!(estimate(&json!({"messages": []})), (3, 16));
    }
}
