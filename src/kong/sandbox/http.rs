//! The HTTP server: one axum fallback handler that counts requests, applies fault rules,
//! reads and checks bodies (§3.3), routes (§3.1), and adds Kong's headers (§7) to every
//! response. Panics in a handler become 500 `{"message":"An unexpected error occurred"}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Inner;
use super::body::Body;
use super::error::ApiError;
use super::info::KONG_VERSION;
use super::ops::Ctx;
use super::router::{self, Target};

/// Largest accepted request body (64 MiB); larger ones get 413 `{"message": "Request body too large"}`.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The router serving the sandbox.
pub fn app(inner: Arc<Inner>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(&serde_json::json!({"message": "An unexpected error occurred"})),
            )
        }))
        .with_state(inner)
}

fn json_response(status: StatusCode, body: Option<&Value>) -> Response {
    match body {
        Some(b) => {
            let mut r = (status, b.to_string()).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            r
        }
        None => {
            let mut r = status.into_response();
            r.headers_mut().remove(header::CONTENT_TYPE);
            r
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    inner.stats.count(&method);
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = match inner.faults.take(&method, &path) {
        Some(rule) => {
            if rule.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(rule.delay_ms)).await;
            }
            match rule.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                Some(status) => {
                    let mut r = json_response(status, rule.body.as_ref().filter(|b| !b.is_null()));
                    for (k, v) in &rule.headers {
                        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
                            r.headers_mut().insert(k, v);
                        }
                    }
                    r
                }
                None => serve(&inner, req).await,
            }
        }
        None => serve(&inner, req).await,
    };
    let h = resp.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static(concat!("kong/", "3.9.3")));
    debug_assert_eq!(KONG_VERSION, "3.9.3");
    if let Ok(v) = HeaderValue::try_from(start.elapsed().as_millis().to_string()) {
        h.insert("x-kong-admin-latency", v);
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.unwrap_or(HeaderValue::from_static("*")));
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    resp
}

fn err(e: ApiError) -> Response {
    json_response(e.status, e.body.as_ref())
}

async fn read_body(req: Request, for_config: bool) -> Result<Body, ApiError> {
    let headers: &HeaderMap = req.headers();
    let cts: Vec<&HeaderValue> = headers.get_all(header::CONTENT_TYPE).iter().collect();
    if cts.len() > 1 {
        return Err(ApiError::bad_request("Multiple Content-Type headers not allowed"));
    }
    let ct = cts.first().and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim().to_owned();
    if mime == "multipart/form-data" {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::bad_request("Cannot parse multipart body"))?;
        let mut pairs = Vec::new();
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or("").to_owned();
            let text = field.text().await.map_err(|_| ApiError::bad_request("Cannot parse multipart body"))?;
            pairs.push((name, text));
        }
        return Ok(Body::Form(pairs));
    }
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| ApiError::message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"))?;
    if bytes.is_empty() {
        return Ok(Body::None);
    }
    let unsupported = ApiError { status: StatusCode::UNSUPPORTED_MEDIA_TYPE, body: None };
    match mime.as_str() {
        "application/json" => {
            serde_json::from_slice(&bytes).map(Body::Json).map_err(|_| ApiError::bad_request("Cannot parse JSON body"))
        }
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&bytes).into_owned().collect();
            if pairs.len() > 1000 {
                return Err(ApiError::bad_request("Too many arguments"));
            }
            Ok(Body::Form(pairs))
        }
        "application/yaml" | "text/yaml" | "application/x-yaml" if for_config => {
            Ok(Body::Yaml(String::from_utf8_lossy(&bytes).into_owned()))
        }
        _ => Err(unsupported),
    }
}

async fn serve(inner: &Arc<Inner>, req: Request) -> Response {
    let raw_path = req.uri().path().to_owned();
    let segs: Vec<String> = raw_path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let Some((target, allowed)) = router::resolve(&segs) else {
        return err(ApiError::not_found());
    };
    let method = req.method().clone();
    if method == Method::OPTIONS {
        let mut verbs: Vec<&str> = allowed.to_vec();
        if verbs.contains(&"GET") {
            verbs.push("HEAD");
        }
        verbs.push("OPTIONS");
        verbs.sort();
        let list = verbs.join(", ");
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::try_from(list) {
            h.insert(header::ALLOW, v.clone());
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        let acrh = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static("Content-Type"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, acrh);
        return r;
    }
    let head = method == Method::HEAD;
    let m = if head { "GET" } else { method.as_str() };
    if !allowed.contains(&m) {
        return err(ApiError::method_not_allowed());
    }
    let query: HashMap<String, String> =
        req.uri().query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let body = if matches!(m, "POST" | "PUT" | "PATCH") {
        match read_body(req, matches!(target, Target::Config)).await {
            Ok(b) => b,
            Err(e) => return err(e),
        }
    } else {
        Body::None
    };
    let path = format!("/{}", raw_path.trim_matches('/'));
    let ctx = Ctx { inner, query: &query, path: &path };
    let m = m.to_owned();
    let result = router::dispatch(&ctx, &m, target, body).await;
    let mut resp = match result {
        Ok((status, body)) => json_response(status, body.as_ref()),
        Err(e) => err(e),
    };
    if head {
        *resp.body_mut() = AxumBody::empty();
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
