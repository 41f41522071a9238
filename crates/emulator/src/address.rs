//! Request paths parsed into typed resource addresses.
//!
//! ARM matches the keywords of a path (`subscriptions`, `resourceGroups`, `providers`,
//! namespaces and type names) case-insensitively, and names case-insensitively too while
//! keeping them as first written. Parsing is pure: it knows nothing of what exists, so
//! every route the emulator serves is decided here and unit-tested on its own.

use std::fmt;

/// A resource group: subscription and group name, as written in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rg {
    pub sub: String,
    pub name: String,
}

impl Rg {
    pub fn id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.sub, self.name)
    }
}

/// Which poll URL of a long-running operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// `Azure-AsyncOperation`: answers `{"status": ...}`.
    Status,
    /// `Location`: 202 while running, then the result.
    Result,
}

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    ResourceGroup(Rg),
    /// `GET /subscriptions/{s}/resourceGroups/{rg}/resources`: the group's top-level resources.
    GroupResources(Rg),
    Account(Rg, String),
    Deployment(Rg, String, String),
    /// `GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/deletedAccounts`.
    DeletedAccounts {
        sub: String,
    },
    DeletedAccount {
        sub: String,
        location: String,
        rg: String,
        name: String,
    },
    /// `GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/[locations/{l}/]{list}`:
    /// the model catalog, quota usages, model capacities (catalog.rs).
    CatalogList {
        sub: String,
        location: Option<String>,
        list: CatalogList,
    },
    ApimService(Rg, String),
    Backend(Rg, String, String),
    Api(Rg, String, String),
    ApiPolicy(Rg, String, String),
    /// `GET .../apis/{api}/operations` (ApiOperation_ListByApi, apimapis.json).
    ApiOperations(Rg, String, String),
    /// `.../apis/{api}/operations/{op}` (ApiOperation_Get).
    ApiOperation(Rg, String, String, String),
    ApimSubscription(Rg, String, String),
    /// `.../service/{s}/loggers/{l}` (Logger_CreateOrUpdate, apimloggers.json).
    Logger(Rg, String, String),
    /// `.../service/{s}/diagnostics/{d}` (Diagnostic_CreateOrUpdate, apimdiagnostics.json).
    ServiceDiagnostic(Rg, String, String),
    /// `.../service/{s}/apis/{a}/diagnostics/{d}` (ApiDiagnostic_CreateOrUpdate, apimapis.json).
    ApiDiagnostic(Rg, String, String, String),
    /// `GET .../service/{s}/apis/{a}/diagnostics` (ApiDiagnostic_ListByService).
    ApiDiagnostics(Rg, String, String),
    /// `GET [/resourceGroups/{rg}]/providers/Microsoft.Insights/components`
    /// (Components_ListByResourceGroup, Components_List).
    Components {
        sub: String,
        rg: Option<String>,
    },
    /// `.../providers/Microsoft.Insights/components/{c}` (Components_CreateOrUpdate,
    /// applicationinsights components_API.json 2020-02-02).
    Component(Rg, String),
    /// `.../providers/Microsoft.OperationalInsights/workspaces/{w}` (Workspaces_CreateOrUpdate,
    /// operationalinsights Workspaces.json 2025-07-01).
    Workspace(Rg, String),
    /// `GET [/resourceGroups/{rg}]/providers/Microsoft.OperationalInsights/workspaces`
    /// (Workspaces_ListByResourceGroup, Workspaces_List); with `deleted`, the
    /// `deletedWorkspaces` of DeletedWorkspaces_ListByResourceGroup and DeletedWorkspaces_List.
    Workspaces {
        sub: String,
        rg: Option<String>,
        deleted: bool,
    },
    /// `POST .../subscriptions/{sid}/listSecrets`.
    ListSecrets(Rg, String, String),
    Identity(Rg, String),
    /// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`; `scope` starts
    /// with `/subscriptions/`.
    RoleAssignment {
        scope: String,
        name: String,
    },
    /// `GET /subscriptions/{s}/resources`: the subscription's top-level resources
    /// (Resources_List, resources.json), filterable by tag.
    SubscriptionResources {
        sub: String,
    },
    /// `GET .../accounts/{a}/deployments` (Deployments_List, cognitiveservices.json).
    Deployments(Rg, String),
    /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`
    /// (RoleAssignments_ListForScope, authorization-RoleAssignmentsCalls.json).
    RoleAssignments {
        scope: String,
    },
    /// `GET .../service/{s}/{backends|apis|subscriptions}` (Backend_ListByService,
    /// Api_ListByService, Subscription_List).
    ApimCollection(Rg, String, ApimCollection),
    /// `GET /subscriptions/{s}/resourcegroups` (ResourceGroups_List, resources.json).
    ResourceGroups {
        sub: String,
    },
    /// `GET [/resourceGroups/{rg}]/providers/Microsoft.CognitiveServices/accounts`
    /// (Accounts_ListByResourceGroup, Accounts_List; cognitiveservices.json).
    Accounts {
        sub: String,
        rg: Option<String>,
    },
    /// `GET [/resourceGroups/{rg}]/providers/Microsoft.ApiManagement/service`
    /// (ApiManagementService_ListByResourceGroup, ApiManagementService_List).
    ApimServices {
        sub: String,
        rg: Option<String>,
    },
    /// `GET .../service/{s}/apis/{a}/policies` (ApiPolicy_ListByApi, apimapis.json).
    ApiPolicies(Rg, String, String),
    /// `POST .../accounts/{a}/listKeys` or `regenerateKey` (Accounts_ListKeys,
    /// Accounts_RegenerateKey).
    AccountKeys(Rg, String, KeyAction),
    /// `{scope}/providers/Microsoft.Authorization/roleDefinitions/{id}` (RoleDefinitions_Get).
    RoleDefinition {
        scope: String,
        id: String,
    },
    /// `{scope}/providers/Microsoft.Authorization/roleDefinitions` (RoleDefinitions_List).
    RoleDefinitions {
        scope: String,
    },
    /// A long-running operation's poll URL (the emulator's own shape).
    Operation {
        sub: String,
        namespace: Namespace,
        id: String,
        poll: Poll,
    },
}

/// What a POST to an account's keys does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    List,
    Regenerate,
}

/// The APIM collections the emulator lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApimCollection {
    Backends,
    Apis,
    Subscriptions,
    Loggers,
    Diagnostics,
}

impl ApimCollection {
    pub fn segment(self) -> &'static str {
        match self {
            ApimCollection::Backends => "backends",
            ApimCollection::Apis => "apis",
            ApimCollection::Subscriptions => "subscriptions",
            ApimCollection::Loggers => "loggers",
            ApimCollection::Diagnostics => "diagnostics",
        }
    }
}

/// Why a path names nothing the emulator serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    /// Not an ARM resource path at all.
    NoRoute,
    /// `providers/{namespace}` for a namespace the emulator does not serve.
    UnknownNamespace(String),
    /// A type the emulator does not serve in a namespace it does.
    UnknownType(String, String),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NoRoute => write!(f, "no ARM resource has this path"),
            PathError::UnknownNamespace(ns) => {
                write!(
                    f,
                    "No registered resource provider found for namespace '{ns}'."
                )
            }
            PathError::UnknownType(ns, t) => write!(
                f,
                "The resource type '{t}' could not be found in the namespace '{ns}'."
            ),
        }
    }
}

impl Address {
    /// The namespace whose api-version applies.
    pub fn namespace(&self) -> Namespace {
        match self {
            Address::ResourceGroup(_)
            | Address::GroupResources(_)
            | Address::SubscriptionResources { .. } => Namespace::Resources,
            Address::Deployments(..) | Address::Accounts { .. } | Address::AccountKeys(..) => {
                Namespace::CognitiveServices
            }
            Address::ResourceGroups { .. } => Namespace::Resources,
            Address::ApimServices { .. } | Address::ApiPolicies(..) => Namespace::ApiManagement,
            Address::RoleDefinition { .. } | Address::RoleDefinitions { .. } => {
                Namespace::Authorization
            }
            Address::ApimCollection(..) => Namespace::ApiManagement,
            Address::RoleAssignments { .. } => Namespace::Authorization,
            Address::Account(..)
            | Address::Deployment(..)
            | Address::DeletedAccounts { .. }
            | Address::DeletedAccount { .. }
            | Address::CatalogList { .. } => Namespace::CognitiveServices,
            Address::ApimService(..)
            | Address::Backend(..)
            | Address::Api(..)
            | Address::ApiPolicy(..)
            | Address::ApiOperations(..)
            | Address::ApiOperation(..)
            | Address::ApimSubscription(..)
            | Address::Logger(..)
            | Address::ServiceDiagnostic(..)
            | Address::ApiDiagnostic(..)
            | Address::ApiDiagnostics(..)
            | Address::ListSecrets(..) => Namespace::ApiManagement,
            Address::Identity(..) => Namespace::ManagedIdentity,
            Address::Component(..) | Address::Components { .. } => Namespace::Insights,
            Address::Workspace(..) | Address::Workspaces { .. } => Namespace::OperationalInsights,
            Address::RoleAssignment { .. } => Namespace::Authorization,
            Address::Operation { namespace, .. } => *namespace,
        }
    }

    /// The ARM id, keywords in ARM's casing and names as written in the request.
    pub fn id(&self) -> String {
        const COG: &str = "providers/Microsoft.CognitiveServices";
        const APIM: &str = "providers/Microsoft.ApiManagement/service";
        const LA: &str = "providers/Microsoft.OperationalInsights";
        match self {
            Address::ResourceGroup(rg) => rg.id(),
            Address::GroupResources(rg) => format!("{}/resources", rg.id()),
            Address::SubscriptionResources { sub } => format!("/subscriptions/{sub}/resources"),
            Address::Deployments(rg, a) => format!("{}/{COG}/accounts/{a}/deployments", rg.id()),
            Address::ResourceGroups { sub } => format!("/subscriptions/{sub}/resourcegroups"),
            Address::Accounts { sub, rg } => format!("{}/{COG}/accounts", scope_of(sub, rg)),
            Address::ApimServices { sub, rg } => {
                format!(
                    "{}/providers/Microsoft.ApiManagement/service",
                    scope_of(sub, rg)
                )
            }
            Address::ApiPolicies(rg, s, a) => format!("{}/{APIM}/{s}/apis/{a}/policies", rg.id()),
            Address::AccountKeys(rg, a, action) => {
                let verb = match action {
                    KeyAction::List => "listKeys",
                    KeyAction::Regenerate => "regenerateKey",
                };
                format!("{}/{COG}/accounts/{a}/{verb}", rg.id())
            }
            Address::RoleDefinition { scope, id } => {
                format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{id}")
            }
            Address::RoleDefinitions { scope } => {
                format!("{scope}/providers/Microsoft.Authorization/roleDefinitions")
            }
            Address::RoleAssignments { scope } => {
                format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
            }
            Address::ApimCollection(rg, s, c) => {
                format!("{}/{APIM}/{s}/{}", rg.id(), c.segment())
            }
            Address::Account(rg, a) => format!("{}/{COG}/accounts/{a}", rg.id()),
            Address::Deployment(rg, a, d) => {
                format!("{}/{COG}/accounts/{a}/deployments/{d}", rg.id())
            }
            Address::DeletedAccounts { sub } => {
                format!("/subscriptions/{sub}/{COG}/deletedAccounts")
            }
            Address::DeletedAccount {
                sub,
                location,
                rg,
                name,
            } => format!(
                "/subscriptions/{sub}/{COG}/locations/{location}/resourceGroups/{rg}/deletedAccounts/{name}"
            ),
            Address::CatalogList {
                sub,
                location,
                list,
            } => match location {
                Some(l) => format!(
                    "/subscriptions/{sub}/{COG}/locations/{l}/{}",
                    list.segment()
                ),
                None => format!("/subscriptions/{sub}/{COG}/{}", list.segment()),
            },
            Address::ApimService(rg, s) => format!("{}/{APIM}/{s}", rg.id()),
            Address::Backend(rg, s, b) => format!("{}/{APIM}/{s}/backends/{b}", rg.id()),
            Address::Api(rg, s, a) => format!("{}/{APIM}/{s}/apis/{a}", rg.id()),
            Address::ApiPolicy(rg, s, a) => {
                format!("{}/{APIM}/{s}/apis/{a}/policies/policy", rg.id())
            }
            Address::ApiOperations(rg, s, a) => {
                format!("{}/{APIM}/{s}/apis/{a}/operations", rg.id())
            }
            Address::ApiOperation(rg, s, a, o) => {
                format!("{}/{APIM}/{s}/apis/{a}/operations/{o}", rg.id())
            }
            Address::ApimSubscription(rg, s, x) => {
                format!("{}/{APIM}/{s}/subscriptions/{x}", rg.id())
            }
            Address::ListSecrets(rg, s, x) => {
                format!("{}/{APIM}/{s}/subscriptions/{x}/listSecrets", rg.id())
            }
            Address::Logger(rg, s, l) => format!("{}/{APIM}/{s}/loggers/{l}", rg.id()),
            Address::ServiceDiagnostic(rg, s, d) => {
                format!("{}/{APIM}/{s}/diagnostics/{d}", rg.id())
            }
            Address::ApiDiagnostic(rg, s, a, d) => {
                format!("{}/{APIM}/{s}/apis/{a}/diagnostics/{d}", rg.id())
            }
            Address::ApiDiagnostics(rg, s, a) => {
                format!("{}/{APIM}/{s}/apis/{a}/diagnostics", rg.id())
            }
            Address::Component(rg, c) => {
                format!("{}/providers/Microsoft.Insights/components/{c}", rg.id())
            }
            Address::Components { sub, rg } => {
                format!(
                    "{}/providers/Microsoft.Insights/components",
                    scope_of(sub, rg)
                )
            }
            Address::Workspace(rg, w) => format!("{}/{LA}/workspaces/{w}", rg.id()),
            Address::Workspaces { sub, rg, deleted } => {
                let t = if *deleted {
                    "deletedWorkspaces"
                } else {
                    "workspaces"
                };
                format!("{}/{LA}/{t}", scope_of(sub, rg))
            }
            Address::Identity(rg, n) => format!(
                "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{n}",
                rg.id()
            ),
            Address::RoleAssignment { scope, name } => crate::ids::role_assignment(scope, name),
            Address::Operation {
                sub,
                namespace,
                id,
                poll,
            } => operation_path(sub, *namespace, id, *poll),
        }
    }

    /// The parent resource that must exist for this one to be created, if any.
    pub fn parent(&self) -> Option<Address> {
        match self {
            Address::Account(rg, _)
            | Address::ApimService(rg, _)
            | Address::Identity(rg, _)
            | Address::Component(rg, _)
            | Address::Workspace(rg, _) => Some(Address::ResourceGroup(rg.clone())),
            Address::Deployment(rg, a, _) => Some(Address::Account(rg.clone(), a.clone())),
            Address::Backend(rg, s, _)
            | Address::Api(rg, s, _)
            | Address::ApimSubscription(rg, s, _)
            | Address::Logger(rg, s, _)
            | Address::ServiceDiagnostic(rg, s, _) => {
                Some(Address::ApimService(rg.clone(), s.clone()))
            }
            Address::ApiPolicy(rg, s, a)
            | Address::ApiOperation(rg, s, a, _)
            | Address::ApiDiagnostic(rg, s, a, _) => {
                Some(Address::Api(rg.clone(), s.clone(), a.clone()))
            }
            Address::ListSecrets(rg, s, x) => {
                Some(Address::ApimSubscription(rg.clone(), s.clone(), x.clone()))
            }
            _ => None,
        }
    }
}

/// `/subscriptions/{sub}` or `/subscriptions/{sub}/resourceGroups/{rg}`.
fn scope_of(sub: &str, rg: &Option<String>) -> String {
    match rg {
        Some(g) => format!("/subscriptions/{sub}/resourceGroups/{g}"),
        None => format!("/subscriptions/{sub}"),
    }
}

/// The emulator's poll URL path for an operation.
pub fn operation_path(sub: &str, namespace: Namespace, id: &str, poll: Poll) -> String {
    let kind = match poll {
        Poll::Status => "operationStatuses",
        Poll::Result => "operationResults",
    };
    format!(
        "/subscriptions/{sub}/providers/{}/locations/global/{kind}/{id}",
        namespace.name()
    )
}

pub(crate) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses a request path (without the query).
pub fn parse(path: &str) -> Result<Address, PathError> {
    let decoded = percent_decode(path);
    let s = segments(&decoded)?; // subscriptions, {sub}, ...
    if let Some(addr) = role_assignment(&s).or_else(|| role_definition(&s)) {
        return Ok(addr);
    }
    let n = s.len();
    let sub = s[1].to_string();
    if n == 2 {
        return Err(PathError::NoRoute);
    }
    if n == 3 && eq(s[2], "resources") {
        return Ok(Address::SubscriptionResources { sub });
    }
    if eq(s[2], "providers") {
        return subscription_provider(sub, &s[3..]);
    }
    if n == 3 && eq(s[2], "resourceGroups") {
        return Ok(Address::ResourceGroups { sub });
    }
    // A resource group deletion's Location (op_urls).
    if n == 4 && eq(s[2], "operationresults") {
        return Ok(Address::Operation {
            sub,
            namespace: Namespace::Resources,
            id: s[3].to_string(),
            poll: Poll::Result,
        });
    }
    if !eq(s[2], "resourceGroups") || n < 4 {
        return Err(PathError::NoRoute);
    }
    let rg = Rg {
        sub,
        name: s[3].to_string(),
    };
    group_path(rg, &s[4..])
}

/// The segments after the leading `/`, starting `subscriptions/{sub}`; none empty.
fn segments(decoded: &str) -> Result<Vec<&str>, PathError> {
    let s: Vec<&str> = decoded.trim_end_matches('/').split('/').collect();
    if s.len() < 3 || !s[0].is_empty() || !eq(s[1], "subscriptions") || s[2].is_empty() {
        return Err(PathError::NoRoute);
    }
    if s.iter().skip(1).any(|seg| seg.is_empty()) {
        return Err(PathError::NoRoute);
    }
    Ok(s[1..].to_vec())
}

/// What follows `resourceGroups/{rg}`: the group itself, its resources, or a provider's.
fn group_path(rg: Rg, s: &[&str]) -> Result<Address, PathError> {
    if s.is_empty() {
        return Ok(Address::ResourceGroup(rg));
    }
    if s.len() == 1 && eq(s[0], "resources") {
        return Ok(Address::GroupResources(rg));
    }
    if !eq(s[0], "providers") || s.len() < 2 {
        return Err(PathError::NoRoute);
    }
    let ns_text = s[1];
    let Some(ns) = Namespace::parse(ns_text) else {
        return Err(PathError::UnknownNamespace(ns_text.to_string()));
    };
    provider_resource(rg, ns, &s[2..])
}

/// A resource of namespace `ns` in a resource group; `rest` follows `providers/{ns}`.
fn provider_resource(rg: Rg, ns: Namespace, rest: &[&str]) -> Result<Address, PathError> {
    let unknown = || {
        let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
        PathError::UnknownType(ns.name().to_string(), types.join("/"))
    };
    let k = |i: usize, word: &str| rest.get(i).is_some_and(|x| eq(x, word));
    let name = |i: usize| rest[i].to_string();
    let addr = match (ns, rest.len()) {
        (Namespace::CognitiveServices, 1) if k(0, "accounts") => Address::Accounts {
            sub: rg.sub,
            rg: Some(rg.name),
        },
        (Namespace::ApiManagement, 1) if k(0, "service") => Address::ApimServices {
            sub: rg.sub,
            rg: Some(rg.name),
        },
        (Namespace::CognitiveServices, 2) if k(0, "accounts") => Address::Account(rg, name(1)),
        (Namespace::CognitiveServices, 3) if k(0, "accounts") && k(2, "listKeys") => {
            Address::AccountKeys(rg, name(1), KeyAction::List)
        }
        (Namespace::CognitiveServices, 3) if k(0, "accounts") && k(2, "regenerateKey") => {
            Address::AccountKeys(rg, name(1), KeyAction::Regenerate)
        }
        (Namespace::CognitiveServices, 3) if k(0, "accounts") && k(2, "deployments") => {
            Address::Deployments(rg, name(1))
        }
        (Namespace::CognitiveServices, 4) if k(0, "accounts") && k(2, "deployments") => {
            Address::Deployment(rg, name(1), name(3))
        }
        (Namespace::ManagedIdentity, 2) if k(0, "userAssignedIdentities") => {
            Address::Identity(rg, name(1))
        }
        (Namespace::Insights, 2) if k(0, "components") => Address::Component(rg, name(1)),
        (Namespace::Insights, 1) if k(0, "components") => Address::Components {
            sub: rg.sub,
            rg: Some(rg.name),
        },
        (Namespace::OperationalInsights, 2) if k(0, "workspaces") => {
            Address::Workspace(rg, name(1))
        }
        (Namespace::OperationalInsights, 1) if k(0, "workspaces") || k(0, "deletedWorkspaces") => {
            Address::Workspaces {
                sub: rg.sub,
                rg: Some(rg.name),
                deleted: k(0, "deletedWorkspaces"),
            }
        }
        (Namespace::ApiManagement, _) if k(0, "service") && rest.len() >= 2 => {
            return apim_resource(rg, rest).ok_or_else(unknown);
        }
        _ => return Err(unknown()),
    };
    Ok(addr)
}

/// Normalises an Azure region for comparison: `West US` and `westus` are one region.
pub fn region_key(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[path = "address_namespace.rs"]
mod namespace;
pub use namespace::Namespace;

#[path = "address_apim.rs"]
mod apim;
use apim::apim_resource;

#[path = "address_scopes.rs"]
mod scopes;
pub use scopes::CatalogList;
use scopes::{percent_decode, role_assignment, role_definition, subscription_provider};

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
