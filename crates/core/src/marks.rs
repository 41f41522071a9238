//! aoai-lb's marks of ownership: which deployment a resource belongs to, written on the
//! resource itself (a tag where ARM has tags, a mark in the description where it has
//! not), so that ownership survives a lost state file and cannot be claimed by another
//! plan that happens to use the same names.
//!
//! Reading a mark is pure: the engine reads the resource, this module says whose it is.

use serde_json::Value;

use super::validate::{OWNER_TAG, OWNER_TAG_VALUE};

/// The tag naming the deployment a taggable resource belongs to (beside `managed-by`).
pub const DEPLOYMENT_TAG: &str = "aoai-lb-deployment";

/// Descriptions written before deployments had names still say this.
const LEGACY_MARK: &str = "managed by aoai-lb";
const DESCRIPTION_OPEN: &str = "[aoai-lb-deployment: ";

/// Whose a live resource is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Carries this deployment's name.
    Ours,
    /// Carries another deployment's name.
    Other(String),
    /// aoai-lb's, from before deployments had names: no deployment is named.
    Legacy,
    /// No aoai-lb mark at all.
    None,
}

impl Mark {
    /// Who it belongs to, for messages.
    pub fn describe(&self) -> String {
        match self {
            Mark::Ours => "this deployment".into(),
            Mark::Other(d) => format!("aoai-lb deployment `{d}`"),
            Mark::Legacy => "aoai-lb (no deployment named)".into(),
            Mark::None => "carries no aoai-lb mark".into(),
        }
    }
}

/// The mark a description carries for `deployment`.
pub fn description_mark(deployment: &str) -> String {
    format!("{DESCRIPTION_OPEN}{deployment}]")
}

/// The deployment a description names, if any.
pub fn description_owner(description: &str) -> Option<&str> {
    let start = description.rfind(DESCRIPTION_OPEN)? + DESCRIPTION_OPEN.len();
    let rest = &description[start..];
    rest.find(']').map(|end| &rest[..end])
}

/// A tag's value, its name compared ignoring case (as ARM compares tag names).
pub fn tag<'v>(live: &'v Value, name: &str) -> Option<&'v str> {
    live.get("tags")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// Whose `live` is, seen from `deployment` (None: the caller's deployment is unknown,
/// so nothing is `Ours`).
pub fn mark_of(live: &Value, deployment: Option<&str>) -> Mark {
    let owner = tag(live, DEPLOYMENT_TAG).or_else(|| {
        live.pointer("/properties/description")
            .and_then(Value::as_str)
            .and_then(description_owner)
    });
    match owner {
        Some(o) if Some(o) == deployment => Mark::Ours,
        Some(o) => Mark::Other(o.to_string()),
        None => {
            let tagged = tag(live, OWNER_TAG) == Some(OWNER_TAG_VALUE);
            let described = live
                .pointer("/properties/description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains(LEGACY_MARK) || d.starts_with("aoai-lb:"));
            if tagged || described {
                Mark::Legacy
            } else {
                Mark::None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_and_descriptions_name_the_deployment() {
        let tagged = json!({ "tags": { "Managed-By": "aoai-lb", "AOAI-LB-Deployment": "dev" } });
        assert_eq!(mark_of(&tagged, Some("dev")), Mark::Ours);
        assert_eq!(mark_of(&tagged, Some("prod")), Mark::Other("dev".into()));
        let described = json!({ "properties": { "description": format!("pool, managed by aoai-lb {}", description_mark("a/b")) } });
        assert_eq!(mark_of(&described, Some("a/b")), Mark::Ours);
        assert_eq!(mark_of(&described, None), Mark::Other("a/b".into()));
        let legacy = json!({ "properties": { "description": "Azure OpenAI account x, managed by aoai-lb" } });
        assert_eq!(mark_of(&legacy, Some("dev")), Mark::Legacy);
        assert_eq!(
            mark_of(&json!({ "tags": { "x": "y" } }), Some("dev")),
            Mark::None
        );
    }
}
