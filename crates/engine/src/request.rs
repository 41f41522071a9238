//! The request a change sends, as plan data: method, ARM id, api-version and body,
//! computed when the plan is made. A few values exist only once an earlier change has
//! run (the principal id of the identity APIM turns on, and the role assignment name
//! derived from it): the body and id hold `(known after apply)` there, and a [`Fill`]
//! says which earlier change's result completes them. Apply fills them; it never
//! rebuilds the desired state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ChangeError;
use super::plan::{Action, Change};
use aoai_lb_arm::resources::ServiceIdentity;
use aoai_lb_core::desired::{self, Kind};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::model::Identity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Put,
    Patch,
    Delete,
}

impl From<desired::Method> for Method {
    fn from(m: desired::Method) -> Self {
        match m {
            desired::Method::Put => Method::Put,
            desired::Method::Patch => Method::Patch,
        }
    }
}

/// One ARM request. Never holds a secret: no body aoai-lb sends carries a key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: Method,
    /// The ARM id (the URL's path).
    pub id: String,
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Values taken from earlier changes' results, filled in by apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fills: Vec<Fill>,
}

/// The identity whose values a fill takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentityRef {
    SystemAssigned,
    UserAssigned(String),
}

impl IdentityRef {
    pub fn of(identity: &Identity) -> IdentityRef {
        match identity {
            Identity::SystemAssigned => IdentityRef::SystemAssigned,
            Identity::UserAssigned { id } => IdentityRef::UserAssigned(id.clone()),
        }
    }

    /// (principal id, client id) of this identity in an APIM service as ARM returned it.
    fn values(&self, service: &Value) -> (Option<String>, Option<String>) {
        let now = ServiceIdentity::from_service(service);
        match self {
            IdentityRef::SystemAssigned if now.has_system() => (now.principal_id, None),
            IdentityRef::SystemAssigned => (None, None),
            IdentityRef::UserAssigned(id) => now
                .user(id)
                .map(|u| (u.principal_id.clone(), u.client_id.clone()))
                .unwrap_or_default(),
        }
    }
}

/// A placeholder of a request and where its value comes from: the result of the
/// change at address `from`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fill", rename_all = "camelCase")]
pub enum Fill {
    /// The identity's principal id, the string at `pointer` in the body.
    #[serde(rename_all = "camelCase")]
    PrincipalId {
        from: String,
        identity: IdentityRef,
        pointer: String,
    },
    /// The identity's client id, replacing the placeholder in the string at `pointer`.
    #[serde(rename_all = "camelCase")]
    ClientId {
        from: String,
        identity: IdentityRef,
        pointer: String,
    },
    /// A secret read at apply time from the resource `component` (an Application
    /// Insights component's `properties.ConnectionString`), the string at `pointer`. It
    /// is sent and forgotten: never in a plan, the state or output.
    #[serde(rename_all = "camelCase")]
    ConnectionString { component: String, pointer: String },
    /// The role assignment's name (the last segment of the id): the v5 UUID of scope,
    /// role and the identity's principal id.
    #[serde(rename_all = "camelCase")]
    RoleAssignmentName {
        from: String,
        identity: IdentityRef,
        scope: String,
        role_definition_id: String,
    },
}

/// What apply records in the state around a change, besides the resource's entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Record {
    /// Before the request: the APIM service's identity as found, for destroy.
    IdentityFound(Value),
    /// After the request: the identity is as found again; the state forgets it.
    IdentityRestored,
}

/// JSON pointers of the strings in `v` that hold the placeholder.
fn placeholders(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(desired::UNKNOWN) => out.push(at),
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                placeholders(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                placeholders(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Says, for every placeholder in a change's request, which change fills it: the
/// APIM identity change, the only one whose result holds values the plan needs.
pub fn add_fills(changes: &mut [Change], identity: &IdentityRef) {
    for c in changes
        .iter_mut()
        .filter(|c| c.action != Action::Delete && c.kind == Kind::Logger)
    {
        c.request.fills = logger_fills(&c.request);
    }
    let Some(from) = changes
        .iter()
        .find(|c| c.kind == Kind::ApimIdentity)
        .map(|c| c.address.clone())
    else {
        return;
    };
    for c in changes
        .iter_mut()
        .filter(|c| c.action != Action::Delete && c.kind != Kind::Logger)
    {
        let mut fills = Vec::new();
        if c.request.id.contains(desired::UNKNOWN) {
            let body = c.request.body.as_ref();
            fills.push(Fill::RoleAssignmentName {
                from: from.clone(),
                identity: identity.clone(),
                scope: c
                    .request
                    .id
                    .split("/providers/Microsoft.Authorization/")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                role_definition_id: body
                    .and_then(|b| b.pointer("/properties/roleDefinitionId"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        let mut pointers = Vec::new();
        if let Some(body) = &c.request.body {
            placeholders(body, String::new(), &mut pointers);
        }
        for pointer in pointers {
            let (from, identity) = (from.clone(), identity.clone());
            fills.push(if pointer.ends_with("/principalId") {
                Fill::PrincipalId {
                    from,
                    identity,
                    pointer,
                }
            } else {
                Fill::ClientId {
                    from,
                    identity,
                    pointer,
                }
            });
        }
        if !fills.is_empty() && !c.depends_on.contains(&from) {
            c.depends_on.push(from.clone());
        }
        c.request.fills = fills;
    }
}

/// A logger's placeholders: its credentials, the connection string of the component
/// named by `properties.resourceId`.
fn logger_fills(request: &Request) -> Vec<Fill> {
    let Some(body) = &request.body else {
        return Vec::new();
    };
    let component = body
        .pointer("/properties/resourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut pointers = Vec::new();
    placeholders(body, String::new(), &mut pointers);
    pointers
        .into_iter()
        .map(|pointer| Fill::ConnectionString {
            component: component.to_string(),
            pointer,
        })
        .collect()
}

/// The ids of the resources whose secrets `request` takes at apply time.
pub fn secret_sources(request: &Request) -> Vec<&str> {
    request
        .fills
        .iter()
        .filter_map(|f| match f {
            Fill::ConnectionString { component, .. } => Some(component.as_str()),
            _ => None,
        })
        .collect()
}

/// The request with every placeholder filled from the results of earlier changes
/// (by address): the id and the body to send.
pub fn filled(
    request: &Request,
    results: &BTreeMap<String, Value>,
) -> Result<(String, Option<Value>), ChangeError> {
    let mut id = request.id.clone();
    let mut body = request.body.clone();
    for fill in &request.fills {
        if let Fill::ConnectionString { component, pointer } = fill {
            let secret = results
                .get(component)
                .and_then(|c| c.pointer("/properties/ConnectionString"))
                .and_then(Value::as_str)
                .ok_or_else(|| ChangeError::Unfilled {
                    what: "the Application Insights connection string",
                    why: format!("{component} has none"),
                })?;
            if let Some(slot) = body.as_mut().and_then(|b| b.pointer_mut(pointer)) {
                *slot = Value::String(secret.to_string());
            }
            continue;
        }
        let (from, identity) = match fill {
            Fill::ConnectionString { .. } => continue,
            Fill::PrincipalId { from, identity, .. }
            | Fill::ClientId { from, identity, .. }
            | Fill::RoleAssignmentName { from, identity, .. } => (from, identity),
        };
        let result = results.get(from).ok_or_else(|| ChangeError::Unfilled {
            what: "a value this change takes from another",
            why: format!("{from} did not run"),
        })?;
        let (principal, client) = identity.values(result);
        let missing = |what| ChangeError::Unfilled {
            what,
            why: format!("{from} returned none"),
        };
        match fill {
            Fill::PrincipalId { pointer, .. } => {
                let principal = principal.ok_or_else(|| missing("the identity's principal id"))?;
                if let Some(slot) = body.as_mut().and_then(|b| b.pointer_mut(pointer)) {
                    *slot = Value::String(principal);
                }
            }
            Fill::ClientId { pointer, .. } => {
                let client = client.ok_or_else(|| missing("the identity's client id"))?;
                if let Some(slot) = body.as_mut().and_then(|b| b.pointer_mut(pointer))
                    && let Some(text) = slot.as_str()
                {
                    *slot = Value::String(text.replace(desired::UNKNOWN, &client));
                }
            }
            Fill::RoleAssignmentName {
                scope,
                role_definition_id,
                ..
            } => {
                let principal = principal.ok_or_else(|| missing("the identity's principal id"))?;
                let name = ids::role_assignment_name(scope, role_definition_id, &principal);
                id = id.replace(desired::UNKNOWN, &name);
            }
            Fill::ConnectionString { .. } => {}
        }
    }
    Ok((id, body))
}

/// Destroy's last change: put the APIM service's identity back as aoai-lb found it
/// (`before`, the raw `identity`), after the changes `after`.
pub fn identity_restore(service_id: &str, before: &Value, after: Vec<String>) -> Change {
    let found = ServiceIdentity::from_service(&serde_json::json!({ "identity": before }));
    let name = service_id.rsplit('/').next().unwrap_or(service_id);
    Change {
        address: format!("{}.{name}", Kind::ApimIdentity.as_str()),
        kind: Kind::ApimIdentity,
        id: service_id.to_string(),
        api_version: api_version::API_MANAGEMENT.to_string(),
        action: Action::Update,
        fields: vec![],
        depends_on: after,
        owned: false,
        note: Some(format!(
            "put back as aoai-lb found it (type {})",
            found.kind
        )),
        request: Request {
            method: Method::Patch,
            id: service_id.to_string(),
            api_version: api_version::API_MANAGEMENT.to_string(),
            body: Some(ServiceIdentity::patch_restoring(&found)),
            fills: vec![],
        },
        record: Some(Record::IdentityRestored),
        purge: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_connection_string_is_filled_from_the_component_read_at_apply() {
        let request = Request {
            method: Method::Put,
            id: "/s/loggers/appi".into(),
            api_version: "2024-05-01".into(),
            body: Some(json!({"properties": {
                "resourceId": "/c/appi",
                "credentials": {"connectionString": desired::UNKNOWN},
            }})),
            fills: vec![],
        };
        let fills = logger_fills(&request);
        assert_eq!(
            fills,
            vec![Fill::ConnectionString {
                component: "/c/appi".into(),
                pointer: "/properties/credentials/connectionString".into(),
            }]
        );
        let request = Request { fills, ..request };
        assert_eq!(secret_sources(&request), vec!["/c/appi"]);
        let read = json!({"properties": {"ConnectionString": "InstrumentationKey=k"}});
        let results = BTreeMap::from([("/c/appi".to_string(), read)]);
        let (_, body) = filled(&request, &results).unwrap();
        assert_eq!(
            body.unwrap()["properties"]["credentials"]["connectionString"],
            "InstrumentationKey=k"
        );
        // A component without a connection string is an error, not a placeholder sent.
        let empty = BTreeMap::from([("/c/appi".to_string(), json!({}))]);
        assert!(filled(&request, &empty).is_err());
    }
}
