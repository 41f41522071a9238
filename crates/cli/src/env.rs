//! Every environment variable aoai-lb reads, in one place.

/// ARM endpoint (default `https://management.azure.com`); `--arm-endpoint`.
pub const ARM_ENDPOINT: &str = "AOAI_LB_ARM_ENDPOINT";
/// State file path (default `<plan stem>.aoai-lb.state.json`; `aoai-lb.state.json` without a plan); `--state`.
pub const STATE: &str = "AOAI_LB_STATE";
/// Subscription used when the plan has no `subscriptionId`.
pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
/// The APIM subscription key `verify` sends (`--key`); default: listSecrets.
pub const API_KEY: &str = "AOAI_LB_API_KEY";
/// The credential chain's variables live with it, in the ARM client.
pub use aoai_lb_arm::env::{
    ACCESS_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN, ACTIONS_ID_TOKEN_REQUEST_URL, AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, IDENTITY_ENDPOINT,
    MSI_ENDPOINT, var,
};
/// Seconds one ARM request may take, body included; `--request-timeout` (default 60).
pub const REQUEST_TIMEOUT: &str = "AOAI_LB_REQUEST_TIMEOUT";
/// Seconds one ARM operation may take, retries and polls included; `--operation-timeout`
/// (default 2700).
pub const OPERATION_TIMEOUT: &str = "AOAI_LB_OPERATION_TIMEOUT";
/// Multiplies aoai-lb's own retry backoff and poll waits (never a Retry-After ARM
/// sends); default 1. For tests, which must not sleep for real.
pub const DELAY_SCALE: &str = "AOAI_LB_DELAY_SCALE";
/// Without a terminal, how often a running operation is reported as still running
/// (`10s`, `1m`, `0` for never); `--heartbeat` (default 10s).
pub const HEARTBEAT: &str = "AOAI_LB_HEARTBEAT";
/// Disables colour when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";
pub const DEFAULT_STATE: &str = "aoai-lb.state.json";
