//! Where a long-running operation is polled, and what it reports while it runs, per
//! provider, as real ARM does it (the recordings in tests/fixtures/recorded and Azure
//! PowerShell's CognitiveServices SessionRecords):
//!
//! - Cognitive Services (accounts, deployments, purge): `Azure-AsyncOperation:
//!   https://management.azure.com/subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{location}/operationResults/{id}?api-version=2017-04-18`,
//!   `{location}` the account's location as written (`West US`, `SOUTHCENTRALUS`,
//!   `eastus`; spaces percent-encoded as the client sends them), and the api-version
//!   2017-04-18 whatever the request's was (TestDeployment.json at 2022-10-01,
//!   TestRemoveAccount.json and TestSoftDelete.json at 2023-05-01,
//!   TestDefenderForAISetting.json at 2024-10-01). The body's `status` is the
//!   resource's state while it runs: `Creating` (TestDeployment.json, TestSoftDelete.json),
//!   and by the same rule `Updating` or `Deleting`. No `Location` of these operations was
//!   recorded: the emulator's is the same URL with `operationResultResponseType=Location`
//!   (its own marker), answering 202 until the end as `Location` URLs do.
//! - Resource group delete: `Location:
//!   /subscriptions/{s}/operationresults/{token}?api-version={asked}`, 202 with `Location`
//!   and `Retry-After` while running, then 200 with no body (TestDeployment.json).
//! - API Management service update: `Location: {service id}/operationresults/{id}`.
//! - API import (PUT of an API with `format`/`value`): `Location: {api id}?api-version=…&asyncId={id}&asyncCode=201`
//!   (200 for a replaced API), answering 202 until done, then the asyncCode with the API;
//!   `Azure-AsyncOperation: {service id}/tenant/operationResults/{id}` (the 2024-05-01
//!   example ApiManagementCreateApiUsingOai3Import.json; ApiImportExportOpenApiJsonTest.json).
//! - Anything else keeps the emulator's generic
//!   `/subscriptions/{s}/providers/{ns}/locations/global/operation{Statuses|Results}/{id}`;
//!   its URLs carry the api-version of the request that started the operation.

use crate::address::{Namespace, Poll, operation_path};
use crate::ops::{OpKind, Operation};
use crate::store::{Store, key};

/// The api-version Cognitive Services puts on its operation URLs (recorded, see above).
pub const COGNITIVE_OPERATIONS_VERSION: &str = "2017-04-18";

/// The query parameter marking a Cognitive Services `Location` poll.
pub const LOCATION_MARKER: &str = "operationResultResponseType";

fn cognitive_path(op: &Operation, encoded: bool) -> String {
    let region = match op.region.as_str() {
        "" => "global",
        r => r,
    };
    let region = if encoded {
        region.replace(' ', "%20")
    } else {
        region.to_string()
    };
    format!(
        "/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{region}/operationResults/{}",
        op.sub, op.id
    )
}

/// The URL of one of an operation's polls, on the emulator's `base`.
pub fn url(op: &Operation, base: &str, poll: Poll) -> String {
    let asked = match op.api_version.as_str() {
        "" => op.namespace.api_version(),
        v => v,
    };
    if op.namespace == Namespace::CognitiveServices {
        let marker = match poll {
            Poll::Status => String::new(),
            Poll::Result => format!("&{LOCATION_MARKER}=Location"),
        };
        return format!(
            "{base}{}?api-version={COGNITIVE_OPERATIONS_VERSION}{marker}",
            cognitive_path(op, true)
        );
    }
    if op.kind == OpKind::ApiImport {
        let service = op
            .target
            .rsplit_once("/apis/")
            .map_or(op.target.as_str(), |(s, _)| s);
        return match poll {
            Poll::Status => format!(
                "{base}{service}/tenant/operationResults/{}?api-version={asked}",
                op.id
            ),
            Poll::Result => format!(
                "{base}{}?api-version={asked}&asyncId={}&asyncCode={}",
                op.target,
                op.id,
                match op.async_code {
                    0 => 201,
                    c => c,
                }
            ),
        };
    }
    let path = match (op.kind, poll) {
        (OpKind::GroupDelete, Poll::Result) => {
            format!("/subscriptions/{}/operationresults/{}", op.sub, op.id)
        }
        (OpKind::ApimIdentity, Poll::Result) => format!("{}/operationresults/{}", op.target, op.id),
        _ => operation_path(&op.sub, op.namespace, &op.id, poll),
    };
    format!("{base}{path}?api-version={asked}")
}

/// The `id` a status body names (the status URL's path, as ARM writes it).
pub fn status_id(op: &Operation) -> String {
    match op.namespace {
        Namespace::CognitiveServices => cognitive_path(op, false),
        _ if op.kind == OpKind::ApiImport => {
            let service = op
                .target
                .rsplit_once("/apis/")
                .map_or(op.target.as_str(), |(s, _)| s);
            format!("{service}/tenant/operationResults/{}", op.id)
        }
        _ => operation_path(&op.sub, op.namespace, &op.id, Poll::Status),
    }
}

/// The location a Cognitive Services operation's URLs name: that of the account it works
/// on (a deployment's account; a purged account's as deleted), as written.
pub fn region(store: &Store, kind: OpKind, target: &str) -> String {
    let account = target
        .split_once("/deployments/")
        .map_or(target, |(account, _)| account);
    let live = store
        .get(account)
        .and_then(|r| r.body["location"].as_str().map(str::to_string));
    let deleted = || {
        (kind == OpKind::Purge)
            .then(|| store.deleted.values().find(|d| key(&d.id()) == key(target)))
            .flatten()
            .map(|d| d.location.clone())
    };
    live.or_else(deleted).unwrap_or_default()
}

/// What the status URL reports while the operation runs: for Cognitive Services the
/// resource's state (`Creating`, `Updating`, `Deleting`), else `InProgress`.
pub fn running_status(store: &Store, kind: OpKind, target: &str) -> String {
    let state = || {
        store
            .get(target)
            .and_then(|r| r.provisioning_state().map(str::to_string))
    };
    match kind {
        OpKind::AccountCreate | OpKind::DeploymentPut => {
            state().unwrap_or_else(|| "Creating".into())
        }
        OpKind::AccountDelete | OpKind::DeploymentDelete | OpKind::Purge => "Deleting".into(),
        _ => "InProgress".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Address, parse};
    use crate::ops::OpStatus;

    fn op(kind: OpKind, namespace: Namespace, target: &str, region: &str) -> Operation {
        Operation {
            id: "op1".into(),
            kind,
            target: target.into(),
            sub: "s1".into(),
            namespace,
            started_ms: 0,
            duration_ms: 1,
            retry_ms: 1,
            until_observed: false,
            observed: false,
            fail: false,
            status: OpStatus::InProgress,
            start_time: "t".into(),
            end_time: None,
            next_poll_ms: 0,
            api_version: "2025-04-01".into(),
            region: region.into(),
            running: String::new(),
            async_code: 0,
        }
    }

    /// Every URL the emulator hands out routes back to the operation and its poll.
    fn routes(url: &str, poll: Poll, namespace: Namespace) {
        let path = url
            .strip_prefix("http://h")
            .and_then(|u| u.split('?').next())
            .unwrap();
        assert_eq!(
            parse(path),
            Ok(Address::Operation {
                sub: "s1".into(),
                namespace,
                id: "op1".into(),
                poll,
            }),
            "{url}"
        );
    }

    #[test]
    fn cognitive_operations_poll_at_their_accounts_location() {
        let o = op(
            OpKind::AccountCreate,
            Namespace::CognitiveServices,
            "/a",
            "West US",
        );
        let status = url(&o, "http://h", Poll::Status);
        assert_eq!(
            status,
            "http://h/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/West%20US/operationResults/op1?api-version=2017-04-18"
        );
        assert_eq!(
            status_id(&o),
            "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/West US/operationResults/op1"
        );
        let location = url(&o, "http://h", Poll::Result);
        assert!(
            location.ends_with("op1?api-version=2017-04-18&operationResultResponseType=Location"),
            "{location}"
        );
        // Both are `operationResults`: the marker, read by the poll handler, tells them apart.
        routes(&status, Poll::Result, Namespace::CognitiveServices);
        routes(&location, Poll::Result, Namespace::CognitiveServices);
    }

    #[test]
    fn group_deletes_and_apim_services_poll_where_arm_does() {
        let g = op(
            OpKind::GroupDelete,
            Namespace::Resources,
            "/subscriptions/s1/resourceGroups/rg",
            "",
        );
        let location = url(&g, "http://h", Poll::Result);
        assert_eq!(
            location,
            "http://h/subscriptions/s1/operationresults/op1?api-version=2025-04-01"
        );
        routes(&location, Poll::Result, Namespace::Resources);
        let service =
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim1";
        let a = op(OpKind::ApimIdentity, Namespace::ApiManagement, service, "");
        let location = url(&a, "http://h", Poll::Result);
        assert_eq!(
            location,
            format!("http://h{service}/operationresults/op1?api-version=2025-04-01")
        );
        routes(&location, Poll::Result, Namespace::ApiManagement);
        let status = url(&a, "http://h", Poll::Status);
        routes(&status, Poll::Status, Namespace::ApiManagement);
        let api = format!("{service}/apis/petstore");
        let mut i = op(OpKind::ApiImport, Namespace::ApiManagement, &api, "");
        let status = url(&i, "http://h", Poll::Status);
        assert_eq!(
            status,
            format!("http://h{service}/tenant/operationResults/op1?api-version=2025-04-01")
        );
        routes(&status, Poll::Status, Namespace::ApiManagement);
        assert_eq!(
            url(&i, "http://h", Poll::Result),
            format!("http://h{api}?api-version=2025-04-01&asyncId=op1&asyncCode=201")
        );
        i.async_code = 200;
        assert!(url(&i, "http://h", Poll::Result).ends_with("&asyncCode=200"));
    }
}
