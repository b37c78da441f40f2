//! Documents → tyk-sync layout files, for `dump` (tyk-sync `cmd/dump.go` names):
//!
//! * `.tyk.json`: `{"type": "apidef", "files": [{"file": ...}], "policies": [{"file": ...}]}`
//!   (and gateform's `certificates` list when there are certificates);
//! * `api-<api_id>.json`: a bare classic definition (tyk-sync reads bare definitions and
//!   Dashboard wrappers alike; the gateway reads bare ones);
//! * `oas-<api_id>.json`: `{"oas": <Tyk OAS document>}`, the wrapper tyk-sync needs to tell an
//!   OAS API from a classic one;
//! * `policy-<id>.json`: a bare policy; `cert-<id>.pem`: a certificate.
//!
//! Unless secrets are asked for, every secret field ([`super::secrets`]) is written as
//! `${{ env `DECK_TYK_<KIND>_<ID>_<FIELD>` }}` (backquotes keep the JSON valid), a
//! certificate's private key likewise, and `SECRETS.md` lists the variables. Reading the
//! dump back with those variables set gives the same documents. File names keep the ids'
//! safe characters (others become `_`).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use serde_json::{Value, json};

use super::secrets::secret_pointers;
use super::{DocKind, pem};

/// A document to write.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// What it is.
    pub kind: DocKind,
    /// Its id.
    pub id: &'a str,
    /// Its bare body.
    pub body: &'a Value,
}

/// One placeholder written into a dump.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placeholder {
    /// The variable to set (`DECK_TYK_API_C7C3B826..._JWT_SOURCE`).
    pub variable: String,
    /// The object's kind.
    pub kind: DocKind,
    /// The object's id.
    pub id: String,
    /// The field, as a JSON pointer into the body (`/jwt_source`); `pem` for a certificate's
    /// private key.
    pub field: String,
    /// Whether the value goes inside a JSON string (then it must be given JSON-escaped).
    pub in_json: bool,
}

impl Placeholder {
    /// What to set the variable to for a secret `value`: JSON-escaped inside JSON files, as
    /// is in PEM files.
    pub fn env_value(&self, value: &str) -> String {
        if self.in_json {
            let q = Value::String(value.to_owned()).to_string();
            q[1..q.len() - 1].to_owned()
        } else {
            value.to_owned()
        }
    }
}

/// What a dump writes: relative path → text, and the placeholders used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dump {
    /// The files.
    pub files: BTreeMap<String, String>,
    /// Placeholders, in file order.
    pub placeholders: Vec<Placeholder>,
}

/// How to dump.
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpOptions {
    /// Write secret values instead of placeholders.
    pub include_secrets: bool,
}

/// The name of the note listing the placeholders.
pub const SECRETS_NOTE: &str = "SECRETS.md";

fn sanitize_upper(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

fn file_id(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || "._-~".contains(c) { c } else { '_' }).collect()
}

fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    let (stem, ext) = name.rsplit_once('.').map_or((name.as_str(), ""), |(s, e)| (s, e));
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{stem}-{n}.{ext}");
        n += 1;
    }
    candidate
}

fn kind_word(kind: DocKind) -> &'static str {
    match kind {
        DocKind::ClassicApi => "API",
        DocKind::OasApi => "OAS",
        DocKind::Policy => "POLICY",
        DocKind::Certificate => "CERT",
    }
}

struct Writer {
    opts: DumpOptions,
    out: Dump,
    names: BTreeSet<String>,
    variables: BTreeSet<String>,
}

impl Writer {
    fn placeholder(&mut self, kind: DocKind, id: &str, field: &str, in_json: bool) -> String {
        let base = format!("DECK_TYK_{}_{}_{}", kind_word(kind), sanitize_upper(id), sanitize_upper(field));
        let mut variable = base.clone();
        let mut n = 2;
        while !self.variables.insert(variable.clone()) {
            variable = format!("{base}_{n}");
            n += 1;
        }
        self.out.placeholders.push(Placeholder {
            variable: variable.clone(),
            kind,
            id: id.to_owned(),
            field: field.to_owned(),
            in_json,
        });
        format!("${{{{ env `{variable}` }}}}")
    }

    fn json_file(&mut self, e: Entry<'_>) -> String {
        let mut body = e.body.clone();
        if !self.opts.include_secrets {
            for ptr in secret_pointers(e.kind, &body) {
                let text = self.placeholder(e.kind, e.id, &ptr, true);
                if let Some(slot) = body.pointer_mut(&ptr) {
                    *slot = Value::String(text);
                }
            }
        }
        let (prefix, doc) = match e.kind {
            DocKind::OasApi => ("oas", json!({"oas": body})),
            DocKind::Policy => ("policy", body),
            _ => ("api", body),
        };
        let name = unique(format!("{prefix}-{}.json", file_id(e.id)), &mut self.names);
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        self.out.files.insert(name.clone(), text);
        name
    }

    fn pem_file(&mut self, e: Entry<'_>) -> String {
        let pem_text = e.body.get("pem").and_then(Value::as_str).unwrap_or("");
        let org = e.body.get("org_id").and_then(Value::as_str).unwrap_or("");
        let text = match pem::parse(pem_text, org) {
            Ok((certs, keys, _)) if !keys.is_empty() && !self.opts.include_secrets => {
                format!("{certs}{}\n", self.placeholder(e.kind, e.id, "pem", false))
            }
            Ok((certs, keys, _)) => format!("{certs}{keys}"),
            Err(_) => pem_text.to_owned(),
        };
        let name = unique(format!("cert-{}.pem", file_id(e.id)), &mut self.names);
        self.out.files.insert(name.clone(), text);
        name
    }
}

/// Lays documents out as tyk-sync files (see the module documentation).
pub fn dump<'a>(entries: impl IntoIterator<Item = Entry<'a>>, opts: DumpOptions) -> Dump {
    let mut w = Writer {
        opts,
        out: Dump::default(),
        names: [super::layout::INDEX.to_owned(), SECRETS_NOTE.to_owned()].into(),
        variables: BTreeSet::new(),
    };
    let (mut files, mut policies, mut certs) = (Vec::new(), Vec::new(), Vec::new());
    for e in entries {
        match e.kind {
            DocKind::ClassicApi | DocKind::OasApi => files.push(json!({"file": w.json_file(e)})),
            DocKind::Policy => policies.push(json!({"file": w.json_file(e)})),
            DocKind::Certificate => {
                let org = e.body.get("org_id").cloned().unwrap_or(json!(""));
                certs.push(json!({"file": w.pem_file(e), "org_id": org}));
            }
        }
    }
    let mut index = json!({"type": "apidef", "files": files, "policies": policies});
    if !certs.is_empty() {
        index["certificates"] = Value::Array(certs);
    }
    let mut text = serde_json::to_string_pretty(&index).unwrap_or_default();
    text.push('\n');
    w.out.files.insert(super::layout::INDEX.to_owned(), text);
    if !w.out.placeholders.is_empty() {
        w.out.files.insert(SECRETS_NOTE.to_owned(), secrets_note(&w.out.placeholders));
    }
    w.out
}

fn secrets_note(placeholders: &[Placeholder]) -> String {
    let mut s = String::from(
        "# Secrets of this dump\n\nSensitive values are not written in these files. Set these variables before \
         planning or applying them; each holds the value of the field it names. In JSON files the value is placed \
         inside a JSON string, so a `\"`, a `\\` or a line break in it must be written JSON-escaped (`\\\"`, `\\\\`, \
         `\\n`).\n\n| Variable | Object | Field |\n|---|---|---|\n",
    );
    for p in placeholders {
        s.push_str(&format!("| `{}` | {} `{}` | `{}` |\n", p.variable, p.kind, p.id, p.field));
    }
    s
}

/// Writes a dump under `dir` (created when missing), each file through a temporary file and a
/// rename so none is ever half-written. Other files in `dir` are left alone.
pub fn write_to(dir: &Path, dump: &Dump) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in &dump.files {
        let tmp = dir.join(format!(".{name}.gateform-tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_like_tyk_sync_and_secrets_become_placeholders() {
        let api = json!({"api_id": "a/1", "jwt_source": "c2VjcmV0", "name": "x"});
        let pol = json!({"id": "p", "access_rights": {}});
        let d = dump(
            [
                Entry { kind: DocKind::ClassicApi, id: "a/1", body: &api },
                Entry { kind: DocKind::Policy, id: "p", body: &pol },
            ],
            DumpOptions::default(),
        );
        assert_eq!(
            d.files.keys().collect::<Vec<_>>(),
            vec![".tyk.json", "SECRETS.md", "api-a_1.json", "policy-p.json"]
        );
        assert!(d.files["api-a_1.json"].contains("\"jwt_source\": \"${{ env `DECK_TYK_API_A_1_JWT_SOURCE` }}\""));
        assert!(!d.files.values().any(|t| t.contains("c2VjcmV0")));
        let index: Value = serde_json::from_str(&d.files[".tyk.json"]).unwrap();
        assert_eq!(
            index,
            json!({"type": "apidef", "files": [{"file": "api-a_1.json"}], "policies": [{"file": "policy-p.json"}]})
        );
        assert_eq!(d.placeholders[0].env_value("a\"b"), "a\\\"b");
        let with =
            dump([Entry { kind: DocKind::ClassicApi, id: "a", body: &api }], DumpOptions { include_secrets: true });
        assert!(with.files["api-a.json"].contains("c2VjcmV0") && !with.files.contains_key(SECRETS_NOTE));
    }
}
