//! The API policy, rendered from a Handlebars template.
//!
//! Built-in templates live in `templates/` (embedded in the binary); a plan may name
//! its own `.xml.hbs` file. Every rendered policy is checked the way APIM checks it:
//! it must parse (rawxml, expressions and all), have a `<policies>` root, and every
//! `set-backend-service backend-id` must name a backend this plan creates.

use handlebars::Handlebars;
use serde_json::{Value, json};

use super::desired::Facts;
use super::ids;
use super::model::{Identity, Model, PolicyTemplate};
use super::policy_xml::{self, Format};

mod template_limits;

pub const BUILTIN: &[&str] = &["pool", "random"];

const POOL: &str = include_str!("../../../../templates/pool.xml.hbs");
const RANDOM: &str = include_str!("../../../../templates/random.xml.hbs");

/// The encoding rendered policies are sent in: templates are written the way the seed
/// labs write policies, with raw characters inside expressions.
pub const FORMAT: Format = Format::RawXml;
pub const FORMAT_NAME: &str = "rawxml";

pub fn is_builtin(name: &str) -> bool {
    BUILTIN.contains(&name)
}

/// Text of a built-in template.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    match name {
        "pool" => Some(POOL),
        "random" => Some(RANDOM),
        _ => None,
    }
}

/// The policy variable that holds the deployment a request is for: the `pool` template
/// sets it from the operation's `deployment-id` and picks the pool by it.
pub const ROUTING_VARIABLE: &str = "aoai-lb-deployment";

/// What a template can use. Documented in `docs/policy-templates.md`.
pub fn context(model: &Model, facts: &Facts) -> Value {
    let service_id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let backends: Vec<Value> = model
        .accounts
        .iter()
        .map(|a| {
            json!({
                "name": a.backend.name,
                "id": ids::apim_backend(&service_id, &a.backend.name),
                "url": a.backend_url(),
                "priority": a.backend.priority,
                "weight": a.backend.weight,
                "account": a.name,
                "location": a.location,
                "region": a.region_display_name,
            })
        })
        .collect();
    let client_id = match &model.apim.identity {
        Identity::SystemAssigned => Value::Null,
        Identity::UserAssigned { .. } => Value::String(facts.client_id_or_unknown()),
    };
    let pools: Vec<Value> = model
        .apim
        .pools
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "id": ids::apim_backend(&service_id, &p.name),
                "deployments": p.deployments,
                "members": p.members.iter().map(|m| json!({
                    "backend": m.backend,
                    "priority": m.priority,
                    "weight": m.weight,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let served: Vec<&str> = model
        .apim
        .pools
        .iter()
        .flat_map(|p| p.deployments.iter().map(String::as_str))
        .collect();
    json!({
        "pool": {
            "name": model.apim.pool.name,
            "id": ids::apim_backend(&service_id, &model.apim.pool.name),
        },
        "pools": pools,
        "routing": {
            "variable": ROUTING_VARIABLE,
            "served": if served.is_empty() { "none".to_string() } else { served.join(", ") },
            "byModel": crate::spec::serves_v1(&model.apim.api),
            "anyPool": model.apim.pools.first().map(|p| p.name.as_str()),
        },
        "backends": backends,
        "managedIdentity": {
            "type": match model.apim.identity { Identity::SystemAssigned => "SystemAssigned", Identity::UserAssigned { .. } => "UserAssigned" },
            "clientId": client_id,
            "resource": ids::COGNITIVE_SERVICES_RESOURCE,
        },
        "retry": { "count": model.apim.policy.retry },
        "api": {
            "name": model.apim.api.name,
            "path": model.apim.api.path,
            "subscriptionKeyHeader": model.apim.api.subscription_key_header,
        },
        "tokens": tokens(model),
    })
}

/// The token-limit policy element for the API's type. Microsoft's policy reference:
/// `azure-openai-token-limit` is for APIs "added to API Management from Azure OpenAI"
/// (chat completions, completions, embeddings: what a dated inference spec imports),
/// `llm-token-limit` for APIs that follow the OpenAI chat completions schema (the v1
/// API). Same attributes, same counters.
pub fn token_limit_element(model: &Model) -> &'static str {
    if crate::spec::is_v1(&model.apim.api.spec) {
        "llm-token-limit"
    } else {
        "azure-openai-token-limit"
    }
}

/// The namespace of the token metrics in Application Insights (customMetrics).
pub const METRIC_NAMESPACE: &str = "aoai-lb";

/// Headers the token limits put on every answer (names from Microsoft's AI gateway labs).
pub const REMAINING_TOKENS_HEADER: &str = "remaining-tokens";
pub const REMAINING_QUOTA_HEADER: &str = "remaining-quota-tokens";
pub const CONSUMED_TOKENS_HEADER: &str = "consumed-tokens";

/// `tokens` in the template context: the clients, the limited ones, and the elements.
fn tokens(model: &Model) -> Value {
    let clients: Vec<Value> = model
        .apim
        .clients
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "displayName": c.display_name,
                "tokensPerMinute": c.tokens_per_minute,
                "tokenQuota": c.token_quota.as_ref().map(|q| q.tokens),
                "tokenQuotaPeriod": c.token_quota.as_ref().map(|q| q.period.clone()),
            })
        })
        .collect();
    let limited: Vec<Value> = model
        .apim
        .clients
        .iter()
        .zip(&clients)
        .filter(|(c, _)| c.is_limited())
        .map(|(_, v)| v.clone())
        .collect();
    json!({
        "clients": clients,
        "limited": limited,
        "limitElement": token_limit_element(model),
        "metricNamespace": METRIC_NAMESPACE,
        // The v1 API names the deployment in the body, not the URL.
        "deploymentDimension": !crate::spec::is_v1(&model.apim.api.spec),
        "remainingTokensHeader": REMAINING_TOKENS_HEADER,
        "remainingQuotaHeader": REMAINING_QUOTA_HEADER,
        "consumedTokensHeader": CONSUMED_TOKENS_HEADER,
    })
}

/// Rendered policies are at most this long: APIM's limit for a policy document is
/// 256 KB (azure-docs, includes/api-management-service-limits.md, "Maximum policy
/// document size"). Rendering stops there, so no template can fill memory.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// Why a policy cannot be rendered or would be refused by APIM; each a sentence.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("no built-in template `{0}`")]
    NoBuiltin(String),
    #[error("template `{name}` {problem}")]
    Unsafe {
        name: String,
        problem: template_limits::LimitError,
    },
    #[error("template `{name}` does not parse: {source}")]
    Parse {
        name: String,
        source: Box<handlebars::TemplateError>,
    },
    #[error("template `{name}` does not render: {source}")]
    Render {
        name: String,
        source: Box<handlebars::RenderError>,
    },
    #[error(
        "template `{name}` renders more than {MAX_POLICY_BYTES} bytes, APIM's limit for a policy document (256 KB)"
    )]
    TooLarge { name: String },
    #[error(transparent)]
    Xml(#[from] policy_xml::XmlError),
    #[error("the root element is <{0}>, not <policies>")]
    WrongRoot(String),
    #[error(
        "set-backend-service names backend `{id}`, which this plan does not create (it creates {known})"
    )]
    UnknownBackend { id: String, known: String },
}

/// Collects rendered output and refuses to grow past [`MAX_POLICY_BYTES`].
#[derive(Default)]
struct Bounded {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_POLICY_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("the policy is too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders the plan's policy and checks it. `Err` says what is wrong, in a sentence.
pub fn render(model: &Model, facts: &Facts) -> Result<String, PolicyError> {
    let (name, source) = match &model.apim.policy.template {
        PolicyTemplate::Builtin { name } => (
            name.as_str(),
            builtin_source(name).ok_or_else(|| PolicyError::NoBuiltin(name.clone()))?,
        ),
        PolicyTemplate::File { path, content } => (path.as_str(), content.as_str()),
    };
    // Handlebars parses and renders recursively: a template nested deep enough, or a
    // partial that includes itself, would overflow the stack. Refuse those first.
    template_limits::check(source).map_err(|problem| PolicyError::Unsafe {
        name: name.to_string(),
        problem,
    })?;
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // XML escaping: enough for attribute values and text, and nothing that changes a
    // URL or a GUID (Handlebars' HTML escaping would turn `=` into `&#x3D;`).
    hb.register_escape_fn(policy_xml::escape);
    hb.register_template_string(name, source)
        .map_err(|e| PolicyError::Parse {
            name: name.to_string(),
            source: Box::new(e),
        })?;
    let mut out = Bounded::default();
    let rendered = hb.render_to_write(name, &context(model, facts), &mut out);
    if out.overflowed {
        return Err(PolicyError::TooLarge {
            name: name.to_string(),
        });
    }
    rendered.map_err(|e| PolicyError::Render {
        name: name.to_string(),
        source: Box::new(e),
    })?;
    // Handlebars writes whole `str` pieces, so the bytes are UTF-8.
    let text = String::from_utf8_lossy(&out.bytes).into_owned();
    check(model, &text)?;
    Ok(text)
}

/// The checks APIM makes when a policy is saved.
pub fn check(model: &Model, policy: &str) -> Result<(), PolicyError> {
    let root = policy_xml::parse(policy, FORMAT)?;
    if root.name != "policies" {
        return Err(PolicyError::WrongRoot(root.name.clone()));
    }
    // The pools this plan creates (the plan's pool name only while it is one of them).
    let known: Vec<&str> = (model.apim.pools.iter().map(|p| p.name.as_str()))
        .chain(model.accounts.iter().map(|a| a.backend.name.as_str()))
        .collect();
    for el in root.descendants() {
        if el.name != "set-backend-service" {
            continue;
        }
        if let Some(id) = el.attr("backend-id")
            && !id.starts_with('@')
            && !known.iter().any(|k| k.eq_ignore_ascii_case(id))
        {
            return Err(PolicyError::UnknownBackend {
                id: id.to_string(),
                known: known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}
