//! Kong's error bodies (`kong-admin-api.md` §4.1, §4.3).

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::kong::schema::SchemaViolation;

/// An Admin API error: a status and a JSON body (`None` = empty body).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Option<Value>,
}

/// Result of an Admin API operation.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// `{"message": msg}` with `status`.
    pub fn message(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError { status, body: Some(json!({ "message": msg.into() })) }
    }

    /// 404 `{"message":"Not found"}` (§3.1).
    pub fn not_found() -> Self {
        Self::message(StatusCode::NOT_FOUND, "Not found")
    }

    /// 405 `{"message":"Method not allowed"}` (§3.1).
    pub fn method_not_allowed() -> Self {
        Self::message(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
    }

    /// 400 with a plain message.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::message(StatusCode::BAD_REQUEST, msg)
    }

    /// A DAO error body `{"code", "name", "message", "fields"?}` (§4.1).
    pub fn dao(status: StatusCode, code: u32, name: &str, message: impl Into<String>, fields: Option<Value>) -> Self {
        let mut body = Map::new();
        body.insert("code".into(), json!(code));
        body.insert("name".into(), json!(name));
        body.insert("message".into(), Value::String(message.into()));
        if let Some(f) = fields {
            body.insert("fields".into(), f);
        }
        ApiError { status, body: Some(Value::Object(body)) }
    }

    /// Code 2, schema violation.
    pub fn schema(v: &SchemaViolation) -> Self {
        Self::dao(StatusCode::BAD_REQUEST, 2, "schema violation", v.message(), Some(v.fields_json()))
    }

    /// Code 2 with one field message.
    pub fn schema_field(field: &str, msg: impl Into<String>) -> Self {
        Self::schema(&SchemaViolation::field(field, msg))
    }

    /// Code 1, invalid primary key.
    pub fn invalid_pk() -> Self {
        Self::dao(
            StatusCode::BAD_REQUEST,
            1,
            "invalid primary key",
            "invalid primary key: '{id=\"expected a valid UUID\"}'",
            Some(json!({"id": "expected a valid UUID"})),
        )
    }

    /// Code 3, primary key violation (400, §4.1 note).
    pub fn pk_violation(id: &str) -> Self {
        Self::dao(
            StatusCode::BAD_REQUEST,
            3,
            "primary key violation",
            format!("primary key violation on key '{{id=\"{id}\"}}'"),
            Some(json!({"id": id})),
        )
    }

    /// Code 6 by id.
    pub fn not_found_pk(id: &str) -> Self {
        Self::dao(
            StatusCode::NOT_FOUND,
            6,
            "not found",
            format!("could not find the entity with primary key '{{id=\"{id}\"}}'"),
            Some(json!({"id": id})),
        )
    }

    /// Code 6 by endpoint key.
    pub fn not_found_key(field: &str, value: &str) -> Self {
        let mut f = Map::new();
        f.insert(field.into(), json!(value));
        Self::dao(
            StatusCode::NOT_FOUND,
            6,
            "not found",
            format!("could not find the entity with '{{{field}={}}}'", lua_str(value)),
            Some(Value::Object(f)),
        )
    }

    /// Code 11 `invalid options` (`options` instead of `fields`).
    pub fn invalid_option(option: &str, msg: &str) -> Self {
        let mut e = Self::dao(
            StatusCode::BAD_REQUEST,
            11,
            "invalid options",
            format!("invalid option ({option}: {msg})"),
            None,
        );
        if let Some(Value::Object(b)) = &mut e.body {
            b.insert("options".into(), json!({ option: msg }));
        }
        e
    }

    /// 500 `{"message":"An unexpected error occurred"}`.
    pub fn internal() -> Self {
        Self::message(StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error occurred")
    }
}

/// A string in Lua-pretty syntax: `"value"`.
pub fn lua_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A JSON value in Lua-pretty syntax with sorted keys (§4.2): `{id="x",name=null}`.
pub fn lua_pretty(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => lua_str(s),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}={}", lua_pretty(&o[*k]))).collect();
            format!("{{{}}}", parts.join(","))
        }
        // A Lua table with holes: Penlight writes the entries as `[i]=v` (1-based), e.g.
        // `{services={[2]="uniqueness violation: ..."}}` (spec `15-off_spec.lua`).
        Value::Array(a) if a.iter().any(Value::is_null) => format!(
            "{{{}}}",
            a.iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| format!("[{}]={}", i + 1, lua_pretty(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Array(a) => format!("{{{}}}", a.iter().map(lua_pretty).collect::<Vec<_>>().join(",")),
        other => crate::kong::schema::lua_value(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_pretty_sorts_keys() {
        let v = json!({"service": {"id": "S"}, "name": "basic-auth", "consumer": null, "route": null});
        assert_eq!(lua_pretty(&v), "{consumer=null,name=\"basic-auth\",route=null,service={id=\"S\"}}");
        assert_eq!(lua_pretty(&json!({"services": [null, "x"]})), "{services={[2]=\"x\"}}");
    }
}
