//! `aoai-lb apply PLAN [--yes]`: plan, show it, ask, apply it with progress, hand the
//! report to the view. A plan saved by `plan --out` goes to [`super::apply_saved`].

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::apply::{self as view, Applied, ApplyView};
use crate::views::progress::Progress;
use aoai_lb_core::ids;
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::apply::{Observer, Report};
use aoai_lb_engine::error::ChangeError;
use aoai_lb_engine::plan::Plan;
use aoai_lb_engine::{plan, reliance, saved, state, traffic};

use super::load;
use super::session::{self, Session};

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: &Path,
    yes: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let view = view::view(printer);
    let text = match load::read_text(file) {
        Ok(t) => t,
        Err(e) => return view.invalid(&e),
    };
    if let Some(saved) = saved::detect(&text) {
        return super::apply_saved::run(&*view, settings, file, saved, engine);
    }
    let loaded = match load::load_text(file, &text, false) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    session::with_loaded(printer, settings, engine, &*view, &loaded, |session| {
        run_in(&*view, session, &loaded, yes)
    })
}

fn run_in(view: &dyn ApplyView, session: &Session, loaded: &load::Loaded, yes: bool) -> ExitStatus {
    let model = &loaded.model;
    let locked = match lock(view, session) {
        Ok(l) => l,
        Err(status) => return status,
    };
    let p = match session
        .runtime
        .block_on(plan::plan(&session.client, model, &locked.state))
    {
        Ok(p) => p,
        Err(e) => {
            view.plan_failed(&e);
            return ExitStatus::Failure;
        }
    };
    view.preview(&p);
    if p.has_changes() {
        match view.confirm(yes, "\nDo you want to perform these actions?") {
            Ok(true) => {}
            Ok(false) => {
                view.printer()
                    .error("Apply cancelled: nothing was changed.");
                return ExitStatus::Failure;
            }
            Err(status) => return status,
        }
    }
    execute(view, session, loaded, p, locked)
}

/// The state, locked for the run.
pub(super) fn lock(
    view: &dyn ApplyView,
    session: &Session,
) -> Result<state::LockedState, ExitStatus> {
    session.lock().map_err(|e| {
        view.error(&e.to_string());
        ExitStatus::Failure
    })
}

/// Makes the changes of a plan that was shown (and confirmed, or saved and reviewed),
/// with progress, and hands the report to the view.
pub(super) fn execute(
    view: &dyn ApplyView,
    session: &Session,
    loaded: &load::Loaded,
    p: Plan,
    locked: state::LockedState,
) -> ExitStatus {
    let model = &loaded.model;
    let progress = Arc::new(view.progress());
    session.client.observe_retries(progress.clone());
    progress.group_start("aoai-lb apply");
    let stop = session.stop_on_signal(progress.clone());
    let run = apply::Run {
        client: &session.client,
        model: Some(model),
        plan_file: &loaded.file,
        options: ApplyOptions {
            purge: false,
            ..Default::default()
        },
        observer: progress.clone(),
        cancel: stop.cancel.clone(),
    };
    let shown = p.clone();
    let (mut report, locked) = session.runtime.block_on(apply::apply(run, p, locked));
    if report.ok() && stop.status().is_none() {
        rely_on_identity(session, model, locked, &progress, &mut report);
    }
    progress.group_end();
    // Count the plan's reads too: the user pays for all of them.
    report.requests = session.client.counts();
    // Where clients go: the gateway URL of the API.
    let gateway = session
        .runtime
        .block_on(traffic::gateway_url(&session.client, model))
        .ok();
    let endpoint = gateway
        .as_deref()
        .and_then(|g| traffic::endpoint(model, g, &traffic::Load::for_snippets(model)).ok());
    let applied = Applied {
        file: &loaded.file,
        model,
        plan: &shown,
        report: &report,
        gateway,
        endpoint,
    };
    view.github(&applied);
    view.applied(&applied);
    if let Some(status) = stop.status() {
        return status;
    }
    if report.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

/// This deployment relies on the APIM service's identity now: say so on the service, so
/// another deployment's destroy leaves it on (see [`reliance`]). A write, when needed, is
/// shown like any change (the PATCH is long-running) and counted in the run's time.
fn rely_on_identity(
    session: &Session,
    model: &aoai_lb_core::model::Model,
    mut locked: state::LockedState,
    progress: &Progress,
    report: &mut Report,
) {
    let apim = &model.apim;
    let service_id = ids::apim_service(&model.subscription_id, &apim.resource_group, &apim.name);
    let found = locked.state.apim_identity_before.clone();
    let began = Instant::now();
    let relied = session.runtime.block_on(async {
        let Some(change) = reliance::rely(
            &session.client,
            &service_id,
            &model.deployment,
            found.as_ref(),
        )
        .await?
        else {
            return Ok(());
        };
        progress.started(&change);
        let t = Instant::now();
        let sent = reliance::send(&session.client, &change)
            .await
            .map_err(ChangeError::from);
        progress.finished(&change, t.elapsed(), &sent);
        sent
    });
    report.wall_seconds += began.elapsed().as_secs_f64();
    match relied {
        Ok(()) => {
            locked.state.apim_service_id = Some(service_id);
            if let Err(e) = locked.save() {
                report.state_error = Some(e.to_string());
            }
        }
        Err(e) => report
            .failed
            .push((format!("apim_identity.{}", apim.name), e.to_string())),
    }
}
