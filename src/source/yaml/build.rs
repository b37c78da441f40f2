//! Building [`Node`] trees from saphyr-parser's events, within [`Limits`]: nesting depth is
//! checked when a sequence or mapping opens (and when an alias pastes a tree in), what
//! anchors and aliases copy is counted before a tree is copied, and duplicate keys are found with one hash
//! set per mapping, so no document costs more than its limits allow, whatever its shape.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use saphyr_parser::{Event, Span};

use super::node::{Limits, Node, NodeValue, Pos, YamlError};
use super::scalar::resolve_scalar;

/// What a finished node costs: the nodes in it (itself included), the bytes of scalar text
/// in it, and its height (0 for a scalar, 1 for a collection of scalars, ...).
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    bytes: usize,
    height: usize,
}

impl Weight {
    fn scalar(text: &str) -> Self {
        Weight { nodes: 1, bytes: text.len(), height: 0 }
    }

    fn collection() -> Self {
        Weight { nodes: 1, bytes: 0, height: 1 }
    }

    fn add_child(&mut self, child: Weight) {
        self.nodes = self.nodes.saturating_add(child.nodes);
        self.bytes = self.bytes.saturating_add(child.bytes);
        self.height = self.height.max(child.height + 1);
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
        weight: Weight,
    },
    Map {
        entries: Vec<(Node, Node)>,
        /// Key texts of `entries`, with the line each was first given on.
        seen: HashMap<String, usize>,
        key: Option<Node>,
        pos: Pos,
        anchor: usize,
        merges: Vec<Node>,
        weight: Weight,
    },
}

/// Turns events into document trees.
pub(super) struct Builder {
    limits: Limits,
    anchors: HashMap<usize, (Node, Weight)>,
    stack: Vec<Frame>,
    pub docs: Vec<Node>,
    /// Nodes and scalar bytes copied so far for anchors (each anchored tree is kept) and
    /// aliases (each pastes a copy).
    copied_nodes: usize,
    copied_bytes: usize,
}

impl Builder {
    pub fn new(limits: Limits) -> Self {
        Builder {
            limits,
            anchors: HashMap::new(),
            stack: Vec::new(),
            docs: Vec::new(),
            copied_nodes: 0,
            copied_bytes: 0,
        }
    }

    fn too_deep(&self, pos: Pos) -> YamlError {
        YamlError {
            message: format!(
                "sequences and mappings are nested more than {} levels deep here; \
                 gateform refuses deeper nesting",
                self.limits.max_depth
            ),
            pos,
        }
    }

    pub fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let pos = Pos { line: span.start.line(), column: span.start.col() + 1 };
        match event {
            Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.too_deep(pos));
                }
                self.stack.push(Frame::Seq { items: Vec::new(), pos, anchor, weight: Weight::collection() });
            }
            Event::MappingStart(anchor, _) => {
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.too_deep(pos));
                }
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    seen: HashMap::new(),
                    key: None,
                    pos,
                    anchor,
                    merges: Vec::new(),
                    weight: Weight::collection(),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, pos, anchor, weight }) = self.stack.pop() {
                    self.push(Node { value: NodeValue::Seq(items), pos }, anchor, weight)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { mut entries, mut seen, pos, anchor, merges, weight, .. }) = self.stack.pop() {
                    for merge in merges {
                        merge_into(&mut entries, &mut seen, merge)?;
                    }
                    self.push(Node { value: NodeValue::Map(entries), pos }, anchor, weight)?;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                let value = resolve_scalar(&text, style, tag.as_deref(), pos)?;
                self.push(Node { value, pos }, anchor, Weight::scalar(&text))?;
            }
            Event::Alias(id) => {
                let Some((node, weight)) = self.anchors.get(&id) else {
                    return Err(YamlError { message: "alias to an unknown anchor".into(), pos });
                };
                let weight = *weight;
                if self.stack.len() + weight.height > self.limits.max_depth {
                    return Err(self.too_deep(pos));
                }
                let node = node.clone();
                self.copy(weight, pos)?;
                self.push(Node { pos, ..node }, 0, weight)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Charges a copy of a tree of `weight` (for an anchor, or an alias) to the budget.
    fn copy(&mut self, weight: Weight, pos: Pos) -> Result<(), YamlError> {
        self.copied_nodes = self.copied_nodes.saturating_add(weight.nodes);
        self.copied_bytes = self.copied_bytes.saturating_add(weight.bytes);
        if self.copied_nodes > self.limits.max_alias_nodes || self.copied_bytes > self.limits.max_alias_bytes {
            return Err(YamlError {
                message: format!(
                    "anchors and aliases copy more than {} nodes or {} bytes of text in this document \
                     (an alias bomb?); gateform refuses larger expansions",
                    self.limits.max_alias_nodes, self.limits.max_alias_bytes
                ),
                pos,
            });
        }
        Ok(())
    }

    fn push(&mut self, node: Node, anchor: usize, weight: Weight) -> Result<(), YamlError> {
        if anchor != 0 {
            self.copy(weight, node.pos)?;
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, weight: w, .. }) => {
                w.add_child(weight);
                items.push(node);
            }
            Some(Frame::Map { entries, seen, key, merges, weight: w, .. }) => {
                match key.take() {
                    None => {
                        if matches!(node.value, NodeValue::Seq(_) | NodeValue::Map(_)) {
                            return Err(YamlError { message: "mapping keys must be scalars".into(), pos: node.pos });
                        }
                        w.add_child(weight);
                        *key = Some(node);
                    }
                    Some(k) => {
                        if k.as_str() == Some("<<") {
                            // Merged entries join this mapping: a level less (two for a
                            // list of mappings) than the merge value.
                            let lifted = if matches!(node.value, NodeValue::Seq(_)) { 2 } else { 1 };
                            w.add_child(Weight { height: weight.height.saturating_sub(lifted), ..weight });
                            merges.push(node);
                            return Ok(());
                        }
                        w.add_child(weight);
                        let text = k.key_text();
                        if let Some(first) = seen.get(&text) {
                            return Err(YamlError {
                                message: format!("duplicate key `{text}` (first defined at line {first})"),
                                pos: k.pos,
                            });
                        }
                        seen.insert(text, k.pos.line);
                        entries.push((k, node));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Adds the entries of a merge key's mapping (or list of mappings) that `entries` does not
/// have yet: keys written in the mapping win, then earlier mappings of the list.
fn merge_into(
    entries: &mut Vec<(Node, Node)>,
    seen: &mut HashMap<String, usize>,
    merge: Node,
) -> Result<(), YamlError> {
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
            if let Entry::Vacant(slot) = seen.entry(k.key_text()) {
                slot.insert(k.pos.line);
                entries.push((k, v));
            }
        }
    }
    Ok(())
}
