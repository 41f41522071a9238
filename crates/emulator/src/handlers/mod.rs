//! ARM request handlers: one module per resource family, all working on the store under
//! one lock through `Cx`, and dispatched here by (address, method). Bodies arrive parsed
//! and schema-checked; handlers do the checks ARM's resource providers do on top.

mod apim;
mod apim_service;
mod apis;
mod authz;
mod cognitive;
mod collections;
mod deployments;
mod etags;
mod groups;
mod immutable;
mod insights;
mod keys;
mod lists;
mod locations;
mod loggers;
mod odata;
mod operations;
mod patches;
mod polls;
mod roledefs;
mod tags;
mod updates;
mod workspaces;

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Value, json};

use super::address::{Address, Namespace, Poll};
use super::config::Config;
use super::faults::FaultState;
use super::ops::{OpKind, OpStatus, Operation, retry_headers};
use super::reply::{ArmError, Reply, uuid_like};
use super::store::{Kind, Principal, Store};

pub use apim::service_view;

/// The tenant every identity the emulator issues belongs to.
pub const TENANT_ID: &str = "8d7c1e2f-0000-4000-8000-00000000e1a0";

/// Everything a handler works with, for one request.
pub struct Cx<'a> {
    pub store: &'a mut Store,
    pub faults: &'a mut FaultState,
    pub config: &'a Config,
    /// ms since start.
    pub now: u64,
    pub iso: String,
    /// `http://127.0.0.1:PORT`, for operation URLs.
    pub base: &'a str,
    /// Query parameters, keys lower-cased.
    pub query: &'a BTreeMap<String, String>,
    /// The request's `If-Match` header, if any.
    pub if_match: Option<&'a str>,
}

impl Cx<'_> {
    /// Starts an operation on `target`; returns it (already stored).
    pub fn start_op(
        &mut self,
        kind: OpKind,
        target: &str,
        sub: &str,
        namespace: Namespace,
    ) -> Operation {
        let (duration, retry) = kind.timing();
        let fail = kind.fault_kind().is_some_and(|k| self.faults.take_fail(k));
        let retry_ms = self.config.scaled_ms(retry);
        let op = Operation {
            id: uuid_like(),
            kind,
            target: target.to_string(),
            sub: sub.to_string(),
            namespace,
            started_ms: self.now,
            duration_ms: self.config.scaled_ms(duration),
            retry_ms,
            until_observed: self.config.latency == super::config::Latency::Instant,
            observed: false,
            fail,
            status: OpStatus::InProgress,
            start_time: self.iso.clone(),
            end_time: None,
            next_poll_ms: self.now + retry_ms,
            api_version: self.query.get("api-version").cloned().unwrap_or_default(),
            region: super::op_urls::region(self.store, kind, target),
            running: super::op_urls::running_status(self.store, kind, target),
            async_code: 0,
        };
        self.store.operations.insert(op.id.clone(), op.clone());
        op
    }

    /// Headers announcing an operation: Azure-AsyncOperation and/or Location, Retry-After.
    pub fn op_headers(
        &self,
        op: &Operation,
        status: bool,
        location: bool,
    ) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if status {
            h.push(("Azure-AsyncOperation", op.url(self.base, Poll::Status)));
        }
        if location {
            h.push(("Location", op.url(self.base, Poll::Result)));
        }
        h.extend(retry_headers(op.retry_ms));
        h
    }

    /// A new principal (an identity's service principal), issued now.
    pub fn issue_principal(&mut self, owner: &str) -> String {
        let id = uuid_like();
        self.store.add_principal(Principal {
            id: id.clone(),
            principal_type: "ServicePrincipal".into(),
            issued_ms: Some(self.now),
            owner: owner.to_string(),
        });
        id
    }

    /// `systemData` for a resource created now, keeping `createdAt` of an older version.
    pub fn system_data(&self, previous: Option<&Value>) -> Value {
        let created = previous
            .and_then(|p| p.pointer("/systemData/createdAt"))
            .and_then(Value::as_str)
            .map_or_else(|| self.iso.clone(), str::to_string);
        json!({
            "createdBy": "aoai-lb-emulator",
            "createdByType": "Application",
            "createdAt": created,
            "lastModifiedBy": "aoai-lb-emulator",
            "lastModifiedByType": "Application",
            "lastModifiedAt": self.iso,
        })
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", uuid_like())
    }

    /// The error for a missing resource: its group first, then the resource.
    pub fn missing(&self, addr: &Address) -> ArmError {
        let rg = match addr {
            Address::Account(rg, _)
            | Address::Deployment(rg, ..)
            | Address::ApimService(rg, _)
            | Address::Backend(rg, ..)
            | Address::Api(rg, ..)
            | Address::ApiPolicy(rg, ..)
            | Address::ApiOperation(rg, ..)
            | Address::ApimSubscription(rg, ..)
            | Address::ListSecrets(rg, ..)
            | Address::Identity(rg, _)
            | Address::Logger(rg, ..)
            | Address::ServiceDiagnostic(rg, ..)
            | Address::ApiDiagnostic(rg, ..)
            | Address::Component(rg, _)
            | Address::Workspace(rg, _)
            | Address::ResourceGroup(rg) => rg,
            _ => {
                return ArmError::new(
                    404,
                    "ResourceNotFound",
                    format!("'{}' was not found.", addr.id()),
                );
            }
        };
        if !self.store.exists(&rg.id()) {
            return ArmError::group_not_found(&rg.name);
        }
        // The first missing ancestor names the error.
        let mut chain = vec![addr.clone()];
        while let Some(p) = chain.last().and_then(Address::parent) {
            if matches!(p, Address::ResourceGroup(_)) {
                break;
            }
            chain.push(p);
        }
        let first_missing = chain
            .iter()
            .rev()
            .find(|a| !self.store.exists(&a.id()))
            .unwrap_or(addr);
        let (type_, name) = type_and_name(first_missing);
        ArmError::not_found(&type_, &name, &rg.name)
    }
}

/// ARM's `Namespace/type/.../name` description of an address, for messages.
fn type_and_name(addr: &Address) -> (String, String) {
    let id = addr.id();
    let Some((_, rest)) = id.split_once("/providers/") else {
        return ("Microsoft.Resources/resourceGroups".into(), id);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let mut types = vec![parts[0].to_string()];
    let mut names = Vec::new();
    for pair in parts[1..].chunks(2) {
        types.push(pair[0].to_string());
        if let Some(n) = pair.get(1) {
            names.push(n.to_string());
        }
    }
    (types.join("/"), names.join("/"))
}

fn method_not_allowed(method: &Method, addr: &Address) -> ArmError {
    ArmError::new(
        405,
        "MethodNotAllowed",
        format!(
            "The requested resource '{}' does not support http method '{method}'.",
            addr.id()
        ),
    )
}

/// Runs one request. `body` is the parsed (and schema-checked) request body.
pub fn handle(
    cx: &mut Cx,
    method: &Method,
    addr: &Address,
    body: Option<&Value>,
) -> Result<Reply, ArmError> {
    etags::precondition(cx, method, addr)?;
    let mut reply = dispatch(cx, method, addr, body)?;
    etags::add_header(cx, method, addr, &mut reply);
    Ok(reply)
}

/// The handler of (address, method).
fn dispatch(
    cx: &mut Cx,
    method: &Method,
    addr: &Address,
    body: Option<&Value>,
) -> Result<Reply, ArmError> {
    let need = || {
        body.ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body is empty.",
            )
        })
    };
    let m = method.as_str();
    match (addr, m) {
        (Address::ResourceGroup(rg), "PUT") => groups::put(cx, rg, need()?),
        (Address::ResourceGroup(rg), "GET") => groups::get(cx, rg),
        (Address::ResourceGroup(rg), "HEAD") => groups::exists(cx, rg),
        (a, "HEAD") if etags::tagged(a) => etags::head(cx, addr),
        (Address::GroupResources(rg), "GET") => groups::list_resources(cx, rg),
        (Address::ResourceGroup(rg), "DELETE") => groups::delete(cx, rg),
        (Address::Account(..), "PUT") => cognitive::put(cx, addr, need()?),
        (Address::Account(..), "GET") => cognitive::get(cx, addr),
        (Address::Account(..), "DELETE") => cognitive::delete(cx, addr),
        (Address::Account(..) | Address::Deployment(..), "PATCH") => {
            updates::patch(cx, addr, need()?)
        }
        (Address::DeletedAccounts { sub }, "GET") => cognitive::list_deleted(cx, sub),
        (Address::DeletedAccount { .. }, "GET") => cognitive::get_deleted(cx, addr),
        (Address::DeletedAccount { .. }, "DELETE") => cognitive::purge(cx, addr),
        (Address::CatalogList { .. }, "GET") => locations::get(cx, addr),
        (Address::Deployment(..), "PUT") => deployments::put(cx, addr, need()?),
        (Address::Deployment(..), "GET") => deployments::get(cx, addr),
        (Address::Deployment(..), "DELETE") => deployments::delete(cx, addr),
        (Address::ApimService(..), "GET") => apim::get(cx, addr),
        (Address::ApimService(..), "PUT") => apim_service::put(cx, addr, need()?),
        (Address::ApimService(..), "PATCH") => apim_service::patch(cx, addr, need()?),
        (Address::AccountKeys(rg, a, action), "POST") => keys::post(cx, rg, a, *action, body),
        (Address::RoleDefinition { scope, id }, "GET") => roledefs::get(scope, id),
        (Address::RoleDefinitions { scope }, "GET") => roledefs::list(cx, addr, scope),
        (Address::Identity(..), "GET") => apim::get(cx, addr),
        (Address::Backend(..), "PUT") => apim::put_backend(cx, addr, need()?),
        (Address::Backend(..), "GET") => apim::get(cx, addr),
        (Address::Backend(..), "DELETE") => apim::delete_backend(cx, addr),
        (Address::ApimSubscription(..), "PUT") => apim::put_subscription(cx, addr, need()?),
        (Address::ApimSubscription(..), "GET") => apim::get(cx, addr),
        (Address::ApimSubscription(..), "DELETE") => apim::delete_simple(cx, addr),
        (Address::ListSecrets(..), "POST") => apim::list_secrets(cx, addr),
        (Address::Logger(..), "PUT") => loggers::put_logger(cx, addr, need()?),
        (Address::ServiceDiagnostic(..) | Address::ApiDiagnostic(..), "PUT") => {
            loggers::put_diagnostic(cx, addr, need()?)
        }
        (
            Address::Logger(..) | Address::ServiceDiagnostic(..) | Address::ApiDiagnostic(..),
            "GET",
        ) => apim::get(cx, addr),
        (
            Address::Logger(..) | Address::ServiceDiagnostic(..) | Address::ApiDiagnostic(..),
            "DELETE",
        ) => apim::delete_simple(cx, addr),
        (Address::Component(..), "PUT") => insights::put(cx, addr, need()?),
        (Address::Component(..), "GET") => apim::get(cx, addr),
        (Address::Component(..), "DELETE") => insights::delete(cx, addr),
        (Address::Component(..), "PATCH") => insights::patch_tags(cx, addr, need()?),
        (Address::Workspace(..), "PUT") => workspaces::put(cx, addr, need()?),
        (Address::Workspace(..), "GET") => apim::get(cx, addr),
        (Address::Workspace(..), "DELETE") => workspaces::delete(cx, addr),
        (Address::Workspaces { sub, rg, deleted }, "GET") => {
            workspaces::list(cx, sub, rg, *deleted)
        }
        (Address::Api(..), "PUT") => apis::put_api(cx, addr, need()?),
        // API import's Location is the API's URL with `asyncId` (op_urls).
        (Address::Api(..), "GET") if cx.query.contains_key("asyncid") => {
            let id = cx.query["asyncid"].clone();
            polls::get(cx, &id, Poll::Result)
        }
        (Address::Api(..), "GET") => apim::get(cx, addr),
        (Address::Api(..), "PATCH") => patches::api(cx, addr, need()?),
        (Address::Api(..), "DELETE") => patches::delete_api(cx, addr),
        (Address::Backend(..), "PATCH") => patches::backend(cx, addr, need()?),
        (Address::ApimSubscription(..), "PATCH") => patches::subscription(cx, addr, need()?),
        (Address::ApiOperations(rg, s, a), "GET") => operations::list(cx, addr, rg, s, a),
        (Address::ApiOperation(..), "GET") => apim::get(cx, addr),
        (Address::ApiPolicy(..), "PUT") => apis::put_policy(cx, addr, need()?),
        (Address::ApiPolicy(..), "GET") => apis::get_policy(cx, addr),
        (Address::ApiPolicy(..), "DELETE") => apim::delete_simple(cx, addr),
        (Address::RoleAssignment { .. }, "PUT") => authz::put(cx, addr, need()?),
        (Address::RoleAssignment { .. }, "GET") => authz::get(cx, addr),
        (Address::RoleAssignment { .. }, "DELETE") => authz::delete(cx, addr),
        (Address::Operation { id, poll, .. }, "GET") => polls::get(cx, id, *poll),
        (Address::SubscriptionResources { sub }, "GET") => {
            lists::subscription_resources(cx, addr, sub)
        }
        (Address::Deployments(rg, a), "GET") => lists::deployments(cx, addr, rg, a),
        (Address::RoleAssignments { scope }, "GET") => lists::role_assignments(cx, addr, scope),
        (Address::ApimCollection(rg, s, c), "GET") => lists::apim(cx, addr, rg, s, *c),
        (Address::ResourceGroups { sub }, "GET") => collections::resource_groups(cx, addr, sub),
        (Address::Accounts { sub, rg }, "GET") => {
            collections::top_level(cx, addr, Kind::Account, sub, rg)
        }
        (Address::ApimServices { sub, rg }, "GET") => {
            collections::top_level(cx, addr, Kind::ApimService, sub, rg)
        }
        (Address::ApiPolicies(rg, s, a), "GET") => collections::api_policies(cx, addr, rg, s, a),
        (Address::ApiDiagnostics(rg, s, a), "GET") => {
            collections::api_diagnostics(cx, addr, rg, s, a)
        }
        (Address::Components { sub, rg }, "GET") => {
            collections::top_level(cx, addr, Kind::Component, sub, rg)
        }
        _ => Err(method_not_allowed(method, addr)),
    }
}

/// The object at `value[key]`, or an empty one.
/// The store-key prefix of a list's scope: a group (which must exist), else the whole
/// subscription.
pub fn scope_prefix(cx: &Cx, sub: &str, rg: &Option<String>) -> Result<String, ArmError> {
    match rg {
        Some(g) => {
            let group = crate::address::Rg {
                sub: sub.to_string(),
                name: g.clone(),
            };
            if !cx.store.exists(&group.id()) {
                return Err(ArmError::group_not_found(g));
            }
            Ok(format!("{}/", crate::store::key(&group.id())))
        }
        None => Ok(format!("/subscriptions/{}/", crate::store::key(sub))),
    }
}

/// What a PUT of a tracked resource in a group needs first: the group, and a location
/// in the body (ARM's `LocationRequired` otherwise). Returns the location.
pub fn tracked_location<'b>(
    cx: &Cx,
    rg: &crate::address::Rg,
    body: &'b Value,
) -> Result<&'b str, ArmError> {
    if !cx.store.exists(&rg.id()) {
        return Err(ArmError::group_not_found(&rg.name));
    }
    // ARM's answer for a tracked resource sent without a location.
    body.get("location").and_then(Value::as_str).ok_or_else(|| {
        ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        )
    })
}

pub fn object(value: &Value, key: &str) -> serde_json::Map<String, Value> {
    value
        .get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

pub fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Rg;

    #[test]
    fn types_and_names_for_messages() {
        let rg = Rg {
            sub: "s".into(),
            name: "rg".into(),
        };
        assert_eq!(
            type_and_name(&Address::Deployment(rg.clone(), "a".into(), "d".into())),
            (
                "Microsoft.CognitiveServices/accounts/deployments".into(),
                "a/d".into()
            )
        );
        assert_eq!(
            type_and_name(&Address::ApimService(rg, "x".into())),
            ("Microsoft.ApiManagement/service".into(), "x".into())
        );
    }
}
