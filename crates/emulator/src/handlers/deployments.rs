//! Model deployments: asynchronous PUT and DELETE, one operation per account at a time
//! (`409 RequestConflict`, as ARM answers it), capacity checked against the
//! per-subscription, per-region, per-usage-name quota (`400 InsufficientQuota`).

use serde_json::{Value, json};

use super::{Cx, immutable, object, str_at};
use crate::address::{Address, Namespace, region_key};
use crate::catalog;
use crate::ops::{self, OpKind};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record, Store};

const TYPE: &str = "Microsoft.CognitiveServices/accounts/deployments";

/// The error of a second operation on one account: `409 RequestConflict`, "Another
/// operation is being performed on the parent resource '…'" as real deployments get it
/// (Azure-Samples/tutor#114: "HTTP 409 `RequestConflict`", "Another operation is being
/// performed on the parent resource .../Microsoft.CognitiveServices/accounts/..."; the
/// closing "Please try again later." as the product's tests quote ARM).
pub fn another_operation(account_id: &str) -> ArmError {
    ArmError::conflict(
        "RequestConflict",
        format!(
            "Another operation is being performed on the parent resource '{account_id}'. Please try again later."
        ),
    )
}

/// The version Azure picks when a deployment names none: the one Models_List marks
/// `isDefaultVersion` for the model in the account's region (catalog.rs); for a model or
/// region the snapshot does not cover, the defaults of the Azure OpenAI docs of their day.
fn default_version(location: &str, model: &str) -> &'static str {
    if let Some(version) = catalog::default_version(location, model) {
        return version;
    }
    match model.to_ascii_lowercase().as_str() {
        "gpt-4o" => "2024-08-06",
        "gpt-4o-mini" => "2024-07-18",
        "gpt-4" => "turbo-2024-04-09",
        "gpt-35-turbo" => "0125",
        "text-embedding-ada-002" => "2",
        "text-embedding-3-small" | "text-embedding-3-large" => "1",
        _ => "1",
    }
}

/// The account of a deployment address, which must exist and be Succeeded; and whether
/// another deployment operation runs on it.
fn ready_account(cx: &Cx, addr: &Address) -> Result<Record, ArmError> {
    let parent = addr.parent().expect("a deployment has an account");
    let Some(account) = cx.store.get(&parent.id()).cloned() else {
        return Err(cx.missing(addr));
    };
    match account.provisioning_state() {
        Some("Succeeded") => {}
        Some("Creating" | "Updating" | "Deleting") => return Err(another_operation(&account.id)),
        state => {
            return Err(ArmError::conflict(
                "AccountProvisioningStateInvalid",
                format!(
                    "Call to Microsoft.CognitiveServices/accounts failed. Account {} in state {}.",
                    account.name(),
                    state.unwrap_or("unknown")
                ),
            ));
        }
    }
    let busy = cx
        .store
        .below(&account.id)
        .any(|r| r.kind == Kind::Deployment && ops::in_progress(cx.store, &r.id).is_some());
    if busy {
        return Err(another_operation(&account.id));
    }
    Ok(account)
}

/// Whether a deployment record lives in subscription `sub` and region `region`.
fn in_sub_region(store: &Store, r: &Record, sub: &str, region: &str) -> bool {
    let account_id =
        r.id.rsplit_once("/deployments/")
            .map(|(a, _)| a)
            .unwrap_or_default();
    r.id.split('/')
        .nth(2)
        .is_some_and(|s| s.eq_ignore_ascii_case(sub))
        && store
            .get(account_id)
            .is_some_and(|a| region_key(a.body["location"].as_str().unwrap_or_default()) == region)
}

/// The (sku, model) pairs of the deployments in a subscription and region.
pub(super) fn in_region(store: &Store, sub: &str, region: &str) -> Vec<(String, String)> {
    store
        .resources
        .values()
        .filter(|r| r.kind == Kind::Deployment && in_sub_region(store, r, sub, region))
        .filter_map(|r| {
            Some((
                str_at(&r.body, "/sku/name")?.to_string(),
                str_at(&r.body, "/properties/model/name")?.to_string(),
            ))
        })
        .collect()
}

/// The capacity of the other deployments (all but `id_key`) counted against usage name
/// `usage` ([`catalog::usage_name`]) in the subscription and region: Azure OpenAI's quota
/// is per subscription, region and usage name ("Azure OpenAI quotas and limits",
/// learn.microsoft.com; usage names like `OpenAI.Standard.gpt-4o`, Usages_List), and a
/// provisioned sku's quota is one pool for every model ("What is provisioned throughput?",
/// learn.microsoft.com: "model-independent quota").
pub(super) fn capacity_used(
    store: &Store,
    id_key: &str,
    sub: &str,
    usage: &str,
    region: &str,
) -> u64 {
    store
        .resources
        .iter()
        .filter(|(k, r)| r.kind == Kind::Deployment && k.as_str() != id_key)
        .filter(|(_, r)| {
            let sku = str_at(&r.body, "/sku/name").unwrap_or_default();
            let model = str_at(&r.body, "/properties/model/name").unwrap_or_default();
            catalog::usage_name(sku, model).eq_ignore_ascii_case(usage)
        })
        .filter(|(_, r)| in_sub_region(store, r, sub, region))
        .map(|(_, r)| r.body["sku"]["capacity"].as_u64().unwrap_or(0))
        .sum()
}

/// A deployment PUT's model, sku and place, for the catalog and quota checks.
struct Wanted<'a> {
    sub: &'a str,
    location: &'a str,
    format: &'a str,
    name: &'a str,
    version: &'a str,
    sku: &'a str,
    capacity: u64,
}

/// The region's catalog (catalog.rs): the combination must be offered and not retired, and
/// a version in the Deprecated stage (`Deprecating`) is only for a subscription that has
/// deployed it before: one of its deployments is of that version (the one being updated
/// included), or `catalog.deployedBefore` names it.
fn in_catalog(cx: &Cx, id: &str, w: &Wanted<'_>) -> Result<(), ArmError> {
    let today = cx.config.catalog_today();
    catalog::check(w.location, w.format, w.name, w.version, w.sku, &today)?;
    let same = |r: &Record| {
        str_at(&r.body, "/properties/model/name").is_some_and(|n| n.eq_ignore_ascii_case(w.name))
            && str_at(&r.body, "/properties/model/version") == Some(w.version)
    };
    let deployed_before = cx.config.catalog.deployed_before(w.name, w.version)
        || cx.store.get(id).is_some_and(same)
        || cx.store.resources.values().any(|r| {
            r.kind == Kind::Deployment
                && r.id
                    .split('/')
                    .nth(2)
                    .is_some_and(|s| s.eq_ignore_ascii_case(w.sub))
                && same(r)
        });
    catalog::check_new_customer(w.location, w.format, w.name, w.version, deployed_before)
}

/// Quota: capacity summed per subscription, region and usage name (sku and model).
fn within_quota(cx: &Cx, id: &str, w: &Wanted<'_>) -> Result<(), ArmError> {
    let region = region_key(w.location);
    let limit = cx.config.quota(w.sku);
    let usage = catalog::usage_name(w.sku, w.name);
    let used = capacity_used(cx.store, &id.to_ascii_lowercase(), w.sub, &usage, &region);
    if used + w.capacity <= limit {
        return Ok(());
    }
    // As ARM words it (400, code InsufficientQuota), e.g. "This operation require 100 new
    // capacity in quota Tokens Per Minute (thousands) - gpt-4o, which is bigger than the
    // current available capacity 50. The current quota usage is 100 and the quota limit
    // is 150 for quota Tokens Per Minute (thousands) - gpt-4o." (quoted in Azure-Samples
    // troubleshooting docs; newer messages add " - {sku}" to the quota's name).
    let label = catalog::usage_label(w.sku, w.name);
    let capacity = w.capacity;
    Err(ArmError::bad_request(
        "InsufficientQuota",
        format!(
            "This operation require {capacity} new capacity in quota {label}, which is bigger than the current available capacity {}. The current quota usage is {used} and the quota limit is {limit} for quota {label}.",
            limit.saturating_sub(used)
        ),
    ))
}

pub fn put(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    if let Some(existing) = cx.store.get(&addr.id()) {
        immutable::deployment_model(&existing.body, body)?;
    }
    let account = ready_account(cx, addr)?;
    let id = addr.id();
    let sub = account.id.split('/').nth(2).unwrap_or_default().to_string();
    let Some(model_name) = str_at(body, "/properties/model/name") else {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The deployment needs properties.model.name.",
        ));
    };
    let mut model = object(&body["properties"], "model");
    model
        .entry("format")
        .or_insert_with(|| Value::from("OpenAI"));
    let location = account.body["location"].as_str().unwrap_or_default();
    model
        .entry("version")
        .or_insert_with(|| Value::from(default_version(location, model_name)));
    let mut sku = object(body, "sku");
    sku.entry("name").or_insert_with(|| Value::from("Standard"));
    sku.entry("capacity").or_insert_with(|| Value::from(1));
    let sku_name = sku["name"].as_str().unwrap_or("Standard").to_string();
    let capacity = sku["capacity"].as_u64().unwrap_or(1);

    let wanted = Wanted {
        sub: &sub,
        location,
        format: model["format"].as_str().unwrap_or("OpenAI"),
        name: model_name,
        version: model["version"].as_str().unwrap_or_default(),
        sku: &sku_name,
        capacity,
    };
    in_catalog(cx, &id, &wanted)?;
    within_quota(cx, &id, &wanted)?;

    let existing = cx.store.get(&id).cloned();
    let mut props = object(body, "properties");
    props.insert("model".into(), Value::Object(model));
    props
        .entry("raiPolicyName")
        .or_insert_with(|| Value::from("Microsoft.DefaultV2"));
    props
        .entry("versionUpgradeOption")
        .or_insert_with(|| Value::from("OnceNewDefaultVersionAvailable"));
    props.insert("currentCapacity".into(), Value::from(capacity));
    props.insert(
        "capabilities".into(),
        json!({"chatCompletion": "true", "area": "US", "maxContextToken": "128000"}),
    );
    props.insert(
        "rateLimits".into(),
        json!([
            {"key": "request", "renewalPeriod": 10, "count": capacity},
            {"key": "token", "renewalPeriod": 60, "count": capacity * 1000}
        ]),
    );
    let state = if existing.is_some() {
        "Updating"
    } else {
        "Creating"
    };
    props.insert("provisioningState".into(), Value::from(state));
    let mut view = json!({
        "id": id,
        "name": id.rsplit('/').next(),
        "type": TYPE,
        "etag": cx.etag(),
        "sku": sku,
        "systemData": cx.system_data(existing.as_ref().map(|r| &r.body)),
        "properties": props,
    });
    if let Some(tags) = body.get("tags") {
        view["tags"] = tags.clone();
    }
    cx.store
        .put(Record::new(Kind::Deployment, id.clone(), view));
    let stored = cx.store.get(&id).expect("just stored").clone();
    let op = cx.start_op(
        OpKind::DeploymentPut,
        &stored.id,
        &sub,
        Namespace::CognitiveServices,
    );
    let mut reply = Reply::put(existing.is_some(), stored.body);
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
    let Some(record) = cx.store.get(&addr.id()).cloned() else {
        // Gone already: 204, unless the account (or its group) is missing too.
        let account = addr.parent().expect("a deployment has an account");
        return match cx.store.exists(&account.id()) {
            true => Ok(Reply::empty(204)),
            false => Err(cx.missing(&account)),
        };
    };
    ready_account(cx, addr)?;
    let sub = record.id.split('/').nth(2).unwrap_or_default().to_string();
    let op = cx.start_op(
        OpKind::DeploymentDelete,
        &record.id,
        &sub,
        Namespace::CognitiveServices,
    );
    if let Some(r) = cx.store.get_mut(&record.id) {
        r.set_provisioning_state("Deleting");
    }
    let mut reply = Reply::empty(202);
    reply.headers = cx.op_headers(&op, true, true);
    Ok(reply)
}
