//! Role assignments: synchronous PUT with ARM's checks in ARM's order (GUID name, scope,
//! role, principal and its replication delay, duplicates under another name, changes to
//! an existing name), GET and DELETE.

use serde_json::{Value, json};

use super::{Cx, object, str_at};
use crate::address::{self, Address};
use crate::ids::is_guid;
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record, key};

/// Built-in roles the emulator knows (GUIDs are the same in every tenant).
pub const BUILT_IN_ROLES: [(&str, &str); 8] = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
    (
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "Cognitive Services OpenAI User",
    ),
    (
        "a001fd3d-188f-4b5d-821b-7da978bf7442",
        "Cognitive Services OpenAI Contributor",
    ),
    (
        "a97b65f3-24c7-4388-baec-2e87135dc908",
        "Cognitive Services User",
    ),
    (
        "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        "Cognitive Services Contributor",
    ),
];

fn parts(addr: &Address) -> (&str, &str) {
    match addr {
        Address::RoleAssignment { scope, name } => (scope, name),
        _ => unreachable!("a role assignment address"),
    }
}

/// The role GUID of a role definition id (`/subscriptions/{s}/providers/...` or `/providers/...`).
fn role_guid(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let (prefix, guid) =
        lower.rsplit_once("/providers/microsoft.authorization/roledefinitions/")?;
    let prefix_ok = prefix.is_empty()
        || (prefix.starts_with("/subscriptions/") && prefix.matches('/').count() == 2);
    (prefix_ok && is_guid(guid)).then(|| guid.to_string())
}

/// Fails with ARM's error unless the scope exists.
fn scope_exists(cx: &Cx, scope: &str) -> Result<(), ArmError> {
    let segments = scope.trim_matches('/').split('/').count();
    if segments == 2 {
        return Ok(()); // a subscription: every subscription id exists here
    }
    if cx.store.exists(scope) || cx.config.seed.scopes.iter().any(|s| key(s) == key(scope)) {
        return Ok(());
    }
    match address::parse(scope) {
        Ok(Address::ResourceGroup(rg)) => Err(ArmError::group_not_found(&rg.name)),
        Ok(addr) => Err(cx.missing(&addr)),
        Err(_) => {
            let parts: Vec<&str> = scope.split('/').collect();
            let group = parts.get(4).copied().unwrap_or_default();
            if parts.len() > 4 && !cx.store.exists(&parts[..5].join("/")) {
                return Err(ArmError::group_not_found(group));
            }
            Err(ArmError::new(
                404,
                "ResourceNotFound",
                format!("The scope '{scope}' does not exist."),
            ))
        }
    }
}

/// The GUID of a role definition id that names a built-in or seeded role.
fn known_role(cx: &Cx, role_id: &str) -> Result<String, ArmError> {
    let role = role_guid(role_id).filter(|g| {
        BUILT_IN_ROLES.iter().any(|(b, _)| b == g)
            || cx
                .config
                .seed
                .role_definitions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(g))
    });
    role.ok_or_else(|| {
        ArmError::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role_id}' does not exist."),
        )
    })
}

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let (scope, name) = parts(addr);
    if !is_guid(name) {
        return Err(ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    scope_exists(cx, scope)?;
    let props = object(body, "properties");
    let role_id = props
        .get("roleDefinitionId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let principal_id = props
        .get("principalId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let role = known_role(cx, &role_id)?;
    let replication_ms = cx.config.replication_ms();
    let known = cx.store.principal(&principal_id).cloned();
    let replicated = known
        .as_ref()
        .is_some_and(|p| p.issued_ms.is_none_or(|t| cx.now >= t + replication_ms));
    if !replicated {
        return Err(ArmError::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal_id.replace('-', ""),
                super::TENANT_ID
            ),
        ));
    }
    let id = addr.id();
    let same = |r: &Record| {
        let p = &r.body["properties"];
        str_at(p, "/scope").is_some_and(|s| key(s) == key(scope))
            && str_at(p, "/roleDefinitionId")
                .and_then(role_guid)
                .as_deref()
                == Some(role.as_str())
            && str_at(p, "/principalId").is_some_and(|x| x.eq_ignore_ascii_case(&principal_id))
    };
    if let Some(existing) = cx.store.get(&id) {
        if !same(existing) {
            return Err(ArmError::bad_request(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ));
        }
        return Ok(update_description(cx, &id, &props));
    }
    let duplicate = cx
        .store
        .resources
        .values()
        .any(|r| r.kind == Kind::RoleAssignment && same(r));
    if duplicate {
        return Err(ArmError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let principal_type = props
        .get("principalType")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| known.map(|p| p.principal_type))
        .unwrap_or_else(|| "ServicePrincipal".into());
    let mut properties = props.clone();
    properties.insert("principalType".into(), Value::from(principal_type));
    properties.insert("scope".into(), Value::from(scope.to_string()));
    properties.entry("condition").or_insert(Value::Null);
    properties.entry("conditionVersion").or_insert(Value::Null);
    properties.insert("createdOn".into(), Value::from(cx.iso.clone()));
    properties.insert("updatedOn".into(), Value::from(cx.iso.clone()));
    properties.insert("createdBy".into(), Value::from("aoai-lb-emulator"));
    properties.insert("updatedBy".into(), Value::from("aoai-lb-emulator"));
    let view = json!({
        "id": id,
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
        "properties": properties,
    });
    cx.store
        .put(Record::new(Kind::RoleAssignment, id.clone(), view));
    Ok(Reply::new(
        201,
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

/// A PUT of an existing assignment with the same scope, role and principal: its
/// `description` is what may change (the refusal above names what may not: "Tenant ID,
/// application ID, principal ID, and scope are not allowed to be updated"; Microsoft
/// Learn, "Role Assignments - Create": `properties.description`, and `az role assignment
/// update` changes an assignment's description and condition in place).
fn update_description(cx: &mut Cx, id: &str, props: &serde_json::Map<String, Value>) -> Reply {
    let iso = cx.iso.clone();
    let record = cx.store.get_mut(id).expect("exists");
    if let Some(d) = props.get("description")
        && record.body["properties"]["description"] != *d
    {
        record.body["properties"]["description"] = d.clone();
        record.body["properties"]["updatedOn"] = Value::from(iso);
        record.body["properties"]["updatedBy"] = Value::from("aoai-lb-emulator");
    }
    Reply::ok(record.body.clone())
}

pub fn get(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    match cx.store.get(&addr.id()) {
        Some(r) => Ok(Reply::ok(r.body.clone())),
        None => Err(ArmError::new(
            404,
            "ResourceNotFound",
            format!("The role assignment '{}' is not found.", parts(addr).1),
        )),
    }
}

pub fn delete(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    match cx.store.remove_tree(&addr.id()).into_iter().next() {
        Some(r) => Ok(Reply::ok(r.body)),
        None => Ok(Reply::empty(204)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_definition_ids() {
        let g = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
        assert_eq!(
            role_guid(&format!(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{g}"
            )),
            Some(g.to_string())
        );
        assert_eq!(
            role_guid(&format!(
                "/providers/Microsoft.Authorization/roleDefinitions/{}",
                g.to_uppercase()
            )),
            Some(g.to_string())
        );
        assert_eq!(
            role_guid("/providers/Microsoft.Authorization/roleDefinitions/nope"),
            None
        );
        assert_eq!(role_guid(g), None);
    }
}
