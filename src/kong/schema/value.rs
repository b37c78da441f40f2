//! What validation needs on both sides of Kong's checks: the context of a validation and
//! the value helpers Kong's entity checks use (`kong/db/schema/init.lua`).

use serde_json::{Map, Value};

use super::field::Field;
use super::violation::FieldError;

/// How to validate.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidationContext {
    /// A PATCH: entity-level "at least one of" messages are prefixed `when updating, `.
    pub updating: bool,
}

/// Validates one value against a field: `(path, field, value)`. Entity checks receive it so
/// that they can validate against a field spec without depending on the validator.
pub type CheckValue<'a> = &'a dyn Fn(&str, &Field, &Value) -> Result<(), FieldError>;

/// The value at a dotted path (`config.redis.host`); `None` when absent.
pub fn get_path<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Kong's "non-empty": present, not null, not `""`, not an empty array or object.
pub fn is_nonempty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}
