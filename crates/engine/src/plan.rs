//! Computing a plan: read the live state of every desired resource (in parallel), diff
//! it against the desired state, and list what `apply` will create, update, leave or
//! delete. A plan is plain data: `apply` executes it and does not decide again.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diff::{FieldChange, diff};
use super::state::State;
use aoai_lb_arm::resources::{ServiceIdentity, WantedIdentity, user_assigned_identity};
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::{self, DesiredResource, Facts, Kind};
use aoai_lb_core::ids::api_version;
use aoai_lb_core::model::{Identity, Model};
use aoai_lb_core::validate::{OWNER_TAG, OWNER_TAG_VALUE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    NoOp,
    Delete,
}

/// One line of the plan.
#[derive(Clone, Debug, Serialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Whether aoai-lb owns it after apply (false: it existed before; destroy leaves it).
    pub owned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub changes: Vec<Change>,
    /// What was known of Azure's own values when the plan was made.
    #[serde(skip)]
    pub facts: Facts,
    /// The APIM service identity as found (put back by destroy).
    #[serde(skip)]
    pub apim_identity_found: Value,
    #[serde(skip)]
    pub apim_identity: ServiceIdentity,
    /// SHA-256 of the spec the API will import.
    #[serde(skip)]
    pub spec_sha256: String,
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
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// Things that stop a plan before any diff: the plan's APIM service or identity is missing.
#[derive(Debug)]
pub enum PlanError {
    Arm(ArmError),
    Missing(String),
    /// Resources that exist, were not created by aoai-lb, and which it will not take over.
    Conflicts(Vec<String>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Arm(e) => e.fmt(f),
            PlanError::Missing(m) => f.write_str(m),
            PlanError::Conflicts(list) => write!(
                f,
                "these resources already exist and were not created by aoai-lb, which will not take them over:\n{}\nRemove them from the plan, delete them, or tag them `{OWNER_TAG}: {OWNER_TAG_VALUE}` to let aoai-lb own them.",
                list.iter()
                    .map(|l| format!("  - {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

impl From<ArmError> for PlanError {
    fn from(e: ArmError) -> Self {
        PlanError::Arm(e)
    }
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

/// Whether a resource carries aoai-lb's mark: the ownership tag, or (where ARM has no
/// tags) a description that says so.
/// The ARM client's name for the identity a plan wants.
pub fn wanted(identity: &Identity) -> WantedIdentity<'_> {
    match identity {
        Identity::SystemAssigned => WantedIdentity::System,
        Identity::UserAssigned { id } => WantedIdentity::User(id),
    }
}

fn marked_ours(live: &Value) -> bool {
    live.pointer(&format!("/tags/{OWNER_TAG}"))
        .and_then(Value::as_str)
        == Some(OWNER_TAG_VALUE)
        || live
            .pointer("/properties/description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains(desired::MANAGED_MARK) || d.starts_with("aoai-lb:"))
}

/// Computes the plan.
pub async fn plan(client: &ArmClient, model: &Model, state: &State) -> Result<Plan, PlanError> {
    let (facts, identity, found) = discover(client, model).await?;
    let desired = desired::build(model, &facts).map_err(PlanError::Missing)?;
    let spec_text = desired
        .iter()
        .find(|r| r.kind == Kind::Api)
        .and_then(|r| r.body.pointer("/properties/value"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let spec_sha256 = sha256(&spec_text);

    // Read every desired resource at once (the client bounds requests in flight).
    let mut reads = tokio::task::JoinSet::new();
    for (i, r) in desired.iter().enumerate() {
        if r.kind == Kind::ApimIdentity || r.id.contains(desired::UNKNOWN) {
            continue;
        }
        let (client, id, v) = (client.clone(), r.id.clone(), r.api_version);
        reads.spawn(async move { (i, client.get(&id, v).await) });
    }
    let mut live: BTreeMap<usize, Option<Value>> = BTreeMap::new();
    while let Some(joined) = reads.join_next().await {
        let (i, result) =
            joined.map_err(|e| PlanError::Missing(format!("a read task failed: {e}")))?;
        live.insert(i, result?);
    }

    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    for (i, r) in desired.iter().enumerate() {
        let live = live.get(&i).cloned().flatten();
        match change_for(r, live, state, &identity, model, &spec_sha256) {
            Ok(c) => changes.push(c),
            Err(conflict) => conflicts.push(conflict),
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    // The policy and the subscription live on the API (they carry no mark of their own):
    // when the API is aoai-lb's, so are they.
    if changes.iter().any(|c| c.kind == Kind::Api && c.owned) {
        for c in changes
            .iter_mut()
            .filter(|c| matches!(c.kind, Kind::ApiPolicy | Kind::Subscription))
        {
            if state.get(&c.address).is_none() && !c.owned {
                c.owned = true;
                c.note = None;
            }
        }
    }

    // Owned resources in the state that the plan no longer has, or whose id changed
    // (a role assignment for a new principal), are deleted, children first.
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
    for e in deletes {
        changes.push(Change::delete(e));
    }
    Ok(Plan {
        changes,
        facts,
        apim_identity_found: found,
        apim_identity: identity,
        spec_sha256,
    })
}

fn change_for(
    r: &DesiredResource,
    live: Option<Value>,
    state: &State,
    identity: &ServiceIdentity,
    model: &Model,
    spec_sha: &str,
) -> Result<Change, String> {
    let entry = state.get(&r.address);
    let mut c = Change {
        address: r.address.clone(),
        kind: r.kind,
        id: r.id.clone(),
        api_version: r.api_version.to_string(),
        action: Action::NoOp,
        fields: vec![],
        depends_on: r.depends_on.clone(),
        owned: r.owned,
        note: None,
    };
    if r.kind == Kind::ApimIdentity {
        c.owned = false;
        if !identity.satisfies(wanted(&model.apim.identity)) {
            c.action = Action::Update;
            let want = identity.patch_adding(wanted(&model.apim.identity));
            c.fields.push(FieldChange {
                path: "identity.type".into(),
                old: Value::String(identity.kind.clone()),
                new: want["identity"]["type"].clone(),
            });
        }
        return Ok(c);
    }
    if r.id.contains(desired::UNKNOWN) {
        c.action = Action::Create;
        c.note = Some("name and principal known after the identity is on".into());
        return Ok(c);
    }
    match live {
        None => c.action = Action::Create,
        Some(live) => {
            c.owned = match entry {
                Some(e) => e.owned,
                None => r.owned && marked_ours(&live),
            };
            if entry.is_none() && !c.owned {
                match r.kind {
                    // An existing group is used as it is: never changed, never deleted.
                    Kind::ResourceGroup => {
                        c.note = Some("exists: used as it is; aoai-lb never changes or deletes it".into());
                        return Ok(c);
                    }
                    // A PUT would replace its settings and tags: refuse to take it over.
                    Kind::Account | Kind::Deployment => return Err(format!("{} ({})", r.address, r.id)),
                    _ => {
                        c.note = Some("exists and was not created by aoai-lb: apply updates it, destroy leaves it".into())
                    }
                }
            }
            c.fields = diff(r.kind, &r.body, &live);
            if r.kind == Kind::Api {
                // ARM never returns the imported spec: the state remembers its hash. Without
                // a record, the service URL the spec sets is what can be compared.
                let imported = entry.and_then(|e| e.spec_sha256.as_deref());
                let same_without_record = imported.is_none()
                    && live
                        .pointer("/properties/serviceUrl")
                        .and_then(Value::as_str)
                        == spec_server_url(&r.body).as_deref();
                if imported != Some(spec_sha) && !same_without_record {
                    c.fields.push(FieldChange {
                        path: "properties.value (spec)".into(),
                        old: imported
                            .map(|s| Value::String(format!("sha256:{}", &s[..12])))
                            .unwrap_or(Value::String("(not imported by aoai-lb)".into())),
                        new: Value::String(format!("sha256:{}", &spec_sha[..12])),
                    });
                }
            }
            if !c.fields.is_empty() {
                c.action = Action::Update;
            }
        }
    }
    Ok(c)
}

/// `servers[0].url` of the spec an API body imports.
fn spec_server_url(api_body: &Value) -> Option<String> {
    let text = api_body.pointer("/properties/value")?.as_str()?;
    let spec: Value = serde_json::from_str(text).ok()?;
    spec.pointer("/servers/0/url")?.as_str().map(str::to_string)
}

/// The plan of `destroy`: delete every resource the state says aoai-lb owns, children
/// first. No reads: a resource already gone is a successful delete.
pub fn destroy_plan(state: &State) -> Plan {
    let mut entries: Vec<&super::state::Entry> = state
        .resources
        .iter()
        .filter(|e| e.owned || e.pending)
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.kind));
    let changes = entries.into_iter().map(Change::delete).collect();
    Plan {
        changes,
        facts: Facts::default(),
        apim_identity_found: Value::Null,
        apim_identity: ServiceIdentity::default(),
        spec_sha256: String::new(),
    }
}
