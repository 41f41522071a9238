//! Writes a parsed policy back out the way API Management returns it on GET: one element
//! per line, two-space indentation, CRLF line breaks, `<empty />` elements; in `xml` the
//! policy expressions are entity-encoded, in `rawxml` they are left as written.

use crate::borrowed::policy_xml::{Element, Node, encode_expressions};

/// The `xml` form: the `rawxml` form with every policy expression entity-encoded.
pub fn to_xml(root: &Element) -> String {
    let raw = to_rawxml(root);
    // to_rawxml closes every expression it writes, so encoding cannot fail.
    encode_expressions(&raw).unwrap_or(raw)
}

/// The `rawxml` form (policy expressions as written, everything else XML-escaped).
pub fn to_rawxml(root: &Element) -> String {
    let mut out = String::new();
    write(root, 0, &mut out);
    out
}

fn is_expression(v: &str) -> bool {
    let v = v.trim_start();
    v.starts_with("@(") || v.starts_with("@{")
}

fn escape(v: &str, quotes: bool) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' if quotes => s.push_str("&quot;"),
            c => s.push(c),
        }
    }
    s
}

fn text(v: &str) -> String {
    if is_expression(v) {
        v.to_string()
    } else {
        escape(v, false)
    }
}

fn write(el: &Element, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    out.push_str(&indent);
    out.push('<');
    out.push_str(&el.name);
    for (k, v) in &el.attributes {
        let value = if is_expression(v) {
            v.clone()
        } else {
            escape(v, true)
        };
        out.push_str(&format!(" {k}=\"{value}\""));
    }
    match el.children.as_slice() {
        [] => out.push_str(" />"),
        [Node::Text(t)] => {
            out.push('>');
            out.push_str(&text(t));
            out.push_str(&format!("</{}>", el.name));
        }
        children => {
            out.push_str(">\r\n");
            for child in children {
                match child {
                    Node::Element(e) => write(e, depth + 1, out),
                    Node::Text(t) => {
                        out.push_str(&"  ".repeat(depth + 1));
                        out.push_str(&text(t));
                    }
                }
                out.push_str("\r\n");
            }
            out.push_str(&indent);
            out.push_str(&format!("</{}>", el.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::borrowed::policy_xml::{Format, parse};

    #[test]
    fn reformats_like_api_management() {
        let sent = "<policies> <inbound /> <backend>    <forward-request />  </backend>  <outbound /></policies>";
        let root = parse(sent, Format::Xml).unwrap();
        assert_eq!(
            to_xml(&root),
            "<policies>\r\n  <inbound />\r\n  <backend>\r\n    <forward-request />\r\n  </backend>\r\n  <outbound />\r\n</policies>"
        );
    }

    #[test]
    fn expressions_are_encoded_in_xml_only() {
        let raw = r#"<policies><inbound><set-header name="Authorization" exists-action="override"><value>@("Bearer " + (string)context.Variables["t"])</value></set-header><set-variable name="x" value="@(1 < 2 && true)" /></inbound></policies>"#;
        let root = parse(raw, Format::RawXml).unwrap();
        let xml = to_xml(&root);
        assert!(
            xml.contains(
                "<value>@(&quot;Bearer &quot; + (string)context.Variables[&quot;t&quot;])</value>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("value=\"@(1 &lt; 2 &amp;&amp; true)\""),
            "{xml}"
        );
        // Both forms parse back to the same policy.
        assert_eq!(parse(&xml, Format::Xml).unwrap(), root);
        let rawxml = to_rawxml(&root);
        assert!(rawxml.contains("value=\"@(1 < 2 && true)\""), "{rawxml}");
        assert_eq!(parse(&rawxml, Format::RawXml).unwrap(), root);
    }
}
