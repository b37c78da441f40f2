//! One Tyk file, rendered and parsed with positions: `${{ env "DECK_X" }}` templating
//! ([`crate::source::env`], exactly as decK files are rendered), then the spanned YAML 1.2
//! parser ([`crate::source::yaml`]; JSON is YAML), so that any JSON pointer into the file
//! can be turned back into `file:line:column` of the original text.
//!
//! JSON allows tabs between tokens where YAML does not (Tyk's own `apps/jq.json` indents with
//! tabs), so tabs outside string literals are read as spaces (one character each: positions
//! do not move). Hostile input is bounded: files over [`MAX_FILE_BYTES`] and nesting deeper
//! than [`MAX_DEPTH`] are refused before parsing.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::Origin;
use crate::source::diag::Diagnostic;
use crate::source::env::{SourceMap, render};
use crate::source::yaml::{Node, NodeValue, Pos, parse};

/// Largest file read (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A parsed file.
#[derive(Debug)]
pub struct SourceDoc {
    /// The file as messages name it.
    pub name: Arc<str>,
    /// The parsed tree (positions in the rendered text).
    pub root: Node,
    /// The rendered text (for files that are not JSON, such as PEM certificates).
    pub text: String,
    map: SourceMap,
}

/// Escapes one JSON pointer token (`~` → `~0`, `/` → `~1`).
pub fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `base` + `/key`.
pub fn join(base: &str, key: &str) -> String {
    format!("{base}/{}", escape_token(key))
}

fn tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~"))
}

/// Replaces tabs outside JSON string literals by spaces and measures the nesting depth;
/// `Err(byte offset)` where the depth first exceeds [`MAX_DEPTH`].
fn prepare(text: &str) -> Result<String, usize> {
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped, mut depth) = (false, false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            _ if in_str => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
            }
            '"' => in_str = true,
            '{' | '[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(i);
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(if c == '\t' && !in_str { ' ' } else { c });
    }
    Ok(out)
}

fn pos_of_byte(text: &str, byte: usize) -> Pos {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, column }
}

impl SourceDoc {
    /// Renders and parses `text`. `parse_tree` is false for files that are not JSON (the
    /// tree is then `null`). Errors come as diagnostics at their place.
    pub fn open(
        name: &str,
        text: &str,
        env: &BTreeMap<String, String>,
        parse_tree: bool,
        env_values: &mut Vec<String>,
    ) -> Result<SourceDoc, Vec<Diagnostic>> {
        let name: Arc<str> = Arc::from(name);
        let at = |pos: Pos| Some(Origin { file: name.clone(), line: pos.line, column: pos.column });
        if text.len() > MAX_FILE_BYTES {
            return Err(vec![Diagnostic::error(
                at(Pos { line: 1, column: 1 }),
                format!("the file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
            )]);
        }
        let rendered = render(text, env).map_err(|errors| {
            errors.into_iter().map(|e| Diagnostic::error(at(e.pos), e.message)).collect::<Vec<_>>()
        })?;
        env_values.extend(rendered.env_values.iter().cloned());
        let mut doc = SourceDoc {
            name: name.clone(),
            root: Node { value: NodeValue::Null, pos: Pos { line: 1, column: 1 } },
            text: rendered.text.clone(),
            map: rendered.map,
        };
        if !parse_tree {
            return Ok(doc);
        }
        let prepared = match prepare(&rendered.text) {
            Ok(p) => p,
            Err(byte) => {
                let pos = doc.map.original(pos_of_byte(&rendered.text, byte));
                return Err(vec![Diagnostic::error(at(pos), format!("nesting deeper than {MAX_DEPTH} levels"))]);
            }
        };
        doc.root = parse(&prepared).map_err(|e| {
            let pos = doc.map.original(e.pos);
            vec![Diagnostic::error(at(pos), format!("invalid JSON: {}", e.message))]
        })?;
        Ok(doc)
    }

    /// Where a rendered position is in the original file.
    pub fn origin(&self, pos: Pos) -> Origin {
        let p = self.map.original(pos);
        Origin { file: self.name.clone(), line: p.line, column: p.column }
    }

    /// The node at a JSON pointer, or the deepest node on its way when it does not exist.
    pub fn node_at(&self, pointer: &str) -> &Node {
        let mut node = &self.root;
        for token in tokens(pointer) {
            let next = match &node.value {
                NodeValue::Map(_) => node.get(&token),
                NodeValue::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The position of the value at a JSON pointer (or of its deepest existing parent).
    pub fn origin_at(&self, pointer: &str) -> Origin {
        self.origin(self.node_at(pointer).pos)
    }

    /// The position of the *key* of the member a pointer names, when it exists; else as
    /// [`SourceDoc::origin_at`].
    pub fn key_origin_at(&self, pointer: &str) -> Origin {
        let (parent, key) = match pointer.rfind('/') {
            Some(i) => (&pointer[..i], pointer[i + 1..].replace("~1", "/").replace("~0", "~")),
            None => return self.origin_at(pointer),
        };
        let node = self.node_at(parent);
        match node.entries().and_then(|e| e.iter().find(|(k, _)| k.as_str() == Some(&key))) {
            Some((k, _)) => self.origin(k.pos),
            None => self.origin_at(pointer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> Result<SourceDoc, Vec<Diagnostic>> {
        let env = [("DECK_LP".to_owned(), "/from-env".to_owned())].into();
        SourceDoc::open("t.json", text, &env, true, &mut Vec::new())
    }

    #[test]
    fn pointers_find_positions_in_the_original_text() {
        let d = open("{\n  \"proxy\": {\"listen_path\": \"${{ env `DECK_LP` }}\",\n\t\"a/b\": [1, 2]}\n}").unwrap();
        assert_eq!(d.root.to_json()["proxy"]["listen_path"], "/from-env");
        assert_eq!(d.origin_at("/proxy/listen_path").to_string(), "t.json:2:28");
        assert_eq!(d.origin_at("/proxy/a~1b/1").to_string(), "t.json:3:13");
        assert_eq!(d.origin_at("/proxy/missing").to_string(), "t.json:2:12");
        assert_eq!(d.key_origin_at("/proxy").to_string(), "t.json:2:3");
    }

    #[test]
    fn tabs_inside_strings_are_kept() {
        let d = open("{\"a\":\t\"x\\t\ty\"}").unwrap();
        assert_eq!(d.root.to_json()["a"], "x\t\ty");
    }

    #[test]
    fn bad_input_is_refused_with_a_place() {
        let e = open("{\n  \"a\": [1,\n}").unwrap_err();
        assert!(e[0].to_string().starts_with("t.json:"), "{}", e[0]);
        assert!(e[0].message.starts_with("invalid JSON"), "{}", e[0]);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = open(&deep).unwrap_err();
        assert_eq!(e[0].to_string(), format!("t.json:1:{}: error: nesting deeper than 128 levels", MAX_DEPTH + 1));
        let e = open("{\"a\": \"${{ env `DECK_UNSET` }}\"}").unwrap_err();
        assert!(e[0].message.contains("DECK_UNSET"), "{}", e[0]);
    }
}
