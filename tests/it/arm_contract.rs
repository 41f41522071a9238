//! The resource contract ARM keeps, as a client that did not write the emulator sees it:
//! collection GETs paged with `nextLink`, OData `$filter` honoured or refused, and the
//! ARM error codes of each refusal.

use reqwest::Method;
use serde_json::{Value, json};

use crate::emulator::{
    APIM, Arm, COG, RES, Resp, SUB, account, openapi_json, rg_path, service_path, with_apim,
};

/// Follows `nextLink` from `first` to the end; returns every item and the page count.
async fn all_pages(arm: &Arm, first: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = Some(format!("{}{first}", arm.url));
    while let Some(url) = next {
        let r = arm.send(Method::GET, &url, None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        items.extend(r.body["value"].as_array().unwrap().iter().cloned());
        next = r.body["nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 50, "nextLink never ends");
    }
    (items, pages)
}

fn names(items: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn accounts_by_group_and_by_subscription_page_with_next_link() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    account(&arm, "rg1", "acc-a", "westus").await;
    account(&arm, "rg1", "acc-b", "westus").await;
    account(&arm, "rg2", "acc-c", "eastus").await;
    let by_group = format!(
        "{}/providers/Microsoft.CognitiveServices/accounts?api-version={COG}&$top=1",
        rg_path("rg1")
    );
    let (items, pages) = all_pages(&arm, &by_group).await;
    assert_eq!(names(&items), ["acc-a", "acc-b"]);
    assert_eq!(pages, 2, "one account a page with $top=1");
    assert_eq!(
        items[0]["kind"], "OpenAI",
        "the full account, as GET returns it"
    );
    let by_sub = format!(
        "/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts?api-version={COG}"
    );
    let (items, pages) = all_pages(&arm, &by_sub).await;
    assert_eq!((names(&items).len(), pages), (3, 1));
    let missing = format!(
        "{}/providers/Microsoft.CognitiveServices/accounts",
        rg_path("nope")
    );
    arm.get(&missing, COG)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.get(&format!("{by_sub}&$filter=kind eq 'OpenAI'"), COG)
        .await
        .expect_error(400, "InvalidFilterInQueryString");
    arm.stop().await;
}

#[tokio::test]
async fn resource_groups_and_apim_services_are_listed_with_tag_filters() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim"), ("apim2", "rg-other")])).await;
    for (rg, tag) in [("rg-a", "aoai-lb"), ("rg-b", "someone")] {
        let body = json!({"location": "westus", "tags": {"managed-by": tag}});
        arm.create(&rg_path(rg), RES, &body).await;
    }
    let list = format!("/subscriptions/{SUB}/resourcegroups?api-version={RES}");
    let (items, _) = all_pages(&arm, &list).await;
    assert_eq!(names(&items), ["rg-a", "rg-apim", "rg-b", "rg-other"]);
    let filtered = format!("{list}&$filter=tagName eq 'managed-by' and tagValue eq 'aoai-lb'");
    let (items, _) = all_pages(&arm, &filtered).await;
    assert_eq!(names(&items), ["rg-a"]);
    arm.send(
        Method::GET,
        &format!("{list}&$filter=location eq 'westus'"),
        None,
    )
    .await
    .expect_error(400, "InvalidFilterInQueryString");

    let services = format!(
        "/subscriptions/{SUB}/providers/Microsoft.ApiManagement/service?api-version={APIM}"
    );
    let (items, _) = all_pages(&arm, &services).await;
    assert_eq!(names(&items), ["apim1", "apim2"]);
    let in_group = format!(
        "{}/providers/Microsoft.ApiManagement/service?api-version={APIM}",
        rg_path("rg-other")
    );
    let (items, _) = all_pages(&arm, &in_group).await;
    assert_eq!(names(&items), ["apim2"]);
    assert!(items[0]["properties"]["gatewayUrl"].is_string());
    arm.stop().await;
}

async fn import(arm: &Arm, id: &str, path: &str) {
    let body = json!({"properties": {"format": "openapi+json",
        "value": openapi_json("acc1.openai.azure.com"), "path": path}});
    let svc = service_path("rg-apim", "apim1");
    arm.create(&format!("{svc}/apis/{id}"), APIM, &body).await;
}

#[tokio::test]
async fn apim_lists_page_with_skip_and_honour_documented_filters() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let svc = service_path("rg-apim", "apim1");
    for (id, path) in [("openai-a", "a"), ("openai-b", "b"), ("other", "c")] {
        import(&arm, id, path).await;
    }
    let apis = format!("{svc}/apis?api-version={APIM}");
    let (items, pages) = all_pages(&arm, &format!("{apis}&$top=2")).await;
    assert_eq!((items.len(), pages), (3, 2));
    let first = arm.send(Method::GET, &format!("{apis}&$top=2"), None).await;
    assert_eq!(
        first.body["count"], 3,
        "count: every page's total, as APIM says"
    );
    let r = arm.send(Method::GET, &format!("{apis}&$top=2"), None).await;
    assert!(
        r.body["nextLink"].as_str().unwrap().contains("skip=2"),
        "APIM pages with $skip: {}",
        r.body
    );
    let (items, _) = all_pages(&arm, &format!("{apis}&$filter=startswith(name,'openai')")).await;
    assert_eq!(names(&items), ["openai-a", "openai-b"]);
    let (items, _) = all_pages(&arm, &format!("{apis}&$filter=path eq 'c'")).await;
    assert_eq!(names(&items), ["other"]);
    arm.send(
        Method::GET,
        &format!("{apis}&$filter=colour eq 'red'"),
        None,
    )
    .await
    .expect_error(400, "InvalidFilterInQueryString");

    let policies = format!("{svc}/apis/openai-a/policies");
    assert_eq!(
        arm.get(&policies, APIM).await.body,
        json!({"value": [], "count": 0})
    );
    let policy = json!({"properties": {"format": "rawxml",
        "value": "<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"}});
    arm.create(&format!("{policies}/policy"), APIM, &policy)
        .await;
    let listed = arm.get(&policies, APIM).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["value"][0]["name"], "policy");
    arm.get(&format!("{svc}/apis/nope/policies"), APIM)
        .await
        .expect_error(404, "ResourceNotFound");
    arm.stop().await;
}

/// `method` on `path` (api-version added) with an `If-Match` header.
async fn if_match(arm: &Arm, method: Method, path: &str, body: Option<&Value>, tag: &str) -> Resp {
    let mut req = arm
        .http
        .request(method, format!("{}{path}?api-version={APIM}", arm.url))
        .bearer_auth("t")
        .header("If-Match", tag);
    if let Some(b) = body {
        req = req.json(b);
    }
    Arm::answer(req).await.unwrap()
}

async fn head(arm: &Arm, path: String, version: &str) -> Resp {
    let url = format!("{}{path}?api-version={version}", arm.url);
    arm.send(Method::HEAD, &url, None).await
}

#[tokio::test]
async fn head_answers_existence_and_entity_tags() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let r = head(&arm, rg_path("rg1"), RES).await;
    assert_eq!((r.status, r.body.clone()), (204, Value::Null));
    assert_eq!(head(&arm, rg_path("nope"), RES).await.status, 404);

    import(&arm, "openai", "openai").await;
    let api = format!("{}/apis/openai", service_path("rg-apim", "apim1"));
    let got = arm.get(&api, APIM).await;
    let tag = got.header("etag").expect("GET sends the ETag").to_string();
    assert!(tag.starts_with('"') && tag.ends_with("=\""), "{tag}");
    let r = head(&arm, api.clone(), APIM).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert_eq!(head(&arm, format!("{api}-x"), APIM).await.status, 404);
    let svc = arm.get(&service_path("rg-apim", "apim1"), APIM).await;
    assert_eq!(
        svc.header("etag").unwrap().trim_matches('"'),
        svc.body["etag"].as_str().unwrap(),
        "the service's ETag header is its body's etag"
    );
    arm.stop().await;
}

#[tokio::test]
async fn if_match_guards_puts_patches_and_deletes_of_apim_entities() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let svc = service_path("rg-apim", "apim1");
    import(&arm, "openai", "openai").await;
    let api = format!("{svc}/apis/openai");
    let tag = arm
        .get(&api, APIM)
        .await
        .header("etag")
        .unwrap()
        .to_string();

    let rename = json!({"properties": {"displayName": "Renamed"}});
    let stale = "\"AAAAAAAAAAA=\"";
    let r = if_match(&arm, Method::PATCH, &api, Some(&rename), stale).await;
    r.expect_error(412, "PreconditionFailed");
    assert_eq!(
        arm.get(&api, APIM).await.body["properties"]["displayName"],
        "Azure OpenAI"
    );

    let r = if_match(&arm, Method::PATCH, &api, Some(&rename), &tag).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["displayName"], "Renamed");
    assert_eq!(r.body["properties"]["path"], "openai", "the rest is kept");
    let new_tag = r.header("etag").unwrap().to_string();
    assert_ne!(new_tag, tag, "a change gives a new ETag");
    if_match(&arm, Method::PATCH, &api, Some(&rename), &tag)
        .await
        .expect_error(412, "PreconditionFailed");
    if_match(
        &arm,
        Method::PATCH,
        &api,
        Some(&json!({"properties": {"format": "openapi"}})),
        "*",
    )
    .await
    .expect_error(400, "ValidationError");

    if_match(&arm, Method::DELETE, &api, None, stale)
        .await
        .expect_error(412, "PreconditionFailed");
    let r = if_match(&arm, Method::DELETE, &api, None, "*").await;
    assert_eq!(
        (r.status, r.body.clone()),
        (204, Value::Null),
        "Api_Delete: 202 or 204"
    );
    assert_eq!(arm.get(&api, APIM).await.status, 404);
    assert_eq!(
        if_match(&arm, Method::DELETE, &api, None, "*").await.status,
        204
    );
    arm.stop().await;
}

#[tokio::test]
async fn backends_and_subscriptions_are_patched_in_place() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let svc = service_path("rg-apim", "apim1");
    let backend = format!("{svc}/backends/b1");
    let single =
        json!({"properties": {"url": "https://a.openai.azure.com/openai", "protocol": "http"}});
    arm.create(&backend, APIM, &single).await;
    let r = if_match(
        &arm,
        Method::PATCH,
        &backend,
        Some(&json!({"properties": {"title": "one"}})),
        "*",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["title"], "one");
    assert_eq!(
        r.body["properties"]["url"],
        "https://a.openai.azure.com/openai"
    );
    assert!(r.header("etag").is_some());

    import(&arm, "openai", "openai").await;
    let sub = format!("{svc}/subscriptions/s1");
    let body =
        json!({"properties": {"scope": "/apis/openai", "displayName": "s1", "state": "active"}});
    arm.create(&sub, APIM, &body).await;
    let keys = arm.post(&format!("{sub}/listSecrets"), APIM).await.body;
    let r = if_match(
        &arm,
        Method::PATCH,
        &sub,
        Some(&json!({"properties": {"state": "suspended"}})),
        "*",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["state"], "suspended");
    assert!(
        r.body["properties"].get("primaryKey").is_none(),
        "keys stay out of the body"
    );
    let after = arm.post(&format!("{sub}/listSecrets"), APIM).await.body;
    assert_eq!(after, keys, "a PATCH without keys keeps them");
    arm.stop().await;
}
