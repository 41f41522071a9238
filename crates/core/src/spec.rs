//! The Azure OpenAI inference OpenAPI spec: bundled versions and the seed lab's patch.
//!
//! APIM derives the API's service URL from `servers[0]`, whose `{endpoint}` variable
//! means nothing to it, so the lab points `servers[0].url` and the variable's default
//! at a real account endpoint. We do the same with the first account by priority.
//!
//! The v1 API (`/openai/v1/...`, model in the body) is served under the same backend URL
//! as the dated API (`{endpoint}openai`): its operations get a `/v1` prefix, so one API
//! (and one backend pool) can carry both shapes, as an Azure OpenAI account does.

use serde_json::Value;

use super::model::{Model, SpecSource};

pub const BUNDLED_VERSIONS: &[&str] = &["2024-02-01", "2024-10-21", V1];

/// The bundled v1 API (`apim.api.spec: v1`).
pub const V1: &str = "v1";

/// Where the v1 operations sit under the API's path (as under `/openai` on an account).
pub const V1_PREFIX: &str = "/v1";

const SPEC_2024_02_01: &str = include_str!("../../../specs/inference/2024-02-01/inference.json");
const SPEC_2024_10_21: &str = include_str!("../../../specs/inference/2024-10-21/inference.json");
const SPEC_V1: &str = include_str!("../../../specs/v1/openai-v1.json");

pub fn is_bundled(version: &str) -> bool {
    BUNDLED_VERSIONS.contains(&version)
}

fn bundled(version: &str) -> Option<&'static str> {
    match version {
        "2024-02-01" => Some(SPEC_2024_02_01),
        "2024-10-21" => Some(SPEC_2024_10_21),
        V1 => Some(SPEC_V1),
        _ => None,
    }
}

/// Why a user's spec cannot be imported; each completes "spec `PATH` …".
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("is not valid YAML: {0}")]
    Yaml(String),
    #[error("is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("is OpenAPI {0}; APIM imports OpenAPI 3 here (format openapi+json)")]
    NotOpenApi3(String),
    #[error("has no `openapi` field: it is not an OpenAPI 3 document")]
    NoOpenApiField,
    #[error("has no `servers` entry with a `url`: APIM needs one to set the API's service URL")]
    NoServers,
    #[error(
        "has servers[{index}].url `{url}`, which is not an https:// URL: APIM would call the backend there"
    )]
    NotHttps { index: usize, url: String },
}

/// Why the spec to import could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("no bundled spec {0}")]
    NoBundled(String),
    #[error("bundled spec {version}: {source}")]
    Bundled {
        version: String,
        source: serde_json::Error,
    },
    #[error("spec `{path}` {source}")]
    File { path: String, source: SpecError },
    #[error("the plan has no account")]
    NoAccount,
    #[error("the spec has no `servers[0]` object")]
    NoServer,
    #[error("{0}")]
    Serialize(#[source] serde_json::Error),
}

/// Parses a spec file: JSON, or YAML for `.yaml`/`.yml` paths.
fn parse(path: &str, text: &str) -> Result<Value, SpecError> {
    let lower = path.to_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        serde_saphyr::from_str::<Value>(text)
            .map_err(|e| SpecError::Yaml(crate::parse::message_of(&e)))
    } else {
        serde_json::from_str::<Value>(text).map_err(SpecError::Json)
    }
}

/// What APIM needs of a user's spec: OpenAPI 3 with at least one server URL, and
/// every server an https URL (once its variables take their defaults).
pub fn check_user_spec(path: &str, text: &str) -> Result<(), SpecError> {
    let doc = parse(path, text)?;
    check_doc(&doc)
}

fn check_doc(doc: &Value) -> Result<(), SpecError> {
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.") => {}
        Some(v) => return Err(SpecError::NotOpenApi3(v.to_string())),
        None => return Err(SpecError::NoOpenApiField),
    }
    let servers = match doc.get("servers").and_then(Value::as_array) {
        Some(servers)
            if servers
                .first()
                .and_then(|s| s.get("url"))
                .and_then(Value::as_str)
                .is_some() =>
        {
            servers
        }
        _ => return Err(SpecError::NoServers),
    };
    for (index, server) in servers.iter().enumerate() {
        let url = server.get("url").and_then(Value::as_str).unwrap_or("");
        if !is_https(&expand(url, server.get("variables"))) {
            return Err(SpecError::NotHttps {
                index,
                url: url.to_string(),
            });
        }
    }
    Ok(())
}

/// A server URL with each `{name}` replaced by its variable's default.
fn expand(url: &str, variables: Option<&Value>) -> String {
    let mut out = url.to_string();
    if let Some(vars) = variables.and_then(Value::as_object) {
        for (name, var) in vars {
            if let Some(default) = var.get("default").and_then(Value::as_str) {
                out = out.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    out
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && url.len() > 8
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The account whose endpoint the spec points at: lowest priority number, first in the plan on ties.
pub fn primary_account(model: &Model) -> Option<&crate::model::Account> {
    model.accounts.iter().min_by_key(|a| a.backend.priority)
}

/// Whether the API serves the v1 shape (`spec: v1`, or `v1: true` next to another spec).
pub fn serves_v1(api: &crate::model::Api) -> bool {
    api.v1 || is_v1(&api.spec)
}

/// Whether the API's spec is the v1 API alone (no dated operations).
pub fn is_v1(spec: &SpecSource) -> bool {
    matches!(spec, SpecSource::Bundled { version } if version == V1)
}

/// The part of an API path that `AzureOpenAI(azure_endpoint=...)` takes: the SDK appends
/// `/openai` to it, so only a path whose last segment is `openai` fits (`openai` gives
/// the gateway itself, `team/openai` gives `team`). `None`: the SDK cannot reach the API
/// through `azure_endpoint`; a client gives `base_url` instead.
pub fn azure_endpoint_prefix(path: &str) -> Option<&str> {
    let path = path.trim_matches('/');
    if path == "openai" {
        return Some("");
    }
    path.strip_suffix("/openai")
}

fn bundled_doc(version: &str) -> Result<Value, PatchError> {
    let text = bundled(version).ok_or_else(|| PatchError::NoBundled(version.to_string()))?;
    let mut doc = serde_json::from_str::<Value>(text).map_err(|source| PatchError::Bundled {
        version: version.to_string(),
        source,
    })?;
    if version == V1 {
        prefix_paths(&mut doc);
    }
    Ok(doc)
}

/// The v1 spec's paths under `/v1` (its server is `{endpoint}/openai/v1`; ours is the
/// backends' `{endpoint}openai`).
fn prefix_paths(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        let taken = std::mem::take(paths);
        for (path, item) in taken {
            paths.insert(format!("{V1_PREFIX}{path}"), item);
        }
    }
}

/// `doc` with the v1 operations added (`v1: true` next to a dated or user spec): its
/// paths, and their tags.
fn add_v1(doc: &mut Value) -> Result<(), PatchError> {
    let v1 = bundled_doc(V1)?;
    if let (Some(paths), Some(v1_paths)) = (
        doc.get_mut("paths").and_then(Value::as_object_mut),
        v1.get("paths").and_then(Value::as_object),
    ) {
        for (path, item) in v1_paths {
            paths.insert(path.clone(), item.clone());
        }
    }
    Ok(())
}

/// The spec to import, patched, as pretty JSON text.
pub fn patched(model: &Model) -> Result<String, PatchError> {
    let mut doc = match &model.apim.api.spec {
        SpecSource::Bundled { version } => bundled_doc(version)?,
        SpecSource::File { path, content } => {
            let file = |source| PatchError::File {
                path: path.clone(),
                source,
            };
            let doc = parse(path, content).map_err(file)?;
            check_doc(&doc).map_err(file)?;
            doc
        }
    };
    if model.apim.api.v1 && !is_v1(&model.apim.api.spec) {
        add_v1(&mut doc)?;
    }
    let account = primary_account(model).ok_or(PatchError::NoAccount)?;
    // The inference API lives on the Azure OpenAI host for both account kinds.
    let endpoint = account.openai_endpoint();
    let server = doc
        .get_mut("servers")
        .and_then(Value::as_array_mut)
        .and_then(|s| s.first_mut())
        .and_then(Value::as_object_mut)
        .ok_or(PatchError::NoServer)?;
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
    let mut text = serde_json::to_string_pretty(&doc).map_err(PatchError::Serialize)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_endpoint_fits_only_paths_ending_in_openai() {
        assert_eq!(azure_endpoint_prefix("openai"), Some(""));
        assert_eq!(azure_endpoint_prefix("/team/openai/"), Some("team"));
        assert_eq!(azure_endpoint_prefix("openai-lb"), None);
        assert_eq!(azure_endpoint_prefix("openai/v2"), None);
    }

    #[test]
    fn the_v1_operations_sit_under_v1() {
        let doc = bundled_doc(V1).unwrap();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/v1/chat/completions", "/v1/embeddings"]);
        let mut dated = bundled_doc("2024-10-21").unwrap();
        add_v1(&mut dated).unwrap();
        assert!(dated["paths"]["/v1/chat/completions"]["post"].is_object());
        assert!(dated["paths"]["/deployments/{deployment-id}/chat/completions"].is_object());
    }

    fn spec(servers: &str) -> String {
        format!(
            r#"{{"openapi": "3.0.1", "info": {{"title": "x", "version": "1"}}, "paths": {{}}, "servers": {servers}}}"#
        )
    }

    #[test]
    fn every_server_must_be_https_once_its_variables_are_filled() {
        let ok = spec(
            r#"[{"url": "https://{endpoint}/openai", "variables": {"endpoint": {"default": "a.openai.azure.com"}}}]"#,
        );
        assert!(check_user_spec("s.json", &ok).is_ok());
        let ok = spec(
            r#"[{"url": "{endpoint}/openai", "variables": {"endpoint": {"default": "https://a.openai.azure.com"}}}]"#,
        );
        assert!(check_user_spec("s.json", &ok).is_ok());
        for bad in [
            r#"[{"url": "javascript:alert(1)"}]"#,
            r#"[{"url": "http://a.openai.azure.com/openai"}]"#,
            r#"[{"url": "{endpoint}/openai", "variables": {"endpoint": {"default": "http://a"}}}]"#,
            r#"[{"url": "/openai"}]"#,
            r#"[{"url": "https://a/openai"}, {"url": "file:///etc/passwd"}]"#,
        ] {
            let err = check_user_spec("s.json", &spec(bad)).unwrap_err();
            assert!(matches!(err, SpecError::NotHttps { .. }), "{bad}: {err}");
        }
    }
}
