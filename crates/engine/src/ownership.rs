//! Ownership that holds across plans, people and lost state: aoai-lb acts on a resource
//! only while it carries this deployment's mark (see [`aoai_lb_core::marks`]).
//!
//! - [`before_write`]: re-reads a resource right before apply updates or deletes it, and
//!   says why to leave it alone when it is no longer this deployment's.
//! - [`orphans`]: finds, from the marks alone, what this deployment owns that the plan no
//!   longer lists (the state file is a cache of the marks, not their only record).
//! - [`destroy_plan`]: everything the deployment owns, state file or not.

use std::collections::BTreeSet;

use serde_json::Value;

use super::plan::{self, Change, Plan, PlanError};
use super::reads::{self, Listings};
use super::state::State;
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{self, Kind};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::marks::{self, DEPLOYMENT_TAG, Mark};
use aoai_lb_core::model::Model;

/// Every item of an ARM collection, following `nextLink` (see
/// [`ArmClient::list_items`]). A missing parent is an empty collection.
pub async fn list(
    client: &ArmClient,
    path: &str,
    version: &str,
    filter: Option<&str>,
) -> Result<Vec<Value>, ArmError> {
    Ok(client
        .list_items(path, version, filter)
        .await?
        .unwrap_or_default())
}

/// Why to leave a resource alone, given its mark; None: act on it. A resource this
/// deployment recorded as its own must still carry an aoai-lb mark that is not another
/// deployment's; one it never owned (apply updates it, as before) only must not be
/// another deployment's.
pub fn leave_alone_reason(mark: &Mark, recorded_owned: bool) -> Option<String> {
    match mark {
        Mark::Ours | Mark::Legacy => None,
        Mark::Other(d) => Some(format!("now belongs to aoai-lb deployment `{d}`")),
        Mark::None if recorded_owned => Some("carries no aoai-lb mark".into()),
        Mark::None => None,
    }
}

/// The id of what carries the mark of `change`: the resource itself, or for a policy
/// or a subscription (which have neither tags nor description) the API they belong to.
async fn marked_id(client: &ArmClient, change: &Change) -> Result<Option<String>, ArmError> {
    match change.kind {
        Kind::ApiPolicy => Ok(change
            .id
            .rsplit_once("/policies/")
            .map(|(api, _)| api.to_string())),
        // A diagnostic has no description either: it is the API's.
        Kind::Diagnostic => Ok(change
            .id
            .rsplit_once("/diagnostics/")
            .map(|(api, _)| api.to_string())),
        Kind::Subscription => {
            let Some(live) = client.get(&change.id, &change.api_version).await? else {
                return Ok(None);
            };
            let scope = live
                .pointer("/properties/scope")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let api = scope.rsplit_once("/apis/").map(|(_, a)| a.to_string());
            let service = change.id.rsplit_once("/subscriptions/").map(|(s, _)| s);
            // Scoped to no API (all APIs, a product): not one aoai-lb made; its own
            // (absent) mark is what counts.
            Ok(Some(
                api.zip(service)
                    .map(|(a, s)| ids::apim_api(s, &a))
                    .unwrap_or_else(|| change.id.clone()),
            ))
        }
        _ => Ok(Some(change.id.clone())),
    }
}

/// Re-reads what `change` is about to update or delete: `Some(reason)` when it no longer
/// carries this deployment's mark and must be left alone. Gone is not a reason (a delete
/// of nothing succeeds; an update re-creates it).
pub async fn before_write(
    client: &ArmClient,
    change: &Change,
    deployment: Option<&str>,
    recorded_owned: bool,
) -> Result<Option<String>, ArmError> {
    if change.kind == Kind::ApimIdentity {
        return Ok(None);
    }
    let Some(id) = marked_id(client, change).await? else {
        return Ok(None);
    };
    let version = if id == change.id {
        change.api_version.as_str()
    } else {
        api_version::API_MANAGEMENT
    };
    let Some(live) = client.get(&id, version).await? else {
        return Ok(None);
    };
    let mark = marks::mark_of(&live, deployment);
    Ok(leave_alone_reason(&mark, recorded_owned).map(|why| {
        if id == change.id {
            why
        } else {
            format!("its API {why}")
        }
    }))
}

fn delete_change(address: String, kind: Kind, id: String, version: &str) -> Change {
    let entry = super::state::Entry {
        address,
        kind,
        id,
        api_version: version.to_string(),
        owned: true,
        pending: false,
        spec_sha256: None,
        location: None,
    };
    let mut c = Change::delete(&entry);
    c.note = Some("found by its mark".into());
    c
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

/// What this deployment owns (by its marks) that is neither in `keep` (the plan's ids)
/// nor in `known` (deletes already planned): components and accounts tagged with the
/// deployment, the deployments and role assignments in its accounts, its backends, pool
/// and APIs, and the subscriptions of those APIs. Children come first.
pub async fn orphans(
    client: &ArmClient,
    listings: &Listings,
    model: &Model,
    keep: &BTreeSet<String>,
    known: &BTreeSet<String>,
) -> Result<Vec<Change>, ArmError> {
    let me = Some(model.deployment.as_str());
    let skip = |id: &str| {
        let k = id.to_lowercase();
        keep.contains(&k) || known.contains(&k)
    };
    let mut out = Vec::new();
    let sub = &model.subscription_id;
    let filter = format!(
        "tagName eq '{DEPLOYMENT_TAG}' and tagValue eq '{}'",
        model.deployment.replace('\'', "''")
    );
    let tagged = list(
        client,
        &format!("/subscriptions/{sub}/resources"),
        api_version::RESOURCES,
        Some(&filter),
    )
    .await?;
    let of_type = |t: &str| -> BTreeSet<String> {
        tagged
            .iter()
            .filter(|r| str_at(r, "/type").eq_ignore_ascii_case(t))
            .map(|r| str_at(r, "/id").to_string())
            .collect()
    };
    // An Application Insights component aoai-lb created and the plan no longer has.
    for component in of_type("Microsoft.Insights/components") {
        if !skip(&component) {
            out.push(delete_change(
                format!("component.{}", last_segment(&component)),
                Kind::Component,
                component.clone(),
                api_version::INSIGHTS,
            ));
        }
    }
    let tagged = of_type("Microsoft.CognitiveServices/accounts");
    let mut accounts = tagged.clone();
    accounts.extend(
        model
            .accounts
            .iter()
            .map(|a| ids::account(sub, &model.resource_group.name, &a.name)),
    );
    for account in &accounts {
        let name = last_segment(account).to_string();
        if tagged.contains(account) && !skip(account) {
            out.push(delete_change(
                format!("account.{name}"),
                Kind::Account,
                account.clone(),
                api_version::COGNITIVE_SERVICES,
            ));
        }
        let v = api_version::COGNITIVE_SERVICES;
        let deployments = format!("{account}/deployments");
        for d in listings.list(client, &deployments, v, None).await?.iter() {
            let id = str_at(d, "/id").to_string();
            if marks::mark_of(d, me) == Mark::Ours && !skip(&id) {
                let address = format!("deployment.{name}/{}", last_segment(&id));
                out.push(delete_change(address, Kind::Deployment, id, v));
            }
        }
        // The group's listing holds the assignments on its accounts (see `reads`).
        let path = reads::role_assignments_at(&reads::group_scope(account));
        let v = api_version::AUTHORIZATION;
        for ra in listings.list(client, &path, v, None).await?.iter() {
            let id = str_at(ra, "/id").to_string();
            let at_account = str_at(ra, "/properties/scope").eq_ignore_ascii_case(account);
            if at_account && marks::mark_of(ra, me) == Mark::Ours && !skip(&id) {
                out.push(delete_change(
                    format!("role_assignment.{name}"),
                    Kind::RoleAssignment,
                    id,
                    v,
                ));
            }
        }
    }
    out.extend(apim_orphans(client, listings, model, &skip).await?);
    out.sort_by_key(|c| std::cmp::Reverse(c.kind));
    Ok(out)
}

/// Backends, pool, APIs and their subscriptions of this deployment the plan dropped.
async fn apim_orphans(
    client: &ArmClient,
    listings: &Listings,
    model: &Model,
    skip: &impl Fn(&str) -> bool,
) -> Result<Vec<Change>, ArmError> {
    let me = Some(model.deployment.as_str());
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let v = api_version::API_MANAGEMENT;
    let mut out = Vec::new();
    for b in listings
        .list(client, &format!("{service}/backends"), v, None)
        .await?
        .iter()
    {
        let id = str_at(b, "/id").to_string();
        if marks::mark_of(b, me) == Mark::Ours && !skip(&id) {
            let kind = if str_at(b, "/properties/type").eq_ignore_ascii_case("Pool") {
                Kind::Pool
            } else {
                Kind::Backend
            };
            let address = format!("{}.{}", kind.as_str(), last_segment(&id));
            out.push(delete_change(address, kind, id, v));
        }
    }
    let mut dropped_apis = Vec::new();
    for a in listings
        .list(client, &format!("{service}/apis"), v, None)
        .await?
        .iter()
    {
        let id = str_at(a, "/id").to_string();
        if marks::mark_of(a, me) == Mark::Ours && !skip(&id) {
            let name = last_segment(&id).to_string();
            out.push(delete_change(format!("api.{name}"), Kind::Api, id, v));
            dropped_apis.push(name.to_lowercase());
        }
    }
    if !dropped_apis.is_empty() {
        for s in listings
            .list(client, &format!("{service}/subscriptions"), v, None)
            .await?
            .iter()
        {
            let id = str_at(s, "/id").to_string();
            let scope = str_at(s, "/properties/scope").to_lowercase();
            let api = scope.rsplit_once("/apis/").map(|(_, a)| a.to_string());
            if api.is_some_and(|a| dropped_apis.contains(&a)) && !skip(&id) {
                let address = format!("subscription.{}", last_segment(&id));
                out.push(delete_change(address, Kind::Subscription, id, v));
            }
        }
    }
    Ok(out)
}

/// The plan of `destroy` with a plan file: what the state lists, what the plan lists and
/// carries this deployment's mark (with the API's policy and subscription), and what the
/// marks say the deployment owns besides. Each is re-checked before it is deleted.
pub async fn destroy_plan(
    client: &ArmClient,
    model: &Model,
    state: &State,
) -> Result<Plan, PlanError> {
    let mut p = plan::destroy_plan(state);
    // The identity restore (if any) stays last: it waits for every delete.
    let restore: Vec<Change> = p
        .changes
        .iter()
        .filter(|c| c.kind == Kind::ApimIdentity)
        .cloned()
        .collect();
    p.changes.retain(|c| c.kind != Kind::ApimIdentity);
    let (facts, _, _) = plan::discover(client, model).await?;
    let desired = desired::build(model, &facts).map_err(|e| PlanError::Missing(e.to_string()))?;
    let mut known: BTreeSet<String> = p.changes.iter().map(|c| c.id.to_lowercase()).collect();
    let me = Some(model.deployment.as_str());
    let mut api_owned = false;
    let mut found = Vec::new();
    for r in &desired {
        if !r.owned || r.kind == Kind::ApimIdentity || r.id.contains(desired::UNKNOWN) {
            continue;
        }
        let Some(live) = client.get(&r.id, r.api_version).await? else {
            continue;
        };
        let owned = match r.kind {
            Kind::ApiPolicy | Kind::Subscription | Kind::Diagnostic => api_owned,
            _ => matches!(marks::mark_of(&live, me), Mark::Ours | Mark::Legacy),
        };
        if r.kind == Kind::Api {
            api_owned = owned || known.contains(&r.id.to_lowercase());
        }
        if owned && known.insert(r.id.to_lowercase()) {
            found.push(delete_change(
                r.address.clone(),
                r.kind,
                r.id.clone(),
                r.api_version,
            ));
        }
    }
    let keep = BTreeSet::new();
    let listings = Listings::default();
    found.extend(orphans(client, &listings, model, &keep, &known).await?);
    p.changes.extend(found);
    p.changes.sort_by_key(|c| std::cmp::Reverse(c.kind));
    let keys: Vec<String> = p.changes.iter().map(Change::key).collect();
    for mut r in restore {
        r.depends_on = keys.clone();
        p.changes.push(r);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_deployment_or_a_lost_mark_is_left_alone() {
        assert_eq!(leave_alone_reason(&Mark::Ours, true), None);
        assert_eq!(leave_alone_reason(&Mark::Legacy, true), None);
        assert_eq!(leave_alone_reason(&Mark::None, false), None);
        let other = leave_alone_reason(&Mark::Other("prod".into()), true).unwrap();
        assert!(other.contains("`prod`"), "{other}");
        assert_eq!(
            leave_alone_reason(&Mark::None, true).as_deref(),
            Some("carries no aoai-lb mark")
        );
    }
}
