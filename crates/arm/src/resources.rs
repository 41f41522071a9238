//! Typed views of the ARM resources the engine reads back, and the one ARM rule about
//! them that is not a plain PUT: enabling an identity on an APIM service keeps the
//! identities already there.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

fn s(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A user-assigned identity as APIM lists it, or as its own resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAssigned {
    pub principal_id: Option<String>,
    pub client_id: Option<String>,
}

/// `identity` of an APIM service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceIdentity {
    /// As ARM writes it: `None`, `SystemAssigned`, `UserAssigned`, `SystemAssigned, UserAssigned`.
    pub kind: String,
    pub principal_id: Option<String>,
    pub tenant_id: Option<String>,
    /// By resource id, as ARM returns it.
    pub user_assigned: BTreeMap<String, UserAssigned>,
}

/// The identity a caller wants on a service: the system-assigned one, or a
/// user-assigned identity by resource id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WantedIdentity<'a> {
    System,
    User(&'a str),
}

impl ServiceIdentity {
    pub fn from_service(v: &Value) -> ServiceIdentity {
        let id = v.get("identity").unwrap_or(&Value::Null);
        let user_assigned = id
            .get("userAssignedIdentities")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, u)| {
                        (
                            k.clone(),
                            UserAssigned {
                                principal_id: s(u, "/principalId"),
                                client_id: s(u, "/clientId"),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        ServiceIdentity {
            kind: s(id, "/type").unwrap_or_else(|| "None".into()),
            principal_id: s(id, "/principalId"),
            tenant_id: s(id, "/tenantId"),
            user_assigned,
        }
    }

    pub fn has_system(&self) -> bool {
        self.kind.to_ascii_lowercase().contains("systemassigned")
    }

    /// The entry for a user-assigned identity id (ids compare case-insensitively).
    pub fn user(&self, id: &str) -> Option<&UserAssigned> {
        self.user_assigned
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(id))
            .map(|(_, v)| v)
    }

    /// Whether the identity the plan wants is already on.
    pub fn satisfies(&self, want: WantedIdentity<'_>) -> bool {
        match want {
            WantedIdentity::System => self.has_system() && self.principal_id.is_some(),
            WantedIdentity::User(id) => self.user(id).is_some(),
        }
    }

    /// The PATCH body that turns on what the plan wants and keeps what is there.
    pub fn patch_adding(&self, want: WantedIdentity<'_>) -> Value {
        let mut system = self.has_system();
        let mut users: Vec<String> = self.user_assigned.keys().cloned().collect();
        match want {
            WantedIdentity::System => system = true,
            WantedIdentity::User(id) => {
                if self.user(id).is_none() {
                    users.push(id.to_string());
                }
            }
        }
        Self::body(system, &users)
    }

    /// The PATCH body that puts the identity back as `before` had it (for destroy).
    pub fn patch_restoring(before: &ServiceIdentity) -> Value {
        let users: Vec<String> = before.user_assigned.keys().cloned().collect();
        Self::body(before.has_system(), &users)
    }

    fn body(system: bool, users: &[String]) -> Value {
        let kind = match (system, users.is_empty()) {
            (true, true) => "SystemAssigned",
            (true, false) => "SystemAssigned, UserAssigned",
            (false, false) => "UserAssigned",
            (false, true) => "None",
        };
        let mut identity = json!({ "type": kind });
        if !users.is_empty() {
            let map: serde_json::Map<String, Value> =
                users.iter().map(|u| (u.clone(), json!({}))).collect();
            identity["userAssignedIdentities"] = Value::Object(map);
        }
        json!({ "identity": identity })
    }
}

/// An APIM service as GET returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApimService {
    pub gateway_url: Option<String>,
    pub sku: Option<String>,
    pub identity: ServiceIdentity,
}

impl ApimService {
    pub fn from_value(v: &Value) -> ApimService {
        ApimService {
            gateway_url: s(v, "/properties/gatewayUrl"),
            sku: s(v, "/sku/name"),
            identity: ServiceIdentity::from_service(v),
        }
    }
}

/// A user-assigned managed identity resource (`Microsoft.ManagedIdentity/userAssignedIdentities`).
pub fn user_assigned_identity(v: &Value) -> UserAssigned {
    UserAssigned {
        principal_id: s(v, "/properties/principalId"),
        client_id: s(v, "/properties/clientId"),
    }
}

/// An Azure OpenAI account as GET returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub provisioning_state: Option<String>,
    pub endpoint: Option<String>,
}

impl Account {
    pub fn from_value(v: &Value) -> Account {
        Account {
            provisioning_state: s(v, "/properties/provisioningState"),
            endpoint: s(v, "/properties/endpoint"),
        }
    }
}

/// The keys of an APIM subscription (`listSecrets`). Never printed: `Debug` redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    pub primary_key: String,
    pub secondary_key: String,
}

impl SubscriptionKeys {
    pub fn from_value(v: &Value) -> Option<SubscriptionKeys> {
        Some(SubscriptionKeys {
            primary_key: s(v, "/primaryKey")?,
            secondary_key: s(v, "/secondaryKey").unwrap_or_default(),
        })
    }
}

impl fmt::Debug for SubscriptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionKeys(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabling_an_identity_keeps_the_ones_there() {
        let uai = "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";
        let service = json!({ "identity": { "type": "UserAssigned", "userAssignedIdentities": { uai: { "principalId": "p", "clientId": "c" } } } });
        let current = ServiceIdentity::from_service(&service);
        assert!(!current.satisfies(WantedIdentity::System));
        let body = current.patch_adding(WantedIdentity::System);
        assert_eq!(body["identity"]["type"], "SystemAssigned, UserAssigned");
        assert!(
            body["identity"]["userAssignedIdentities"]
                .get(uai)
                .is_some()
        );
        assert!(current.satisfies(WantedIdentity::User(&uai.to_uppercase())));
    }

    #[test]
    fn restoring_puts_back_what_was_there() {
        let none = ServiceIdentity::from_service(&json!({}));
        assert_eq!(
            ServiceIdentity::patch_restoring(&none),
            json!({ "identity": { "type": "None" } })
        );
    }

    #[test]
    fn keys_never_print() {
        let k = SubscriptionKeys::from_value(
            &json!({ "primaryKey": "sekret1", "secondaryKey": "sekret2" }),
        )
        .unwrap();
        assert!(!format!("{k:?}").contains("sekret"));
    }
}
