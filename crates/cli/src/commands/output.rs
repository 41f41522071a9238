//! `aoai-lb output PLAN [--show-secrets]`: where clients go once the plan is applied
//! (the gateway URL from ARM, the API URL with its path), client snippets, each client's
//! limits and Application Insights component, and the subscription keys (the plan's
//! subscription, each client's) only when asked for.

use std::path::Path;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::output::{self as view, Outputs};
use aoai_lb_engine::traffic::{self, Load};

use super::session;

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: &Path,
    show_secrets: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let view = view::view(printer);
    session::with_plan(
        printer,
        settings,
        engine,
        &*view,
        file,
        |session, loaded| {
            let model = &loaded.model;
            let found = session.runtime.block_on(async {
                let gateway = traffic::gateway_url(&session.client, model).await?;
                let endpoint = traffic::endpoint(model, &gateway, &Load::for_snippets(model))?;
                let mut key = None;
                let mut client_keys = Vec::new();
                if show_secrets {
                    if let Some(s) = &model.apim.subscription {
                        key = Some(traffic::key_of(&session.client, model, &s.name).await?);
                    }
                    for c in &model.apim.clients {
                        client_keys.push(traffic::key_of(&session.client, model, &c.name).await?);
                    }
                }
                Ok::<_, traffic::TrafficError>((endpoint, key, client_keys))
            });
            match found {
                Ok((endpoint, key, client_keys)) => {
                    view.outputs(&Outputs {
                        model,
                        endpoint: &endpoint,
                        key: key.as_ref().map(|k| k.expose()),
                        client_keys: client_keys.iter().map(|k| k.expose()).collect(),
                    });
                    ExitStatus::Success
                }
                Err(e) => {
                    view.error(&e.to_string());
                    ExitStatus::Failure
                }
            }
        },
    )
}
