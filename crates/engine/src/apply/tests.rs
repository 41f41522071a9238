//! apply without ARM: what happens when a change panics or the state cannot be
//! written. Every change here stops before its first request, so no server is needed
//! (the client points at a closed port and is never called).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::request::{Method, Request};
use crate::state::LockedState;
use aoai_lb_arm::ArmClientOptions;
use aoai_lb_arm::auth::{CredentialChain, StaticToken};

fn client() -> ArmClient {
    ArmClient::new(
        "http://127.0.0.1:9",
        CredentialChain::single("test", StaticToken::new("t".into())),
        ArmClientOptions::default(),
    )
    .unwrap()
}

fn create(address: &str, kind: Kind, deps: &[&str]) -> Change {
    let id = format!("/subscriptions/s/resourceGroups/{address}");
    Change {
        address: address.into(),
        kind,
        id: id.clone(),
        api_version: "2024-03-01".into(),
        action: Action::Create,
        fields: vec![],
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        owned: true,
        note: None,
        request: Request {
            method: Method::Put,
            id,
            api_version: "2024-03-01".into(),
            body: Some(json!({ "location": "westus" })),
            fills: vec![],
        },
        record: None,
        purge: None,
    }
}

fn plan_of(changes: Vec<Change>) -> Plan {
    Plan {
        changes,
        ..Plan::default()
    }
}

/// Panics when a change with this address starts.
struct PanicsOn(&'static str);

impl Observer for PanicsOn {
    fn started(&self, change: &Change) {
        assert_ne!(change.address, self.0, "injected panic");
    }
    fn finished(&self, _: &Change, _: Duration, _: &Result<(), ChangeError>) {}
}

async fn run(
    plan: Plan,
    path: &Path,
    observer: Arc<dyn Observer>,
    max_operations: usize,
) -> (Report, ArmClient) {
    let client = client();
    let locked = LockedState::open(path).unwrap();
    let run = Run {
        client: &client,
        model: None,
        plan_file: "",
        options: ApplyOptions {
            max_operations,
            purge: false,
        },
        observer,
        cancel: Cancel::default(),
    };
    let (report, _) = apply(run, plan, locked).await;
    (report, client)
}

#[tokio::test]
async fn a_panicking_change_fails_by_name_and_its_dependants_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_of(vec![
        create("resource_group.a", Kind::ResourceGroup, &[]),
        create(
            "resource_group.b",
            Kind::ResourceGroup,
            &["resource_group.a"],
        ),
    ]);
    let observer = Arc::new(PanicsOn("resource_group.a"));
    let (report, client) = run(plan, &dir.path().join("s.json"), observer, 4).await;
    assert!(!report.ok(), "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "resource_group.a");
    assert!(report.failed[0].1.contains("injected panic"), "{report:?}");
    assert_eq!(report.skipped, vec!["resource_group.b".to_string()]);
    assert_eq!(report.created, 0);
    assert_eq!(client.counts().writes, 0);
}

#[tokio::test]
async fn a_state_that_cannot_be_written_stops_the_run_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    // The temporary file the state is written through cannot be created: as good as
    // a full disk, and it holds even for root.
    let mut tmp = path.file_name().unwrap().to_os_string();
    tmp.push(format!(".tmp-{}", std::process::id()));
    std::fs::create_dir(path.with_file_name(tmp)).unwrap();
    let plan = plan_of(vec![
        create("resource_group.a", Kind::ResourceGroup, &[]),
        create("resource_group.b", Kind::ResourceGroup, &[]),
    ]);
    let (report, client) = run(plan, &path, Arc::new(Silent), 1).await;
    assert!(!report.ok(), "{report:?}");
    let reason = report
        .state_error
        .clone()
        .expect("the state error is reported");
    assert!(reason.contains(&path.display().to_string()), "{reason}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "resource_group.a");
    // Nothing new starts once the state cannot be written; nothing was sent.
    assert_eq!(report.skipped, vec!["resource_group.b".to_string()]);
    assert!(report.cancelled.is_empty(), "the user cancelled nothing");
    assert_eq!(client.counts().writes, 0);
}
