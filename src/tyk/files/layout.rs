//! Which files of a set are read, and as what (`tyk.md` §4.2; tyk-sync `tyk-vcs/getter.go`,
//! `tyk-vcs/spec.go`; the gateway's `FromDir` and `LoadPoliciesFromDir`).
//!
//! * A `.tyk.json` index governs its directory and everything below it: only the files it
//!   lists are read (others get a warning). `type` must be `apidef` (`oas`, tyk-sync's
//!   import of plain OpenAPI documents into classic definitions, is refused with the reason);
//!   `files[]` entries (`file`, and overrides `api_id`, `db_id`, `org_id`) are API
//!   definitions, `policies[]` entries (`file`, override `id`) policies; `assets[]` (Dashboard
//!   templates) are ignored with a warning. gateform extension: `certificates[]` entries
//!   (`file` of a PEM, `org_id`) are certificates for `/tyk/certs`.
//! * Outside any index, a file in a directory named `apps` is an API definition as the
//!   gateway reads it (a definition with `is_oas: true` is read from its `<name>-oas.json`
//!   companion), a file in a directory named `policies` a policy or a map of policies, and any
//!   other file is recognised by its content ([`super::shape`]).
//!
//! Every problem of every file is reported, each at `file:line:column`; nothing is returned
//! unless there is no error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::shape::{Role, assign_id, documents};
use super::source::SourceDoc;
use super::{DocKind, Document, Documents, ReadOptions, check_duplicates, pem};
use crate::model::Origin;
use crate::source::diag::{Diagnostic, Diagnostics};
use crate::source::yaml::Node;

/// The name of tyk-sync's index file.
pub const INDEX: &str = ".tyk.json";

/// A set of texts addressed by `/`-separated paths relative to a root (a directory on disk,
/// or a commit's tree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet {
    /// What messages put before a relative path (`""`, `"tyk/"`, `"v1:tyk/"`).
    pub prefix: String,
    /// Relative path → text.
    pub files: BTreeMap<String, String>,
}

impl FileSet {
    /// An empty set whose paths are shown after `prefix`.
    pub fn new(prefix: impl Into<String>) -> FileSet {
        FileSet { prefix: prefix.into(), files: BTreeMap::new() }
    }

    /// Adds a file.
    pub fn insert(&mut self, rel: impl Into<String>, text: impl Into<String>) {
        self.files.insert(rel.into(), text.into());
    }

    fn display(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    /// Every `*.json` and `*.pem` file under `dir` (recursively, skipping hidden directories
    /// such as `.git`), or the single file `dir` names (then its directory is part of the
    /// relative path, so `apps/x.json` is still read as an app).
    pub fn from_path(path: &Path) -> Result<FileSet, Diagnostics> {
        let mut errors = Vec::new();
        let mut set;
        if path.is_dir() {
            set = FileSet::new(format!("{}/", path.display().to_string().trim_end_matches('/')));
            let mut found = Vec::new();
            if let Err(e) = walk(path, "", &mut found) {
                return Err(Diagnostic::error(None, format!("cannot read directory {}: {e}", path.display())).into());
            }
            for rel in found {
                read_into(&mut set, &path.join(&rel), rel, &mut errors);
            }
        } else {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            let dir_name = parent.and_then(|p| p.file_name()).and_then(|n| n.to_str());
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let (prefix, rel) = match (parent, dir_name) {
                (Some(p), Some(d)) => {
                    let grand = p.parent().map(|g| g.display().to_string()).unwrap_or_default();
                    (if grand.is_empty() { String::new() } else { format!("{grand}/") }, format!("{d}/{file}"))
                }
                _ => (String::new(), file),
            };
            set = FileSet::new(prefix);
            read_into(&mut set, path, rel, &mut errors);
        }
        if errors.is_empty() { Ok(set) } else { Err(Diagnostics(errors)) }
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') {
                walk(&entry.path(), &child, out)?;
            }
        } else if name.ends_with(".json") || name.ends_with(".pem") {
            out.push(child);
        }
    }
    Ok(())
}

fn read_into(set: &mut FileSet, path: &Path, rel: String, errors: &mut Vec<Diagnostic>) {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => set.insert(rel, text),
            Err(_) => errors.push(Diagnostic::error(None, format!("cannot read {}: not UTF-8 text", path.display()))),
        },
        Err(e) => errors.push(Diagnostic::error(None, format!("cannot read {}: {e}", path.display()))),
    }
}

/// Reads a file or directory on disk.
pub fn read_path(path: &Path, opts: &ReadOptions) -> Result<Documents, Diagnostics> {
    read_set(&FileSet::from_path(path)?, opts)
}

/// The directory part of a relative path (`""` at the root).
fn dir_of(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| &rel[..i])
}

/// `dir` + `file`, with `.` and `..` resolved; `None` when it leaves the set's root.
fn resolve(dir: &str, file: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in file.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

struct Reader<'a> {
    set: &'a FileSet,
    opts: &'a ReadOptions,
    out: Documents,
    diags: Vec<Diagnostic>,
    used: BTreeSet<String>,
}

impl Reader<'_> {
    fn open(&mut self, rel: &str, json: bool) -> Option<Arc<SourceDoc>> {
        let text = self.set.files.get(rel)?;
        self.used.insert(rel.to_owned());
        match SourceDoc::open(&self.set.display(rel), text, &self.opts.env, json, &mut self.out.env_values) {
            Ok(src) => Some(Arc::new(src)),
            Err(errors) => {
                self.diags.extend(errors);
                None
            }
        }
    }

    fn finish(&mut self, mut docs: Vec<Document>) {
        docs.retain_mut(|d| assign_id(d, &mut self.diags));
        self.out.docs.extend(docs);
    }

    fn warn(&mut self, origin: Origin, msg: String) {
        self.out.warnings.push(Diagnostic::warning(Some(origin), msg));
    }

    fn error(&mut self, origin: Origin, msg: String) {
        self.diags.push(Diagnostic::error(Some(origin), msg));
    }
}

/// Reads a file set (see the module documentation).
pub fn read_set(set: &FileSet, opts: &ReadOptions) -> Result<Documents, Diagnostics> {
    let mut r = Reader { set, opts, out: Documents::default(), diags: Vec::new(), used: BTreeSet::new() };
    let indexes: Vec<String> =
        set.files.keys().filter(|k| *k == INDEX || k.ends_with(&format!("/{INDEX}"))).cloned().collect();
    for index in &indexes {
        read_index(&mut r, index);
    }
    let governed = |rel: &str| {
        indexes.iter().find(|i| {
            let d = dir_of(i);
            d.is_empty() || rel.starts_with(&format!("{d}/"))
        })
    };
    let rest: Vec<String> = set.files.keys().filter(|k| !r.used.contains(*k)).cloned().collect();
    for rel in rest {
        if r.used.contains(&rel) {
            continue;
        }
        if let Some(index) = governed(&rel) {
            let origin = Origin { file: Arc::from(set.display(&rel)), line: 1, column: 1 };
            r.warn(origin, format!("not listed in {}: this file is not read", set.display(index)));
            continue;
        }
        read_loose(&mut r, &rel);
    }
    check_duplicates(&r.out.docs, &mut r.diags);
    if r.diags.iter().any(Diagnostic::is_error) {
        let mut all = r.diags;
        all.extend(r.out.warnings);
        return Err(Diagnostics(all));
    }
    r.out.warnings.extend(r.diags);
    Ok(r.out)
}

fn read_loose(r: &mut Reader<'_>, rel: &str) {
    if rel.ends_with(".pem") {
        return;
    }
    let dir = dir_of(rel);
    let dir_name = dir.rsplit('/').next().unwrap_or("");
    let role = match dir_name {
        "apps" => Role::App,
        "policies" => Role::PolicyDir,
        _ => Role::Loose,
    };
    if role == Role::App
        && let Some(stem) = rel.strip_suffix("-oas.json")
        && r.set.files.contains_key(&format!("{stem}.json"))
    {
        return;
    }
    let Some(src) = r.open(rel, true) else {
        return;
    };
    let mut docs = documents(&src, role, &mut r.diags);
    if role == Role::App {
        for d in docs.iter_mut() {
            if d.kind == DocKind::ClassicApi && d.body.get("is_oas") == Some(&Value::Bool(true)) {
                let stem = rel.strip_suffix(".json").unwrap_or(rel);
                let companion = format!("{stem}-oas.json");
                match r.open(&companion, true) {
                    Some(c) => *d = Document::new(DocKind::OasApi, c.root.to_json(), c, String::new()),
                    None if !r.set.files.contains_key(&companion) => {
                        let at = d.origin_of("/is_oas");
                        r.error(
                            at,
                            format!(
                                "`is_oas` is true but the Tyk OAS document {} is missing",
                                r.set.display(&companion)
                            ),
                        );
                    }
                    None => {}
                }
            }
        }
    }
    r.finish(docs);
}

/// One `files[]`, `policies[]` or `certificates[]` entry.
struct Entry {
    file: String,
    file_origin: Origin,
    fields: BTreeMap<String, (String, Origin)>,
}

fn entries(r: &mut Reader<'_>, src: &SourceDoc, list: &Node, what: &str, allowed: &[&str]) -> Vec<Entry> {
    let Some(items) = list.items() else {
        r.error(src.origin(list.pos), format!("`{what}` must be a list"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(fields) = item.entries() else {
            r.error(src.origin(item.pos), format!("an entry of `{what}` must be an object with a `file`"));
            continue;
        };
        let mut entry = Entry { file: String::new(), file_origin: src.origin(item.pos), fields: BTreeMap::new() };
        for (k, v) in fields {
            let key = k.key_text();
            if key == "oas" {
                if v.entries().is_some_and(|e| !e.is_empty()) {
                    r.warn(src.origin(k.pos), "`oas` overrides apply to `type: oas` only; ignored".into());
                }
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                r.warn(src.origin(k.pos), format!("unknown key `{key}` in `{what}`; ignored"));
                continue;
            }
            let Some(s) = v.as_str() else {
                r.error(src.origin(v.pos), format!("`{what}[].{key}` must be a string"));
                continue;
            };
            if key == "file" {
                entry.file = s.to_owned();
                entry.file_origin = src.origin(v.pos);
            } else if !s.is_empty() {
                entry.fields.insert(key, (s.to_owned(), src.origin(v.pos)));
            }
        }
        if entry.file.is_empty() {
            r.warn(src.origin(item.pos), format!("an entry of `{what}` names no `file`; skipped (as tyk-sync does)"));
            continue;
        }
        out.push(entry);
    }
    out
}

fn read_index(r: &mut Reader<'_>, index: &str) {
    let Some(src) = r.open(index, true) else {
        return;
    };
    let Some(keys) = src.root.entries() else {
        r.error(src.origin(src.root.pos), format!("{INDEX} must hold an object with `type` and `files`"));
        return;
    };
    let get = |k: &str| keys.iter().find(|(key, _)| key.as_str() == Some(k));
    match get("type").map(|(_, v)| (v, v.as_str())) {
        Some((_, Some("apidef"))) => {}
        Some((v, Some("oas"))) => {
            return r.error(
                src.origin(v.pos),
                "`type: oas` asks tyk-sync to convert plain OpenAPI documents into classic definitions with its own importer, which gateform does not do: convert them to Tyk OAS definitions (OpenAPI with `x-tyk-api-gateway`) and use `type: apidef`".into(),
            );
        }
        Some((v, _)) => return r.error(src.origin(v.pos), "`type` must be \"apidef\" (or tyk-sync's \"oas\")".into()),
        None => return r.error(src.origin(src.root.pos), format!("{INDEX} has no `type`: add \"type\": \"apidef\"")),
    }
    let dir = dir_of(index).to_owned();
    for (k, v) in keys {
        match k.key_text().as_str() {
            "type" => {}
            "files" => {
                for e in entries(r, &src, v, "files", &["file", "api_id", "db_id", "org_id"]) {
                    indexed(r, &dir, e, Role::IndexApi);
                }
            }
            "policies" => {
                for e in entries(r, &src, v, "policies", &["file", "id"]) {
                    indexed(r, &dir, e, Role::IndexPolicy);
                }
            }
            "certificates" => {
                for e in entries(r, &src, v, "certificates", &["file", "org_id"]) {
                    certificate(r, &dir, e);
                }
            }
            "assets" => {
                r.warn(src.origin(k.pos), "`assets` (Dashboard API templates) are not gateway objects; ignored".into())
            }
            other => r.warn(src.origin(k.pos), format!("unknown key `{other}` in {INDEX}; ignored")),
        }
    }
}

fn listed_file(r: &mut Reader<'_>, dir: &str, e: &Entry) -> Option<String> {
    match resolve(dir, &e.file) {
        Some(rel) if r.set.files.contains_key(&rel) => Some(rel),
        Some(rel) => {
            r.error(
                e.file_origin.clone(),
                format!("`{}` is listed here but {} does not exist", e.file, r.set.display(&rel)),
            );
            None
        }
        None => {
            r.error(e.file_origin.clone(), format!("`{}` points outside the configuration directory", e.file));
            None
        }
    }
}

fn indexed(r: &mut Reader<'_>, dir: &str, e: Entry, role: Role) {
    let Some(rel) = listed_file(r, dir, &e) else {
        return;
    };
    let Some(src) = r.open(&rel, true) else {
        return;
    };
    let mut docs = documents(&src, role, &mut r.diags);
    for d in &mut docs {
        for (field, (value, origin)) in &e.fields {
            let ptr = match (d.kind, field.as_str()) {
                (DocKind::ClassicApi, "api_id") => "/api_id",
                (DocKind::ClassicApi, "db_id") => "/id",
                (DocKind::ClassicApi, "org_id") => "/org_id",
                (DocKind::OasApi, "api_id") => "/x-tyk-api-gateway/info/id",
                (DocKind::OasApi, "db_id") => "/x-tyk-api-gateway/info/dbId",
                (DocKind::OasApi, "org_id") => "/x-tyk-api-gateway/info/orgId",
                (DocKind::Policy, "id") => "/id",
                _ => continue,
            };
            d.set_override(ptr, Value::String(value.clone()), origin.clone());
        }
    }
    r.finish(docs);
}

fn certificate(r: &mut Reader<'_>, dir: &str, e: Entry) {
    let Some(rel) = listed_file(r, dir, &e) else {
        return;
    };
    let Some(src) = r.open(&rel, false) else {
        return;
    };
    let (org, org_origin) = e.fields.get("org_id").cloned().unwrap_or((String::new(), e.file_origin.clone()));
    match pem::parse(&src.text, &org) {
        Ok((certs, keys, id)) => {
            let body = serde_json::json!({"org_id": org, "pem": format!("{certs}{keys}")});
            let mut d = Document::new(DocKind::Certificate, body, src, String::new());
            d.overrides.push(("/org_id".into(), org_origin));
            d.id = id;
            r.out.docs.push(d);
        }
        Err(msg) => {
            let at = src.origin_at("");
            r.error(at, msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_resolve_inside_the_root() {
        assert_eq!(resolve("a/b", "../c.json").as_deref(), Some("a/c.json"));
        assert_eq!(resolve("", "./x/y.json").as_deref(), Some("x/y.json"));
        assert_eq!(resolve("", "../x.json"), None);
        assert_eq!(dir_of("a/b/c.json"), "a/b");
        assert_eq!(dir_of(".tyk.json"), "");
    }
}
