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
