//! The pool's members: Azure OpenAI accounts, their model deployments and the APIM
//! backend each becomes; plus the checks across members (coverage, weights).

use std::collections::BTreeMap;

use super::checker::{Checker, Unique};
use crate::model;
use crate::names;
use crate::plan::{self, Plan};

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

/// Every account of the plan, with its deployments and backend, and the pools they make.
pub(super) fn accounts(
    c: &mut Checker,
    plan: &Plan,
) -> (Vec<model::Account>, Vec<model::RoutedPool>) {
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
    let pools = model::pools(pool, &accounts);
    check_pools(c, plan, &pools);
    check_priority_groups(c, plan, &pools);
    (accounts, pools)
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
    let backend = backend(c, names, i, a, new_name);
    let deployments = deployments(c, i, a, &backend);
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

fn deployments(
    c: &mut Checker,
    i: usize,
    a: &plan::Account,
    backend: &model::Backend,
) -> Vec<model::Deployment> {
    if a.deployments.is_empty() {
        c.warn(
            a.name.pos,
            &format!("accounts[{i}].deployments"),
            format!(
                "account `{}` has no deployments: its backend is in no pool and gets no requests",
                a.name.value
            ),
        );
    }
    let mut unique =
        Unique::new("deployment name").within(format!(" in account `{}`", a.name.value));
    a.deployments
        .iter()
        .enumerate()
        .map(|(j, d)| deployment(c, &mut unique, (i, j), d, backend))
        .collect()
}

fn deployment(
    c: &mut Checker,
    unique: &mut Unique,
    (i, j): (usize, usize),
    d: &plan::Deployment,
    backend: &model::Backend,
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
        // Which versions a model has, and until when, is the region's catalog's to say:
        // `plan`, `apply` and `doctor` read it (engine::preflight). No list lives here.
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
    let priority = d
        .priority
        .as_ref()
        .map(|p| c.int_range(p, &g("priority"), "priority", 0, 100) as u8)
        .unwrap_or(backend.priority);
    let weight = d
        .weight
        .as_ref()
        .map(|w| c.int_range(w, &g("weight"), "weight", 0, 100) as u8)
        .unwrap_or(backend.weight);
    model::Deployment {
        name: d.name.value.clone(),
        model: d.model.value.clone(),
        version: d.version.as_ref().map(|v| v.value.clone()),
        sku,
        capacity,
        version_upgrade_option,
        priority,
        weight,
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

/// The pools the accounts make ([`model::pools`]): a pool per deployment name must not
/// take a name a backend (or another pool) already has, as APIM backend ids are one
/// namespace (case-insensitive).
fn check_pools(c: &mut Checker, plan: &Plan, pools: &[model::RoutedPool]) {
    if pools.len() < 2 {
        return;
    }
    let pool = &plan.apim.pool.name;
    let mut taken: Vec<String> = plan
        .accounts
        .iter()
        .map(|a| {
            a.backend
                .as_ref()
                .and_then(|b| b.name.as_ref())
                .map_or(a.name.value.to_lowercase(), |n| n.value.to_lowercase())
        })
        .collect();
    for p in pools {
        if taken.contains(&p.name.to_lowercase()) {
            c.error(
                pool.pos,
                "apim.pool.name",
                format!(
                    "the pool for deployment `{}` would be named `{}`, a name another backend or pool of this plan has: rename the pool or that backend",
                    p.deployments.join("`, `"),
                    p.name
                ),
            );
        }
        taken.push(p.name.to_lowercase());
    }
}

/// A priority group whose weights are all zero can never be chosen by weight.
fn check_priority_groups(c: &mut Checker, plan: &Plan, pools: &[model::RoutedPool]) {
    for pool in pools {
        let mut groups: BTreeMap<u8, Vec<&model::PoolMember>> = BTreeMap::new();
        for m in &pool.members {
            groups.entry(m.priority).or_default().push(m);
        }
        for (priority, members) in groups {
            if members.len() > 1 && members.iter().all(|m| m.weight == 0) {
                let i = members[0].account;
                let which = if pool.name == plan.apim.pool.name.value {
                    String::new()
                } else {
                    format!(" of pool `{}`", pool.name)
                };
                c.warn(
                    plan.accounts[i].name.pos,
                    &format!("accounts[{i}].backend.weight"),
                    format!("every backend of priority {priority}{which} has weight 0: traffic cannot be split by weight in that group"),
                );
            }
        }
    }
}
