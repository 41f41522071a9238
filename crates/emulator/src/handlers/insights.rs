//! Application Insights components (`Microsoft.Insights/components`), what an API
//! Management logger points at: Components_CreateOrUpdate, _Get and _Delete of
//! azure-rest-api-specs applicationinsights `components_API.json` 2020-02-02, answered as
//! its examples ComponentsCreate.json and ComponentsDelete.json show: the create (and an
//! update) is synchronous, `200` with the component; the service assigns `ApplicationId`
//! (the name), `AppId`, `InstrumentationKey` (kept across updates), `ConnectionString`
//! (`InstrumentationKey={key}`), `CreationDate`, `TenantId` and `provisioningState:
//! Succeeded`, and defaults `SamplingPercentage` (100), `DisableIpMasking` (false), the
//! public network access settings (`Enabled`) and `IngestionMode` (`LogAnalytics` with a
//! `WorkspaceResourceId`, else `ApplicationInsights`). DELETE is `200`, or `204` when the
//! component does not exist. The instrumentation key is part of the resource as ARM
//! returns it (not a secret ARM hides), so the state dump shows it as GET does.

use serde_json::{Value, json};

use super::{Cx, TENANT_ID, object};
use crate::address::Address;
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{Kind, Record};

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let Address::Component(rg, name) = addr else {
        unreachable!("a component address")
    };
    if !cx.store.exists(&rg.id()) {
        return Err(ArmError::group_not_found(&rg.name));
    }
    let Some(location) = body.get("location").and_then(Value::as_str) else {
        // ARM's answer for a tracked resource sent without a location.
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    let id = addr.id();
    let existing = cx.store.get(&id).map(|r| r.body.clone());
    let kept = |field: &str, new: Value| {
        existing
            .as_ref()
            .and_then(|e| e["properties"].get(field).cloned())
            .unwrap_or(new)
    };
    let key = kept("InstrumentationKey", Value::from(uuid_like()));
    let mut props = object(body, "properties");
    let workspace = props.contains_key("WorkspaceResourceId");
    for (field, value) in [
        ("ApplicationId", Value::from(name.as_str())),
        ("AppId", kept("AppId", Value::from(uuid_like()))),
        (
            "ConnectionString",
            Value::from(format!(
                "InstrumentationKey={}",
                key.as_str().unwrap_or_default()
            )),
        ),
        ("InstrumentationKey", key.clone()),
        (
            "CreationDate",
            kept("CreationDate", Value::from(cx.iso.clone())),
        ),
        ("TenantId", Value::from(TENANT_ID)),
        ("HockeyAppId", Value::from("")),
        ("HockeyAppToken", Value::from("")),
        ("provisioningState", Value::from("Succeeded")),
    ] {
        props.insert(field.into(), value);
    }
    for (field, value) in [
        ("SamplingPercentage", json!(100.0)),
        ("DisableIpMasking", json!(false)),
        ("publicNetworkAccessForQuery", json!("Enabled")),
        ("publicNetworkAccessForIngestion", json!("Enabled")),
        (
            "IngestionMode",
            json!(if workspace {
                "LogAnalytics"
            } else {
                "ApplicationInsights"
            }),
        ),
    ] {
        props.entry(field).or_insert(value);
    }
    let view = json!({
        "id": id,
        "name": name,
        "type": "Microsoft.Insights/components",
        "location": location,
        "tags": body.get("tags").cloned().unwrap_or_else(|| json!({})),
        "kind": body.get("kind").cloned().unwrap_or(Value::Null),
        "properties": props,
    });
    cx.store.put(Record::new(Kind::Component, id.clone(), view));
    Ok(Reply::ok(cx.store.get(&id).expect("stored").body.clone()))
}

pub fn delete(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let Address::Component(rg, _) = addr else {
        unreachable!("a component address")
    };
    if !cx.store.exists(&rg.id()) {
        return Err(ArmError::group_not_found(&rg.name));
    }
    let removed = cx.store.remove_tree(&addr.id());
    Ok(Reply::empty(if removed.is_empty() { 204 } else { 200 }))
}
