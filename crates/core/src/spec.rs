//! The Azure OpenAI inference OpenAPI spec: bundled versions and the seed lab's patch.
//!
//! APIM derives the API's service URL from `servers[0]`, whose `{endpoint}` variable
//! means nothing to it, so the lab points `servers[0].url` and the variable's default
//! at a real account endpoint. We do the same with the first account by priority.

use serde_json::Value;

use super::model::{Model, SpecSource};

pub const BUNDLED_VERSIONS: &[&str] = &["2024-02-01", "2024-10-21"];

const SPEC_2024_02_01: &str = include_str!("../../../specs/inference/2024-02-01/inference.json");
const SPEC_2024_10_21: &str = include_str!("../../../specs/inference/2024-10-21/inference.json");

pub fn is_bundled(version: &str) -> bool {
    BUNDLED_VERSIONS.contains(&version)
}

fn bundled(version: &str) -> Option<&'static str> {
    match version {
        "2024-02-01" => Some(SPEC_2024_02_01),
        "2024-10-21" => Some(SPEC_2024_10_21),
        _ => None,
    }
}

/// Parses a spec file: JSON, or YAML for `.yaml`/`.yml` paths.
fn parse(path: &str, text: &str) -> Result<Value, String> {
    let lower = path.to_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        serde_saphyr::from_str::<Value>(text)
            .map_err(|e| format!("is not valid YAML: {}", crate::parse::message_of(&e)))
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| format!("is not valid JSON: {e}"))
    }
}

/// What APIM needs of a user's spec: OpenAPI 3 with at least one server URL.
pub fn check_user_spec(path: &str, text: &str) -> Result<(), String> {
    let doc = parse(path, text)?;
    check_doc(&doc)
}

fn check_doc(doc: &Value) -> Result<(), String> {
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.") => {}
        Some(v) => {
            return Err(format!(
                "is OpenAPI {v}; APIM imports OpenAPI 3 here (format openapi+json)"
            ));
        }
        None => return Err("has no `openapi` field: it is not an OpenAPI 3 document".into()),
    }
    match doc.get("servers").and_then(Value::as_array) {
        Some(servers)
            if servers
                .first()
                .and_then(|s| s.get("url"))
                .and_then(Value::as_str)
                .is_some() =>
        {
            Ok(())
        }
        _ => Err(
            "has no `servers` entry with a `url`: APIM needs one to set the API's service URL"
                .into(),
        ),
    }
}

/// The account whose endpoint the spec points at: lowest priority number, first in the plan on ties.
pub fn primary_account(model: &Model) -> Option<&crate::model::Account> {
    model.accounts.iter().min_by_key(|a| a.backend.priority)
}

/// The spec to import, patched, as pretty JSON text.
pub fn patched(model: &Model) -> Result<String, String> {
    let mut doc = match &model.apim.api.spec {
        SpecSource::Bundled { version } => {
            let text = bundled(version).ok_or_else(|| format!("no bundled spec {version}"))?;
            serde_json::from_str::<Value>(text)
                .map_err(|e| format!("bundled spec {version}: {e}"))?
        }
        SpecSource::File { path, content } => {
            let doc = parse(path, content).map_err(|r| format!("spec `{path}` {r}"))?;
            check_doc(&doc).map_err(|r| format!("spec `{path}` {r}"))?;
            doc
        }
    };
    let account = primary_account(model).ok_or("the plan has no account")?;
    let endpoint = account.endpoint();
    let server = doc
        .get_mut("servers")
        .and_then(Value::as_array_mut)
        .and_then(|s| s.first_mut())
        .and_then(Value::as_object_mut)
        .ok_or("the spec has no `servers[0]` object")?;
    server.insert("url".into(), Value::String(account.backend_url()));
    let variables = server
        .entry("variables")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(vars) = variables.as_object_mut() {
        let ep = vars
            .entry("endpoint")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(ep) = ep.as_object_mut() {
            ep.insert("default".into(), Value::String(endpoint));
        }
    }
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}
