//! Credentials and the bearer-token policy.
//!
//! azure_identity 1.x has no `DefaultAzureCredential`, so the chain is composed here, in
//! the order the contract gives: `AOAI_LB_ACCESS_TOKEN`, client secret, workload identity,
//! GitHub Actions OIDC, managed identity, Azure CLI. `-v` logs which one answered; when
//! none does, one error lists what was tried and how to fix each.
//!
//! azure_core's own bearer policy refuses plain http, which the emulator needs on
//! loopback; [`BearerPolicy`] allows http only for loopback endpoints (the endpoint is
//! checked when the client is built).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientMethodOptions, Context, Method, Request, Url};
use azure_core::time::OffsetDateTime;
use azure_identity::{
    AzureCliCredential, ClientAssertion, ClientAssertionCredential, ClientSecretCredential,
    ManagedIdentityCredential, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use crate::env;

/// The ARM token scope.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// A token given as is (`AOAI_LB_ACCESS_TOKEN`).
pub struct StaticToken(Secret);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl StaticToken {
    pub fn new(token: String) -> Arc<StaticToken> {
        Arc::new(StaticToken(Secret::new(token)))
    }
}

#[async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            self.0.secret().to_string(),
            OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

/// GitHub Actions OIDC: a client assertion fetched from `ACTIONS_ID_TOKEN_REQUEST_URL`
/// with audience `api://AzureADTokenExchange`.
pub struct GitHubOidcAssertion {
    request_url: String,
    request_token: Secret,
}

impl std::fmt::Debug for GitHubOidcAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubOidcAssertion")
            .field("request_url", &self.request_url)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ClientAssertion for GitHubOidcAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let sep = if self.request_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let url: Url = format!(
            "{}{sep}audience=api://AzureADTokenExchange",
            self.request_url
        )
        .parse()
        .map_err(|e| credential_error(format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}")))?;
        let mut request = Request::new(url, Method::Get);
        request.insert_header(
            "authorization",
            format!("Bearer {}", self.request_token.secret()),
        );
        request.insert_header("accept", "application/json");
        let client = azure_core::http::new_http_client(None);
        let response = client.execute_request(&request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?;
        if !status.is_success() {
            return Err(credential_error(format!(
                "GitHub's OIDC token endpoint answered {status}"
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            credential_error(format!("GitHub's OIDC token endpoint sent no JSON: {e}"))
        })?;
        v.get("value")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| credential_error("GitHub's OIDC token endpoint sent no `value`".into()))
    }
}

fn credential_error(message: String) -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
}

/// One link of the chain: its name, how to fix it, and the credential (None = not configured).
struct Source {
    name: &'static str,
    hint: &'static str,
    credential: Result<Arc<dyn TokenCredential>, String>,
    timeout: Duration,
}

/// The credential chain; remembers which source answered.
pub struct CredentialChain {
    sources: Vec<Source>,
    chosen: OnceLock<usize>,
}

impl std::fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name).collect();
        f.debug_struct("CredentialChain")
            .field("sources", &names)
            .finish()
    }
}

impl CredentialChain {
    /// The chain from the environment (see the module documentation).
    pub fn from_env() -> Arc<CredentialChain> {
        let mut sources = Vec::new();
        let long = Duration::from_secs(60);
        if let Some(token) = env::var(env::ACCESS_TOKEN) {
            sources.push(Source {
                name: "AOAI_LB_ACCESS_TOKEN",
                hint: "the token was refused or expired: get a fresh one (az account get-access-token --query accessToken -o tsv)",
                credential: Ok(StaticToken::new(token)),
                timeout: long,
            });
            // An explicit token is meant to be used alone.
            return Arc::new(CredentialChain {
                sources,
                chosen: OnceLock::new(),
            });
        }
        let client_id = env::var(env::AZURE_CLIENT_ID);
        let tenant_id = env::var(env::AZURE_TENANT_ID);
        sources.push(Source {
            name: "client secret (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)",
            hint: "set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal",
            credential: match (&client_id, &tenant_id, env::var(env::AZURE_CLIENT_SECRET)) {
                (Some(c), Some(t), Some(s)) => ClientSecretCredential::new(t, c.clone(), Secret::new(s), None)
                    .map(|c| c as Arc<dyn TokenCredential>)
                    .map_err(|e| e.to_string()),
                _ => Err("not configured".into()),
            },
            timeout: long,
        });
        sources.push(Source {
            name: "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            hint: "on AKS, enable workload identity for the pod (it sets AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID)",
            credential: match env::var(env::AZURE_FEDERATED_TOKEN_FILE) {
                Some(file) => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    client_id: client_id.clone(),
                    tenant_id: tenant_id.clone(),
                    token_file_path: Some(file.into()),
                    ..Default::default()
                }))
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
                None => Err("not configured".into()),
            },
            timeout: long,
        });
        sources.push(Source {
            name: "GitHub Actions OIDC (ACTIONS_ID_TOKEN_REQUEST_URL)",
            hint: "in GitHub Actions, grant `permissions: id-token: write` and set AZURE_CLIENT_ID and AZURE_TENANT_ID of an app with a federated credential for the repository",
            credential: match (
                env::var(env::ACTIONS_ID_TOKEN_REQUEST_URL),
                env::var(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
                &client_id,
                &tenant_id,
            ) {
                (Some(url), Some(token), Some(c), Some(t)) => ClientAssertionCredential::new(
                    t.clone(),
                    c.clone(),
                    GitHubOidcAssertion { request_url: url, request_token: Secret::new(token) },
                    None,
                )
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
                (Some(_), Some(_), _, _) => Err("AZURE_CLIENT_ID and AZURE_TENANT_ID are not set".into()),
                _ => Err("not configured".into()),
            },
            timeout: long,
        });
        // Managed identity: where an endpoint variable says it is served, or on a VM (IMDS,
        // probed briefly so a laptop does not wait).
        let mi_env =
            env::var(env::IDENTITY_ENDPOINT).is_some() || env::var(env::MSI_ENDPOINT).is_some();
        sources.push(Source {
            name: "managed identity",
            hint: "on an Azure VM, App Service or container, assign the resource a managed identity",
            credential: ManagedIdentityCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
            timeout: if mi_env { long } else { Duration::from_secs(1) },
        });
        sources.push(Source {
            name: "Azure CLI",
            hint: "run `az login` (and `az account set --subscription <id>`)",
            credential: AzureCliCredential::new(None)
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string()),
            timeout: long,
        });
        Arc::new(CredentialChain {
            sources,
            chosen: OnceLock::new(),
        })
    }

    /// A chain of one credential (tests, or a caller that knows what it wants).
    pub fn single(
        name: &'static str,
        credential: Arc<dyn TokenCredential>,
    ) -> Arc<CredentialChain> {
        Arc::new(CredentialChain {
            sources: vec![Source {
                name,
                hint: "",
                credential: Ok(credential),
                timeout: Duration::from_secs(60),
            }],
            chosen: OnceLock::new(),
        })
    }

    /// The name of the source that answered, once one has.
    pub fn chosen(&self) -> Option<&'static str> {
        self.chosen.get().map(|&i| self.sources[i].name)
    }
}

#[async_trait]
impl TokenCredential for CredentialChain {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(&i) = self.chosen.get() {
            let source = &self.sources[i];
            if let Ok(c) = &source.credential {
                return c.get_token(scopes, None).await.map_err(|e| {
                    credential_error(format!(
                        "{} stopped working: {e}; {}",
                        source.name, source.hint
                    ))
                });
            }
        }
        let mut tried = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            let credential = match &source.credential {
                Ok(c) => c,
                Err(why) => {
                    tried.push(format!("  - {}: {why}; {}", source.name, source.hint));
                    continue;
                }
            };
            match tokio::time::timeout(source.timeout, credential.get_token(scopes, None)).await {
                Ok(Ok(token)) => {
                    let _ = self.chosen.set(i);
                    tracing::info!("credential: {}", source.name);
                    return Ok(token);
                }
                Ok(Err(e)) => tried.push(format!(
                    "  - {}: {}; {}",
                    source.name,
                    first_line(&e.to_string()),
                    source.hint
                )),
                Err(_) => tried.push(format!(
                    "  - {}: no answer within {}s; {}",
                    source.name,
                    source.timeout.as_secs(),
                    source.hint
                )),
            }
        }
        Err(credential_error(format!(
            "no Azure credential worked. Tried, in order:\n{}\nOr set AOAI_LB_ACCESS_TOKEN to a bearer token for ARM.",
            tried.join("\n")
        )))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Adds `Authorization: Bearer` to every try, refreshing the token before it expires.
#[derive(Debug)]
pub struct BearerPolicy {
    credential: Arc<dyn TokenCredential>,
    cached: Mutex<Option<AccessToken>>,
}

impl BearerPolicy {
    pub fn new(credential: Arc<dyn TokenCredential>) -> BearerPolicy {
        BearerPolicy {
            credential,
            cached: Mutex::new(None),
        }
    }

    async fn token(&self) -> azure_core::Result<String> {
        let fresh_until = OffsetDateTime::now_utc() + azure_core::time::Duration::minutes(5);
        if let Some(t) = self.cached.lock().expect("token cache").as_ref()
            && t.expires_on > fresh_until
        {
            return Ok(t.token.secret().to_string());
        }
        let token = self.credential.get_token(&[ARM_SCOPE], None).await?;
        let value = token.token.secret().to_string();
        *self.cached.lock().expect("token cache") = Some(token);
        Ok(value)
    }
}

#[async_trait]
impl Policy for BearerPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let token = self.token().await?;
        request.insert_header("authorization", format!("Bearer {token}"));
        next[0].send(ctx, request, &next[1..]).await
    }
}
