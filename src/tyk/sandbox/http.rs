//! The HTTP side of a node: counting, fault rules, the secret check and the routes of Tyk's
//! control API (`gateway/server.go` `loadControlAPIEndpoints`, `tyk.md` §1.1, §1.2).
//!
//! `/hello` and `/ready` need no secret. Everything under `/tyk/` needs
//! `x-tyk-authorization` equal to the secret (403 otherwise, whatever the path), then loses
//! its `/tyk` prefix and trailing slashes and is routed as gorilla/mux routes it: the first
//! route whose path and method match; a path that matches only with other methods gets 405
//! `Method not supported`; an unknown path gets Go's plain-text `404 page not found`. On an
//! RPC worker the apis and policies routes do not exist. Request bodies are limited to 64 MiB.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use super::reply::{Ctx, Reply};
use super::{Shared, apis, certs, control, oas, policies};

/// Largest accepted request body (64 MiB).
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The router of node `node`.
pub fn app(shared: Arc<Shared>, node: usize) -> Router {
    Router::new()
        .fallback(handle)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            into_response(Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }))
        .with_state((shared, node))
}

fn into_response(r: Reply) -> Response {
    let mut resp = (r.status, r.body).into_response();
    let h = resp.headers_mut();
    match r.content_type {
        Some(ct) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        None => {
            h.remove(header::CONTENT_TYPE);
        }
    }
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
            h.insert(k, v);
        }
    }
    resp
}

async fn handle(State((shared, node)): State<(Arc<Shared>, usize)>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    if let Some(n) = shared.nodes.get(node) {
        n.stats.record(&method, &path);
    }
    if let Some(rule) = shared.faults.take(&method, &path) {
        if rule.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(rule.delay_ms)).await;
        }
        if let Some(status) = rule.status.and_then(|s| StatusCode::from_u16(s).ok()) {
            let mut reply = match rule.body.as_ref().filter(|b| !b.is_null()) {
                Some(b) => Reply::json(status, b.clone()),
                None => Reply::empty(status),
            };
            reply.headers.extend(rule.headers.clone());
            return into_response(reply);
        }
    }
    let query: HashMap<String, String> =
        req.uri().query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let secret_ok = req.headers().get("x-tyk-authorization").and_then(|v| v.to_str().ok())
        == Some(shared.opts.secret.as_str())
        || (shared.opts.secret.is_empty() && req.headers().get("x-tyk-authorization").is_none());
    let body: Bytes = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return into_response(Reply::error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")),
    };
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let reply = match segs.as_slice() {
        ["hello"] | ["ready"] if method != "GET" => Reply::error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        ["hello"] | ["ready"] => hello(&shared.opts),
        ["_sandbox", rest @ ..] => control::handle(&shared, node, &method, rest, &body),
        ["tyk", ..] if !secret_ok => {
            tracing::warn!("Tyk sandbox: attempted administrative access with invalid or missing key");
            Reply::error(StatusCode::FORBIDDEN, "Attempted administrative access with invalid or missing key!")
        }
        ["tyk", rest @ ..] => {
            let ctx = Ctx { shared: &shared, node, method: &method, query: &query, body: &body };
            route(&ctx, rest)
        }
        _ => Reply::not_found_page(),
    };
    into_response(reply)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// `/hello`: the liveness check (`gateway/health_check.go` `gatherHealthChecks`), always
/// `pass` here: Redis is always checked, the Dashboard when `use_db_app_configs` is on, RPC
/// on an RPC worker.
fn hello(opts: &super::TykSandboxOptions) -> Reply {
    let now =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let check = |kind: &str| json!({"status": "pass", "componentType": kind, "time": now});
    let mut details = json!({"redis": check("datastore")});
    if opts.use_db_app_configs {
        details["dashboard"] = check("system");
    }
    if opts.rpc_worker {
        details["rpc"] = check("system");
    }
    Reply::json(
        StatusCode::OK,
        json!({"status": "pass", "version": GATEWAY_VERSION, "description": "Tyk GW", "details": details}),
    )
}

/// The gateway version `/hello` reports.
pub const GATEWAY_VERSION: &str = "v5.8.0";

/// A route: the path matched, and what serves each method.
type Handler = fn(&Ctx<'_>, &[&str]) -> Reply;

/// Routes a control-API path (without `/tyk`), in gorilla/mux registration order.
fn route(ctx: &Ctx<'_>, segs: &[&str]) -> Reply {
    let rpc = ctx.shared.opts.rpc_worker;
    let m = ctx.method;
    let mut path_matched = false;
    for (pattern, methods, handler, registered) in ROUTES {
        if !*registered && rpc {
            continue;
        }
        let Some(vars) = match_pattern(pattern, segs) else {
            continue;
        };
        path_matched = true;
        if methods.contains(&m) {
            return handler(ctx, &vars);
        }
    }
    if path_matched { Reply::method_not_supported() } else { Reply::not_found_page() }
}

fn match_pattern<'a>(pattern: &[&str], segs: &[&'a str]) -> Option<Vec<&'a str>> {
    if pattern.len() != segs.len() {
        return None;
    }
    let mut vars = Vec::new();
    for (p, s) in pattern.iter().zip(segs) {
        if *p == "*" {
            vars.push(*s);
        } else if p != s {
            return None;
        }
    }
    Some(vars)
}

const ALL: &[&str] = &["GET", "POST", "PUT", "DELETE"];

/// `(path, methods, handler, registered on RPC workers)`; `*` is a path variable.
const ROUTES: &[(&[&str], &[&str], Handler, bool)] = &[
    (&["reload", "group"], &["GET"], reload_group, true),
    (&["reload"], &["GET"], reload, true),
    (&["apis"], &["GET"], |c, _| apis::list(c), false),
    (&["apis"], &["POST"], |c, _| apis::add(c, false), false),
    (&["apis", "oas"], &["GET"], |c, _| oas::list(c, false), false),
    (&["apis", "oas"], &["POST"], |c, _| apis::add(c, true), false),
    (&["apis", "*"], &["GET"], |c, v| apis::get(c, v[0]), false),
    (&["apis", "*"], &["POST"], |c, _| apis::add(c, false), false),
    (&["apis", "*"], &["PUT"], |c, v| apis::update(c, v[0], false), false),
    (&["apis", "*"], &["DELETE"], |c, v| apis::delete(c, v[0], false), false),
    (&["apis", "oas", "export"], &["GET"], |c, _| oas::list(c, true), false),
    (&["apis", "oas", "import"], &["POST"], |c, _| oas::import(c), false),
    (&["apis", "oas", "*"], &["GET"], |c, v| oas::get(c, v[0], false), false),
    (&["apis", "oas", "*"], &["PUT", "PATCH"], |c, v| apis::update(c, v[0], true), false),
    (&["apis", "oas", "*"], &["DELETE"], |c, v| apis::delete(c, v[0], true), false),
    (&["apis", "oas", "*", "export"], &["GET"], |c, v| oas::get(c, v[0], true), false),
    (&["health"], &["GET"], |_, _| Reply::ok(""), false),
    (&["policies"], ALL, |c, _| policies::handle(c, ""), false),
    (&["policies", "*"], ALL, |c, v| policies::handle(c, v[0]), false),
    (&["cache", "*"], &["DELETE"], |_, _| Reply::ok("cache invalidated"), true),
    (&["certs"], &["GET", "POST"], |c, _| certs::handle(c, ""), true),
    (&["certs", "*"], &["GET", "POST", "DELETE"], |c, v| certs::handle(c, v[0]), true),
];

/// `GET /tyk/reload` (`?block=true` waits): reloads this node.
fn reload(ctx: &Ctx<'_>, _: &[&str]) -> Reply {
    super::schedule_reload(ctx.shared, vec![ctx.node], ctx.param("block") == Some("true"));
    Reply::ok("")
}

/// `GET /tyk/reload/group`: reloads every node sharing the store.
fn reload_group(ctx: &Ctx<'_>, _: &[&str]) -> Reply {
    super::schedule_reload(ctx.shared, (0..ctx.shared.nodes.len()).collect(), false);
    Reply::ok("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_bind_variables() {
        assert_eq!(match_pattern(&["apis", "*"], &["apis", "x"]), Some(vec!["x"]));
        assert_eq!(match_pattern(&["apis", "oas"], &["apis", "x"]), None);
        assert_eq!(match_pattern(&["apis"], &["apis", "x"]), None);
        assert_eq!(percent_decode("a%20b+c"), "a b+c");
    }
}
