//! Writes a policy the way API Management returns it on GET: one element per line,
//! two spaces of indentation per level, CRLF line breaks, empty elements as `<name />`,
//! an element with only text on one line (the 200 body of ApiManagementCreateApiPolicy.json
//! in azure-rest-api-specs: `<policies>\r\n  <inbound />\r\n  <backend>\r\n    <forward-request />...`).
//! In `xml` policy expressions are entity-encoded like any value; in `rawxml` they are
//! written as they were sent.

use super::{Element, Node, expr};

/// The `xml` form (what GET returns by default).
pub fn to_xml(root: &Element) -> String {
    write(root, true)
}

/// The `rawxml` form (GET with `?format=rawxml`).
pub fn to_rawxml(root: &Element) -> String {
    write(root, false)
}

fn escape(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

fn value(v: &str, encode_expressions: bool, out: &mut String) {
    if encode_expressions || !expr::is_expression(v) {
        escape(v, out);
    } else {
        out.push_str(v);
    }
}

/// Writes without recursion (a parsed policy is at most `MAX_DEPTH` deep, but the
/// writer does not rely on it).
fn write(root: &Element, encode_expressions: bool) -> String {
    enum Step<'a> {
        Open(&'a Node, usize),
        Close(&'a Element, usize),
    }
    let root_node = Node::Element(root.clone());
    let mut out = String::new();
    let mut steps = vec![Step::Open(&root_node, 0)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Close(el, depth) => {
                out.push_str(&"  ".repeat(depth));
                out.push_str(&format!("</{}>", el.name));
                if depth > 0 {
                    out.push_str("\r\n");
                }
            }
            Step::Open(node, depth) => {
                out.push_str(&"  ".repeat(depth));
                match node {
                    Node::Text(t) => value(t, encode_expressions, &mut out),
                    Node::Comment(c) => out.push_str(&format!("<!--{c}-->")),
                    Node::Element(el) => {
                        out.push('<');
                        out.push_str(&el.name);
                        for (k, v) in &el.attributes {
                            out.push_str(&format!(" {k}=\""));
                            value(v, encode_expressions, &mut out);
                            out.push('"');
                        }
                        match el.children.as_slice() {
                            [] => out.push_str(" />"),
                            [Node::Text(t)] => {
                                out.push('>');
                                value(t, encode_expressions, &mut out);
                                out.push_str(&format!("</{}>", el.name));
                            }
                            children => {
                                out.push_str(">\r\n");
                                steps.push(Step::Close(el, depth));
                                steps.extend(
                                    children.iter().rev().map(|c| Step::Open(c, depth + 1)),
                                );
                                continue;
                            }
                        }
                    }
                }
                if depth > 0 {
                    out.push_str("\r\n");
                }
            }
        }
    }
    out
}
