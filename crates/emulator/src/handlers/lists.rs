//! Collection reads: what a client that lost its own records uses to find what exists.
//! Each answers `{ "value": [...], "nextLink": ... }` a page at a time, as ARM's
//! `x-ms-pageable` operations do; `nextLink` repeats the query with the next offset.
//!
//! - Resources_List (resources.json, `GET /subscriptions/{s}/resources`): top-level
//!   resources only; `$filter` takes `tagName eq '…'`, `tagValue eq '…'` and
//!   `resourceType eq '…'` joined by `and`; "if you filter by tagName and tagValue, the
//!   tags for each resource are not returned in the results" (the operation's docs).
//! - Deployments_List (cognitiveservices.json, `GET …/accounts/{a}/deployments`).
//! - RoleAssignments_ListForScope (authorization-RoleAssignmentsCalls.json):
//!   `$filter=atScope()` lists assignments at the scope or above it, `principalId eq '…'`
//!   those of one principal; no filter lists those above, at and below the scope.
//! - Backend_ListByService, Api_ListByService, Subscription_List (apimbackends.json,
//!   apimapis.json, apimsubscriptions.json): `$top` / `$skip` paging (TopQueryParameter,
//!   SkipQueryParameter in apimanagement.json) and the documented `$filter` fields
//!   (`odata.rs`).

use serde_json::{Value, json};

use super::{Cx, odata};
use crate::address::{Address, ApimCollection, Rg};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, key};

/// Items per page when the request does not say (`$top`).
const PAGE: usize = 100;

pub(super) fn invalid_filter(filter: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidFilterInQueryString",
        format!("Invalid $filter '{filter}' specified in the query string."),
    )
}

/// `name eq 'value'` clauses of an OData filter joined by `and`.
pub(super) fn clauses(filter: &str) -> Option<Vec<(String, String)>> {
    filter
        .split(" and ")
        .map(|c| {
            let (name, value) = c.trim().split_once(" eq ")?;
            let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some((name.trim().to_ascii_lowercase(), value.to_string()))
        })
        .collect()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One page of `items`, from the offset the query names, with a `nextLink` when more
/// are left. APIM's lists page with `$skip`, ARM's with `$skiptoken`.
pub(super) fn page(
    cx: &Cx,
    addr: &Address,
    items: Vec<Value>,
    skip_param: &str,
) -> Result<Reply, ArmError> {
    let top = match cx.query.get("$top") {
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(ArmError::bad_request(
                    "ValidationError",
                    format!("'$top' must be an integer of at least 1, not '{t}'."),
                ));
            }
        },
        None => PAGE,
    };
    let skip = cx
        .query
        .get(skip_param)
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let value: Vec<Value> = items.iter().skip(skip).take(top).cloned().collect();
    let mut body = json!({ "value": value });
    if skip + top < items.len() {
        let mut query: Vec<String> = cx
            .query
            .iter()
            .filter(|(k, _)| *k != skip_param)
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("{}={}", encode(skip_param), skip + top));
        body["nextLink"] = json!(format!("{}{}?{}", cx.base, addr.id(), query.join("&")));
    }
    Ok(Reply::ok(body))
}

/// Resources_List: the subscription's top-level resources, optionally by tag or type.
pub fn subscription_resources(cx: &mut Cx, addr: &Address, sub: &str) -> Result<Reply, ArmError> {
    let filter = cx.query.get("$filter").cloned();
    let wanted = match &filter {
        Some(f) => clauses(f).ok_or_else(|| invalid_filter(f))?,
        None => vec![],
    };
    if let Some((name, _)) = wanted
        .iter()
        .find(|(n, _)| !matches!(n.as_str(), "tagname" | "tagvalue" | "resourcetype"))
    {
        return Err(invalid_filter(&format!("{name} …")));
    }
    let get = |k: &str| wanted.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (tag_name, tag_value, rtype) = (get("tagname"), get("tagvalue"), get("resourcetype"));
    if tag_value.is_some() && tag_name.is_none() {
        return Err(invalid_filter(filter.as_deref().unwrap_or_default()));
    }
    let prefix = format!("/subscriptions/{}/resourcegroups/", key(sub));
    let items: Vec<Value> = cx
        .store
        .resources
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(&prefix)
                .and_then(|rest| rest.split_once("/providers/"))
                .is_some_and(|(_, r)| r.split('/').count() == 3)
        })
        .map(|(_, r)| &r.body)
        .filter(|b| {
            let tag = tag_name.as_ref().map(|n| {
                b.get("tags")
                    .and_then(Value::as_object)
                    .and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)))
                    .and_then(|(_, v)| v.as_str())
            });
            let tag_ok = match (&tag, &tag_value) {
                (None, _) => true,
                (Some(found), None) => found.is_some(),
                (Some(found), Some(want)) => found.is_some_and(|f| f.eq_ignore_ascii_case(want)),
            };
            let type_ok = rtype.as_ref().is_none_or(|t| {
                b.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case(t))
            });
            tag_ok && type_ok
        })
        .map(|b| {
            let mut v = json!({ "id": b.get("id"), "name": b.get("name"), "type": b.get("type"), "location": b.get("location") });
            if let (Some(tags), true) = (b.get("tags"), tag_value.is_none()) {
                v["tags"] = tags.clone();
            }
            v
        })
        .collect();
    page(cx, addr, items, "$skiptoken")
}

/// Deployments_List: an account's deployments.
pub fn deployments(cx: &mut Cx, addr: &Address, rg: &Rg, account: &str) -> Result<Reply, ArmError> {
    let account_addr = Address::Account(rg.clone(), account.to_string());
    if !cx.store.exists(&account_addr.id()) {
        return Err(cx.missing(&account_addr));
    }
    let items = cx
        .store
        .below(&account_addr.id())
        .filter(|r| r.kind == Kind::Deployment)
        .map(|r| r.body.clone())
        .collect();
    page(cx, addr, items, "$skiptoken")
}

/// RoleAssignments_ListForScope.
pub fn role_assignments(cx: &mut Cx, addr: &Address, scope: &str) -> Result<Reply, ArmError> {
    let scope_key = key(scope);
    let (mut at_scope, mut principal) = (false, None);
    if let Some(f) = cx.query.get("$filter").cloned() {
        for clause in f.split(" and ") {
            let c = clause.trim();
            if c == "atScope()" {
                at_scope = true;
            } else if let Some(p) = clauses(c)
                .filter(|v| v.len() == 1 && v[0].0 == "principalid")
                .map(|v| v[0].1.clone())
            {
                principal = Some(p);
            } else {
                return Err(invalid_filter(&f));
            }
        }
    }
    let above_or_at = |s: &str| scope_key == s || scope_key.starts_with(&format!("{s}/"));
    let below = |s: &str| s.starts_with(&format!("{scope_key}/"));
    let items = cx
        .store
        .resources
        .values()
        .filter(|r| r.kind == Kind::RoleAssignment)
        .filter(|r| {
            let s = r
                .body
                .pointer("/properties/scope")
                .and_then(Value::as_str)
                .map(key);
            s.is_some_and(|s| above_or_at(&s) || (!at_scope && below(&s)))
        })
        .filter(|r| {
            principal.as_ref().is_none_or(|p| {
                r.body
                    .pointer("/properties/principalId")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case(p))
            })
        })
        .map(|r| r.body.clone())
        .collect();
    page(cx, addr, items, "$skiptoken")
}

/// Backend_ListByService, Api_ListByService, Subscription_List.
pub fn apim(
    cx: &mut Cx,
    addr: &Address,
    rg: &Rg,
    service: &str,
    c: ApimCollection,
) -> Result<Reply, ArmError> {
    let service_addr = Address::ApimService(rg.clone(), service.to_string());
    if !cx.store.exists(&service_addr.id()) {
        return Err(cx.missing(&service_addr));
    }
    let (kind, depth, fields): (Kind, usize, &[&str]) = match c {
        ApimCollection::Backends => (Kind::Backend, 2, &["name", "title", "url"]),
        ApimCollection::Apis => (
            Kind::Api,
            2,
            &[
                "name",
                "displayName",
                "description",
                "serviceUrl",
                "path",
                "isCurrent",
            ],
        ),
        ApimCollection::Subscriptions => (
            Kind::ApimSubscription,
            2,
            &[
                "name",
                "displayName",
                "stateComment",
                "ownerId",
                "scope",
                "userId",
                "productId",
                "state",
                "user",
            ],
        ),
        // Diagnostic_ListByService's $filter fields (apimdiagnostics.json).
        ApimCollection::Diagnostics => (Kind::Diagnostic, 2, &["name"]),
        // Logger_ListByService's $filter fields (apimloggers.json).
        ApimCollection::Loggers => (
            Kind::Logger,
            2,
            &["name", "description", "loggerType", "resourceId"],
        ),
    };
    let wanted = match cx.query.get("$filter") {
        Some(f) => odata::parse(f)
            .filter(|cs| {
                cs.iter()
                    .all(|c| fields.iter().any(|x| x.eq_ignore_ascii_case(&c.field)))
            })
            .ok_or_else(|| invalid_filter(f))?,
        None => vec![],
    };
    let base = key(&service_addr.id());
    let items = cx
        .store
        .below(&service_addr.id())
        .filter(|r| r.kind == kind)
        .filter(|r| {
            key(&r.id)[base.len()..]
                .trim_start_matches('/')
                .split('/')
                .count()
                == depth
        })
        .filter(|r| odata::matches(&wanted, &r.body))
        .map(|r| r.body.clone())
        .collect();
    apim_page(cx, addr, items)
}

/// A page of an API Management collection: `$skip` paging, and `count`, "Total record
/// count number across all pages" (BackendCollection, ApiCollection, SubscriptionCollection,
/// PolicyCollection in the 2024-05-01 definitions.json; the recorded backend list of
/// BackendCrudTest.json carries it).
pub(super) fn apim_page(cx: &Cx, addr: &Address, items: Vec<Value>) -> Result<Reply, ArmError> {
    let count = items.len();
    let mut reply = page(cx, addr, items, "$skip")?;
    if let Some(body) = reply.body.as_mut() {
        body["count"] = Value::from(count);
    }
    Ok(reply)
}
