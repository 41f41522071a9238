//! Unit tests of the quota preflight: what adds up, what an existing deployment counts,
//! what the refusal names.

use std::collections::BTreeMap;

use super::*;
use aoai_lb_arm::catalog::CatalogSku;
use aoai_lb_core::model::Deployment;

fn sku(name: &str, usage: &str) -> CatalogSku {
    CatalogSku {
        name: name.into(),
        deprecation_date: None,
        usage_name: Some(usage.into()),
        capacity: Default::default(),
    }
}

fn catalog() -> Vec<CatalogModel> {
    vec![CatalogModel {
        format: "OpenAI".into(),
        name: "gpt-4.1".into(),
        version: "2025-04-14".into(),
        skus: vec![
            sku("Standard", "OpenAI.Standard.gpt-4.1"),
            sku("ProvisionedManaged", "OpenAI.ProvisionedManaged"),
        ],
        lifecycle_status: None,
    }]
}

fn usage(name: &str, used: f64, limit: f64) -> Usage {
    Usage {
        name: name.into(),
        current_value: used,
        limit,
    }
}

fn dep(name: &str, sku: &str, capacity: u32) -> Deployment {
    Deployment {
        name: name.into(),
        model: "gpt-4.1".into(),
        version: Some("2025-04-14".into()),
        sku: sku.into(),
        capacity,
        version_upgrade_option: None,
        priority: 1,
        weight: 1,
    }
}

struct Fixture {
    catalogs: BTreeMap<String, Vec<CatalogModel>>,
    usages: BTreeMap<String, Vec<Usage>>,
}

fn fixture(eastus: Vec<Usage>, westus: Vec<Usage>) -> Fixture {
    let mut catalogs = BTreeMap::new();
    catalogs.insert("eastus".to_string(), catalog());
    catalogs.insert("westus".to_string(), catalog());
    let mut usages = BTreeMap::new();
    usages.insert("eastus".to_string(), eastus);
    usages.insert("westus".to_string(), westus);
    Fixture { catalogs, usages }
}

fn at<'a>(account: &'a str, location: &'a str, d: &'a Deployment) -> Wanted<'a> {
    Wanted {
        account,
        location,
        deployment: d,
    }
}

#[test]
fn the_usage_name_is_the_catalogs_else_azures_form() {
    let c = catalog();
    let v = Some("2025-04-14");
    assert_eq!(
        usage_name(&c, "gpt-4.1", v, "standard"),
        "OpenAI.Standard.gpt-4.1"
    );
    // Provisioned throughput is one pool for every model.
    assert_eq!(
        usage_name(&c, "GPT-4.1", Some("older"), "ProvisionedManaged"),
        "OpenAI.ProvisionedManaged"
    );
    assert_eq!(
        usage_name(&c, "gpt-9", None, "GlobalStandard"),
        "OpenAI.GlobalStandard.gpt-9"
    );
}

#[test]
fn deployments_of_one_region_and_usage_add_up_and_the_refusal_names_them() {
    let f = fixture(
        vec![usage("OpenAI.Standard.gpt-4.1", 270.0, 300.0)],
        vec![usage("OpenAI.Standard.gpt-4.1", 0.0, 300.0)],
    );
    let (a, b) = (dep("chat", "Standard", 20), dep("chat2", "Standard", 20));
    let w = [at("acct1", "eastus", &a), at("acct2", "eastus", &b)];
    let r = check(&w, &f.catalogs, &f.usages, &Existing::new());
    assert_eq!(
        r,
        [
            "quota OpenAI.Standard.gpt-4.1 in eastus: the plan asks 40 more (account acct1 deployment chat: 20, account acct2 deployment chat2: 20) but 30 is free (limit 300, 270 in use); free enough in: westus (300 free)"
        ]
    );
    // One of them alone fits.
    assert!(check(&w[..1], &f.catalogs, &f.usages, &Existing::new()).is_empty());
}

#[test]
fn an_existing_deployment_counts_only_its_increase() {
    let f = fixture(vec![usage("OpenAI.Standard.gpt-4.1", 290.0, 300.0)], vec![]);
    let d = dep("chat", "Standard", 30);
    let w = [at("Acct1", "eastus", &d)];
    let mut existing = Existing::new();
    let live = Live {
        model: "gpt-4.1".into(),
        version: Some("2025-04-14".into()),
        sku: "Standard".into(),
        capacity: 25,
    };
    existing.insert(key("acct1", "chat"), live.clone());
    assert!(check(&w, &f.catalogs, &f.usages, &existing).is_empty());
    // On another usage name (sku changes), all of it is new.
    existing.insert(
        key("acct1", "chat"),
        Live {
            sku: "ProvisionedManaged".into(),
            ..live
        },
    );
    let r = check(&w, &f.catalogs, &f.usages, &existing);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].contains("asks 30 more")
            && r[0].contains("10 is free")
            && r[0].ends_with("none of the plan's regions"),
        "{r:?}"
    );
}

#[test]
fn provisioned_deployments_of_different_models_share_one_pool() {
    let f = fixture(vec![usage("OpenAI.ProvisionedManaged", 0.0, 100.0)], vec![]);
    let a = dep("ptu", "ProvisionedManaged", 50);
    let mut b = dep("ptu-mini", "ProvisionedManaged", 60);
    b.model = "gpt-4.1-mini".into();
    let w = [at("acct1", "eastus", &a), at("acct1", "eastus", &b)];
    let r = check(&w, &f.catalogs, &f.usages, &Existing::new());
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("quota OpenAI.ProvisionedManaged in eastus: the plan asks 110 more"),
        "{r:?}"
    );
}

#[test]
fn unread_or_unlisted_quotas_are_not_checked() {
    let f = fixture(vec![usage("OpenAI.Standard.gpt-4o", 300.0, 300.0)], vec![]);
    let d = dep("chat", "Standard", 1000);
    let w = [at("acct1", "eastus", &d), at("acct1", "brazilsouth", &d)];
    assert!(check(&w, &f.catalogs, &f.usages, &Existing::new()).is_empty());
}

#[test]
fn a_live_deployment_is_read_from_its_body() {
    let body = serde_json::json!({"sku": {"name": "Standard", "capacity": 10},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}});
    let l = Live::from_body(&body).unwrap();
    assert_eq!(
        (l.model.as_str(), l.sku.as_str(), l.capacity),
        ("gpt-4o", "Standard", 10)
    );
    assert!(Live::from_body(&serde_json::json!({"sku": {}})).is_none());
}
