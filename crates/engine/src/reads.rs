//! Reading what a plan compares against, with ARM's collection GETs where ARM has them
//! instead of one GET per resource (issue 14: a no-op plan of 10 accounts x 3
//! deployments sent 67 requests; ARM's read bucket is 250, refilled 25/s, per
//! subscription and principal):
//!
//! - accounts of a group: Accounts_ListByResourceGroup (cognitiveservices.json);
//! - deployments of an account: Deployments_List, only for an account that exists;
//! - APIM backends and pools, APIs and subscriptions: Backend_ListByService,
//!   Api_ListByService, Subscription_List (apimbackends/apimapis/apimsubscriptions.json);
//! - role assignments: RoleAssignments_ListForScope at the scope's resource group without
//!   a `$filter` (authorization-RoleAssignmentsCalls.json: `atScope()` would stop at the
//!   group; without it the list holds those at, above and below it, its accounts' too).
//!
//! What has no collection (a resource group, the API's policy in its own format, the
//! APIM service) is read with a GET, as before. An item listed mid-operation
//! (`Creating`, `Updating`...) is read again with [`ArmClient::get_settled`], which waits
//! for it, so nothing is planned against a busy parent. The list items are the bodies a
//! GET returns (the collections' `value` items are the same `Account`, `Deployment`,
//! `BackendContract`... definitions), so the diff sees what it saw before.
//!
//! [`Listings`] remembers each collection read, so the search for orphans (by marks)
//! reads no collection twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::plan::PlanError;
use aoai_lb_arm::lro::is_terminal;
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{self, DesiredResource, Kind};

type Listed = Result<Arc<Vec<Value>>, ArmError>;

/// The collections read so far (by lower-case path, api-version and filter), each read
/// once however many ask for it at the same time.
#[derive(Default)]
pub struct Listings {
    cells: Mutex<BTreeMap<String, Arc<OnceCell<Listed>>>>,
}

impl std::fmt::Debug for Listings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listings")
    }
}

fn cache_key(path: &str, version: &str, filter: Option<&str>) -> String {
    format!(
        "{}?{version}&{}",
        path.to_lowercase(),
        filter.unwrap_or_default()
    )
}

impl Listings {
    fn cell(&self, key: String) -> Arc<OnceCell<Listed>> {
        self.cells
            .lock()
            .expect("listings lock")
            .entry(key)
            .or_default()
            .clone()
    }

    /// Every item of the collection at `path` (empty when its parent does not exist),
    /// read once.
    pub async fn list(
        &self,
        client: &ArmClient,
        path: &str,
        version: &str,
        filter: Option<&str>,
    ) -> Listed {
        let cell = self.cell(cache_key(path, version, filter));
        cell.get_or_init(|| async {
            client
                .list_items(path, version, filter)
                .await
                .map(|items| Arc::new(items.unwrap_or_default()))
        })
        .await
        .clone()
    }

    /// Records that the collection at `path` is empty without reading it (the parent
    /// was listed and is not there).
    fn known_empty(&self, path: &str, version: &str) {
        let _ = self
            .cell(cache_key(path, version, None))
            .set(Ok(Arc::new(Vec::new())));
    }
}

/// The collection that lists a resource of `kind` with this id, if ARM has one.
pub fn collection_of(kind: Kind, id: &str) -> Option<String> {
    match kind {
        Kind::Account
        | Kind::Deployment
        | Kind::Backend
        | Kind::Pool
        | Kind::Api
        | Kind::Subscription
        | Kind::Logger
        | Kind::Diagnostic => id.rsplit_once('/').map(|(c, _)| c.to_string()),
        Kind::RoleAssignment => id
            .split_once("/providers/Microsoft.Authorization/")
            .map(|(scope, _)| role_assignments_at(&group_scope(scope))),
        _ => None,
    }
}

/// The resource group of an ARM id (`/subscriptions/s/resourceGroups/g`), or the id
/// itself when it is not in one.
pub fn group_scope(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() >= 5 && parts[3].eq_ignore_ascii_case("resourceGroups") {
        parts[..5].join("/")
    } else {
        id.to_string()
    }
}

/// RoleAssignments_ListForScope at `scope`.
pub fn role_assignments_at(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
}

/// The item of `items` with this id (ids compare without case).
pub fn find<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|v| {
        v.get("id")
            .and_then(Value::as_str)
            .is_some_and(|x| x.eq_ignore_ascii_case(id))
    })
}

/// The account a deployment's listing needs, when the plan has that account too.
fn parent_account<'a>(r: &DesiredResource, desired: &'a [DesiredResource]) -> Option<&'a str> {
    if r.kind != Kind::Deployment {
        return None;
    }
    let (account, _) = r.id.rsplit_once("/deployments/")?;
    desired
        .iter()
        .find(|d| d.kind == Kind::Account && d.id.eq_ignore_ascii_case(account))
        .map(|d| d.id.as_str())
}

/// What ARM has for one desired resource.
async fn read_one(
    client: &ArmClient,
    listings: &Listings,
    r: &DesiredResource,
    account: Option<&str>,
) -> Result<Option<Value>, ArmError> {
    let Some(collection) = collection_of(r.kind, &r.id) else {
        return client.get_settled(&r.id, r.api_version).await;
    };
    if let Some(account) = account {
        let v = aoai_lb_core::ids::api_version::COGNITIVE_SERVICES;
        let accounts = collection_of(Kind::Account, account).unwrap_or_default();
        if find(&listings.list(client, &accounts, v, None).await?, account).is_none() {
            listings.known_empty(&collection, r.api_version);
            return Ok(None);
        }
    }
    let items = listings
        .list(client, &collection, r.api_version, None)
        .await?;
    match find(&items, &r.id) {
        None => Ok(None),
        Some(v) if settled(v) => Ok(Some(v.clone())),
        Some(_) => client.get_settled(&r.id, r.api_version).await,
    }
}

/// Whether no operation runs on a listed item (no provisioningState, or a final one).
fn settled(v: &Value) -> bool {
    v.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .is_none_or(is_terminal)
}

/// Reads every desired resource at once (the client bounds requests in flight), through
/// the collections that list them. A read that fails fails its resources: the others
/// complete, and the plan names every resource it could not read.
pub async fn read_live(
    client: &ArmClient,
    listings: &Arc<Listings>,
    desired: &[DesiredResource],
) -> Result<BTreeMap<usize, Option<Value>>, PlanError> {
    let mut reads = tokio::task::JoinSet::new();
    for (i, r) in desired.iter().enumerate() {
        if r.kind == Kind::ApimIdentity || r.id.contains(desired::UNKNOWN) {
            continue;
        }
        let account = parent_account(r, desired).map(str::to_string);
        let (client, listings, r) = (client.clone(), listings.clone(), r.clone());
        reads.spawn(async move {
            let found = read_one(&client, &listings, &r, account.as_deref()).await;
            (i, found)
        });
    }
    let mut live: BTreeMap<usize, Option<Value>> = BTreeMap::new();
    let mut failed = Vec::new();
    while let Some(joined) = reads.join_next().await {
        match joined? {
            (i, Ok(v)) => {
                live.insert(i, v);
            }
            (i, Err(e)) => failed.push((desired[i].address.clone(), e)),
        }
    }
    if !failed.is_empty() {
        failed.sort_by(|a, b| a.0.cmp(&b.0));
        let read = live.len();
        return Err(PlanError::Unreadable { failed, read });
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_read_through_its_collection() {
        let rg = "/subscriptions/s/resourceGroups/g";
        let account = format!("{rg}/providers/Microsoft.CognitiveServices/accounts/a");
        assert_eq!(
            collection_of(Kind::Deployment, &format!("{account}/deployments/d")).unwrap(),
            format!("{account}/deployments")
        );
        assert_eq!(
            collection_of(
                Kind::RoleAssignment,
                &format!("{account}/providers/Microsoft.Authorization/roleAssignments/x")
            )
            .unwrap(),
            format!("{rg}/providers/Microsoft.Authorization/roleAssignments")
        );
        assert_eq!(collection_of(Kind::ApiPolicy, "x/policies/policy"), None);
        assert_eq!(collection_of(Kind::ResourceGroup, rg), None);
        assert_eq!(group_scope("/subscriptions/s"), "/subscriptions/s");
    }

    #[test]
    fn a_listed_item_mid_operation_is_not_settled() {
        let busy = serde_json::json!({"properties": {"provisioningState": "Creating"}});
        let done = serde_json::json!({"properties": {"provisioningState": "Succeeded"}});
        assert!(!settled(&busy));
        assert!(settled(&done));
        assert!(settled(&serde_json::json!({"properties": {}})));
    }
}
