//! API Management's token limits: `llm-token-limit` and `azure-openai-token-limit`
//! (learn.microsoft.com/azure/api-management/llm-token-limit-policy and
//! azure-openai-token-limit-policy; MicrosoftDocs/azure-docs articles/api-management).
//!
//! - One counter per `counter-key` value (an expression, evaluated per request), shared by
//!   every policy that names the same value ("a single counter is used for all scopes").
//! - `tokens-per-minute`: a fixed one-minute window. Past it the caller gets `429` with
//!   `Retry-After` (or `retry-after-header-name`) and APIM's body
//!   `{"statusCode": 429, "message": "Token limit is exceeded. Try again in N seconds."}`.
//! - `token-quota` over `token-quota-period` (Hourly, Daily, Weekly, Monthly, Yearly; "the
//!   length of the fixed window after which the token-quota resets"): past it `403` with
//!   `{"statusCode": 403, "message": "Token quota is exceeded. Try again in M minutes and
//!   S seconds."}` (both bodies as users quote APIM's answers: a Microsoft Foundry + APIM
//!   lab's "Test Token Quota Limits" step, token-rate-limiting lab runs).
//! - `estimate-prompt-tokens="true"` refuses a request whose estimated prompt does not fit
//!   what is left; `false` refuses only once the counter is spent ("all succeeding requests
//!   will be blocked by the policy until the token limit frees up again"). With
//!   `stream: true` prompt tokens are always estimated, and completion tokens too unless
//!   the stream carries a usage chunk ("Where available ... values in the usage section").
//! - After each execution the remaining tokens of the window (`remaining-tokens-header-name`)
//!   and of the quota (`remaining-quota-tokens-header-name`) and, once the backend
//!   answered, the tokens consumed (`tokens-consumed-header-name`) go on the answer.
//!
//! The per-minute window is a fixed slice of the emulator's clock, `timeScale` applied (a
//! minute of Azure time is `60 000 x timeScale` ms). A quota period is a UTC calendar unit
//! of the emulated Azure time (`periods.rs`): the wall clock at start, then `timeScale`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::context::RequestContext;
use crate::policy::{Element, is_expression};

pub use super::periods::Period;

/// One token-limit element as the gateway runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLimit {
    /// `llm-token-limit` or `azure-openai-token-limit`.
    pub element: String,
    pub counter_key: String,
    pub tokens_per_minute: Option<u64>,
    pub quota: Option<(u64, Period)>,
    pub estimate_prompt_tokens: bool,
    pub retry_after_header: String,
    pub remaining_tokens_header: Option<String>,
    pub remaining_quota_header: Option<String>,
    pub consumed_header: Option<String>,
}

/// The attributes the docs list for both elements (policy statement).
const ATTRIBUTES: [&str; 13] = [
    "counter-key",
    "tokens-per-minute",
    "token-quota",
    "token-quota-period",
    "estimate-prompt-tokens",
    "retry-after-header-name",
    "retry-after-variable-name",
    "remaining-quota-tokens-header-name",
    "remaining-quota-tokens-variable-name",
    "remaining-tokens-header-name",
    "remaining-tokens-variable-name",
    "tokens-consumed-header-name",
    "tokens-consumed-variable-name",
];

pub fn is_token_limit(name: &str) -> bool {
    name == "llm-token-limit" || name == "azure-openai-token-limit"
}

fn count(el: &Element, name: &str) -> Result<Option<u64>, String> {
    let Some(v) = el.attr(name) else {
        return Ok(None);
    };
    if is_expression(v) {
        return Err(format!("policy expressions aren't allowed in '{name}'"));
    }
    v.trim()
        .parse::<u64>()
        .map(Some)
        .map_err(|_| format!("'{name}' must be a whole number of tokens, not '{v}'"))
}

/// A token-limit element read as the docs define it; the reason when it is not valid.
pub fn read(el: &Element) -> Result<TokenLimit, String> {
    if let Some((unknown, _)) = el
        .attributes
        .iter()
        .find(|(k, _)| !ATTRIBUTES.contains(&k.as_str()))
    {
        return Err(format!("the attribute '{unknown}' is not allowed"));
    }
    let counter_key = el
        .attr("counter-key")
        .filter(|k| !k.trim().is_empty())
        .ok_or("the attribute 'counter-key' is required")?
        .to_string();
    let estimate = match el.attr("estimate-prompt-tokens").map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(format!(
                "'estimate-prompt-tokens' must be true or false, not '{v}'"
            ));
        }
        None => return Err("the attribute 'estimate-prompt-tokens' is required".into()),
    };
    let tokens_per_minute = count(el, "tokens-per-minute")?;
    let quota = match (count(el, "token-quota")?, el.attr("token-quota-period")) {
        (Some(q), Some(p)) => Some((
            q,
            Period::parse(p).ok_or_else(|| {
                format!("'token-quota-period' must be one of Hourly, Daily, Weekly, Monthly, Yearly, not '{p}'")
            })?,
        )),
        (None, None) => None,
        _ => return Err("'token-quota' and 'token-quota-period' go together".into()),
    };
    if tokens_per_minute.is_none() && quota.is_none() {
        return Err("either 'tokens-per-minute' or both 'token-quota' and 'token-quota-period' must be specified".into());
    }
    let header = |n: &str| el.attr(n).map(str::to_string);
    Ok(TokenLimit {
        element: el.name.clone(),
        counter_key,
        tokens_per_minute,
        quota,
        estimate_prompt_tokens: estimate,
        retry_after_header: header("retry-after-header-name").unwrap_or("Retry-After".into()),
        remaining_tokens_header: header("remaining-tokens-header-name"),
        remaining_quota_header: header("remaining-quota-tokens-header-name"),
        consumed_header: header("tokens-consumed-header-name"),
    })
}

/// One counter's fixed window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub index: i64,
    pub used: u64,
    pub limit: u64,
    /// The quota period; none: the minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// The emulator's clock as the limits read it.
#[derive(Clone, Copy, Debug)]
pub struct At {
    /// Emulator milliseconds since start.
    pub now: u64,
    /// Real milliseconds per Azure millisecond (the emulator's `timeScale`).
    pub scale: f64,
    /// The wall clock (Unix ms) when the emulator started: Azure time then.
    pub origin_unix_ms: i64,
}

impl At {
    fn ms(&self, seconds: f64) -> u64 {
        ((seconds * 1000.0 * self.scale).round() as u64).max(1)
    }

    fn azure_unix_ms(&self) -> i64 {
        self.origin_unix_ms + (self.now as f64 / self.scale) as i64
    }

    /// The window of `period` (none: the minute) holding now, and the emulator
    /// milliseconds left in it.
    fn window(&self, period: Option<Period>) -> (i64, u64) {
        match period {
            None => {
                let len = self.ms(60.0);
                let index = self.now / len;
                (index as i64, (index + 1) * len - self.now)
            }
            Some(p) => {
                let now = self.azure_unix_ms();
                let (index, next) = p.holding(now);
                (index, (((next - now) as f64 * self.scale) as u64).max(1))
            }
        }
    }
}

/// Every counter of the data plane, by `{service}|{tpm or period}|{counter key value}`.
pub type Counters = BTreeMap<String, Window>;

/// One counter a request was admitted on: what it reserved there.
#[derive(Clone, Debug)]
struct Held {
    counter: String,
    index: i64,
    reserved: u64,
    limit: u64,
    quota: bool,
    limit_at: usize,
}

/// A refusal: status, message, headers.
pub struct Refusal {
    pub status: u16,
    pub message: String,
    pub headers: Vec<(String, String)>,
}

/// The counters one admitted request holds until it is settled.
#[derive(Default)]
pub struct Admission {
    held: Vec<Held>,
}

/// "N seconds", "M minutes and N seconds", "H hours, M minutes and N seconds".
pub fn wait_words(seconds: u64) -> String {
    let parts: Vec<String> = [
        (seconds / 86_400, "day"),
        (seconds % 86_400 / 3_600, "hour"),
        (seconds % 3_600 / 60, "minute"),
        (seconds % 60, "second"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}{}", if n == 1 { "" } else { "s" }))
    .collect();
    match parts.as_slice() {
        [] => "0 seconds".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What a request asks of the limits: its estimated prompt and whether it streams.
pub struct Ask {
    pub prompt_estimate: u64,
    pub stream: bool,
    pub at: At,
}

/// Runs every limit before the backend: `Err` with the refusal of the first that is
/// spent, else what the request holds (its estimate reserved on each counter).
pub fn admit(
    counters: &mut Counters,
    service: &str,
    limits: &[TokenLimit],
    cx: &RequestContext,
    ask: &Ask,
) -> Result<Admission, Refusal> {
    let mut wanted = Vec::new();
    for (at, l) in limits.iter().enumerate() {
        let key = cx.eval(&l.counter_key).map_err(|e| Refusal {
            status: 500,
            message: format!("{}: counter-key: {e}", l.element),
            headers: Vec::new(),
        })?;
        let estimate = if l.estimate_prompt_tokens || ask.stream {
            ask.prompt_estimate
        } else {
            0
        };
        // The quota first: once it is spent, waiting out the minute does not help.
        if let Some((quota, period)) = l.quota {
            let c = format!("{}|{}|{key}", service.to_ascii_lowercase(), period.name());
            wanted.push((c, quota, Some(period), estimate, at));
        }
        if let Some(tpm) = l.tokens_per_minute {
            let c = format!("{}|minute|{key}", service.to_ascii_lowercase());
            wanted.push((c, tpm, None, estimate, at));
        }
    }
    for (counter, limit, period, estimate, at) in &wanted {
        let (index, left_ms) = ask.at.window(*period);
        let w = counters.entry(counter.clone()).or_default();
        if w.index != index || w.period != *period {
            *w = Window::default();
            w.index = index;
        }
        w.limit = *limit;
        w.period = *period;
        if w.used >= *limit || w.used + estimate > *limit {
            return Err(refusal(
                &limits[*at],
                period.is_some(),
                left_ms,
                ask.at.scale,
            ));
        }
    }
    let mut held = Vec::new();
    for (counter, limit, period, estimate, at) in wanted {
        let w = counters.get_mut(&counter).expect("entered above");
        w.used += estimate;
        held.push(Held {
            counter,
            index: ask.at.window(period).0,
            reserved: estimate,
            limit,
            quota: period.is_some(),
            limit_at: at,
        });
    }
    Ok(Admission { held })
}

fn refusal(l: &TokenLimit, quota: bool, wait_ms: u64, scale: f64) -> Refusal {
    let azure_seconds = ((wait_ms as f64 / scale) / 1000.0).ceil().max(1.0) as u64;
    let real_seconds = (wait_ms as f64 / 1000.0).ceil().max(1.0) as u64;
    let mut headers = vec![(l.retry_after_header.clone(), real_seconds.to_string())];
    let zero = |h: &Option<String>| h.clone().map(|h| (h, "0".to_string()));
    if quota {
        headers.extend(zero(&l.remaining_quota_header));
    } else {
        headers.extend(zero(&l.remaining_tokens_header));
    }
    let (status, message) = if quota {
        (
            403,
            format!(
                "Token quota is exceeded. Try again in {}.",
                wait_words(azure_seconds)
            ),
        )
    } else {
        (
            429,
            format!("Token limit is exceeded. Try again in {azure_seconds} seconds."),
        )
    };
    Refusal {
        status,
        message,
        headers,
    }
}

/// The tokens a backend's answer used: prompt, completion, and whether they are estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Used {
    pub prompt: u64,
    pub completion: u64,
    pub estimated: bool,
}

impl Used {
    pub fn total(&self) -> u64 {
        self.prompt + self.completion
    }
}

/// Usage of a JSON answer (its `usage`), or of a stream: its usage chunk when it has one,
/// else the prompt estimate and one token per content chunk.
pub fn used(body: &Value, events: Option<&[Value]>, prompt_estimate: u64) -> Used {
    let from = |u: &Value| {
        let prompt = u["prompt_tokens"].as_u64()?;
        let total = u["total_tokens"].as_u64().unwrap_or(prompt);
        Some(Used {
            prompt,
            completion: u["completion_tokens"]
                .as_u64()
                .unwrap_or(total.saturating_sub(prompt)),
            estimated: false,
        })
    };
    let Some(events) = events else {
        return from(&body["usage"]).unwrap_or_default();
    };
    if let Some(u) = events.iter().rev().find_map(|e| from(&e["usage"])) {
        return u;
    }
    let chunks = events
        .iter()
        .filter(|e| {
            let c = &e["choices"][0];
            c.pointer("/delta/content")
                .or_else(|| c.get("text"))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
        })
        .count() as u64;
    Used {
        prompt: prompt_estimate,
        completion: chunks,
        estimated: true,
    }
}

/// Settles an admitted request with what it used; the headers the limits put on the
/// answer (remaining tokens, remaining quota, tokens consumed when the backend answered).
pub fn settle(
    counters: &mut Counters,
    limits: &[TokenLimit],
    admission: Admission,
    used: Option<Used>,
    at: At,
) -> Vec<(String, String)> {
    let total = used.map_or(0, |u| u.total());
    let mut headers = Vec::new();
    for h in admission.held {
        let l = &limits[h.limit_at];
        let w = counters.entry(h.counter).or_default();
        // Tokens count when the answer arrives: in the window of admission, in place of the
        // estimate reserved there; in a later one, in that window.
        let index = at.window(w.period).0;
        if index == h.index && w.index == h.index {
            w.used = w.used.saturating_sub(h.reserved) + total;
        } else {
            if w.index < index {
                w.index = index;
                w.used = 0;
            }
            w.used += total;
        }
        let remaining = h.limit.saturating_sub(w.used).to_string();
        let name = if h.quota {
            &l.remaining_quota_header
        } else {
            &l.remaining_tokens_header
        };
        if let Some(n) = name {
            headers.push((n.clone(), remaining));
        }
    }
    if used.is_some() {
        headers.extend(
            limits
                .iter()
                .filter_map(|l| l.consumed_header.clone())
                .map(|n| (n, total.to_string())),
        );
    }
    headers
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
