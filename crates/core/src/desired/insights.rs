//! The Application Insights side of the desired state: the component aoai-lb creates
//! (`apim.appInsights.name`), the APIM logger that sends to it and the API's diagnostic
//! that turns metrics on, so the token metrics the policy emits reach it.

use serde_json::{Map, json};

use super::{DesiredResource, Kind, Method, UNKNOWN, address, service_id, tags};
use crate::ids::{self, api_version};
use crate::marks;
use crate::model::{AppInsights, Model, NewComponent};

/// The name APIM gives an API's Application Insights diagnostic.
const DIAGNOSTIC: &str = "applicationinsights";

/// The component (when aoai-lb creates it), the logger, then the diagnostic.
pub(super) fn resources(
    model: &Model,
    ai: &AppInsights,
    api_id: &str,
    api_address: String,
) -> Vec<DesiredResource> {
    let mut out = Vec::new();
    let mut logger = logger(model, ai);
    if let Some(new) = &ai.create {
        let component = component(model, ai, new);
        logger.depends_on.push(component.address.clone());
        out.push(component);
    }
    let diagnostic = diagnostic(api_id, &logger, api_address);
    out.push(logger);
    out.push(diagnostic);
    out
}

/// The Application Insights component aoai-lb creates: workspace-based (classic
/// components were retired in February 2024), in its Log Analytics workspace if the plan
/// names one, else in the managed workspace Azure makes for it
/// (learn.microsoft.com/azure/azure-monitor/app/managed-workspaces). `Request_Source:
/// rest` is what the REST reference asks API callers to send.
fn component(model: &Model, ai: &AppInsights, new: &NewComponent) -> DesiredResource {
    let mut properties = Map::new();
    properties.insert("Application_Type".into(), json!("web"));
    properties.insert("Request_Source".into(), json!("rest"));
    if let Some(w) = &new.workspace {
        properties.insert("WorkspaceResourceId".into(), json!(w));
    }
    DesiredResource {
        address: address(Kind::Component, ai.logger_name()),
        kind: Kind::Component,
        id: ai.id.clone(),
        api_version: api_version::INSIGHTS,
        method: Method::Put,
        body: json!({
            "kind": "web",
            "location": new.location,
            "properties": properties,
            "tags": tags(model),
        }),
        depends_on: vec![address(Kind::ResourceGroup, &model.resource_group.name)],
        owned: true,
    }
}

/// The APIM logger for the plan's Application Insights component. Its connection string
/// is the component's, read at apply time: the body says `(known after apply)` there, so
/// no plan, state or output ever holds it (ARM answers it masked as a named value).
fn logger(model: &Model, ai: &AppInsights) -> DesiredResource {
    let name = ai.logger_name();
    DesiredResource {
        address: address(Kind::Logger, name),
        kind: Kind::Logger,
        id: ids::apim_logger(&service_id(model), name),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "loggerType": "applicationInsights",
                "resourceId": ai.id,
                "description": format!("Application Insights {name}, managed by aoai-lb {}", marks::description_mark(&model.deployment)),
                "credentials": { "connectionString": UNKNOWN },
            }
        }),
        depends_on: vec![],
        owned: true,
    }
}

/// The API's `applicationinsights` diagnostic: its requests go to the logger, and
/// `metrics: true` lets the policy's `llm-emit-token-metric` reach Application Insights
/// (learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy).
fn diagnostic(api_id: &str, logger: &DesiredResource, api_address: String) -> DesiredResource {
    DesiredResource {
        address: address(Kind::Diagnostic, DIAGNOSTIC),
        kind: Kind::Diagnostic,
        id: ids::apim_api_diagnostic(api_id, DIAGNOSTIC),
        api_version: api_version::API_MANAGEMENT,
        method: Method::Put,
        body: json!({
            "properties": {
                "loggerId": logger.id,
                "metrics": true,
            }
        }),
        depends_on: vec![api_address, logger.address.clone()],
        owned: true,
    }
}
