//! The api-versions the emulator serves: one window per resource provider and, where the
//! clients we follow use other versions for one type, per resource type. A request with
//! any other version gets the error ARM really answers for that provider. Bodies are
//! still validated with the one embedded schema per provider (`schema`); where an older
//! version's contract lacks properties we act on, `adapt_request`/`adapt_response` drop
//! them as that version's contract does.
//!
//! Sources of the versions (every window lists newest first):
//! - the product: `aoai_lb_core::ids::api_version` (2021-04-01, 2024-10-01, 2024-05-01,
//!   2022-04-01, 2023-01-31);
//! - the default api-versions of the pinned Python SDKs the conformance suite drives
//!   (read from the installed packages' `_configuration.py`): azure-mgmt-resource 26.0.0
//!   `2025-04-01`, azure-mgmt-cognitiveservices 14.1.0 `2025-09-01`,
//!   azure-mgmt-apimanagement 5.0.0 `2024-05-01`, azure-mgmt-authorization 4.0.0
//!   `2022-04-01` (its `DEFAULT_API_VERSION`, used for role assignments and definitions),
//!   azure-mgmt-loganalytics 14.0.0 `2025-07-01`, azure-mgmt-applicationinsights 4.1.0
//!   (its profile's `components`) `2020-02-02`;
//! - Azure-Samples/AI-Gateway labs (`git grep "@20"` over its Bicep modules and labs):
//!   CognitiveServices 2021-10-01, 2023-05-01, 2024-04-01-preview, 2024-10-01,
//!   2025-04-01-preview, 2025-06-01; ApiManagement 2021-08-01, 2021-12-01-preview,
//!   2022-08-01, 2023-05-01-preview, 2024-05-01, 2024-06-01-preview, 2025-03-01-preview;
//!   roleAssignments 2022-04-01; roleDefinitions 2022-04-01, 2022-05-01-preview;
//!   userAssignedIdentities 2018-11-30, 2022-01-31-preview, 2023-01-31, 2023-07-31-preview;
//! - Terraform azurerm (hashicorp/go-azure-sdk packages it imports): cognitive
//!   2023-05-01, 2024-10-01, 2025-06-01, 2026-03-01; apimanagement 2022-08-01, 2024-05-01;
//!   authorization roleassignments 2022-04-01, roledefinitions 2022-05-01-preview;
//!   resources resourcegroups 2023-07-01. azapi takes any version; it is covered by the
//!   union above;
//! - recorded real traffic: Azure/azure-powershell CognitiveServices SessionRecords at
//!   2022-10-01 (tests/fixtures/recorded); resource groups at 2016-09-01;
//! - Bicep/AVM: Azure/ResourceModules (roleAssignments 2020-10-01-preview,
//!   CognitiveServices 2021-10-01), AVM's API Management modules (service 2024-05-01),
//!   Bicep modules using CognitiveServices 2025-10-01-preview and ApiManagement
//!   2023-03-01-preview;
//! - Microsoft.Insights components: the api-version folders of azure-rest-api-specs
//!   `specification/applicationinsights/resource-manager/Microsoft.Insights` that define
//!   components_API.json (stable 2015-05-01 and 2020-02-02, preview 2018-05-01-preview and
//!   2020-02-02-preview); 2020-02-02 is the version of the embedded ARM schema;
//! - Microsoft.OperationalInsights workspaces: the api-versions whose deployment schema in
//!   Azure/azure-resource-manager-schemas defines `workspaces` (generated from the
//!   azure-rest-api-specs operationalinsights folders that define Workspaces_CreateOrUpdate):
//!   stable 2025-07-01, 2025-02-01, 2023-09-01, 2022-10-01, 2021-06-01, 2020-10-01,
//!   2020-08-01, preview 2021-12-01-preview, 2020-03-01-preview, 2015-11-01-preview;
//!   2025-07-01 is the version of the embedded ARM schema;
//! - Microsoft.Resources: the list ARM itself returns in its `InvalidApiVersionParameter`
//!   message (quoted in ansible-collections/azure#1739, 2024), plus 2025-04-01.

use serde_json::Value;

use crate::address::Namespace;
use crate::reply::ArmError;

/// One window: the versions served for a provider, or for one of its types.
struct Window {
    namespace: Namespace,
    /// The resource type after the namespace (`roleDefinitions`), or `None` for the
    /// provider's default window.
    type_: Option<&'static str>,
    versions: &'static [&'static str],
}

const COGNITIVE: &[&str] = &[
    "2026-03-01",
    "2025-10-01-preview",
    "2025-09-01",
    "2025-06-01",
    "2025-04-01-preview",
    "2024-10-01",
    "2024-04-01-preview",
    "2023-05-01",
    "2022-10-01",
    "2021-10-01",
];

/// Cognitive Services operation URLs: the window plus the version ARM writes on them
/// (`op_urls::COGNITIVE_OPERATIONS_VERSION`, recorded).
const COGNITIVE_OPERATIONS: &[&str] = &[
    "2026-03-01",
    "2025-10-01-preview",
    "2025-09-01",
    "2025-06-01",
    "2025-04-01-preview",
    "2024-10-01",
    "2024-04-01-preview",
    "2023-05-01",
    "2022-10-01",
    "2021-10-01",
    "2017-04-18",
];

const APIM: &[&str] = &[
    "2025-03-01-preview",
    "2024-06-01-preview",
    "2024-05-01",
    "2023-05-01-preview",
    "2023-03-01-preview",
    "2022-08-01",
    "2021-12-01-preview",
    "2021-08-01",
];

const INSIGHTS: &[&str] = &[
    "2020-02-02-preview",
    "2020-02-02",
    "2018-05-01-preview",
    "2015-05-01",
];

const OPERATIONAL_INSIGHTS: &[&str] = &[
    "2025-07-01",
    "2025-02-01",
    "2023-09-01",
    "2022-10-01",
    "2021-12-01-preview",
    "2021-06-01",
    "2020-10-01",
    "2020-08-01",
    "2020-03-01-preview",
    "2015-11-01-preview",
];

const ROLE_ASSIGNMENTS: &[&str] = &["2022-04-01", "2020-10-01-preview"];

const ROLE_DEFINITIONS: &[&str] = &["2022-05-01-preview", "2022-04-01"];

const IDENTITY: &[&str] = &[
    "2023-07-31-preview",
    "2023-01-31",
    "2022-01-31-preview",
    "2018-11-30",
];

/// ARM's own list for Microsoft.Resources (ansible-collections/azure#1739), and the
/// azure-mgmt-resource 26.0.0 default.
const RESOURCES: &[&str] = &[
    "2025-04-01",
    "2024-08-01",
    "2024-06-01-preview",
    "2024-03-01",
    "2023-07-01",
    "2023-07-01-preview",
    "2023-03-01-preview",
    "2022-12-01",
    "2022-11-01-preview",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-03-01-preview",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
    "2013-03-01",
    "2014-02-26",
    "2014-04",
];

const WINDOWS: &[Window] = &[
    Window {
        namespace: Namespace::Resources,
        type_: None,
        versions: RESOURCES,
    },
    Window {
        namespace: Namespace::CognitiveServices,
        type_: None,
        versions: COGNITIVE,
    },
    Window {
        namespace: Namespace::CognitiveServices,
        type_: Some("locations/operationResults"),
        versions: COGNITIVE_OPERATIONS,
    },
    Window {
        namespace: Namespace::ApiManagement,
        type_: None,
        versions: APIM,
    },
    Window {
        namespace: Namespace::Authorization,
        type_: None,
        versions: ROLE_ASSIGNMENTS,
    },
    Window {
        namespace: Namespace::Authorization,
        type_: Some("roleDefinitions"),
        versions: ROLE_DEFINITIONS,
    },
    Window {
        namespace: Namespace::ManagedIdentity,
        type_: None,
        versions: IDENTITY,
    },
    Window {
        namespace: Namespace::Insights,
        type_: None,
        versions: INSIGHTS,
    },
    Window {
        namespace: Namespace::OperationalInsights,
        type_: None,
        versions: OPERATIONAL_INSIGHTS,
    },
];

/// The resource type a request path names, after its namespace: `accounts/deployments`,
/// `service/backends`, `roleDefinitions`, `locations/operationResults`; for paths
/// without `providers` (resource groups and their listings), `resourceGroups` or
/// `resources`.
pub fn resource_type(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let providers = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"));
    match providers {
        Some(i) if i + 2 < segments.len() => segments[i + 2..]
            .iter()
            .step_by(2)
            .copied()
            .collect::<Vec<_>>()
            .join("/"),
        _ => match segments.last() {
            Some(s) if s.eq_ignore_ascii_case("resources") => "resources".into(),
            _ => "resourceGroups".into(),
        },
    }
}

/// The versions served for a type of a namespace, newest first.
pub fn served(namespace: Namespace, type_: &str) -> &'static [&'static str] {
    let own = WINDOWS.iter().find(|w| {
        w.namespace == namespace && w.type_.is_some_and(|t| t.eq_ignore_ascii_case(type_))
    });
    own.or_else(|| {
        WINDOWS
            .iter()
            .find(|w| w.namespace == namespace && w.type_.is_none())
    })
    .map_or(&[], |w| w.versions)
}

/// A version outside its window: what ARM answers needs the request's location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub namespace: Namespace,
    pub type_: String,
    pub version: String,
}

/// Whether `version` is served for the type; case-insensitive as ARM compares them.
pub fn check(namespace: Namespace, type_: &str, version: &str) -> Result<(), Unsupported> {
    if served(namespace, type_)
        .iter()
        .any(|v| v.eq_ignore_ascii_case(version))
    {
        return Ok(());
    }
    Err(Unsupported {
        namespace,
        type_: type_.to_string(),
        version: version.to_string(),
    })
}

impl Unsupported {
    /// ARM's answer. Microsoft.Resources types are answered by ARM itself:
    /// `400 InvalidApiVersionParameter`, "The api-version '…' is invalid. The supported
    /// versions are '…'." (comma-separated, no spaces; Azure/azure-cli#28038,
    /// ansible-collections/azure#1739, hashicorp/vault-plugin-secrets-azure#13). A type
    /// of another provider is routed by its registration: `400 NoRegisteredProviderFound`,
    /// "No registered resource provider found for location '…' and API version '…' for
    /// type '…'. The supported api-versions are '…'. The supported locations are '…'."
    /// (Azure/azure-cli#28496 and #28952, Azure/ResourceModules#454). `location` is the
    /// request's: the body's, else the resource's or its group's, else `global`.
    pub fn arm_error(&self, location: &str) -> ArmError {
        let served = served(self.namespace, &self.type_);
        if self.namespace == Namespace::Resources {
            return ArmError::bad_request(
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{}' is invalid. The supported versions are '{}'.",
                    self.version,
                    served.join(",")
                ),
            );
        }
        ArmError::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{}' for type '{}'. The supported api-versions are '{}'. The supported locations are '{}'.",
                self.version,
                self.type_,
                served.join(", "),
                crate::regions::names().join(", ")
            ),
        )
    }
}

/// API Management backends have `type`, `pool` and `circuitBreaker` only from
/// 2023-05-01-preview (Microsoft Learn, "Backends in API Management": load-balanced pools
/// and circuit breakers need "REST APIs (2023-05-01-preview or later)"; the ARM template
/// change log of `service/backends` lists them as added then). An older version's
/// contract does not carry them: they are not read from its requests nor returned.
fn lacks_backend_pools(type_: &str, version: &str) -> bool {
    type_.eq_ignore_ascii_case("service/backends") && version < "2023-05-01-preview"
}

const POOL_FIELDS: [&str; 3] = ["type", "pool", "circuitBreaker"];

/// Model deployments have `sku` and `properties.versionUpgradeOption` only from
/// 2023-05-01 (the ARM template change log of `accounts/deployments`: "2023-05-01 Added:
/// sku, … properties.versionUpgradeOption"); before, the capacity is
/// `properties.scaleSettings.capacity`. A deployment recorded at 2022-10-01
/// (TestDeployment.json) also answers without `currentCapacity`, `raiPolicyName` and
/// `rateLimits`.
fn lacks_deployment_sku(type_: &str, version: &str) -> bool {
    type_.eq_ignore_ascii_case("accounts/deployments") && version < "2023-05-01"
}

const SKU_ERA_FIELDS: [&str; 4] = [
    "versionUpgradeOption",
    "currentCapacity",
    "raiPolicyName",
    "rateLimits",
];

/// A request body as the asked version's contract reads it. An older deployment's
/// `scaleSettings.capacity` becomes the `sku` the emulator keeps (Standard).
pub fn adapt_request(type_: &str, version: &str, body: &mut Value) {
    if lacks_backend_pools(type_, version)
        && let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut)
    {
        for field in POOL_FIELDS {
            props.remove(field);
        }
    }
    if lacks_deployment_sku(type_, version)
        && let Some(obj) = body.as_object_mut()
    {
        obj.remove("sku");
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.remove("versionUpgradeOption");
        }
        let capacity = obj
            .get("properties")
            .and_then(|p| p.pointer("/scaleSettings/capacity"))
            .cloned();
        if let Some(capacity) = capacity {
            obj.insert(
                "sku".into(),
                serde_json::json!({"name": "Standard", "capacity": capacity}),
            );
        }
    }
}

/// A response body as the asked version's contract returns it (a resource or a
/// `{value: [...]}` page).
pub fn adapt_response(type_: &str, version: &str, body: &mut Value) {
    let (pools, sku) = (
        lacks_backend_pools(type_, version),
        lacks_deployment_sku(type_, version),
    );
    if !pools && !sku {
        return;
    }
    let strip = |item: &mut Value| {
        if sku && let Some(obj) = item.as_object_mut() {
            obj.remove("sku");
        }
        let fields: &[&str] = if pools { &POOL_FIELDS } else { &SKU_ERA_FIELDS };
        if let Some(props) = item.get_mut("properties").and_then(Value::as_object_mut) {
            for field in fields {
                props.remove(*field);
            }
        }
    };
    match body.get_mut("value").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().for_each(strip),
        None => strip(body),
    }
}

#[cfg(test)]
#[path = "versions_tests.rs"]
mod tests;
