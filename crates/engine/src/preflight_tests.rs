//! Unit tests of the catalog preflight: what is refused, what warns, what the message names.

use std::collections::BTreeMap;

use super::*;
use aoai_lb_arm::catalog::CatalogSku;

fn model(name: &str, version: &str, skus: &[(&str, Option<&str>)]) -> CatalogModel {
    CatalogModel {
        format: "OpenAI".into(),
        name: name.into(),
        version: version.into(),
        skus: skus
            .iter()
            .map(|(s, d)| CatalogSku {
                name: s.to_string(),
                deprecation_date: d.map(str::to_string),
                usage_name: None,
                capacity: Default::default(),
            })
            .collect(),
        lifecycle_status: None,
    }
}

fn catalogs() -> BTreeMap<String, Vec<CatalogModel>> {
    let retiring = Some("2026-03-31T00:00:00Z");
    let mut c = BTreeMap::new();
    c.insert(
        "westus".to_string(),
        vec![
            model(
                "gpt-4o",
                "2024-08-06",
                &[
                    ("Standard", retiring),
                    ("GlobalStandard", Some("2026-10-01T00:00:00Z")),
                ],
            ),
            model(
                "gpt-4o",
                "2024-11-20",
                &[("Standard", None), ("GlobalStandard", None)],
            ),
        ],
    );
    c.insert(
        "eastus2".to_string(),
        vec![model(
            "gpt-4o",
            "2024-08-06",
            &[("Standard", Some("2027-01-01T00:00:00Z"))],
        )],
    );
    c.insert("lab".to_string(), vec![]);
    c
}

fn dep(model: &str, version: &str, sku: &str) -> Deployment {
    Deployment {
        name: "chat".into(),
        model: model.into(),
        version: Some(version.into()),
        sku: sku.into(),
        capacity: 10,
        version_upgrade_option: None,
        priority: 1,
        weight: 1,
    }
}

fn check_one(location: &str, d: &Deployment, today: &str) -> Findings {
    let w = [Wanted {
        account: "acct1",
        location,
        deployment: d,
    }];
    check(&w, &catalogs(), today, 90)
}

#[test]
fn a_retired_sku_is_refused_naming_what_is_offered_and_where() {
    let f = check_one(
        "westus",
        &dep("gpt-4o", "2024-08-06", "Standard"),
        "2026-04-01",
    );
    assert_eq!(f.refusals.len(), 1, "{f:?}");
    let r = &f.refusals[0];
    for part in [
        "account acct1 (westus), deployment chat: gpt-4o 2024-08-06 on Standard retired on 2026-03-31",
        "westus offers gpt-4o instead: 2024-08-06 on GlobalStandard; 2024-11-20 on Standard, GlobalStandard",
        "offered as requested in: eastus2",
    ] {
        assert!(r.contains(part), "{part:?} not in {r}");
    }
}

#[test]
fn the_same_sku_before_its_date_warns_within_90_days_only() {
    let d = dep("gpt-4o", "2024-08-06", "Standard");
    let f = check_one("westus", &d, "2026-03-01");
    assert!(f.refusals.is_empty(), "{f:?}");
    assert_eq!(
        f.warnings,
        [
            "account acct1 (westus), deployment chat: gpt-4o 2024-08-06 on Standard retires on 2026-03-31 (in 30 days)"
        ]
    );
    let f = check_one("westus", &d, "2025-12-01");
    assert_eq!(f, Findings::default());
    // The horizon is the plan's: 20 days does not reach 2026-03-31, 0 never warns.
    let w = [Wanted {
        account: "acct1",
        location: "westus",
        deployment: &d,
    }];
    assert_eq!(
        check(&w, &catalogs(), "2026-03-01", 20),
        Findings::default()
    );
    assert_eq!(check(&w, &catalogs(), "2026-03-30", 0), Findings::default());
    assert_eq!(check(&w, &catalogs(), "2026-03-11", 20).warnings.len(), 1);
}

#[test]
fn a_current_version_passes_and_an_unknown_model_is_refused() {
    let f = check_one(
        "westus",
        &dep("gpt-4o", "2024-11-20", "Standard"),
        "2026-12-02",
    );
    assert_eq!(f, Findings::default());
    let f = check_one("westus", &dep("gpt-9", "1", "Standard"), "2026-04-01");
    assert_eq!(f.refusals.len(), 1);
    let r = &f.refusals[0];
    assert!(r.contains("is not offered in this region"), "{r}");
    assert!(r.contains("westus offers gpt-9 instead: nothing"), "{r}");
    assert!(
        r.contains("offered as requested in: none of the plan's regions"),
        "{r}"
    );
}

#[test]
fn a_region_with_an_empty_or_unread_catalog_is_not_checked() {
    let d = dep("gpt-9", "1", "Standard");
    assert_eq!(check_one("lab", &d, "2026-04-01"), Findings::default());
    assert_eq!(
        check_one("brazilsouth", &d, "2026-04-01"),
        Findings::default()
    );
}

#[test]
fn the_local_day_is_a_date() {
    let t = local_today();
    assert_eq!(days(&t).map(|n| n > 20_000), Some(true), "{t}");
    assert_eq!(days_between("2026-03-01", "2026-03-31"), Some(30));
    assert_eq!(days_between("2024-02-28", "2024-03-01"), Some(2));
}

#[test]
fn a_new_deployment_of_a_deprecating_version_warns_an_existing_one_does_not() {
    let mut old = model("gpt-4.1", "2025-04-14", &[("Standard", None)]);
    old.lifecycle_status = Some("Deprecating".into());
    let mut new = model("gpt-5.1", "2025-11-13", &[("Standard", None)]);
    new.lifecycle_status = Some("GenerallyAvailable".into());
    let mut c = BTreeMap::new();
    c.insert("westus".to_string(), vec![old, new]);
    let mut d = dep("gpt-4.1", "2025-04-14", "Standard");
    d.name = "gpt-4.1".into();
    let w = [Wanted {
        account: "aoai-west",
        location: "westus",
        deployment: &d,
    }];
    let none = quota::Existing::new();
    let warned = lifecycle(&w, &c, &none);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with("account aoai-west (westus), deployment gpt-4.1: gpt-4.1 2025-04-14 on Standard is Deprecating in ARM's model catalog"),
        "{}",
        warned[0]
    );
    assert!(
        warned[0].ends_with("generally available in westus on Standard: gpt-5.1 2025-11-13"),
        "{}",
        warned[0]
    );
    let mut there = quota::Existing::new();
    let live = quota::Live {
        model: "gpt-4.1".into(),
        version: Some("2025-04-14".into()),
        sku: "Standard".into(),
        capacity: 10,
    };
    there.insert(quota::key("aoai-west", "gpt-4.1"), live);
    assert!(lifecycle(&w, &c, &there).is_empty());
}
