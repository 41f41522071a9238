//! The part of APIM's `context` the token policies read: the values a `counter-key` or a
//! metric `dimension` may name ("Context variable", learn.microsoft.com/azure/api-management/api-management-policy-expressions#ContextVariables):
//! `context.Subscription.Id` (the subscription's identifier, the last segment of its ARM
//! id) and `.Name` (its display name), `context.Api.Id`/`.Name`, `context.Operation.Id`/
//! `.Name`, `context.Product.Id`/`.Name`, `context.User.Id`, `context.Deployment.Region`,
//! `context.Deployment.ServiceName`, `context.Request.IpAddress`,
//! `context.Request.MatchedParameters["name"]` (and `.GetValueOrDefault("name"[, "default"])`),
//! `context.Variables["name"]` (and `.GetValueOrDefault<string>("name"[, "default"])`,
//! the values `set-variable` stored, see `inbound`) and
//! `context.Request.Headers.GetValueOrDefault("name"[, "default"])`. The emulator runs no
//! C#: an expression is one of those members, a string literal, or several joined with
//! `+` (an optional `(string)` cast or `.ToString()` around a member); anything else is
//! named as an expression it cannot evaluate.

use std::collections::BTreeMap;

use crate::policy::is_expression;

/// What one request's `context` holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestContext {
    /// The subscription the key belongs to: identifier and display name.
    pub subscription: Option<(String, String)>,
    /// The subscription's product (identifier and name), when its scope is a product.
    pub product: Option<(String, String)>,
    /// The subscription's owner (`ownerId`'s last segment).
    pub user: Option<String>,
    /// The API: identifier and display name.
    pub api: (String, String),
    /// The operation: identifier and display name.
    pub operation: (String, String),
    /// The API Management service: its name and region display name (`West US`).
    pub service: (String, String),
    /// The request's headers, names lower-cased (keys never stored here).
    pub headers: BTreeMap<String, String>,
    pub matched: BTreeMap<String, String>,
    /// `context.Variables`: what `set-variable` stored so far (`None`: a value the
    /// emulator could not evaluate, an error only when read).
    pub variables: BTreeMap<String, Option<String>>,
    /// The request body, when it is JSON (`context.Request.Body.As<JObject>()`).
    pub body: Option<serde_json::Value>,
    /// An expression read the body without `preserveContent: true`: the body is gone, the
    /// backend gets none ("By default when you access the message body using
    /// context.Request.Body ... the original message body is lost"; set-body policy
    /// reference, learn.microsoft.com/azure/api-management/set-body-policy).
    pub body_consumed: Consumed,
}

/// Whether the body was read without `preserveContent` (set while `&self` evaluates; the
/// gateway holds the context across awaits, hence an atomic).
#[derive(Debug, Default)]
pub struct Consumed(std::sync::atomic::AtomicBool);

impl Consumed {
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clone for Consumed {
    fn clone(&self) -> Consumed {
        Consumed(std::sync::atomic::AtomicBool::new(self.get()))
    }
}

impl PartialEq for Consumed {
    fn eq(&self, other: &Consumed) -> bool {
        self.get() == other.get()
    }
}

/// The client address the gateway sees: the emulator listens on 127.0.0.1 only.
pub const CLIENT_IP: &str = "127.0.0.1";

/// Top-level `+`-separated terms of C# code (outside strings and brackets).
fn terms(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut prev = '\0';
    for c in code.chars() {
        if in_str {
            cur.push(c);
            if c == '"' && prev != '\\' {
                in_str = false;
            }
            prev = if prev == '\\' && c == '\\' { '\0' } else { c };
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '+' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                prev = c;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        prev = c;
    }
    out.push(cur);
    out.into_iter().map(|t| t.trim().to_string()).collect()
}

fn cannot(v: &str) -> String {
    format!(
        "the emulator cannot evaluate the expression \"{v}\" (it knows string literals and context.Subscription, Api, Operation, Product, User, Deployment and Request members, joined with +, compared with == or !=, combined with && and ||)"
    )
}

/// `code` split at top-level `sep` (outside strings and brackets).
fn split_top(code: &str, sep: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0);
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' if !in_str => depth += 1,
            b')' | b']' if !in_str => depth -= 1,
            _ if !in_str && depth == 0 && code[i..].starts_with(sep) => {
                out.push(code[start..i].to_string());
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(code[start..].to_string());
    out
}

/// The content of a C# string literal `"..."` (escapes `\"` and `\\` undone).
fn literal(term: &str) -> Option<String> {
    let inner = term.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// The string literals of an argument list `("a", "b")`.
fn arguments(args: &str) -> Option<Vec<String>> {
    let inner = args.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(|a| literal(a.trim()))
        .collect::<Option<Vec<_>>>()
}

impl RequestContext {
    /// The value of one member access, if the emulator knows it.
    fn member(&self, m: &str) -> Option<Result<String, String>> {
        let none = |what: &str| Err(format!("{what} is null for this request"));
        let v = |s: &str| Some(Ok(s.to_string()));
        Some(match m {
            "context.Subscription.Id" => match &self.subscription {
                Some((id, _)) => return v(id),
                None => none("context.Subscription"),
            },
            "context.Subscription.Name" => match &self.subscription {
                Some((_, name)) => return v(name),
                None => none("context.Subscription"),
            },
            "context.Product.Id" | "context.Product.Name" => match &self.product {
                Some((id, name)) => return v(if m.ends_with("Id") { id } else { name }),
                None => none("context.Product"),
            },
            "context.User.Id" => match &self.user {
                Some(u) => return v(u),
                None => none("context.User"),
            },
            "context.Api.Id" => return v(&self.api.0),
            "context.Api.Name" => return v(&self.api.1),
            "context.Operation.Id" => return v(&self.operation.0),
            "context.Operation.Name" => return v(&self.operation.1),
            "context.Deployment.ServiceName" => return v(&self.service.0),
            "context.Deployment.Region" => return v(&self.service.1),
            "context.Request.IpAddress" => return v(CLIENT_IP),
            _ => {
                if let Some(rest) = m.strip_prefix("context.Request.MatchedParameters") {
                    return self.lookup(rest, "matched parameter", |n| {
                        Some(Ok(self.matched.get(n)?.clone()))
                    });
                }
                if let Some(rest) = m.strip_prefix("context.Request.Body.As<JObject>(") {
                    return Some(self.body_member(rest));
                }
                if let Some(rest) = m.strip_prefix("context.Variables") {
                    return self.lookup(rest, "variable", |n| {
                        Some(self.variables.get(n)?.clone().ok_or_else(|| {
                            format!(
                                "the value set for variable '{n}' is not one the emulator evaluates"
                            )
                        }))
                    });
                }
                let args = m.strip_prefix("context.Request.Headers.GetValueOrDefault")?;
                let args = arguments(args)?;
                let (name, default) = match args.as_slice() {
                    [n] => (n, None),
                    [n, d] => (n, Some(d.clone())),
                    _ => return None,
                };
                return Some(Ok(self
                    .headers
                    .get(&name.to_ascii_lowercase())
                    .cloned()
                    .or(default)
                    .unwrap_or_default()));
            }
        })
    }

    /// `preserveContent: true)["name"]` after `context.Request.Body.As<JObject>(`: the
    /// body's top-level `name` as `(string)` casts a JToken (a missing one is null, which
    /// equals no name: empty here). A body that is not a JSON object throws, as
    /// Newtonsoft's JObject parse does ("API Management policy expressions": `Body.As<T>`
    /// with `preserveContent` to keep the body for the backend).
    fn body_member(&self, rest: &str) -> Result<String, String> {
        let cannot = || cannot(&format!("context.Request.Body.As<JObject>({rest}"));
        let (args, index) = rest.split_once(')').ok_or_else(cannot)?;
        let args = args.trim();
        if !(args.is_empty() || args.replace(' ', "") == "preserveContent:true") {
            return Err(cannot());
        }
        if args.is_empty() {
            self.body_consumed.set();
        }
        let name = index
            .trim()
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .and_then(literal)
            .ok_or_else(cannot)?;
        let Some(obj) = self.body.as_ref().and_then(serde_json::Value::as_object) else {
            return Err("JsonReaderException: the request body is not a JSON object".into());
        };
        Ok(match obj.get(&name) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        })
    }

    /// `["name"]` (a missing name throws, as a dictionary's indexer does) or
    /// `.GetValueOrDefault("name"[, "default"])` (`<string>` allowed; no default: empty)
    /// on a dictionary whose entries `get` finds.
    fn lookup(
        &self,
        rest: &str,
        what: &str,
        get: impl Fn(&str) -> Option<Result<String, String>>,
    ) -> Option<Result<String, String>> {
        if let Some(index) = rest.strip_prefix('[') {
            let name = literal(index.strip_suffix(']')?)?;
            return Some(get(&name).unwrap_or_else(|| Err(format!("no {what} '{name}'"))));
        }
        let call = rest.strip_prefix(".GetValueOrDefault")?;
        let call = call.strip_prefix("<string>").unwrap_or(call);
        let (name, default) = match arguments(call)?.as_slice() {
            [n] => (n.clone(), String::new()),
            [n, d] => (n.clone(), d.clone()),
            _ => return None,
        };
        Some(get(&name).unwrap_or(Ok(default)))
    }

    /// A value as APIM evaluates it: a plain value as is, an expression evaluated.
    pub fn eval(&self, value: &str) -> Result<String, String> {
        let v = value.trim();
        if !is_expression(v) {
            return Ok(value.to_string());
        }
        let code = v
            .strip_prefix("@(")
            .and_then(|c| c.strip_suffix(')'))
            .ok_or_else(|| cannot(v))?;
        self.string(code).ok_or_else(|| cannot(v))?
    }

    /// C# code that is a string: literals and members joined with `+` (None: not that).
    fn string(&self, code: &str) -> Option<Result<String, String>> {
        let mut out = String::new();
        for term in terms(code) {
            if let Some(s) = literal(&term) {
                out.push_str(&s);
                continue;
            }
            let t = term.strip_prefix("(string)").unwrap_or(&term).trim();
            let t = t.strip_suffix(".ToString()").unwrap_or(t).trim();
            let t = t
                .strip_prefix('(')
                .and_then(|x| x.strip_suffix(')'))
                .unwrap_or(t);
            match self.member(t)? {
                Ok(v) => out.push_str(&v),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(out))
    }

    /// A `when` condition: comparisons of strings (`==`, `!=`, `.Equals("x")`) joined
    /// with `||` and `&&` (`&&` binding tighter, as in C#), or `true`/`false`.
    pub fn condition(&self, value: &str) -> Result<bool, String> {
        let v = value.trim();
        let code = v
            .strip_prefix("@(")
            .and_then(|c| c.strip_suffix(')'))
            .ok_or_else(|| cannot(v))?;
        let mut any = false;
        for alternative in split_top(code, "||") {
            let mut all = true;
            for part in split_top(&alternative, "&&") {
                all &= self.comparison(part.trim()).ok_or_else(|| cannot(v))??;
            }
            any |= all;
        }
        Ok(any)
    }

    fn comparison(&self, c: &str) -> Option<Result<bool, String>> {
        match c {
            "true" => return Some(Ok(true)),
            "false" => return Some(Ok(false)),
            _ => {}
        }
        let (left, right, equal) = if let Some((l, r)) = c.split_once("==") {
            (l.to_string(), r.to_string(), true)
        } else if let Some((l, r)) = c.split_once("!=") {
            (l.to_string(), r.to_string(), false)
        } else {
            let (l, r) = c.strip_suffix(')')?.split_once(".Equals(")?;
            (l.to_string(), r.to_string(), true)
        };
        let (l, r) = match (self.string(left.trim())?, self.string(right.trim())?) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
        };
        Some(Ok((l == r) == equal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> RequestContext {
        RequestContext {
            subscription: Some(("team-a".into(), "Team A".into())),
            api: ("azure-openai-lb".into(), "Azure OpenAI".into()),
            operation: (
                "ChatCompletions_Create".into(),
                "Creates a completion".into(),
            ),
            service: ("apim1".into(), "West US".into()),
            headers: [("x-team".to_string(), "blue".to_string())].into(),
            matched: [("deployment-id".to_string(), "gpt-4o".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn members_literals_and_concatenation() {
        let c = cx();
        assert_eq!(c.eval("@(context.Subscription.Id)").unwrap(), "team-a");
        assert_eq!(c.eval("@(context.Subscription.Name)").unwrap(), "Team A");
        assert_eq!(c.eval("plain").unwrap(), "plain");
        assert_eq!(
            c.eval(r#"@("tpm-" + context.Subscription.Id + "-" + (string)context.Api.Id)"#)
                .unwrap(),
            "tpm-team-a-azure-openai-lb"
        );
        assert_eq!(
            c.eval(r#"@(context.Request.MatchedParameters["deployment-id"])"#)
                .unwrap(),
            "gpt-4o"
        );
        assert_eq!(
            c.eval(r#"@(context.Request.Headers.GetValueOrDefault("X-Team", "none"))"#)
                .unwrap(),
            "blue"
        );
        assert_eq!(
            c.eval(r#"@(context.Request.Headers.GetValueOrDefault("x-other", "none"))"#)
                .unwrap(),
            "none"
        );
        assert_eq!(c.eval("@(context.Request.IpAddress)").unwrap(), CLIENT_IP);
        assert_eq!(c.eval("@(context.Deployment.Region)").unwrap(), "West US");
    }

    #[test]
    fn conditions_on_the_subscription() {
        let c = cx();
        let t = |e: &str| c.condition(e).unwrap();
        assert!(t(r#"@(context.Subscription.Id == "team-a")"#));
        assert!(!t(r#"@(context.Subscription.Id != "team-a")"#));
        assert!(t(
            r#"@(context.Subscription.Id == "x" || context.Subscription.Name == "Team A")"#
        ));
        assert!(!t(
            r#"@(context.Subscription.Id == "team-a" && context.Api.Id == "other")"#
        ));
        assert!(t(r#"@(context.Subscription.Id.Equals("team-a"))"#));
        assert!(t("@(true)"));
        assert!(c.condition("@(context.Request.Body != null)").is_err());
    }

    #[test]
    fn variables_and_defaults() {
        let mut c = cx();
        c.variables.insert("d".into(), Some("gpt-4.1".into()));
        c.variables.insert("opaque".into(), None);
        let t = |c: &RequestContext, e: &str| c.condition(e).unwrap();
        assert!(t(&c, r#"@((string)context.Variables["d"] == "gpt-4.1")"#));
        assert!(t(
            &c,
            r#"@(context.Variables.GetValueOrDefault<string>("x", "y") == "y")"#
        ));
        assert_eq!(
            c.eval(
                r#"@(context.Request.MatchedParameters.GetValueOrDefault("deployment-id", ""))"#
            )
            .unwrap(),
            "gpt-4o"
        );
        assert_eq!(
            c.eval(r#"@(context.Request.MatchedParameters.GetValueOrDefault("nope", ""))"#)
                .unwrap(),
            ""
        );
        assert!(
            c.eval(r#"@(context.Variables["x"])"#)
                .unwrap_err()
                .contains("no variable 'x'")
        );
        assert!(
            c.eval(r#"@(context.Variables["opaque"])"#)
                .unwrap_err()
                .contains("not one the emulator")
        );
        let body = r#"@((string)context.Request.Body.As<JObject>(preserveContent: true)["model"])"#;
        assert!(c.eval(body).unwrap_err().contains("not a JSON object"));
        c.body = Some(serde_json::json!({"model": "gpt-4.1"}));
        assert_eq!(c.eval(body).unwrap(), "gpt-4.1");
        c.body = Some(serde_json::json!({"messages": []}));
        assert_eq!(c.eval(body).unwrap(), "");
        assert!(
            !c.body_consumed.get(),
            "preserveContent: true keeps the body"
        );
        let consuming = r#"@((string)context.Request.Body.As<JObject>()["model"])"#;
        assert_eq!(c.eval(consuming).unwrap(), "");
        assert!(
            c.body_consumed.get(),
            "without preserveContent the body is gone"
        );
    }

    #[test]
    fn what_it_cannot_evaluate_is_named() {
        let c = cx();
        let e = c.eval("@(context.Request.Body.As<string>())").unwrap_err();
        assert!(e.contains("cannot evaluate"), "{e}");
        let e = c.eval("@(context.Product.Name)").unwrap_err();
        assert!(e.contains("null"), "{e}");
    }
}
