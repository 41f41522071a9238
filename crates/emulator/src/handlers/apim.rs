//! API Management: the service's view (its PUT and PATCH are in `apim_service.rs`),
//! user-assigned identities,
//! backends and pools, and subscriptions with their keys. APIs and policies live in
//! `apis.rs`.

use serde_json::{Map, Value, json};

use super::{Cx, object, str_at};
use crate::address::{Address, Rg};
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{Kind, Record, key};

/// The service address of an APIM child address.
pub fn service_of(addr: &Address) -> Address {
    match addr {
        Address::ApimService(..) => addr.clone(),
        Address::Backend(rg, s, _)
        | Address::Api(rg, s, _)
        | Address::ApiPolicy(rg, s, _)
        | Address::ApimSubscription(rg, s, _)
        | Address::Logger(rg, s, _)
        | Address::ServiceDiagnostic(rg, s, _)
        | Address::ApiDiagnostic(rg, s, ..)
        | Address::ListSecrets(rg, s, _) => Address::ApimService(rg.clone(), s.clone()),
        _ => unreachable!("an API Management address"),
    }
}

/// Fails unless the parent of `addr` exists.
pub fn parent_exists(cx: &Cx, addr: &Address) -> Result<(), ArmError> {
    match addr.parent() {
        Some(p) if !cx.store.exists(&p.id()) => Err(cx.missing(&p)),
        _ => Ok(()),
    }
}

/// GET of any resource stored with its view.
pub fn get(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    match cx.store.get(&addr.id()) {
        Some(r) => Ok(Reply::ok(r.body.clone())),
        None => Err(cx.missing(addr)),
    }
}

/// Synchronous DELETE: 200 when it existed, 204 when it did not (its parent must exist).
pub fn delete_simple(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let removed = cx.store.remove_tree(&addr.id());
    Ok(Reply::empty(if removed.is_empty() { 204 } else { 200 }))
}

/// The view of a seeded API Management service.
pub fn service_view(rg: &Rg, name: &str, location: &str, sku: &str, iso: &str) -> Value {
    let id = Address::ApimService(rg.clone(), name.to_string()).id();
    json!({
        "id": id,
        "name": name,
        "type": "Microsoft.ApiManagement/service",
        "location": location,
        "etag": "AAAAAAAAAAA=",
        "tags": {},
        "sku": {"name": sku, "capacity": if sku == "Consumption" { 0 } else { 1 }},
        "identity": {"type": "None"},
        "systemData": {"createdBy": "aoai-lb-emulator", "createdByType": "Application", "createdAt": iso,
                       "lastModifiedBy": "aoai-lb-emulator", "lastModifiedByType": "Application", "lastModifiedAt": iso},
        "properties": {
            "publisherEmail": "admin@contoso.com",
            "publisherName": "Contoso",
            "notificationSenderEmail": "apimgmt-noreply@mail.windowsazure.com",
            "provisioningState": "Succeeded",
            "targetProvisioningState": "",
            "createdAtUtc": iso,
            "gatewayUrl": format!("https://{}.azure-api.net", name.to_ascii_lowercase()),
            "gatewayRegionalUrl": format!("https://{}-{}-01.regional.azure-api.net", name.to_ascii_lowercase(), location),
            "portalUrl": format!("https://{}.portal.azure-api.net", name.to_ascii_lowercase()),
            "developerPortalUrl": format!("https://{}.developer.azure-api.net", name.to_ascii_lowercase()),
            "managementApiUrl": format!("https://{}.management.azure-api.net", name.to_ascii_lowercase()),
            "scmUrl": format!("https://{}.scm.azure-api.net", name.to_ascii_lowercase()),
            "hostnameConfigurations": [],
            "publicIPAddresses": [],
            "virtualNetworkType": "None",
            "disableGateway": false,
            "natGatewayState": "Disabled",
            "publicNetworkAccess": "Enabled",
            "platformVersion": "stv2",
            "apiVersionConstraint": {},
        },
    })
}

pub fn put_backend(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let service_id = service_of(addr).id();
    let mut props = object(body, "properties");
    let is_pool = props.get("type").and_then(Value::as_str) == Some("Pool");
    if is_pool {
        for field in ["url", "protocol"] {
            if props.contains_key(field) {
                let what = if field == "url" { "Url" } else { "Protocol" };
                return Err(ArmError::validation(format!(
                    "{what} is not supported for backend pool"
                )));
            }
        }
        let members = props
            .get("pool")
            .and_then(|p| p.get("services"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if members.is_empty() {
            return Err(ArmError::validation(
                "A backend pool needs at least one service in pool.services.",
            ));
        }
        let prefix = format!("{}/backends/", key(&service_id));
        for m in &members {
            let member = m["id"].as_str().unwrap_or_default();
            let same_service = key(member).starts_with(&prefix);
            match cx.store.get(member) {
                Some(r) if same_service && r.kind == Kind::Backend => {
                    if str_at(&r.body, "/properties/type") == Some("Pool") {
                        return Err(ArmError::validation(format!(
                            "Backend '{member}' is a pool; a pool cannot contain another pool."
                        )));
                    }
                }
                _ => {
                    return Err(ArmError::validation(format!(
                        "Backend with id '{member}' does not exist in this service."
                    )));
                }
            }
        }
        props.insert("url".into(), Value::Null);
        props.insert("protocol".into(), Value::Null);
    } else {
        for field in ["url", "protocol"] {
            if !props.contains_key(field) {
                return Err(ArmError::validation(format!(
                    "'{field}' is required for a backend of type Single."
                )));
            }
        }
        props.insert("type".into(), Value::from("Single"));
    }
    props.entry("title").or_insert(Value::Null);
    let id = addr.id();
    let existed = cx.store.exists(&id);
    let view = json!({
        "id": id,
        "type": "Microsoft.ApiManagement/service/backends",
        "name": id.rsplit('/').next(),
        "properties": props,
    });
    cx.store.put(Record::new(Kind::Backend, id.clone(), view));
    Ok(Reply::put(
        existed,
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

pub fn delete_backend(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let id = key(&addr.id());
    let service_id = service_of(addr).id();
    let users: Vec<String> = cx
        .store
        .below(&service_id)
        .filter(|r| r.kind == Kind::Backend)
        .filter(|r| {
            r.body
                .pointer("/properties/pool/services")
                .and_then(Value::as_array)
                .is_some_and(|m| {
                    m.iter()
                        .any(|s| s["id"].as_str().is_some_and(|x| key(x) == id))
                })
        })
        .map(|r| r.name().to_string())
        .collect();
    if let Some(pool) = users.first() {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "The backend is referenced by the backend pool '{pool}'. Remove it from the pool first."
            ),
        ));
    }
    delete_simple(cx, addr)
}

/// A subscription scope (`/apis/{id}`, `/apis` or the full id) as the full id, if it exists.
fn resolve_scope(cx: &Cx, service_id: &str, scope: &str) -> Result<String, ArmError> {
    let full = if scope.starts_with("/apis") {
        format!("{service_id}{scope}")
    } else {
        scope.to_string()
    };
    let rest = key(&full)
        .strip_prefix(&key(service_id))
        .map(str::to_string)
        .unwrap_or_default();
    if rest == "/apis" {
        return Ok(format!("{service_id}/apis"));
    }
    let is_api = rest.starts_with("/apis/") && rest.matches('/').count() == 2;
    match cx.store.get(&full) {
        Some(r) if is_api && r.kind == Kind::Api => Ok(r.id.clone()),
        _ => Err(ArmError::validation(format!(
            "Subscription scope '{scope}' is not an existing API of the service (the emulator serves /apis and /apis/{{apiId}} scopes)."
        ))),
    }
}

fn new_key() -> String {
    uuid_like().replace('-', "")
}

pub fn put_subscription(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let service_id = service_of(addr).id();
    let mut props = object(body, "properties");
    let scope = props
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let scope = resolve_scope(cx, &service_id, &scope)?;
    let id = addr.id();
    let existing = cx.store.get(&id).cloned();
    let old_keys = existing
        .as_ref()
        .map(|r| r.private.clone())
        .unwrap_or(Value::Null);
    let mut keys = Map::new();
    for k in ["primaryKey", "secondaryKey"] {
        let v = props
            .remove(k)
            .or_else(|| old_keys.get(k).cloned())
            .unwrap_or_else(|| Value::from(new_key()));
        keys.insert(k.into(), v);
    }
    props.insert("scope".into(), Value::from(scope));
    props
        .entry("state")
        .or_insert_with(|| Value::from("submitted"));
    props.entry("allowTracing").or_insert(Value::from(false));
    let created = existing
        .as_ref()
        .and_then(|r| r.body.pointer("/properties/createdDate").cloned())
        .unwrap_or_else(|| Value::from(cx.iso.clone()));
    props.insert("createdDate".into(), created);
    let view = json!({
        "id": id,
        "type": "Microsoft.ApiManagement/service/subscriptions",
        "name": id.rsplit('/').next(),
        "properties": props,
    });
    let mut record = Record::new(Kind::ApimSubscription, id.clone(), view);
    record.private = Value::Object(keys);
    cx.store.put(record);
    Ok(Reply::put(
        existing.is_some(),
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

pub fn list_secrets(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let sub = addr.parent().expect("listSecrets has a subscription");
    let Some(r) = cx.store.get(&sub.id()) else {
        return Err(cx.missing(&sub));
    };
    Ok(Reply::ok(json!({
        "primaryKey": r.private["primaryKey"],
        "secondaryKey": r.private["secondaryKey"],
    })))
}
