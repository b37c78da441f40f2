//! Outgoing notifications: a JSON event per applied / failed / drift detected / drift
//! corrected / guard refused, POSTed to each configured URL (HMAC-signed), and commit
//! statuses on GitHub or GitLab. Deliveries run in the background and are retried with
//! backoff; each event id is delivered at most once per target (Argo CD users' "exactly-once
//! notifications" ask, `gitops-anchors.md` §3b): a second event with the same id is dropped,
//! and retries resend the same body with the same `X-Gateform-Delivery` id so receivers can
//! deduplicate too.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::task::TaskTracker;

use super::target::Commit;
use super::webhook::{SIGNATURE_HEADER, sign};
use crate::source::environments::{CommitStatusSettings, EventKind, Forge, NotificationTarget};

/// Event ids remembered for deduplication.
const REMEMBERED: usize = 10_000;

/// Plan counts in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Counts {
    /// Entities to create.
    pub add: usize,
    /// Entities to update.
    pub change: usize,
    /// Entities to delete.
    pub destroy: usize,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Unique per event: `ENV/run/RUN_ID` for events of a recorded run, `ENV/guard/COMMIT/DIGEST`
    /// and `ENV/drift/COMMIT/DIGEST` for refusals and reported drift.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// The environment.
    pub environment: String,
    /// The commit concerned (`None`: fetching the branch failed).
    pub commit: Option<Commit>,
    /// The ledger's run id, for applies.
    pub run_id: Option<i64>,
    /// The plan's counts.
    pub plan: Counts,
    /// Per-change outcomes `{applied, failed, not_attempted}`, for applies.
    pub outcomes: Option<Value>,
    /// Why (a failure, a refusal), in one or a few lines.
    pub message: Option<String>,
    /// When, RFC 3339 (UTC).
    pub time: String,
}

/// How deliveries are retried: `attempts` tries, waiting `base`, 2×`base`, ... up to `cap`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries per delivery, the first included.
    pub attempts: u32,
    /// The first wait.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 6 tries over about a minute: 2 s, 4 s, 8 s, 16 s, 30 s.
    fn default() -> Self {
        RetryPolicy { attempts: 6, base: Duration::from_secs(2), cap: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait before try `n + 1` after `n` failed tries.
    pub fn wait(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(self.cap).min(self.cap)
    }
}

struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// Remembers `id`; false when it was already there.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// Sends events and commit statuses in the background.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    targets: Vec<NotificationTarget>,
    commit_status: Option<CommitStatusSettings>,
    retry: RetryPolicy,
    seen: Mutex<Seen>,
    tasks: TaskTracker,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("targets", &self.inner.targets.len()).finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier for `targets` and (optionally) commit statuses, sending with `http`.
    pub fn new(
        http: reqwest::Client,
        targets: Vec<NotificationTarget>,
        commit_status: Option<CommitStatusSettings>,
        retry: RetryPolicy,
    ) -> Self {
        let seen = Mutex::new(Seen { set: HashSet::new(), order: VecDeque::new() });
        Notifier { inner: Arc::new(Inner { http, targets, commit_status, retry, seen, tasks: TaskTracker::new() }) }
    }

    /// Queues `event` for every target subscribed to its kind, and a commit status for
    /// applied, failed and refused commits. An id already sent is ignored; returns whether
    /// the event was queued.
    pub fn send(&self, event: Event) -> bool {
        let fresh = match self.inner.seen.lock() {
            Ok(mut s) => s.insert(&event.id),
            Err(p) => p.into_inner().insert(&event.id),
        };
        if !fresh {
            tracing::debug!(event = %event.id, "notification already sent; not sending it again");
            return false;
        }
        let body = match serde_json::to_vec(&event) {
            Ok(b) => Arc::new(b),
            Err(_) => return false,
        };
        for (i, target) in self.inner.targets.iter().enumerate() {
            if !target.events.contains(&event.kind) {
                continue;
            }
            let inner = Arc::clone(&self.inner);
            let (body, id, kind) = (Arc::clone(&body), event.id.clone(), event.kind);
            self.inner.tasks.spawn(async move { inner.deliver_event(i, &id, kind, &body).await });
        }
        if let Some(status) = commit_state(&event)
            && self.inner.commit_status.is_some()
        {
            let inner = Arc::clone(&self.inner);
            self.inner.tasks.spawn(async move { inner.deliver_status(&event, status).await });
        }
        true
    }

    /// Waits for queued deliveries to finish, at most `timeout`; returns whether all did.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.inner.tasks.close();
        let done = tokio::time::timeout(timeout, self.inner.tasks.wait()).await.is_ok();
        self.inner.tasks.reopen();
        done
    }
}

/// `success` / `failure` for events that deserve a commit status.
fn commit_state(event: &Event) -> Option<bool> {
    event.commit.as_ref()?;
    match event.kind {
        EventKind::Applied => Some(true),
        EventKind::Failed | EventKind::GuardRefused => Some(false),
        EventKind::DriftDetected | EventKind::DriftCorrected => None,
    }
}

impl Inner {
    async fn deliver_event(&self, target: usize, id: &str, kind: EventKind, body: &Arc<Vec<u8>>) {
        let Some(t) = self.targets.get(target) else { return };
        let host = url::Url::parse(&t.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let build = || {
            let mut req = self
                .http
                .post(&t.url)
                .header("content-type", "application/json")
                .header("user-agent", concat!("gateform/", env!("CARGO_PKG_VERSION")))
                .header("x-gateform-event", kind.as_str())
                .header("x-gateform-delivery", id)
                .body(body.as_ref().clone());
            if let Some(secret) = &t.secret {
                req = req.header(SIGNATURE_HEADER, sign(secret, body));
            }
            req
        };
        self.retry(&format!("notification {id} to {host}"), build).await;
    }

    async fn deliver_status(&self, event: &Event, success: bool) {
        let (Some(cs), Some(commit)) = (&self.commit_status, &event.commit) else { return };
        let context = format!("gateform/{}", event.environment);
        let mut description = match (&event.message, success) {
            (_, true) => format!("applied to {}", event.environment),
            (Some(m), false) => format!("{}: {}", event.kind.as_str(), m.lines().next().unwrap_or_default()),
            (None, false) => event.kind.as_str().to_owned(),
        };
        // GitHub refuses descriptions over 140 characters.
        if description.chars().count() > 140 {
            description = description.chars().take(139).collect::<String>() + "…";
        }
        let sha = &commit.id;
        let build = || match cs.forge {
            Forge::GitHub => self
                .http
                .post(format!("{}/repos/{}/statuses/{sha}", cs.base_url, cs.repository))
                .header("authorization", format!("Bearer {}", cs.token.expose()))
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .header("user-agent", concat!("gateform/", env!("CARGO_PKG_VERSION")))
                .json(&json!({
                    "state": if success { "success" } else { "failure" },
                    "context": context,
                    "description": description,
                })),
            Forge::GitLab => {
                let project: String = url::form_urlencoded::byte_serialize(cs.repository.as_bytes()).collect();
                self.http
                    .post(format!("{}/api/v4/projects/{project}/statuses/{sha}", cs.base_url))
                    .header("private-token", cs.token.expose())
                    .header("user-agent", concat!("gateform/", env!("CARGO_PKG_VERSION")))
                    .json(&json!({
                        "state": if success { "success" } else { "failed" },
                        "name": context,
                        "description": description,
                    }))
            }
        };
        self.retry(&format!("commit status of {} for {}", commit.short(), event.environment), build).await;
    }

    /// Sends until a 2xx answer or the tries run out; logs the outcome.
    async fn retry(&self, what: &str, build: impl Fn() -> reqwest::RequestBuilder) {
        for n in 1..=self.retry.attempts.max(1) {
            let error = match build().timeout(Duration::from_secs(10)).send().await {
                Ok(r) if r.status().is_success() => {
                    tracing::info!("sent {what}");
                    return;
                }
                Ok(r) => format!("HTTP {}", r.status().as_u16()),
                Err(e) => format!("no answer ({})", without_url(&e)),
            };
            if n == self.retry.attempts.max(1) {
                tracing::warn!("giving up on {what} after {n} tries: {error}");
                return;
            }
            let wait = self.retry.wait(n);
            tracing::warn!("{what} failed ({error}); retrying in {}s", wait.as_secs_f64());
            tokio::time::sleep(wait).await;
        }
    }
}

/// What went wrong with a request, without its URL (a notification URL may embed a token).
fn without_url(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}
