//! The published JSON Schema is generated from the parser's types and accepts every
//! example; editors that use it flag what the parser rejects.

use serde_json::Value;

use crate::util::{aoai_lb, examples, repo, run};

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/plan.schema.json")).unwrap())
        .unwrap()
}

fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).unwrap()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let generated = aoai_lb::core::schema::plan_schema_json();
    let committed = std::fs::read_to_string(repo().join("schemas/plan.schema.json")).unwrap();
    assert!(
        generated == committed,
        "schemas/plan.schema.json is stale: run `cargo run -- schema > schemas/plan.schema.json`"
    );
    let out = run(aoai_lb(&repo()).arg("schema"));
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, committed);
}

#[test]
fn every_example_points_at_the_schema_and_validates_against_it() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for example in examples() {
        let text = std::fs::read_to_string(&example).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/plan.schema.json\n"),
            "{} lacks the yaml-language-server line",
            example.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&yaml_to_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", example.display());
    }
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let base = std::fs::read_to_string(repo().join("examples/two-regions.yaml")).unwrap();
    for (what, bad) in [
        ("unknown field", base.replace("weight: 2", "wieght: 2")),
        (
            "missing required field",
            base.replace("    path: openai-lb\n", ""),
        ),
        (
            "identity that is neither form",
            base.replace("identity: SystemAssigned", "identity: Managed"),
        ),
        (
            "retry that is neither auto nor a number",
            base.replace("retry: auto", "retry: always"),
        ),
        (
            "number where a string goes",
            base.replace("path: openai-lb", "path: [1, 2]"),
        ),
    ] {
        assert_ne!(bad, base, "{what}: the replacement did not apply");
        assert!(
            !validator.is_valid(&yaml_to_json(&bad)),
            "schema accepts a plan with {what}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), &bad).unwrap();
        assert_eq!(
            run(aoai_lb(dir.path()).args(["validate", "p.yaml"])).code,
            2,
            "parser accepts {what}"
        );
    }
}

/// Every property name in the schema, with the path it sits at.
fn property_names(schema: &Value, out: &mut Vec<String>) {
    if let Some(map) = schema.as_object() {
        if let Some(props) = map.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        for v in map.values() {
            property_names(v, out);
        }
    } else if let Some(items) = schema.as_array() {
        items.iter().for_each(|v| property_names(v, out));
    }
}

#[test]
fn the_plan_reference_documents_every_field() {
    let reference = std::fs::read_to_string(repo().join("docs/plan-reference.md")).unwrap();
    let mut names = Vec::new();
    property_names(&schema(), &mut names);
    names.sort();
    names.dedup();
    assert!(names.len() > 30);
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !reference.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/plan-reference.md does not mention {missing:?}"
    );
}

#[test]
fn the_readme_plan_is_valid() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```yaml\n").expect("README has a yaml block") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = readme[start..end].replace("../schemas", "schemas");
    std::fs::write(dir.path().join("plan.yaml"), text).unwrap();
    let out = run(aoai_lb(dir.path()).args(["validate", "plan.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn the_troubleshooting_table_lists_every_hint() {
    let doc = std::fs::read_to_string(repo().join("docs/troubleshooting.md")).unwrap();
    for (code, hint) in aoai_lb::arm::hints::HINTS {
        assert!(
            doc.contains(&format!("| `{code}` | {hint} |")),
            "docs/troubleshooting.md lacks or differs on {code}"
        );
    }
}
