//! The render bundle: every ARM request of a plan, the policy and the patched spec,
//! as `aoai-lb render` writes them. Pure: the command decides where they go.

use serde::Serialize;
use serde_json::Value;

use super::desired::{self, Facts};
use super::model::Model;
use super::{policy, spec};

/// One ARM request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// File name under `--out` (`03-deployment-aoai-1_gpt-4o.json`).
    pub file: String,
    pub address: String,
    pub method: &'static str,
    pub url: String,
    pub body: Value,
    pub depends_on: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub requests: Vec<Request>,
    /// The rendered API policy (`policy.xml`).
    pub policy: String,
    /// The patched inference spec (`inference.json`), as JSON text.
    pub spec: String,
}

/// A file name from an address: letters, digits, `-`, `_`, `.`; anything else becomes `_`.
fn file_name(index: usize, kind: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:02}-{kind}-{clean}.json", index + 1)
}

pub fn bundle(
    model: &Model,
    facts: &Facts,
    arm_endpoint: &str,
) -> Result<Bundle, desired::BuildError> {
    let endpoint = arm_endpoint.trim_end_matches('/');
    let resources = desired::build(model, facts)?;
    let requests = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let kind = r.kind.as_str();
            let name = r
                .address
                .split_once('.')
                .map(|(_, n)| n)
                .unwrap_or(&r.address);
            Request {
                file: file_name(i, kind, name),
                address: r.address.clone(),
                method: r.method.as_str(),
                url: format!("{endpoint}{}", r.path_and_query()),
                body: r.body.clone(),
                depends_on: r.depends_on.clone(),
            }
        })
        .collect();
    Ok(Bundle {
        requests,
        policy: policy::render(model, facts)?,
        spec: spec::patched(model)?,
    })
}
