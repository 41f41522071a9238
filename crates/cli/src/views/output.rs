//! How `output` looks: the gateway and API URLs, and snippets for the official openai
//! SDK (Python) and curl that call the API through its path, one pair per API shape the
//! plan serves (`super::snippets`); the key only when `--show-secrets` asked for it (the
//! snippets read it from `AOAI_LB_API_KEY`).

use serde_json::json;

use super::snippets::{self, Snippets};
use super::{Human, Json, View};
use crate::printer::Printer;
use aoai_lb_core::model::Model;
use aoai_lb_engine::traffic::Endpoint;

/// Where clients go.
pub struct Outputs<'a> {
    pub model: &'a Model,
    pub endpoint: &'a Endpoint,
    /// The subscription's primary key, only with `--show-secrets`.
    pub key: Option<&'a str>,
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
            (None, None) => text.push_str("subscription_key = (the plan has no apim.subscription)\n"),
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
