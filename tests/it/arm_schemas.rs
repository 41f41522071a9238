//! Every rendered ARM body validates against the official ARM JSON Schemas
//! (`schemas/arm/`), in the emulator's strict mode where unknown properties are errors.

use aoai_lb::core::desired::{self, DesiredResource, Facts, Kind};
use aoai_lb::emulator::schema::{ArmSchemas, BodyKind};
use serde_json::json;

use crate::util::{examples, load_example, repo};

fn check_resource(r: &DesiredResource) -> Result<(), String> {
    let kind = match r.kind {
        // No Microsoft.Resources schema ships with the fixtures; pinned by golden files.
        Kind::ResourceGroup => return Ok(()),
        Kind::Account => BodyKind::Account,
        Kind::Deployment => BodyKind::Deployment,
        Kind::ApimIdentity => {
            return ArmSchemas::get()
                .validate(
                    BodyKind::ApimIdentity,
                    &r.id,
                    r.api_version,
                    &r.body["identity"],
                )
                .map_err(|e| e.join("; "));
        }
        Kind::RoleAssignment => BodyKind::RoleAssignment,
        Kind::Backend | Kind::Pool => BodyKind::Backend,
        Kind::Api => BodyKind::Api,
        Kind::ApiPolicy => BodyKind::ApiPolicy,
        Kind::Subscription => BodyKind::Subscription,
        Kind::Component => BodyKind::Component,
        Kind::Logger => BodyKind::Logger,
        Kind::Diagnostic => BodyKind::ApiDiagnostic,
    };
    ArmSchemas::get()
        .validate(kind, &r.id, r.api_version, &r.body)
        .map_err(|e| e.join("; "))
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
    let mut failures = Vec::new();
    let mut checked = 0;
    for example in examples() {
        let model = load_example(&example);
        for facts in facts_sets() {
            for r in desired::build(&model, &facts).unwrap() {
                if let Err(e) = check_resource(&r) {
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
    let model = load_example(&repo().join("examples/priority-spillover.yaml"));
    let resources = desired::build(&model, &Facts::unknown()).unwrap();
    let find = |kind| resources.iter().find(|r| r.kind == kind).unwrap().clone();

    let mut account = find(Kind::Account);
    account.body["properties"]["customSubDomian"] = json!("typo");
    assert!(
        check_resource(&account)
            .unwrap_err()
            .contains("customSubDomian")
    );

    let mut pool = find(Kind::Pool);
    pool.body["properties"]["pool"]["services"][0]["weight"] = json!(101);
    assert!(check_resource(&pool).is_err());

    let mut backend = find(Kind::Backend);
    backend.body["properties"]["circuitBreaker"]["rules"][0]["failureCondition"]["statusCodeRanges"]
        [0]["min"] = json!(100);
    assert!(check_resource(&backend).is_err());

    let mut api = find(Kind::Api);
    api.body["properties"]["format"] = json!("openapi+yaml");
    assert!(check_resource(&api).is_err());
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
