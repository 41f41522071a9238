//! Who relies on a shared APIM service's identity. Two deployments behind one service
//! share its identity: each records its reliance as a tag on the service
//! (`aoai-lb-identity-<hash of the deployment>: <deployment>`), and `destroy` puts the
//! identity back as it was found only when no other deployment still relies on it. The
//! identity as found travels with the service too (`aoai-lb-identity-found`), so the
//! last deployment out restores it even when another one turned it on.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use aoai_lb_arm::resources::ServiceIdentity;
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::desired::Kind;
use aoai_lb_core::ids::api_version;

use super::plan::Plan;

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

/// Fits destroy's plan to who else relies on the identity: while another deployment
/// does, the planned restore is dropped (the identity stays on; those deployments are
/// returned); otherwise the restore also drops this deployment's reliance tags, so one
/// PATCH does both.
pub async fn fit_restore(
    client: &ArmClient,
    plan: &mut Plan,
    service_id: &str,
    deployment: Option<&str>,
) -> Result<Vec<String>, ArmError> {
    let Some(service) = client.get(service_id, api_version::API_MANAGEMENT).await? else {
        return Ok(vec![]);
    };
    let others = deployment.map(|d| others(&service, d)).unwrap_or_default();
    if !others.is_empty() {
        plan.changes.retain(|c| c.kind != Kind::ApimIdentity);
        return Ok(others);
    }
    let mut tags = tags_of(&service);
    if let Some(d) = deployment {
        tags.remove(&tag_name(d));
    }
    tags.remove(FOUND_TAG);
    for c in plan
        .changes
        .iter_mut()
        .filter(|c| c.kind == Kind::ApimIdentity)
    {
        if let Some(body) = c.request.body.as_mut() {
            body["tags"] = Value::Object(tags.clone());
        }
    }
    Ok(vec![])
}

/// PATCH of the service's tags (APIM's PATCH replaces `tags`), keeping its identity.
async fn patch_tags(
    client: &ArmClient,
    service_id: &str,
    identity: &ServiceIdentity,
    tags: Map<String, Value>,
) -> Result<(), ArmError> {
    let mut body = ServiceIdentity::patch_restoring(identity);
    body["tags"] = Value::Object(tags);
    client
        .patch(service_id, api_version::API_MANAGEMENT, &body)
        .await
        .map(|_| ())
}

/// Records that `deployment` relies on the identity (after apply turned it on or found
/// it on), with the identity as found when this deployment changed it. No write when
/// the record is there already.
pub async fn rely(
    client: &ArmClient,
    service_id: &str,
    deployment: &str,
    found_before: Option<&Value>,
) -> Result<(), ArmError> {
    let Some(service) = client.get(service_id, api_version::API_MANAGEMENT).await? else {
        return Ok(());
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
        return Ok(());
    }
    patch_tags(
        client,
        service_id,
        &ServiceIdentity::from_service(&service),
        tags,
    )
    .await
}

/// What `release` did with the identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Released {
    /// Put back as it was found.
    Restored,
    /// Left on: these deployments still rely on it.
    StillUsed(Vec<String>),
    /// Nothing to put back (aoai-lb never changed it), or the service is gone.
    Untouched,
}

/// Drops `deployment`'s reliance; puts the identity back as found (`before`, from the
/// state, else the service's own record) when no other deployment relies on it.
pub async fn release(
    client: &ArmClient,
    service_id: &str,
    deployment: Option<&str>,
    before: Option<&Value>,
) -> Result<Released, ArmError> {
    let Some(service) = client.get(service_id, api_version::API_MANAGEMENT).await? else {
        return Ok(Released::Untouched);
    };
    let mut tags = tags_of(&service);
    let others = deployment.map(|d| others(&service, d)).unwrap_or_default();
    if let Some(d) = deployment {
        tags.remove(&tag_name(d));
    }
    let current = ServiceIdentity::from_service(&service);
    if !others.is_empty() {
        // Hand the identity as found over to those who stay.
        if let (Some(b), false) = (before, tags.contains_key(FOUND_TAG)) {
            let text = serde_json::to_string(b).unwrap_or_default();
            if text.len() <= 256 {
                tags.insert(FOUND_TAG.into(), json!(text));
            }
        }
        patch_tags(client, service_id, &current, tags).await?;
        return Ok(Released::StillUsed(others));
    }
    let recorded: Option<Value> = tags
        .remove(FOUND_TAG)
        .and_then(|v| v.as_str().and_then(|s| serde_json::from_str(s).ok()));
    let before = before.cloned().or(recorded);
    let identity = match &before {
        Some(b) => ServiceIdentity::from_service(&json!({ "identity": b })),
        None => current,
    };
    let same_identity = ServiceIdentity::patch_restoring(&identity)
        == ServiceIdentity::patch_restoring(&ServiceIdentity::from_service(&service));
    if same_identity && tags == tags_of(&service) {
        return Ok(Released::Untouched);
    }
    patch_tags(client, service_id, &identity, tags).await?;
    Ok(if before.is_some() {
        Released::Restored
    } else {
        Released::Untouched
    })
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
