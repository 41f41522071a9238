//! Every unknown field, missing field and type error of a plan, in one run.
//!
//! The typed parse ([`crate::parse`]) stops at its first error: serde cannot go on
//! past a field it cannot read. When it fails, the plan is read again as a position-
//! keeping value tree ([`tree`]) and walked against the plan's JSON Schema, which is
//! generated from the same serde types ([`crate::schema`]), so the known fields at each
//! level can never drift from what the parser accepts. Scalars are judged as leniently
//! as serde-saphyr reads them (a string field takes `10` or `true`; a number field
//! does not take `"10"`).

pub mod tree;

use serde_json::Value;

use crate::diag::Diagnostic;
use tree::{Kind, Node};

/// Every shape problem of `text` against `schema` (a draft-07 schema with
/// `definitions`), each at its position; empty when the text is not YAML that
/// serde-saphyr reads, or when its shape is right.
pub fn check(text: &str, schema: &Value) -> Vec<Diagnostic> {
    let Some(root) = tree::parse(text) else {
        return Vec::new();
    };
    let mut walker = Walker {
        root: schema,
        diags: Vec::new(),
    };
    walker.node(&root, schema, "");
    walker.diags
}

/// The closest known field to an unknown one, when it is close enough to be a typo
/// (case, `_`/`-`, or at most two edits).
pub fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], "");
    let key = norm(unknown);
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&key, &norm(k)), *k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min()
        .map(|(_, k)| k)
}

struct Walker<'s> {
    root: &'s Value,
    diags: Vec<Diagnostic>,
}

/// The JSON Schema types a schema allows (`type` as a string or a list).
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a node's kind fits a JSON Schema type, as leniently as serde-saphyr reads
/// it into the plan's Rust type.
fn fits(kind: &Kind, ty: &str) -> bool {
    match (ty, kind) {
        ("string", Kind::Str(_) | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_)) => true,
        ("integer", Kind::Int(n)) => i64::try_from(*n).is_ok(),
        ("number", Kind::Int(_) | Kind::Float(_)) => true,
        ("boolean", Kind::Bool(_)) => true,
        ("boolean", Kind::Str(s)) => matches!(
            s.to_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        ),
        ("object", Kind::Map(_)) | ("array", Kind::Seq(_)) => true,
        _ => false,
    }
}

/// What a schema alternative expects, in a plan author's words.
fn describe(alt: &Value) -> String {
    if let Some(c) = alt.get("const") {
        return match c {
            Value::String(s) => format!("`{s}`"),
            other => format!("`{other}`"),
        };
    }
    let words: Vec<String> = types(alt)
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "string" => "a string".to_string(),
            "integer" => "a whole number".to_string(),
            "number" => "a number".to_string(),
            "boolean" => "true or false".to_string(),
            "array" => "a list".to_string(),
            "object" => match alt.get("properties").and_then(Value::as_object) {
                Some(p) if p.len() == 1 => {
                    format!("a mapping with `{}`", p.keys().next().expect("one key"))
                }
                _ => "a mapping".to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    words.join(" or ")
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

impl<'s> Walker<'s> {
    /// Follows `$ref` (a JSON pointer into the root) and a lone `allOf`.
    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..32 {
            if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                    Some(target) => schema = target,
                    None => return schema,
                }
            } else if let Some([only]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(|v| &v[..])
            {
                schema = only;
            } else {
                break;
            }
        }
        schema
    }

    /// The alternatives a schema allows: its `anyOf`/`oneOf` members, flattened.
    fn alternatives(&self, schema: &'s Value) -> Vec<&'s Value> {
        let schema = self.resolve(schema);
        let list = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array);
        match list {
            Some(alts) => alts.iter().flat_map(|a| self.alternatives(a)).collect(),
            None => vec![schema],
        }
    }

    fn error(&mut self, node: &Node, path: &str, message: String) {
        self.diags.push(Diagnostic::error(node.pos, path, message));
    }

    /// Checks one node against its schema.
    fn node(&mut self, node: &Node, schema: &'s Value, path: &str) {
        let alts = self.alternatives(schema);
        if node.value == Kind::Null {
            if !alts.iter().any(|a| types(a).contains(&"null")) {
                let expected = self.expected(&alts);
                self.error(node, path, format!("expected {expected}, not null"));
            }
            return;
        }
        let consts: Vec<&Value> = alts
            .iter()
            .copied()
            .filter(|a| a.get("const").is_some())
            .collect();
        let text = node.value.scalar_text();
        if consts
            .iter()
            .any(|c| c["const"].as_str().is_some() && c["const"].as_str() == text.as_deref())
        {
            return;
        }
        let typed = alts
            .iter()
            .copied()
            .filter(|a| a.get("const").is_none())
            .find(|a| types(a).iter().any(|t| fits(&node.value, t)));
        match typed {
            Some(alt) => self.inside(node, alt, path),
            None => self.mismatch(node, &alts, path),
        }
    }

    /// A node whose kind fits `schema`: its entries or items.
    fn inside(&mut self, node: &Node, schema: &'s Value, path: &str) {
        match &node.value {
            Kind::Map(entries) => self.map(node, entries, schema, path),
            Kind::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.node(item, item_schema, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    fn expected(&self, alts: &[&Value]) -> String {
        let words: Vec<String> = alts
            .iter()
            .map(|a| describe(a))
            .filter(|w| !w.is_empty())
            .collect();
        words.join(" or ")
    }

    /// A node of the wrong kind. A quoted number where a number goes gets the same
    /// words as the typed parse gives it.
    fn mismatch(&mut self, node: &Node, alts: &[&'s Value], path: &str) {
        let wants_int = alts.iter().any(|a| types(a).contains(&"integer"));
        let message = match &node.value {
            Kind::Str(s) if wants_int && s.trim().parse::<i64>().is_ok() => {
                format!("expected a whole number, not the string \"{s}\" (write it without quotes)")
            }
            other => format!("expected {}, not {}", self.expected(alts), other.noun()),
        };
        self.error(node, path, message);
    }

    /// A mapping: unknown fields (with a did-you-mean), missing fields, and each
    /// known field's value.
    fn map(&mut self, node: &Node, entries: &[(Node, Node)], schema: &'s Value, path: &str) {
        let props = schema.get("properties").and_then(Value::as_object);
        let known: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let additional = schema.get("additionalProperties");
        let mut seen = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.value.scalar_text() else {
                let noun = key.value.noun();
                self.error(key, path, format!("expected a string key, not {noun}"));
                continue;
            };
            let field_path = join_path(path, &name);
            if let Some(prop) = props.and_then(|p| p.get(&name)) {
                self.node(value, prop, &field_path);
            } else if let Some(extra @ Value::Object(_)) = additional {
                self.node(value, extra, &field_path);
            } else if additional == Some(&Value::Bool(false)) {
                let message = unknown_field(&name, &known);
                self.error(key, &field_path, message);
            }
            seen.push(name);
        }
        let required = schema.get("required").and_then(Value::as_array);
        for field in required.into_iter().flatten().filter_map(Value::as_str) {
            if !seen.iter().any(|s| s == field) {
                let message = format!("missing field `{field}`");
                self.error(node, &join_path(path, field), message);
            }
        }
    }
}

/// "unknown field `wieght` (did you mean `weight`?); expected one of ...".
fn unknown_field(name: &str, known: &[&str]) -> String {
    let hint = suggest(name, known)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let choices: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
    match choices.len() {
        0 => format!("unknown field `{name}`{hint}; this mapping has no fields"),
        1 => format!("unknown field `{name}`{hint}; expected {}", choices[0]),
        _ => format!(
            "unknown field `{name}`{hint}; expected one of {}",
            choices.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
