//! The model catalog: a snapshot of what ARM's Models_List
//! (`GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{l}/models`)
//! answers per region, shipped as data (`data/model-catalog.json`, its date and sources
//! inside), so the emulator can refuse a deployment Azure would refuse. It is a snapshot,
//! not live data; see "Model catalog" in docs/emulator.md.

use std::sync::OnceLock;

use serde_json::Value;

use crate::address::region_key;
use crate::reply::ArmError;

const SNAPSHOT: &str = include_str!("../data/model-catalog.json");

fn snapshot() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(SNAPSHOT).expect("data/model-catalog.json is JSON"))
}

/// The snapshot's date (`YYYY-MM-DD`): the default "today" of retirement checks.
pub fn snapshot_date() -> &'static str {
    snapshot()["snapshot"]["date"]
        .as_str()
        .unwrap_or("1970-01-01")
}

/// The Models_List items of a region (any spelling: `westus`, `West US`), or `None` for a
/// region the snapshot does not cover.
pub fn models(location: &str) -> Option<&'static [Value]> {
    let region = region_key(location);
    snapshot()["regions"]
        .as_object()?
        .iter()
        .find(|(k, _)| region_key(k) == region)
        .and_then(|(_, v)| v.as_array())
        .map(Vec::as_slice)
}

/// Every region of the snapshot with its Models_List items.
pub fn regions() -> impl Iterator<Item = (&'static str, &'static [Value])> {
    snapshot()["regions"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_array()?.as_slice())))
}

/// The usage name (quota) a deployment of `model` on `sku` draws from, as Models_List's
/// `skus[].usageName` and Usages_List name it: `OpenAI.{sku}.{model}` for token-based skus
/// (`OpenAI.Standard.gpt-4o`, `OpenAI.GlobalStandard.gpt-4o`: azd bicep metadata
/// `usageName: ['OpenAI.GlobalStandard.gpt-4o, 150']` in Azure-Samples templates), and one
/// pool per provisioned sku for every model (`OpenAI.ProvisionedManaged`,
/// `OpenAI.GlobalProvisionedManaged`: Azure/azure-dev's ModelSKU tests and
/// TestIsFinetuneUsageName; "moving to model-independent quota", "What is provisioned
/// throughput?", learn.microsoft.com). `OpenAI.DataZoneProvisionedManaged` follows the
/// same form; no recording of it was found.
pub fn usage_name(sku: &str, model: &str) -> String {
    if sku.to_ascii_lowercase().ends_with("provisionedmanaged") {
        format!("OpenAI.{sku}")
    } else {
        format!("OpenAI.{sku}.{model}")
    }
}

/// How ARM names a usage to people (Usages_List `name.localizedValue`, and the quota in
/// `InsufficientQuota` messages): "Tokens Per Minute (thousands) - gpt-4o - GlobalStandard"
/// (quoted in Azure-Samples READMEs' troubleshooting of `InsufficientQuota`); for a
/// provisioned pool no recording was found and the emulator says "Provisioned Throughput
/// Units - {sku}".
pub fn usage_label(sku: &str, model: &str) -> String {
    if usage_name(sku, model).ends_with(&format!(".{model}")) {
        format!("Tokens Per Minute (thousands) - {model} - {sku}")
    } else {
        format!("Provisioned Throughput Units - {sku}")
    }
}

/// The version of `name` a region's Models_List marks `isDefaultVersion: true` (the
/// version ARM deploys when a deployment names none), if the snapshot covers the region
/// and the model.
pub fn default_version(location: &str, name: &str) -> Option<&'static str> {
    models(location)?
        .iter()
        .map(|item| &item["model"])
        .find(|m| {
            m["isDefaultVersion"] == true
                && m["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|m| m["version"].as_str())
}

/// The sku entry of `name` `version` `sku` in a region, if the snapshot offers it.
fn offered<'a>(items: &'a [Value], name: &str, version: &str, sku: &str) -> Option<&'a Value> {
    items
        .iter()
        .map(|item| &item["model"])
        .filter(|m| {
            m["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && m["version"].as_str() == Some(version)
        })
        .flat_map(|m| m["skus"].as_array().into_iter().flatten())
        .find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(sku))
        })
}

/// Whether a deployment of `name` `version` on `sku` may be created in `location` on `today`
/// (`YYYY-MM-DD`). A region the snapshot does not cover accepts everything.
///
/// Refusals as ARM words them: `InvalidResourceProperties` "The specified SKU 'Standard'
/// for model 'gpt-4o 2024-05-13' is not supported in this region 'francecentral'."
/// (Azure-Samples/azure-search-openai-demo#1840, Azure-Samples/azure-search-openai-demo-csharp#362);
/// `ServiceModelDeprecated` "The model 'Format:OpenAI,Name:gpt-4o-mini,Version:2024-07-18'
/// has been deprecated since 03/31/2026 00:00:00." (microsoft/microsoft-foundry-for-vscode#491,
/// Azure-Samples/Azure-Functions-OpenAI-Demo#30). Both are 400 Bad Request.
pub fn check(
    location: &str,
    format: &str,
    name: &str,
    version: &str,
    sku: &str,
    today: &str,
) -> Result<(), ArmError> {
    let Some(items) = models(location) else {
        return Ok(());
    };
    let Some(entry) = offered(items, name, version, sku) else {
        return Err(ArmError::bad_request(
            "InvalidResourceProperties",
            format!(
                "The specified SKU '{sku}' for model '{name} {version}' is not supported in this region '{}'.",
                region_key(location)
            ),
        ));
    };
    let retired = entry["deprecationDate"].as_str().unwrap_or_default();
    let day = retired.get(..10).unwrap_or_default();
    if !day.is_empty() && day <= today {
        let (y, rest) = day.split_at(4);
        let (m, d) = (&rest[1..3], &rest[4..6]);
        return Err(ArmError::bad_request(
            "ServiceModelDeprecated",
            format!(
                "The model 'Format:{format},Name:{name},Version:{version}' has been deprecated since {m}/{d}/{y} 00:00:00."
            ),
        ));
    }
    Ok(())
}

/// A deployment of a version the region's Models_List marks `lifecycleStatus: Deprecating`
/// (the docs' "Deprecated" stage: "Existing customers can continue to create and manage
/// deployments. No longer available to new customers", an existing customer being a
/// subscription that has deployed that model version; MicrosoftDocs/azure-ai-docs
/// concepts-model-retirements-content.md, 2026-10-05) by a subscription that never has:
/// `400 ServiceModelDeprecating`, "The model 'Format:OpenAI,Name:gpt-4o-mini,
/// Version:2024-07-18' is in deprecating state and cannot be used for new deployments."
/// (microsoft/iq-series#84; microsoft/microsoft-foundry-for-vscode#557 for an xAI model).
pub fn check_new_customer(
    location: &str,
    format: &str,
    name: &str,
    version: &str,
    deployed_before: bool,
) -> Result<(), ArmError> {
    let deprecating = models(location)
        .into_iter()
        .flatten()
        .map(|item| &item["model"])
        .any(|m| {
            m["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && m["version"].as_str() == Some(version)
                && m["lifecycleStatus"] == "Deprecating"
        });
    if !deprecating || deployed_before {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "ServiceModelDeprecating",
        format!(
            "The model 'Format:{format},Name:{name},Version:{version}' is in deprecating state and cannot be used for new deployments."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_covers_the_regions_the_examples_use() {
        for r in [
            "eastus",
            "East US",
            "westus",
            "westus3",
            "swedencentral",
            "eastus2",
        ] {
            assert!(models(r).is_some_and(|m| !m.is_empty()), "{r}");
        }
        assert!(models("lab").is_none());
    }

    #[test]
    fn gpt_4o_2024_08_06_retired_on_standard_on_2026_03_31_and_not_elsewhere() {
        let ok = check(
            "westus",
            "OpenAI",
            "gpt-4o",
            "2024-08-06",
            "Standard",
            "2026-03-01",
        );
        assert!(ok.is_ok());
        let e = check(
            "westus",
            "OpenAI",
            "gpt-4o",
            "2024-08-06",
            "Standard",
            "2026-04-01",
        )
        .unwrap_err();
        assert_eq!(e.code, "ServiceModelDeprecated");
        assert_eq!(
            e.message,
            "The model 'Format:OpenAI,Name:gpt-4o,Version:2024-08-06' has been deprecated since 03/31/2026 00:00:00."
        );
        let global = check(
            "westus",
            "OpenAI",
            "gpt-4o",
            "2024-08-06",
            "GlobalStandard",
            "2026-04-01",
        );
        assert!(global.is_ok());
    }

    #[test]
    fn every_sku_of_the_snapshot_names_the_quota_the_emulator_counts() {
        for (region, items) in regions() {
            for m in items.iter().map(|i| &i["model"]) {
                let model = m["name"].as_str().unwrap();
                for s in m["skus"].as_array().unwrap() {
                    let sku = s["name"].as_str().unwrap();
                    assert_eq!(
                        s["usageName"].as_str(),
                        Some(usage_name(sku, model).as_str()),
                        "{region} {model} {sku}"
                    );
                }
            }
        }
        assert_eq!(
            usage_name("ProvisionedManaged", "gpt-4o"),
            "OpenAI.ProvisionedManaged"
        );
        assert_eq!(usage_name("Standard", "gpt-4o"), "OpenAI.Standard.gpt-4o");
    }

    #[test]
    fn an_unknown_combination_is_refused_in_a_covered_region() {
        // Microsoft's region table: gpt-5.1 has no regional ProvisionedManaged in West US,
        // and has it in East US.
        let e = check(
            "westus",
            "OpenAI",
            "gpt-5.1",
            "2025-11-13",
            "ProvisionedManaged",
            "2026-12-02",
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidResourceProperties");
        assert_eq!(
            e.message,
            "The specified SKU 'ProvisionedManaged' for model 'gpt-5.1 2025-11-13' is not supported in this region 'westus'."
        );
        assert!(
            check(
                "eastus",
                "OpenAI",
                "gpt-5.1",
                "2025-11-13",
                "ProvisionedManaged",
                "2026-12-02"
            )
            .is_ok()
        );
        assert!(check("lab", "OpenAI", "anything", "1", "Standard", "2026-12-02").is_ok());
    }

    /// The lifecycle stages of Microsoft's retirement schedule (2026-10-05) as the Models
    /// API spells them: the docs' "Deprecated" is `Deprecating`, Legacy and GA are
    /// `GenerallyAvailable`; the schedule's date is every sku's but the Standard exceptions.
    #[test]
    fn the_snapshot_carries_the_schedule_of_late_2026() {
        let item = |name: &str, version: &str| {
            models("swedencentral")
                .unwrap()
                .iter()
                .map(|i| &i["model"])
                .find(|m| m["name"] == name && m["version"] == version)
                .unwrap_or_else(|| panic!("{name} {version}"))
                .clone()
        };
        for (name, version, status, retires) in [
            ("gpt-4o", "2024-05-13", "Deprecating", "2026-12-09"),
            ("gpt-4o", "2024-08-06", "Deprecating", "2027-04-14"),
            ("gpt-4o", "2024-11-20", "GenerallyAvailable", "2027-04-14"),
            ("gpt-4o-mini", "2024-07-18", "Deprecating", "2027-04-14"),
            ("gpt-4.1", "2025-04-14", "Deprecating", "2027-04-14"),
            ("gpt-5.1", "2025-11-13", "GenerallyAvailable", "2027-05-15"),
            ("gpt-5.4", "2026-03-05", "GenerallyAvailable", "2027-09-02"),
            ("gpt-5.5", "2026-04-24", "GenerallyAvailable", "2027-10-26"),
            (
                "gpt-5.6-sol",
                "2026-07-09",
                "GenerallyAvailable",
                "2028-01-11",
            ),
        ] {
            let m = item(name, version);
            assert_eq!(m["lifecycleStatus"], status, "{name} {version}");
            let day = format!("{retires}T00:00:00Z");
            assert_eq!(
                m["deprecation"]["inference"],
                day.as_str(),
                "{name} {version}"
            );
            let global = m["skus"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == "GlobalStandard")
                .unwrap();
            assert_eq!(global["deprecationDate"], day.as_str(), "{name} {version}");
        }
        let e = check(
            "swedencentral",
            "OpenAI",
            "gpt-4o-mini",
            "2024-07-18",
            "Standard",
            "2026-12-02",
        )
        .unwrap_err();
        assert!(
            e.message.contains("deprecated since 03/31/2026"),
            "{}",
            e.message
        );
    }
}

/// `YYYY-MM-DD` as an HTTP-date at midnight GMT (`Wed, 01 Apr 2026 00:00:00 GMT`, RFC 9110
/// 5.6.7), the form of ARM's `Date` header; None for anything else.
pub fn http_date(day: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let mut it = day.get(..10)?.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days since 1970-01-01 (a Thursday), H. Hinnant's days_from_civil.
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let wd = WEEKDAYS[days.rem_euclid(7) as usize];
    let mon = MONTHS[(m - 1) as usize];
    Some(format!("{wd}, {d:02} {mon} {y:04} 00:00:00 GMT"))
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn a_day_becomes_an_http_date_with_its_weekday() {
        let d = super::http_date("2026-04-01");
        assert_eq!(d.as_deref(), Some("Wed, 01 Apr 2026 00:00:00 GMT"));
        let d = super::http_date("1970-01-01");
        assert_eq!(d.as_deref(), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
        assert_eq!(super::http_date("soon"), None);
    }
}
