//! Path pieces of the parser in `address.rs` outside resource groups: percent-decoding,
//! the role assignments and role definitions that may sit below any scope (a
//! subscription, a group, a resource), recognised by their
//! `providers/Microsoft.Authorization/...` tail, and the subscription-level provider paths
//! (deleted accounts, lists of a whole subscription, operation polls).

use super::{Address, Namespace, PathError, Poll, eq};

/// The catalog lists of Microsoft.CognitiveServices: Models_List and Usages_List per region,
/// ModelCapacities_List per subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogList {
    Models,
    Usages,
    ModelCapacities,
}

impl CatalogList {
    pub fn segment(self) -> &'static str {
        match self {
            CatalogList::Models => "models",
            CatalogList::Usages => "usages",
            CatalogList::ModelCapacities => "modelCapacities",
        }
    }
}

/// Decodes `%XX` escapes (ARM ids may arrive percent-encoded); invalid escapes stay.
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// A role assignment, or the role assignments, of any scope.
pub(super) fn role_assignment(s: &[&str]) -> Option<Address> {
    let n = s.len();
    if n >= 6
        && eq(s[n - 4], "providers")
        && eq(s[n - 3], "Microsoft.Authorization")
        && eq(s[n - 2], "roleAssignments")
    {
        return Some(Address::RoleAssignment {
            scope: format!("/{}", s[..n - 4].join("/")),
            name: s[n - 1].to_string(),
        });
    }
    if n >= 4
        && eq(s[n - 3], "providers")
        && eq(s[n - 2], "Microsoft.Authorization")
        && eq(s[n - 1], "roleAssignments")
    {
        return Some(Address::RoleAssignments {
            scope: format!("/{}", s[..n - 3].join("/")),
        });
    }
    None
}

/// A role definition, or the role definitions, of any scope.
pub(super) fn role_definition(s: &[&str]) -> Option<Address> {
    let n = s.len();
    let at = |i: usize, word: &str| eq(s[i], word);
    if n >= 6
        && at(n - 4, "providers")
        && at(n - 3, "Microsoft.Authorization")
        && at(n - 2, "roleDefinitions")
    {
        return Some(Address::RoleDefinition {
            scope: format!("/{}", s[..n - 4].join("/")),
            id: s[n - 1].to_string(),
        });
    }
    if n >= 5
        && at(n - 3, "providers")
        && at(n - 2, "Microsoft.Authorization")
        && at(n - 1, "roleDefinitions")
    {
        return Some(Address::RoleDefinitions {
            scope: format!("/{}", s[..n - 3].join("/")),
        });
    }
    None
}

/// `/subscriptions/{sub}/providers/...`: deleted accounts and operation polls.
pub(super) fn subscription_provider(sub: String, s: &[&str]) -> Result<Address, PathError> {
    let Some(ns_text) = s.first() else {
        return Err(PathError::NoRoute);
    };
    let Some(ns) = Namespace::parse(ns_text) else {
        return Err(PathError::UnknownNamespace(ns_text.to_string()));
    };
    let k = |i: usize, word: &str| s.get(i).is_some_and(|x| eq(x, word));
    if ns == Namespace::CognitiveServices && s.len() == 2 && k(1, "deletedAccounts") {
        return Ok(Address::DeletedAccounts { sub });
    }
    if ns == Namespace::CognitiveServices && s.len() == 2 && k(1, "accounts") {
        return Ok(Address::Accounts { sub, rg: None });
    }
    if ns == Namespace::ApiManagement && s.len() == 2 && k(1, "service") {
        return Ok(Address::ApimServices { sub, rg: None });
    }
    if ns == Namespace::Insights && s.len() == 2 && k(1, "components") {
        return Ok(Address::Components { sub, rg: None });
    }
    if ns == Namespace::OperationalInsights
        && s.len() == 2
        && (k(1, "workspaces") || k(1, "deletedWorkspaces"))
    {
        let deleted = k(1, "deletedWorkspaces");
        return Ok(Address::Workspaces {
            sub,
            rg: None,
            deleted,
        });
    }
    if ns == Namespace::CognitiveServices
        && s.len() == 7
        && k(1, "locations")
        && k(3, "resourceGroups")
        && k(5, "deletedAccounts")
    {
        return Ok(Address::DeletedAccount {
            sub,
            location: s[2].to_string(),
            rg: s[4].to_string(),
            name: s[6].to_string(),
        });
    }
    if ns == Namespace::CognitiveServices && s.len() == 2 && k(1, "modelCapacities") {
        return Ok(Address::CatalogList {
            sub,
            location: None,
            list: CatalogList::ModelCapacities,
        });
    }
    if ns == Namespace::CognitiveServices && s.len() == 4 && k(1, "locations") {
        let list = if k(3, "models") {
            CatalogList::Models
        } else if k(3, "usages") {
            CatalogList::Usages
        } else {
            return Err(PathError::NoRoute);
        };
        return Ok(Address::CatalogList {
            sub,
            location: Some(s[2].to_string()),
            list,
        });
    }
    if s.len() == 5 && k(1, "locations") {
        let poll = if k(3, "operationStatuses") {
            Poll::Status
        } else if k(3, "operationResults") {
            Poll::Result
        } else {
            return Err(PathError::NoRoute);
        };
        return Ok(Address::Operation {
            sub,
            namespace: ns,
            id: s[4].to_string(),
            poll,
        });
    }
    Err(PathError::UnknownType(
        ns.name().to_string(),
        s.get(1).copied().unwrap_or_default().to_string(),
    ))
}
