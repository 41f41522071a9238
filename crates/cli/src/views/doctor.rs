//! How `doctor` shows its checks: `ok  ` / `FAIL` lines, or JSON.

use serde_json::json;

use super::{Human, Json, View};
use crate::printer::Printer;

/// One thing doctor checked.
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Every check, and what reading Azure cost.
pub struct Checked<'a> {
    pub arm_endpoint: &'a str,
    pub checks: &'a [Check],
    pub requests: aoai_lb_arm::Counts,
}

impl Checked<'_> {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// The view of `aoai-lb doctor`.
pub trait DoctorView: View {
    fn checked(&self, c: &Checked);
}

pub fn view(printer: &Printer) -> Box<dyn DoctorView> {
    super::for_format!(printer)
}

impl DoctorView for Human {
    fn checked(&self, c: &Checked) {
        let mut text = String::new();
        for check in c.checks {
            text.push_str(&format!(
                "{} {}: {}\n",
                if check.ok { "ok  " } else { "FAIL" },
                check.name,
                check.detail
            ));
        }
        text.push_str(&format!(
            "({} ARM reads, {} retries)",
            c.requests.reads, c.requests.retries
        ));
        self.printer.result(&text);
    }
}

impl DoctorView for Json {
    fn checked(&self, c: &Checked) {
        self.printer.json(&json!({
            "ok": c.ok(),
            "armEndpoint": c.arm_endpoint,
            "checks": c.checks.iter().map(|c| json!({ "name": c.name, "ok": c.ok, "detail": c.detail })).collect::<Vec<_>>(),
            "requests": c.requests,
        }));
    }
}
