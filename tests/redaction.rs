//! Logs at the highest verbosity hold no token and no key. A test binary of its own:
//! it installs a tracing subscriber, which must not race with other tests' threads.

#[path = "it/scripted.rs"]
mod scripted;

use std::sync::{Arc, Mutex};

use serde_json::json;

use scripted::{Scripted, TOKEN, client, fast_options, reply};

const ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1";
const V: &str = "2024-10-01";

#[test]
fn logs_at_the_highest_verbosity_hold_no_token_and_no_key() {
    use std::io::Write;
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Scripted::start(|method, _, _, _| match method {
            "POST" => reply(200, json!({ "primaryKey": "pk-0123456789abcdef", "secondaryKey": "sk-0123456789abcdef" })),
            _ => reply(200, json!({ "id": ID, "properties": { "provisioningState": "Succeeded" } })),
        })
        .await;
        let c = client(&server.url, fast_options());
        c.put(ID, V, &json!({ "properties": { "apiKey": "body-secret-value" } })).await.unwrap();
        let keys = c.post(&format!("{ID}/listSecrets"), V, None).await.unwrap();
        assert_eq!(keys["primaryKey"], "pk-0123456789abcdef", "the caller still gets the key");
    });
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("listSecrets"),
        "trace logs were not captured: {logs}"
    );
    for secret in [
        TOKEN,
        "pk-0123456789abcdef",
        "sk-0123456789abcdef",
        "body-secret-value",
    ] {
        assert!(!logs.contains(secret), "`{secret}` is in the logs:\n{logs}");
    }
    assert!(!logs.contains("Bearer"), "{logs}");
}
