//! JSON answers parsed into [`serde_json::Value`] trees whose objects and arrays hold no
//! spare room. serde_json's own parser grows each object by doubling as it reads it, so a
//! 20-field row keeps room for 28; a live state of 100k rows is a third larger for it. Here
//! each object's entries are gathered first and the map made at its final size.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses one JSON document (trailing whitespace allowed, anything else after it refused).
/// Nesting is bounded by serde_json's recursion limit (128 levels).
///
/// # Errors
/// serde_json's error for text that is no JSON document, with its line and column.
pub fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Compact.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds a [`Value`] as serde_json's does, with objects and arrays at their exact size.
#[derive(Clone, Copy)]
struct Compact;

impl<'de> DeserializeSeed<'de> for Compact {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Compact {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Compact)? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some(key) = access.next_key::<String>()? {
            entries.push((key, access.next_value_seed(Compact)?));
        }
        let mut map = Map::with_capacity(entries.len());
        // A key given twice keeps its first place and its last value, as serde_json's does.
        for (key, value) in entries {
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_serde_json_does() {
        let docs = [
            r#"{"b": 1, "a": [1, -2, 3.5, 1e300, true, null, "x\u00e9"], "c": {"d": {}, "e": []}}"#,
            r#"{"k": 1, "j": 2, "k": 3}"#,
            "[18446744073709551615, -9223372036854775808, 0.1]",
            "  \"text\"  ",
            "null",
        ];
        for doc in docs {
            let ours = parse(doc.as_bytes()).expect("parses");
            let theirs: Value = serde_json::from_str(doc).expect("serde_json parses");
            assert_eq!(ours, theirs, "{doc}");
            assert_eq!(ours.to_string(), theirs.to_string(), "key order of {doc}");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for doc in ["{\"a\": 1,}", "[1, 2", "{} x", "", "{\"a\" 1}", "[1e400]"] {
            let ours = parse(doc.as_bytes()).expect_err(doc).to_string();
            let theirs = serde_json::from_str::<Value>(doc).expect_err(doc).to_string();
            assert_eq!(ours, theirs, "{doc}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let doc = "[".repeat(100_000);
        let err = parse(doc.as_bytes()).expect_err("too deep").to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
    }

    #[test]
    fn objects_and_arrays_hold_no_spare_room() {
        let row: String = (0..20).map(|i| format!("\"field_{i}\": {i}")).collect::<Vec<_>>().join(", ");
        let doc = format!("{{\"data\": [{{{row}}}, {{{row}}}, {{{row}}}]}}");
        let ours = parse(doc.as_bytes()).expect("parses");
        let Some(Value::Array(rows)) = ours.get("data") else { panic!("no data") };
        assert_eq!(rows.capacity(), 3);
        let theirs: Value = serde_json::from_str(&doc).expect("parses");
        let Some(Value::Array(their_rows)) = theirs.get("data") else { panic!("no data") };
        assert!(their_rows.capacity() > 3, "serde_json's own parser leaves room: the test shows nothing");
        assert_eq!(ours, theirs);
    }
}
