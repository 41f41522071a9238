//! Every environment variable aoai-lb reads, in one place.

/// ARM endpoint (default `https://management.azure.com`); `--arm-endpoint`.
pub const ARM_ENDPOINT: &str = "AOAI_LB_ARM_ENDPOINT";
/// Where the state is: a file path (default `<plan stem>.aoai-lb.state.json`;
/// `aoai-lb.state.json` without a plan) or a blob URL; `--state`. Wins over the plan's `state:`.
pub const STATE: &str = "AOAI_LB_STATE";
/// A blob state's storage account key (Shared Key); else `AZURE_STORAGE_SAS_TOKEN`, else
/// Entra ID through the credential chain (scope https://storage.azure.com/.default).
pub const AZURE_STORAGE_KEY: &str = "AZURE_STORAGE_KEY";
/// A SAS token for a blob state (with or without the leading `?`).
pub const AZURE_STORAGE_SAS_TOKEN: &str = "AZURE_STORAGE_SAS_TOKEN";
/// Who takes a state lock (`USER@host` in the lock; `USERNAME` on Windows).
pub const USER: &str = "USER";
pub const USERNAME: &str = "USERNAME";
/// Set by GitHub Actions: the run URL in a state lock is
/// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
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

/// A state location from `--state`, `AOAI_LB_STATE` or a plan's `state:`: a blob URL is
/// authorized by `AZURE_STORAGE_KEY`, else `AZURE_STORAGE_SAS_TOKEN`, else Entra ID.
pub fn state_location(text: &str) -> Result<aoai_lb_engine::state::Location, String> {
    use aoai_lb_engine::state::{BlobAuth, Location};
    Location::parse(text, || {
        if let Some(key) = var(AZURE_STORAGE_KEY) {
            return BlobAuth::shared_key(&key);
        }
        if let Some(sas) = var(AZURE_STORAGE_SAS_TOKEN) {
            return Ok(BlobAuth::sas(&sas));
        }
        if var(ACCESS_TOKEN).is_some() {
            // The chain would be that token alone, whose audience is ARM, not Storage.
            return Err(format!(
                "{ACCESS_TOKEN} is a token for ARM and cannot read a blob state: set {AZURE_STORAGE_KEY} or {AZURE_STORAGE_SAS_TOKEN}, or unset {ACCESS_TOKEN} to use the credential chain (Entra ID) for both"
            ));
        }
        Ok(BlobAuth::Entra(
            aoai_lb_arm::auth::CredentialChain::from_env(),
        ))
    })
}

/// Who this run is, for a state lock: user, host, command, and the GitHub Actions run.
pub fn lock_holder() -> aoai_lb_engine::state::Who {
    let user = var(USER).or_else(|| var(USERNAME));
    let run_url = match (
        var(GITHUB_SERVER_URL),
        var(GITHUB_REPOSITORY),
        var(GITHUB_RUN_ID),
    ) {
        (Some(server), Some(repo), Some(run)) => {
            Some(format!("{server}/{repo}/actions/runs/{run}"))
        }
        _ => None,
    };
    aoai_lb_engine::state::Who::of_process(user, run_url)
}
