//! The HTTP server: one axum fallback handler that counts requests, applies fault rules,
//! reads and checks bodies (§3.3), routes (§3.1), and adds Kong's headers (§7) to every
//! response. Panics in a handler become 500 `{"message":"An unexpected error occurred"}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
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

/// Decodes `%XX` escapes of a path segment, byte-wise (an escape next to a multibyte
/// character is fine). `Err(position)` = the decoded bytes are not UTF-8; the 1-based position
/// of the first bad byte, as Kong's `validate_utf8` reports it (`kong/db/schema/typedefs.lua`).
fn percent_decode(s: &str) -> Result<String, (String, usize)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Ok(s),
        Err(e) => {
            let pos = e.utf8_error().valid_up_to() + 1;
            Err((String::from_utf8_lossy(e.as_bytes()).into_owned(), pos))
        }
    }
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

/// Kong's `max_post_args` / `max_uri_args` (`kong/api/arguments.lua`): more arguments give
/// 400 `{"message":"Too many arguments"}`.
pub const MAX_ARGS: usize = 1000;

fn too_many_arguments() -> ApiError {
    ApiError::bad_request("Too many arguments")
}

/// Reads a POST/PUT/PATCH body as Kong's `before_filter` and `parse_params`
/// (`kong/api/api_helpers.lua`) accept it: JSON (an empty or malformed one is 400 `Cannot
/// parse JSON body`), form-encoded, multipart (without a boundary: an empty body), YAML for
/// `/config`; anything else 415.
async fn read_body(req: Request, for_config: bool, limit: usize) -> Result<Body, ApiError> {
    let headers: &HeaderMap = req.headers();
    let cts: Vec<&HeaderValue> = headers.get_all(header::CONTENT_TYPE).iter().collect();
    if cts.len() > 1 {
        return Err(ApiError::bad_request("Multiple Content-Type headers not allowed"));
    }
    let ct = cts.first().and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim().to_owned();
    let too_large = || ApiError::message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    if mime == "multipart/form-data" {
        if !ct.contains("boundary=") {
            // Kong's multipart parser finds no part without a boundary: an empty body.
            axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
            return Ok(Body::Form(Vec::new()));
        }
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::bad_request("Cannot parse multipart body"))?;
        let mut pairs = Vec::new();
        let mut size = 0usize;
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or("").to_owned();
            let text = field.text().await.map_err(|_| ApiError::bad_request("Cannot parse multipart body"))?;
            size += name.len() + text.len();
            if size > limit {
                return Err(too_large());
            }
            pairs.push((name, text));
            if pairs.len() > MAX_ARGS {
                return Err(too_many_arguments());
            }
        }
        return Ok(Body::Form(pairs));
    }
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
    if mime == "application/json" {
        return serde_json::from_slice(&bytes)
            .map(Body::Json)
            .map_err(|_| ApiError::bad_request("Cannot parse JSON body"));
    }
    if bytes.is_empty() {
        return Ok(Body::None);
    }
    let unsupported = ApiError { status: StatusCode::UNSUPPORTED_MEDIA_TYPE, body: None };
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(&bytes).into_owned().take(MAX_ARGS + 1).collect();
            if pairs.len() > MAX_ARGS {
                return Err(too_many_arguments());
            }
            Ok(Body::Form(pairs))
        }
        "application/yaml" | "text/yaml" | "application/x-yaml" if for_config => {
            Ok(Body::Yaml(String::from_utf8_lossy(&bytes).into_owned()))
        }
        _ => Err(unsupported),
    }
}

/// Decodes the path into segments; a segment that is not UTF-8 once decoded is refused as
/// Kong refuses it when validating the value it addresses: code 10 `invalid unique <field>`,
/// "invalid utf-8 character sequence detected at position N".
fn path_segments(raw_path: &str) -> Result<Vec<String>, ApiError> {
    let mut segs = Vec::new();
    let mut bad = None;
    for s in raw_path.split('/').filter(|s| !s.is_empty()) {
        match percent_decode(s) {
            Ok(d) => segs.push(d),
            Err((lossy, pos)) => {
                bad.get_or_insert(pos);
                segs.push(lossy);
            }
        }
    }
    let Some(pos) = bad else { return Ok(segs) };
    let field = match router::resolve(&segs) {
        Some((Target::Tags(_), _)) => "tag",
        Some((Target::Entity(kind, _) | Target::Parent(kind, _, _) | Target::Nested(kind, ..), _)) => {
            kind.endpoint_key().unwrap_or("id")
        }
        Some((Target::NestedEntity(_, _, kind, _, _), _)) => kind.endpoint_key().unwrap_or("id"),
        _ => return Err(ApiError::not_found()),
    };
    Err(ApiError::dao(
        StatusCode::BAD_REQUEST,
        10,
        &format!("invalid unique {field}"),
        format!("invalid utf-8 character sequence detected at position {pos}"),
        None,
    ))
}

async fn serve(inner: &Arc<Inner>, req: Request) -> Response {
    let raw_path = req.uri().path().to_owned();
    let segs = match path_segments(&raw_path) {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    if req.uri().query().is_some_and(|q| q.split('&').filter(|p| !p.is_empty()).nth(MAX_ARGS).is_some()) {
        return err(too_many_arguments());
    }
    let Some((target, allowed)) = router::resolve(&segs) else {
        return err(ApiError::not_found());
    };
    if !inner.env.enterprise && target.is_enterprise() {
        return err(match &target {
            Target::Schema(e) => ApiError::message(StatusCode::NOT_FOUND, format!("No entity named '{e}'")),
            _ => ApiError::not_found(),
        });
    }
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
        let timeout = std::time::Duration::from_millis(inner.limits.body_read_timeout_ms.max(1));
        let read = read_body(req, matches!(target, Target::Config), inner.limits.max_body_bytes);
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return err(e),
            Err(_) => return err(ApiError::message(StatusCode::REQUEST_TIMEOUT, "Request timeout")),
        }
    } else {
        Body::None
    };
    let path = format!("/{}", raw_path.trim_matches('/'));
    let ctx = Ctx { inner, query: &query, path: &path };
    let m = m.to_owned();
    let result = router::dispatch(&ctx, &m, target, body).await;
    let resp = match result {
        Ok((status, body)) => json_response(status, body.as_ref()),
        Err(e) => err(e),
    };
    // HEAD: hyper sends GET's headers (Content-Length included) and no body.
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").unwrap(), "a b");
        assert_eq!(percent_decode("%").unwrap(), "%");
        assert_eq!(percent_decode("%zz").unwrap(), "%zz");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
        assert_eq!(percent_decode("%e\u{e9}").unwrap(), "%e\u{e9}");
        assert_eq!(percent_decode("ab%FF").unwrap_err().1, 3);
    }
}
