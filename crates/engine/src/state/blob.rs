//! A state kept in an Azure Storage blob: its address, how requests to it are
//! authorized, and the Blob REST operations the state needs (Get Blob, Put Blob with an
//! ETag condition, Lease Blob, Set Blob Metadata, Snapshot Blob, Get Blob Properties).
//!
//! Thin code on reqwest rather than the `azure_storage_blob` crate: that crate (1.1, on
//! azure_core 1.x) authorizes with Entra ID or a SAS only, while account keys and the
//! storage emulator (Azurite) need Shared Key ([`super::shared_key`]), and the state
//! uses seven requests whose headers (If-Match, x-ms-lease-id, x-ms-meta-*) are the
//! whole point. Sources: learn.microsoft.com/rest/api/storageservices (Get Blob,
//! Put Blob, Lease Blob, Set Blob Metadata, Snapshot Blob, Get Blob Properties).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::credentials::{AccessToken, Secret, TokenCredential};
use azure_core::http::Url;
use base64::Engine;
use reqwest::Method;

use super::shared_key;

/// The Blob REST version sent; Azurite serves it (and `--skipApiVersionCheck` is not needed).
pub const API_VERSION: &str = "2021-12-02";
/// The Entra ID scope of Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
/// Prefix of the metadata names aoai-lb writes (metadata names are C# identifiers).
pub const META_PREFIX: &str = "aoailb_";

/// Where a state blob is: `https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB`, or
/// path-style for the storage emulator, `http://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobUrl {
    url: Url,
    pub account: String,
    pub container: String,
    pub blob: String,
}

impl BlobUrl {
    /// Parses a blob URL. Plain http only for loopback addresses; no query (a SAS goes
    /// in `AZURE_STORAGE_SAS_TOKEN`, so it is never printed with the URL).
    pub fn parse(text: &str) -> Result<BlobUrl, String> {
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let loopback = is_loopback(&host);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!(
                    "`{text}`: plain http is allowed only for a loopback address (the storage emulator); use https"
                ));
            }
            other => return Err(format!("`{text}`: scheme `{other}` is not http(s)")),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(
                "the state URL carries a query: give a SAS in AZURE_STORAGE_SAS_TOKEN instead, so it is never printed with the URL".into(),
            );
        }
        let segments: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
        // An IP address or localhost has no account in its name: path-style.
        let path_style = loopback || host.parse::<std::net::IpAddr>().is_ok();
        let (account, rest) = if path_style {
            match segments.split_first() {
                Some((a, rest)) => (a.to_string(), rest),
                None => (String::new(), &segments[..0]),
            }
        } else {
            (
                host.split('.').next().unwrap_or_default().to_string(),
                &segments[..],
            )
        };
        let shape = if path_style {
            "http://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB"
        } else {
            "https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB"
        };
        if account.is_empty() || rest.len() < 2 || rest.iter().any(|s| s.is_empty()) {
            return Err(format!("`{text}` is not a blob URL of the form {shape}"));
        }
        let container = rest[0].to_string();
        let valid_container = (3..=63).contains(&container.len())
            && container
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !container.starts_with('-');
        if !valid_container {
            return Err(format!(
                "`{text}`: `{container}` is not a container name (3-63 lower-case letters, digits and hyphens)"
            ));
        }
        Ok(BlobUrl {
            account,
            container,
            blob: rest[1..].join("/"),
            url,
        })
    }

    /// The URL's encoded path (for a path-style URL it starts with the account).
    fn path(&self) -> &str {
        self.url.path()
    }

    /// The container's URL, for messages.
    pub fn container_url(&self) -> String {
        let path = self.path();
        let end = path.len() - self.blob.len() - 1;
        format!(
            "{}{}",
            self.url.origin().ascii_serialization(),
            &path[..end]
        )
    }
}

impl fmt::Display for BlobUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How requests to the blob are authorized (a secret never reaches Debug or Display).
#[derive(Clone)]
pub enum BlobAuth {
    /// Shared Key with the account key (`AZURE_STORAGE_KEY`), base64-decoded.
    SharedKey(Arc<Vec<u8>>),
    /// A SAS token (`AZURE_STORAGE_SAS_TOKEN`), appended to every URL.
    Sas(Arc<Secret>),
    /// Entra ID: a bearer token for the storage scope from the credential chain.
    Entra(Arc<dyn TokenCredential>),
}

impl fmt::Debug for BlobAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlobAuth::SharedKey(_) => "SharedKey(<redacted>)",
            BlobAuth::Sas(_) => "Sas(<redacted>)",
            BlobAuth::Entra(_) => "Entra",
        })
    }
}

impl BlobAuth {
    /// An account key, as the portal and `az storage account keys list` give it (base64).
    pub fn shared_key(key: &str) -> Result<BlobAuth, String> {
        base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map(|k| BlobAuth::SharedKey(Arc::new(k)))
            .map_err(|_| "AZURE_STORAGE_KEY is not an account key (base64)".into())
    }

    pub fn sas(token: &str) -> BlobAuth {
        BlobAuth::Sas(Arc::new(Secret::new(
            token.trim().trim_start_matches('?').to_string(),
        )))
    }

    /// What the user would call it, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            BlobAuth::SharedKey(_) => "the account key in AZURE_STORAGE_KEY",
            BlobAuth::Sas(_) => "the SAS in AZURE_STORAGE_SAS_TOKEN",
            BlobAuth::Entra(_) => "Entra ID (the credential chain)",
        }
    }
}

/// What came back: status, headers, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The storage error code (`x-ms-error-code`, sent on every failure, HEAD included).
    pub fn code(&self) -> &str {
        self.header("x-ms-error-code").unwrap_or("")
    }

    pub fn etag(&self) -> Option<String> {
        self.header("etag").map(str::to_string)
    }

    /// `x-ms-lease-state`: available, leased, expired, breaking, broken.
    pub fn lease_state(&self) -> &str {
        self.header("x-ms-lease-state").unwrap_or("")
    }

    /// aoai-lb's metadata on the blob, names without the prefix.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let prefix = format!("x-ms-meta-{META_PREFIX}");
        self.headers
            .iter()
            .filter_map(|(n, v)| {
                let name = n.as_str().strip_prefix(&prefix)?;
                Some((name.to_string(), v.to_str().ok()?.to_string()))
            })
            .collect()
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reason in words: status, error code and the service's message.
    pub fn why(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let message = body
            .split_once("<Message>")
            .and_then(|(_, rest)| rest.split_once("</Message>"))
            .map(|(m, _)| m.lines().next().unwrap_or(m).trim().to_string());
        let message = message.or_else(|| {
            let text: String = body.trim().chars().take(200).collect();
            (!text.is_empty()).then_some(text)
        });
        match message {
            Some(m) => format!("HTTP {} {}: {m}", self.status, self.code()),
            None => format!("HTTP {} {}", self.status, self.code()),
        }
    }
}

/// One blob and the client that talks to it.
pub struct Blob {
    pub url: BlobUrl,
    auth: BlobAuth,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<AccessToken>>,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("url", &self.url.to_string())
            .field("auth", &self.auth)
            .finish()
    }
}

/// A request that got no reply (connection, TLS, timeout) or no credential.
#[derive(Debug)]
pub struct Unreached(pub String);

impl Blob {
    pub fn new(url: BlobUrl, auth: BlobAuth) -> Blob {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("the HTTP client builds");
        Blob {
            url,
            auth,
            http,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// A request to this blob's container (Create Container: `PUT ?restype=container`;
    /// List Blobs with snapshots: `GET ?restype=container&comp=list&include=snapshots`),
    /// for tests against the storage emulator. aoai-lb itself never creates a container
    /// (docs/ci.md says how, with the role the workflow needs).
    pub async fn send_to_container(
        &self,
        method: Method,
        query: &[(&str, &str)],
    ) -> Result<Reply, Unreached> {
        let container = Blob {
            url: BlobUrl {
                url: Url::parse(&self.url.container_url()).expect("a container URL parses"),
                ..self.url.clone()
            },
            auth: self.auth.clone(),
            http: self.http.clone(),
            token: tokio::sync::Mutex::new(None),
        };
        let body = (method == Method::PUT).then(Vec::new);
        container.send_once(&method, query, &[], body).await
    }

    /// Sends one request (GET and HEAD are retried twice after no reply or a 5xx).
    pub async fn send(
        &self,
        method: Method,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Unreached> {
        let idempotent = method == Method::GET || method == Method::HEAD;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.send_once(&method, query, headers, body.clone()).await;
            let again = match &sent {
                Ok(r) => r.status >= 500,
                Err(_) => true,
            };
            if !(idempotent && again && attempt < 3) {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Unreached> {
        let mut headers: Vec<(String, String)> = vec![
            ("x-ms-version".into(), API_VERSION.into()),
            (
                "x-ms-date".into(),
                httpdate::fmt_http_date(SystemTime::now()),
            ),
        ];
        headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.clone())));
        if let Some(b) = &body {
            headers.push(("content-length".into(), b.len().to_string()));
        }
        let mut url = self.url.url.clone();
        if !query.is_empty() {
            // (Only then: an empty `?` makes Azurite's router refuse a Put Blob.)
            let mut pairs = url.query_pairs_mut();
            for (n, v) in query {
                pairs.append_pair(n, v);
            }
        }
        match &self.auth {
            BlobAuth::SharedKey(key) => {
                let text = shared_key::string_to_sign(
                    method.as_str(),
                    &self.url.account,
                    self.url.path(),
                    query,
                    &headers,
                );
                let auth = shared_key::authorization(&self.url.account, key, &text);
                headers.push(("authorization".into(), auth));
            }
            BlobAuth::Sas(sas) => {
                let ours = url.query().unwrap_or_default().to_string();
                let sep = if ours.is_empty() { "" } else { "&" };
                url.set_query(Some(&format!("{ours}{sep}{}", sas.secret())));
            }
            BlobAuth::Entra(credential) => {
                let token = self.bearer(credential).await?;
                headers.push(("authorization".into(), format!("Bearer {token}")));
            }
        }
        let mut request = self.http.request(method.clone(), url);
        // Content-Length goes out even when zero: Azurite routes a Put Blob by it.
        for (n, v) in &headers {
            request = request.header(n, v);
        }
        if let Some(b) = body {
            request = request.body(b);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Unreached(without_url(e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| Unreached(without_url(e)))?;
        Ok(Reply {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    /// A bearer token for the storage scope, kept until five minutes before it expires.
    async fn bearer(&self, credential: &Arc<dyn TokenCredential>) -> Result<String, Unreached> {
        let mut cached = self.token.lock().await;
        let fresh = cached.as_ref().is_some_and(|t| {
            t.expires_on > azure_core::time::OffsetDateTime::now_utc() + Duration::from_secs(300)
        });
        if !fresh {
            let token = credential
                .get_token(&[STORAGE_SCOPE], None)
                .await
                .map_err(|e| Unreached(format!("no token for Azure Storage: {e}")))?;
            *cached = Some(token);
        }
        Ok(cached
            .as_ref()
            .map(|t| t.token.secret().to_string())
            .unwrap_or_default())
    }
}

/// reqwest's message names the URL, which may carry a SAS: say what failed without it.
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Metadata headers for aoai-lb's lock information (values made header-safe: printable
/// ASCII only).
pub fn metadata_headers(meta: &BTreeMap<String, String>) -> Vec<(String, String)> {
    meta.iter()
        .map(|(n, v)| {
            let safe: String = v
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            (format!("x-ms-meta-{META_PREFIX}{n}"), safe)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_and_emulator_urls_parse() {
        let a =
            BlobUrl::parse("https://acct.blob.core.windows.net/tfstate/team/prod.json").unwrap();
        assert_eq!(
            (a.account.as_str(), a.container.as_str(), a.blob.as_str()),
            ("acct", "tfstate", "team/prod.json")
        );
        assert_eq!(
            a.container_url(),
            "https://acct.blob.core.windows.net/tfstate"
        );
        let e = BlobUrl::parse("http://127.0.0.1:10000/devstoreaccount1/state/s.json").unwrap();
        assert_eq!(
            (e.account.as_str(), e.container.as_str(), e.blob.as_str()),
            ("devstoreaccount1", "state", "s.json")
        );
        assert_eq!(e.path(), "/devstoreaccount1/state/s.json");
    }

    #[test]
    fn bad_urls_are_refused_saying_why() {
        let refused = |u: &str| BlobUrl::parse(u).unwrap_err();
        assert!(refused("http://acct.blob.core.windows.net/c0n/b").contains("loopback"));
        assert!(
            refused("https://acct.blob.core.windows.net/c0n/b?sv=x&sig=y")
                .contains("AZURE_STORAGE_SAS_TOKEN")
        );
        assert!(
            refused("https://acct.blob.core.windows.net/onlycontainer").contains("CONTAINER/BLOB")
        );
        assert!(
            refused("https://acct.blob.core.windows.net/Bad_Name/b").contains("container name")
        );
        assert!(refused("ftp://x/y/z").contains("scheme"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let key = BlobAuth::shared_key("c2VjcmV0LWtleQ==").unwrap();
        assert_eq!(format!("{key:?}"), "SharedKey(<redacted>)");
        let sas = BlobAuth::sas("?sv=2021&sig=SECRET");
        assert!(!format!("{sas:?}").contains("SECRET"));
        assert!(BlobAuth::shared_key("not base64!").is_err());
    }
}
