//! Collection GETs of whole resource types, paged as `lists.rs` pages (`nextLink` with
//! `$skiptoken`), each as its operation in azure-rest-api-specs lists it:
//!
//! - ResourceGroups_List (resources.json, `GET /subscriptions/{s}/resourcegroups`):
//!   `$filter` by `tagName eq '…'` and `tagValue eq '…'` ("You can filter by tag names
//!   and values"), `$top`.
//! - Accounts_List and Accounts_ListByResourceGroup (cognitiveservices.json): every
//!   account of the subscription or group; neither documents a `$filter`.
//! - ApiManagementService_List and _ListByResourceGroup (apimdeployment.json).
//! - Components_List and Components_ListByResourceGroup (applicationinsights
//!   components_API.json 2020-02-02): no `$filter` documented.
//! - ApiDiagnostic_ListByService (apimapis.json, `GET .../apis/{a}/diagnostics`): `$filter`
//!   on `name`, paged as API Management pages (`count`, `$skip`).
//! - ApiPolicy_ListByApi (apimapis.json, `GET .../apis/{a}/policies`): the API's policy,
//!   if it has one.
//!
//! A group that does not exist is `404 ResourceGroupNotFound`, as for any resource in it.

use serde_json::Value;

use super::lists::{clauses, invalid_filter, page};
use super::{Cx, odata};
use crate::address::{Address, Rg};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, key};

/// Refuses a `$filter` on a list that documents none.
fn no_filter(cx: &Cx) -> Result<(), ArmError> {
    match cx.query.get("$filter") {
        Some(f) => Err(invalid_filter(f)),
        None => Ok(()),
    }
}

/// The `(tagName, tagValue)` a ResourceGroups_List filter asks for.
fn tag_filter(cx: &Cx) -> Result<(Option<String>, Option<String>), ArmError> {
    let Some(f) = cx.query.get("$filter") else {
        return Ok((None, None));
    };
    let wanted = clauses(f).ok_or_else(|| invalid_filter(f))?;
    let (mut name, mut value) = (None, None);
    for (field, v) in wanted {
        match field.as_str() {
            "tagname" if name.is_none() => name = Some(v),
            "tagvalue" if value.is_none() => value = Some(v),
            _ => return Err(invalid_filter(f)),
        }
    }
    if value.is_some() && name.is_none() {
        return Err(invalid_filter(f));
    }
    Ok((name, value))
}

/// Whether a resource's tags satisfy a tag filter (names without case, values too).
fn tagged(body: &Value, name: &Option<String>, value: &Option<String>) -> bool {
    let Some(name) = name else { return true };
    let found = body
        .get("tags")
        .and_then(Value::as_object)
        .and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_str());
    match (found, value) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(f), Some(v)) => f.eq_ignore_ascii_case(v),
    }
}

/// ResourceGroups_List.
pub fn resource_groups(cx: &mut Cx, addr: &Address, sub: &str) -> Result<Reply, ArmError> {
    let (name, value) = tag_filter(cx)?;
    let prefix = format!("/subscriptions/{}/resourcegroups/", key(sub));
    let items = cx
        .store
        .resources
        .iter()
        .filter(|(k, r)| r.kind == Kind::ResourceGroup && k.starts_with(&prefix))
        .map(|(_, r)| &r.body)
        .filter(|b| tagged(b, &name, &value))
        .cloned()
        .collect();
    page(cx, addr, items, "$skiptoken")
}

/// The records of `kind` in a subscription, or in one of its groups (which must exist).
fn of_kind(cx: &Cx, kind: Kind, sub: &str, rg: &Option<String>) -> Result<Vec<Value>, ArmError> {
    // Only group resources are of these kinds: the subscription's prefix is theirs.
    let prefix = super::scope_prefix(cx, sub, rg)?;
    Ok(cx
        .store
        .resources
        .iter()
        .filter(|(k, r)| r.kind == kind && k.starts_with(&prefix))
        .map(|(_, r)| r.body.clone())
        .collect())
}

/// A subscription's or a group's top-level resources of one kind, unfiltered, paged with
/// `$skiptoken`: Accounts_List and Accounts_ListByResourceGroup (`Kind::Account`),
/// ApiManagementService_List and ApiManagementService_ListByResourceGroup
/// (`Kind::ApimService`), Components_List and Components_ListByResourceGroup
/// (`Kind::Component`).
pub fn top_level(
    cx: &mut Cx,
    addr: &Address,
    kind: Kind,
    sub: &str,
    rg: &Option<String>,
) -> Result<Reply, ArmError> {
    no_filter(cx)?;
    let items = of_kind(cx, kind, sub, rg)?;
    page(cx, addr, items, "$skiptoken")
}

/// ApiDiagnostic_ListByService: the API's diagnostics, paged as the other API Management
/// lists (`count`, `$skip`); `$filter` on `name` as the operation documents it.
pub fn api_diagnostics(
    cx: &mut Cx,
    addr: &Address,
    rg: &Rg,
    service: &str,
    api: &str,
) -> Result<Reply, ArmError> {
    let api_addr = Address::Api(rg.clone(), service.to_string(), api.to_string());
    if !cx.store.exists(&api_addr.id()) {
        return Err(cx.missing(&api_addr));
    }
    let wanted = match cx.query.get("$filter") {
        Some(f) => odata::parse(f)
            .filter(|cs| cs.iter().all(|c| c.field.eq_ignore_ascii_case("name")))
            .ok_or_else(|| invalid_filter(f))?,
        None => vec![],
    };
    let items = cx
        .store
        .below(&api_addr.id())
        .filter(|r| r.kind == Kind::Diagnostic)
        .filter(|r| odata::matches(&wanted, &r.body))
        .map(|r| r.body.clone())
        .collect();
    super::lists::apim_page(cx, addr, items)
}

/// ApiPolicy_ListByApi: `{value: [policy]}` or `{value: []}`.
pub fn api_policies(
    cx: &mut Cx,
    addr: &Address,
    rg: &Rg,
    service: &str,
    api: &str,
) -> Result<Reply, ArmError> {
    let api_addr = Address::Api(rg.clone(), service.to_string(), api.to_string());
    if !cx.store.exists(&api_addr.id()) {
        return Err(cx.missing(&api_addr));
    }
    let policy = Address::ApiPolicy(rg.clone(), service.to_string(), api.to_string());
    let items = cx
        .store
        .get(&policy.id())
        .map(|r| r.body.clone())
        .into_iter()
        .collect();
    super::lists::apim_page(cx, addr, items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_match_by_name_and_value_without_case() {
        let b = json!({"tags": {"Managed-By": "AOAI-LB"}});
        let s = |x: &str| Some(x.to_string());
        assert!(tagged(&b, &None, &None));
        assert!(tagged(&b, &s("managed-by"), &None));
        assert!(tagged(&b, &s("managed-by"), &s("aoai-lb")));
        assert!(!tagged(&b, &s("managed-by"), &s("other")));
        assert!(!tagged(&json!({}), &s("managed-by"), &None));
    }
}
