//! The HTTP client for Kong's Admin API: JSON in and out, extra headers, retries with
//! backoff on transient failures (connection errors, 429 honouring `Retry-After`, 502, 503,
//! 504), and a count of the requests sent.

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How to reach a gateway.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL of the Admin API, e.g. `http://localhost:8001` (a trailing `/` is ignored).
    pub base_url: String,
    /// Extra headers sent with every request (`Kong-Admin-Token: ...`), as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How many times a transient failure is retried (0 = never).
    pub max_retries: usize,
    /// First retry delay; later ones double, up to 8 seconds.
    pub min_backoff: Duration,
}

impl ClientConfig {
    /// Defaults for `base_url`: no headers, 30 s timeout, 5 retries starting at 200 ms.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            min_backoff: Duration::from_millis(200),
        }
    }
}

/// An Admin API failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KongError {
    /// The configuration of the client is invalid (bad URL or header).
    #[error("{0}")]
    Config(String),
    /// No HTTP response: connection refused, timeout, TLS failure...
    #[error("{method} {url}: {message}")]
    Transport {
        /// The request method.
        method: String,
        /// The full URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The gateway answered with an error status; `body` is its JSON body (or the text as a
    /// JSON string when it was not JSON).
    #[error("{method} {path}: HTTP {status}: {body}")]
    Api {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The error body.
        body: Value,
    },
}

impl KongError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            KongError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Kong's `message` of an error body, or the whole body.
pub fn api_message(body: &Value) -> String {
    match body.get("message").and_then(Value::as_str) {
        Some(m) => m.to_owned(),
        None => body.to_string(),
    }
}

/// A successful response: status and JSON body (`Value::Null` when empty).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status (2xx or 304).
    pub status: u16,
    /// Parsed JSON body, `Null` for an empty body.
    pub body: Value,
}

/// A cheap-to-clone Admin API client.
#[derive(Clone)]
pub struct KongClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    http: reqwest::Client,
    config: ClientConfig,
    requests: AtomicU64,
}

/// Installs the ring crypto provider for rustls once per process.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How many times a request that got no answer at all is retried.
const TRANSPORT_RETRIES: usize = 2;

enum Attempt {
    Retry { error: KongError, after: Option<Duration> },
    Fatal(KongError),
}

impl KongClient {
    /// Builds a client; fails on an invalid URL or header.
    pub fn new(config: ClientConfig) -> Result<Self, KongError> {
        install_crypto_provider();
        let base = config.base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&base).map_err(|e| KongError::Config(format!("invalid gateway address `{base}`: {e}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| KongError::Config(format!("invalid header name `{name}`")))?;
            let v = HeaderValue::from_str(value.trim())
                .map_err(|_| KongError::Config(format!("invalid value for header `{name}`")))?;
            headers.insert(n, v);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| KongError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(KongClient { inner: Arc::new(Inner { base, http, config, requests: AtomicU64::new(0) }) })
    }

    /// The base URL (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// How many HTTP requests were sent so far (retries included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Sends one request and returns the JSON response, retrying transient failures.
    /// `path` starts with `/` and may carry a query string. 4xx/5xx answers other than the
    /// transient ones are returned at once as [`KongError::Api`].
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Response, KongError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.inner.config.min_backoff)
            .with_max_delay(Duration::from_secs(8))
            .with_max_times(self.inner.config.max_retries)
            .with_jitter();
        let mut transport_failures = 0;
        let result = (|| async { self.attempt(&method, path, body).await })
            .retry(backoff)
            .when(|a: &Attempt| match a {
                // A gateway that refuses connections is more likely down than busy: retry
                // those twice only; busy answers (429, 502-504) get every retry.
                Attempt::Retry { error: KongError::Transport { .. }, .. } => {
                    transport_failures += 1;
                    transport_failures <= TRANSPORT_RETRIES
                }
                Attempt::Retry { .. } => true,
                Attempt::Fatal(_) => false,
            })
            .adjust(|a: &Attempt, planned| match a {
                Attempt::Retry { after: Some(after), .. } => Some((*after).min(Duration::from_secs(60))),
                _ => planned,
            })
            .notify(|a: &Attempt, wait| {
                if let Attempt::Retry { error, .. } = a {
                    tracing::warn!("retrying in {:.1}s after: {error}", wait.as_secs_f64());
                }
            })
            .await;
        result.map_err(|a| match a {
            Attempt::Retry { error, .. } | Attempt::Fatal(error) => error,
        })
    }

    async fn attempt(&self, method: &Method, path: &str, body: Option<&Value>) -> Result<Response, Attempt> {
        let url = format!("{}{}", self.inner.base, path);
        let mut req = self.inner.http.request(method.clone(), &url);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{method} {path}");
        if let Some(body) = body {
            tracing::trace!("{method} {path} body: {body}");
        }
        let resp = req.send().await.map_err(|e| Attempt::Retry {
            error: KongError::Transport { method: method.to_string(), url: url.clone(), message: error_chain(&e) },
            after: None,
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let bytes = resp.bytes().await.map_err(|e| Attempt::Retry {
            error: KongError::Transport { method: method.to_string(), url: url.clone(), message: error_chain(&e) },
            after: None,
        })?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        // Response bodies are never logged: they hold the gateway's secrets.
        tracing::debug!("{method} {path} -> {} ({} bytes)", status.as_u16(), bytes.len());
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(Response { status: status.as_u16(), body });
        }
        let error = KongError::Api { method: method.to_string(), path: path.to_owned(), status: status.as_u16(), body };
        match status.as_u16() {
            429 | 502 | 503 | 504 => Err(Attempt::Retry { error, after: retry_after }),
            _ => Err(Attempt::Fatal(error)),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, KongError> {
        Ok(self.send(Method::GET, path, None).await?.body)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
