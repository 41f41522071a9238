//! How `output` looks: the gateway and API URLs, and snippets for the official openai
//! SDK (Python) and curl that call the API through its path, one pair per API shape the
//! plan serves (`super::snippets`); each client's limits and the Application Insights
//! component; the keys only when `--show-secrets` asked for them (the snippets read the
//! key from `AOAI_LB_API_KEY`).

use serde_json::json;

use super::snippets::{self, Snippets};
use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_core::model::{Client, Model};
use aoai_lb_engine::traffic::Endpoint;

/// Where clients go.
pub struct Outputs<'a> {
    pub model: &'a Model,
    pub endpoint: &'a Endpoint,
    /// The subscription's primary key, only with `--show-secrets`.
    pub key: Option<&'a str>,
    /// Each client's primary key, in the plan's order, only with `--show-secrets`.
    pub client_keys: Vec<&'a str>,
}

/// A client's limits in words: `5000 tokens a minute, 1000000 tokens Monthly`.
fn limits(c: &Client) -> String {
    let mut parts = Vec::new();
    if let Some(tpm) = c.tokens_per_minute {
        parts.push(format!("{tpm} tokens a minute"));
    }
    if let Some(q) = &c.token_quota {
        parts.push(format!("{} tokens {}", q.tokens, q.period));
    }
    if parts.is_empty() {
        "unlimited".into()
    } else {
        parts.join(", ")
    }
}

/// The view of `aoai-lb output`.
pub trait OutputView: View {
    fn outputs(&self, o: &Outputs);
}

pub fn view(printer: &Printer) -> Box<dyn OutputView> {
    super::for_format!(printer)
}

impl OutputView for Human {
    fn outputs(&self, o: &Outputs) {
        let e = o.endpoint;
        let mut text = format!(
            "gateway_url      = {}\napi_url          = {}\nchat_completions = {}\nkey_header       = {}\n",
            e.gateway_url, e.api_url, e.url, e.header
        );
        match (o.key, &o.model.apim.subscription) {
            (Some(key), _) => text.push_str(&format!("subscription_key = {key}\n")),
            (None, Some(s)) => text.push_str(&format!(
                "subscription_key = (sensitive: the key of APIM subscription `{}`; --show-secrets prints it)\n",
                s.name
            )),
            (None, None) if !o.model.apim.clients.is_empty() => text.push_str(
                "subscription_key = (the plan has no apim.subscription: each client has its own key)\n",
            ),
            (None, None) => text.push_str("subscription_key = (the plan has no apim.subscription)\n"),
        }
        for (i, c) in o.model.apim.clients.iter().enumerate() {
            let key = o.client_keys.get(i).map_or_else(
                || {
                    format!(
                        "(sensitive: the key of APIM subscription `{}`; --show-secrets prints it)",
                        c.name
                    )
                },
                |k| k.to_string(),
            );
            text.push_str(&format!(
                "client.{}.key    = {key}\nclient.{}.limits = {}\n",
                c.name,
                c.name,
                limits(c)
            ));
        }
        if let Some(ai) = &o.model.apim.app_insights {
            let whose = if ai.create.is_some() {
                "created by aoai-lb"
            } else {
                "existing"
            };
            let what = if o.model.apim.clients.is_empty() {
                "request logs; token metrics come with apim.clients".to_string()
            } else {
                format!(
                    "token metrics in namespace {}",
                    aoai_lb_core::policy::METRIC_NAMESPACE
                )
            };
            text.push_str(&format!(
                "app_insights     = {} ({whose}, logger {}: {what})\n",
                ai.id,
                ai.logger_name()
            ));
        }
        text.push_str(&human_snippets(&snippets::for_api(o.model, e)));
        self.printer.result(text.trim_end());
    }
}

impl OutputView for Json {
    fn outputs(&self, o: &Outputs) {
        let e = o.endpoint;
        let mut doc = json!({
            "gatewayUrl": e.gateway_url,
            "apiUrl": e.api_url,
            "chatCompletionsUrl": e.url,
            "deployment": e.deployment,
            "apiVersion": e.api_version,
            "subscriptionKeyHeader": e.header,
            "subscription": o.model.apim.subscription.as_ref().map(|s| &s.name),
            "snippets": json_snippets(&snippets::for_api(o.model, e)),
        });
        if let Some(key) = o.key {
            doc["subscriptionKey"] = json!(key);
        }
        if !o.model.apim.clients.is_empty() {
            let clients: Vec<_> = o
                .model
                .apim
                .clients
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut v = json!({
                        "name": c.name,
                        "subscription": c.name,
                        "tokensPerMinute": c.tokens_per_minute,
                        "tokenQuota": c.token_quota.as_ref().map(|q| q.tokens),
                        "tokenQuotaPeriod": c.token_quota.as_ref().map(|q| &q.period),
                    });
                    if let Some(k) = o.client_keys.get(i) {
                        v["key"] = json!(k);
                    }
                    v
                })
                .collect();
            doc["clients"] = json!(clients);
        }
        if let Some(ai) = &o.model.apim.app_insights {
            doc["appInsights"] = json!({
                "component": ai.id,
                "createdByAoaiLb": ai.create.is_some(),
                "logger": ai.logger_name(),
            });
        }
        self.printer.json(&doc);
    }
}

/// Each shape's snippets as text: the dated shape's heading stays what it always was.
pub fn human_snippets(all: &[Snippets]) -> String {
    let mut text = String::new();
    for s in all {
        let what = if s.shape == "v1" {
            " for the v1 API (model in the body, no api-version)"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n# Python, the openai package{what} (export AOAI_LB_API_KEY first):\n{}\n# curl{what}:\n{}",
            s.python, s.curl
        ));
    }
    text
}

/// `{"python", "curl"}` of the first shape, and `"v1": {"url", "python", "curl"}` when
/// the API also (or only) serves the v1 shape.
pub fn json_snippets(all: &[Snippets]) -> serde_json::Value {
    let mut doc = json!({});
    if let Some(first) = all.first() {
        doc["python"] = json!(first.python);
        doc["curl"] = json!(first.curl);
    }
    if let Some(v1) = all.iter().find(|s| s.shape == "v1") {
        doc["v1"] = json!({"url": v1.url, "python": v1.python, "curl": v1.curl});
    }
    doc
}
