//! API Management APIs and API policies. An API import is asynchronous and its value must
//! be an OpenAPI 3 document (the emulator has no network, so `*-link` formats cannot be
//! fetched); a policy must parse in its format and may only name backends and identities
//! that exist. GET returns policies reformatted, as API Management does.

use serde_json::{Value, json};

use super::apim::{parent_exists, service_of};
use super::{Cx, object, str_at};
use crate::address::{Address, Namespace};
use crate::ops::{self, OpKind};
use crate::policy::{self, Format, to_rawxml, to_xml};
use crate::reply::{ArmError, Reply};
use crate::store::{Kind, Record, key};

fn cannot_fetch(what: &str, link: &str) -> ArmError {
    ArmError::validation(format!(
        "Unable to download the {what} from '{link}': the emulator has no network access. Send the document inline instead."
    ))
}

/// Parses an import value into an OpenAPI 3 document.
fn openapi(format: &str, value: &str) -> Result<Value, ArmError> {
    let doc: Value = match format {
        "openapi+json" => serde_json::from_str(value)
            .map_err(|e| ArmError::validation(format!("The value is not valid JSON: {e}")))?,
        "openapi" => serde_saphyr::from_str(value).map_err(|e| {
            ArmError::validation(format!(
                "The value is not a valid OpenAPI document: {}",
                e.to_string().lines().next().unwrap_or_default()
            ))
        })?,
        f if f.ends_with("link") => return Err(cannot_fetch("specification", value)),
        f => {
            return Err(ArmError::validation(format!(
                "Import format '{f}' is not emulated (openapi+json and openapi are)."
            )));
        }
    };
    let version = doc["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.") {
        return Err(ArmError::validation(
            "The value is not an OpenAPI 3 document: 'openapi' must be 3.x.",
        ));
    }
    for field in ["info", "paths"] {
        if !doc[field].is_object() {
            return Err(ArmError::validation(format!(
                "The value is not a valid OpenAPI 3 document: '{field}' is missing."
            )));
        }
    }
    Ok(doc)
}

/// `servers[0].url` with its variables replaced by their defaults.
fn server_url(doc: &Value) -> Option<String> {
    let server = doc.pointer("/servers/0")?;
    let mut url = server["url"].as_str()?.to_string();
    for (name, var) in object(server, "variables") {
        if let Some(default) = var["default"].as_str() {
            url = url.replace(&format!("{{{name}}}"), default.trim_end_matches('/'));
        }
    }
    Some(url)
}

fn normalized_path(p: &str) -> String {
    p.trim_matches('/').to_ascii_lowercase()
}

pub fn put_api(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let id = addr.id();
    let service_id = service_of(addr).id();
    let existing = cx.store.get(&id).cloned();
    if existing.is_some() && ops::in_progress(cx.store, &id).is_some() {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "An import into API '{}' is in progress. Please try again later.",
                addr.id()
            ),
        ));
    }
    let mut props = object(body, "properties");
    let format = props.remove("format");
    let value = props.remove("value");
    let doc = match (
        format.as_ref().and_then(Value::as_str),
        value.as_ref().and_then(Value::as_str),
    ) {
        (Some(f), Some(v)) => Some(openapi(f, v)?),
        (None, None) => None,
        _ => return Err(ArmError::validation("'format' and 'value' go together.")),
    };
    let path = props
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let clash = cx
        .store
        .below(&service_id)
        .filter(|r| r.kind == Kind::Api && key(&r.id) != key(&id))
        .find(|r| {
            str_at(&r.body, "/properties/path")
                .is_some_and(|p| normalized_path(p) == normalized_path(&path))
        })
        .map(|r| r.name().to_string());
    if let Some(other) = clash {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Cannot create API '{}' with the same path '{path}' as API '{other}'.",
                addr.id().rsplit('/').next().unwrap_or_default()
            ),
        ));
    }
    let name = id.rsplit('/').next().unwrap_or_default().to_string();
    let from_doc = |pointer: &str| doc.as_ref().and_then(|d| d.pointer(pointer)).cloned();
    if !props.contains_key("displayName") {
        let title = from_doc("/info/title").unwrap_or_else(|| Value::from(name.clone()));
        props.insert("displayName".into(), title);
    }
    if !props.contains_key("description")
        && let Some(d) = from_doc("/info/description")
    {
        props.insert("description".into(), d);
    }
    if !props.contains_key("serviceUrl")
        && let Some(url) = doc.as_ref().and_then(server_url)
    {
        props.insert("serviceUrl".into(), Value::from(url));
    }
    // What API Management takes from an imported document's info and always answers, as
    // recorded for an OpenAPI import at 2021-08-01 (Azure/azure-powershell ApiManagement
    // SessionRecords ApiImportExportOpenApiJsonTest.json, replayed by tests/it/recorded.rs).
    for (field, pointer) in [
        ("termsOfServiceUrl", "/info/termsOfService"),
        ("contact", "/info/contact"),
        ("license", "/info/license"),
    ] {
        if !props.contains_key(field)
            && let Some(v) = from_doc(pointer)
        {
            props.insert(field.into(), v);
        }
    }
    if let Some(contact) = props.get_mut("contact").and_then(Value::as_object_mut) {
        for field in ["name", "url", "email"] {
            contact.entry(field).or_insert(Value::Null);
        }
    }
    props
        .entry("authenticationSettings")
        .or_insert_with(|| json!({"oAuth2": null, "openid": null}));
    props
        .entry("apiRevision")
        .or_insert_with(|| Value::from("1"));
    props
        .entry("subscriptionRequired")
        .or_insert(Value::from(true));
    props.entry("protocols").or_insert_with(|| json!(["https"]));
    props.entry("subscriptionKeyParameterNames").or_insert_with(
        || json!({"header": "Ocp-Apim-Subscription-Key", "query": "subscription-key"}),
    );
    // An http API (the default) is answered without `type`, even when the PUT sent
    // `"type": "http"`: recorded at 2021-08-01 (ApiImportExportOpenApiJsonTest.json, the
    // import and the update), and so is the 201 body of the 2024-05-01 example
    // ApiManagementCreateApiUsingOai3Import.json. Other types (soap, websocket, graphql)
    // are kept.
    let api_type = props.remove("apiType").or_else(|| props.remove("type"));
    if let Some(t) =
        api_type.filter(|t| !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("http")))
    {
        props.insert("type".into(), t);
    }
    props.insert("isCurrent".into(), Value::from(true));
    props.insert("provisioningState".into(), Value::from("InProgress"));
    let view = json!({
        "id": id,
        "type": "Microsoft.ApiManagement/service/apis",
        "name": name,
        "properties": props,
    });
    cx.store.put(Record::new(Kind::Api, id.clone(), view));
    let stored = cx.store.get(&id).expect("stored").clone();
    if let Some(doc) = &doc {
        super::operations::replace(cx.store, &stored.id, doc);
    }
    let sub = stored.id.split('/').nth(2).unwrap_or_default().to_string();
    let op = cx.start_op(
        OpKind::ApiImport,
        &stored.id,
        &sub,
        Namespace::ApiManagement,
    );
    let mut op = op;
    op.async_code = if existing.is_some() { 200 } else { 201 };
    cx.store.operations.insert(op.id.clone(), op.clone());
    let mut reply = Reply::put(existing.is_some(), stored.body);
    reply.headers = cx.op_headers(&op, true, true);
    Ok(reply)
}

pub fn delete_api(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let id = key(&addr.id());
    // Subscriptions scoped to the API go with it.
    let scoped: Vec<String> = cx
        .store
        .below(&service_of(addr).id())
        .filter(|r| r.kind == Kind::ApimSubscription)
        .filter(|r| str_at(&r.body, "/properties/scope").is_some_and(|s| key(s) == id))
        .map(|r| r.id.clone())
        .collect();
    for s in scoped {
        cx.store.remove_tree(&s);
    }
    super::apim::delete_simple(cx, addr)
}

fn policy_format(name: &str) -> Result<Format, ArmError> {
    match name {
        "xml" => Ok(Format::Xml),
        "rawxml" => Ok(Format::RawXml),
        other => Err(ArmError::validation(format!(
            "Policy format '{other}' is not supported by the emulator (xml and rawxml are)."
        ))),
    }
}

/// Checks what API Management checks in a policy: the root, backends, identities.
fn check_policy(cx: &Cx, service_id: &str, root: &policy::Element) -> Result<(), ArmError> {
    if root.name != "policies" {
        return Err(ArmError::validation(format!(
            "The policy document must have a <policies> root, not <{}>.",
            root.name
        )));
    }
    let expression = |v: &str| v.trim_start().starts_with('@');
    let service = cx
        .store
        .get(service_id)
        .map(|r| r.body.clone())
        .unwrap_or_default();
    for el in root.descendants() {
        match el.name.as_str() {
            "set-backend-service" => {
                if let Some(b) = el.attr("backend-id").filter(|b| !expression(b))
                    && !cx.store.exists(&format!("{service_id}/backends/{b}"))
                {
                    return Err(ArmError::validation(format!(
                        "Error in element 'set-backend-service': Backend with id '{b}' could not be found."
                    )));
                }
            }
            "authentication-managed-identity" => {
                let t = str_at(&service, "/identity/type").unwrap_or("None");
                if t == "None" {
                    return Err(ArmError::validation(
                        "Error in element 'authentication-managed-identity': managed identity is not enabled for this API Management service.",
                    ));
                }
                if let Some(client) = el.attr("client-id").filter(|c| !expression(c)) {
                    let known = object(&service["identity"], "userAssignedIdentities")
                        .values()
                        .any(|u| {
                            u["clientId"]
                                .as_str()
                                .is_some_and(|c| c.eq_ignore_ascii_case(client))
                        });
                    if !known {
                        return Err(ArmError::validation(format!(
                            "Error in element 'authentication-managed-identity': client-id '{client}' is not a user-assigned identity of this service."
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    check_token_policies(root)
}

/// The token limits and token metrics as their reference pages define them: attributes,
/// values, the `inbound` section only ("Policy sections: inbound").
fn check_token_policies(root: &policy::Element) -> Result<(), ArmError> {
    use crate::dataplane::policy::{check_governance, outside_inbound};
    if let Some((section, element)) = outside_inbound(root) {
        return Err(ArmError::validation(format!(
            "Error in element '{element}': the policy is not allowed in the '{section}' section; it is allowed in 'inbound' only."
        )));
    }
    check_governance(root).map_err(ArmError::validation)
}

pub fn put_policy(cx: &mut Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    parent_exists(cx, addr)?;
    let format_name = str_at(body, "/properties/format")
        .unwrap_or("xml")
        .to_string();
    let value = str_at(body, "/properties/value")
        .unwrap_or_default()
        .to_string();
    if format_name.ends_with("-link") {
        return Err(cannot_fetch("policy", &value));
    }
    let format = policy_format(&format_name)?;
    let root = policy::parse(&value, format)
        .map_err(|e| ArmError::validation(format!("The policy is not valid {format_name}: {e}")))?;
    check_policy(cx, &service_of(addr).id(), &root)?;
    let id = addr.id();
    let existed = cx.store.exists(&id);
    let view = json!({
        "id": id,
        "type": "Microsoft.ApiManagement/service/apis/policies",
        "name": "policy",
        "properties": {"format": "xml", "value": to_xml(&root)},
    });
    let mut record = Record::new(Kind::ApiPolicy, id.clone(), view);
    record.private = json!({"format": format_name, "value": value});
    cx.store.put(record);
    Ok(Reply::put(
        existed,
        cx.store.get(&id).expect("stored").body.clone(),
    ))
}

pub fn get_policy(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let Some(record) = cx.store.get(&addr.id()) else {
        return Err(cx.missing(addr));
    };
    let wants_raw = cx
        .query
        .get("format")
        .is_some_and(|f| f.eq_ignore_ascii_case("rawxml"));
    if !wants_raw {
        return Ok(Reply::ok(record.body.clone()));
    }
    let sent_format = record.private["format"].as_str().unwrap_or("xml");
    let sent = record.private["value"].as_str().unwrap_or_default();
    let raw = if sent_format == "rawxml" {
        sent.to_string()
    } else {
        let root = policy::parse(sent, Format::Xml)
            .map_err(|e| ArmError::new(500, "InternalError", e.to_string()))?;
        to_rawxml(&root)
    };
    let mut view = record.body.clone();
    view["properties"] = json!({"format": "rawxml", "value": raw});
    Ok(Reply::ok(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_documents() {
        let ok = r#"{"openapi": "3.0.0", "info": {"title": "t"}, "paths": {}, "servers": [{"url": "https://{endpoint}/openai", "variables": {"endpoint": {"default": "a.openai.azure.com"}}}]}"#;
        let doc = openapi("openapi+json", ok).unwrap();
        assert_eq!(
            server_url(&doc).unwrap(),
            "https://a.openai.azure.com/openai"
        );
        assert!(openapi("openapi", "openapi: 3.0.1\ninfo: {title: t}\npaths: {}\n").is_ok());
        assert_eq!(
            openapi("openapi+json", "{").unwrap_err().code,
            "ValidationError"
        );
        assert!(
            openapi(
                "openapi+json",
                r#"{"swagger": "2.0", "info": {}, "paths": {}}"#
            )
            .is_err()
        );
        assert!(
            openapi("openapi-link", "https://example.com/x.yaml")
                .unwrap_err()
                .message
                .contains("no network")
        );
    }
}
