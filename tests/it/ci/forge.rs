//! A loopback stand-in for the GitHub and GitLab REST APIs that comments go through, answering
//! as those APIs document: GitHub's issue comments (`GET|POST
//! /repos/{owner}/{repo}/issues/{n}/comments`, `PATCH|DELETE
//! /repos/{owner}/{repo}/issues/comments/{id}`, `Authorization: Bearer`, 401 `Bad
//! credentials`) and GitLab's merge-request notes (`GET|POST
//! /api/v4/projects/{id}/merge_requests/{iid}/notes`, `PUT|DELETE .../notes/{id}`,
//! `PRIVATE-TOKEN`, 401 `401 Unauthorized`). Pagination by `per_page` and `page`. It records
//! every request, and can answer the next ones with a scripted failure (a rate-limit 403
//! with `Retry-After`, say).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub auth: Option<String>,
    pub body: String,
}

/// A scripted answer for the next request.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    comments: Vec<(u64, String)>,
    next_id: u64,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
}

/// Which forge the server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHub,
    GitLab,
}

/// The running server; stops when dropped.
pub struct Forge {
    pub kind: Kind,
    /// The API's base URL, as `--comment-api-url` takes it.
    pub api_url: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// The token the server accepts.
pub const TOKEN: &str = "forge-token-5f1d2c";

impl Forge {
    pub fn start(kind: Kind) -> Forge {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let state = Arc::new(Mutex::new(State { next_id: 1000, ..State::default() }));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let state = shared.clone();
            async move { handle(kind, state, req).await }
        });
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        let api_url = match kind {
            Kind::GitHub => format!("http://{addr}"),
            Kind::GitLab => format!("http://{addr}/api/v4"),
        };
        Forge { kind, api_url, state, runtime: Some(runtime) }
    }

    /// Adds a comment by someone else (a reviewer); its id.
    pub fn add_comment(&self, body: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        let id = s.next_id;
        s.comments.push((id, body.to_owned()));
        id
    }

    /// The comments, oldest first.
    pub fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }

    /// Every request so far, and forgets them.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }

    /// Answers the next request with `fault`.
    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }
}

impl Drop for Forge {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn answer(status: u16, headers: &[(String, String)], body: Value) -> Response {
    let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    for (k, v) in headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(v).unwrap(),
        );
    }
    resp
}

fn auth_of(kind: Kind, headers: &HeaderMap) -> Option<String> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match kind {
        Kind::GitHub => h("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned)),
        Kind::GitLab => h("private-token"),
    }
}

async fn handle(kind: Kind, state: Arc<Mutex<State>>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 24).await.unwrap_or_default();
    let body_text = String::from_utf8_lossy(&bytes).into_owned();
    let auth = auth_of(kind, &parts.headers);
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        auth: auth.clone(),
        body: body_text.clone(),
    });
    if let Some(f) = s.faults.pop_front() {
        return answer(f.status, &f.headers, f.body);
    }
    if auth.as_deref() != Some(TOKEN) {
        return match kind {
            Kind::GitHub => answer(
                401,
                &[],
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
            ),
            Kind::GitLab => answer(401, &[], json!({"message": "401 Unauthorized"})),
        };
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // GitHub: repos/acme/gw/issues/7/comments | repos/acme/gw/issues/comments/ID
    // GitLab: api/v4/projects/ID/merge_requests/9/notes[/ID]
    let (collection, item): (bool, Option<u64>) = match (kind, segments.as_slice()) {
        (Kind::GitHub, ["repos", _, _, "issues", n, "comments"]) if n.parse::<u64>().is_ok() => (true, None),
        (Kind::GitHub, ["repos", _, _, "issues", "comments", id]) => (false, id.parse().ok()),
        (Kind::GitLab, ["api", "v4", "projects", _, "merge_requests", _, "notes"]) => (true, None),
        (Kind::GitLab, ["api", "v4", "projects", _, "merge_requests", _, "notes", id]) => (false, id.parse().ok()),
        _ => return answer(404, &[], json!({"message": "Not Found"})),
    };
    let as_json = |id: u64, body: &str| match kind {
        Kind::GitHub => json!({"id": id, "body": body, "user": {"login": "github-actions[bot]"}}),
        Kind::GitLab => json!({"id": id, "body": body, "system": false, "author": {"username": "project_1_bot"}}),
    };
    let new_body =
        || serde_json::from_str::<Value>(&body_text).ok().and_then(|v| v["body"].as_str().map(str::to_owned));
    match (&parts.method, collection, item) {
        (m, true, _) if m == Method::GET => {
            let param = |k: &str| {
                query.split('&').find_map(|p| p.strip_prefix(&format!("{k}="))).and_then(|v| v.parse::<usize>().ok())
            };
            let (per_page, page) = (param("per_page").unwrap_or(30).min(100), param("page").unwrap_or(1).max(1));
            let items: Vec<Value> =
                s.comments.iter().skip((page - 1) * per_page).take(per_page).map(|(id, b)| as_json(*id, b)).collect();
            answer(200, &[], Value::Array(items))
        }
        (m, true, _) if m == Method::POST => {
            let Some(b) = new_body() else { return answer(422, &[], json!({"message": "body is missing"})) };
            s.next_id += 1;
            let id = s.next_id;
            s.comments.push((id, b.clone()));
            answer(201, &[], as_json(id, &b))
        }
        (m, false, Some(id))
            if (m == Method::PATCH && kind == Kind::GitHub) || (m == Method::PUT && kind == Kind::GitLab) =>
        {
            let Some(b) = new_body() else { return answer(422, &[], json!({"message": "body is missing"})) };
            match s.comments.iter_mut().find(|(i, _)| *i == id) {
                Some(c) => {
                    c.1 = b.clone();
                    answer(200, &[], as_json(id, &b))
                }
                None => answer(404, &[], json!({"message": "Not Found"})),
            }
        }
        (m, false, Some(id)) if m == Method::DELETE => {
            let before = s.comments.len();
            s.comments.retain(|(i, _)| *i != id);
            if s.comments.len() < before {
                StatusCode::NO_CONTENT.into_response()
            } else {
                answer(404, &[], json!({"message": "Not Found"}))
            }
        }
        _ => answer(405, &[], json!({"message": "Method Not Allowed"})),
    }
}
