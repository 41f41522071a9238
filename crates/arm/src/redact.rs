//! Redaction: secrets never reach logs, output, state files or snapshots.
//!
//! Request and response bodies are logged only after [`json`] has replaced every value
//! whose name says it is a secret; headers are logged only from an allow-list.

use serde_json::Value;

pub const REDACTED: &str = "<redacted>";

/// Header names that may be logged (lower case). Everything else, `Authorization`,
/// `api-key` and `Ocp-Apim-Subscription-Key` first of all, is never logged.
pub const LOGGABLE_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "azure-asyncoperation",
    "location",
    "x-ms-request-id",
    "x-ms-correlation-request-id",
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-writes",
    "x-ms-region",
];

/// Whether a JSON member of this name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "assertion",
        "credential",
        "authorization",
    ]
    .iter()
    .any(|s| n.contains(s))
        && !matches!(
            n.as_str(),
            "subscriptionkeyparameternames" | "keyvault" | "keysource"
        )
}

/// A copy of `value` with every secret-named member replaced by `<redacted>`.
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) && !v.is_object() && !v.is_array() {
                        Value::String(REDACTED.into())
                    } else {
                        json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        other => other.clone(),
    }
}

/// A body for a log line: redacted JSON, or a length for anything else.
pub fn body_for_log(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            let text = json(&v).to_string();
            if text.len() > 2000 {
                let mut cut = 2000;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{}... ({} bytes)", &text[..cut], bytes.len())
            } else {
                text
            }
        }
        Err(_) => format!("({} bytes, not JSON)", bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json as j;

    #[test]
    fn secrets_are_replaced_everywhere() {
        let v = j!({
            "primaryKey": "abc", "secondaryKey": "def",
            "properties": { "accessToken": "t", "subscriptionKeyParameterNames": { "header": "api-key" } },
            "list": [{ "clientSecret": "s" }]
        });
        let r = json(&v);
        let text = r.to_string();
        for secret in ["abc", "def", "\"t\"", "\"s\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            r["properties"]["subscriptionKeyParameterNames"]["header"],
            "api-key"
        );
    }
}
