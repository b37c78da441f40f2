//! One input file: rendering, parsing, and its top-level `_` keys (`_format_version`,
//! `_info`, `_workspace`, `_konnect`, `_transform`, `_plugin_configs`).

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use crate::kong::KongKind;
use crate::kong::deck::convert::FormatVersion;
use crate::model::Origin;
use crate::source::diag::Diagnostic;
use crate::source::env::{SourceMap, render};
use crate::source::suggest::did_you_mean;
use crate::source::yaml::{Node, NodeValue, Pos, parse, parse_json};

/// A parsed input: its rendered YAML tree (positions in rendered text) and the way back
/// to the original text.
pub(crate) struct SourceFile {
    pub name: Arc<str>,
    pub map: SourceMap,
    pub root: Node,
    /// Rendered positions of nodes whose text came (wholly or partly) from `env`.
    pub env_nodes: HashSet<Pos>,
    pub header: Header,
}

/// What the `_` keys of one file say.
#[derive(Default)]
pub(crate) struct Header {
    pub version: Option<FormatVersion>,
    pub version_pos: Option<Pos>,
    pub select_tags: Option<(Vec<String>, Pos)>,
    pub lookup_tags: Vec<(KongKind, Vec<String>)>,
    /// `_info.defaults.<service|route|upstream|target>` mappings.
    pub defaults: Vec<(KongKind, Node)>,
    pub workspace: Option<(String, Pos)>,
    pub plugin_configs: Vec<(String, Node)>,
}

/// Top-level keys that are not entity collections.
pub(crate) const HEADER_KEYS: &[&str] =
    &["_format_version", "_transform", "_info", "_workspace", "_konnect", "_plugin_configs", "_comment"];

/// The keys of `_info`.
const INFO_KEYS: &[&str] = &[
    "select_tags",
    "default_lookup_tags",
    "defaults",
    "consumer_group_policy_overrides",
    "skip_hash_for_basic_auth",
    "include_plugin_definitions",
];

/// decK collections gateform does not manage (yet).
pub(crate) const UNSUPPORTED_COLLECTIONS: &[&str] = &[
    "filter_chains",
    "partials",
    "licenses",
    "rbac_roles",
    "custom_entities",
    "service_packages",
    "cloned_plugins",
    "custom_plugins",
    "workspaces",
];

impl SourceFile {
    /// Where a rendered position is in the original file.
    pub fn origin(&self, pos: Pos) -> Origin {
        let p = self.map.original(pos);
        Origin { file: self.name.clone(), line: p.line, column: p.column }
    }

    /// Whether the node starting at `pos` holds text that came from a `DECK_*` variable.
    pub fn is_env(&self, pos: Pos) -> bool {
        self.env_nodes.contains(&pos)
    }

    /// Whether `node` or any node in it holds text that came from a `DECK_*` variable.
    pub fn holds_env(&self, node: &Node) -> bool {
        self.is_env(node.pos)
            || match &node.value {
                NodeValue::Seq(items) => items.iter().any(|i| self.holds_env(i)),
                NodeValue::Map(entries) => entries.iter().any(|(k, v)| self.is_env(k.pos) || self.holds_env(v)),
                _ => false,
            }
    }
}

/// Renders and parses one input. Errors go to `diags`; `None` when nothing more can be read.
pub(crate) fn open(
    name: &str,
    text: &str,
    env: &BTreeMap<String, String>,
    env_values: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<SourceFile> {
    let name: Arc<str> = Arc::from(name);
    let at = |pos: Pos| Some(Origin { file: name.clone(), line: pos.line, column: pos.column });
    if is_json(&name)
        && text.contains("${{")
        && let Ok(mut root) = parse_json(text)
    {
        // Valid JSON as written (a JSON dump): templates are rendered inside the parsed
        // strings, so a value holding `"` or `\` cannot break the document.
        let mut env_nodes = HashSet::new();
        let mut errors = Vec::new();
        render_strings(&mut root, env, env_values, &mut env_nodes, &mut errors);
        if !errors.is_empty() {
            diags.extend(errors.into_iter().map(|(pos, message)| Diagnostic::error(at(pos), message)));
            return None;
        }
        return finish_open(
            SourceFile { name, map: SourceMap::default(), root, env_nodes, header: Header::default() },
            diags,
        );
    }
    let rendered = match render(text, env) {
        Ok(r) => r,
        Err(errors) => {
            diags.extend(errors.into_iter().map(|e| Diagnostic::error(at(e.pos), e.message)));
            return None;
        }
    };
    env_values.extend(rendered.env_values.iter().cloned());
    let json = is_json(&name);
    let parsed = if json { parse_json(&rendered.text) } else { parse(&rendered.text) };
    let root = match parsed {
        Ok(root) => root,
        Err(e) => {
            let p = rendered.map.original(e.pos);
            let syntax = if json { "JSON" } else { "YAML" };
            diags.push(Diagnostic::error(at(p), format!("invalid {syntax}: {}", e.message)));
            return None;
        }
    };
    let env_nodes = env_nodes(&root, &rendered.map, &rendered.env_ranges);
    finish_open(SourceFile { name, map: rendered.map, root, env_nodes, header: Header::default() }, diags)
}

/// Renders the templates inside every string of `node` (keys excluded), noting the nodes
/// whose text came from a variable; errors at the string's position.
fn render_strings(
    node: &mut Node,
    env: &BTreeMap<String, String>,
    env_values: &mut Vec<String>,
    env_nodes: &mut HashSet<Pos>,
    errors: &mut Vec<(Pos, String)>,
) {
    match &mut node.value {
        NodeValue::Str(s) if s.contains("${{") => match render(s, env) {
            Ok(r) => {
                if !r.env_ranges.is_empty() {
                    env_nodes.insert(node.pos);
                }
                env_values.extend(r.env_values.iter().cloned());
                *s = r.text;
            }
            Err(e) => errors.extend(e.into_iter().map(|e| (node.pos, e.message))),
        },
        NodeValue::Seq(items) => {
            for item in items {
                render_strings(item, env, env_values, env_nodes, errors);
            }
        }
        NodeValue::Map(entries) => {
            for (_, v) in entries {
                render_strings(v, env, env_values, env_nodes, errors);
            }
        }
        _ => {}
    }
}

/// Checks the top of a parsed file and reads its header.
fn finish_open(mut file: SourceFile, diags: &mut Vec<Diagnostic>) -> Option<SourceFile> {
    match &file.root.value {
        NodeValue::Map(_) | NodeValue::Null => {}
        _ => {
            diags.push(Diagnostic::error(
                Some(file.origin(file.root.pos)),
                format!("a decK file holds a mapping at the top level, not {}", file.root.type_name()),
            ));
            return None;
        }
    }
    file.header = read_header(&file, diags);
    Some(file)
}

/// Whether an input is read as JSON: its name (a path, or `REV:path`) ends in `.json`, in
/// any case. Other inputs (`.yaml`, `.yml`, standard input) are YAML, of which JSON is a part.
fn is_json(name: &str) -> bool {
    name.len() >= 5 && name.get(name.len() - 5..).is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// Nodes holding text from an `env` expression: those starting inside a substituted range,
/// and the scalar a substitution is embedded in (the last node starting before it).
fn env_nodes(root: &Node, map: &SourceMap, ranges: &[Range<usize>]) -> HashSet<Pos> {
    let mut out = HashSet::new();
    if ranges.is_empty() {
        return out;
    }
    let mut starts: Vec<(usize, Pos, bool)> = Vec::new();
    collect_starts(root, map, &mut starts);
    starts.sort_by_key(|s| s.0);
    for range in ranges {
        let first = starts.partition_point(|s| s.0 < range.start);
        for s in &starts[first..] {
            if s.0 >= range.end {
                break;
            }
            out.insert(s.1);
        }
        if first > 0 {
            let before = &starts[first - 1];
            if before.2 {
                out.insert(before.1);
            }
        }
    }
    out
}

fn collect_starts(node: &Node, map: &SourceMap, out: &mut Vec<(usize, Pos, bool)>) {
    let byte = map.rendered_byte(node.pos).unwrap_or(0);
    match &node.value {
        NodeValue::Seq(items) => {
            out.push((byte, node.pos, false));
            for item in items {
                collect_starts(item, map, out);
            }
        }
        NodeValue::Map(entries) => {
            out.push((byte, node.pos, false));
            for (k, v) in entries {
                out.push((map.rendered_byte(k.pos).unwrap_or(0), k.pos, false));
                collect_starts(v, map, out);
            }
        }
        _ => out.push((byte, node.pos, true)),
    }
}

fn read_header(file: &SourceFile, diags: &mut Vec<Diagnostic>) -> Header {
    let mut h = Header::default();
    let err =
        |diags: &mut Vec<Diagnostic>, pos: Pos, msg: String| diags.push(Diagnostic::error(Some(file.origin(pos)), msg));
    let Some(entries) = file.root.entries() else {
        return h;
    };
    for (key, value) in entries {
        match key.key_text().as_str() {
            "_format_version" => {
                h.version_pos = Some(value.pos);
                match value.as_str() {
                    Some(v) => match FormatVersion::parse(v) {
                        Ok(v) => h.version = Some(v),
                        Err(msg) => err(diags, value.pos, msg),
                    },
                    None => err(
                        diags,
                        value.pos,
                        format!("_format_version must be a string such as \"3.0\" (quoted), not {}", value.type_name()),
                    ),
                }
            }
            "_workspace" => match value.as_str() {
                Some(ws) if !ws.is_empty() => h.workspace = Some((ws.to_owned(), value.pos)),
                _ => err(diags, value.pos, "_workspace must be a non-empty string".into()),
            },
            "_transform" if !matches!(value.value, NodeValue::Bool(_) | NodeValue::Null) => {
                err(diags, value.pos, format!("_transform: expected a boolean, not {}", value.type_name()));
            }
            "_konnect" => diags.push(Diagnostic::warning(
                Some(file.origin(key.pos)),
                "_konnect is ignored: gateform manages a Kong Gateway through its Admin API, not Konnect",
            )),
            "_plugin_configs" => match &value.value {
                NodeValue::Map(configs) => {
                    for (name, config) in configs {
                        if config.entries().is_none() {
                            err(
                                diags,
                                config.pos,
                                format!("_plugin_configs.{}: expected a mapping (a plugin config)", name.key_text()),
                            );
                        } else {
                            h.plugin_configs.push((name.key_text(), config.clone()));
                        }
                    }
                }
                NodeValue::Null => {}
                _ => err(diags, value.pos, "_plugin_configs: expected a mapping of names to plugin configs".into()),
            },
            "_info" => read_info(file, value, &mut h, diags),
            _ => {}
        }
    }
    h
}

fn string_list(file: &SourceFile, node: &Node, what: &str, diags: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    match &node.value {
        NodeValue::Seq(items) => {
            for item in items {
                match item.as_str() {
                    Some(s) => out.push(s.to_owned()),
                    None => {
                        diags.push(Diagnostic::error(
                            Some(file.origin(item.pos)),
                            format!("{what}: expected a list of strings"),
                        ));
                        return None;
                    }
                }
            }
            Some(out)
        }
        NodeValue::Null => Some(out),
        _ => {
            diags.push(Diagnostic::error(Some(file.origin(node.pos)), format!("{what}: expected a list of strings")));
            None
        }
    }
}

fn read_info(file: &SourceFile, info: &Node, h: &mut Header, diags: &mut Vec<Diagnostic>) {
    let entries = match &info.value {
        NodeValue::Map(entries) => entries,
        NodeValue::Null => return,
        _ => {
            diags.push(Diagnostic::error(Some(file.origin(info.pos)), "_info: expected a mapping"));
            return;
        }
    };
    for (key, value) in entries {
        let key_text = key.key_text();
        match key_text.as_str() {
            "select_tags" => {
                if let Some(tags) = string_list(file, value, "_info.select_tags", diags) {
                    h.select_tags = Some((tags, value.pos));
                }
            }
            "default_lookup_tags" => {
                if let Some(kinds) = mapping(file, value, "_info.default_lookup_tags", diags) {
                    read_lookup_tags(file, kinds, h, diags);
                }
            }
            "defaults" => {
                if let Some(kinds) = mapping(file, value, "_info.defaults", diags) {
                    read_defaults(file, kinds, h, diags);
                }
            }
            "consumer_group_policy_overrides" | "skip_hash_for_basic_auth" | "include_plugin_definitions" => diags
                .push(Diagnostic::warning(
                    Some(file.origin(key.pos)),
                    format!("_info.{key_text} is ignored by gateform"),
                )),
            other => {
                let hint = did_you_mean(other, INFO_KEYS.iter().copied());
                diags.push(Diagnostic::error(Some(file.origin(key.pos)), format!("_info.{other}: unknown key{hint}")))
            }
        }
    }
}

/// `value` as a mapping's entries; a value that is neither a mapping nor empty is an error
/// at `what`.
fn mapping<'n>(
    file: &SourceFile,
    value: &'n Node,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'n [(Node, Node)]> {
    let entries = value.entries();
    if entries.is_none() && !matches!(value.value, NodeValue::Null) {
        diags.push(Diagnostic::error(Some(file.origin(value.pos)), format!("{what}: expected a mapping")));
    }
    entries
}

/// `_info.default_lookup_tags`: the tags decK looks entities of other files up by, per kind.
fn read_lookup_tags(file: &SourceFile, kinds: &[(Node, Node)], h: &mut Header, diags: &mut Vec<Diagnostic>) {
    for (k, tags) in kinds {
        let name = k.key_text();
        let what = format!("_info.default_lookup_tags.{name}");
        match name.as_str() {
            "services" | "routes" | "consumers" | "consumer_groups" => {
                if let (Some(kind), Some(tags)) = (KongKind::from_table(&name), string_list(file, tags, &what, diags)) {
                    h.lookup_tags.push((kind, tags));
                }
            }
            "partials" => diags.push(Diagnostic::warning(
                Some(file.origin(k.pos)),
                format!("{what} is ignored: gateform does not manage partials"),
            )),
            _ => {
                let hint = did_you_mean(&name, ["services", "routes", "consumers", "consumer_groups"]);
                diags.push(Diagnostic::error(
                    Some(file.origin(k.pos)),
                    format!("{what}: unknown kind (expected services, routes, consumers or consumer_groups){hint}"),
                ))
            }
        }
    }
}

/// `_info.defaults`: values a service, route, upstream or target takes where it gives none.
fn read_defaults(file: &SourceFile, kinds: &[(Node, Node)], h: &mut Header, diags: &mut Vec<Diagnostic>) {
    for (k, defaults) in kinds {
        let kind = match k.key_text().as_str() {
            "service" => KongKind::Service,
            "route" => KongKind::Route,
            "upstream" => KongKind::Upstream,
            "target" => KongKind::Target,
            other => {
                let hint = did_you_mean(other, ["service", "route", "upstream", "target"]);
                diags.push(Diagnostic::error(
                    Some(file.origin(k.pos)),
                    format!("_info.defaults.{other}: unknown kind (expected service, route, upstream or target){hint}"),
                ));
                continue;
            }
        };
        match &defaults.value {
            NodeValue::Map(_) => h.defaults.push((kind, defaults.clone())),
            NodeValue::Null => {}
            _ => diags.push(Diagnostic::error(
                Some(file.origin(defaults.pos)),
                format!("_info.defaults.{}: expected a mapping", k.key_text()),
            )),
        }
    }
}
