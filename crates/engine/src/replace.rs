//! Replacements and soft-deleted accounts, as the plan sees them.
//!
//! A resource whose change ARM refuses in place (see [`aoai_lb_core::replace`]) is
//! planned as a replacement: apply deletes it, purges it when it is an account (a
//! soft-deleted account keeps its name and subdomain for 48 hours), and creates it
//! again; what ARM deletes with it (an account's deployments, the role assignment on
//! it) is replaced with it. An account the plan names that sits soft-deleted is
//! planned from the subscription's `deletedAccounts`: restored when it is this
//! deployment's (or the plan says `restore: true`), replaced when it cannot be
//! restored as planned, and otherwise an error that names both ways out.

use std::collections::BTreeMap;

use serde_json::Value;

use super::diff::{FieldChange, diff};
use super::plan::{Action, Change, PlanError, planned};
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{DesiredResource, Kind};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::marks::{self, Mark};
use aoai_lb_core::model::Model;

/// The subscription's soft-deleted accounts (`DeletedAccounts_List`, which returns
/// each as an `Account`, tags included; api-version 2024-10-01).
pub async fn deleted_accounts(client: &ArmClient, sub: &str) -> Result<Vec<Value>, ArmError> {
    let listing =
        format!("/subscriptions/{sub}/providers/Microsoft.CognitiveServices/deletedAccounts");
    let found = client
        .get(&listing, api_version::COGNITIVE_SERVICES)
        .await?;
    Ok(found
        .and_then(|v| v.get("value").and_then(Value::as_array).cloned())
        .unwrap_or_default())
}

/// The soft-deleted accounts, read only when an account of the plan was not found
/// (`live` by the index of each desired resource).
pub async fn deleted_if_missing(
    client: &ArmClient,
    model: &Model,
    desired: &[DesiredResource],
    live: &BTreeMap<usize, Option<Value>>,
) -> Result<Vec<Value>, ArmError> {
    let missing = desired
        .iter()
        .enumerate()
        .any(|(i, r)| r.kind == Kind::Account && matches!(live.get(&i), Some(None)));
    if missing {
        deleted_accounts(client, &model.subscription_id).await
    } else {
        Ok(Vec::new())
    }
}

/// The change of a plan's account that is not live but soft-deleted (None when it is
/// live or not soft-deleted): see [`from_soft_deleted`].
pub fn for_soft_deleted(
    r: &DesiredResource,
    is_live: bool,
    deleted: &[Value],
    model: &Model,
) -> Option<Result<Change, String>> {
    if r.kind != Kind::Account || is_live {
        return None;
    }
    let d = find_deleted(deleted, &r.id)?;
    let asked = model
        .accounts
        .iter()
        .any(|a| a.restore && r.address == format!("{}.{}", Kind::Account.as_str(), a.name));
    Some(from_soft_deleted(
        planned(r),
        r,
        d,
        &model.deployment,
        asked,
    ))
}

/// The last word on replacements once every change is known: the accounts that cannot
/// be planned, a group that would have to move, and what is replaced with its parent.
pub fn settle(changes: &mut [Change], soft_deleted: Vec<String>) -> Result<(), PlanError> {
    if !soft_deleted.is_empty() {
        return Err(PlanError::SoftDeleted(soft_deleted));
    }
    let immovable: Vec<String> = changes
        .iter()
        .filter(|c| c.kind == Kind::ResourceGroup && c.action == Action::Replace)
        .map(|c| c.address.clone())
        .collect();
    if !immovable.is_empty() {
        return Err(PlanError::Immovable(immovable));
    }
    cascade(changes);
    renew_logger_credentials(changes);
    Ok(())
}

/// A new component (created, or replaced) has a new connection string: the logger that
/// sends to it is written again, even when nothing the diff can see changed (ARM never
/// returns the credentials it holds).
fn renew_logger_credentials(changes: &mut [Change]) {
    let new: Vec<(String, String)> = changes
        .iter()
        .filter(|c| {
            c.kind == Kind::Component && matches!(c.action, Action::Create | Action::Replace)
        })
        .map(|c| (c.id.to_lowercase(), c.address.clone()))
        .collect();
    for c in changes
        .iter_mut()
        .filter(|c| c.kind == Kind::Logger && c.action == Action::NoOp)
    {
        let component = c
            .request
            .body
            .as_ref()
            .and_then(|b| b.pointer("/properties/resourceId"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        if let Some((_, address)) = new.iter().find(|(id, _)| *id == component) {
            c.action = Action::Update;
            c.fields.push(FieldChange {
                path: "properties.credentials.connectionString".into(),
                old: Value::String("(the previous component's)".into()),
                new: Value::String(aoai_lb_core::desired::UNKNOWN.into()),
                forces_replacement: false,
            });
            c.note = Some(format!(
                "takes the connection string of {address}, which is new"
            ));
        }
    }
}

/// The segment after `key` in an ARM id (keys compared ignoring case).
fn segment<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = id.split('/');
    parts.find(|p| p.eq_ignore_ascii_case(key))?;
    parts.next()
}

/// The soft-deleted account that has the resource group and name of `account_id`.
pub fn find_deleted<'a>(deleted: &'a [Value], account_id: &str) -> Option<&'a Value> {
    let (rg, name) = (
        segment(account_id, "resourceGroups")?,
        segment(account_id, "accounts")?,
    );
    deleted.iter().find(|d| {
        let id = d.get("id").and_then(Value::as_str).unwrap_or_default();
        segment(id, "resourceGroups").is_some_and(|r| r.eq_ignore_ascii_case(rg))
            && segment(id, "deletedAccounts").is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// The id of the soft-deleted account an account leaves when deleted in `location`.
fn purge_id(account_id: &str, location: &str) -> Option<String> {
    Some(ids::deleted_account(
        segment(account_id, "subscriptions")?,
        &location.to_lowercase().replace(' ', ""),
        segment(account_id, "resourceGroups")?,
        segment(account_id, "accounts")?,
    ))
}

/// The fields of a change that force its replacement, for its note.
fn forcing(c: &Change) -> Vec<&str> {
    c.fields
        .iter()
        .filter(|f| f.forces_replacement)
        .map(|f| f.path.as_str())
        .collect()
}

/// Turns a change with a field ARM cannot change in place into a replacement. `live`
/// is the resource as ARM returned it (for an account: where its soft-deleted copy
/// will be, to purge it).
pub fn mark_replacement(c: &mut Change, live: &Value) {
    let fields = forcing(c);
    if fields.is_empty() {
        return;
    }
    let fields = fields.join(", ");
    c.action = Action::Replace;
    c.note = Some(if c.kind == Kind::Account {
        let location = live
            .get("location")
            .and_then(Value::as_str)
            .unwrap_or_default();
        c.purge = purge_id(&c.id, location);
        format!(
            "must be replaced: ARM cannot change {fields} in place; apply deletes the account and PURGES it (its deployments and keys are gone for good, the name and subdomain are freed), then creates it again"
        )
    } else {
        format!("must be replaced: ARM cannot change {fields} in place")
    });
}

/// What ARM deletes with a replaced resource (its children, the role assignments on
/// it) is replaced with it, after it.
pub fn cascade(changes: &mut [Change]) {
    let replaced: Vec<(String, String)> = changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .map(|c| (format!("{}/", c.id.to_lowercase()), c.address.clone()))
        .collect();
    for c in changes
        .iter_mut()
        .filter(|c| matches!(c.action, Action::NoOp | Action::Update))
    {
        let id = c.id.to_lowercase();
        if let Some((_, parent)) = replaced.iter().find(|(p, _)| id.starts_with(p)) {
            c.action = Action::Replace;
            c.note = Some(format!(
                "must be replaced: ARM deletes it with {parent}, which is replaced"
            ));
            if !c.depends_on.contains(parent) {
                c.depends_on.push(parent.clone());
            }
        }
    }
}

/// A plan's account that sits soft-deleted, and why it cannot be planned.
pub fn blocked_line(r: &DesiredResource, deleted: &Value, mark: &Mark) -> String {
    let at = |p: &str| deleted.pointer(p).and_then(Value::as_str).unwrap_or("?");
    let name = segment(&r.id, "accounts").unwrap_or_default();
    let rg = segment(&r.id, "resourceGroups").unwrap_or_default();
    format!(
        "{} ({name} in {rg}, {}): soft-deleted on {} (Azure keeps it until {}), {}; either set `restore: true` on it in the plan to recover it, or purge it: az cognitiveservices account purge --name {name} --resource-group {rg} --location {}",
        r.address,
        at("/location"),
        at("/properties/deletionDate"),
        at("/properties/scheduledPurgeDate"),
        match mark {
            Mark::Other(_) => format!("and belongs to {}", mark.describe()),
            _ => "and carries no aoai-lb mark".into(),
        },
        at("/location"),
    )
}

/// The change for a plan's account found soft-deleted: a restore (PUT with
/// `restore: true`, which also sets what the plan changes), or a replacement when a
/// restore could not give what the plan wants (another region, subdomain...). `Err`
/// with the line for the plan's error when it is not this deployment's to restore.
pub fn from_soft_deleted(
    mut c: Change,
    r: &DesiredResource,
    deleted: &Value,
    deployment: &str,
    restore_asked: bool,
) -> Result<Change, String> {
    let mark = marks::mark_of(deleted, Some(deployment));
    let ours = matches!(mark, Mark::Ours | Mark::Legacy);
    if !(ours || restore_asked && mark == Mark::None) {
        return Err(blocked_line(r, deleted, &mark));
    }
    let since = deleted
        .pointer("/properties/deletionDate")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    c.owned = true;
    c.fields = diff(r.kind, &r.body, deleted);
    mark_replacement(&mut c, deleted);
    if c.action == Action::Replace {
        c.purge = deleted
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
        c.note = Some(format!(
            "soft-deleted since {since}; a restore would not give what the plan wants ({}), so apply PURGES it and creates the account again",
            forcing(&c).join(", ")
        ));
        return Ok(c);
    }
    c.action = Action::Restore;
    if let Some(props) = c
        .request
        .body
        .as_mut()
        .and_then(|b| b.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        props.insert("restore".into(), Value::Bool(true));
    }
    c.note = Some(format!(
        "soft-deleted since {since}: apply restores it (with its deployments) instead of creating it"
    ));
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACCOUNT: &str =
        "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.CognitiveServices/accounts/acc1";

    #[test]
    fn a_deleted_account_is_found_by_group_and_name() {
        let deleted = vec![
            json!({ "id": "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/other/deletedAccounts/acc1" }),
            json!({ "id": "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/rg/deletedAccounts/ACC1", "n": 2 }),
        ];
        assert_eq!(find_deleted(&deleted, ACCOUNT).unwrap()["n"], 2);
        assert!(find_deleted(&deleted[..1], ACCOUNT).is_none());
    }

    fn account(body: Value) -> DesiredResource {
        DesiredResource {
            address: "account.acc1".into(),
            kind: Kind::Account,
            id: ACCOUNT.into(),
            api_version: "2024-10-01",
            method: aoai_lb_core::desired::Method::Put,
            body,
            depends_on: vec![],
            owned: true,
        }
    }

    fn deleted(location: &str, tags: Value) -> Value {
        json!({
            "id": format!("/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/RG/deletedAccounts/acc1"),
            "location": location, "kind": "OpenAI", "tags": tags,
            "properties": { "customSubDomainName": "acc1", "deletionDate": "2026-12-01T10:00:00Z", "scheduledPurgeDate": "2026-12-03T10:00:00Z" },
        })
    }

    fn ours() -> Value {
        json!({ "managed-by": "aoai-lb", "aoai-lb-deployment": "d1" })
    }

    #[test]
    fn an_own_soft_deleted_account_is_restored_and_one_elsewhere_replaced() {
        let r = account(
            json!({ "location": "westus", "kind": "OpenAI", "properties": { "customSubDomainName": "acc1" } }),
        );
        let c =
            from_soft_deleted(planned(&r), &r, &deleted("westus", ours()), "d1", false).unwrap();
        assert_eq!(c.action, Action::Restore);
        assert_eq!(
            c.request.body.as_ref().unwrap()["properties"]["restore"],
            true
        );
        assert!(c.owned && c.purge.is_none());

        let c =
            from_soft_deleted(planned(&r), &r, &deleted("eastus", ours()), "d1", false).unwrap();
        assert_eq!(c.action, Action::Replace);
        assert!(c.purge.as_deref().unwrap().contains("/locations/eastus/"));
        assert!(
            c.request.body.as_ref().unwrap()["properties"]
                .get("restore")
                .is_none()
        );
    }

    #[test]
    fn a_stranger_is_restored_only_when_the_plan_asks_and_another_deployment_never() {
        let r = account(json!({ "location": "westus", "kind": "OpenAI" }));
        let line = from_soft_deleted(planned(&r), &r, &deleted("westus", json!({})), "d1", false)
            .unwrap_err();
        assert!(
            line.contains("2026-12-01T10:00:00Z") && line.contains("restore: true"),
            "{line}"
        );
        assert!(line.contains("az cognitiveservices account purge --name acc1 --resource-group RG --location westus"), "{line}");
        let asked = from_soft_deleted(planned(&r), &r, &deleted("westus", json!({})), "d1", true);
        assert_eq!(asked.unwrap().action, Action::Restore);
        let other = json!({ "managed-by": "aoai-lb", "aoai-lb-deployment": "d2" });
        let line =
            from_soft_deleted(planned(&r), &r, &deleted("westus", other), "d1", true).unwrap_err();
        assert!(line.contains("`d2`"), "{line}");
    }

    #[test]
    fn what_arm_deletes_with_a_replaced_account_is_replaced_after_it() {
        let r = account(json!({ "location": "westus3" }));
        let mut acc = planned(&r);
        acc.fields = diff(Kind::Account, &r.body, &json!({ "location": "westus" }));
        mark_replacement(&mut acc, &json!({ "location": "westus" }));
        assert_eq!(acc.action, Action::Replace);
        let mut child = planned(&account(json!({})));
        child.address = "deployment.acc1/d".into();
        child.id = format!("{ACCOUNT}/deployments/d");
        let mut other = child.clone();
        other.address = "deployment.acc10/d".into();
        other.id = format!("{ACCOUNT}0/deployments/d");
        let mut changes = vec![acc, child, other];
        settle(&mut changes, vec![]).unwrap();
        assert_eq!(changes[1].action, Action::Replace);
        assert!(changes[1].depends_on.contains(&"account.acc1".to_string()));
        assert_eq!(changes[2].action, Action::NoOp, "acc10 is not under acc1");
    }

    #[test]
    fn the_purge_id_is_in_the_old_region() {
        assert_eq!(
            purge_id(ACCOUNT, "West US").unwrap(),
            "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/RG/deletedAccounts/acc1"
        );
    }
}
