//! Long-running operations. Nothing runs in the background: an operation records when it
//! started and how long it takes, and every request first settles the operations that
//! are due (`advance`), applying their effect on the store. Under the `instant` profile
//! an operation is due once its poll URL or its resource has been read.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::address::{Namespace, Poll};
use super::config::LroKind;
use super::reply::ArmError;
use super::store::{Kind, Store, key};

/// What an operation does when it ends.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    AccountCreate,
    AccountDelete,
    DeploymentPut,
    DeploymentDelete,
    ApimIdentity,
    ApiImport,
    GroupDelete,
    Purge,
    /// A Log Analytics workspace's provisioning (no poll URL: its provisioningState).
    WorkspaceCreate,
}

impl OpKind {
    /// (duration, Retry-After) in seconds under the `azure` profile (docs/emulator.md).
    pub fn timing(self) -> (f64, f64) {
        match self {
            OpKind::AccountCreate => (30.0, 10.0),
            OpKind::AccountDelete => (10.0, 10.0),
            OpKind::DeploymentPut => (60.0, 15.0),
            OpKind::DeploymentDelete => (10.0, 10.0),
            OpKind::ApimIdentity => (20.0, 10.0),
            OpKind::ApiImport => (5.0, 2.0),
            OpKind::GroupDelete => (15.0, 15.0),
            OpKind::Purge => (10.0, 10.0),
            // The emulator's choice: the recording shows `Creating` at the PUT and
            // `Succeeded` at the next request, 70 s later, so no duration is recorded.
            OpKind::WorkspaceCreate => (5.0, 5.0),
        }
    }

    /// The `failLro` kind that can make it fail.
    pub fn fault_kind(self) -> Option<LroKind> {
        match self {
            OpKind::AccountCreate => Some(LroKind::Account),
            OpKind::DeploymentPut => Some(LroKind::Deployment),
            OpKind::ApimIdentity => Some(LroKind::ApimIdentity),
            OpKind::ApiImport => Some(LroKind::Api),
            OpKind::GroupDelete => Some(LroKind::ResourceGroupDelete),
            _ => None,
        }
    }

    /// Whether the operation removes its resource (its `Location` ends in 204).
    pub fn removes(self) -> bool {
        matches!(
            self,
            OpKind::AccountDelete | OpKind::DeploymentDelete | OpKind::GroupDelete | OpKind::Purge
        )
    }

    fn describe(self) -> &'static str {
        match self {
            OpKind::AccountCreate => "account creation",
            OpKind::AccountDelete => "account deletion",
            OpKind::DeploymentPut => "deployment",
            OpKind::DeploymentDelete => "deployment deletion",
            OpKind::ApimIdentity => "API Management identity update",
            OpKind::ApiImport => "API import",
            OpKind::GroupDelete => "resource group deletion",
            OpKind::Purge => "purge",
            OpKind::WorkspaceCreate => "workspace creation",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum OpStatus {
    InProgress,
    Succeeded,
    Failed,
}

/// One long-running operation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub id: String,
    pub kind: OpKind,
    /// The resource id it works on (for a purge: the deleted account's id).
    pub target: String,
    pub sub: String,
    pub namespace: Namespace,
    pub started_ms: u64,
    pub duration_ms: u64,
    /// The scaled Retry-After, in ms.
    pub retry_ms: u64,
    /// `instant` profile: due once read, not before.
    pub until_observed: bool,
    pub observed: bool,
    /// Ends Failed (failLro).
    pub fail: bool,
    pub status: OpStatus,
    pub start_time: String,
    pub end_time: Option<String>,
    /// A poll before this (ms since start) is early; 0 once a terminal status was sent.
    pub next_poll_ms: u64,
    /// The api-version of the request that started it, which its poll URLs carry (ARM's
    /// operation URLs repeat the caller's version). Empty in state files written before
    /// versions were windows: the namespace's version then.
    #[serde(default)]
    pub api_version: String,
    /// Cognitive Services: the location its URLs name (`op_urls::region`).
    #[serde(default)]
    pub region: String,
    /// What its status URL reports while it runs (`op_urls::running_status`); empty in
    /// older state files: `InProgress`.
    #[serde(default)]
    pub running: String,
    /// API import: the status its Location answers at the end (`asyncCode`: 201 for a
    /// new API, 200 for a replaced one); 0 in older state files: 201.
    #[serde(default)]
    pub async_code: u16,
}

impl Operation {
    fn due(&self, now: u64) -> bool {
        self.status == OpStatus::InProgress
            && now >= self.started_ms + self.duration_ms
            && (!self.until_observed || self.observed)
    }

    pub fn url(&self, base: &str, poll: Poll) -> String {
        super::op_urls::url(self, base, poll)
    }

    /// `Retry-After` (whole seconds, at least 1) and `retry-after-ms` (scaled).
    pub fn retry_headers(&self) -> Vec<(&'static str, String)> {
        retry_headers(self.retry_ms)
    }

    pub fn error(&self) -> ArmError {
        ArmError::new(
            400,
            "OperationFailed",
            format!(
                "The {} of '{}' failed (failLro fault injected by the emulator).",
                self.kind.describe(),
                self.target
            ),
        )
    }

    /// The body of the `Azure-AsyncOperation` URL.
    pub fn status_body(&self) -> Value {
        let status = match (self.status, self.running.as_str()) {
            (OpStatus::InProgress, running) if !running.is_empty() => json!(running),
            (status, _) => json!(status),
        };
        let mut v = json!({
            "id": super::op_urls::status_id(self),
            "name": self.id,
            "status": status,
            "startTime": self.start_time,
        });
        if let Some(end) = &self.end_time {
            v["endTime"] = Value::from(end.clone());
        }
        if self.status == OpStatus::Failed {
            v["error"] = self.error().inner();
        }
        v
    }
}

/// `Retry-After` in whole seconds (at least 1) plus the exact scaled `retry-after-ms`.
pub fn retry_headers(retry_ms: u64) -> Vec<(&'static str, String)> {
    let seconds = (retry_ms as f64 / 1000.0).round().max(1.0) as u64;
    vec![
        ("Retry-After", seconds.to_string()),
        ("retry-after-ms", retry_ms.to_string()),
    ]
}

/// Marks the operations on `id` as read (the `instant` profile completes them).
pub fn observe(store: &mut Store, id: &str) {
    let k = key(id);
    for op in store.operations.values_mut() {
        if op.status == OpStatus::InProgress && key(&op.target) == k {
            op.observed = true;
        }
    }
}

/// The operation in progress on `id`, if any.
pub fn in_progress<'a>(store: &'a Store, id: &str) -> Option<&'a Operation> {
    let k = key(id);
    store
        .operations
        .values()
        .find(|op| op.status == OpStatus::InProgress && key(&op.target) == k)
}

/// Settles every operation that is due, oldest deadline first. Returns whether anything
/// changed.
pub fn advance(store: &mut Store, now: u64, now_iso: &str) -> bool {
    let mut due: Vec<(u64, String)> = store
        .operations
        .values()
        .filter(|op| op.due(now))
        .map(|op| (op.started_ms + op.duration_ms, op.id.clone()))
        .collect();
    due.sort();
    for (_, id) in &due {
        finish(store, id, now_iso);
    }
    !due.is_empty()
}

/// Ends every operation still in progress (a restart from a state file).
pub fn settle_all(store: &mut Store, now_iso: &str) {
    let ids: Vec<String> = store
        .operations
        .values()
        .filter(|op| op.status == OpStatus::InProgress)
        .map(|op| op.id.clone())
        .collect();
    for id in ids {
        finish(store, &id, now_iso);
    }
}

fn finish(store: &mut Store, id: &str, now_iso: &str) {
    let Some(op) = store.operations.get_mut(id) else {
        return;
    };
    let ok = !op.fail;
    op.status = if ok {
        OpStatus::Succeeded
    } else {
        OpStatus::Failed
    };
    op.end_time = Some(now_iso.to_string());
    let (kind, target) = (op.kind, op.target.clone());
    let terminal = if ok { "Succeeded" } else { "Failed" };
    match kind {
        OpKind::AccountCreate
        | OpKind::DeploymentPut
        | OpKind::ApimIdentity
        | OpKind::ApiImport
        | OpKind::WorkspaceCreate => {
            if let Some(r) = store.get_mut(&target) {
                r.set_provisioning_state(terminal);
            }
        }
        OpKind::AccountDelete => store.soft_delete_account(&target, now_iso),
        OpKind::DeploymentDelete => {
            store.remove_tree(&target);
        }
        OpKind::GroupDelete if ok => {
            let accounts: Vec<String> = store
                .below(&target)
                .filter(|r| r.kind == Kind::Account)
                .map(|r| r.id.clone())
                .collect();
            for a in accounts {
                store.soft_delete_account(&a, now_iso);
            }
            // Its workspaces are soft-deleted as a DELETE without `force` leaves them
            // (a name used again after the group's deletion is "not unique",
            // Azure/Microsoft-Defender-for-Cloud#296); its components take their managed
            // workspace groups with them (handlers/insights.rs).
            let below: Vec<(Kind, String)> = store
                .below(&target)
                .map(|r| (r.kind, r.id.clone()))
                .collect();
            for (kind, id) in below {
                match kind {
                    Kind::Workspace => store.soft_delete_workspace(&id),
                    Kind::Component => store.remove_managed_by(&id),
                    _ => {}
                }
            }
            store.remove_tree(&target);
        }
        OpKind::GroupDelete => {
            if let Some(r) = store.get_mut(&target) {
                r.set_provisioning_state("Succeeded");
            }
        }
        OpKind::Purge => {
            let k = key(&target);
            store.deleted.retain(|_, d| key(&d.id()) != k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Record;

    fn op(kind: OpKind, target: &str, duration: u64, until_observed: bool) -> Operation {
        Operation {
            id: "op1".into(),
            kind,
            target: target.into(),
            sub: "s".into(),
            namespace: Namespace::CognitiveServices,
            started_ms: 100,
            duration_ms: duration,
            retry_ms: 1500,
            until_observed,
            observed: false,
            fail: false,
            status: OpStatus::InProgress,
            start_time: "t0".into(),
            end_time: None,
            next_poll_ms: 0,
            api_version: String::new(),
            region: String::new(),
            running: String::new(),
            async_code: 0,
        }
    }

    fn store_with(kind: OpKind, duration: u64, until_observed: bool) -> (Store, String) {
        let id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a";
        let mut s = Store::default();
        s.put(Record::new(
            Kind::Account,
            id.into(),
            json!({"id": id, "location": "westus", "properties": {"provisioningState": "Creating"}}),
        ));
        s.operations
            .insert("op1".into(), op(kind, id, duration, until_observed));
        (s, id.to_string())
    }

    #[test]
    fn an_operation_is_done_when_its_time_has_come() {
        let (mut s, id) = store_with(OpKind::AccountCreate, 1000, false);
        assert!(!advance(&mut s, 1099, "t"));
        assert_eq!(s.get(&id).unwrap().provisioning_state(), Some("Creating"));
        assert!(advance(&mut s, 1100, "t"));
        assert_eq!(s.get(&id).unwrap().provisioning_state(), Some("Succeeded"));
        assert_eq!(s.operations["op1"].status, OpStatus::Succeeded);
    }

    #[test]
    fn instant_operations_wait_to_be_read() {
        let (mut s, id) = store_with(OpKind::AccountCreate, 0, true);
        assert!(!advance(&mut s, 5000, "t"));
        observe(&mut s, &id.to_uppercase());
        assert!(advance(&mut s, 5000, "t"));
    }

    #[test]
    fn failed_operations_and_deletes() {
        let (mut s, id) = store_with(OpKind::AccountCreate, 0, false);
        s.operations.get_mut("op1").unwrap().fail = true;
        advance(&mut s, 100, "t");
        assert_eq!(s.get(&id).unwrap().provisioning_state(), Some("Failed"));
        let status = s.operations["op1"].status_body();
        assert_eq!(status["status"], "Failed");
        assert_eq!(status["error"]["code"], "OperationFailed");

        let (mut s, id) = store_with(OpKind::AccountDelete, 0, false);
        advance(&mut s, 100, "t");
        assert!(!s.exists(&id));
        assert_eq!(s.deleted.len(), 1);
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(
            retry_headers(150),
            vec![
                ("Retry-After", "1".to_string()),
                ("retry-after-ms", "150".to_string())
            ]
        );
        assert_eq!(retry_headers(15_000)[0].1, "15");
        assert_eq!(retry_headers(0)[0].1, "1");
    }
}
