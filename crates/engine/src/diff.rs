//! Comparing what the plan wants with what ARM returns.
//!
//! Only the fields the plan sets are compared: ARM adds read-only fields and service
//! defaults (`provisioningState`, `etag`, `apiRevision`, `type: Single`, ...), and a diff
//! that saw them would show a change on every `plan`. Values ARM normalises are compared
//! the way ARM means them: ids and locations ignoring case, a subscription's scope by its
//! `/apis/{id}` suffix, a pool's members as a set, a policy by its meaning (ARM returns
//! it re-encoded and re-indented). Write-only fields (an API's imported spec) are not
//! returned at all, so the engine tracks them itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use aoai_lb_core::desired::Kind;
use aoai_lb_core::policy_xml::{self, Format};
use aoai_lb_core::replace;

/// One field that differs: `old` is Null when ARM has no value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub path: String,
    pub old: Value,
    pub new: Value,
    /// ARM cannot change it in place: the resource must be replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// Fields ARM never returns, per kind (dotted paths). A logger's credentials come back
/// masked (`{{Logger-Credentials--<hex>}}`, a named value APIM made), never as sent.
fn write_only(kind: Kind, path: &str) -> bool {
    matches!(
        (kind, path),
        (Kind::Api, "properties.value" | "properties.format")
            | (Kind::Account, "properties.restore")
            | (Kind::ApiPolicy, "properties.format")
    ) || (kind == Kind::Logger && path.starts_with("properties.credentials"))
}

fn last_key(path: &str) -> &str {
    path.rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or(path)
}

fn norm_location(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn same_string(path: &str, want: &str, have: &str) -> bool {
    let key = last_key(path);
    if key == "location" {
        return norm_location(want) == norm_location(have);
    }
    if key == "scope" {
        // "/apis/x" and "/subscriptions/.../service/s/apis/x" are the same scope.
        let (w, h) = (want.to_lowercase(), have.to_lowercase());
        return w == h || h.ends_with(&w) || w.ends_with(&h);
    }
    if key == "id" || key.ends_with("Id") || key == "roleDefinitionId" {
        return want.eq_ignore_ascii_case(have);
    }
    want == have
}

/// The fields of `want` that `have` does not match.
pub fn diff(kind: Kind, want: &Value, have: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if kind == Kind::ApiPolicy {
        let w = want
            .pointer("/properties/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let h = have
            .pointer("/properties/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let h_format = match have.pointer("/properties/format").and_then(Value::as_str) {
            Some("rawxml") => Format::RawXml,
            _ => Format::Xml,
        };
        if !policy_xml::same_policy(w, aoai_lb_core::policy::FORMAT, h, h_format) {
            out.push(FieldChange {
                path: "properties.value".into(),
                old: Value::String(h.into()),
                new: Value::String(w.into()),
                forces_replacement: false,
            });
        }
        return out;
    }
    walk(kind, "", want, have, &mut out);
    out
}

fn walk(kind: Kind, path: &str, want: &Value, have: &Value, out: &mut Vec<FieldChange>) {
    if write_only(kind, path) {
        return;
    }
    let change = |out: &mut Vec<FieldChange>| {
        out.push(FieldChange {
            path: path.to_string(),
            old: have.clone(),
            new: want.clone(),
            forces_replacement: replace::forces_replacement(kind, path, have),
        })
    };
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(kind, &child, wv, h.get(k).unwrap_or(&Value::Null), out);
            }
        }
        (Value::Object(w), Value::Null) if w.is_empty() => {}
        (Value::Array(w), Value::Array(h)) if last_key(path) == "services" => {
            // Pool members: a set keyed by backend id.
            let key = |v: &Value| {
                v.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase()
            };
            let same = w.len() == h.len()
                && w.iter().all(|wv| {
                    h.iter().find(|hv| key(hv) == key(wv)).is_some_and(|hv| {
                        let mut sub = Vec::new();
                        walk(kind, path, wv, hv, &mut sub);
                        sub.is_empty()
                    })
                });
            if !same {
                change(out);
            }
        }
        (Value::Array(w), Value::Array(h)) => {
            if w.len() != h.len() {
                change(out);
                return;
            }
            let mut sub = Vec::new();
            for (i, (wv, hv)) in w.iter().zip(h).enumerate() {
                walk(kind, &format!("{path}[{i}]"), wv, hv, &mut sub);
            }
            if !sub.is_empty() {
                // Report the array whole: easier to read than its parts.
                change(out);
            }
        }
        (Value::String(w), Value::String(h)) => {
            if !same_string(path, w, h) {
                change(out);
            }
        }
        (Value::Number(w), Value::Number(h)) => {
            if w.as_f64() != h.as_f64() {
                change(out);
            }
        }
        (w, h) => {
            if w != h {
                change(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_fields_and_defaults_are_not_changes() {
        let want = json!({ "properties": { "url": "https://a/openai", "protocol": "http" } });
        let have = json!({ "id": "/x", "properties": { "url": "https://a/openai", "protocol": "http", "type": "Single", "provisioningState": "Succeeded" } });
        assert!(diff(Kind::Backend, &want, &have).is_empty());
    }

    #[test]
    fn a_changed_weight_is_one_change() {
        let want = json!({ "properties": { "pool": { "services": [ { "id": "/B/one", "priority": 1, "weight": 2 }, { "id": "/b/two", "priority": 1, "weight": 1 } ] } } });
        let same = json!({ "properties": { "pool": { "services": [ { "id": "/b/two", "priority": 1, "weight": 1 }, { "id": "/b/ONE", "priority": 1, "weight": 2 } ] } } });
        assert!(
            diff(Kind::Pool, &want, &same).is_empty(),
            "order and id case do not matter"
        );
        let changed = json!({ "properties": { "pool": { "services": [ { "id": "/b/one", "priority": 1, "weight": 5 }, { "id": "/b/two", "priority": 1, "weight": 1 } ] } } });
        let d = diff(Kind::Pool, &want, &changed);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "properties.pool.services");
    }

    #[test]
    fn locations_ids_and_scopes_compare_as_arm_means_them() {
        let want = json!({ "location": "westus", "properties": { "scope": "/apis/a", "roleDefinitionId": "/subscriptions/S/providers/R" } });
        let have = json!({ "location": "West US", "properties": { "scope": "/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/x/apis/a", "roleDefinitionId": "/subscriptions/s/providers/r" } });
        assert!(diff(Kind::Subscription, &want, &have).is_empty());
    }

    #[test]
    fn write_only_fields_are_skipped() {
        let want = json!({ "properties": { "format": "openapi+json", "value": "{...}", "path": "openai" } });
        let have = json!({ "properties": { "path": "openai", "serviceUrl": "https://x" } });
        assert!(diff(Kind::Api, &want, &have).is_empty());
        let moved = json!({ "properties": { "path": "other" } });
        assert_eq!(diff(Kind::Api, &want, &moved)[0].path, "properties.path");
    }

    #[test]
    fn policies_compare_by_meaning() {
        let raw = "<policies><inbound><set-header name=\"a\"><value>@(\"x\" + \"y\")</value></set-header></inbound></policies>";
        let xml = "<policies>\r\n  <inbound>\r\n    <set-header name=\"a\">\r\n      <value>@(&quot;x&quot; + &quot;y&quot;)</value>\r\n    </set-header>\r\n  </inbound>\r\n</policies>";
        let want = json!({ "properties": { "format": "rawxml", "value": raw } });
        assert!(
            diff(
                Kind::ApiPolicy,
                &want,
                &json!({ "properties": { "format": "xml", "value": xml } })
            )
            .is_empty()
        );
        let other = xml.replace("name=\"a\"", "name=\"b\"");
        assert_eq!(
            diff(
                Kind::ApiPolicy,
                &want,
                &json!({ "properties": { "value": other } })
            )
            .len(),
            1
        );
    }
}
