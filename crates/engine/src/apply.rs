//! Executing a plan: every change as a node of a dependency graph (everything
//! independent in parallel, deployments one at a time per account), each change
//! sending the request the plan holds (see [`crate::execute`]). Values Azure assigns
//! (the identity's principal) reach the changes that need them from the results of
//! the changes they depend on; nothing is decided again here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::error::ChangeError;
use super::execute::{DeletedAccount, Shared, entry_for, run_change};
use super::graph::{self, Cancel, Node, Outcome};
use super::plan::{Action, Change, Plan};
use super::state::LockedState;
use aoai_lb_arm::{ArmClient, Counts};
use aoai_lb_core::desired::Kind;
use aoai_lb_core::model::Model;

/// What the engine tells a view as it works.
pub trait Observer: Send + Sync {
    fn started(&self, change: &Change);
    fn finished(&self, change: &Change, elapsed: Duration, result: &Result<(), ChangeError>);
    /// No longer waited for (a second Ctrl-C): Azure may still be working on it; its state
    /// entry stays as written ahead (pending), for the next run to resolve.
    fn abandoned(&self, _change: &Change) {}
}

/// An observer that says nothing.
pub struct Silent;

impl Observer for Silent {
    fn started(&self, _: &Change) {}
    fn finished(&self, _: &Change, _: Duration, _: &Result<(), ChangeError>) {}
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

/// One change that failed, with ARM's status and error code when ARM said no.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub address: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Failure {
    fn new(address: &str, e: &ChangeError) -> Failure {
        Failure {
            address: address.to_string(),
            message: e.to_string(),
            status: e.arm().and_then(|a| a.status()),
            code: e.arm().and_then(|a| a.code()).map(str::to_string),
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
    /// Deleted (an account also purged) and created again.
    pub replaced: usize,
    /// Soft-deleted accounts recovered.
    pub restored: usize,
    /// (address, message) of each failed change.
    pub failed: Vec<(String, String)>,
    /// The same failures, with ARM's status and code.
    pub failures: Vec<Failure>,
    pub skipped: Vec<String>,
    pub cancelled: Vec<String>,
    /// Started, then no longer waited for (a second Ctrl-C): Azure may still be working
    /// on them; the next run resolves them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub abandoned: Vec<String>,
    /// Why the state file could not be written (the run stopped there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_error: Option<String>,
    /// Resources not updated or deleted because they no longer carry this deployment's
    /// mark (address, why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<(String, String)>,
    /// Accounts this run deleted (soft-deleted, or purged with `--purge`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted_accounts: Vec<DeletedAccount>,
    pub requests: Counts,
    pub wall_seconds: f64,
    /// When each change started and ended (seconds since the start), for the benchmark.
    #[serde(skip)]
    pub timeline: BTreeMap<String, (f64, f64)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && self.cancelled.is_empty()
            && self.abandoned.is_empty()
            && self.state_error.is_none()
    }
}

/// Who runs a plan, against what, and how.
pub struct Run<'a> {
    pub client: &'a ArmClient,
    /// The plan's model, recorded in the state so destroy works without the file;
    /// None for destroy, which only deletes.
    pub model: Option<&'a Model>,
    /// The plan file as given, recorded in the state.
    pub plan_file: &'a str,
    pub options: ApplyOptions,
    pub observer: Arc<dyn Observer>,
    pub cancel: Cancel,
}

/// Applies a plan. The state is saved after every change; a save that fails stops
/// the run (nothing new starts) and is reported.
pub async fn apply(run: Run<'_>, plan: Plan, state: LockedState) -> (Report, LockedState) {
    let Run {
        client,
        model,
        plan_file,
        options,
        observer,
        cancel,
    } = run;
    let before = client.counts();
    // Stopped by the user (cancel) or by the engine itself (a state it cannot write).
    let stop = cancel.child();
    let deployment = model
        .map(|m| m.deployment.clone())
        .or_else(|| state.state.owner().map(|(d, _)| d));
    let mut shared = Shared::new(
        client.clone(),
        state,
        &plan.changes,
        plan.spec_sha256.clone(),
        observer,
        options.clone(),
        stop.clone(),
    );
    shared.deployment = deployment;
    let shared = Arc::new(shared);
    if let Some(model) = model {
        let _ = shared.save(|s| {
            s.plan_file = plan_file.to_string();
            s.claim(&model.deployment, &model.subscription_id);
            s.plan = serde_json::to_value(model).unwrap_or(Value::Null);
        });
    }
    record_unchanged(&shared, &plan);

    // Creates and updates first, then deletes (children first) and what follows them,
    // so a pool has shrunk before the backend it no longer lists is deleted.
    let (writes, after_deletes) = phases(&plan);
    let mut outcomes = walk(&shared, writes, &stop).await;
    if !stop.is_cancelled() && outcomes.values().all(|o| matches!(o, Outcome::Done)) {
        outcomes.extend(walk(&shared, after_deletes, &stop).await);
    } else {
        for n in after_deletes {
            outcomes.insert(n.key, Outcome::Cancelled);
        }
    }

    for c in &plan.changes {
        if matches!(outcomes.get(&c.key()), Some(Outcome::Abandoned)) {
            shared.observer.abandoned(c);
        }
    }
    let mut report = tally(&plan, outcomes, cancel.is_cancelled());
    let after = client.counts();
    report.requests = Counts {
        reads: after.reads - before.reads,
        writes: after.writes - before.writes,
        polls: after.polls - before.polls,
        retries: after.retries - before.retries,
    };
    report.wall_seconds = shared.started.elapsed().as_secs_f64();
    report.timeline = shared.timeline.lock().expect("timeline").clone();
    report.state_error = shared.state_error.lock().expect("state error").clone();
    report.left_alone = shared.left_alone.lock().expect("left alone").clone();
    report.deleted_accounts = shared
        .deleted_accounts
        .lock()
        .expect("deleted accounts")
        .clone();
    // What was left alone was neither updated nor deleted.
    for (address, _) in &report.left_alone {
        match plan
            .changes
            .iter()
            .find(|c| &c.address == address && c.action != Action::NoOp)
        {
            Some(c) if c.action == Action::Delete => {
                report.deleted = report.deleted.saturating_sub(1)
            }
            Some(c) if c.action == Action::Update => {
                report.updated = report.updated.saturating_sub(1)
            }
            _ => {}
        }
    }
    let shared = Arc::try_unwrap(shared)
        .ok()
        .expect("no task holds the engine after the walk");
    (report, shared.state.into_inner().expect("state lock"))
}

/// Unchanged resources need no request; make sure the state lists the owned ones.
fn record_unchanged(shared: &Shared, plan: &Plan) {
    for c in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
        if c.owned && c.kind != Kind::ApimIdentity {
            let entry = entry_for(c, &plan.spec_sha256);
            // A failure is recorded in `shared` and stops the run.
            let _ = shared.save(|s| {
                if s.get(&c.address).is_none_or(|e| e.pending || e.id != c.id) {
                    s.upsert(entry);
                }
            });
        }
    }
}

async fn walk(
    shared: &Arc<Shared>,
    nodes: Vec<Node<Change>>,
    stop: &Cancel,
) -> BTreeMap<String, Outcome<ChangeError>> {
    let s = shared.clone();
    graph::walk(
        nodes,
        shared.options.max_operations,
        stop.clone(),
        move |_, change| {
            let s = s.clone();
            async move { run_change(&s, change).await }
        },
    )
    .await
}

/// The report of a walk: each change counted once, by its outcome. Changes that did
/// not start because the engine stopped itself are skipped, not cancelled.
fn tally(
    plan: &Plan,
    mut outcomes: BTreeMap<String, Outcome<ChangeError>>,
    user_cancelled: bool,
) -> Report {
    let mut report = Report::default();
    for c in &plan.changes {
        if c.action == Action::NoOp {
            report.unchanged += 1;
            continue;
        }
        match outcomes.remove(&c.key()) {
            Some(Outcome::Done) => match c.action {
                Action::Create => report.created += 1,
                Action::Update => report.updated += 1,
                Action::Delete => report.deleted += 1,
                Action::Replace => report.replaced += 1,
                Action::Restore => report.restored += 1,
                Action::NoOp => {}
            },
            Some(Outcome::Failed(e)) => {
                report.failed.push((c.address.clone(), e.to_string()));
                report.failures.push(Failure::new(&c.address, &e));
            }
            Some(Outcome::Abandoned) => report.abandoned.push(c.address.clone()),
            Some(Outcome::Cancelled) if user_cancelled => report.cancelled.push(c.address.clone()),
            Some(Outcome::Skipped | Outcome::Cancelled) => report.skipped.push(c.address.clone()),
            None => {}
        }
    }
    report
}

/// The two walks: creates and updates, then deletes and the changes that wait for
/// deletes (destroy's identity restore).
fn phases(plan: &Plan) -> (Vec<Node<Change>>, Vec<Node<Change>>) {
    let delete_keys: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(Change::key)
        .collect();
    let after_deletes = |c: &Change| {
        c.action == Action::Delete || c.depends_on.iter().any(|d| delete_keys.contains(d))
    };
    let node = |c: &Change| Node {
        key: c.key(),
        deps: c.depends_on.clone(),
        item: c.clone(),
    };
    let writes = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Create | Action::Update | Action::Replace | Action::Restore
            ) && !after_deletes(c)
        })
        .map(node)
        .collect();
    let mut second = delete_nodes(plan);
    second.extend(
        plan.changes
            .iter()
            .filter(|c| c.action != Action::Delete && after_deletes(c))
            .map(node),
    );
    (writes, second)
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

#[cfg(test)]
mod tests;
