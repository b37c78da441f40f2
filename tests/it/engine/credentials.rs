//! Credentials of every kind, and SNIs moving between certificates.

use serde_json::Value;

use super::converge;
use crate::common::{TestSandbox, write};

/// A self-signed CA certificate PEM (for mTLS credentials).
fn ca_cert() -> String {
    let mut params = rcgen::CertificateParams::new(vec!["ca.test".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// A certificate and its key, as PEM.
fn cert_and_key(name: &str) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

fn indent(text: &str, n: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect()
}

#[test]
fn credentials_of_every_kind_converge() {
    let sb = TestSandbox::enterprise();
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_cert();
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let doc = |password: &str| {
        format!(
            r#"
_format_version: "3.0"
ca_certificates:
  - id: 7c0a0b8e-0000-4000-8000-0000000000ca
    cert: |
{ca}
consumers:
  - username: carol
    keyauth_credentials:
      - key: carol-key-1
    basicauth_credentials:
      - username: carol
        password: {password}
    hmacauth_credentials:
      - username: carol-hmac
        secret: hmac-secret-1
    jwt_secrets:
      - key: carol-iss
        secret: jwt-secret-1
      - key: carol-ed
        algorithm: EdDSA
        rsa_public_key: |
{pubkey}
    acls:
      - group: admins
      - group: readers
    oauth2_credentials:
      - name: carol-app
        client_id: carol-client
        client_secret: oauth-secret-1
        redirect_uris:
          - https://app.example.test/callback
    mtls_auth_credentials:
      - subject_name: carol@example.test
        ca_certificate: 7c0a0b8e-0000-4000-8000-0000000000ca
"#,
            ca = indent(&ca, 6),
            pubkey = indent(&ed.public_key_pem(), 10),
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc("first-password")));
    assert_eq!(sb.list("/basic-auths").len(), 1);
    assert_eq!(sb.list("/jwts").len(), 2);
    assert_eq!(sb.list("/acls").len(), 2);

    // A changed password is planned as a sensitive change, never printed.
    let v2 = write(dir.path(), "v2.yaml", &doc("second-password"));
    let p = super::plan(&sb, &v2);
    p.ok();
    assert!(p.stdout.contains("~ password = (sensitive value changed)"), "{}", p.stdout);
    assert!(!p.stdout.contains("second-password") && !p.stdout.contains("first-password"), "{}", p.stdout);
    assert!(p.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", p.stdout);
    converge(&sb, &v2);
}

#[test]
fn an_sni_moves_between_certificates() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (c1, k1) = cert_and_key("one.example.test");
    let (c2, k2) = cert_and_key("two.example.test");
    let doc = |first: &[&str], second: &[&str]| {
        let list = |names: &[&str]| names.iter().map(|n| format!("      - name: {n}\n")).collect::<String>();
        format!(
            "_format_version: \"3.0\"\ncertificates:\n  - cert: |\n{}    key: |\n{}    snis:\n{}  - cert: |\n{}    key: |\n{}    snis:\n{}",
            indent(&c1, 6),
            indent(&k1, 6),
            list(first),
            indent(&c2, 6),
            indent(&k2, 6),
            list(second)
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc(&["a.example.test", "b.example.test"], &["c.example.test"])));
    let sni_b = sb.get("/snis/b.example.test");
    let run =
        converge(&sb, &write(dir.path(), "v2.yaml", &doc(&["a.example.test"], &["b.example.test", "c.example.test"])));
    assert!(run.stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{}", run.stdout);
    let moved = sb.get("/snis/b.example.test");
    assert_eq!(moved["id"], sni_b["id"], "the SNI moved, it was not recreated");
    assert_ne!(moved["certificate"], sni_b["certificate"]);
    let certs = sb.list("/certificates");
    let with_two: Vec<&Value> = certs.iter().filter(|c| c["snis"].as_array().unwrap().len() == 2).collect();
    assert_eq!(with_two.len(), 1);
}
