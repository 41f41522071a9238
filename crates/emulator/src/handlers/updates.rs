//! PATCH of a Cognitive Services account or deployment beyond its tags, as the SDKs'
//! `begin_update` sends it: Accounts_Update (body `Account`: `sku`, `tags`, `identity`,
//! `properties`; UpdateAccount.json) and Deployments_Update (body
//! `PatchResourceTagsAndSku`: `sku`, `tags`; UpdateDeployment.json), cognitiveservices.json
//! 2024-10-01. A tags-only body stays with `tags.rs`.
//!
//! What is sent is merged into the resource and the result is applied as a PUT of it would
//! be (`cognitive::put`, `deployments::put`): the same checks (immutable location, kind and
//! subdomain, quota, one operation per account) and the same answers (an account `200`;
//! a deployment `200` with `Azure-AsyncOperation`, `Updating` until it ends). The sent
//! `properties` are checked against the embedded account schema first.

use serde_json::{Value, json};

use super::{Cx, object};
use crate::address::{Address, Namespace};
use crate::reply::{ArmError, Reply};
use crate::schema::{ArmSchemas, BodyKind};

fn refused(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidRequestContent", message)
}

/// The body's members, each one of `allowed`.
fn members<'b>(
    body: &'b Value,
    allowed: &[&str],
) -> Result<&'b serde_json::Map<String, Value>, ArmError> {
    let Some(fields) = body.as_object() else {
        return Err(refused(
            "The request content was invalid and could not be deserialized: the body is not an object.",
        ));
    };
    match fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(refused(format!(
            "The request content was invalid and could not be deserialized: could not find member '{k}' on the update's body."
        ))),
        None => Ok(fields),
    }
}

/// PATCH of an account or deployment.
pub fn patch(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let tags_only = body
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "tags"));
    if tags_only {
        return super::tags::patch(cx, addr, body);
    }
    let Some(existing) = cx.store.get(&addr.id()).map(|r| r.body.clone()) else {
        return Err(cx.missing(addr));
    };
    match addr {
        Address::Account(..) => account(cx, addr, &existing, body),
        _ => deployment(cx, addr, &existing, body),
    }
}

/// Accounts_Update.
fn account(cx: &mut Cx, addr: &Address, existing: &Value, body: &Value) -> Result<Reply, ArmError> {
    let sent = members(
        body,
        &["sku", "tags", "identity", "properties", "location", "kind"],
    )?;
    let mut whole = json!({
        "location": sent.get("location").unwrap_or(&existing["location"]),
        "kind": sent.get("kind").unwrap_or(&existing["kind"]),
        "sku": sent.get("sku").unwrap_or(&existing["sku"]),
    });
    let mut check = whole.clone();
    check["properties"] = Value::Object(object(body, "properties"));
    let version = Namespace::CognitiveServices.api_version();
    if let Err(errors) = ArmSchemas::get().validate(BodyKind::Account, &addr.id(), version, &check)
    {
        return Err(refused(format!(
            "The request content was invalid and could not be deserialized: {}",
            errors.join("; ")
        )));
    }
    let mut props = object(existing, "properties");
    props.extend(object(body, "properties"));
    whole["properties"] = Value::Object(props);
    for k in ["tags", "identity"] {
        if let Some(v) = sent.get(k).or_else(|| existing.get(k)) {
            whole[k] = v.clone();
        }
    }
    super::cognitive::put(cx, addr, &whole)
}

/// Deployments_Update: `sku` (its capacity against the quota) and `tags`.
fn deployment(
    cx: &mut Cx,
    addr: &Address,
    existing: &Value,
    body: &Value,
) -> Result<Reply, ArmError> {
    let sent = members(body, &["sku", "tags"])?;
    let mut sku = object(existing, "sku");
    sku.extend(object(body, "sku"));
    let p = &existing["properties"];
    let mut props = json!({"model": p["model"]});
    for k in ["raiPolicyName", "versionUpgradeOption"] {
        if let Some(v) = p.get(k) {
            props[k] = v.clone();
        }
    }
    let mut whole = json!({"sku": sku, "properties": props});
    if let Some(tags) = sent.get("tags").or_else(|| existing.get("tags")) {
        whole["tags"] = tags.clone();
    }
    super::deployments::put(cx, addr, &whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_update_contract_s_members() {
        assert!(members(&json!({"sku": {}, "tags": {}}), &["sku", "tags"]).is_ok());
        assert_eq!(
            members(&json!({"properties": {}}), &["sku", "tags"])
                .unwrap_err()
                .code,
            "InvalidRequestContent"
        );
        assert!(members(&json!([]), &["sku"]).is_err());
    }
}
