//! How `force-unlock` looks: what was unlocked, in a sentence or one JSON document.

use serde_json::json;

use super::{Human, Json, View};
use crate::printer::Printer;

/// A lock that was broken.
pub struct Unlocked<'a> {
    pub state: String,
    pub lock_id: &'a str,
    /// What was done, in words.
    pub done: String,
}

/// The view of `aoai-lb force-unlock`.
pub trait ForceUnlockView: View {
    fn unlocked(&self, u: &Unlocked);
}

pub fn view(printer: &Printer) -> Box<dyn ForceUnlockView> {
    super::for_format!(printer)
}

impl ForceUnlockView for Human {
    fn unlocked(&self, u: &Unlocked) {
        self.printer.result(&format!(
            "Unlocked: {}. The next apply or destroy can take the state.",
            u.done
        ));
    }
}

impl ForceUnlockView for Json {
    fn unlocked(&self, u: &Unlocked) {
        self.printer.json(&json!({
            "ok": true,
            "state": u.state,
            "lockId": u.lock_id,
            "done": u.done,
        }));
    }
}
