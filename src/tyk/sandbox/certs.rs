//! `/tyk/certs[/{id}]` (`gateway/cert.go` `certHandler`, `certs/manager.go`
//! `GetCertIDAndChainPEM`; `tyk.md` §1.2, §1.4): a certificate store shared by every node,
//! effective at once (no reload).
//!
//! Ids are content-addressed: `<org_id>` + the SHA-256 hex of the first certificate's DER (of
//! the public key's DER for a bare `PUBLIC KEY`), so the same PEM always gets the same id and
//! adding it twice is refused. Refusals are 403 with Tyk's messages (expired, not PEM, two
//! private keys, a public key mixed with certificates, already present). Differences: a
//! private key is not checked against the certificate, and `fingerprint` is the SHA-256 hex
//! (Tyk prints raw extension bytes there).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::reply::{Ctx, Reply};
use crate::kong::sandbox::certs::pem_blocks;

/// One stored certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCert {
    /// The org it was added for (may be empty).
    pub org_id: String,
    /// Whether a private key came with it.
    pub has_private: bool,
    /// What `GET /tyk/certs/{id}` returns (`certs.CertificateMeta`).
    pub meta: Value,
}

/// The certificates, by id.
#[derive(Debug, Default)]
pub struct CertStore {
    certs: Mutex<BTreeMap<String, StoredCert>>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A `pkix.Name` as Go's JSON encoding writes it (the fields a reconciler may show).
fn pkix_name(name: &x509_parser::x509::X509Name<'_>) -> Value {
    let list = |it: Vec<String>| if it.is_empty() { Value::Null } else { json!(it) };
    let collect = |v: Vec<&x509_parser::x509::AttributeTypeAndValue<'_>>| -> Vec<String> {
        v.into_iter().filter_map(|a| a.as_str().ok().map(str::to_owned)).collect()
    };
    json!({
        "Country": list(collect(name.iter_country().collect())),
        "Organization": list(collect(name.iter_organization().collect())),
        "OrganizationalUnit": list(collect(name.iter_organizational_unit().collect())),
        "Locality": list(collect(name.iter_locality().collect())),
        "Province": list(collect(name.iter_state_or_province().collect())),
        "StreetAddress": null,
        "PostalCode": null,
        "SerialNumber": "",
        "CommonName": collect(name.iter_common_name().collect()).into_iter().next().unwrap_or_default(),
        "Names": null,
        "ExtraNames": null
    })
}

/// Parses a PEM body as `GetCertIDAndChainPEM` does: `(sha256 hex id, meta without id)`.
fn inspect(text: &str) -> Result<(String, bool, Value), String> {
    let not_pem = "Failed to decode certificate. It should be PEM encoded.";
    let blocks = pem_blocks(text).map_err(|_| not_pem.to_owned())?;
    let keys = blocks.iter().filter(|(l, _)| l.ends_with("PRIVATE KEY")).count();
    if keys > 1 {
        return Err("Found multiple private keys".into());
    }
    let certs: Vec<&Vec<u8>> = blocks.iter().filter(|(l, _)| l == "CERTIFICATE").map(|(_, d)| d).collect();
    let public = blocks.iter().find(|(l, _)| l == "PUBLIC KEY").map(|(_, d)| d);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut first = None;
    for der in &certs {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        if cert.validity().not_after.timestamp() < now {
            return Err("certificate is expired".into());
        }
        if first.is_none() {
            let dns: Vec<String> = cert
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|san| {
                    san.value
                        .general_names
                        .iter()
                        .filter_map(|g| match g {
                            x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut meta = json!({
                "issuer": pkix_name(cert.issuer()),
                "subject": pkix_name(cert.subject()),
                "not_before": rfc3339(cert.validity().not_before.to_datetime()),
                "not_after": rfc3339(cert.validity().not_after.to_datetime()),
                "is_ca": cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca),
            });
            if !dns.is_empty() {
                meta["dns_names"] = json!(dns);
            }
            first = Some((hex::encode(Sha256::digest(der)), meta));
        }
    }
    match (first, public) {
        (Some(_), Some(_)) => Err("Public keys can't be combined with certificates".into()),
        (Some((id, meta)), None) => Ok((id, keys == 1, meta)),
        (None, Some(der)) => Ok((hex::encode(Sha256::digest(der)), false, json!({"is_ca": false}))),
        (None, None) => Err(not_pem.into()),
    }
}

impl CertStore {
    /// Adds a PEM for `org_id`; returns its id or Tyk's refusal.
    pub fn add(&self, text: &str, org_id: &str) -> Result<String, String> {
        let (hash, has_private, mut meta) = inspect(text)?;
        let id = format!("{org_id}{hash}");
        let mut certs = self.certs.lock().map_err(|_| "certificate store unavailable".to_owned())?;
        if certs.contains_key(&id) {
            return Err(format!("Certificate with {id} id already exists"));
        }
        meta["id"] = json!(id);
        meta["fingerprint"] = json!(hash);
        meta["has_private"] = json!(has_private);
        certs.insert(id.clone(), StoredCert { org_id: org_id.to_owned(), has_private, meta });
        Ok(id)
    }

    /// The ids, of one org when `org_id` is not empty.
    pub fn ids(&self, org_id: &str) -> Vec<String> {
        self.certs
            .lock()
            .map(|c| {
                c.iter().filter(|(_, v)| org_id.is_empty() || v.org_id == org_id).map(|(k, _)| k.clone()).collect()
            })
            .unwrap_or_default()
    }

    /// The metadata of one certificate.
    pub fn meta(&self, id: &str) -> Option<Value> {
        self.certs.lock().ok()?.get(id).map(|c| c.meta.clone())
    }

    /// Removes a certificate (nothing happens when it is unknown).
    pub fn remove(&self, id: &str) {
        if let Ok(mut c) = self.certs.lock() {
            c.remove(id);
        }
    }
}

fn basics(meta: &Value) -> Value {
    json!({
        "id": meta["id"],
        "issuer_cn": meta.pointer("/issuer/CommonName").cloned().unwrap_or(json!("")),
        "subject_cn": meta.pointer("/subject/CommonName").cloned().unwrap_or(json!("")),
        "dns_names": meta.get("dns_names").cloned().unwrap_or(Value::Null),
        "has_private": meta["has_private"],
        "not_before": meta.get("not_before").cloned().unwrap_or(Value::Null),
        "not_after": meta.get("not_after").cloned().unwrap_or(Value::Null),
        "is_ca": meta["is_ca"],
    })
}

/// Serves `/tyk/certs` (`id` empty) and `/tyk/certs/{id}`.
pub fn handle(ctx: &Ctx<'_>, id: &str) -> Reply {
    let store = &ctx.shared.certs;
    let org = ctx.param("org_id").unwrap_or("");
    match (ctx.method, id) {
        ("POST", _) => match store.add(&String::from_utf8_lossy(ctx.body), org) {
            Ok(id) => Reply::json(StatusCode::OK, json!({"id": id, "status": "ok", "message": "Certificate added"})),
            Err(e) => Reply::error(StatusCode::FORBIDDEN, &e),
        },
        ("GET", "") => {
            let ids = store.ids(org);
            if ctx.param("mode") == Some("detailed") {
                let all: Vec<Value> = ids.iter().filter_map(|i| store.meta(i)).map(|m| basics(&m)).collect();
                Reply::json(StatusCode::OK, json!({"certs": all}))
            } else {
                Reply::json(StatusCode::OK, json!({"certs": ids}))
            }
        }
        ("GET", ids) => {
            let list: Vec<&str> = ids.split(',').collect();
            if list.len() == 1 {
                match store.meta(ids) {
                    Some(m) => Reply::json(StatusCode::OK, m),
                    None => Reply::error(StatusCode::NOT_FOUND, "Certificate with given SHA256 fingerprint not found"),
                }
            } else {
                Reply::json(
                    StatusCode::OK,
                    Value::Array(list.iter().map(|i| store.meta(i).unwrap_or(Value::Null)).collect()),
                )
            }
        }
        _ => {
            store.remove(id);
            Reply::ok("removed")
        }
    }
}
