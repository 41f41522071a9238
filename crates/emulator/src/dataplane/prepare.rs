//! What API Management decides before it calls a backend: the service and API a request
//! names, the subscription key, and the API's policy as applied (APIM's own 404 and 401
//! answers come from here).

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde_json::Value;

use super::context::RequestContext;
use super::identity::{NoPrincipal, principal_of};
use super::inbound;
use super::matching::{self, Matched};
use super::metrics::EmitMetric;
use super::policy::{self, Auth, Route};
use super::tokens::TokenLimit;
use crate::pipeline::parse_query;
use crate::policy::{self as policy_doc, Format};
use crate::store::{Kind, Record, Store, key};

/// A response the gateway itself makes (not a backend's).
pub(super) struct Own {
    pub status: u16,
    pub message: String,
    /// Headers a policy put on it (a token limit's `Retry-After`).
    pub headers: Vec<(String, String)>,
}

/// Everything decided before the first try.
pub(super) struct Prepared {
    pub service_id: String,
    /// The operation's path after the API's path, from its `/`.
    pub suffix: String,
    /// The query forwarded to the backend (subscription key removed).
    pub forward_query: String,
    pub route: Route,
    pub service_url: Option<String>,
    /// The managed identity's principal, or why there is none.
    pub principal: Result<Option<String>, NoPrincipal>,
    pub api_key: bool,
    /// The operation the request matched.
    pub operation: Matched,
    /// The client's `x-ms-client-request-id` (forwarded, as APIM forwards headers).
    pub client_request_id: Option<String>,
    /// What the policy's expressions read.
    pub context: RequestContext,
    pub limits: Vec<TokenLimit>,
    pub metrics: Vec<EmitMetric>,
    /// The Application Insights logger token metrics go to, if any.
    pub logger_id: Option<String>,
}

pub(super) fn own(status: u16, message: impl Into<String>) -> Own {
    Own {
        status,
        message: message.into(),
        headers: Vec::new(),
    }
}

/// A query string without the named parameters.
pub(super) fn strip_query(raw: &str, names: &[String]) -> String {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split_once('=').map_or(*p, |(k, _)| k);
            let k = parse_query(k).into_keys().next().unwrap_or_default();
            !names.iter().any(|n| n.eq_ignore_ascii_case(&k))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The query as the log keeps it: without anything that may be a secret.
pub(super) fn loggable_query(raw: &str) -> String {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p
                .split_once('=')
                .map_or(*p, |(k, _)| k)
                .to_ascii_lowercase();
            !["key", "sig", "token", "secret"]
                .iter()
                .any(|s| k.contains(s))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What an API's policy governs: its route, token limits and token metrics.
type Governed = (Route, Vec<TokenLimit>, Vec<EmitMetric>);

/// The route of an API's policy as applied (no policy: the API's service URL).
fn route_of(store: &Store, api_id: &str, cx: &mut RequestContext) -> Result<Governed, Own> {
    let Some(p) = store.get(&format!("{api_id}/policies/policy")) else {
        return Ok((Route::without_policy(), Vec::new(), Vec::new()));
    };
    let raw = p.private["format"].as_str() == Some("rawxml");
    let format = if raw { Format::RawXml } else { Format::Xml };
    let value = p.private["value"].as_str().unwrap_or_default();
    let root = policy_doc::parse(value, format)
        .map_err(|e| own(500, format!("The API's policy does not parse: {e}")))?;
    // The inbound section as it applies to this request (set-variable, choose,
    // return-response); an expression that fails is APIM's runtime error, a 500.
    let applied = inbound::apply(&root, cx).map_err(|e| own(500, e))?;
    let (limits, metrics) = policy::governance(&applied.root, cx).map_err(|e| own(500, e))?;
    let route = Route {
        returned: applied.returned,
        ..policy::route(&applied.root)
    };
    Ok((route, limits, metrics))
}

/// The subscription key a request must carry for `api` (its header, or its query
/// parameter), checked against the service's active subscriptions scoped to the API or
/// to all APIs. Returns the query parameter's name (not forwarded) and the subscription
/// the key belongs to (none when the API needs no key).
fn check_key<'s>(
    store: &'s Store,
    service: &Record,
    api: &Record,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<(String, Option<&'s Record>), Own> {
    let props = &api.body["properties"];
    let header_name = props
        .pointer("/subscriptionKeyParameterNames/header")
        .and_then(Value::as_str)
        .unwrap_or("Ocp-Apim-Subscription-Key")
        .to_string();
    let query_name = props
        .pointer("/subscriptionKeyParameterNames/query")
        .and_then(Value::as_str)
        .unwrap_or("subscription-key")
        .to_string();
    if !props["subscriptionRequired"].as_bool().unwrap_or(true) {
        return Ok((query_name, None));
    }
    let sent = headers
        .get(header_name.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get(&query_name.to_ascii_lowercase()).cloned());
    let Some(sent) = sent.filter(|s| !s.is_empty()) else {
        return Err(own(
            401,
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        ));
    };
    let api_key = key(&api.id);
    let all_apis = key(&format!("{}/apis", service.id));
    let valid = store.below(&service.id).find(|s| {
        s.kind == Kind::ApimSubscription
            && s.body["properties"]["state"].as_str() == Some("active")
            && s.body["properties"]["scope"]
                .as_str()
                .is_some_and(|sc| key(sc) == api_key || key(sc) == all_apis)
            && ["primaryKey", "secondaryKey"]
                .iter()
                .any(|k| s.private[k].as_str() == Some(sent.as_str()))
    });
    let Some(subscription) = valid else {
        return Err(own(
            401,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        ));
    };
    Ok((query_name, Some(subscription)))
}

/// The request's `context` as the token policies read it.
fn context_of(
    store: &Store,
    service: &Record,
    api: &Record,
    operation: &Matched,
    subscription: Option<&Record>,
    headers: &HeaderMap,
) -> RequestContext {
    let name_of = |r: &Record| {
        let display = r.body["properties"]["displayName"].as_str();
        (
            r.name().to_string(),
            display.unwrap_or(r.name()).to_string(),
        )
    };
    let op_display = store
        .get(&format!("{}/operations/{}", api.id, operation.name))
        .and_then(|o| {
            o.body["properties"]["displayName"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| operation.name.clone());
    let last = |v: &Value| {
        v.as_str()
            .and_then(|s| s.rsplit('/').next())
            .map(str::to_string)
    };
    let scope = subscription.and_then(|s| s.body["properties"]["scope"].as_str());
    let product = scope
        .filter(|sc| sc.to_ascii_lowercase().contains("/products/"))
        .and_then(|sc| store.get(sc))
        .map(name_of);
    RequestContext {
        subscription: subscription.map(name_of),
        product,
        user: subscription.and_then(|s| last(&s.body["properties"]["ownerId"])),
        api: name_of(api),
        operation: (operation.name.clone(), op_display),
        service: (
            service.name().to_string(),
            crate::regions::display_name(service.body["location"].as_str().unwrap_or_default())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    service.body["location"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                }),
        ),
        headers: headers
            .iter()
            .filter(|(n, _)| !n.as_str().contains("key") && *n != "authorization")
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        matched: operation.parameters.clone(),
        variables: BTreeMap::new(),
        body: None,
        body_consumed: Default::default(),
    }
}

/// The service named in the gateway URL and the API of the service whose `path` is the
/// longest prefix of `rest`, with that path's length.
fn service_and_api<'s>(
    store: &'s Store,
    service_name: &str,
    rest: &str,
) -> Option<(&'s Record, &'s Record, usize)> {
    let service = store
        .resources
        .values()
        .find(|r| r.kind == Kind::ApimService && r.name().eq_ignore_ascii_case(service_name))?;
    let lower = rest.to_ascii_lowercase();
    let (len, api) = store
        .below(&service.id)
        .filter(|r| r.kind == Kind::Api)
        .filter_map(|r| {
            let path = r.body["properties"]["path"]
                .as_str()
                .unwrap_or_default()
                .trim_matches('/')
                .to_ascii_lowercase();
            let fits = path.is_empty() || lower == path || lower.starts_with(&format!("{path}/"));
            fits.then_some((path.len(), r))
        })
        .max_by_key(|(len, _)| *len)?;
    Some((service, api, len))
}

/// Service, API, operation, subscription key, policy: APIM's checks before the backend.
pub(super) fn prepare(
    store: &Store,
    method: &str,
    service_name: &str,
    rest: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Prepared, Own> {
    let not_found = || own(404, "Resource not found");
    let rest = rest.trim_start_matches('/');
    let (service, api, path_len) =
        service_and_api(store, service_name, rest).ok_or_else(not_found)?;
    let suffix = rest.get(path_len..).unwrap_or_default();
    let suffix = if suffix.is_empty() || suffix.starts_with('/') {
        suffix.to_string()
    } else {
        format!("/{suffix}")
    };
    let query = parse_query(raw_query);
    let operation =
        matching::find(store, &api.id, method, &suffix, &query).ok_or_else(not_found)?;
    let (query_name, subscription) = check_key(store, service, api, &query, headers)?;
    let mut context = context_of(store, service, api, &operation, subscription, headers);
    context.body = serde_json::from_slice(body).ok();
    let (route, limits, metrics) = route_of(store, &api.id, &mut context)?;
    Ok(Prepared {
        service_id: service.id.clone(),
        suffix,
        forward_query: strip_query(raw_query, &[query_name]),
        principal: principal_of(&service.body, &route),
        api_key: route.auth == Auth::ApiKey,
        route,
        service_url: api.body["properties"]["serviceUrl"]
            .as_str()
            .map(str::to_string),
        operation,
        client_request_id: headers
            .get("x-ms-client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        context,
        limits,
        metrics,
        logger_id: metrics_logger(store, &service.id, &api.id),
    })
}

/// The logger of the `applicationinsights` diagnostic of the API, else of the service,
/// when it has `metrics: true`: "Enable custom metrics with dimensions in Application
/// Insights" is a prerequisite of the emit-token-metric policies (llm-emit-token-metric-policy,
/// Prerequisites; api-management-howto-app-insights.md, "Emit custom metrics").
fn metrics_logger(store: &Store, service_id: &str, api_id: &str) -> Option<String> {
    [api_id, service_id].iter().find_map(|scope| {
        let d = store.get(&format!("{scope}/diagnostics/applicationinsights"))?;
        let props = &d.body["properties"];
        if props["metrics"].as_bool() != Some(true) {
            return None;
        }
        // `/loggers/{id}` or the full id, as the diagnostic was written.
        let logger_id = props["loggerId"].as_str()?;
        let full = if logger_id.starts_with("/loggers/") {
            format!("{service_id}{logger_id}")
        } else {
            logger_id.to_string()
        };
        store.get(&full).map(|l| l.id.clone())
    })
}
