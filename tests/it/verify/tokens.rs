//! Token limits and token metrics in the emulator's gateway, as API Management runs
//! `llm-token-limit` and `llm-emit-token-metric`: on the seed lab applied with the binary,
//! clients with their own APIM subscriptions, one limited per minute, one unlimited, one
//! with a quota and one streaming; what each sees (status, Retry-After, APIM's body, the
//! remaining-token headers) and what `GET /_emulator/metrics` kept per client and backend.

use serde_json::{Value, json};

use super::{Http, apply, example, start};
use crate::emu::Emu;

const APIM_VERSION: &str = "2024-05-01";
const SERVICE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb";

/// The limits and metrics the test adds to the seed lab's inbound section: a per-minute
/// limit for team-a and team-d, a quota for team-c, nothing for team-b; every request's
/// tokens emitted with the client and the backend as dimensions.
const GOVERNANCE: &str = r#"
        <choose>
            <when condition="@(context.Subscription.Id == "team-a" || context.Subscription.Id == "team-d")">
                <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="300" estimate-prompt-tokens="true" remaining-tokens-header-name="x-remaining-tokens" tokens-consumed-header-name="x-tokens-consumed" />
            </when>
            <when condition="@(context.Subscription.Id == "team-c")">
                <llm-token-limit counter-key="@("quota-" + context.Subscription.Id)" token-quota="250" token-quota-period="Hourly" estimate-prompt-tokens="true" remaining-quota-tokens-header-name="x-remaining-quota" />
            </when>
        </choose>
        <llm-emit-token-metric namespace="aoai-lb">
            <dimension name="Client" value="@(context.Subscription.Name)" />
            <dimension name="Subscription ID" />
            <dimension name="Backend ID" />
        </llm-emit-token-metric>"#;

/// A prompt of 400 characters: 107 tokens as the emulator estimates it (100 + 4 per
/// message + 3), 110 with the 3 completion tokens `max_tokens` allows.
fn chat(stream: Option<bool>) -> Value {
    let mut body =
        json!({"messages": [{"role": "user", "content": "x".repeat(400)}], "max_tokens": 3});
    if let Some(usage) = stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": usage});
    }
    body
}

struct Clients<'a> {
    http: &'a Http,
    emu: &'a Emu,
    url: String,
}

impl Clients<'_> {
    /// A subscription to every API of the service, active, with its display name; its key.
    fn subscribe(&self, id: &str, display: &str) -> String {
        let sub = format!("{SERVICE}/subscriptions/{id}");
        let body =
            json!({"properties": {"scope": "/apis", "displayName": display, "state": "active"}});
        let (status, v) = self.emu.put(&sub, APIM_VERSION, body);
        assert!(status == 200 || status == 201, "{v}");
        let url = format!(
            "{}{sub}/listSecrets?api-version={APIM_VERSION}",
            self.emu.url()
        );
        let auth = [("authorization", "Bearer t")];
        let (_, _, keys) = self.http.send(reqwest::Method::POST, &url, &auth, None);
        keys["primaryKey"].as_str().unwrap().to_string()
    }

    fn send(&self, key: &str, body: Value) -> (u16, reqwest::header::HeaderMap, String) {
        self.http.send_text(
            reqwest::Method::POST,
            &self.url,
            &[("api-key", key)],
            Some(body),
        )
    }

    fn metrics(&self) -> Value {
        let url = format!("{}/_emulator/metrics", self.emu.url());
        let token = self.emu.hook_token();
        let auth = [(aoai_lb::emulator::HOOK_TOKEN_HEADER, token.as_str())];
        self.http.send(reqwest::Method::GET, &url, &auth, None).2
    }
}

fn header<'h>(h: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

/// The seed lab's policy (as sent) with `extra` after the inbound `<base />`.
fn add_to_inbound(emu: &Emu, extra: &str) -> (u16, Value) {
    let id = format!("{SERVICE}/apis/azure-openai-lb/policies/policy");
    let (status, current) = emu.get_raw(&format!("{id}?api-version={APIM_VERSION}&format=rawxml"));
    assert_eq!(status, 200, "{current}");
    let raw = current["properties"]["value"].as_str().unwrap();
    let at = raw.find("<inbound>").unwrap();
    let base = at + raw[at..].find("<base />").unwrap() + "<base />".len();
    let value = format!("{}{extra}{}", &raw[..base], &raw[base..]);
    emu.put(
        &id,
        APIM_VERSION,
        json!({"properties": {"format": "rawxml", "value": value}}),
    )
}

#[test]
fn token_limits_throttle_one_client_and_metrics_keep_every_clients_tokens() {
    let plan = example("two-regions.yaml");
    // A minute of Azure time is 100 real minutes: no window closes during the test.
    let emu = start(&plan, 11, 100.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let http = Http::new();
    let clients = Clients {
        http: &http,
        emu: &emu,
        url: format!(
            "{}/gateway/apim-aoai-lb/openai-lb/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
            emu.url()
        ),
    };
    policies_apim_would_refuse(&emu);
    let (status, v) = add_to_inbound(&emu, GOVERNANCE);
    assert_eq!(status, 200, "{v}");
    let a = clients.subscribe("team-a", "Team A");
    let b = clients.subscribe("team-b", "Team B");
    a_is_throttled_b_is_not(&clients, &a, &b);
    a_quota_is_spent(&clients);
    streams_count_against_the_limit(&clients);
    metrics_per_client_and_backend(&clients);
    metrics_reach_the_diagnostics_logger(&clients, &b);
}

/// With an Application Insights logger and the API's diagnostic with `metrics: true`,
/// each record names the logger its metric goes to.
fn metrics_reach_the_diagnostics_logger(c: &Clients, b: &str) {
    let logger = format!("{SERVICE}/loggers/appinsights");
    let body = json!({"properties": {"loggerType": "applicationInsights",
        "credentials": {"instrumentationKey": "00000000-1111-2222-3333-444444444444"}}});
    assert_eq!(c.emu.put(&logger, APIM_VERSION, body).0, 201);
    let diag = format!("{SERVICE}/apis/azure-openai-lb/diagnostics/applicationinsights");
    let body = json!({"properties": {"loggerId": "/loggers/appinsights", "metrics": true}});
    let (status, v) = c.emu.put(&diag, APIM_VERSION, body);
    assert_eq!(status, 201, "{v}");
    assert_eq!(c.send(b, chat(None)).0, 200);
    let m = c.metrics();
    let last = m["records"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["dimensions"]["Client"], "Team B");
    assert_eq!(
        last["loggerId"].as_str().unwrap().to_lowercase(),
        logger.to_lowercase()
    );
}

/// A period APIM does not know, a limit outside `inbound`: 400 ValidationError.
fn policies_apim_would_refuse(emu: &Emu) {
    let bad = r#"<llm-token-limit counter-key="k" token-quota="5" token-quota-period="Fortnightly" estimate-prompt-tokens="true" />"#;
    let (status, v) = add_to_inbound(emu, bad);
    assert_eq!(status, 400, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("llm-token-limit") && message.contains("Fortnightly"),
        "{message}"
    );
}

/// A: 110 tokens a request against 300 a minute: two answers (remaining 190, then 80),
/// then APIM's 429 with Retry-After. B, without a limit, is never throttled.
fn a_is_throttled_b_is_not(c: &Clients, a: &str, b: &str) {
    let mut remaining = Vec::new();
    for _ in 0..2 {
        let (status, h, body) = c.send(a, chat(None));
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&h, "x-tokens-consumed"), Some("110"));
        remaining.push(header(&h, "x-remaining-tokens").unwrap().to_string());
    }
    assert_eq!(remaining, ["190", "80"]);
    let (status, h, body) = c.send(a, chat(None));
    assert_eq!(status, 429, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["statusCode"], 429);
    let message = v["message"].as_str().unwrap();
    assert!(
        message.starts_with("Token limit is exceeded. Try again in ")
            && message.ends_with(" seconds."),
        "{message}"
    );
    let retry: u64 = header(&h, "retry-after").unwrap().parse().unwrap();
    assert!(retry > 0, "{h:?}");
    assert_eq!(header(&h, "x-remaining-tokens"), Some("0"));
    for _ in 0..5 {
        let (status, h, body) = c.send(b, chat(None));
        assert_eq!(status, 200, "{body}");
        assert!(header(&h, "x-remaining-tokens").is_none(), "{h:?}");
    }
    // The gateway's log: A's refusal reached no backend; every request names its client.
    let log = c.http.dataplane(c.emu);
    let by = |sub: &str| -> Vec<(u64, usize)> {
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["subscription"] == sub)
            .map(|r| {
                let tries = r["attempts"].as_array().unwrap().len();
                (r["status"].as_u64().unwrap(), tries)
            })
            .collect()
    };
    assert_eq!(by("team-a"), [(200, 1), (200, 1), (429, 0)]);
    assert_eq!(by("team-b"), [(200, 1); 5]);
}

/// C: a quota of 250 an hour: two answers, then 403 with APIM's quota message.
fn a_quota_is_spent(c: &Clients) {
    let key = c.subscribe("team-c", "Team C");
    let (status, h, _) = c.send(&key, chat(None));
    assert_eq!(status, 200);
    assert_eq!(header(&h, "x-remaining-quota"), Some("140"));
    assert_eq!(c.send(&key, chat(None)).0, 200);
    let (status, h, body) = c.send(&key, chat(None));
    assert_eq!(status, 403, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let message = v["message"].as_str().unwrap();
    assert!(
        message.starts_with("Token quota is exceeded. Try again in "),
        "{message}"
    );
    assert!(header(&h, "retry-after").is_some());
    assert_eq!(header(&h, "x-remaining-quota"), Some("0"));
}

/// D streams: the answers stay event streams, and count (estimated without a usage
/// chunk, from it with one), so the third is refused.
fn streams_count_against_the_limit(c: &Clients) {
    let key = c.subscribe("team-d", "Team D");
    for (usage, remaining) in [(false, "190"), (true, "80")] {
        let (status, h, body) = c.send(&key, chat(Some(usage)));
        assert_eq!(status, 200, "{body}");
        assert!(
            header(&h, "content-type")
                .unwrap()
                .starts_with("text/event-stream"),
            "{h:?}"
        );
        assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
        assert_eq!(header(&h, "x-remaining-tokens"), Some(remaining));
    }
    assert_eq!(c.send(&key, chat(Some(true))).0, 429);
}

/// Every answered request's tokens, with the client and the backend that answered;
/// refused requests emit nothing.
fn metrics_per_client_and_backend(c: &Clients) {
    let m = c.metrics();
    let records = m["records"].as_array().unwrap();
    let of = |client: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["dimensions"]["Client"] == client)
            .collect()
    };
    let count = |client: &str| of(client).len();
    assert_eq!(
        [
            count("Team A"),
            count("Team B"),
            count("Team C"),
            count("Team D")
        ],
        [2, 5, 2, 2]
    );
    for r in records {
        assert_eq!(r["namespace"], "aoai-lb");
        assert_eq!(r["totalTokens"], 110, "{r}");
        let backend = r["dimensions"]["Backend ID"].as_str().unwrap();
        assert!(backend.starts_with("openai-instance"), "{r}");
        assert_eq!(r["backend"], backend);
        assert!(r["loggerId"].is_null(), "no diagnostic yet: {r}");
    }
    assert_eq!(of("Team A")[0]["dimensions"]["Subscription ID"], "team-a");
    let estimated: Vec<bool> = of("Team D")
        .iter()
        .map(|r| r["estimated"].as_bool().unwrap())
        .collect();
    assert_eq!(estimated, [true, false]);
    // The sums per namespace and dimensions: B's five requests over both backends.
    let b_total: u64 = m["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dimensions"]["Client"] == "Team B")
        .map(|s| s["totalTokens"].as_u64().unwrap())
        .sum();
    assert_eq!(b_total, 550);
}
