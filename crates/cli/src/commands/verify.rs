//! `aoai-lb verify PLAN`: sends chat completions through the APIM gateway, tells the
//! backends apart by `x-ms-region`, and checks the split against the plan's priorities
//! and weights. The traffic and the discovery of the gateway and key are the engine's
//! (`aoai_lb_engine::traffic`), the statistics the core's (`aoai_lb_core::verify`), the
//! report the view's (`views::verify`); this file wires them together.

use std::path::Path;
use std::time::Duration;

use crate::cli::{Settings, VerifyArgs};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::verify::{self as view, VerifyView};
use aoai_lb_core::model::Model;
use aoai_lb_engine::traffic::{self, ApiKey, Load, Measured};

use super::load;

/// Sends the traffic, analyses it and writes the chart; the view says what is sent.
/// `Err`: the status to exit with (the view has said why).
pub(crate) fn measure(
    view: &dyn VerifyView,
    runtime: &tokio::runtime::Runtime,
    model: &Model,
    (gateway, key): (&str, &ApiKey),
    load: &Load,
    chart: Option<&Path>,
) -> Result<Measured, ExitStatus> {
    let endpoint = traffic::endpoint(model, gateway, load).map_err(|e| {
        view.error(&e.to_string());
        ExitStatus::Usage
    })?;
    let others = aoai_lb_engine::deployments::others(model, load, &endpoint.deployment);
    view.sending(&endpoint, load, &others);
    runtime
        .block_on(traffic::measure(model, endpoint, key, load, chart))
        .map_err(|e| {
            view.error(&key.scrub(&e.to_string()));
            ExitStatus::Failure
        })
}

pub fn run(printer: &Printer, settings: &Settings, args: &VerifyArgs) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match load::load(&args.plan) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    view.warnings(&loaded);
    let load = Load {
        requests: args.requests,
        concurrency: args.concurrency,
        timeout: Duration::from_secs(args.timeout),
        deployment: args.deployment.clone(),
        api_version: args.api_version.clone(),
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(e) => {
            view.error(&format!("cannot start the async runtime: {e}"));
            return ExitStatus::Failure;
        }
    };
    let key = args
        .key
        .clone()
        .filter(|k| !k.trim().is_empty())
        .map(ApiKey::new);
    let client =
        if args.gateway_url.is_none() || key.is_none() || !loaded.model.apim.clients.is_empty() {
            match super::arm_client(settings, 4) {
                Ok(c) => Some(c),
                Err(e) => {
                    view.error(&e.to_string());
                    return ExitStatus::Usage;
                }
            }
        } else {
            None
        };
    let found = runtime.block_on(traffic::discover(
        client.as_ref(),
        &loaded.model,
        args.gateway_url.clone(),
        key,
    ));
    let (gateway, key) = match found {
        Ok(x) => x,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    let chart = args.chart.as_deref();
    match measure(
        &*view,
        &runtime,
        &loaded.model,
        (&gateway, &key),
        &load,
        chart,
    ) {
        Ok(mut m) => {
            if let Some(arm) = client
                .as_ref()
                .filter(|_| !loaded.model.apim.clients.is_empty())
            {
                let checked = runtime.block_on(aoai_lb_engine::clients::check(
                    arm,
                    &loaded.model,
                    &m.endpoint,
                    load.timeout,
                ));
                match checked {
                    Ok(reports) => m.clients = reports,
                    Err(e) => {
                        view.error(&e.to_string());
                        return ExitStatus::Failure;
                    }
                }
            }
            view.measured(&loaded.file, &m);
            view.github(&loaded.file, &m);
            if m.ok() {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            }
        }
        Err(status) => status,
    }
}
