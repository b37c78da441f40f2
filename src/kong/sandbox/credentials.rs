//! Rules of the auth plugins' credentials that Kong implements in Lua and the served schemas
//! cannot carry (`kong/plugins/*/daos.lua`, `kong/db/schema/init.lua`): the transformation
//! checks of a PATCH (basic-auth `password` / `consumer.id`, oauth2 `hash_secret` /
//! `client_secret`), oauth2 `client_secret` hashing, the jwt `rsa_public_key` check and the
//! JWK check of `keys`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Map, Value, json};

use crate::kong::KongKind;
use crate::kong::schema::{FieldError, SchemaViolation, is_nonempty};

/// A credential transformation: the fields it reads and the ones it needs.
fn transformation(kind: KongKind) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match kind {
        KongKind::BasicauthCredential => Some((&["password"], &["consumer.id"])),
        KongKind::Oauth2Credential => Some((&["hash_secret"], &["client_secret"])),
        _ => None,
    }
}

fn field<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    crate::kong::schema::get_path(obj, path)
}

/// Kong's `run_transformation_checks` for an update: when the body sets a transformation's
/// input, or changes what it needs, the body must carry all of them ("all or none of these
/// fields must be set: 'password', 'consumer.id'"). `body` is the PATCH body (with the
/// parent of a nested path), `stored` the row it updates.
pub fn update_errors(kind: KongKind, body: &Map<String, Value>, stored: &Map<String, Value>) -> Vec<String> {
    let Some((inputs, needs)) = transformation(kind) else { return Vec::new() };
    let input_set = inputs.iter().any(|f| is_nonempty(field(body, f)));
    let needs_changed = needs.iter().any(|f| field(body, f).is_some_and(|v| Some(v) != field(stored, f)));
    if !(input_set || needs_changed) {
        return Vec::new();
    }
    let all: Vec<&str> = inputs.iter().chain(needs.iter()).copied().collect();
    let set = all.iter().filter(|f| is_nonempty(field(body, f))).count();
    if set == 0 || set == all.len() {
        return Vec::new();
    }
    let names: Vec<String> = all.iter().map(|f| format!("'{f}'")).collect();
    vec![format!("all or none of these fields must be set: {}", names.join(", "))]
}

/// oauth2 `hash_secret: true` (`kong/plugins/oauth2/secret.lua`, PBKDF2 branch): replaces
/// `client_secret` with `$pbkdf2-sha512$i=10000,l=32$<salt>$<hash>` (16-byte random salt,
/// unpadded base64). Kong prefers argon2 or bcrypt when its build has them; the PBKDF2 form
/// is what every build can verify.
pub fn hash_client_secret(data: &mut Map<String, Value>) {
    if data.get("hash_secret") != Some(&Value::Bool(true)) {
        return;
    }
    let Some(secret) = data.get("client_secret").and_then(Value::as_str) else { return };
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; 32];
    let iterations = std::num::NonZeroU32::new(10_000).unwrap_or(std::num::NonZeroU32::MIN);
    ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA512, iterations, &salt, secret.as_bytes(), &mut out);
    let hashed =
        format!("$pbkdf2-sha512$i=10000,l=32${}${}", STANDARD_NO_PAD.encode(salt), STANDARD_NO_PAD.encode(out));
    data.insert("client_secret".into(), json!(hashed));
}

/// Whether `secret` verifies against a `$pbkdf2-sha512$i=..,l=..$salt$hash` string.
pub fn verify_client_secret(secret: &str, hashed: &str) -> bool {
    let parts: Vec<&str> = hashed.split('$').collect();
    let [_, "pbkdf2-sha512", params, salt, hash] = parts.as_slice() else { return false };
    let iterations = params
        .split(',')
        .find_map(|p| p.strip_prefix("i="))
        .and_then(|i| i.parse::<u32>().ok())
        .and_then(std::num::NonZeroU32::new);
    let (Some(iterations), Ok(salt), Ok(hash)) =
        (iterations, STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(hash))
    else {
        return false;
    };
    ring::pbkdf2::verify(ring::pbkdf2::PBKDF2_HMAC_SHA512, iterations, &salt, secret.as_bytes(), &hash).is_ok()
}

/// jwt secrets (`kong/plugins/jwt/daos.lua`): with an RS*/PS*/EdDSA algorithm the
/// `rsa_public_key` must load as a key ("invalid key", with the conditional entity error).
pub fn check_jwt(data: &Map<String, Value>, v: &mut SchemaViolation) {
    let alg = data.get("algorithm").and_then(Value::as_str).unwrap_or("");
    let needs_key = alg.starts_with("RS") || alg.starts_with("PS") || alg == "EdDSA";
    if let (true, Some(key)) = (needs_key, data.get("rsa_public_key").and_then(Value::as_str))
        && !key.starts_with("{vault://")
        && !super::certs::is_pem_key(key)
    {
        v.tree.set("rsa_public_key", FieldError::Msg("invalid key".into()));
        v.tree.entity.push("failed conditional validation given value of field 'algorithm'".into());
    }
}

/// `typedefs.jwk`'s validator (`kong/db/schema/typedefs.lua`, `validate_jwk`): the JWK must
/// load as a key: RSA needs `n` and `e`, EC a known `crv` with `x` and `y`, OKP `crv` and
/// `x`, all base64url; symmetric (`oct`) keys do not load as a public/private key.
pub fn jwk_error(jwk: &Value) -> Option<String> {
    let b64 = |k: &str| {
        jwk.get(k).and_then(Value::as_str).is_some_and(|s| {
            !s.is_empty() && base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).is_ok()
        })
    };
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
    let ok = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => b64("n") && b64("e"),
        Some("EC") => matches!(crv, "P-256" | "P-384" | "P-521" | "secp256k1") && b64("x") && b64("y"),
        Some("OKP") => matches!(crv, "Ed25519" | "Ed448" | "X25519" | "X448") && b64("x"),
        _ => false,
    };
    (!ok).then(|| "could not load JWK, likely not a valid key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_hash_as_kong_pbkdf2() {
        let mut d = json!({"hash_secret": true, "client_secret": "test"}).as_object().cloned().unwrap();
        hash_client_secret(&mut d);
        let h = d["client_secret"].as_str().unwrap();
        assert!(h.starts_with("$pbkdf2-sha512$i=10000,l=32$"), "{h}");
        assert!(verify_client_secret("test", h));
        assert!(!verify_client_secret("invalid", h));
    }

    #[test]
    fn patch_needs_both_sides_of_a_transformation() {
        let stored = json!({"consumer": {"id": "a"}, "password": "x"}).as_object().cloned().unwrap();
        let body = json!({"consumer": {"id": "b"}}).as_object().cloned().unwrap();
        assert_eq!(
            update_errors(KongKind::BasicauthCredential, &body, &stored),
            vec!["all or none of these fields must be set: 'password', 'consumer.id'".to_owned()]
        );
        let body = json!({"consumer": {"id": "a"}, "password": "y"}).as_object().cloned().unwrap();
        assert!(update_errors(KongKind::BasicauthCredential, &body, &stored).is_empty());
    }
}
