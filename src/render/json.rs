//! The machine-readable plan: one JSON document, described by `schemas/plan.schema.json`.
//!
//! Wire format (version `2`; version `1` quoted the names in `key`: `"\"svc-a\""`):
//!
//! ```json
//! {
//!   "format_version": "2",
//!   "summary": {"add": 1, "change": 0, "destroy": 0},
//!   "changes": [
//!     {"action": "create", "kind": "services", "key": "svc-a", "id": "<uuid>",
//!      "fields": [{"path": "host", "before": null, "after": "a.test", "sensitive": false}],
//!      "before": null, "after": {"host": "a.test", ...}, "origin": {"file": "kong.yaml", "line": 3, "column": 5}}
//!   ]
//! }
//! ```
//!
//! Sensitive values are replaced by `"(sensitive value)"` everywhere.

use serde::Serialize;
use serde_json::Value;

use crate::plan::{Change, Plan, Summary};

pub use crate::plan::file::FORMAT_VERSION;

/// The JSON plan document.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// [`FORMAT_VERSION`].
    pub format_version: &'static str,
    /// Where the configuration came from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
    /// The gateway planned against, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Value>,
    /// Counts per action.
    pub summary: Summary,
    /// The changes.
    pub changes: &'a [Change],
}

/// Renders `plan` as pretty JSON (with a trailing newline).
pub fn plan(plan: &Plan, source: Option<Value>, gateway: Option<Value>) -> String {
    let doc = PlanDocument {
        format_version: FORMAT_VERSION,
        source,
        gateway,
        summary: plan.summary(),
        changes: &plan.changes,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use crate::plan::plain_key;

    #[test]
    fn keys_lose_their_quoting_and_keep_their_text() {
        assert_eq!(plain_key("\"svc-a\""), "svc-a");
        assert_eq!(plain_key("\"cors\" (service \"svc-a\")"), "cors (service svc-a)");
        assert_eq!(plain_key("\"a\\\"b\" (global)"), "a\"b (global)");
        assert_eq!(plain_key("\"x\\u{e9}\\ny\""), "x\u{e9}\ny");
        assert_eq!(plain_key("consumer \"bob\" in consumer_group \"gold\""), "consumer bob in consumer_group gold");
        assert_eq!(plain_key("3f1c0000-0000-4000-8000-000000000000"), "3f1c0000-0000-4000-8000-000000000000");
    }
}
