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
    pub policy: Policy,
    pub subscription: Option<Subscription>,
    /// The plan's clients, each an APIM subscription with optional token limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<Client>,
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
