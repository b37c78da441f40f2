//! Certificate checks of `certificates` and `ca_certificates` (`kong-admin-api.md` §2.6,
//! §2.7): PEM parsing, key/certificate matching (RSA and EC; Ed25519 keys are accepted
//! without the match check), CA constraint, expiry and `cert_digest`.

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::kong::KongKind;
use crate::kong::schema::{FieldError, SchemaViolation};

/// PEM blocks of a text: `(label, DER)`.
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            return Err("malformed PEM header".into());
        };
        let label = after[..end_label].to_owned();
        let body_start = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            return Err(format!("missing END {label}"));
        };
        let b64: String = body_start[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der =
            base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()).map_err(|e| format!("bad base64: {e}"))?;
        out.push((label, der));
        rest = &body_start[end + end_marker.len()..];
    }
    if out.is_empty() {
        return Err("no PEM data found".into());
    }
    Ok(out)
}

/// Whether `text` is a PEM key OpenSSL's `pkey.new` would load: a `... KEY` block whose
/// DER is one well-formed SEQUENCE (the jwt `rsa_public_key` check, §2.10).
pub fn is_pem_key(text: &str) -> bool {
    pem_blocks(text).is_ok_and(|blocks| {
        blocks.iter().any(|(label, d)| {
            label.ends_with("KEY")
                && matches!(der(d), Some((0x30, content, rest)) if rest.is_empty() && der(content).is_some())
        })
    })
}

/// A tiny DER reader: `(tag, content, rest)`.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[i..]
}

/// The public key of a private key: `Rsa(n, e)`, `Ec(point)` or `Other`.
#[derive(Debug, PartialEq)]
enum PublicKey {
    Rsa(Vec<u8>, Vec<u8>),
    Ec(Vec<u8>),
    Other,
}

fn rsa_from_pkcs1(content: &[u8]) -> Option<PublicKey> {
    let (_, _version, rest) = der(content)?;
    let (_, n, rest) = der(rest)?;
    let (_, e, _) = der(rest)?;
    Some(PublicKey::Rsa(strip_zeros(n).to_vec(), strip_zeros(e).to_vec()))
}

fn ec_from_sec1(content: &[u8]) -> Option<PublicKey> {
    let (_, _version, mut rest) = der(content)?;
    let (_, _priv, r) = der(rest)?;
    rest = r;
    while let Some((tag, c, r)) = der(rest) {
        if tag == 0xa1 {
            let (_, bits, _) = der(c)?;
            return Some(PublicKey::Ec(bits.get(1..)?.to_vec()));
        }
        rest = r;
    }
    Some(PublicKey::Other)
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

fn private_key_public(text: &str) -> Result<PublicKey, String> {
    let blocks = pem_blocks(text)?;
    let (label, der_bytes) = blocks.iter().find(|(l, _)| l.ends_with("PRIVATE KEY")).ok_or("no private key found")?;
    let (_, content, _) = der(der_bytes).ok_or("bad DER")?;
    let parsed = match label.as_str() {
        "RSA PRIVATE KEY" => rsa_from_pkcs1(content),
        "EC PRIVATE KEY" => ec_from_sec1(content),
        "PRIVATE KEY" => (|| {
            let (_, _version, rest) = der(content)?;
            let (_, algid, rest) = der(rest)?;
            let (_, oid, _) = der(algid)?;
            let (_, inner, _) = der(rest)?;
            let (_, inner_content, _) = der(inner)?;
            if oid == OID_RSA {
                rsa_from_pkcs1(inner_content)
            } else if oid == OID_EC {
                ec_from_sec1(inner_content)
            } else {
                Some(PublicKey::Other)
            }
        })(),
        _ => None,
    };
    parsed.ok_or_else(|| "could not parse private key".into())
}

struct CertInfo {
    der: Vec<u8>,
    public: PublicKey,
    key_type: Vec<u8>,
    not_after: i64,
    is_ca: bool,
}

fn parse_certs(text: &str) -> Result<Vec<CertInfo>, String> {
    let blocks = pem_blocks(text)?;
    let mut out = Vec::new();
    for (label, der_bytes) in blocks.into_iter().filter(|(l, _)| l == "CERTIFICATE") {
        let _ = label;
        // OpenSSL's words for a PEM envelope around DER that does not decode, as Kong shows
        // them (spec `15-off_spec.lua`, flattened errors).
        let (_, cert) = x509_parser::parse_x509_certificate(&der_bytes).map_err(|_| {
            "error:688010A:asn1 encoding routines:asn1_item_embed_d2i:nested asn1 error:asn1/tasn_dec.c:349:".to_owned()
        })?;
        let spki = cert.public_key();
        let oid = spki.algorithm.algorithm.as_bytes().to_vec();
        let bits = spki.subject_public_key.data.to_vec();
        let public = if oid == OID_RSA {
            der(&bits)
                .and_then(|(_, c, _)| {
                    let (_, n, rest) = der(c)?;
                    let (_, e, _) = der(rest)?;
                    Some(PublicKey::Rsa(strip_zeros(n).to_vec(), strip_zeros(e).to_vec()))
                })
                .unwrap_or(PublicKey::Other)
        } else if oid == OID_EC {
            PublicKey::Ec(bits)
        } else {
            PublicKey::Other
        };
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        let not_after = cert.validity().not_after.timestamp();
        out.push(CertInfo { der: der_bytes.clone(), public, key_type: oid, not_after, is_ca });
    }
    if out.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(out)
}

fn is_ref(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| s.starts_with("{vault://"))
}

fn matches(cert: &CertInfo, key: &PublicKey) -> bool {
    match (&cert.public, key) {
        (_, PublicKey::Other) | (PublicKey::Other, _) => true,
        (a, b) => a == b,
    }
}

/// Entity-specific certificate checks; fills `cert_digest` of CA certificates.
pub fn check_entity(kind: KongKind, data: &mut Map<String, Value>, v: &mut SchemaViolation) {
    match kind {
        KongKind::Certificate => check_certificate(data, v),
        KongKind::CaCertificate => check_ca(data, v),
        _ => {}
    }
}

fn check_pair(
    data: &Map<String, Value>,
    cert_f: &str,
    key_f: &str,
    v: &mut SchemaViolation,
    mismatch: &str,
) -> Option<Vec<u8>> {
    if is_ref(data.get(cert_f)) || is_ref(data.get(key_f)) {
        return None;
    }
    // Kong validates each field on its own (`typedefs.certificate`, `typedefs.key`), then
    // matches the pair.
    let certs = data.get(cert_f).and_then(Value::as_str).map(parse_certs);
    if let Some(Err(e)) = &certs {
        v.tree.set(cert_f, FieldError::Msg(format!("invalid certificate: x509.new: {e}")));
    }
    let key = data.get(key_f).and_then(Value::as_str).map(private_key_public);
    if let Some(Err(e)) = &key {
        v.tree.set(key_f, FieldError::Msg(format!("invalid key: pkey.new:load_key: {e}")));
    }
    let (Some(Ok(certs)), Some(Ok(key))) = (certs, key) else { return None };
    if !matches(&certs[0], &key) {
        v.tree.entity.push(mismatch.into());
    }
    Some(certs[0].key_type.clone())
}

fn check_certificate(data: &Map<String, Value>, v: &mut SchemaViolation) {
    let t1 = check_pair(data, "cert", "key", v, "certificate does not match key");
    let t2 = check_pair(data, "cert_alt", "key_alt", v, "alternative certificate does not match key");
    if let (Some(a), Some(b)) = (t1, t2)
        && a == b
    {
        v.tree.entity.push("certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type".into());
    }
}

fn check_ca(data: &mut Map<String, Value>, v: &mut SchemaViolation) {
    let Some(text) = data.get("cert").and_then(Value::as_str) else {
        return;
    };
    let certs = match parse_certs(text) {
        Ok(c) => c,
        Err(e) => {
            v.tree.set("cert", FieldError::Msg(format!("invalid certificate: x509.new: {e}")));
            return;
        }
    };
    if certs.len() > 1 {
        v.tree.entity.push("please submit only one certificate at a time".into());
        return;
    }
    let c = &certs[0];
    if c.not_after < crate::kong::sandbox::entity::now_secs() {
        v.tree.entity.push("certificate expired, \"Not After\" time is in the past".into());
        return;
    }
    if !c.is_ca {
        v.tree
            .entity
            .push("certificate does not appear to be a CA because it is missing the \"CA\" basic constraint".into());
        return;
    }
    data.insert("cert_digest".into(), json!(hex::encode(Sha256::digest(&c.der))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_reader_handles_long_lengths() {
        let mut v = vec![0x30, 0x82, 0x01, 0x00];
        v.extend(std::iter::repeat_n(0u8, 256));
        let (tag, c, rest) = der(&v).unwrap();
        assert_eq!((tag, c.len(), rest.len()), (0x30, 256, 0));
        assert!(der(&[0x30, 0x05, 0x00]).is_none());
    }

    #[test]
    fn pem_errors() {
        assert!(pem_blocks("nope").is_err());
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err());
    }
}
