//! Who relies on a shared APIM service's identity. Two deployments behind one service
//! share its identity: each records its reliance as a tag on the service
//! (`aoai-lb-identity-<hash of the deployment>: <deployment>`), and `destroy` puts the
//! identity back as it was found only when no other deployment still relies on it. The
//! identity as found travels with the service too (`aoai-lb-identity-found`), so the
//! last deployment out restores it even when another one turned it on.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::Kind;
use aoai_lb_core::ids::api_version;

use super::plan::{Action, Change, Plan};
use super::request;

const PREFIX: &str = "aoai-lb-identity-";
/// The service's identity before any aoai-lb deployment changed it (compact JSON).
pub const FOUND_TAG: &str = "aoai-lb-identity-found";

/// The tag that says `deployment` relies on the service's identity.
pub fn tag_name(deployment: &str) -> String {
    let digest = Sha256::digest(deployment.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

fn tags_of(service: &Value) -> Map<String, Value> {
    service
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The deployments other than `deployment` that rely on the identity.
pub fn others(service: &Value, deployment: &str) -> Vec<String> {
    let mine = tag_name(deployment);
    tags_of(service)
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.starts_with(PREFIX) && k != FOUND_TAG && k != mine
        })
        .map(|(_, v)| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Fits destroy's plan to who relies on the service's identity, so that all destroy
/// does to the service is one planned change (shown before asking, reported as it runs,
/// counted), after every delete:
/// - another deployment still relies on it: the identity stays on, and the change only
///   drops this deployment's reliance tag (handing the identity as found, `before`, over
///   in [`FOUND_TAG`]); those deployments are returned;
/// - none does: the identity goes back as found (`before`, from the state, else the
///   service's own [`FOUND_TAG`]) and the reliance tags go;
/// - nothing to change on the service: no change.
///
/// A service that is gone keeps the planned restore, which then finds nothing to do.
pub async fn fit_restore(
    client: &ArmClient,
    plan: &mut Plan,
    service_id: &str,
    deployment: Option<&str>,
    before: Option<&Value>,
) -> Result<Vec<String>, ArmError> {
    let Some(service) = client.get(service_id, api_version::API_MANAGEMENT).await? else {
        return Ok(vec![]);
    };
    let others = deployment.map(|d| others(&service, d)).unwrap_or_default();
    let mut tags = tags_of(&service);
    if let Some(d) = deployment {
        tags.remove(&tag_name(d));
    }
    let after: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(Change::key)
        .collect();
    let planned = plan
        .changes
        .iter()
        .position(|c| c.kind == Kind::ApimIdentity)
        .map(|i| plan.changes.remove(i));
    let current = service.get("identity").cloned().unwrap_or(Value::Null);
    let change = if others.is_empty() {
        let recorded: Option<Value> = tags
            .remove(FOUND_TAG)
            .and_then(|v| v.as_str().and_then(|s| serde_json::from_str(s).ok()));
        match (planned, recorded) {
            (Some(c), _) => Some(c),
            (None, Some(found)) => {
                let mut c = request::identity_restore(service_id, &found, after);
                c.note = c.note.map(|n| format!("{n}, as recorded on the service"));
                Some(c)
            }
            (None, None) if tags != tags_of(&service) => {
                let mut c = request::identity_restore(service_id, &current, after);
                c.note =
                    Some("left as aoai-lb found it; this deployment's reliance tag removed".into());
                Some(c)
            }
            (None, None) => None,
        }
    } else {
        if let (Some(b), false) = (before, tags.contains_key(FOUND_TAG)) {
            let text = serde_json::to_string(b).unwrap_or_default();
            if text.len() <= 256 {
                tags.insert(FOUND_TAG.into(), json!(text));
            }
        }
        (tags != tags_of(&service)).then(|| {
            let mut c = request::identity_restore(service_id, &current, after);
            c.note = Some(format!(
                "kept on: aoai-lb deployment {} still relies on it; this deployment's reliance tag removed",
                others.join(", ")
            ));
            c
        })
    };
    if let Some(mut c) = change {
        if let Some(body) = c.request.body.as_mut() {
            body["tags"] = Value::Object(tags);
        }
        plan.changes.push(c);
    }
    Ok(others)
}

/// The change that records that `deployment` relies on the identity (after apply
/// turned it on or found it on), with the identity as found when this deployment
/// changed it: a PATCH of the service's tags, to send as apply's last step. `None` when
/// the record is there already (or the service is gone).
pub async fn rely(
    client: &ArmClient,
    service_id: &str,
    deployment: &str,
    found_before: Option<&Value>,
) -> Result<Option<Change>, ArmError> {
    let Some(service) = client.get(service_id, api_version::API_MANAGEMENT).await? else {
        return Ok(None);
    };
    let mut tags = tags_of(&service);
    let mine = tag_name(deployment);
    let mut changed = false;
    if tags.get(&mine).and_then(Value::as_str) != Some(deployment) {
        tags.insert(mine, json!(deployment));
        changed = true;
    }
    if let Some(found) = found_before
        && !tags.contains_key(FOUND_TAG)
    {
        let text = serde_json::to_string(found).unwrap_or_default();
        if text.len() <= 256 {
            tags.insert(FOUND_TAG.into(), json!(text));
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let current = service.get("identity").cloned().unwrap_or(Value::Null);
    let mut c = request::identity_restore(service_id, &current, vec![]);
    c.note = Some(format!(
        "record that aoai-lb deployment {deployment} relies on it"
    ));
    c.record = None;
    if let Some(body) = c.request.body.as_mut() {
        body["tags"] = Value::Object(tags);
    }
    Ok(Some(c))
}

/// Sends [`rely`]'s change.
pub async fn send(client: &ArmClient, change: &Change) -> Result<(), ArmError> {
    let body = change.request.body.clone().unwrap_or(Value::Null);
    client
        .patch(&change.request.id, &change.request.api_version, &body)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn others_are_every_reliance_but_mine() {
        let service = json!({ "tags": {
            tag_name("dev"): "dev",
            tag_name("prod"): "prod",
            FOUND_TAG: "{\"type\":\"None\"}",
            "team": "x",
        }});
        assert_eq!(others(&service, "dev"), vec!["prod".to_string()]);
        assert!(tag_name("a/b").len() <= 512 && !tag_name("a/b").contains('/'));
    }
}
