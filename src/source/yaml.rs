//! A YAML 1.2 (and therefore JSON) reader that keeps the line and column of every node, so
//! that every configuration mistake can be reported as `file:line:column`.
//!
//! Scalars resolve with the YAML 1.2 core schema (`true`/`false` only, so `yes`, `no`, `on`,
//! `NO` stay strings); quoted scalars are always strings. Anchors, aliases and merge keys
//! (`<<`) are supported. Duplicate keys in one mapping are errors.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// A 1-based line and column in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A parsed node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where the node starts.
    pub pos: Pos,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

/// A syntax error, a duplicate key or an unsupported construct, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

impl Node {
    /// The value of `key` when this node is a mapping with a string key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Mapping entries, when this node is a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Sequence items, when this node is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of the node's type for messages (`a string`, `a mapping`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a sequence",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (positions dropped). Non-string mapping keys are written as their
    /// YAML text; non-finite floats become `null`.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Number((*i).into()),
            NodeValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The text of a scalar used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Null => "null".to_owned(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) | NodeValue::Map(_) => "<complex key>".to_owned(),
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

/// Parses one YAML (or JSON) document. An empty text gives a `Null` node; a stream with more
/// than one document is an error.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder { anchors: HashMap::new(), stack: Vec::new(), docs: Vec::new() };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            message: e.info().to_owned(),
            pos: Pos { line: e.marker().line(), column: e.marker().col() + 1 },
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

enum Frame {
    Seq { items: Vec<Node>, pos: Pos, anchor: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, pos: Pos, anchor: usize, merges: Vec<Node> },
}

struct Builder {
    anchors: HashMap<usize, Node>,
    stack: Vec<Frame>,
    docs: Vec<Node>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let pos = pos_of(&span);
        match event {
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { items: Vec::new(), pos, anchor }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { entries: Vec::new(), key: None, pos, anchor, merges: Vec::new() })
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, pos, anchor }) = self.stack.pop() {
                    self.push(Node { value: NodeValue::Seq(items), pos }, anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { mut entries, pos, anchor, merges, .. }) = self.stack.pop() {
                    for merge in merges {
                        merge_into(&mut entries, merge)?;
                    }
                    self.push(Node { value: NodeValue::Map(entries), pos }, anchor)?;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                let value = resolve_scalar(&text, style, tag.as_deref(), pos)?;
                self.push(Node { value, pos }, anchor)?;
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| YamlError { message: "alias to an unknown anchor".into(), pos })?;
                let node = Node { pos, ..node };
                self.push(node, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, merges, .. }) => match key.take() {
                None => {
                    if matches!(node.value, NodeValue::Seq(_) | NodeValue::Map(_)) {
                        return Err(YamlError { message: "mapping keys must be scalars".into(), pos: node.pos });
                    }
                    *key = Some(node);
                }
                Some(k) => {
                    if k.as_str() == Some("<<") {
                        merges.push(node);
                        return Ok(());
                    }
                    let text = k.key_text();
                    if let Some((first, _)) = entries.iter().find(|(e, _)| e.key_text() == text) {
                        return Err(YamlError {
                            message: format!("duplicate key `{text}` (first defined at line {})", first.pos.line),
                            pos: k.pos,
                        });
                    }
                    entries.push((k, node));
                }
            },
        }
        Ok(())
    }
}

fn merge_into(entries: &mut Vec<(Node, Node)>, merge: Node) -> Result<(), YamlError> {
    let sources = match merge.value {
        NodeValue::Map(_) => vec![merge],
        NodeValue::Seq(items) => items,
        _ => {
            return Err(YamlError {
                message: "a merge key (<<) needs a mapping or a list of mappings".into(),
                pos: merge.pos,
            });
        }
    };
    for source in sources {
        let NodeValue::Map(src) = source.value else {
            return Err(YamlError {
                message: "a merge key (<<) needs a mapping or a list of mappings".into(),
                pos: source.pos,
            });
        };
        for (k, v) in src {
            if !entries.iter().any(|(e, _)| e.key_text() == k.key_text()) {
                entries.push((k, v));
            }
        }
    }
    Ok(())
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>, pos: Pos) -> Result<NodeValue, YamlError> {
    let bad = |what: &str| YamlError { message: format!("`{text}` is not {what}"), pos };
    match tag {
        Some("str") => return Ok(NodeValue::Str(text.to_owned())),
        Some("null") => return Ok(NodeValue::Null),
        Some("bool") => {
            return match plain_scalar(text) {
                NodeValue::Bool(b) => Ok(NodeValue::Bool(b)),
                _ => Err(bad("a boolean")),
            };
        }
        Some("int") => {
            return match plain_scalar(text) {
                NodeValue::Int(i) => Ok(NodeValue::Int(i)),
                _ => Err(bad("an integer")),
            };
        }
        Some("float") => {
            return match plain_scalar(text) {
                NodeValue::Int(i) => Ok(NodeValue::Float(i as f64)),
                NodeValue::Float(f) => Ok(NodeValue::Float(f)),
                _ => Err(bad("a number")),
            };
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(NodeValue::Str(text.to_owned()));
    }
    Ok(plain_scalar(text))
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
fn plain_scalar(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return NodeValue::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return NodeValue::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return NodeValue::Int(i);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return NodeValue::Int(i);
    }
    if is_core_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return NodeValue::Float(f);
    }
    NodeValue::Str(text.to_owned())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        }
    };
    mantissa_ok && exponent_ok && (s.contains('.') || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_schema_scalars() {
        let n = parse("a: yes\nb: true\nc: 10\nd: 1.2096e+06\ne: ~\nf: '10'\ng: NO\nh: 0x1F\ni: 1e3\n").unwrap();
        assert_eq!(
            n.to_json(),
            json!({"a": "yes", "b": true, "c": 10, "d": 1209600.0, "e": null, "f": "10", "g": "NO", "h": 31, "i": 1000.0})
        );
    }

    #[test]
    fn positions_are_one_based() {
        let n = parse("services:\n  - name: a\n    port: 80\n").unwrap();
        let svc = &n.get("services").unwrap().items().unwrap()[0];
        assert_eq!(svc.get("port").unwrap().pos, Pos { line: 3, column: 11 });
        assert_eq!(svc.pos.line, 2);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, column: 1 });
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a:\n  b: [1, 2\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err}");
    }

    #[test]
    fn json_is_yaml() {
        let n = parse("{\n    \"a\": [1, 2.5, \"x\", null, false],\n    \"b\": {\"c\": \"d\"}\n}").unwrap();
        assert_eq!(n.to_json(), json!({"a": [1, 2.5, "x", null, false], "b": {"c": "d"}}));
        assert_eq!(n.get("b").unwrap().pos.line, 3);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = parse("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n").unwrap();
        assert_eq!(n.to_json(), json!({"base": {"x": 1, "y": 2}, "c": {"y": 3, "x": 1}, "d": {"x": 1, "y": 2}}));
    }

    #[test]
    fn multi_line_strings() {
        let n = parse("code: |\n  line1\n  line2\n").unwrap();
        assert_eq!(n.to_json(), json!({"code": "line1\nline2\n"}));
    }

    #[test]
    fn empty_is_null_and_two_documents_fail() {
        assert_eq!(parse("").unwrap().value, NodeValue::Null);
        assert_eq!(parse("---\na: 1\n").unwrap().to_json(), json!({"a": 1}));
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
