//! The emulator's own reader and writer of API Management policies, modelled on what
//! APIM documents and returns (it shares nothing with the product's renderer):
//!
//! - `xml`: a well-formed XML document; quotes, `<` and `&` inside policy expressions are
//!   entity-encoded. `rawxml`: the same document with expressions "not XML encoded"
//!   (PolicyContentFormat in the ARM REST reference), found by their balanced delimiters
//!   (`expr`).
//! - A policy over APIM's size limit, nested deeper than `MAX_DEPTH`, or malformed is
//!   refused with the line it fails on; the caller answers APIM's `400 ValidationError`.
//! - GET returns the policy reformatted (`format`): see `to_xml` / `to_rawxml`.

mod expr;
mod format;
mod tree;

pub use expr::{MAX_EXPRESSION_NESTING, encode_raw, expression_len, is_expression};
pub use format::{to_rawxml, to_xml};
pub use tree::MAX_DEPTH;

/// APIM's limit on a policy document: "Policy document size: 256 KiB" (API Management
/// gateway runtime limits, MicrosoftDocs/azure-docs includes/api-management-gateway-constraints.md).
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// How a policy value is encoded (the ARM `format` property).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `xml`: a well-formed XML document.
    Xml,
    /// `rawxml`: policy expressions not entity-encoded.
    RawXml,
}

/// Why a policy is refused. Lines are 1-based lines of the value as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    TooLarge {
        size: usize,
        limit: usize,
    },
    TooDeep {
        line: usize,
        limit: usize,
    },
    Expression {
        line: usize,
        message: String,
    },
    Xml {
        line: usize,
        message: String,
    },
    /// A value that starts as an expression and goes on after it.
    TrailingText {
        element: String,
        rest: String,
    },
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::TooLarge { size, limit } => write!(
                f,
                "the policy document is {size} bytes, over API Management's limit of {limit} bytes (256 KiB)"
            ),
            PolicyError::TooDeep { line, limit } => write!(
                f,
                "elements are nested deeper than {limit} levels (line {line})"
            ),
            PolicyError::Expression { line, message } => {
                write!(f, "invalid policy expression at line {line}: {message}")
            }
            PolicyError::Xml { line, message } => write!(f, "line {line}: {message}"),
            PolicyError::TrailingText { element, rest } => write!(
                f,
                "in <{element}>: unexpected text after the policy expression: '{rest}'"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// One node of a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Text content, trimmed (whitespace-only text between elements is layout, dropped).
    Text(String),
    Comment(String),
}

/// One element: its name, attributes in document order (values decoded) and children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Every element below this one, in document order (this one excluded).
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut stack: Vec<&Element> = self.elements().collect();
        stack.reverse();
        while let Some(e) = stack.pop() {
            out.push(e);
            let first = stack.len();
            stack.extend(e.elements());
            stack[first..].reverse();
        }
        out
    }

    /// The element's text (its text children, joined), if any.
    pub fn text(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        (!parts.is_empty()).then(|| parts.concat())
    }
}

/// Every value that starts as an expression must be exactly one expression (APIM
/// compiles it; trailing text is a compile error).
fn check_expressions(root: &Element) -> Result<(), PolicyError> {
    let whole = |el: &Element, v: &str| -> Result<(), PolicyError> {
        let v = v.trim();
        if !is_expression(v) {
            return Ok(());
        }
        // The line is not known here (the value is decoded); the element names it.
        let len = expression_len(v, 0)?;
        if len == v.len() {
            Ok(())
        } else {
            Err(PolicyError::TrailingText {
                element: el.name.clone(),
                rest: v[len..].chars().take(40).collect(),
            })
        }
    };
    let mut all = root.descendants();
    all.push(root);
    for el in all {
        for (_, v) in &el.attributes {
            whole(el, v)?;
        }
        for n in &el.children {
            if let Node::Text(t) = n {
                whole(el, t)?;
            }
        }
    }
    Ok(())
}

/// Reads a policy value sent in `format`.
pub fn parse(value: &str, format: Format) -> Result<Element, PolicyError> {
    if value.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            size: value.len(),
            limit: MAX_POLICY_BYTES,
        });
    }
    let root = match format {
        Format::Xml => tree::read(value)?,
        Format::RawXml => tree::read(&encode_raw(value)?)?,
    };
    check_expressions(&root)?;
    Ok(root)
}

#[cfg(test)]
mod tests;
