//! Why a change failed, as a type: the ARM error (with its status and code) stays an
//! ARM error up to the report, a state file that cannot be written stays an I/O error
//! naming the file, and a panic is named like any other failure.

use aoai_lb_arm::ArmError;

use super::graph::Panicked;
use super::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Arm(#[from] ArmError),
    /// The state could not be written: the run stops.
    #[error(transparent)]
    State(#[from] StateError),
    /// Deleting a group would delete resources aoai-lb did not create.
    #[error(
        "kept: the resource group holds resources aoai-lb did not create ({}); delete them first, or delete the group yourself",
        .0.join(", ")
    )]
    Foreign(Vec<String>),
    /// A value the request takes from an earlier change is not there.
    #[error("{what} is still unknown: {why}")]
    Unfilled { what: &'static str, why: String },
    #[error("unexpected account id {0}")]
    AccountId(String),
    #[error("aoai-lb failed on this change (a bug; please report it): {0}")]
    Panicked(String),
}

impl From<Panicked> for ChangeError {
    fn from(p: Panicked) -> Self {
        ChangeError::Panicked(p.0)
    }
}

impl ChangeError {
    /// The ARM error behind this failure, if ARM said no.
    pub fn arm(&self) -> Option<&ArmError> {
        match self {
            ChangeError::Arm(e) => Some(e),
            _ => None,
        }
    }
}
