//! PATCH of a Cognitive Services account's or deployment's `tags`: how a tool changes
//! tags without touching anything else (aoai-lb's `import` writes its ownership marks
//! this way). Real ARM serves `Accounts_Update` (PATCH, body `Account`, example
//! `UpdateAccount.json`) and `Deployments_Update` (PATCH, body `PatchResourceTagsAndSku`,
//! example `UpdateDeployment.json`) in Azure/azure-rest-api-specs
//! `specification/cognitiveservices/.../stable/2024-10-01`, answering `200` with the
//! resource (or `202` while it works). The emulator changes only `tags` (replaced whole,
//! as an ARM PATCH replaces the `tags` it is given) and answers `200`; any other field
//! is refused rather than ignored, so a test cannot believe it changed something.

use serde_json::Value;

use crate::address::Address;
use crate::ops;
use crate::reply::{ArmError, Reply};

fn refused(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidRequestContent", message)
}

/// The `tags` of a PATCH body: an object of strings, and nothing else in the body.
pub(super) fn tags_of(body: &Value) -> Result<&serde_json::Map<String, Value>, ArmError> {
    let Some(fields) = body.as_object() else {
        return Err(refused(
            "The request content was invalid and could not be deserialized: the body is not an object.",
        ));
    };
    if let Some(other) = fields.keys().find(|k| k.as_str() != "tags") {
        return Err(refused(format!(
            "The emulator's PATCH of an account or deployment changes only 'tags' (found '{other}'); send other changes with PUT."
        )));
    }
    let Some(tags) = fields.get("tags").and_then(Value::as_object) else {
        return Err(refused("The PATCH body needs a 'tags' object."));
    };
    if let Some((k, _)) = tags.iter().find(|(_, v)| !v.is_string()) {
        return Err(refused(format!(
            "The request content was invalid and could not be deserialized: the value of tag '{k}' is not a string."
        )));
    }
    Ok(tags)
}

/// PATCH `{"tags": {...}}` on an account or a deployment.
pub fn patch(cx: &mut super::Cx, addr: &Address, body: &Value) -> Result<Reply, ArmError> {
    let tags = tags_of(body)?.clone();
    let id = addr.id();
    if cx.store.get(&id).is_none() {
        return Err(cx.missing(addr));
    }
    if ops::in_progress(cx.store, &id).is_some() {
        // The provider's code for a write while an operation runs (cognitive.rs).
        return Err(ArmError::conflict(
            "RequestConflict",
            format!(
                "Another operation is being performed on the resource '{id}'. Please try again later."
            ),
        ));
    }
    let etag = cx.etag();
    let previous = cx.store.get(&id).map(|r| r.body.clone());
    let system_data = cx.system_data(previous.as_ref());
    let record = cx.store.get_mut(&id).expect("checked above");
    record.body["tags"] = Value::Object(tags);
    record.body["etag"] = Value::from(etag);
    record.body["systemData"] = system_data;
    Ok(Reply::ok(record.body.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_string_tags_are_patched() {
        assert!(tags_of(&json!({ "tags": { "a": "b" } })).is_ok());
        assert!(tags_of(&json!({ "tags": { "a": 1 } })).is_err());
        assert!(tags_of(&json!({ "sku": { "name": "S0" } })).is_err());
        assert!(tags_of(&json!({ "tags": {}, "properties": {} })).is_err());
        assert!(tags_of(&json!([])).is_err());
    }
}
