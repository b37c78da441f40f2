//! `${{ env "DECK_X" }}` rendering on the raw text of a configuration file, before it is
//! parsed (`deck.md` §a.2 "Env substitution"; decK's `pkg/file/template.go`).
//!
//! decK runs the whole text through Go's `text/template` with `${{` / `}}` delimiters and
//! the functions `env`, `toBool`, `toInt`, `toFloat` and `indent`. This module implements
//! the part of that language decK files use:
//!
//! * actions `${{ pipeline }}`, with Go's trim markers (`${{- ` trims the white space
//!   before the action, ` -}}` the white space after it) and comments (`${{/* ... */}}`);
//! * pipelines of function calls (`env "DECK_PORT" | toInt`), parenthesised calls
//!   (`toInt (env "DECK_PORT")`), string (`"..."`, `` `...` ``), number and boolean literals;
//! * `env NAME`: the variable's value; the name must start with `DECK_` and the variable
//!   must be set, otherwise it is an error naming the file and line;
//! * `toBool`, `toInt`, `toFloat`: Go's `strconv.ParseBool`, `strconv.Atoi` and
//!   `strconv.ParseFloat` (a float prints as Go's `%v` does: `1e+06`, `0.5`);
//! * `indent N S`: `S` with every newline followed by `N` spaces.
//!
//! Hostile expressions are bounded: parentheses nest at most [`MAX_PAREN_DEPTH`] levels,
//! `indent` takes at most [`MAX_INDENT`] spaces, an expression prints at most
//! [`MAX_OUTPUT_BYTES`], and a file grows by at most [`MAX_GROWTH_BYTES`]. Messages never
//! quote a value that came from a variable.
//!
//! As decK does, expressions on lines whose first non-blank character is `#` (YAML
//! comment lines) are left alone. Differences from decK: Go template control structures
//! (`if`, `range`, variables, `.`) and other built-in functions are rejected with an error
//! instead of being evaluated; decK files do not use them.
//!
//! The rendered text comes with a [`SourceMap`] so that positions found while parsing it
//! (YAML errors, entities) point into the original text: exactly for text outside
//! expressions, and at the start of the expression for text an expression produced.

use std::collections::BTreeMap;
use std::ops::Range;

use super::yaml::Pos;

mod lines;
mod template;

use lines::LineIndex;

pub use template::{MAX_INDENT, MAX_OUTPUT_BYTES, MAX_PAREN_DEPTH};
use template::{Output, eval_action, scan_action};

/// How many bytes rendering may add to a file in total (each expression may print at most
/// [`MAX_OUTPUT_BYTES`]).
pub const MAX_GROWTH_BYTES: usize = 64 * 1024 * 1024;

/// The text after rendering, with the way back to the original.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The rendered text, ready for the YAML parser.
    pub text: String,
    /// Rendered position → original position.
    pub map: SourceMap,
    /// Byte ranges of the rendered text that an expression calling `env` produced.
    pub env_ranges: Vec<Range<usize>>,
    /// Every value `env` returned, in order of use.
    pub env_values: Vec<String>,
}

/// A rendering error at a position of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// What is wrong.
    pub message: String,
    /// Where the expression starts.
    pub pos: Pos,
}

/// Maps positions of a rendered text back to the text it was rendered from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceMap {
    /// Pieces of rendered text in order; empty means the identity.
    segments: Vec<Segment>,
    rendered_lines: LineIndex,
    original_lines: LineIndex,
    original: String,
    rendered: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    rendered: usize,
    len: usize,
    original: usize,
    literal: bool,
}

impl SourceMap {
    fn identity() -> Self {
        SourceMap::default()
    }

    /// The original position of a rendered position.
    pub fn original(&self, pos: Pos) -> Pos {
        if self.segments.is_empty() {
            return pos;
        }
        let byte = self.rendered_lines.byte_of(&self.rendered, pos);
        self.original_lines.pos_of(&self.original, self.original_byte(byte))
    }

    /// The original byte offset of a rendered byte offset.
    fn original_byte(&self, byte: usize) -> usize {
        let i = self.segments.partition_point(|s| s.rendered <= byte).saturating_sub(1);
        match self.segments.get(i) {
            Some(s) if s.literal => s.original + (byte - s.rendered).min(s.len),
            Some(s) => s.original,
            None => byte,
        }
    }

    /// The rendered byte offset of a rendered position (for comparing with
    /// [`Rendered::env_ranges`]).
    pub fn rendered_byte(&self, pos: Pos) -> Option<usize> {
        if self.segments.is_empty() {
            return None;
        }
        Some(self.rendered_lines.byte_of(&self.rendered, pos))
    }
}

/// The rendered text as it grows, with where each piece came from.
#[derive(Default)]
struct Rendering {
    text: String,
    segments: Vec<Segment>,
    env_ranges: Vec<Range<usize>>,
    env_values: Vec<String>,
}

impl Rendering {
    /// Copies `source[range]` as it is.
    fn literal(&mut self, source: &str, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.segments.push(Segment {
            rendered: self.text.len(),
            len: range.len(),
            original: range.start,
            literal: true,
        });
        self.text.push_str(&source[range]);
    }

    /// Appends what the expression at byte `original` rendered to.
    fn expansion(&mut self, original: usize, rendered: &str, env_used: Vec<String>) {
        let start = self.text.len();
        if !rendered.is_empty() {
            self.segments.push(Segment { rendered: start, len: rendered.len(), original, literal: false });
            self.text.push_str(rendered);
        }
        if !env_used.is_empty() {
            self.env_ranges.push(start..self.text.len());
            self.env_values.extend(env_used);
        }
    }
}

/// `range` of `text` without its leading whitespace (`trim_start`) and trailing whitespace
/// (`trim_end`): the `{{-` and `-}}` of the expressions around it.
fn trimmed(text: &str, mut range: Range<usize>, trim_start: bool, trim_end: bool) -> Range<usize> {
    if trim_start {
        range.start += text[range.clone()].len() - text[range.clone()].trim_start().len();
    }
    if trim_end {
        range.end = range.start + text[range.clone()].trim_end().len();
    }
    range
}

/// The end of the line holding byte `at` when that line is a YAML comment (its expressions
/// are not rendered), else `None`.
fn comment_line_end(text: &str, lines: &LineIndex, at: usize) -> Option<usize> {
    let starts = &lines.starts;
    let line = starts.partition_point(|&s| s <= at) - 1;
    let line_end = starts.get(line + 1).copied().unwrap_or(text.len());
    text[starts[line]..line_end].trim_start().starts_with('#').then_some(line_end)
}

/// Renders `text`, whose template expressions may read the variables of `env`.
/// All errors are returned, each at the start of its expression.
pub fn render(text: &str, env: &BTreeMap<String, String>) -> Result<Rendered, Vec<EnvError>> {
    if !text.contains("${{") {
        return Ok(Rendered {
            text: text.to_owned(),
            map: SourceMap::identity(),
            env_ranges: Vec::new(),
            env_values: Vec::new(),
        });
    }
    let original_lines = LineIndex::new(text);
    let pos_at = |byte: usize| original_lines.pos_of(text, byte);
    let mut out = Rendering { text: String::with_capacity(text.len()), ..Rendering::default() };
    let mut errors = Vec::new();
    let mut cursor = 0; // start of text not yet copied
    let mut trim_next = false; // the previous action ended with ` -}}`
    let mut search = 0;
    while let Some(found) = text[search..].find("${{").map(|i| i + search) {
        if let Some(line_end) = comment_line_end(text, &original_lines, found) {
            search = line_end;
            continue;
        }
        let Some(action) = scan_action(text, found) else {
            errors.push(EnvError {
                message: "template expression `${{` is not closed by `}}`".into(),
                pos: pos_at(found),
            });
            break;
        };
        out.literal(text, trimmed(text, cursor..found, trim_next, action.trim_left));
        trim_next = action.trim_right;
        match eval_action(&text[action.body.clone()], env) {
            Ok(Output { text: rendered, env_used }) => {
                if out.text.len() + rendered.len() > text.len().saturating_add(MAX_GROWTH_BYTES) {
                    errors.push(EnvError {
                        message: format!(
                            "template expressions make this file more than {MAX_GROWTH_BYTES} bytes longer; \
                             gateform refuses larger expansions"
                        ),
                        pos: pos_at(found),
                    });
                    break;
                }
                out.expansion(found, &rendered, env_used);
            }
            Err(message) => errors.push(EnvError { message, pos: pos_at(found) }),
        }
        cursor = action.end;
        search = action.end;
    }
    out.literal(text, trimmed(text, cursor..text.len(), trim_next, false));
    if !errors.is_empty() {
        return Err(errors);
    }
    let Rendering { text: rendered, mut segments, env_ranges, env_values } = out;
    if segments.is_empty() {
        segments.push(Segment { rendered: 0, len: 0, original: 0, literal: true });
    }
    let map = SourceMap {
        segments,
        rendered_lines: LineIndex::new(&rendered),
        original_lines,
        original: text.to_owned(),
        rendered: rendered.clone(),
    };
    Ok(Rendered { text: rendered, map, env_ranges, env_values })
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
