//! The `inbound` section as API Management runs it for one request: `set-variable`
//! stores a value in `context.Variables`, `choose` applies the first `when` whose
//! condition is true (else `otherwise`, else nothing), and `return-response` ends the
//! pipeline with the response it describes, so no backend is called. What remains is the
//! section as it applied, which the route is read from.
//!
//! Sources (Microsoft Learn, azure/api-management): "choose policy" ("applies enclosed
//! policy statements based on the outcome of evaluation of Boolean expressions … the
//! first `when` whose condition evaluates to true; `otherwise` when none does"),
//! "set-variable policy" (`context.Variables`), "return-response policy" ("aborts
//! pipeline execution and returns either a default or custom response to the caller";
//! children `set-status`, `set-header`, `set-body`), "API Management policy
//! expressions" (`context.Request.MatchedParameters`: `IReadOnlyDictionary<string,
//! string>` of the operation's URL template parameters, and `GetValueOrDefault`).
//!
//! Expressions are evaluated by the request's `RequestContext` (`context`), which the
//! values `set-variable` stores here feed (`context.Variables`); one it cannot evaluate in
//! a `when` is an error naming it, one in a `set-variable` only when read.

use super::context::RequestContext;
use crate::policy::{Element, Node};

/// A response `return-response` makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Returned {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What a request's inbound section did.
pub struct Applied {
    /// The policy with `inbound` as it applied (chosen branches in place of `choose`,
    /// nothing after a `return-response`).
    pub root: Element,
    pub returned: Option<Returned>,
}

/// Runs the inbound section of `root` for a request with context `cx` (which gets the
/// variables it sets). `Err` names what the emulator cannot evaluate.
pub fn apply(root: &Element, cx: &mut RequestContext) -> Result<Applied, String> {
    let mut out = root.clone();
    let mut returned = None;
    if let Some(inbound) = out.children.iter_mut().find_map(|n| match n {
        Node::Element(e) if e.name == "inbound" => Some(e),
        _ => None,
    }) {
        let mut kept = Vec::new();
        returned = run(&inbound.children, cx, &mut kept)?;
        inbound.children = kept;
    }
    Ok(Applied {
        root: out,
        returned,
    })
}

/// Applies `nodes` in order into `out`; stops at a `return-response`.
fn run(
    nodes: &[Node],
    cx: &mut RequestContext,
    out: &mut Vec<Node>,
) -> Result<Option<Returned>, String> {
    for node in nodes {
        let Node::Element(el) = node else {
            out.push(node.clone());
            continue;
        };
        match el.name.as_str() {
            "set-variable" => {
                let name = el.attr("name").unwrap_or_default().to_string();
                let value = el.attr("value").and_then(|v| cx.eval(v).ok());
                cx.variables.insert(name, value);
                out.push(node.clone());
            }
            "choose" => {
                for branch in el.elements() {
                    let take = match branch.name.as_str() {
                        "when" => cx
                            .condition(branch.attr("condition").unwrap_or_default())
                            .map_err(|e| format!("Error in element 'when': {e}"))?,
                        "otherwise" => true,
                        _ => false,
                    };
                    if take {
                        if let Some(r) = run(&branch.children, cx, out)? {
                            return Ok(Some(r));
                        }
                        break;
                    }
                }
            }
            "return-response" => {
                out.push(node.clone());
                return returned(el, cx).map(Some);
            }
            _ => out.push(node.clone()),
        }
    }
    Ok(None)
}

fn returned(el: &Element, cx: &RequestContext) -> Result<Returned, String> {
    let status = el.elements().find(|e| e.name == "set-status");
    let mut headers = Vec::new();
    for h in el.elements().filter(|e| e.name == "set-header") {
        let name = h.attr("name").unwrap_or_default().to_string();
        for v in h.elements().filter(|v| v.name == "value") {
            headers.push((name.clone(), cx.eval(&v.text().unwrap_or_default())?));
        }
    }
    let body = match el.elements().find(|e| e.name == "set-body") {
        Some(b) => Some(cx.eval(&b.text().unwrap_or_default())?),
        None => None,
    };
    Ok(Returned {
        // set-status's defaults: "200", "OK" (return-response policy reference).
        status: status
            .and_then(|s| s.attr("code"))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(200),
        reason: status
            .and_then(|s| s.attr("reason"))
            .unwrap_or("OK")
            .to_string(),
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Format, parse};

    /// The shape of aoai-lb's `pool` template with a pool per deployment.
    const ROUTED: &str = r#"<policies>
    <inbound>
        <base />
        <set-variable name="aoai-lb-deployment" value="@(context.Request.MatchedParameters.GetValueOrDefault("deployment-id", ""))" />
        <choose>
            <when condition="@((string)context.Variables["aoai-lb-deployment"] == "gpt-4.1")">
                <set-backend-service backend-id="pool-gpt-4.1" />
            </when>
            <when condition="@((string)context.Variables["aoai-lb-deployment"] == "gpt-5.1" || (string)context.Variables["aoai-lb-deployment"] == "mini")">
                <set-backend-service backend-id="pool-gpt-5.1" />
            </when>
            <otherwise>
                <return-response>
                    <set-status code="404" reason="Not Found" />
                    <set-header name="Content-Type" exists-action="override"><value>application/json</value></set-header>
                    <set-body>{"error":{"code":"DeploymentNotFound"}}</set-body>
                </return-response>
            </otherwise>
        </choose>
        <authentication-managed-identity resource="https://cognitiveservices.azure.com" />
    </inbound>
    <backend><forward-request /></backend>
</policies>"#;

    fn params(deployment: Option<&str>) -> RequestContext {
        RequestContext {
            matched: deployment
                .map(|d| ("deployment-id".to_string(), d.to_string()))
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    fn backend_of(a: &Applied) -> Option<String> {
        a.root
            .descendants()
            .into_iter()
            .filter(|e| e.name == "set-backend-service")
            .filter_map(|e| e.attr("backend-id").map(str::to_string))
            .next_back()
    }

    #[test]
    fn the_deployment_picks_its_pool() {
        let root = parse(ROUTED, Format::RawXml).unwrap();
        let a = apply(&root, &mut params(Some("gpt-4.1"))).unwrap();
        assert_eq!(backend_of(&a).as_deref(), Some("pool-gpt-4.1"));
        assert!(a.returned.is_none());
        let a = apply(&root, &mut params(Some("mini"))).unwrap();
        assert_eq!(backend_of(&a).as_deref(), Some("pool-gpt-5.1"));
        // Ordinal comparison, as C#'s string ==.
        let a = apply(&root, &mut params(Some("GPT-4.1"))).unwrap();
        assert_eq!(a.returned.unwrap().status, 404);
    }

    #[test]
    fn a_name_no_pool_serves_is_returned_without_a_backend() {
        let root = parse(ROUTED, Format::RawXml).unwrap();
        for mut p in [params(Some("nope")), params(None)] {
            let a = apply(&root, &mut p).unwrap();
            let r = a.returned.clone().unwrap();
            assert_eq!((r.status, r.reason.as_str()), (404, "Not Found"));
            assert_eq!(
                r.headers,
                vec![("Content-Type".into(), "application/json".into())]
            );
            assert_eq!(
                r.body.unwrap(),
                r#"{"error":{"code":"DeploymentNotFound"}}"#
            );
            assert_eq!(backend_of(&a), None);
            // Nothing after return-response runs.
            assert!(
                !a.root
                    .descendants()
                    .iter()
                    .any(|e| e.name == "authentication-managed-identity")
            );
        }
    }

    #[test]
    fn expressions_it_cannot_run_are_named() {
        let p = r#"<policies><inbound><choose><when condition="@(context.Request.Url.Path == "y")"><set-backend-service backend-id="a" /></when></choose></inbound></policies>"#;
        let err = apply(&parse(p, Format::RawXml).unwrap(), &mut params(None))
            .err()
            .unwrap();
        assert!(err.contains("cannot evaluate"), "{err}");
        let p = r#"<policies><inbound><choose><when condition="@(context.Request.MatchedParameters["deployment-id"] == "y")"><set-backend-service backend-id="a" /></when></choose></inbound></policies>"#;
        let root = parse(p, Format::RawXml).unwrap();
        assert!(
            apply(&root, &mut params(None))
                .err()
                .unwrap()
                .contains("no matched parameter")
        );
        let a = apply(&root, &mut params(Some("y"))).unwrap();
        assert_eq!(backend_of(&a).as_deref(), Some("a"));
    }
}
