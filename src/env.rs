//! Every environment variable aoai-lb reads, in one place.

/// ARM endpoint (default `https://management.azure.com`); `--arm-endpoint`.
pub const ARM_ENDPOINT: &str = "AOAI_LB_ARM_ENDPOINT";
/// State file path (default `aoai-lb.state.json`); `--state`.
pub const STATE: &str = "AOAI_LB_STATE";
/// Subscription used when the plan has no `subscriptionId`.
pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
/// Disables colour when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";
pub const DEFAULT_STATE: &str = "aoai-lb.state.json";

/// A variable's value, with empty treated as unset (as CI systems set unset inputs).
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
