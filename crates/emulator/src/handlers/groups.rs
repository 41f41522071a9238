//! Resource groups: PUT `{location, tags}`, GET, and DELETE as a long-running operation
//! that takes everything in the group with it (accounts go to soft-delete).

use serde_json::{Value, json};

use super::Cx;
use crate::address::{Namespace, Rg, region_key};
use crate::ops::{self, OpKind};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record};

const ALLOWED: [&str; 4] = ["location", "tags", "managedBy", "properties"];

fn invalid(message: String) -> ArmError {
    ArmError::bad_request("InvalidRequestContent", message)
}

pub fn put(cx: &mut Cx, rg: &Rg, body: &Value) -> Result<Reply, ArmError> {
    let Some(obj) = body.as_object() else {
        return Err(invalid("The request content must be a JSON object.".into()));
    };
    if let Some(unknown) = obj.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return Err(invalid(format!(
            "The request content was invalid and could not be deserialized: could not find member '{unknown}' on object of type 'ResourceGroup'."
        )));
    }
    let Some(location) = obj.get("location").and_then(Value::as_str) else {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    if let Some(tags) = obj.get("tags")
        && !tags
            .as_object()
            .is_some_and(|t| t.values().all(Value::is_string))
    {
        return Err(invalid("'tags' must be an object of strings.".into()));
    }
    let id = rg.id();
    let existing = cx.store.get(&id).cloned();
    if let Some(old) = &existing {
        if old.provisioning_state() == Some("Deleting") {
            return Err(ArmError::conflict(
                "ResourceGroupBeingDeleted",
                format!(
                    "The resource group '{}' is in deprovisioning state and cannot perform this operation.",
                    rg.name
                ),
            ));
        }
        let old_location = old.body["location"].as_str().unwrap_or_default();
        if old_location != region_key(location) {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{old_location}'."
                ),
            ));
        }
    }
    let mut view = json!({
        "id": id,
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": region_key(location),
        "properties": {"provisioningState": "Succeeded"},
    });
    if let Some(tags) = obj.get("tags") {
        view["tags"] = tags.clone();
    }
    if let Some(m) = obj.get("managedBy") {
        view["managedBy"] = m.clone();
    }
    cx.store
        .put(Record::new(Kind::ResourceGroup, id.clone(), view));
    let stored = cx.store.get(&id).expect("just stored").body.clone();
    Ok(Reply::put(existing.is_some(), stored))
}

pub fn get(cx: &mut Cx, rg: &Rg) -> Result<Reply, ArmError> {
    match cx.store.get(&rg.id()) {
        Some(r) => Ok(Reply::ok(r.body.clone())),
        None => Err(ArmError::group_not_found(&rg.name)),
    }
}

/// ResourceGroups_CheckExistence (`HEAD`, resources.json): 204 when the group exists,
/// 404 when it does not (no body either way).
pub fn exists(cx: &mut Cx, rg: &Rg) -> Result<Reply, ArmError> {
    match cx.store.exists(&rg.id()) {
        true => Ok(Reply::empty(204)),
        false => Err(ArmError::group_not_found(&rg.name)),
    }
}

/// The group's top-level resources (`{rg}/providers/{namespace}/{type}/{name}`), as
/// ARM's "Resources - List By Resource Group" returns them: child resources are not listed.
pub fn list_resources(cx: &mut Cx, rg: &Rg) -> Result<Reply, ArmError> {
    let Some(group) = cx.store.get(&rg.id()) else {
        return Err(ArmError::group_not_found(&rg.name));
    };
    let prefix = format!("{}/providers/", group.id.to_ascii_lowercase());
    let value: Vec<Value> = cx
        .store
        .resources
        .iter()
        .filter(|(k, _)| k.strip_prefix(&prefix).is_some_and(|rest| rest.split('/').count() == 3))
        .map(|(_, r)| {
            let mut v = json!({ "id": r.id, "name": r.body.get("name"), "type": r.body.get("type"), "location": r.body.get("location") });
            if let Some(tags) = r.body.get("tags") {
                v["tags"] = tags.clone();
            }
            v
        })
        .collect();
    Ok(Reply::ok(json!({ "value": value })))
}

pub fn delete(cx: &mut Cx, rg: &Rg) -> Result<Reply, ArmError> {
    let id = rg.id();
    let Some(record) = cx.store.get(&id) else {
        return Err(ArmError::group_not_found(&rg.name));
    };
    let id = record.id.clone();
    let op = match ops::in_progress(cx.store, &id) {
        Some(op) => op.clone(),
        None => {
            let op = cx.start_op(OpKind::GroupDelete, &id, &rg.sub, Namespace::Resources);
            if let Some(r) = cx.store.get_mut(&id) {
                r.set_provisioning_state("Deleting");
            }
            op
        }
    };
    let mut reply = Reply::empty(202);
    reply.headers = cx.op_headers(&op, false, true);
    Ok(reply)
}
