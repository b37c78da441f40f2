//! The accept loop of the sandbox: HTTP/1.1 connections served by hyper with a header-read
//! timeout and a cap on connections served at once ([`super::Limits`]), stopped gracefully
//! (in-flight requests finish, idle connections close) when the shutdown signal fires.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};

use super::Limits;

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped), then waits for
/// the open connections to finish their current request.
pub async fn run(listener: TcpListener, app: Router, limits: Limits, stop: oneshot::Receiver<()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut stop = stop;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // Wait for a free slot first: beyond the cap, connections wait in the accept queue.
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("sandbox accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut closing = closing_rx.clone();
        let header_timeout = Duration::from_millis(limits.header_read_timeout_ms.max(1));
        tasks.spawn(async move {
            let _permit = permit;
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = closing.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        // Reap finished connections so the set does not grow with the connection count.
        while tasks.try_join_next().is_some() {}
    }
    let _ = closing_tx.send(true);
    while tasks.join_next().await.is_some() {}
}
