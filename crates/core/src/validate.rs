//! Plan validation: everything Azure would reject, found offline and all at once.
//!
//! `validate` walks a raw [`Plan`], fills in defaults and returns a [`Model`] only when
//! no error was found. Files the plan refers to (a spec, a policy template) are read by
//! the caller and handed in as [`Files`], so this module does no I/O.

use std::collections::{BTreeMap, HashMap};

use super::diag::{self, Diagnostic};
use super::located::{Located, Pos};
use super::model::{self, Model};
use super::plan::{self, Plan, Retry};
use super::{names, policy, regions, spec};

/// The tag aoai-lb puts on every taggable resource it creates; users may not set it.
pub const OWNER_TAG: &str = "managed-by";
pub const OWNER_TAG_VALUE: &str = "aoai-lb";

/// gpt-4o versions Azure OpenAI offers; another version gets a warning, not an error,
/// since new versions appear faster than this list.
const GPT4O_VERSIONS: &[&str] = &["2024-05-13", "2024-08-06", "2024-11-20"];

const DEPLOYMENT_SKUS: &[&str] = &[
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
    "DataZoneProvisionedManaged",
    "GlobalBatch",
    "DataZoneBatch",
    "DeveloperTier",
];

pub const DEFAULT_SPEC_VERSION: &str = "2024-02-01";
pub const DEFAULT_SUBSCRIPTION_KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";
pub const DEFAULT_SUBSCRIPTION_KEY_QUERY: &str = "subscription-key";
pub const MAX_RETRY: i64 = 50;

/// What the environment contributes to a plan.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `AZURE_SUBSCRIPTION_ID`, used when the plan has no `subscriptionId`.
    pub subscription_id: Option<String>,
}

/// Contents of the files a plan refers to, keyed by the path as written in the plan.
/// `Err` holds why the file could not be read.
pub type Files = HashMap<String, Result<String, String>>;

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
pub fn referenced_files(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &plan.apim.api.spec
        && !spec::is_bundled(s)
    {
        out.push(s.value.clone());
    }
    if let Some(t) = plan.apim.policy.as_ref().and_then(|p| p.template.as_ref())
        && !policy::is_builtin(t)
    {
        out.push(t.value.clone());
    }
    out
}

struct Checker {
    diags: Vec<Diagnostic>,
}

impl Checker {
    fn error(&mut self, pos: Pos, field: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, field, msg));
    }

    fn warn(&mut self, pos: Pos, field: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(pos, field, msg));
    }

    /// Runs a naming rule, reporting `what `value` is invalid: reason`.
    fn rule(
        &mut self,
        value: &Located<String>,
        field: &str,
        what: &str,
        rule: impl Fn(&str) -> Result<(), String>,
    ) {
        if let Err(reason) = rule(value) {
            self.error(
                value.pos,
                field,
                format!("{what} `{}` is invalid: {reason}", value.value),
            );
        }
    }

    fn region(&mut self, value: &Located<String>, field: &str) -> (String, String) {
        match regions::lookup(value) {
            Some((name, display)) => (name.to_string(), display.to_string()),
            None => {
                let hint = regions::suggest(value)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.error(
                    value.pos,
                    field,
                    format!("unknown Azure region `{}`{hint}", value.value),
                );
                (value.value.clone(), value.value.clone())
            }
        }
    }

    fn int_range(
        &mut self,
        value: &Located<i64>,
        field: &str,
        what: &str,
        lo: i64,
        hi: i64,
    ) -> i64 {
        if !(lo..=hi).contains(&value.value) {
            self.error(
                value.pos,
                field,
                format!("{what} must be between {lo} and {hi}, not {}", value.value),
            );
        }
        value.value.clamp(lo, hi)
    }

    fn duration(&mut self, value: &Located<String>, field: &str, what: &str) {
        match names::iso8601_duration(value) {
            Ok(secs) if secs <= 0.0 => {
                self.error(value.pos, field, format!("{what} must be longer than zero"))
            }
            Ok(_) => {}
            Err(reason) => self.error(
                value.pos,
                field,
                format!("{what} `{}` {reason}", value.value),
            ),
        }
    }
}

/// Keeps the first position of each case-insensitive name and reports repeats.
struct Unique {
    what: String,
    /// Appended after the name, as in `` in account `x` ``.
    scope: String,
    seen: HashMap<String, Pos>,
}

impl Unique {
    fn new(what: impl Into<String>) -> Self {
        Unique {
            what: what.into(),
            scope: String::new(),
            seen: HashMap::new(),
        }
    }

    fn within(mut self, scope: String) -> Self {
        self.scope = scope;
        self
    }

    /// Reports `name` if it was seen before; returns whether it is new.
    fn check(&mut self, c: &mut Checker, name: &str, pos: Pos, field: &str) -> bool {
        let key = name.to_lowercase();
        if let Some(first) = self.seen.get(&key) {
            c.error(
                pos,
                field,
                format!(
                    "duplicate {} `{name}`{} (first at line {}; names are case-insensitive)",
                    self.what, self.scope, first.line
                ),
            );
            false
        } else {
            self.seen.insert(key, pos);
            true
        }
    }
}

/// Validates a parsed plan against everything ARM and APIM would refuse.
pub fn validate(plan: &Plan, ctx: &Context, files: &Files) -> Validation {
    let mut c = Checker { diags: Vec::new() };

    // Subscription
    let subscription_id = match (&plan.subscription_id, &ctx.subscription_id) {
        (Some(s), _) => {
            if !names::is_guid(s) {
                c.error(
                    s.pos,
                    "subscriptionId",
                    format!(
                        "subscriptionId `{}` is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                        s.value
                    ),
                );
            }
            s.value.clone()
        }
        (None, Some(env)) => {
            if !names::is_guid(env) {
                c.error(
                    Pos::START,
                    "subscriptionId",
                    format!("AZURE_SUBSCRIPTION_ID `{env}` is not a GUID; set subscriptionId in the plan or fix the variable"),
                );
            }
            env.clone()
        }
        (None, None) => {
            c.error(
                Pos::START,
                "subscriptionId",
                "no subscription: set `subscriptionId` in the plan or the AZURE_SUBSCRIPTION_ID environment variable",
            );
            String::new()
        }
    };

    // Resource group
    let rg = &plan.resource_group;
    c.rule(
        &rg.name,
        "resourceGroup.name",
        "resource group name",
        names::resource_group_name,
    );
    let (rg_location, _) = c.region(&rg.location, "resourceGroup.location");

    // Tags
    let mut tags = BTreeMap::new();
    if let Some(t) = &plan.tags {
        if t.len() > 49 {
            c.error(
                t.pos,
                "tags",
                format!(
                    "at most 49 tags (ARM allows 50, aoai-lb adds `{OWNER_TAG}`), not {}",
                    t.len()
                ),
            );
        }
        for (k, v) in t.iter() {
            let field = format!("tags.{k}");
            if k.eq_ignore_ascii_case(OWNER_TAG) {
                c.error(
                    t.pos,
                    &field,
                    format!("tag `{k}` is reserved: aoai-lb uses it to mark what it owns"),
                );
            } else if k.is_empty() || k.chars().count() > 512 {
                c.error(
                    t.pos,
                    &field,
                    format!("tag name `{k}` must be 1 to 512 characters long"),
                );
            } else if let Some(ch) = k.chars().find(|ch| "<>%&\\?/".contains(*ch)) {
                c.error(
                    t.pos,
                    &field,
                    format!("tag name `{k}` must not contain `{ch}`"),
                );
            } else if ["microsoft", "azure", "windows"]
                .iter()
                .any(|p| k.to_lowercase().starts_with(p))
            {
                c.error(
                    t.pos,
                    &field,
                    format!(
                        "tag name `{k}` uses a prefix Azure reserves (microsoft, azure, windows)"
                    ),
                );
            }
            if v.chars().count() > 256 {
                c.error(
                    t.pos,
                    &field,
                    format!("the value of tag `{k}` must be at most 256 characters long"),
                );
            }
            tags.insert(k.clone(), v.clone());
        }
    }

    // Accounts
    if plan.accounts.is_empty() {
        c.error(
            plan.accounts.pos,
            "accounts",
            "the pool has no member: list at least one account under `accounts`",
        );
    }
    let mut account_names = Unique::new("account name");
    let mut subdomains = Unique::new("custom subdomain");
    let mut backend_names = Unique::new("backend name");
    let _ = backend_names.check(
        &mut c,
        &plan.apim.pool.name,
        plan.apim.pool.name.pos,
        "apim.pool.name",
    );
    let mut accounts = Vec::new();
    for (i, a) in plan.accounts.iter().enumerate() {
        let f = |rest: &str| format!("accounts[{i}].{rest}");
        c.rule(&a.name, &f("name"), "account name", names::account_name);
        let new_name = account_names.check(&mut c, &a.name, a.name.pos, &f("name"));
        let (location, display) = c.region(&a.location, &f("location"));
        let sku = match &a.sku {
            Some(s) if s.value != "S0" => {
                c.error(
                    s.pos,
                    &f("sku"),
                    format!(
                        "account sku `{}` is not offered for Azure OpenAI: use `S0`",
                        s.value
                    ),
                );
                s.value.clone()
            }
            _ => "S0".to_string(),
        };
        let custom_sub_domain = match &a.custom_sub_domain {
            Some(s) => {
                c.rule(
                    s,
                    &f("customSubDomain"),
                    "customSubDomain",
                    names::dns_label,
                );
                let _ = subdomains.check(&mut c, s, s.pos, &f("customSubDomain"));
                s.value.clone()
            }
            None => {
                let derived = a.name.to_lowercase();
                if names::account_name(&a.name).is_ok()
                    && let Err(reason) = names::dns_label(&derived)
                {
                    c.error(
                            a.name.pos,
                            &f("name"),
                            format!("account name `{}` cannot be its custom subdomain ({reason}): set `customSubDomain`", a.name.value),
                        );
                }
                if new_name {
                    let _ = subdomains.check(&mut c, &derived, a.name.pos, &f("name"));
                }
                derived
            }
        };

        // Deployments
        if a.deployments.is_empty() {
            c.warn(
                a.name.pos,
                &f("deployments"),
                format!(
                    "account `{}` has no deployments: requests routed to its backend will fail",
                    a.name.value
                ),
            );
        }
        let mut deployment_names =
            Unique::new("deployment name").within(format!(" in account `{}`", a.name.value));
        let mut deployments = Vec::new();
        for (j, d) in a.deployments.iter().enumerate() {
            let g = |rest: &str| format!("accounts[{i}].deployments[{j}].{rest}");
            c.rule(
                &d.name,
                &g("name"),
                "deployment name",
                names::deployment_name,
            );
            let _ = deployment_names.check(&mut c, &d.name, d.name.pos, &g("name"));
            if d.model.trim().is_empty() {
                c.error(d.model.pos, &g("model"), "model must not be empty");
            }
            if let Some(v) = &d.version {
                if d.model.value == "gpt-4o" && !GPT4O_VERSIONS.contains(&v.as_str()) {
                    c.warn(v.pos, &g("version"), format!("gpt-4o version `{}` is not one aoai-lb knows ({}); Azure may reject it", v.value, GPT4O_VERSIONS.join(", ")));
                }
                if v.trim().is_empty() {
                    c.error(
                        v.pos,
                        &g("version"),
                        "version must not be empty (leave it out for the model's default)",
                    );
                }
            }
            let sku = match &d.sku {
                Some(s) => {
                    if !DEPLOYMENT_SKUS.contains(&s.as_str()) {
                        let hint = DEPLOYMENT_SKUS
                            .iter()
                            .find(|k| {
                                k.eq_ignore_ascii_case(s)
                                    || strsim::levenshtein(&k.to_lowercase(), &s.to_lowercase())
                                        <= 3
                            })
                            .map(|k| format!(" (did you mean `{k}`?)"))
                            .unwrap_or_default();
                        c.error(
                            s.pos,
                            &g("sku"),
                            format!(
                                "unknown deployment sku `{}`{hint}; one of {}",
                                s.value,
                                DEPLOYMENT_SKUS.join(", ")
                            ),
                        );
                    }
                    s.value.clone()
                }
                None => "Standard".to_string(),
            };
            let capacity = match &d.capacity {
                Some(cap) => c.int_range(cap, &g("capacity"), "capacity", 1, 100_000) as u32,
                None => 10,
            };
            deployments.push(model::Deployment {
                name: d.name.value.clone(),
                model: d.model.value.clone(),
                version: d.version.as_ref().map(|v| v.value.clone()),
                sku,
                capacity,
            });
        }

        // Backend
        let b = a.backend.as_ref();
        let backend_name = b.and_then(|b| b.name.as_ref());
        let name = match backend_name {
            Some(n) => {
                c.rule(n, &f("backend.name"), "backend name", |s| {
                    names::apim_entity_id(s, 80)
                });
                let _ = backend_names.check(&mut c, n, n.pos, &f("backend.name"));
                n.value.clone()
            }
            None => {
                if a.name.chars().count() > 80 {
                    c.error(a.name.pos, &f("name"), "account name is longer than 80 characters and cannot be its backend name: set `backend.name`");
                }
                if new_name {
                    let _ = backend_names.check(&mut c, &a.name, a.name.pos, &f("name"));
                }
                a.name.value.clone()
            }
        };
        let priority = b
            .and_then(|b| b.priority.as_ref())
            .map(|p| c.int_range(p, &f("backend.priority"), "priority", 0, 100))
            .unwrap_or(1) as u8;
        let weight = b
            .and_then(|b| b.weight.as_ref())
            .map(|w| c.int_range(w, &f("backend.weight"), "weight", 0, 100))
            .unwrap_or(1) as u8;

        accounts.push(model::Account {
            name: a.name.value.clone(),
            location,
            region_display_name: display,
            sku,
            custom_sub_domain,
            restore: a.restore.as_ref().is_some_and(|r| r.value),
            deployments,
            backend: model::Backend {
                name,
                priority,
                weight,
            },
        });
    }
    check_deployment_coverage(&mut c, plan, &accounts);
    check_priority_groups(&mut c, plan, &accounts);

    // APIM
    let apim = &plan.apim;
    c.rule(
        &apim.name,
        "apim.name",
        "API Management service name",
        names::apim_service_name,
    );
    let apim_rg = match &apim.resource_group {
        Some(r) => {
            c.rule(
                r,
                "apim.resourceGroup",
                "resource group name",
                names::resource_group_name,
            );
            r.value.clone()
        }
        None => rg.name.value.clone(),
    };
    let identity = match apim.identity.as_ref().map(|i| &i.value) {
        None | Some(plan::Identity::SystemAssigned) => model::Identity::SystemAssigned,
        Some(plan::Identity::UserAssigned(id)) => {
            if crate::ids::parse_user_assigned_identity(id).is_none() {
                c.error(
                    id.pos,
                    "apim.identity.userAssigned",
                    format!("`{}` is not a user-assigned identity id: expected /subscriptions/{{guid}}/resourceGroups/{{group}}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{{name}}", id.value),
                );
            }
            model::Identity::UserAssigned {
                id: id.value.clone(),
            }
        }
    };

    // API
    let api = &apim.api;
    c.rule(&api.name, "apim.api.name", "API name", |s| {
        names::apim_entity_id(s, 256)
    });
    let display_name = match &api.display_name {
        Some(d) => {
            let n = d.chars().count();
            if !(1..=300).contains(&n) {
                c.error(
                    d.pos,
                    "apim.api.displayName",
                    format!("displayName must be 1 to 300 characters long, not {n}"),
                );
            }
            d.value.clone()
        }
        None => api.name.value.clone(),
    };
    c.rule(&api.path, "apim.api.path", "API path", names::api_path);
    let spec_source = match &api.spec {
        None => model::SpecSource::Bundled {
            version: DEFAULT_SPEC_VERSION.into(),
        },
        Some(s) if spec::is_bundled(s) => model::SpecSource::Bundled {
            version: s.value.clone(),
        },
        Some(s) => {
            let content = match files.get(&s.value) {
                Some(Ok(text)) => match spec::check_user_spec(&s.value, text) {
                    Ok(()) => text.clone(),
                    Err(reason) => {
                        c.error(
                            s.pos,
                            "apim.api.spec",
                            format!("spec `{}`: {reason}", s.value),
                        );
                        String::new()
                    }
                },
                Some(Err(reason)) => {
                    c.error(s.pos, "apim.api.spec", format!("spec `{}` is neither a bundled version ({}) nor a readable file: {reason}", s.value, spec::BUNDLED_VERSIONS.join(", ")));
                    String::new()
                }
                None => {
                    c.error(
                        s.pos,
                        "apim.api.spec",
                        format!("spec `{}` was not read", s.value),
                    );
                    String::new()
                }
            };
            model::SpecSource::File {
                path: s.value.clone(),
                content,
            }
        }
    };
    let header = match &api.subscription_key_header {
        Some(h) => {
            c.rule(
                h,
                "apim.api.subscriptionKeyHeader",
                "subscriptionKeyHeader",
                names::header_name,
            );
            h.value.clone()
        }
        None => DEFAULT_SUBSCRIPTION_KEY_HEADER.to_string(),
    };
    let query = if header == DEFAULT_SUBSCRIPTION_KEY_HEADER {
        DEFAULT_SUBSCRIPTION_KEY_QUERY.to_string()
    } else {
        header.clone()
    };

    // Pool
    let pool = &apim.pool;
    c.rule(&pool.name, "apim.pool.name", "pool name", |s| {
        names::apim_entity_id(s, 80)
    });
    let description = match &pool.description {
        Some(d) => {
            let n = d.chars().count();
            if !(1..=2000).contains(&n) {
                c.error(
                    d.pos,
                    "apim.pool.description",
                    format!("description must be 1 to 2000 characters long, not {n}"),
                );
            }
            d.value.clone()
        }
        None => "Azure OpenAI backend pool, managed by aoai-lb".to_string(),
    };
    let circuit_breaker = pool.circuit_breaker.as_ref().map(|cb| {
        let field = |rest: &str| format!("apim.pool.circuitBreaker.{rest}");
        let failures = c.int_range(&cb.failures, &field("failures"), "failures", 1, 10_000) as u32;
        c.duration(&cb.interval, &field("interval"), "interval");
        c.duration(&cb.trip_duration, &field("tripDuration"), "tripDuration");
        if cb.status_codes.is_empty() {
            c.error(
                cb.status_codes.pos,
                &field("statusCodes"),
                "statusCodes must list at least one status code or range",
            );
        }
        let mut ranges = Vec::new();
        for (k, code) in cb.status_codes.iter().enumerate() {
            match parse_status_range(code) {
                Ok(r) => ranges.push(r),
                Err(reason) => c.error(code.pos, &field(&format!("statusCodes[{k}]")), reason),
            }
        }
        model::CircuitBreaker {
            failures,
            interval: cb.interval.value.clone(),
            status_codes: ranges,
            trip_duration: cb.trip_duration.value.clone(),
            accept_retry_after: cb.accept_retry_after.as_ref().is_some_and(|b| b.value),
        }
    });

    // Policy
    let policy_plan = apim.policy.as_ref();
    let template_field = policy_plan.and_then(|p| p.template.as_ref());
    let template = match template_field {
        None => model::PolicyTemplate::Builtin {
            name: "pool".into(),
        },
        Some(t) if policy::is_builtin(t) => model::PolicyTemplate::Builtin {
            name: t.value.clone(),
        },
        Some(t) => {
            let content = match files.get(&t.value) {
                Some(Ok(text)) => text.clone(),
                Some(Err(reason)) => {
                    c.error(t.pos, "apim.policy.template", format!("template `{}` is neither a built-in template ({}) nor a readable file: {reason}", t.value, policy::BUILTIN.join(", ")));
                    String::new()
                }
                None => {
                    c.error(
                        t.pos,
                        "apim.policy.template",
                        format!("template `{}` was not read", t.value),
                    );
                    String::new()
                }
            };
            model::PolicyTemplate::File {
                path: t.value.clone(),
                content,
            }
        }
    };
    let members = accounts.len() as i64;
    let retry = match policy_plan.and_then(|p| p.retry.as_ref()) {
        None
        | Some(Located {
            value: Retry::Auto, ..
        }) => (members - 1).max(0) as u32,
        Some(Located {
            value: Retry::Count(n),
            pos,
        }) => c.int_range(
            &Located::new(*n, *pos),
            "apim.policy.retry",
            "retry",
            0,
            MAX_RETRY,
        ) as u32,
    };

    // Subscription
    let subscription = apim.subscription.as_ref().map(|s| {
        c.rule(
            &s.name,
            "apim.subscription.name",
            "subscription name",
            |v| names::apim_entity_id(v, 256),
        );
        let display_name = match &s.display_name {
            Some(d) => {
                let n = d.chars().count();
                if !(1..=100).contains(&n) {
                    c.error(
                        d.pos,
                        "apim.subscription.displayName",
                        format!("displayName must be 1 to 100 characters long, not {n}"),
                    );
                }
                d.value.clone()
            }
            None => s.name.value.clone(),
        };
        model::Subscription {
            name: s.name.value.clone(),
            display_name,
        }
    });

    let model = Model {
        subscription_id,
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
            api: model::Api {
                name: api.name.value.clone(),
                display_name,
                path: api.path.value.clone(),
                spec: spec_source,
                subscription_key_header: header,
                subscription_key_query: query,
            },
            pool: model::Pool {
                name: pool.name.value.clone(),
                description,
                circuit_breaker,
            },
            policy: model::Policy { template, retry },
            subscription,
        },
    };

    // What is rendered from a valid model must itself be valid: a user template that
    // does not parse, or names a backend that does not exist, is a plan error.
    if !c.diags.iter().any(Diagnostic::is_error) {
        let pos = template_field.map(|t| t.pos).unwrap_or(apim.pos);
        if let Err(reason) = policy::render(&model, &crate::desired::Facts::unknown()) {
            c.error(
                pos,
                "apim.policy.template",
                format!("the rendered policy is invalid: {reason}"),
            );
        }
    }

    diag::sort(&mut c.diags);
    let ok = !c.diags.iter().any(Diagnostic::is_error);
    Validation {
        model: ok.then_some(model),
        diagnostics: c.diags,
    }
}

/// `"429"` or `"500-599"`, within 200..=599.
fn parse_status_range(code: &Located<String>) -> Result<(u16, u16), String> {
    let text = code.trim();
    let bad = || {
        format!(
            "status code `{}` must be a number or a range such as `500-599`, within 200-599",
            code.value
        )
    };
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text, text),
    };
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if !(200..=599).contains(&lo) || !(200..=599).contains(&hi) {
        return Err(format!("status code `{}` is outside 200-599", code.value));
    }
    if lo > hi {
        return Err(format!("status code range `{}` is reversed", code.value));
    }
    Ok((lo, hi))
}

/// The pool routes a request for deployment D to any member: warn when a member lacks D.
fn check_deployment_coverage(c: &mut Checker, plan: &Plan, accounts: &[model::Account]) {
    if accounts.len() < 2 {
        return;
    }
    let mut all: Vec<&str> = accounts
        .iter()
        .flat_map(|a| a.deployments.iter().map(|d| d.name.as_str()))
        .collect();
    all.sort_unstable();
    all.dedup();
    for (i, a) in accounts.iter().enumerate() {
        if a.deployments.is_empty() {
            continue; // already warned
        }
        let missing: Vec<&str> = all
            .iter()
            .copied()
            .filter(|d| !a.deployments.iter().any(|x| x.name == *d))
            .collect();
        if !missing.is_empty() {
            let pos = plan.accounts[i].name.pos;
            c.warn(
                pos,
                &format!("accounts[{i}].deployments"),
                format!(
                    "account `{}` lacks deployment(s) {} that other members have: requests for them routed to this backend will fail",
                    a.name,
                    missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
}

/// A priority group whose weights are all zero can never be chosen by weight.
fn check_priority_groups(c: &mut Checker, plan: &Plan, accounts: &[model::Account]) {
    let mut groups: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        groups.entry(a.backend.priority).or_default().push(i);
    }
    for (priority, members) in groups {
        if members.len() > 1 && members.iter().all(|&i| accounts[i].backend.weight == 0) {
            let i = members[0];
            c.warn(
                plan.accounts[i].name.pos,
                &format!("accounts[{i}].backend.weight"),
                format!("every backend of priority {priority} has weight 0: traffic cannot be split by weight in that group"),
            );
        }
    }
}
