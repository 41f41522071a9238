//! PATCH of API Management entities and DELETE of an API, as the 2024-05-01 spec has
//! them: Api_Update, Backend_Update and Subscription_Update merge the `properties` sent
//! into the entity and answer `200` with it (ApiManagementUpdateApi.json); each field must
//! be one of the update contract's (ApiContractUpdateProperties, BackendUpdateParameters,
//! SubscriptionUpdateParameterProperties in definitions.json), anything else is `400
//! ValidationError`. `If-Match` is checked before (`etags.rs`).
//!
//! Api_Delete answers `202` (Location, Azure-AsyncOperation) or `204` (apimapis.json,
//! ApiManagementDeleteApi.json); the emulator deletes at once and answers `204`, which
//! the SDKs' pollers and plain clients both take as done.

use serde_json::{Map, Value, json};

use super::apim::{parent_exists, put_backend, put_subscription, service_of};
use super::{Cx, object, str_at};
use crate::address::Address;
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record, key};

const API_FIELDS: [&str; 18] = [
    "displayName",
    "serviceUrl",
    "path",
    "protocols",
    "description",
    "authenticationSettings",
    "subscriptionKeyParameterNames",
    "type",
    "apiRevision",
    "apiVersion",
    "isCurrent",
    "apiRevisionDescription",
    "apiVersionDescription",
    "apiVersionSetId",
    "subscriptionRequired",
    "termsOfServiceUrl",
    "contact",
    "license",
];

const BACKEND_FIELDS: [&str; 12] = [
    "title",
    "description",
    "resourceId",
    "properties",
    "credentials",
    "proxy",
    "tls",
    "circuitBreaker",
    "pool",
    "type",
    "url",
    "protocol",
];

const SUBSCRIPTION_FIELDS: [&str; 9] = [
    "ownerId",
    "scope",
    "expirationDate",
    "displayName",
    "primaryKey",
    "secondaryKey",
    "state",
    "stateComment",
    "allowTracing",
];

/// The `properties` of a PATCH body, each a field of the update contract.
fn sent_properties(body: &Value, fields: &[&str]) -> Result<Map<String, Value>, ArmError> {
    if let Some(other) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "properties"))
    {
        return Err(ArmError::validation(format!(
            "'{other}' cannot be updated; send the fields to change in 'properties'."
        )));
    }
    let props = object(body, "properties");
    match props.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(ArmError::validation(format!(
            "'{k}' is not a property that can be updated."
        ))),
        None => Ok(props),
    }
}

/// The stored entity, or the error GET would give.
fn existing(cx: &Cx, addr: &Address) -> Result<Record, ArmError> {
    cx.store
        .get(&addr.id())
        .cloned()
        .ok_or_else(|| cx.missing(addr))
}

/// Api_Update.
pub fn api(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let sent = sent_properties(body, &API_FIELDS)?;
    let mut record = existing(cx, addr)?;
    if let Some(path) = sent.get("path").and_then(Value::as_str) {
        let wanted = path.trim_matches('/').to_ascii_lowercase();
        let clash = cx
            .store
            .below(&service_of(addr).id())
            .filter(|r| r.kind == Kind::Api && key(&r.id) != key(&record.id))
            .find(|r| {
                str_at(&r.body, "/properties/path")
                    .is_some_and(|p| p.trim_matches('/').to_ascii_lowercase() == wanted)
            });
        if let Some(other) = clash {
            return Err(ArmError::conflict(
                "Conflict",
                format!(
                    "Cannot update API '{}' to the path '{path}' of API '{}'.",
                    record.name(),
                    other.name()
                ),
            ));
        }
    }
    let props = record.body["properties"]
        .as_object_mut()
        .expect("an API has properties");
    props.extend(sent);
    record.touch();
    let view = record.body.clone();
    cx.store.put(record);
    Ok(Reply::ok(view))
}

/// `existing`'s properties without nulls, with `sent` over them.
fn merged(existing: &Value, sent: Map<String, Value>) -> Value {
    let mut props: Map<String, Value> = object(existing, "properties")
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect();
    props.extend(sent);
    json!({ "properties": props })
}

/// Backend_Update: the merged backend is checked as a PUT of it would be.
pub fn backend(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let sent = sent_properties(body, &BACKEND_FIELDS)?;
    let record = existing(cx, addr)?;
    let mut whole = merged(&record.body, sent);
    if str_at(&whole, "/properties/type") == Some("Pool") {
        let p = whole["properties"].as_object_mut().expect("built above");
        p.remove("url");
        p.remove("protocol");
    }
    put_backend(cx, addr, &whole)
}

/// Subscription_Update: keys sent replace the old ones, others are kept.
pub fn subscription(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let sent = sent_properties(body, &SUBSCRIPTION_FIELDS)?;
    let record = existing(cx, addr)?;
    put_subscription(cx, addr, &merged(&record.body, sent))
}

/// Api_Delete: `204`, whether the API existed or not (its service must exist).
pub fn delete_api(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    super::apis::delete_api(cx, addr)?;
    Ok(Reply::empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_update_contract_fields_are_taken() {
        let ok = json!({"properties": {"displayName": "x", "path": "p"}});
        assert_eq!(sent_properties(&ok, &API_FIELDS).unwrap().len(), 2);
        let bad = json!({"properties": {"format": "openapi"}});
        assert_eq!(
            sent_properties(&bad, &API_FIELDS).unwrap_err().code,
            "ValidationError"
        );
        let top = json!({"name": "x"});
        assert!(sent_properties(&top, &API_FIELDS).is_err());
    }

    #[test]
    fn merging_drops_nulls_and_keeps_the_rest() {
        let old = json!({"properties": {"url": null, "title": "t", "type": "Pool"}});
        let mut sent = Map::new();
        sent.insert("title".into(), json!("u"));
        assert_eq!(
            merged(&old, sent),
            json!({"properties": {"title": "u", "type": "Pool"}})
        );
    }
}
