//! The dialects gateform knows, by name, and how to tell which one a gateway speaks. Front
//! ends pick a connector here; the core never names a dialect.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{Client, ClientConfig, Connector, Dialect, GatewayTarget, HttpError, SandboxHandle, Session};

/// The connector of the dialect called `name` (`kong`, `tyk`), if gateform knows it.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    match name {
        "kong" => Some(&crate::kong::KongConnector),
        "tyk" => Some(&crate::tyk::TykConnector),
        _ => None,
    }
}

/// The names of every dialect, for help texts and errors.
pub fn names() -> &'static [&'static str] {
    &["kong", "tyk"]
}

/// The dialect used when nothing names one and the gateway cannot be asked.
pub const DEFAULT: &str = "kong";

/// Asks the gateway which dialect it speaks: `GET /hello` answering Tyk's health document
/// (`{"status": "pass", "version": ..., "description": ...}`) is Tyk; anything else, Kong
/// (whose `GET /` then says whether it is one). `None` when the gateway does not answer.
pub async fn detect(target: &GatewayTarget) -> Option<&'static str> {
    let mut config = ClientConfig::new(target.url.clone());
    config.timeout = target.timeout.clamp(Duration::from_secs(1), Duration::from_secs(10));
    config.max_retries = 0;
    config.headers = target.headers.clone();
    let client = Client::new(config).ok()?;
    match client.get("/hello").await {
        Ok(v) if is_tyk_hello(&v) => Some("tyk"),
        Ok(_) | Err(HttpError::Api { .. }) => Some("kong"),
        Err(_) => None,
    }
}

fn is_tyk_hello(v: &Value) -> bool {
    v.get("status").and_then(Value::as_str).is_some() && (v.get("details").is_some() || v.get("description").is_some())
}

/// A connector that asks the gateway which dialect it speaks when a session opens
/// ([`detect`]) and uses that one; offline, and for a rehearsal's sandbox, it is
/// [`DEFAULT`]'s. Headers meant for another dialect's gateway (Tyk's secret) are not sent
/// to a Kong one.
#[derive(Debug, Default, Clone, Copy)]
pub struct Detecting;

fn fallback() -> &'static dyn Connector {
    connector(DEFAULT).unwrap_or(&crate::kong::KongConnector)
}

#[async_trait::async_trait]
impl Connector for Detecting {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn bundled(&self, options: &std::collections::BTreeMap<String, String>) -> Result<Arc<dyn Dialect>, String> {
        fallback().bundled(options)
    }

    async fn connect(
        &self,
        target: &GatewayTarget,
        mentions: &(dyn for<'n> Fn(&'n str) -> bool + Sync),
    ) -> Result<Box<dyn Session>, HttpError> {
        let name = detect(target).await.unwrap_or(DEFAULT);
        let chosen = connector(name).unwrap_or_else(fallback);
        tracing::info!("the gateway at {} speaks {name}", target.url);
        let mut target = target.clone();
        if name != "tyk" {
            target.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(crate::tyk::SECRET_HEADER));
        }
        chosen.connect(&target, mentions).await
    }

    async fn start_sandbox(&self) -> Result<Box<dyn SandboxHandle>, String> {
        fallback().start_sandbox().await
    }
}

/// The detecting connector.
pub fn detecting() -> &'static dyn Connector {
    &Detecting
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_name_has_a_connector() {
        for n in names() {
            assert_eq!(connector(n).map(|c| c.name()), Some(*n));
        }
        assert!(is_tyk_hello(&json!({"status": "pass", "version": "v5.8.0", "description": "Tyk GW"})));
        assert!(!is_tyk_hello(&json!({"message": "Not found"})));
    }
}
