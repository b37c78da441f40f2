//! Pagination and tag filters of list endpoints (`kong-admin-api.md` §3.4, §3.5).

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// Page size: default 100, 1..=1000 (§3.4).
pub fn parse_size(raw: Option<&str>) -> ApiResult<usize> {
    let Some(raw) = raw else { return Ok(100) };
    let n: f64 = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::dao(StatusCode::BAD_REQUEST, 9, "invalid size", "size must be a number", None))?;
    if n.fract() != 0.0 || !(1.0..=1000.0).contains(&n) {
        return Err(ApiError::dao(
            StatusCode::BAD_REQUEST,
            9,
            "invalid size",
            "size must be an integer between 1 and 1000",
            None,
        ));
    }
    Ok(n as usize)
}

/// An opaque offset token for "after this id": URL-safe base64 of `["<id>"]`, like Kong's.
pub fn encode_offset(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&[last_id]).unwrap_or_default())
}

/// Decodes an offset token back to the last id (§3.4 errors, code 7).
pub fn decode_offset(token: &str) -> ApiResult<String> {
    let bad = |why: &str| {
        ApiError::dao(
            StatusCode::BAD_REQUEST,
            7,
            "invalid offset",
            format!("'{token}' is not a valid offset: {why}"),
            None,
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(token))
        .map_err(|_| bad("bad base64 encoding"))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad("bad json encoding"))?;
    match v {
        Value::Array(a) if a.len() == 1 && a[0].is_string() => Ok(a[0].as_str().unwrap_or_default().to_owned()),
        _ => Err(bad("bad json encoding")),
    }
}

/// A tags filter: all of (`a,b`) or any of (`a/b`).
#[derive(Debug, Clone, PartialEq)]
pub enum TagFilter {
    /// Entity has every tag.
    All(Vec<String>),
    /// Entity has at least one tag.
    Any(Vec<String>),
}

impl TagFilter {
    /// Parses `?tags=` (§3.5; errors are code 11 `invalid options`).
    pub fn parse(raw: &str) -> ApiResult<TagFilter> {
        if raw.is_empty() {
            return Err(ApiError::invalid_option("tags", "cannot be null"));
        }
        let valid = raw.bytes().all(|b| (0x20..=0x7e).contains(&b) || b >= 0x80);
        let has_and = raw.contains(',');
        let has_or = raw.contains('/');
        if !valid || has_and && has_or {
            return Err(ApiError::invalid_option("tags", "invalid filter syntax"));
        }
        let sep = if has_or { '/' } else { ',' };
        let tags: Vec<String> = raw.split(sep).map(str::to_owned).collect();
        if tags.iter().any(String::is_empty) {
            return Err(ApiError::invalid_option("tags", "invalid filter syntax"));
        }
        if tags.len() > 5 {
            return Err(ApiError::invalid_option("tags", "cannot query more than 5 tags"));
        }
        Ok(if has_or { TagFilter::Any(tags) } else { TagFilter::All(tags) })
    }

    /// Whether an entity with `tags` (its `tags` field) passes.
    pub fn matches(&self, tags: Option<&Value>) -> bool {
        let own: Vec<&str> =
            tags.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        match self {
            TagFilter::All(t) => t.iter().all(|x| own.contains(&x.as_str())),
            TagFilter::Any(t) => t.iter().any(|x| own.contains(&x.as_str())),
        }
    }
}

/// Percent-escapes a query value.
pub fn escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_round_trip_and_reject_garbage() {
        let t = encode_offset("0b9b6f9e-0000-4000-8000-000000000000");
        assert_eq!(decode_offset(&t).unwrap(), "0b9b6f9e-0000-4000-8000-000000000000");
        let e = decode_offset("x").unwrap_err();
        assert_eq!(e.body.unwrap()["message"], "'x' is not a valid offset: bad base64 encoding");
        let e = decode_offset(&URL_SAFE_NO_PAD.encode("nope")).unwrap_err();
        assert!(e.body.unwrap()["message"].as_str().unwrap().ends_with("bad json encoding"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(None).unwrap(), 100);
        assert_eq!(parse_size(Some("1000")).unwrap(), 1000);
        assert!(parse_size(Some("1001")).is_err());
        assert_eq!(parse_size(Some("x")).unwrap_err().body.unwrap()["message"], "size must be a number");
    }

    #[test]
    fn tag_filters() {
        let f = TagFilter::parse("a,b").unwrap();
        assert!(f.matches(Some(&json!(["a", "b", "c"]))));
        assert!(!f.matches(Some(&json!(["a"]))));
        let f = TagFilter::parse("a/b").unwrap();
        assert!(f.matches(Some(&json!(["b"]))));
        assert!(TagFilter::parse("a,b/c").is_err());
        assert!(TagFilter::parse("").is_err());
        assert!(TagFilter::parse("a,b,c,d,e,f").is_err());
    }
}
