//! `aoai-lb plan` against ARMs that misbehave (raw servers on 127.0.0.1): a read that
//! fails (a collection GET: plan reads accounts, deployments, backends, APIs,
//! subscriptions and role assignments through their lists) fails the resources it lists,
//! by name, while the other reads complete; a listing is read to its last page
//! (`nextLink`); a 200 whose body is not JSON is reported as such, never as a resource someone else created; a silent ARM
//! ends at the deadlines with every retry printed at the default verbosity.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use crate::arm_bounds::{Act, raw};
use crate::util::{aoai_lb, repo, run};

fn plan(url: &str, extra: &[&str]) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    run(aoai_lb(dir.path())
        .env("AOAI_LB_ARM_ENDPOINT", url)
        .env("AOAI_LB_ACCESS_TOKEN", "t")
        .env("AOAI_LB_STATE", dir.path().join("state.json"))
        .env("AOAI_LB_DELAY_SCALE", "0.01")
        .arg("plan")
        .arg(repo().join("examples/two-regions.yaml"))
        .args(extra))
}

const SERVICE: &str = r#"{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb","name":"apim-aoai-lb","identity":{"type":"SystemAssigned","principalId":"11111111-1111-1111-1111-111111111111","tenantId":"22222222-2222-2222-2222-222222222222"},"properties":{"provisioningState":"Succeeded"}}"#;
const NOT_FOUND: &str = r#"{"error":{"code":"ResourceNotFound","message":"not found"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_fails_the_resources_of_that_list_by_name_and_the_other_reads_complete() {
    let server = raw(|_, path| {
        if path.starts_with(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb?",
        ) {
            Act::Answer(200, SERVICE.into())
        } else if path.contains("/rg-aoai-lb/providers/Microsoft.CognitiveServices/accounts?") {
            Act::Answer(200, "{\"id\": \"/subscriptions/x\", oops".into())
        } else {
            Act::Answer(404, NOT_FOUND.into())
        }
    })
    .await;
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || plan(&url, &[]))
        .await
        .unwrap();
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The accounts' listing failed: the accounts fail by name, and so do their
    // deployments (whose listing waits on knowing the account is there).
    let listing = format!(
        "invalid JSON from ARM for GET {}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-lb/providers/Microsoft.CognitiveServices/accounts: ",
        server.url
    );
    assert!(
        out.stderr
            .contains("4 of the plan's resources could not be read from ARM")
            && out
                .stderr
                .contains(&format!("  - account.aoai-nov26-instance1: {listing}"))
            && out
                .stderr
                .contains(&format!("  - account.aoai-nov26-instance2: {listing}"))
            && out.stderr.contains(&format!(
                "  - deployment.aoai-nov26-instance1/gpt-4o: {listing}"
            )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("already exist"), "{}", out.stderr);
    // The other reads completed: 9 resources (the group, role assignments, backends and
    // pool, API, policy, subscription) through the lists that hold them.
    assert!(
        out.stderr.contains("(9 others were read;"),
        "{}",
        out.stderr
    );
    assert!(server.connections.load(Ordering::SeqCst) >= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_arm_ends_at_the_deadline_with_every_retry_printed() {
    let server = raw(|_, _| Act::Silent).await;
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || plan(&url, &["--request-timeout", "1"]))
        .await
        .unwrap();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let retries: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("retrying GET …/service/apim-aoai-lb in "))
        .collect();
    assert_eq!(retries.len(), 4, "{}", out.stderr);
    assert!(
        retries[0].contains("no response: no complete response within 1s (1/4)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "error: GET {}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb: no complete response from ARM within 1s per try",
            server.url
        )),
        "{}",
        out.stderr
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 5);
}

const RG: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-lb/providers/Microsoft.CognitiveServices/accounts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_is_read_to_its_last_page_by_next_link() {
    // The accounts of the group come in two pages: the second account is only on the
    // page `nextLink` names. Both exist untagged, so both are conflicts: the plan saw
    // the second page.
    let url = Arc::new(OnceLock::<String>::new());
    let base = url.clone();
    let account = |name: &str| {
        format!(
            r#"{{"id":"{RG}/{name}","name":"{name}","type":"Microsoft.CognitiveServices/accounts","location":"westus","kind":"OpenAI","properties":{{"provisioningState":"Succeeded"}}}}"#
        )
    };
    let (first, second) = (
        account("aoai-nov26-instance1"),
        account("aoai-nov26-instance2"),
    );
    let server = raw(move |_, path| {
        if path.starts_with("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb?") {
            Act::Answer(200, SERVICE.into())
        } else if path.starts_with(&format!("{RG}?")) && path.contains("skiptoken=2") {
            Act::Answer(200, format!(r#"{{"value":[{second}]}}"#))
        } else if path.starts_with(&format!("{RG}?")) {
            let next = format!("{}{RG}?api-version=2024-10-01&$skiptoken=2", base.get().unwrap());
            Act::Answer(200, format!(r#"{{"value":[{first}],"nextLink":"{next}"}}"#))
        } else {
            Act::Answer(404, NOT_FOUND.into())
        }
    })
    .await;
    url.set(server.url.clone()).unwrap();
    let u = server.url.clone();
    let out = tokio::task::spawn_blocking(move || plan(&u, &[]))
        .await
        .unwrap();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("already exist and were not created by aoai-lb")
            && out.stderr.contains("account.aoai-nov26-instance1")
            && out.stderr.contains("account.aoai-nov26-instance2"),
        "{}",
        out.stderr
    );
}
