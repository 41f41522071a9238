//! The API Management side: the service (only its identity is ours), the API and the
//! OpenAPI spec it is imported from.

use super::checker::Checker;
use super::{
    DEFAULT_SPEC_VERSION, DEFAULT_SUBSCRIPTION_KEY_HEADER, DEFAULT_SUBSCRIPTION_KEY_QUERY,
    FileError, Files,
};
use crate::located::Located;
use crate::plan::{self, Plan};
use crate::{model, names, spec};

/// The service's resource group (the plan's when not given) and identity.
pub(super) fn service(c: &mut Checker, plan: &Plan) -> (String, model::Identity) {
    let apim = &plan.apim;
    c.rule(
        &apim.name,
        "apim.name",
        "API Management service name",
        names::apim_service_name,
    );
    let apim_rg = match &apim.resource_group {
        Some(r) => {
            c.rule(
                r,
                "apim.resourceGroup",
                "resource group name",
                names::resource_group_name,
            );
            r.value.clone()
        }
        None => plan.resource_group.name.value.clone(),
    };
    let identity = match apim.identity.as_ref().map(|i| &i.value) {
        None | Some(plan::Identity::SystemAssigned) => model::Identity::SystemAssigned,
        Some(plan::Identity::UserAssigned(id)) => {
            if crate::ids::parse_user_assigned_identity(id).is_none() {
                c.error(
                    id.pos,
                    "apim.identity.userAssigned",
                    format!("`{}` is not a user-assigned identity id: expected /subscriptions/{{guid}}/resourceGroups/{{group}}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{{name}}", id.value),
                );
            }
            model::Identity::UserAssigned {
                id: id.value.clone(),
            }
        }
    };
    (apim_rg, identity)
}

/// Where a component aoai-lb creates goes: the plan's subscription, resource group and
/// (by default) the group's location.
pub(super) struct Home<'a> {
    pub subscription_id: &'a str,
    pub resource_group: &'a str,
    pub location: &'a str,
}

/// `apim.appInsights`: the id of an existing component, or the name (and optional
/// region and Log Analytics workspace) of one aoai-lb creates; exactly one of the two.
pub(super) fn app_insights(
    c: &mut Checker,
    ai: Option<&Located<plan::AppInsights>>,
    home: &Home,
) -> Option<model::AppInsights> {
    let ai = ai?;
    let only_with_name = |c: &mut Checker, field: &Option<Located<String>>, key: &str| {
        if let Some(f) = field {
            c.error(
                f.pos,
                &format!("apim.appInsights.{key}"),
                format!("`{key}` goes with `name` (a component aoai-lb creates), not with `id` (an existing one)"),
            );
        }
    };
    match (&ai.id, &ai.name) {
        (Some(id), None) => {
            only_with_name(c, &ai.location, "location");
            only_with_name(c, &ai.workspace, "workspace");
            if crate::ids::parse_insights_component(id).is_none() {
                c.error(
                    id.pos,
                    "apim.appInsights.id",
                    format!("`{}` is not an Application Insights component id: expected /subscriptions/{{guid}}/resourceGroups/{{group}}/providers/Microsoft.Insights/components/{{name}}", id.value),
                );
            }
            logger_name(
                c,
                id.rsplit('/').next().unwrap_or_default(),
                id,
                "apim.appInsights.id",
            );
            Some(model::AppInsights {
                id: id.value.clone(),
                create: None,
            })
        }
        (None, Some(name)) => Some(new_component(c, ai, name, home)),
        (Some(id), Some(_)) => {
            c.error(
                id.pos,
                "apim.appInsights",
                "give `id` (an existing component) or `name` (one aoai-lb creates), not both",
            );
            None
        }
        (None, None) => {
            c.error(
                ai.pos,
                "apim.appInsights",
                "missing `id` (an existing component) or `name` (one aoai-lb creates)",
            );
            None
        }
    }
}

/// A component aoai-lb creates in the plan's resource group.
fn new_component(
    c: &mut Checker,
    ai: &plan::AppInsights,
    name: &Located<String>,
    home: &Home,
) -> model::AppInsights {
    c.rule(
        name,
        "apim.appInsights.name",
        "Application Insights component name",
        names::insights_component_name,
    );
    logger_name(c, name, name, "apim.appInsights.name");
    let location = match &ai.location {
        Some(l) => c.region(l, "apim.appInsights.location").0,
        None => home.location.to_string(),
    };
    if let Some(w) = &ai.workspace
        && crate::ids::parse_log_analytics_workspace(w).is_none()
    {
        c.error(
            w.pos,
            "apim.appInsights.workspace",
            format!("`{}` is not a Log Analytics workspace id: expected /subscriptions/{{guid}}/resourceGroups/{{group}}/providers/Microsoft.OperationalInsights/workspaces/{{name}}", w.value),
        );
    }
    model::AppInsights {
        id: crate::ids::insights_component(home.subscription_id, home.resource_group, name),
        create: Some(model::NewComponent {
            location,
            workspace: ai.workspace.as_ref().map(|w| w.value.clone()),
        }),
    }
}

/// The APIM logger is named after the component: the name must also be an APIM id.
fn logger_name(c: &mut Checker, name: &str, at: &Located<String>, field: &str) {
    if let Err(reason) = names::apim_entity_id(name, 256) {
        c.error(
            at.pos,
            field,
            format!("the APIM logger aoai-lb adds is named after the component, and `{name}` is not a valid APIM logger name: it {reason}"),
        );
    }
}

pub(super) fn api(c: &mut Checker, api: &plan::Api, files: &Files) -> model::Api {
    c.rule(&api.name, "apim.api.name", "API name", |s| {
        names::apim_entity_id(s, 256)
    });
    let display_name = match &api.display_name {
        Some(d) => {
            c.char_count(d, "apim.api.displayName", "displayName", 1, 300);
            d.value.clone()
        }
        None => api.name.value.clone(),
    };
    c.rule(&api.path, "apim.api.path", "API path", names::api_path);
    let path_ok = names::api_path(&api.path.value).is_ok();
    let spec = spec_source(c, api.spec.as_ref(), files);
    let v1 = api.v1.as_ref().is_some_and(|v| v.value);
    if let Some(flag) = api.v1.as_ref().filter(|v| v.value)
        && spec::is_v1(&spec)
    {
        c.error(
            flag.pos,
            "apim.api.v1",
            "`v1: true` adds the v1 operations next to a dated spec; `spec: v1` serves them already: leave `v1` out",
        );
    }
    if path_ok {
        path_rule(c, &api.path, &spec);
    }
    let header = match &api.subscription_key_header {
        Some(h) => {
            c.rule(
                h,
                "apim.api.subscriptionKeyHeader",
                "subscriptionKeyHeader",
                names::header_name,
            );
            h.value.clone()
        }
        None => DEFAULT_SUBSCRIPTION_KEY_HEADER.to_string(),
    };
    let query = if header == DEFAULT_SUBSCRIPTION_KEY_HEADER {
        DEFAULT_SUBSCRIPTION_KEY_QUERY.to_string()
    } else {
        header.clone()
    };
    model::Api {
        name: api.name.value.clone(),
        display_name,
        path: api.path.value.clone(),
        spec,
        v1,
        subscription_key_header: header,
        subscription_key_query: query,
    }
}

/// The openai SDK's `AzureOpenAI(azure_endpoint=X)` calls `X/openai/deployments/...`:
/// a dated API whose path does not end in `openai` is out of its reach (it must be
/// given `base_url`), which users learn from a 404. Said here, with what to write.
fn path_rule(c: &mut Checker, path: &Located<String>, spec: &model::SpecSource) {
    if spec::is_v1(spec) || spec::azure_endpoint_prefix(&path.value).is_some() {
        return;
    }
    let p = path.value.trim_matches('/');
    c.warn(
        path.pos,
        "apim.api.path",
        format!(
            "`AzureOpenAI(azure_endpoint=...)` appends `/openai` to the endpoint, so it cannot reach an API at path `{p}`: clients must give `base_url=<gateway>/{p}/deployments/<deployment>` instead (what `output` prints). Write `path: openai` (or `path: {p}/openai`) to let `azure_endpoint` work"
        ),
    );
}

fn spec_source(c: &mut Checker, s: Option<&Located<String>>, files: &Files) -> model::SpecSource {
    let s = match s {
        None => {
            return model::SpecSource::Bundled {
                version: DEFAULT_SPEC_VERSION.into(),
            };
        }
        Some(s) if spec::is_bundled(s) => {
            return model::SpecSource::Bundled {
                version: s.value.clone(),
            };
        }
        Some(s) => s,
    };
    let content = match files.get(&s.value) {
        Some(Ok(text)) => match spec::check_user_spec(&s.value, text) {
            Ok(()) => text.clone(),
            Err(reason) => {
                c.error(
                    s.pos,
                    "apim.api.spec",
                    format!("spec `{}`: {reason}", s.value),
                );
                String::new()
            }
        },
        Some(Err(FileError::Unreadable(reason))) => {
            c.error(
                s.pos,
                "apim.api.spec",
                format!(
                    "spec `{}` is neither a bundled version ({}) nor a readable file: {reason}",
                    s.value,
                    spec::BUNDLED_VERSIONS.join(", ")
                ),
            );
            String::new()
        }
        Some(Err(problem)) => {
            c.error(
                s.pos,
                "apim.api.spec",
                format!("spec `{}` {problem}", s.value),
            );
            String::new()
        }
        None => {
            c.error(
                s.pos,
                "apim.api.spec",
                format!("spec `{}` was not read", s.value),
            );
            String::new()
        }
    };
    model::SpecSource::File {
        path: s.value.clone(),
        content,
    }
}
