//! Where a run goes: a gateway of one dialect (or an empty in-process sandbox for a
//! rehearsal) and the environment's further nodes, the environment it belongs to and the
//! ownership scope; and the lock key and labels derived from them.

use std::sync::Arc;
use std::time::Duration;

use crate::gateway::{Connector, GatewayTarget, SandboxHandle, Session};
use crate::source::Input;

/// The address that asks for an empty in-process sandbox instead of a gateway.
pub const SANDBOX: &str = "sandbox";

/// The gateway of a run.
#[derive(Clone)]
pub struct Target {
    /// The dialect's connector.
    pub connector: &'static dyn Connector,
    /// How to reach it; `url` [`SANDBOX`] starts an empty in-process sandbox.
    pub gateway: GatewayTarget,
    /// The environment of `gateform.toml` the run belongs to, if any.
    pub environment: Option<String>,
    /// Ownership tags given outside the files (`--select-tag`, the environment's
    /// `select_tags`).
    pub select_tags: Vec<String>,
    /// Where `select_tags` came from, as messages name it (`--select-tag`, `` `select_tags`
    /// of the environment "prod" in gateform.toml ``).
    pub select_tags_from: String,
    /// The environment's further nodes, and how a run writes to them.
    pub nodes: Nodes,
}

/// The nodes of an environment beyond the first ([`Target::gateway`]), reached with the
/// same headers and timeout, and how a run rolls out to them.
#[derive(Debug, Clone)]
pub struct Nodes {
    /// Admin API addresses of the other nodes, in rollout order.
    pub others: Vec<String>,
    /// Nodes written at once when each node holds its own configuration (at least 1).
    pub max_unavailable: usize,
    /// How long a node is read again, every [`Nodes::POLL`], until it serves the result.
    pub verify_timeout: Duration,
}

impl Nodes {
    /// The pause between two reads of a node that does not serve the result yet.
    pub const POLL: Duration = Duration::from_millis(500);
}

impl Default for Nodes {
    /// No other node; one node written at a time; 30 s to serve the result.
    fn default() -> Self {
        Nodes { others: Vec::new(), max_unavailable: 1, verify_timeout: Duration::from_secs(30) }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("dialect", &self.connector.name())
            .field("url", &self.gateway.url)
            .field("environment", &self.environment)
            .field("select_tags", &self.select_tags)
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl Target {
    /// Whether the environment has more than one node.
    pub fn multi_node(&self) -> bool {
        !self.nodes.others.is_empty()
    }

    /// The target of the other node at `address`: the same in every respect but the
    /// address, and no further nodes.
    pub fn node(&self, address: &str) -> Target {
        let gateway = GatewayTarget { url: address.to_owned(), ..self.gateway.clone() };
        Target { gateway, nodes: Nodes::default(), ..self.clone() }
    }

    /// Every node's address, the first one first.
    pub fn addresses(&self) -> Vec<String> {
        std::iter::once(self.address())
            .chain(self.nodes.others.iter().map(|a| a.trim_end_matches('/').to_owned()))
            .collect()
    }

    /// Whether the run is a rehearsal on an in-process sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.gateway.url == SANDBOX
    }

    /// The address as recorded in plans (no trailing `/`).
    pub fn address(&self) -> String {
        self.gateway.url.trim_end_matches('/').to_owned()
    }

    /// The lock and history key ([`crate::ledger::target_key`]): the environment's name, or
    /// the gateway's normalised address; `sandbox` for rehearsals, so they never count as an
    /// environment's state.
    pub fn key(&self) -> String {
        crate::ledger::target_key(self.environment.as_deref(), &self.gateway.url)
    }

    /// How messages name the target: `the environment "prod"` or `the gateway http://...`.
    pub fn label(&self) -> String {
        match &self.environment {
            Some(e) => format!("the environment {e:?}"),
            None => format!("the gateway {}", self.gateway.url),
        }
    }
}

/// An open session, and the in-process sandbox it talks to, if any.
pub struct Connection {
    /// The session.
    pub session: Arc<dyn Session>,
    /// The sandbox started for a rehearsal.
    pub sandbox: Option<Box<dyn SandboxHandle>>,
}

impl Connection {
    /// Opens a session with `target` (starting a sandbox for [`SANDBOX`]) for a run of
    /// these configuration texts.
    pub async fn open(target: &Target, inputs: &[Input]) -> Result<Connection, super::EngineError> {
        let mentions = |name: &str| inputs.iter().any(|i| i.text.contains(name));
        Connection::open_for(target, &mentions).await
    }

    /// Opens a session with `target` that knows every schema the gateway serves (for a dump).
    pub async fn open_all(target: &Target) -> Result<Connection, super::EngineError> {
        Connection::open_for(target, &|_| true).await
    }

    async fn open_for(
        target: &Target,
        mentions: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Connection, super::EngineError> {
        let (gateway, sandbox) = if target.is_sandbox() {
            let sandbox = target.connector.start_sandbox().await.map_err(super::EngineError::Sandbox)?;
            let mut gateway = GatewayTarget { url: sandbox.url(), ..target.gateway.clone() };
            for (name, value) in sandbox.headers() {
                gateway.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                gateway.headers.push((name, value));
            }
            (gateway, Some(sandbox))
        } else {
            (target.gateway.clone(), None)
        };
        match target.connector.connect(&gateway, mentions).await {
            Ok(session) => Ok(Connection { session: Arc::from(session), sandbox }),
            Err(e) => {
                if let Some(s) = sandbox {
                    s.shutdown().await;
                }
                Err(super::EngineError::from(e))
            }
        }
    }

    /// Stops the sandbox, if any.
    pub async fn close(self) {
        if let Some(s) = self.sandbox {
            s.shutdown().await;
        }
    }
}
