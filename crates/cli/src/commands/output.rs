//! `aoai-lb output PLAN [--show-secrets]`: where clients go once the plan is applied
//! (the gateway URL from ARM, the API URL with its path), client snippets, and the
//! subscription key only when asked for.

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
                let key = match (show_secrets, &model.apim.subscription) {
                    (true, Some(_)) => {
                        Some(traffic::subscription_key(&session.client, model).await?)
                    }
                    _ => None,
                };
                Ok::<_, traffic::TrafficError>((endpoint, key))
            });
            match found {
                Ok((endpoint, key)) => {
                    view.outputs(&Outputs {
                        model,
                        endpoint: &endpoint,
                        key: key.as_ref().map(|k| k.expose()),
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
