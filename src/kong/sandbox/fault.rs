//! The sandbox test extension (not Kong API): fault injection and request counters under
//! `/_sandbox/...`, also reachable from Rust through [`super::Sandbox`].
//!
//! * `POST /_sandbox/faults` with a [`FaultRule`] → 201 `{"id": n, ...rule}`
//! * `GET /_sandbox/faults` → `{"data": [rules]}`; `DELETE /_sandbox/faults` clears them.
//! * `GET /_sandbox/stats` → `{"total": n, "by_method": {"GET": n, ...}}`; `DELETE` resets.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::body::Body;
use super::error::{ApiError, ApiResult};
use super::ops::{Ctx, Resp};

/// A fault rule: requests matching `method` (any when `None`) and `path` (exact, or a prefix
/// when it ends with `*`) are delayed by `delay_ms` and, when `status` is set, answered with
/// `status`, `body` and `headers` instead of being served. `times` limits how many requests
/// it hits (`None` = every one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match (case-insensitive); `None` matches all.
    #[serde(default)]
    pub method: Option<String>,
    /// Path to match: exact, or a prefix when it ends with `*`.
    pub path: String,
    /// Status to answer with; `None` only delays.
    #[serde(default)]
    pub status: Option<u16>,
    /// JSON body of the injected response (`null`: empty body).
    #[serde(default)]
    pub body: Option<Value>,
    /// Extra response headers (e.g. `Retry-After`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How many requests the rule hits; `None` = unlimited.
    #[serde(default)]
    pub times: Option<u32>,
    /// Delay before answering, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        let m = self.method.as_deref().is_none_or(|x| x.eq_ignore_ascii_case(method));
        let p = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path.trim_end_matches('/') == path.trim_end_matches('/'),
        };
        m && p
    }
}

/// Registered fault rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<(u64, FaultRule)>>,
    next: AtomicU64,
}

impl Faults {
    /// Adds a rule; returns its id.
    pub fn add(&self, rule: FaultRule) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut r) = self.rules.lock() {
            r.push((id, rule));
        }
        id
    }

    /// Removes every rule.
    pub fn clear(&self) {
        if let Ok(mut r) = self.rules.lock() {
            r.clear();
        }
    }

    /// The rules with their ids.
    pub fn list(&self) -> Vec<(u64, FaultRule)> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The first rule matching the request, consuming one of its `times`.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultRule> {
        if path.starts_with("/_sandbox") {
            return None;
        }
        let mut rules = self.rules.lock().ok()?;
        let i = rules.iter().position(|(_, r)| r.matches(method, path))?;
        let rule = rules[i].1.clone();
        if let Some(t) = &mut rules[i].1.times {
            *t = t.saturating_sub(1);
            if *t == 0 {
                rules.remove(i);
            }
        }
        Some(rule)
    }
}

/// Request counters by method.
#[derive(Debug, Default)]
pub struct Stats {
    by_method: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts one request.
    pub fn count(&self, method: &str) {
        if let Ok(mut m) = self.by_method.lock() {
            *m.entry(method.to_owned()).or_default() += 1;
        }
    }

    /// Requests by method.
    pub fn by_method(&self) -> BTreeMap<String, u64> {
        self.by_method.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Total requests.
    pub fn total(&self) -> u64 {
        self.by_method().values().sum()
    }

    /// Resets the counters.
    pub fn reset(&self) {
        if let Ok(mut m) = self.by_method.lock() {
            m.clear();
        }
    }
}

fn rule_json(id: u64, r: &FaultRule) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(json!({}));
    v["id"] = json!(id);
    v
}

/// `/_sandbox/faults`.
pub fn handle(ctx: &Ctx<'_>, method: &str, body: &Body) -> ApiResult<Resp> {
    let faults = &ctx.inner.faults;
    match method {
        "GET" => Ok((
            StatusCode::OK,
            Some(json!({"data": faults.list().iter().map(|(i, r)| rule_json(*i, r)).collect::<Vec<_>>()})),
        )),
        "DELETE" => {
            faults.clear();
            Ok((StatusCode::NO_CONTENT, None))
        }
        _ => {
            let Body::Json(v) = body else {
                return Err(ApiError::bad_request("expected a JSON fault rule"));
            };
            let rule: FaultRule = serde_json::from_value(v.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid fault rule: {e}")))?;
            let id = faults.add(rule.clone());
            Ok((StatusCode::CREATED, Some(rule_json(id, &rule))))
        }
    }
}

/// `/_sandbox/stats`.
pub fn stats(ctx: &Ctx<'_>, method: &str) -> ApiResult<Resp> {
    if method == "DELETE" {
        ctx.inner.stats.reset();
        return Ok((StatusCode::NO_CONTENT, None));
    }
    let by = ctx.inner.stats.by_method();
    Ok((StatusCode::OK, Some(json!({"total": by.values().sum::<u64>(), "by_method": by}))))
}
