//! The local ARM emulator, as ARM's clients observe it: status codes, headers, bodies, the
//! request log and the final state. Every test starts its own emulator in-process on a
//! free 127.0.0.1 port; nothing sleeps to wait for work (the `instant` profile finishes an
//! operation at its first poll, and timing is asserted on the request log).

mod catalog;
mod examples;
mod faults;
mod immutable;
mod insights;
mod limits;
mod protocol;
mod resources;
mod roles_and_apim;
mod versions;
mod workspaces;

use aoai_lb::emulator::{self, Config, Running, SeedApim, SeedApimIdentity, SeedIdentity};
use reqwest::Method;
use serde_json::Value;

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const COG: &str = "2024-10-01";
pub const APIM: &str = "2024-05-01";
pub const RES: &str = "2021-04-01";
pub const AUTH: &str = "2022-04-01";
pub const MSI: &str = "2023-01-31";

pub fn rg_path(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}")
}

pub fn account_path(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.CognitiveServices/accounts/{name}",
        rg_path(rg)
    )
}

pub fn service_path(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.ApiManagement/service/{name}",
        rg_path(rg)
    )
}

/// A config with API Management services seeded (`name@rg` in the default subscription).
pub fn with_apim(services: &[(&str, &str)]) -> Config {
    let mut c = Config::default();
    for (name, rg) in services {
        c.seed.apim.push(SeedApim {
            name: name.to_string(),
            resource_group: rg.to_string(),
            subscription: SUB.into(),
            location: "westus".into(),
            sku: "Developer".into(),
            identity: SeedApimIdentity::None,
        });
    }
    c
}

pub fn seed_identity(c: &mut Config, name: &str, rg: &str) {
    c.seed.user_assigned_identities.push(SeedIdentity {
        name: name.into(),
        resource_group: rg.into(),
        subscription: SUB.into(),
        location: "westus".into(),
        principal_id: None,
        client_id: None,
    });
}

/// One answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Asserts an ARM error with this status and code; returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(
            self.body["error"]["details"].is_array(),
            "ARM error bodies carry details: {}",
            self.body
        );
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// An emulator and an HTTP client for it.
pub struct Arm {
    pub running: Running,
    pub url: String,
    pub http: reqwest::Client,
}

impl Arm {
    pub async fn start(config: Config) -> Arm {
        let running = emulator::start(config, 0)
            .await
            .expect("the emulator starts");
        Arm {
            url: running.url(),
            running,
            http: reqwest::Client::new(),
        }
    }

    /// Sends `method` to `path_and_query` (or an absolute URL) with a bearer token.
    pub async fn send(&self, method: Method, target: &str, body: Option<&Value>) -> Resp {
        self.try_send(method, target, body, true)
            .await
            .expect("the emulator answers")
    }

    pub async fn try_send(
        &self,
        method: Method,
        target: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> reqwest::Result<Resp> {
        let url = if target.starts_with("http") {
            target.to_string()
        } else {
            format!("{}{target}", self.url)
        };
        let mut req = self.http.request(method, url);
        if auth {
            req = req.bearer_auth("anything");
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::answer(req).await
    }

    /// Sends a prepared request and reads the answer.
    pub async fn answer(req: reqwest::RequestBuilder) -> reqwest::Result<Resp> {
        let r = req.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    fn with_version(path: &str, api: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version={api}")
    }

    pub async fn put(&self, path: &str, api: &str, body: &Value) -> Resp {
        self.send(Method::PUT, &Self::with_version(path, api), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, api: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, &Self::with_version(path, api), Some(body))
            .await
    }

    pub async fn get(&self, path: &str, api: &str) -> Resp {
        self.send(Method::GET, &Self::with_version(path, api), None)
            .await
    }

    pub async fn delete(&self, path: &str, api: &str) -> Resp {
        self.send(Method::DELETE, &Self::with_version(path, api), None)
            .await
    }

    pub async fn post(&self, path: &str, api: &str) -> Resp {
        self.send(Method::POST, &Self::with_version(path, api), None)
            .await
    }

    /// Follows an operation to its end (`Azure-AsyncOperation` if given, else `Location`)
    /// and returns the last poll's answer. Under `instant` the first poll ends it.
    pub async fn wait(&self, started: &Resp) -> Resp {
        let (url, status_url) = match (
            started.header("azure-asyncoperation"),
            started.header("location"),
        ) {
            (Some(u), _) => (u.to_string(), true),
            (None, Some(u)) => (u.to_string(), false),
            _ => panic!("not a long-running operation: {started:?}"),
        };
        for _ in 0..50 {
            let r = self.send(Method::GET, &url, None).await;
            // Any status but a terminal one is running (`InProgress`, `Creating`, ...).
            let running = if status_url {
                !matches!(
                    r.body["status"].as_str(),
                    Some("Succeeded" | "Failed" | "Canceled") | None
                )
            } else {
                r.status == 202
            };
            if !running {
                return r;
            }
            let ms: u64 = r
                .header("retry-after-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        panic!("the operation at {url} did not end");
    }

    /// PUT, expect 200/201, wait for the operation if any; returns the PUT's answer.
    pub async fn create(&self, path: &str, api: &str, body: &Value) -> Resp {
        let r = self.put(path, api, body).await;
        assert!(
            r.status == 200 || r.status == 201,
            "PUT {path}: {} {}",
            r.status,
            r.body
        );
        if r.header("azure-asyncoperation").is_some() || r.header("location").is_some() {
            let end = self.wait(&r).await;
            assert!(
                end.body["status"] == "Succeeded" || end.status == 200,
                "{path}: {}",
                end.body
            );
        }
        r
    }

    /// A test hook, with this run's hook token.
    pub async fn hook(&self, method: Method, hook: &str, body: Option<&Value>) -> Resp {
        let token = self.running.hook_token();
        self.hook_with(method, hook, body, Some(token)).await
    }

    /// A test hook with the given token header (or none).
    pub async fn hook_with(
        &self,
        method: Method,
        hook: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}/_emulator/{hook}", self.url));
        if let Some(t) = token {
            req = req.header(emulator::HOOK_TOKEN_HEADER, t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::answer(req).await.expect("the hook answers")
    }

    pub async fn log(&self) -> Vec<Value> {
        let r = self.hook(Method::GET, "requests", None).await;
        r.body.as_array().cloned().unwrap_or_default()
    }

    pub async fn state(&self) -> Vec<Value> {
        let r = self.hook(Method::GET, "state", None).await;
        r.body.as_array().cloned().unwrap_or_default()
    }

    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// Creates a resource group and an OpenAI account in it, and waits for the account.
pub async fn account(arm: &Arm, rg: &str, name: &str, location: &str) {
    arm.create(
        &rg_path(rg),
        RES,
        &serde_json::json!({"location": location}),
    )
    .await;
    arm.create(
        &account_path(rg, name),
        COG,
        &serde_json::json!({
            "kind": "OpenAI", "sku": {"name": "S0"}, "location": location,
            "properties": {"customSubDomainName": name, "publicNetworkAccess": "Enabled"}
        }),
    )
    .await;
}

/// A small OpenAPI 3 document, as `openapi+json` sends it.
pub fn openapi_json(server: &str) -> String {
    serde_json::json!({
        "openapi": "3.0.1",
        "info": {"title": "Azure OpenAI", "version": "2024-02-01"},
        "servers": [{"url": "https://{endpoint}/openai", "variables": {"endpoint": {"default": server}}}],
        "paths": {"/deployments/{deployment-id}/chat/completions": {"post": {"operationId": "ChatCompletions_Create", "responses": {"200": {"description": "OK"}}}}}
    })
    .to_string()
}

/// Asserts that `actual` has every member `expected` has, with the same structure and
/// JSON types (values may differ: ids, etags and principals are generated). `null` in
/// `expected` only asks for the member.
#[track_caller]
pub fn assert_shape(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(got) = a.get(k) else {
                    panic!("{at}/{k} is missing; got {actual}");
                };
                assert_shape(v, got, &format!("{at}/{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{at}: array length; got {actual}");
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                assert_shape(x, y, &format!("{at}/{i}"));
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("{at}: expected {expected}, got {actual}"),
    }
}
