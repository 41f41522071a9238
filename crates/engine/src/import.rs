//! `aoai-lb import`: adopting what already exists (a lab built by hand, with Bicep or
//! Terraform) instead of deleting it. [`find`] reads every resource of the plan, matches
//! it to what is in Azure and says, for each, whether it would be adopted and what `plan`
//! would still change afterwards; [`adopt`] writes aoai-lb's ownership marks (see
//! [`super::import_marks`]) and records each resource in the state. Nothing else in Azure
//! changes. A resource that carries another deployment's mark is never adopted.

use serde::Serialize;
use serde_json::Value;

use super::diff::{FieldChange, diff};
use super::import_marks::{Write, marks_for};
use super::ownership;
use super::plan::{self, PlanError};
use super::reads::{self, Listings};
use super::state::{Entry, LockedState, State, StateError};
use aoai_lb_arm::resources::ServiceIdentity;
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{self, DesiredResource, Kind};
use aoai_lb_core::ids::api_version;
use aoai_lb_core::marks::{self, Mark};
use aoai_lb_core::model::Model;

/// What import does with one resource of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Exists without an aoai-lb mark: marked and recorded.
    Adopt,
    /// Already carries this deployment's mark: recorded.
    Ours,
    /// Not in Azure: `plan` will create it.
    Missing,
    /// Used as it is, never owned (the APIM service's identity; a group holding other
    /// things; a subscription scoped elsewhere).
    Kept,
}

/// One resource of the plan as import found it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub address: String,
    pub kind: Kind,
    pub id: String,
    pub status: Status,
    /// The marks import writes, old -> new.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<FieldChange>,
    /// What `plan` will still change once it is adopted: the real differences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    api_version: String,
    #[serde(skip)]
    write: Option<Write>,
    #[serde(skip)]
    location: Option<String>,
}

/// What import found for a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Import {
    pub resources: Vec<Found>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub adopt: usize,
    pub ours: usize,
    pub missing: usize,
    pub kept: usize,
    /// Resources whose differences `plan` will still show.
    pub differ: usize,
}

impl Import {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.resources {
            match f.status {
                Status::Adopt => s.adopt += 1,
                Status::Ours => s.ours += 1,
                Status::Missing => s.missing += 1,
                Status::Kept => s.kept += 1,
            }
            if !f.fields.is_empty() {
                s.differ += 1;
            }
        }
        s
    }

    /// Whether anything would be marked (a confirmation is needed).
    pub fn writes(&self) -> bool {
        self.resources.iter().any(|f| f.write.is_some())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error(transparent)]
    State(#[from] StateError),
    /// Resources of the plan that carry another deployment's mark.
    #[error(
        "these resources belong to another aoai-lb deployment; import adopts none of them and changed nothing:\n{}\nGive them other names in this plan, or destroy that deployment first.",
        .0.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
    )]
    Owned(Vec<String>),
    /// Writing a mark failed: what was marked before is recorded.
    #[error("{address}: the ownership mark could not be written: {source}")]
    Mark {
        address: String,
        #[source]
        source: ArmError,
    },
}

fn found(r: &DesiredResource, status: Status) -> Found {
    Found {
        address: r.address.clone(),
        kind: r.kind,
        id: r.id.clone(),
        status,
        marks: vec![],
        fields: vec![],
        note: None,
        api_version: r.api_version.to_string(),
        write: None,
        location: None,
    }
}

/// The role assignment granting `r`'s role to `r`'s principal on `r`'s scope, whatever
/// its name (people and tools name them with random GUIDs; aoai-lb with a UUID v5).
async fn role_assignment(
    client: &ArmClient,
    r: &DesiredResource,
) -> Result<Option<Value>, ArmError> {
    if let Some(live) = client.get(&r.id, r.api_version).await? {
        return Ok(Some(live));
    }
    let Some((scope, _)) = r.id.split_once("/providers/Microsoft.Authorization/") else {
        return Ok(None);
    };
    let principal = r.body["properties"]["principalId"].as_str().unwrap_or("");
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments");
    let filter = format!("principalId eq '{}'", principal.replace('\'', "''"));
    let all = ownership::list(client, &path, r.api_version, Some(&filter)).await?;
    Ok(all.into_iter().find(|ra| same_grant(ra, r)))
}

/// Whether `live` grants what `r` wants: same scope, role and principal.
fn same_grant(live: &Value, r: &DesiredResource) -> bool {
    let s = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase()
    };
    let scope =
        r.id.split("/providers/Microsoft.Authorization/")
            .next()
            .unwrap_or("");
    s(live, "/properties/scope") == scope.to_lowercase()
        && s(live, "/properties/principalId") == s(&r.body, "/properties/principalId")
        && s(live, "/properties/roleDefinitionId") == s(&r.body, "/properties/roleDefinitionId")
}

/// The plan's group is adopted only when it holds nothing but the plan's accounts (so
/// `destroy` may delete it); otherwise it is used as it is, as `apply` uses a group.
async fn group_holds_only(
    client: &ArmClient,
    group_id: &str,
    desired: &[DesiredResource],
) -> Result<Vec<String>, ArmError> {
    let listed = ownership::list(
        client,
        &format!("{group_id}/resources"),
        api_version::RESOURCES,
        None,
    )
    .await?;
    Ok(listed
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_str))
        .filter(|id| !desired.iter().any(|d| d.id.eq_ignore_ascii_case(id)))
        .map(str::to_string)
        .collect())
}

/// Reads what exists for every resource of the plan and says what import would do.
pub async fn find(client: &ArmClient, model: &Model) -> Result<Import, ImportError> {
    let (facts, identity, _) = plan::discover(client, model).await?;
    let desired = desired::build(model, &facts).map_err(|e| PlanError::Missing(e.to_string()))?;
    let spec_sha = plan::sha256(
        desired
            .iter()
            .find(|r| r.kind == Kind::Api)
            .and_then(|r| r.body.pointer("/properties/value"))
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    let me = model.deployment.as_str();
    let mut out = Vec::new();
    let mut owned_elsewhere = Vec::new();
    let mut api_status = Status::Missing;
    for r in &desired {
        if r.kind == Kind::ApimIdentity {
            out.push(identity_found(r, &identity, model));
            continue;
        }
        if r.id.contains(desired::UNKNOWN) {
            let mut f = found(r, Status::Missing);
            f.note = Some("APIM's identity is not on yet: plan creates it once it is".into());
            out.push(f);
            continue;
        }
        let live = match r.kind {
            Kind::RoleAssignment => role_assignment(client, r).await?,
            _ => client.get_settled(&r.id, r.api_version).await?,
        };
        let Some(live) = live else {
            out.push(found(r, Status::Missing));
            continue;
        };
        let mut f = found(r, Status::Adopt);
        if let Some(id) = live.get("id").and_then(Value::as_str) {
            f.id = id.to_string();
        }
        f.location = live
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mark = match r.kind {
            Kind::ApiPolicy | Kind::Subscription | Kind::Diagnostic => Mark::None,
            _ => marks::mark_of(&live, Some(me)),
        };
        if let Mark::Other(d) = &mark {
            owned_elsewhere.push(format!(
                "{} ({}) belongs to aoai-lb deployment `{d}`",
                r.address, f.id
            ));
            continue;
        }
        let mut after = live.clone();
        match r.kind {
            Kind::ApiPolicy | Kind::Subscription | Kind::Diagnostic => {
                f.status = match api_status {
                    Status::Adopt | Status::Ours => api_status,
                    _ => Status::Kept,
                };
                if r.kind == Kind::Subscription && !scoped_to_api(&live, model) {
                    f.status = Status::Kept;
                    f.note =
                        Some("scoped to something else than the plan's API: not adopted".into());
                } else if f.status != Status::Kept {
                    f.note = Some("with its API: it carries no mark of its own".into());
                }
            }
            _ if matches!(mark, Mark::Ours | Mark::Legacy) => f.status = Status::Ours,
            Kind::ResourceGroup => {
                let others = group_holds_only(client, &r.id, &desired).await?;
                if others.is_empty() {
                    adopt(&mut f, r, &live, me, &mut after);
                } else {
                    f.status = Status::Kept;
                    f.note = Some(format!(
                        "holds {} other resource(s): used as it is, never deleted",
                        others.len()
                    ));
                }
            }
            _ => adopt(&mut f, r, &live, me, &mut after),
        }
        if r.kind == Kind::Api {
            api_status = f.status;
        }
        f.fields = differences(r, f.status, &after, &spec_sha);
        out.push(f);
    }
    if !owned_elsewhere.is_empty() {
        return Err(ImportError::Owned(owned_elsewhere));
    }
    Ok(Import { resources: out })
}

fn adopt(f: &mut Found, r: &DesiredResource, live: &Value, me: &str, after: &mut Value) {
    if let Some((write, marked, changes)) = marks_for(r.kind, live, &r.body, me) {
        f.write = Some(write);
        f.marks = changes;
        *after = marked;
    }
}

/// What `plan` will show for `r` once its marks are written (the same diff).
fn differences(
    r: &DesiredResource,
    status: Status,
    after: &Value,
    spec_sha: &str,
) -> Vec<FieldChange> {
    if status == Status::Kept {
        return vec![]; // plan uses it as it is
    }
    let mut fields = diff(r.kind, &r.body, after);
    if r.kind == Kind::Api {
        fields.extend(plan::spec_change(r, after, None, spec_sha));
    }
    fields
}

fn scoped_to_api(live: &Value, model: &Model) -> bool {
    let scope = live
        .pointer("/properties/scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    scope.ends_with(&format!("/apis/{}", model.apim.api.name.to_lowercase()))
}

/// The APIM service's identity is never owned: import says whether `plan` will turn it on.
fn identity_found(r: &DesiredResource, now: &ServiceIdentity, model: &Model) -> Found {
    let mut f = found(r, Status::Kept);
    let want = plan::wanted(&model.apim.identity);
    if now.satisfies(want) {
        f.note = Some("on, as the plan wants: used as it is".into());
    } else {
        f.note = Some("the APIM service is never owned: plan turns its identity on".into());
        f.fields.push(FieldChange {
            path: "identity.type".into(),
            old: Value::String(now.kind.clone()),
            new: now.patch_adding(want)["identity"]["type"].clone(),
            forces_replacement: false,
        });
    }
    f
}

/// Writes the marks and records every adopted (or already marked) resource in the
/// state, saving it after each. Returns how many marks were written.
pub async fn adopt_all(
    client: &ArmClient,
    model: &Model,
    plan_file: &str,
    import: &Import,
    locked: &mut LockedState,
) -> Result<usize, ImportError> {
    let at = locked.location().clone();
    locked
        .state
        .belongs_to(&at, &model.deployment, &model.subscription_id)?;
    locked
        .state
        .claim(&model.deployment, &model.subscription_id);
    locked.state.plan_file = plan_file.to_string();
    locked.state.plan = serde_json::to_value(model).unwrap_or(Value::Null);
    let mut written = 0;
    for f in &import.resources {
        if !matches!(f.status, Status::Adopt | Status::Ours) {
            continue;
        }
        if let Some(write) = &f.write {
            let sent = match write {
                Write::Put(body) => client.put(&f.id, &f.api_version, body).await,
                Write::Patch(body) => client.patch(&f.id, &f.api_version, body).await,
            };
            sent.map_err(|source| ImportError::Mark {
                address: f.address.clone(),
                source,
            })?;
            written += 1;
        }
        record(&mut locked.state, f);
        locked.save()?;
    }
    Ok(written)
}

fn record(state: &mut State, f: &Found) {
    state.upsert(Entry {
        address: f.address.clone(),
        kind: f.kind,
        id: f.id.clone(),
        api_version: f.api_version.clone(),
        owned: true,
        pending: false,
        spec_sha256: None,
        location: if f.kind == Kind::Account {
            f.location.clone()
        } else {
            None
        },
    });
}

/// For `plan`: a role assignment the state records under another name than aoai-lb
/// would give it (an imported one) is that one while it still grants the same role to
/// the same principal on the same scope; otherwise the plan's own name stands (and the
/// recorded one is deleted as before). Without a state entry (a lost state), the
/// assignment that grants it and carries this deployment's mark is the one.
pub async fn recorded_role_assignments(
    client: &ArmClient,
    listings: &Listings,
    state: &State,
    deployment: &str,
    desired: &mut [DesiredResource],
) -> Result<(), ArmError> {
    for r in desired
        .iter_mut()
        .filter(|r| r.kind == Kind::RoleAssignment)
    {
        if r.id.contains(desired::UNKNOWN) {
            continue;
        }
        let Some(e) = state.get(&r.address) else {
            if let Some(live) = listed_role_assignment(client, listings, r, None).await?
                && marks::mark_of(&live, Some(deployment)) == Mark::Ours
                && let Some(id) = live.get("id").and_then(Value::as_str)
            {
                r.id = id.to_string();
            }
            continue;
        };
        if e.id.eq_ignore_ascii_case(&r.id) {
            continue;
        }
        if let Some(live) = listed_role_assignment(client, listings, r, Some(&e.id)).await?
            && same_grant(&live, r)
        {
            r.id = e.id.clone();
        }
    }
    Ok(())
}

/// The role assignment `id` (or, without one, the one that grants what `r` wants) from
/// the listing of its resource group (see [`crate::reads`]): no GET per assignment.
async fn listed_role_assignment(
    client: &ArmClient,
    listings: &Listings,
    r: &DesiredResource,
    id: Option<&str>,
) -> Result<Option<Value>, ArmError> {
    let (wanted, by_grant) = match id {
        Some(id) => (id, false),
        None => (r.id.as_str(), true),
    };
    let Some(collection) = reads::collection_of(Kind::RoleAssignment, wanted) else {
        return client.get(wanted, r.api_version).await;
    };
    let all = listings
        .list(client, &collection, r.api_version, None)
        .await?;
    Ok(reads::find(&all, wanted)
        .or_else(|| all.iter().find(|ra| by_grant && same_grant(ra, r)))
        .cloned())
}
