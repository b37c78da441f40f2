//! Scalar resolution with the YAML 1.2 core schema: `true`/`false`, integers (decimal,
//! `0x`, `0o`), floats, `null`/`~`, and the core tags that force a type.

use saphyr_parser::ScalarStyle;

use super::node::{NodeValue, Pos, YamlError};

/// Resolves a scalar: core-schema tags (`!!str`, `!!null`, `!!bool`, `!!int`, `!!float`)
/// first, then quoting, then the plain-scalar rules. A tag the value does not fit is an
/// error that names the tag but never quotes the value: it may be a secret (a key-auth
/// `key`, a value from a `DECK_*` variable), and the position already shows it.
pub(super) fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    pos: Pos,
) -> Result<NodeValue, YamlError> {
    let bad = |what: &str| YamlError {
        message: format!("the value tagged `!!{}` is not {what}", tag.unwrap_or_default()),
        pos,
    };
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
pub(super) fn plain_scalar(text: &str) -> NodeValue {
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
