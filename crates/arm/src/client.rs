//! The ARM client: one azure_core pipeline (our retry policy per call; counting,
//! logging and bearer auth per try), typed errors, and the verbs the engine uses.
//! It knows nothing of plans: it sends what it is given and waits for what ARM says.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use azure_core::http::policies::Policy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineStreamOptions, Request,
    RetryOptions as CoreRetry, Url,
};
use serde_json::Value;

use super::auth::BearerPolicy;
use super::bound::{Bound, BoundPolicy, OperationDeadline};
use super::error::{ArmError, EndpointError, PollUrlError};
use super::lro::{self, LroOptions};
use super::observe::ObservePolicy;
use super::pace::{PacePolicy, PacingOptions};
use super::retry::{ObserverSlot, RetryObserver, RetryOptions, RetryPolicy};
use super::stats::{Counts, RequestClass, Stats};

/// The error of a request that got no usable response.
fn pipeline_error(e: azure_core::Error, method: &Method, url: &Url, resource: &str) -> ArmError {
    let shown_url = || {
        let mut u = url.clone();
        u.set_query(None);
        u.to_string()
    };
    match e.downcast_ref::<Bound>() {
        _ if matches!(e.kind(), azure_core::error::ErrorKind::Credential) => {
            ArmError::Credential(e.to_string())
        }
        Some(Bound::Deadline(after)) => ArmError::Deadline {
            method: method.to_string(),
            url: shown_url(),
            after: *after,
        },
        Some(Bound::TooLarge(limit)) => ArmError::TooLarge {
            method: method.to_string(),
            url: shown_url(),
            limit: *limit,
        },
        None => ArmError::Transport {
            method: method.to_string(),
            resource: resource.to_string(),
            message: error_chain(&e),
            source: Some(Arc::new(e)),
        },
    }
}

/// `(code, message)` of an ARM error body; empty strings when it has none.
pub fn error_code(bytes: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let err = v.get("error").unwrap_or(&v);
    let s = |k: &str| {
        err.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("code"), s("message"))
}

/// An error and its sources, joined: "failed to execute request: connection refused".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[derive(Clone, Debug)]
pub struct ArmClientOptions {
    pub retry: RetryOptions,
    /// Poll interval, and `lro.timeout`: the per-operation deadline (retries and
    /// long-running operation included).
    pub lro: LroOptions,
    /// Longest one try may take, the body read included.
    pub request_timeout: Duration,
    /// Largest response body read (a larger one is an error, and is not read further).
    pub max_response_bytes: u64,
    /// Waiting before ARM's per-subscription request buckets run dry (pace.rs).
    pub pacing: PacingOptions,
    /// Most requests in flight at once (a long-running operation waiting between polls
    /// holds none, so it never starves quick work).
    pub max_in_flight: usize,
    /// Multiplies aoai-lb's own waits (backoff steps, the poll interval used when ARM
    /// sends no Retry-After), never a Retry-After ARM sends: 1.0 in use, small in tests
    /// so they do not sleep for real.
    pub delay_scale: f64,
}

impl ArmClientOptions {
    /// These options with aoai-lb's own waits multiplied by `delay_scale`.
    fn scaled(mut self) -> ArmClientOptions {
        let f = if self.delay_scale.is_finite() && self.delay_scale >= 0.0 {
            self.delay_scale
        } else {
            1.0
        };
        self.retry.base_delay = self.retry.base_delay.mul_f64(f);
        self.retry.max_delay = self.retry.max_delay.mul_f64(f);
        self.lro.default_poll = self.lro.default_poll.mul_f64(f);
        self.delay_scale = 1.0;
        self
    }
}

impl Default for ArmClientOptions {
    fn default() -> Self {
        ArmClientOptions {
            retry: RetryOptions::default(),
            lro: LroOptions::default(),
            max_in_flight: 10,
            pacing: PacingOptions::default(),
            delay_scale: 1.0,
            request_timeout: Duration::from_secs(60),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A response: status, the headers the protocol needs, and the JSON body (Null if none).
#[derive(Clone, Debug)]
pub struct ArmResponse {
    pub status: u16,
    pub azure_async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
    /// The `Date` header: the server's clock (HTTP-date).
    pub date: Option<String>,
    pub body: Value,
}

impl ArmResponse {
    /// `properties.provisioningState`, when the body has one.
    pub fn provisioning_state(&self) -> Option<&str> {
        self.body
            .pointer("/properties/provisioningState")
            .and_then(Value::as_str)
    }
}

#[derive(Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    endpoint: Url,
    stats: Arc<Stats>,
    options: ArmClientOptions,
    in_flight: Arc<tokio::sync::Semaphore>,
    observer: ObserverSlot,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl ArmClient {
    /// A client for `endpoint` (https, or http on a loopback address: the caller has
    /// checked it with `cli::check_arm_endpoint`).
    pub fn new(
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
        options: ArmClientOptions,
    ) -> Result<ArmClient, EndpointError> {
        let options = options.scaled();
        let endpoint: Url = endpoint.parse().map_err(|source| EndpointError {
            endpoint: endpoint.to_string(),
            source,
        })?;
        let stats = Arc::new(Stats::default());
        let observer: ObserverSlot = Arc::new(RwLock::new(None));
        let per_call: Vec<Arc<dyn Policy>> = vec![Arc::new(RetryPolicy::new(
            options.retry.clone(),
            stats.clone(),
            observer.clone(),
        ))];
        let per_try: Vec<Arc<dyn Policy>> = vec![
            Arc::new(PacePolicy::new(options.pacing.clone())),
            Arc::new(ObservePolicy::new(stats.clone())),
            Arc::new(BearerPolicy::new(credential)),
            Arc::new(BoundPolicy {
                request_timeout: options.request_timeout,
                max_response_bytes: options.max_response_bytes,
            }),
        ];
        let client_options = ClientOptions {
            retry: CoreRetry::none(),
            ..Default::default()
        };
        let pipeline = Pipeline::new(
            Some("aoai-lb"),
            Some(env!("CARGO_PKG_VERSION")),
            client_options,
            per_call,
            per_try,
            None,
        );
        let in_flight = Arc::new(tokio::sync::Semaphore::new(options.max_in_flight.max(1)));
        Ok(ArmClient {
            pipeline,
            endpoint,
            stats,
            options,
            in_flight,
            observer,
        })
    }

    /// Sends every retry to `observer` from now on (instead of the log).
    pub fn observe_retries(&self, observer: Arc<dyn RetryObserver>) {
        *self.observer.write().expect("observer slot") = Some(observer);
    }

    pub fn counts(&self) -> Counts {
        self.stats.counts()
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub fn lro_options(&self) -> &LroOptions {
        &self.options.lro
    }

    /// `{endpoint}{path}?api-version={v}`.
    pub fn url(&self, path: &str, api_version: &str) -> Result<Url, ArmError> {
        let mut url = self.endpoint.clone();
        url.set_path(path);
        url.query_pairs_mut()
            .clear()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// Sends one request (retries included, within the per-operation deadline) and
    /// returns whatever ARM answered.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        class: RequestClass,
        resource: &str,
    ) -> Result<ArmResponse, ArmError> {
        let deadline = Instant::now() + self.options.lro.timeout;
        self.send_until(method, url, body, class, resource, deadline)
            .await
    }

    /// [`ArmClient::send`], retrying no later than `deadline` (a long-running
    /// operation's polls share the operation's deadline).
    pub async fn send_until(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        class: RequestClass,
        resource: &str,
        deadline: Instant,
    ) -> Result<ArmResponse, ArmError> {
        let mut request = Request::new(url.clone(), method);
        request.insert_header("accept", "application/json");
        if let Some(b) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(serde_json::to_vec(b).expect("a JSON value serializes"));
        }
        let ctx = Context::new()
            .with_value(class)
            .with_value(OperationDeadline(deadline));
        // Streamed, not `send`: the pipeline's `send` buffers the whole body before any
        // policy sees it; here the bound policy reads it, within the deadline and the cap.
        let options = PipelineStreamOptions {
            skip_checks: true,
            ..Default::default()
        };
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the request semaphore is never closed");
        let failed = |e| match pipeline_error(e, &method, &url, resource) {
            // Cut by the operation's deadline, not the request's: the operation timed out.
            ArmError::Deadline { after, .. } if after < self.options.request_timeout => {
                ArmError::Timeout {
                    method: method.to_string(),
                    resource: resource.to_string(),
                    after: self.options.lro.timeout,
                }
            }
            other => other,
        };
        let response = self
            .pipeline
            .stream(&ctx, &mut request, Some(options))
            .await
            .map_err(failed)?;
        let status = u16::from(response.status());
        let (azure_async_operation, location, retry_after, date) = {
            let header = |name: &'static str| {
                response
                    .headers()
                    .get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
                    .map(str::to_string)
            };
            (
                header("azure-asyncoperation"),
                header("location"),
                super::retry::retry_after(response.headers()),
                header("date"),
            )
        };
        let bytes = response.into_body().collect().await.map_err(failed)?;
        let shown_url = || {
            let mut u = url.clone();
            u.set_query(None);
            u.to_string()
        };
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                // An error status with a body that is not ARM's JSON still reports the
                // status; a success whose body is not JSON is an error of its own, never
                // read as "nothing there".
                Err(_) if !(200..300).contains(&status) => Value::Null,
                Err(e) => {
                    return Err(ArmError::InvalidJson {
                        method: method.to_string(),
                        url: shown_url(),
                        status,
                        source: Arc::new(e),
                    });
                }
            }
        };
        Ok(ArmResponse {
            status,
            azure_async_operation,
            location,
            retry_after,
            date,
            body,
        })
    }

    /// An error from a non-success response.
    pub fn api_error(method: &Method, resource: &str, response: &ArmResponse) -> ArmError {
        let err = response.body.get("error").unwrap_or(&response.body);
        let s = |k: &str| {
            err.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (mut code, mut message) = (s("code"), s("message"));
        if code.is_empty() {
            code = format!("Http{}", response.status);
        }
        if message.is_empty() {
            message = "(no message)".into();
        }
        ArmError::Api {
            method: method.to_string(),
            resource: resource.to_string(),
            status: response.status,
            code,
            message,
        }
    }

    /// GET a resource; `None` when it does not exist (404).
    pub async fn get(&self, id: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
        let url = self.url(id, api_version)?;
        let r = self
            .send(Method::Get, url, None, RequestClass::Read, id)
            .await?;
        match r.status {
            200 => self.found(id, api_version, r).map(Some),
            404 => Ok(None),
            _ => Err(Self::api_error(&Method::Get, id, &r)),
        }
    }

    /// GET a resource, waiting while an operation still runs on it (its
    /// provisioningState is `Creating`, `Accepted`, `Updating`...); `None` when it does
    /// not exist (404).
    pub async fn get_settled(
        &self,
        id: &str,
        api_version: &str,
    ) -> Result<Option<Value>, ArmError> {
        lro::settle(self, id, api_version).await
    }

    /// The body of a `200` to a GET: a resource, never nothing (an empty body is invalid
    /// JSON, not a resource with no fields).
    pub(crate) fn found(
        &self,
        id: &str,
        api_version: &str,
        r: ArmResponse,
    ) -> Result<Value, ArmError> {
        if !r.body.is_null() {
            return Ok(r.body);
        }
        let empty = serde_json::from_slice::<Value>(b"").expect_err("empty is not JSON");
        let mut url = self.url(id, api_version)?;
        url.set_query(None);
        Err(ArmError::InvalidJson {
            method: Method::Get.to_string(),
            url: url.to_string(),
            status: r.status,
            source: Arc::new(empty),
        })
    }

    /// PUT (create or replace) and wait until ARM says it is done; returns the resource.
    pub async fn put(&self, id: &str, api_version: &str, body: &Value) -> Result<Value, ArmError> {
        self.write(Method::Put, id, api_version, Some(body)).await
    }

    /// PATCH and wait until done; returns the resource.
    pub async fn patch(
        &self,
        id: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        self.write(Method::Patch, id, api_version, Some(body)).await
    }

    /// DELETE and wait until gone. A resource that is already gone (404) is success.
    pub async fn delete(&self, id: &str, api_version: &str) -> Result<(), ArmError> {
        let url = self.url(id, api_version)?;
        let r = self
            .send(Method::Delete, url, None, RequestClass::Write, id)
            .await?;
        match r.status {
            200 | 204 | 404 if r.azure_async_operation.is_none() && r.location.is_none() => Ok(()),
            200 | 201 | 202 | 204 => lro::wait(self, &Method::Delete, id, api_version, r)
                .await
                .map(|_| ()),
            _ => Err(Self::api_error(&Method::Delete, id, &r)),
        }
    }

    /// POST an action (`{id}/listSecrets`); returns the body.
    pub async fn post(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ArmError> {
        let url = self.url(path, api_version)?;
        let r = self
            .send(Method::Post, url, body, RequestClass::Write, path)
            .await?;
        match r.status {
            200 | 201 => Ok(r.body),
            204 => Ok(Value::Null),
            202 => lro::wait(self, &Method::Post, path, api_version, r).await,
            _ => Err(Self::api_error(&Method::Post, path, &r)),
        }
    }

    async fn write(
        &self,
        method: Method,
        id: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, ArmError> {
        let url = self.url(id, api_version)?;
        let r = self
            .send(method, url, body, RequestClass::Write, id)
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(Self::api_error(&method, id, &r));
        }
        lro::wait(self, &method, id, api_version, r).await
    }

    /// A poll URL from a header, refused unless it is on the ARM endpoint's host (a
    /// bearer token is sent to it).
    pub fn poll_url(&self, raw: &str) -> Result<Url, PollUrlError> {
        let url: Url = raw.parse().map_err(|source| PollUrlError::NotAUrl {
            raw: raw.to_string(),
            source,
        })?;
        let same = url.scheme() == self.endpoint.scheme()
            && url.host_str() == self.endpoint.host_str()
            && url.port_or_known_default() == self.endpoint.port_or_known_default();
        if same {
            Ok(url)
        } else {
            Err(PollUrlError::OtherHost {
                raw: raw.to_string(),
            })
        }
    }
}
