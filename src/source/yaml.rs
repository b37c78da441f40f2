//! A YAML 1.2 (and therefore JSON) reader that keeps the line and column of every node, so
//! that every configuration mistake can be reported as `file:line:column`.
//!
//! Scalars resolve with the YAML 1.2 core schema (`true`/`false` only, so `yes`, `no`, `on`,
//! `NO` stay strings); quoted scalars are always strings. Anchors, aliases and merge keys
//! (`<<`) are supported. Duplicate keys in one mapping are errors.
//!
//! Hostile input is bounded ([`Limits`], applied by [`parse`] to every caller: the decK
//! reader, the sandbox's DB-less `/config`): nesting depth, and what aliases may expand to.
//! Errors never quote a scalar's value (it may be a secret); their position shows it.

use saphyr_parser::Parser;

mod build;
mod node;
mod scalar;

use build::Builder;
pub use node::{Limits, Node, NodeValue, Pos, YamlError};

/// Parses one YAML (or JSON) document within [`Limits::DEFAULT`]. An empty text gives a
/// `Null` node; a stream with more than one document is an error.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    parse_with(text, &Limits::DEFAULT)
}

/// [`parse`] within other limits. Errors: syntax errors (a tab used for indentation is
/// reported on the tab's line), duplicate keys, tags that do not fit their value, nesting
/// deeper than `limits.max_depth`, alias expansion past `limits.max_alias_*`.
pub fn parse_with(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    let mut builder = Builder::new(*limits);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let pos = Pos { line: e.marker().line(), column: e.marker().col() + 1 };
            syntax_error(text, e.info(), pos)
        })?;
        builder.event(event, span)?;
    }
    let mut docs = builder.docs.into_iter();
    let first = docs.next().unwrap_or(Node { value: NodeValue::Null, pos: Pos { line: 1, column: 1 } });
    if let Some(second) = docs.next() {
        return Err(YamlError { message: "more than one YAML document in this file".into(), pos: second.pos });
    }
    Ok(first)
}

/// Parses a `.json` file: it must be JSON (RFC 8259: no trailing commas, no comments, no
/// YAML), as a JSON parser would require (messages are serde_json's, e.g. `trailing comma`
/// at the comma), and is then read like YAML for positions. JSON nests at most 128 levels
/// deep (the JSON parser's own limit); an empty text gives `Null`.
pub fn parse_json(text: &str) -> Result<Node, YamlError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim().is_empty() {
        return parse(text);
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
        let pos = Pos { line: e.line().max(1), column: e.column().max(1) };
        if let Some(comma) = trailing_comma(body, pos) {
            return Err(YamlError { message: "trailing comma".into(), pos: comma });
        }
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        return Err(YamlError { message: message.to_owned(), pos });
    }
    parse(text)
}

/// The comma before the `}` or `]` at `pos`, when only white space separates them.
fn trailing_comma(text: &str, pos: Pos) -> Option<Pos> {
    let line_start: usize = text.split_inclusive('\n').take(pos.line - 1).map(str::len).sum();
    let at = line_start + text.get(line_start..)?.char_indices().nth(pos.column - 1)?.0;
    if !matches!(text.as_bytes().get(at), Some(b'}' | b']')) {
        return None;
    }
    let before = text[..at].trim_end_matches([' ', '\t', '\r', '\n']);
    if !before.ends_with(',') {
        return None;
    }
    let comma = before.len() - 1;
    let line = text[..comma].matches('\n').count() + 1;
    let start = text[..comma].rfind('\n').map_or(0, |i| i + 1);
    Some(Pos { line, column: text[start..comma].chars().count() + 1 })
}

/// saphyr's error, except that an error about a tab names the first tab used for
/// indentation at or after the line saphyr stopped on (it often stops at the end of the
/// line before).
fn syntax_error(text: &str, info: &str, pos: Pos) -> YamlError {
    if info.contains("tab") {
        let tab = text.lines().enumerate().skip(pos.line.saturating_sub(1)).take(3).find_map(|(i, line)| {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            line[..indent].find('\t').map(|col| Pos { line: i + 1, column: col + 1 })
        });
        if let Some(tab) = tab {
            return YamlError {
                message: "a tab is used for indentation here; YAML indents with spaces only".into(),
                pos: tab,
            };
        }
    }
    YamlError { message: info.to_owned(), pos: inside(text, pos) }
}

/// `pos`, or the end of the text when it is past it (saphyr places some errors at the end of
/// the stream on a line after the last one).
fn inside(text: &str, pos: Pos) -> Pos {
    let lines = text.split('\n').count();
    if pos.line <= lines {
        return pos;
    }
    let last = text.rsplit('\n').next().unwrap_or_default();
    Pos { line: lines, column: last.chars().count() + 1 }
}

#[cfg(test)]
mod tests;
