//! Long-running operations, as ARM documents them: follow `Azure-AsyncOperation` if
//! given, else `Location`, else the resource's `provisioningState`; wait what
//! `Retry-After` says between polls (never faster), else a default; give up after a
//! per-operation timeout. Success is never reported while the resource is still
//! provisioning: a PUT or PATCH ends with a GET of the resource in a terminal state.

use std::time::{Duration, Instant};

use azure_core::http::Method;
use serde_json::Value;

use super::client::{ArmClient, ArmResponse};
use super::error::ArmError;
use super::stats::RequestClass;

#[derive(Clone, Debug)]
pub struct LroOptions {
    /// Wait between polls when ARM sends no Retry-After.
    pub default_poll: Duration,
    /// Give up on one operation after this long (the operation may still finish; a
    /// later run converges).
    pub timeout: Duration,
}

impl Default for LroOptions {
    fn default() -> Self {
        LroOptions {
            default_poll: Duration::from_secs(5),
            timeout: Duration::from_secs(45 * 60),
        }
    }
}

/// Whether a provisioningState is final (`Succeeded`, `Failed`, `Canceled`).
pub fn is_terminal(state: &str) -> bool {
    matches!(
        state.to_ascii_lowercase().as_str(),
        "succeeded" | "failed" | "canceled" | "cancelled"
    )
}

fn failed(method: &Method, resource: &str, status: &str, body: &Value) -> ArmError {
    let err = body
        .get("error")
        .or_else(|| body.pointer("/properties/error"))
        .unwrap_or(&Value::Null);
    let s = |k: &str| {
        err.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let code = Some(s("code"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| status.to_string());
    let message = Some(s("message"))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "(no message)".into());
    ArmError::OperationFailed {
        method: method.to_string(),
        resource: resource.to_string(),
        status: status.to_string(),
        code,
        message,
    }
}

/// Waits for the operation `first` started. Returns the final resource body for PUT and
/// PATCH (Null for DELETE).
pub async fn wait(
    client: &ArmClient,
    method: &Method,
    id: &str,
    api_version: &str,
    first: ArmResponse,
) -> Result<Value, ArmError> {
    let options = client.lro_options().clone();
    let op = Operation {
        client,
        method,
        id,
        api_version,
        deadline: Instant::now() + options.timeout,
        options,
    };
    let last_wait = op.interval(&first);

    // 1. Azure-AsyncOperation: poll the operation's status.
    if (first.status != 200 || first.azure_async_operation.is_some())
        && let Some(status_url) = &first.azure_async_operation
    {
        op.follow_async_operation(status_url, last_wait).await?;
        return op.after().await;
    }

    // 2. Location: poll until it stops answering 202.
    if first.status == 202 || (first.status == 201 && first.location.is_some()) {
        if let Some(location) = &first.location {
            op.follow_location(location, last_wait).await?;
            return op.after().await;
        }
        if op.is_delete() {
            // 202 with nothing to follow: watch the resource go.
            op.watch_resource_go(last_wait).await?;
            return Ok(Value::Null);
        }
    }

    if op.is_delete() {
        return Ok(Value::Null);
    }
    // 3. provisioningState on the resource itself.
    op.judge_first_answer(first, last_wait).await
}

/// One long-running operation being waited on: who started it, on what, and until when.
struct Operation<'a> {
    client: &'a ArmClient,
    method: &'a Method,
    id: &'a str,
    api_version: &'a str,
    options: LroOptions,
    deadline: Instant,
}

impl Operation<'_> {
    fn is_delete(&self) -> bool {
        *self.method == Method::Delete
    }

    fn timeout(&self) -> ArmError {
        ArmError::Timeout {
            method: self.method.to_string(),
            resource: self.id.to_string(),
            after: self.options.timeout,
        }
    }

    /// How long an answer asks us to wait before the next poll.
    fn interval(&self, r: &ArmResponse) -> Duration {
        r.retry_after.unwrap_or(self.options.default_poll)
    }

    fn poll_url(&self, raw: &str) -> Result<azure_core::http::Url, ArmError> {
        self.client.poll_url(raw).map_err(|e| ArmError::Transport {
            method: self.method.to_string(),
            resource: self.id.to_string(),
            message: e.to_string(),
            source: Some(std::sync::Arc::new(e)),
        })
    }

    /// After the operation: a delete is done; a PUT or PATCH ends on the resource itself.
    async fn after(&self) -> Result<Value, ArmError> {
        if self.is_delete() {
            Ok(Value::Null)
        } else {
            self.final_state(self.options.default_poll).await
        }
    }

    async fn final_state(&self, poll: Duration) -> Result<Value, ArmError> {
        final_state(
            self.client,
            self.method,
            self.id,
            self.api_version,
            poll,
            self.deadline,
        )
        .await
    }

    /// Polls the Azure-AsyncOperation status URL until its `status` is terminal.
    async fn follow_async_operation(
        &self,
        raw: &str,
        first_wait: Duration,
    ) -> Result<(), ArmError> {
        let url = self.poll_url(raw)?;
        let (method, id) = (self.method, self.id);
        let timeout = || self.timeout();
        poll(
            self.client,
            url,
            id,
            first_wait,
            self.deadline,
            &timeout,
            |r| {
                if !(200..300).contains(&r.status) {
                    return Step::Fail(ArmClient::api_error(&Method::Get, id, r));
                }
                let status = r
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("InProgress");
                if status.eq_ignore_ascii_case("succeeded") {
                    Step::Done
                } else if is_terminal(status) {
                    Step::Fail(failed(method, id, status, &r.body))
                } else {
                    Step::Wait(self.interval(r))
                }
            },
        )
        .await
    }

    /// Polls the Location URL until it stops answering 202 (a 404 ends a delete).
    async fn follow_location(&self, raw: &str, first_wait: Duration) -> Result<(), ArmError> {
        let url = self.poll_url(raw)?;
        let (id, is_delete) = (self.id, self.is_delete());
        let timeout = || self.timeout();
        poll(
            self.client,
            url,
            id,
            first_wait,
            self.deadline,
            &timeout,
            |r| match r.status {
                202 => Step::Wait(self.interval(r)),
                200..=299 => Step::Done,
                404 if is_delete => Step::Done,
                _ => Step::Fail(ArmClient::api_error(&Method::Get, id, r)),
            },
        )
        .await
    }

    /// A delete answered 202 with nothing to follow: GET the resource until it is gone.
    async fn watch_resource_go(&self, every: Duration) -> Result<(), ArmError> {
        let url = self.client.url(self.id, self.api_version)?;
        let id = self.id;
        let timeout = || self.timeout();
        poll(
            self.client,
            url,
            id,
            every,
            self.deadline,
            &timeout,
            |r| match r.status {
                404 => Step::Done,
                200 => Step::Wait(every),
                _ => Step::Fail(ArmClient::api_error(&Method::Get, id, r)),
            },
        )
        .await
    }

    /// No operation to follow: the first answer's provisioningState decides.
    async fn judge_first_answer(
        &self,
        first: ArmResponse,
        last_wait: Duration,
    ) -> Result<Value, ArmError> {
        match first.provisioning_state() {
            Some(state) if !is_terminal(state) => self.final_state(last_wait).await,
            Some(state) if !state.eq_ignore_ascii_case("succeeded") => {
                Err(failed(self.method, self.id, state, &first.body))
            }
            _ if first.body.is_null() => self.final_state(last_wait).await,
            _ => Ok(first.body),
        }
    }
}

/// What one poll says.
enum Step {
    Done,
    /// Not yet: wait this long before the next poll.
    Wait(Duration),
    Fail(ArmError),
}

/// Polls `url`, waiting `first_wait` before the first poll and what each answer asks
/// before the next, until `judge` says done or failed, or the deadline would pass.
async fn poll(
    client: &ArmClient,
    url: azure_core::http::Url,
    id: &str,
    first_wait: Duration,
    deadline: Instant,
    timeout: &(dyn Fn() -> ArmError + Sync),
    judge: impl Fn(&ArmResponse) -> Step,
) -> Result<(), ArmError> {
    let mut wait = first_wait;
    loop {
        if Instant::now() + wait > deadline {
            return Err(timeout());
        }
        tokio::time::sleep(wait).await;
        let r = client
            .send_until(
                Method::Get,
                url.clone(),
                None,
                RequestClass::Poll,
                id,
                deadline,
            )
            .await?;
        match judge(&r) {
            Step::Done => return Ok(()),
            Step::Wait(next) => wait = next,
            Step::Fail(e) => return Err(e),
        }
    }
}

/// GETs the resource until its provisioningState is terminal; `Succeeded` (or none) is done.
async fn final_state(
    client: &ArmClient,
    method: &Method,
    id: &str,
    api_version: &str,
    poll: Duration,
    deadline: Instant,
) -> Result<Value, ArmError> {
    let mut first = true;
    loop {
        if !first {
            if Instant::now() + poll > deadline {
                return Err(ArmError::Timeout {
                    method: method.to_string(),
                    resource: id.to_string(),
                    after: client.lro_options().timeout,
                });
            }
            tokio::time::sleep(poll).await;
        }
        let class = if first {
            RequestClass::Read
        } else {
            RequestClass::Poll
        };
        first = false;
        let url = client.url(id, api_version)?;
        let r = client
            .send_until(Method::Get, url, None, class, id, deadline)
            .await?;
        if r.status != 200 {
            return Err(ArmClient::api_error(&Method::Get, id, &r));
        }
        match r.provisioning_state() {
            None => return Ok(r.body),
            Some(s) if s.eq_ignore_ascii_case("succeeded") => return Ok(r.body),
            Some(s) if is_terminal(s) => return Err(failed(method, id, s, &r.body)),
            Some(_) => {}
        }
    }
}

/// GETs a resource and, while its provisioningState says an operation still runs on it
/// (`Creating`, `Accepted`, `Updating`, `Deleting`...), waits for that to end, so a
/// resource seen mid-operation (a re-apply right after a crash) is judged once settled
/// and its children are not sent to a busy parent. `None`: it does not exist (404).
pub async fn settle(
    client: &ArmClient,
    id: &str,
    api_version: &str,
) -> Result<Option<Value>, ArmError> {
    let options = client.lro_options().clone();
    let deadline = Instant::now() + options.timeout;
    let mut class = RequestClass::Read;
    loop {
        let url = client.url(id, api_version)?;
        let r = client
            .send_until(Method::Get, url, None, class, id, deadline)
            .await?;
        match r.status {
            404 => return Ok(None),
            200 => {}
            _ => return Err(ArmClient::api_error(&Method::Get, id, &r)),
        }
        match r.provisioning_state() {
            Some(state) if !is_terminal(state) => {}
            _ => return client.found(id, api_version, r).map(Some),
        }
        let wait = r.retry_after.unwrap_or(options.default_poll);
        if Instant::now() + wait > deadline {
            return Err(ArmError::Timeout {
                method: Method::Get.to_string(),
                resource: id.to_string(),
                after: options.timeout,
            });
        }
        tokio::time::sleep(wait).await;
        class = RequestClass::Poll;
    }
}
