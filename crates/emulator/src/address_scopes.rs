//! Path pieces the parser in `address.rs` reads first: percent-decoding, and the
//! role assignments and role definitions that may sit below any scope (a subscription,
//! a group, a resource), recognised by their `providers/Microsoft.Authorization/...` tail.

use super::{Address, eq};

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
