//! The REST calls behind a sticky comment, on GitHub (issue comments of a pull request:
//! `GET|POST /repos/{owner}/{repo}/issues/{number}/comments`, `PATCH|DELETE
//! /repos/{owner}/{repo}/issues/comments/{id}`, token as `Authorization: Bearer`) and GitLab
//! (merge-request notes: `GET|POST /projects/{id}/merge_requests/{iid}/notes`, `PUT|DELETE
//! .../notes/{note_id}`, token as `PRIVATE-TOKEN`).
//!
//! Transient failures are retried with the gateway client's policy
//! ([`crate::gateway::http::retrying`]): no answer, 500 and 502-504, 429, and the rate-limit
//! 403 both forges send (GitHub's secondary limit with `Retry-After`, its primary limit with
//! `x-ratelimit-remaining: 0` and `x-ratelimit-reset`; GitLab's `RateLimit-Reset`). A wait
//! is honoured up to 60 s; a longer one fails at once, saying how long. A 401, 403 or 404 is
//! explained: what the forge means by it and what to change. The token never appears in an
//! error or a log line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::{Provider, PullRequest, VcsError};
use crate::gateway::http::{Attempt, Outcome, RetryPolicy, retrying};
use crate::gateway::{HttpError, api_message, install_crypto_provider, path_segment};

/// Comments per page when listing (both forges' maximum).
const PER_PAGE: usize = 100;
/// Pages listed at most (10,000 comments).
const MAX_PAGES: usize = 100;

/// One comment (GitHub) or note (GitLab) of the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// Its Markdown body.
    pub body: String,
}

/// A client for the comments of one pull request.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pr: PullRequest,
    token: String,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("pr", &self.pr).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `pr` with `token`; each request times out after `timeout`. Retries: 4
    /// in all (2 after no answer), from 500 ms doubling to 8 s, `Retry-After` up to 60 s.
    pub fn new(pr: PullRequest, token: String, timeout: Duration) -> Result<Client, VcsError> {
        install_crypto_provider();
        if token.trim().is_empty() {
            return Err(VcsError::Config(format!("{} is empty", pr.provider.token_variable())));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("gateform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VcsError::Config(format!("cannot build the HTTP client: {e}")))?;
        let policy = RetryPolicy {
            max_retries: 4,
            transport_retries: 2,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        };
        Ok(Client { http, pr, token: token.trim().to_owned(), policy })
    }

    /// The pull request.
    pub fn pull_request(&self) -> &PullRequest {
        &self.pr
    }

    /// Every comment of the pull request, oldest first (GitLab's system notes left out).
    pub async fn list(&self) -> Result<Vec<Comment>, VcsError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let query = match self.pr.provider {
                Provider::GitHub => format!("?per_page={PER_PAGE}&page={page}"),
                Provider::GitLab => format!("?per_page={PER_PAGE}&page={page}&sort=asc&order_by=created_at"),
            };
            let body = self.send(Method::GET, &format!("{}{query}", self.collection()), None).await?;
            let items = body.as_array().cloned().unwrap_or_default();
            for item in &items {
                if item.get("system").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let (Some(id), Some(body)) = (item.get("id").and_then(Value::as_u64), item.get("body")) {
                    out.push(Comment { id, body: body.as_str().unwrap_or_default().to_owned() });
                }
            }
            if items.len() < PER_PAGE {
                break;
            }
        }
        Ok(out)
    }

    /// Posts a new comment; its id.
    pub async fn create(&self, body: &str) -> Result<u64, VcsError> {
        let answer = self.send(Method::POST, &self.collection(), Some(&json!({"body": body}))).await?;
        answer.get("id").and_then(Value::as_u64).ok_or_else(|| {
            VcsError::Refused(format!("{} answered a new comment without its id", self.pr.provider.product()))
        })
    }

    /// Replaces the body of comment `id`.
    pub async fn update(&self, id: u64, body: &str) -> Result<(), VcsError> {
        let method = match self.pr.provider {
            Provider::GitHub => Method::PATCH,
            Provider::GitLab => Method::PUT,
        };
        self.send(method, &self.item(id), Some(&json!({"body": body}))).await.map(drop)
    }

    /// Deletes comment `id` (one already gone counts as deleted).
    pub async fn delete(&self, id: u64) -> Result<(), VcsError> {
        match self.send(Method::DELETE, &self.item(id), None).await {
            Err(VcsError::Refused(m)) if m.starts_with("404:") => Ok(()),
            other => other.map(drop),
        }
    }

    /// The path of the pull request's comments.
    fn collection(&self) -> String {
        match self.pr.provider {
            Provider::GitHub => format!("/repos/{}/issues/{}/comments", self.repo_path(), self.pr.number),
            Provider::GitLab => {
                format!("/projects/{}/merge_requests/{}/notes", path_segment(&self.pr.repository), self.pr.number)
            }
        }
    }

    /// The path of one comment.
    fn item(&self, id: u64) -> String {
        match self.pr.provider {
            Provider::GitHub => format!("/repos/{}/issues/comments/{id}", self.repo_path()),
            Provider::GitLab => format!("{}/{id}", self.collection()),
        }
    }

    fn repo_path(&self) -> String {
        self.pr.repository.split('/').map(path_segment).collect::<Vec<_>>().join("/")
    }

    /// Sends one request with retries; the JSON answer, or the failure explained.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, VcsError> {
        let result = retrying(&self.policy, || self.attempt(&method, path, body)).await;
        result.map_err(|e| self.explain(e))
    }

    async fn attempt(&self, method: &Method, path: &str, body: Option<&Value>) -> Result<Value, Attempt> {
        let url = format!("{}{path}", self.pr.api_url);
        let mut req = self.http.request(method.clone(), &url);
        req = match self.pr.provider {
            Provider::GitHub => req
                .bearer_auth(&self.token)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28"),
            Provider::GitLab => req.header("private-token", &self.token),
        };
        if let Some(body) = body {
            req = req.json(body);
        }
        tracing::debug!("{method} {path}");
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let message = if e.is_timeout() { "timed out".to_owned() } else { "no answer".to_owned() };
                let error = HttpError::Transport { method: method.to_string(), url: url.clone(), message };
                return Err(Attempt::Retry { error, outcome: Outcome::NoAnswer });
            }
        };
        let status = resp.status().as_u16();
        let wait = rate_limit_wait(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or(if text.is_empty() { Value::Null } else { Value::String(text) });
        tracing::debug!("{method} {path} -> {status}");
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let error = HttpError::Api { method: method.to_string(), path: path.to_owned(), status, body };
        let limited = status == 429 || (status == 403 && wait.is_some());
        match status {
            _ if limited => Err(Attempt::Retry { error, outcome: Outcome::Busy(wait) }),
            500 | 502 | 503 | 504 => Err(Attempt::Retry { error, outcome: Outcome::Busy(None) }),
            _ => Err(Attempt::Fatal(error)),
        }
    }

    /// What a failure means, and what to do about it. Refusals start with their status
    /// (`401: ...`).
    fn explain(&self, e: HttpError) -> VcsError {
        let (product, var, label) = (self.pr.provider.product(), self.pr.provider.token_variable(), self.pr.label());
        let HttpError::Api { method, path, status, body } = e else {
            return VcsError::Unavailable(format!("cannot reach {product} at {} after retries: {e}", self.pr.api_url));
        };
        let said = api_message(&body);
        if let Some(note) = body.get("gateform").and_then(Value::as_str) {
            let note = note.replace("the gateway", product);
            return VcsError::Unavailable(format!(
                "{product} rate-limits this token (HTTP {status} on {method} {path}: {said}); {note}, so the \
                 comment was not posted. Run the job again later."
            ));
        }
        let hint = match (status, self.pr.provider) {
            (401, Provider::GitHub) => format!(
                "{product} does not accept the token in {var} (missing, expired or revoked). In GitHub Actions \
                 pass it to the step: `env: {var}: ${{{{ github.token }}}}`."
            ),
            (401, Provider::GitLab) => format!(
                "{product} does not accept the token in {var} (missing, expired or revoked). Use a project or \
                 personal access token with the `api` scope (a CI job token cannot write notes)."
            ),
            (403, Provider::GitHub) => format!(
                "the token may not comment on {label}. Give the workflow `permissions: pull-requests: write` \
                 (and `issues: write`); a pull request from a fork gets a read-only token."
            ),
            (403, Provider::GitLab) => format!(
                "the token may not write notes on {label}: its user needs at least the Reporter role in the \
                 project, and the token the `api` scope."
            ),
            (404, _) => format!(
                "{label} was not found. Check --comment-repository and --comment-pr; {product} also answers 404 \
                 when the token cannot see a private repository."
            ),
            _ => format!("{product} refused the request."),
        };
        VcsError::Refused(format!("{status}: {method} {path}: HTTP {status} {said}\n{hint}"))
    }
}

/// How long a rate-limited answer asks to wait: `Retry-After` (seconds), else the reset
/// time of an exhausted limit (`x-ratelimit-remaining: 0` + `x-ratelimit-reset`, epoch
/// seconds; GitLab's `RateLimit-Remaining` / `RateLimit-Reset`).
fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let number =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(after) = number("retry-after") {
        return Some(Duration::from_secs(after));
    }
    let exhausted = number("x-ratelimit-remaining").or_else(|| number("ratelimit-remaining")) == Some(0);
    let reset = number("x-ratelimit-reset").or_else(|| number("ratelimit-reset"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    exhausted.then(|| Duration::from_secs(reset.saturating_sub(now).max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_limit_waits() {
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(&h), None);
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&(now + 30).to_string()).unwrap());
        let wait = rate_limit_wait(&h).unwrap();
        assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("12"));
        assert_eq!(rate_limit_wait(&h), None, "a limit not exhausted is a plain 403");
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(7)));
    }
}
