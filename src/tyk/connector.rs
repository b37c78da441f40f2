//! How gateform reaches Tyk gateways ([`Connector`]): a session per run, the dialect for
//! offline use, and the in-process Tyk sandbox for rehearsals (`--gateway sandbox`).

use std::sync::Arc;
use std::time::Duration;

use super::dialect::TykDialect;
use super::sandbox::{DEFAULT_SECRET, TykSandbox, TykSandboxOptions};
use super::session::{Reload, TykSession};
use crate::gateway::{Client, ClientConfig, Connector, Dialect, GatewayTarget, HttpError, SandboxHandle, Session};

/// The header carrying the gateway secret.
pub const SECRET_HEADER: &str = "x-tyk-authorization";

/// How gateform reaches Tyk gateways.
#[derive(Debug, Default, Clone, Copy)]
pub struct TykConnector;

struct Handle(TykSandbox);

#[async_trait::async_trait]
impl SandboxHandle for Handle {
    fn url(&self) -> String {
        self.0.url()
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![(SECRET_HEADER.to_owned(), self.0.secret().to_owned())]
    }

    async fn shutdown(self: Box<Self>) {
        self.0.shutdown().await;
    }
}

#[async_trait::async_trait]
impl Connector for TykConnector {
    fn name(&self) -> &'static str {
        super::kind::DIALECT
    }

    fn bundled(&self, options: &std::collections::BTreeMap<String, String>) -> Result<Arc<dyn Dialect>, String> {
        Reload::parse(options).map_err(|e| e.to_string())?;
        Ok(Arc::new(TykDialect::new()))
    }

    /// Opens a session; the target's options may say `reload = "group"` (the default) or
    /// `"node"` (see [`Reload`]).
    async fn connect(
        &self,
        target: &GatewayTarget,
        _mentions: &(dyn for<'n> Fn(&'n str) -> bool + Sync),
    ) -> Result<Box<dyn Session>, HttpError> {
        let reload = Reload::parse(&target.options)?;
        let mut config = ClientConfig::new(target.url.clone());
        config.timeout = target.timeout.max(Duration::from_secs(1));
        config.headers = target.headers.clone();
        let client = Client::new(config)?;
        Ok(Box::new(TykSession::open(client, reload, config_timeout(target)).await?))
    }

    async fn start_sandbox(&self) -> Result<Box<dyn SandboxHandle>, String> {
        let opts = TykSandboxOptions { secret: DEFAULT_SECRET.to_owned(), ..TykSandboxOptions::default() };
        let sandbox = super::sandbox::start(opts).await.map_err(|e| e.to_string())?;
        Ok(Box::new(Handle(sandbox)))
    }
}

fn config_timeout(target: &GatewayTarget) -> Duration {
    target.timeout.max(Duration::from_secs(1))
}
