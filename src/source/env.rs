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
    rendered_lines: Vec<usize>,
    original_lines: Vec<usize>,
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

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn byte_of(text: &str, lines: &[usize], pos: Pos) -> usize {
    let Some(&start) = lines.get(pos.line.saturating_sub(1)) else { return text.len() };
    let rest = &text[start..];
    rest.char_indices().nth(pos.column.saturating_sub(1)).map_or(text.len(), |(i, _)| start + i)
}

fn pos_of(text: &str, lines: &[usize], byte: usize) -> Pos {
    let line = lines.partition_point(|&s| s <= byte).max(1);
    let start = lines[line - 1];
    let column = text.get(start..byte).map_or(1, |s| s.chars().count() + 1);
    Pos { line, column }
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
        let byte = byte_of(&self.rendered, &self.rendered_lines, pos);
        pos_of(&self.original, &self.original_lines, self.original_byte(byte))
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
        Some(byte_of(&self.rendered, &self.rendered_lines, pos))
    }
}

/// Renders `text`, whose template expressions may read the variables of `env`.
/// All errors are returned, each at the start of its expression.
pub fn render(text: &str, env: &BTreeMap<String, String>) -> Result<Rendered, Vec<EnvError>> {
    if !text.contains("${{") {
        return Ok(Rendered { text: text.to_owned(), map: SourceMap::identity(), env_ranges: Vec::new(), env_values: Vec::new() });
    }
    let original_lines = line_starts(text);
    let pos_at = |byte: usize| pos_of(text, &original_lines, byte);
    let mut out = String::with_capacity(text.len());
    let mut segments: Vec<Segment> = Vec::new();
    let mut env_ranges = Vec::new();
    let mut env_values = Vec::new();
    let mut errors = Vec::new();

    let push_literal = |out: &mut String, segments: &mut Vec<Segment>, range: Range<usize>| {
        if range.is_empty() {
            return;
        }
        segments.push(Segment { rendered: out.len(), len: range.len(), original: range.start, literal: true });
        out.push_str(&text[range]);
    };

    let mut cursor = 0; // start of text not yet copied
    let mut trim_next = false; // the previous action ended with ` -}}`
    let mut search = 0;
    while let Some(found) = text[search..].find("${{").map(|i| i + search) {
        let line = original_lines.partition_point(|&s| s <= found) - 1;
        let line_start = original_lines[line];
        let line_end = original_lines.get(line + 1).copied().unwrap_or(text.len());
        if text[line_start..line_end].trim_start().starts_with('#') {
            search = line_end;
            continue;
        }
        let Some(action) = scan_action(text, found) else {
            errors.push(EnvError { message: "template expression `${{` is not closed by `}}`".into(), pos: pos_at(found) });
            break;
        };
        let mut literal = cursor..found;
        if trim_next {
            literal.start += text[literal.clone()].len() - text[literal.clone()].trim_start().len();
        }
        if action.trim_left {
            literal.end = literal.start + text[literal.clone()].trim_end().len();
        }
        push_literal(&mut out, &mut segments, literal);
        trim_next = action.trim_right;
        let start = out.len();
        match eval_action(&text[action.body.clone()], env) {
            Ok(Output { text: rendered, env_used }) => {
                if !rendered.is_empty() {
                    segments.push(Segment { rendered: start, len: rendered.len(), original: found, literal: false });
                    out.push_str(&rendered);
                }
                if !env_used.is_empty() {
                    env_ranges.push(start..out.len());
                    env_values.extend(env_used);
                }
            }
            Err(message) => errors.push(EnvError { message, pos: pos_at(found) }),
        }
        cursor = action.end;
        search = action.end;
    }
    let mut tail = cursor..text.len();
    if trim_next {
        tail.start += text[tail.clone()].len() - text[tail.clone()].trim_start().len();
    }
    push_literal(&mut out, &mut segments, tail);
    if !errors.is_empty() {
        return Err(errors);
    }
    if segments.is_empty() {
        segments.push(Segment { rendered: 0, len: 0, original: 0, literal: true });
    }
    let map = SourceMap { segments, rendered_lines: line_starts(&out), original_lines, original: text.to_owned(), rendered: out.clone() };
    Ok(Rendered { text: out, map, env_ranges, env_values })
}

struct Action {
    body: Range<usize>,
    end: usize,
    trim_left: bool,
    trim_right: bool,
}

/// Finds the end of the action starting at `start` (`${{`), skipping `}}` inside quotes.
fn scan_action(text: &str, start: usize) -> Option<Action> {
    let open = start + 3;
    let bytes = text.as_bytes();
    let trim_left = text[open..].starts_with("- ") || text[open..].starts_with("-\n") || text[open..].starts_with("-\t");
    let mut i = open;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'"' || b == b'`' {
                    quote = Some(b);
                } else if text[i..].starts_with("}}") {
                    let mut body_end = i;
                    let trim_right = i >= open + 2 && bytes[i - 1] == b'-' && bytes[i - 2].is_ascii_whitespace();
                    if trim_right {
                        body_end -= 1;
                    }
                    let body_start = if trim_left { open + 1 } else { open };
                    return Some(Action { body: body_start..body_end.max(body_start), end: i + 2, trim_left, trim_right });
                }
            }
        }
        i += 1;
    }
    None
}

/// A value in a pipeline.
#[derive(Debug, Clone, PartialEq)]
enum TValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl TValue {
    fn type_name(&self) -> &'static str {
        match self {
            TValue::Str(_) => "string",
            TValue::Int(_) => "int",
            TValue::Float(_) => "float64",
            TValue::Bool(_) => "bool",
        }
    }

    fn print(&self) -> String {
        match self {
            TValue::Str(s) => s.clone(),
            TValue::Int(i) => i.to_string(),
            TValue::Float(f) => go_float(*f),
            TValue::Bool(b) => b.to_string(),
        }
    }
}

struct Output {
    text: String,
    env_used: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(String),
    Pipe,
    Open,
    Close,
}

fn tokenize(body: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '|' => tokens.push(Token::Pipe),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            Some(other) => return Err(format!("unsupported escape `\\{other}` in a template string")),
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated string in template expression".into());
                }
                tokens.push(Token::Str(s));
            }
            '`' => {
                let rest = &body[i + 1..];
                let Some(end) = rest.find('`') else { return Err("unterminated raw string in template expression".into()) };
                tokens.push(Token::Str(rest[..end].to_owned()));
                for _ in 0..rest[..=end].chars().count() {
                    chars.next();
                }
            }
            '.' if chars.peek().is_none_or(|&(_, n)| !n.is_ascii_digit()) => {
                return Err("unsupported template syntax `.`: only env, toBool, toInt, toFloat and indent calls are supported".into());
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut s = c.to_string();
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '.' || n == '_' || ((n == '-' || n == '+') && s.ends_with(['e', 'E'])) {
                        s.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Num(s));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut s = c.to_string();
                while let Some(&(_, n)) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        s.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Ident(s));
            }
            other => {
                return Err(format!(
                    "unsupported template syntax `{other}`: only env, toBool, toInt, toFloat and indent calls are supported"
                ));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'e> {
    tokens: Vec<Token>,
    at: usize,
    env: &'e BTreeMap<String, String>,
    env_used: Vec<String>,
}

fn eval_action(body: &str, env: &BTreeMap<String, String>) -> Result<Output, String> {
    let trimmed = body.trim();
    if trimmed.starts_with("/*") {
        return if trimmed.ends_with("*/") { Ok(Output { text: String::new(), env_used: Vec::new() }) } else {
            Err("unclosed comment in template expression".into())
        };
    }
    let tokens = tokenize(body)?;
    if tokens.is_empty() {
        return Err("missing value for command".into());
    }
    let mut p = Parser { tokens, at: 0, env, env_used: Vec::new() };
    let value = p.pipeline()?;
    if p.at != p.tokens.len() {
        return Err("unexpected `)` in template expression".into());
    }
    Ok(Output { text: value.print(), env_used: p.env_used })
}

impl Parser<'_> {
    fn pipeline(&mut self) -> Result<TValue, String> {
        let mut value = self.command(None)?;
        while self.tokens.get(self.at) == Some(&Token::Pipe) {
            self.at += 1;
            value = self.command(Some(value))?;
        }
        Ok(value)
    }

    fn command(&mut self, piped: Option<TValue>) -> Result<TValue, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Ident(name)) if !matches!(name.as_str(), "true" | "false") => {
                self.at += 1;
                let mut args = Vec::new();
                while let Some(tok) = self.tokens.get(self.at) {
                    if matches!(tok, Token::Pipe | Token::Close) {
                        break;
                    }
                    args.push(self.operand()?);
                }
                args.extend(piped);
                self.call(&name, args)
            }
            Some(_) => {
                let value = self.operand()?;
                if let Some(tok) = self.tokens.get(self.at) {
                    if !matches!(tok, Token::Pipe | Token::Close) {
                        return Err(format!("can't give argument to non-function {}", value.print()));
                    }
                }
                if piped.is_some() {
                    return Err(format!("can't give argument to non-function {}", value.print()));
                }
                Ok(value)
            }
            None => Err("missing value for command".into()),
        }
    }

    fn operand(&mut self) -> Result<TValue, String> {
        let tok = self.tokens.get(self.at).cloned().ok_or("missing value for command")?;
        self.at += 1;
        match tok {
            Token::Str(s) => Ok(TValue::Str(s)),
            Token::Num(n) => parse_number(&n),
            Token::Ident(b) if b == "true" || b == "false" => Ok(TValue::Bool(b == "true")),
            Token::Ident(name) => self.call(&name, Vec::new()),
            Token::Open => {
                let v = self.pipeline()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("unclosed left paren in template expression".into());
                }
                self.at += 1;
                Ok(v)
            }
            Token::Pipe | Token::Close => Err("missing value for command".into()),
        }
    }

    fn call(&mut self, name: &str, args: Vec<TValue>) -> Result<TValue, String> {
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n { Ok(()) } else { Err(format!("wrong number of args for {name}: want {n} got {}", args.len())) }
        };
        let string_arg = |v: &TValue| -> Result<String, String> {
            match v {
                TValue::Str(s) => Ok(s.clone()),
                other => Err(format!("wrong type for value in {name}; expected string; got {}", other.type_name())),
            }
        };
        match name {
            "env" => {
                arity(1)?;
                let key = string_arg(&args[0])?;
                if !key.starts_with("DECK_") {
                    return Err(format!("environment variables in the state file must be prefixed with 'DECK_', found: '{key}'"));
                }
                let value = self.env.get(&key).ok_or_else(|| format!("environment variable '{key}' present in state file but not set"))?;
                self.env_used.push(value.clone());
                Ok(TValue::Str(value.clone()))
            }
            "toBool" => {
                arity(1)?;
                let s = string_arg(&args[0])?;
                match s.as_str() {
                    "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(TValue::Bool(true)),
                    "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(TValue::Bool(false)),
                    _ => Err(format!("error calling toBool: strconv.ParseBool: parsing \"{s}\": invalid syntax")),
                }
            }
            "toInt" => {
                arity(1)?;
                let s = string_arg(&args[0])?;
                let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
                match s.parse::<i64>() {
                    Ok(i) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(TValue::Int(i)),
                    _ => Err(format!("error calling toInt: strconv.Atoi: parsing \"{s}\": invalid syntax")),
                }
            }
            "toFloat" => {
                arity(1)?;
                let s = string_arg(&args[0])?;
                parse_go_float(&s)
                    .map(TValue::Float)
                    .ok_or_else(|| format!("error calling toFloat: strconv.ParseFloat: parsing \"{s}\": invalid syntax"))
            }
            "indent" => {
                arity(2)?;
                let spaces = match &args[0] {
                    TValue::Int(n) if *n >= 0 => *n as usize,
                    other => return Err(format!("wrong type for value in indent; expected int; got {}", other.type_name())),
                };
                let s = string_arg(&args[1])?;
                Ok(TValue::Str(s.replace('\n', &format!("\n{}", " ".repeat(spaces)))))
            }
            "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block" | "break" | "continue" => Err(format!(
                "template action `{name}` is not supported: only env, toBool, toInt, toFloat and indent calls are"
            )),
            other => Err(format!("function \"{other}\" not defined")),
        }
    }
}

fn parse_number(text: &str) -> Result<TValue, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(TValue::Int(i));
        }
    }
    parse_go_float(text).map(TValue::Float).ok_or_else(|| format!("bad number syntax: {text:?}"))
}

/// `strconv.ParseFloat` for the decimal forms (and `inf`/`nan`, which Go accepts too).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok().or(Some(if lower == "nan" { f64::NAN } else if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }));
    }
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

/// Formats a float as Go's `fmt` `%v` does (`strconv.FormatFloat(f, 'g', -1, 64)`): the
/// shortest digits that read back exactly, in exponent form when the decimal exponent is
/// below -4 or at least 6 (`1e+06`, `1.5e-05`, `123456`, `0.0001`).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Shortest digits and exponent from Rust's `{:e}` (`1.2345e6`).
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let s = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{sign}{s}")
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
