//! The plan's JSON Schema, generated from the serde types in [`super::plan`], so the
//! schema editors use and the parser can never disagree.

use schemars::generate::SchemaSettings;

use super::plan::Plan;

/// Where the published schema lives, for `# yaml-language-server: $schema=` lines.
pub const SCHEMA_PATH: &str = "schemas/plan.schema.json";

/// The schema as pretty JSON (draft-07: what yaml-language-server reads best).
pub fn plan_schema_json() -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Plan>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The schema as a JSON value (what [`crate::shape`] walks a plan against; its keys
/// are not in the published order).
pub fn plan_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    generator.into_root_schema_for::<Plan>().to_value()
}
