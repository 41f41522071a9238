//! The per-region lists of Microsoft.CognitiveServices: Models_List (the model catalog
//! snapshot, catalog.rs) and Usages_List (quota use computed from the emulator's
//! deployments and its `quota` configuration). Shapes from azure-rest-api-specs
//! cognitiveservices.json (Models_List: `{value: [{kind, skuName, model: {...}}], nextLink}`;
//! Usages_List: `{value: [{name: {value, localizedValue}, currentValue, limit, unit}]}`) and
//! the Azure/azure-powershell CognitiveServices SessionRecords (TestListModels.json,
//! TestGetUsages.json).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Cx, deployments, lists};
use crate::address::{Address, LocationList, region_key};
use crate::catalog;
use crate::reply::{ArmError, Reply};

pub fn get(cx: &mut Cx, addr: &Address) -> Result<Reply, ArmError> {
    let Address::LocationList {
        sub,
        location,
        list,
    } = addr
    else {
        unreachable!("routed by address")
    };
    match list {
        // A region the snapshot does not cover lists no models.
        LocationList::Models => {
            let items = catalog::models(location).unwrap_or_default().to_vec();
            lists::page(cx, addr, items, "$skiptoken")
        }
        LocationList::Usages => Ok(Reply::ok(json!({ "value": usages(cx, sub, location) }))),
    }
}

/// One usage per usage name the region's catalog offers or a deployment there uses:
/// `OpenAI.{sku}.{model}`, its capacity summed over the subscription's deployments in the
/// region, and the configured quota of the sku as the limit.
fn usages(cx: &Cx, sub: &str, location: &str) -> Vec<Value> {
    let region = region_key(location);
    let mut names: BTreeSet<(String, String)> = catalog::models(location)
        .unwrap_or_default()
        .iter()
        .flat_map(|item| {
            let model = item["model"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            item["model"]["skus"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |s| Some((s["name"].as_str()?.to_string(), model.clone())))
        })
        .collect();
    names.extend(deployments::in_region(cx.store, sub, &region));
    names
        .into_iter()
        .map(|(sku, model)| {
            let used = deployments::capacity_used(cx.store, "", sub, &sku, &model, &region);
            json!({
                "name": {
                    "value": format!("OpenAI.{sku}.{model}"),
                    "localizedValue": format!("Tokens Per Minute (thousands) - {model} - {sku}"),
                },
                "currentValue": used,
                "limit": cx.config.quota(&sku),
                "unit": "Count",
            })
        })
        .collect()
}
