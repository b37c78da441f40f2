//! The sandbox test extension (not Tyk's API), under `/_sandbox/...` on every node and from
//! Rust through [`super::TykSandbox`]:
//!
//! * `POST /_sandbox/faults` with a [`FaultRule`] (the Kong sandbox's rules: method, path
//!   exact or `prefix*`, status, body, headers, times, delay_ms) → 201 `{"id": n, ...}`;
//!   `GET` lists them, `DELETE` clears them. They apply to every node.
//! * `GET /_sandbox/stats` → `{"total": n, "by_method": {"GET": n}, "by_path": {"GET /tyk/reload": n}}`
//!   for the node asked; `DELETE` resets its counters.
//! * `POST /_sandbox/ignore-writes` with an [`IgnoreRule`] → 201: matching API or policy
//!   writes (POST, PUT, DELETE) are answered as if they succeeded and change no file, like a
//!   gateway that ignored the write (tyk-sync issue #120). `GET` lists, `DELETE` clears.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use super::reply::Reply;
use crate::kong::sandbox::FaultRule;

/// Request counters of one node, by method and path.
#[derive(Debug, Default)]
pub struct PathStats {
    counts: Mutex<BTreeMap<(String, String), u64>>,
}

impl PathStats {
    /// Counts one request.
    pub fn record(&self, method: &str, path: &str) {
        if let Ok(mut m) = self.counts.lock() {
            *m.entry((method.to_owned(), path.to_owned())).or_default() += 1;
        }
    }

    /// Every counter, keyed by `(method, path)`.
    pub fn counts(&self) -> BTreeMap<(String, String), u64> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Requests with this method and path.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.counts.lock().ok().and_then(|m| m.get(&(method.to_owned(), path.to_owned())).copied()).unwrap_or(0)
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Resets the counters.
    pub fn reset(&self) {
        if let Ok(mut m) = self.counts.lock() {
            m.clear();
        }
    }
}

/// What a write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A classic or Tyk OAS API definition.
    Api,
    /// A policy.
    Policy,
}

/// Writes the gateway answers with success but does not perform: those of `kind` (any when
/// `None`) about `id` (any when `None`), `times` times (`None` = every one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreRule {
    /// `api` or `policy`.
    #[serde(default)]
    pub kind: Option<ObjectKind>,
    /// The `api_id` or policy `id`.
    #[serde(default)]
    pub id: Option<String>,
    /// How many writes the rule swallows.
    #[serde(default)]
    pub times: Option<u32>,
}

/// The registered [`IgnoreRule`]s.
#[derive(Debug, Default)]
pub struct Ignores {
    rules: Mutex<Vec<IgnoreRule>>,
}

impl Ignores {
    /// Adds a rule.
    pub fn add(&self, rule: IgnoreRule) {
        if let Ok(mut r) = self.rules.lock() {
            r.push(rule);
        }
    }

    /// Whether a write of `kind` about `id` is to be ignored (consuming one of the rule's
    /// `times`).
    pub fn take(&self, kind: ObjectKind, id: &str) -> bool {
        let Ok(mut rules) = self.rules.lock() else {
            return false;
        };
        let Some(i) =
            rules.iter().position(|r| r.kind.is_none_or(|k| k == kind) && r.id.as_deref().is_none_or(|x| x == id))
        else {
            return false;
        };
        if let Some(t) = &mut rules[i].times {
            *t = t.saturating_sub(1);
            if *t == 0 {
                rules.remove(i);
            }
        }
        true
    }

    fn list(&self) -> Vec<IgnoreRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn clear(&self) {
        if let Ok(mut r) = self.rules.lock() {
            r.clear();
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| Reply::error(StatusCode::BAD_REQUEST, &format!("invalid sandbox rule: {e}")))
}

/// Serves `/_sandbox/<rest>` on node `node`.
pub fn handle(shared: &Shared, node: usize, method: &str, rest: &[&str], body: &[u8]) -> Reply {
    match (rest, method) {
        (["faults"], "GET") => {
            let rules: Vec<Value> = shared
                .faults
                .list()
                .into_iter()
                .map(|(id, r)| {
                    let mut v = serde_json::to_value(r).unwrap_or(json!({}));
                    v["id"] = json!(id);
                    v
                })
                .collect();
            Reply::json(StatusCode::OK, json!({"data": rules}))
        }
        (["faults"], "POST") => match parse::<FaultRule>(body) {
            Ok(rule) => {
                let id = shared.faults.add(rule.clone());
                let mut v = serde_json::to_value(rule).unwrap_or(json!({}));
                v["id"] = json!(id);
                Reply::json(StatusCode::CREATED, v)
            }
            Err(r) => r,
        },
        (["faults"], "DELETE") => {
            shared.faults.clear();
            Reply::empty(StatusCode::NO_CONTENT)
        }
        (["stats"], "GET") => {
            let counts = shared.nodes.get(node).map(|n| n.stats.counts()).unwrap_or_default();
            let mut by_method: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_path: BTreeMap<String, u64> = BTreeMap::new();
            for ((m, p), n) in &counts {
                *by_method.entry(m.clone()).or_default() += n;
                by_path.insert(format!("{m} {p}"), *n);
            }
            let total: u64 = by_method.values().sum();
            Reply::json(StatusCode::OK, json!({"total": total, "by_method": by_method, "by_path": by_path}))
        }
        (["stats"], "DELETE") => {
            if let Some(n) = shared.nodes.get(node) {
                n.stats.reset();
            }
            Reply::empty(StatusCode::NO_CONTENT)
        }
        (["ignore-writes"], "GET") => Reply::json(StatusCode::OK, json!({"data": shared.ignores.list()})),
        (["ignore-writes"], "POST") => match parse::<IgnoreRule>(body) {
            Ok(rule) => {
                shared.ignores.add(rule.clone());
                Reply::json(StatusCode::CREATED, serde_json::to_value(rule).unwrap_or(json!({})))
            }
            Err(r) => r,
        },
        (["ignore-writes"], "DELETE") => {
            shared.ignores.clear();
            Reply::empty(StatusCode::NO_CONTENT)
        }
        (["faults" | "stats" | "ignore-writes"], _) => Reply::method_not_supported(),
        _ => Reply::not_found_page(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_rules_match_kind_and_id_and_run_out() {
        let ig = Ignores::default();
        ig.add(IgnoreRule { kind: Some(ObjectKind::Api), id: Some("a".into()), times: Some(1) });
        assert!(!ig.take(ObjectKind::Policy, "a"));
        assert!(!ig.take(ObjectKind::Api, "b"));
        assert!(ig.take(ObjectKind::Api, "a"));
        assert!(!ig.take(ObjectKind::Api, "a"));
        ig.add(IgnoreRule { kind: None, id: None, times: None });
        assert!(ig.take(ObjectKind::Policy, "x") && ig.take(ObjectKind::Api, "y"));
    }
}
