//! Secrets: the placeholder shown instead of a sensitive value, the per-run [`Redactor`]
//! that scrubs known secret values from any text, and [`collect`], which finds the secret
//! values of a state through its dialect (which fields are sensitive is the dialect's to
//! say).

mod active;
mod redact;

use serde_json::Value;

pub use active::{ActiveRedactors, Registration};
pub use redact::{MIN_SCRUB_LEN, Redactor};

use crate::gateway::Dialect;
use crate::model::State;

/// Placeholder shown in place of a sensitive value.
pub const SENSITIVE: &str = "(sensitive value)";

/// The string values of every sensitive field of `state`, as `dialect` tells them.
pub fn collect(state: &State, dialect: &dyn Dialect) -> Vec<String> {
    let mut values = Vec::new();
    for e in &state.entities {
        if !dialect.may_hold_secrets(e.kind, &e.fields) {
            continue;
        }
        let sensitive = dialect.sensitivity(e.kind, &e.fields);
        for (k, v) in &e.fields {
            collect_value(v, k, &*sensitive, &mut values);
        }
    }
    values
}

fn collect_value(v: &Value, path: &str, sensitive: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                collect_value(child, &p, sensitive, out);
            }
        }
        Value::String(s) if sensitive(path) => out.push(s.clone()),
        Value::Array(items) if sensitive(path) => {
            out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        _ => {}
    }
}

/// The secret string values of `body` (an entity of `kind` as sent), whatever their length.
pub fn values_of(dialect: &(impl Dialect + ?Sized), kind: crate::model::Kind, body: &Value) -> Vec<String> {
    let Value::Object(map) = body else { return Vec::new() };
    let mut out = Vec::new();
    if dialect.may_hold_secrets(kind, map) {
        let sensitive = dialect.sensitivity(kind, map);
        for (k, v) in map {
            collect_value(v, k, &*sensitive, &mut out);
        }
    }
    out.retain(|v| !v.is_empty());
    out
}

/// The default of [`Dialect::redact_failure`]: every occurrence of a secret value of
/// `sent`, however short, in any string of `error` is replaced by [`SENSITIVE`].
pub fn redact_echoes(dialect: &(impl Dialect + ?Sized), kind: crate::model::Kind, sent: &Value, error: &mut Value) {
    let mut secrets = values_of(dialect, kind, sent);
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    replace_in(error, &secrets);
}

fn replace_in(v: &mut Value, secrets: &[String]) {
    match v {
        Value::String(s) => {
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), SENSITIVE);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace_in(i, secrets)),
        Value::Object(m) => m.values_mut().for_each(|i| replace_in(i, secrets)),
        _ => {}
    }
}
