//! Where token metrics go: Application Insights components (Microsoft.Insights), API
//! Management loggers and diagnostics, as ARM and API Management answer them; a logger's
//! instrumentation key never shows again.

use reqwest::Method;
use serde_json::json;

use super::{APIM, Arm, openapi_json, rg_path, service_path, with_apim};

const INSIGHTS: &str = "2020-02-02";

fn svc() -> String {
    service_path("rg-apim", "apim1")
}

fn component() -> String {
    format!(
        "{}/providers/Microsoft.Insights/components/ai-aoai-lb",
        rg_path("rg-apim")
    )
}

/// A component: created (200, as Components_CreateOrUpdate answers), read, its keys
/// assigned by the service and kept by an update; refused without a location, with an
/// Application_Type the schema does not know, at a version the provider does not serve.
async fn a_component(arm: &Arm) -> String {
    let body = json!({"location": "westus", "kind": "web", "tags": {"managed-by": "aoai-lb"},
        "properties": {"Application_Type": "web", "Flow_Type": "Bluefield", "Request_Source": "rest"}});
    let created = arm.put(&component(), INSIGHTS, &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let p = &created.body["properties"];
    let key = p["InstrumentationKey"].as_str().unwrap().to_string();
    let app_id = p["AppId"].as_str().unwrap();
    assert_eq!(
        p["ConnectionString"],
        format!(
            "InstrumentationKey={key};IngestionEndpoint=https://westus-0.in.applicationinsights.azure.com/;LiveEndpoint=https://westus.livediagnostics.monitor.azure.com/;ApplicationId={app_id}"
        )
    );
    assert_eq!(p["ApplicationId"], "ai-aoai-lb");
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(created.body["type"], "Microsoft.Insights/components");
    let again = arm.put(&component(), INSIGHTS, &body).await;
    assert_eq!(again.body["properties"]["InstrumentationKey"], key.as_str());
    assert_eq!(arm.get(&component(), INSIGHTS).await.body, again.body);

    let no_location = json!({"properties": {"Application_Type": "web"}});
    arm.put(&component(), INSIGHTS, &no_location)
        .await
        .expect_error(400, "LocationRequired");
    let bad_type = json!({"location": "westus", "properties": {"Application_Type": "desktop"}});
    let r = arm.put(&component(), INSIGHTS, &bad_type).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = arm.put(&component(), "2019-01-01", &body).await;
    r.expect_error(400, "NoRegisteredProviderFound");
    key
}

/// The collections: components of the group and of the subscription, the API's and the
/// service's diagnostics (each its own; `$filter` on name).
async fn lists(arm: &Arm) {
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    for scope in [rg_path("rg-apim"), format!("/subscriptions/{}", super::SUB)] {
        let path = format!("{scope}/providers/Microsoft.Insights/components");
        let r = arm.get(&path, INSIGHTS).await;
        assert_eq!(names(&r.body), ["ai-aoai-lb"], "{}", r.body);
    }
    let api = arm
        .get(&format!("{}/apis/openai/diagnostics", svc()), APIM)
        .await;
    assert_eq!(names(&api.body), ["applicationinsights"]);
    assert_eq!(api.body["value"][0]["properties"]["metrics"], true);
    let service = arm.get(&format!("{}/diagnostics", svc()), APIM).await;
    assert_eq!(names(&service.body), ["applicationinsights"]);
    assert!(
        service.body["value"][0]["properties"]
            .get("metrics")
            .is_none()
    );
    let filtered = format!(
        "{}/apis/openai/diagnostics?api-version={APIM}&$filter=name eq 'other'",
        svc()
    );
    let none = arm.send(Method::GET, &filtered, None).await;
    assert_eq!(none.body["count"], 0, "{}", none.body);
}

#[tokio::test]
async fn components_loggers_and_diagnostics() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let key = a_component(&arm).await;

    // A logger: its key goes in, and never comes out again.
    let logger = format!("{}/loggers/appinsights", svc());
    let body = json!({"properties": {"loggerType": "applicationInsights", "resourceId": component(),
        "credentials": {"instrumentationKey": key}}});
    let created = arm.put(&logger, APIM, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let shown = created.body["properties"]["credentials"]["instrumentationKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        shown.starts_with("{{Logger-Credentials--") && shown.ends_with("}}"),
        "{shown}"
    );
    assert!(created.header("etag").is_some());
    assert_eq!(arm.put(&logger, APIM, &body).await.status, 200);
    let list = arm.get(&format!("{}/loggers", svc()), APIM).await;
    assert_eq!(list.body["count"], 1, "{}", list.body);
    let state = serde_json::to_string(&arm.state().await).unwrap();
    let logger_in_state = state.matches(&shown).count();
    assert_eq!(logger_in_state, 1, "the logger shows its placeholder");
    let key_in_state = state.matches(key.as_str()).count();
    assert_eq!(
        key_in_state, 2,
        "only the component's own InstrumentationKey and ConnectionString show the key"
    );
    let bare = json!({"properties": {"loggerType": "applicationInsights"}});
    arm.put(&format!("{}/loggers/bare", svc()), APIM, &bare)
        .await
        .expect_error(400, "ValidationError");

    // The API's diagnostic carrying custom metrics to the logger.
    let import = json!({"properties": {"format": "openapi+json", "value": openapi_json("acc1.openai.azure.com"),
        "path": "openai", "displayName": "Azure OpenAI", "protocols": ["https"]}});
    let r = arm
        .put(&format!("{}/apis/openai", svc()), APIM, &import)
        .await;
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let diag = format!("{}/apis/openai/diagnostics/applicationinsights", svc());
    let d = json!({"properties": {"loggerId": "/loggers/appinsights", "metrics": true,
        "sampling": {"samplingType": "fixed", "percentage": 100}}});
    let created = arm.put(&diag, APIM, &d).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["type"],
        "Microsoft.ApiManagement/service/apis/diagnostics"
    );
    assert_eq!(
        arm.get(&diag, APIM).await.body["properties"]["metrics"],
        true
    );
    // A logger that does not exist, or an id that is no logger's: APIM's quoted refusals.
    let unknown = json!({"properties": {"loggerId": "/loggers/nope"}});
    let r = arm.put(&diag, APIM, &unknown).await;
    assert_eq!(
        r.expect_error(400, "ValidationError"),
        "One or more fields contain incorrect values:"
    );
    assert_eq!(
        r.body["error"]["details"],
        json!([{"code": "ValidationError", "target": "loggerId", "message": "Logger Id 'nope' does not exist"}])
    );
    let other = json!({"properties": {"loggerId": component()}});
    let r = arm.put(&diag, APIM, &other).await;
    r.expect_error(400, "ValidationError");
    assert_eq!(
        r.body["error"]["details"][0]["message"],
        "Invalid field 'loggerId' specified"
    );
    let service_diag = format!("{}/diagnostics/applicationinsights", svc());
    let full = json!({"properties": {"loggerId": logger}});
    assert_eq!(arm.put(&service_diag, APIM, &full).await.status, 201);
    lists(&arm).await;

    // Deletes: 200, then 204; the component's group goes with it.
    assert_eq!(arm.delete(&diag, APIM).await.status, 200);
    assert_eq!(arm.delete(&diag, APIM).await.status, 204);
    assert_eq!(arm.delete(&logger, APIM).await.status, 200);
    assert_eq!(arm.get(&logger, APIM).await.status, 404);
    assert_eq!(arm.delete(&component(), INSIGHTS).await.status, 200);
    assert_eq!(arm.delete(&component(), INSIGHTS).await.status, 204);
    let gone = arm
        .send(
            Method::GET,
            &format!("{}?api-version={INSIGHTS}", component()),
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    arm.stop().await;
}
