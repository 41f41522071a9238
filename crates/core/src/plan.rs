//! The plan file as it is written: the serde types behind `plan.yaml`.
//!
//! These types only describe the shape (field names, nesting, scalar kinds) and reject
//! unknown fields. Everything Azure would refuse is checked afterwards, in
//! [`crate::validate`], which turns a [`Plan`] into a [`crate::model::Model`].
//! The doc comments here are the single source of the JSON Schema
//! (`schemas/plan.schema.json`) and of the plan reference in `docs/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::located::Located;

/// An aoai-lb plan: Azure OpenAI accounts behind one Azure API Management backend pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "aoai-lb plan")]
pub struct Plan {
    /// The name of the deployment this plan describes: every resource aoai-lb creates for it carries this name (tag `aoai-lb-deployment`, or a mark in its description), and aoai-lb touches only resources that carry it. Default: `{apim.name}/{apim.api.name}`, which two deployments cannot share. Set it once and never change it: a renamed deployment no longer owns what it created.
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    )]
    pub deployment: Option<Located<String>>,
    /// Azure subscription (a GUID). Falls back to the AZURE_SUBSCRIPTION_ID environment variable.
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub subscription_id: Option<Located<String>>,
    /// Where aoai-lb keeps this deployment's state: a file path (relative to the plan file's folder), or an Azure Storage blob URL shared by a team and its CI, `https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB` (for the storage emulator, `http://127.0.0.1:PORT/devstoreaccount1/CONTAINER/BLOB`). A blob state is locked with a lease while a run writes it. `--state` and `AOAI_LB_STATE` win over it. Default: `<plan file stem>.aoai-lb.state.json` in the current directory.
    #[schemars(length(min = 1))]
    pub state: Option<Located<String>>,
    /// The resource group of the Azure OpenAI accounts; created if missing.
    pub resource_group: Located<ResourceGroup>,
    /// Tags added to every resource the tool creates (where ARM has tags).
    pub tags: Option<Located<BTreeMap<String, String>>>,
    /// Azure OpenAI accounts (Microsoft.CognitiveServices, kind OpenAI or AIServices); each becomes one pool member.
    pub accounts: Located<Vec<Account>>,
    /// The existing API Management service and what to create in it.
    pub apim: Located<Apim>,
    /// `plan`, `apply` and `doctor` warn when a deployment's model version retires on its sku within this many days, by the retirement dates ARM's model catalog gives today (0: never warn). Default 90.
    #[schemars(range(min = 0, max = 3650))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub retire_warning_days: Option<Located<i64>>,
}

/// The resource group that holds the Azure OpenAI accounts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceGroup {
    /// Resource group name (1-90 characters: letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`).
    pub name: Located<String>,
    /// Azure region of the group, for example `westus`.
    pub location: Located<String>,
}

/// One Azure OpenAI (or Foundry) account, its model deployments and its APIM backend.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Account {
    /// Account name (2-64 characters, `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`).
    #[schemars(
        length(min = 2, max = 64),
        regex(pattern = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    )]
    pub name: Located<String>,
    /// Azure region of the account, for example `eastus`.
    pub location: Located<String>,
    /// Account kind: `OpenAI` (an Azure OpenAI resource) or `AIServices` (a Microsoft Foundry resource, what the portal creates today). Both serve the Azure OpenAI API at `https://{customSubDomain}.openai.azure.com/`, which the APIM backend calls with the same managed identity and role; an AIServices account's main endpoint is `https://{customSubDomain}.cognitiveservices.azure.com/`. Changing it replaces the account. Default `OpenAI`.
    pub kind: Option<Located<String>>,
    /// Pricing tier. Azure OpenAI and Foundry (AIServices) accounts offer `S0` only.
    pub sku: Option<Located<String>>,
    /// Custom subdomain (a DNS label, globally unique); the Azure OpenAI endpoint is `https://{customSubDomain}.openai.azure.com/`. Default: the account name in lower case.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$"))]
    pub custom_sub_domain: Option<Located<String>>,
    /// `true` lets aoai-lb restore a soft-deleted account of this name that does not carry this deployment's mark (one of its own is restored without it); an account that is not soft-deleted is created as usual.
    pub restore: Option<Located<bool>>,
    /// Model deployments in this account; deployed one at a time, in this order.
    #[serde(default)]
    pub deployments: Vec<Located<Deployment>>,
    /// This account's APIM backend and its place in the pool.
    pub backend: Option<Located<Backend>>,
}

/// A model deployment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deployment {
    /// Deployment name, used in request URLs (`/deployments/{name}/chat/completions`).
    pub name: Located<String>,
    /// Model name, for example `gpt-4o`.
    pub model: Located<String>,
    /// Model version, for example `2024-11-20`. Default: the model's default version. Which versions a region offers, and until when, is read from its model catalog by `plan`, `apply` and `doctor`.
    pub version: Option<Located<String>>,
    /// Deployment type: Standard (default), GlobalStandard, DataZoneStandard, ProvisionedManaged, GlobalProvisionedManaged, DataZoneProvisionedManaged, GlobalBatch, DataZoneBatch.
    pub sku: Option<Located<String>>,
    /// Capacity in thousands of tokens per minute; on the provisioned SKUs (`*ProvisionedManaged`) in provisioned throughput units (PTUs), whose minimum and increment per model and SKU Azure publishes in the region's model catalog. Default 10.
    #[schemars(range(min = 1, max = 100000))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub capacity: Option<Located<i64>>,
    /// When Azure moves the deployment to another model version: OnceNewDefaultVersionAvailable, OnceCurrentVersionExpired or NoAutoUpgrade (ARM's `properties.versionUpgradeOption`). Default: left to Azure (OnceNewDefaultVersionAvailable).
    pub version_upgrade_option: Option<Located<String>>,
    /// Priority group of this account's backend for requests to this deployment, 0-100; lower is tried first. Default: the account's `backend.priority`. Setting it on some deployments gives each deployment name its own backend pool.
    #[schemars(range(min = 0, max = 100))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub priority: Option<Located<i64>>,
    /// Weight of this account's backend inside its priority group for requests to this deployment, 0-100. Default: the account's `backend.weight`. Setting it on some deployments gives each deployment name its own backend pool.
    #[schemars(range(min = 0, max = 100))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub weight: Option<Located<i64>>,
}

/// An account's APIM backend.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backend {
    /// Backend id in APIM (1-80 characters). Default: the account name.
    pub name: Option<Located<String>>,
    /// Priority group, 0-100; lower is tried first. Default 1.
    #[schemars(range(min = 0, max = 100))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub priority: Option<Located<i64>>,
    /// Weight inside the priority group, 0-100. Default 1.
    #[schemars(range(min = 0, max = 100))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub weight: Option<Located<i64>>,
}

/// The existing API Management service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Apim {
    /// Name of the existing API Management service.
    pub name: Located<String>,
    /// Its resource group. Default: `resourceGroup.name`.
    pub resource_group: Option<Located<String>>,
    /// The managed identity APIM uses to call Azure OpenAI: `SystemAssigned`, or `{userAssigned: <resource id>}`.
    pub identity: Option<Located<Identity>>,
    /// The API to import.
    pub api: Located<Api>,
    /// The backend pool that holds every account's backend. When accounts serve different deployment names (or a deployment sets its own priority or weight), each deployment name gets its own pool, named `{name}-{deployment}`, holding only the backends of the accounts that serve it.
    pub pool: Located<Pool>,
    /// The API policy.
    #[serde(default)]
    pub policy: Option<Located<Policy>>,
    /// An APIM subscription scoped to the API, whose key clients use.
    pub subscription: Option<Located<Subscription>>,
    /// The clients (teams or apps) of the API: each gets its own APIM subscription (key) scoped to the API, and optional token limits that the policy enforces per subscription.
    pub clients: Option<Located<Vec<Located<Client>>>>,
    /// Application Insights for the API: aoai-lb adds an APIM logger for the component (an existing one, or one it creates) and the API's `applicationinsights` diagnostic with metrics on, so the token metrics the policy emits (with `clients`) reach the component. The logger's connection string is read from the component at apply time and never written to a plan, the state or output.
    pub app_insights: Option<Located<AppInsights>>,
}

/// The Application Insights component the API logs to: an existing one (`id`), or one aoai-lb creates, owns and destroys (`name`). Give exactly one of `id` and `name`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppInsights {
    /// Resource id of an existing component: `/subscriptions/{guid}/resourceGroups/{group}/providers/Microsoft.Insights/components/{name}`. aoai-lb never changes or deletes it. The APIM logger aoai-lb adds is named after it.
    pub id: Option<Located<String>>,
    /// Name of a workspace-based component aoai-lb creates in the plan's resource group (1-260 characters, none of `%&\?/` nor a control character, not ending in a space or a period), tagged as aoai-lb's and deleted by `destroy`. The APIM logger is named after it.
    pub name: Option<Located<String>>,
    /// With `name`: the component's region. Default: the resource group's location.
    pub location: Option<Located<String>>,
    /// With `name`: resource id of an existing Log Analytics workspace the component stores its telemetry in (`/subscriptions/{guid}/resourceGroups/{group}/providers/Microsoft.OperationalInsights/workspaces/{name}`). Without it, Azure gives the component a managed workspace in a resource group of its own (`ai_{name}_{appId}_managed`) and deletes both with the component.
    pub workspace: Option<Located<String>>,
}

/// The managed identity of the APIM service.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum Identity {
    /// The service's system-assigned identity (enabled if off).
    SystemAssigned,
    /// A user-assigned identity, by resource id (`/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`).
    #[serde(rename = "userAssigned")]
    UserAssigned(Located<String>),
}

/// The Azure OpenAI inference API imported into APIM.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Api {
    /// API id in APIM (1-256 characters, none of `*#&+:<>?`).
    pub name: Located<String>,
    /// Display name. Default: the API id.
    pub display_name: Option<Located<String>>,
    /// URL suffix of the API on the gateway, for example `openai`.
    pub path: Located<String>,
    /// A bundled inference spec version (`2024-02-01`, `2024-10-21`), `v1` (the v1 API: `/v1/chat/completions` and `/v1/embeddings` under the API's path, the deployment named by the body's `model`, no dated api-version), or a path to an OpenAPI 3 JSON file, relative to the plan. Default `2024-02-01`.
    pub spec: Option<Located<String>>,
    /// `true`: the API also serves the v1 API's operations (`/v1/chat/completions`, `/v1/embeddings`, model in the body) next to the dated spec's, as an Azure OpenAI account does under `/openai`. Default `false`; with `spec: v1` it is implied.
    pub v1: Option<Located<bool>>,
    /// Header (and query parameter) that carries the subscription key. Default `Ocp-Apim-Subscription-Key`.
    pub subscription_key_header: Option<Located<String>>,
}

/// The backend pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pool {
    /// Backend id of the pool (1-80 characters).
    pub name: Located<String>,
    /// Pool description. Default: a sentence naming aoai-lb.
    pub description: Option<Located<String>>,
    /// A circuit breaker applied to every member backend.
    pub circuit_breaker: Option<Located<CircuitBreaker>>,
}

/// A circuit breaker rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Failures within `interval` that trip the breaker (at least 1).
    #[schemars(range(min = 1, max = 10000))]
    #[serde(deserialize_with = "whole::required")]
    pub failures: Located<i64>,
    /// ISO-8601 duration in which failures are counted, for example `PT1M`.
    pub interval: Located<String>,
    /// Status codes that count as failures: `"429"` or ranges such as `"500-599"`, within 200-599.
    pub status_codes: Located<Vec<Located<String>>>,
    /// ISO-8601 duration the backend stays out of the pool once tripped, for example `PT1M`.
    pub trip_duration: Located<String>,
    /// Use the backend's Retry-After header as the trip duration. Default false.
    pub accept_retry_after: Option<Located<bool>>,
}

/// The API policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// `pool` (route to the backend pool, seed lab), `random` (pick a backend URL at random), or a path to a `.xml.hbs` Handlebars template, relative to the plan. Default `pool`.
    pub template: Option<Located<String>>,
    /// Retries on 429 or 503: `auto` (members - 1) or a number 0-50. Default `auto`.
    pub retry: Option<Located<Retry>>,
}

/// `auto` or a retry count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    Auto,
    Count(i64),
}

impl JsonSchema for Retry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Retry".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`auto` (members - 1) or a retry count from 0 to 50.",
            "anyOf": [
                { "const": "auto" },
                { "type": "integer", "minimum": 0, "maximum": 50 }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Retry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RetryVisitor;
        impl Visitor<'_> for RetryVisitor {
            type Value = Retry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`auto` or a whole number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Retry, E> {
                Ok(Retry::Count(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Retry, E> {
                Ok(Retry::Count(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Retry, E> {
                if v == "auto" {
                    return Ok(Retry::Auto);
                }
                match v.parse::<i64>() {
                    // A quoted number is a string: a type error, as for every number.
                    Ok(_) => Err(E::custom(whole::quoted(v))),
                    Err(_) => Err(E::custom(format!(
                        "retry must be `auto` or a whole number, not `{v}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(RetryVisitor)
    }
}

/// An APIM subscription for clients.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id in APIM (1-256 characters, none of `*#&+:<>?`).
    pub name: Located<String>,
    /// Display name (1-100 characters). Default: the subscription id.
    pub display_name: Option<Located<String>>,
}

/// A client of the API: its own APIM subscription and, optionally, token limits.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Client {
    /// The client's APIM subscription id (1-80 letters, digits, `-`, `_`, `.`), unique among the clients and `apim.subscription`. Policies match it as `context.Subscription.Id`.
    pub name: Located<String>,
    /// Display name of the subscription (1-100 characters). Default: the name.
    pub display_name: Option<Located<String>>,
    /// Tokens (prompt and completion) the client may use per minute; past it APIM answers 429 with Retry-After. 1-2147483647. Default: no per-minute limit.
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub tokens_per_minute: Option<Located<i64>>,
    /// Tokens the client may use per `tokenQuotaPeriod`; past it APIM answers 403. 1-2147483647; needs `tokenQuotaPeriod`.
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(default, deserialize_with = "whole::optional")]
    pub token_quota: Option<Located<i64>>,
    /// The fixed window after which `tokenQuota` resets: `Hourly`, `Daily`, `Weekly`, `Monthly` or `Yearly`.
    pub token_quota_period: Option<Located<String>>,
}

/// Whole numbers written as YAML numbers. serde-saphyr reads a quoted `"10"` into an
/// integer field as 10; a plan that quotes a number most likely means something else
/// (a string where a number belongs), so it is a type error at that position.
mod whole {
    use serde::de::{self, Deserialize, Deserializer, Visitor};

    use crate::located::Located;

    struct Whole(i64);

    pub(super) fn quoted(v: &str) -> String {
        format!("expected a whole number, not the string \"{v}\" (write it without quotes)")
    }

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct WholeVisitor;
            impl Visitor<'_> for WholeVisitor {
                type Value = Whole;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a whole number")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                    Ok(Whole(v))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                    i64::try_from(v)
                        .map(Whole)
                        .map_err(|_| E::custom("expected a whole number"))
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Whole, E> {
                    Err(E::custom("expected a whole number"))
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Whole, E> {
                    Err(E::custom("expected a whole number"))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Whole, E> {
                    if v.trim().parse::<i64>().is_ok() {
                        Err(E::custom(quoted(v)))
                    } else {
                        Err(E::custom("expected a whole number"))
                    }
                }
            }
            deserializer.deserialize_any(WholeVisitor)
        }
    }

    pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Located<i64>, D::Error> {
        let n = Located::<Whole>::deserialize(d)?;
        Ok(Located::new(n.value.0, n.pos))
    }

    pub(super) fn optional<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Located<i64>>, D::Error> {
        let n = Option::<Located<Whole>>::deserialize(d)?;
        Ok(n.map(|n| Located::new(n.value.0, n.pos)))
    }
}
