//! The plan as people read it, the way `terraform plan` shows one.

use serde_json::Value;

use super::Paint;
use aoai_lb_core::desired::Kind;
use aoai_lb_engine::plan::{Action, Plan};

/// Pool members as `name (priority P, weight W)`, the way people think of them.
pub(super) fn show_members(v: &Value) -> Option<String> {
    let items = v.as_array()?;
    let parts: Option<Vec<String>> = items
        .iter()
        .map(|m| {
            let id = m.get("id")?.as_str()?;
            let name = id.rsplit('/').next().unwrap_or(id);
            let n = |k: &str| {
                m.get(k)
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| "-".into())
            };
            Some(format!(
                "{name} (priority {}, weight {})",
                n("priority"),
                n("weight")
            ))
        })
        .collect();
    parts.map(|p| format!("[{}]", p.join(", ")))
}

fn show_field(path: &str, v: &Value) -> String {
    if path.ends_with("services")
        && let Some(s) = show_members(v)
    {
        return s;
    }
    show(v)
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

/// The plan text: each change, then `Plan: N to add, N to change, N to destroy.`
pub fn render(plan: &Plan, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = String::new();
    let changing: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if changing.is_empty() {
        let n = plan.changes.len();
        out.push_str(&p.green(&format!(
            "No changes. Azure matches the plan ({n} resources)."
        )));
        out.push('\n');
        return out;
    }
    out.push_str("aoai-lb will perform these actions:\n\n");
    for c in changing {
        let (mark, verb) = match c.action {
            Action::Create => (p.green("+"), "will be created"),
            Action::Update => (p.yellow("~"), "will be updated in place"),
            Action::Delete => (p.red("-"), "will be destroyed"),
            Action::Replace => (p.red("-/+"), "must be replaced"),
            Action::Restore => (p.green("+"), "will be restored from soft-delete"),
            Action::NoOp => unreachable!(),
        };
        out.push_str(&format!(
            "  {} {} {verb}\n",
            p.bold("#"),
            p.bold(&c.address)
        ));
        if let Some(note) = &c.note {
            out.push_str(&format!("    {}\n", p.dim(&format!("({note})"))));
        }
        out.push_str(&format!("  {mark} {}\n", c.id));
        if c.action == Action::Create {
            for (name, value) in super::plan_detail::attributes(c, plan) {
                out.push_str(&format!("      {} {name}: {value}\n", p.green("+")));
            }
        }
        for f in &c.fields {
            if c.kind == Kind::ApiPolicy
                && f.path == "properties.value"
                && let Some(lines) = super::plan_detail::policy_diff(&f.old, &f.new)
            {
                out.push_str(&format!("      {} {}:\n", p.yellow("~"), f.path));
                for line in lines {
                    let painted = match line.chars().next() {
                        Some('+') => p.green(&line),
                        Some('-') => p.red(&line),
                        Some('@') => p.dim(&line),
                        _ => line,
                    };
                    out.push_str(&format!("          {painted}\n"));
                }
                continue;
            }
            let forces = if f.forces_replacement {
                p.red(" # forces replacement")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "      {} {}: {} -> {}{forces}\n",
                p.yellow("~"),
                f.path,
                show_field(&f.path, &f.old),
                show_field(&f.path, &f.new)
            ));
        }
        out.push('\n');
    }
    let s = plan.summary();
    out.push_str(&p.bold(&format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )));
    if s.unchanged > 0 {
        out.push_str(&format!(" ({} unchanged)", s.unchanged));
    }
    out.push('\n');
    out
}

/// The plan as a Markdown table, for a GitHub job summary or a pull-request comment.
pub fn markdown(plan: &Plan, title: &str) -> String {
    use crate::github::cell;
    let s = plan.summary();
    let mut md = format!(
        "### {title}\n\n**Plan: {} to add, {} to change, {} to destroy** ({} unchanged)\n\n",
        s.add, s.change, s.destroy, s.unchanged
    );
    for w in &plan.warnings {
        md.push_str(&format!("> ⚠️ {}\n\n", cell(w)));
    }
    let changing: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if changing.is_empty() {
        md.push_str("No changes: Azure matches the plan.\n");
        return md;
    }
    md.push_str("| | resource | changes |\n|---|---|---|\n");
    for c in changing {
        let mark = match c.action {
            Action::Create => "➕ create",
            Action::Update => "🔄 update",
            Action::Delete => "➖ destroy",
            Action::Replace => "♻️ replace",
            Action::Restore => "♻️ restore",
            Action::NoOp => "",
        };
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| {
                format!(
                    "`{}`: {} → {}{}",
                    f.path,
                    show_field(&f.path, &f.old),
                    show_field(&f.path, &f.new),
                    if f.forces_replacement {
                        " (forces replacement)"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        md.push_str(&format!(
            "| {mark} | `{}` | {} |\n",
            c.address,
            cell(&fields.join("<br>"))
        ));
    }
    md
}

/// What `plan` found, and what reading Azure cost.
pub struct Planned<'a> {
    pub file: &'a str,
    pub plan: &'a Plan,
    pub requests: aoai_lb_arm::Counts,
    /// Where `--out` saved the plan.
    pub saved_to: Option<String>,
}

/// The view of `aoai-lb plan`.
pub trait PlanView: super::View {
    fn planned(&self, p: &Planned);

    /// The plan as a job summary and a `changes` step output (GitHub Actions).
    fn github(&self, p: &Planned) {
        if let Some(gh) = super::github::GitHub::detect() {
            gh.warn_each(&p.plan.warnings);
            gh.summary(&markdown(p.plan, &format!("aoai-lb plan `{}`", p.file)));
            gh.summary(&format!("ARM requests: {} reads.\n", p.requests.reads));
            let changes = p.plan.has_changes();
            gh.output("changes", if changes { "true" } else { "false" });
        }
    }
}

pub fn view(printer: &crate::printer::Printer) -> Box<dyn PlanView> {
    super::for_format!(printer)
}

impl PlanView for super::Human {
    fn planned(&self, p: &Planned) {
        let mut text = render(p.plan, super::stdout_colour());
        if let Some(out) = &p.saved_to {
            text.push_str(&format!(
                "\nSaved the plan to {out}. To make exactly these changes, run:\n  aoai-lb apply {out}\n"
            ));
        }
        self.printer.result(&text);
    }
}

impl PlanView for super::Json {
    fn planned(&self, p: &Planned) {
        self.printer.json(&serde_json::json!({
            "file": p.file,
            "changes": p.plan.changes,
            "summary": p.plan.summary(),
            "warnings": p.plan.warnings,
            "requests": p.requests,
            "savedTo": p.saved_to,
        }));
    }
}
