//! The region's model catalog as ARM serves it (Models_List,
//! `GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{l}/models`,
//! azure-rest-api-specs cognitiveservices.json): which model versions and skus a region
//! offers and when each sku retires. Read before any write so a plan that Azure would
//! refuse minutes into an apply fails at once; the dates come from Azure, never from us.

use azure_core::http::{Method, Url};
use serde_json::Value;

use super::stats::RequestClass;
use super::{ArmClient, ArmError};

/// Most pages followed (a loop guard far above any real catalog).
const MAX_PAGES: usize = 100;

/// One sku a model version is offered on, and when it retires there (`YYYY-MM-DD...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogSku {
    pub name: String,
    pub deprecation_date: Option<String>,
    /// The quota (Usages_List name) a deployment on this sku draws from, as the catalog
    /// publishes it: `OpenAI.Standard.gpt-4o` (per model), `OpenAI.ProvisionedManaged`
    /// (provisioned throughput, shared by every model).
    pub usage_name: Option<String>,
    /// The capacities a deployment on this sku may have (`capacity`, ARM's
    /// CapacityConfig), as far as the catalog says.
    pub capacity: Capacity,
}

/// The capacity settings of a catalog sku: each bound only when ARM gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    pub minimum: Option<u64>,
    pub maximum: Option<u64>,
    /// Capacities go up in steps of this from the minimum (PTU sizes: 15, 20, 25...).
    pub step: Option<u64>,
    /// When given, the only capacities allowed.
    pub allowed_values: Vec<u64>,
}

impl Capacity {
    fn from_value(v: Option<&Value>) -> Capacity {
        let Some(v) = v else {
            return Capacity::default();
        };
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        Capacity {
            minimum: n("minimum"),
            maximum: n("maximum"),
            step: n("step").filter(|s| *s > 0),
            allowed_values: v
                .get("allowedValues")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
        }
    }

    /// Why `capacity` is not one of these settings' (None: it is): the rule it breaks,
    /// as the settings state it.
    pub fn refuses(&self, capacity: u64) -> Option<String> {
        let mut rule = Vec::new();
        if let Some(min) = self.minimum {
            rule.push(format!("at least {min}"));
        }
        if let Some(max) = self.maximum {
            rule.push(format!("at most {max}"));
        }
        if let Some(step) = self.step {
            let from = self.minimum.unwrap_or(0);
            rule.push(if from > 0 {
                format!("{from} plus a multiple of {step}")
            } else {
                format!("a multiple of {step}")
            });
        }
        let off_step = self.step.is_some_and(|step| {
            !capacity
                .saturating_sub(self.minimum.unwrap_or(0))
                .is_multiple_of(step)
        });
        let bad = self.minimum.is_some_and(|m| capacity < m)
            || self.maximum.is_some_and(|m| capacity > m)
            || off_step
            || (!self.allowed_values.is_empty() && !self.allowed_values.contains(&capacity));
        if !self.allowed_values.is_empty() {
            let listed: Vec<String> = self.allowed_values.iter().map(u64::to_string).collect();
            rule.push(format!("one of {}", listed.join(", ")));
        }
        bad.then(|| rule.join(", "))
    }
}

/// One model version of a region's catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogModel {
    pub format: String,
    pub name: String,
    pub version: String,
    pub skus: Vec<CatalogSku>,
    /// `model.lifecycleStatus` (`GenerallyAvailable`, `Preview`, `Deprecating`,
    /// `Deprecated`, ...), when ARM says.
    pub lifecycle_status: Option<String>,
}

impl CatalogModel {
    /// The catalog item `{kind, skuName, model: {format, name, version, skus: [...]}}`;
    /// None when it names no model.
    pub fn from_item(item: &Value) -> Option<CatalogModel> {
        let m = item.get("model")?;
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let skus = m
            .get("skus")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| {
                        Some(CatalogSku {
                            name: s(k, "name")?,
                            deprecation_date: s(k, "deprecationDate"),
                            usage_name: s(k, "usageName"),
                            capacity: Capacity::from_value(k.get("capacity")),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(CatalogModel {
            format: s(m, "format").unwrap_or_default(),
            name: s(m, "name")?,
            version: s(m, "version").unwrap_or_default(),
            skus,
            lifecycle_status: s(m, "lifecycleStatus"),
        })
    }
}

/// A region's catalog and the day ARM's clock said it was when it served it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionCatalog {
    pub models: Vec<CatalogModel>,
    /// `YYYY-MM-DD` from the first page's `Date` header, when it had a readable one.
    pub today: Option<String>,
}

/// `YYYY-MM-DD` of an HTTP-date (`Tue, 31 Mar 2026 10:00:00 GMT`, RFC 9110 5.6.7).
pub fn http_date_day(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = date.split_whitespace().skip(1);
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? + 1;
    let year: u32 = parts.next()?.parse().ok()?;
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// The catalog of `location`, every page (`nextLink`, only on the ARM endpoint's host).
/// `None` when ARM does not serve it to us (403: no permission; 404: an older ARM or
/// cloud): the caller warns and goes on.
pub async fn models(
    client: &ArmClient,
    subscription: &str,
    location: &str,
    api_version: &str,
) -> Result<Option<RegionCatalog>, ArmError> {
    let path = format!(
        "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}/models"
    );
    let url = client.url(&path, api_version)?;
    Ok(pages(client, url, &path)
        .await?
        .map(|(items, date)| RegionCatalog {
            models: items.iter().filter_map(CatalogModel::from_item).collect(),
            today: date.as_deref().and_then(http_date_day),
        }))
}

/// Every item of a list ARM pages (`value`, `nextLink` followed only on the ARM
/// endpoint's host), and the `Date` of its first page. `None` when ARM does not serve the
/// list to us (403: no permission; 404: an older ARM or cloud).
async fn pages(
    client: &ArmClient,
    mut url: Url,
    path: &str,
) -> Result<Option<(Vec<Value>, Option<String>)>, ArmError> {
    let mut out = Vec::new();
    let mut date = None;
    for _ in 0..MAX_PAGES {
        let r = client
            .send(Method::Get, url, None, RequestClass::Read, path)
            .await?;
        match r.status {
            200 => {}
            403 | 404 => return Ok(None),
            _ => return Err(ArmClient::api_error(&Method::Get, path, &r)),
        }
        if date.is_none() {
            date = r.date.clone();
        }
        if let Some(items) = r.body.get("value").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        match r.body.get("nextLink").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => url = next_url(client, next, path)?,
            _ => break,
        }
    }
    Ok(Some((out, date)))
}

/// One quota of a region (Usages_List, `GET .../locations/{l}/usages`, item
/// `{name: {value, localizedValue}, currentValue, limit, unit}`).
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    pub name: String,
    pub current_value: f64,
    pub limit: f64,
}

impl Usage {
    /// A Usages_List item; None when it has no name.
    pub fn from_item(item: &Value) -> Option<Usage> {
        let n = |k: &str| item.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Some(Usage {
            name: item.pointer("/name/value")?.as_str()?.to_string(),
            current_value: n("currentValue"),
            limit: n("limit"),
        })
    }

    /// What is left: limit less current value, never negative.
    pub fn free(&self) -> f64 {
        (self.limit - self.current_value).max(0.0)
    }
}

/// The quotas of `location` for the subscription (Usages_List; every page). `None` when
/// ARM does not serve them to us (403, 404): the caller warns and goes on.
pub async fn usages(
    client: &ArmClient,
    subscription: &str,
    location: &str,
    api_version: &str,
) -> Result<Option<Vec<Usage>>, ArmError> {
    let path = format!(
        "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}/usages"
    );
    let url = client.url(&path, api_version)?;
    Ok(pages(client, url, &path)
        .await?
        .map(|(items, _)| items.iter().filter_map(Usage::from_item).collect()))
}

/// Where a model version has room, per region and sku (ModelCapacities_List,
/// `GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/modelCapacities
/// ?modelFormat=&modelName=&modelVersion=`, spec example ListModelCapacities.json: items
/// `{location, properties: {model, skuName, availableCapacity}}`): one subscription-wide
/// read that says where else a combination a region refuses is offered.
#[derive(Clone, Debug, PartialEq)]
pub struct SkuCapacity {
    pub location: String,
    pub sku: String,
    pub available: f64,
}

/// The capacities of `name` `version` (format OpenAI) in every region. `None` when ARM
/// does not serve them to us (403, 404).
pub async fn capacities(
    client: &ArmClient,
    subscription: &str,
    name: &str,
    version: &str,
    api_version: &str,
) -> Result<Option<Vec<SkuCapacity>>, ArmError> {
    let path = format!(
        "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/modelCapacities"
    );
    let mut url = client.url(&path, api_version)?;
    url.query_pairs_mut()
        .append_pair("modelFormat", "OpenAI")
        .append_pair("modelName", name)
        .append_pair("modelVersion", version);
    Ok(pages(client, url, &path).await?.map(|(items, _)| {
        items
            .iter()
            .filter_map(|i| {
                Some(SkuCapacity {
                    location: i.get("location")?.as_str()?.to_string(),
                    sku: i.pointer("/properties/skuName")?.as_str()?.to_string(),
                    available: i
                        .pointer("/properties/availableCapacity")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0),
                })
            })
            .collect()
    }))
}

/// A `nextLink` to follow, only on the ARM endpoint's host.
fn next_url(client: &ArmClient, next: &str, path: &str) -> Result<Url, ArmError> {
    client.poll_url(next).map_err(|e| ArmError::Api {
        method: "GET".into(),
        resource: path.to_string(),
        status: 200,
        code: "UnsafeNextLink".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_item_becomes_a_model_with_its_skus_and_dates() {
        let item = json!({"kind": "OpenAI", "skuName": "S0", "model": {
            "format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06",
            "lifecycleStatus": "GenerallyAvailable",
            "skus": [{"name": "Standard", "usageName": "OpenAI.Standard.gpt-4o",
                      "capacity": {"default": 10, "maximum": 1000},
                      "deprecationDate": "2026-03-31T00:00:00Z"},
                     {"name": "GlobalStandard"}]}});
        let m = CatalogModel::from_item(&item).unwrap();
        assert_eq!(m.name, "gpt-4o");
        assert_eq!(m.version, "2024-08-06");
        assert_eq!(m.skus.len(), 2);
        assert_eq!(
            m.skus[0].deprecation_date.as_deref(),
            Some("2026-03-31T00:00:00Z")
        );
        assert_eq!(m.skus[1].deprecation_date, None);
        assert!(CatalogModel::from_item(&json!({"kind": "OpenAI"})).is_none());
        assert_eq!(
            m.skus[0].usage_name.as_deref(),
            Some("OpenAI.Standard.gpt-4o")
        );
    }

    #[test]
    fn a_usage_item_gives_its_name_and_what_is_free() {
        // The shape of Usages_List (TestGetUsages.json, Azure/azure-powershell SessionRecords).
        let u = Usage::from_item(&json!({
            "name": {"value": "OpenAI.Standard.gpt-4o", "localizedValue": "Tokens Per Minute (thousands) - gpt-4o"},
            "currentValue": 250.0, "limit": 300.0, "unit": "Count"})).unwrap();
        assert_eq!(u.name, "OpenAI.Standard.gpt-4o");
        assert_eq!(u.free(), 50.0);
        let over = Usage {
            current_value: 400.0,
            ..u
        };
        assert_eq!(over.free(), 0.0);
        assert!(Usage::from_item(&json!({"currentValue": 1})).is_none());
    }

    #[test]
    fn an_http_date_gives_its_day() {
        let d = http_date_day("Wed, 01 Apr 2026 00:00:00 GMT");
        assert_eq!(d.as_deref(), Some("2026-04-01"));
        assert_eq!(http_date_day("yesterday"), None);
    }

    #[test]
    fn capacity_settings_refuse_what_they_do_not_allow() {
        let ptu = Capacity::from_value(Some(
            &json!({"minimum": 15, "maximum": 100, "step": 5, "default": 15}),
        ));
        for ok in [15, 20, 100] {
            assert_eq!(ptu.refuses(ok), None, "{ok}");
        }
        for bad in [10, 17, 105] {
            assert_eq!(
                ptu.refuses(bad).as_deref(),
                Some("at least 15, at most 100, 15 plus a multiple of 5"),
                "{bad}"
            );
        }
        let listed = Capacity::from_value(Some(&json!({"allowedValues": [1, 2, 4]})));
        assert_eq!(listed.refuses(2), None);
        assert_eq!(listed.refuses(3).as_deref(), Some("one of 1, 2, 4"));
        // No settings: nothing is refused.
        assert_eq!(Capacity::from_value(None).refuses(7), None);
        let standard = Capacity::from_value(Some(&json!({"default": 10, "maximum": 1000})));
        assert_eq!(standard.refuses(1), None);
        assert!(standard.refuses(1001).is_some());
    }
}
