//! The ownership marks `aoai-lb import` writes on a resource it adopts, and the request
//! that writes only them: nothing else of the resource may change.
//!
//! - Groups, accounts and deployments carry tags: `managed-by: aoai-lb` and
//!   `aoai-lb-deployment: <deployment>` are added to the tags they have (an account or a
//!   deployment by `PATCH {tags}`, ARM's Accounts_Update / Deployments_Update; a group by
//!   PUT of its own location and tags, Resource Groups - Create Or Update).
//! - Role assignments, backends, the pool and the API carry the mark in their
//!   description: it becomes the description aoai-lb gives them (which ends with the
//!   mark), sent with the resource's other writable fields as ARM returned them (a role
//!   assignment's scope, role and principal cannot change anyway).
//! - The policy and the subscription have no mark of their own: they follow their API.

use serde_json::{Map, Value, json};

use super::diff::FieldChange;
use aoai_lb_core::desired::Kind;
use aoai_lb_core::marks::DEPLOYMENT_TAG;
use aoai_lb_core::validate::{OWNER_TAG, OWNER_TAG_VALUE};

/// The request that writes the marks.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Put(Value),
    Patch(Value),
}

/// The writable fields of a backend or pool, and of an API (the ARM schemas'
/// BackendContractProperties and ApiCreateOrUpdateProperties, without the import fields
/// `format`, `value`, `wsdlSelector` and `sourceApiId`, which would import again).
const BACKEND_FIELDS: &[&str] = &[
    "circuitBreaker",
    "credentials",
    "description",
    "pool",
    "properties",
    "protocol",
    "proxy",
    "resourceId",
    "title",
    "tls",
    "type",
    "url",
];
const API_FIELDS: &[&str] = &[
    "apiRevision",
    "apiRevisionDescription",
    "apiVersion",
    "apiVersionDescription",
    "apiVersionSetId",
    "authenticationSettings",
    "contact",
    "description",
    "displayName",
    "isCurrent",
    "license",
    "path",
    "protocols",
    "serviceUrl",
    "subscriptionKeyParameterNames",
    "subscriptionRequired",
    "termsOfServiceUrl",
    "type",
];
/// RoleAssignmentProperties of the ARM schema (2022-04-01).
const ROLE_FIELDS: &[&str] = &[
    "condition",
    "conditionVersion",
    "delegatedManagedIdentityResourceId",
    "description",
    "principalId",
    "principalType",
    "roleDefinitionId",
];

/// `live.properties` limited to `fields`, without nulls (ARM returns unset fields as null).
fn writable(live: &Value, fields: &[&str]) -> Map<String, Value> {
    live.get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(k, v)| fields.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The live tags with aoai-lb's two marks added.
fn marked_tags(live: &Value, deployment: &str) -> Map<String, Value> {
    let mut tags: Map<String, Value> = live
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // ARM compares tag names ignoring case: replace a differently cased one.
    tags.retain(|k, _| {
        !k.eq_ignore_ascii_case(OWNER_TAG) && !k.eq_ignore_ascii_case(DEPLOYMENT_TAG)
    });
    tags.insert(OWNER_TAG.into(), json!(OWNER_TAG_VALUE));
    tags.insert(DEPLOYMENT_TAG.into(), json!(deployment));
    tags
}

/// What the marks change, field by field, for the import to show.
fn tag_changes(live: &Value, deployment: &str) -> Vec<FieldChange> {
    [(OWNER_TAG, OWNER_TAG_VALUE), (DEPLOYMENT_TAG, deployment)]
        .iter()
        .filter_map(|(name, value)| {
            let old = aoai_lb_core::marks::tag(live, name);
            (old != Some(*value)).then(|| FieldChange {
                path: format!("tags.{name}"),
                old: old.map(Value::from).unwrap_or(Value::Null),
                new: Value::from(*value),
                forces_replacement: false,
            })
        })
        .collect()
}

/// The marks to write on `live` (a resource of `kind` this deployment adopts), as the
/// request that writes them, the resource as it will read afterwards, and the fields
/// they change. `desired` is the resource as the plan wants it (its description carries
/// the mark). None: this kind carries no mark of its own.
pub fn marks_for(
    kind: Kind,
    live: &Value,
    desired: &Value,
    deployment: &str,
) -> Option<(Write, Value, Vec<FieldChange>)> {
    let mut after = live.clone();
    match kind {
        Kind::ResourceGroup | Kind::Account | Kind::Deployment | Kind::Component => {
            let tags = marked_tags(live, deployment);
            let changes = tag_changes(live, deployment);
            after["tags"] = Value::Object(tags.clone());
            let write = if kind == Kind::ResourceGroup {
                Write::Put(json!({ "location": live["location"], "tags": tags }))
            } else {
                Write::Patch(json!({ "tags": tags }))
            };
            Some((write, after, changes))
        }
        Kind::RoleAssignment | Kind::Backend | Kind::Pool | Kind::Api => {
            let fields = match kind {
                Kind::RoleAssignment => ROLE_FIELDS,
                Kind::Api => API_FIELDS,
                _ => BACKEND_FIELDS,
            };
            let mut properties = writable(live, fields);
            let description = desired
                .pointer("/properties/description")
                .cloned()
                .unwrap_or(Value::Null);
            let old = live
                .pointer("/properties/description")
                .cloned()
                .unwrap_or(Value::Null);
            properties.insert("description".into(), description.clone());
            after["properties"]["description"] = description.clone();
            let change = FieldChange {
                path: "properties.description".into(),
                old,
                new: description,
                forces_replacement: false,
            };
            Some((
                Write::Put(json!({ "properties": properties })),
                after,
                vec![change],
            ))
        }
        // A logger cannot be re-PUT without its credentials: it is not marked on import.
        Kind::ApimIdentity
        | Kind::ApiPolicy
        | Kind::Subscription
        | Kind::Logger
        | Kind::Diagnostic => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_added_to_those_there() {
        let live = json!({ "location": "westus", "tags": { "team": "ml", "Managed-By": "me" } });
        let (write, after, changes) = marks_for(Kind::Account, &live, &json!({}), "dev").unwrap();
        let want = json!({ "team": "ml", "managed-by": "aoai-lb", "aoai-lb-deployment": "dev" });
        assert_eq!(write, Write::Patch(json!({ "tags": want })));
        assert_eq!(after["tags"], want);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].old, json!("me"));
        let (write, ..) = marks_for(Kind::ResourceGroup, &live, &json!({}), "dev").unwrap();
        assert_eq!(
            write,
            Write::Put(json!({ "location": "westus", "tags": want }))
        );
    }

    #[test]
    fn descriptions_carry_the_mark_and_other_fields_are_kept() {
        let live = json!({ "id": "/b", "properties": {
            "type": "Pool", "url": null, "protocol": null, "provisioningState": "Succeeded",
            "pool": { "services": [{ "id": "/x" }] }, "description": "by hand" } });
        let desired = json!({ "properties": { "description": "pool [aoai-lb-deployment: dev]" } });
        let (write, after, changes) = marks_for(Kind::Pool, &live, &desired, "dev").unwrap();
        assert_eq!(
            write,
            Write::Put(json!({ "properties": {
                "type": "Pool", "pool": { "services": [{ "id": "/x" }] },
                "description": "pool [aoai-lb-deployment: dev]" } }))
        );
        assert_eq!(
            after["properties"]["description"],
            "pool [aoai-lb-deployment: dev]"
        );
        assert_eq!(changes[0].old, json!("by hand"));
        assert!(marks_for(Kind::ApiPolicy, &live, &desired, "dev").is_none());
    }
}
