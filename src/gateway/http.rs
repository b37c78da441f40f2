//! The HTTP client every dialect talks to its gateway's Admin API with: JSON in and out,
//! extra headers, a per-request timeout, retries with backoff on transient failures, and
//! counts of the requests sent (in total and by answer status, for metrics).
//!
//! Retry policy ([`RetryPolicy`]): a request that got no answer at all (connection refused,
//! reset, timeout) is retried at most twice, since a gateway that refuses connections is more
//! likely down than busy; a busy answer (429, 502, 503, 504) is retried at most
//! `max_retries` times in all. Delays grow exponentially from `min_backoff` (doubling, with
//! jitter, at most 8 s); a `Retry-After` header (seconds) replaces the computed delay, and one
//! larger than `max_retry_after` fails the request at once with a message that says so. The
//! budget holds whatever the gateway answers: a request is sent at most
//! `1 + max_retries` times.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
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
    /// How many times a transient failure is retried in all (0 = never).
    pub max_retries: usize,
    /// First retry delay; later ones double, up to 8 seconds.
    pub min_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the request.
    pub max_retry_after: Duration,
}

impl ClientConfig {
    /// Defaults for `base_url`: no headers, 30 s timeout, 5 retries starting at 200 ms,
    /// `Retry-After` honoured up to 60 s.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            max_retries: 5,
            min_backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// An Admin API failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
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
    /// The address answered, but not as a gateway of the dialect would (a web page, a proxy
    /// port, another product): recognised when the session opens, before anything else is
    /// read. `hint` says what the dialect guesses the mistake is.
    #[error("{url} does not look like {expected} (GET / answered {answered})")]
    NotGateway {
        /// The address, as given.
        url: String,
        /// What was expected (`a Kong Admin API`).
        expected: String,
        /// What came back, in a few words (`HTML`, `404 {"message":"no Route matched ..."}`).
        answered: String,
        /// A guess at the mistake, for a `hint:` line.
        hint: String,
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

impl HttpError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The gateway's `message` of an error body (Kong and Tyk both use that key), or the whole
/// body.
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

/// How failures are retried (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries in all.
    pub max_retries: usize,
    /// Retries of requests that got no answer.
    pub transport_retries: usize,
    /// First delay.
    pub min_backoff: Duration,
    /// Longest computed delay.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

/// What one attempt came to, for [`RetryPolicy::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No answer at all.
    NoAnswer,
    /// A busy answer (429, 502-504), with its `Retry-After`, if any.
    Busy(Option<Duration>),
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop: the budget is spent.
    GiveUp,
    /// Stop: the gateway asked for a longer wait than the policy allows.
    TooLong(Duration),
}

impl RetryPolicy {
    /// The policy of `config`.
    pub fn of(config: &ClientConfig) -> Self {
        RetryPolicy {
            max_retries: config.max_retries,
            transport_retries: TRANSPORT_RETRIES,
            min_backoff: config.min_backoff,
            max_backoff: Duration::from_secs(8),
            max_retry_after: config.max_retry_after,
        }
    }

    /// Decides what follows a failed attempt, given the retries made so far (`retries`, of
    /// which `transport` after no answer) and `computed`, the next exponential delay.
    pub fn next(&self, outcome: Outcome, retries: usize, transport: usize, computed: Duration) -> Decision {
        if retries >= self.max_retries {
            return Decision::GiveUp;
        }
        match outcome {
            Outcome::NoAnswer if transport >= self.transport_retries => Decision::GiveUp,
            Outcome::NoAnswer | Outcome::Busy(None) => Decision::RetryAfter(computed),
            Outcome::Busy(Some(after)) if after > self.max_retry_after => Decision::TooLong(after),
            Outcome::Busy(Some(after)) => Decision::RetryAfter(after),
        }
    }

    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries.max(1))
            .with_jitter()
            .build()
            .chain(std::iter::repeat(self.max_backoff))
    }
}

/// A cheap-to-clone Admin API client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    http: reqwest::Client,
    config: ClientConfig,
    requests: AtomicU64,
    by_status: Mutex<BTreeMap<u16, u64>>,
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

/// The failure of one attempt: worth another try (with what it came to), or not.
pub enum Attempt {
    /// A transient failure.
    Retry {
        /// The error to report if no retry is left.
        error: HttpError,
        /// What the attempt came to.
        outcome: Outcome,
    },
    /// A failure that another try would not change.
    Fatal(HttpError),
}

/// Runs `attempt` until it succeeds, fails for good, or `policy`'s budget is spent, sleeping
/// (tokio time) between tries as the policy decides.
pub async fn retrying<T, F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<T, HttpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt>>,
{
    let mut delays = policy.delays();
    let (mut retries, mut transport) = (0, 0);
    loop {
        let (error, outcome) = match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Fatal(error)) => return Err(error),
            Err(Attempt::Retry { error, outcome }) => (error, outcome),
        };
        let computed = delays.next().unwrap_or(policy.max_backoff);
        match policy.next(outcome, retries, transport, computed) {
            Decision::GiveUp => return Err(error),
            Decision::TooLong(after) => return Err(too_long(error, after, policy.max_retry_after)),
            Decision::RetryAfter(wait) => {
                tracing::warn!("retrying in {:.1}s after: {error}", wait.as_secs_f64());
                retries += 1;
                if outcome == Outcome::NoAnswer {
                    transport += 1;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

impl Client {
    /// Builds a client; fails on an invalid URL or header.
    pub fn new(config: ClientConfig) -> Result<Self, HttpError> {
        install_crypto_provider();
        let base = config.base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&base).map_err(|e| HttpError::Config(format!("invalid gateway address `{base}`: {e}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| HttpError::Config(format!("invalid header name `{name}`")))?;
            let v = HeaderValue::from_str(value.trim())
                .map_err(|_| HttpError::Config(format!("invalid value for header `{name}`")))?;
            headers.insert(n, v);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| HttpError::Config(format!("cannot build HTTP client: {e}")))?;
        let inner = Inner { base, http, config, requests: AtomicU64::new(0), by_status: Mutex::default() };
        Ok(Client { inner: Arc::new(inner) })
    }

    /// The base URL (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// How many HTTP requests were sent so far (retries included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Requests answered so far, by HTTP status (`0` counts requests that got no answer).
    pub fn requests_by_status(&self) -> BTreeMap<u16, u64> {
        self.inner.by_status.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn count_status(&self, status: u16) {
        if let Ok(mut m) = self.inner.by_status.lock() {
            *m.entry(status).or_insert(0) += 1;
        }
    }

    /// Sends one request and returns the JSON response, retrying transient failures as the
    /// module docs say. `path` starts with `/` and may carry a query string. 4xx/5xx answers
    /// other than the transient ones are returned at once as [`HttpError::Api`].
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Response, HttpError> {
        let policy = RetryPolicy::of(&self.inner.config);
        let body = body.map(|b| ("application/json", b.to_string()));
        retrying(&policy, || self.attempt(&method, path, body.as_ref(), true)).await
    }

    /// [`Client::send`] for a write whose successful answer is not needed: a 2xx or 304
    /// answer's body is not parsed, and the status alone is returned. Failed answers carry
    /// their body in [`HttpError::Api`] as with `send`.
    pub async fn send_for_status(&self, method: Method, path: &str, body: Option<&Value>) -> Result<u16, HttpError> {
        let policy = RetryPolicy::of(&self.inner.config);
        let body = body.map(|b| ("application/json", b.to_string()));
        let answer = retrying(&policy, || self.attempt(&method, path, body.as_ref(), false)).await?;
        Ok(answer.status)
    }

    /// Sends one request whose body is `text` of `content_type` (a PEM certificate, say),
    /// with the retries and answers of [`Client::send`].
    pub async fn send_text(
        &self,
        method: Method,
        path: &str,
        content_type: &'static str,
        text: &str,
    ) -> Result<Response, HttpError> {
        let policy = RetryPolicy::of(&self.inner.config);
        let body = Some((content_type, text.to_owned()));
        retrying(&policy, || self.attempt(&method, path, body.as_ref(), true)).await
    }

    /// One try of a request; `parse_success` says whether a successful answer's body is
    /// parsed (else it reads as `null`).
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&(&'static str, String)>,
        parse_success: bool,
    ) -> Result<Response, Attempt> {
        let url = format!("{}{}", self.inner.base, path);
        let mut req = self.inner.http.request(method.clone(), &url);
        if let Some((content_type, text)) = body {
            req = req.header("content-type", *content_type).body(text.clone());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{method} {path}");
        let no_answer = |e: reqwest::Error| {
            let error = HttpError::Transport { method: method.to_string(), url: url.clone(), message: error_chain(&e) };
            Attempt::Retry { error, outcome: Outcome::NoAnswer }
        };
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                self.count_status(0);
                return Err(no_answer(e));
            }
        };
        let status = resp.status();
        self.count_status(status.as_u16());
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1.0e9)
            .map(Duration::from_secs_f64);
        let bytes = resp.bytes().await.map_err(no_answer)?;
        let success = status.is_success() || status == StatusCode::NOT_MODIFIED;
        let body: Value = if bytes.is_empty() || (success && !parse_success) {
            Value::Null
        } else {
            super::json::parse(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        // Response bodies are never logged: they hold the gateway's secrets.
        tracing::debug!("{method} {path} -> {} ({} bytes)", status.as_u16(), bytes.len());
        if success {
            return Ok(Response { status: status.as_u16(), body });
        }
        let error = HttpError::Api { method: method.to_string(), path: path.to_owned(), status: status.as_u16(), body };
        match status.as_u16() {
            429 | 502 | 503 | 504 => Err(Attempt::Retry { error, outcome: Outcome::Busy(retry_after) }),
            _ => Err(Attempt::Fatal(error)),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, HttpError> {
        Ok(self.send(Method::GET, path, None).await?.body)
    }
}

/// `segment` percent-encoded for one path segment (every byte but `A-Z a-z 0-9 - . _ ~`).
pub fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn too_long(error: HttpError, after: Duration, max: Duration) -> HttpError {
    match error {
        HttpError::Api { method, path, status, mut body } => {
            let note = format!(
                "the gateway asked to retry after {} s, longer than the {} s gateform waits",
                after.as_secs(),
                max.as_secs()
            );
            if let Value::Object(m) = &mut body {
                m.insert("gateform".into(), Value::String(note));
            } else {
                body = serde_json::json!({"message": api_message(&body), "gateform": note});
            }
            HttpError::Api { method, path, status, body }
        }
        other => other,
    }
}

/// What went wrong with a request that got no answer, once: the innermost cause (the one
/// that says why: `Connection refused (os error 111)`, a DNS or TLS failure), after a word
/// on the stage (`cannot connect`, `timed out`). reqwest's outer layers only repeat the URL,
/// which the error names already.
fn error_chain(e: &reqwest::Error) -> String {
    let mut innermost = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        format!("timed out: {innermost}")
    } else if e.is_connect() {
        format!("cannot connect: {innermost}")
    } else {
        innermost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::of(&ClientConfig::new("http://x"))
    }

    #[test]
    fn the_budget_holds_with_and_without_retry_after() {
        let p = policy();
        let d = Duration::from_millis(200);
        let one = Duration::from_secs(1);
        for outcome in [Outcome::Busy(None), Outcome::Busy(Some(one))] {
            let mut retries = 0;
            while let Decision::RetryAfter(_) = p.next(outcome, retries, 0, d) {
                retries += 1;
                assert!(retries <= 5, "{outcome:?} retried past the budget");
            }
            assert_eq!(retries, 5, "{outcome:?}");
        }
        assert_eq!(p.next(Outcome::NoAnswer, 2, 2, d), Decision::GiveUp);
        assert_eq!(p.next(Outcome::Busy(Some(one)), 0, 0, d), Decision::RetryAfter(one));
        let long = Duration::from_secs(3600);
        assert_eq!(p.next(Outcome::Busy(Some(long)), 0, 0, d), Decision::TooLong(long));
    }

    fn busy(after: Option<Duration>) -> Attempt {
        let body = serde_json::json!({"message": "slow down"});
        let error = HttpError::Api { method: "PUT".into(), path: "/x".into(), status: 429, body };
        Attempt::Retry { error, outcome: Outcome::Busy(after) }
    }

    #[tokio::test(start_paused = true)]
    async fn a_gateway_that_always_says_retry_after_is_tried_six_times() {
        let start = tokio::time::Instant::now();
        let mut tries = 0;
        let result: Result<(), HttpError> = retrying(&policy(), || {
            tries += 1;
            async { Err(busy(Some(Duration::from_secs(30)))) }
        })
        .await;
        assert_eq!(result.unwrap_err().status(), Some(429));
        assert_eq!(tries, 6, "one try and five retries");
        assert_eq!(start.elapsed(), Duration::from_secs(150), "each retry waited the 30 s asked for");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_beyond_the_maximum_fails_at_once_saying_why() {
        let start = tokio::time::Instant::now();
        let mut tries = 0;
        let result: Result<(), HttpError> = retrying(&policy(), || {
            tries += 1;
            async { Err(busy(Some(Duration::from_secs(3600)))) }
        })
        .await;
        let e = result.unwrap_err();
        assert_eq!(tries, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert!(e.to_string().contains("retry after 3600 s, longer than the 60 s gateform waits"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn busy_answers_back_off_exponentially_then_succeed() {
        let start = tokio::time::Instant::now();
        let mut tries = 0;
        let result = retrying(&policy(), || {
            tries += 1;
            let n = tries;
            async move { if n < 4 { Err(busy(None)) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.unwrap(), 4);
        // Three waits of 200 ms, 400 ms and 800 ms at most (jitter only adds up to one more).
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(1400) && waited <= Duration::from_millis(2800), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_is_retried_twice_only() {
        let mut tries = 0;
        let result: Result<(), HttpError> = retrying(&policy(), || {
            tries += 1;
            async {
                let error =
                    HttpError::Transport { method: "GET".into(), url: "http://x/".into(), message: "refused".into() };
                Err(Attempt::Retry { error, outcome: Outcome::NoAnswer })
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, 3);
    }
}
