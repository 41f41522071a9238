//! Every rendered ARM body validates against the official ARM JSON Schemas
//! (tests/fixtures/arm-schemas), in a strict mode where unknown properties are errors.

use std::collections::HashMap;

use aoai_lb::core::desired::{self, DesiredResource, Facts, Kind};
use jsonschema::{Draft, Retrieve, Uri};
use serde_json::{Value, json};

use crate::util::{examples, load_example, repo};

const COMMON_URI: &str = "https://schema.management.azure.com/schemas/common/definitions.json";

struct LocalCommon(Value);

impl Retrieve for LocalCommon {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str().trim_end_matches('#') == COMMON_URI {
            Ok(self.0.clone())
        } else {
            Err(format!("no network in tests: {uri}").into())
        }
    }
}

fn load(path: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/arm-schemas").join(path)).unwrap(),
    )
    .unwrap()
}

/// Adds `additionalProperties: false` to every object schema that lists its properties
/// and says nothing about others, so a misspelt field fails the test. Walks schema
/// positions only (a property may itself be called `properties`).
fn strict(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    let lists_properties = map
        .get("properties")
        .is_some_and(|p| p.as_object().is_some_and(|o| !o.is_empty()));
    if lists_properties && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties", "definitions", "patternProperties"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(strict);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            match child {
                Value::Array(items) => items.iter_mut().for_each(strict),
                other => strict(other),
            }
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(items)) = map.get_mut(key) {
            items.iter_mut().for_each(strict);
        }
    }
}

/// Applies [`strict`] to each resource definition of a provider schema file.
fn strict_file(file: &mut Value) {
    let Value::Object(map) = file else { return };
    for (key, value) in map.iter_mut() {
        if (key == "definitions" || key.ends_with("esourceDefinitions"))
            && let Value::Object(children) = value
        {
            children.values_mut().for_each(strict);
        }
    }
}

struct Schemas {
    files: HashMap<&'static str, Value>,
    common: Value,
}

impl Schemas {
    fn new() -> Self {
        let mut files = HashMap::new();
        for (key, path) in [
            ("cog", "2024-10-01/Microsoft.CognitiveServices.json"),
            ("apim", "2024-05-01/Microsoft.ApiManagement.json"),
            ("auth", "2022-04-01/Microsoft.Authorization.json"),
        ] {
            let mut v = load(path);
            strict_file(&mut v);
            files.insert(key, v);
        }
        Schemas {
            files,
            common: load("common/definitions.json"),
        }
    }

    /// Validates `instance` against `#/{pointer}` of a provider schema file.
    fn check(&self, file: &str, pointer: &str, instance: &Value) -> Result<(), String> {
        let mut doc = self.files[file].clone();
        doc.as_object_mut()
            .unwrap()
            .insert("$ref".into(), json!(format!("#/{pointer}")));
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_retriever(LocalCommon(self.common.clone()))
            .build(&doc)
            .map_err(|e| format!("schema does not build: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// A template resource's name: the names along the type path (`apim/api/policy`).
fn template_name(id: &str) -> String {
    let (_, rest) = id.rsplit_once("/providers/").unwrap();
    let segments: Vec<&str> = rest.split('/').skip(1).collect(); // skip the namespace
    segments
        .iter()
        .skip(1)
        .step_by(2)
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// The template-resource form ARM's deployment schemas describe: the REST body plus
/// name, type and apiVersion.
fn as_template_resource(r: &DesiredResource, type_: &str) -> Value {
    let mut v = r.body.clone();
    let obj = v.as_object_mut().unwrap();
    obj.insert("name".into(), json!(template_name(&r.id)));
    obj.insert("type".into(), json!(type_));
    obj.insert("apiVersion".into(), json!(r.api_version));
    v
}

fn check_resource(schemas: &Schemas, r: &DesiredResource) -> Result<(), String> {
    match r.kind {
        // No Microsoft.Resources schema ships with the fixtures; pinned by golden files.
        Kind::ResourceGroup => Ok(()),
        Kind::Account => schemas.check(
            "cog",
            "resourceDefinitions/accounts",
            &as_template_resource(r, "Microsoft.CognitiveServices/accounts"),
        ),
        Kind::Deployment => schemas.check(
            "cog",
            "resourceDefinitions/accounts_deployments",
            &as_template_resource(r, "Microsoft.CognitiveServices/accounts/deployments"),
        ),
        Kind::ApimIdentity => schemas.check(
            "apim",
            "definitions/ApiManagementServiceIdentity",
            &r.body["identity"],
        ),
        Kind::RoleAssignment => schemas.check(
            "auth",
            "resourceDefinitions/roleAssignments",
            &as_template_resource(r, "Microsoft.Authorization/roleAssignments"),
        ),
        Kind::Backend | Kind::Pool => schemas.check(
            "apim",
            "resourceDefinitions/service_backends",
            &as_template_resource(r, "Microsoft.ApiManagement/service/backends"),
        ),
        Kind::Api => schemas.check(
            "apim",
            "resourceDefinitions/service_apis",
            &as_template_resource(r, "Microsoft.ApiManagement/service/apis"),
        ),
        Kind::ApiPolicy => schemas.check(
            "apim",
            "resourceDefinitions/service_apis_policies",
            &as_template_resource(r, "Microsoft.ApiManagement/service/apis/policies"),
        ),
        Kind::Subscription => schemas.check(
            "apim",
            "resourceDefinitions/service_subscriptions",
            &as_template_resource(r, "Microsoft.ApiManagement/service/subscriptions"),
        ),
    }
}

fn facts_sets() -> [Facts; 2] {
    [
        Facts::unknown(),
        Facts {
            principal_id: Some("9a2f1c3e-0b1d-4e5f-8a7b-6c5d4e3f2a1b".into()),
            client_id: Some("1b2c3d4e-5f60-4718-a9b0-c1d2e3f4a5b6".into()),
        },
    ]
}

#[test]
fn every_rendered_body_validates_against_the_official_arm_schemas() {
    let schemas = Schemas::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for example in examples() {
        let model = load_example(&example);
        for facts in facts_sets() {
            for r in desired::build(&model, &facts).unwrap() {
                if let Err(e) = check_resource(&schemas, &r) {
                    failures.push(format!("{} {}: {e}", example.display(), r.address));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "checked only {checked} bodies");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_strict_schemas_do_reject_what_arm_would() {
    // The test above is only worth something if the validator can fail.
    let schemas = Schemas::new();
    let model = load_example(&repo().join("examples/priority-spillover.yaml"));
    let resources = desired::build(&model, &Facts::unknown()).unwrap();
    let find = |kind| resources.iter().find(|r| r.kind == kind).unwrap().clone();

    let mut account = find(Kind::Account);
    account.body["properties"]["customSubDomian"] = json!("typo");
    assert!(
        check_resource(&schemas, &account)
            .unwrap_err()
            .contains("customSubDomian")
    );

    let mut pool = find(Kind::Pool);
    pool.body["properties"]["pool"]["services"][0]["weight"] = json!(101);
    assert!(check_resource(&schemas, &pool).is_err());

    let mut backend = find(Kind::Backend);
    backend.body["properties"]["circuitBreaker"]["rules"][0]["failureCondition"]["statusCodeRanges"]
        [0]["min"] = json!(100);
    assert!(check_resource(&schemas, &backend).is_err());

    let mut api = find(Kind::Api);
    api.body["properties"]["format"] = json!("openapi+yaml");
    assert!(check_resource(&schemas, &api).is_err());
}

#[test]
fn pools_carry_no_url_or_protocol_and_members_are_full_backend_ids() {
    // The known exception to the schemas: APIM rejects url/protocol on a pool although the
    // schema lets them through (bicep #14097, azure-rest-api-specs #35713).
    for example in examples() {
        let model = load_example(&example);
        let resources = desired::build(&model, &Facts::unknown()).unwrap();
        let pool = resources.iter().find(|r| r.kind == Kind::Pool).unwrap();
        let props = pool.body["properties"].as_object().unwrap();
        assert!(
            !props.contains_key("url") && !props.contains_key("protocol"),
            "{}",
            example.display()
        );
        let backend_ids: Vec<&str> = resources
            .iter()
            .filter(|r| r.kind == Kind::Backend)
            .map(|r| r.id.as_str())
            .collect();
        for member in props["pool"]["services"].as_array().unwrap() {
            let id = member["id"].as_str().unwrap();
            assert!(
                id.starts_with("/subscriptions/") && backend_ids.contains(&id),
                "{id}"
            );
        }
    }
}
