//! A small YAML emitter for JSON values, in the block style `deck gateway dump` writes
//! (sequences flush with their key, keys sorted), whose output [`crate::source::yaml::parse`]
//! reads back to the same value.
//!
//! Strings are written plain only when no YAML 1.1 or 1.2 reader could take them for
//! anything else (so `"true"`, `"1.0"`, `"null"`, `"~"`, `"yes"`, `"3.0"` are quoted);
//! multi-line strings (PEM blocks, Lua code) are written as literal blocks when that is
//! exact, and double-quoted otherwise.

use serde_json::{Map, Value};

/// `value` (an object) as a YAML document.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(&mut out, map, 0, false),
        other => {
            out.push_str(&inline(other).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

/// `value` with every object's keys sorted, recursively.
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The one-line form of a scalar or empty collection; `None` for anything that needs lines.
fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number(n)),
        Value::String(s) if block_ok(s) => None,
        Value::String(s) => Some(scalar(s)),
        Value::Array(items) if items.is_empty() => Some("[]".into()),
        Value::Object(map) if map.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f:?}") }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes a mapping at `indent`; when `first_inline`, the first key continues the current
/// line (after `- `).
fn emit_map(out: &mut String, map: &Map<String, Value>, indent: usize, first_inline: bool) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str(&scalar(key));
        out.push(':');
        emit_value(out, &map[key], indent, true);
    }
}

/// Writes the value after `key:` (`in_map`) or after `- `.
fn emit_value(out: &mut String, value: &Value, indent: usize, in_map: bool) {
    if let Some(text) = inline(value) {
        if in_map {
            out.push(' ');
        }
        out.push_str(&text);
        out.push('\n');
        return;
    }
    match value {
        Value::String(s) => {
            if in_map {
                out.push(' ');
            }
            block(out, s, if in_map { indent + 2 } else { indent });
        }
        Value::Array(items) => {
            if in_map {
                out.push('\n');
                emit_seq(out, items, indent, false);
            } else {
                emit_seq(out, items, indent, true);
            }
        }
        Value::Object(map) => {
            if in_map {
                out.push('\n');
                emit_map(out, map, indent + 2, false);
            } else {
                emit_map(out, map, indent, true);
            }
        }
        _ => {}
    }
}

fn emit_seq(out: &mut String, items: &[Value], indent: usize, first_inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str("- ");
        emit_value(out, item, indent + 2, false);
    }
}

/// Whether `s` can be written as a literal block (`|`) that reads back exactly.
fn block_ok(s: &str) -> bool {
    let Some(first) = s.split('\n').next() else {
        return false;
    };
    s.contains('\n')
        && !first.is_empty()
        && !first.starts_with([' ', '\t'])
        && !s.trim_end_matches('\n').is_empty()
        && s.chars().all(|c| c == '\n' || c == '\t' || !needs_escape(c))
        && s.split('\n').all(|line| line.is_empty() || !line.trim().is_empty())
        && s.split('\n').skip(1).all(|line| !line.starts_with('\t'))
}

fn block(out: &mut String, s: &str, indent: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// A string as a plain scalar when that is unambiguous, else double-quoted.
pub(crate) fn scalar(s: &str) -> String {
    if plain_ok(s) { s.to_owned() } else { quoted(s) }
}

fn plain_ok(s: &str) -> bool {
    // Ids: no YAML reader takes 8-4-4-4-12 hex digits for a number or a date.
    if super::shape::is_uuid(s) {
        return true;
    }
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    if s.ends_with([' ', ':', '\t'])
        || s.contains(": ")
        || s.contains(" #")
        || s.contains(['\n', '\t', '[', ']', '{', '}', ','])
    {
        return false;
    }
    if s.chars().any(needs_escape) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null") {
        return false;
    }
    matches!(crate::source::yaml::parse(s).map(|n| n.value), Ok(crate::source::yaml::NodeValue::Str(ref p)) if p == s)
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[path = "yaml_out_tests.rs"]
mod tests;
