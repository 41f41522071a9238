//! The shape walk against the plan's real schema: what it reports, where, and that it
//! is no stricter than the typed parse.

use super::*;
use crate::parse;
use crate::schema::plan_schema;

const BASE: &str = "\
subscriptionId: 00000000-0000-0000-0000-000000000000
resourceGroup: { name: rg, location: westus }
accounts:
  - name: aoai-one
    location: westus
    deployments:
      - { name: gpt-4o, model: gpt-4o, version: \"2024-08-06\", capacity: 10 }
    backend: { name: one, priority: 1, weight: 2 }
apim:
  name: apim
  identity: SystemAssigned
  api: { name: api, path: openai }
  pool:
    name: pool
    circuitBreaker: { failures: 1, interval: PT1M, statusCodes: [\"429\"], tripDuration: PT1M }
  policy: { retry: auto }
";

fn lines(text: &str) -> Vec<String> {
    check(text, &plan_schema())
        .iter()
        .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
        .collect()
}

#[test]
fn a_valid_plan_has_no_shape_problem() {
    assert!(parse::parse(BASE).is_ok());
    assert_eq!(lines(BASE), Vec::<String>::new());
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let bad = BASE
        .replace("weight: 2", "wieght: 2")
        .replace("capacity: 10", "capacity: \"10\"")
        .replace("  name: apim\n", "  name: apim\n  resource_group: rg\n")
        .replace("path: openai", "path: [1]")
        .replace("retry: auto", "retry: always")
        .replace("identity: SystemAssigned", "identity: 5");
    assert_eq!(
        lines(&bad),
        [
            "7:73 expected a whole number, not the string \"10\" (write it without quotes)",
            "8:40 unknown field `wieght` (did you mean `weight`?); expected one of `name`, `priority`, `weight`",
            "11:3 unknown field `resource_group` (did you mean `resourceGroup`?); expected one of `name`, `resourceGroup`, `identity`, `api`, `pool`, `policy`, `subscription`, `clients`, `appInsights`",
            "12:13 expected `SystemAssigned` or a mapping with `userAssigned`, not the number 5",
            "13:27 expected a string, not a list",
            "17:20 expected `auto` or a whole number, not the string \"always\"",
        ]
    );
    let Err(all) = parse::parse(&bad) else {
        panic!("parsed")
    };
    assert_eq!(all.len(), 6, "{all:?}");
}

#[test]
fn missing_and_null_fields_are_reported() {
    let bad = BASE
        .replace("api: { name: api, path: openai }", "api: { name: api }")
        .replace("model: gpt-4o,", "model: ~,")
        .replace("statusCodes: [\"429\"]", "statusCodes: 429");
    assert_eq!(
        lines(&bad),
        [
            "7:32 expected a string, not null",
            "12:8 missing field `path`",
            "15:65 expected a list, not the number 429",
        ]
    );
}

#[test]
fn scalars_are_read_as_leniently_as_the_typed_parse_reads_them() {
    let lenient = BASE
        .replace("model: gpt-4o", "model: 10")
        .replace("name: aoai-one", "name: true")
        .replace(
            "tripDuration: PT1M }",
            "tripDuration: PT1M, acceptRetryAfter: \"yes\" }",
        )
        .replace("capacity: 10", "capacity: 0x10");
    assert!(parse::parse(&lenient).is_ok());
    assert_eq!(lines(&lenient), Vec::<String>::new());
}

#[test]
fn a_user_assigned_identity_is_walked_as_a_mapping() {
    let bad = BASE.replace(
        "identity: SystemAssigned",
        "identity: { userAssigned: /x, clientId: y }",
    );
    assert_eq!(
        lines(&bad),
        ["11:33 unknown field `clientId`; expected `userAssigned`"]
    );
}

#[test]
fn suggestions_are_only_for_near_misses() {
    let known = ["name", "priority", "weight"];
    assert_eq!(suggest("wieght", &known), Some("weight"));
    assert_eq!(suggest("Priority", &known), Some("priority"));
    assert_eq!(suggest("colour", &known), None);
    assert_eq!(suggest("x", &known), None);
}

#[test]
fn yaml_that_does_not_parse_leaves_the_typed_error_alone() {
    assert!(check("a: [1, 2\n", &plan_schema()).is_empty());
}
