//! Entity tags of API Management entities (the service, backends, APIs, API policies,
//! loggers, diagnostics,
//! subscriptions): `ETag` on GET, HEAD, PUT and PATCH answers, and `If-Match` on PUT,
//! PATCH and DELETE, as the 2024-05-01 APIM spec declares them (the `ETag` response
//! header of each `*_Get`/`*_GetEntityTag`/`*_CreateOrUpdate`/`*_Update`, and the
//! `IfMatchRequiredParameter`/`IfMatchOptionalParameter` of apimanagement.json: "ETag
//! should match the current entity state from the header response of the GET request or
//! it should be * for unconditional update").
//!
//! A tag that does not match is `412 PreconditionFailed` (APIM's
//! `PreconditionFailedException`, quoted in Azure/apiops#486). An `If-Match` that is
//! absent or empty is unconditional: the spec marks it required on PATCH and DELETE, but
//! Terraform's azurerm provider has for years deleted APIM entities with `If-Match: ""`
//! (`client.Delete(ctx, resourceGroup, serviceName, name, "")`, e.g.
//! api_management_backend_resource.go) against real API Management. A tag on an entity
//! that does not exist is not checked: DELETE of a missing entity stays 204, as the spec's
//! "successfully removed by previous request or does not exist".

use axum::http::Method;

use super::Cx;
use crate::address::Address;
use crate::reply::{ArmError, Reply};

/// Whether `addr` is an API Management entity with an entity tag.
pub fn tagged(addr: &Address) -> bool {
    matches!(
        addr,
        Address::ApimService(..)
            | Address::Backend(..)
            | Address::Api(..)
            | Address::ApiPolicy(..)
            | Address::ApimSubscription(..)
            | Address::Logger(..)
            | Address::ServiceDiagnostic(..)
            | Address::ApiDiagnostic(..)
    )
}

/// Whether an `If-Match` value admits the entity tag `etag` (unquoted). `*` admits any;
/// a list admits any of its tags; quotes and a weak `W/` prefix are ignored.
pub fn admits(if_match: &str, etag: &str) -> bool {
    if_match.split(',').map(str::trim).any(|t| {
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t.trim_matches('"') == etag
    })
}

/// `412 PreconditionFailed` unless the request's `If-Match` admits the entity's tag.
pub fn precondition(cx: &Cx, method: &Method, addr: &Address) -> Result<(), ArmError> {
    let writes = *method == Method::PUT || *method == Method::PATCH || *method == Method::DELETE;
    let Some(if_match) = cx.if_match.filter(|v| !v.trim().is_empty()) else {
        return Ok(());
    };
    if !writes || !tagged(addr) {
        return Ok(());
    }
    let Some(etag) = cx.store.get(&addr.id()).and_then(|r| r.etag.clone()) else {
        return Ok(());
    };
    if admits(if_match, &etag) {
        return Ok(());
    }
    Err(ArmError::new(
        412,
        "PreconditionFailed",
        format!(
            "The If-Match header '{if_match}' does not match the entity's current ETag; get the entity again, or send If-Match: * for an unconditional change."
        ),
    ))
}

/// Adds the entity's `ETag` to a successful GET, HEAD, PUT or PATCH answer. Cognitive
/// Services accounts and deployments send theirs too, the body's `etag` as it is (ARM's
/// `ETag` header on account and deployment PUT and GET in the Azure PowerShell records
/// TestDefenderForAISetting.json and TestDeployment.json).
pub fn add_header(cx: &Cx, method: &Method, addr: &Address, reply: &mut Reply) {
    let reads_or_writes = matches!(method.as_str(), "GET" | "HEAD" | "PUT" | "PATCH");
    if !reads_or_writes || !(200..300).contains(&reply.status) {
        return;
    }
    let record = cx.store.get(&addr.id());
    let header = match addr {
        Address::Account(..) | Address::Deployment(..) => record
            .and_then(|r| r.body["etag"].as_str())
            .map(str::to_string),
        a if tagged(a) => record
            .and_then(|r| r.etag.as_deref())
            .map(|e| format!("\"{e}\"")),
        _ => None,
    };
    if let Some(h) = header {
        reply.headers.push(("ETag", h));
    }
}

/// HEAD of an entity (`*_GetEntityTag`): 200 with its `ETag` (added by `add_header`),
/// or the error GET would give.
pub fn head(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    match cx.store.exists(&addr.id()) {
        true => Ok(Reply::empty(200)),
        false => Err(cx.missing(addr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_values() {
        assert!(admits("*", "AAAAAAAAFYg="));
        assert!(admits("\"AAAAAAAAFYg=\"", "AAAAAAAAFYg="));
        assert!(admits("AAAAAAAAFYg=", "AAAAAAAAFYg="));
        assert!(admits("W/\"x\", \"AAAAAAAAFYg=\"", "AAAAAAAAFYg="));
        assert!(!admits("\"AAAAAAAAFYh=\"", "AAAAAAAAFYg="));
    }
}
