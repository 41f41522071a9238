//! The Azure OpenAI accounts behind the gateway, answered in process: a backend URL
//! `https://{customSubDomainName}.openai.azure.com/openai` resolves to the emulator's
//! account with that subdomain (no network), on the dated and the v1 URL shapes
//! (`route`). Chat completions, completions and
//! embeddings get a valid response body (or an event stream, `stream: true`) with
//! `x-ms-region` (the account's region display name) and the rate-limit headers; an
//! operation the deployment's model does not do is `400 OperationNotSupported`; a
//! budget per account and window (requests, tokens) answers `429` + `Retry-After`
//! beyond it, as Azure OpenAI does when a deployment's quota is used up.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use super::bodies;
use super::route::{Op, operation};
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
    /// The client's `x-ms-client-request-id`, which Azure OpenAI echoes.
    pub client_request_id: Option<&'a str>,
}

/// The account's answer, and how long it takes to arrive.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The events of a streamed answer (`text/event-stream`), `body` is then unused.
    pub events: Option<Vec<Value>>,
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
///
/// Both kinds answer the Azure OpenAI API on `{subdomain}.openai.azure.com` and
/// `{subdomain}.cognitiveservices.azure.com`; a Foundry (kind AIServices) account also on
/// `{subdomain}.services.ai.azure.com` (Microsoft Learn, "Endpoints for Microsoft Foundry
/// Models": `https://<resource-name>.services.ai.azure.com/openai/...`), which is the
/// `AI Foundry API` entry of its `properties.endpoints` (handlers/cognitive.rs).
pub fn account_for_url<'s>(store: &'s Store, url: &str) -> Option<&'s Record> {
    let (host, _) = split_url(url)?;
    let foundry_host = host.strip_suffix(".services.ai.azure.com");
    let sub = host
        .strip_suffix(".openai.azure.com")
        .or_else(|| host.strip_suffix(".cognitiveservices.azure.com"))
        .or(foundry_host)?;
    store.resources.values().find(|r| {
        r.kind == Kind::Account
            && (foundry_host.is_none() || r.body["kind"].as_str() == Some("AIServices"))
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
    let text_tokens = |v: &Value| -> u64 {
        let chars = match v {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.iter().map(|x| x.to_string().chars().count()).sum(),
            _ => 0,
        };
        chars.div_ceil(4) as u64
    };
    if body.get("messages").is_none() {
        let text = body.get("input").or_else(|| body.get("prompt"));
        let prompt = text.map_or(0, text_tokens);
        let max = if body.get("input").is_some() {
            0
        } else {
            body["max_tokens"].as_u64().unwrap_or(16)
        };
        return (prompt, max);
    }
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

/// The 401 body when the caller may not call the account (None: it may).
fn refusal(store: &Store, account_id: &str, call: &Call, op: Op) -> Option<Value> {
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
                "The principal `{p}` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/{0}/action` to perform `POST /openai/deployments/{{deployment-id}}/{0}` operation.",
                op.path()
            ),
        ),
        None => error(
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        ),
    })
}

/// Headers of a refusal for a used-up budget; its body, as Azure OpenAI words it.
fn throttled(out: &mut Answer, config: &Config, wait_ms: u64, b: &Budget, what: &str) -> Value {
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
        b.remaining_requests.to_string(),
    ));
    out.headers.push((
        "x-ratelimit-remaining-tokens".into(),
        b.remaining_tokens.to_string(),
    ));
    let operation = match b.op {
        Op::Chat => "ChatCompletions_Create",
        Op::Completions => "Completions_Create",
        Op::Embeddings => "Embeddings_Create",
    };
    error(
        "429",
        &format!(
            "Requests to the {operation} Operation under Azure OpenAI API version {} have exceeded {what} limit of your current OpenAI S0 pricing tier. Please retry after {seconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.",
            b.api_version
        ),
    )
}

impl Answer {
    /// An answer of `account` in `region` before it is decided: 200, the headers every
    /// answer carries, a refusal's latency (refusals come back quicker than completions).
    fn started(account: String, region: String, full_ms: u64, call: &Call) -> Answer {
        let mut headers = vec![
            ("x-ms-region".into(), region.clone()),
            ("apim-request-id".into(), uuid_like()),
            ("x-request-id".into(), uuid_like()),
        ];
        if let Some(id) = call.client_request_id {
            headers.push(("x-ms-client-request-id".into(), id.to_string()));
        }
        Answer {
            status: 200,
            headers,
            body: Value::Null,
            events: None,
            account,
            region,
            retry_after_ms: None,
            latency_ms: full_ms / 10,
        }
    }

    fn fail(mut self, status: u16, body: Value) -> Option<Answer> {
        self.status = status;
        self.body = body;
        Some(self)
    }
}

/// What one call spends of its account's budget, and what is left.
struct Budget {
    op: Op,
    api_version: String,
    remaining_requests: u64,
    remaining_tokens: u64,
}

/// Counts the call against its account's window: `Err` with the 429 body when a budget
/// is used up, else the rate-limit headers on `out`.
#[allow(clippy::too_many_arguments)]
fn spend(
    out: &mut Answer,
    config: &Config,
    dp: &DataPlane,
    used: &mut Usage,
    settings: &AccountSettings,
    capacity: u64,
    now: u64,
    (prompt, max_tokens): (u64, u64),
    mut b: Budget,
) -> Result<(), Value> {
    let window_ms = config.data_plane_ms(dp.window_seconds).max(1);
    let window = now / window_ms;
    if used.window != window {
        *used = Usage {
            window,
            ..Default::default()
        };
    }
    let per_window = |per_minute: u64| (per_minute as f64 * dp.window_seconds / 60.0).ceil() as u64;
    let limit_requests = settings.requests.unwrap_or(per_window(capacity * 6));
    let limit_tokens = settings.tokens.unwrap_or(per_window(capacity * 1000));
    let over_requests = settings.requests.is_some_and(|l| used.requests + 1 > l);
    let over_tokens = settings
        .tokens
        .is_some_and(|l| used.tokens + prompt + max_tokens > l);
    if over_requests || over_tokens {
        let wait_ms = ((window + 1) * window_ms - now).max(1);
        let what = if over_requests {
            "call rate"
        } else {
            "token rate"
        };
        b.remaining_requests = limit_requests.saturating_sub(used.requests);
        b.remaining_tokens = limit_tokens.saturating_sub(used.tokens);
        out.retry_after_ms = Some(wait_ms);
        return Err(throttled(out, config, wait_ms, &b, what));
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
    Ok(())
}

/// Azure OpenAI's 400 for a request body without a required property.
fn required(name: &str) -> Value {
    json!({"error": {"code": "BadRequest", "message": format!("'{name}' is a required property"), "param": name, "type": "invalid_request_error"}})
}

/// The model of a deployment: its name, and its name with version as answers show it.
fn model_of(dep: &Record, deployment: &str) -> (String, String) {
    let model = &dep.body["properties"]["model"];
    match (model["name"].as_str(), model["version"].as_str()) {
        (Some(m), Some(v)) => (m.to_string(), format!("{m}-{v}")),
        (Some(m), None) => (m.to_string(), m.to_string()),
        _ => (deployment.to_string(), deployment.to_string()),
    }
}

/// The answer's body or events: at most `max_tokens` words naming the account and
/// region, or one vector per input.
fn generate(
    out: &mut Answer,
    op: Op,
    request: &Value,
    model: &(String, String),
    tokens: (u64, u64),
) {
    if op == Op::Embeddings {
        let inputs: Vec<String> = match &request["input"] {
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect(),
            other => vec![
                other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string),
            ],
        };
        let dims = bodies::dimensions(&model.0, request["dimensions"].as_u64());
        let b64 = request["encoding_format"].as_str() == Some("base64");
        out.body = bodies::embeddings(&model.0, &inputs, dims, b64, tokens.0);
        return;
    }
    let words: Vec<String> = format!(
        "Hello from {} in {}: the aoai-lb emulator answered this {}.",
        out.account,
        out.region,
        if op == Op::Chat {
            "chat completion"
        } else {
            "completion"
        }
    )
    .split(' ')
    .map(str::to_string)
    .collect();
    let n = (tokens.1 as usize).min(words.len()).max(1);
    let reply = bodies::Reply {
        model: &model.1,
        finish: if n < words.len() { "length" } else { "stop" },
        words: words[..n].to_vec(),
        prompt_tokens: tokens.0,
    };
    let stream = request["stream"].as_bool() == Some(true);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    match (op, stream) {
        (Op::Chat, false) => out.body = bodies::chat(&reply),
        (Op::Chat, true) => out.events = Some(bodies::chat_stream(&reply, include_usage)),
        (_, false) => out.body = bodies::text(&reply, false).remove(0),
        (_, true) => out.events = Some(bodies::text(&reply, true)),
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
    let mut out = Answer::started(name.clone(), region, full_ms, call);
    let (_, path_and_query) = split_url(call.url)?;
    let Some((op, deployment, query)) = operation(call, &path_and_query) else {
        return out.fail(404, error("404", "Resource not found"));
    };
    let Some(deployment) = deployment else {
        // The v1 API names the deployment in the body's `model`, which its spec requires.
        return out.fail(400, required("model"));
    };
    if let Some(body) = refusal(store, &account.id, call, op) {
        return out.fail(401, body);
    }
    let dep = store
        .get(&format!("{}/deployments/{deployment}", account.id))
        .filter(|d| d.provisioning_state() == Some("Succeeded"));
    let Some(dep) = dep else {
        return out.fail(
            404,
            error(
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
            ),
        );
    };
    let model = model_of(dep, &deployment);
    if !op.works_with(&model.0) {
        // The wording users quote: graphrag#1557 (chatCompletion), OpenHands#1003
        // (embeddings), MicrosoftDocs/azure-docs#112023 (completion).
        return out.fail(400, error("OperationNotSupported", &format!(
            "The {} operation does not work with the specified model, {}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
            op.word(), model.0
        )));
    }
    let request: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    let missing = match op {
        Op::Chat => request["messages"]
            .as_array()
            .is_none_or(|m| m.is_empty())
            .then_some("messages"),
        Op::Embeddings => request
            .get("input")
            .is_none_or(Value::is_null)
            .then_some("input"),
        Op::Completions => None,
    };
    if let Some(field) = missing {
        return out.fail(400, required(field));
    }
    let tokens = estimate(&request);
    let budget = Budget {
        op,
        api_version: query
            .get("api-version")
            .cloned()
            .unwrap_or_else(|| "v1".into()),
        remaining_requests: 0,
        remaining_tokens: 0,
    };
    let used = usage.entry(key(&account.id)).or_default();
    let capacity = dep.body["sku"]["capacity"].as_u64().unwrap_or(1);
    if let Err(body) = spend(
        &mut out, config, dp, used, &settings, capacity, now, tokens, budget,
    ) {
        return out.fail(429, body);
    }
    out.headers
        .push(("x-ms-deployment-name".into(), deployment.clone()));
    generate(&mut out, op, &request, &model, tokens);
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
