//! A configuration as a run reads it: its texts and where they came from (files with their
//! SHA-256, or a Git commit with its description), in the shapes reports, saved plans and
//! the ledger use.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::git::SourceInfo;
use super::inputs::Input;

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// A Git commit.
    Git(SourceInfo),
    /// Files named on the command line (or an environment's `path` read from disk), as named.
    Files(Vec<String>),
}

/// The configuration of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The configuration texts.
    pub inputs: Vec<Input>,
    /// Where they came from.
    pub provenance: Provenance,
}

impl Source {
    /// The `source` object of JSON plans, saved plans and reports: `{"type": "git",
    /// "repository", "ref", "commit", "author", "date", "subject", "path"}` or `{"type":
    /// "files", "files": [{"name", "sha256"}]}`.
    pub fn to_json(&self) -> Value {
        match &self.provenance {
            Provenance::Git(info) => {
                let mut v = json!({"type": "git"});
                if let (Value::Object(m), Ok(Value::Object(fields))) = (&mut v, serde_json::to_value(info)) {
                    m.extend(fields);
                }
                v
            }
            Provenance::Files(_) => files_json(&self.inputs),
        }
    }

    /// One line naming the source, for headers (see [`source_line`]).
    pub fn line(&self) -> String {
        source_line(&self.to_json())
    }

    /// The Git commit, when the source is one.
    pub fn commit(&self) -> Option<&SourceInfo> {
        match &self.provenance {
            Provenance::Git(info) => Some(info),
            Provenance::Files(_) => None,
        }
    }

    /// Whether any text came from standard input.
    pub fn has_stdin(&self) -> bool {
        self.inputs.iter().any(|i| i.name == "<stdin>")
    }
}

/// `{"type": "files", "files": [{"name", "sha256"}]}` for inputs read from files.
pub fn files_json(inputs: &[Input]) -> Value {
    let files: Vec<Value> = inputs.iter().map(|i| json!({"name": i.name, "sha256": sha256_hex(&i.text)})).collect();
    json!({"type": "files", "files": files})
}

/// Lowercase hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One line naming a source object (see [`Source::to_json`]), for headers. A Git commit
/// reads ``commit `1a2b3c4d5e6f` (v1): Subject; /path/to/repo, path kong; Jane <j@x>,
/// 2026-11-01T12:00:00Z``; files read `files a.yaml, b.yaml`.
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
