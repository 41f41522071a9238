//! Log Analytics workspaces (Microsoft.OperationalInsights) and the workspace-based
//! Application Insights components that use them, as ARM answers them today: a component
//! made without a workspace gets a managed resource group and workspace that go with it.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Arm, RES, SUB, rg_path};
use aoai_lb::emulator::Config;

const LA: &str = "2025-07-01";
const INSIGHTS: &str = "2020-02-02";

fn workspace(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{name}",
        rg_path(rg)
    )
}

fn component(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Insights/components/{name}",
        rg_path(rg)
    )
}

fn names(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

async fn group(arm: &Arm, rg: &str) {
    let r = arm
        .put(&rg_path(rg), RES, &json!({"location": "westus"}))
        .await;
    assert!(r.status < 300, "{}", r.body);
}

/// The resource groups of the subscription.
async fn groups(arm: &Arm) -> Vec<String> {
    let r = arm
        .get(&format!("/subscriptions/{SUB}/resourcegroups"), RES)
        .await;
    names(&r.body)
}

#[tokio::test]
async fn workspaces_are_created_read_listed_updated_and_deleted() {
    let arm = Arm::start(Config::default()).await;
    group(&arm, "rg-logs").await;
    let ws = workspace("rg-logs", "law-aoai");
    let body = json!({"location": "westus", "tags": {"managed-by": "aoai-lb"},
        "properties": {"sku": {"name": "PerGB2018"}}});

    // Created: 201, Creating, no operation URL; the resource's state says when it is done.
    let created = arm.put(&ws, LA, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.header("azure-asyncoperation").is_none());
    assert!(created.header("location").is_none());
    let p = &created.body["properties"];
    assert_eq!(p["provisioningState"], "Creating");
    assert_eq!(p["retentionInDays"], 30);
    assert_eq!(p["sku"]["name"], "PerGB2018");
    assert_eq!(p["publicNetworkAccessForIngestion"], "Enabled");
    let customer = p["customerId"].as_str().unwrap().to_string();
    assert_eq!(customer.len(), 36, "a GUID: {customer}");
    assert_eq!(created.body["id"], ws.to_ascii_lowercase());
    assert_eq!(created.body["name"], "law-aoai");
    assert_eq!(
        created.body["type"],
        "Microsoft.OperationalInsights/workspaces"
    );
    let read = arm.get(&ws, LA).await;
    assert_eq!(read.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(read.body["tags"], json!({"managed-by": "aoai-lb"}));

    // An update: 200, Succeeded, same customerId; a body without properties is accepted.
    let update = json!({"location": "westus", "properties": {"retentionInDays": 60}});
    let updated = arm.put(&ws, LA, &update).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["properties"]["retentionInDays"], 60);
    assert_eq!(updated.body["properties"]["customerId"], customer.as_str());
    let bare = arm
        .put(
            &ws,
            "2020-10-01",
            &json!({"location": "westus", "tags": {}}),
        )
        .await;
    assert_eq!(bare.status, 200, "{}", bare.body);

    // Refusals: no location, a member the schema does not know, a version not served,
    // a name the service's pattern refuses, a group that does not exist.
    let no_location = json!({"properties": {}});
    arm.put(&ws, LA, &no_location)
        .await
        .expect_error(400, "LocationRequired");
    let unknown = json!({"location": "westus", "properties": {"colour": "blue"}});
    arm.put(&ws, LA, &unknown)
        .await
        .expect_error(400, "InvalidRequestContent");
    arm.put(&ws, "2019-01-01", &body)
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    arm.put(&workspace("rg-logs", "a_b"), LA, &body)
        .await
        .expect_error(400, "InvalidRequestContent");
    arm.put(&workspace("rg-none", "law-x"), LA, &body)
        .await
        .expect_error(404, "ResourceGroupNotFound");

    // Lists: the group's and the subscription's, not paged.
    arm.create(&workspace("rg-logs", "law-two"), LA, &body)
        .await;
    for scope in [rg_path("rg-logs"), format!("/subscriptions/{SUB}")] {
        let path = format!("{scope}/providers/Microsoft.OperationalInsights/workspaces");
        let r = arm.get(&path, LA).await;
        assert_eq!(names(&r.body), ["law-aoai", "law-two"], "{}", r.body);
        assert!(r.body.get("nextLink").is_none());
    }

    // DELETE with force: 200, gone for good (not in deletedWorkspaces); again: 204.
    let forced = format!("{ws}?force=true");
    assert_eq!(arm.delete(&forced, LA).await.status, 200);
    arm.get(&ws, LA).await.expect_error(404, "ResourceNotFound");
    assert_eq!(arm.delete(&forced, LA).await.status, 204);
    let deleted = arm
        .get(
            &format!(
                "{}/providers/Microsoft.OperationalInsights/deletedWorkspaces",
                rg_path("rg-logs")
            ),
            LA,
        )
        .await;
    assert_eq!(names(&deleted.body), Vec::<String>::new());
    // The name is free again: a new workspace, with a new customerId.
    let again = arm.put(&ws, LA, &body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_ne!(again.body["properties"]["customerId"], customer.as_str());
    arm.stop().await;
}

#[tokio::test]
async fn a_soft_deleted_workspace_is_recovered_by_a_put_in_its_place_only() {
    let arm = Arm::start(Config::default()).await;
    group(&arm, "rg-logs").await;
    group(&arm, "rg-other").await;
    let ws = workspace("rg-logs", "law-soft");
    let body = json!({"location": "westus", "properties": {}});
    let created = arm.create(&ws, LA, &body).await;
    let customer = created.body["properties"]["customerId"].clone();

    assert_eq!(arm.delete(&ws, LA).await.status, 200);
    arm.get(&ws, LA).await.expect_error(404, "ResourceNotFound");
    let listed = arm
        .get(
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.OperationalInsights/deletedWorkspaces"
            ),
            LA,
        )
        .await;
    assert_eq!(names(&listed.body), ["law-soft"], "{}", listed.body);
    assert_eq!(
        listed.body["value"][0]["properties"]["provisioningState"],
        "Succeeded"
    );

    // The name is kept: elsewhere it is not unique; in another region neither.
    let elsewhere = arm.put(&workspace("rg-other", "law-soft"), LA, &body).await;
    let message = elsewhere.expect_error(409, "Conflict");
    assert_eq!(message, "The workspace name 'law-soft' is not unique");
    arm.put(&ws, LA, &json!({"location": "eastus", "properties": {}}))
        .await
        .expect_error(409, "Conflict");

    // In its group and region, the PUT brings it back with its customerId.
    let recovered = arm.put(&ws, LA, &body).await;
    assert!(recovered.status < 300, "{}", recovered.body);
    assert_eq!(recovered.body["properties"]["customerId"], customer);
    assert_eq!(
        recovered.body["properties"]["provisioningState"],
        "Succeeded"
    );
    assert_eq!(names(&arm.send(Method::GET, &format!("/subscriptions/{SUB}/providers/Microsoft.OperationalInsights/deletedWorkspaces?api-version={LA}"), None).await.body).len(), 0);
    arm.stop().await;
}

#[tokio::test]
async fn a_component_without_a_workspace_gets_a_managed_one_that_goes_with_it() {
    let arm = Arm::start(Config::default()).await;
    group(&arm, "rg-monitor").await;
    let c = component("rg-monitor", "appi-aoai");
    let body = json!({"location": "westus", "kind": "web", "tags": {"managed-by": "aoai-lb"},
        "properties": {"Application_Type": "web", "Request_Source": "rest"}});
    let created = arm.put(&c, INSIGHTS, &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let p = &created.body["properties"];
    assert_eq!(p["IngestionMode"], "LogAnalytics");
    let app_id = p["AppId"].as_str().unwrap();
    let managed_rg = format!("ai_appi-aoai_{app_id}_managed");
    let managed_ws = workspace(&managed_rg, "managed-appi-aoai-ws");
    assert_eq!(p["WorkspaceResourceId"], managed_ws.as_str());

    // The managed group, managed by the component, and its workspace, as GET shows them.
    let g = arm.get(&rg_path(&managed_rg), RES).await;
    assert_eq!(g.status, 200, "{}", g.body);
    assert_eq!(g.body["managedBy"], c.as_str());
    assert_eq!(g.body["location"], "westus");
    let w = arm.get(&managed_ws, LA).await;
    assert_eq!(w.status, 200, "{}", w.body);
    assert_eq!(w.body["properties"]["provisioningState"], "Succeeded");
    assert!(w.body.get("tags").is_none(), "{}", w.body);
    assert!(groups(&arm).await.contains(&managed_rg));

    // An update without WorkspaceResourceId keeps it, and makes no second group.
    let again = arm.put(&c, INSIGHTS, &body).await;
    assert_eq!(
        again.body["properties"]["WorkspaceResourceId"],
        managed_ws.as_str()
    );
    assert_eq!(again.body["properties"]["AppId"], app_id);
    assert_eq!(groups(&arm).await.len(), 2);

    // Tags: Components_UpdateTags replaces them; the tag-filtered /resources lists it.
    let tagged = arm
        .patch(
            &c,
            INSIGHTS,
            &json!({"tags": {"managed-by": "aoai-lb", "deployment": "d1"}}),
        )
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    assert_eq!(tagged.body["tags"]["deployment"], "d1");
    assert_eq!(arm.get(&c, INSIGHTS).await.body["tags"]["deployment"], "d1");
    let filter = format!(
        "/subscriptions/{SUB}/resources?api-version={RES}&$filter=tagName eq 'deployment' and tagValue eq 'd1'"
    );
    let listed = arm.send(Method::GET, &filter, None).await;
    assert_eq!(names(&listed.body), ["appi-aoai"], "{}", listed.body);
    assert_eq!(
        listed.body["value"][0]["type"],
        "Microsoft.Insights/components"
    );
    arm.patch(
        &component("rg-monitor", "nope"),
        INSIGHTS,
        &json!({"tags": {}}),
    )
    .await
    .expect_error(404, "ResourceNotFound");
    arm.patch(&c, INSIGHTS, &json!({"kind": "other"}))
        .await
        .expect_error(400, "InvalidRequestContent");

    // DELETE: the component, its managed group and workspace are gone.
    assert_eq!(arm.delete(&c, INSIGHTS).await.status, 200);
    arm.get(&rg_path(&managed_rg), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    assert_eq!(arm.get(&managed_ws, LA).await.status, 404);
    assert_eq!(groups(&arm).await, ["rg-monitor"]);
    arm.stop().await;
}

#[tokio::test]
async fn a_component_with_a_workspace_uses_it_and_makes_no_managed_group() {
    let arm = Arm::start(Config::default()).await;
    group(&arm, "rg-monitor").await;
    let ws = workspace("rg-monitor", "law-aoai");
    arm.create(&ws, LA, &json!({"location": "westus", "properties": {}}))
        .await;
    let c = component("rg-monitor", "appi-aoai");
    let body = json!({"location": "westus", "kind": "web",
        "properties": {"Application_Type": "web", "WorkspaceResourceId": ws}});
    let created = arm.put(&c, INSIGHTS, &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.body["properties"]["WorkspaceResourceId"],
        ws.as_str()
    );
    assert_eq!(created.body["properties"]["IngestionMode"], "LogAnalytics");
    assert_eq!(groups(&arm).await, ["rg-monitor"]);

    // Deleting the component leaves the workspace, which is not its own.
    assert_eq!(arm.delete(&c, INSIGHTS).await.status, 200);
    assert_eq!(arm.get(&ws, LA).await.status, 200);
    arm.stop().await;
}

#[tokio::test]
async fn deleting_a_group_soft_deletes_its_workspaces_and_takes_managed_groups() {
    let arm = Arm::start(Config::default()).await;
    group(&arm, "rg-monitor").await;
    let ws = workspace("rg-monitor", "law-kept");
    arm.create(&ws, LA, &json!({"location": "westus", "properties": {}}))
        .await;
    let c = component("rg-monitor", "appi-aoai");
    let body =
        json!({"location": "westus", "kind": "web", "properties": {"Application_Type": "web"}});
    arm.put(&c, INSIGHTS, &body).await;
    assert_eq!(groups(&arm).await.len(), 2);

    let r = arm.delete(&rg_path("rg-monitor"), RES).await;
    assert_eq!(r.status, 202, "{}", r.body);
    arm.wait(&r).await;
    assert_eq!(groups(&arm).await, Vec::<String>::new());
    let deleted = arm
        .get(
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.OperationalInsights/deletedWorkspaces"
            ),
            LA,
        )
        .await;
    assert_eq!(names(&deleted.body), ["law-kept"], "{}", deleted.body);
    arm.stop().await;
}
