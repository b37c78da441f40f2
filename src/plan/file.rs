//! Saved plans (`plan --out FILE`, `apply FILE`): the plan as JSON (the `--format json`
//! document), plus what apply needs to execute exactly what was reviewed — the source, the
//! gateway, a fingerprint of the live state the plan was computed against, a digest of the
//! plan itself and a checksum of the whole file. Secrets are never stored: apply reads them
//! again from the source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Plan, Selection, Summary};
use crate::gateway::Dialect;
use crate::model::{Entity, State};

/// Version of the JSON plan format (`--format json`, and the plan inside a saved plan).
/// `2`: a change's `key` holds no quotes (`cors (service svc-a)`, was `"cors" (service
/// "svc-a")`).
pub const FORMAT_VERSION: &str = "2";

/// Version of the saved plan format. `2`: the keys of format 2, the environment in
/// `gateway`, the `names` of the entities changes refer to, files relative to `root`.
pub const PLAN_FILE_VERSION: &str = "2";

/// The gateway a plan was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRecord {
    /// Admin API address as given (`http://kong:8001`).
    pub address: String,
    /// The product the gateway reported (`Kong`); empty in files that predate it.
    #[serde(default)]
    pub product: String,
    /// The gateway's version (Kong's `GET /`).
    pub version: String,
    /// Workspace (`_workspace`), when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Ownership scope.
    pub select_tags: Vec<String>,
    /// The environment of `gateform.toml` the plan was made for: `apply FILE` runs in it
    /// (its headers, its lock, its history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A digest of the live state in scope: one hash per entity (`kind/id` → 16 hex digits of the
/// SHA-256 of its normalised body, secret values masked) and one over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 (hex) over every entity hash, in key order.
    pub digest: String,
    /// Per-entity hashes.
    pub entities: BTreeMap<String, String>,
}

impl Fingerprint {
    /// Fingerprints `live` (and the lookup-only entities, prefixed `lookup:`). Entities are
    /// hashed independently, split over the machine's cores (at most 8 threads).
    pub fn of(live: &State, lookup: &State, dialect: &dyn Dialect) -> Fingerprint {
        let all: Vec<(&str, &Entity)> = [("", live), ("lookup:", lookup)]
            .into_iter()
            .flat_map(|(prefix, state)| state.entities.iter().map(move |e| (prefix, e)))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let chunk = all.len().div_ceil(threads).max(1);
        let hashed: Vec<(String, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = all
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|(p, e)| entity_hash(p, e, dialect)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        });
        let entities: BTreeMap<String, String> = hashed.into_iter().collect();
        let mut all = Sha256::new();
        for (k, v) in &entities {
            all.update(k.as_bytes());
            all.update(b"=");
            all.update(v.as_bytes());
            all.update(b"\n");
        }
        Fingerprint { digest: hex::encode(all.finalize()), entities }
    }

    /// What differs from `now`: `(kind/id, "changed" | "added" | "removed")`, sorted.
    pub fn differences(&self, now: &Fingerprint) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for (k, v) in &self.entities {
            match now.entities.get(k) {
                None => out.push((k.clone(), "removed")),
                Some(w) if w != v => out.push((k.clone(), "changed")),
                Some(_) => {}
            }
        }
        for k in now.entities.keys() {
            if !self.entities.contains_key(k) {
                out.push((k.clone(), "added"));
            }
        }
        out.sort();
        out
    }
}

/// One entity's fingerprint entry: `(prefix + kind/id, 16 hex digits)`.
fn entity_hash(prefix: &str, e: &Entity, dialect: &dyn Dialect) -> (String, String) {
    let id = e.id.as_deref().unwrap_or_default();
    // Secret values are masked before hashing: a saved plan is shared, and a hash of a body
    // holding a key would let anyone confirm a guessed key. A change of a secret alone still
    // shows, as a change of the plan computed again.
    let live = dialect.live_body(e);
    let sensitive = dialect.sensitivity(e.kind, &live);
    let mut body = dialect.comparable_owned(e.kind, live);
    super::mask_in_place(&mut body, &*sensitive);
    let mut text = String::new();
    write_canonical_object(&body, &mut text);
    let h = hex::encode(Sha256::digest(text.as_bytes()));
    (format!("{prefix}{}/{id}", e.kind), h[..16].to_owned())
}

/// JSON with object keys sorted (by their bytes), compact, for hashing.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

/// Appends the canonical JSON of `v` ([`canonical`]) to `out`.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => write_canonical_object(m, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap_or_default()),
    }
}

fn write_canonical_object(m: &serde_json::Map<String, Value>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).unwrap_or_default());
        out.push(':');
        write_canonical(v, out);
    }
    out.push('}');
}

/// SHA-256 (hex) of a plan's changes, as serialised (masked): the canonical JSON of the
/// list ([`digest_of`]). Changes are written on every core, [`DIGEST_WINDOW`] at a time, so
/// that a large plan is never copied whole.
pub fn plan_digest(plan: &Plan) -> String {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let mut h = Sha256::new();
    h.update(b"[");
    let mut first = true;
    for window in plan.changes.chunks(DIGEST_WINDOW) {
        let part = window.len().div_ceil(threads).max(1);
        let texts: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                window.chunks(part).map(|changes| scope.spawn(move || canonical_list(changes))).collect();
            handles.into_iter().map(|t| t.join().unwrap_or_default()).collect()
        });
        for text in texts {
            if !first {
                h.update(b",");
            }
            first = false;
            h.update(text.as_bytes());
        }
    }
    h.update(b"]");
    hex::encode(h.finalize())
}

/// How many changes [`plan_digest`] writes out at once.
const DIGEST_WINDOW: usize = 4096;

/// The canonical JSON of each change, comma-separated (no brackets).
fn canonical_list(changes: &[super::Change]) -> String {
    let mut text = String::new();
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        write_canonical(&serde_json::to_value(c).unwrap_or(Value::Null), &mut text);
    }
    text
}

/// [`plan_digest`] of changes already serialised (as a saved plan holds them).
pub fn digest_of(changes: impl Iterator<Item = Value>) -> String {
    let mut h = Sha256::new();
    h.update(b"[");
    for (i, v) in changes.enumerate() {
        if i > 0 {
            h.update(b",");
        }
        h.update(canonical(&v).as_bytes());
    }
    h.update(b"]");
    hex::encode(h.finalize())
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// [`FORMAT_VERSION`] of the embedded plan document.
    pub format_version: String,
    /// [`PLAN_FILE_VERSION`].
    pub plan_file_version: String,
    /// gateform version that wrote it.
    pub gateform_version: String,
    /// When it was written (RFC 3339, UTC).
    pub created_at: String,
    /// Where the configuration came from (files with their SHA-256, or a Git commit).
    pub source: Value,
    /// The gateway it was made for.
    pub gateway: GatewayRecord,
    /// Counts per action.
    pub summary: Summary,
    /// The changes, masked, as the JSON plan writes them.
    pub changes: Vec<Value>,
    /// Labels of the entities the changes refer to (`service "orders"`), by id, so that a
    /// saved plan shows foreign keys as the plan did.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Each change's label as the text plan shows it (`"cors" (service "svc-a")`), in the
    /// order of `changes`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Fingerprint of the live state the plan was computed against.
    pub fingerprint: Fingerprint,
    /// [`plan_digest`] of the plan.
    pub plan_digest: String,
    /// The `--target` / `--exclude` selection the plan was narrowed by (absent when none):
    /// applying the file plans with the same selection.
    #[serde(default, skip_serializing_if = "Selection::is_empty")]
    pub selection: Selection,
    /// SHA-256 (hex) of the file's canonical JSON without this field.
    pub checksum: String,
}

/// Why a plan file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, truncated, or not a gateform plan.
    #[error("{0} is not a gateform plan file (truncated or damaged?): {1}")]
    Unreadable(String, String),
    /// Written by an incompatible version.
    #[error("{0} has plan format {1}; this gateform reads format {PLAN_FILE_VERSION}")]
    Version(String, String),
    /// The content does not match its checksum.
    #[error("{0} was modified after it was written (checksum mismatch); make a new plan")]
    Tampered(String),
}

impl PlanFile {
    /// Builds the file for `plan`.
    pub fn new(
        plan: &Plan,
        source: Value,
        gateway: GatewayRecord,
        fingerprint: Fingerprint,
        created_at: String,
    ) -> PlanFile {
        let mut f = PlanFile {
            format_version: FORMAT_VERSION.to_owned(),
            plan_file_version: PLAN_FILE_VERSION.to_owned(),
            gateform_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            source,
            gateway,
            summary: plan.summary(),
            changes: plan.changes.iter().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)).collect(),
            names: plan.names.clone(),
            labels: plan.changes.iter().map(|c| c.key.clone()).collect(),
            fingerprint,
            plan_digest: plan_digest(plan),
            selection: Selection::default(),
            checksum: String::new(),
        };
        f.checksum = f.compute_checksum();
        f
    }

    /// The file, recording the selection its plan was narrowed by.
    pub fn with_selection(mut self, selection: Selection) -> PlanFile {
        self.selection = selection;
        self.checksum = self.compute_checksum();
        self
    }

    fn compute_checksum(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("checksum");
        }
        hex::encode(Sha256::digest(canonical(&v).as_bytes()))
    }

    /// The file's JSON text (pretty, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Seals the file again after a field was set (its checksum covers every field).
    pub fn seal(&mut self) {
        self.checksum = self.compute_checksum();
    }

    /// Parses and verifies a plan file's text; `name` names it in errors.
    pub fn parse(name: &str, text: &str) -> Result<PlanFile, PlanFileError> {
        let raw: Value =
            serde_json::from_str(text).map_err(|e| PlanFileError::Unreadable(name.into(), e.to_string()))?;
        let version = raw.get("plan_file_version").and_then(Value::as_str).unwrap_or("").to_owned();
        if version.is_empty() {
            return Err(PlanFileError::Unreadable(name.into(), "no plan_file_version".into()));
        }
        if version != PLAN_FILE_VERSION {
            return Err(PlanFileError::Version(name.into(), version));
        }
        let file: PlanFile =
            serde_json::from_value(raw).map_err(|e| PlanFileError::Unreadable(name.into(), e.to_string()))?;
        if file.compute_checksum() != file.checksum || digest_of(file.changes.iter().cloned()) != file.plan_digest {
            return Err(PlanFileError::Tampered(name.into()));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> PlanFile {
        let gw = GatewayRecord {
            address: "http://k:8001".into(),
            product: "Kong".into(),
            version: "3.9.3".into(),
            workspace: None,
            select_tags: vec![],
            environment: None,
        };
        PlanFile::new(
            &Plan::default(),
            json!({"type": "files"}),
            gw,
            Fingerprint::default(),
            "2026-11-22T00:00:00Z".into(),
        )
    }

    #[test]
    fn round_trips_and_detects_edits() {
        let f = sample();
        let text = f.to_json();
        assert_eq!(PlanFile::parse("p.json", &text).unwrap(), f);
        let edited = text.replace("3.9.3", "3.9.4");
        assert!(matches!(PlanFile::parse("p.json", &edited), Err(PlanFileError::Tampered(_))));
        let truncated = &text[..text.len() / 2];
        assert!(matches!(PlanFile::parse("p.json", truncated), Err(PlanFileError::Unreadable(..))));
    }

    /// The form hashed before canonical JSON was written directly: keys sorted through a
    /// `BTreeMap`, then serialised. Saved plans hold hashes of this form, so both must agree.
    fn reference(v: &Value) -> String {
        fn sort(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let sorted: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sort(v))).collect();
                    serde_json::to_value(sorted).unwrap()
                }
                Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
                other => other.clone(),
            }
        }
        serde_json::to_string(&sort(v)).unwrap()
    }

    #[test]
    fn canonical_json_sorts_keys_by_bytes_and_escapes_like_serde() {
        let v = json!({
            "zeta": [3, 1.5, -2, 1e300, {"b": null, "a": true, "B": "x"}],
            "Alpha": "quote \" and \\ and \n and \u{1} and é and 🦀",
            "é": {"": [], "nested": {"z": {}, "a": [[]]}},
            "a\"b": 18446744073709551615u64,
            "10": 10, "9": 9
        });
        assert_eq!(canonical(&v), reference(&v));
        assert!(canonical(&v).starts_with(r#"{"10":10,"9":9,"Alpha":"#), "{}", canonical(&v));
    }

    #[test]
    fn the_digest_written_on_every_core_is_the_digest_of_the_whole_list() {
        let change = |i: usize| {
            let mut c = super::super::tests_support::change();
            c.action = if i.is_multiple_of(3) { crate::model::Action::Delete } else { crate::model::Action::Create };
            c.key = format!("\"t-{i}\"");
            c.id = format!("{i:08}");
            c.after = json!({"name": format!("t-{i}"), "port": i}).as_object().cloned();
            c
        };
        // Windows and parts of several sizes, and their edges: empty, one, a window, more.
        for n in [0, 1, 2, DIGEST_WINDOW, DIGEST_WINDOW + 1, 2 * DIGEST_WINDOW + 7] {
            let plan = Plan { changes: (0..n).map(change).collect(), ..Plan::default() };
            let whole = digest_of(plan.changes.iter().map(|c| serde_json::to_value(c).unwrap()));
            assert_eq!(plan_digest(&plan), whole, "{n} changes");
        }
    }
}
