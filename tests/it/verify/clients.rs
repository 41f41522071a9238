//! Issue 15's acceptance, from the product's side: `examples/clients-token-limits.yaml`
//! applied with the binary makes one APIM subscription per client and a policy whose
//! token limits the emulator's gateway runs as APIM does: team-a (5000 tokens a minute)
//! gets 429 with Retry-After past its limit, team-b (no limit) never; a streamed answer
//! arrives as chunks and counts against the limit; the token metrics name each client's
//! tokens per deployment and backend.

use serde_json::{Value, json};

use super::{Http, apply, example, start};
use crate::emu::Emu;

/// The example's APIM service.
const SERVICE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb";

/// A prompt of 4000 characters: 1007 tokens as the emulator estimates it (1000 + 4 per
/// message + 3), 1010 with the 3 completion tokens `max_tokens` allows.
fn chat(stream: bool) -> Value {
    let mut body =
        json!({"messages": [{"role": "user", "content": "x".repeat(4000)}], "max_tokens": 3});
    if stream {
        body["stream"] = json!(true);
    }
    body
}

fn key(http: &Http, emu: &Emu, client: &str) -> String {
    let url = format!(
        "{}{SERVICE}/subscriptions/{client}/listSecrets?api-version=2024-05-01",
        emu.url()
    );
    let (status, _, v) = http.send(
        reqwest::Method::POST,
        &url,
        &[("authorization", "Bearer t")],
        None,
    );
    assert_eq!(status, 200, "{client}: {v}");
    v["primaryKey"].as_str().unwrap().to_string()
}

fn header<'h>(h: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn a_limited_client_is_throttled_while_an_unlimited_one_carries_on() {
    let plan = example("clients-token-limits.yaml");
    // A minute of Azure time is 100 real minutes: no window closes during the test.
    let emu = start(&plan, 15, 100.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let http = Http::new();
    let url = format!(
        "{}/gateway/apim-aoai-lb/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        emu.url()
    );
    let (a, b) = (key(&http, &emu, "team-a"), key(&http, &emu, "team-b"));
    let send = |key: &str, stream: bool| {
        http.send_text(
            reqwest::Method::POST,
            &url,
            &[("api-key", key)],
            Some(chat(stream)),
        )
    };

    // A streams first: the answer is an event stream in chunks, and its tokens count.
    let (status, h, body) = send(&a, true);
    assert_eq!(status, 200, "{body}");
    assert!(
        header(&h, "content-type")
            .unwrap()
            .starts_with("text/event-stream"),
        "{h:?}"
    );
    assert!(body.matches("data: ").count() > 2, "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert_eq!(header(&h, "remaining-tokens"), Some("3990"), "{h:?}");

    // Then A's plain requests: 5000 a minute hold four answers of 1010 tokens (the
    // stream among them); the fifth is APIM's 429 with Retry-After.
    let mut statuses = vec![status];
    let mut refused = None;
    for _ in 0..4 {
        let (status, h, body) = send(&a, false);
        statuses.push(status);
        if status == 429 {
            refused = Some((h, body));
            break;
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
    let (h, body) = refused.unwrap();
    let retry: u64 = header(&h, "retry-after").unwrap().parse().unwrap();
    assert!(retry > 0, "{h:?}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["statusCode"], 429, "{body}");

    // B has no limit: it carries on past what stopped A, and gets no limit headers.
    for _ in 0..8 {
        let (status, h, body) = send(&b, false);
        assert_eq!(status, 200, "{body}");
        assert!(header(&h, "remaining-tokens").is_none(), "{h:?}");
    }

    // The gateway's log: A's refusal reached no backend.
    let log = http.dataplane(&emu);
    let refusals: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["subscription"], "team-a");
    assert!(refusals[0]["attempts"].as_array().unwrap().is_empty());

    metrics_per_client_deployment_and_backend(&http, &emu);
}

/// Each answered request's tokens, with the client, the deployment and the backend
/// (each in one region) as dimensions: A's four, B's eight, over both backends.
fn metrics_per_client_deployment_and_backend(http: &Http, emu: &Emu) {
    let url = format!("{}/_emulator/metrics", emu.url());
    let token = emu.hook_token();
    let auth = [(aoai_lb::emulator::HOOK_TOKEN_HEADER, token.as_str())];
    let m = http.send(reqwest::Method::GET, &url, &auth, None).2;
    let records = m["records"].as_array().unwrap();
    let tokens = |client: &str| -> u64 {
        records
            .iter()
            .filter(|r| r["dimensions"]["Client"] == client)
            .map(|r| r["totalTokens"].as_u64().unwrap())
            .sum()
    };
    assert_eq!((tokens("team-a"), tokens("team-b")), (4 * 1010, 8 * 1010));
    let mut backends = std::collections::BTreeSet::new();
    for r in records {
        assert_eq!(r["namespace"], "aoai-lb", "{r}");
        assert_eq!(r["dimensions"]["Deployment"], "gpt-4o", "{r}");
        let backend = r["dimensions"]["Backend ID"].as_str().unwrap();
        assert_eq!(r["backend"], backend, "{r}");
        backends.insert(backend.to_string());
    }
    assert_eq!(
        backends.into_iter().collect::<Vec<_>>(),
        ["openai-eastus", "openai-westus"]
    );
}

/// `verify` on a plan with clients sends through each client's own key and reports the
/// tokens per client, deployment and backend from the answers' usage; the limited
/// client's limit holds (429 with Retry-After before it is passed), the unlimited one,
/// sending more, is never refused; the emulator's metrics agree token for token.
#[test]
fn verify_reports_each_clients_tokens_and_checks_its_limit() {
    let plan = example("clients-token-limits.yaml");
    let emu = start(&plan, 16, 100.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let (code, v, stderr) = super::verify_json(&emu, dir.path(), &plan, &["--requests", "12"]);
    assert_eq!(code, 0, "{v}\n{stderr}");
    assert_eq!(v["ok"], true, "{v}");
    let clients = v["clients"].as_array().unwrap();
    let by = |name: &str| clients.iter().find(|c| c["name"] == name).unwrap().clone();
    let (a, b, c) = (by("team-a"), by("team-b"), by("team-c"));
    assert_eq!(a["ok"], true, "{a}");
    let after = a["throttled"]["afterTokens"].as_u64().unwrap();
    assert!(after > 0 && after <= 5000, "{a}");
    assert!(a["throttled"]["retryAfter"].is_string(), "{a}");
    assert_eq!(b["ok"], true, "{b}");
    assert!(b["throttled"].is_null(), "{b}");
    assert!(
        b["tokens"].as_u64().unwrap() > 5000,
        "B sent more than A's limit: {b}"
    );
    assert_eq!(c["ok"], true, "{c}");
    assert_eq!(a["deployment"], "gpt-4o");

    // The emulator's metrics, per client and backend, agree with verify's report
    // (team-b also carried verify's 12 plain requests).
    let http = Http::new();
    let url = format!("{}/_emulator/metrics", emu.url());
    let token = emu.hook_token();
    let auth = [(aoai_lb::emulator::HOOK_TOKEN_HEADER, token.as_str())];
    let m = http.send(reqwest::Method::GET, &url, &auth, None).2;
    let sum = |client: &str| -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        for r in m["records"].as_array().unwrap() {
            if r["dimensions"]["Client"] == client {
                let backend = r["dimensions"]["Backend ID"].as_str().unwrap().to_string();
                *out.entry(backend).or_default() += r["totalTokens"].as_u64().unwrap();
            }
        }
        out
    };
    let reported = |c: &Value| -> std::collections::BTreeMap<String, u64> {
        serde_json::from_value(c["tokensByBackend"].clone()).unwrap()
    };
    assert_eq!(sum("team-a"), reported(&a));
    assert_eq!(sum("team-c"), reported(&c));
    let b_metrics = sum("team-b");
    for (backend, tokens) in reported(&b) {
        assert!(b_metrics[&backend] >= tokens, "{b_metrics:?} {b}");
    }
    let plain = b_metrics.values().sum::<u64>() - b["tokens"].as_u64().unwrap();
    assert!(
        plain > 0,
        "verify's plain requests went through team-b's key"
    );

    // In text, one line per client. Within the same minute team-a is refused at once:
    // its limit still holds (429 after 0 tokens), and team-b still carries on.
    let out = crate::util::run(
        emu.cli(dir.path())
            .arg("verify")
            .arg(&plan)
            .args(["--requests", "3"]),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Clients (each through its own key):"),
        "{}",
        out.stdout
    );
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(&format!(" {name} (")))
            .unwrap_or_else(|| panic!("no line for {name}: {}", out.stdout))
            .to_string()
    };
    assert!(
        line("team-a").contains("limit holds: 429 after 0 tokens of 5000/min"),
        "{}",
        out.stdout
    );
    assert!(
        line("team-b")
            .trim_start()
            .starts_with("ok  team-b (no per-minute limit)"),
        "{}",
        out.stdout
    );
    assert!(line("team-b").contains("never throttled"), "{}", out.stdout);
}
