//! The plan as a YAML value tree in which every node, and every mapping key, keeps
//! its position. The typed parse stops at its first error; this tree can be read
//! whatever the plan's shape, so [`super::check`] can report every problem at once.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::located::Located;

/// A YAML node and where it was written.
pub type Node = Located<Kind>;

/// What a node holds. Plain scalars arrive typed (`10` is an `Int`, `"10"` a `Str`),
/// which is how a quoted number is told from a number.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    /// The node's kind in a plan author's words, for "expected X, not Y".
    pub fn noun(&self) -> String {
        match self {
            Kind::Null => "null".into(),
            Kind::Bool(b) => format!("`{b}`"),
            Kind::Int(n) => format!("the number {n}"),
            Kind::Float(f) => format!("the number {f}"),
            Kind::Str(s) => format!("the string \"{s}\""),
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }

    /// A scalar as the text a key or string field would read (null and
    /// collections have none).
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Int(n) => Some(n.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// How deep the tree may nest. A plan nests five levels at most
/// (`accounts[0].deployments[0].name`); a debug build spends tens of KB of stack per
/// level of this generic tree, so deeper input (a fuzzer's `[[[[…`) is left to the
/// typed parse, which refused it already.
const MAX_DEPTH: usize = 16;

/// How many nodes (aliases replayed included) the tree may hold: a plan of 50 accounts
/// has a few thousand, and the typed parse stops an alias bomb at its first wrong key,
/// so the second read must not expand it any further than a plan could need.
const MAX_NODES: usize = 100_000;

/// Parses YAML text into a tree; `None` when it is not YAML serde-saphyr reads, or
/// nests deeper than any plan (the typed parse's own error then says why).
pub fn parse(text: &str) -> Option<Node> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_depth: MAX_DEPTH, max_nodes: MAX_NODES },
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: MAX_NODES },
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).ok()
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(i128::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::located::Pos;

    #[test]
    fn keys_and_values_keep_their_positions() {
        let tree = parse("a:\n  bb: 10\n  c: \"10\"\nd: [x, {e: ~}]\n").unwrap();
        let Kind::Map(top) = &tree.value else {
            panic!("{tree:?}")
        };
        assert_eq!(top[0].0.value, Kind::Str("a".into()));
        assert_eq!(top[0].0.pos, Pos::new(1, 1));
        let Kind::Map(inner) = &top[0].1.value else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Pos::new(2, 3));
        assert_eq!(inner[0].1.value, Kind::Int(10));
        assert_eq!(inner[0].1.pos, Pos::new(2, 7));
        assert_eq!(inner[1].1.value, Kind::Str("10".into()));
        let Kind::Seq(list) = &top[1].1.value else {
            panic!()
        };
        assert_eq!(list[1].pos, Pos::new(4, 8));
        let Kind::Map(e) = &list[1].value else {
            panic!()
        };
        assert_eq!(e[0].0.pos, Pos::new(4, 9));
        assert_eq!(e[0].1.value, Kind::Null);
    }

    #[test]
    fn input_deeper_than_any_plan_is_not_read() {
        let deep = format!(
            "a: {}{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(&deep), None);
        let ok = format!(
            "a: {}{}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        assert!(parse(&ok).is_some());
    }
}
