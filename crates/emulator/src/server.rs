//! The HTTP server: binds 127.0.0.1, serves HTTP/1.1 connections with hyper (so that a
//! `drop` fault can close a connection without answering), and stops on `shutdown`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::middleware;
use axum::routing::{any, get, post, put};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use super::config::Config;
use super::hooks;
use super::pipeline::{DropConnection, Emulator, arm};

/// A running emulator.
pub struct Running {
    pub addr: SocketAddr,
    hook_token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token the test hooks (`/_emulator/...`) require in the
    /// `x-aoai-lb-emulator-token` header: random, new for every start.
    pub fn hook_token(&self) -> &str {
        &self.hook_token
    }

    /// Stops accepting, closes open connections and returns when the server is gone.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the emulator on 127.0.0.1:`port` (0 picks a free port).
pub async fn start(config: Config, port: u16) -> std::io::Result<Running> {
    config
        .check()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let emulator = Arc::new(Emulator::new(config, format!("http://{addr}"))?);
    let hook_token = emulator.hook_token.clone();
    let guard = middleware::from_fn_with_state(emulator.clone(), hooks::guard);
    let hook_routes = Router::new()
        .route("/_emulator/requests", get(hooks::requests))
        .route("/_emulator/state", get(hooks::state))
        .route("/_emulator/reset", post(hooks::reset))
        .route("/_emulator/faults", put(hooks::faults))
        .route("/_emulator/metrics", get(hooks::metrics))
        .route(
            "/_emulator/dataplane",
            get(hooks::dataplane).put(hooks::set_dataplane),
        )
        .route("/_emulator/{*rest}", any(hooks::unknown))
        .route_layer(guard);
    let router = Router::new()
        .merge(hook_routes)
        .route("/gateway/{*rest}", any(super::dataplane::gateway))
        .fallback(arm)
        .with_state(emulator);
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, router, stopped));
    Ok(Running {
        addr,
        hook_token,
        stop: Some(stop),
        task: Some(task),
    })
}

/// The error that makes hyper close a connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn serve(listener: TcpListener, router: Router, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("emulator: accept failed: {e}");
                        continue;
                    }
                };
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let router = router.clone();
                    async move {
                        let response = router
                            .oneshot(req.map(Body::new))
                            .await
                            .unwrap_or_else(|never| match never {});
                        if response.extensions().get::<DropConnection>().is_some() {
                            Err(Dropped)
                        } else {
                            Ok(response)
                        }
                    }
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}
