//! Request-body validation against the official ARM JSON Schemas (`schemas/arm/`,
//! embedded in the binary), the way ARM refuses a body it cannot deserialize.
//!
//! The schemas describe template resources (`name`, `type`, `apiVersion` plus the REST
//! body), so a REST body is checked in that form. They leave `additionalProperties`
//! open; ARM's resource providers do not (an unknown member is "InvalidRequestContent"),
//! so every object schema that lists its properties is made strict here.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::{Value, json};

const COMMON_URI: &str = "https://schema.management.azure.com/schemas/common/definitions.json";

const COGNITIVE_SERVICES: &str =
    include_str!("../../../schemas/arm/2024-10-01/Microsoft.CognitiveServices.json");
const API_MANAGEMENT: &str =
    include_str!("../../../schemas/arm/2024-05-01/Microsoft.ApiManagement.json");
const AUTHORIZATION: &str =
    include_str!("../../../schemas/arm/2022-04-01/Microsoft.Authorization.json");
const INSIGHTS: &str =
    include_str!("../../../schemas/arm/2020-02-02/Microsoft.Insights.Application.json");
const OPERATIONAL_INSIGHTS: &str =
    include_str!("../../../schemas/arm/2025-07-01/Microsoft.OperationalInsights.json");
const COMMON: &str = include_str!("../../../schemas/arm/common/definitions.json");

const SCHEMA_ID_PREFIX: &str = "https://schema.management.azure.com/schemas/";

/// The api-version an embedded schema file describes: the folder of its `id`
/// (`https://schema.management.azure.com/schemas/2024-05-01/Microsoft.ApiManagement.json#`).
/// Bodies are validated against it whatever version was asked, and every provider's
/// window (`versions`) includes it, so upgrading a schema file must keep its version in
/// the window (a test checks). Panics only if an embedded file lost its `id` (a test
/// reads every one).
fn schema_version(text: &'static str) -> &'static str {
    let after_key = text
        .find("\"id\"")
        .map(|i| &text[i + 4..])
        .expect("an embedded ARM schema has an id");
    let id_start = after_key
        .find(SCHEMA_ID_PREFIX)
        .expect("an embedded ARM schema's id is on schema.management.azure.com")
        + SCHEMA_ID_PREFIX.len();
    let rest = &after_key[id_start..];
    &rest[..rest.find('/').expect("the id names a folder")]
}

/// The Microsoft.CognitiveServices api-version: that of the embedded schema.
pub fn cognitive_services_version() -> &'static str {
    schema_version(COGNITIVE_SERVICES)
}

/// The Microsoft.ApiManagement api-version: that of the embedded schema.
pub fn api_management_version() -> &'static str {
    schema_version(API_MANAGEMENT)
}

/// The Microsoft.Authorization api-version: that of the embedded schema.
pub fn authorization_version() -> &'static str {
    schema_version(AUTHORIZATION)
}

/// The Microsoft.Insights api-version (Application Insights components): that of the
/// embedded schema.
pub fn insights_version() -> &'static str {
    schema_version(INSIGHTS)
}

/// The Microsoft.OperationalInsights api-version (Log Analytics workspaces): that of the
/// embedded schema.
pub fn operational_insights_version() -> &'static str {
    schema_version(OPERATIONAL_INSIGHTS)
}

/// What a body is, for validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    Account,
    Deployment,
    /// The `identity` object of an APIM service PUT or PATCH.
    ApimIdentity,
    /// A whole APIM service (its writable members), for PUT and PATCH.
    ApimService,
    RoleAssignment,
    Backend,
    Api,
    ApiPolicy,
    Subscription,
    Logger,
    ApiDiagnostic,
    ServiceDiagnostic,
    Component,
    Workspace,
}

impl BodyKind {
    /// (schema file, JSON pointer inside it, ARM type; None = validate the body as is).
    fn target(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            BodyKind::Account => (
                "cog",
                "resourceDefinitions/accounts",
                Some("Microsoft.CognitiveServices/accounts"),
            ),
            BodyKind::Deployment => (
                "cog",
                "resourceDefinitions/accounts_deployments",
                Some("Microsoft.CognitiveServices/accounts/deployments"),
            ),
            BodyKind::ApimIdentity => ("apim", "definitions/ApiManagementServiceIdentity", None),
            BodyKind::ApimService => (
                "apim",
                "resourceDefinitions/service",
                Some("Microsoft.ApiManagement/service"),
            ),
            BodyKind::RoleAssignment => (
                "auth",
                "resourceDefinitions/roleAssignments",
                Some("Microsoft.Authorization/roleAssignments"),
            ),
            BodyKind::Backend => (
                "apim",
                "resourceDefinitions/service_backends",
                Some("Microsoft.ApiManagement/service/backends"),
            ),
            BodyKind::Api => (
                "apim",
                "resourceDefinitions/service_apis",
                Some("Microsoft.ApiManagement/service/apis"),
            ),
            BodyKind::ApiPolicy => (
                "apim",
                "resourceDefinitions/service_apis_policies",
                Some("Microsoft.ApiManagement/service/apis/policies"),
            ),
            BodyKind::Subscription => (
                "apim",
                "resourceDefinitions/service_subscriptions",
                Some("Microsoft.ApiManagement/service/subscriptions"),
            ),
            BodyKind::Logger => (
                "apim",
                "resourceDefinitions/service_loggers",
                Some("Microsoft.ApiManagement/service/loggers"),
            ),
            BodyKind::ApiDiagnostic => (
                "apim",
                "resourceDefinitions/service_apis_diagnostics",
                Some("Microsoft.ApiManagement/service/apis/diagnostics"),
            ),
            BodyKind::ServiceDiagnostic => (
                "apim",
                "resourceDefinitions/service_diagnostics",
                Some("Microsoft.ApiManagement/service/diagnostics"),
            ),
            BodyKind::Component => (
                "insights",
                "resourceDefinitions/components",
                Some("Microsoft.Insights/components"),
            ),
            BodyKind::Workspace => (
                "operationalinsights",
                "resourceDefinitions/workspaces",
                Some("Microsoft.OperationalInsights/workspaces"),
            ),
        }
    }

    pub const ALL: [BodyKind; 14] = [
        BodyKind::Account,
        BodyKind::Deployment,
        BodyKind::ApimIdentity,
        BodyKind::ApimService,
        BodyKind::RoleAssignment,
        BodyKind::Backend,
        BodyKind::Api,
        BodyKind::ApiPolicy,
        BodyKind::Subscription,
        BodyKind::Logger,
        BodyKind::ApiDiagnostic,
        BodyKind::ServiceDiagnostic,
        BodyKind::Component,
        BodyKind::Workspace,
    ];
}

struct LocalCommon(Value);

impl Retrieve for LocalCommon {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str().trim_end_matches('#') == COMMON_URI {
            Ok(self.0.clone())
        } else {
            Err(format!("the emulator resolves no other schema: {uri}").into())
        }
    }
}

/// Adds `additionalProperties: false` to every object schema that lists its properties
/// and says nothing about others. Walks schema positions only (a property may itself be
/// called `properties`).
fn strict(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    case_insensitive_enum(map);
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

/// The body with every `null` member left out: resource providers read a member sent as
/// `null` as not sent (the JSON Schemas declare no nullability). Clients rely on it: a GET
/// answer sent back by PUT carries the nulls API Management answers, e.g.
/// `"authenticationSettings": {"oAuth2": null, "openid": null}` (recorded in
/// Azure/azure-powershell ApiManagement SessionRecords ApiImportExportOpenApiJsonTest.json).
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Resource providers read string enums case-insensitively: API Management answered 200
/// to an API PUT with `"protocols": ["Https"]` (and returned `https`), as recorded in
/// Azure/azure-powershell ApiManagement SessionRecords ApiImportExportOpenApiJsonTest.json
/// (replayed by tests/it/recorded.rs). So a string `enum` is checked as a case-insensitive
/// pattern.
fn case_insensitive_enum(map: &mut serde_json::Map<String, Value>) {
    let Some(Value::Array(values)) = map.get("enum") else {
        return;
    };
    let Some(words) = values
        .iter()
        .map(Value::as_str)
        .collect::<Option<Vec<&str>>>()
    else {
        return;
    };
    let alternatives: Vec<String> = words.iter().map(|w| regex_escape(w)).collect();
    let pattern = format!("^(?i:{})$", alternatives.join("|"));
    map.remove("enum");
    map.insert("type".into(), Value::from("string"));
    map.insert("pattern".into(), Value::from(pattern));
}

fn regex_escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn strict_file(text: &str) -> Value {
    let mut file: Value = serde_json::from_str(text).expect("embedded ARM schema parses");
    if let Value::Object(map) = &mut file {
        for (key, value) in map.iter_mut() {
            if (key == "definitions" || key.ends_with("esourceDefinitions"))
                && let Value::Object(children) = value
            {
                children.values_mut().for_each(strict);
            }
        }
    }
    file
}

/// Compiled validators, built once per process (the APIM schema is large).
pub struct ArmSchemas {
    validators: HashMap<BodyKind, Validator>,
}

impl ArmSchemas {
    /// The process-wide instance.
    pub fn get() -> &'static ArmSchemas {
        static SCHEMAS: OnceLock<ArmSchemas> = OnceLock::new();
        SCHEMAS.get_or_init(ArmSchemas::build)
    }

    fn build() -> ArmSchemas {
        let files: HashMap<&str, Arc<Value>> = [
            ("cog", COGNITIVE_SERVICES),
            ("apim", API_MANAGEMENT),
            ("auth", AUTHORIZATION),
            ("insights", INSIGHTS),
            ("operationalinsights", OPERATIONAL_INSIGHTS),
        ]
        .into_iter()
        .map(|(k, text)| (k, Arc::new(strict_file(text))))
        .collect();
        let common: Value =
            serde_json::from_str(COMMON).expect("embedded common definitions parse");
        let mut validators = HashMap::new();
        for kind in BodyKind::ALL {
            let (file, pointer, _) = kind.target();
            let mut doc = (*files[file]).clone();
            doc.as_object_mut()
                .expect("a schema file is an object")
                .insert("$ref".into(), json!(format!("#/{pointer}")));
            let validator = jsonschema::options()
                .with_draft(Draft::Draft4)
                .with_retriever(LocalCommon(common.clone()))
                .build(&doc)
                .unwrap_or_else(|e| panic!("ARM schema for {kind:?} does not build: {e}"));
            validators.insert(kind, validator);
        }
        ArmSchemas { validators }
    }

    /// Validates a REST body. `resource_id` gives the template name (`apim/api/policy`).
    /// Returns every violation, each as "message at /json/pointer".
    pub fn validate(
        &self,
        kind: BodyKind,
        resource_id: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let (_, _, type_) = kind.target();
        let body = &without_nulls(body);
        let instance = match type_ {
            Some(t) => {
                let mut v = body.clone();
                let Some(obj) = v.as_object_mut() else {
                    return Err(vec!["the request body must be a JSON object".into()]);
                };
                obj.insert("name".into(), json!(template_name(resource_id)));
                obj.insert("type".into(), json!(t));
                obj.insert("apiVersion".into(), json!(api_version));
                v
            }
            None => body.clone(),
        };
        let errors: Vec<String> = self.validators[&kind]
            .iter_errors(&instance)
            .map(|e| {
                let path = e.instance_path().to_string();
                format!("{e} at {}", if path.is_empty() { "/" } else { &path })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A template resource's name: the names along the type path (`apim/api/policy`).
pub fn template_name(id: &str) -> String {
    let Some((_, rest)) = id.rsplit_once("/providers/") else {
        return id.rsplit('/').next().unwrap_or(id).to_string();
    };
    let segments: Vec<&str> = rest.split('/').skip(1).collect(); // the namespace goes
    segments
        .iter()
        .skip(1)
        .step_by(2)
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_versions_are_those_of_the_embedded_schemas() {
        assert_eq!(cognitive_services_version(), "2024-10-01");
        assert_eq!(api_management_version(), "2024-05-01");
        assert_eq!(authorization_version(), "2022-04-01");
        assert_eq!(insights_version(), "2020-02-02");
        assert_eq!(operational_insights_version(), "2025-07-01");
        // The id's folder agrees with the apiVersion every resource definition allows.
        for (text, version) in [
            (COGNITIVE_SERVICES, cognitive_services_version()),
            (API_MANAGEMENT, api_management_version()),
            (AUTHORIZATION, authorization_version()),
            (INSIGHTS, insights_version()),
            (OPERATIONAL_INSIGHTS, operational_insights_version()),
        ] {
            let file: Value = serde_json::from_str(text).unwrap();
            let mut seen = 0;
            for (key, defs) in file.as_object().unwrap() {
                if !key.ends_with("esourceDefinitions") {
                    continue;
                }
                for def in defs.as_object().unwrap().values() {
                    let allowed = &def["properties"]["apiVersion"]["enum"];
                    assert_eq!(allowed, &json!([version]), "{key}");
                    seen += 1;
                }
            }
            assert!(seen > 0);
        }
    }

    #[test]
    fn null_members_are_read_as_not_sent() {
        let got = without_nulls(&json!({"a": null, "b": {"c": null, "d": [1, {"e": null}]}}));
        assert_eq!(got, json!({"b": {"d": [1, {}]}}));
    }

    #[test]
    fn string_enums_are_read_case_insensitively() {
        let mut schema = json!({"enum": ["http", "https", "Microsoft.ApiManagement/service"]});
        strict(&mut schema);
        let v = jsonschema::validator_for(&schema).unwrap();
        for ok in ["Https", "HTTP", "microsoft.apimanagement/SERVICE"] {
            assert!(v.is_valid(&json!(ok)), "{ok}");
        }
        for bad in ["ftp", "httpss", "microsoftXapimanagement/service", ""] {
            assert!(!v.is_valid(&json!(bad)), "{bad}");
        }
    }

    #[test]
    fn template_names_follow_the_type_path() {
        assert_eq!(
            template_name(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.ApiManagement/service/a/apis/b/policies/policy"
            ),
            "a/b/policy"
        );
        assert_eq!(
            template_name(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/x"
            ),
            "x"
        );
    }
}
