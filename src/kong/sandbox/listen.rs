//! The accept loop of the sandbox: HTTP/1.1 connections served by hyper with a header-read
//! timeout and a cap on connections served at once ([`super::Limits`]), stopped gracefully
//! (in-flight requests finish, idle connections close) when the shutdown signal fires.
//!
//! nginx takes raw bytes above 0x7f in a request target and Kong answers them with its JSON
//! errors; hyper refuses a target that is not UTF-8 with an empty 400. So the first request
//! line of each connection has such bytes percent-encoded before hyper reads it
//! ([`FirstLine`]); later requests on a kept-alive connection are left as they come.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
                .serve_connection(TokioIo::new(FirstLine::new(stream)), service);
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

/// Longest first line rewritten; a longer one is passed as is (hyper refuses it anyway).
const MAX_FIRST_LINE: usize = 64 * 1024;

/// A stream whose first line has its bytes above 0x7f percent-encoded (see the module docs).
#[derive(Debug)]
pub struct FirstLine<S> {
    inner: S,
    /// Bytes of the first line seen so far, or `None` once it has ended.
    seen: Option<usize>,
    /// Rewritten bytes not yet handed out.
    pending: Vec<u8>,
}

impl<S> FirstLine<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        FirstLine { inner, seen: Some(0), pending: Vec::new() }
    }
}

/// Percent-encodes bytes above 0x7f up to the first `\n` of `data`; returns the rewritten
/// bytes and whether the line ended. `seen` counts the line's bytes across calls.
fn rewrite(data: &[u8], seen: &mut usize) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(data.len());
    for (i, &b) in data.iter().enumerate() {
        *seen += 1;
        if b == b'\n' || *seen > MAX_FIRST_LINE {
            out.extend_from_slice(&data[i..]);
            return (out, true);
        }
        if b >= 0x80 {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    (out, false)
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstLine<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if !this.pending.is_empty() {
            let n = this.pending.len().min(buf.remaining());
            buf.put_slice(&this.pending[..n]);
            this.pending.drain(..n);
            return Poll::Ready(Ok(()));
        }
        let Some(mut seen) = this.seen else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let mut tmp = vec![0u8; buf.remaining().clamp(1, 8192)];
        let mut rb = ReadBuf::new(&mut tmp);
        match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let (out, done) = rewrite(rb.filled(), &mut seen);
                this.seen = if done { None } else { Some(seen) };
                let n = out.len().min(buf.remaining());
                buf.put_slice(&out[..n]);
                this.pending.extend_from_slice(&out[n..]);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstLine<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_is_rewritten() {
        let mut seen = 0;
        let (out, done) = rewrite(b"GET /tags/\xff HTTP/1.1\r\nX: \xff\r\n", &mut seen);
        assert!(done);
        assert_eq!(out, b"GET /tags/%FF HTTP/1.1\r\nX: \xff\r\n");
        let mut seen = 0;
        let (out, done) = rewrite(b"GET /\xc3", &mut seen);
        assert_eq!((out.as_slice(), done, seen), (&b"GET /%C3"[..], false, 6));
    }
}
