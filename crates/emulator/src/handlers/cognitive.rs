//! Cognitive Services accounts: asynchronous create, `properties.endpoint` from the custom
//! subdomain (unique across the emulator), soft delete with `FlagMustBeSetForRestore`,
//! restore, the `deletedAccounts` listing and purge.

use serde_json::{Map, Value, json};

use super::{Cx, immutable, object, str_at};
use crate::address::{Address, Namespace, region_key};
use crate::ops::{self, OpKind};
use crate::reply::{ArmError, Reply, uuid_like};
use crate::store::{DeletedAccount, Kind, Record, key};

const TYPE: &str = "Microsoft.CognitiveServices/accounts";

fn parts(addr: &Address) -> (&str, &str, &str) {
    match addr {
        Address::Account(rg, name) => (&rg.sub, &rg.name, name),
        _ => unreachable!("an account address"),
    }
}

/// A write to an account while one of its operations runs: `409 RequestConflict`, the
/// code the Cognitive Services provider answers account operations with while another
/// runs (Azure-Samples/azure-search-openai-demo#59: deleting an OpenAI account
/// "I receive an "RequestConflict" error message from the Cognitive Services Resource
/// Provider"; the deployments' conflict is the same code, deployments.rs).
fn conflict_in_progress(id: &str) -> ArmError {
    ArmError::conflict(
        "RequestConflict",
        format!(
            "Another operation is being performed on the resource '{id}'. Please try again later."
        ),
    )
}

/// The endpoint ARM reports for an account.
fn endpoint(kind: &str, subdomain: Option<&str>, location: &str) -> String {
    match subdomain {
        Some(s) if kind.eq_ignore_ascii_case("OpenAI") => format!("https://{s}.openai.azure.com/"),
        Some(s) => format!("https://{s}.cognitiveservices.azure.com/"),
        None => format!(
            "https://{}.api.cognitive.microsoft.com/",
            region_key(location)
        ),
    }
}

/// `properties.endpoints`: the API name → URL map ARM returns with an account.
///
/// An OpenAI account's APIs all live on its endpoint. An AIServices (Foundry) account's
/// `endpoint` is the `cognitiveservices.azure.com` host, while its Azure OpenAI APIs live on
/// `https://{subdomain}.openai.azure.com/` and its Foundry API on
/// `https://{subdomain}.services.ai.azure.com/`: Microsoft Learn, "Deploy Microsoft Foundry
/// Models using the Azure CLI", reads the inference URL from
/// `properties.endpoints["Azure OpenAI Legacy API - Latest moniker"]`
/// (MicrosoftDocs/azure-ai-docs); `az cognitiveservices account list` of a kind
/// AIServices account shows `"OpenAI Language Model Instance API":
/// "https://{name}.openai.azure.com/"` and `"AI Foundry API":
/// "https://{name}.services.ai.azure.com/"` (as quoted in public test fixtures, e.g. an
/// azapi data source exporting `properties.endpoints`). Without a subdomain every API is the
/// regional endpoint, as the OpenAI recordings show.
fn endpoints(kind: &str, subdomain: Option<&str>, endpoint: &str) -> Value {
    let foundry = kind.eq_ignore_ascii_case("AIServices");
    let openai = match subdomain {
        Some(s) if foundry => format!("https://{s}.openai.azure.com/"),
        _ => endpoint.to_string(),
    };
    let mut map = json!({
        "OpenAI Language Model Instance API": openai,
        "OpenAI Dall-E API": openai,
        "OpenAI Realtime API": openai.replace("https://", "wss://"),
    });
    if foundry {
        map["Azure OpenAI Legacy API - Latest moniker"] = Value::from(openai.clone());
        if let Some(s) = subdomain {
            map["AI Foundry API"] = Value::from(format!("https://{s}.services.ai.azure.com/"));
        }
    }
    map
}

/// Which account (live or soft-deleted, other than `except`) holds a subdomain.
fn subdomain_holder(cx: &Cx, subdomain: &str, except: &str) -> Option<String> {
    let same = |body: &Value| {
        str_at(body, "/properties/customSubDomainName")
            .is_some_and(|s| s.eq_ignore_ascii_case(subdomain))
    };
    let live = cx
        .store
        .resources
        .values()
        .filter(|r| r.kind == Kind::Account && key(&r.id) != key(except))
        .find(|r| same(&r.body))
        .map(|r| r.id.clone());
    live.or_else(|| {
        cx.store
            .deleted
            .values()
            .filter(|d| key(&d.account.id) != key(except))
            .find(|d| same(&d.account.body))
            .map(|d| d.id())
    })
}

/// The identity object of an account as ARM returns it, issuing principals as needed.
fn identity(
    cx: &mut Cx,
    id: &str,
    sent: &Value,
    previous: Option<&Value>,
) -> Result<Value, ArmError> {
    let t = sent["type"].as_str().unwrap_or("None");
    let mut out = json!({"type": t});
    // User-assigned identities are checked first: a refused body issues no principal.
    if t.contains("UserAssigned") {
        let mut entries = Map::new();
        for uai in object(sent, "userAssignedIdentities").keys() {
            let Some(r) = cx.store.get(uai).filter(|r| r.kind == Kind::Identity) else {
                return Err(ArmError::bad_request(
                    "InvalidUserAssignedIdentity",
                    format!("The user-assigned identity '{uai}' was not found."),
                ));
            };
            entries.insert(
                r.id.clone(),
                json!({
                    "principalId": r.body["properties"]["principalId"],
                    "clientId": r.body["properties"]["clientId"],
                }),
            );
        }
        out["userAssignedIdentities"] = Value::Object(entries);
    }
    if t.contains("SystemAssigned") {
        let kept = previous
            .filter(|p| {
                p["type"]
                    .as_str()
                    .is_some_and(|pt| pt.contains("SystemAssigned"))
            })
            .and_then(|p| p["principalId"].as_str())
            .map(str::to_string);
        let principal = match kept {
            Some(p) => p,
            None => cx.issue_principal(id),
        };
        out["principalId"] = Value::from(principal);
        out["tenantId"] = Value::from(super::TENANT_ID);
    }
    Ok(out)
}

/// The soft-deleted account a PUT restores (with `restore: true`), refusing a PUT that
/// would silently replace one, or a restore of nothing.
fn soft_deleted(
    cx: &Cx,
    sub: &str,
    name: &str,
    deleted_key: &str,
    restore: bool,
) -> Result<Option<DeletedAccount>, ArmError> {
    match (cx.store.deleted.get(deleted_key), restore) {
        (Some(d), false) => Err(ArmError::conflict(
            "FlagMustBeSetForRestore",
            format!(
                "An existing resource with ID '{}' has been soft-deleted. To restore the resource, you must specify 'restore' to be 'true' in the property. If you don't want to restore existing resource, please purge it first.",
                d.account.id
            ),
        )),
        (Some(d), true) => {
            if ops::in_progress(cx.store, &d.id()).is_some() {
                return Err(conflict_in_progress(&d.id()));
            }
            Ok(Some(d.clone()))
        }
        (None, true) => Err(ArmError::new(
            404,
            "ResourceNotFound",
            format!(
                "There is no soft-deleted account '{name}' to restore in subscription '{sub}'."
            ),
        )),
        (None, false) => Ok(None),
    }
}

/// The read-only properties ARM adds to an account: endpoints, capabilities, ids and
/// dates (kept from the account it replaces or restores).
fn add_read_only(
    props: &mut Map<String, Value>,
    kind: &str,
    subdomain: Option<&str>,
    location: &str,
    previous: Option<&Value>,
    iso: &str,
) {
    let keep = |field: &str, default: Value| {
        previous
            .and_then(|p| p["properties"].get(field).cloned())
            .unwrap_or(default)
    };
    let endpoint = endpoint(kind, subdomain, location);
    props.insert("endpoint".into(), Value::from(endpoint.clone()));
    props.insert("endpoints".into(), endpoints(kind, subdomain, &endpoint));
    props.insert(
        "capabilities".into(),
        json!([
            {"name": "VirtualNetworks"},
            {"name": "CustomerManagedKey"},
            {"name": "MaxFineTuneCount", "value": "500"},
            {"name": "RaiMonitor"}
        ]),
    );
    props.insert(
        "internalId".into(),
        keep("internalId", Value::from(uuid_like().replace('-', ""))),
    );
    props.insert(
        "dateCreated".into(),
        keep("dateCreated", Value::from(iso.to_string())),
    );
    props.insert("isMigrated".into(), Value::from(false));
    props
        .entry("publicNetworkAccess")
        .or_insert_with(|| Value::from("Enabled"));
    // As ARM answered `New-AzCognitiveServicesAccount -Kind OpenAI` at 2024-10-01
    // (Azure/azure-powershell, CognitiveServices SessionRecords TestDefenderForAISetting.json,
    // replayed by tests/it/recorded.rs): the call rate limits (the generic rules of that
    // recording), no private endpoint connections, and the API properties sent or `{}`.
    props.insert(
        "callRateLimit".into(),
        json!({"rules": [
            {"key": "openai", "renewalPeriod": 1, "count": 30,
             "matchPatterns": [{"path": "openai/*", "method": "*"}]},
            {"key": "default", "renewalPeriod": 1, "count": 30,
             "matchPatterns": [{"path": "*", "method": "*"}]}
        ]}),
    );
    props
        .entry("privateEndpointConnections")
        .or_insert_with(|| json!([]));
    props.entry("apiProperties").or_insert_with(|| json!({}));
}

/// An account body's `location` and `kind`, refusing one without them or a `sku`.
fn location_and_kind(body: &Value) -> Result<(&str, &str), ArmError> {
    let Some(location) = body["location"].as_str() else {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    let kind = body["kind"].as_str().ok_or_else(|| {
        ArmError::bad_request("InvalidRequestContent", "The 'kind' property is required.")
    })?;
    if str_at(body, "/sku/name").is_none() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The 'sku' property is required.",
        ));
    }
    Ok((location, kind))
}

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let (sub, rg, name) = parts(addr);
    let rg_id = crate::ids::resource_group(sub, rg);
    if !cx.store.exists(&rg_id) {
        return Err(ArmError::group_not_found(rg));
    }
    let (location, kind) = location_and_kind(body)?;
    let mut id = addr.id();
    let existing = cx.store.get(&id).cloned();
    if let Some(e) = &existing {
        immutable::location(&e.body, name, rg, Some(location))?;
        let api_version = cx.query.get("api-version").map_or("", String::as_str);
        immutable::account(&e.body, body, api_version)?;
    }
    if existing.is_some() && ops::in_progress(cx.store, &id).is_some() {
        return Err(conflict_in_progress(&id));
    }
    let mut props = object(body, "properties");
    let restore = props.remove("restore").and_then(|v| v.as_bool()) == Some(true);
    let deleted_key = DeletedAccount::key(sub, name);
    let restoring = if existing.is_none() {
        soft_deleted(cx, sub, name, &deleted_key, restore)?
    } else {
        None
    };
    if let Some(d) = &restoring {
        id = d.account.id.clone();
    }
    let sent_subdomain = props
        .get("customSubDomainName")
        .and_then(Value::as_str)
        .map(str::to_string);
    let subdomain = immutable::kept_subdomain(existing.as_ref().map(|r| &r.body), sent_subdomain);
    if let Some(sd) = &subdomain {
        props.insert("customSubDomainName".into(), Value::from(sd.clone()));
    }
    if let Some(sd) = &subdomain
        && subdomain_holder(cx, sd, &id).is_some()
    {
        return Err(ArmError::conflict(
            "CustomDomainInUse",
            format!("Custom domain name '{sd}' is already in use. Please pick another name."),
        ));
    }
    let previous = existing
        .as_ref()
        .map(|r| r.body.clone())
        .or_else(|| restoring.as_ref().map(|d| d.account.body.clone()));
    add_read_only(
        &mut props,
        kind,
        subdomain.as_deref(),
        location,
        previous.as_ref(),
        &cx.iso,
    );
    // A failed account is created again; a healthy one is updated in place.
    let creates = existing.is_none()
        || existing.as_ref().and_then(Record::provisioning_state) == Some("Failed");
    let state = match (creates, existing.is_some()) {
        (true, false) => "Creating",
        (true, true) => "Updating",
        _ => "Succeeded",
    };
    props.insert("provisioningState".into(), Value::from(state));
    let mut view = json!({
        "id": id,
        "name": id.rsplit('/').next(),
        "type": TYPE,
        "etag": cx.etag(),
        "location": location,
        "kind": kind,
        "sku": body["sku"],
        "systemData": cx.system_data(previous.as_ref()),
        "properties": props,
    });
    if let Some(tags) = body.get("tags") {
        view["tags"] = tags.clone();
    }
    if let Some(sent) = body.get("identity") {
        let prev = previous.as_ref().and_then(|p| p.get("identity"));
        view["identity"] = identity(cx, &id, sent, prev)?;
    }
    if let Some(d) = restoring {
        cx.store.deleted.remove(&deleted_key);
        for child in d.children {
            cx.store.put(child);
        }
    }
    cx.store.put(Record::new(Kind::Account, id.clone(), view));
    let stored = cx.store.get(&id).expect("just stored").body.clone();
    if !creates {
        return Ok(Reply::ok(stored));
    }
    let op = cx.start_op(
        OpKind::AccountCreate,
        &id,
        sub,
        Namespace::CognitiveServices,
    );
    let mut reply = Reply::put(existing.is_some(), stored);
    reply.headers = cx.op_headers(&op, true, false);
    Ok(reply)
}

pub fn get(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    match cx.store.get(&addr.id()) {
        Some(r) => Ok(Reply::ok(r.body.clone())),
        None => Err(cx.missing(addr)),
    }
}

pub fn delete(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let (sub, ..) = parts(addr);
    let Some(record) = cx.store.get(&addr.id()) else {
        return match cx.missing(addr) {
            e if e.code == "ResourceGroupNotFound" => Err(e),
            _ => Ok(Reply::empty(204)),
        };
    };
    let id = record.id.clone();
    if let Some(op) = ops::in_progress(cx.store, &id) {
        if op.kind == OpKind::AccountDelete {
            let op = op.clone();
            let mut reply = Reply::empty(202);
            reply.headers = cx.op_headers(&op, true, true);
            return Ok(reply);
        }
        return Err(conflict_in_progress(&id));
    }
    let busy_child = cx
        .store
        .below(&id)
        .map(|r| r.id.clone())
        .find(|c| ops::in_progress(cx.store, c).is_some());
    if busy_child.is_some() {
        return Err(super::deployments::another_operation(&id));
    }
    let op = cx.start_op(
        OpKind::AccountDelete,
        &id,
        sub,
        Namespace::CognitiveServices,
    );
    if let Some(r) = cx.store.get_mut(&id) {
        r.set_provisioning_state("Deleting");
    }
    let mut reply = Reply::empty(202);
    reply.headers = cx.op_headers(&op, true, true);
    Ok(reply)
}

pub fn list_deleted(cx: &mut Cx, sub: &str) -> Result<Reply, ArmError> {
    let prefix = format!("{}/", sub.to_ascii_lowercase());
    let value: Vec<Value> = cx
        .store
        .deleted
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, d)| d.view())
        .collect();
    Ok(Reply::ok(json!({ "value": value })))
}

fn find_deleted<'a>(cx: &'a Cx, addr: &Address) -> Result<&'a DeletedAccount, ArmError> {
    let Address::DeletedAccount {
        sub,
        location,
        rg,
        name,
    } = addr
    else {
        unreachable!("a deleted-account address")
    };
    cx.store
        .deleted
        .get(&DeletedAccount::key(sub, name))
        .filter(|d| region_key(&d.location) == region_key(location) && d.resource_group.eq_ignore_ascii_case(rg))
        .ok_or_else(|| {
            ArmError::new(
                404,
                "ResourceNotFound",
                format!("The soft-deleted account '{name}' in location '{location}' and resource group '{rg}' was not found."),
            )
        })
}

pub fn get_deleted(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    Ok(Reply::ok(find_deleted(cx, addr)?.view()))
}

pub fn purge(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let d = find_deleted(cx, addr)?;
    let (id, sub) = (d.id(), d.sub.clone());
    let op = match ops::in_progress(cx.store, &id) {
        Some(op) => op.clone(),
        None => cx.start_op(OpKind::Purge, &id, &sub, Namespace::CognitiveServices),
    };
    let mut reply = Reply::empty(202);
    reply.headers = cx.op_headers(&op, false, true);
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("OpenAI", Some("acc1"), "westus"),
            "https://acc1.openai.azure.com/"
        );
        assert_eq!(
            endpoint("AIServices", Some("f1"), "eastus2"),
            "https://f1.cognitiveservices.azure.com/"
        );
        let map = super::endpoints(
            "AIServices",
            Some("f1"),
            "https://f1.cognitiveservices.azure.com/",
        );
        assert_eq!(
            map["OpenAI Language Model Instance API"],
            "https://f1.openai.azure.com/"
        );
        assert_eq!(
            map["Azure OpenAI Legacy API - Latest moniker"],
            "https://f1.openai.azure.com/"
        );
        assert_eq!(map["AI Foundry API"], "https://f1.services.ai.azure.com/");
        let map = super::endpoints("OpenAI", Some("a1"), "https://a1.openai.azure.com/");
        assert_eq!(
            map["OpenAI Language Model Instance API"],
            "https://a1.openai.azure.com/"
        );
        assert!(map.get("AI Foundry API").is_none());
        assert_eq!(
            endpoint("Emotion", None, "West US"),
            "https://westus.api.cognitive.microsoft.com/"
        );
    }
}
