//! The environment variables the credential chain reads (as the Azure SDKs name them).
//! The CLI lists them with its own in one table (`aoai-lb --help`, docs/auth.md).

/// A bearer token for ARM, used as is (first in the credential chain).
pub const ACCESS_TOKEN: &str = "AOAI_LB_ACCESS_TOKEN";
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

/// A variable's value, with empty treated as unset (as CI systems set unset inputs).
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
