//! A scripted ARM for tests of the ARM layer: it answers each request by a closure of
//! (method, path, n-th call of that method and path, base URL) and records when each
//! request arrived, so tests assert on timing without sleeping.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aoai_lb::arm::auth::{CredentialChain, StaticToken};
use aoai_lb::arm::{ArmClient, ArmClientOptions, LroOptions, RetryOptions};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One request as the scripted server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub at: Duration,
    pub authorization: Option<String>,
}

pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: vec![],
        body,
    }
}

impl Reply {
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Script = dyn Fn(&str, &str, usize, &str) -> Reply + Send + Sync;

/// A server that answers by script: `(method, path, n-th call of this method+path, base url)`.
pub struct Scripted {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub async fn start(
        script: impl Fn(&str, &str, usize, &str) -> Reply + Send + Sync + 'static,
    ) -> Scripted {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let start = Instant::now();
        let (seen2, base) = (seen.clone(), url.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, _body: Bytes| {
                let (seen, counts, script, base) =
                    (seen2.clone(), counts.clone(), script.clone(), base.clone());
                async move {
                    let path = uri.path().to_string();
                    let key = format!("{method} {path}");
                    let n = {
                        let mut c = counts.lock().unwrap();
                        let e = c.entry(key).or_insert(0);
                        *e += 1;
                        *e
                    };
                    seen.lock().unwrap().push(Seen {
                        method: method.to_string(),
                        path: path.clone(),
                        at: start.elapsed(),
                        authorization: headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string()),
                    });
                    let r = script(method.as_str(), &path, n, &base);
                    let mut response: Response =
                        (StatusCode::from_u16(r.status).unwrap(), r.body.to_string())
                            .into_response();
                    response
                        .headers_mut()
                        .insert("content-type", "application/json".parse().unwrap());
                    for (k, v) in r.headers {
                        response.headers_mut().insert(k, v.parse().unwrap());
                    }
                    response
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Scripted { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub const TOKEN: &str = "eyJ0eXAi.test-token-must-never-be-logged.sig";

pub fn fast_options() -> ArmClientOptions {
    ArmClientOptions {
        retry: RetryOptions {
            max_server_retries: 4,
            max_connection_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            conflict_window: Duration::from_secs(5),
            principal_window: Duration::from_millis(300),
        },
        lro: LroOptions {
            default_poll: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
        },
        max_in_flight: 4,
        ..Default::default()
    }
}

pub fn client(url: &str, options: ArmClientOptions) -> ArmClient {
    ArmClient::new(
        url,
        CredentialChain::single("test token", StaticToken::new(TOKEN.into())),
        options,
    )
    .unwrap()
}
