//! Executing one change of a plan: the request it carries (placeholders filled from
//! the results of the changes it depends on), the state written before a create and
//! after every change. A state that cannot be written stops the whole run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::apply::{ApplyOptions, Observer};
use super::error::ChangeError;
use super::graph::Cancel;
use super::ownership;
use super::plan::{Action, Change};
use super::request::{self, Fill, Method, Record};
use super::state::{Entry, LockedState, State};
use aoai_lb_arm::ArmClient;
use aoai_lb_core::desired::Kind;
use aoai_lb_core::ids;
use aoai_lb_core::marks::{Mark, mark_of};

/// What every change of a run shares.
pub(crate) struct Shared {
    pub client: ArmClient,
    pub state: Mutex<LockedState>,
    /// Results of the changes other changes take values from, by address.
    results: Mutex<BTreeMap<String, Value>>,
    sources: BTreeSet<String>,
    pub spec_sha256: String,
    pub observer: Arc<dyn Observer>,
    pub options: ApplyOptions,
    pub started: Instant,
    pub timeline: Mutex<BTreeMap<String, (f64, f64)>>,
    /// Set when the state cannot be written: nothing new starts.
    pub stop: Cancel,
    /// Why the state could not be written, the first time it could not.
    pub state_error: Mutex<Option<String>>,
    /// The deployment whose marks make a resource ours (None: a state that names none).
    pub deployment: Option<String>,
    /// Resources not updated or deleted because they are no longer this deployment's.
    pub left_alone: Mutex<Vec<(String, String)>>,
    /// Accounts this run deleted: soft-deleted, or purged too.
    pub deleted_accounts: Mutex<Vec<DeletedAccount>>,
}

impl Shared {
    pub fn new(
        client: ArmClient,
        state: LockedState,
        changes: &[Change],
        spec_sha256: String,
        observer: Arc<dyn Observer>,
        options: ApplyOptions,
        stop: Cancel,
    ) -> Shared {
        let sources = changes
            .iter()
            .flat_map(|c| &c.request.fills)
            .filter_map(|f| match f {
                Fill::PrincipalId { from, .. }
                | Fill::ClientId { from, .. }
                | Fill::RoleAssignmentName { from, .. } => Some(from.clone()),
                // Read at the change itself, never kept among the results.
                Fill::ConnectionString { .. } => None,
            })
            .collect();
        Shared {
            client,
            state: Mutex::new(state),
            results: Mutex::new(BTreeMap::new()),
            sources,
            spec_sha256,
            observer,
            options,
            started: Instant::now(),
            timeline: Mutex::new(BTreeMap::new()),
            stop,
            state_error: Mutex::new(None),
            deployment: None,
            left_alone: Mutex::new(Vec::new()),
            deleted_accounts: Mutex::new(Vec::new()),
        }
    }

    /// What the state records at this address now.
    fn recorded(&self, address: &str) -> Option<Entry> {
        self.state
            .lock()
            .expect("state lock")
            .state
            .get(address)
            .cloned()
    }

    /// Leaves a resource that is no longer this deployment's: reported, dropped from
    /// the state.
    fn leave_alone(&self, change: &Change, why: String) -> Result<(), ChangeError> {
        self.left_alone
            .lock()
            .expect("left alone")
            .push((change.address.clone(), why));
        self.save(|st| {
            if st
                .get(&change.address)
                .is_some_and(|e| e.id.eq_ignore_ascii_case(&change.id))
            {
                st.remove(&change.address);
            }
        })
    }

    /// Edits the state and writes it. A write that fails stops the run.
    pub fn save(&self, edit: impl FnOnce(&mut State)) -> Result<(), ChangeError> {
        let mut s = self.state.lock().expect("state lock");
        edit(&mut s.state);
        s.save().map_err(|e| {
            self.state_error
                .lock()
                .expect("state error")
                .get_or_insert_with(|| e.to_string());
            self.stop.cancel();
            ChangeError::State(e)
        })
    }
}

/// An account a run deleted: Azure keeps it soft-deleted for 48 hours (its name and
/// subdomain stay taken) unless it was purged.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedAccount {
    pub address: String,
    pub name: String,
    pub resource_group: String,
    /// Its region, as the state recorded it (None in a state from before regions were
    /// recorded: it cannot be purged by aoai-lb).
    pub location: Option<String>,
    pub purged: bool,
}

/// The state entry of a change that succeeded (before any fill: the planned id).
pub(crate) fn entry_for(c: &Change, spec_sha: &str) -> Entry {
    Entry {
        address: c.address.clone(),
        kind: c.kind,
        id: c.id.clone(),
        api_version: c.api_version.clone(),
        owned: c.owned,
        pending: false,
        spec_sha256: (c.kind == Kind::Api).then(|| spec_sha.to_string()),
        // An account's region, to purge it after a soft delete.
        location: (c.kind == Kind::Account)
            .then(|| {
                c.request
                    .body
                    .as_ref()
                    .and_then(|b| b.get("location"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten(),
    }
}

pub(crate) async fn run_change(s: &Shared, change: Change) -> Result<(), ChangeError> {
    s.observer.started(&change);
    let t0 = s.started.elapsed().as_secs_f64();
    let begun = Instant::now();
    let result = match change.action {
        Action::Delete => delete(s, &change).await,
        Action::Create | Action::Update => write(s, &change).await,
        Action::Replace => replace(s, &change).await,
        // A restore is a create whose PUT says `restore: true`.
        Action::Restore => write(s, &as_create(&change)).await,
        Action::NoOp => Ok(()),
    };
    let t1 = s.started.elapsed().as_secs_f64();
    s.timeline
        .lock()
        .expect("timeline")
        .insert(change.key(), (t0, t1));
    s.observer.finished(&change, begun.elapsed(), &result);
    result
}

async fn delete(s: &Shared, change: &Change) -> Result<(), ChangeError> {
    let deployment = s.deployment.as_deref();
    if let Some(why) = ownership::before_write(&s.client, change, deployment, true).await? {
        return s.leave_alone(change, why);
    }
    if change.kind == Kind::ResourceGroup
        && let Some(why) = refuse_if_foreign(s, change).await?
    {
        return s.leave_alone(change, why);
    }
    s.client
        .delete(&change.request.id, &change.request.api_version)
        .await?;
    let entry = s.recorded(&change.address);
    if change.kind == Kind::Account {
        let (sub, rg, name) = parse_account_id(&change.id)
            .ok_or_else(|| ChangeError::AccountId(change.id.clone()))?;
        let location = entry.as_ref().and_then(|e| e.location.clone());
        let mut gone = DeletedAccount {
            address: change.address.clone(),
            name: name.clone(),
            resource_group: rg.clone(),
            location: location.clone(),
            purged: false,
        };
        if s.options.purge
            && let Some(location) = location
        {
            let deleted = ids::deleted_account(&sub, &location, &rg, &name);
            s.client
                .delete(&deleted, ids::api_version::COGNITIVE_SERVICES)
                .await?;
            gone.purged = true;
        }
        s.deleted_accounts
            .lock()
            .expect("deleted accounts")
            .push(gone);
    }
    s.save(|st| {
        if st
            .get(&change.address)
            .is_some_and(|e| e.id.eq_ignore_ascii_case(&change.id))
        {
            st.remove(&change.address);
        }
    })
}

fn as_create(change: &Change) -> Change {
    let mut c = change.clone();
    c.action = Action::Create;
    c
}

/// A replacement: delete what is there (if it is still ours), purge the account it
/// leaves soft-deleted, then create. The state entry is pending from before the delete
/// until the new resource is recorded, so a run stopped anywhere in between is
/// resolved by the next plan (which finds it live, soft-deleted or gone).
async fn replace(s: &Shared, change: &Change) -> Result<(), ChangeError> {
    let deployment = s.deployment.as_deref();
    let owned = s.recorded(&change.address).is_none_or(|e| e.owned);
    if let Some(why) = ownership::before_write(&s.client, change, deployment, owned).await? {
        return s.leave_alone(change, why);
    }
    if let Some(mut e) = s.recorded(&change.address) {
        e.pending = true;
        s.save(|st| st.upsert(e))?;
    }
    s.client.delete(&change.id, &change.api_version).await?;
    if let Some(purge) = &change.purge {
        s.client
            .delete(purge, ids::api_version::COGNITIVE_SERVICES)
            .await?;
    }
    write(s, &as_create(change)).await
}

/// A create or update: the planned request, filled, recorded ahead and after.
async fn write(s: &Shared, change: &Change) -> Result<(), ChangeError> {
    if let Some(Record::IdentityFound(found)) = &change.record {
        s.save(|st| {
            if st.apim_identity_before.is_none() {
                st.apim_identity_before = Some(found.clone());
                st.apim_service_id = Some(change.id.clone());
            }
        })?;
    }
    let mut results = s.results.lock().expect("results").clone();
    // Secrets (a logger's connection string) are read now, sent and forgotten.
    for component in request::secret_sources(&change.request) {
        let read = s.client.get(component, ids::api_version::INSIGHTS).await?;
        results.insert(component.to_string(), read.unwrap_or(Value::Null));
    }
    let (id, body) = request::filled(&change.request, &results)?;
    let tracked = change.kind != Kind::ApimIdentity;
    let mut entry = entry_for(change, &s.spec_sha256);
    entry.id = id.clone();
    let recorded = s.recorded(&change.address);
    if tracked && change.action == Action::Update {
        let owned = recorded.as_ref().is_some_and(|e| e.owned && !e.pending);
        let deployment = s.deployment.as_deref();
        if let Some(why) = ownership::before_write(&s.client, change, deployment, owned).await? {
            return s.leave_alone(change, why);
        }
    }
    if tracked && (change.action == Action::Create || recorded.is_some()) {
        // Write-ahead: if we die after ARM acts and before we record it, the
        // next run still knows this resource may be ours.
        let mut pending = entry.clone();
        pending.pending = recorded.as_ref().is_none_or(|e| e.pending);
        pending.owned = recorded.as_ref().map(|e| e.owned).unwrap_or(change.owned);
        s.save(|st| st.upsert(pending))?;
    }
    let body = body.unwrap_or(Value::Null);
    let version = &change.request.api_version;
    let sent = match change.request.method {
        Method::Put => s.client.put(&id, version, &body).await,
        Method::Patch => s.client.patch(&id, version, &body).await,
        Method::Delete => s.client.delete(&id, version).await.map(|()| Value::Null),
    };
    let result = match sent {
        Ok(v) => v,
        Err(e)
            if change.kind == Kind::RoleAssignment && e.code() == Some("RoleAssignmentExists") =>
        {
            // The same assignment exists under another name: satisfied, not ours.
            return s.save(|st| st.remove(&change.address));
        }
        // The service is gone: there is no identity left to put back.
        Err(e) if change.record == Some(Record::IdentityRestored) && e.status() == Some(404) => {
            Value::Null
        }
        Err(e) => return Err(e.into()),
    };
    if s.sources.contains(&change.address) {
        s.results
            .lock()
            .expect("results")
            .insert(change.address.clone(), result);
    }
    if change.record == Some(Record::IdentityRestored) {
        return s.save(|st| {
            st.apim_identity_before = None;
            st.apim_service_id = None;
        });
    }
    if !tracked || (change.action == Action::Update && recorded.is_none() && !change.owned) {
        return Ok(());
    }
    entry.owned = recorded.as_ref().map(|e| e.owned).unwrap_or(change.owned);
    s.save(|st| st.upsert(entry))
}

/// Deleting a group deletes everything in it: refuse when it holds anything aoai-lb did
/// not create (as Terraform's `prevent_deletion_if_contains_resources` does). A group
/// that holds, besides ours, only other aoai-lb deployments' resources is kept, and
/// that is no failure: `Some(why)`.
async fn refuse_if_foreign(s: &Shared, change: &Change) -> Result<Option<String>, ChangeError> {
    let listing = format!("{}/resources", change.id);
    let url = s.client.url(&listing, ids::api_version::RESOURCES)?;
    let r = s
        .client
        .send(
            azure_core::http::Method::Get,
            url,
            None,
            aoai_lb_arm::stats::RequestClass::Read,
            &listing,
        )
        .await?;
    if r.status == 404 {
        return Ok(None); // the group is already gone
    }
    if r.status != 200 {
        return Err(ArmClient::api_error(&azure_core::http::Method::Get, &listing, &r).into());
    }
    let ours: Vec<String> = s
        .state
        .lock()
        .expect("state lock")
        .state
        .resources
        .iter()
        .map(|e| e.id.to_lowercase())
        .collect();
    let me = s.deployment.as_deref();
    let items = r.body["value"].as_array().cloned().unwrap_or_default();
    let foreign: Vec<&Value> = items
        .iter()
        .filter(|i| {
            let id = i.get("id").and_then(Value::as_str).unwrap_or_default();
            !ours.contains(&id.to_lowercase()) && mark_of(i, me) != Mark::Ours
        })
        .collect();
    let others: BTreeSet<String> = foreign
        .iter()
        .filter_map(|i| match mark_of(i, me) {
            Mark::Other(d) => Some(format!("`{d}`")),
            _ => None,
        })
        .collect();
    let strangers: Vec<String> = foreign
        .iter()
        .filter(|i| !matches!(mark_of(i, me), Mark::Other(_)))
        .filter_map(|i| i.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if foreign.is_empty() {
        Ok(None)
    } else if strangers.is_empty() {
        Ok(Some(format!(
            "kept: the resource group holds resources of aoai-lb deployment {}",
            others.into_iter().collect::<Vec<_>>().join(", ")
        )))
    } else {
        Err(ChangeError::Foreign(strangers))
    }
}

/// (subscription, resource group, name) of an account id.
fn parse_account_id(id: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = id.split('/').collect();
    let find = |k: &str| {
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(k))
            .and_then(|i| parts.get(i + 1))
            .map(|s| s.to_string())
    };
    Some((
        find("subscriptions")?,
        find("resourceGroups")?,
        find("accounts")?,
    ))
}
