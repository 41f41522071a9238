//! `aoai-lb destroy [PLAN] [--yes] [--purge]`: delete what the state lists, children
//! first, then put the APIM identity back (all planned changes); hand the report to
//! the view.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::destroy::{self as view, DestroyView, Destroyed};
use aoai_lb_core::ids;
use aoai_lb_core::model::Model;
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::reliance;
use aoai_lb_engine::state;
use aoai_lb_engine::{ownership, plan};

use super::load;
use super::session::Session;

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: Option<&Path>,
    yes: bool,
    purge: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match file.map(load::load).transpose() {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    let session = match Session::open_for(printer, settings, engine, loaded.as_ref()) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let model = loaded.as_ref().map(|l| &l.model);
    let status = run_in(&*view, &session, model, yes, purge);
    session.close();
    status
}

fn run_in(
    view: &dyn DestroyView,
    session: &Session,
    model: Option<&Model>,
    yes: bool,
    purge: bool,
) -> ExitStatus {
    let mut locked = match session.lock() {
        Ok(l) => l,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    if let Some(m) = model {
        locked.state.claim(&m.deployment, &m.subscription_id);
    }
    let service_id = locked.state.apim_service_id.clone().or_else(|| {
        model.map(|m| ids::apim_service(&m.subscription_id, &m.apim.resource_group, &m.apim.name))
    });
    let deployment = model
        .map(|m| m.deployment.clone())
        .or_else(|| locked.state.owner().map(|(d, _)| d));
    // Deletes, then the APIM identity put back as found (or only this deployment's
    // reliance on it dropped): all planned changes.
    let p = match planned(
        session,
        model,
        &locked.state,
        service_id.as_deref(),
        deployment.as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    if p.changes.is_empty() {
        if let Err(e) = forget_identity(&mut locked) {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
        view.nothing(&session.state);
        return ExitStatus::Success;
    }
    view.preview(&p);
    match view.confirm(
        yes,
        "\nDo you really want to destroy all resources aoai-lb created?",
    ) {
        Ok(true) => {}
        Ok(false) => {
            view.printer()
                .error("Destroy cancelled: nothing was changed.");
            return ExitStatus::Failure;
        }
        Err(status) => return status,
    }
    let progress = Arc::new(view.progress());
    session.client.observe_retries(progress.clone());
    progress.group_start("aoai-lb destroy");
    let stop = session.stop_on_signal(progress.clone());
    let run = apply::Run {
        client: &session.client,
        model: None,
        plan_file: "",
        options: ApplyOptions {
            purge,
            ..Default::default()
        },
        observer: progress.clone(),
        cancel: stop.cancel.clone(),
    };
    let shown = p.clone();
    let (mut report, mut locked) = session.runtime.block_on(apply::apply(run, p, locked));
    if report.ok() && stop.status().is_none() {
        // Whatever the identity needed was planned and done: the state forgets it.
        if let Err(e) = forget_identity(&mut locked) {
            report.state_error = Some(e.to_string());
        }
    }
    progress.group_end();
    let destroyed = Destroyed {
        report: &report,
        plan: &shown,
    };
    view.github(&destroyed);
    view.destroyed(&destroyed);
    if let Some(status) = stop.status() {
        return status;
    }
    if destroyed.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

/// The plan of destroy: what the state lists or, with the plan, what the marks say is
/// ours too (the state is their cache); the identity restore fitted to who else relies
/// on the identity (see [`reliance::fit_restore`]).
fn planned(
    session: &Session,
    model: Option<&Model>,
    state: &state::State,
    service_id: Option<&str>,
    deployment: Option<&str>,
) -> Result<plan::Plan, plan::PlanError> {
    let mut p = match model {
        Some(m) => session
            .runtime
            .block_on(ownership::destroy_plan(&session.client, m, state))?,
        None => plan::destroy_plan(state),
    };
    if let Some(id) = service_id {
        session.runtime.block_on(reliance::fit_restore(
            &session.client,
            &mut p,
            id,
            deployment,
            state.apim_identity_before.as_ref(),
        ))?;
    }
    Ok(p)
}

/// The state no longer records the APIM identity as found: destroy put it back, or
/// left it to the deployments that still rely on it.
fn forget_identity(locked: &mut state::LockedState) -> Result<(), state::StateError> {
    if locked.state.apim_identity_before.is_none() && locked.state.apim_service_id.is_none() {
        return Ok(());
    }
    locked.state.apim_identity_before = None;
    locked.state.apim_service_id = None;
    locked.save()
}
