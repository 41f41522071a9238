//! Reading APIM policy documents in both of APIM's encodings.
//!
//! `rawxml` lets policy expressions (`@(...)`, `@{...}`) hold raw `"`, `<` and `&&`,
//! as both seed labs write them; `xml` is a well-formed document with those
//! characters entity-encoded. APIM finds each expression by its balanced delimiters,
//! respecting C# string and character literals, and parses the rest as XML. This
//! module does the same, so the renderer, the engine's diff and the emulator agree
//! on what a policy means.

use quick_xml::events::Event;
use quick_xml::events::attributes::AttrError;
use quick_xml::{Reader, XmlVersion};

/// How deep elements may nest. Real policies nest a handful of levels; the bound keeps
/// every walk of the tree (and its drop) far from the stack's end, whatever the input.
pub const MAX_DEPTH: usize = 64;

/// Why a policy document cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("an XML comment is not closed")]
    UnclosedComment,
    #[error("a CDATA section is not closed")]
    UnclosedCdata,
    #[error("the policy expression starting on line {line} is not closed")]
    UnclosedExpression { line: usize },
    #[error("not well-formed XML near line {line}: {source}")]
    NotWellFormed {
        line: usize,
        source: quick_xml::Error,
    },
    #[error("bad attribute in <{element}> near line {line}: {source}")]
    BadAttribute {
        element: String,
        line: usize,
        source: AttrError,
    },
    #[error("bad attribute value in <{element}>: {source}")]
    BadAttributeValue {
        element: String,
        source: quick_xml::Error,
    },
    #[error("an end tag has no start tag")]
    UnmatchedEnd,
    #[error("bad character reference `&{0};`")]
    BadCharRef(String),
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    #[error("<{0}> is not closed")]
    Unclosed(String),
    #[error("the policy is empty")]
    Empty,
    #[error("text outside the root element")]
    TextOutsideRoot,
    #[error("a second root element <{0}>")]
    SecondRoot(String),
    #[error("elements nest deeper than {MAX_DEPTH} levels near line {line}")]
    TooDeep { line: usize },
}

/// The encoding of a policy value, as in `properties.format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xml,
    RawXml,
}

/// An element of a parsed policy: name, attributes in document order, children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Text with surrounding white space trimmed; white-space-only text is dropped.
    Text(String),
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Every element below (and including) this one, depth first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        for child in self.elements() {
            out.extend(child.descendants());
        }
        out
    }
}

/// Rewrites a rawxml policy as well-formed XML by entity-encoding the inside of every
/// policy expression.
pub fn encode_expressions(raw: &str) -> Result<String, XmlError> {
    let bytes: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len() + 64);
    let mut i = 0;
    while i < bytes.len() {
        // Comments and CDATA pass through untouched.
        if starts_with(&bytes, i, "<!--") {
            let end = find(&bytes, i + 4, "-->").ok_or(XmlError::UnclosedComment)?;
            out.extend(&bytes[i..end + 3]);
            i = end + 3;
            continue;
        }
        if starts_with(&bytes, i, "<![CDATA[") {
            let end = find(&bytes, i + 9, "]]>").ok_or(XmlError::UnclosedCdata)?;
            out.extend(&bytes[i..end + 3]);
            i = end + 3;
            continue;
        }
        if bytes[i] == '@' && matches!(bytes.get(i + 1), Some('(') | Some('{')) {
            let end = expression_end(&bytes, i + 1).ok_or_else(|| {
                let line = bytes[..i].iter().filter(|c| **c == '\n').count() + 1;
                XmlError::UnclosedExpression { line }
            })?;
            out.push('@');
            let expression: String = bytes[i + 1..=end].iter().collect();
            out.push_str(&escape(&expression));
            i = end + 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Ok(out)
}

/// XML escaping of text or an attribute value: `&`, `<`, `>`, `"` and `'`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn starts_with(s: &[char], at: usize, pat: &str) -> bool {
    pat.chars()
        .enumerate()
        .all(|(k, c)| s.get(at + k) == Some(&c))
}

fn find(s: &[char], from: usize, pat: &str) -> Option<usize> {
    (from..s.len()).find(|&k| starts_with(s, k, pat))
}

/// Index of the delimiter closing the one at `open`, skipping C# literals.
fn expression_end(s: &[char], open: usize) -> Option<usize> {
    let (left, right) = match s[open] {
        '(' => ('(', ')'),
        _ => ('{', '}'),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < s.len() {
        let c = s[i];
        if c == '@' && s.get(i + 1) == Some(&'"') {
            // verbatim string: "" is an escaped quote
            i += 2;
            while i < s.len() {
                if s[i] == '"' {
                    if s.get(i + 1) == Some(&'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            i += 1;
            while i < s.len() && s[i] != c {
                if s[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
        } else if c == left {
            depth += 1;
        } else if c == right {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Parses a policy document in the given encoding into an element tree.
pub fn parse(value: &str, format: Format) -> Result<Element, XmlError> {
    let xml = match format {
        Format::RawXml => encode_expressions(value)?,
        Format::Xml => value.to_string(),
    };
    let mut reader = Reader::from_str(&xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let position = |reader: &Reader<&[u8]>| {
        let offset = reader.buffer_position() as usize;
        let upto = &xml[..offset.min(xml.len())];
        upto.matches('\n').count() + 1
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|source| XmlError::NotWellFormed {
                line: position(&reader),
                source,
            })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = e.name().as_ref().to_string();
                let mut attributes = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|source| XmlError::BadAttribute {
                        element: name.clone(),
                        line: position(&reader),
                        source,
                    })?;
                    let key = a.key.as_ref().to_string();
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|source| XmlError::BadAttributeValue {
                            element: name.clone(),
                            source,
                        })?
                        .into_owned();
                    attributes.push((key, value));
                }
                let el = Element {
                    name,
                    attributes,
                    children: Vec::new(),
                };
                if is_empty {
                    attach(&mut stack, &mut root, el)?;
                } else if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep {
                        line: position(&reader),
                    });
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(XmlError::UnmatchedEnd)?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0);
                push_text(&mut stack, &text)?;
            }
            Event::GeneralRef(r) => {
                let text = entity_text(r.as_ref())?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0).into_owned();
                push_text(&mut stack, &text)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError::Unclosed(open.name.clone()));
    }
    root.ok_or(XmlError::Empty)
}

/// The text an entity reference (`amp`, `#x41`...) stands for.
fn entity_text(name: &str) -> Result<String, XmlError> {
    Ok(match name {
        "amp" => "&".to_string(),
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "quot" => "\"".to_string(),
        "apos" => "'".to_string(),
        n if n.starts_with('#') => {
            let code = if let Some(hex) = n.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else {
                n[1..].parse().ok()
            };
            code.and_then(char::from_u32)
                .ok_or_else(|| XmlError::BadCharRef(n.to_string()))?
                .to_string()
        }
        n => return Err(XmlError::UnknownEntity(n.to_string())),
    })
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let Some(parent) = stack.last_mut() else {
        return Err(XmlError::TextOutsideRoot);
    };
    // Adjacent text pieces (split by entity references) join into one node.
    if let Some(Node::Text(prev)) = parent.children.last_mut() {
        prev.push_str(text);
    } else {
        parent.children.push(Node::Text(text.to_string()));
    }
    Ok(())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(el));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err(XmlError::SecondRoot(el.name.clone())),
    }
}

/// Normalises text nodes (trimmed, inner runs of white space kept) so two policies that
/// differ only in layout compare equal.
pub fn normalize(el: &Element) -> Element {
    Element {
        name: el.name.clone(),
        attributes: el.attributes.clone(),
        children: el
            .children
            .iter()
            .map(|c| match c {
                Node::Element(e) => Node::Element(normalize(e)),
                Node::Text(t) => Node::Text(t.trim().to_string()),
            })
            .collect(),
    }
}

/// A policy laid out one element per line, indented by four spaces, attribute values
/// and text as they read (expressions unencoded, as in rawxml), for people to compare:
/// two policies in different encodings and layouts print the same when they mean the
/// same, so a line diff of the two shows only what changed.
pub fn pretty(value: &str, format: Format) -> Result<String, XmlError> {
    let root = normalize(&parse(value, format)?);
    let mut out = String::new();
    pretty_element(&root, 0, &mut out);
    Ok(out)
}

fn pretty_element(el: &Element, depth: usize, out: &mut String) {
    let indent = "    ".repeat(depth);
    let attrs: String = el
        .attributes
        .iter()
        .map(|(k, v)| format!(" {k}=\"{v}\""))
        .collect();
    match el.children.as_slice() {
        [] => out.push_str(&format!("{indent}<{}{attrs} />\n", el.name)),
        [Node::Text(t)] => out.push_str(&format!("{indent}<{0}{attrs}>{t}</{0}>\n", el.name)),
        children => {
            out.push_str(&format!("{indent}<{}{attrs}>\n", el.name));
            for child in children {
                match child {
                    Node::Element(e) => pretty_element(e, depth + 1, out),
                    Node::Text(t) => out.push_str(&format!("{indent}    {t}\n")),
                }
            }
            out.push_str(&format!("{indent}</{}>\n", el.name));
        }
    }
}

/// Whether two policy values mean the same, whatever their encoding and layout.
pub fn same_policy(a: &str, a_format: Format, b: &str, b_format: Format) -> bool {
    match (parse(a, a_format), parse(b, b_format)) {
        (Ok(x), Ok(y)) => normalize(&x) == normalize(&y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"<policies>
    <inbound>
        <set-header name="Authorization" exists-action="override">
            <value>@("Bearer " + (string)context.Variables["tok"])</value>
        </set-header>
    </inbound>
    <backend>
        <retry count="2" condition="@(context.Response.StatusCode == 429 || (context.Response.StatusCode == 503 && !context.Response.StatusReason.Contains("Backend pool")))">
            <forward-request />
        </retry>
        <set-variable name="u" value="@{ var l = new List<string>() { "a)", "b}" }; return l[0]; }" />
    </backend>
    <!-- a comment with @( unbalanced -->
</policies>"#;

    #[test]
    fn pretty_prints_both_encodings_alike() {
        let raw = "<policies><inbound><set-header name=\"a\"><value>@(\"x\" + \"y\")</value></set-header></inbound><backend><forward-request /></backend></policies>";
        let xml = "<policies>\r\n  <inbound>\r\n    <set-header name=\"a\">\r\n      <value>@(&quot;x&quot; + &quot;y&quot;)</value>\r\n    </set-header>\r\n  </inbound>\r\n  <backend>\r\n    <forward-request />\r\n  </backend>\r\n</policies>";
        let want = "<policies>\n    <inbound>\n        <set-header name=\"a\">\n            <value>@(\"x\" + \"y\")</value>\n        </set-header>\n    </inbound>\n    <backend>\n        <forward-request />\n    </backend>\n</policies>\n";
        assert_eq!(pretty(raw, Format::RawXml).unwrap(), want);
        assert_eq!(pretty(xml, Format::Xml).unwrap(), want);
    }

    #[test]
    fn rawxml_expressions_parse() {
        let root = parse(RAW, Format::RawXml).unwrap();
        assert_eq!(root.name, "policies");
        let retry = root
            .descendants()
            .into_iter()
            .find(|e| e.name == "retry")
            .unwrap();
        assert!(
            retry
                .attr("condition")
                .unwrap()
                .contains("Contains(\"Backend pool\")")
        );
        let var = root
            .descendants()
            .into_iter()
            .find(|e| e.name == "set-variable")
            .unwrap();
        assert!(var.attr("value").unwrap().contains("List<string>"));
    }

    #[test]
    fn rawxml_is_not_xml() {
        assert!(parse(RAW, Format::Xml).is_err());
    }

    #[test]
    fn encoded_and_raw_forms_are_the_same_policy() {
        let xml = encode_expressions(RAW).unwrap();
        let pretty = xml.replace("\n", "\r\n").replace("    ", "  ");
        assert!(same_policy(RAW, Format::RawXml, &pretty, Format::Xml));
        assert!(!same_policy(
            RAW,
            Format::RawXml,
            &xml.replace("count=\"2\"", "count=\"3\""),
            Format::Xml
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for depth in [MAX_DEPTH + 1, 20_000, 100_000] {
            let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
            let err = parse(&doc, Format::Xml).unwrap_err();
            assert!(matches!(err, XmlError::TooDeep { line: 1 }), "{err}");
            assert_eq!(
                err.to_string(),
                "elements nest deeper than 64 levels near line 1"
            );
        }
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(&ok, Format::Xml).is_ok());
    }

    #[test]
    fn errors_keep_their_cause() {
        let err = parse("<policies><a></b></policies>", Format::Xml).unwrap_err();
        assert!(
            matches!(err, XmlError::NotWellFormed { line: 1, .. }),
            "{err}"
        );
        let cause = std::error::Error::source(&err).expect("the XML reader's error");
        assert!(err.to_string().ends_with(&cause.to_string()), "{err}");
    }

    #[test]
    fn unclosed_things_are_errors() {
        assert!(parse("<policies><inbound></policies>", Format::Xml).is_err());
        assert!(parse("<policies>@(foo</policies>", Format::RawXml).is_err());
        assert!(parse("", Format::Xml).is_err());
        assert!(parse("<a/><b/>", Format::Xml).is_err());
    }
}
