//! The Tyk dialect: the Tyk Gateway sandbox over real HTTP, and Tyk's file formats.

mod cli;
mod engine;
mod files;
mod modes;
mod oas;
mod real_configs;
mod sandbox;

use gateform::tyk::sandbox::{TykSandbox, TykSandboxOptions};
use serde_json::{Value, json};

/// A running Tyk sandbox and a client that sends its secret.
pub struct Tyk {
    pub sb: TykSandbox,
    pub client: reqwest::Client,
}

/// A reply: status, headers, body text.
pub struct Got {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Got {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

pub async fn start(opts: TykSandboxOptions) -> Tyk {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = gateform::tyk::sandbox::start(opts).await.expect("Tyk sandbox starts");
    Tyk { sb, client: reqwest::Client::builder().build().expect("client") }
}

pub async fn tyk() -> Tyk {
    start(TykSandboxOptions::default()).await
}

impl Tyk {
    /// Sends a request to node `node` with `secret` (or none); a JSON body when given.
    pub async fn send_as(
        &self,
        node: usize,
        secret: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Got {
        let url = format!("{}{path}", self.sb.node_url(node).expect("node"));
        let mut rb = self.client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(s) = secret {
            rb = rb.header("x-tyk-authorization", s);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b.to_string());
        }
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Got { status, headers, text: r.text().await.unwrap_or_default() }
    }

    /// Sends a raw body to node 0 with the secret.
    pub async fn send_raw(&self, method: &str, path: &str, body: &str) -> Got {
        let url = format!("{}{path}", self.sb.url());
        let r = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("x-tyk-authorization", self.sb.secret())
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Got { status, headers, text: r.text().await.unwrap_or_default() }
    }

    /// `method path` on node 0 with the secret; `(status, JSON body)`.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let g = self.send_as(0, Some(self.sb.secret()), method, path, body.as_ref()).await;
        (g.status, g.json())
    }

    /// `GET /tyk/reload?block=true` on node 0, asserting 200.
    pub async fn reload(&self) {
        let (s, b) = self.call("GET", "/tyk/reload?block=true", None).await;
        assert_eq!((s, b), (200, json!({"status": "ok", "message": ""})));
    }
}

/// A minimal classic definition.
pub fn classic(id: &str, listen_path: &str) -> Value {
    json!({
        "name": format!("API {id}"),
        "api_id": id,
        "org_id": "default",
        "use_keyless": true,
        "proxy": {"listen_path": listen_path, "target_url": "http://upstream.test/", "strip_listen_path": true},
        "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}
    })
}

/// A minimal Tyk OAS document.
pub fn oas_doc(id: &str, listen_path: &str) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": format!("OAS {id}"), "version": "1.0.0"},
        "paths": {"/get": {"get": {"operationId": "getGET", "responses": {"200": {"description": "ok"}}}}},
        "servers": [{"url": "https://upstream.test"}],
        "x-tyk-api-gateway": {
            "info": {"id": id, "name": format!("OAS {id}"), "state": {"active": true}},
            "upstream": {"url": "https://upstream.test"},
            "server": {"listenPath": {"value": listen_path, "strip": true}}
        }
    })
}

/// A minimal policy.
pub fn policy(id: &str, api_id: &str) -> Value {
    json!({
        "id": id,
        "name": format!("policy {id}"),
        "org_id": "default",
        "rate": 100,
        "per": 60,
        "active": true,
        "access_rights": {api_id: {"api_id": api_id, "api_name": "x", "versions": ["Default"]}}
    })
}

/// The action reply Tyk gives.
pub fn action(key: &str, action: &str) -> Value {
    json!({"key": key, "status": "ok", "action": action})
}

/// Tyk's error body.
pub fn error(message: &str) -> Value {
    json!({"status": "error", "message": message})
}
