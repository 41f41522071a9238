//! Plan validation: everything Azure would reject, found offline and all at once.
//!
//! `validate` walks a raw [`Plan`], fills in defaults and returns a [`Model`] only when
//! no error was found. Files the plan refers to (a spec, a policy template) are read by
//! the caller and handed in as [`Files`], so this module does no I/O.
//!
//! One submodule per area of the plan; each checks its part and builds its piece of
//! the model, reporting into a shared [`checker::Checker`].

mod accounts;
mod apim;
mod checker;
mod clients;
mod policy;
mod pool;
mod top;

use std::collections::HashMap;

use checker::Checker;

use crate::diag::{self, Diagnostic};
use crate::model::{self, Model};
use crate::names;
use crate::plan::Plan;

/// The tag aoai-lb puts on every taggable resource it creates; users may not set it.
pub const OWNER_TAG: &str = "managed-by";
pub const OWNER_TAG_VALUE: &str = "aoai-lb";

pub const DEFAULT_SPEC_VERSION: &str = "2024-02-01";
pub const DEFAULT_SUBSCRIPTION_KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";
pub const DEFAULT_SUBSCRIPTION_KEY_QUERY: &str = "subscription-key";
pub const MAX_RETRY: i64 = 50;

/// The subscription `validate` and `render` use when neither the plan nor the
/// environment names one: a valid GUID (ARM's schemas accept it) that no real
/// subscription has, so rendered ids stay well-formed and the stand-in is obvious.
pub const PLACEHOLDER_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// What the environment contributes to a plan.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `AZURE_SUBSCRIPTION_ID`, used when the plan has no `subscriptionId`.
    pub subscription_id: Option<String>,
    /// Offline use (`validate`, `render`): with no subscription anywhere, use
    /// [`PLACEHOLDER_SUBSCRIPTION`] and warn, instead of refusing the plan.
    pub offline: bool,
}

/// Contents of the files a plan refers to, keyed by the path as written in the plan.
/// `Err` holds why the file could not be read.
pub type Files = HashMap<String, Result<String, FileError>>;

/// A spec file is read only up to this size (the bundled specs are about 100 KB).
pub const MAX_SPEC_BYTES: u64 = 16 * 1024 * 1024;
/// A policy template is read only up to this size (APIM keeps policies under 256 KB).
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// What a file a plan refers to is for, which bounds its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Spec,
    Template,
}

impl FileKind {
    pub fn max_bytes(self) -> u64 {
        match self {
            FileKind::Spec => MAX_SPEC_BYTES,
            FileKind::Template => MAX_TEMPLATE_BYTES,
        }
    }

    /// The limit as a reader would write it.
    pub fn limit(self) -> &'static str {
        match self {
            FileKind::Spec => "16 MiB, the limit for a spec",
            FileKind::Template => "1 MiB, the limit for a policy template",
        }
    }
}

/// A file the plan refers to, as written in the plan (relative to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub path: String,
    pub kind: FileKind,
}

/// Why a file the plan refers to was not read; the caller (which does the I/O) says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// It could not be opened or read: the reason, as the system gave it.
    #[error("{0}")]
    Unreadable(String),
    /// A directory, a FIFO, a device...: never opened (a FIFO would block, a device
    /// like `/dev/zero` never ends).
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is larger than {}", .0.limit())]
    TooLarge(FileKind),
    #[error("is not UTF-8 text")]
    NotUtf8,
}

/// The outcome: a model when there is no error, and every diagnostic found.
#[derive(Debug)]
pub struct Validation {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Validation {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// The files a plan refers to (spec and policy template paths), for the caller to read.
pub fn referenced_files(plan: &Plan) -> Vec<Reference> {
    let mut out = Vec::new();
    if let Some(s) = &plan.apim.api.spec
        && !crate::spec::is_bundled(s)
    {
        out.push(Reference {
            path: s.value.clone(),
            kind: FileKind::Spec,
        });
    }
    if let Some(t) = plan.apim.policy.as_ref().and_then(|p| p.template.as_ref())
        && !crate::policy::is_builtin(t)
    {
        out.push(Reference {
            path: t.value.clone(),
            kind: FileKind::Template,
        });
    }
    out
}

/// Validates a parsed plan against everything ARM and APIM would refuse.
pub fn validate(plan: &Plan, ctx: &Context, files: &Files) -> Validation {
    let mut c = Checker::new();
    let subscription_id = top::subscription(&mut c, plan, ctx);
    let rg = &plan.resource_group;
    c.rule(
        &rg.name,
        "resourceGroup.name",
        "resource group name",
        names::resource_group_name,
    );
    let (rg_location, _) = c.region(&rg.location, "resourceGroup.location");
    let tags = top::tags(&mut c, plan);
    let (accounts, pools) = accounts::accounts(&mut c, plan);
    let apim = &plan.apim;
    let (apim_rg, identity) = apim::service(&mut c, plan);
    let api = apim::api(&mut c, &apim.api, files);
    let pool = pool::pool(&mut c, &apim.pool);
    let policy_plan = apim.policy.as_deref();
    // `retry: auto` gives every member of the largest pool a try.
    let members = pools.iter().map(|p| p.members.len()).max().unwrap_or(0);
    let policy = policy::policy(&mut c, policy_plan, members, files);
    policy::routing(&mut c, plan, &policy, &pools);
    let subscription = apim
        .subscription
        .as_deref()
        .map(|s| policy::subscription(&mut c, s));
    let clients = clients::clients(&mut c, apim.clients.as_ref(), apim.subscription.as_deref());
    let app_insights = apim::app_insights(
        &mut c,
        apim.app_insights.as_ref(),
        &apim::Home {
            subscription_id: &subscription_id,
            resource_group: &rg.name.value,
            location: &rg_location,
        },
    );

    let deployment = match &plan.deployment {
        Some(d) => {
            c.rule(
                d,
                "deployment",
                "deployment name",
                names::lb_deployment_name,
            );
            d.value.clone()
        }
        None => model::derived_deployment(&apim.name.value, &apim.api.name.value),
    };
    let retire_warning_days = match &plan.retire_warning_days {
        Some(d) => c.int_range(d, "retireWarningDays", "retireWarningDays", 0, 3650) as u32,
        None => 90,
    };
    let model = Model {
        deployment,
        retire_warning_days,
        subscription_id,
        state: top::state(&mut c, plan),
        resource_group: model::ResourceGroup {
            name: rg.name.value.clone(),
            location: rg_location,
        },
        tags,
        accounts,
        apim: model::Apim {
            name: apim.name.value.clone(),
            resource_group: apim_rg,
            identity,
            api,
            pool,
            pools,
            policy,
            subscription,
            clients,
            app_insights,
        },
    };

    // What is rendered from a valid model must itself be valid: a user template that
    // does not parse, or names a backend that does not exist, is a plan error.
    if !c.has_errors() {
        let template_field = policy_plan.and_then(|p| p.template.as_ref());
        let pos = template_field.map(|t| t.pos).unwrap_or(apim.pos);
        if let Err(reason) = crate::policy::render(&model, &crate::desired::Facts::unknown()) {
            c.error(
                pos,
                "apim.policy.template",
                format!("the rendered policy is invalid: {reason}"),
            );
        }
    }

    diag::sort(&mut c.diags);
    let ok = !c.has_errors();
    Validation {
        model: ok.then_some(model),
        diagnostics: c.diags,
    }
}
