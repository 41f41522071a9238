//! The plan's top level: the subscription, the resource group and the user's tags.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::{Context, OWNER_TAG, PLACEHOLDER_SUBSCRIPTION};
use crate::located::Pos;
use crate::marks::DEPLOYMENT_TAG;
use crate::names;
use crate::plan::Plan;

/// The subscription from the plan, or else from the environment.
pub(super) fn subscription(c: &mut Checker, plan: &Plan, ctx: &Context) -> String {
    match (&plan.subscription_id, &ctx.subscription_id) {
        (Some(s), _) => {
            if !names::is_guid(s) {
                c.error(
                    s.pos,
                    "subscriptionId",
                    format!(
                        "subscriptionId `{}` is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                        s.value
                    ),
                );
            }
            s.value.clone()
        }
        (None, Some(env)) => {
            if !names::is_guid(env) {
                c.error(
                    Pos::START,
                    "subscriptionId",
                    format!("AZURE_SUBSCRIPTION_ID `{env}` is not a GUID; set subscriptionId in the plan or fix the variable"),
                );
            }
            env.clone()
        }
        (None, None) if ctx.offline => {
            c.warn(
                Pos::START,
                "subscriptionId",
                format!("no subscription: using the placeholder {PLACEHOLDER_SUBSCRIPTION} in every id; set `subscriptionId` in the plan or AZURE_SUBSCRIPTION_ID before plan, apply or destroy"),
            );
            PLACEHOLDER_SUBSCRIPTION.to_string()
        }
        (None, None) => {
            c.error(
                Pos::START,
                "subscriptionId",
                "no subscription: set `subscriptionId` in the plan or the AZURE_SUBSCRIPTION_ID environment variable",
            );
            String::new()
        }
    }
}

/// Tag names and values as ARM limits them, without the reserved ownership tag.
pub(super) fn tags(c: &mut Checker, plan: &Plan) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let Some(t) = &plan.tags else {
        return tags;
    };
    if t.len() > 48 {
        c.error(
            t.pos,
            "tags",
            format!(
                "at most 48 tags (ARM allows 50, aoai-lb adds `{OWNER_TAG}` and `{DEPLOYMENT_TAG}`), not {}",
                t.len()
            ),
        );
    }
    // ARM tag names are case-insensitive: `Env` and `env` are one tag, and which value
    // wins is not ours to guess.
    let mut lower: BTreeMap<String, &str> = BTreeMap::new();
    for (k, v) in t.iter() {
        let field = format!("tags.{k}");
        if let Some(reason) = tag_name_problem(k) {
            c.error(t.pos, &field, reason);
        }
        if let Some(first) = lower.insert(k.to_lowercase(), k) {
            c.error(
                t.pos,
                &field,
                format!("tags `{first}` and `{k}` are one tag: ARM tag names are case-insensitive"),
            );
        }
        if v.chars().count() > 256 {
            c.error(
                t.pos,
                &field,
                format!("the value of tag `{k}` must be at most 256 characters long"),
            );
        }
        tags.insert(k.clone(), v.clone());
    }
    tags
}

fn tag_name_problem(k: &str) -> Option<String> {
    if k.eq_ignore_ascii_case(OWNER_TAG) || k.eq_ignore_ascii_case(DEPLOYMENT_TAG) {
        Some(format!(
            "tag `{k}` is reserved: aoai-lb uses it to mark what it owns"
        ))
    } else if k.is_empty() || k.chars().count() > 512 {
        Some(format!("tag name `{k}` must be 1 to 512 characters long"))
    } else if let Some(ch) = k.chars().find(|ch| "<>%&\\?/".contains(*ch)) {
        Some(format!("tag name `{k}` must not contain `{ch}`"))
    } else if ["microsoft", "azure", "windows"]
        .iter()
        .any(|p| k.to_lowercase().starts_with(p))
    {
        Some(format!(
            "tag name `{k}` uses a prefix Azure reserves (microsoft, azure, windows)"
        ))
    } else {
        None
    }
}

/// The plan's `state:`: a path, or a blob URL of the shape aoai-lb can lock (https, or
/// plain http on a loopback address for the storage emulator; no query, where a SAS would
/// be printed with the URL; a container and a blob name).
pub(super) fn state(c: &mut Checker, plan: &Plan) -> Option<String> {
    let s = plan.state.as_ref()?;
    let text = s.value.trim();
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        if text.is_empty() {
            c.error(
                s.pos,
                "state",
                "state is empty: give a file path or a blob URL",
            );
        }
        return Some(text.to_string());
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = ["localhost", "[::1]"].contains(&host_name) || host_name.starts_with("127.");
    let path_style = loopback || host_name.parse::<std::net::Ipv4Addr>().is_ok();
    let segments = path.split('/').filter(|p| !p.is_empty()).count();
    let wanted = if path_style { 3 } else { 2 };
    let why = if lower.starts_with("http://") && !loopback {
        Some(
            "plain http is allowed only for a loopback address (the storage emulator); use https"
                .to_string(),
        )
    } else if text.contains('?') || text.contains('#') {
        Some("the URL carries a query: give a SAS in AZURE_STORAGE_SAS_TOKEN instead, so it is never printed with the URL".to_string())
    } else if segments < wanted {
        Some(format!(
            "not a blob URL of the form {}",
            if path_style {
                "http://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB"
            } else {
                "https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB"
            }
        ))
    } else {
        None
    };
    if let Some(why) = why {
        // Never the query: it may be a SAS.
        let shown = text.split(['?', '#']).next().unwrap_or_default();
        c.error(s.pos, "state", format!("state `{shown}`: {why}"));
    }
    Some(text.to_string())
}
