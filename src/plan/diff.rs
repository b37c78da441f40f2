//! Field-by-field comparison of a normalised desired body with a normalised live body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::kong::schema::{Field, FieldType, Schema};
use crate::model::Kind;

/// One changed field: its dotted path (`config.minute`) and values before and after
/// (`None` = absent). For sensitive fields the values are kept here for apply, but every
/// renderer shows `(sensitive value)` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Dotted path through records.
    pub path: String,
    /// Live value.
    pub before: Option<Value>,
    /// Desired value.
    pub after: Option<Value>,
    /// Whether the value is a secret.
    pub sensitive: bool,
}

/// What the comparison needs beyond the two bodies.
pub struct DiffContext<'a> {
    /// The kind compared.
    pub kind: Kind,
    /// The schema of the entity (plugin schema for plugins), if known.
    pub schema: Option<&'a Schema>,
    /// The id of the entity's consumer, for basic-auth password hashes.
    pub consumer_id: Option<&'a str>,
    /// Decides whether a dotted path holds a secret.
    pub sensitive: &'a dyn Fn(&str) -> bool,
}

/// The fields whose desired value differs from the live one, sorted by path. Keys absent
/// on one side compare as `null`. Fields Kong generates (`auto`) that the desired side
/// leaves out are not compared; live fields the schema does not know are ignored.
pub fn diff(desired: &Map<String, Value>, live: &Map<String, Value>, ctx: &DiffContext<'_>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let fields = ctx.schema.map(|s| s.fields.as_slice());
    diff_record(fields, desired, live, "", ctx, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn lookup<'f>(fields: Option<&'f [(String, Field)]>, name: &str) -> Option<&'f Field> {
    fields?.iter().find(|(n, _)| n == name).map(|(_, f)| f)
}

fn diff_record(
    fields: Option<&[(String, Field)]>,
    desired: &Map<String, Value>,
    live: &Map<String, Value>,
    prefix: &str,
    ctx: &DiffContext<'_>,
    out: &mut Vec<FieldChange>,
) {
    let mut keys: Vec<&String> = desired.keys().collect();
    for k in live.keys() {
        let known = fields.is_none() || lookup(fields, k).is_some();
        if known && !desired.contains_key(k) {
            keys.push(k);
        }
    }
    for key in keys {
        let field = lookup(fields, key);
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let d = desired.get(key);
        let l = live.get(key);
        if d.is_none() && field.is_some_and(|f| f.auto) {
            continue;
        }
        let dn = d.filter(|v| !v.is_null());
        let ln = l.filter(|v| !v.is_null());
        if let (Some(Value::Object(dm)), Some(Value::Object(lm))) = (dn, ln) {
            let is_record = field.is_none_or(|f| f.ty == FieldType::Record);
            if is_record {
                let sub = field.and_then(|f| f.fields.as_deref());
                diff_record(sub, dm, lm, &path, ctx, out);
                continue;
            }
        }
        if dn == ln || special_equal(ctx, &path, dn, ln) {
            continue;
        }
        out.push(FieldChange { sensitive: (ctx.sensitive)(&path), path, before: l.cloned(), after: d.cloned() });
    }
}

/// Values Kong stores transformed: a basic-auth `password` comes back as the SHA-1 of
/// `password .. consumer_id` (`kong-admin-api.md` §2.10), an OAuth2 `client_secret` with
/// `hash_secret` comes back hashed.
fn special_equal(ctx: &DiffContext<'_>, path: &str, desired: Option<&Value>, live: Option<&Value>) -> bool {
    let (Some(Value::String(d)), Some(Value::String(l))) = (desired, live) else { return false };
    match (ctx.kind, path) {
        (Kind::BasicauthCredential, "password") => {
            let consumer = ctx.consumer_id.unwrap_or_default();
            let hash = hex::encode(Sha1::digest(format!("{d}{consumer}").as_bytes()));
            hash == *l
        }
        (Kind::Oauth2Credential, "client_secret") => l.starts_with('$') && !d.starts_with('$'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn ctx(kind: Kind) -> DiffContext<'static> {
        DiffContext { kind, schema: None, consumer_id: Some("C"), sensitive: &|p: &str| p == "password" }
    }

    #[test]
    fn nested_records_give_dotted_paths() {
        let d = obj(json!({"config": {"minute": 20, "hour": null}, "enabled": true}));
        let l = obj(json!({"config": {"minute": 10}, "enabled": true}));
        let changes = diff(&d, &l, &ctx(Kind::Plugin));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "config.minute");
        assert_eq!(changes[0].before, Some(json!(10)));
        assert_eq!(changes[0].after, Some(json!(20)));
    }

    #[test]
    fn basic_auth_password_hash_is_recognised() {
        let hash = hex::encode(Sha1::digest(b"s3cretC"));
        let d = obj(json!({"username": "u", "password": "s3cret"}));
        let l = obj(json!({"username": "u", "password": hash}));
        assert!(diff(&d, &l, &ctx(Kind::BasicauthCredential)).is_empty());
        let d = obj(json!({"username": "u", "password": "other"}));
        let changes = diff(&d, &l, &ctx(Kind::BasicauthCredential));
        assert_eq!(changes.len(), 1);
        assert!(changes[0].sensitive);
    }
}
