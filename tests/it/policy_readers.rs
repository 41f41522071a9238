//! The product's policy reader (`aoai_lb::core::policy_xml`, what render and plan use)
//! and the emulator's own (`aoai_lb::emulator::policy`, what the emulated APIM accepts,
//! reformats and routes by) are independent implementations. Here they check each other:
//! every golden policy, and hand-written tricky ones, must read to the same element tree
//! (names, attributes, expressions, text) with both, and what one refuses the other
//! refuses too.

use std::path::Path;

use aoai_lb::core::policy_xml as product;
use aoai_lb::emulator::policy as emulator;
use serde_json::Value;

use crate::util::repo;

/// A reader-neutral tree. Comments are left out (the product's reader drops them, APIM
/// keeps them: a legitimate difference), text is trimmed by both.
#[derive(Debug, PartialEq, Eq)]
enum Tree {
    Element(String, Vec<(String, String)>, Vec<Tree>),
    Text(String),
}

fn from_product(e: &product::Element) -> Tree {
    let children = e
        .children
        .iter()
        .map(|c| match c {
            product::Node::Element(e) => from_product(e),
            product::Node::Text(t) => Tree::Text(t.trim().to_string()),
        })
        .collect();
    Tree::Element(e.name.clone(), e.attributes.clone(), children)
}

fn from_emulator(e: &emulator::Element) -> Tree {
    let children = e
        .children
        .iter()
        .filter_map(|c| match c {
            emulator::Node::Element(e) => Some(from_emulator(e)),
            emulator::Node::Text(t) => Some(Tree::Text(t.trim().to_string())),
            emulator::Node::Comment(_) => None,
        })
        .collect();
    Tree::Element(e.name.clone(), e.attributes.clone(), children)
}

fn formats(name: &str) -> (product::Format, emulator::Format) {
    match name {
        "xml" => (product::Format::Xml, emulator::Format::Xml),
        "rawxml" => (product::Format::RawXml, emulator::Format::RawXml),
        other => panic!("unexpected policy format {other}"),
    }
}

/// Both readers' trees of one policy (panics, naming `what`, if either refuses it).
fn both(what: &str, value: &str, format: &str) -> (Tree, Tree) {
    let (pf, ef) = formats(format);
    let p = product::parse(value, pf)
        .unwrap_or_else(|e| panic!("{what}: the product's reader refuses it: {e}"));
    let e = emulator::parse(value, ef)
        .unwrap_or_else(|e| panic!("{what}: the emulator's reader refuses it: {e}"));
    (from_product(&p), from_emulator(&e))
}

fn agree(what: &str, value: &str, format: &str) {
    let (p, e) = both(what, value, format);
    assert_eq!(p, e, "{what}: the two readers disagree");
    // What the emulated APIM returns on GET reads back to the same tree with the product's
    // reader too, in both formats (that is what `plan` compares against).
    let parsed = emulator::parse(value, formats(format).1).unwrap();
    for (out, f) in [
        (emulator::to_xml(&parsed), "xml"),
        (emulator::to_rawxml(&parsed), "rawxml"),
    ] {
        let (p2, e2) = both(&format!("{what} as returned ({f})"), &out, f);
        assert_eq!(
            p2, p,
            "{what}: the product reads APIM's {f} form differently"
        );
        assert_eq!(
            e2, e,
            "{what}: the emulator reads its own {f} form differently"
        );
    }
}

fn golden_policies() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let golden = repo().join("tests/golden");
    for dir in std::fs::read_dir(&golden).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let policy = dir.join("policy.xml");
        if policy.exists() {
            let text = std::fs::read_to_string(&policy).unwrap();
            out.push((format!("{name}/policy.xml"), text, "rawxml".to_string()));
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let fname = file.file_name().unwrap().to_string_lossy().to_string();
            if !fname.contains("-api_policy-") {
                continue;
            }
            out.push(request_policy(&file, &format!("{name}/{fname}")));
        }
    }
    out
}

fn request_policy(file: &Path, what: &str) -> (String, String, String) {
    let request: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let props = &request["body"]["properties"];
    (
        what.to_string(),
        props["value"].as_str().unwrap().to_string(),
        props["format"].as_str().unwrap().to_string(),
    )
}

#[test]
fn both_readers_read_every_golden_policy_alike() {
    let policies = golden_policies();
    // One policy.xml and one api_policy request per example plan's render.
    let examples = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .filter(|f| {
            let p = f.as_ref().unwrap().path();
            p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("github-workflow.yml")
        })
        .count();
    assert_eq!(policies.len(), 2 * examples, "{policies:?}");
    for (what, value, format) in &policies {
        agree(what, value, format);
    }
}

const TRICKY: &[(&str, &str)] = &[
    (
        "quotes, < and && in a rawxml attribute expression",
        r#"<policies><inbound><set-variable name="ok" value="@(context.Request.Headers.GetValueOrDefault("x", "") != "" && 1 < 2)" /></inbound></policies>"#,
    ),
    (
        "a C# string holding ) and } and a char literal holding a quote",
        r#"<policies><inbound><set-header name="h" exists-action="override"><value>@(string.Format("{0})", '"') + "}")</value></set-header></inbound></policies>"#,
    ),
    (
        "a statement block with nested braces and a verbatim string",
        "<policies>\n  <backend>\n    <set-variable name=\"u\" value=\"@{\n      /* pick one ) */\n      var l = new System.Collections.Generic.List<string>() { \"https://a/openai\", @\"https://b/\"\"x\"\"\" };\n      if (l.Count > 1) { return l[new System.Random().Next(0, l.Count)]; }\n      return l[0];\n    }\" />\n    <forward-request />\n  </backend>\n</policies>",
    ),
    (
        "a multi-line block in element text, with a line comment",
        "<policies>\n  <outbound>\n    <set-body>@{\n      // not the end: )\n      var b = context.Response.Body.As<JObject>();\n      return b.ToString();\n    }</set-body>\n  </outbound>\n</policies>",
    ),
    (
        "an interpolated string with an expression hole",
        r#"<policies><inbound><set-header name="h" exists-action="override"><value>@($"Bearer {(string)context.Variables["t"]} {{x}}")</value></set-header></inbound></policies>"#,
    ),
    (
        "entities in plain values and text",
        r#"<policies><inbound><set-header name="a&amp;b" exists-action="override"><value>x &lt; y</value></set-header></inbound></policies>"#,
    ),
];

#[test]
fn both_readers_read_tricky_policies_alike() {
    for (what, raw) in TRICKY {
        agree(what, raw, "rawxml");
    }
}

#[test]
fn both_readers_refuse_the_same_broken_policies() {
    let broken = [
        ("unclosed element", "<policies><inbound></policies>", "xml"),
        (
            "raw quote in an xml attribute expression",
            r#"<policies><a v="@(x == "y")" /></policies>"#,
            "xml",
        ),
        (
            "raw && in an xml attribute",
            r#"<policies><a v="@(x && y)" /></policies>"#,
            "xml",
        ),
        ("two roots", "<policies /><policies />", "xml"),
        (
            "unbalanced rawxml expression",
            r#"<policies><a v="@(f(x)" /></policies>"#,
            "rawxml",
        ),
        ("not XML", "policies", "rawxml"),
    ];
    for (what, value, format) in broken {
        let (pf, ef) = formats(format);
        assert!(
            product::parse(value, pf).is_err(),
            "{what}: the product accepts it"
        );
        assert!(
            emulator::parse(value, ef).is_err(),
            "{what}: the emulator accepts it"
        );
    }
}
