//! The lock of a blob state: a blob lease held for the whole run, renewed in the
//! background, with who holds it in the blob's metadata; and the conditional writes
//! made under it (each one If-Match the ETag last read or written, after a snapshot of
//! what it replaces).
//!
//! The protocol, after the azurerm backend of Terraform (its `Lock`: create the blob if
//! missing, acquire a lease, write the lock info as metadata):
//! 1. Lease Blob `acquire` for 60 s with a proposed lease id (the lock id). A missing
//!    blob is first created empty with `If-None-Match: *` (a lease needs a blob).
//!    `409 LeaseAlreadyPresent` means another run holds it: its metadata names it.
//! 2. Set Blob Metadata (under the lease): who, when, command, run URL, lock id.
//! 3. Get Blob: the state and its ETag.
//! 4. Every save: Snapshot Blob (the previous version stays restorable), then Put Blob
//!    with `If-Match` (no lost update) and the lease id, the metadata sent again (Put
//!    Blob replaces it).
//! 5. Renew every 20 s; at the end, Release. `force-unlock` breaks the lease at once.
//!
//! The engine's state calls are synchronous (they run under the state's mutex, from
//! async tasks and plain code alike), so a blob state owns a small runtime on a thread
//! of its own ([`Worker`]): its requests and the renewal run there, and a call waits for
//! its answer without touching the caller's runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;

use super::blob::{Blob, Reply, metadata_headers};
use super::{Holder, StateError, Who};

/// Lease duration: the longest a killed run keeps the state locked without `force-unlock`.
pub const LEASE_SECONDS: u64 = 60;

/// How long a lease lasts and how often it is renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// 15 to 60 seconds (what Lease Blob accepts for a finite lease).
    pub seconds: u64,
    pub renew_every: Duration,
}

impl Default for LeaseTiming {
    /// 60 s, renewed every 20 s (a third: two renewals in a row may fail).
    fn default() -> LeaseTiming {
        LeaseTiming {
            seconds: LEASE_SECONDS,
            renew_every: Duration::from_secs(LEASE_SECONDS / 3),
        }
    }
}

/// A current-thread runtime on its own thread.
pub(crate) struct Worker {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub fn start() -> std::io::Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("aoai-lb-state".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                })
            })?;
        Ok(Worker {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the worker and waits for its answer.
    pub fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().expect("the state worker answers")
    }

    pub fn spawn(
        &self,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::AbortHandle {
        self.handle.spawn(work).abort_handle()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A blob state held under its lease.
#[derive(Debug)]
pub(crate) struct BlobLock {
    blob: Arc<Blob>,
    lock_id: String,
    meta: BTreeMap<String, String>,
    /// The ETag of the version this run last read or wrote.
    etag: Mutex<String>,
    /// Whether the blob holds a state worth a snapshot before it is replaced.
    filled: Mutex<bool>,
    /// Set by the renewal when the lease is gone (broken, expired).
    lost: Arc<Mutex<Option<String>>>,
    renewal: tokio::task::AbortHandle,
    worker: WorkerBox,
}

/// The worker, dropped last (Debug for the lock's sake).
pub(crate) struct WorkerBox(pub Worker);

impl std::fmt::Debug for WorkerBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

fn failed(blob: &Blob, why: impl Into<String>) -> StateError {
    StateError::Blob {
        url: blob.url.to_string(),
        why: why.into(),
    }
}

/// A reply that is not a success, in words (with a hint for the usual causes).
pub(crate) fn refused(blob: &Blob, what: &str, reply: &Reply) -> StateError {
    let hint = match (reply.status, reply.code()) {
        (404, "ContainerNotFound") => format!(
            ": the container does not exist; create it (az storage container create --account-name {} --name {} --auth-mode login)",
            blob.url.account, blob.url.container
        ),
        (403, _) => ": the identity may not read or write blobs there; it needs the role Storage Blob Data Contributor on the container (docs/ci.md), or use AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN".to_string(),
        _ => String::new(),
    };
    failed(blob, format!("{what} refused: {}{hint}", reply.why()))
}

async fn call(
    blob: &Blob,
    method: Method,
    query: &[(&str, &str)],
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Result<Reply, StateError> {
    blob.send(method, query, headers, body)
        .await
        .map_err(|e| failed(blob, format!("no answer: {}", e.0)))
}

/// Reads the blob: its text and ETag, or `None` when there is no blob yet.
pub(crate) async fn get(blob: &Blob) -> Result<Option<(String, String)>, StateError> {
    let reply = call(blob, Method::GET, &[], &[], None).await?;
    if reply.status == 404 && reply.code() == "BlobNotFound" {
        return Ok(None);
    }
    if !reply.ok() {
        return Err(refused(blob, "Get Blob", &reply));
    }
    let text = String::from_utf8(reply.body.clone())
        .map_err(|_| failed(blob, "the blob is not UTF-8 text"))?;
    Ok(Some((text, reply.etag().unwrap_or_default())))
}

/// Who holds the lease, from the blob's metadata (`None`: not leased now).
pub(crate) async fn holder(blob: &Blob) -> Result<Option<Holder>, StateError> {
    let reply = call(blob, Method::HEAD, &[], &[], None).await?;
    if reply.status == 404 {
        return Ok(None);
    }
    if !reply.ok() {
        return Err(refused(blob, "Get Blob Properties", &reply));
    }
    if reply.lease_state() != "leased" {
        return Ok(None);
    }
    let m = reply.metadata();
    let get = |k: &str| m.get(k).cloned().unwrap_or_else(|| "unknown".into());
    Ok(Some(Holder {
        lock_id: get("lock_id"),
        who: get("who"),
        when: get("when"),
        command: get("command"),
        run_url: m.get("run_url").cloned(),
    }))
}

async fn acquire(blob: &Blob, lock_id: &str, seconds: u64) -> Result<Option<Reply>, StateError> {
    judge_acquire(blob, send_acquire(blob, lock_id, seconds).await?)
}

/// Lease Blob, action acquire, proposing `lock_id` as the lease id.
async fn send_acquire(blob: &Blob, lock_id: &str, seconds: u64) -> Result<Reply, StateError> {
    let headers = [
        ("x-ms-lease-action", "acquire".to_string()),
        ("x-ms-lease-duration", seconds.to_string()),
        ("x-ms-proposed-lease-id", lock_id.to_string()),
    ];
    call(
        blob,
        Method::PUT,
        &[("comp", "lease")],
        &headers,
        Some(vec![]),
    )
    .await
}

/// 201: ours; 409 LeaseAlreadyPresent: another run holds it; anything else is an error.
fn judge_acquire(blob: &Blob, reply: Reply) -> Result<Option<Reply>, StateError> {
    match (reply.status, reply.code()) {
        (201, _) => Ok(Some(reply)),
        (409, "LeaseAlreadyPresent") => Ok(None),
        _ => Err(refused(blob, "Lease Blob (acquire)", &reply)),
    }
}

impl BlobLock {
    /// Takes the lease (creating an empty blob first if there is none), writes who holds
    /// it, and reads the state. Returns the lock and the state's text ("" when new).
    pub fn open(
        blob: Blob,
        who: &Who,
        timing: LeaseTiming,
    ) -> Result<(BlobLock, String), StateError> {
        let worker = Worker::start().map_err(|e| failed(&blob, e.to_string()))?;
        let blob = Arc::new(blob);
        let lock_id = uuid::Uuid::new_v4().to_string();
        let meta = who.metadata(&lock_id);
        let (b, id, m) = (blob.clone(), lock_id.clone(), meta.clone());
        let (text, etag) = worker.run(async move { take(&b, &id, &m, timing.seconds).await })?;
        let lost = Arc::new(Mutex::new(None));
        let renewal = worker.spawn(renew(
            blob.clone(),
            lock_id.clone(),
            lost.clone(),
            timing.renew_every,
        ));
        let filled = !text.trim().is_empty();
        Ok((
            BlobLock {
                blob,
                lock_id,
                meta,
                etag: Mutex::new(etag),
                filled: Mutex::new(filled),
                lost,
                renewal,
                worker: WorkerBox(worker),
            },
            text,
        ))
    }

    pub fn url(&self) -> String {
        self.blob.url.to_string()
    }

    /// Writes `text` over the state: a snapshot of what it replaces, then Put Blob
    /// If-Match the ETag this run last saw, under the lease.
    pub fn save(&self, text: String) -> Result<(), StateError> {
        if let Some(why) = self.lost.lock().expect("lost").clone() {
            return Err(StateError::LeaseLost {
                url: self.url(),
                why,
            });
        }
        let etag = self.etag.lock().expect("etag").clone();
        let filled = *self.filled.lock().expect("filled");
        let (blob, id) = (self.blob.clone(), self.lock_id.clone());
        let meta = self.meta.clone();
        let written = self
            .worker
            .0
            .run(async move { put(&blob, &id, &meta, &etag, filled, text).await })?;
        *self.etag.lock().expect("etag") = written;
        *self.filled.lock().expect("filled") = true;
        Ok(())
    }
}

impl Drop for BlobLock {
    fn drop(&mut self) {
        self.renewal.abort();
        let (blob, id) = (self.blob.clone(), self.lock_id.clone());
        let released = self.worker.0.run(async move {
            let headers = [
                ("x-ms-lease-action", "release".to_string()),
                ("x-ms-lease-id", id),
            ];
            call(
                &blob,
                Method::PUT,
                &[("comp", "lease")],
                &headers,
                Some(vec![]),
            )
            .await
        });
        if let Err(e) = released {
            tracing::warn!("could not release the lease on the state: {e}");
        }
    }
}

/// Steps 1 to 3 of the protocol.
async fn take(
    blob: &Blob,
    lock_id: &str,
    meta: &BTreeMap<String, String>,
    seconds: u64,
) -> Result<(String, String), StateError> {
    let mut leased = acquire_or_create(blob, lock_id, seconds).await?;
    if leased.is_none() {
        match holder(blob).await? {
            Some(holder) => {
                return Err(StateError::BlobLocked {
                    url: blob.url.to_string(),
                    holder: Box::new(holder),
                });
            }
            // Released between the two requests: try once more.
            None => leased = acquire(blob, lock_id, seconds).await?,
        }
    }
    if leased.is_none() {
        return Err(StateError::BlobLocked {
            url: blob.url.to_string(),
            holder: Box::new(holder(blob).await?.unwrap_or_default()),
        });
    }
    let mut headers: Vec<(&str, String)> = vec![("x-ms-lease-id", lock_id.to_string())];
    let named = metadata_headers(meta);
    headers.extend(named.iter().map(|(n, v)| (n.as_str(), v.clone())));
    let reply = call(
        blob,
        Method::PUT,
        &[("comp", "metadata")],
        &headers,
        Some(vec![]),
    )
    .await?;
    if !reply.ok() {
        return Err(refused(blob, "Set Blob Metadata", &reply));
    }
    let (text, etag) = get(blob)
        .await?
        .ok_or_else(|| failed(blob, "the blob vanished while leased"))?;
    Ok((text, etag))
}

async fn acquire_or_create(
    blob: &Blob,
    lock_id: &str,
    seconds: u64,
) -> Result<Option<Reply>, StateError> {
    let reply = send_acquire(blob, lock_id, seconds).await?;
    if reply.status != 404 || reply.code() != "BlobNotFound" {
        return judge_acquire(blob, reply);
    }
    // No blob yet: create it empty, unless another run just did (If-None-Match: *).
    let created = call(
        blob,
        Method::PUT,
        &[],
        &[
            ("x-ms-blob-type", "BlockBlob".to_string()),
            ("if-none-match", "*".to_string()),
        ],
        Some(vec![]),
    )
    .await?;
    if !created.ok() && !matches!(created.status, 409 | 412) {
        return Err(refused(blob, "Put Blob (create)", &created));
    }
    acquire(blob, lock_id, seconds).await
}

/// Step 4: snapshot, then the conditional write. Returns the new ETag.
async fn put(
    blob: &Blob,
    lock_id: &str,
    meta: &BTreeMap<String, String>,
    etag: &str,
    filled: bool,
    text: String,
) -> Result<String, StateError> {
    let lease = ("x-ms-lease-id", lock_id.to_string());
    if filled {
        let reply = call(
            blob,
            Method::PUT,
            &[("comp", "snapshot")],
            std::slice::from_ref(&lease),
            Some(vec![]),
        )
        .await?;
        if !reply.ok() {
            return Err(refused(blob, "Snapshot Blob", &reply));
        }
    }
    let mut headers: Vec<(&str, String)> = vec![
        ("x-ms-blob-type", "BlockBlob".to_string()),
        ("content-type", "application/json".to_string()),
        ("if-match", etag.to_string()),
        lease,
    ];
    let named = metadata_headers(meta);
    headers.extend(named.iter().map(|(n, v)| (n.as_str(), v.clone())));
    let reply = call(blob, Method::PUT, &[], &headers, Some(text.into_bytes())).await?;
    match (reply.status, reply.code()) {
        (201, _) => reply
            .etag()
            .ok_or_else(|| failed(blob, "Put Blob answered without an ETag")),
        (412, "ConditionNotMet") => Err(StateError::Stale {
            url: blob.url.to_string(),
        }),
        (412, code) if code.starts_with("Lease") => Err(StateError::LeaseLost {
            url: blob.url.to_string(),
            why: reply.why(),
        }),
        _ => Err(refused(blob, "Put Blob", &reply)),
    }
}

/// Step 5: renews the lease until aborted; records why when the lease is gone.
async fn renew(
    blob: Arc<Blob>,
    lock_id: String,
    lost: Arc<Mutex<Option<String>>>,
    every: Duration,
) {
    loop {
        tokio::time::sleep(every).await;
        let headers = [
            ("x-ms-lease-action", "renew".to_string()),
            ("x-ms-lease-id", lock_id.clone()),
        ];
        match call(
            &blob,
            Method::PUT,
            &[("comp", "lease")],
            &headers,
            Some(vec![]),
        )
        .await
        {
            Ok(r) if r.ok() => {}
            // The lease is someone else's, or gone: writes would be refused anyway.
            Ok(r) if matches!(r.status, 409 | 412) => {
                *lost.lock().expect("lost") = Some(r.why());
                return;
            }
            // No answer or a server error: the next renewal may get through.
            Ok(r) => tracing::warn!("renewing the state lease: {}", r.why()),
            Err(e) => tracing::warn!("renewing the state lease: {e}"),
        }
    }
}

/// `force-unlock`: breaks the lease at once if `lock_id` is the lock the blob's metadata
/// names (so a typo cannot break someone else's lock).
pub(crate) fn break_lease(blob: Blob, lock_id: &str) -> Result<Holder, StateError> {
    let worker = Worker::start().map_err(|e| failed(&blob, e.to_string()))?;
    let lock_id = lock_id.to_string();
    worker.run(async move {
        let Some(holder) = holder(&blob).await? else {
            return Err(StateError::NotLocked {
                state: blob.url.to_string(),
            });
        };
        if !holder.lock_id.eq_ignore_ascii_case(&lock_id) {
            return Err(StateError::OtherLock {
                state: blob.url.to_string(),
                given: lock_id,
                holder: Box::new(holder),
            });
        }
        let headers = [
            ("x-ms-lease-action", "break".to_string()),
            ("x-ms-lease-break-period", "0".to_string()),
        ];
        let reply = call(
            &blob,
            Method::PUT,
            &[("comp", "lease")],
            &headers,
            Some(vec![]),
        )
        .await?;
        if !reply.ok() {
            return Err(refused(&blob, "Lease Blob (break)", &reply));
        }
        Ok(holder)
    })
}

/// Reads a blob state without its lock (for `plan`).
pub(crate) fn read(blob: Blob) -> Result<Option<String>, StateError> {
    let worker = Worker::start().map_err(|e| failed(&blob, e.to_string()))?;
    worker.run(async move { get(&blob).await.map(|got| got.map(|(text, _)| text)) })
}
