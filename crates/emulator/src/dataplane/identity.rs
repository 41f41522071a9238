//! Which managed identity the gateway authenticates as for `authentication-managed-identity`
//! ("Authenticate with managed identity", learn.microsoft.com/azure/api-management/
//! authentication-managed-identity-policy): the service's system-assigned identity, or
//! the user-assigned identity whose `client-id` the policy gives.

use serde_json::Value;

use super::policy::{Auth, Route};

/// Why the service has no identity the policy can authenticate as (the gateway answers 500).
#[derive(Debug, thiserror::Error)]
pub enum NoPrincipal {
    #[error("authentication-managed-identity: the service has no system-assigned identity")]
    NoSystemAssigned,
    #[error("authentication-managed-identity: client-id {0} is not an identity of the service")]
    UnknownClientId(String),
}

/// The principal the gateway's token is issued to: the service's system-assigned
/// identity, or the user-assigned one whose client id the policy names; `None` when the
/// route does not authenticate with a managed identity.
pub fn principal_of(service: &Value, route: &Route) -> Result<Option<String>, NoPrincipal> {
    let Auth::ManagedIdentity { client_id } = &route.auth else {
        return Ok(None);
    };
    let identity = &service["identity"];
    match client_id {
        None => {
            let system = identity["type"]
                .as_str()
                .is_some_and(|t| t.contains("SystemAssigned"));
            match identity["principalId"].as_str() {
                Some(p) if system => Ok(Some(p.to_string())),
                _ => Err(NoPrincipal::NoSystemAssigned),
            }
        }
        Some(c) => identity["userAssignedIdentities"]
            .as_object()
            .and_then(|m| {
                m.values().find(|u| {
                    u["clientId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(c))
                })
            })
            .and_then(|u| u["principalId"].as_str())
            .map(|p| Some(p.to_string()))
            .ok_or_else(|| NoPrincipal::UnknownClientId(c.clone())),
    }
}
