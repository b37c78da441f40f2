//! The `[watch]` table of `gateform.toml` and its per-environment overrides
//! (`[environments.NAME.watch]`): how `gateform watch` follows each environment.
//!
//! ```toml
//! [watch]
//! listen = "127.0.0.1:9420"
//! poll_interval = "60s"          # or an integer of seconds
//! jitter = "10%"                 # each wait is poll_interval ± jitter
//! drift_interval = "5m"
//! drift = "correct"              # or "warn": only report
//! max_destroy = 50               # or a share of the entities in scope: "20%"
//! allow_empty = false            # refuse a plan that deletes everything
//! suspend = false
//! control_token = "${GATEFORM_CONTROL_TOKEN}"   # bearer token of /environments/NAME/suspend
//!
//! [watch.webhooks]
//! github_secret = "${GITHUB_WEBHOOK_SECRET}"
//! gitlab_token = "${GITLAB_WEBHOOK_TOKEN}"
//! generic_secret = "${GATEFORM_WEBHOOK_SECRET}"
//!
//! [[watch.notifications]]
//! url = "https://hooks.example/gateform"
//! secret = "${NOTIFY_SECRET}"
//! events = ["applied", "failed", "guard_refused"]   # default: every kind
//!
//! [watch.commit_status]
//! provider = "github"            # or "gitlab"
//! repository = "acme/gateway-config"
//! token = "${GITHUB_TOKEN}"
//! base_url = "https://api.github.com"
//!
//! [environments.prod.watch]
//! ref = "release"
//! drift = "warn"
//! max_destroy = "10%"
//! ```
//!
//! The per-environment table takes the policy keys (`ref`, `poll_interval`, `jitter`,
//! `drift_interval`, `drift`, `max_destroy`, `allow_empty`, `suspend`) and overrides
//! `[watch]`'s; the process-wide keys (`listen`, `control_token`, `webhooks`,
//! `notifications`, `commit_status`) belong in `[watch]` only. Secrets (`control_token`,
//! webhook secrets, notification `secret`, commit-status `token`) must be exactly one
//! `${VARIABLE}` reference; a literal value is refused with its place.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Settings, SettingsError, expand, origin, references};
use crate::source::diag::Diagnostic;
use crate::source::inputs::Input;

/// Default of `poll_interval`: 60 s (Argo CD's `timeout.reconciliation` is 180 s, Flux's
/// `GitRepository.interval` is user-set; 60 s keeps a merge under two minutes from live).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Default of `jitter`: 10 % of the poll interval each way.
pub const DEFAULT_JITTER: f64 = 0.1;
/// Default of `drift_interval`: 5 minutes.
pub const DEFAULT_DRIFT_INTERVAL: Duration = Duration::from_secs(300);
/// Default of `max_destroy`: 50 entities.
pub const DEFAULT_MAX_DESTROY: usize = 50;
/// Default of `listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9420";

/// What a drift check does with the drift it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriftMode {
    /// Apply the plan that heals it (Argo CD's self-heal).
    #[default]
    Correct,
    /// Only report it (status OutOfSync, a metric, a notification).
    Warn,
}

/// The destroy guard: the largest number of deletions one apply may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxDestroy {
    /// At most this many entities.
    Count(usize),
    /// At most this share (0–100) of the entities in scope on the gateway, rounded down.
    Percent(u8),
}

impl MaxDestroy {
    /// The limit for a gateway holding `live` entities in scope.
    pub fn limit(self, live: usize) -> usize {
        match self {
            MaxDestroy::Count(n) => n,
            MaxDestroy::Percent(p) => live * usize::from(p) / 100,
        }
    }
}

impl fmt::Display for MaxDestroy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxDestroy::Count(n) => write!(f, "{n}"),
            MaxDestroy::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// How the daemon follows one environment: `[watch]` with `[environments.NAME.watch]` over it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchPolicy {
    /// The branch followed; `None`: the one given on the command line, else `HEAD`.
    pub reference: Option<String>,
    /// Time between two polls of the branch.
    pub poll_interval: Duration,
    /// Share of `poll_interval` (0.0–0.5) each wait may be shorter or longer, at random.
    pub jitter: f64,
    /// Time between two drift checks of the applied commit.
    pub drift_interval: Duration,
    /// Correct or only report drift.
    pub drift: DriftMode,
    /// The destroy guard.
    pub max_destroy: MaxDestroy,
    /// Whether a plan that deletes every entity in scope may be applied (Argo's `allowEmpty`).
    pub allow_empty: bool,
    /// Whether the environment starts suspended (no plan, no apply until resumed).
    pub suspend: bool,
}

impl Default for WatchPolicy {
    fn default() -> Self {
        WatchPolicy {
            reference: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            jitter: DEFAULT_JITTER,
            drift_interval: DEFAULT_DRIFT_INTERVAL,
            drift: DriftMode::Correct,
            max_destroy: MaxDestroy::Count(DEFAULT_MAX_DESTROY),
            allow_empty: false,
            suspend: false,
        }
    }
}

/// A secret value from a variable; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself (for signing and comparing only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The kinds of events a notification target receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A commit (or a drift correction) was applied completely.
    Applied,
    /// An apply failed (partly or wholly).
    Failed,
    /// A drift check found drift it only reports (`drift = "warn"`, or suspended correction).
    DriftDetected,
    /// A drift check found drift and healed it.
    DriftCorrected,
    /// A guard refused a plan.
    GuardRefused,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 5] = [
        EventKind::Applied,
        EventKind::Failed,
        EventKind::DriftDetected,
        EventKind::DriftCorrected,
        EventKind::GuardRefused,
    ];

    /// The name in `gateform.toml` and in event JSON: `applied`, `failed`, `drift_detected`,
    /// `drift_corrected`, `guard_refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Applied => "applied",
            EventKind::Failed => "failed",
            EventKind::DriftDetected => "drift_detected",
            EventKind::DriftCorrected => "drift_corrected",
            EventKind::GuardRefused => "guard_refused",
        }
    }
}

/// One outgoing webhook.
#[derive(Clone, PartialEq)]
pub struct NotificationTarget {
    /// Where events are POSTed (variables expanded; it may embed a token, so it is never logged).
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Gateform-Signature-256` header.
    pub secret: Option<Secret>,
    /// The kinds sent (every kind by default).
    pub events: Vec<EventKind>,
}

impl fmt::Debug for NotificationTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationTarget").field("events", &self.events).finish_non_exhaustive()
    }
}

/// Which forge receives commit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// GitHub's REST API (`POST /repos/{owner}/{repo}/statuses/{sha}`).
    GitHub,
    /// GitLab's REST API (`POST /api/v4/projects/{id}/statuses/{sha}`).
    GitLab,
}

/// `[watch.commit_status]`: a status on each commit the daemon applies (or fails to).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitStatusSettings {
    /// GitHub or GitLab.
    pub forge: Forge,
    /// `owner/name` on GitHub; the project's id or `group/project` path on GitLab.
    pub repository: String,
    /// The API token (GitHub: `Authorization: Bearer`; GitLab: `PRIVATE-TOKEN`).
    pub token: Secret,
    /// The API's base URL: `https://api.github.com` or `https://gitlab.com` by default.
    pub base_url: String,
}

/// The process-wide part of `[watch]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchSettings {
    /// The address of the HTTP endpoints and webhooks.
    pub listen: Option<SocketAddr>,
    /// Bearer token of `POST /environments/{name}/suspend` and `/resume` (disabled without one).
    pub control_token: Option<Secret>,
    /// `X-Hub-Signature-256` key of GitHub push webhooks.
    pub github_secret: Option<Secret>,
    /// `X-Gitlab-Token` value of GitLab push webhooks.
    pub gitlab_token: Option<Secret>,
    /// `X-Gateform-Signature-256` key of the generic webhook.
    pub generic_secret: Option<Secret>,
    /// Outgoing webhooks.
    pub notifications: Vec<NotificationTarget>,
    /// Commit statuses.
    pub commit_status: Option<CommitStatusSettings>,
    /// Every secret value met (expanded variables of URLs included), for the output scrubber.
    pub secret_values: Vec<Secret>,
}

/// `[watch]` and `[environments.NAME.watch]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatch {
    #[serde(rename = "ref")]
    reference: Option<Spanned<String>>,
    poll_interval: Option<Spanned<toml::Value>>,
    jitter: Option<Spanned<String>>,
    drift_interval: Option<Spanned<toml::Value>>,
    drift: Option<Spanned<String>>,
    max_destroy: Option<Spanned<toml::Value>>,
    allow_empty: Option<bool>,
    suspend: Option<bool>,
    listen: Option<Spanned<String>>,
    control_token: Option<Spanned<String>>,
    webhooks: Option<Spanned<RawWebhooks>>,
    notifications: Option<Spanned<Vec<RawNotification>>>,
    commit_status: Option<Spanned<RawCommitStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhooks {
    github_secret: Option<Spanned<String>>,
    gitlab_token: Option<Spanned<String>>,
    generic_secret: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotification {
    url: Spanned<String>,
    secret: Option<Spanned<String>>,
    events: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommitStatus {
    provider: Spanned<String>,
    repository: Spanned<String>,
    token: Spanned<String>,
    base_url: Option<Spanned<String>>,
}

type At<'a> = &'a dyn Fn(Option<Range<usize>>, String) -> SettingsError;

/// Checks a watch table; `what` names it (`[watch]`, `[environments.prod.watch]`);
/// `top` is whether process-wide keys are allowed.
pub(super) fn check(raw: &RawWatch, what: &str, top: bool, at: At<'_>) -> Result<(), SettingsError> {
    let mut policy = WatchPolicy::default();
    apply_policy(&mut policy, raw, what, at)?;
    if !top {
        let spans = [
            ("listen", raw.listen.as_ref().map(Spanned::span)),
            ("control_token", raw.control_token.as_ref().map(Spanned::span)),
            ("webhooks", raw.webhooks.as_ref().map(Spanned::span)),
            ("notifications", raw.notifications.as_ref().map(Spanned::span)),
            ("commit_status", raw.commit_status.as_ref().map(Spanned::span)),
        ];
        if let Some((key, span)) = spans.into_iter().find(|(_, s)| s.is_some()) {
            return Err(at(span, format!("`{key}` is process-wide: set it in [watch], not in {what}")));
        }
        return Ok(());
    }
    if let Some(l) = &raw.listen {
        l.get_ref().parse::<SocketAddr>().map_err(|_| {
            at(Some(l.span()), format!("listen of {what} must be an address like \"{DEFAULT_LISTEN}\""))
        })?;
    }
    let mut secrets: Vec<(&Spanned<String>, String)> = Vec::new();
    if let Some(t) = &raw.control_token {
        secrets.push((t, "control_token".into()));
    }
    if let Some(w) = &raw.webhooks {
        let w = w.get_ref();
        for (v, name) in [
            (&w.github_secret, "github_secret"),
            (&w.gitlab_token, "gitlab_token"),
            (&w.generic_secret, "generic_secret"),
        ] {
            if let Some(v) = v {
                secrets.push((v, format!("webhooks.{name}")));
            }
        }
    }
    for (i, n) in raw.notifications.iter().flat_map(|n| n.get_ref().iter()).enumerate() {
        let refs =
            references(n.url.get_ref()).map_err(|m| at(Some(n.url.span()), format!("notifications[{i}].url: {m}")))?;
        if refs.is_empty() {
            check_url(n.url.get_ref()).map_err(|m| at(Some(n.url.span()), format!("notifications[{i}].url: {m}")))?;
        }
        if let Some(s) = &n.secret {
            secrets.push((s, format!("notifications[{i}].secret")));
        }
        for e in n.events.iter().flatten() {
            event_kind(e.get_ref()).ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                at(
                    Some(e.span()),
                    format!("unknown event {:?} in notifications[{i}]: use {}", e.get_ref(), known.join(", ")),
                )
            })?;
        }
    }
    if let Some(c) = &raw.commit_status {
        let c = c.get_ref();
        forge(c.provider.get_ref()).ok_or_else(|| {
            at(Some(c.provider.span()), "commit_status.provider must be \"github\" or \"gitlab\"".into())
        })?;
        if c.repository.get_ref().trim().is_empty() {
            return Err(at(Some(c.repository.span()), "commit_status.repository is empty".into()));
        }
        if let Some(b) = &c.base_url {
            check_url(b.get_ref()).map_err(|m| at(Some(b.span()), format!("commit_status.base_url: {m}")))?;
        }
        secrets.push((&c.token, "commit_status.token".into()));
    }
    for (value, key) in secrets {
        check_secret(value, &key, what, at)?;
    }
    Ok(())
}

/// A secret must be exactly `${NAME}`.
fn check_secret(value: &Spanned<String>, key: &str, what: &str, at: At<'_>) -> Result<(), SettingsError> {
    let refs = references(value.get_ref()).map_err(|m| at(Some(value.span()), format!("{key} of {what}: {m}")))?;
    if refs.len() == 1 && value.get_ref() == &format!("${{{}}}", refs[0]) {
        return Ok(());
    }
    let var = format!("GATEFORM_{}", key.rsplit('.').next().unwrap_or(key).to_ascii_uppercase());
    Err(at(
        Some(value.span()),
        format!(
            "{key} of {what} must be a variable reference like \"${{{var}}}\": secrets are not written in {}",
            super::FILE_NAME
        ),
    ))
}

fn check_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(format!("scheme {:?} is not http or https", u.scheme())),
        Err(e) => Err(format!("not a URL ({e})")),
    }
}

fn event_kind(name: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == name)
}

fn forge(name: &str) -> Option<Forge> {
    match name {
        "github" => Some(Forge::GitHub),
        "gitlab" => Some(Forge::GitLab),
        _ => None,
    }
}

/// Sets the policy keys `raw` gives over `policy`.
fn apply_policy(policy: &mut WatchPolicy, raw: &RawWatch, what: &str, at: At<'_>) -> Result<(), SettingsError> {
    if let Some(r) = &raw.reference {
        if r.get_ref().trim().is_empty() {
            return Err(at(Some(r.span()), format!("ref of {what} is empty")));
        }
        policy.reference = Some(r.get_ref().clone());
    }
    if let Some(v) = &raw.poll_interval {
        policy.poll_interval = duration(v, "poll_interval", what, at)?;
    }
    if let Some(v) = &raw.drift_interval {
        policy.drift_interval = duration(v, "drift_interval", what, at)?;
    }
    if let Some(j) = &raw.jitter {
        let p = percent(j.get_ref()).filter(|p| *p <= 50);
        let p = p.ok_or_else(|| {
            at(Some(j.span()), format!("jitter of {what} must be a percentage from \"0%\" to \"50%\""))
        })?;
        policy.jitter = f64::from(p) / 100.0;
    }
    if let Some(d) = &raw.drift {
        policy.drift = match d.get_ref().as_str() {
            "correct" => DriftMode::Correct,
            "warn" => DriftMode::Warn,
            _ => return Err(at(Some(d.span()), format!("drift of {what} must be \"correct\" or \"warn\""))),
        };
    }
    if let Some(m) = &raw.max_destroy {
        let bad = || {
            at(Some(m.span()), format!("max_destroy of {what} must be a count like 50 or a percentage like \"20%\""))
        };
        policy.max_destroy = match m.get_ref() {
            toml::Value::Integer(n) => MaxDestroy::Count(usize::try_from(*n).map_err(|_| bad())?),
            toml::Value::String(s) => MaxDestroy::Percent(percent(s).filter(|p| *p <= 100).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
    }
    if let Some(a) = raw.allow_empty {
        policy.allow_empty = a;
    }
    if let Some(s) = raw.suspend {
        policy.suspend = s;
    }
    Ok(())
}

/// `"20%"` → 20.
fn percent(text: &str) -> Option<u8> {
    text.trim().strip_suffix('%')?.trim().parse().ok()
}

/// An integer of seconds or a text like `"90s"`, `"5m"`, `"1h 30m"`; at least one second.
pub(super) fn duration(v: &Spanned<toml::Value>, key: &str, what: &str, at: At<'_>) -> Result<Duration, SettingsError> {
    let d = match v.get_ref() {
        toml::Value::Integer(n) if *n >= 1 => Some(Duration::from_secs(*n as u64)),
        toml::Value::String(s) => humantime::parse_duration(s).ok(),
        _ => None,
    };
    d.filter(|d| *d >= Duration::from_secs(1)).ok_or_else(|| {
        at(
            Some(v.span()),
            format!("{key} of {what} must be at least one second, as seconds (60) or a text like \"90s\" or \"5m\""),
        )
    })
}

impl Settings {
    /// The process-wide part of `[watch]`, with `${NAME}` references expanded by `vars`.
    /// Errors: an unset variable, with its place.
    pub fn watch(&self, vars: &dyn Fn(&str) -> Option<String>) -> Result<WatchSettings, SettingsError> {
        let raw = &self.watch;
        let mut out = WatchSettings::default();
        let seen = std::cell::RefCell::new(Vec::new());
        let expand = |v: &Spanned<String>, what: &str| -> Result<String, SettingsError> {
            let text = expand(v.get_ref(), &|name| {
                let value = vars(name);
                if let Some(value) = &value {
                    seen.borrow_mut().push(value.clone());
                }
                value
            })
            .map_err(|var| {
                let input = Input::new(self.file.clone(), self.text.clone());
                SettingsError::UnsetVariable(Diagnostic::error(
                    Some(origin(&input, v.span().start)),
                    format!("{what} of [watch] uses ${{{var}}}, which is not set"),
                ))
            })?;
            Ok(text)
        };
        out.listen = raw.listen.as_ref().and_then(|l| l.get_ref().parse().ok());
        out.control_token = raw.control_token.as_ref().map(|t| expand(t, "control_token")).transpose()?.map(Secret);
        if let Some(w) = &raw.webhooks {
            let w = w.get_ref();
            out.github_secret =
                w.github_secret.as_ref().map(|s| expand(s, "webhooks.github_secret")).transpose()?.map(Secret);
            out.gitlab_token =
                w.gitlab_token.as_ref().map(|s| expand(s, "webhooks.gitlab_token")).transpose()?.map(Secret);
            out.generic_secret =
                w.generic_secret.as_ref().map(|s| expand(s, "webhooks.generic_secret")).transpose()?.map(Secret);
        }
        for (i, n) in raw.notifications.iter().flat_map(|n| n.get_ref().iter()).enumerate() {
            let url = expand(&n.url, &format!("notifications[{i}].url"))?;
            let secret =
                n.secret.as_ref().map(|s| expand(s, &format!("notifications[{i}].secret"))).transpose()?.map(Secret);
            let events = match &n.events {
                Some(list) => list.iter().filter_map(|e| event_kind(e.get_ref())).collect(),
                None => EventKind::ALL.to_vec(),
            };
            out.notifications.push(NotificationTarget { url, secret, events });
        }
        if let Some(c) = &raw.commit_status {
            let c = c.get_ref();
            let forge = forge(c.provider.get_ref()).unwrap_or(Forge::GitHub);
            let base_url = match (&c.base_url, forge) {
                (Some(b), _) => b.get_ref().trim_end_matches('/').to_owned(),
                (None, Forge::GitHub) => "https://api.github.com".to_owned(),
                (None, Forge::GitLab) => "https://gitlab.com".to_owned(),
            };
            let token = Secret(expand(&c.token, "commit_status.token")?);
            out.commit_status =
                Some(CommitStatusSettings { forge, repository: c.repository.get_ref().clone(), token, base_url });
        }
        let mut values = seen.into_inner();
        values.sort();
        values.dedup();
        out.secret_values = values.into_iter().filter(|v| !v.is_empty()).map(Secret).collect();
        Ok(out)
    }

    /// How the daemon follows environment `name`: built-in defaults, then `[watch]`, then
    /// `[environments.NAME.watch]`. Errors: an unknown environment.
    pub fn watch_policy(&self, name: &str) -> Result<WatchPolicy, SettingsError> {
        let Some(env) = self.environments.get(name) else {
            return Err(SettingsError::UnknownEnvironment {
                file: self.file.clone(),
                name: name.to_owned(),
                known: self.names(),
            });
        };
        // Both tables were checked by `parse`, so this cannot fail.
        let unreachable = |_: Option<Range<usize>>, m: String| SettingsError::Invalid(Diagnostic::error(None, m));
        let mut policy = WatchPolicy::default();
        apply_policy(&mut policy, &self.watch, "[watch]", &unreachable)?;
        if let Some(w) = &env.watch {
            apply_policy(&mut policy, w.get_ref(), name, &unreachable)?;
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests;
