//! The command line: clap's raw parse, then [`Settings`], the validated form the
//! commands use (nothing downstream sees an unchecked flag).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env;

const EXAMPLES: &str = "\
Examples:
  aoai-lb validate examples/two-regions.yaml
  aoai-lb render examples/two-regions.yaml --out rendered/
  aoai-lb render examples/two-regions.yaml --output json | jq '.requests[].url'
  aoai-lb doctor examples/two-regions.yaml
  aoai-lb demo
  aoai-lb verify examples/two-regions.yaml --requests 300 --chart split.svg
  aoai-lb schema > plan.schema.json";

/// `0.1.0 (3b80e90d1c2a)`: the version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AOAI_LB_GIT_HASH"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "aoai-lb",
    version = VERSION,
    about = "Put several Azure OpenAI deployments behind Azure API Management as one load-balanced endpoint.",
    long_about = "Put several Azure OpenAI deployments behind Azure API Management as one load-balanced, \
managed-identity-secured endpoint, from one YAML plan.\n\nThe plan file is described in docs/plan-reference.md \
and by schemas/plan.schema.json.",
    after_help = EXAMPLES,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Azure Resource Manager endpoint; plain http is allowed only for loopback addresses.
    #[arg(long, global = true, env = env::ARM_ENDPOINT, default_value = env::DEFAULT_ARM_ENDPOINT, value_name = "URL")]
    pub arm_endpoint: String,
    /// Output format: human-readable text, or JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Where the state that records what aoai-lb created is kept: a file, or a blob URL
    /// shared by a team and its CI (https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB;
    /// docs/ci.md). Wins over the plan's `state:` [default: the plan's `state:`, else
    /// <plan stem>.aoai-lb.state.json (aoai-lb.state.json for destroy without a plan); with
    /// --emulator, a temporary file].
    #[arg(long, global = true, env = env::STATE, value_name = "PATH|URL")]
    pub state: Option<String>,
    /// More detail on stderr (-v, -vv).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Longest one ARM request may take, response body included (then it is retried).
    #[arg(long, global = true, env = env::REQUEST_TIMEOUT, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Longest one ARM operation may take: its retries (throttling waits included) and,
    /// for a long-running one, its polls.
    #[arg(long, global = true, env = env::OPERATION_TIMEOUT, default_value_t = 2700, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub operation_timeout: u64,
    /// Without a terminal (CI logs), how often apply and destroy print a line for each
    /// operation still running ("still creating... [20s elapsed]"): 10s, 1m, 30 (seconds);
    /// 0 turns them off.
    #[arg(long, global = true, env = env::HEARTBEAT, default_value = "10s", value_name = "DURATION", value_parser = parse_interval)]
    pub heartbeat: std::time::Duration,
}

/// `10s`, `2m`, `30` (seconds), `0`: a whole number of seconds or minutes.
pub fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (digits, unit) = match t.strip_suffix('m') {
        Some(d) => (d, 60),
        None => (t.strip_suffix('s').unwrap_or(t), 1),
    };
    match digits.parse::<u64>() {
        Ok(n) if n.checked_mul(unit).is_some_and(|s| s <= 86_400) => {
            Ok(std::time::Duration::from_secs(n * unit))
        }
        _ => Err(format!(
            "`{text}` is not an interval: a whole number of seconds or minutes up to a day, e.g. 10s, 1m, 0 (off)"
        )),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// `aoai-lb state ...`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources the state records: address and ARM id, owned or not, pending.
    List {
        /// The plan file: its state is listed (default: --state, or aoai-lb.state.json).
        plan: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a plan offline; every error (unknown fields with a did-you-mean, wrong types,
    /// then every rule) is reported in one run as PLAN:LINE:COL: message. Exit 2 if invalid.
    #[command(
        after_help = "Examples:\n  aoai-lb validate plan.yaml\n  aoai-lb validate plan.yaml --output json | jq '.diagnostics[].message'"
    )]
    Validate {
        /// The plan file (YAML).
        plan: PathBuf,
    },
    /// Write every ARM request, the rendered policy and the patched spec; no network.
    #[command(
        after_help = "Examples:\n  aoai-lb render plan.yaml --out rendered/\n  aoai-lb render plan.yaml --output json > requests.json"
    )]
    Render {
        /// The plan file (YAML).
        plan: PathBuf,
        /// Directory to write one file per ARM request, policy.xml and inference.json into.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the plan's JSON Schema (for editors and yaml-language-server).
    #[command(after_help = "Example:\n  aoai-lb schema > plan.schema.json")]
    Schema,
    /// Show what apply would create, update or delete; no writes to Azure. Exit 0: no
    /// changes, 3: changes. With --out, also save the plan for `aoai-lb apply FILE`.
    #[command(
        after_help = "Examples:\n  aoai-lb plan plan.yaml\n  aoai-lb plan plan.yaml --output json | jq '.changes[] | select(.action != \"noop\")'\n  aoai-lb plan plan.yaml --out reviewed.plan && aoai-lb apply reviewed.plan\n  aoai-lb plan examples/two-regions.yaml --emulator"
    )]
    Plan {
        /// The plan file (YAML).
        plan: PathBuf,
        /// Save the plan to FILE (JSON: the changes and their requests, the hashes of
        /// the plan file and the files it refers to, fingerprints of what was read from
        /// Azure; no secrets). `aoai-lb apply FILE` applies exactly it, or refuses if
        /// anything changed since.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Converge Azure to the plan: show the changes, ask, then make them.
    #[command(
        after_help = "Examples:\n  aoai-lb apply plan.yaml\n  aoai-lb apply plan.yaml --yes --parallelism 20\n  aoai-lb plan plan.yaml --out reviewed.plan && aoai-lb apply reviewed.plan\n  aoai-lb apply examples/two-regions.yaml --emulator"
    )]
    Apply {
        /// The plan file (YAML), or a plan saved by `aoai-lb plan PLAN --out FILE` (told
        /// by its content): that plan is applied exactly, without asking, or refused,
        /// naming what changed since it was saved.
        plan: PathBuf,
        /// Do not ask for confirmation (required when there is no terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Adopt what already exists for the plan (a lab built by hand, with Bicep or
    /// Terraform): show what would be adopted and every difference, ask, then write
    /// aoai-lb's ownership marks and record the resources in the state. Nothing else in
    /// Azure changes; a resource marked by another aoai-lb deployment is never adopted.
    #[command(
        after_help = "Examples:\n  aoai-lb import plan.yaml\n  aoai-lb import plan.yaml --yes && aoai-lb plan plan.yaml\n  aoai-lb import plan.yaml --output json | jq '.resources[] | select(.status == \"adopt\")'"
    )]
    Import {
        /// The plan file (YAML).
        plan: PathBuf,
        /// Do not ask for confirmation (required when there is no terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Delete what aoai-lb created (from the state file), children first; put the APIM
    /// identity back as it was found.
    #[command(
        after_help = "Examples:\n  aoai-lb destroy --yes\n  aoai-lb destroy plan.yaml --purge"
    )]
    Destroy {
        /// The plan file (optional: the state file remembers what was created).
        plan: Option<PathBuf>,
        /// Do not ask for confirmation (required when there is no terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also purge the soft-deleted accounts, so their names can be reused at once.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Break the lock of a state whose run is gone (killed, cancelled, its runner lost):
    /// LOCK_ID is the one the refused run printed. A blob state's lease is broken at once,
    /// only if LOCK_ID is the lock its metadata names; a local state's lock ends with its
    /// process, so only a note a killed run left behind is removed.
    #[command(after_help = "Examples:
  aoai-lb force-unlock 5c4b3f0e-8a8f-4f57-9d1b-2f0f5b8d1e2a --state https://acct.blob.core.windows.net/aoai-lb/prod.json
  AOAI_LB_STATE=https://acct.blob.core.windows.net/aoai-lb/prod.json aoai-lb force-unlock 5c4b3f0e-8a8f-4f57-9d1b-2f0f5b8d1e2a
  aoai-lb force-unlock 5c4b3f0e-8a8f-4f57-9d1b-2f0f5b8d1e2a plan.yaml")]
    ForceUnlock {
        /// The lock id, as the run that was refused printed it.
        lock_id: String,
        /// The plan file whose state to unlock (its `state:`, or its default file) when
        /// --state is not given.
        plan: Option<PathBuf>,
    },
    /// What the state file records: each resource's address and ARM id (offline).
    #[command(
        subcommand,
        after_help = "Examples:\n  aoai-lb state list plan.yaml\n  aoai-lb state list --state prod.aoai-lb.state.json --output json"
    )]
    State(StateCommand),
    /// Where clients go once applied: the gateway and API URLs, and client snippets (the
    /// openai SDK and curl) that work with the API's path. The subscription key only with
    /// --show-secrets.
    #[command(
        after_help = "Examples:\n  aoai-lb output plan.yaml\n  aoai-lb output plan.yaml --output json | jq -r .apiUrl\n  export AOAI_LB_API_KEY=$(aoai-lb output plan.yaml --show-secrets --output json | jq -r .subscriptionKey)"
    )]
    Output {
        /// The plan file (YAML).
        plan: PathBuf,
        /// Also print the APIM subscription's primary key (never shown otherwise).
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Check credentials and what the plan needs in Azure (the API Management service, its
    /// resource group, a user-assigned identity) without changing anything.
    #[command(
        after_help = "Examples:\n  aoai-lb doctor\n  aoai-lb doctor plan.yaml -v\n  AOAI_LB_ARM_ENDPOINT=http://127.0.0.1:8089 aoai-lb doctor plan.yaml --output json"
    )]
    Doctor {
        /// The plan file (YAML); without it only the credential is checked.
        plan: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Examples:\n  aoai-lb completions bash > ~/.local/share/bash-completion/completions/aoai-lb\n  aoai-lb completions zsh > ~/.zfunc/_aoai-lb"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Send chat completions through the APIM gateway and check that they spread over the
    /// backends as the plan's priorities and weights say (by `x-ms-region`). Exit 1 when
    /// the split is off (chi-square p < 0.01) or a request failed.
    #[command(
        after_help = "Examples:\n  aoai-lb verify plan.yaml\n  aoai-lb verify plan.yaml --requests 600 --concurrency 8 --chart split.svg\n  AOAI_LB_API_KEY=... aoai-lb verify plan.yaml --gateway-url https://apim-aoai-lb.azure-api.net --output json"
    )]
    Verify(VerifyArgs),
    /// The one-command tour on an in-process emulator: apply, plan (no changes), verify
    /// the split, throttle the primary backend to show failover, destroy. Nothing
    /// reaches Azure.
    #[command(
        after_help = "Examples:\n  aoai-lb demo\n  aoai-lb demo examples/priority-spillover.yaml --chart demo.svg"
    )]
    Demo(DemoArgs),
    /// Run the local ARM emulator that the tests and the offline demo use (see docs/emulator.md).
    #[command(
        after_help = "Examples:\n  aoai-lb emulator --port 0 --seed-apim apim-aoai-lb@rg-apim\n  aoai-lb emulator --port 8089 --latency azure --time-scale 0.01 --faults seed=7,throttle=0.2"
    )]
    Emulator(EmulatorArgs),
}

/// Flags shared by plan, apply and destroy.
#[derive(Clone, Debug, Args)]
pub struct EngineArgs {
    /// Most ARM requests in flight at once (operations waiting between polls hold none).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
    /// Run against an in-process ARM emulator seeded with the plan's APIM service (a demo:
    /// nothing reaches Azure, and the emulator's state ends with the command).
    #[arg(long)]
    pub emulator: bool,
}

/// `aoai-lb verify` flags. `Debug` never shows the key.
#[derive(Clone, Args)]
pub struct VerifyArgs {
    /// The plan file (YAML): which backends, regions, priorities and weights to expect.
    pub plan: PathBuf,
    /// How many chat completions to send (to each deployment, when verify checks several).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub requests: u32,
    /// How many requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Subscription key for the API (prefer the environment variable: a flag shows in
    /// process lists) [default: listSecrets of the plan's APIM subscription].
    #[arg(long, env = env::API_KEY, hide_env_values = true, value_name = "KEY")]
    pub key: Option<String>,
    /// Gateway URL [default: the APIM service's gatewayUrl].
    #[arg(long, value_name = "URL")]
    pub gateway_url: Option<String>,
    /// Deployment to call; verify expects the split of the pool that serves it [default: every deployment the plan serves when it has a pool per deployment (`--requests` each, a report per deployment), else the first the plan names].
    #[arg(long, value_name = "NAME")]
    pub deployment: Option<String>,
    /// Azure OpenAI api-version of the requests [default: the plan's spec version].
    #[arg(long, value_name = "VERSION")]
    pub api_version: Option<String>,
    /// Write an SVG chart: response time per request coloured by region with the mean,
    /// and observed vs expected share per backend; a panel per deployment checked.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// Seconds to wait for one response.
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

impl std::fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("plan", &self.plan)
            .field("requests", &self.requests)
            .field("concurrency", &self.concurrency)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("gateway_url", &self.gateway_url)
            .field("deployment", &self.deployment)
            .field("api_version", &self.api_version)
            .field("chart", &self.chart)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `aoai-lb demo` flags.
#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// The plan to tour [default: the embedded examples/two-regions.yaml].
    pub plan: Option<PathBuf>,
    /// Chat completions per verify.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub requests: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Write the charts of both verifies: FILE.svg, and FILE-failover.svg for the
    /// throttled one.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
}

/// `aoai-lb emulator` flags; documented in docs/emulator.md.
#[derive(Clone, Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed on the first line of stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Pre-create an existing API Management service: NAME@RESOURCE_GROUP[@SUBSCRIPTION] (repeatable).
    #[arg(long, value_name = "NAME@RG[@SUB]")]
    pub seed_apim: Vec<String>,
    /// Pre-create a user-assigned managed identity: NAME@RESOURCE_GROUP[@SUBSCRIPTION] (repeatable).
    #[arg(long, value_name = "NAME@RG[@SUB]")]
    pub seed_identity: Vec<String>,
    /// Configuration file (YAML or JSON); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Persist every resource to FILE and load them at start.
    #[arg(long = "state-file", value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Latency profile: instant, or azure (durations close to real Azure).
    #[arg(long, value_name = "PROFILE")]
    pub latency: Option<String>,
    /// Multiply every azure-profile duration and Retry-After by this factor.
    #[arg(long, value_name = "X")]
    pub time_scale: Option<f64>,
    /// Fault injection, e.g. seed=7,throttle=0.2,server-error=0.05,drop=0.01,retry-after=1,fail-lro=deployment
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
}

/// Validated global settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub arm_endpoint: String,
    pub output: OutputFormat,
    /// The state (`--state` or `AOAI_LB_STATE`); `None` when not given (the default
    /// depends on the command and the plan).
    pub state: Option<aoai_lb_engine::state::Location>,
    pub verbose: u8,
    pub quiet: bool,
    /// `AOAI_LB_DELAY_SCALE`: multiplies aoai-lb's own backoff and poll waits (tests).
    pub delay_scale: f64,
    /// Per-request and per-operation deadlines of ARM calls.
    pub request_timeout: std::time::Duration,
    pub operation_timeout: std::time::Duration,
}

impl Settings {
    pub fn from_args(args: &GlobalArgs) -> Result<Settings, SettingsError> {
        Ok(Settings {
            arm_endpoint: check_arm_endpoint(&args.arm_endpoint)?,
            output: args.output,
            state: match &args.state {
                Some(s) => Some(env::state_location(s).map_err(SettingsError::State)?),
                None => None,
            },
            verbose: args.verbose,
            quiet: args.quiet,
            delay_scale: delay_scale(env::var(env::DELAY_SCALE).as_deref())?,
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            operation_timeout: std::time::Duration::from_secs(args.operation_timeout),
        })
    }

    /// The ARM client's options for these settings.
    pub fn arm_options(&self, max_in_flight: usize) -> aoai_lb_arm::ArmClientOptions {
        let defaults = aoai_lb_arm::ArmClientOptions::default();
        aoai_lb_arm::ArmClientOptions {
            max_in_flight,
            delay_scale: self.delay_scale,
            request_timeout: self.request_timeout,
            lro: aoai_lb_arm::LroOptions {
                timeout: self.operation_timeout,
                ..defaults.lro.clone()
            },
            ..defaults
        }
    }
}

/// `AOAI_LB_DELAY_SCALE`: a finite number from 0 to 1 (unset: 1).
fn delay_scale(value: Option<&str>) -> Result<f64, SettingsError> {
    let Some(v) = value else { return Ok(1.0) };
    match v.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(SettingsError::DelayScale {
            value: v.to_string(),
        }),
    }
}

/// Why the global settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    ArmEndpoint(#[from] ArmEndpointError),
    #[error("{var} `{value}` must be a number from 0 to 1", var = env::DELAY_SCALE)]
    DelayScale { value: String },
    #[error("--state: {0}")]
    State(String),
}

/// Why `--arm-endpoint` was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArmEndpointError {
    #[error("--arm-endpoint `{0}` is not a URL (expected https://host)")]
    NotAUrl(String),
    #[error("--arm-endpoint `{0}` has no host")]
    NoHost(String),
    #[error(
        "--arm-endpoint `{0}` uses plain http, which is allowed only for loopback addresses (127.0.0.1, ::1, localhost)"
    )]
    PlainHttp(String),
    #[error("--arm-endpoint `{0}` must use https")]
    NotHttps(String),
}

/// `https://host[:port][/]`, or `http://` when the host is a loopback address.
pub fn check_arm_endpoint(url: &str) -> Result<String, ArmEndpointError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| ArmEndpointError::NotAUrl(url.to_string()))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err(ArmEndpointError::NoHost(url.to_string()));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(ArmEndpointError::PlainHttp(url.to_string())),
        _ => return Err(ArmEndpointError::NotHttps(url.to_string())),
    }
    Ok(url.trim_end_matches('/').to_string())
}

pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_args_never_show_the_key() {
        let cli =
            Cli::try_parse_from(["aoai-lb", "verify", "p.yaml", "--key", "k-0123456789"]).unwrap();
        let shown = format!("{cli:?}");
        assert!(
            shown.contains("<redacted>") && !shown.contains("k-0123456789"),
            "{shown}"
        );
    }

    #[test]
    fn heartbeat_intervals() {
        use std::time::Duration;
        assert_eq!(parse_interval("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "-1s", "1.5s", "10h", "2d", "99999m"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arm_endpoints() {
        assert_eq!(
            check_arm_endpoint("https://management.azure.com/").unwrap(),
            "https://management.azure.com"
        );
        assert!(check_arm_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_arm_endpoint("http://[::1]:8080").is_ok());
        assert!(check_arm_endpoint("http://localhost").is_ok());
        assert!(check_arm_endpoint("http://10.0.0.1").is_err());
        assert!(check_arm_endpoint("http://management.azure.com").is_err());
        assert!(check_arm_endpoint("ftp://x").is_err());
        assert!(check_arm_endpoint("management.azure.com").is_err());
    }
}
