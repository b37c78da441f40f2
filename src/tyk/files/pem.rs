//! Certificates as files: a PEM text's blocks, its Tyk id, and a canonical text (certificates
//! first, private keys last, 64-column base64) so that a certificate read, dumped and read
//! again is the same text.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::kong::sandbox::certs::pem_blocks;

/// Whether a PEM block label is a private key.
pub fn is_key(label: &str) -> bool {
    label.ends_with("PRIVATE KEY")
}

fn block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A parsed certificate file: `(certificate part, private key part)` as canonical PEM text,
/// and the Tyk id (`org_id` + SHA-256 hex of the first certificate's DER, as
/// `certs.GetCertIDAndChainPEM` computes it).
pub fn parse(text: &str, org_id: &str) -> Result<(String, String, String), String> {
    let blocks = pem_blocks(text).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let first = blocks.iter().find(|(l, _)| l == "CERTIFICATE").ok_or("the file holds no `CERTIFICATE` block")?;
    x509_parser::parse_x509_certificate(&first.1).map_err(|e| format!("not a valid certificate: {e}"))?;
    let id = format!("{org_id}{}", hex::encode(Sha256::digest(&first.1)));
    let certs: String = blocks.iter().filter(|(l, _)| !is_key(l)).map(|(l, d)| block(l, d)).collect();
    let keys: String = blocks.iter().filter(|(l, _)| is_key(l)).map(|(l, d)| block(l, d)).collect();
    Ok((certs, keys, id))
}
