//! The catalog lists of Microsoft.CognitiveServices: Models_List (the model catalog
//! snapshot, catalog.rs), Usages_List (quota use computed from the emulator's deployments
//! and its `quota` configuration) and ModelCapacities_List (what is left of it, per region
//! offering a model; shape of the spec example ListModelCapacities.json, 2024-10-01). Shapes from azure-rest-api-specs
//! cognitiveservices.json (Models_List: `{value: [{kind, skuName, model: {...}}], nextLink}`;
//! Usages_List: `{value: [{name: {value, localizedValue}, currentValue, limit, unit}]}`) and
//! the Azure/azure-powershell CognitiveServices SessionRecords (TestListModels.json,
//! TestGetUsages.json).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Cx, deployments, lists};
use crate::address::{Address, CatalogList, region_key};
use crate::catalog;
use crate::reply::{ArmError, Reply};

pub fn get(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let Address::CatalogList {
        sub,
        location,
        list,
    } = addr
    else {
        unreachable!("routed by address")
    };
    let location = location.as_deref().unwrap_or_default();
    match list {
        // A region the snapshot does not cover lists no models.
        CatalogList::Models => {
            let items = catalog::models(location).unwrap_or_default().to_vec();
            let mut reply = lists::page(cx, addr, items, "$skiptoken")?;
            // ARM answers with its clock in `Date` (RFC 9110 5.6.7, every recorded ARM
            // response has one); the emulator's clock for the catalog is `catalog.today`,
            // so a client comparing retirement dates with it sees what PUT will refuse.
            let today = cx.config.catalog_today();
            if let Some(date) = catalog::http_date(&today) {
                reply.headers.push(("date", date));
            }
            Ok(reply)
        }
        CatalogList::Usages => Ok(Reply::ok(json!({ "value": usages(cx, sub, location) }))),
        CatalogList::ModelCapacities => {
            let items = capacities(cx, sub);
            lists::page(cx, addr, items, "$skiptoken")
        }
    }
}

/// ModelCapacities_List: for every region offering the model (`modelFormat`, `modelName`,
/// `modelVersion`, each filtering when given), one item per sku with `availableCapacity`,
/// the sku's quota less what the subscription's deployments of the model use there.
fn capacities(cx: &Cx, sub: &str) -> Vec<Value> {
    let q = |k: &str| cx.query.get(k).cloned();
    let (format, name, version) = (q("modelformat"), q("modelname"), q("modelversion"));
    let matches = |want: &Option<String>, got: &Value| {
        want.as_deref()
            .is_none_or(|w| got.as_str().is_some_and(|g| g.eq_ignore_ascii_case(w)))
    };
    let mut out = Vec::new();
    for (region, items) in catalog::regions() {
        for m in items.iter().map(|i| &i["model"]) {
            if !(matches(&format, &m["format"])
                && matches(&name, &m["name"])
                && matches(&version, &m["version"]))
            {
                continue;
            }
            let (f, n, v) = (
                &m["format"],
                m["name"].as_str().unwrap_or_default(),
                &m["version"],
            );
            for sku in m["skus"].as_array().into_iter().flatten() {
                let sku = sku["name"].as_str().unwrap_or_default();
                let usage = catalog::usage_name(sku, n);
                let used = deployments::capacity_used(cx.store, "", sub, &usage, region);
                out.push(json!({
                    "id": format!(
                        "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{region}/models/{}.{n}.{}/skuCapacities/{sku}",
                        f.as_str().unwrap_or_default(), v.as_str().unwrap_or_default()
                    ),
                    "type": "Microsoft.CognitiveServices/locations/models/skuCapacities",
                    "name": sku,
                    "location": region,
                    "properties": {
                        "model": {"format": f, "name": n, "version": v},
                        "skuName": sku,
                        "availableCapacity": cx.config.quota(sku).saturating_sub(used),
                    },
                }));
            }
        }
    }
    out
}

/// One usage per usage name the region's catalog offers or a deployment there uses
/// (catalog::usage_name: `OpenAI.{sku}.{model}`, or `OpenAI.{sku}` for a provisioned sku),
/// its capacity summed over the subscription's deployments in the region, and the
/// configured quota of the sku as the limit.
fn usages(cx: &Cx, sub: &str, location: &str) -> Vec<Value> {
    let region = region_key(location);
    // usage name -> (sku, model or None for a pool of every model)
    let mut names: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut add = |sku: &str, model: &str| {
        let usage = catalog::usage_name(sku, model);
        let shared = !usage.ends_with(&format!(".{model}"));
        names
            .entry(usage)
            .or_insert_with(|| (sku.to_string(), (!shared).then(|| model.to_string())));
    };
    for item in catalog::models(location).unwrap_or_default() {
        let model = item["model"]["name"].as_str().unwrap_or_default();
        for s in item["model"]["skus"].as_array().into_iter().flatten() {
            if let Some(sku) = s["name"].as_str() {
                add(sku, model);
            }
        }
    }
    for (sku, model) in deployments::in_region(cx.store, sub, &region) {
        add(&sku, &model);
    }
    names
        .into_iter()
        .map(|(usage, (sku, model))| {
            let used = deployments::capacity_used(cx.store, "", sub, &usage, &region);
            let localized = catalog::usage_label(&sku, model.as_deref().unwrap_or_default());
            json!({
                "name": {"value": usage, "localizedValue": localized},
                "currentValue": used,
                "limit": cx.config.quota(&sku),
                "unit": "Count",
            })
        })
        .collect()
}
