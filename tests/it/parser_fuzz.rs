//! The plan parser and validator never panic, whatever the input: random text, random
//! YAML-shaped text, and random edits of a real plan.

use aoai_lb::core::desired::{self, Facts};
use aoai_lb::core::validate::{Context, Files, validate};
use aoai_lb::core::{parse, render};
use proptest::prelude::*;

use crate::util::repo;

/// Parse, and when that works, validate, build and render: none may panic.
fn exercise(text: &str) {
    let Ok(plan) = parse::parse(text) else { return };
    let ctx = Context {
        subscription_id: Some("00000000-0000-0000-0000-000000000000".into()),
        ..Context::default()
    };
    let outcome = validate(&plan, &ctx, &Files::new());
    if let Some(model) = outcome.model {
        desired::build(&model, &Facts::unknown()).expect("a valid model builds");
        render::bundle(&model, &Facts::unknown(), "https://management.azure.com")
            .expect("a valid model renders");
    } else {
        assert!(
            outcome.errors().next().is_some(),
            "no model but no error either"
        );
    }
}

fn example() -> String {
    std::fs::read_to_string(repo().join("examples/priority-spillover.yaml")).unwrap()
}

fn yaml_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("accounts:".to_string()),
        Just("- name: a".to_string()),
        Just("apim:".to_string()),
        Just("  ".to_string()),
        Just("\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(": ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: *a".to_string()),
        Just("!!binary ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("---".to_string()),
        Just("#".to_string()),
        Just("|".to_string()),
        "[a-zA-Z0-9_-]{0,8}",
        "-?[0-9]{1,25}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        exercise(&text);
    }

    #[test]
    fn random_yaml_shapes_never_panic(tokens in prop::collection::vec(yaml_token(), 0..60)) {
        exercise(&tokens.concat());
    }

    #[test]
    fn random_edits_of_a_real_plan_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, "\\PC{0,6}"), 1..6)
    ) {
        let mut text = example();
        for (at, delete, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            let mut end = (i + delete).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(i..end, &insert);
        }
        exercise(&text);
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    let text = format!("accounts: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse::parse(&text).is_err());
    let text = format!(
        "accounts:\n{}",
        (0..5000)
            .map(|i| format!("{}- \n", " ".repeat(i)))
            .collect::<String>()
    );
    assert!(parse::parse(&text).is_err());
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    assert!(parse::parse(&text).is_err());
}
