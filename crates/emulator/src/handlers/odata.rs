//! API Management's OData `$filter` on its collection GETs, as far as the fields each
//! list documents: clauses `field eq|ne 'value'`, `startswith(field,'v')`,
//! `endswith(field,'v')`, `contains(field,'v')` and `substringof('v',field)`, joined by
//! `and`. The fields and operators are those of the `$filter` tables of
//! Backend_ListByService (apimbackends.json: name, title, url), Api_ListByService
//! (apimapis.json: name, displayName, description, serviceUrl, path, isCurrent) and
//! Subscription_List (apimsubscriptions.json: name, displayName, stateComment, ownerId,
//! scope, userId, productId, state, user). Anything else is refused rather than ignored.

use serde_json::Value;

/// How a clause compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    StartsWith,
    EndsWith,
    Contains,
}

/// One `field op value` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub field: String,
    pub op: Op,
    pub value: String,
}

/// A literal: `'text'` (with `''` for a quote) or a bare `true`/`false`/number.
fn literal(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    let bare = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    bare.then(|| s.to_string())
}

fn function(c: &str) -> Option<Clause> {
    let (name, rest) = c.split_once('(')?;
    let args = rest.trim().strip_suffix(')')?;
    let (a, b) = args.split_once(',')?;
    let (op, field, value) = match name.trim().to_ascii_lowercase().as_str() {
        "startswith" => (Op::StartsWith, a, b),
        "endswith" => (Op::EndsWith, a, b),
        "contains" => (Op::Contains, a, b),
        "substringof" => (Op::Contains, b, a),
        _ => return None,
    };
    Some(Clause {
        field: field.trim().to_string(),
        op,
        value: literal(value)?,
    })
}

fn comparison(c: &str) -> Option<Clause> {
    for (word, op) in [(" eq ", Op::Eq), (" ne ", Op::Ne)] {
        if let Some((field, value)) = c.split_once(word) {
            let field = field.trim();
            if field.is_empty() || field.contains(char::is_whitespace) {
                return None;
            }
            return Some(Clause {
                field: field.to_string(),
                op,
                value: literal(value)?,
            });
        }
    }
    None
}

/// Parses a filter; `None` if any clause is not one of the shapes above.
pub fn parse(filter: &str) -> Option<Vec<Clause>> {
    filter
        .split(" and ")
        .map(|c| {
            let c = c.trim();
            if c.contains('(') {
                function(c)
            } else {
                comparison(c)
            }
        })
        .collect()
}

/// The value of `field` in an APIM entity: `name` at the top, the rest in `properties`.
fn field_text(item: &Value, field: &str) -> Option<String> {
    let v = if field == "name" {
        item.get("name")?
    } else {
        let props = item.get("properties")?.as_object()?;
        props.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?.1
    };
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `item` satisfies every clause (text compared without case).
pub fn matches(clauses: &[Clause], item: &Value) -> bool {
    clauses.iter().all(|c| {
        let found = field_text(item, &c.field).map(|t| t.to_lowercase());
        let want = c.value.to_lowercase();
        match (c.op, found) {
            (Op::Ne, None) => true,
            (_, None) => false,
            (Op::Eq, Some(t)) => t == want,
            (Op::Ne, Some(t)) => t != want,
            (Op::StartsWith, Some(t)) => t.starts_with(&want),
            (Op::EndsWith, Some(t)) => t.ends_with(&want),
            (Op::Contains, Some(t)) => t.contains(&want),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clauses_of_each_shape() {
        let c = parse("name eq 'a''b' and startswith(properties/x,'p') and substringof('v', url)")
            .unwrap();
        assert_eq!(c[0].value, "a'b");
        assert_eq!(
            (c[1].op, c[1].field.as_str()),
            (Op::StartsWith, "properties/x")
        );
        assert_eq!(
            (c[2].op, c[2].field.as_str(), c[2].value.as_str()),
            (Op::Contains, "url", "v")
        );
        assert_eq!(parse("isCurrent eq true").unwrap()[0].value, "true");
        assert!(parse("name gt 'a'").is_none());
        assert!(parse("frobnicate(name,'a')").is_none());
        assert!(parse("name eq a b").is_none());
    }

    #[test]
    fn matching_looks_at_name_and_properties() {
        let api = json!({"name": "OpenAI-LB", "properties": {"path": "openai", "isCurrent": true}});
        assert!(matches(&parse("name eq 'openai-lb'").unwrap(), &api));
        assert!(matches(
            &parse("contains(path,'pen') and isCurrent eq true").unwrap(),
            &api
        ));
        assert!(!matches(&parse("endswith(path,'x')").unwrap(), &api));
        assert!(matches(&parse("displayName ne 'x'").unwrap(), &api));
        assert!(!matches(&parse("displayName eq 'x'").unwrap(), &api));
    }
}
