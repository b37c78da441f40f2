//! The Kong sandbox over real HTTP.

mod abuse;
mod binary;
mod conformance;
mod dbless;
mod examples;
mod fidelity;
mod real_configs;

use gateform::kong::sandbox::{self, Sandbox, SandboxOptions};
use serde_json::Value;

/// A running sandbox and a client.
pub struct Sb {
    pub sb: Sandbox,
    pub client: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

pub async fn start(opts: SandboxOptions) -> Sb {
    let sb = sandbox::start(opts).await.expect("start");
    Sb { sb, client: client() }
}

pub async fn db() -> Sb {
    start(SandboxOptions::default()).await
}

/// The status code of a raw HTTP response.
pub fn status_of(resp: &str) -> u16 {
    resp.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

impl Sb {
    /// Sends raw bytes on a new connection; reads until the server closes it (at most 5 s).
    pub async fn raw(&self, bytes: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(self.sb.addr()).await.expect("connect");
        let _ = c.write_all(bytes).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), c.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sb.url(), path)
    }

    /// Sends a JSON request; returns status and body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(m, self.url(path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    /// POST that must succeed; returns the entity.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, 201, "POST {path}: {v}");
        v
    }
}

/// A public EC P-256 JWK with `kid` `k1` (RFC 7517, appendix A.1).
pub const EC_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"k1"}"#;

/// A self-signed CA certificate (PEM).
pub fn ca_cert() -> String {
    let mut params = rcgen::CertificateParams::new(vec!["ca.test".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("cert").pem()
}

/// A leaf certificate and its key (PEM), ECDSA P-256.
pub fn leaf_cert(name: &str) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("cert");
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}
