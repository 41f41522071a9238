//! What the plan's text shows beyond `old -> new`: the key attributes of a resource to
//! create (region, sku, capacity, model and version, priority and weight...), and a
//! policy change as a unified line diff. JSON output keeps the full values instead.

use serde_json::Value;
use similar::TextDiff;

use aoai_lb_core::desired::Kind;
use aoai_lb_core::policy_xml::{self, Format};
use aoai_lb_engine::plan::{Change, Plan};

/// The attributes people check on a resource to create, as (name, value), from the
/// request the plan will send (and, for a backend, its place in the pool's request).
pub fn attributes(c: &Change, plan: &Plan) -> Vec<(&'static str, String)> {
    let Some(body) = c.request.body.as_ref() else {
        return Vec::new();
    };
    let at = |p: &str| body.pointer(p).map(text);
    let mut out: Vec<(&'static str, Option<String>)> = Vec::new();
    match c.kind {
        Kind::ResourceGroup => out.push(("region", at("/location"))),
        Kind::Account => out.extend([
            ("region", at("/location")),
            ("kind", at("/kind")),
            ("sku", at("/sku/name")),
            ("subdomain", at("/properties/customSubDomainName")),
        ]),
        Kind::Deployment => out.extend([
            ("model", at("/properties/model/name")),
            ("version", at("/properties/model/version")),
            ("sku", at("/sku/name")),
            ("capacity", at("/sku/capacity")),
            (
                "versionUpgradeOption",
                at("/properties/versionUpgradeOption"),
            ),
        ]),
        Kind::Backend => {
            out.push(("url", at("/properties/url")));
            let member = pool_member(plan, &c.id);
            out.push(("priority", member.and_then(|m| m.get("priority")).map(text)));
            out.push(("weight", member.and_then(|m| m.get("weight")).map(text)));
        }
        Kind::Pool => out.push((
            "members",
            body.pointer("/properties/pool/services")
                .and_then(super::plan::show_members),
        )),
        Kind::Api => out.extend([
            ("path", at("/properties/path")),
            ("service url", at("/properties/serviceUrl")),
        ]),
        Kind::Subscription => out.push(("scope", at("/properties/scope"))),
        Kind::Component => out.extend([
            ("region", at("/location")),
            (
                "workspace",
                Some(at("/properties/WorkspaceResourceId").unwrap_or_else(|| {
                    "a managed workspace Azure makes (and deletes with it)".into()
                })),
            ),
        ]),
        // Never the credentials: they are read from the component at apply time.
        Kind::Logger => out.push(("component", at("/properties/resourceId"))),
        Kind::Diagnostic => out.push(("logger", at("/properties/loggerId"))),
        Kind::RoleAssignment => out.push((
            "role",
            at("/properties/roleDefinitionId").map(|r| role_name(&r)),
        )),
        Kind::ApimIdentity | Kind::ApiPolicy => {}
    }
    out.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

/// A JSON value as the plan shows it: strings quoted, numbers bare.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The pool's entry for a backend (by id), in the pool's planned request.
fn pool_member<'p>(plan: &'p Plan, backend_id: &str) -> Option<&'p Value> {
    plan.changes
        .iter()
        .filter(|c| c.kind == Kind::Pool)
        .filter_map(|c| c.request.body.as_ref())
        .filter_map(|b| b.pointer("/properties/pool/services")?.as_array())
        .flatten()
        .find(|m| {
            m.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(backend_id))
        })
}

/// The built-in role aoai-lb assigns, by name; another by its id's last segment.
fn role_name(quoted_id: &str) -> String {
    let id = quoted_id.trim_matches('"');
    match id.rsplit('/').next() {
        Some("5e0bd9bd-7b93-4f28-af87-19fc36ad61bd") => "\"Cognitive Services OpenAI User\"".into(),
        Some(last) => format!("{last:?}"),
        None => quoted_id.to_string(),
    }
}

/// A policy change as unified diff lines (`@@` hunk headers, then ` `, `-`, `+` lines),
/// both sides laid out alike first (APIM returns a policy re-encoded and re-indented),
/// so only what changed shows. `None` when there is nothing to show line by line.
pub fn policy_diff(old: &Value, new: &Value) -> Option<Vec<String>> {
    let (old, new) = (old.as_str().unwrap_or_default(), new.as_str()?);
    let layout = |v: &str, first: Format, second: Format| {
        policy_xml::pretty(v, first)
            .or_else(|_| policy_xml::pretty(v, second))
            .unwrap_or_else(|_| v.to_string())
    };
    let old = if old.is_empty() {
        String::new()
    } else {
        layout(old, Format::Xml, Format::RawXml)
    };
    let new = layout(new, aoai_lb_core::policy::FORMAT, Format::Xml);
    let diff = TextDiff::from_lines(&old, &new);
    let unified = diff.unified_diff().context_radius(2).to_string();
    let lines: Vec<String> = unified.lines().map(str::to_string).collect();
    (!lines.is_empty()).then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_change_is_a_unified_diff_of_what_changed_only() {
        let old = "<policies>\r\n  <backend>\r\n    <retry count=\"1\" condition=\"@(context.Response.StatusCode == 429 &amp;&amp; true)\">\r\n      <forward-request />\r\n    </retry>\r\n  </backend>\r\n</policies>";
        let new = "<policies><backend><retry count=\"2\" condition=\"@(context.Response.StatusCode == 429 && true)\"><forward-request /></retry></backend></policies>";
        let lines = policy_diff(&json!(old), &json!(new)).unwrap();
        assert_eq!(lines[0], "@@ -1,5 +1,5 @@");
        assert!(lines.contains(
            &"-        <retry count=\"1\" condition=\"@(context.Response.StatusCode == 429 && true)\">"
                .to_string()
        ));
        assert!(lines.contains(
            &"+        <retry count=\"2\" condition=\"@(context.Response.StatusCode == 429 && true)\">"
                .to_string()
        ));
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(['-', '+'])).count(),
            2
        );
    }
}
