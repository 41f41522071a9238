//! The pool's members: Azure OpenAI accounts, their model deployments and the APIM
//! backend each becomes; plus the checks across members (coverage, weights).

use std::collections::BTreeMap;

use super::checker::{Checker, Unique};
use crate::model;
use crate::names;
use crate::plan::{self, Plan};

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

/// Names that must be unique across the whole plan.
struct Names {
    accounts: Unique,
    subdomains: Unique,
    backends: Unique,
}

/// Every account of the plan, with its deployments and backend.
pub(super) fn accounts(c: &mut Checker, plan: &Plan) -> Vec<model::Account> {
    if plan.accounts.is_empty() {
        c.error(
            plan.accounts.pos,
            "accounts",
            "the pool has no member: list at least one account under `accounts`",
        );
    }
    let mut names = Names {
        accounts: Unique::new("account name"),
        subdomains: Unique::new("custom subdomain"),
        backends: Unique::new("backend name"),
    };
    let pool = &plan.apim.pool.name;
    let _ = names.backends.check(c, pool, pool.pos, "apim.pool.name");
    let accounts: Vec<model::Account> = plan
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| account(c, &mut names, i, a))
        .collect();
    check_deployment_coverage(c, plan, &accounts);
    check_priority_groups(c, plan, &accounts);
    accounts
}

fn account(c: &mut Checker, names: &mut Names, i: usize, a: &plan::Account) -> model::Account {
    let f = |rest: &str| format!("accounts[{i}].{rest}");
    c.rule(&a.name, &f("name"), "account name", names::account_name);
    let new_name = names.accounts.check(c, &a.name, a.name.pos, &f("name"));
    let (location, display) = c.region(&a.location, &f("location"));
    let kind = a
        .kind
        .as_ref()
        .map(|k| account_kind(c, k, &f("kind")))
        .unwrap_or_default();
    let sku = match &a.sku {
        Some(s) if s.value != "S0" => {
            c.error(
                s.pos,
                &f("sku"),
                format!(
                    "account sku `{}` is not offered for Azure OpenAI or Foundry (AIServices) accounts: use `S0`",
                    s.value
                ),
            );
            s.value.clone()
        }
        _ => "S0".to_string(),
    };
    let custom_sub_domain = custom_sub_domain(c, names, i, a, new_name);
    let deployments = deployments(c, i, a);
    let backend = backend(c, names, i, a, new_name);
    model::Account {
        name: a.name.value.clone(),
        location,
        region_display_name: display,
        kind,
        sku,
        custom_sub_domain,
        restore: a.restore.as_ref().is_some_and(|r| r.value),
        deployments,
        backend,
    }
}

/// `OpenAI` or `AIServices`, spelled as ARM spells them (ARM compares kinds exactly).
fn account_kind(
    c: &mut Checker,
    k: &crate::located::Located<String>,
    field: &str,
) -> model::AccountKind {
    if let Some(kind) = model::AccountKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == k.as_str())
    {
        return kind;
    }
    let names: Vec<&str> = model::AccountKind::ALL.iter().map(|k| k.as_str()).collect();
    let hint = names
        .iter()
        .find(|n| {
            n.eq_ignore_ascii_case(k)
                || strsim::levenshtein(&n.to_lowercase(), &k.to_lowercase()) <= 3
        })
        .copied()
        // A Foundry resource is kind AIServices to ARM.
        .or_else(|| {
            k.to_lowercase()
                .contains("foundry")
                .then_some(model::AccountKind::AIServices.as_str())
        })
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    c.error(
        k.pos,
        field,
        format!(
            "unknown account kind `{}`{hint}; one of {}",
            k.value,
            names.join(", ")
        ),
    );
    model::AccountKind::default()
}

fn custom_sub_domain(
    c: &mut Checker,
    names: &mut Names,
    i: usize,
    a: &plan::Account,
    new_name: bool,
) -> String {
    let f = |rest: &str| format!("accounts[{i}].{rest}");
    match &a.custom_sub_domain {
        Some(s) => {
            c.rule(
                s,
                &f("customSubDomain"),
                "customSubDomain",
                names::dns_label,
            );
            let _ = names.subdomains.check(c, s, s.pos, &f("customSubDomain"));
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
                let _ = names.subdomains.check(c, &derived, a.name.pos, &f("name"));
            }
            derived
        }
    }
}

fn deployments(c: &mut Checker, i: usize, a: &plan::Account) -> Vec<model::Deployment> {
    if a.deployments.is_empty() {
        c.warn(
            a.name.pos,
            &format!("accounts[{i}].deployments"),
            format!(
                "account `{}` has no deployments: requests routed to its backend will fail",
                a.name.value
            ),
        );
    }
    let mut unique =
        Unique::new("deployment name").within(format!(" in account `{}`", a.name.value));
    a.deployments
        .iter()
        .enumerate()
        .map(|(j, d)| deployment(c, &mut unique, i, j, d))
        .collect()
}

fn deployment(
    c: &mut Checker,
    unique: &mut Unique,
    i: usize,
    j: usize,
    d: &plan::Deployment,
) -> model::Deployment {
    let g = |rest: &str| format!("accounts[{i}].deployments[{j}].{rest}");
    c.rule(
        &d.name,
        &g("name"),
        "deployment name",
        names::deployment_name,
    );
    let _ = unique.check(c, &d.name, d.name.pos, &g("name"));
    if d.model.trim().is_empty() {
        c.error(d.model.pos, &g("model"), "model must not be empty");
    }
    if let Some(v) = &d.version {
        if d.model.value == "gpt-4o" && !GPT4O_VERSIONS.contains(&v.as_str()) {
            c.warn(
                v.pos,
                &g("version"),
                format!(
                    "gpt-4o version `{}` is not one aoai-lb knows ({}); Azure may reject it",
                    v.value,
                    GPT4O_VERSIONS.join(", ")
                ),
            );
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
            one_of(c, s, &g("sku"), "deployment sku", DEPLOYMENT_SKUS);
            s.value.clone()
        }
        None => "Standard".to_string(),
    };
    let capacity = match &d.capacity {
        Some(cap) => c.int_range(cap, &g("capacity"), "capacity", 1, 100_000) as u32,
        None => 10,
    };
    let version_upgrade_option = d.version_upgrade_option.as_ref().map(|o| {
        one_of(
            c,
            o,
            &g("versionUpgradeOption"),
            "versionUpgradeOption",
            UPGRADE_OPTIONS,
        );
        o.value.clone()
    });
    model::Deployment {
        name: d.name.value.clone(),
        model: d.model.value.clone(),
        version: d.version.as_ref().map(|v| v.value.clone()),
        sku,
        capacity,
        version_upgrade_option,
    }
}

/// ARM's values of a deployment's `properties.versionUpgradeOption` (cognitiveservices.json,
/// DeploymentModelVersionUpgradeOption).
const UPGRADE_OPTIONS: &[&str] = &[
    "OnceNewDefaultVersionAvailable",
    "OnceCurrentVersionExpired",
    "NoAutoUpgrade",
];

/// An error unless `s` is one of `allowed` (exactly), with a did-you-mean.
fn one_of(
    c: &mut Checker,
    s: &crate::located::Located<String>,
    field: &str,
    what: &str,
    allowed: &[&str],
) {
    if allowed.contains(&s.as_str()) {
        return;
    }
    let hint = allowed
        .iter()
        .find(|k| {
            k.eq_ignore_ascii_case(s)
                || strsim::levenshtein(&k.to_lowercase(), &s.to_lowercase()) <= 3
        })
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    c.error(
        s.pos,
        field,
        format!(
            "unknown {what} `{}`{hint}; one of {}",
            s.value,
            allowed.join(", ")
        ),
    );
}

fn backend(
    c: &mut Checker,
    names: &mut Names,
    i: usize,
    a: &plan::Account,
    new_name: bool,
) -> model::Backend {
    let f = |rest: &str| format!("accounts[{i}].{rest}");
    let b = a.backend.as_ref();
    let name = match b.and_then(|b| b.name.as_ref()) {
        Some(n) => {
            c.rule(n, &f("backend.name"), "backend name", |s| {
                names::apim_entity_id(s, 80)
            });
            let _ = names.backends.check(c, n, n.pos, &f("backend.name"));
            n.value.clone()
        }
        None => {
            if a.name.chars().count() > 80 {
                c.error(a.name.pos, &f("name"), "account name is longer than 80 characters and cannot be its backend name: set `backend.name`");
            }
            if new_name {
                let _ = names.backends.check(c, &a.name, a.name.pos, &f("name"));
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
    model::Backend {
        name,
        priority,
        weight,
    }
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
