//! Which fields hold secrets. Their values never appear in any output: credential secrets
//! (key-auth `key`, basic-auth `password`, hmac-auth `secret`, jwt `secret`, oauth2
//! `client_secret`), private key material (certificates `key`/`key_alt`, keys `jwk` and
//! `pem.private_key`), every field Kong's schemas mark `encrypted`, and plugin `config`
//! fields marked `encrypted` or `referenceable`.

use super::KongKind as Kind;
use super::schema::{Field, Schema};

/// Whether the field at dotted `path` of an entity of `kind` is sensitive. `schema` is the
/// entity's schema (the plugin's full schema for plugins), when known.
pub fn is_sensitive(kind: Kind, path: &str, schema: Option<&Schema>) -> bool {
    let fixed = match kind {
        Kind::KeyauthCredential => path == "key",
        Kind::BasicauthCredential => path == "password",
        Kind::HmacauthCredential | Kind::JwtSecret => path == "secret",
        Kind::Oauth2Credential => path == "client_secret",
        Kind::Certificate => path == "key" || path == "key_alt",
        Kind::Key => path == "jwk" || path == "pem.private_key" || path == "pem",
        _ => false,
    };
    if fixed {
        return true;
    }
    let Some(schema) = schema else { return false };
    let in_config = kind == Kind::Plugin && path.starts_with("config.");
    let mut parts = path.split('.');
    let Some(first) = parts.next() else { return false };
    let Some(mut field) = schema.field(first) else { return false };
    let mut chain: Vec<&Field> = vec![field];
    for part in parts {
        match field.field(part).or_else(|| shorthand_target(field, part)) {
            Some(f) => {
                field = f;
                chain.push(f);
            }
            None => break,
        }
    }
    let flagged = |f: &Field| f.encrypted || (in_config && f.referenceable);
    let last = chain[chain.len() - 1];
    chain.iter().any(|f| flagged(f))
        || last.values.as_deref().is_some_and(flagged)
        || last.elements.as_deref().is_some_and(flagged)
        || (kind == Kind::Plugin && path == "config" && record_has_secret(last))
}

/// Whether an entity of `kind` with this schema can hold a secret at all (a quick test
/// before walking its fields).
pub fn may_hold_secrets(kind: Kind, schema: Option<&Schema>) -> bool {
    let fixed = matches!(
        kind,
        Kind::KeyauthCredential
            | Kind::BasicauthCredential
            | Kind::HmacauthCredential
            | Kind::JwtSecret
            | Kind::Oauth2Credential
            | Kind::Certificate
            | Kind::Key
    );
    fixed
        || schema.is_some_and(|s| {
            s.fields
                .iter()
                .any(|(_, f)| f.encrypted || (kind == Kind::Plugin && (f.referenceable || record_has_secret(f))))
        })
}

/// The field a record's shorthand (`config.redis_password`) stands for
/// (`deprecation.replaced_with`, e.g. `config.redis.password`), so both are equally secret.
fn shorthand_target<'a>(record: &'a Field, name: &str) -> Option<&'a Field> {
    let (_, def) = record.shorthand_fields.iter().find(|(n, _)| n == name)?;
    let path = def.attrs.get("deprecation")?.get("replaced_with")?.get(0)?.get("path")?.as_array()?;
    let mut target = record;
    for part in path {
        target = target.field(part.as_str()?)?;
    }
    Some(target)
}

/// Whether a record holds a sensitive field anywhere below it.
fn record_has_secret(field: &Field) -> bool {
    field.fields.iter().flatten().any(|(_, f)| f.encrypted || f.referenceable || record_has_secret(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::schema::Schemas;

    #[test]
    fn credentials_and_schema_flags() {
        let s = Schemas::bundled();
        assert!(is_sensitive(Kind::KeyauthCredential, "key", s.entity("keyauth_credentials")));
        assert!(!is_sensitive(Kind::JwtSecret, "rsa_public_key", s.entity("jwt_secrets")));
        assert!(is_sensitive(Kind::Plugin, "config.redis.password", s.plugin("rate-limiting")));
        assert!(is_sensitive(Kind::Plugin, "config.headers", s.plugin("http-log")));
        assert!(!is_sensitive(Kind::Plugin, "config.minute", s.plugin("rate-limiting")));
        assert!(is_sensitive(Kind::Plugin, "config.redis_password", s.plugin("rate-limiting")));
        assert!(is_sensitive(Kind::Plugin, "config", s.plugin("rate-limiting")));
        assert!(!is_sensitive(Kind::Certificate, "cert", s.entity("certificates")));
        assert!(is_sensitive(Kind::Key, "pem.private_key", s.entity("keys")));
    }
}
