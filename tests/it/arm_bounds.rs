//! The ARM layer against servers that misbehave below the level of ARM errors (raw TCP
//! on 127.0.0.1): one that trickles a byte a second, one that never answers, an endless
//! body, a body that is not JSON, a connection dropped after throttling. Each ends within
//! its deadline with an error that names the URL, and each retry is reported.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aoai_lb::arm::retry::{RetryEvent, RetryObserver};
use aoai_lb::arm::{ArmClientOptions, ArmError};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::scripted::{client, fast_options};

const ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1";
const V: &str = "2024-10-01";

/// What the server does with the n-th connection (1-based); one request per connection.
#[derive(Clone)]
pub enum Act {
    /// A whole response: status and body, `Connection: close`.
    Answer(u16, String),
    /// Headers, then one byte a second, forever.
    Trickle,
    /// Reads the request, says nothing, keeps the connection open.
    Silent,
    /// Headers without a length, then zeros until the client hangs up.
    Endless,
    /// Headers claiming this many bytes, then nothing.
    Claims(u64),
    /// Closes the connection without a response.
    Drop,
}

pub struct Raw {
    pub url: String,
    pub connections: Arc<AtomicUsize>,
}

pub async fn raw(script: impl Fn(usize, &str) -> Act + Send + Sync + 'static) -> Raw {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let (count, script) = (connections.clone(), Arc::new(script));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let script = script.clone();
            tokio::spawn(async move { serve(socket, n, &*script).await });
        }
    });
    Raw { url, connections }
}

async fn serve(
    mut socket: TcpStream,
    n: usize,
    script: &(dyn Fn(usize, &str) -> Act + Send + Sync),
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(k) => request.extend_from_slice(&buf[..k]),
        }
    }
    let text = String::from_utf8_lossy(&request).to_string();
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let head = |extra: &str| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}\r\n"
        )
    };
    match script(n, &path) {
        Act::Answer(status, body) => {
            let reason = if status < 300 { "OK" } else { "Error" };
            let text = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(text.as_bytes()).await;
        }
        Act::Trickle => {
            let _ = socket
                .write_all(head("content-length: 1000\r\n").as_bytes())
                .await;
            loop {
                if socket.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Act::Silent => {
            let _ = socket.read(&mut buf).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Act::Endless => {
            let _ = socket.write_all(head("").as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            while socket.write_all(&chunk).await.is_ok() {}
        }
        Act::Claims(n) => {
            let _ = socket
                .write_all(head(&format!("content-length: {n}\r\n")).as_bytes())
                .await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Act::Drop => {}
    }
    let _ = socket.shutdown().await;
}

/// Retries as the progress view would show them.
#[derive(Default)]
struct Heard(Mutex<Vec<String>>);

impl RetryObserver for Heard {
    fn retrying(&self, event: &RetryEvent) {
        self.0.lock().unwrap().push(event.to_string());
    }
}

fn short_deadline() -> ArmClientOptions {
    ArmClientOptions {
        request_timeout: Duration::from_millis(400),
        ..fast_options()
    }
}

#[tokio::test]
async fn a_server_that_trickles_a_byte_a_second_is_cut_at_the_request_deadline() {
    let server = raw(|_, _| Act::Trickle).await;
    let c = client(&server.url, short_deadline());
    let heard = Arc::new(Heard::default());
    c.observe_retries(heard.clone());
    let err = c.get(ID, V).await.unwrap_err();
    assert!(matches!(err, ArmError::Deadline { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("GET {}{ID}", server.url))
            && text.contains("no complete response from ARM within 0.4s"),
        "{text}"
    );
    // Each try is cut, and retried within the transport budget (1 + 2).
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    let heard = heard.0.lock().unwrap().clone();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        heard[0].starts_with("retrying GET …/accounts/a1 in ")
            && heard[0].contains("no response: no complete response within 0.4s (1/2)"),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_silent_server_ends_at_the_deadline_and_every_retry_is_reported() {
    let server = raw(|_, _| Act::Silent).await;
    let c = client(&server.url, short_deadline());
    let heard = Arc::new(Heard::default());
    c.observe_retries(heard.clone());
    let err = c.get(ID, V).await.unwrap_err();
    assert!(matches!(err, ArmError::Deadline { .. }), "{err}");
    assert!(err.to_string().contains(&server.url), "{err}");
    assert_eq!(heard.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_size_cap_and_not_retried() {
    let server = raw(|_, _| Act::Endless).await;
    let options = ArmClientOptions {
        max_response_bytes: 1024 * 1024,
        ..fast_options()
    };
    let c = client(&server.url, options);
    let err = c.get(ID, V).await.unwrap_err();
    assert!(
        matches!(err, ArmError::TooLarge { limit: 1048576, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("GET {}{ID}", server.url))
            && text.contains("larger than 1048576 bytes"),
        "{text}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_that_claims_eight_gigabytes_is_refused_before_reading() {
    let server = raw(|_, _| Act::Claims(8 * 1024 * 1024 * 1024)).await;
    let c = client(&server.url, ArmClientOptions::default());
    let err = c.get(ID, V).await.unwrap_err();
    assert!(
        matches!(err, ArmError::TooLarge { limit, .. } if limit == 32 * 1024 * 1024),
        "{err}"
    );
}

#[tokio::test]
async fn a_success_whose_body_is_not_json_is_reported_as_invalid_json() {
    let server = raw(|_, _| Act::Answer(200, "{\"id\": \"/subscriptions/x\", oops".into())).await;
    let c = client(&server.url, fast_options());
    let err = c.get(ID, V).await.unwrap_err();
    assert!(
        matches!(err, ArmError::InvalidJson { status: 200, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "invalid JSON from ARM for GET {}{ID}: ",
            server.url
        )),
        "{text}"
    );
    // The parser's own error is the source.
    let source = std::error::Error::source(&err).expect("a source");
    assert!(source.to_string().contains("line 1"), "{source}");
}

#[tokio::test]
async fn a_request_throttled_three_times_survives_a_dropped_connection() {
    let throttled =
        json!({ "error": { "code": "TooManyRequests", "message": "slow down" } }).to_string();
    let ok = json!({ "id": ID, "properties": { "provisioningState": "Succeeded" } }).to_string();
    let server = raw(move |n, _| match n {
        1..=3 => Act::Answer(429, throttled.clone()),
        4 => Act::Drop,
        5 => Act::Answer(503, "{}".into()),
        _ => Act::Answer(200, ok.clone()),
    })
    .await;
    // Budgets of 1 for server errors and dropped connections: throttling spends neither.
    let mut options = fast_options();
    options.retry.max_server_retries = 1;
    options.retry.max_connection_retries = 1;
    let c = client(&server.url, options);
    let heard = Arc::new(Heard::default());
    c.observe_retries(heard.clone());
    let body = c.get(ID, V).await.unwrap().expect("found");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(c.counts().retries, 5);
    let heard = heard.0.lock().unwrap().clone();
    assert!(heard[2].contains("429 throttled (3/…)"), "{heard:?}");
    assert!(
        heard[3].contains("no response") && heard[3].ends_with("(1/1)"),
        "{heard:?}"
    );
    assert!(heard[4].contains("503 server error (1/1)"), "{heard:?}");
}

#[tokio::test]
async fn throttling_is_waited_out_only_until_the_operation_deadline() {
    let throttled =
        json!({ "error": { "code": "TooManyRequests", "message": "slow down" } }).to_string();
    let server = raw(move |_, _| Act::Answer(429, throttled.clone())).await;
    let mut options = fast_options();
    options.lro.timeout = Duration::from_millis(600);
    let c = client(&server.url, options);
    let err = c.get(ID, V).await.unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");
    assert_eq!(err.code(), Some("TooManyRequests"));
    // More than the server-error budget (4) of tries: throttling has its own.
    assert!(server.connections.load(Ordering::SeqCst) > 5);
}
