//! Reading decK files (`deck.md` §a.2) into the desired [`State`].
//!
//! What is read, per file, in order:
//!
//! 1. `${{ env "DECK_X" }}` expressions are rendered on the raw text ([`crate::source::env`]);
//! 2. the text is parsed as YAML 1.2 (JSON included) with positions;
//! 3. `_format_version` (`"3.0"`; `"1.1"`/`"2.1"` or none are converted, see
//!    [`crate::kong::deck::convert`]), `_info` (`select_tags`, `default_lookup_tags`,
//!    `defaults`), `_workspace`, `_konnect` (ignored, with a warning), `_transform`
//!    (accepted), `_plugin_configs`;
//! 4. every entity collection, nested (`services[].routes[].plugins[]`, credentials under
//!    consumers, ...) or flat (top-level `routes` naming their `service`, Kong DB-less
//!    top-level `acls` naming their `consumer`, ...), each value checked against the type
//!    in Kong's schema.
//!
//! Then, across all files: references are resolved (a bare string is a UUID id or a
//! name; `{id: ..}`, `{name: ..}`, `{username: ..}` work too), `_info.defaults` are applied,
//! select tags added, and duplicates reported. Every problem of every file is reported,
//! each with `file:line:column` and the entity concerned; nothing is returned unless there
//! is no error.

mod build;
mod check;
mod fields;
mod file;
pub mod finish;
mod refs;
mod resolve;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_forms;
#[cfg(test)]
mod tests_values;

use std::collections::BTreeMap;

use self::build::Builder;
use self::check::Checker;
use self::file::{SourceFile, open};
use self::finish::Defaults;
use crate::kong::KongKind;
use crate::kong::deck::convert::FormatVersion;
use crate::kong::plugins::PluginNames;
use crate::kong::schema::Schemas;
use crate::model::State;
use crate::source::Desired;
use crate::source::diag::{Diagnostic, Diagnostics, Severity};
use crate::source::inputs::Input;
use crate::source::yaml::NodeValue;

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    /// Variables `${{ env "DECK_X" }}` may read (the CLI passes the process environment).
    pub env: BTreeMap<String, String>,
    /// The schemas values are checked against (usually [`Schemas::bundled`]).
    pub schemas: &'a Schemas,
    /// The plugin names the configuration may use ([`PluginNames::refusal`]).
    pub plugins: PluginNames,
}

impl Default for LoadOptions<'static> {
    fn default() -> Self {
        LoadOptions { env: BTreeMap::new(), schemas: Schemas::bundled(), plugins: PluginNames::default() }
    }
}

/// Reads and merges `inputs`. On any error, every diagnostic found (warnings included) is
/// returned, sorted by input then position.
pub fn load(inputs: &[Input], opts: &LoadOptions<'_>) -> Result<Desired, Diagnostics> {
    let mut diags = Vec::new();
    let mut env_values = Vec::new();
    let mut files: Vec<SourceFile> = Vec::new();
    for input in inputs {
        if let Some(f) = open(&input.name, &input.text, &opts.env, &mut env_values, &mut diags) {
            files.push(f);
        }
    }
    if inputs.is_empty() {
        diags.push(Diagnostic::error(None, "no configuration file given"));
    } else if diags.is_empty() && files.iter().all(|f| matches!(f.root.value, NodeValue::Null)) {
        diags.push(Diagnostic::error(
            Some(files[0].origin(files[0].root.pos)),
            "the configuration is empty; an empty configuration must still say `_format_version: \"3.0\"`",
        ));
    }
    let merged = merge_headers(&files, &mut diags);

    let mut b = Builder::new(opts.schemas, &files);
    b.plugins = opts.plugins.clone();
    b.diags = diags;
    for (fi, f) in files.iter().enumerate() {
        for (name, node) in &f.header.plugin_configs {
            match b.plugin_configs.get(name) {
                Some((other, first)) if first.to_json() != node.to_json() => {
                    let msg = format!("_plugin_configs.{name} differs from the one in {}", files[*other].name);
                    b.diags.push(Diagnostic::error(Some(f.origin(node.pos)), msg));
                }
                Some(_) => {}
                None => {
                    b.plugin_configs.insert(name.clone(), (fi, node.clone()));
                }
            }
        }
    }
    let defaults = check_defaults(&mut b);
    for fi in 0..files.len() {
        b.read_file(fi);
    }
    resolve::resolve(&mut b, &merged.lookup_tags);
    finish::apply_defaults(&mut b, &defaults);
    finish::apply_select_tags(&mut b, &merged.select_tags);
    finish::duplicates(&mut b);
    conversion_warnings(&mut b);

    let file_order = |d: &Diagnostic| {
        d.origin.as_ref().map(|o| (files.iter().position(|f| f.name == o.file).unwrap_or(usize::MAX), o.line, o.column))
    };
    if b.diags.iter().any(Diagnostic::is_error) {
        schema_errors_too(&mut b);
        b.diags.sort_by_key(|d| file_order(d));
        return Err(Diagnostics(b.diags));
    }
    b.diags.sort_by_key(|d| file_order(d));
    env_values.sort();
    env_values.dedup();
    Ok(Desired {
        state: State { entities: b.entities },
        select_tags: merged.select_tags,
        lookup_tags: merged.lookup_tags.into_iter().map(|(k, v)| (k.kind(), v)).collect(),
        workspace: merged.workspace,
        warnings: b.diags.into_iter().filter(|d| d.severity == Severity::Warning).collect(),
        env_values,
        env_fields: b.env_fields,
    })
}

/// On a failed load, the schema errors of the entities that had none of their own (a
/// missing required field, a value out of range across fields), so that one run reports
/// every error it can find, as `validate` would after a clean load.
fn schema_errors_too(b: &mut Builder<'_>) {
    let entities: Vec<_> =
        b.entities.iter().enumerate().filter(|(i, _)| !b.invalid.contains(i)).map(|(_, e)| e.clone()).collect();
    let partial = Desired { state: State { entities }, ..Desired::default() };
    let known: std::collections::BTreeSet<String> = b.diags.iter().map(ToString::to_string).collect();
    for d in crate::kong::validate::offline(b.schemas, &partial) {
        if !known.contains(&d.to_string()) {
            b.diags.push(d);
        }
    }
}

/// What all files say together.
struct Merged {
    select_tags: Vec<String>,
    lookup_tags: BTreeMap<KongKind, Vec<String>>,
    workspace: Option<String>,
}

/// Merges the files' headers: files that state `_workspace` or `_info.select_tags` must
/// agree (an error at the second file, naming the first); lookup tags are united.
fn merge_headers(files: &[SourceFile], diags: &mut Vec<Diagnostic>) -> Merged {
    let mut m = Merged { select_tags: Vec::new(), lookup_tags: BTreeMap::new(), workspace: None };
    let mut tags_from: Option<usize> = None;
    let mut ws_from: Option<usize> = None;
    for (fi, f) in files.iter().enumerate() {
        if let Some((tags, pos)) = &f.header.select_tags {
            let mut set: Vec<&String> = tags.iter().collect();
            set.sort();
            set.dedup();
            match tags_from {
                None => {
                    tags_from = Some(fi);
                    for t in tags {
                        if !m.select_tags.contains(t) {
                            m.select_tags.push(t.clone());
                        }
                    }
                }
                Some(first) => {
                    let mut theirs: Vec<&String> = m.select_tags.iter().collect();
                    theirs.sort();
                    if theirs != set {
                        diags.push(Diagnostic::error(
                            Some(f.origin(*pos)),
                            format!(
                                "_info.select_tags {:?} differ from {:?} in {}; files read together must share one ownership scope",
                                tags, m.select_tags, files[first].name
                            ),
                        ));
                    }
                }
            }
        }
        if let Some((ws, pos)) = &f.header.workspace {
            match (&m.workspace, ws_from) {
                (Some(first_ws), Some(first)) if first_ws != ws => diags.push(Diagnostic::error(
                    Some(f.origin(*pos)),
                    format!(
                        "_workspace \"{ws}\" differs from \"{first_ws}\" in {}; one run manages one workspace",
                        files[first].name
                    ),
                )),
                (Some(_), _) => {}
                (None, _) => {
                    m.workspace = Some(ws.clone());
                    ws_from = Some(fi);
                }
            }
        }
        for (kind, tags) in &f.header.lookup_tags {
            let slot = m.lookup_tags.entry(*kind).or_default();
            for t in tags {
                if !slot.contains(t) {
                    slot.push(t.clone());
                }
            }
        }
    }
    m
}

/// Checks `_info.defaults` against the entity schemas; files stating defaults for the same
/// kind must agree.
fn check_defaults(b: &mut Builder<'_>) -> Vec<Defaults> {
    let files = b.files;
    let mut out: Vec<(usize, Defaults)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for (kind, node) in &f.header.defaults {
            let Some(schema) = b.schemas.entity(kind.table()) else {
                continue;
            };
            let path = format!("_info.defaults.{}", kind.singular());
            let mut checker = Checker::for_entity(f, *kind, schema);
            let mut values = checker.schema_fields(schema, node, &path);
            for (k, _) in node.entries().unwrap_or_default() {
                let key = k.key_text();
                if kind.foreign_key(&key).is_some() || key == "id" {
                    checker.problem(k, &format!("{path}.{key}"), "cannot be given a default");
                    values.remove(&key);
                }
            }
            values.remove("created_at");
            values.remove("updated_at");
            for p in checker.problems {
                b.diags.push(Diagnostic::error(Some(f.origin(p.pos)), format!("{}: {}{}", p.path, p.message, p.hint)));
            }
            match out.iter().find(|(_, d)| d.kind == *kind) {
                Some((first, d)) if d.values != values => {
                    let msg = format!("{path} differs from the one in {}", files[*first].name);
                    b.diags.push(Diagnostic::error(Some(f.origin(node.pos)), msg));
                }
                Some(_) => {}
                None => out.push((fi, Defaults { kind: *kind, values, env_paths: checker.env_paths })),
            }
        }
    }
    out.into_iter().map(|(_, d)| d).collect()
}

/// One warning per converted file, at its `_format_version`, listing every changed path.
fn conversion_warnings(b: &mut Builder<'_>) {
    let files = b.files;
    for (fi, f) in files.iter().enumerate() {
        let version = f.header.version.clone().unwrap_or(FormatVersion::Missing);
        if !version.needs_conversion() || matches!(f.root.value, NodeValue::Null) {
            continue;
        }
        let pos = f.header.version_pos.unwrap_or(f.root.pos);
        let mut msg = match version {
            FormatVersion::Missing => {
                "no _format_version: read as \"1.1\" (as decK does) and converted to \"3.0\"".to_owned()
            }
            _ => format!("_format_version \"{}\" converted to \"3.0\"", version.declared()),
        };
        let changes = &b.conversions[fi];
        if changes.is_empty() {
            msg.push_str("; no route path needed the `~` regex prefix Kong 3 requires");
        } else {
            msg.push_str(&format!(
                "; the `~` regex prefix Kong 3 requires was added to {} route path(s): {}",
                changes.len(),
                changes.join("; ")
            ));
        }
        b.diags.push(Diagnostic::warning(Some(f.origin(pos)), msg));
    }
}
