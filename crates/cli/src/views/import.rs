//! How `import` looks: each resource of the plan as found (adopted, already this
//! deployment's, missing, used as it is), the marks it would write and what `plan` will
//! still change; then the outcome. Or one JSON document.

use serde_json::{Value, json};

use super::{Human, Json, Paint, View};
use crate::printer::Printer;
use aoai_lb_engine::diff::FieldChange;
use aoai_lb_engine::import::{Import, Status};

/// What an import did.
pub struct Imported<'a> {
    pub file: &'a str,
    pub import: &'a Import,
    /// Whether the marks were written and the state recorded.
    pub done: bool,
    pub marks_written: usize,
}

/// The view of `aoai-lb import`.
pub trait ImportView: View {
    /// What was found, before asking.
    fn found(&self, import: &Import);

    fn imported(&self, i: &Imported);
}

pub fn view(printer: &Printer) -> Box<dyn ImportView> {
    super::for_format!(printer)
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) if s.len() > 80 || s.contains('\n') => {
            format!("({} characters)", s.chars().count())
        }
        Value::String(s) => format!("{s:?}"),
        other => {
            let t = other.to_string();
            if t.len() > 120 {
                format!("({} characters of JSON)", t.len())
            } else {
                t
            }
        }
    }
}

/// A mark is shown whole (a description with the mark at its end), a difference as
/// `plan` shows it.
fn field_line(sign: &str, f: &FieldChange, mark: bool) -> String {
    let new = match &f.new {
        Value::String(s) if mark && !s.contains('\n') => format!("{s:?}"),
        other => show(other),
    };
    let after = if mark {
        "  (ownership mark)"
    } else {
        "  (plan will change it)"
    };
    format!(
        "      {sign} {}: {} -> {new}{after}\n",
        f.path,
        show(&f.old)
    )
}

/// The findings as text, the way `plan` shows changes.
pub fn render(import: &Import, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = String::from("aoai-lb import: what exists for this plan\n\n");
    for f in &import.resources {
        let verb = match f.status {
            Status::Adopt => p.green("will be adopted"),
            Status::Ours => "is already this deployment's".into(),
            Status::Missing => p.dim("does not exist: plan will create it"),
            Status::Kept => "is used as it is (not owned)".into(),
        };
        out.push_str(&format!(
            "  {} {} {verb}\n",
            p.bold("#"),
            p.bold(&f.address)
        ));
        if let Some(note) = &f.note {
            out.push_str(&format!("    {}\n", p.dim(&format!("({note})"))));
        }
        if f.status != Status::Missing {
            out.push_str(&format!("    {}\n", f.id));
        }
        for m in &f.marks {
            out.push_str(&field_line(&p.green("+"), m, true));
        }
        for d in &f.fields {
            out.push_str(&field_line(&p.yellow("~"), d, false));
        }
        out.push('\n');
    }
    let s = import.summary();
    out.push_str(&p.bold(&format!(
        "Import: {} to adopt, {} already this deployment's, {} missing, {} used as they are.",
        s.adopt, s.ours, s.missing, s.kept
    )));
    out.push('\n');
    if s.differ > 0 || s.missing > 0 {
        out.push_str(&format!(
            "Afterwards `aoai-lb plan` will create {} and change {} resource(s): the differences above.\n",
            s.missing, s.differ
        ));
    } else {
        out.push_str("Afterwards `aoai-lb plan` will find no changes.\n");
    }
    out.push_str("Only the ownership marks are written; nothing else in Azure changes.\n");
    out
}

impl ImportView for Human {
    fn found(&self, import: &Import) {
        if !self.printer.quiet {
            self.printer.prompt(&render(import, super::stderr_colour()));
        }
    }

    fn imported(&self, i: &Imported) {
        let s = i.import.summary();
        let text = if !i.done {
            "Nothing to import: no resource of the plan exists yet (`aoai-lb apply` creates them)."
                .to_string()
        } else {
            format!(
                "Import complete: {} adopted ({} ownership marks written), {} already this deployment's, recorded in the state.\nNext: `aoai-lb plan {}` shows only the real differences.",
                s.adopt, i.marks_written, s.ours, i.file
            )
        };
        self.printer.result(&text);
    }
}

impl ImportView for Json {
    fn found(&self, _import: &Import) {}

    fn imported(&self, i: &Imported) {
        self.printer.json(&json!({
            "file": i.file,
            "imported": i.done,
            "marksWritten": i.marks_written,
            "resources": i.import.resources,
            "summary": i.import.summary(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_show_as_in_a_plan() {
        assert_eq!(show(&Value::Null), "(none)");
        assert_eq!(show(&json!("aoai-lb")), "\"aoai-lb\"");
        assert_eq!(show(&json!("x".repeat(81))), "(81 characters)");
    }
}
