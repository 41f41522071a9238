//! ARM's subscription token buckets (issue 14 item 5): the emulator models them when
//! `throttling.enabled` (remaining-quota headers on every reply, `429
//! SubscriptionRequestsThrottled` with Retry-After on an empty bucket), and the ARM
//! client paces itself by those headers so that it is not throttled: asserted on the
//! emulator's request log, never on time.

use std::path::Path;

use aoai_lb::arm::auth::{CredentialChain, StaticToken};
use aoai_lb::arm::{ArmClient, ArmClientOptions, PacingOptions};
use aoai_lb::core::ids::{self, api_version};
use aoai_lb::emulator::{Bucket, Config, SeedApim, SeedApimIdentity, Throttling};
use serde_json::Value;

use crate::emu::{Emu, seeded_for};
use crate::util::run;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// A service to read, and read buckets of `size` refilled `rate` per second.
fn config(size: u32, rate: f64) -> Config {
    let mut c = Config::default();
    c.seed.apim.push(SeedApim {
        name: "apim1".into(),
        resource_group: "rg-apim".into(),
        subscription: SUB.into(),
        location: "westus".into(),
        sku: "Developer".into(),
        identity: SeedApimIdentity::None,
    });
    c.throttling = Throttling {
        enabled: true,
        reads: Bucket {
            size,
            refill_per_second: rate,
        },
        ..Throttling::default()
    };
    c
}

fn service() -> String {
    ids::apim_service(SUB, "rg-apim", "apim1")
}

fn throttled(log: &[Value]) -> usize {
    log.iter().filter(|r| r["status"] == 429).count()
}

#[test]
fn an_empty_read_bucket_answers_429_subscription_requests_throttled_with_retry_after() {
    let emu = Emu::start(config(3, 1.0));
    let url = format!(
        "{}{}?api-version={}",
        emu.url(),
        service(),
        api_version::API_MANAGEMENT
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let answers: Vec<(u16, reqwest::header::HeaderMap, Value)> = rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..4 {
            let r = http.get(&url).bearer_auth("t").send().await.unwrap();
            let (status, headers) = (r.status().as_u16(), r.headers().clone());
            out.push((status, headers, r.json().await.unwrap_or(Value::Null)));
        }
        out
    });
    let remaining = |h: &reqwest::header::HeaderMap, name: &str| {
        h.get(name).map(|v| v.to_str().unwrap().to_string())
    };
    let counts: Vec<Option<String>> = answers
        .iter()
        .map(|(_, h, _)| remaining(h, "x-ms-ratelimit-remaining-subscription-reads"))
        .collect();
    assert_eq!(
        counts,
        [
            Some("2".into()),
            Some("1".into()),
            Some("0".into()),
            Some("0".into())
        ]
    );
    assert_eq!(
        remaining(
            &answers[0].1,
            "x-ms-ratelimit-remaining-subscription-global-reads"
        )
        .as_deref(),
        Some("44")
    );
    let (status, headers, body) = &answers[3];
    assert_eq!(*status, 429);
    assert_eq!(
        body["error"]["code"], "SubscriptionRequestsThrottled",
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "Number of 'read' requests for subscription '{SUB}' exceeded."
            )),
        "{body}"
    );
    assert_eq!(remaining(headers, "retry-after").as_deref(), Some("1"));
    // Writes are a bucket of their own, with their own header.
    let put = rt.block_on(async {
        http.put(format!(
            "{}{}?api-version={}",
            emu.url(),
            ids::resource_group(SUB, "rg-x"),
            api_version::RESOURCES
        ))
        .bearer_auth("t")
        .json(&serde_json::json!({"location": "westus"}))
        .send()
        .await
        .unwrap()
    });
    assert!(put.status().is_success());
    assert_eq!(
        remaining(
            put.headers(),
            "x-ms-ratelimit-remaining-subscription-writes"
        )
        .as_deref(),
        Some("199")
    );
}

#[test]
fn off_by_default_no_header_and_no_429() {
    let mut c = config(1, 1.0);
    c.throttling.enabled = false;
    let emu = Emu::start(c);
    for _ in 0..3 {
        assert_eq!(emu.get(&service(), api_version::API_MANAGEMENT).0, 200);
    }
    assert_eq!(throttled(&emu.requests()), 0);
}

fn client(emu: &Emu, pacing: PacingOptions) -> ArmClient {
    ArmClient::new(
        &emu.url(),
        CredentialChain::single("test", StaticToken::new("t".into())),
        ArmClientOptions {
            max_in_flight: 8,
            pacing,
            ..Default::default()
        },
    )
    .unwrap()
}

/// 60 reads of the service, 8 at a time, through `client`.
fn read_60(client: &ArmClient) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..60 {
            let c = client.clone();
            set.spawn(async move { c.get(&service(), api_version::API_MANAGEMENT).await });
        }
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap().unwrap().is_some());
        }
    });
}

#[test]
fn the_client_paces_itself_by_the_remaining_header_and_is_never_throttled() {
    // A bucket of 20 reads refilled 40/s: 60 reads empty it.
    let emu = Emu::start(config(20, 40.0));
    let pacing = PacingOptions {
        reads_per_second: 40.0,
        reserve: 2.0,
        ..Default::default()
    };
    read_60(&client(&emu, pacing));
    let log = emu.requests();
    assert_eq!(log.len(), 60, "one request per read");
    assert_eq!(throttled(&log), 0, "throttled although pacing");
}

#[test]
fn without_pacing_the_same_reads_are_throttled_and_still_complete_after_retry_after() {
    let emu = Emu::start(config(20, 40.0));
    let off = PacingOptions {
        enabled: false,
        ..Default::default()
    };
    read_60(&client(&emu, off));
    let log = emu.requests();
    assert!(
        throttled(&log) > 0,
        "the bucket never emptied: the test above proves nothing"
    );
    // Every 429 was followed by a wait of at least its Retry-After before the same
    // client retried: the total is the 60 reads plus one request per 429.
    assert_eq!(log.len(), 60 + throttled(&log));
}

fn cli(emu: &Emu, dir: &Path, args: &[&str]) -> crate::util::Run {
    run(emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", "0.01")
        .args(args)
        .arg(dir.join("plan.yaml")))
}

#[test]
fn an_apply_of_50_by_3_under_the_bucket_model_is_never_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, crate::read_counts::plan_of(50)).unwrap();
    let model = crate::util::load_example(&path);
    let mut config = seeded_for(&model);
    // ARM's documented buckets, in real time: reads 250 + 25/s, writes 200 + 10/s, for
    // an apply of over 300 writes. (That the pacing is what keeps a client under an
    // emptying bucket is shown by the two tests above, with and without it.)
    config.throttling.enabled = true;
    let emu = Emu::start(config);
    let started = std::time::Instant::now();
    let out = cli(&emu, dir.path(), &["apply", "--yes", "--parallelism", "20"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    eprintln!(
        "apply 50 x 3 under the buckets: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let log = emu.requests();
    let writes = log.iter().filter(|r| r["method"] != "GET").count();
    assert!(writes >= 300, "{writes} writes: not the 50 x 3 apply");
    assert_eq!(throttled(&log), 0, "throttled under the bucket model");
    let out = cli(&emu, dir.path(), &["plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    assert_eq!(throttled(&emu.requests()), 0);
}

/// Throttling off (the default): nothing is throttled, but every reply carries ARM's
/// remaining-quota headers, each saying a full bucket less the request's token.
#[test]
fn with_throttling_off_every_reply_still_carries_the_remaining_counts() {
    let mut c = config(3, 1.0);
    c.throttling = Throttling::default();
    let emu = Emu::start(c);
    let url = format!(
        "{}{}?api-version={}",
        emu.url(),
        service(),
        api_version::API_MANAGEMENT
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let replies: Vec<(u16, Option<String>, Option<String>)> = rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..300 {
            let r = http.get(&url).bearer_auth("t").send().await.unwrap();
            let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
            out.push((
                r.status().as_u16(),
                h("x-ms-ratelimit-remaining-subscription-reads"),
                h("x-ms-ratelimit-remaining-subscription-global-reads"),
            ));
        }
        out
    });
    // More reads than a bucket holds (250), none throttled, every count a full bucket's.
    for (status, own, global) in &replies {
        assert_eq!(*status, 200);
        assert_eq!(own.as_deref(), Some("249"));
        assert_eq!(global.as_deref(), Some("3749"));
    }
    let writes = rt.block_on(async {
        http.put(format!(
            "{}/subscriptions/{SUB}/resourceGroups/rg-y?api-version=2021-04-01",
            emu.url()
        ))
        .bearer_auth("t")
        .json(&serde_json::json!({"location": "westus"}))
        .send()
        .await
        .unwrap()
        .headers()
        .get("x-ms-ratelimit-remaining-subscription-writes")
        .map(|v| v.to_str().unwrap().to_string())
    });
    assert_eq!(writes.as_deref(), Some("199"));
}
