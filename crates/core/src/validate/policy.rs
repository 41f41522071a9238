//! The policy (template and retry count) and the APIM subscription.

use super::checker::Checker;
use super::{FileError, Files, MAX_RETRY};
use crate::located::Located;
use crate::plan::{self, Retry};
use crate::{model, names, policy};

pub(super) fn policy(
    c: &mut Checker,
    policy_plan: Option<&plan::Policy>,
    members: usize,
    files: &Files,
) -> model::Policy {
    let template = match policy_plan.and_then(|p| p.template.as_ref()) {
        None => model::PolicyTemplate::Builtin {
            name: "pool".into(),
        },
        Some(t) if policy::is_builtin(t) => model::PolicyTemplate::Builtin {
            name: t.value.clone(),
        },
        Some(t) => template_file(c, t, files),
    };
    let retry = match policy_plan.and_then(|p| p.retry.as_ref()) {
        None
        | Some(Located {
            value: Retry::Auto, ..
        }) => (members as i64 - 1).max(0) as u32,
        Some(Located {
            value: Retry::Count(n),
            pos,
        }) => c.int_range(
            &Located::new(*n, *pos),
            "apim.policy.retry",
            "retry",
            0,
            MAX_RETRY,
        ) as u32,
    };
    model::Policy { template, retry }
}

/// The `random` template sends each request to any account, so with accounts that serve
/// different deployment names some requests reach an account without their deployment.
pub(super) fn routing(
    c: &mut Checker,
    plan: &plan::Plan,
    policy: &model::Policy,
    pools: &[model::RoutedPool],
) {
    let random =
        matches!(&policy.template, model::PolicyTemplate::Builtin { name } if name == "random");
    if random && pools.len() > 1 {
        let pos = plan
            .apim
            .policy
            .as_ref()
            .and_then(|p| p.template.as_ref())
            .map_or(plan.apim.pos, |t| t.pos);
        c.warn(
            pos,
            "apim.policy.template",
            "template `random` sends every request to any account, but the accounts serve different deployments (or weigh them differently): requests reaching an account without their deployment fail; the `pool` template routes each deployment to the accounts that serve it",
        );
    }
}

fn template_file(c: &mut Checker, t: &Located<String>, files: &Files) -> model::PolicyTemplate {
    let content = match files.get(&t.value) {
        Some(Ok(text)) => text.clone(),
        Some(Err(FileError::Unreadable(reason))) => {
            c.error(t.pos, "apim.policy.template", format!("template `{}` is neither a built-in template ({}) nor a readable file: {reason}", t.value, policy::BUILTIN.join(", ")));
            String::new()
        }
        Some(Err(problem)) => {
            c.error(
                t.pos,
                "apim.policy.template",
                format!("template `{}` {problem}", t.value),
            );
            String::new()
        }
        None => {
            c.error(
                t.pos,
                "apim.policy.template",
                format!("template `{}` was not read", t.value),
            );
            String::new()
        }
    };
    model::PolicyTemplate::File {
        path: t.value.clone(),
        content,
    }
}

pub(super) fn subscription(c: &mut Checker, s: &plan::Subscription) -> model::Subscription {
    c.rule(
        &s.name,
        "apim.subscription.name",
        "subscription name",
        |v| names::apim_entity_id(v, 256),
    );
    let display_name = match &s.display_name {
        Some(d) => {
            c.char_count(d, "apim.subscription.displayName", "displayName", 1, 100);
            d.value.clone()
        }
        None => s.name.value.clone(),
    };
    model::Subscription {
        name: s.name.value.clone(),
        display_name,
    }
}
