//! The validated model: a plan Azure would accept, with every default filled in.
//!
//! Nothing downstream of [`crate::validate`] sees a raw plan: the desired state,
//! the renderers and the engine all take a [`Model`].

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// The deployment this plan describes (the plan's `deployment`, or derived): what
    /// aoai-lb's marks on the resources name.
    pub deployment: String,
    pub subscription_id: String,
    /// The plan's `state:` as written (a path relative to the plan file, or a blob URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub resource_group: ResourceGroup,
    /// The user's tags (the ownership tag is added when bodies are built).
    pub tags: BTreeMap<String, String>,
    pub accounts: Vec<Account>,
    pub apim: Apim,
    /// Warn of a retirement within this many days (the plan's `retireWarningDays`).
    pub retire_warning_days: u32,
}

/// The name of a deployment whose plan does not set `deployment`: its APIM service and
/// API, which two deployments cannot share (and which, unlike the plan's file name, nobody
/// renames in passing).
pub fn derived_deployment(apim_service: &str, api: &str) -> String {
    format!("{apim_service}/{api}")
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub name: String,
    /// Canonical region name (`westus`).
    pub location: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub name: String,
    /// Canonical region name (`westus`).
    pub location: String,
    /// Region display name (`West US`), what Azure OpenAI puts in `x-ms-region`.
    pub region_display_name: String,
    pub kind: AccountKind,
    pub sku: String,
    pub custom_sub_domain: String,
    pub restore: bool,
    pub deployments: Vec<Deployment>,
    pub backend: Backend,
}

/// What an account is to ARM (`kind`). Both kinds serve the Azure OpenAI data plane at
/// `https://{customSubDomain}.openai.azure.com/`; they differ in their main endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum AccountKind {
    /// An Azure OpenAI resource.
    #[default]
    OpenAI,
    /// A Microsoft Foundry resource ("Azure AI Services"), what the portal creates today.
    AIServices,
}

impl AccountKind {
    /// Every kind, as plans and ARM spell them.
    pub const ALL: [AccountKind; 2] = [AccountKind::OpenAI, AccountKind::AIServices];

    /// The kind as ARM spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::OpenAI => "OpenAI",
            AccountKind::AIServices => "AIServices",
        }
    }
}

impl Account {
    /// The account's `properties.endpoint` as ARM reports it: `https://{customSubDomain}.openai.azure.com/`
    /// for kind OpenAI, `https://{customSubDomain}.cognitiveservices.azure.com/` for AIServices
    /// (Microsoft Learn, "Deploy Microsoft Foundry Models using the Azure CLI": the
    /// inference URI is read from `properties.endpoints["Azure OpenAI Legacy API - Latest
    /// moniker"]`, the `openai.azure.com` host, not from `properties.endpoint`).
    pub fn endpoint(&self) -> String {
        match self.kind {
            AccountKind::OpenAI => self.openai_endpoint(),
            AccountKind::AIServices => {
                format!(
                    "https://{}.cognitiveservices.azure.com/",
                    self.custom_sub_domain
                )
            }
        }
    }

    /// The Azure OpenAI endpoint, the same for both kinds: `https://{customSubDomain}.openai.azure.com/`
    /// (ARM's `properties.endpoints["OpenAI Language Model Instance API"]`).
    pub fn openai_endpoint(&self) -> String {
        format!("https://{}.openai.azure.com/", self.custom_sub_domain)
    }

    /// The APIM backend URL: the Azure OpenAI endpoint followed by `openai`.
    pub fn backend_url(&self) -> String {
        format!("{}openai", self.openai_endpoint())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub name: String,
    pub model: String,
    pub version: Option<String>,
    pub sku: String,
    pub capacity: u32,
    /// ARM's `properties.versionUpgradeOption`, when the plan sets it.
    pub version_upgrade_option: Option<String>,
    /// This account's backend priority for requests to this deployment (the
    /// deployment's `priority`, else the account's backend priority).
    pub priority: u8,
    /// This account's backend weight for requests to this deployment.
    pub weight: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub name: String,
    pub priority: u8,
    pub weight: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Apim {
    pub name: String,
    pub resource_group: String,
    pub identity: Identity,
    pub api: Api,
    pub pool: Pool,
    /// The backend pools APIM gets, each with the deployment names it serves: one (named
    /// `pool.name`) when every account serves the same names with the same priorities
    /// and weights; otherwise one per deployment name. See [`pools`].
    pub pools: Vec<RoutedPool>,
    pub policy: Policy,
    pub subscription: Option<Subscription>,
    /// The plan's clients, each an APIM subscription with optional token limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<Client>,
    /// The Application Insights component the API logs to (an APIM logger + diagnostic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_insights: Option<AppInsights>,
}

/// The Application Insights component the API logs to, by resource id: an existing one,
/// or (with `create`) one aoai-lb creates in the plan's resource group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInsights {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<NewComponent>,
}

/// A component aoai-lb creates: workspace-based, in `location`, storing its telemetry in
/// the Log Analytics `workspace` (a resource id), else in the managed workspace Azure
/// makes for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewComponent {
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

impl AppInsights {
    /// The APIM logger's name: the component's.
    pub fn logger_name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or(&self.id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Identity {
    SystemAssigned,
    UserAssigned {
        /// Resource id of the user-assigned identity.
        id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    pub name: String,
    pub display_name: String,
    pub path: String,
    pub spec: SpecSource,
    /// The API also serves the v1 operations next to a dated (or user) spec's.
    pub v1: bool,
    pub subscription_key_header: String,
    /// The query parameter that may carry the key instead of the header.
    pub subscription_key_query: String,
}

/// Where the inference spec comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SpecSource {
    /// A spec shipped with aoai-lb (`2024-02-01`, `2024-10-21`, `v1`).
    Bundled { version: String },
    /// A user file (path as written in the plan), with its content.
    File {
        path: String,
        #[serde(skip)]
        content: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    pub name: String,
    pub description: String,
    pub circuit_breaker: Option<CircuitBreaker>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    pub failures: u32,
    pub interval: String,
    /// Inclusive ranges of status codes, in the order written.
    pub status_codes: Vec<(u16, u16)>,
    pub trip_duration: String,
    pub accept_retry_after: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub template: PolicyTemplate,
    /// Resolved retry count (`auto` is members - 1).
    pub retry: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum PolicyTemplate {
    /// A template shipped with aoai-lb: `pool` or `random`.
    Builtin { name: String },
    /// A user template (path as written in the plan), with its content.
    File {
        path: String,
        #[serde(skip)]
        content: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub name: String,
    pub display_name: String,
}

/// A client of the API: an APIM subscription scoped to it, and its token limits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub name: String,
    pub display_name: String,
    pub tokens_per_minute: Option<u32>,
    pub token_quota: Option<TokenQuota>,
}

impl Client {
    /// Whether the policy limits this client at all.
    pub fn is_limited(&self) -> bool {
        self.tokens_per_minute.is_some() || self.token_quota.is_some()
    }

    /// The client's APIM subscription, as `apim.subscription` is one.
    pub fn subscription(&self) -> Subscription {
        Subscription {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenQuota {
    pub tokens: u32,
    /// `Hourly`, `Daily`, `Weekly`, `Monthly` or `Yearly`, as APIM spells it.
    pub period: String,
}

/// The quota periods APIM's token-limit policies know (`token-quota-period`).
pub const TOKEN_QUOTA_PERIODS: [&str; 5] = ["Hourly", "Daily", "Weekly", "Monthly", "Yearly"];

/// One backend pool and the deployment names whose requests it takes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutedPool {
    /// Its APIM backend id.
    pub name: String,
    /// The deployment names routed to it, in the order the plan first names them.
    pub deployments: Vec<String>,
    /// Its members, in plan order.
    pub members: Vec<PoolMember>,
}

/// A backend in a pool, with its place there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolMember {
    /// Index of the account in [`Model::accounts`].
    pub account: usize,
    /// The backend's name.
    pub backend: String,
    pub priority: u8,
    pub weight: u8,
}

/// APIM's limit on a backend id (`names::apim_entity_id(_, 80)`).
const MAX_POOL_ID: usize = 80;

/// The id of deployment `deployment`'s own pool: `{pool}-{deployment}`, the pool name cut
/// short when the two together pass APIM's 80 characters (the deployment name, which
/// tells the pools apart, is kept whole).
pub fn deployment_pool_name(pool: &str, deployment: &str) -> String {
    let room = MAX_POOL_ID.saturating_sub(deployment.chars().count() + 1);
    let head: String = pool.chars().take(room).collect();
    format!("{}-{deployment}", head.trim_end_matches('-'))
}

/// The pools of a plan's accounts: for each deployment name, the accounts that serve it
/// (with that deployment's priority and weight). When every name has the same members,
/// one pool named `pool` takes them all, so plans of one model set keep the one pool they
/// always had; otherwise each name gets its own pool ([`deployment_pool_name`]).
pub fn pools(pool: &str, accounts: &[Account]) -> Vec<RoutedPool> {
    let mut names: Vec<&str> = Vec::new();
    for d in accounts.iter().flat_map(|a| &a.deployments) {
        if !names.contains(&d.name.as_str()) {
            names.push(&d.name);
        }
    }
    let members_of = |name: &str| -> Vec<PoolMember> {
        accounts
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let d = a.deployments.iter().find(|d| d.name == name)?;
                Some(PoolMember {
                    account: i,
                    backend: a.backend.name.clone(),
                    priority: d.priority,
                    weight: d.weight,
                })
            })
            .collect()
    };
    let all: Vec<PoolMember> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| PoolMember {
            account: i,
            backend: a.backend.name.clone(),
            priority: a.backend.priority,
            weight: a.backend.weight,
        })
        .collect();
    if names.iter().all(|n| members_of(n) == all) {
        return vec![RoutedPool {
            name: pool.to_string(),
            deployments: names.iter().map(|n| n.to_string()).collect(),
            members: all,
        }];
    }
    names
        .iter()
        .map(|n| RoutedPool {
            name: deployment_pool_name(pool, n),
            deployments: vec![n.to_string()],
            members: members_of(n),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(i: usize, deployments: &[(&str, u8, u8)]) -> Account {
        Account {
            name: format!("a{i}"),
            kind: AccountKind::OpenAI,
            location: "westus".into(),
            region_display_name: "West US".into(),
            sku: "S0".into(),
            custom_sub_domain: format!("a{i}"),
            restore: false,
            deployments: deployments
                .iter()
                .map(|(n, p, w)| Deployment {
                    name: n.to_string(),
                    model: "m".into(),
                    version: None,
                    sku: "Standard".into(),
                    capacity: 1,
                    version_upgrade_option: None,
                    priority: *p,
                    weight: *w,
                })
                .collect(),
            backend: Backend {
                name: format!("b{i}"),
                priority: 1,
                weight: 1,
            },
        }
    }

    #[test]
    fn one_model_set_keeps_one_pool() {
        let a = [
            account(0, &[("gpt", 1, 1), ("mini", 1, 1)]),
            account(1, &[("mini", 1, 1), ("gpt", 1, 1)]),
        ];
        let p = pools("pool", &a);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "pool");
        assert_eq!(p[0].deployments, ["gpt", "mini"]);
        assert_eq!(p[0].members.len(), 2);
    }

    #[test]
    fn different_sets_or_weights_give_a_pool_per_name() {
        let a = [
            account(0, &[("gpt", 1, 1), ("mini", 1, 1)]),
            account(1, &[("mini", 1, 1)]),
        ];
        let p = pools("pool", &a);
        assert_eq!(
            p.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["pool-gpt", "pool-mini"]
        );
        assert_eq!(p[0].members.len(), 1);
        assert_eq!(p[1].members.len(), 2);
        let a = [account(0, &[("gpt", 1, 3)]), account(1, &[("gpt", 1, 1)])];
        let p = pools("pool", &a);
        assert_eq!(p[0].name, "pool-gpt");
        assert_eq!(p[0].members[0].weight, 3);
    }

    #[test]
    fn long_names_fit_apims_80_characters() {
        let pool = "p".repeat(80);
        let d = "d".repeat(64);
        let n = deployment_pool_name(&pool, &d);
        assert_eq!(n.chars().count(), 80);
        assert!(n.ends_with(&format!("-{d}")));
        assert_eq!(deployment_pool_name("pool", "gpt-4o"), "pool-gpt-4o");
    }
}
