//! `aoai-lb demo [PLAN]`: the one-command tour on an in-process emulator (nothing
//! reaches Azure). Apply the plan (the embedded two-regions lab by default), plan again
//! (no changes), verify the split through the gateway, throttle the primary backend's
//! account (or, when a later priority group can take over, the whole first group: the
//! provisioned-first plans) to show failover, verify again, destroy. This is the one command that uses
//! the emulator's test hooks (`PUT /_emulator/dataplane`; `GET /_emulator/metrics` for what
//! a plan's Application Insights got, `metrics.rs`), on the emulator it runs itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{DemoArgs, EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::demo::{self as view, DemoView, Failover, Toured};
use crate::views::verify as verify_view;
use aoai_lb_core::model::{Account, Model};
use aoai_lb_engine::apply::{self, ApplyOptions, Report};
use aoai_lb_engine::state::StateError;
use aoai_lb_engine::{plan, state};

mod metrics;

use super::load;
use super::session::Session;
use aoai_lb_core::verify::clients_chart::{self, ClientBar};
use aoai_lb_engine::clients;
use aoai_lb_engine::traffic::{self, Load, Measured};

const TWO_REGIONS: &str = include_str!("../../../../examples/two-regions.yaml");

/// What the demo adds to the embedded two-regions plan (whose `apim:` block ends the
/// file): two clients of the API, each its own APIM subscription, one held to a few
/// thousand tokens a minute, for the clients step; and an Application Insights component
/// aoai-lb creates, where their token metrics go.
const DEMO_CLIENTS: &str = "  clients:
    - name: team-capped
      displayName: Team Capped (3000 tokens a minute)
      tokensPerMinute: 3000
    - name: team-open
      displayName: Team Open (no limit)
  appInsights:
    name: appi-aoai-lb-demo
";

/// Requests each client sends in the clients step: the limited one spends its minute in
/// two (`clients::contend`), a minute of the demo's emulator being 1.2 s long.
const CLIENT_REQUESTS: usize = 20;

/// The demo's embedded plan: two-regions with the demo's clients and component.
fn embedded_plan() -> String {
    format!("{}\n{DEMO_CLIENTS}", TWO_REGIONS.trim_end())
}

/// The backend a throttle hurts most: the lowest priority number, then the largest
/// weight, then the first.
fn primary(model: &Model) -> Option<&Account> {
    model
        .accounts
        .iter()
        .min_by_key(|a| (a.backend.priority, std::cmp::Reverse(a.backend.weight)))
}

/// The accounts the failover step throttles: the whole first priority group when a later
/// group can take over (a provisioned group with pay-as-you-go spillover shows its
/// spillover), otherwise the primary alone (the others of its group take over).
fn throttled(model: &Model) -> Vec<&Account> {
    let first = model.accounts.iter().map(|a| a.backend.priority).min();
    let group: Vec<&Account> = model
        .accounts
        .iter()
        .filter(|a| Some(a.backend.priority) == first)
        .collect();
    if group.len() > 1 && group.len() < model.accounts.len() {
        group
    } else {
        primary(model).into_iter().collect()
    }
}

/// The data plane of the demo: a fixed seed (the same split every run) and response
/// times that differ by account, so the chart tells the regions apart.
fn data_plane(model: &Model, throttled: &[&Account]) -> Value {
    let mut accounts = serde_json::Map::new();
    for (i, a) in model.accounts.iter().enumerate() {
        let mut settings = json!({"latencyMs": 300.0 + 250.0 * i as f64, "jitterMs": 120.0});
        if throttled.iter().any(|t| t.name == a.name) {
            settings["requests"] = json!(0);
        }
        accounts.insert(a.name.clone(), settings);
    }
    json!({"seed": 42, "accounts": accounts})
}

/// Why a step of the demo of its own (not apply's, plan's or verify's) failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot configure the emulator's data plane: {0}")]
    DataPlane(#[source] reqwest::Error),
    #[error("the emulator refused the data-plane configuration: {0}")]
    DataPlaneRefused(reqwest::StatusCode),
    #[error(transparent)]
    State(#[from] StateError),
    /// `address: why` of each change that failed.
    #[error("destroy failed: {}", .0.join("; "))]
    Destroy(Vec<String>),
}

fn set_data_plane(
    runtime: &tokio::runtime::Runtime,
    emulator: &aoai_lb_emulator::Running,
    body: &Value,
) -> Result<(), DemoError> {
    runtime.block_on(async {
        let r = reqwest::Client::new()
            .put(format!("{}/_emulator/dataplane", emulator.url()))
            .header(aoai_lb_emulator::HOOK_TOKEN_HEADER, emulator.hook_token())
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(DemoError::DataPlane)?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(DemoError::DataPlaneRefused(r.status()))
        }
    })
}

/// The figure for a file name: `demo.svg` -> `demo-failover.svg`.
fn failover_chart(path: &Path) -> PathBuf {
    sibling_chart(path, "failover")
}

/// `demo.svg` -> `demo-{what}.svg`.
fn sibling_chart(path: &Path, what: &str) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("chart");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("svg");
    path.with_file_name(format!("{stem}-{what}.{ext}"))
}

pub fn run(printer: &Printer, settings: &Settings, args: &DemoArgs) -> ExitStatus {
    let view = view::view(printer);
    let scratch = std::env::temp_dir().join(format!("aoai-lb-demo-{}", std::process::id()));
    let (path, shown) = match &args.plan {
        Some(p) => (p.clone(), p.display().to_string()),
        None => {
            let p = scratch.join("two-regions.yaml");
            if let Err(e) =
                std::fs::create_dir_all(&scratch).and_then(|()| std::fs::write(&p, embedded_plan()))
            {
                view.error(&format!(
                    "cannot write the demo plan to {}: {e}",
                    p.display()
                ));
                return ExitStatus::Failure;
            }
            (
                p,
                "examples/two-regions.yaml + clients team-capped, team-open + Application Insights appi-aoai-lb-demo (embedded)".to_string(),
            )
        }
    };
    let loaded = load::load(&path);
    let _ = std::fs::remove_dir_all(&scratch);
    let mut loaded = match loaded {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    loaded.file = shown;
    view.warnings(&loaded);
    // The demo's state lives and dies with its emulator: never the user's state file.
    let settings = Settings {
        state: None,
        ..settings.clone()
    };
    let engine = EngineArgs {
        parallelism: 10,
        emulator: true,
    };
    let session = match Session::open(printer, &settings, &engine, Some(&loaded.model)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = tour(&*view, &session, &loaded, args);
    session.close();
    status
}

/// The tour's parts, shared by its steps.
struct Tour<'a> {
    view: &'a dyn DemoView,
    session: &'a Session,
    loaded: &'a load::Loaded,
    args: &'a DemoArgs,
    emulator: &'a aoai_lb_emulator::Running,
}

/// A step that failed: the view has said why; the status to exit with.
type Step<T> = Result<T, ExitStatus>;

impl Tour<'_> {
    fn fail(&self, e: &str) -> ExitStatus {
        self.view.error(e);
        ExitStatus::Failure
    }

    /// 1. apply the plan to the emulator.
    fn apply(&self) -> Step<()> {
        let (client, model) = (&self.session.client, &self.loaded.model);
        let rt = &self.session.runtime;
        let locked = self.session.lock().map_err(|e| self.fail(&e.to_string()))?;
        let p = rt
            .block_on(plan::plan(client, model, &locked.state))
            .map_err(|e| self.fail(&e.to_string()))?;
        let progress = Arc::new(self.view.progress());
        let stop = self.session.stop_on_signal(progress.clone());
        let (mut report, locked) = rt.block_on(apply::apply(
            apply::Run {
                client,
                model: Some(model),
                plan_file: &self.loaded.file,
                options: ApplyOptions::default(),
                observer: progress,
                cancel: stop.cancel.clone(),
            },
            p,
            locked,
        ));
        drop(locked);
        // Count the plan's reads too, as `aoai-lb apply` does.
        report.requests = client.counts();
        self.view.applied(&report);
        if !report.ok() {
            return Err(ExitStatus::Failure);
        }
        match stop.status() {
            Some(status) => Err(status),
            None => Ok(()),
        }
    }

    /// 2. plan again: no changes.
    fn plan_again(&self) -> Step<()> {
        let current = state::read(&self.session.state).map_err(|e| self.fail(&e.to_string()))?;
        let again = self
            .session
            .runtime
            .block_on(plan::plan(
                &self.session.client,
                &self.loaded.model,
                &current,
            ))
            .map_err(|e| self.fail(&e.to_string()))?;
        self.view.planned(&again);
        if again.has_changes() {
            return Err(self.fail("the plan right after apply shows changes"));
        }
        Ok(())
    }

    /// Sets the emulator's data plane (which account is throttled), then verifies.
    fn verify(&self, throttled: &[&Account], chart: Option<&Path>) -> Step<Measured> {
        let (rt, model) = (&self.session.runtime, &self.loaded.model);
        set_data_plane(rt, self.emulator, &data_plane(model, throttled))
            .map_err(|e| self.fail(&e.to_string()))?;
        let (gateway, key) = rt
            .block_on(traffic::discover(
                Some(&self.session.client),
                model,
                None,
                None,
            ))
            .map_err(|e| self.fail(&e.to_string()))?;
        let load = Load {
            requests: self.args.requests,
            concurrency: self.args.concurrency,
            timeout: Duration::from_secs(30),
            deployment: None,
            api_version: None,
        };
        let view = verify_view::view(self.view.printer());
        super::verify::measure(&*view, rt, model, (&gateway, &key), &load, chart)
    }

    /// The clients step: every client sends at once through its own key (the data plane
    /// as the first verify left it, nothing throttled, and its endpoint); the chart beside
    /// `--chart`.
    fn clients(&self, endpoint: &traffic::Endpoint) -> Step<bool> {
        let (rt, model) = (&self.session.runtime, &self.loaded.model);
        // Only this step's metrics: verify sent some before.
        let before = model
            .apim
            .app_insights
            .as_ref()
            .map(|_| metrics::last_seq(rt, self.emulator));
        let tallies = rt
            .block_on(clients::contend(
                &self.session.client,
                model,
                endpoint,
                Duration::from_secs(30),
                CLIENT_REQUESTS,
            ))
            .map_err(|e| self.fail(&e.to_string()))?;
        let chart = self
            .args
            .chart
            .as_deref()
            .map(|p| sibling_chart(p, "clients"));
        let chart_error = chart.as_deref().and_then(|p| {
            let bars: Vec<ClientBar> = tallies
                .iter()
                .map(|t| ClientBar {
                    name: t.name.clone(),
                    tokens_per_minute: t.tokens_per_minute,
                    answered: t.answered,
                    throttled: t.throttled,
                    failed: t.failed,
                })
                .collect();
            let title = format!("{}: token limits per client", self.loaded.file);
            std::fs::write(p, clients_chart::svg(&title, &bars))
                .err()
                .map(|e| format!("cannot write the chart {}: {e}", p.display()))
        });
        let metrics = model
            .apim
            .app_insights
            .as_ref()
            .zip(before)
            .map(|(ai, before)| {
                before.and_then(|seq| metrics::sent(rt, self.emulator, ai.logger_name(), seq))
            });
        let step = view::Clients {
            tallies: &tallies,
            chart: chart.as_deref(),
            chart_error,
            metrics,
        };
        self.view.clients(&step);
        Ok(step.ok())
    }

    /// 3. to the end, after apply and plan.
    fn verify_and_destroy(&self) -> Step<bool> {
        let (model, args, file) = (&self.loaded.model, self.args, &self.loaded.file);
        let of = view::steps(model);
        self.view.step(
            3,
            of,
            &format!(
                "verify: {} chat completions through the gateway, split by x-ms-region",
                args.requests
            ),
        );
        let first = self.verify(&[], args.chart.as_deref())?;
        self.view.verified(file, &first);
        let clients_ok = if model.apim.clients.is_empty() {
            true
        } else {
            self.view.step(
                4,
                of,
                &format!(
                    "clients: {} send {CLIENT_REQUESTS} requests each through the gateway, each with its own key",
                    model
                        .apim
                        .clients
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            self.clients(&first.endpoint)?
        };
        let n = of;

        let throttled = throttled(model);
        let what = throttled
            .iter()
            .map(|a| {
                format!(
                    "{} ({}, backend {})",
                    a.name, a.region_display_name, a.backend.name
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let title = match throttled.as_slice() {
            [_] => {
                format!("throttle {what}: every request to it gets 429 + Retry-After; verify again")
            }
            _ => format!(
                "throttle priority group {}, {what}: every request to them gets 429 + Retry-After; verify again",
                throttled[0].backend.priority
            ),
        };
        self.view.step(n - 1, of, &title);
        let failover_path = args.chart.as_deref().map(failover_chart);
        let second = self.verify(&throttled, failover_path.as_deref())?;
        let a = &second.analysis;
        // Rows are per region (`x-ms-region`): the throttled accounts' regions.
        let served_by_primary = a
            .rows
            .iter()
            .filter(|r| {
                throttled
                    .iter()
                    .any(|t| r.region.eq_ignore_ascii_case(&t.region_display_name))
            })
            .map(|r| r.count)
            .sum::<u64>();
        let failover = Failover {
            file,
            model,
            throttled: &throttled,
            measured: &second,
            served_by_primary,
            served_elsewhere: a.succeeded - served_by_primary,
        };
        self.view.failover(&failover);

        self.view.step(n, of, "destroy everything the demo created");
        let destroyed = destroy(self.view, self.session);
        self.view.destroyed(&destroyed);

        let ok = first.ok()
            && clients_ok
            && failover.ok()
            && destroyed.is_ok()
            && second.chart_error.is_none();
        self.view.done(&Toured {
            file,
            ok,
            first: &first,
            throttled: &throttled,
        });
        Ok(ok)
    }
}

fn tour(
    view: &dyn DemoView,
    session: &Session,
    loaded: &load::Loaded,
    args: &DemoArgs,
) -> ExitStatus {
    let emulator = session
        .emulator
        .as_ref()
        .expect("the demo runs an emulator");
    let tour = Tour {
        view,
        session,
        loaded,
        args,
        emulator,
    };
    let of = view::steps(&loaded.model);
    view.step(1, of, &format!("apply {} to the emulator", loaded.file));
    if let Err(status) = tour.apply() {
        return status;
    }
    view.step(
        2,
        of,
        "plan again: Azure (here, the emulator) matches the plan",
    );
    if let Err(status) = tour.plan_again() {
        return status;
    }
    match tour.verify_and_destroy() {
        Ok(true) => ExitStatus::Success,
        Ok(false) => ExitStatus::Failure,
        Err(status) => status,
    }
}

/// Deletes what the state lists, children first, and puts the APIM identity back:
/// destroy's plan, as `destroy` runs it.
fn destroy(view: &dyn DemoView, session: &Session) -> Result<Report, DemoError> {
    let locked = session.lock()?;
    let p = plan::destroy_plan(&locked.state);
    let (report, _locked) = session.runtime.block_on(apply::apply(
        apply::Run {
            client: &session.client,
            model: None,
            plan_file: "",
            options: ApplyOptions::default(),
            observer: Arc::new(view.progress()),
            cancel: Default::default(),
        },
        p,
        locked,
    ));
    if !report.ok() {
        let mut failed: Vec<String> = report
            .failed
            .iter()
            .map(|(a, e)| format!("{a}: {e}"))
            .collect();
        failed.extend(report.state_error.clone());
        return Err(DemoError::Destroy(failed));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_is_the_first_choice_of_the_pool() {
        let model = crate::commands::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/priority-spillover.yaml"),
        )
        .unwrap()
        .model;
        assert_eq!(primary(&model).unwrap().name, "aoai-spill-primary");
        let model = crate::commands::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-regions.yaml"),
        )
        .unwrap()
        .model;
        assert_eq!(primary(&model).unwrap().name, "aoai-nov26-instance1");
        let names =
            |m: &Model| -> Vec<String> { throttled(m).iter().map(|a| a.name.clone()).collect() };
        // One priority group: the primary alone, the other member takes over.
        assert_eq!(names(&model), ["aoai-nov26-instance1"]);
        let model = crate::commands::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/provisioned-spillover.yaml"),
        )
        .unwrap()
        .model;
        // Provisioned first: the whole PTU group, priority 2 takes over.
        assert_eq!(
            names(&model),
            ["aoai-ptu-eastus2", "aoai-ptu-swedencentral"]
        );
        assert_eq!(
            failover_chart(Path::new("out/demo.svg")),
            Path::new("out/demo-failover.svg")
        );
    }
}
