//! API operations: what API Management makes of an imported OpenAPI document, one
//! operation per path and method, and serves as `.../apis/{api}/operations[/{op}]`
//! (ApiOperation_ListByApi, ApiOperation_Get in apimapis.json; shapes from the examples
//! ApiManagementListApiOperations.json and ApiManagementGetApiOperation.json). The
//! gateway matches requests against them (dataplane/prepare.rs).
//!
//! The rules are those of "API import restrictions and known issues" (learn.microsoft.com,
//! api-management-api-import-restrictions, "Add new API via OpenAPI import" and
//! "Normalization rules for operationId"):
//! - the operation's name is the `operationId` (`ChatCompletions_Create`, as templates
//!   exported from real services show it and as Bicep labs reference imported operations
//!   with `existing`); one that is no valid resource name is normalized as documented
//!   (lower case, every run of other characters than letters and digits one dash, dashes
//!   trimmed, at most 76 characters); `-1`, `-2`… follow a name already taken; without
//!   an `operationId`, the normalized `METHOD-path` (`get-foo`);
//! - its display name is `summary` (at most 300 characters), else `operationId`, else
//!   `Method - path`;
//! - required query parameters become template parameters of the URL template
//!   (`?api-version={api-version}`), as API Management does by default
//!   (`translateRequiredQueryParameters`); the others stay query parameters.
//!
//! An import replaces the API's operations (APIM updates matching ones in place and
//! deletes the rest; the emulator keeps no operation policies, so the outcome is the same).

use serde_json::{Map, Value, json};

use super::Cx;
use super::lists::page;
use crate::address::{Address, Rg};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record, Store};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The resource name of an operation with this `operationId`: itself when it is a valid
/// name (letters, digits, `-`, `_`, `.`; at most 80 characters), else normalized.
fn name_for(operation_id: &str) -> String {
    let valid = operation_id.len() <= 80
        && operation_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        operation_id.to_string()
    } else {
        normalize(operation_id)
    }
}

/// A string as API Management normalizes it into a resource name.
pub fn normalize(operation_id: &str) -> String {
    let mut out = String::new();
    for c in operation_id.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(76).collect()
}

/// A parameter object, following a local `$ref` (`#/components/parameters/X`).
fn resolve<'d>(doc: &'d Value, p: &'d Value) -> &'d Value {
    match p["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(p),
        None => p,
    }
}

/// A parameter contract (ParameterContract in apimapis.json).
fn contract(p: &Value, required: bool) -> Value {
    let mut c = json!({
        "name": p["name"],
        "type": p.pointer("/schema/type").and_then(Value::as_str).unwrap_or("string"),
        "required": required,
        "values": [],
    });
    if let Some(d) = p["description"].as_str() {
        c["description"] = Value::from(d);
    }
    if let Some(d) = p.pointer("/schema/default") {
        c["defaultValue"] = Value::from(d.to_string().trim_matches('"'));
    }
    c
}

/// One operation's properties from its OpenAPI path item and operation object.
fn properties(doc: &Value, path: &str, method: &str, item: &Value, op: &Value) -> Value {
    let params: Vec<&Value> = [&item["parameters"], &op["parameters"]]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| resolve(doc, p))
        .collect();
    let (mut template, mut query, mut headers, mut in_template) = (vec![], vec![], vec![], vec![]);
    for p in params {
        let required = p["required"].as_bool().unwrap_or(false);
        match p["in"].as_str() {
            Some("path") => template.push(contract(p, true)),
            Some("query") if required => {
                in_template.push(p["name"].as_str().unwrap_or_default().to_string());
                template.push(contract(p, true));
            }
            Some("query") => query.push(contract(p, false)),
            Some("header") => headers.push(contract(p, required)),
            _ => {}
        }
    }
    let mut url = path.to_string();
    if !in_template.is_empty() {
        let q: Vec<String> = in_template.iter().map(|n| format!("{n}={{{n}}}")).collect();
        url = format!("{url}?{}", q.join("&"));
    }
    let representations = |content: &Value| -> Vec<Value> {
        content
            .as_object()
            .map(|c| c.keys().map(|t| json!({"contentType": t})).collect())
            .unwrap_or_default()
    };
    let responses: Vec<Value> = op["responses"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter_map(|(code, resp)| {
                    Some(json!({
                        "statusCode": code.parse::<u16>().ok()?,
                        "description": resolve(doc, resp)["description"],
                        "representations": representations(&resolve(doc, resp)["content"]),
                        "headers": [],
                    }))
                })
                .collect()
        })
        .unwrap_or_default();
    let body = resolve(doc, &op["requestBody"]);
    let id = op["operationId"].as_str().filter(|s| !s.is_empty());
    let display = match (op["summary"].as_str().filter(|s| !s.is_empty()), id) {
        (Some(s), _) => s.chars().take(300).collect(),
        (None, Some(id)) => id.to_string(),
        (None, None) => {
            let mut m = method.to_ascii_lowercase();
            m[..1].make_ascii_uppercase();
            format!("{m} - {path}")
        }
    };
    let mut props = json!({
        "displayName": display,
        "method": method.to_ascii_uppercase(),
        "urlTemplate": url,
        "templateParameters": template,
        "request": {
            "queryParameters": query,
            "headers": headers,
            "representations": representations(&body["content"]),
        },
        "responses": responses,
    });
    if let Some(d) = op["description"].as_str() {
        props["description"] = Value::from(d);
    }
    props
}

/// The operations API Management creates for `doc` in the API `api_id`, in the
/// document's order.
pub fn from_openapi(doc: &Value, api_id: &str) -> Vec<Record> {
    let mut taken: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let empty = Map::new();
    for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            if !METHODS.contains(&method.to_ascii_lowercase().as_str()) {
                continue;
            }
            let base = match op["operationId"].as_str().filter(|s| !s.is_empty()) {
                Some(id) => name_for(id),
                None => normalize(&format!("{method}-{path}")),
            };
            let mut name = base.clone();
            let mut n = 0;
            while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
                n += 1;
                name = format!("{base}-{n}");
            }
            taken.push(name.clone());
            let id = format!("{api_id}/operations/{name}");
            let view = json!({
                "id": id,
                "type": "Microsoft.ApiManagement/service/apis/operations",
                "name": name,
                "properties": properties(doc, path, method, item, op),
            });
            out.push(Record::new(Kind::ApiOperation, id, view));
        }
    }
    out
}

/// Replaces the operations of the API `api_id` by those of `doc`.
pub fn replace(store: &mut Store, api_id: &str, doc: &Value) {
    let old: Vec<String> = store
        .below(api_id)
        .filter(|r| r.kind == Kind::ApiOperation)
        .map(|r| r.id.clone())
        .collect();
    for id in old {
        store.remove_tree(&id);
    }
    for r in from_openapi(doc, api_id) {
        store.put(r);
    }
}

/// ApiOperation_ListByApi: the API's operations, `$top`/`$skip` paged.
pub fn list(
    cx: &mut Cx,
    addr: &Address,
    rg: &Rg,
    service: &str,
    api: &str,
) -> Result<Reply, ArmError> {
    let api_addr = Address::Api(rg.clone(), service.to_string(), api.to_string());
    if !cx.store.exists(&api_addr.id()) {
        return Err(cx.missing(&api_addr));
    }
    if let Some(f) = cx.query.get("$filter") {
        return Err(ArmError::bad_request(
            "InvalidFilterInQueryString",
            format!("Invalid $filter '{f}' specified in the query string."),
        ));
    }
    let items = cx
        .store
        .below(&api_addr.id())
        .filter(|r| r.kind == Kind::ApiOperation)
        .map(|r| r.body.clone())
        .collect();
    page(cx, addr, items, "$skip")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_normalized_as_documented() {
        // The documentation's own example.
        assert_eq!(
            normalize("GET-/foo/{bar}?buzz={quix}"),
            "get-foo-bar-buzz-quix"
        );
        assert_eq!(name_for("ChatCompletions_Create"), "ChatCompletions_Create");
        assert_eq!(name_for("list pets!"), "list-pets");
        assert_eq!(normalize(&"a".repeat(100)).len(), 76);
    }

    #[test]
    fn operations_of_the_inference_spec_shape() {
        let doc = json!({
            "openapi": "3.0.0", "info": {"title": "t"},
            "components": {"parameters": {"v": {"name": "api-version", "in": "query", "required": true, "schema": {"type": "string"}}}},
            "paths": {
                "/deployments/{deployment-id}/chat/completions": {"post": {
                    "operationId": "ChatCompletions_Create", "summary": "Creates a completion for the chat message",
                    "parameters": [{"name": "deployment-id", "in": "path", "required": true, "schema": {"type": "string"}}, {"$ref": "#/components/parameters/v"}],
                    "requestBody": {"content": {"application/json": {}}},
                    "responses": {"200": {"description": "OK", "content": {"application/json": {}}}}
                }},
                "/foo": {"get": {}, "post": {"operationId": "get-foo"}}
            }
        });
        let ops = from_openapi(&doc, "/s/apis/a");
        let names: Vec<&str> = ops.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["ChatCompletions_Create", "get-foo", "get-foo-1"]);
        let p = &ops[0].body["properties"];
        assert_eq!(
            p["urlTemplate"],
            "/deployments/{deployment-id}/chat/completions?api-version={api-version}"
        );
        assert_eq!(
            p["displayName"],
            "Creates a completion for the chat message"
        );
        assert_eq!(p["method"], "POST");
        assert_eq!(p["templateParameters"][1]["name"], "api-version");
        assert_eq!(p["responses"][0]["statusCode"], 200);
        assert_eq!(ops[1].body["properties"]["displayName"], "Get - /foo");
        assert_eq!(
            ops[0].body["id"],
            "/s/apis/a/operations/ChatCompletions_Create"
        );
    }
}
