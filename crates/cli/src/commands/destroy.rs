//! `aoai-lb destroy [PLAN] [--yes] [--purge]`: delete what the state lists, children
//! first, then put the APIM identity back (all planned changes); hand the report to
//! the view.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::destroy::{self as view, DestroyView, Destroyed};
use crate::views::progress::Progress;
use aoai_lb_core::ids;
use aoai_lb_core::model::Model;
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::reliance::{self, Released};
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
    let mut locked = match state::LockedState::open(&session.state_path) {
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
    // Deletes, then the APIM identity put back as found: all planned changes.
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
    if p.changes.is_empty() && locked.state.apim_service_id.is_none() {
        view.nothing(&session.state_path);
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
    let stop = session.stop_on_signal(view.printer());
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
    let (mut report, mut locked) = session.runtime.block_on(apply::apply(run, p, locked));
    if report.ok()
        && stop.status().is_none()
        && let Some(id) = &service_id
    {
        release_identity(
            session,
            &mut locked,
            id,
            deployment.as_deref(),
            &progress,
            &mut report,
        );
    }
    progress.group_end();
    let destroyed = Destroyed { report: &report };
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
        ))?;
    }
    Ok(p)
}

/// Drops this deployment's reliance on the APIM identity; the last deployment out puts
/// it back as found (see [`reliance`]).
fn release_identity(
    session: &Session,
    locked: &mut state::LockedState,
    service_id: &str,
    deployment: Option<&str>,
    progress: &Progress,
    report: &mut apply::Report,
) {
    let before = locked.state.apim_identity_before.clone();
    match session.runtime.block_on(reliance::release(
        &session.client,
        service_id,
        deployment,
        before.as_ref(),
    )) {
        Ok(released) => {
            locked.state.apim_identity_before = None;
            locked.state.apim_service_id = None;
            if let Err(e) = locked.save() {
                report.state_error = Some(e.to_string());
            }
            match released {
                Released::Restored => progress.line("apim identity: put back as it was found"),
                Released::StillUsed(others) => progress.line(&format!(
                    "apim identity: kept on, aoai-lb deployment {} still relies on it",
                    others.join(", ")
                )),
                Released::Untouched => {}
            }
        }
        Err(e) => report.failed.push(("apim_identity".into(), e.to_string())),
    }
}
