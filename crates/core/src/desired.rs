//! The desired ARM state: a pure function from a validated model to the ordered list
//! of ARM resources that converge Azure to it.
//!
//! Each resource carries its ARM id, api-version, method, request body and the
//! resources it depends on. A few values exist only once Azure has made them (the
//! principal id of APIM's identity, the client id of a user-assigned identity); they
//! are [`Facts`], and where they are not known yet the bodies say
//! `(known after apply)`, as Terraform does.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::ids::{self, api_version};
use super::model::{Account, Identity, Model, RoutedPool, Subscription};
use super::validate::{OWNER_TAG, OWNER_TAG_VALUE};
use super::{marks, policy, spec};

mod insights;

/// Descriptions that mark APIM entities as aoai-lb's where ARM has no tags: with them, a
/// lost state file does not turn aoai-lb's own resources into strangers.
pub const MANAGED_MARK: &str = "managed by aoai-lb";
const MANAGED_DESCRIPTION_API: &str =
    "Azure OpenAI inference API, load balanced, managed by aoai-lb";

/// The placeholder for a value Azure assigns during apply.
pub const UNKNOWN: &str = "(known after apply)";

/// Values only Azure knows, filled in by the engine as it learns them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Principal (object) id of the identity APIM uses.
    pub principal_id: Option<String>,
    /// Client id of the user-assigned identity, for the policy's `client-id`.
    pub client_id: Option<String>,
}

impl Facts {
    pub fn unknown() -> Facts {
        Facts::default()
    }

    pub fn principal_id_or_unknown(&self) -> String {
        self.principal_id.clone().unwrap_or_else(|| UNKNOWN.into())
    }

    pub fn client_id_or_unknown(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| UNKNOWN.into())
    }
}

/// What a desired resource is. The order of the variants is the order of the contract.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ResourceGroup,
    Account,
    Deployment,
    ApimIdentity,
    RoleAssignment,
    Backend,
    Pool,
    Api,
    ApiPolicy,
    Subscription,
    Component,
    Logger,
    Diagnostic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ResourceGroup => "resource_group",
            Kind::Account => "account",
            Kind::Deployment => "deployment",
            Kind::ApimIdentity => "apim_identity",
            Kind::RoleAssignment => "role_assignment",
            Kind::Backend => "backend",
            Kind::Pool => "pool",
            Kind::Api => "api",
            Kind::ApiPolicy => "api_policy",
            Kind::Subscription => "subscription",
            Kind::Component => "component",
            Kind::Logger => "logger",
            Kind::Diagnostic => "diagnostic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// One ARM resource as the plan wants it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredResource {
    /// Stable address, `kind.name` (`deployment.aoai-1/gpt-4o`): how state, plan
    /// output and dependencies refer to it.
    pub address: String,
    pub kind: Kind,
    /// ARM resource id (a path, without host or api-version).
    pub id: String,
    pub api_version: &'static str,
    pub method: Method,
    pub body: Value,
    /// Addresses that must be done before this one starts.
    pub depends_on: Vec<String>,
    /// Whether aoai-lb owns it (creates it and may delete it). The APIM service is not
    /// owned: only its identity is changed.
    pub owned: bool,
}

impl DesiredResource {
    /// `{id}?api-version={v}`, to append to an ARM endpoint.
    pub fn path_and_query(&self) -> String {
        format!("{}?api-version={}", self.id, self.api_version)
    }
}

fn address(kind: Kind, name: &str) -> String {
    format!("{}.{name}", kind.as_str())
}

fn tags(model: &Model) -> Value {
    let mut t: BTreeMap<&str, &str> = model
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    t.insert(OWNER_TAG, OWNER_TAG_VALUE);
    t.insert(marks::DEPLOYMENT_TAG, &model.deployment);
    json!(t)
}

/// Why the desired resources cannot be built: the spec or the policy of the model.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Spec(#[from] spec::PatchError),
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
}

/// For callers that still carry errors as text.
impl From<BuildError> for String {
    fn from(e: BuildError) -> String {
        e.to_string()
    }
}

/// Builds the desired resources in the contract's order: group, accounts, deployments,
/// identity, role assignments, backends, pool, API, policy, subscription.
pub fn build(model: &Model, facts: &Facts) -> Result<Vec<DesiredResource>, BuildError> {
    let mut out = vec![resource_group(model)];
    out.extend(model.accounts.iter().map(|a| account(model, a)));
    for a in &model.accounts {
        deployments(model, a, &mut out);
    }
    let identity = apim_identity(model);
    let identity_address = identity.address.clone();
    out.push(identity);
    out.extend(
        model
            .accounts
            .iter()
            .map(|a| role_assignment(model, facts, a, &identity_address)),
    );
    let backends: Vec<DesiredResource> = model.accounts.iter().map(|a| backend(model, a)).collect();
    out.extend(backends);
    let pools: Vec<DesiredResource> = model.apim.pools.iter().map(|p| pool(model, p)).collect();
    let pool_addresses: Vec<String> = pools.iter().map(|p| p.address.clone()).collect();
    out.extend(pools);
    let api = api(model)?;
    let api_address = api.address.clone();
    let api_id = api.id.clone();
    out.push(api);
    out.push(DesiredResource {
        address: address(Kind::ApiPolicy, &model.apim.api.name),
        kind: Kind::ApiPolicy,
        id: ids::apim_api_policy(&api_id),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "format": policy::FORMAT_NAME,
                "value": policy::render(model, facts)?,
            }
        }),
        // backend-id must exist, and authentication-managed-identity needs the identity on.
        depends_on: [api_address.clone()]
            .into_iter()
            .chain(pool_addresses)
            .chain([identity_address])
            .collect(),
        owned: true,
    });
    if let Some(s) = &model.apim.subscription {
        out.push(subscription(model, s, api_address.clone()));
    }
    // Each client is its own subscription (key) to the API: the policy's token limits
    // count per subscription.
    for c in &model.apim.clients {
        out.push(subscription(model, &c.subscription(), api_address.clone()));
    }
    if let Some(ai) = &model.apim.app_insights {
        out.extend(insights::resources(model, ai, &api_id, api_address));
    }
    Ok(out)
}

fn service_id(model: &Model) -> String {
    let apim = &model.apim;
    ids::apim_service(&model.subscription_id, &apim.resource_group, &apim.name)
}

fn account_id(model: &Model, a: &Account) -> String {
    ids::account(&model.subscription_id, &model.resource_group.name, &a.name)
}

fn resource_group(model: &Model) -> DesiredResource {
    let rg = &model.resource_group;
    DesiredResource {
        address: address(Kind::ResourceGroup, &rg.name),
        kind: Kind::ResourceGroup,
        id: ids::resource_group(&model.subscription_id, &rg.name),
        api_version: api_version::RESOURCES,
        method: Method::Put,
        body: json!({ "location": rg.location, "tags": tags(model) }),
        depends_on: vec![],
        owned: true,
    }
}

fn account(model: &Model, a: &Account) -> DesiredResource {
    let mut properties = Map::new();
    properties.insert("customSubDomainName".into(), json!(a.custom_sub_domain));
    properties.insert("publicNetworkAccess".into(), json!("Enabled"));
    // `restore: true` is not sent as is: the engine restores an account only when it
    // finds it soft-deleted (a restore of nothing is refused), see the engine's plan.
    DesiredResource {
        address: address(Kind::Account, &a.name),
        kind: Kind::Account,
        id: account_id(model, a),
        api_version: api_version::COGNITIVE_SERVICES,
        method: Method::Put,
        body: json!({
            "kind": a.kind.as_str(),
            "sku": { "name": a.sku },
            "location": a.location,
            "properties": properties,
            "tags": tags(model),
        }),
        depends_on: vec![address(Kind::ResourceGroup, &model.resource_group.name)],
        owned: true,
    }
}

fn deployments(model: &Model, a: &Account, out: &mut Vec<DesiredResource>) {
    let account_id = account_id(model, a);
    // One deployment operation per account at a time: each waits for the previous.
    let mut previous = address(Kind::Account, &a.name);
    for d in &a.deployments {
        let mut model_obj = Map::new();
        model_obj.insert("format".into(), json!("OpenAI"));
        model_obj.insert("name".into(), json!(d.model));
        if let Some(v) = &d.version {
            model_obj.insert("version".into(), json!(v));
        }
        let addr = address(Kind::Deployment, &format!("{}/{}", a.name, d.name));
        let mut properties = json!({ "model": model_obj });
        if let Some(o) = &d.version_upgrade_option {
            properties["versionUpgradeOption"] = json!(o);
        }
        out.push(DesiredResource {
            address: addr.clone(),
            kind: Kind::Deployment,
            id: ids::deployment(&account_id, &d.name),
            api_version: api_version::COGNITIVE_SERVICES,
            method: Method::Put,
            body: json!({
                "sku": { "name": d.sku, "capacity": d.capacity },
                "properties": properties,
                "tags": tags(model),
            }),
            depends_on: vec![previous],
            owned: true,
        });
        previous = addr;
    }
}

fn apim_identity(model: &Model) -> DesiredResource {
    let apim = &model.apim;
    let body = match &apim.identity {
        Identity::SystemAssigned => json!({ "identity": { "type": "SystemAssigned" } }),
        Identity::UserAssigned { id } => {
            json!({ "identity": { "type": "UserAssigned", "userAssignedIdentities": { id.as_str(): {} } } })
        }
    };
    DesiredResource {
        address: address(Kind::ApimIdentity, &apim.name),
        kind: Kind::ApimIdentity,
        id: service_id(model),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Patch,
        body,
        depends_on: vec![],
        owned: false,
    }
}

fn role_assignment(
    model: &Model,
    facts: &Facts,
    a: &Account,
    identity_address: &str,
) -> DesiredResource {
    let role_definition_id = ids::role_definition(&model.subscription_id, ids::ROLE_OPENAI_USER);
    let scope = account_id(model, a);
    let name = match &facts.principal_id {
        Some(p) => ids::role_assignment_name(&scope, &role_definition_id, p),
        None => UNKNOWN.to_string(),
    };
    DesiredResource {
        address: address(Kind::RoleAssignment, &a.name),
        kind: Kind::RoleAssignment,
        id: ids::role_assignment(&scope, &name),
        api_version: api_version::AUTHORIZATION,
        method: Method::Put,
        body: json!({
            "properties": {
                "roleDefinitionId": role_definition_id,
                "principalId": facts.principal_id_or_unknown(),
                "principalType": "ServicePrincipal",
                "description": format!("aoai-lb: API Management {} calls Azure OpenAI as Cognitive Services OpenAI User {}", model.apim.name, marks::description_mark(&model.deployment)),
            }
        }),
        depends_on: vec![
            address(Kind::Account, &a.name),
            identity_address.to_string(),
        ],
        owned: true,
    }
}

fn circuit_breaker(model: &Model) -> Option<Value> {
    model.apim.pool.circuit_breaker.as_ref().map(|cb| {
        let ranges: Vec<Value> = cb
            .status_codes
            .iter()
            .map(|(lo, hi)| json!({ "min": lo, "max": hi }))
            .collect();
        json!({
            "rules": [{
                "name": "aoai-lb-breaker",
                "failureCondition": {
                    "count": cb.failures,
                    "interval": cb.interval,
                    "statusCodeRanges": ranges,
                },
                "tripDuration": cb.trip_duration,
                "acceptRetryAfter": cb.accept_retry_after,
            }]
        })
    })
}

fn backend(model: &Model, a: &Account) -> DesiredResource {
    let mut properties = Map::new();
    properties.insert("url".into(), json!(a.backend_url()));
    properties.insert("protocol".into(), json!("http"));
    properties.insert(
        "description".into(),
        json!(format!(
            // The same for both kinds (the backend is the account's Azure OpenAI API), so
            // an account upgraded to AIServices in Azure leaves its backend unchanged.
            "Azure OpenAI account {} ({}), managed by aoai-lb {}",
            a.name,
            a.location,
            marks::description_mark(&model.deployment)
        )),
    );
    if let Some(cb) = circuit_breaker(model) {
        properties.insert("circuitBreaker".into(), cb);
    }
    DesiredResource {
        address: address(Kind::Backend, &a.backend.name),
        kind: Kind::Backend,
        id: ids::apim_backend(&service_id(model), &a.backend.name),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({ "properties": properties }),
        depends_on: vec![address(Kind::Account, &a.name)],
        owned: true,
    }
}

fn pool(model: &Model, routed: &RoutedPool) -> DesiredResource {
    let service_id = service_id(model);
    let pool = &model.apim.pool;
    // A pool takes no url or protocol: APIM rejects them ("Url is not supported for backend pool").
    let services: Vec<Value> = routed
        .members
        .iter()
        .map(|m| {
            json!({
                "id": ids::apim_backend(&service_id, &m.backend),
                "priority": m.priority,
                "weight": m.weight,
            })
        })
        .collect();
    // The plan's own pool keeps its description; a deployment's pool says which it serves.
    let description = if routed.name == pool.name {
        pool.description.clone()
    } else {
        format!(
            "{} (deployment {})",
            pool.description,
            routed.deployments.join(", ")
        )
    };
    DesiredResource {
        address: address(Kind::Pool, &routed.name),
        kind: Kind::Pool,
        id: ids::apim_backend(&service_id, &routed.name),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "type": "Pool",
                "description": format!("{description} {}", marks::description_mark(&model.deployment)),
                "pool": { "services": services },
            }
        }),
        depends_on: routed
            .members
            .iter()
            .map(|m| address(Kind::Backend, &m.backend))
            .collect(),
        owned: true,
    }
}

fn api(model: &Model) -> Result<DesiredResource, BuildError> {
    let api = &model.apim.api;
    Ok(DesiredResource {
        address: address(Kind::Api, &api.name),
        kind: Kind::Api,
        id: ids::apim_api(&service_id(model), &api.name),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "format": "openapi+json",
                "value": spec::patched(model)?,
                "path": api.path,
                "displayName": api.display_name,
                "description": format!("{MANAGED_DESCRIPTION_API} {}", marks::description_mark(&model.deployment)),
                "protocols": ["https"],
                "subscriptionRequired": true,
                "subscriptionKeyParameterNames": {
                    "header": api.subscription_key_header,
                    "query": api.subscription_key_query,
                },
            }
        }),
        depends_on: vec![],
        owned: true,
    })
}

fn subscription(model: &Model, s: &Subscription, api_address: String) -> DesiredResource {
    DesiredResource {
        address: address(Kind::Subscription, &s.name),
        kind: Kind::Subscription,
        id: ids::apim_subscription(&service_id(model), &s.name),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "scope": format!("/apis/{}", model.apim.api.name),
                "displayName": s.display_name,
                "state": "active",
            }
        }),
        depends_on: vec![api_address],
        owned: true,
    }
}
