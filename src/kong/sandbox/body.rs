//! Request bodies (`kong-admin-api.md` §1.1, §3.3): JSON taken literally; form-encoded and
//! multipart bodies built into nested objects from dotted/bracketed keys and coerced per
//! schema (numbers, booleans, one-element arrays, empty string → null).

use serde_json::{Map, Number, Value};

use super::entity::Env;
use super::error::{ApiError, ApiResult};
use crate::kong::KongKind;
use crate::kong::schema::{Field, FieldType};

/// A parsed request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    None,
    /// A JSON value.
    Json(Value),
    /// Form fields (`application/x-www-form-urlencoded` or `multipart/form-data`).
    Form(Vec<(String, String)>),
    /// A YAML text (`/config` only).
    Yaml(String),
}

/// Deepest nesting a form or multipart key may build (`a.b[1].c` is 3 levels). Kong has no
/// such limit (its Lua decoder recurses until the VM's own limit); the sandbox answers 400.
pub const MAX_FORM_DEPTH: usize = 32;

/// Largest array index a form or multipart key may use (`tags[1000]`): no form body of at
/// most 1000 arguments (Kong's `max_post_args`) fills a longer array.
pub const MAX_FORM_INDEX: usize = 1000;

/// Padding nulls a whole form body may create between sparse indexes (`a[1000]` creates
/// 999); beyond it the body is refused rather than expanded.
pub const MAX_FORM_PADDING: usize = 10_000;

enum Seg {
    Key(String),
    Index(usize),
    Push,
}

fn too_deep() -> ApiError {
    ApiError::bad_request(format!("Cannot parse form body: keys nest deeper than {MAX_FORM_DEPTH} levels"))
}

fn parse_key(k: &str) -> ApiResult<Vec<Seg>> {
    let mut out = Vec::new();
    for part in k.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(rest[..i].to_owned()));
            }
            rest = &rest[i..];
            while let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else { break };
                let inner = &r[..end];
                out.push(if inner.is_empty() {
                    Seg::Push
                } else if inner.bytes().all(|b| b.is_ascii_digit()) {
                    match inner.parse::<usize>() {
                        Ok(n) if n <= MAX_FORM_INDEX => Seg::Index(n.saturating_sub(1)),
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "Cannot parse form body: array index {inner} is larger than {MAX_FORM_INDEX}"
                            )));
                        }
                    }
                } else {
                    Seg::Key(inner.to_owned())
                });
                rest = &r[end + 1..];
                if out.len() > MAX_FORM_DEPTH {
                    return Err(too_deep());
                }
            }
        } else {
            out.push(Seg::Key(rest.to_owned()));
        }
        if out.len() > MAX_FORM_DEPTH {
            return Err(too_deep());
        }
    }
    Ok(out)
}

/// Inserts `value` at `segs` under `target`; `padding` counts the nulls created so far.
fn insert(target: &mut Value, segs: &[Seg], value: String, padding: &mut usize) -> ApiResult<()> {
    let Some((first, rest)) = segs.split_first() else {
        return Ok(());
    };
    match first {
        Seg::Key(k) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(o) = target else { return Ok(()) };
            if rest.is_empty() {
                match o.get_mut(k) {
                    Some(Value::Array(a)) => a.push(Value::String(value)),
                    Some(existing) => {
                        let prev = existing.take();
                        *existing = Value::Array(vec![prev, Value::String(value)]);
                    }
                    None => {
                        o.insert(k.clone(), Value::String(value));
                    }
                }
                Ok(())
            } else {
                let slot = o.entry(k.clone()).or_insert(Value::Null);
                insert(slot, rest, value, padding)
            }
        }
        Seg::Index(_) | Seg::Push => {
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            let Value::Array(a) = target else { return Ok(()) };
            let idx = match first {
                Seg::Index(i) => *i,
                _ => a.len(),
            };
            if idx > MAX_FORM_INDEX {
                return Err(ApiError::bad_request(format!(
                    "Cannot parse form body: array index {} is larger than {MAX_FORM_INDEX}",
                    idx + 1
                )));
            }
            if idx > a.len() {
                *padding += idx - a.len();
                if *padding > MAX_FORM_PADDING {
                    return Err(ApiError::bad_request("Cannot parse form body: arrays are too sparse"));
                }
            }
            while a.len() <= idx {
                a.push(Value::Null);
            }
            if rest.is_empty() {
                a[idx] = Value::String(value);
                Ok(())
            } else {
                insert(&mut a[idx], rest, value, padding)
            }
        }
    }
}

/// Coerces a form-built value to a field's type.
fn coerce(field: Option<&Field>, v: Value) -> Value {
    let Some(f) = field else { return v };
    match (f.ty, v) {
        (_, Value::String(s)) if s.is_empty() => Value::Null,
        (FieldType::Integer | FieldType::Number, Value::String(s)) => s
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number))
            .unwrap_or(Value::String(s)),
        (FieldType::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s),
        },
        (FieldType::Array | FieldType::Set, Value::Array(a)) => {
            Value::Array(a.into_iter().map(|x| coerce(f.elements.as_deref(), x)).collect())
        }
        (FieldType::Array | FieldType::Set, Value::Object(o)) => {
            Value::Array(o.into_iter().map(|(_, x)| coerce(f.elements.as_deref(), x)).collect())
        }
        (FieldType::Array | FieldType::Set, other) => Value::Array(vec![coerce(f.elements.as_deref(), other)]),
        (FieldType::Record, Value::Object(o)) => Value::Object(coerce_map(f.fields.as_deref(), o)),
        // Kong infers a foreign record against the parent's schema, where "" is null too.
        (FieldType::Foreign, Value::Object(o)) => Value::Object(
            o.into_iter().map(|(k, x)| (k, if x.as_str() == Some("") { Value::Null } else { x })).collect(),
        ),
        (FieldType::Map, Value::Object(o)) => {
            Value::Object(o.into_iter().map(|(k, x)| (k, coerce(f.values.as_deref(), x))).collect())
        }
        (_, v) => v,
    }
}

fn coerce_map(fields: Option<&[(String, Field)]>, o: Map<String, Value>) -> Map<String, Value> {
    o.into_iter()
        .map(|(k, v)| {
            let f = fields.and_then(|fs| fs.iter().find(|(n, _)| *n == k)).map(|(_, f)| f);
            (k, coerce(f, v))
        })
        .collect()
}

/// Builds the nested object of form pairs (no coercion). Keys deeper than
/// [`MAX_FORM_DEPTH`], indexes above [`MAX_FORM_INDEX`] or more than [`MAX_FORM_PADDING`]
/// padding nulls give 400 `{"message": "Cannot parse form body: ..."}`.
pub fn form_object(pairs: &[(String, String)]) -> ApiResult<Map<String, Value>> {
    let mut root = Value::Object(Map::new());
    let mut padding = 0;
    for (k, v) in pairs {
        insert(&mut root, &parse_key(k)?, v.clone(), &mut padding)?;
    }
    Ok(match root {
        Value::Object(o) => o,
        _ => Map::new(),
    })
}

impl Body {
    /// The body as an input object for `schema` (form bodies coerced per its fields).
    pub fn to_input_for(&self, schema: &crate::kong::schema::Schema) -> ApiResult<Map<String, Value>> {
        match self {
            Body::Form(pairs) => Ok(coerce_map(Some(&schema.fields), form_object(pairs)?)),
            Body::Json(Value::Object(o)) => Ok(o.clone()),
            Body::None | Body::Json(Value::Null) => Ok(Map::new()),
            Body::Json(_) => Err(ApiError::bad_request("Cannot parse JSON body")),
            Body::Yaml(_) => {
                Err(ApiError::message(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"))
            }
        }
    }

    /// The body as an entity input object for `kind` (form bodies coerced per its schema).
    pub fn to_input(&self, env: &Env, kind: KongKind) -> ApiResult<Map<String, Value>> {
        match self {
            Body::None => Ok(Map::new()),
            Body::Json(Value::Object(o)) => Ok(o.clone()),
            Body::Json(Value::Null) => Ok(Map::new()),
            Body::Json(_) => Err(ApiError::bad_request("Cannot parse JSON body")),
            Body::Yaml(_) => {
                Err(ApiError::message(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"))
            }
            Body::Form(pairs) => {
                let obj = form_object(pairs)?;
                let schema = env.schema(kind, &obj).ok().or_else(|| env.schemas.entity(kind.table()));
                let mut fields: Vec<(String, Field)> = schema.map(|s| s.fields.clone()).unwrap_or_default();
                if kind == KongKind::Service {
                    fields.retain(|(n, _)| n != "url");
                }
                if kind == KongKind::KeyauthCredential
                    && let Ok(f) = Field::from_json("ttl", &serde_json::json!({"type": "integer"}))
                {
                    fields.push(("ttl".into(), f));
                }
                Ok(coerce_map(Some(&fields), obj))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_and_bracketed_keys() {
        let pairs = vec![
            ("name".into(), "a".into()),
            ("config.key_names[1]".into(), "x".into()),
            ("config.key_names[2]".into(), "y".into()),
            ("service.id".into(), "S".into()),
            ("tags[]".into(), "t1".into()),
            ("tags[]".into(), "t2".into()),
        ];
        let o = form_object(&pairs).unwrap();
        assert_eq!(
            Value::Object(o),
            json!({"name": "a", "config": {"key_names": ["x", "y"]}, "service": {"id": "S"}, "tags": ["t1", "t2"]})
        );
    }

    #[test]
    fn coercion_follows_the_schema() {
        let s = crate::kong::schema::Schemas::bundled().entity("services").unwrap();
        let o = form_object(&[
            ("port".into(), "8080".into()),
            ("enabled".into(), "false".into()),
            ("tags".into(), "one".into()),
            ("path".into(), "".into()),
        ])
        .unwrap();
        let c = coerce_map(Some(&s.fields), o);
        assert_eq!(Value::Object(c), json!({"port": 8080, "enabled": false, "tags": ["one"], "path": null}));
    }
}
