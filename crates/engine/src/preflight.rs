//! Preflight from the live model catalog, before any write: every deployment of the plan
//! must be offered in its account's region, on its sku, and not retired there, as ARM's
//! catalog says today (issue 13). Otherwise Azure accepts the accounts and refuses the
//! deployment minutes later. No retirement date lives in aoai-lb: they are read from ARM.
//!
//! - [`check`]: pure, the catalogs read and the day against the plan's deployments.
//! - [`run`]: reads each region's catalog and quotas once and refuses the plan, or warns;
//!   the quota part is [`super::quota`].

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aoai_lb_arm::catalog::{self, CatalogModel, CatalogSku};
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::ids::api_version;
use aoai_lb_core::model::{Deployment, Model};

use super::quota;

/// What the catalog says of the plan: refusals (the plan must not be applied) and warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
    /// The refusals of a combination its region does not offer, by index in `refusals`,
    /// and what each asked for: [`run`] asks ARM's subscription-wide model capacities
    /// where else it has room.
    pub unplaced: Vec<Unplaced>,
}

/// A deployment the catalog of its region refuses: the model version and sku it asked
/// for, and how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unplaced {
    pub refusal: usize,
    pub model: String,
    pub version: String,
    pub sku: String,
    pub capacity: u32,
}

/// One deployment of the plan and where it goes.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub account: &'a str,
    pub location: &'a str,
    pub deployment: &'a Deployment,
}

/// Every deployment of the plan.
pub fn wanted(model: &Model) -> Vec<Wanted<'_>> {
    model
        .accounts
        .iter()
        .flat_map(|a| {
            a.deployments.iter().map(|d| Wanted {
                account: &a.name,
                location: &a.location,
                deployment: d,
            })
        })
        .collect()
}

/// The plan's deployments against the catalogs read (region → its models; a region whose
/// catalog is empty or was not read is not checked) on `today` (`YYYY-MM-DD`); a sku
/// retiring within `horizon` days (the plan's `retireWarningDays`; 0: never) warns.
pub fn check(
    wanted: &[Wanted<'_>],
    catalogs: &BTreeMap<String, Vec<CatalogModel>>,
    today: &str,
    horizon: u32,
) -> Findings {
    let mut f = Findings::default();
    for w in wanted {
        let Some(here) = catalogs.get(w.location).filter(|c| !c.is_empty()) else {
            continue;
        };
        let d = w.deployment;
        let v = d.version.as_deref();
        let what = format!(
            "{} {} on {}",
            d.model,
            v.unwrap_or("(default version)"),
            d.sku
        );
        let head = format!(
            "account {} ({}), deployment {}: {what}",
            w.account, w.location, d.name
        );
        let dates: Vec<Option<&str>> = offers(here, &d.model, v, &d.sku);
        let live = dates
            .iter()
            .find(|x| x.is_none_or(|day| day_of(day) > today));
        match live {
            Some(until) => {
                if let Some(day) = until.map(day_of)
                    && let Some(n) = days_between(today, day)
                    && n <= i64::from(horizon)
                {
                    f.warnings
                        .push(format!("{head} retires on {day} (in {n} days)"));
                }
            }
            None => {
                let why = match dates.first() {
                    Some(Some(day)) => format!("retired on {}", day_of(day)),
                    _ => "is not offered in this region".to_string(),
                };
                let instead = offered_instead(here, &d.model, today);
                let elsewhere: Vec<&str> = catalogs
                    .iter()
                    .filter(|(r, c)| {
                        r.as_str() != w.location
                            && offers(c, &d.model, v, &d.sku)
                                .iter()
                                .any(|x| x.is_none_or(|day| day_of(day) > today))
                    })
                    .map(|(r, _)| r.as_str())
                    .collect();
                let elsewhere = if elsewhere.is_empty() {
                    "none of the plan's regions".to_string()
                } else {
                    elsewhere.join(", ")
                };
                // Not offered here at all (rather than retired, which Azure does for a
                // version everywhere): ask where else it is.
                if let (Some(version), None) = (v, dates.first()) {
                    f.unplaced.push(Unplaced {
                        refusal: f.refusals.len(),
                        model: d.model.clone(),
                        version: version.to_string(),
                        sku: d.sku.clone(),
                        capacity: d.capacity,
                    });
                }
                f.refusals.push(format!(
                    "{head} {why} (ARM's model catalog, {today}); {} offers {} instead: {instead}; offered as requested in: {elsewhere}",
                    w.location, d.model
                ));
            }
        }
    }
    f
}

/// Warnings for the plan's deployments that do not exist yet and ask for a version ARM's
/// catalog marks `Deprecating` or `Deprecated` in their region: "When a model is
/// deprecated, it's no longer available for new customers" (Azure OpenAI model
/// deprecations and retirements, learn.microsoft.com): a subscription that has deployed it
/// before may still, one that never has is refused. aoai-lb cannot know which this is, so
/// it warns, naming the generally available versions of the model there.
pub fn lifecycle(
    wanted: &[Wanted<'_>],
    catalogs: &BTreeMap<String, Vec<CatalogModel>>,
    existing: &quota::Existing,
) -> Vec<String> {
    let deprecated = |m: &CatalogModel| {
        m.lifecycle_status
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("deprecat"))
    };
    let mut out = Vec::new();
    for w in wanted {
        let d = w.deployment;
        let (Some(here), Some(version)) = (catalogs.get(w.location), d.version.as_deref()) else {
            continue;
        };
        if existing.contains_key(&quota::key(w.account, &d.name)) {
            continue;
        }
        let Some(entry) = here.iter().find(|m| {
            m.name.eq_ignore_ascii_case(&d.model) && m.version == version && deprecated(m)
        }) else {
            continue;
        };
        let ga: Vec<String> = here
            .iter()
            .filter(|m| {
                m.lifecycle_status
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("GenerallyAvailable"))
                    && m.skus.iter().any(|s| s.name.eq_ignore_ascii_case(&d.sku))
            })
            .map(|m| format!("{} {}", m.name, m.version))
            .collect();
        out.push(format!(
            "account {} ({}), deployment {}: {} {version} on {} is {} in ARM's model catalog: Azure no longer offers it to subscriptions that have never deployed it, which are refused; generally available in {} on {}: {}",
            w.account,
            w.location,
            d.name,
            d.model,
            d.sku,
            entry.lifecycle_status.as_deref().unwrap_or_default(),
            w.location,
            d.sku,
            if ga.is_empty() { "none".to_string() } else { ga.join(", ") }
        ));
    }
    out
}

/// The retirement dates (None: none announced) of each catalog entry offering `name`
/// (`version`, any when None) on `sku`.
fn offers<'a>(
    catalog: &'a [CatalogModel],
    name: &str,
    version: Option<&str>,
    sku: &str,
) -> Vec<Option<&'a str>> {
    skus(catalog, name, version, sku)
        .into_iter()
        .map(|s| s.deprecation_date.as_deref())
        .collect()
}

/// Each catalog entry's `sku` for `name` (`version`, any when None).
fn skus<'a>(
    catalog: &'a [CatalogModel],
    name: &str,
    version: Option<&str>,
    sku: &str,
) -> Vec<&'a CatalogSku> {
    catalog
        .iter()
        .filter(|m| m.name.eq_ignore_ascii_case(name))
        .filter(|m| version.is_none_or(|v| m.version == v))
        .flat_map(|m| &m.skus)
        .filter(|s| s.name.eq_ignore_ascii_case(sku))
        .collect()
}

/// Refusals for the plan's deployments whose capacity the catalog's settings for their
/// model version and sku do not allow (`capacity`: minimum, maximum, step, allowed
/// values; provisioned throughput comes in model-specific sizes and increments). A sku
/// the catalog gives no settings for is not checked; nor is one it does not offer (the
/// catalog check names that).
pub fn capacities(
    wanted: &[Wanted<'_>],
    catalogs: &BTreeMap<String, Vec<CatalogModel>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for w in wanted {
        let d = w.deployment;
        let Some(here) = catalogs.get(w.location) else {
            continue;
        };
        let Some(sku) = skus(here, &d.model, d.version.as_deref(), &d.sku)
            .first()
            .copied()
        else {
            continue;
        };
        if let Some(rule) = sku.capacity.refuses(u64::from(d.capacity)) {
            out.push(format!(
                "account {} ({}), deployment {}: capacity {} on {} is not one ARM's model catalog allows for {} {} there: {rule}",
                w.account,
                w.location,
                d.name,
                d.capacity,
                d.sku,
                d.model,
                d.version.as_deref().unwrap_or("(default version)"),
            ));
        }
    }
    out
}

/// What a region offers of a model today, as `version on sku, sku; ...` ("nothing").
fn offered_instead(catalog: &[CatalogModel], name: &str, today: &str) -> String {
    let mut by_version: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in catalog.iter().filter(|m| m.name.eq_ignore_ascii_case(name)) {
        let skus = m
            .skus
            .iter()
            .filter(|s| {
                s.deprecation_date
                    .as_deref()
                    .is_none_or(|d| day_of(d) > today)
            })
            .map(|s| s.name.as_str());
        by_version.entry(&m.version).or_default().extend(skus);
    }
    let listed: Vec<String> = by_version
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(v, s)| format!("{v} on {}", s.join(", ")))
        .collect();
    if listed.is_empty() {
        "nothing".to_string()
    } else {
        listed.join("; ")
    }
}

/// The `YYYY-MM-DD` of an ISO 8601 timestamp.
fn day_of(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` (H. Hinnant's days_from_civil).
fn days(day: &str) -> Option<i64> {
    let mut it = day.get(..10)?.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    Some(era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468)
}

fn days_between(from: &str, to: &str) -> Option<i64> {
    Some(days(to)? - days(from)?)
}

/// The local clock's day (`YYYY-MM-DD`, UTC), for a catalog served without a `Date`.
fn local_today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads the catalog and the quotas (usages) of every region of the plan, once each, and
/// checks the plan against them on ARM's day (its `Date` header; the local clock without
/// one): model/version/sku offered and not retired, and new capacity within the free
/// quota (`existing`: the plan's deployments that exist, which count only their increase).
/// Warnings are logged and returned; refusals are returned for the caller to stop on. A
/// list ARM will not serve (403, 404) is a warning and its region goes unchecked.
pub async fn run(
    client: &ArmClient,
    model: &Model,
    existing: &quota::Existing,
) -> Result<Findings, ArmError> {
    let sub = &model.subscription_id;
    let v = api_version::COGNITIVE_SERVICES;
    let mut catalogs = BTreeMap::new();
    let mut usages = BTreeMap::new();
    let mut today = None;
    let mut unread = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for account in &model.accounts {
        let region = &account.location;
        if !seen.insert(region) {
            continue;
        }
        match catalog::models(client, sub, region, v).await? {
            Some(c) => {
                today = today.or(c.today);
                catalogs.insert(region.clone(), c.models);
            }
            None => unread.push(("model catalog", region)),
        }
        match catalog::usages(client, sub, region, v).await? {
            Some(u) => {
                usages.insert(region.clone(), u);
            }
            None => unread.push(("quotas (usages)", region)),
        }
    }
    let today = today.unwrap_or_else(local_today);
    let wanted = wanted(model);
    let mut f = check(&wanted, &catalogs, &today, model.retire_warning_days);
    f.warnings.extend(lifecycle(&wanted, &catalogs, existing));
    f.refusals.extend(capacities(&wanted, &catalogs));
    f.refusals
        .extend(quota::check(&wanted, &catalogs, &usages, existing));
    elsewhere(client, sub, &mut f).await?;
    for (list, region) in unread {
        f.warnings.push(format!(
            "ARM did not serve the {list} of {region} (no permission, or an older ARM): its deployments were not checked against it"
        ));
    }
    for w in &f.warnings {
        tracing::warn!("{w}");
    }
    Ok(f)
}

/// For each catalog refusal, where ARM's subscription-wide model capacities
/// (ModelCapacities_List, one read per model version refused) have room for it on its sku,
/// beyond the plan's regions: appended to the refusal. Only read when something is
/// refused, so a plan that passes costs no request here. A list ARM will not serve adds
/// nothing.
async fn elsewhere(client: &ArmClient, sub: &str, f: &mut Findings) -> Result<(), ArmError> {
    let mut read: BTreeMap<(String, String), Vec<catalog::SkuCapacity>> = BTreeMap::new();
    for u in &f.unplaced {
        let key = (u.model.clone(), u.version.clone());
        if !read.contains_key(&key) {
            let v = api_version::COGNITIVE_SERVICES;
            let c = catalog::capacities(client, sub, &u.model, &u.version, v).await?;
            read.insert(key.clone(), c.unwrap_or_default());
        }
        let mut room: Vec<&str> = read[&key]
            .iter()
            .filter(|c| c.sku == u.sku && c.available >= f64::from(u.capacity))
            .map(|c| c.location.as_str())
            .collect();
        room.sort_unstable();
        room.dedup();
        if !room.is_empty()
            && let Some(r) = f.refusals.get_mut(u.refusal)
        {
            r.push_str(&format!(
                "; ARM's model capacities have room for {} on {} in: {}",
                u.capacity,
                u.sku,
                room.join(", ")
            ));
        }
    }
    Ok(())
}

/// The plan's deployments that exist, read one by one (for callers that have not read
/// them already, like `doctor`).
pub async fn existing(client: &ArmClient, model: &Model) -> Result<quota::Existing, ArmError> {
    let mut out = quota::Existing::new();
    for a in &model.accounts {
        let account =
            aoai_lb_core::ids::account(&model.subscription_id, &model.resource_group.name, &a.name);
        for d in &a.deployments {
            let id = aoai_lb_core::ids::deployment(&account, &d.name);
            if let Some(live) = client
                .get(&id, api_version::COGNITIVE_SERVICES)
                .await?
                .as_ref()
                .and_then(quota::Live::from_body)
            {
                out.insert(quota::key(&a.name, &d.name), live);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "preflight_tests.rs"]
mod tests;
