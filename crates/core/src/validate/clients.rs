//! The API's clients: each an APIM subscription with optional token limits, checked
//! against what APIM's token-limit policies accept (`llm-token-limit`,
//! `azure-openai-token-limit`: learn.microsoft.com/azure/api-management/llm-token-limit-policy).

use super::checker::{Checker, Unique};
use crate::located::Located;
use crate::model::{self, TOKEN_QUOTA_PERIODS};
use crate::names::NameError;
use crate::plan;

/// The largest limit aoai-lb writes: the policy reference gives no maximum for
/// `tokens-per-minute` or `token-quota`, so aoai-lb keeps them to 32-bit integers, which
/// every APIM tier and the policy's counters take. The minimum is 1: a limit of 0 would
/// refuse every request (leave the client out of the limits instead, or remove it).
pub const MAX_TOKENS: i64 = 2_147_483_647;

/// A client's name is its APIM subscription id and is written into a policy expression
/// (`context.Subscription.Id == "NAME"`): letters, digits, `-`, `_` and `.` only, so it
/// needs no quoting there, and at most 80 characters.
pub fn client_name(s: &str) -> Result<(), NameError> {
    let len = s.chars().count();
    if !(1..=80).contains(&len) {
        return Err(NameError::Length {
            min: 1,
            max: 80,
            len,
        });
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameError::Char {
            allowed: "letters, digits, `-`, `_` and `.`",
            found: c,
        });
    }
    Ok(())
}

/// Checks `apim.clients` and builds the model's clients. `subscription` is the plan's
/// single `apim.subscription`, which shares the namespace of APIM subscription ids.
pub(super) fn clients(
    c: &mut Checker,
    clients: Option<&Located<Vec<Located<plan::Client>>>>,
    subscription: Option<&plan::Subscription>,
) -> Vec<model::Client> {
    let Some(clients) = clients else {
        return Vec::new();
    };
    let mut unique = Unique::new("client");
    if let Some(s) = subscription {
        unique.check(c, &s.name.value, s.name.pos, "apim.subscription.name");
    }
    clients
        .iter()
        .enumerate()
        .map(|(i, cl)| client(c, cl, i, &mut unique))
        .collect()
}

fn client(c: &mut Checker, cl: &plan::Client, i: usize, unique: &mut Unique) -> model::Client {
    let field = |f: &str| format!("apim.clients[{i}].{f}");
    c.rule(&cl.name, &field("name"), "client name", client_name);
    unique.check(c, &cl.name.value, cl.name.pos, &field("name"));
    let display_name = match &cl.display_name {
        Some(d) => {
            c.char_count(d, &field("displayName"), "displayName", 1, 100);
            d.value.clone()
        }
        None => cl.name.value.clone(),
    };
    let tokens_per_minute = cl
        .tokens_per_minute
        .as_ref()
        .map(|n| limit(c, n, &field("tokensPerMinute"), "tokensPerMinute"));
    let token_quota = quota(c, cl, &field("tokenQuota"), &field("tokenQuotaPeriod"));
    model::Client {
        name: cl.name.value.clone(),
        display_name,
        tokens_per_minute,
        token_quota,
    }
}

fn limit(c: &mut Checker, n: &Located<i64>, field: &str, what: &str) -> u32 {
    let v = c.int_range(n, field, what, 1, MAX_TOKENS);
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn quota(
    c: &mut Checker,
    cl: &plan::Client,
    quota_field: &str,
    period_field: &str,
) -> Option<model::TokenQuota> {
    let period = cl.token_quota_period.as_ref().map(|p| {
        match TOKEN_QUOTA_PERIODS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(p.value.trim()))
        {
            Some(k) => (*k).to_string(),
            None => {
                let hint = crate::shape::suggest(&p.value, &TOKEN_QUOTA_PERIODS)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                c.error(
                    p.pos,
                    period_field,
                    format!(
                        "unknown token quota period `{}`{hint}: APIM knows {}",
                        p.value,
                        TOKEN_QUOTA_PERIODS.join(", ")
                    ),
                );
                p.value.clone()
            }
        }
    });
    match (&cl.token_quota, period) {
        (Some(q), Some(period)) => Some(model::TokenQuota {
            tokens: limit(c, q, quota_field, "tokenQuota"),
            period,
        }),
        (Some(q), None) => {
            c.error(
                q.pos,
                quota_field,
                format!("tokenQuota needs tokenQuotaPeriod ({}): the window after which the quota resets", TOKEN_QUOTA_PERIODS.join(", ")),
            );
            None
        }
        (None, Some(_)) => {
            let p = cl
                .token_quota_period
                .as_ref()
                .map(|p| p.pos)
                .unwrap_or(cl.name.pos);
            c.error(
                p,
                period_field,
                "tokenQuotaPeriod without tokenQuota: say how many tokens the period allows",
            );
            None
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_safe_in_a_policy_expression() {
        assert!(client_name("team-a_1.x").is_ok());
        assert!(client_name("").is_err());
        assert!(client_name("a\"b").is_err());
        assert!(client_name(&"a".repeat(81)).is_err());
    }
}
