//! Unit tests of the token limits (`tokens.rs`): attributes as the reference pages define
//! them, windows, refusals and what streams count.

use super::*;
use crate::policy::{Format, parse};

fn limit(attrs: &str) -> Result<TokenLimit, String> {
    let p = format!("<llm-token-limit {attrs} />");
    read(&parse(&p, Format::RawXml).unwrap())
}

/// 2026-12-02T16:00:00Z, an hour's start: the emulator's start in these tests.
const ORIGIN: i64 = 1_796_227_200_000;

fn at(now: u64) -> At {
    At {
        now,
        scale: 1.0,
        origin_unix_ms: ORIGIN,
    }
}

#[test]
fn attributes_as_the_docs_define_them() {
    let l = limit(r#"counter-key="@(context.Subscription.Id)" tokens-per-minute="500" token-quota="10000" token-quota-period="Daily" estimate-prompt-tokens="true" remaining-tokens-header-name="x-remaining""#).unwrap();
    assert_eq!(l.tokens_per_minute, Some(500));
    assert_eq!(l.quota, Some((10_000, Period::Daily)));
    assert_eq!(l.retry_after_header, "Retry-After");
    assert_eq!(l.remaining_tokens_header.as_deref(), Some("x-remaining"));
    for (attrs, why) in [
        (
            r#"tokens-per-minute="5" estimate-prompt-tokens="true""#,
            "counter-key",
        ),
        (r#"counter-key="k" estimate-prompt-tokens="true""#, "either"),
        (
            r#"counter-key="k" tokens-per-minute="5""#,
            "estimate-prompt-tokens",
        ),
        (
            r#"counter-key="k" tokens-per-minute="lots" estimate-prompt-tokens="true""#,
            "whole number",
        ),
        (
            r#"counter-key="k" token-quota="5" token-quota-period="Fortnightly" estimate-prompt-tokens="true""#,
            "Hourly",
        ),
        (
            r#"counter-key="k" token-quota="5" estimate-prompt-tokens="true""#,
            "go together",
        ),
        (
            r#"counter-key="k" tokens-per-minute="5" estimate-prompt-tokens="true" burst="1""#,
            "'burst'",
        ),
    ] {
        let e = limit(attrs).unwrap_err();
        assert!(e.contains(why), "{attrs}: {e}");
    }
}

#[test]
fn waits_in_words() {
    assert_eq!(wait_words(53), "53 seconds");
    assert_eq!(wait_words(21 * 60 + 33), "21 minutes and 33 seconds");
    assert_eq!(wait_words(3_600 + 60 + 1), "1 hour, 1 minute and 1 second");
}

#[test]
fn a_minute_window_refuses_then_frees() {
    let l = limit(r#"counter-key="k" tokens-per-minute="100" estimate-prompt-tokens="false" remaining-tokens-header-name="rem" tokens-consumed-header-name="used""#).unwrap();
    let limits = [l];
    let cx = RequestContext::default();
    let mut counters = Counters::new();
    let ask = |now| Ask {
        prompt_estimate: 10,
        stream: false,
        at: at(now),
    };
    let a = admit(&mut counters, "svc", &limits, &cx, &ask(0))
        .ok()
        .unwrap();
    let used = Used {
        prompt: 60,
        completion: 40,
        estimated: false,
    };
    let h = settle(&mut counters, &limits, a, Some(used), at(10));
    assert_eq!(
        h,
        [
            ("rem".to_string(), "0".to_string()),
            ("used".to_string(), "100".to_string())
        ]
    );
    let r = admit(&mut counters, "svc", &limits, &cx, &ask(20_000))
        .err()
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(
        r.message,
        "Token limit is exceeded. Try again in 40 seconds."
    );
    assert_eq!(r.headers[0], ("Retry-After".to_string(), "40".to_string()));
    assert!(admit(&mut counters, "svc", &limits, &cx, &ask(60_000)).is_ok());
}

#[test]
fn the_quota_refuses_first_and_a_late_answer_counts_in_its_own_window() {
    let l = limit(r#"counter-key="k" tokens-per-minute="100" token-quota="150" token-quota-period="Hourly" estimate-prompt-tokens="true""#).unwrap();
    let limits = [l];
    let cx = RequestContext::default();
    let mut counters = Counters::new();
    let ask = |now| Ask {
        prompt_estimate: 50,
        stream: false,
        at: at(now),
    };
    let used = Some(Used {
        prompt: 50,
        completion: 30,
        estimated: false,
    });
    let a = admit(&mut counters, "svc", &limits, &cx, &ask(0))
        .ok()
        .unwrap();
    // Answered after the minute turned: 80 in the new minute, 80 of the quota.
    settle(&mut counters, &limits, a, used, at(61_000));
    assert_eq!(counters["svc|minute|k"].used, 80);
    assert_eq!(counters["svc|Hourly|k"].used, 80);
    let r = admit(&mut counters, "svc", &limits, &cx, &ask(62_000))
        .err()
        .unwrap();
    assert_eq!(r.status, 429, "80 + 50 > 100 a minute");
    let a = admit(&mut counters, "svc", &limits, &cx, &ask(121_000))
        .ok()
        .unwrap();
    settle(&mut counters, &limits, a, used, at(121_500));
    let r = admit(&mut counters, "svc", &limits, &cx, &ask(181_000))
        .err()
        .unwrap();
    assert_eq!(
        r.status, 403,
        "160 of 150 an hour, whatever the minute says"
    );
    assert!(
        r.message
            .starts_with("Token quota is exceeded. Try again in 56 minutes"),
        "{}",
        r.message
    );
}

#[test]
fn stream_usage_from_its_chunk_or_estimated() {
    let chunk = |t: &str| serde_json::json!({"choices": [{"delta": {"content": t}}]});
    let events = vec![chunk(""), chunk("a"), chunk(" b")];
    assert_eq!(
        used(&Value::Null, Some(&events), 7),
        Used {
            prompt: 7,
            completion: 2,
            estimated: true
        }
    );
    let mut with = events.clone();
    with.push(serde_json::json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}));
    assert_eq!(used(&Value::Null, Some(&with), 7).total(), 11);
}

#[test]
fn an_hourly_quota_resets_on_the_hour_not_an_hour_after_the_first_request() {
    let l = limit(r#"counter-key="k" token-quota="100" token-quota-period="Hourly" estimate-prompt-tokens="false""#).unwrap();
    let limits = [l];
    let cx = RequestContext::default();
    let mut counters = Counters::new();
    // The emulator started at 16:59:00: its first request spends the quota at once.
    let at = |now| At {
        now,
        scale: 1.0,
        origin_unix_ms: ORIGIN + 59 * 60_000,
    };
    let ask = |now| Ask {
        prompt_estimate: 10,
        stream: false,
        at: at(now),
    };
    let spend = Some(Used {
        prompt: 60,
        completion: 40,
        estimated: false,
    });
    let a = admit(&mut counters, "svc", &limits, &cx, &ask(0))
        .ok()
        .unwrap();
    settle(&mut counters, &limits, a, spend, at(1_000));
    let r = admit(&mut counters, "svc", &limits, &cx, &ask(30_000))
        .err()
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message,
        "Token quota is exceeded. Try again in 30 seconds."
    );
    assert!(r.headers.contains(&("Retry-After".into(), "30".into())));
    // 17:00:00, a minute after the first request: a new hour, a new quota.
    assert!(admit(&mut counters, "svc", &limits, &cx, &ask(60_000)).is_ok());
}
