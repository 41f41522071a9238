//! Saved plans: `aoai-lb plan PLAN --out FILE` writes the plan it showed, with what it
//! was made from; `aoai-lb apply FILE` applies exactly that plan, or refuses, naming
//! what changed since: the plan file, a file it refers to (policy template, spec), the
//! subscription or deployment, the state, or what Azure holds.
//!
//! The plan is plain data (each change carries its request), so applying a saved plan
//! is applying those requests. What was read from Azure is kept only as fingerprints
//! ([`super::plan::fingerprint`]), so no body, and no secret, is ever written here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::plan::{Action, Plan, sha256};
use aoai_lb_core::desired::DesiredResource;
use aoai_lb_core::model::Model;

/// What every saved plan says it is (its content tells it from a YAML plan).
pub const FORMAT: &str = "aoai-lb saved plan";
/// The version of the layout below; another version is refused, not guessed at.
pub const FORMAT_VERSION: u32 = 1;

/// A file and its SHA-256, the path as the user (or the plan) wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hashed {
    pub path: String,
    pub sha256: String,
}

impl Hashed {
    pub fn of(path: &str, content: &str) -> Hashed {
        Hashed {
            path: path.to_string(),
            sha256: sha256(content),
        }
    }
}

/// What a plan was made from, as `plan --out` saw it and as `apply FILE` sees it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// The plan file (path as given on the command line).
    pub plan_file: Hashed,
    /// The files the plan refers to (policy template, spec), paths relative to it.
    pub files: Vec<Hashed>,
    pub subscription_id: String,
    pub deployment: String,
    /// SHA-256 of the state file, `None` when there was none.
    pub state_sha256: Option<String>,
}

/// The saved file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    pub format: String,
    pub format_version: u32,
    /// The aoai-lb that saved it (for people; not checked).
    pub saved_by: String,
    #[serde(flatten)]
    pub inputs: Inputs,
    pub plan: Plan,
}

impl SavedPlan {
    pub fn new(inputs: Inputs, plan: Plan) -> SavedPlan {
        SavedPlan {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            saved_by: format!("aoai-lb {}", env!("CARGO_PKG_VERSION")),
            inputs,
            plan,
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan serializes");
        text.push('\n');
        text
    }
}

/// The fingerprint of a resource ARM does not have.
pub const ABSENT: &str = "absent";

/// SHA-256 of a body with its object keys sorted, so the same resource read twice
/// gives the same fingerprint however ARM orders its fields.
pub fn fingerprint(body: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sha256(&sorted(body).to_string())
}

/// What a plan read from Azure, as fingerprints: each desired resource and the APIM
/// service's identity.
pub(crate) fn reads_of(
    model: &Model,
    desired: &[DesiredResource],
    live: &BTreeMap<usize, Option<Value>>,
    found: &Value,
) -> BTreeMap<String, String> {
    let mut reads: BTreeMap<String, String> = live
        .iter()
        .map(|(i, v)| {
            let print = v.as_ref().map_or_else(|| ABSENT.to_string(), fingerprint);
            (desired[*i].id.to_lowercase(), print)
        })
        .collect();
    let service = aoai_lb_core::ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    reads.insert(
        format!("{}#identity", service.to_lowercase()),
        fingerprint(found),
    );
    reads
}

/// Why a file is not a saved plan aoai-lb can apply.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "it is a saved plan of format version {0}; this aoai-lb reads version {FORMAT_VERSION}: make the plan again with `aoai-lb plan PLAN --out FILE`"
    )]
    Version(u64),
    #[error("it says it is a saved plan but cannot be read: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// Reads `text` as a saved plan: `None` when it is not one (a YAML plan), by content,
/// whatever the file's name.
pub fn detect(text: &str) -> Option<Result<SavedPlan, ReadError>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return None;
    }
    let version = value.get("formatVersion").and_then(|v| v.as_u64());
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Some(Err(ReadError::Version(version.unwrap_or(0))));
    }
    Some(serde_json::from_value(value).map_err(ReadError::from))
}

/// What changed between the inputs a plan was saved with and those of now, in words.
pub fn changed_inputs(saved: &Inputs, now: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    if saved.plan_file.path != now.plan_file.path {
        out.push(format!(
            "it was made for the plan file {}, not {}",
            saved.plan_file.path, now.plan_file.path
        ));
    } else if saved.plan_file.sha256 != now.plan_file.sha256 {
        out.push(format!(
            "the plan file {} changed since (sha256 {} -> {})",
            now.plan_file.path,
            short(&saved.plan_file.sha256),
            short(&now.plan_file.sha256)
        ));
    }
    let was: BTreeMap<&str, &str> = files(&saved.files);
    let is: BTreeMap<&str, &str> = files(&now.files);
    for (path, sha) in &was {
        match is.get(path) {
            None => out.push(format!("the plan no longer refers to {path}")),
            Some(new) if new != sha => out.push(format!(
                "{path} changed since (sha256 {} -> {})",
                short(sha),
                short(new)
            )),
            Some(_) => {}
        }
    }
    for path in is.keys().filter(|p| !was.contains_key(*p)) {
        out.push(format!("the plan now refers to {path}"));
    }
    if saved.subscription_id != now.subscription_id {
        out.push(format!(
            "it was made for subscription {}, and the plan now targets {}",
            saved.subscription_id, now.subscription_id
        ));
    }
    if saved.deployment != now.deployment {
        out.push(format!(
            "it was made for deployment `{}`, and the plan file is now deployment `{}`",
            saved.deployment, now.deployment
        ));
    }
    if saved.state_sha256 != now.state_sha256 {
        out.push(match (&saved.state_sha256, &now.state_sha256) {
            (Some(_), None) => "the state file is gone since".to_string(),
            (None, Some(_)) => "a state file was written since".to_string(),
            _ => "the state file changed since (another apply or destroy ran)".to_string(),
        });
    }
    out
}

fn files(list: &[Hashed]) -> BTreeMap<&str, &str> {
    list.iter()
        .map(|h| (h.path.as_str(), h.sha256.as_str()))
        .collect()
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// What changed in Azure between the saved plan and a plan made now from the same
/// inputs: every resource read whose fingerprint differs, and every change that
/// appeared or went away (a resource found by its mark, for instance).
pub fn changed_in_azure(saved: &Plan, now: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (id, was) in &saved.reads {
        let is = now.reads.get(id).map(String::as_str);
        let what = match (was.as_str(), is) {
            (_, None) => "was read then and is not now",
            (ABSENT, Some(ABSENT)) => continue,
            (ABSENT, Some(_)) => "did not exist then and exists now",
            (_, Some(ABSENT)) => "existed then and is gone now",
            (w, Some(i)) if w == i => continue,
            _ => "changed",
        };
        out.push(format!("{id} {what}"));
    }
    for id in now.reads.keys().filter(|k| !saved.reads.contains_key(*k)) {
        out.push(format!("{id} is read now and was not then"));
    }
    let keys = |p: &Plan| -> BTreeSet<(String, &'static str)> {
        p.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| (c.key(), verb(c.action)))
            .collect()
    };
    let (was, is) = (keys(saved), keys(now));
    for (key, verb) in was.difference(&is) {
        out.push(format!("{key}: the saved {verb} is no longer planned"));
    }
    for (key, verb) in is.difference(&was) {
        out.push(format!("{key}: a {verb} is planned now that was not then"));
    }
    out
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::NoOp => "no-op",
        Action::Replace => "replacement",
        Action::Restore => "restore",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            plan_file: Hashed::of("plan.yaml", "a"),
            files: vec![Hashed::of("policy.xml.hbs", "p")],
            subscription_id: "s1".into(),
            deployment: "d".into(),
            state_sha256: None,
        }
    }

    #[test]
    fn a_saved_plan_is_told_by_its_content_and_reads_back() {
        let saved = SavedPlan::new(inputs(), Plan::default());
        let back = detect(&saved.to_json()).unwrap().unwrap();
        assert_eq!(back.inputs, inputs());
        assert!(detect("accounts: []\n").is_none());
        assert!(detect("{\"format\": \"other\"}").is_none());
        let future = saved
            .to_json()
            .replace("\"formatVersion\": 1", "\"formatVersion\": 9");
        assert!(matches!(detect(&future), Some(Err(ReadError::Version(9)))));
    }

    #[test]
    fn every_changed_input_is_named() {
        let mut now = inputs();
        assert!(changed_inputs(&inputs(), &now).is_empty());
        now.plan_file = Hashed::of("plan.yaml", "b");
        now.files = vec![Hashed::of("policy.xml.hbs", "q")];
        now.subscription_id = "s2".into();
        now.state_sha256 = Some("x".into());
        let said = changed_inputs(&inputs(), &now);
        assert_eq!(said.len(), 4, "{said:?}");
        assert!(said[0].starts_with("the plan file plan.yaml changed since"));
        assert!(said[1].starts_with("policy.xml.hbs changed since"));
        assert_eq!(
            said[2],
            "it was made for subscription s1, and the plan now targets s2"
        );
    }
}
