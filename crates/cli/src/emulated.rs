//! The emulator seeded for a plan: what the plan expects to exist already (its API
//! Management service and, if it names one, its user-assigned identity). The emulator
//! knows no plan, so the binary that hosts it translates.

use aoai_lb_core::ids::parse_user_assigned_identity;
use aoai_lb_core::model::{Identity, Model};
use aoai_lb_emulator::Config;

/// The `instant` emulator configuration for `model`.
pub fn config_for_plan(model: &Model) -> Config {
    let location = &model.resource_group.location;
    let config = Config::for_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
        location,
    );
    match &model.apim.identity {
        Identity::UserAssigned { id } => match parse_user_assigned_identity(id) {
            Some((sub, rg, name)) => config.with_user_identity(sub, rg, name, location),
            None => config,
        },
        Identity::SystemAssigned => config,
    }
}
