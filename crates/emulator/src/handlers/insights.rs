//! Application Insights components (`Microsoft.Insights/components`), what an API
//! Management logger points at: Components_CreateOrUpdate, _Get, _UpdateTags and _Delete
//! of azure-rest-api-specs applicationinsights `components_API.json` 2020-02-02, answered
//! as its examples ComponentsCreate.json, ComponentsUpdateTagsOnly.json and
//! ComponentsDelete.json show: the create (and an update) is synchronous, `200` with the
//! component; the service assigns `ApplicationId` (the name), `AppId`,
//! `InstrumentationKey` (kept across updates), `ConnectionString` (with the key, the
//! regional endpoints and the `AppId`, as Azure writes it today; `connection_string`),
//! `CreationDate`, `TenantId` and `provisioningState:
//! Succeeded`, and defaults `SamplingPercentage` (100), `DisableIpMasking` (false) and the
//! public network access settings (`Enabled`). DELETE is `200`, or `204` when the
//! component does not exist. The instrumentation key is part of the resource as ARM
//! returns it (not a secret ARM hides), so the state dump shows it as GET does.
//!
//! Every component is workspace-based (`IngestionMode: LogAnalytics`): classic Application
//! Insights was retired on 2024-02-29, and Microsoft Learn, "Managed workspaces in
//! Application Insights" (MicrosoftDocs azure-monitor-docs `app/managed-workspaces.md`),
//! says "If you create an Application Insights resource without specifying a Log
//! Analytics workspace, Azure automatically creates a managed workspace": a new resource
//! group `ai_<APPINSIGHTS RESOURCE NAME>_<APPINSIGHTS RESOURCE ID>_managed`, "Managed by:
//! The associated Application Insights resource", holding the Log Analytics workspace
//! `managed-<APPINSIGHTS RESOURCE NAME>-ws`, which the component links to; "Delete the
//! Application Insights resource. Azure deletes the managed resource group and the managed
//! workspace automatically." The RESOURCE ID is the component's `AppId`: a public Pulumi
//! program importing a real component (pulumi-initech/az-podinfo-webapp `index.ts`) shows
//! `podinfo-webapp-28525-insights` with `ApplicationId=47a2489a-e91f-4077-8fe9-f03fe85f20cb`
//! in its connection string and `WorkspaceResourceId`
//! `.../resourceGroups/ai_podinfo-webapp-28525-insights_47a2489a-e91f-4077-8fe9-f03fe85f20cb_managed/providers/Microsoft.OperationalInsights/workspaces/managed-podinfo-webapp-28525-insights-ws`.
//! The managed group is made in the component's location, `managedBy` the component's id
//! (as ARM shows a managed group); the managed workspace goes for good with the component
//! (that Azure does not keep it soft-deleted is the emulator's reading of "deletes ...
//! automatically"). A component given a `WorkspaceResourceId` gets no managed workspace;
//! the id is accepted as sent, existing or not: no source was found for what ARM answers
//! when it names no workspace (a report of `400 BadRequest` "Provided WorkspaceResourceId
//! is invalid", Azure-Samples/keyvault-rotation-storageaccountkey-powershell#2, does not
//! say why). An update without `WorkspaceResourceId` keeps the component's workspace.

use serde_json::{Value, json};

use super::{Cx, TENANT_ID, object, workspaces};
use crate::address::{Address, Rg, region_key};
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{Kind, Record};

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let Address::Component(rg, name) = addr else {
        unreachable!("a component address")
    };
    let location = super::tracked_location(cx, rg, body)?;
    let id = addr.id();
    let existing = cx.store.get(&id).map(|r| r.body.clone());
    let kept = |field: &str, new: Value| {
        existing
            .as_ref()
            .and_then(|e| e["properties"].get(field).cloned())
            .unwrap_or(new)
    };
    let key = kept("InstrumentationKey", Value::from(uuid_like()));
    let app_id = kept("AppId", Value::from(uuid_like()));
    let mut props = object(body, "properties");
    let workspace = match props.get("WorkspaceResourceId") {
        Some(w) => w.clone(),
        None => match existing.as_ref() {
            Some(e) => e["properties"]["WorkspaceResourceId"].clone(),
            None => managed_workspace(
                cx,
                rg,
                name,
                app_id.as_str().unwrap_or_default(),
                location,
                &id,
            ),
        },
    };
    for (field, value) in [
        ("ApplicationId", Value::from(name.as_str())),
        ("AppId", app_id.clone()),
        (
            "ConnectionString",
            Value::from(connection_string(
                key.as_str().unwrap_or_default(),
                location,
                app_id.as_str().unwrap_or_default(),
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
        ("WorkspaceResourceId", workspace),
        ("IngestionMode", json!("LogAnalytics")),
    ] {
        props.insert(field.into(), value);
    }
    for (field, value) in [
        ("SamplingPercentage", json!(100.0)),
        ("DisableIpMasking", json!(false)),
        ("publicNetworkAccessForQuery", json!("Enabled")),
        ("publicNetworkAccessForIngestion", json!("Enabled")),
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
    cx.store.remove_managed_by(&addr.id());
    Ok(Reply::empty(if removed.is_empty() { 204 } else { 200 }))
}

/// A component's connection string as Azure writes it today: "The connection string
/// contains an ikey and an ApplicationId" (Microsoft Learn, "Connection strings in
/// Application Insights"), with the regional ingestion and live endpoints, e.g.
/// `InstrumentationKey=…;IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/;LiveEndpoint=https://eastus.livediagnostics.monitor.azure.com/;ApplicationId=…`
/// (the one of pulumi-initech/az-podinfo-webapp above; public code quotes the same shape
/// for westeurope-5, southcentralus-0, brazilsouth-1). The ingestion stamp number, which
/// Azure picks, is 0 here.
fn connection_string(key: &str, location: &str, app_id: &str) -> String {
    let region = region_key(location);
    format!(
        "InstrumentationKey={key};IngestionEndpoint=https://{region}-0.in.applicationinsights.azure.com/;LiveEndpoint=https://{region}.livediagnostics.monitor.azure.com/;ApplicationId={app_id}"
    )
}

/// The managed resource group and Log Analytics workspace of a component created without
/// a workspace (see above); the workspace's id.
fn managed_workspace(
    cx: &mut Cx,
    rg: &Rg,
    name: &str,
    app_id: &str,
    location: &str,
    component: &str,
) -> Value {
    let group = Rg {
        sub: rg.sub.clone(),
        name: format!("ai_{name}_{app_id}_managed"),
    };
    let view = json!({
        "id": group.id(),
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": region_key(location),
        "managedBy": component,
        "properties": {"provisioningState": "Succeeded"},
    });
    cx.store
        .put(Record::new(Kind::ResourceGroup, group.id(), view));
    let ws = workspaces::put_managed(cx, &group, &format!("managed-{name}-ws"), location);
    // The component shows the id as the workspace was named (the Pulumi program above).
    Value::from(ws)
}

/// Components_UpdateTags: `PATCH {"tags": {...}}` replaces the component's tags and
/// answers `200` with it (ComponentsUpdateTagsOnly.json).
pub fn patch_tags(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let tags = super::tags::tags_of(body)?.clone();
    let id = addr.id();
    let Some(record) = cx.store.get_mut(&id) else {
        return Err(cx.missing(addr));
    };
    record.body["tags"] = Value::Object(tags);
    Ok(Reply::ok(record.body.clone()))
}
