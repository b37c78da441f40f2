//! The part of Go's `text/template` language decK files use: finding `${{ ... }}`
//! actions and evaluating their pipelines (see the parent module for what is supported).

use std::collections::BTreeMap;
use std::ops::Range;

pub(super) struct Action {
    /// The expression between the delimiters (trim markers excluded).
    pub body: Range<usize>,
    /// Just past the closing `}}`.
    pub end: usize,
    /// `${{- `: trim the white space before.
    pub trim_left: bool,
    /// ` -}}`: trim the white space after.
    pub trim_right: bool,
}

/// Finds the end of the action starting at `start` (`${{`), skipping `}}` inside quotes.
pub(super) fn scan_action(text: &str, start: usize) -> Option<Action> {
    let open = start + 3;
    let bytes = text.as_bytes();
    let trim_left =
        text[open..].starts_with("- ") || text[open..].starts_with("-\n") || text[open..].starts_with("-\t");
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
                } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    let mut body_end = i;
                    let trim_right = i >= open + 2 && bytes[i - 1] == b'-' && bytes[i - 2].is_ascii_whitespace();
                    if trim_right {
                        body_end -= 1;
                    }
                    let body_start = if trim_left { open + 1 } else { open };
                    return Some(Action {
                        body: body_start..body_end.max(body_start),
                        end: i + 2,
                        trim_left,
                        trim_right,
                    });
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

pub(super) struct Output {
    /// What the action prints.
    pub text: String,
    /// Values `env` returned while evaluating it.
    pub env_used: Vec<String>,
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

/// The characters of an expression still to read, with their byte offsets.
type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// The hint every refusal of unsupported template syntax ends with.
const UNSUPPORTED: &str = "only env, toBool, toInt, toFloat and indent calls are supported";

fn tokenize(body: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '|' => tokens.push(Token::Pipe),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '"' => tokens.push(Token::Str(quoted(&mut chars)?)),
            '`' => {
                let rest = &body[i + 1..];
                let Some(end) = rest.find('`') else {
                    return Err("unterminated raw string in template expression".into());
                };
                tokens.push(Token::Str(rest[..end].to_owned()));
                for _ in 0..rest[..=end].chars().count() {
                    chars.next();
                }
            }
            '.' if chars.peek().is_none_or(|&(_, n)| !n.is_ascii_digit()) => {
                return Err(format!("unsupported template syntax `.`: {UNSUPPORTED}"));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let number = word(c, &mut chars, |s, n| {
                    n.is_ascii_alphanumeric()
                        || n == '.'
                        || n == '_'
                        || ((n == '-' || n == '+') && s.ends_with(['e', 'E']))
                });
                tokens.push(Token::Num(number));
            }
            c if c.is_alphabetic() || c == '_' => {
                tokens.push(Token::Ident(word(c, &mut chars, |_, n| n.is_alphanumeric() || n == '_')));
            }
            other => return Err(format!("unsupported template syntax `{other}`: {UNSUPPORTED}")),
        }
    }
    Ok(tokens)
}

/// The rest of a `"` string, its escapes resolved; `chars` is left after the closing `"`.
fn quoted(chars: &mut Chars<'_>) -> Result<String, String> {
    let mut s = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Ok(s),
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
    Err("unterminated string in template expression".into())
}

/// `first` and the characters after it while `more(text so far, next)` holds.
fn word(first: char, chars: &mut Chars<'_>, more: impl Fn(&str, char) -> bool) -> String {
    let mut s = first.to_string();
    while let Some(&(_, n)) = chars.peek() {
        if !more(&s, n) {
            break;
        }
        s.push(n);
        chars.next();
    }
    s
}

/// The deepest nesting of parentheses in one expression (`toInt (env "X")` is 1).
pub const MAX_PAREN_DEPTH: usize = 64;

/// The most spaces `indent` may add after each newline.
pub const MAX_INDENT: i64 = 1024;

/// The most bytes one expression may print.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// A value with where it came from: values that came from `env` (or were computed from
/// one) are never quoted in messages.
#[derive(Debug, Clone)]
struct Val {
    v: TValue,
    from_env: bool,
}

impl Val {
    fn literal(v: TValue) -> Self {
        Val { v, from_env: false }
    }

    /// The value as messages show it: Go's `"..."` quoting, or `(sensitive value)`.
    fn quoted(&self) -> String {
        if self.from_env { crate::secrets::SENSITIVE.to_owned() } else { format!("\"{}\"", self.v.print()) }
    }
}

struct Parser<'e> {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    env: &'e BTreeMap<String, String>,
    env_used: Vec<String>,
}

pub(super) fn eval_action(body: &str, env: &BTreeMap<String, String>) -> Result<Output, String> {
    let trimmed = body.trim();
    if trimmed.starts_with("/*") {
        return if trimmed.ends_with("*/") {
            Ok(Output { text: String::new(), env_used: Vec::new() })
        } else {
            Err("unclosed comment in template expression".into())
        };
    }
    let tokens = tokenize(body)?;
    if tokens.is_empty() {
        return Err("missing value for command".into());
    }
    let mut p = Parser { tokens, at: 0, depth: 0, env, env_used: Vec::new() };
    let value = p.pipeline()?;
    if p.at != p.tokens.len() {
        return Err("unexpected `)` in template expression".into());
    }
    let text = value.v.print();
    if text.len() > MAX_OUTPUT_BYTES {
        return Err(too_long(text.len()));
    }
    Ok(Output { text, env_used: p.env_used })
}

fn too_long(bytes: usize) -> String {
    format!("template expression prints {bytes} bytes; gateform allows at most {MAX_OUTPUT_BYTES} per expression")
}

impl Parser<'_> {
    fn pipeline(&mut self) -> Result<Val, String> {
        let mut value = self.command(None)?;
        while self.tokens.get(self.at) == Some(&Token::Pipe) {
            self.at += 1;
            value = self.command(Some(value))?;
        }
        Ok(value)
    }

    fn command(&mut self, piped: Option<Val>) -> Result<Val, String> {
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
                let more = self.tokens.get(self.at).is_some_and(|tok| !matches!(tok, Token::Pipe | Token::Close));
                if more || piped.is_some() {
                    let shown = if value.from_env { value.quoted() } else { value.v.print() };
                    return Err(format!("can't give argument to non-function {shown}"));
                }
                Ok(value)
            }
            None => Err("missing value for command".into()),
        }
    }

    fn operand(&mut self) -> Result<Val, String> {
        let tok = self.tokens.get(self.at).cloned().ok_or("missing value for command")?;
        self.at += 1;
        match tok {
            Token::Str(s) => Ok(Val::literal(TValue::Str(s))),
            Token::Num(n) => parse_number(&n).map(Val::literal),
            Token::Ident(b) if b == "true" || b == "false" => Ok(Val::literal(TValue::Bool(b == "true"))),
            Token::Ident(name) => self.call(&name, Vec::new()),
            Token::Open => {
                if self.depth >= MAX_PAREN_DEPTH {
                    return Err(format!(
                        "template expression nests parentheses more than {MAX_PAREN_DEPTH} levels deep; \
                         gateform refuses deeper nesting"
                    ));
                }
                self.depth += 1;
                let v = self.pipeline()?;
                self.depth -= 1;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("unclosed left paren in template expression".into());
                }
                self.at += 1;
                Ok(v)
            }
            Token::Pipe | Token::Close => Err("missing value for command".into()),
        }
    }

    fn call(&mut self, name: &str, args: Vec<Val>) -> Result<Val, String> {
        if args.len() != arity(name)? {
            return Err(format!("wrong number of args for {name}: want {} got {}", arity(name)?, args.len()));
        }
        let from_env = args.iter().any(|a| a.from_env);
        let string_arg = |a: &Val| -> Result<String, String> {
            match &a.v {
                TValue::Str(s) => Ok(s.clone()),
                other => Err(format!("wrong type for value in {name}; expected string; got {}", other.type_name())),
            }
        };
        let invalid =
            |func: &str, a: &Val| format!("error calling {name}: {func}: parsing {}: invalid syntax", a.quoted());
        let v = match name {
            "env" => {
                let key = string_arg(&args[0])?;
                if !key.starts_with("DECK_") {
                    return Err(format!(
                        "environment variables in the state file must be prefixed with 'DECK_', found: {}",
                        if args[0].from_env { args[0].quoted() } else { format!("'{key}'") }
                    ));
                }
                let Some(value) = self.env.get(&key) else {
                    let shown = if args[0].from_env { args[0].quoted() } else { format!("'{key}'") };
                    return Err(format!("environment variable {shown} present in state file but not set"));
                };
                self.env_used.push(value.clone());
                return Ok(Val { v: TValue::Str(value.clone()), from_env: true });
            }
            "toBool" => match string_arg(&args[0])?.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => TValue::Bool(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => TValue::Bool(false),
                _ => return Err(invalid("strconv.ParseBool", &args[0])),
            },
            "toInt" => {
                let s = string_arg(&args[0])?;
                let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
                match s.parse::<i64>() {
                    Ok(i) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => TValue::Int(i),
                    _ => return Err(invalid("strconv.Atoi", &args[0])),
                }
            }
            "toFloat" => {
                let s = string_arg(&args[0])?;
                TValue::Float(parse_go_float(&s).ok_or_else(|| invalid("strconv.ParseFloat", &args[0]))?)
            }
            _ => TValue::Str(indent(&args[0], &string_arg(&args[1])?)?),
        };
        Ok(Val { v, from_env })
    }
}

/// How many arguments a supported function takes; an error for anything else.
fn arity(name: &str) -> Result<usize, String> {
    match name {
        "env" | "toBool" | "toInt" | "toFloat" => Ok(1),
        "indent" => Ok(2),
        "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block" | "break" | "continue" => Err(
            format!("template action `{name}` is not supported: only env, toBool, toInt, toFloat and indent calls are"),
        ),
        other => Err(format!("function \"{other}\" not defined")),
    }
}

/// `indent N S`: `S` with `N` spaces after every newline. `N` is 0 to [`MAX_INDENT`], and
/// the result at most [`MAX_OUTPUT_BYTES`] long (checked before anything is allocated).
fn indent(spaces: &Val, s: &str) -> Result<String, String> {
    let n = match &spaces.v {
        TValue::Int(n) if (0..=MAX_INDENT).contains(n) => *n as usize,
        TValue::Int(_) => {
            let shown = if spaces.from_env { spaces.quoted() } else { spaces.v.print() };
            return Err(format!("error calling indent: {shown} spaces: indent takes 0 to {MAX_INDENT} spaces"));
        }
        other => return Err(format!("wrong type for value in indent; expected int; got {}", other.type_name())),
    };
    let newlines = s.bytes().filter(|&b| b == b'\n').count();
    let len = newlines.saturating_mul(n).saturating_add(s.len());
    if len > MAX_OUTPUT_BYTES {
        return Err(too_long(len));
    }
    Ok(s.replace('\n', &format!("\n{}", " ".repeat(n))))
}

fn parse_number(text: &str) -> Result<TValue, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Ok(TValue::Int(i));
    }
    parse_go_float(text).map(TValue::Float).ok_or_else(|| format!("bad number syntax: {text:?}"))
}

/// `strconv.ParseFloat` for the decimal forms (and `inf`/`nan`, which Go accepts too).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok().or(Some(if lower == "nan" {
            f64::NAN
        } else if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
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
pub(super) fn go_float(f: f64) -> String {
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
