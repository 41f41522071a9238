//! API Management's token metrics: `llm-emit-token-metric` and
//! `azure-openai-emit-token-metric` (learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy
//! and azure-openai-emit-token-metric-policy; MicrosoftDocs/azure-docs articles/api-management
//! and includes/api-management-emit-metric-dimensions-llm.md).
//!
//! - `namespace` (no expressions; default `API Management`) and one to five
//!   (`llm-emit-token-metric`) or ten (`azure-openai-emit-token-metric`) `<dimension
//!   name=… value=…/>`; a value may be an expression, and may be left out only for a
//!   default dimension: API ID, Operation ID, Product ID, User ID, Subscription ID,
//!   Location, Gateway ID and (`llm-` only) Backend ID.
//! - Each answered request emits Total Tokens, Prompt Tokens and Completion Tokens from
//!   the answer's `usage`; a streamed one's are estimated (`estimated: true`) unless its
//!   stream carries a usage chunk.
//! - APIM sends them to Application Insights only through a logger the API's (or the
//!   service's) `applicationinsights` diagnostic names with metrics on; each record says
//!   which logger that is (`loggerId`, null: in Azure it would go nowhere).
//!
//! The emulator keeps every record; `GET /_emulator/metrics` returns them with their sums
//! per namespace and dimensions.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::context::RequestContext;
use super::tokens::Used;
use crate::policy::{Element, is_expression};

/// One emit-token-metric element.
#[derive(Clone, Debug, PartialEq)]
pub struct EmitMetric {
    pub element: String,
    pub namespace: String,
    /// Name and value (None: a default dimension's own value).
    pub dimensions: Vec<(String, Option<String>)>,
}

pub fn is_emit_metric(name: &str) -> bool {
    name == "llm-emit-token-metric" || name == "azure-openai-emit-token-metric"
}

fn defaults(element: &str) -> &'static [&'static str] {
    const AZURE: [&str; 7] = [
        "API ID",
        "Operation ID",
        "Product ID",
        "User ID",
        "Subscription ID",
        "Location",
        "Gateway ID",
    ];
    const LLM: [&str; 8] = [
        "API ID",
        "Operation ID",
        "Product ID",
        "User ID",
        "Subscription ID",
        "Location",
        "Gateway ID",
        "Backend ID",
    ];
    if element == "llm-emit-token-metric" {
        &LLM
    } else {
        &AZURE
    }
}

/// An emit-token-metric element read as the docs define it; the reason when it is not valid.
pub fn read(el: &Element) -> Result<EmitMetric, String> {
    if let Some((unknown, _)) = el
        .attributes
        .iter()
        .find(|(k, _)| k != "namespace" && k != "value")
    {
        return Err(format!("the attribute '{unknown}' is not allowed"));
    }
    let namespace = el.attr("namespace").unwrap_or("API Management");
    if is_expression(namespace) {
        return Err("policy expressions aren't allowed in 'namespace'".into());
    }
    let mut dimensions = Vec::new();
    for d in el.elements() {
        if d.name != "dimension" {
            return Err(format!(
                "<{}> is not allowed here, only <dimension>",
                d.name
            ));
        }
        let name = d
            .attr("name")
            .filter(|n| !n.trim().is_empty())
            .ok_or("a <dimension> needs a 'name'")?;
        let value = d.attr("value").map(str::to_string);
        if value.is_none() && !defaults(&el.name).contains(&name) {
            return Err(format!(
                "the dimension '{name}' needs a 'value': only default dimensions ({}) may omit it",
                defaults(&el.name).join(", ")
            ));
        }
        dimensions.push((name.to_string(), value));
    }
    let max = if el.name == "llm-emit-token-metric" {
        5
    } else {
        10
    };
    if dimensions.is_empty() || dimensions.len() > max {
        return Err(format!(
            "<{}> takes one to {max} dimensions, not {}",
            el.name,
            dimensions.len()
        ));
    }
    Ok(EmitMetric {
        element: el.name.clone(),
        namespace: namespace.to_string(),
        dimensions,
    })
}

/// Where a request went: what the backend-dependent dimensions say.
pub struct Answered<'a> {
    /// The backend entity that answered (a pool's member), if any.
    pub backend: Option<&'a str>,
    pub account: &'a str,
    /// `x-ms-region` of the answer.
    pub region: &'a str,
}

/// One request's token metric, with its dimensions.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub seq: u64,
    pub at_ms: u64,
    pub namespace: String,
    pub dimensions: BTreeMap<String, String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub estimated: bool,
    pub backend: Option<String>,
    pub account: String,
    pub region: String,
    /// The Application Insights logger the metric would reach in Azure.
    pub logger_id: Option<String>,
}

/// The value of a default dimension.
fn default_value(name: &str, cx: &RequestContext, a: &Answered) -> String {
    let or_empty =
        |v: &Option<(String, String)>| v.as_ref().map(|x| x.0.clone()).unwrap_or_default();
    match name {
        "API ID" => cx.api.0.clone(),
        "Operation ID" => cx.operation.0.clone(),
        "Product ID" => or_empty(&cx.product),
        "User ID" => cx.user.clone().unwrap_or_default(),
        "Subscription ID" => or_empty(&cx.subscription),
        "Location" => cx.service.1.clone(),
        // The managed gateway of the service (the emulator has no self-hosted ones).
        "Gateway ID" => "managed".into(),
        "Backend ID" => a.backend.unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

/// The records of one answered request, one per element.
#[allow(clippy::too_many_arguments)]
pub fn emit(
    metrics: &[EmitMetric],
    cx: &RequestContext,
    answered: &Answered,
    used: Used,
    seq: u64,
    at_ms: u64,
    logger_id: Option<&str>,
) -> Vec<Record> {
    metrics
        .iter()
        .map(|m| Record {
            seq,
            at_ms,
            namespace: m.namespace.clone(),
            dimensions: m
                .dimensions
                .iter()
                .map(|(name, value)| {
                    let name = cx.eval(name).unwrap_or_else(|e| format!("({e})"));
                    let v = match value {
                        Some(v) => cx.eval(v).unwrap_or_else(|e| format!("({e})")),
                        None => default_value(&name, cx, answered),
                    };
                    (name, v)
                })
                .collect(),
            prompt_tokens: used.prompt,
            completion_tokens: used.completion,
            total_tokens: used.total(),
            estimated: used.estimated,
            backend: answered.backend.map(str::to_string),
            account: answered.account.to_string(),
            region: answered.region.to_string(),
            logger_id: logger_id.map(str::to_string),
        })
        .collect()
}

/// `GET /_emulator/metrics`: every record, and the sums per namespace and dimensions.
pub fn view(records: &[Record], now: u64) -> Value {
    let mut series: BTreeMap<String, Value> = BTreeMap::new();
    for r in records {
        let k = format!("{}|{}", r.namespace, json!(r.dimensions));
        let s = series.entry(k).or_insert_with(|| {
            json!({"namespace": r.namespace, "dimensions": r.dimensions, "requests": 0,
                   "promptTokens": 0, "completionTokens": 0, "totalTokens": 0})
        });
        for (field, add) in [
            ("requests", 1),
            ("promptTokens", r.prompt_tokens),
            ("completionTokens", r.completion_tokens),
            ("totalTokens", r.total_tokens),
        ] {
            s[field] = json!(s[field].as_u64().unwrap_or(0) + add);
        }
    }
    json!({
        "nowMs": now,
        "records": records,
        "series": series.into_values().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Format, parse};

    fn metric(xml: &str) -> Result<EmitMetric, String> {
        read(&parse(xml, Format::RawXml).unwrap())
    }

    #[test]
    fn dimensions_defaults_and_expressions() {
        let m = metric(r#"<llm-emit-token-metric namespace="aoai-lb"><dimension name="Subscription ID" /><dimension name="Client" value="@(context.Subscription.Name)" /><dimension name="Backend ID" /></llm-emit-token-metric>"#).unwrap();
        let cx = RequestContext {
            subscription: Some(("team-a".into(), "Team A".into())),
            ..Default::default()
        };
        let a = Answered {
            backend: Some("eastus-backend"),
            account: "aoai-eastus",
            region: "East US",
        };
        let used = Used {
            prompt: 9,
            completion: 3,
            estimated: false,
        };
        let r = emit(&[m], &cx, &a, used, 1, 5, None);
        assert_eq!(r[0].dimensions["Subscription ID"], "team-a");
        assert_eq!(r[0].dimensions["Client"], "Team A");
        assert_eq!(r[0].dimensions["Backend ID"], "eastus-backend");
        assert_eq!(r[0].total_tokens, 12);
        let v = view(&r, 9);
        assert_eq!(v["series"][0]["totalTokens"], 12);
    }

    #[test]
    fn what_the_docs_refuse() {
        for (xml, why) in [
            (
                r#"<llm-emit-token-metric><dimension name="Team" /></llm-emit-token-metric>"#,
                "needs a 'value'",
            ),
            (
                r#"<llm-emit-token-metric namespace="@(x)"><dimension name="API ID" /></llm-emit-token-metric>"#,
                "namespace",
            ),
            (r#"<llm-emit-token-metric />"#, "one to 5"),
            (
                r#"<azure-openai-emit-token-metric><dimension name="Backend ID" /></azure-openai-emit-token-metric>"#,
                "needs a 'value'",
            ),
        ] {
            let e = metric(xml).unwrap_err();
            assert!(e.contains(why), "{xml}: {e}");
        }
        let six = "<dimension name=\"API ID\" />".repeat(6);
        assert!(
            metric(&format!(
                "<llm-emit-token-metric>{six}</llm-emit-token-metric>"
            ))
            .is_err()
        );
        assert!(
            metric(&format!(
                "<azure-openai-emit-token-metric>{six}</azure-openai-emit-token-metric>"
            ))
            .is_ok()
        );
    }
}
