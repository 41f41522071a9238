//! How `output` looks: the gateway and API URLs, and snippets for the official openai
//! SDK (Python) and curl that call the API through its path; the key only when
//! `--show-secrets` asked for it (the snippets read it from `AOAI_LB_API_KEY`).

use serde_json::json;

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

impl Outputs<'_> {
    /// The openai SDK for Python: `base_url` is the deployment's URL under the API's
    /// path (the SDK's `azure_endpoint` would add `/openai`, which only fits an API at
    /// that path); the key goes in the header the API expects.
    fn python(&self) -> String {
        let e = self.endpoint;
        format!(
            "import os\nfrom openai import AzureOpenAI\n\nclient = AzureOpenAI(\n    base_url=\"{}/deployments/{}\",\n    api_version=\"{}\",\n    api_key=os.environ[\"AOAI_LB_API_KEY\"],\n    default_headers={{\"{}\": os.environ[\"AOAI_LB_API_KEY\"]}},\n)\nreply = client.chat.completions.create(\n    model=\"{}\",\n    messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}],\n)\nprint(reply.choices[0].message.content)\n",
            e.api_url, e.deployment, e.api_version, e.header, e.deployment
        )
    }

    fn curl(&self) -> String {
        let e = self.endpoint;
        format!(
            "curl -sS \"{}\" \\\n  -H \"{}: $AOAI_LB_API_KEY\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n",
            e.url, e.header
        )
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
            (None, None) => text.push_str("subscription_key = (the plan has no apim.subscription)\n"),
        }
        text.push_str(&format!(
            "\n# Python, the openai package (export AOAI_LB_API_KEY first):\n{}\n# curl:\n{}",
            o.python(),
            o.curl()
        ));
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
            "snippets": { "python": o.python(), "curl": o.curl() },
        });
        if let Some(key) = o.key {
            doc["subscriptionKey"] = json!(key);
        }
        self.printer.json(&doc);
    }
}
