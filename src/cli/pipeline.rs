//! The read-only half shared by `plan`, `drift` and `apply`: read the files, connect, fetch
//! schemas, load, read the gateway, plan; register every secret value met on the way with
//! the output scrubber; describe the source and the gateway for reports and saved plans.

use anyhow::Context as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::context::{Connection, connect, engine_input, load_desired, schemas_for};
use super::output::redactor;
use super::settings::Settings;
use crate::engine::{Prepared, prepare};
use crate::kong::schema::Schemas;
use crate::model::State;
use crate::plan::file::{Fingerprint, GatewayRecord};
use crate::plan::schema_for;
use crate::secrets::{is_sensitive, may_hold_secrets};
use crate::source::{Desired, Input};

/// A computed plan with everything it came from.
pub struct Planned {
    /// The open connection (and in-process sandbox, if any).
    pub conn: Connection,
    /// Live state, schemas, plan and schedule.
    pub prepared: Prepared,
    /// Where the configuration came from, as JSON (`{"type": "files", "files": [...]}` or
    /// `{"type": "git", "commit": ...}`, see [`Settings::source_json`]).
    pub source: Value,
    /// The gateway, as recorded in saved plans.
    pub gateway: GatewayRecord,
    /// The environment of `gateform.toml` named by `--env`.
    pub environment: Option<String>,
}

impl Planned {
    /// The fingerprint of the live state the plan was computed against.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.prepared.live.state, &self.prepared.lookup, &self.prepared.schemas)
    }

    /// The `gateway` object of JSON plans: the saved-plan record, plus the environment.
    pub fn gateway_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.gateway).unwrap_or(Value::Null);
        if let (Value::Object(m), Some(env)) = (&mut v, &self.environment) {
            m.insert("environment".into(), json!(env));
        }
        v
    }

    /// The `Source: ...` and `Gateway: ...` lines (and a blank one) of text output.
    pub fn header(&self) -> String {
        let env = self.environment.as_ref().map(|e| format!(", environment {e:?}")).unwrap_or_default();
        format!(
            "Source: {}\nGateway: {} (Kong {}){env}\n\n",
            source_line(&self.source),
            self.gateway.address,
            self.gateway.version
        )
    }
}

/// `{"type": "files", "files": [{"name", "sha256"}]}` for inputs read from files.
pub fn files_source(inputs: &[Input]) -> Value {
    let files: Vec<Value> = inputs
        .iter()
        .map(|i| json!({"name": i.name, "sha256": hex::encode(Sha256::digest(i.text.as_bytes()))}))
        .collect();
    json!({"type": "files", "files": files})
}

/// One line naming the source, for headers. A Git commit reads
/// ``commit `1a2b3c4d5e6f` (v1): Subject; /path/to/repo, path kong; Jane <j@x>, 2026-11-01T12:00:00Z``.
pub fn source_line(source: &Value) -> String {
    let field = |k: &str| source.get(k).and_then(Value::as_str);
    if let Some(commit) = field("commit") {
        let short: String = commit.chars().take(12).collect();
        let mut line = format!("commit `{short}`");
        if let Some(r) = field("ref") {
            line.push_str(&format!(" ({r})"));
        }
        if let Some(subject) = field("subject") {
            line.push_str(&format!(": {subject}"));
        }
        if let Some(repo) = field("repository") {
            line.push_str(&format!("; {repo}"));
            if let Some(path) = field("path").filter(|p| *p != ".") {
                line.push_str(&format!(", path {path}"));
            }
        }
        if let (Some(author), Some(date)) = (field("author"), field("date")) {
            line.push_str(&format!("; {author}, {date}"));
        }
        return line;
    }
    let names: Vec<&str> = source
        .get("files")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(|x| x.get("name").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    format!("files {}", names.join(", "))
}

/// Registers the secret values of a state with the output scrubber: every sensitive field's
/// string values.
pub fn register_secrets(state: &State, schemas: &Schemas) {
    let mut values = Vec::new();
    for e in &state.entities {
        let schema = schema_for(schemas, e.kind, &e.fields);
        if !may_hold_secrets(e.kind, schema) {
            continue;
        }
        for (k, v) in &e.fields {
            collect(v, k, &|p| is_sensitive(e.kind, p, schema), &mut values);
        }
    }
    redactor().add(values);
}

fn collect(v: &Value, path: &str, sensitive: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                collect(child, &p, sensitive, out);
            }
        }
        Value::String(s) if sensitive(path) => out.push(s.clone()),
        Value::Array(items) if sensitive(path) => {
            out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        _ => {}
    }
}

/// Loads the configuration of `settings`, reads the gateway and computes the plan.
pub async fn compute(settings: &Settings) -> anyhow::Result<Planned> {
    let conn = connect(&settings.gateway).await?;
    match compute_on(&conn, &settings.inputs, &settings.select_tags).await {
        Ok((desired, prepared)) => {
            let record = GatewayRecord {
                address: settings.gateway.url.trim_end_matches('/').to_owned(),
                version: prepared.live.info.version.clone(),
                workspace: desired.workspace.clone(),
                select_tags: desired.select_tags.clone(),
            };
            let (source, environment) = (settings.source_json(), settings.environment.clone());
            Ok(Planned { conn, prepared, source, gateway: record, environment })
        }
        Err(e) => {
            conn.close().await;
            Err(e)
        }
    }
}

async fn compute_on(
    conn: &Connection,
    inputs: &[Input],
    select_tags: &[String],
) -> anyhow::Result<(Desired, Prepared)> {
    let started = std::time::Instant::now();
    let schemas = schemas_for(conn, inputs).await;
    tracing::info!("fetched schemas in {:.2}s", started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let desired = load_desired(inputs, select_tags, &schemas)?;
    tracing::info!(
        "loaded {} desired entities in {:.2}s",
        desired.state.entities.len(),
        started.elapsed().as_secs_f64()
    );
    let prepared = prepare(&conn.client, &engine_input(&desired), schemas).await?;
    register_secrets(&prepared.live.state, &prepared.schemas);
    Ok((desired, prepared))
}

/// Reads a file the user named, with its name in the error.
pub fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
