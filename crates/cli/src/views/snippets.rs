//! Client snippets that work for the API's shape, printed by `output` and `apply`.
//!
//! The openai package for Python builds URLs in two ways, and only one fits a given API:
//! `AzureOpenAI(azure_endpoint=X)` calls `X/openai/deployments/{model}/...?api-version=`
//! (it appends `/openai`), so it reaches a dated API only when the API's path ends in
//! `openai` (`aoai_lb_core::spec::azure_endpoint_prefix`); any other path needs
//! `base_url=<api url>/deployments/<deployment>`. The v1 API takes the plain
//! `OpenAI(base_url=<api url>/v1)` client, the deployment in `model`, no api-version.
//! API Management wants the subscription key in the API's header: `AzureOpenAI` sends
//! `api_key` as `api-key`, `OpenAI` as `Authorization: Bearer`, so the header is also set
//! with `default_headers` unless it is `api-key` and the client already sends it.

use aoai_lb_core::model::Model;
use aoai_lb_core::spec;
use aoai_lb_engine::traffic::Endpoint;

/// The environment variable every snippet reads the key from.
const KEY_VAR: &str = "AOAI_LB_API_KEY";

/// The snippets of one API shape.
pub struct Snippets {
    /// `dated` or `v1`.
    pub shape: &'static str,
    pub url: String,
    pub python: String,
    pub curl: String,
}

/// The snippets for every shape the plan's API serves: the dated one first.
pub fn for_api(model: &Model, e: &Endpoint) -> Vec<Snippets> {
    let mut out = Vec::new();
    if !spec::is_v1(&model.apim.api.spec) {
        out.push(dated(model, e));
    }
    if spec::serves_v1(&model.apim.api) {
        out.push(v1(e));
    }
    out
}

fn key_headers(header: &str, client_sends_it: bool) -> String {
    if client_sends_it {
        String::new()
    } else {
        format!("    default_headers={{\"{header}\": os.environ[\"{KEY_VAR}\"]}},\n")
    }
}

fn chat_call(deployment: &str) -> String {
    format!(
        "reply = client.chat.completions.create(\n    model=\"{deployment}\",\n    messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}],\n)\nprint(reply.choices[0].message.content)\n"
    )
}

fn dated(model: &Model, e: &Endpoint) -> Snippets {
    let sends = e.header.eq_ignore_ascii_case("api-key");
    let target = match spec::azure_endpoint_prefix(&model.apim.api.path) {
        Some("") => format!("    azure_endpoint=\"{}\",\n", e.gateway_url),
        Some(prefix) => format!("    azure_endpoint=\"{}/{prefix}\",\n", e.gateway_url),
        None => format!(
            "    base_url=\"{}/deployments/{}\",\n",
            e.api_url, e.deployment
        ),
    };
    let python = format!(
        "import os\nfrom openai import AzureOpenAI\n\nclient = AzureOpenAI(\n{target}    api_version=\"{}\",\n    api_key=os.environ[\"{KEY_VAR}\"],\n{})\n{}",
        e.api_version,
        key_headers(&e.header, sends),
        chat_call(&e.deployment)
    );
    let url = format!(
        "{}/deployments/{}/chat/completions?api-version={}",
        e.api_url, e.deployment, e.api_version
    );
    let curl = format!(
        "curl -sS \"{url}\" \\\n  -H \"{}: ${KEY_VAR}\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n",
        e.header
    );
    Snippets {
        shape: "dated",
        url,
        python,
        curl,
    }
}

fn v1(e: &Endpoint) -> Snippets {
    let base = format!("{}{}", e.api_url, spec::V1_PREFIX);
    let python = format!(
        "import os\nfrom openai import OpenAI\n\nclient = OpenAI(\n    base_url=\"{base}\",\n    api_key=os.environ[\"{KEY_VAR}\"],\n{})\n{}",
        key_headers(&e.header, false),
        chat_call(&e.deployment)
    );
    let url = format!("{base}/chat/completions");
    let curl = format!(
        "curl -sS \"{url}\" \\\n  -H \"{}: ${KEY_VAR}\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"model\": \"{}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n",
        e.header, e.deployment
    );
    Snippets {
        shape: "v1",
        url,
        python,
        curl,
    }
}
