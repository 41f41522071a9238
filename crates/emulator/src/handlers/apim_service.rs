//! The API Management service itself: PUT (ApiManagementService_CreateOrUpdate) of a new
//! service or of the existing one (how Bicep and Terraform set its identity: the whole
//! body, `sku`, `location`, `properties.publisherEmail`/`publisherName`, `identity`...),
//! and PATCH (ApiManagementService_Update) of any of `properties`, `sku`, `tags`,
//! `identity`, `zones` (the Python SDK's `begin_update` always sends `properties`).
//!
//! Both check what results against the embedded ARM schema of `Microsoft.ApiManagement/service`
//! (the writable properties, the sku, the identity); read-only members a client echoes back
//! from a GET (`id`, `etag`, `gatewayUrl`, `provisioningState`...) are ignored, as ARM
//! ignores them. Both are long-running: a new service answers `201` with
//! `provisioningState: Created` and `targetProvisioningState: Activating`, then `Succeeded`
//! (ApiManagementCreateService.json); an update answers `200` (PUT) or `202` (PATCH) with
//! `Azure-AsyncOperation` and `Location`, `Updating` until it ends. The region is
//! immutable (`immutable::location`, 409 InvalidResourceLocation).

use serde_json::{Map, Value, json};

use super::{Cx, object};
use crate::address::{Address, Namespace};
use crate::ops::{self, OpKind};
use crate::reply::{ArmError, Reply};
use crate::schema::{ArmSchemas, BodyKind};
use crate::store::{Kind, Record};

/// `ApiManagementServiceProperties` members a client may set (the embedded schema's).
const WRITABLE: [&str; 20] = [
    "additionalLocations",
    "apiVersionConstraint",
    "certificates",
    "configurationApi",
    "customProperties",
    "developerPortalStatus",
    "disableGateway",
    "enableClientCertificate",
    "hostnameConfigurations",
    "legacyPortalStatus",
    "natGatewayState",
    "notificationSenderEmail",
    "privateEndpointConnections",
    "publicIpAddressId",
    "publicNetworkAccess",
    "publisherEmail",
    "publisherName",
    "restore",
    "virtualNetworkConfiguration",
    "virtualNetworkType",
];

/// Read-only members of the service ARM ignores in a request (ApiManagementServiceResource
/// and ApiManagementServiceBaseProperties' `readOnly` fields).
const READ_ONLY: [&str; 16] = [
    "provisioningState",
    "targetProvisioningState",
    "createdAtUtc",
    "gatewayUrl",
    "gatewayRegionalUrl",
    "portalUrl",
    "developerPortalUrl",
    "managementApiUrl",
    "scmUrl",
    "publicIPAddresses",
    "privateIPAddresses",
    "platformVersion",
    "outboundPublicIPAddresses",
    "systemData",
    "etag",
    "id",
];

/// A request body without what ARM ignores: read-only members at the top and in `properties`.
fn writable(body: &Value) -> Value {
    let mut out = body.as_object().cloned().unwrap_or_default();
    for k in ["id", "name", "type", "etag", "systemData"] {
        out.remove(k);
    }
    if let Some(Value::Object(p)) = out.get_mut("properties") {
        p.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
    }
    Value::Object(out)
}

/// Checks a whole service body (writable members only) against the embedded schema, with
/// API Management's error.
fn check(addr: &Address, body: &Value) -> Result<(), ArmError> {
    let version = Namespace::ApiManagement.api_version();
    let Err(errors) = ArmSchemas::get().validate(BodyKind::ApimService, &addr.id(), version, body)
    else {
        return Ok(());
    };
    let details = errors
        .iter()
        .map(|e| json!({"code": "ValidationError", "message": e}))
        .collect();
    Err(ArmError::validation(format!(
        "One or more fields contain incorrect values: {}",
        errors.join("; ")
    ))
    .with_details(details))
}

/// The identity object as APIM returns it for `sent`, issuing or keeping principals.
pub fn identity(
    cx: &mut Cx,
    service_id: &str,
    previous: &Value,
    sent: &Value,
) -> Result<Value, ArmError> {
    let t = sent["type"].as_str().unwrap_or("None");
    let (system, user) = (t.contains("SystemAssigned"), t.contains("UserAssigned"));
    let entries = object(sent, "userAssignedIdentities");
    if user && entries.is_empty() {
        return Err(ArmError::validation(
            "userAssignedIdentities is required when the identity type includes UserAssigned.",
        ));
    }
    if !user && !entries.is_empty() {
        return Err(ArmError::validation(format!(
            "userAssignedIdentities must be empty when the identity type is '{t}'."
        )));
    }
    let mut identity = json!({"type": t});
    // User-assigned identities are checked first: a refused request issues no principal.
    if user {
        let mut out = Map::new();
        for uai in entries.keys() {
            if crate::ids::parse_user_assigned_identity(uai).is_none() {
                return Err(ArmError::validation(format!(
                    "'{uai}' is not the id of a user-assigned managed identity."
                )));
            }
            let Some(r) = cx.store.get(uai).filter(|r| r.kind == Kind::Identity) else {
                return Err(ArmError::validation(format!(
                    "The user-assigned identity '{uai}' was not found."
                )));
            };
            out.insert(
                r.id.clone(),
                json!({"principalId": r.body["properties"]["principalId"], "clientId": r.body["properties"]["clientId"]}),
            );
        }
        identity["userAssignedIdentities"] = Value::Object(out);
    }
    if system {
        let kept = previous["type"]
            .as_str()
            .is_some_and(|p| p.contains("SystemAssigned"))
            .then(|| previous["principalId"].as_str().map(str::to_string))
            .flatten();
        let principal = match kept {
            Some(p) => p,
            None => cx.issue_principal(service_id),
        };
        identity["principalId"] = Value::from(principal);
        identity["tenantId"] = Value::from(super::TENANT_ID);
    }
    Ok(identity)
}

fn busy(cx: &Cx, record: &Record) -> Result<(), ArmError> {
    match ops::in_progress(cx.store, &record.id) {
        Some(_) => Err(ArmError::conflict(
            "Conflict",
            format!(
                "An update of '{}' is in progress. Please try again later.",
                record.name()
            ),
        )),
        None => Ok(()),
    }
}

/// Applies a checked request to the stored view: writable properties, sku, tags, zones,
/// identity (replaced as a whole by PUT, member by member by PATCH).
fn apply(cx: &mut Cx, view: &mut Value, sent: &Value, replace: bool) -> Result<(), ArmError> {
    let props = view["properties"]
        .as_object_mut()
        .expect("a service has properties");
    if replace {
        let defaults = fresh_defaults();
        for k in WRITABLE {
            match defaults.get(k) {
                Some(d) => props.insert(k.to_string(), d.clone()),
                None => props.remove(k),
            };
        }
    }
    props.extend(object(sent, "properties"));
    for k in ["sku", "tags", "zones"] {
        match sent.get(k) {
            Some(v) => view[k] = v.clone(),
            None if replace && k == "tags" => view[k] = json!({}),
            None => {}
        }
    }
    let none = json!({"type": "None"});
    let wanted = match (sent.get("identity"), replace) {
        (Some(i), _) => Some(i),
        (None, true) => Some(&none),
        (None, false) => None,
    };
    if let Some(i) = wanted {
        let id = view["id"].as_str().unwrap_or_default().to_string();
        let previous = view["identity"].clone();
        view["identity"] = identity(cx, &id, &previous, i)?;
    }
    Ok(())
}

/// The writable defaults of a service APIM creates (those `service_view` shows).
fn fresh_defaults() -> Map<String, Value> {
    let rg = crate::address::Rg {
        sub: String::new(),
        name: String::new(),
    };
    let v = super::apim::service_view(&rg, "x", "westus", "Developer", "");
    object(&v, "properties")
        .into_iter()
        .filter(|(k, _)| {
            WRITABLE.contains(&k.as_str()) && k != "publisherEmail" && k != "publisherName"
        })
        .collect()
}

/// The writable part of a stored view, for checking a PATCH's result.
fn writable_view(view: &Value) -> Value {
    let mut v = writable(view);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("location");
    }
    v
}

/// Starts the update or create operation and stores the view.
fn start(cx: &mut Cx, mut record: Record, state: &str) -> (Record, Vec<(&'static str, String)>) {
    record.set_provisioning_state(state);
    record.touch();
    let id = record.id.clone();
    cx.store.put(record);
    let sub = id.split('/').nth(2).unwrap_or_default().to_string();
    let op = cx.start_op(OpKind::ApimIdentity, &id, &sub, Namespace::ApiManagement);
    let headers = cx.op_headers(&op, true, true);
    (cx.store.get(&id).expect("stored").clone(), headers)
}

/// ApiManagementService_Update.
pub fn patch(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let Some(record) = cx.store.get(&addr.id()).cloned() else {
        return Err(cx.missing(addr));
    };
    let sent = writable(body);
    if let Some(other) = sent.as_object().and_then(|o| {
        o.keys().find(|k| {
            !matches!(
                k.as_str(),
                "properties" | "sku" | "tags" | "identity" | "zones"
            )
        })
    }) {
        return Err(ArmError::validation(format!(
            "'{other}' cannot be changed by an update of the service."
        )));
    }
    busy(cx, &record)?;
    let mut candidate = writable_view(&record.body);
    if let Some(p) = candidate["properties"].as_object_mut() {
        p.extend(object(&sent, "properties"));
    }
    for k in ["sku", "tags", "zones"] {
        if let Some(v) = sent.get(k) {
            candidate[k] = v.clone();
        }
    }
    candidate.as_object_mut().map(|o| o.remove("identity"));
    check(addr, &candidate)?;
    let mut updated = record.clone();
    apply(cx, &mut updated.body, &sent, false)?;
    let (_, headers) = start(cx, updated, "Updating");
    let mut reply = Reply::empty(202);
    reply.headers = headers;
    Ok(reply)
}

/// ApiManagementService_CreateOrUpdate.
pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let Address::ApimService(rg, name) = addr else {
        unreachable!("a service address")
    };
    let sent = writable(body);
    let Some(location) = sent["location"].as_str().map(str::to_string) else {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    let Some(sku) = sent
        .pointer("/sku/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(ArmError::validation("The 'sku' property is required."));
    };
    let mut candidate = sent.clone();
    candidate.as_object_mut().map(|o| o.remove("identity"));
    check(addr, &candidate)?;
    let existing = cx.store.get(&addr.id()).cloned();
    let record = match &existing {
        Some(r) => {
            super::immutable::location(&r.body, name, &rg.name, Some(&location))?;
            busy(cx, r)?;
            r.clone()
        }
        None => {
            if !cx.store.exists(&rg.id()) {
                return Err(ArmError::group_not_found(&rg.name));
            }
            let mut view = super::apim::service_view(rg, name, &location, &sku, &cx.iso);
            view["properties"]["gatewayUrl"] =
                Value::from(crate::dataplane::gateway_url(cx.base, name));
            Record::new(Kind::ApimService, addr.id(), view)
        }
    };
    let mut updated = record;
    apply(cx, &mut updated.body, &sent, true)?;
    updated.body["systemData"] = cx.system_data(existing.as_ref().map(|r| &r.body));
    let state = if existing.is_some() {
        "Updating"
    } else {
        "Created"
    };
    let (stored, headers) = start(cx, updated, state);
    let mut view = stored.body;
    if existing.is_none() {
        view["properties"]["targetProvisioningState"] = Value::from("Activating");
    }
    let mut reply = Reply::put(existing.is_some(), view);
    reply.headers = headers;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_members_are_ignored() {
        let body = json!({"id": "x", "etag": "y", "location": "westus",
            "properties": {"gatewayUrl": "g", "publisherName": "p"}});
        assert_eq!(
            writable(&body),
            json!({"location": "westus", "properties": {"publisherName": "p"}})
        );
    }

    #[test]
    fn fresh_defaults_are_writable_and_leave_the_publisher_out() {
        let d = fresh_defaults();
        assert_eq!(d["virtualNetworkType"], "None");
        assert!(d.keys().all(|k| WRITABLE.contains(&k.as_str())));
        assert!(!d.contains_key("publisherEmail"));
    }
}
