//! The reader and the writer against what API Management documents and returns.

use super::*;

#[test]
fn reformats_like_api_management() {
    // The request and 200 body of ApiManagementCreateApiPolicy.json (azure-rest-api-specs).
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
    // Both forms read back to the same policy.
    assert_eq!(parse(&xml, Format::Xml).unwrap(), root);
    let rawxml = to_rawxml(&root);
    assert!(rawxml.contains("value=\"@(1 < 2 && true)\""), "{rawxml}");
    assert_eq!(parse(&rawxml, Format::RawXml).unwrap(), root);
}

#[test]
fn trees_hold_names_attributes_text_and_comments() {
    let raw = "<policies>\n  <!-- c -->\n  <inbound>\n    <set-variable name=\"u\" value=\"@{ var l = new List<string> { \"a)\" }; return l[0]; }\" />\n    <value> a &amp; b </value>\n  </inbound>\n</policies>";
    let root = parse(raw, Format::RawXml).unwrap();
    assert_eq!(root.name, "policies");
    assert_eq!(root.children[0], Node::Comment(" c ".into()));
    let inbound = root.elements().next().unwrap();
    let sv = inbound.elements().next().unwrap();
    assert_eq!(
        sv.attr("value"),
        Some("@{ var l = new List<string> { \"a)\" }; return l[0]; }")
    );
    assert_eq!(
        inbound.elements().nth(1).unwrap().text().as_deref(),
        Some("a & b")
    );
    let names: Vec<&str> = root.descendants().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["inbound", "set-variable", "value"]);
}

#[test]
fn xml_must_be_well_formed() {
    let cases = [
        (r#"<policies><a v="@(x == "y")" /></policies>"#, Format::Xml),
        (r#"<policies><a v="@(x && y)" /></policies>"#, Format::Xml),
        (r#"<policies><a v="1 < 2" /></policies>"#, Format::Xml),
        ("<policies><a></b></policies>", Format::Xml),
        ("<policies>", Format::RawXml),
        ("<policies/><inbound/>", Format::Xml),
        ("text", Format::Xml),
        ("", Format::Xml),
        ("<policies><a v=\"@(x\" /></policies>", Format::RawXml),
        ("<policies><a v=\"@(x) y\" /></policies>", Format::Xml),
        ("<policies><a>&nbsp;</a></policies>", Format::Xml),
        (
            "<!DOCTYPE p [<!ENTITY a \"b\">]><policies>&a;</policies>",
            Format::Xml,
        ),
        ("<policies a=\"1\" a=\"2\" />", Format::Xml),
    ];
    for (policy, format) in cases {
        assert!(parse(policy, format).is_err(), "{policy}");
    }
    let e = parse(
        "<policies>\n<inbound>\n</outbound>\n</policies>",
        Format::Xml,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("line 3"), "{e}");
}

#[test]
fn depth_and_size_are_bounded() {
    for depth in [MAX_DEPTH + 1, 20_000, 100_000] {
        let deep = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let e = parse(&deep, Format::RawXml).unwrap_err();
        assert!(
            matches!(
                e,
                PolicyError::TooDeep { .. } | PolicyError::TooLarge { .. }
            ),
            "{depth}: {e}"
        );
    }
    let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    assert!(parse(&ok, Format::Xml).is_ok());
    let big = format!("<policies>{}</policies>", "x".repeat(MAX_POLICY_BYTES));
    assert!(matches!(
        parse(&big, Format::Xml),
        Err(PolicyError::TooLarge { .. })
    ));
}
