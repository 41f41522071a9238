//! Verify per deployment: when a plan has a pool per deployment (accounts serve different
//! deployment sets), a verify without `--deployment` sends its requests for every
//! deployment name the plan serves and checks each against its own pool's split. This
//! module picks those names and measures the ones beyond the first; the traffic itself is
//! [`crate::traffic`]'s and the statistics the core's.

use aoai_lb_core::model::Model;
use aoai_lb_core::verify::{self, Analysis};

use crate::traffic::{self, ApiKey, Endpoint, Load, Traffic, TrafficError};

/// One more deployment's traffic and analysis, checked in the same verify.
#[derive(Debug)]
pub struct DeploymentCheck {
    pub endpoint: Endpoint,
    pub traffic: Traffic,
    pub analysis: Analysis,
}

/// The deployment names a verify of `load` checks besides `first` (the one its endpoint
/// calls): none with `--deployment` or with one pool (every account serves the same set,
/// so every name has the same split); else every other name the plan's pools serve, in
/// the plan's order.
pub fn others(model: &Model, load: &Load, first: &str) -> Vec<String> {
    if load.deployment.is_some() || model.apim.pools.len() < 2 {
        return Vec::new();
    }
    let mut names: Vec<String> = Vec::new();
    for name in model.apim.pools.iter().flat_map(|p| &p.deployments) {
        if name != first && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Sends `load.requests` chat completions to each of `names` through the gateway of
/// `first` and analyses each against the split of the pool that serves it.
pub async fn measure(
    model: &Model,
    first: &Endpoint,
    key: &ApiKey,
    load: &Load,
    names: &[String],
) -> Result<Vec<DeploymentCheck>, TrafficError> {
    let mut checks = Vec::with_capacity(names.len());
    for name in names {
        let one = Load {
            deployment: Some(name.clone()),
            ..load.clone()
        };
        let endpoint = traffic::endpoint(model, &first.gateway_url, &one)?;
        let traffic = traffic::send(&endpoint, key, &one).await?;
        let analysis = verify::analyse(&verify::expected(model, name), &traffic.samples);
        checks.push(DeploymentCheck {
            endpoint,
            traffic,
            analysis,
        });
    }
    Ok(checks)
}
