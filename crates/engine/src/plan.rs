//! Computing a plan: read the live state of every desired resource (in parallel), diff
//! it against the desired state, and list what `apply` will create, update, leave or
//! delete. A plan is plain data: each change carries the request apply sends (see
//! [`request`]); `apply` executes it and does not decide again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diff::{FieldChange, diff};
use super::replace;
use super::request::{self, IdentityRef, Method, Record, Request};
use super::state::State;
use aoai_lb_arm::resources::{ServiceIdentity, WantedIdentity, user_assigned_identity};
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{self, DesiredResource, Facts, Kind};
use aoai_lb_core::ids::api_version;
use aoai_lb_core::marks::{self, Mark};
use aoai_lb_core::model::{Identity, Model};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    NoOp,
    Delete,
    /// Delete (and, for an account, purge) then create: ARM cannot change a field in
    /// place (see [`aoai_lb_core::replace`]).
    Replace,
    /// Recover a soft-deleted account (a PUT with `properties.restore: true`).
    Restore,
}

/// One line of the plan.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub address: String,
    pub kind: Kind,
    /// ARM id; for a role assignment whose principal is not known yet, the name part is
    /// `(known after apply)`.
    pub id: String,
    pub api_version: String,
    pub action: Action,
    /// For updates: each field, old -> new.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Whether aoai-lb owns it after apply (false: it existed before; destroy leaves it).
    pub owned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The request apply sends for it, computed now (a no-op's is not sent).
    pub request: Request,
    /// What apply records in the state around the request, besides the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// A replacement of an account: the soft-deleted account apply purges between the
    /// delete and the create, to free the name and the subdomain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<String>,
}

impl Change {
    /// Deleting what a state entry records.
    pub fn delete(e: &super::state::Entry) -> Change {
        Change {
            address: e.address.clone(),
            kind: e.kind,
            id: e.id.clone(),
            api_version: e.api_version.clone(),
            action: Action::Delete,
            fields: vec![],
            depends_on: vec![],
            owned: true,
            note: None,
            request: Request {
                method: Method::Delete,
                id: e.id.clone(),
                api_version: e.api_version.clone(),
                body: None,
                fills: vec![],
            },
            record: None,
            purge: None,
        }
    }

    /// The key of this change in the apply graph (a delete may share an address with the
    /// create that replaces it).
    pub fn key(&self) -> String {
        match self.action {
            Action::Delete => format!("delete:{}", self.address),
            _ => self.address.clone(),
        }
    }
}

/// A plan is plain data: `plan --out` saves it as JSON and `apply FILE` reads it back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub changes: Vec<Change>,
    /// SHA-256 of the spec the API will import.
    #[serde(default)]
    pub spec_sha256: String,
    /// What was read from Azure to make the plan: a fingerprint per resource read
    /// (lower-case ARM id -> [`super::saved::fingerprint`] of the body, or `absent`), so a saved
    /// plan can tell whether Azure changed since. No body is kept: no secret either.
    #[serde(default)]
    pub reads: BTreeMap<String, String>,
    /// What the preflight warns of (a version retiring soon, a catalog or quota list ARM
    /// did not serve): shown with the plan, in its JSON and in the GitHub summary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub unchanged: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::NoOp => s.unchanged += 1,
                // As Terraform counts them: a replacement adds one and destroys one.
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Restore => s.add += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// Things that stop a plan before any diff: the plan's APIM service or identity is missing.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error("{0}")]
    Missing(String),
    /// Resources that exist, were not created by aoai-lb, and which it will not take over.
    #[error(
        "these resources already exist and were not created by aoai-lb, which will not take them over:\n{}\nAdopt them with `aoai-lb import PLAN` (only aoai-lb's ownership marks are written), remove them from the plan, or delete them.",
        .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    Conflicts(Vec<String>),
    /// Resources the plan names that belong to another aoai-lb deployment.
    #[error(
        "this plan names resources that belong to another aoai-lb deployment, which it will not take over:\n{}\nGive them other names in this plan, or destroy that deployment first.",
        .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    Owned(Vec<String>),
    /// Accounts of the plan that sit soft-deleted and are not this deployment's to
    /// restore.
    #[error(
        "these accounts of the plan sit soft-deleted (Azure keeps a deleted account 48 hours and will not create another of its name):\n{}",
        .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    SoftDeleted(Vec<String>),
    /// Owned resource groups the plan moves to another region.
    #[error(
        "ARM cannot move a resource group to another region, and aoai-lb will not delete a group to re-create it: {}. Put the group's location back in the plan, or use another group.",
        .0.join(", ")
    )]
    Immovable(Vec<String>),
    /// Deployments ARM's model catalog or quotas say Azure will refuse; nothing was changed.
    #[error(
        "ARM's model catalog and quotas refuse these deployments (nothing was changed):\n{}",
        .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    Catalog(Vec<String>),
    #[error("a read task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Resources whose read failed after its retries (address, why); the other reads
    /// completed, and nothing was changed.
    #[error(
        "{} of the plan's resources could not be read from ARM ({read} others were read; nothing was changed):\n{}",
        failed.len(),
        failed.iter().map(|(a, e)| format!("  - {a}: {e}")).collect::<Vec<_>>().join("\n")
    )]
    Unreadable {
        failed: Vec<(String, ArmError)>,
        read: usize,
    },
}

pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads what the plan depends on and finds the values only Azure knows.
pub async fn discover(
    client: &ArmClient,
    model: &Model,
) -> Result<(Facts, ServiceIdentity, Value), PlanError> {
    let sub = &model.subscription_id;
    let service_id =
        aoai_lb_core::ids::apim_service(sub, &model.apim.resource_group, &model.apim.name);
    let service = client.get(&service_id, api_version::API_MANAGEMENT).await?.ok_or_else(|| {
        PlanError::Missing(format!(
            "API Management service {} was not found in resource group {} (subscription {sub}): aoai-lb uses an existing service; create it first or fix apim.name / apim.resourceGroup",
            model.apim.name, model.apim.resource_group
        ))
    })?;
    let identity = ServiceIdentity::from_service(&service);
    let found = service.get("identity").cloned().unwrap_or(Value::Null);
    let facts = match &model.apim.identity {
        Identity::SystemAssigned => Facts {
            principal_id: identity
                .principal_id
                .clone()
                .filter(|_| identity.has_system()),
            client_id: None,
        },
        Identity::UserAssigned { id } => {
            let uai = client.get(id, api_version::MANAGED_IDENTITY).await?.ok_or_else(|| {
                PlanError::Missing(format!("the user-assigned identity {id} was not found: create it first or fix apim.identity.userAssigned"))
            })?;
            let u = user_assigned_identity(&uai);
            Facts {
                principal_id: u.principal_id,
                client_id: u.client_id,
            }
        }
    };
    Ok((facts, identity, found))
}

/// The ARM client's name for the identity a plan wants.
pub fn wanted(identity: &Identity) -> WantedIdentity<'_> {
    match identity {
        Identity::SystemAssigned => WantedIdentity::System,
        Identity::UserAssigned { id } => WantedIdentity::User(id),
    }
}

/// Computes the plan.
pub async fn plan(client: &ArmClient, model: &Model, state: &State) -> Result<Plan, PlanError> {
    let (facts, identity, found) = discover(client, model).await?;
    let mut desired =
        desired::build(model, &facts).map_err(|e| PlanError::Missing(e.to_string()))?;
    let listings = std::sync::Arc::new(super::reads::Listings::default());
    super::import::recorded_role_assignments(
        client,
        &listings,
        state,
        &model.deployment,
        &mut desired,
    )
    .await?;
    let spec_text = desired
        .iter()
        .find(|r| r.kind == Kind::Api)
        .and_then(|r| r.body.pointer("/properties/value"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let spec_sha256 = sha256(&spec_text);
    let live = super::reads::read_live(client, &listings, &desired).await?;
    let existing = existing_deployments(&desired, &live);
    let preflight = super::preflight::run(client, model, &existing).await?;
    if !preflight.refusals.is_empty() {
        return Err(PlanError::Catalog(preflight.refusals));
    }
    let deleted = replace::deleted_if_missing(client, model, &desired, &live).await?;

    let apim = ApimIdentity {
        now: &identity,
        found: &found,
        wanted: &model.apim.identity,
    };
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut owned_elsewhere = Vec::new();
    let mut soft_deleted = Vec::new();
    for (i, r) in desired.iter().enumerate() {
        let live = live.get(&i).cloned().flatten();
        match replace::for_soft_deleted(r, live.is_some(), &deleted, model) {
            Some(Ok(c)) => {
                changes.push(c);
                continue;
            }
            Some(Err(line)) => {
                soft_deleted.push(line);
                continue;
            }
            None => {}
        }
        if let Some(o) = live.as_ref().and_then(|l| owner_elsewhere(r, l, model)) {
            owned_elsewhere.push(format!(
                "{} ({}) belongs to aoai-lb deployment `{o}`",
                r.address, r.id
            ));
            continue;
        }
        match change_for(r, live, state, &apim, &spec_sha256, &model.deployment) {
            Ok(c) => changes.push(c),
            Err(Conflict(conflict)) => conflicts.push(conflict),
        }
    }
    if !owned_elsewhere.is_empty() {
        return Err(PlanError::Owned(owned_elsewhere));
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    let reads = super::saved::reads_of(model, &desired, &live, &found);
    replace::settle(&mut changes, soft_deleted)?;
    adopt_api_children(&mut changes, state);
    request::add_fills(&mut changes, &IdentityRef::of(&model.apim.identity));
    changes.extend(deletes(state, &desired));
    // What the marks say is this deployment's besides (the state is only their cache).
    let keep = desired.iter().map(|d| d.id.to_lowercase()).collect();
    let known = state
        .resources
        .iter()
        .map(|e| e.id.to_lowercase())
        .collect();
    changes.extend(super::ownership::orphans(client, &listings, model, &keep, &known).await?);
    Ok(Plan {
        changes,
        spec_sha256,
        reads,
        warnings: preflight.warnings,
    })
}

/// The plan's deployments that exist (read with the rest), for the quota preflight.
fn existing_deployments(
    desired: &[DesiredResource],
    live: &BTreeMap<usize, Option<Value>>,
) -> super::quota::Existing {
    desired
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == Kind::Deployment)
        .filter_map(|(i, r)| {
            let body = live.get(&i)?.as_ref()?;
            let mut parts = r.id.rsplit('/');
            let (name, _, account) = (parts.next()?, parts.next()?, parts.next()?);
            let l = super::quota::Live::from_body(body)?;
            Some((super::quota::key(account, name), l))
        })
        .collect()
}

/// The policy and the subscription live on the API (they carry no mark of their own):
/// when the API is aoai-lb's, so are they.
fn adopt_api_children(changes: &mut [Change], state: &State) {
    if changes.iter().any(|c| c.kind == Kind::Api && c.owned) {
        for c in changes.iter_mut().filter(|c| {
            matches!(
                c.kind,
                Kind::ApiPolicy | Kind::Subscription | Kind::Diagnostic
            )
        }) {
            if state.get(&c.address).is_none() && !c.owned {
                c.owned = true;
                c.note = None;
            }
        }
    }
}

/// Owned resources in the state that the plan no longer has, or whose id changed
/// (a role assignment for a new principal), are deleted, children first.
fn deletes(state: &State, desired: &[DesiredResource]) -> Vec<Change> {
    let mut deletes: Vec<&super::state::Entry> = state
        .resources
        .iter()
        .filter(|e| e.owned || e.pending)
        .filter(|e| {
            !desired
                .iter()
                .any(|d| d.address == e.address && d.id.eq_ignore_ascii_case(&e.id))
        })
        .filter(|e| e.kind != Kind::ApimIdentity)
        .collect();
    deletes.sort_by_key(|e| std::cmp::Reverse(e.kind));
    deletes.into_iter().map(Change::delete).collect()
}

/// The APIM service's identity: as it is now, as found (the raw `identity`), and as
/// the plan wants it.
struct ApimIdentity<'a> {
    now: &'a ServiceIdentity,
    found: &'a Value,
    wanted: &'a Identity,
}

/// A resource that exists, is not aoai-lb's, and will not be taken over.
struct Conflict(String);

/// The first digits of a SHA-256, as the plan shows it (whole if shorter).
fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The change of one desired resource, before any diff: its request as desired.
pub(crate) fn planned(r: &DesiredResource) -> Change {
    Change {
        address: r.address.clone(),
        kind: r.kind,
        id: r.id.clone(),
        api_version: r.api_version.to_string(),
        action: Action::NoOp,
        fields: vec![],
        depends_on: r.depends_on.clone(),
        owned: r.owned,
        note: None,
        request: Request {
            method: r.method.into(),
            id: r.id.clone(),
            api_version: r.api_version.to_string(),
            body: Some(r.body.clone()),
            fills: vec![],
        },
        record: None,
        purge: None,
    }
}

/// Turning on the identity the plan wants, keeping the ones there; the identity as
/// found is recorded first, for destroy to put back.
fn identity_change(mut c: Change, apim: &ApimIdentity<'_>) -> Change {
    c.owned = false;
    let want = apim.now.patch_adding(wanted(apim.wanted));
    if !apim.now.satisfies(wanted(apim.wanted)) {
        c.action = Action::Update;
        c.fields.push(FieldChange {
            path: "identity.type".into(),
            old: Value::String(apim.now.kind.clone()),
            new: want["identity"]["type"].clone(),
            forces_replacement: false,
        });
        c.record = Some(Record::IdentityFound(apim.found.clone()));
    }
    c.request.body = Some(want);
    c
}

fn change_for(
    r: &DesiredResource,
    live: Option<Value>,
    state: &State,
    apim: &ApimIdentity<'_>,
    spec_sha: &str,
    deployment: &str,
) -> Result<Change, Conflict> {
    let entry = state.get(&r.address);
    let mut c = planned(r);
    if r.kind == Kind::ApimIdentity {
        return Ok(identity_change(c, apim));
    }
    if r.id.contains(desired::UNKNOWN) {
        c.action = Action::Create;
        c.note = Some("name and principal known after the identity is on".into());
        return Ok(c);
    }
    let Some(live) = live else {
        c.action = Action::Create;
        return Ok(c);
    };
    let mark = marks::mark_of(&live, Some(deployment));
    c.owned = match entry {
        Some(e) => e.owned,
        None => r.owned && matches!(mark, Mark::Ours | Mark::Legacy),
    };
    if entry.is_none() && !c.owned {
        match r.kind {
            // An existing group is used as it is: never changed, never deleted.
            Kind::ResourceGroup => {
                c.note = Some(match mark {
                    Mark::Other(d) => format!(
                        "exists (created by aoai-lb deployment `{d}`): used as it is; this deployment never changes or deletes it"
                    ),
                    _ => "exists: used as it is; aoai-lb never changes or deletes it".into(),
                });
                return Ok(c);
            }
            // A PUT would replace its settings and tags: refuse to take it over.
            Kind::Account | Kind::Deployment | Kind::Component => {
                return Err(Conflict(format!("{} ({})", r.address, r.id)));
            }
            _ => {
                c.note = Some(
                    "exists and was not created by aoai-lb: apply updates it, destroy leaves it"
                        .into(),
                )
            }
        }
    }
    c.fields = diff(r.kind, &r.body, &live);
    if r.kind == Kind::Api {
        c.fields.extend(spec_change(
            r,
            &live,
            entry.and_then(|e| e.spec_sha256.as_deref()),
            spec_sha,
        ));
    }
    if !c.fields.is_empty() {
        c.action = Action::Update;
        replace::mark_replacement(&mut c, &live);
    }
    Ok(c)
}

/// ARM never returns the imported spec: the state remembers its hash. Without a
/// record, the service URL the spec sets is what can be compared.
pub(crate) fn spec_change(
    r: &DesiredResource,
    live: &Value,
    imported: Option<&str>,
    spec_sha: &str,
) -> Option<FieldChange> {
    let same_without_record = imported.is_none()
        && live
            .pointer("/properties/serviceUrl")
            .and_then(Value::as_str)
            == spec_server_url(&r.body).as_deref();
    (imported != Some(spec_sha) && !same_without_record).then(|| FieldChange {
        path: "properties.value (spec)".into(),
        old: imported
            .map(|s| Value::String(format!("sha256:{}", short_sha(s))))
            .unwrap_or(Value::String("(not imported by aoai-lb)".into())),
        new: Value::String(format!("sha256:{}", short_sha(spec_sha))),
        forces_replacement: false,
    })
}

/// The other deployment a live resource the plan names belongs to (a group is shared
/// freely: it is used as it is, never changed).
fn owner_elsewhere(r: &DesiredResource, live: &Value, model: &Model) -> Option<String> {
    if !r.owned || matches!(r.kind, Kind::ResourceGroup | Kind::ApimIdentity) {
        return None;
    }
    match marks::mark_of(live, Some(&model.deployment)) {
        Mark::Other(d) => Some(d),
        _ => None,
    }
}

/// `servers[0].url` of the spec an API body imports.
fn spec_server_url(api_body: &Value) -> Option<String> {
    let text = api_body.pointer("/properties/value")?.as_str()?;
    let spec: Value = serde_json::from_str(text).ok()?;
    spec.pointer("/servers/0/url")?.as_str().map(str::to_string)
}

/// The plan of `destroy`: delete every resource the state says aoai-lb owns, children
/// first, then put the APIM identity back as aoai-lb found it. No reads: a resource
/// already gone is a successful delete.
pub fn destroy_plan(state: &State) -> Plan {
    let mut entries: Vec<&super::state::Entry> = state
        .resources
        .iter()
        .filter(|e| e.owned || e.pending)
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.kind));
    let mut changes: Vec<Change> = entries.into_iter().map(Change::delete).collect();
    if let (Some(before), Some(service_id)) = (&state.apim_identity_before, &state.apim_service_id)
    {
        let after: Vec<String> = changes.iter().map(Change::key).collect();
        changes.push(request::identity_restore(service_id, before, after));
    }
    Plan {
        changes,
        ..Plan::default()
    }
}
