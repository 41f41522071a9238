//! What the gateway reads in an API policy (its inbound section already applied to the
//! request by `inbound`): where requests go (`set-backend-service`
//! with a `backend-id`, or a `base-url` picked from a list, as the `random` template
//! does), whether `return-response` answered without a backend, how `retry` retries, what `on-error` returns and how the gateway
//! authenticates to Azure OpenAI. The emulator runs no C#: it recognises the shapes our
//! templates (and the seed labs) write, and says so when it meets one it cannot run.

use super::context::RequestContext;
use super::inbound::Returned;
use super::metrics::{self, EmitMetric, is_emit_metric};
use super::tokens::{self, TokenLimit, is_token_limit};
use crate::policy::Element;

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A backend entity (single or pool), by id.
    Backend(String),
    /// One URL picked uniformly at random per request (one URL: always that one).
    Urls(Vec<String>),
    /// No `set-backend-service`: the API's `serviceUrl`.
    ServiceUrl,
    /// A shape the emulator cannot evaluate; the reason.
    Unsupported(String),
}

/// The `retry` around `forward-request`.
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Retries after the first try.
    pub count: u32,
    /// Status ranges the condition retries on (`StatusCode == 429`, `StatusCode >= 500`).
    pub statuses: Vec<(u16, u16)>,
    /// Seconds between retries (Azure time).
    pub interval_seconds: f64,
    pub first_fast_retry: bool,
}

impl Retry {
    pub fn none() -> Retry {
        Retry {
            count: 0,
            statuses: Vec::new(),
            interval_seconds: 0.0,
            first_fast_retry: false,
        }
    }

    pub fn retries(&self, status: u16) -> bool {
        self.statuses
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

/// `on-error`: return this status when the gateway's own error matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnError {
    /// Status ranges of the `when` condition; empty: unconditional.
    pub when: Vec<(u16, u16)>,
    pub status: u16,
    pub reason: String,
}

/// How the gateway authenticates to the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `authentication-managed-identity` (with a user-assigned identity's `client-id`).
    ManagedIdentity {
        client_id: Option<String>,
    },
    /// A `set-header` of `api-key`: a key the emulator cannot check, accepted.
    ApiKey,
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub target: Target,
    /// The response the inbound section returned itself (`return-response`, see
    /// `inbound`): no backend is called.
    pub returned: Option<Returned>,
    pub retry: Retry,
    pub on_error: Vec<OnError>,
    pub auth: Auth,
}

impl Route {
    /// No policy at all: the API's service URL, once, without credentials.
    pub fn without_policy() -> Route {
        Route {
            target: Target::ServiceUrl,
            returned: None,
            retry: Retry::none(),
            on_error: Vec::new(),
            auth: Auth::None,
        }
    }

    /// What `on-error` returns for a gateway error with `status`, if anything.
    pub fn on_error_for(&self, status: u16) -> Option<&OnError> {
        self.on_error.iter().find(|o| {
            o.when.is_empty() || o.when.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
        })
    }
}

fn section<'a>(root: &'a Element, name: &str) -> Option<&'a Element> {
    root.elements().find(|e| e.name == name)
}

fn is_expression(v: &str) -> bool {
    v.trim_start().starts_with('@')
}

/// The C# string literals of an expression, in order (`"a"`, verbatim `@"b"` too).
fn string_literals(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '"' {
            let verbatim = i > 0 && chars[i - 1] == '@';
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                match chars[i] {
                    '\\' if !verbatim && i + 1 < chars.len() => {
                        s.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    '"' if verbatim && chars.get(i + 1) == Some(&'"') => {
                        s.push('"');
                        i += 2;
                        continue;
                    }
                    '"' => break,
                    c => s.push(c),
                }
                i += 1;
            }
            out.push(s);
        } else if chars[i] == '\'' {
            // A char literal: skip it so a '"' inside does not start a string.
            i += if chars.get(i + 1) == Some(&'\\') {
                4
            } else {
                3
            };
            continue;
        }
        i += 1;
    }
    out
}

fn urls_in(expr: &str) -> Vec<String> {
    string_literals(expr)
        .into_iter()
        .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
        .collect()
}

/// Status ranges a condition tests: `StatusCode == N`, `>= N`, `> N`.
pub fn status_terms(condition: &str) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    let mut rest = condition;
    while let Some(at) = rest.find("StatusCode") {
        rest = &rest[at + "StatusCode".len()..];
        let t = rest.trim_start();
        let (op, after) = if let Some(a) = t.strip_prefix("==") {
            ("==", a)
        } else if let Some(a) = t.strip_prefix(">=") {
            (">=", a)
        } else if let Some(a) = t.strip_prefix('>') {
            (">", a)
        } else {
            continue;
        };
        let digits: String = after
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(n) = digits.parse::<u16>() else {
            continue;
        };
        out.push(match op {
            "==" => (n, n),
            ">=" => (n, 599),
            _ => (n.saturating_add(1), 599),
        });
    }
    out
}

/// The target of the last `set-backend-service` (document order, as APIM applies them).
fn target(root: &Element) -> Target {
    let all = root.descendants();
    let Some(sbs) = all.iter().rev().find(|e| e.name == "set-backend-service") else {
        return Target::ServiceUrl;
    };
    if let Some(id) = sbs.attr("backend-id") {
        if is_expression(id) {
            return Target::Unsupported(format!(
                "set-backend-service backend-id=\"{id}\" is an expression"
            ));
        }
        return Target::Backend(id.to_string());
    }
    let Some(url) = sbs.attr("base-url") else {
        return Target::Unsupported(
            "set-backend-service has neither backend-id nor base-url".into(),
        );
    };
    if !is_expression(url) {
        return Target::Urls(vec![url.to_string()]);
    }
    // URLs written in the expression itself.
    let direct = urls_in(url);
    if !direct.is_empty() {
        return Target::Urls(direct);
    }
    // `context.Variables["name"]`: the URLs of that variable's `set-variable`.
    for name in string_literals(url) {
        let listed = all
            .iter()
            .filter(|e| e.name == "set-variable" && e.attr("name") == Some(name.as_str()))
            .filter_map(|e| e.attr("value"))
            .flat_map(urls_in)
            .collect::<Vec<_>>();
        if !listed.is_empty() {
            return Target::Urls(listed);
        }
    }
    Target::Unsupported(format!(
        "the emulator cannot evaluate set-backend-service base-url=\"{url}\" (it recognises a list of URL literals, directly or in a set-variable)"
    ))
}

fn retry(root: &Element) -> Retry {
    let Some(backend) = section(root, "backend") else {
        return Retry::none();
    };
    let Some(r) = backend
        .descendants()
        .into_iter()
        .find(|e| e.name == "retry" && e.descendants().iter().any(|d| d.name == "forward-request"))
    else {
        return Retry::none();
    };
    Retry {
        count: r
            .attr("count")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0),
        statuses: r.attr("condition").map(status_terms).unwrap_or_default(),
        interval_seconds: r
            .attr("interval")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0.0),
        first_fast_retry: r
            .attr("first-fast-retry")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }
}

fn return_response(el: &Element, when: Vec<(u16, u16)>) -> Option<OnError> {
    let rr = el.elements().find(|e| e.name == "return-response")?;
    let status = rr.elements().find(|e| e.name == "set-status");
    Some(OnError {
        when,
        status: status
            .and_then(|s| s.attr("code"))
            .and_then(|c| c.parse().ok())
            .unwrap_or(200),
        reason: status
            .and_then(|s| s.attr("reason"))
            .unwrap_or("OK")
            .to_string(),
    })
}

fn on_error(root: &Element) -> Vec<OnError> {
    let Some(section) = section(root, "on-error") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for el in section.elements() {
        match el.name.as_str() {
            "choose" => {
                for when in el.elements() {
                    let ranges = match when.name.as_str() {
                        "when" => status_terms(when.attr("condition").unwrap_or_default()),
                        "otherwise" => Vec::new(),
                        _ => continue,
                    };
                    if when.name == "when" && ranges.is_empty() {
                        continue;
                    }
                    out.extend(return_response(when, ranges));
                }
            }
            "return-response" => out.extend(return_response(section, Vec::new())),
            _ => {}
        }
    }
    out
}

fn auth(root: &Element) -> Auth {
    let all = root.descendants();
    if let Some(mi) = all
        .iter()
        .find(|e| e.name == "authentication-managed-identity")
    {
        return Auth::ManagedIdentity {
            client_id: mi.attr("client-id").map(str::to_string),
        };
    }
    let sets_key = all.iter().any(|e| {
        e.name == "set-header"
            && e.attr("name")
                .is_some_and(|n| n.eq_ignore_ascii_case("api-key"))
    });
    if sets_key { Auth::ApiKey } else { Auth::None }
}

/// Whether an element is a token limit or a token metric.
fn governs(el: &Element) -> bool {
    is_token_limit(&el.name) || is_emit_metric(&el.name)
}

/// Every token limit and token metric of the `inbound` section (the only section the
/// docs allow them in), whatever branch of a `choose` they are in, read as their reference
/// pages define them: the first that is not valid, named (what a policy PUT checks).
pub fn check_governance(root: &Element) -> Result<(), String> {
    let Some(inbound) = section(root, "inbound") else {
        return Ok(());
    };
    for el in inbound.descendants() {
        let named = |e: String| format!("Error in element '{}': {e}", el.name);
        if is_token_limit(&el.name) {
            tokens::read(el).map_err(named)?;
        } else if is_emit_metric(&el.name) {
            metrics::read(el).map_err(named)?;
        }
    }
    Ok(())
}

/// What one request runs: `el`'s token limits and metrics, in document order, a `choose`
/// that holds some taking its first `when` whose condition holds (else `otherwise`).
fn collect(
    el: &Element,
    cx: &RequestContext,
    out: &mut (Vec<TokenLimit>, Vec<EmitMetric>),
) -> Result<(), String> {
    for child in el.elements() {
        let named = |e: String| format!("Error in element '{}': {e}", child.name);
        if is_token_limit(&child.name) {
            out.0.push(tokens::read(child).map_err(named)?);
        } else if is_emit_metric(&child.name) {
            out.1.push(metrics::read(child).map_err(named)?);
        } else if child.name == "choose" && child.descendants().iter().any(|d| governs(d)) {
            for branch in child.elements() {
                let taken = match branch.name.as_str() {
                    "when" => cx
                        .condition(branch.attr("condition").unwrap_or_default())
                        .map_err(|e| format!("Error in element 'when': {e}"))?,
                    "otherwise" => true,
                    _ => false,
                };
                if taken {
                    collect(branch, cx, out)?;
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The token limits and token metrics one request runs (`inbound` only).
pub fn governance(
    root: &Element,
    cx: &RequestContext,
) -> Result<(Vec<TokenLimit>, Vec<EmitMetric>), String> {
    let mut out = (Vec::new(), Vec::new());
    if let Some(inbound) = section(root, "inbound") {
        collect(inbound, cx, &mut out)?;
    }
    Ok(out)
}

/// The first token-limit or emit-token-metric element outside `inbound`, if any.
pub fn outside_inbound(root: &Element) -> Option<(String, String)> {
    root.elements()
        .filter(|s| s.name != "inbound")
        .flat_map(|s| {
            s.descendants()
                .into_iter()
                .map(move |e| (s.name.clone(), e.name.clone()))
        })
        .find(|(_, e)| is_token_limit(e) || is_emit_metric(e))
}

/// The route of a parsed policy.
pub fn route(root: &Element) -> Route {
    Route {
        target: target(root),
        returned: None,
        retry: retry(root),
        on_error: on_error(root),
        auth: auth(root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Format, parse};

    const POOL: &str = r#"<policies>
    <inbound>
        <base />
        <set-backend-service id="aoai-lb-pool" backend-id="openai-instance-backend-pool" />
        <authentication-managed-identity resource="https://cognitiveservices.azure.com" output-token-variable-name="managed-id-access-token" ignore-error="false" />
        <set-header name="Authorization" exists-action="override">
            <value>@("Bearer " + (string)context.Variables["managed-id-access-token"])</value>
        </set-header>
    </inbound>
    <backend>
        <retry count="2" interval="0" first-fast-retry="true" condition="@(context.Response.StatusCode == 429 || (context.Response.StatusCode == 503 && !context.Response.StatusReason.Contains("Backend pool") && !context.Response.StatusReason.Contains("is temporarily unavailable")))">
            <forward-request buffer-request-body="true" />
        </retry>
    </backend>
    <outbound><base /></outbound>
    <on-error>
        <base />
        <choose>
            <when condition="@(context.Response.StatusCode == 503)">
                <return-response>
                    <set-status code="503" reason="Service Unavailable" />
                </return-response>
            </when>
        </choose>
    </on-error>
</policies>"#;

    const RANDOM: &str = r#"<policies>
    <inbound>
        <base />
        <authentication-managed-identity resource="https://cognitiveservices.azure.com" client-id="11111111-2222-3333-4444-555555555555" output-token-variable-name="msi-access-token" ignore-error="false" />
    </inbound>
    <backend>
        <set-variable name="backendUrl" value="@{
            var backends = new System.Collections.Generic.List<string>() {
                "https://a.openai.azure.com/openai",
                "https://b.openai.azure.com/openai",
            };
            return backends[new System.Random().Next(0, backends.Count)];
        }" />
        <set-backend-service base-url="@((string)context.Variables["backendUrl"])" />
        <forward-request buffer-request-body="true" />
    </backend>
    <on-error><base /></on-error>
</policies>"#;

    #[test]
    fn the_seed_labs_pool_policy() {
        let r = route(&parse(POOL, Format::RawXml).unwrap());
        assert_eq!(
            r.target,
            Target::Backend("openai-instance-backend-pool".into())
        );
        assert_eq!(r.retry.count, 2);
        assert_eq!(r.retry.statuses, vec![(429, 429), (503, 503)]);
        assert!(r.retry.retries(429) && !r.retry.retries(500));
        assert!(r.retry.first_fast_retry);
        assert_eq!(r.on_error_for(503).unwrap().reason, "Service Unavailable");
        assert!(r.on_error_for(500).is_none());
        assert_eq!(r.auth, Auth::ManagedIdentity { client_id: None });
    }

    #[test]
    fn the_random_template_picks_from_its_list() {
        let r = route(&parse(RANDOM, Format::RawXml).unwrap());
        assert_eq!(
            r.target,
            Target::Urls(vec![
                "https://a.openai.azure.com/openai".into(),
                "https://b.openai.azure.com/openai".into()
            ])
        );
        assert_eq!(r.retry, Retry::none());
        assert_eq!(
            r.auth,
            Auth::ManagedIdentity {
                client_id: Some("11111111-2222-3333-4444-555555555555".into())
            }
        );
    }

    #[test]
    fn shapes_it_cannot_run_are_named() {
        let p = r#"<policies><inbound><set-backend-service base-url="@(context.Request.Headers.GetValueOrDefault("x", ""))" /></inbound><backend><forward-request /></backend></policies>"#;
        let r = route(&parse(p, Format::RawXml).unwrap());
        assert!(matches!(r.target, Target::Unsupported(m) if m.contains("cannot evaluate")));
        let p = r#"<policies><inbound><set-backend-service base-url="https://x.openai.azure.com/openai" /></inbound></policies>"#;
        let r = route(&parse(p, Format::RawXml).unwrap());
        assert_eq!(
            r.target,
            Target::Urls(vec!["https://x.openai.azure.com/openai".into()])
        );
        assert_eq!(r.auth, Auth::None);
    }

    #[test]
    fn conditions() {
        assert_eq!(
            status_terms(
                "@(context.Response.StatusCode >= 500 || context.Response.StatusCode==429)"
            ),
            vec![(500, 599), (429, 429)]
        );
        assert_eq!(
            status_terms("@(context.Response.StatusCode > 499)"),
            vec![(500, 599)]
        );
        assert!(status_terms("@(true)").is_empty());
        assert_eq!(
            string_literals(r#"@(x["a\"b"] + @"c""d" + 'x' + '"')"#),
            vec!["a\"b".to_string(), "c\"d".to_string()]
        );
    }
}
