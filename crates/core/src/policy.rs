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

pub const BUILTIN: &[&str] = &["pool", "random"];

const POOL: &str = include_str!("../../../templates/pool.xml.hbs");
const RANDOM: &str = include_str!("../../../templates/random.xml.hbs");

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
    json!({
        "pool": {
            "name": model.apim.pool.name,
            "id": ids::apim_backend(&service_id, &model.apim.pool.name),
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
    })
}

/// Renders the plan's policy and checks it. `Err` says what is wrong, in a sentence.
pub fn render(model: &Model, facts: &Facts) -> Result<String, String> {
    let (name, source) = match &model.apim.policy.template {
        PolicyTemplate::Builtin { name } => (
            name.as_str(),
            builtin_source(name).ok_or_else(|| format!("no built-in template `{name}`"))?,
        ),
        PolicyTemplate::File { path, content } => (path.as_str(), content.as_str()),
    };
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // XML escaping: enough for attribute values and text, and nothing that changes a
    // URL or a GUID (Handlebars' HTML escaping would turn `=` into `&#x3D;`).
    hb.register_escape_fn(policy_xml::escape);
    hb.register_template_string(name, source)
        .map_err(|e| format!("template `{name}` does not parse: {e}"))?;
    let text = hb
        .render(name, &context(model, facts))
        .map_err(|e| format!("template `{name}` does not render: {e}"))?;
    check(model, &text)?;
    Ok(text)
}

/// The checks APIM makes when a policy is saved.
pub fn check(model: &Model, policy: &str) -> Result<(), String> {
    let root = policy_xml::parse(policy, FORMAT)?;
    if root.name != "policies" {
        return Err(format!(
            "the root element is <{}>, not <policies>",
            root.name
        ));
    }
    let known: Vec<&str> = std::iter::once(model.apim.pool.name.as_str())
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
            return Err(format!(
                "set-backend-service names backend `{id}`, which this plan does not create (it creates {})",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}
