//! Exit statuses, typed. The numbers are part of the contract (`PLAN-CONTRACT.md`) and
//! match `terraform plan -detailed-exitcode` where they overlap.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; for `plan`, no changes.
    Success,
    /// An error while working (Azure refused, a file could not be written, ...).
    Failure,
    /// Bad command line or invalid plan: nothing was done.
    Usage,
    /// `plan` found changes.
    Changes,
    /// Stopped by Ctrl-C (what was in flight finished and was recorded).
    Interrupted,
    /// Stopped by SIGTERM, the same way as by Ctrl-C (128 + 15, as a shell reports it).
    Terminated,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Changes => 3,
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}
