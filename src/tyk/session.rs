//! A session with a Tyk Gateway API (`tyk.md` §1): the preconditions checked when it opens,
//! reading the live state in scope (gateform's marker decides ownership), sending one
//! write with Tyk's tolerance rules, and the barrier: one reload for the whole apply, then
//! reading again until the gateway serves what was written.
//!
//! Tolerance rules (`tyk.md` §1.2, §1.3): a `DELETE` of an object the gateway does not
//! serve (404) is done; a `DELETE` answered 500 `Delete failed` (its file `<id>.json` is
//! missing: removed already by a request whose answer was lost, or never there because the
//! object came from a file of another name) is left to the verification after the reload,
//! which names the object if it is still served; a `PUT` of an API or policy the gateway
//! does not serve (404: it was removed since it was read) becomes a `POST`, which Tyk takes
//! as an upsert; a certificate already in the store (403 `already exists`) is there, by
//! its content-addressed id.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value};

use super::dialect::{TykDialect, body_id};
use super::kind::TykKind;
use super::read::{read_all, read_one};
use super::verify::{Written, until_served};
use super::{marker, preconditions};
use crate::gateway::{Client, Dialect, GatewayInfo, HttpError, Live, Request, Scope, Session, StepError};
use crate::model::{Action, Entity, Kind, State};
use crate::source::{Desired, Diagnostic};

/// How the writes of an apply are made live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// `GET /tyk/reload/group`: every gateway sharing the Redis reloads (a cluster, or one
    /// node) when its reload loop next runs; the gateway is then read until it serves the
    /// writes, for at most the per-request timeout.
    Group,
    /// `GET /tyk/reload?block=true`: only the node addressed reloads, and answers once done;
    /// the gateway is then read until it serves the writes, for at most a second.
    Node,
}

impl Reload {
    /// The `reload` option's value: `group` (default) or `node`.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<Reload, HttpError> {
        if let Some(name) = options.keys().find(|k| k.as_str() != "reload") {
            return Err(HttpError::Config(format!("the tyk dialect has no option `{name}` (it has: reload)")));
        }
        match options.get("reload").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("group") => Ok(Reload::Group),
            Some("node") => Ok(Reload::Node),
            Some(other) => Err(HttpError::Config(format!("option reload = {other:?}: expected \"group\" or \"node\""))),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Reload::Group => "/tyk/reload/group",
            Reload::Node => "/tyk/reload?block=true",
        }
    }
}

/// One open session with a Tyk gateway.
pub struct TykSession {
    client: Client,
    info: GatewayInfo,
    dialect: Arc<TykDialect>,
    reload: Reload,
    patience: Duration,
    written: Mutex<Vec<Written>>,
}

impl TykSession {
    /// Opens a session on `client`: checks the preconditions
    /// ([`preconditions::check`]); `timeout` is the per-request timeout.
    pub async fn open(client: Client, reload: Reload, timeout: Duration) -> Result<TykSession, HttpError> {
        let info = preconditions::check(&client).await?;
        let patience = match reload {
            Reload::Group => timeout,
            Reload::Node => Duration::from_secs(1),
        };
        Ok(TykSession {
            client,
            info,
            dialect: Arc::new(TykDialect::new()),
            reload,
            patience,
            written: Mutex::new(Vec::new()),
        })
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn record(&self, w: Written) {
        if let Ok(mut all) = self.written.lock() {
            all.push(w);
        }
    }

    fn take_written(&self) -> Vec<Written> {
        self.written.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }
}

/// The kind, id and action of a request built by the dialect.
fn parse(req: &Request) -> Option<(TykKind, String, Action)> {
    let path = req.path.split('?').next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (kind, id) = match segs.as_slice() {
        ["tyk", "apis", "oas"] => (TykKind::OasApi, None),
        ["tyk", "apis", "oas", id] => (TykKind::OasApi, Some(*id)),
        ["tyk", "apis"] => (TykKind::Api, None),
        ["tyk", "apis", id] => (TykKind::Api, Some(*id)),
        ["tyk", "policies"] => (TykKind::Policy, None),
        ["tyk", "policies", id] => (TykKind::Policy, Some(*id)),
        ["tyk", "certs"] => (TykKind::Certificate, None),
        ["tyk", "certs", id] => (TykKind::Certificate, Some(*id)),
        _ => return None,
    };
    let body = req.body.as_ref().and_then(Value::as_object);
    let action = match req.method.as_str() {
        "DELETE" => Action::Delete,
        "PUT" => Action::Update,
        _ => Action::Create,
    };
    let id = match (id, body) {
        (Some(id), _) => percent_decode(id),
        (None, Some(b)) if kind == TykKind::Certificate => cert_id(b)?,
        (None, Some(b)) => body_id(kind, b)?.to_owned(),
        (None, None) => return None,
    };
    Some((kind, id, action))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn cert_id(body: &Map<String, Value>) -> Option<String> {
    let pem = body.get("pem").and_then(Value::as_str)?;
    let org = body.get("org_id").and_then(Value::as_str).unwrap_or("");
    super::files::pem::parse(pem, org).ok().map(|(_, _, id)| id)
}

/// Tyk's message of an error body.
fn message(e: &HttpError) -> Option<&str> {
    match e {
        HttpError::Api { body, .. } => body.get("message").and_then(Value::as_str),
        _ => None,
    }
}

/// An error with a hint added to the gateway's body when the cause is known.
fn with_hint(e: HttpError) -> HttpError {
    let hint = match message(&e) {
        Some(m) if m.contains("use_db_app_configs") || m.contains("service policy source") => {
            "this gateway is managed by a Tyk Dashboard (use_db_app_configs / policy_source: service): its APIs \
             and policies are written through the Dashboard API, not the Gateway API"
        }
        Some("Request malformed") => "the gateway could not decode the body: a field holds a value of the wrong type",
        _ => return e,
    };
    match e {
        HttpError::Api { method, path, status, mut body } => {
            if let Value::Object(m) = &mut body {
                m.insert("hint".into(), Value::String(hint.to_owned()));
            }
            HttpError::Api { method, path, status, body }
        }
        other => other,
    }
}

#[async_trait::async_trait]
impl Session for TykSession {
    fn info(&self) -> &GatewayInfo {
        &self.info
    }

    fn dialect(&self) -> Arc<dyn Dialect> {
        self.dialect.clone()
    }

    fn url(&self) -> &str {
        self.client.base_url()
    }

    /// Everything the gateway serves; in scope: the objects whose marker the scope owns,
    /// and unmarked objects the configuration declares (adopted). The rest is read for
    /// reference only, and never deleted.
    async fn read(&self, scope: &Scope) -> Result<Live, HttpError> {
        let all = read_all(&self.client).await?;
        let declared = |k: TykKind, id: &str| {
            let kinds: &[TykKind] =
                if k.is_api() { &[TykKind::Api, TykKind::OasApi] } else { std::slice::from_ref(&k) };
            kinds.iter().any(|k| scope.declared.contains(&(k.kind(), id.to_owned())))
        };
        let (mut state, mut lookup) = (State::default(), State::default());
        for e in all {
            let Some(k) = TykKind::of(e.kind) else { continue };
            let id = e.id.clone().unwrap_or_default();
            let in_scope = match marker::read(k, &e.fields) {
                Some(m) => m.owned_by(&scope.select_tags),
                None => declared(k, &id),
            };
            if in_scope { state.entities.push(e) } else { lookup.entities.push(e) }
        }
        Ok(Live { info: self.info.clone(), state, lookup })
    }

    async fn lookup(&self, kind: Kind, address: &str) -> Result<Option<Entity>, HttpError> {
        let Some(k) = TykKind::of(kind) else { return Ok(None) };
        read_one(&self.client, k, address).await
    }

    async fn execute(&self, req: &Request) -> Result<(), StepError> {
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|e| HttpError::Config(format!("invalid method {}: {e}", req.method)))?;
        let parsed = parse(req);
        let result = match parsed.as_ref().map(|p| (p.0, p.2)) {
            Some((TykKind::Certificate, Action::Create | Action::Update)) => {
                let pem = req.body.as_ref().and_then(|b| b.get("pem")).and_then(Value::as_str).unwrap_or("");
                match self.client.send_text(Method::POST, &req.path, "text/plain", pem).await {
                    Err(e @ HttpError::Api { status: 403, .. })
                        if !message(&e).unwrap_or("").contains("already exists") =>
                    {
                        Err(e)
                    }
                    _ => Ok(()),
                }
            }
            _ => match self.client.send(method.clone(), &req.path, req.body.as_ref()).await {
                Ok(_) => Ok(()),
                Err(HttpError::Api { status: 404, .. }) if method == Method::DELETE => Ok(()),
                Err(e @ HttpError::Api { status: 500, .. })
                    if method == Method::DELETE && message(&e) == Some("Delete failed") =>
                {
                    tracing::warn!("{e}: left to the verification after the reload");
                    Ok(())
                }
                Err(HttpError::Api { status: 404, .. }) if method == Method::PUT => {
                    let collection = parsed.as_ref().map(|p| p.0.collection()).unwrap_or("/tyk/apis");
                    self.client.send(Method::POST, collection, req.body.as_ref()).await.map(|_| ())
                }
                Err(e) => Err(e),
            },
        };
        match (result, parsed) {
            (Ok(()), Some((kind, id, action))) => {
                let body = req.body.as_ref().and_then(Value::as_object).cloned().filter(|_| action != Action::Delete);
                self.record(Written { kind, id, action, body });
                Ok(())
            }
            (Ok(()), None) => Ok(()),
            (Err(e), _) => Err(with_hint(e)),
        }
    }

    /// One reload for every write of the apply, then reads until the gateway serves them.
    async fn barrier(&self) -> Result<(), StepError> {
        let written = self.take_written();
        if written.iter().all(|w| w.kind == TykKind::Certificate) {
            return until_served(&self.client, &written, self.patience, Duration::from_millis(200))
                .await
                .map_err(HttpError::Config);
        }
        self.client.get(self.reload.path()).await?;
        until_served(&self.client, &written, self.patience, Duration::from_millis(200)).await.map_err(HttpError::Config)
    }

    /// A group reload: every node loads what the shared store holds (`tyk.md` §2).
    async fn catch_up(&self) -> Result<(), StepError> {
        self.client.get(Reload::Group.path()).await.map(|_| ())
    }

    async fn validate_online(&self, _desired: &Desired) -> Vec<Diagnostic> {
        // The Gateway API validates only on write; everything it checks is checked offline.
        Vec::new()
    }

    fn request_count(&self) -> u64 {
        self.client.request_count()
    }

    fn requests_by_status(&self) -> BTreeMap<u16, u64> {
        self.client.requests_by_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_back_into_writes() {
        let r = Request::new("POST", "/tyk/apis".into(), Some(json!({"api_id": "a"})));
        assert_eq!(parse(&r), Some((TykKind::Api, "a".into(), Action::Create)));
        let r = Request::new("DELETE", "/tyk/apis/oas/a%2Bb".into(), None);
        assert_eq!(parse(&r), Some((TykKind::OasApi, "a+b".into(), Action::Delete)));
        let r = Request::new("PUT", "/tyk/policies/p".into(), Some(json!({"id": "p"})));
        assert_eq!(parse(&r), Some((TykKind::Policy, "p".into(), Action::Update)));
        assert_eq!(parse(&Request::new("GET", "/hello".into(), None)), None);
    }

    #[test]
    fn the_reload_option() {
        let opts = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(Reload::parse(&BTreeMap::new()).unwrap(), Reload::Group);
        assert_eq!(Reload::parse(&opts("reload", "Node")).unwrap(), Reload::Node);
        assert!(Reload::parse(&opts("reload", "later")).unwrap_err().to_string().contains("\"group\" or \"node\""));
        assert!(Reload::parse(&opts("nope", "x")).unwrap_err().to_string().contains("no option `nope`"));
    }
}
