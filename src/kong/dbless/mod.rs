//! Kong without a database (DB-less, `GET /` → `configuration.database = "off"`): every
//! node holds its whole configuration and loads a new one only as a whole, through
//! `POST /config` (`kong-admin-api.md` §3.7); entity writes are refused (405).
//!
//! A DB-less session plans as any other: the live state is read through the entity
//! endpoints, which DB-less Kong serves. Applying goes through the same walker, but
//! [`Dbless::record`] only records each step; the session's barrier ([`Dbless::push`])
//! carries the recorded steps out on the node's whole configuration ([`config::Rows`]) and
//! posts the result once, `?check_hash=1&flatten_errors=1`: all or nothing. Before it
//! posts, the node's `configuration_hash` (`GET /status`) must still be the one it had when
//! it was read, so a configuration another writer pushed in between is never overwritten.
//! A refusal is kept without the entities Kong echoes (they hold secrets) and turned into
//! the entities it names ([`errors`]).

mod config;
mod errors;

use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

use crate::gateway::{Client, EntityError, HttpError, Request, Scope};
use crate::model::State;
use config::{Positions, Rows};

/// The path of the push: a whole configuration, `304` when the node already has it, entity
/// errors flattened.
const PUSH: &str = "/config?check_hash=1&flatten_errors=1";

/// What a DB-less session keeps between reading, recording and pushing.
#[derive(Debug, Default)]
pub struct Dbless {
    /// `configuration_hash` before the last read, and that read's rows when it covered
    /// every entity of the node (no ownership scope).
    read: Mutex<(Option<String>, Option<Rows>)>,
    /// The steps recorded since the last push, in the order they completed.
    steps: Mutex<Vec<Request>>,
    /// Where each entity stood in the last document posted.
    positions: Mutex<Positions>,
}

impl Dbless {
    /// Notes the node's configuration hash before its live state is read.
    pub async fn before_read(&self, client: &Client) -> Result<(), HttpError> {
        let hash = served_version(client).await?;
        if let Ok(mut read) = self.read.lock() {
            *read = (hash, None);
        }
        Ok(())
    }

    /// Keeps the state just read as the base of the next push when it holds every entity.
    pub fn after_read(&self, scope: &Scope, state: &State) {
        if !scope.select_tags.is_empty() {
            return;
        }
        if let Ok(mut read) = self.read.lock() {
            read.1 = Some(Rows::from_state(state));
        }
    }

    /// Records one step of an apply; a request the DB-less configuration cannot express is
    /// refused at once.
    pub fn record(&self, req: &Request) -> Result<(), HttpError> {
        Rows::default().apply(req)?;
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(req.clone());
        }
        Ok(())
    }

    /// Carries out the recorded steps on the node's configuration and posts it. Nothing is
    /// posted when no step was recorded, or when the node's configuration changed since it
    /// was read.
    pub async fn push(&self, client: &Client) -> Result<(), HttpError> {
        let steps = self.steps.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
        if steps.is_empty() {
            return Ok(());
        }
        let (read_hash, rows) = self.read.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let now = served_version(client).await?;
        if read_hash != now {
            return Err(HttpError::Config(format!(
                "the node's configuration changed since it was read (configuration_hash {} → {}); nothing was \
                 pushed: plan again",
                read_hash.as_deref().unwrap_or("none"),
                now.as_deref().unwrap_or("none")
            )));
        }
        let mut rows = match rows {
            Some(rows) => rows,
            None => Rows::from_state(&crate::kong::read_live(client, &[]).await?.state),
        };
        for step in &steps {
            rows.apply(step)?;
        }
        let (document, positions) = rows.document();
        tracing::info!("posting a DB-less configuration of {} entities to {}", rows.count(), client.base_url());
        if let Ok(mut p) = self.positions.lock() {
            *p = positions;
        }
        match client.send(Method::POST, PUSH, Some(&document)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(errors::trimmed(e)),
        }
    }

    /// The entities a refused push names.
    pub fn errors(&self, error: &HttpError) -> Vec<EntityError> {
        let positions = self.positions.lock().map(|p| p.clone()).unwrap_or_default();
        errors::entity_errors(error, &positions)
    }
}

/// `configuration_hash` of `GET /status` (32 hex digits; all zeros before any
/// configuration), `None` when the node gives none.
pub async fn served_version(client: &Client) -> Result<Option<String>, HttpError> {
    let status = client.get("/status").await?;
    Ok(status.get("configuration_hash").and_then(Value::as_str).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gateway::ClientConfig;
    use crate::kong::sandbox::{SandboxOptions, start};

    const ID: &str = "5b3f0c2e-0000-4000-8000-000000000001";

    fn ours() -> Request {
        Request::new("PUT", format!("/services/{ID}"), Some(json!({"id": ID, "name": "ours", "host": "o.test"})))
    }

    #[tokio::test]
    async fn recorded_steps_are_pushed_once_and_a_configuration_pushed_meanwhile_is_kept() {
        let sb = start(SandboxOptions { db_less: true, ..SandboxOptions::default() }).await.unwrap();
        let client = Client::new(ClientConfig::new(sb.url())).unwrap();
        let d = Dbless::default();
        d.push(&client).await.unwrap();
        assert_eq!(sb.request_counts().get("POST"), None, "nothing recorded, nothing posted");

        d.before_read(&client).await.unwrap();
        d.after_read(&Scope::default(), &State::default());
        d.record(&ours()).unwrap();
        d.push(&client).await.unwrap();
        assert_eq!(sb.request_counts().get("POST"), Some(&1));
        assert_eq!(client.get(&format!("/services/{ID}")).await.unwrap()["name"], "ours");

        d.before_read(&client).await.unwrap();
        d.after_read(&Scope::default(), &State::default());
        let theirs = json!({"_format_version": "3.0", "services": [{"name": "theirs", "host": "t.test"}]});
        client.send(Method::POST, "/config", Some(&theirs)).await.unwrap();
        d.record(&ours()).unwrap();
        let err = d.push(&client).await.unwrap_err().to_string();
        assert!(err.starts_with("the node's configuration changed since it was read (configuration_hash "), "{err}");
        assert!(err.ends_with("nothing was pushed: plan again"), "{err}");
        assert_eq!(client.get("/services/theirs").await.unwrap()["name"], "theirs", "their push is kept");
        sb.shutdown().await;
    }
}
