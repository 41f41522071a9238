//! Log Analytics workspaces (`Microsoft.OperationalInsights/workspaces`), where
//! workspace-based Application Insights components keep their data: Workspaces_CreateOrUpdate,
//! _Get, _Delete, _ListByResourceGroup, _List and DeletedWorkspaces_List(ByResourceGroup) of
//! azure-rest-api-specs operationalinsights `Workspaces.json` 2025-07-01, answered as ARM
//! answered Azure PowerShell (SessionRecords of Az.OperationalInsights,
//! `WorkspaceTests/TestWorkspaceCreateUpdateDelete.json`, api-version 2020-10-01):
//!
//! - a create is `201` with `provisioningState: Creating` and no `Azure-AsyncOperation` or
//!   `Location` header (the spec marks the PUT `x-ms-long-running-operation` and its
//!   example WorkspacesCreate.json answers `Creating` too): the client follows the
//!   resource's provisioningState, which becomes `Succeeded` when the emulator's operation
//!   ends; an update is `200` with `Succeeded`;
//! - the service assigns `customerId` (kept), `createdDate`, `modifiedDate`, `source:
//!   Azure`, and defaults `sku` (`PerGB2018`, the example's), `retentionInDays` (30),
//!   `features`, `workspaceCapping` and the public network access settings (`Enabled`) as
//!   recorded; the body's `id` is lower-case (recorded, and every example of the spec);
//! - DELETE is `200` with no body (recorded with `force=true`), `204` when the workspace
//!   does not exist (the spec's "Resource does not exist");
//! - soft delete: the spec's Workspaces_Delete says "To recover the workspace, create it
//!   again with the same name, in the same subscription, resource group and location. The
//!   name is kept for 14 days and cannot be used for another workspace. To remove the
//!   workspace completely and release the name, use the force flag." So a DELETE without
//!   `force=true` keeps the workspace in `deletedWorkspaces` (listed as recorded), a PUT of
//!   the same name, group and location recovers it (same `customerId`), and the name
//!   elsewhere is `409 Conflict` "The workspace name '…' is not unique" (quoted in
//!   Azure/azure-quickstart-templates#5284, Azure/Microsoft-Defender-for-Cloud#296,
//!   MicrosoftDocs/azure-docs#41719). The 14 days are not counted: a soft-deleted workspace
//!   stays until recovered or the emulator's state is reset.

use serde_json::{Map, Value, json};

use super::{Cx, object};
use crate::address::{Address, Namespace, Rg, region_key};
use crate::ops::OpKind;
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{Kind, Record, key};

const TYPE: &str = "Microsoft.OperationalInsights/workspaces";

/// `features` as the service answers them when none are sent (recorded).
fn default_features() -> Value {
    json!({"legacy": 0, "searchVersion": 1, "enableLogAccessUsingOnlyResourcePermissions": true})
}

/// The workspace as GET returns it, from the request `body` and the `previous` version
/// (live or soft-deleted), if any.
fn view(
    cx: &Cx,
    id: &str,
    name: &str,
    body: &Value,
    previous: Option<&Value>,
    state: &str,
) -> Value {
    let old = previous
        .map(|p| object(p, "properties"))
        .unwrap_or_default();
    let sent = object(body, "properties");
    let kept = |field: &str, default: Value| old.get(field).cloned().unwrap_or(default);
    let mut props: Map<String, Value> = sent.clone();
    let sku_name = sent
        .get("sku")
        .and_then(|s| s.get("name"))
        .cloned()
        .or_else(|| old.get("sku").and_then(|s| s.get("name")).cloned())
        .unwrap_or_else(|| json!("PerGB2018"));
    let sku_date = match old.get("sku") {
        Some(s) if s.get("name") == Some(&sku_name) => s["lastSkuUpdate"].clone(),
        _ => json!(cx.iso),
    };
    let mut features = kept("features", default_features());
    if let (Some(f), Some(new)) = (
        features.as_object_mut(),
        sent.get("features").and_then(Value::as_object),
    ) {
        f.extend(new.clone());
    }
    let quota = body
        .pointer("/properties/workspaceCapping/dailyQuotaGb")
        .or_else(|| {
            old.get("workspaceCapping")
                .and_then(|c| c.get("dailyQuotaGb"))
        })
        .cloned()
        .unwrap_or_else(|| json!(-1.0));
    for (field, value) in [
        ("source", json!("Azure")),
        ("customerId", kept("customerId", json!(uuid_like()))),
        ("provisioningState", json!(state)),
        ("sku", json!({"name": sku_name, "lastSkuUpdate": sku_date})),
        ("features", features),
        (
            "workspaceCapping",
            json!({"dailyQuotaGb": quota, "dataIngestionStatus": "RespectQuota"}),
        ),
        ("createdDate", kept("createdDate", json!(cx.iso))),
        ("modifiedDate", json!(cx.iso)),
    ] {
        props.insert(field.into(), value);
    }
    for (field, default) in [
        ("retentionInDays", json!(30)),
        ("publicNetworkAccessForIngestion", json!("Enabled")),
        ("publicNetworkAccessForQuery", json!("Enabled")),
    ] {
        let value = kept(field, default);
        props.entry(field).or_insert(value);
    }
    let mut v = json!({
        "properties": props,
        "id": id.to_ascii_lowercase(),
        "name": name,
        "type": TYPE,
        "location": body["location"],
    });
    if let Some(tags) = body.get("tags") {
        v["tags"] = tags.clone();
    }
    v
}

/// The soft-deleted workspace of this name in the subscription, if any: its key.
fn soft_deleted(cx: &Cx, rg: &Rg, name: &str) -> Option<String> {
    let prefix = format!("/subscriptions/{}/", key(&rg.sub));
    cx.store
        .deleted_workspaces
        .iter()
        .find(|(k, r)| k.starts_with(&prefix) && r.name().eq_ignore_ascii_case(name))
        .map(|(k, _)| k.clone())
}

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let Address::Workspace(rg, name) = addr else {
        unreachable!("a workspace address")
    };
    let location = super::tracked_location(cx, rg, body)?;
    let id = addr.id();
    let mut previous = cx.store.get(&id).map(|r| r.body.clone());
    let existed = previous.is_some();
    if !existed && let Some(k) = soft_deleted(cx, rg, name) {
        let record = &cx.store.deleted_workspaces[&k];
        let same_place = k == key(&id)
            && record.body["location"]
                .as_str()
                .is_some_and(|l| region_key(l) == region_key(location));
        if !same_place {
            return Err(ArmError::conflict(
                "Conflict",
                format!("The workspace name '{name}' is not unique"),
            ));
        }
        previous = cx.store.deleted_workspaces.remove(&k).map(|r| r.body);
    }
    // A new workspace is provisioned; an update or a recovery is done at once.
    let state = if previous.is_none() {
        "Creating"
    } else {
        "Succeeded"
    };
    let v = view(cx, &id, name, body, previous.as_ref(), state);
    cx.store.put(Record::new(Kind::Workspace, id.clone(), v));
    if previous.is_none() {
        cx.start_op(
            OpKind::WorkspaceCreate,
            &id,
            &rg.sub,
            Namespace::OperationalInsights,
        );
    }
    let stored = cx.store.get(&id).expect("stored").body.clone();
    Ok(Reply::put(existed, stored))
}

/// A managed workspace, made by Application Insights for a component created without
/// one (insights.rs): provisioned at once, without tags ("Tags can't be added to a
/// managed workspace"). Returns its id.
pub fn put_managed(cx: &mut Cx, rg: &Rg, name: &str, location: &str) -> String {
    let addr = Address::Workspace(rg.clone(), name.to_string());
    let id = addr.id();
    let body = json!({"location": location});
    let v = view(cx, &id, name, &body, None, "Succeeded");
    cx.store.put(Record::new(Kind::Workspace, id.clone(), v));
    id
}

pub fn delete(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let Address::Workspace(rg, _) = addr else {
        unreachable!("a workspace address")
    };
    if !cx.store.exists(&rg.id()) {
        return Err(ArmError::group_not_found(&rg.name));
    }
    let force = cx
        .query
        .get("force")
        .is_some_and(|f| f.eq_ignore_ascii_case("true"));
    let id = addr.id();
    if !cx.store.exists(&id) {
        return Ok(Reply::empty(204));
    }
    if force {
        cx.store.remove_tree(&id);
    } else {
        cx.store.soft_delete_workspace(&id);
    }
    Ok(Reply::empty(200))
}

/// Workspaces_List(ByResourceGroup) and DeletedWorkspaces_List(ByResourceGroup):
/// `{value: [...]}`, not paged (`x-ms-pageable` with `nextLinkName: null`).
pub fn list(cx: &mut Cx, sub: &str, rg: &Option<String>, deleted: bool) -> Result<Reply, ArmError> {
    let prefix = super::scope_prefix(cx, sub, rg)?;
    let value: Vec<Value> = if deleted {
        cx.store
            .deleted_workspaces
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| r.body.clone())
            .collect()
    } else {
        cx.store
            .resources
            .iter()
            .filter(|(k, r)| r.kind == Kind::Workspace && k.starts_with(&prefix))
            .map(|(_, r)| r.body.clone())
            .collect()
    };
    Ok(Reply::ok(json!({ "value": value })))
}
