//! What the handlers of a node share: one request as they see it ([`Ctx`]) and the
//! response they give ([`Reply`]), in Tyk's shapes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Shared;

/// A response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Its content type, if any.
    pub content_type: Option<&'static str>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// A JSON body as Go's `json.NewEncoder(w).Encode` writes it (with a final newline).
    pub fn json(status: StatusCode, body: Value) -> Reply {
        let mut bytes = body.to_string().into_bytes();
        bytes.push(b'\n');
        Reply { status, body: bytes, content_type: Some("application/json"), headers: Vec::new() }
    }

    /// `{"status":"error","message":msg}`.
    pub fn error(status: StatusCode, msg: &str) -> Reply {
        Reply::json(status, json!({"status": "error", "message": msg}))
    }

    /// `{"key":key,"status":"ok","action":action}` with 200.
    pub fn action(key: &str, action: &str) -> Reply {
        Reply::json(StatusCode::OK, json!({"key": key, "status": "ok", "action": action}))
    }

    /// `{"status":"ok","message":msg}` with 200.
    pub fn ok(msg: &str) -> Reply {
        Reply::json(StatusCode::OK, json!({"status": "ok", "message": msg}))
    }

    /// A status with no body.
    pub fn empty(status: StatusCode) -> Reply {
        Reply { status, body: Vec::new(), content_type: None, headers: Vec::new() }
    }

    /// gorilla/mux's default 404: `404 page not found` as plain text.
    pub fn not_found_page() -> Reply {
        Reply {
            status: StatusCode::NOT_FOUND,
            body: b"404 page not found\n".to_vec(),
            content_type: Some("text/plain; charset=utf-8"),
            headers: Vec::new(),
        }
    }

    /// Tyk's 405 for a known path with another method.
    pub fn method_not_supported() -> Reply {
        Reply::error(StatusCode::METHOD_NOT_ALLOWED, "Method not supported")
    }
}

/// One request as the handlers see it.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The sandbox.
    pub shared: &'a Arc<Shared>,
    /// The node serving the request.
    pub node: usize,
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// Query parameters (the last value of each name).
    pub query: &'a HashMap<String, String>,
    /// The request body.
    pub body: &'a [u8],
}

impl Ctx<'_> {
    /// What this node serves now.
    pub fn loaded(&self) -> Arc<super::loader::Loaded> {
        self.shared.nodes.get(self.node).map(super::Node::loaded).unwrap_or_default()
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

/// The first JSON value of a body, as `json.NewDecoder(r.Body).Decode` reads it.
pub fn first_value(body: &[u8]) -> Option<Value> {
    serde_json::Deserializer::from_slice(body).into_iter::<Value>().next()?.ok()
}

/// The pretty JSON Tyk writes to a file (`json.MarshalIndent(def, "", "  ")`).
pub fn file_text(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// `apidef.ErrAPINotFound`.
pub const API_NOT_FOUND: &str = "API not found";
