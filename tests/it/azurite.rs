//! Azurite, Microsoft's storage emulator, started and stopped by the blob-state tests: on
//! 127.0.0.1 at a free port, in memory, telemetry off. `bash tests/run-all` installs the
//! pinned npm package into target/azurite and runs these tests with `AZURITE` naming its
//! `azurite-blob`; plain `cargo test` skips them (they are `#[ignore]`d, never silently
//! passed).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aoai_lb::engine::state::blob::{Blob, BlobAuth, BlobUrl};

/// The storage emulator's account and its key, which Microsoft publishes for it
/// (learn.microsoft.com/azure/storage/common/storage-use-azurite, "Well-known storage
/// account and key"): a public test value, not a secret.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub struct Azurite {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

/// `azurite-blob`: `$AZURITE`, else where tests/run-all installs it.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("AZURITE") {
        return PathBuf::from(p);
    }
    crate::util::repo().join("target/azurite/node_modules/.bin/azurite-blob")
}

impl Azurite {
    /// Starts Azurite's blob service and waits for the line saying it listens. The free
    /// port is found by binding port 0 and letting go: if another process takes it in
    /// between (tests of other checkouts run on this machine too), Azurite ends at once
    /// saying so, and a new port is tried.
    pub fn start() -> Azurite {
        let bin = binary();
        assert!(
            bin.exists(),
            "needs Azurite at {} (bash tests/run-all installs it; or set AZURITE)",
            bin.display()
        );
        let mut failures = String::new();
        for _ in 0..3 {
            match Azurite::try_start(&bin) {
                Ok(a) => return a,
                Err(why) => failures.push_str(&why),
            }
        }
        panic!("Azurite ended before listening, three times:\n{failures}");
    }

    // The child is killed and waited for by `Drop` (or here, on failure), which clippy
    // cannot see.
    #[allow(clippy::zombie_processes)]
    fn try_start(bin: &Path) -> Result<Azurite, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .current_dir(dir.path())
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args([
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("stderr.txt")).unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        // Its output is read to the end on a thread of its own (a closed pipe would end
        // it); the line that says it listens is the signal to go on.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut said = String::new();
        for line in rx {
            said.push_str(&line);
            said.push('\n');
            if line.contains("successfully listens on") {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                return Ok(Azurite {
                    child,
                    port,
                    _dir: dir,
                    rt,
                });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
        Err(format!("port {port}:\n{said}{stderr}"))
    }

    /// The URL of `blob` in `container`, path-style as the emulator serves it.
    pub fn url(&self, container: &str, blob: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{ACCOUNT}/{container}/{blob}",
            self.port
        )
    }

    pub fn blob(&self, container: &str, blob: &str) -> Blob {
        let url = BlobUrl::parse(&self.url(container, blob)).unwrap();
        Blob::new(url, BlobAuth::shared_key(KEY).unwrap())
    }

    pub fn create_container(&self, container: &str) {
        let blob = self.blob(container, "x");
        let reply = self
            .rt
            .block_on(blob.send_to_container(reqwest::Method::PUT, &[("restype", "container")]))
            .unwrap();
        assert_eq!(reply.status, 201, "{}", reply.why());
    }

    /// Runs one request against a blob.
    pub fn send(
        &self,
        blob: &Blob,
        method: reqwest::Method,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> aoai_lb::engine::state::blob::Reply {
        self.rt
            .block_on(blob.send(method, query, headers, body))
            .unwrap()
    }

    /// The snapshots of a blob, oldest first (List Blobs with `include=snapshots`).
    pub fn snapshots(&self, container: &str, name: &str) -> Vec<String> {
        let blob = self.blob(container, name);
        let query = [
            ("restype", "container"),
            ("comp", "list"),
            ("include", "snapshots"),
            ("prefix", name),
        ];
        let reply = self
            .rt
            .block_on(blob.send_to_container(reqwest::Method::GET, &query))
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.why());
        let xml = String::from_utf8(reply.body).unwrap();
        let mut out: Vec<String> = xml
            .split("<Snapshot>")
            .skip(1)
            .filter_map(|s| s.split_once("</Snapshot>").map(|(t, _)| t.to_string()))
            .collect();
        out.sort();
        out
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
