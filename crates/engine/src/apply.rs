//! Executing a plan: every change as a node of a dependency graph (everything
//! independent in parallel, deployments one at a time per account), the state file
//! written before each create and after each change, values Azure assigns (the
//! identity's principal) fed to the resources that need them as soon as they exist.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::graph::{self, Cancel, Node, Outcome};
use super::plan::{Action, Change, Plan};
use super::state::{Entry, LockedState};
use aoai_lb_arm::resources::ServiceIdentity;
use aoai_lb_arm::{ArmClient, ArmError, Counts};
use aoai_lb_core::desired::{self, Facts, Kind};
use aoai_lb_core::ids;
use aoai_lb_core::model::Model;

/// What the engine tells a view as it works.
pub trait Observer: Send + Sync {
    fn started(&self, change: &Change);
    fn finished(&self, change: &Change, elapsed: Duration, result: &Result<(), String>);
}

/// An observer that says nothing.
pub struct Silent;

impl Observer for Silent {
    fn started(&self, _: &Change) {}
    fn finished(&self, _: &Change, _: Duration, _: &Result<(), String>) {}
}

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Most changes in progress at once (waits included). Unbounded by default: the ARM
    /// client bounds the requests in flight, and an operation waiting between polls
    /// should not keep quick work from starting. 1 gives a one-at-a-time executor.
    pub max_operations: usize,
    /// Destroy: also purge soft-deleted accounts.
    pub purge: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            max_operations: usize::MAX,
            purge: false,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<String>,
    pub cancelled: Vec<String>,
    pub requests: Counts,
    pub wall_seconds: f64,
    /// When each change started and ended (seconds since the start), for the benchmark.
    #[serde(skip)]
    pub timeline: BTreeMap<String, (f64, f64)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.cancelled.is_empty()
    }
}

struct Shared {
    client: ArmClient,
    /// None for destroy, which only deletes.
    model: Option<Model>,
    state: Mutex<LockedState>,
    facts: Mutex<Facts>,
    plan: Plan,
    observer: Arc<dyn Observer>,
    options: ApplyOptions,
    started: Instant,
    timeline: Mutex<BTreeMap<String, (f64, f64)>>,
}

impl Shared {
    /// What the state records at this address now.
    fn recorded(&self, address: &str) -> Option<Entry> {
        self.state
            .lock()
            .expect("state lock")
            .state
            .get(address)
            .cloned()
    }

    fn save(&self, edit: impl FnOnce(&mut super::state::State)) -> Result<(), String> {
        let mut s = self.state.lock().expect("state lock");
        edit(&mut s.state);
        s.save().map_err(|e| e.to_string())
    }
}

/// Who runs a plan, against what, and how.
pub struct Run<'a> {
    pub client: &'a ArmClient,
    /// The plan's model; None for destroy, which only deletes.
    pub model: Option<&'a Model>,
    /// The plan file as given, recorded in the state.
    pub plan_file: &'a str,
    pub options: ApplyOptions,
    pub observer: Arc<dyn Observer>,
    pub cancel: Cancel,
}

/// Applies a plan. The state is saved after every change, whatever happens.
pub async fn apply(run: Run<'_>, plan: Plan, state: LockedState) -> (Report, LockedState) {
    let Run {
        client,
        model,
        plan_file,
        options,
        observer,
        cancel,
    } = run;
    let started = Instant::now();
    let before = client.counts();
    let shared = Arc::new(Shared {
        client: client.clone(),
        model: model.cloned(),
        facts: Mutex::new(plan.facts.clone()),
        state: Mutex::new(state),
        plan: plan.clone(),
        observer,
        options: options.clone(),
        started,
        timeline: Mutex::new(BTreeMap::new()),
    });
    if let Some(model) = model {
        let _ = shared.save(|s| {
            s.plan_file = plan_file.to_string();
            s.plan = serde_json::to_value(model).unwrap_or(Value::Null);
        });
    }

    let mut report = Report::default();
    // Unchanged resources need no request; make sure the state lists the owned ones.
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        report.unchanged += 1;
        if let (true, Some(model)) = (c.owned && c.kind != Kind::ApimIdentity, model) {
            let entry = entry_for(c, &shared.plan.spec_sha256, model);
            let _ = shared.save(|s| {
                if s.get(&c.address).is_none_or(|e| e.pending || e.id != c.id) {
                    s.upsert(entry);
                }
            });
        }
    }

    // Creates and updates first, then deletes (children first), so a pool has shrunk
    // before the backend it no longer lists is deleted.
    let writes: Vec<Node<Change>> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update))
        .map(|c| Node {
            key: c.key(),
            deps: c.depends_on.clone(),
            item: c.clone(),
        })
        .collect();
    let s = shared.clone();
    let mut outcomes = graph::walk(
        writes,
        options.max_operations,
        cancel.clone(),
        move |_, change| {
            let s = s.clone();
            async move { run_change(&s, change).await }
        },
    )
    .await;

    let deletes = delete_nodes(&plan);
    if !cancel.is_cancelled() && outcomes.values().all(|o| *o == Outcome::Done) {
        let s = shared.clone();
        outcomes.extend(
            graph::walk(
                deletes,
                options.max_operations,
                cancel.clone(),
                move |_, change| {
                    let s = s.clone();
                    async move { run_change(&s, change).await }
                },
            )
            .await,
        );
    } else {
        for n in deletes {
            outcomes.insert(
                n.key,
                if cancel.is_cancelled() {
                    Outcome::Cancelled
                } else {
                    Outcome::Skipped
                },
            );
        }
    }

    for c in &plan.changes {
        match outcomes.get(&c.key()) {
            Some(Outcome::Done) => match c.action {
                Action::Create => report.created += 1,
                Action::Update => report.updated += 1,
                Action::Delete => report.deleted += 1,
                Action::NoOp => {}
            },
            Some(Outcome::Failed(e)) => report.failed.push((c.address.clone(), e.clone())),
            Some(Outcome::Skipped) => report.skipped.push(c.address.clone()),
            Some(Outcome::Cancelled) => report.cancelled.push(c.address.clone()),
            None => {}
        }
    }
    let after = client.counts();
    report.requests = Counts {
        reads: after.reads - before.reads,
        writes: after.writes - before.writes,
        polls: after.polls - before.polls,
        retries: after.retries - before.retries,
    };
    report.wall_seconds = started.elapsed().as_secs_f64();
    report.timeline = shared.timeline.lock().expect("timeline").clone();
    let shared = Arc::try_unwrap(shared)
        .ok()
        .expect("no task holds the engine after the walk");
    (report, shared.state.into_inner().expect("state lock"))
}

/// Deletes, children before parents: each waits for the deletes of every kind that
/// comes later in the contract's order; deployments of one account go one at a time.
fn delete_nodes(plan: &Plan) -> Vec<Node<Change>> {
    let deletes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    let mut nodes = Vec::new();
    let mut last_deployment_of: BTreeMap<String, String> = BTreeMap::new();
    for c in &deletes {
        let mut deps: Vec<String> = deletes
            .iter()
            .filter(|d| d.kind > c.kind)
            .map(|d| d.key())
            .collect();
        if c.kind == Kind::Deployment {
            let account =
                c.id.split("/deployments/")
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
            if let Some(prev) = last_deployment_of.insert(account, c.key()) {
                deps.push(prev);
            }
        }
        nodes.push(Node {
            key: c.key(),
            deps,
            item: (*c).clone(),
        });
    }
    nodes
}

fn entry_for(c: &Change, spec_sha: &str, model: &Model) -> Entry {
    Entry {
        address: c.address.clone(),
        kind: c.kind,
        id: c.id.clone(),
        api_version: c.api_version.clone(),
        owned: c.owned,
        pending: false,
        spec_sha256: (c.kind == Kind::Api).then(|| spec_sha.to_string()),
        location: (c.kind == Kind::Account)
            .then(|| {
                model
                    .accounts
                    .iter()
                    .find(|a| c.address == format!("account.{}", a.name))
                    .map(|a| a.location.clone())
            })
            .flatten(),
    }
}

async fn run_change(s: &Shared, change: Change) -> Result<(), String> {
    s.observer.started(&change);
    let t0 = s.started.elapsed().as_secs_f64();
    let begun = Instant::now();
    let result = execute(s, &change).await;
    let t1 = s.started.elapsed().as_secs_f64();
    s.timeline
        .lock()
        .expect("timeline")
        .insert(change.key(), (t0, t1));
    s.observer.finished(&change, begun.elapsed(), &result);
    result
}

async fn execute(s: &Shared, change: &Change) -> Result<(), String> {
    let err = |e: ArmError| e.to_string();
    match change.action {
        Action::Delete => {
            if change.kind == Kind::ResourceGroup {
                refuse_if_foreign(s, change).await?;
            }
            s.client
                .delete(&change.id, &change.api_version)
                .await
                .map_err(err)?;
            let entry = s.recorded(&change.address);
            if change.kind == Kind::Account
                && s.options.purge
                && let Some(location) = entry.as_ref().and_then(|e| e.location.clone())
            {
                let (sub, rg, name) =
                    parse_account_id(&change.id).ok_or("unexpected account id")?;
                let deleted = ids::deleted_account(&sub, &location, &rg, &name);
                s.client
                    .delete(&deleted, ids::api_version::COGNITIVE_SERVICES)
                    .await
                    .map_err(err)?;
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
        Action::Create | Action::Update => {
            if change.kind == Kind::ApimIdentity {
                return enable_identity(s, change).await;
            }
            // Bodies are built now, from what is known now (the principal may have
            // appeared since the plan was made).
            let model = s
                .model
                .as_ref()
                .ok_or("no plan to build the resource from")?;
            let facts = s.facts.lock().expect("facts").clone();
            let desired = desired::build(model, &facts)?;
            let r = desired
                .iter()
                .find(|d| d.address == change.address)
                .ok_or_else(|| format!("{} is no longer in the plan", change.address))?;
            if r.id.contains(desired::UNKNOWN) {
                return Err(format!(
                    "{}: the APIM identity's principal id is still unknown",
                    change.address
                ));
            }
            let mut entry = entry_for(change, &s.plan.spec_sha256, model);
            entry.id = r.id.clone();
            let recorded = s.recorded(&change.address);
            if change.action == Action::Create || recorded.is_some() {
                // Write-ahead: if we die after ARM acts and before we record it, the
                // next run still knows this resource may be ours.
                let mut pending = entry.clone();
                pending.pending = recorded.as_ref().is_none_or(|e| e.pending);
                pending.owned = recorded.as_ref().map(|e| e.owned).unwrap_or(change.owned);
                s.save(|st| st.upsert(pending))?;
            }
            match s.client.put(&r.id, r.api_version, &r.body).await {
                Ok(_) => {}
                Err(e)
                    if change.kind == Kind::RoleAssignment
                        && e.code() == Some("RoleAssignmentExists") =>
                {
                    // The same assignment exists under another name: satisfied, not ours.
                    return s.save(|st| st.remove(&change.address));
                }
                Err(e) => return Err(err(e)),
            }
            entry.owned = recorded.as_ref().map(|e| e.owned).unwrap_or(change.owned);
            if change.action == Action::Update && recorded.is_none() && !change.owned {
                return Ok(());
            }
            s.save(|st| st.upsert(entry))
        }
        Action::NoOp => Ok(()),
    }
}

/// Deleting a group deletes everything in it: refuse when it holds anything aoai-lb did
/// not create (as Terraform's `prevent_deletion_if_contains_resources` does).
async fn refuse_if_foreign(s: &Shared, change: &Change) -> Result<(), String> {
    let listing = format!("{}/resources", change.id);
    let url = s
        .client
        .url(&listing, ids::api_version::RESOURCES)
        .map_err(|e| e.to_string())?;
    let r = s
        .client
        .send(
            azure_core::http::Method::Get,
            url,
            None,
            aoai_lb_arm::stats::RequestClass::Read,
            &listing,
        )
        .await
        .map_err(|e| e.to_string())?;
    if r.status == 404 {
        return Ok(()); // the group is already gone
    }
    if r.status != 200 {
        return Err(ArmClient::api_error(&azure_core::http::Method::Get, &listing, &r).to_string());
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
    let foreign: Vec<String> = r.body["value"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .filter(|id| !ours.contains(&id.to_lowercase()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "kept: the resource group holds resources aoai-lb did not create ({}); delete them first, or delete the group yourself",
            foreign.join(", ")
        ))
    }
}

async fn enable_identity(s: &Shared, change: &Change) -> Result<(), String> {
    let found = s.plan.apim_identity_found.clone();
    s.save(|st| {
        if st.apim_identity_before.is_none() {
            st.apim_identity_before = Some(found);
            st.apim_service_id = Some(change.id.clone());
        }
    })?;
    let model = s
        .model
        .as_ref()
        .ok_or("no plan to take the identity from")?;
    let body = s
        .plan
        .apim_identity
        .patch_adding(crate::plan::wanted(&model.apim.identity));
    let service = s
        .client
        .patch(&change.id, &change.api_version, &body)
        .await
        .map_err(|e| e.to_string())?;
    let now = ServiceIdentity::from_service(&service);
    let mut facts = s.facts.lock().expect("facts");
    match &model.apim.identity {
        aoai_lb_core::model::Identity::SystemAssigned => {
            facts.principal_id = now.principal_id.clone();
            if facts.principal_id.is_none() {
                return Err("APIM turned its identity on but returned no principalId".into());
            }
        }
        aoai_lb_core::model::Identity::UserAssigned { id } => {
            if let Some(u) = now.user(id) {
                facts.principal_id = u.principal_id.clone().or(facts.principal_id.clone());
                facts.client_id = u.client_id.clone().or(facts.client_id.clone());
            }
        }
    }
    Ok(())
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
