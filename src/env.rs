//! Every environment variable aoai-lb reads, in one place.

/// ARM endpoint (default `https://management.azure.com`); `--arm-endpoint`.
pub const ARM_ENDPOINT: &str = "AOAI_LB_ARM_ENDPOINT";
/// State file path (default `aoai-lb.state.json`); `--state`.
pub const STATE: &str = "AOAI_LB_STATE";
/// Subscription used when the plan has no `subscriptionId`.
pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
/// A bearer token for ARM, used as is (first in the credential chain).
pub const ACCESS_TOKEN: &str = "AOAI_LB_ACCESS_TOKEN";
/// The APIM subscription key `verify` sends (`--key`); default: listSecrets.
pub const API_KEY: &str = "AOAI_LB_API_KEY";
/// Service principal / workload identity / GitHub OIDC settings (as the Azure SDKs read them).
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// Set by GitHub Actions when the job has `permissions: id-token: write`.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Set on App Service, Functions, Container Apps and Arc, where managed identity is served.
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
pub const MSI_ENDPOINT: &str = "MSI_ENDPOINT";
/// Disables colour when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";
pub const DEFAULT_STATE: &str = "aoai-lb.state.json";

/// A variable's value, with empty treated as unset (as CI systems set unset inputs).
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
