//! `aoai-lb doctor [PLAN]`: can this machine apply this plan? Checks the credential and
//! reads (never writes) what the plan relies on, and runs the same preflight as `plan`
//! (model catalog and quotas), each finding a check.

use std::path::Path;

use crate::cli::Settings;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::doctor::{self as view, Check, Checked};
use aoai_lb_arm::resources::{ApimService, user_assigned_identity};
use aoai_lb_arm::{ArmClient, ArmError};
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_core::marks::Mark;
use aoai_lb_core::model::Identity;
use aoai_lb_engine::preflight;

use super::load;

pub fn run(printer: &Printer, settings: &Settings, plan: Option<&Path>) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match plan.map(load::load).transpose() {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    let client = match super::arm_client(settings, 10) {
        Ok(c) => c,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Usage;
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            view.error(&format!("cannot start the async runtime: {e}"));
            return ExitStatus::Failure;
        }
    };
    let checks = runtime.block_on(checks(&client, loaded.as_ref().map(|l| &l.model)));
    let checked = Checked {
        arm_endpoint: &settings.arm_endpoint,
        checks: &checks,
        requests: client.counts(),
    };
    view.checked(&checked);
    if checked.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

async fn checks(client: &ArmClient, model: Option<&aoai_lb_core::model::Model>) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(m) = model else {
        // Without a plan: a token, and one cheap read to prove ARM accepts it.
        let check = match client.get("/subscriptions", api_version::RESOURCES).await {
            Ok(_) => Check {
                name: "credential".into(),
                ok: true,
                detail: format!("ARM at {} accepts the token", client.endpoint()),
            },
            Err(e) => Check {
                name: "credential".into(),
                ok: false,
                detail: e.to_string(),
            },
        };
        out.push(check);
        return out;
    };
    let sub = &m.subscription_id;
    let rg_id = ids::resource_group(sub, &m.resource_group.name);
    let rg_name = format!("resource group {}", m.resource_group.name);
    out.push(match client.get(&rg_id, api_version::RESOURCES).await {
        Ok(Some(_)) => Check {
            name: rg_name,
            ok: true,
            detail: "exists (apply will not own it)".into(),
        },
        Ok(None) => Check {
            name: rg_name,
            ok: true,
            detail: "missing: apply will create it".into(),
        },
        Err(e @ ArmError::Credential(_)) => {
            out.push(fail("credential".into(), e));
            return out;
        }
        Err(e) => fail(rg_name, e),
    });
    let apim_id = ids::apim_service(sub, &m.apim.resource_group, &m.apim.name);
    let name = format!("API Management {}", m.apim.name);
    out.push(match client.get(&apim_id, api_version::API_MANAGEMENT).await {
        Ok(Some(v)) => {
            let s = ApimService::from_value(&v);
            let consumption = s.sku.as_deref() == Some("Consumption");
            Check {
                name,
                ok: !(consumption && m.apim.pool.circuit_breaker.is_some()),
                detail: format!(
                    "exists (sku {}, gateway {}, identity {}){}",
                    s.sku.as_deref().unwrap_or("?"),
                    s.gateway_url.as_deref().unwrap_or("?"),
                    s.identity.kind,
                    if consumption && m.apim.pool.circuit_breaker.is_some() { "; the Consumption tier has no circuit breaker: remove circuitBreaker" } else { "" }
                ),
            }
        }
        Ok(None) => Check { name, ok: false, detail: format!("not found in resource group {}: aoai-lb uses an existing service (creating one takes 30-45 minutes); create it first or fix apim.name / apim.resourceGroup", m.apim.resource_group) },
        Err(e) => fail(name, e),
    });
    out.extend(preflight(client, m).await);
    if let Some(ai) = &m.apim.app_insights {
        out.push(app_insights(client, m, ai).await);
    }
    if let Identity::UserAssigned { id } = &m.apim.identity {
        let name = "user-assigned identity".to_string();
        out.push(match client.get(id, api_version::MANAGED_IDENTITY).await {
            Ok(Some(v)) => {
                let u = user_assigned_identity(&v);
                Check {
                    name,
                    ok: u.principal_id.is_some(),
                    detail: format!("exists (client id {})", u.client_id.unwrap_or_default()),
                }
            }
            Ok(None) => Check {
                name,
                ok: false,
                detail: format!("{id} not found"),
            },
            Err(e) => fail(name, e),
        });
    }
    out
}

/// The preflight `plan` and `apply` run (model catalog and quotas, engine::preflight):
/// a check per refusal (failing) and per warning, or one passing check.
async fn preflight(client: &ArmClient, m: &aoai_lb_core::model::Model) -> Vec<Check> {
    let name = "model catalog and quotas".to_string();
    let existing = match preflight::existing(client, m).await {
        Ok(e) => e,
        Err(e) => return vec![fail(name, e)],
    };
    let f = match preflight::run(client, m, &existing).await {
        Ok(f) => f,
        Err(e) => return vec![fail(name, e)],
    };
    let mut out: Vec<Check> = f
        .refusals
        .into_iter()
        .map(|detail| Check {
            name: name.clone(),
            ok: false,
            detail,
        })
        .collect();
    out.extend(f.warnings.into_iter().map(|w| Check {
        name: name.clone(),
        ok: true,
        detail: format!("warning: {w}"),
    }));
    if out.is_empty() {
        let n: usize = m.accounts.iter().map(|a| a.deployments.len()).sum();
        out.push(Check {
            name,
            ok: true,
            detail: format!(
                "{n} deployments offered in their regions, none retiring within {} days, within the free quota",
                m.retire_warning_days
            ),
        });
    }
    out
}

/// The Application Insights component: an existing one must be there (its connection
/// string is what the logger sends with); one aoai-lb creates must not be somebody
/// else's already, and the workspace the plan names for it must exist.
async fn app_insights(
    client: &ArmClient,
    m: &aoai_lb_core::model::Model,
    ai: &aoai_lb_core::model::AppInsights,
) -> Check {
    let name = format!("Application Insights {}", ai.logger_name());
    let check = |ok: bool, detail: String| Check {
        name: name.clone(),
        ok,
        detail,
    };
    let live = match client.get(&ai.id, api_version::INSIGHTS).await {
        Ok(live) => live,
        Err(e) => return fail(name, e),
    };
    let Some(new) = &ai.create else {
        return match live {
            Some(c) if c.pointer("/properties/ConnectionString").is_some() => {
                check(true, "exists; its connection string is readable for the logger".into())
            }
            Some(_) => check(false, "exists, but ARM returns no connection string for it: the logger cannot be given one".into()),
            None => check(false, format!("{} not found: create it, or write `name:` for aoai-lb to create one", ai.id)),
        };
    };
    if let Some(c) = &live {
        let mark = aoai_lb_core::marks::mark_of(c, Some(&m.deployment));
        if !matches!(mark, Mark::Ours | Mark::Legacy) {
            return check(
                false,
                format!(
                    "exists and {}: apply will not take it over; adopt it with `aoai-lb import`, or name it by `id`",
                    match mark {
                        Mark::None => mark.describe(),
                        _ => format!("belongs to {}", mark.describe()),
                    }
                ),
            );
        }
    }
    let state = if live.is_some() {
        "exists (this deployment's)"
    } else {
        "missing: apply will create it"
    };
    let Some(workspace) = &new.workspace else {
        return check(true, format!("{state}; Azure gives it a managed workspace"));
    };
    match client.get(workspace, api_version::LOG_ANALYTICS).await {
        Ok(Some(_)) => check(true, format!("{state}, in workspace {workspace}")),
        Ok(None) => check(
            false,
            format!(
                "its Log Analytics workspace {workspace} was not found: create it or fix apim.appInsights.workspace"
            ),
        ),
        Err(e) => fail(name, e),
    }
}

fn fail(name: String, e: ArmError) -> Check {
    Check {
        name,
        ok: false,
        detail: e.to_string(),
    }
}
