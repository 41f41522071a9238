//! Quota preflight, before any write: Azure OpenAI's quota is per subscription, region and
//! usage name (`OpenAI.Standard.gpt-4o`, `OpenAI.GlobalStandard.gpt-4o`, and for provisioned
//! throughput one pool for every model, `OpenAI.ProvisionedManaged`: "Azure OpenAI quotas
//! and limits", learn.microsoft.com; the catalog's `skus[].usageName`). A plan whose new
//! capacity does not fit what is free (limit less current value, Usages_List) gets its
//! accounts created and then an `InsufficientQuota` refusal minutes into an apply; this
//! check says so at `plan` instead. The usage names come from ARM's catalog, never from us.

use std::collections::BTreeMap;

use aoai_lb_arm::catalog::{CatalogModel, Usage};
use serde_json::Value;

use super::preflight::Wanted;

/// A deployment that exists already, as ARM returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub model: String,
    pub version: Option<String>,
    pub sku: String,
    pub capacity: u64,
}

impl Live {
    /// A deployment's GET body (`{sku: {name, capacity}, properties: {model: {name, version}}}`).
    pub fn from_body(body: &Value) -> Option<Live> {
        let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
        Some(Live {
            model: s("/properties/model/name")?,
            version: s("/properties/model/version"),
            sku: s("/sku/name")?,
            capacity: body.pointer("/sku/capacity").and_then(Value::as_u64)?,
        })
    }
}

/// Existing deployments by (account, deployment name), both lower-case.
pub type Existing = BTreeMap<(String, String), Live>;

/// The key of a deployment in [`Existing`].
pub fn key(account: &str, deployment: &str) -> (String, String) {
    (account.to_lowercase(), deployment.to_lowercase())
}

/// The usage name a deployment of `model` (`version`) on `sku` draws from in a region: as
/// the region's catalog publishes it for that version, else for any version of the model
/// on that sku, else a pool the sku shares between models (a usage name that names no
/// model, like `OpenAI.ProvisionedManaged`), else the `OpenAI.{sku}.{model}` form.
pub fn usage_name(
    catalog: &[CatalogModel],
    model: &str,
    version: Option<&str>,
    sku: &str,
) -> String {
    let on_sku = |exact: bool| {
        catalog
            .iter()
            .filter(|m| m.name.eq_ignore_ascii_case(model))
            .filter(|m| !exact || version.is_some_and(|v| m.version == v))
            .flat_map(|m| &m.skus)
            .filter(|s| s.name.eq_ignore_ascii_case(sku))
            .find_map(|s| s.usage_name.clone())
    };
    let shared = || {
        catalog
            .iter()
            .flat_map(|m| m.skus.iter().map(move |s| (m, s)))
            .filter(|(_, s)| s.name.eq_ignore_ascii_case(sku))
            .filter_map(|(m, s)| Some((m, s.usage_name.as_deref()?)))
            .find(|(m, u)| {
                !u.to_lowercase()
                    .ends_with(&format!(".{}", m.name.to_lowercase()))
            })
            .map(|(_, u)| u.to_string())
    };
    on_sku(true)
        .or_else(|| on_sku(false))
        .or_else(shared)
        .unwrap_or_else(|| format!("OpenAI.{sku}.{model}"))
}

/// One quota the plan draws on: what it asks more of it, and who asks.
#[derive(Default)]
struct Ask {
    more: u64,
    who: Vec<String>,
    /// The model/version/sku asked for (for "where else"), from the first deployment.
    what: Option<(String, Option<String>, String)>,
}

/// Refusals for every (region, usage name) whose new capacity exceeds what is free. A
/// deployment that exists counts only its increase on the same usage name; a region whose
/// usages were not read, or that lists no such usage name, is not checked.
pub fn check(
    wanted: &[Wanted<'_>],
    catalogs: &BTreeMap<String, Vec<CatalogModel>>,
    usages: &BTreeMap<String, Vec<Usage>>,
    existing: &Existing,
) -> Vec<String> {
    let none = Vec::new();
    let mut asks: BTreeMap<(String, String), Ask> = BTreeMap::new();
    for w in wanted {
        let d = w.deployment;
        let catalog = catalogs.get(w.location).unwrap_or(&none);
        let usage = usage_name(catalog, &d.model, d.version.as_deref(), &d.sku);
        let held = existing
            .get(&key(w.account, &d.name))
            .filter(|l| {
                usage_name(catalog, &l.model, l.version.as_deref(), &l.sku)
                    .eq_ignore_ascii_case(&usage)
            })
            .map_or(0, |l| l.capacity);
        let more = u64::from(d.capacity).saturating_sub(held);
        if more == 0 {
            continue;
        }
        let ask = asks.entry((w.location.to_string(), usage)).or_default();
        ask.more += more;
        ask.who.push(format!(
            "account {} deployment {}: {more}",
            w.account, d.name
        ));
        ask.what
            .get_or_insert_with(|| (d.model.clone(), d.version.clone(), d.sku.clone()));
    }
    let mut refusals = Vec::new();
    for ((region, usage), ask) in &asks {
        let Some(u) = find(usages.get(region), usage) else {
            continue;
        };
        if (ask.more as f64) <= u.free() {
            continue;
        }
        let elsewhere = room_elsewhere(region, usage, ask, &asks, catalogs, usages);
        refusals.push(format!(
            "quota {usage} in {region}: the plan asks {} more ({}) but {} is free (limit {}, {} in use); free enough in: {elsewhere}",
            ask.more,
            ask.who.join(", "),
            u.free(),
            u.limit,
            u.current_value
        ));
    }
    refusals
}

fn find<'a>(usages: Option<&'a Vec<Usage>>, name: &str) -> Option<&'a Usage> {
    usages?.iter().find(|u| u.name.eq_ignore_ascii_case(name))
}

/// The plan's other regions whose catalog offers what was asked (or was not read) and
/// whose usage of the same name has room for all of it besides what the plan asks there,
/// as `region (N free)`.
fn room_elsewhere(
    region: &str,
    usage: &str,
    ask: &Ask,
    asks: &BTreeMap<(String, String), Ask>,
    catalogs: &BTreeMap<String, Vec<CatalogModel>>,
    usages: &BTreeMap<String, Vec<Usage>>,
) -> String {
    let offered = |r: &str| {
        let Some((model, version, sku)) = &ask.what else {
            return true;
        };
        catalogs.get(r).is_none_or(|c| {
            c.is_empty()
                || c.iter()
                    .filter(|m| m.name.eq_ignore_ascii_case(model))
                    .filter(|m| version.as_ref().is_none_or(|v| &m.version == v))
                    .any(|m| m.skus.iter().any(|s| s.name.eq_ignore_ascii_case(sku)))
        })
    };
    let room: Vec<String> = usages
        .iter()
        .filter(|(r, _)| r.as_str() != region && offered(r))
        .filter_map(|(r, list)| {
            let u = find(Some(list), usage)?;
            // What the plan itself asks there already is not room for this.
            let theirs = asks
                .get(&(r.clone(), usage.to_string()))
                .map_or(0, |a| a.more);
            let free = u.free() - theirs as f64;
            ((ask.more as f64) <= free).then(|| format!("{r} ({free} free)"))
        })
        .collect();
    if room.is_empty() {
        "none of the plan's regions".to_string()
    } else {
        room.join(", ")
    }
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
