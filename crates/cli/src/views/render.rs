//! How `render` shows what it rendered: the request lines (or where it wrote them), or
//! every request, the policy and the spec as JSON.

use std::path::Path;

use serde_json::json;

use super::{Human, Json, View};
use crate::commands::Loaded;
use crate::printer::Printer;
use aoai_lb_core::render::Bundle;

/// What `render` produced, and where it wrote it (`--out`).
pub struct Rendered<'a> {
    pub loaded: &'a Loaded,
    pub bundle: &'a Bundle,
    pub out: Option<&'a Path>,
}

/// The view of `aoai-lb render`.
pub trait RenderView: View {
    fn rendered(&self, r: &Rendered);
}

pub fn view(printer: &Printer) -> Box<dyn RenderView> {
    super::for_format!(printer)
}

impl RenderView for Human {
    fn rendered(&self, r: &Rendered) {
        if let Some(dir) = r.out {
            self.printer.result(&format!(
                "Wrote {} ARM requests, policy.xml and inference.json to {}",
                r.bundle.requests.len(),
                dir.display()
            ));
            return;
        }
        let mut text = String::new();
        for req in &r.bundle.requests {
            text.push_str(&format!("{:<5} {}\n", req.method, req.url));
        }
        text.push_str("\n(use --out DIR to write every body, the policy and the spec; --output json prints them)");
        self.printer.result(&text);
    }
}

impl RenderView for Json {
    fn rendered(&self, r: &Rendered) {
        self.printer.json(&json!({
            "file": r.loaded.file,
            "diagnostics": r.loaded.warnings,
            "requests": r.bundle.requests,
            "policy": r.bundle.policy,
            "spec": r.bundle.spec,
        }));
    }
}
