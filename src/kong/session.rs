//! A session with a Kong Admin API: `GET /` when it opens, the gateway's schemas for what
//! the configuration mentions, reading the live state in scope (with lookup entities and
//! consumer-group memberships), and Kong's tolerance rules when a step is sent. A DB-less
//! node records the steps and loads them as one configuration in the barrier ([`Dbless`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use super::dbless::{Dbless, served_version};
use super::dialect::KongDialect;
use super::plugins::PluginNames;
use super::read::{KongInfo, entity_from_json, gateway_info, list_all, read_live, read_memberships};
use super::sandbox::{Sandbox, SandboxOptions};
use super::schema::Schemas;
use super::{KongKind, validate};
use crate::gateway::{
    Client, ClientConfig, Connector, Dialect, EntityError, GatewayInfo, GatewayTarget, HttpError, Live, NodeSharing,
    Request, SandboxHandle, Scope, Session, StepError,
};
use crate::model::{Kind, State};
use crate::source::Desired;
use crate::source::Diagnostic;

/// How gateform reaches Kong gateways.
#[derive(Debug, Default, Clone, Copy)]
pub struct KongConnector;

/// One open session with a Kong Admin API.
pub struct KongSession {
    client: Client,
    kong: KongInfo,
    info: GatewayInfo,
    dialect: Arc<KongDialect>,
    /// Set for a DB-less node.
    dbless: Option<Dbless>,
}

impl KongSession {
    /// Opens a session on `client`: reads `GET /`, then the schemas of every entity and of
    /// each plugin for which `wanted` says yes (bundled schemas stand in for the rest).
    pub async fn open(
        client: Client,
        wanted: &(dyn Fn(&str) -> bool + Sync),
        plugins: PluginNames,
    ) -> Result<KongSession, HttpError> {
        let kong = gateway_info(&client).await?;
        let schemas = gateway_schemas(&client, &kong, wanted).await;
        let read_only = kong.data_plane.then(|| {
            "the node is a data plane of a hybrid deployment: it takes its configuration from its control plane; \
             apply to the control plane instead"
                .to_owned()
        });
        let info = GatewayInfo { product: "Kong".into(), version: kong.version.clone(), read_only, node_id: None };
        let dialect = Arc::new(KongDialect::new(schemas).with_plugins(plugins.on_gateway(&kong.available_plugins)));
        let dbless = (kong.db_less && !kong.data_plane).then(Dbless::default);
        Ok(KongSession { client, kong, info, dialect, dbless })
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What `GET /` said.
    pub fn kong_info(&self) -> &KongInfo {
        &self.kong
    }

    async fn read_lookup(&self, lookup_tags: &BTreeMap<Kind, Vec<String>>) -> Result<State, HttpError> {
        let mut entities = Vec::new();
        for (kind, tags) in lookup_tags {
            let Some(k) = KongKind::of(*kind) else { continue };
            // Tags in one lookup list are alternatives: any of them qualifies (OR filter, §3.5).
            for chunk in tags.chunks(5) {
                let rows = list_all(&self.client, &format!("/{}", k.collection()), &[chunk.join("/")]).await?;
                entities.extend(rows.into_iter().map(|r| entity_from_json(k, r)));
            }
        }
        Ok(State { entities })
    }
}

#[async_trait::async_trait]
impl Session for KongSession {
    fn info(&self) -> &GatewayInfo {
        &self.info
    }

    fn dialect(&self) -> Arc<dyn Dialect> {
        self.dialect.clone()
    }

    fn url(&self) -> &str {
        self.client.base_url()
    }

    fn reads_declared(&self) -> bool {
        false
    }

    async fn read(&self, scope: &Scope) -> Result<Live, HttpError> {
        if let Some(d) = &self.dbless {
            d.before_read(&self.client).await?;
        }
        let mut live = read_live(&self.client, &scope.select_tags).await?;
        let lookup = self.read_lookup(&scope.lookup_tags).await?;
        // Memberships of lookup groups belong to the consumers in scope.
        let is = |e: &crate::model::Entity, k: KongKind| e.kind == k.kind();
        let known: HashSet<&str> = live
            .state
            .entities
            .iter()
            .filter(|e| is(e, KongKind::ConsumerGroup))
            .filter_map(|e| e.id.as_deref())
            .collect();
        let lookup_groups: Vec<String> = lookup
            .entities
            .iter()
            .filter(|e| is(e, KongKind::ConsumerGroup))
            .filter_map(|e| e.id.clone())
            .filter(|id| !known.contains(id.as_str()))
            .collect();
        if !lookup_groups.is_empty() {
            let consumers: HashSet<String> =
                live.state.entities.iter().filter(|e| is(e, KongKind::Consumer)).filter_map(|e| e.id.clone()).collect();
            let extra = read_memberships(&self.client, &lookup_groups, &consumers).await?;
            live.state.entities.extend(extra);
        }
        if let Some(d) = &self.dbless {
            d.after_read(scope, &live.state);
        }
        Ok(Live { info: self.info.clone(), state: live.state, lookup })
    }

    async fn lookup(&self, kind: Kind, address: &str) -> Result<Option<crate::model::Entity>, HttpError> {
        let Some(k) = KongKind::of(kind) else { return Ok(None) };
        let path = format!("/{}/{}", k.collection(), crate::gateway::path_segment(address));
        match self.client.get(&path).await {
            Ok(row) => Ok(Some(entity_from_json(k, row))),
            Err(HttpError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one step. A `DELETE` of something already gone succeeds (targets answer 404); a
    /// `POST` that creates a target or a membership and meets 409 succeeds when the entity is
    /// already there (a retried request whose first answer was lost).
    async fn execute(&self, req: &Request) -> Result<(), StepError> {
        if let Some(d) = &self.dbless {
            return d.record(req);
        }
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|e| HttpError::Config(format!("invalid method {}: {e}", req.method)))?;
        match self.client.send_for_status(method.clone(), &req.path, req.body.as_ref()).await {
            Ok(_) => Ok(()),
            Err(HttpError::Api { status: 404, .. }) if method == Method::DELETE => Ok(()),
            Err(e @ HttpError::Api { status: 409, .. }) if method == Method::POST => {
                let exists = match req.body.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str) {
                    Some(id) => self.client.get(&format!("{}/{id}", req.path)).await.is_ok(),
                    // A membership (`POST /consumer_groups/{g}/consumers`) has no id of its own.
                    None => req.path.starts_with("/consumer_groups/"),
                };
                if exists { Ok(()) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    async fn attached_outside(&self, scope: &Scope, live: &State) -> Result<Vec<crate::model::Entity>, HttpError> {
        super::attached::outside_scope(&self.client, scope, live).await
    }

    /// A DB-less node loads the recorded steps as one configuration.
    async fn barrier(&self) -> Result<(), StepError> {
        match &self.dbless {
            Some(d) => d.push(&self.client).await,
            None => Ok(()),
        }
    }

    fn sharing(&self) -> NodeSharing {
        if self.dbless.is_some() { NodeSharing::PerNode } else { NodeSharing::Shared }
    }

    fn writes_at_barrier(&self) -> bool {
        self.dbless.is_some()
    }

    fn barrier_errors(&self, error: &StepError) -> Vec<EntityError> {
        self.dbless.as_ref().map(|d| d.errors(error)).unwrap_or_default()
    }

    async fn served_version(&self) -> Result<Option<String>, HttpError> {
        match &self.dbless {
            Some(_) => served_version(&self.client).await,
            None => Ok(None),
        }
    }

    async fn validate_online(&self, desired: &Desired) -> Vec<Diagnostic> {
        validate::online(&self.client, self.dialect.schemas(), desired).await
    }

    fn request_count(&self) -> u64 {
        self.client.request_count()
    }

    fn requests_by_status(&self) -> BTreeMap<u16, u64> {
        self.client.requests_by_status()
    }
}

/// The gateway's schemas: every entity schema it serves, and the schema of each plugin it
/// has (`GET /` → `plugins.available_on_server`) for which `wanted` says yes. The bundled
/// schemas stand in for anything the gateway does not serve or cannot be asked for.
pub async fn gateway_schemas(client: &Client, info: &KongInfo, wanted: &(dyn Fn(&str) -> bool + Sync)) -> Schemas {
    let mut schemas = Schemas::bundled().clone();
    let plugins: Vec<String> = info.available_plugins.iter().filter(|p| wanted(p)).cloned().collect();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks: JoinSet<(bool, String, Option<Value>)> = JoinSet::new();
    let entities = KongKind::ALL.iter().filter(|k| !k.is_enterprise()).map(|k| (false, k.table().to_owned()));
    for (is_plugin, name) in entities.chain(plugins.into_iter().map(|p| (true, p))) {
        let (client, limit) = (client.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.ok();
            let path = if is_plugin { format!("/schemas/plugins/{name}") } else { format!("/schemas/{name}") };
            let json = client.get(&path).await.ok();
            (is_plugin, name, json)
        });
    }
    let mut fetched = Vec::new();
    while let Some(Ok(row)) = tasks.join_next().await {
        fetched.push(row);
    }
    // Entities first (the plugin schemas merge into `plugins`), each in a stable order.
    fetched.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (is_plugin, name, json) in fetched {
        let Some(json) = json else { continue };
        let result = if is_plugin { schemas.insert_plugin(&name, json) } else { schemas.insert_entity(&name, json) };
        if result.is_err() {
            tracing::warn!("the gateway's schema of {name} is malformed; using the bundled one");
        }
    }
    schemas
}

struct KongSandbox(Sandbox);

#[async_trait::async_trait]
impl SandboxHandle for KongSandbox {
    fn url(&self) -> String {
        self.0.url()
    }

    async fn shutdown(self: Box<Self>) {
        self.0.shutdown().await;
    }
}

#[async_trait::async_trait]
impl Connector for KongConnector {
    fn name(&self) -> &'static str {
        super::kind::DIALECT
    }

    /// The bundled schemas; the options may declare `custom_plugins`.
    fn bundled(&self, options: &BTreeMap<String, String>) -> Result<Arc<dyn Dialect>, String> {
        Ok(Arc::new(KongDialect::bundled().with_plugins(PluginNames::from_options(options)?)))
    }

    async fn connect(
        &self,
        target: &GatewayTarget,
        mentions: &(dyn for<'n> Fn(&'n str) -> bool + Sync),
    ) -> Result<Box<dyn Session>, HttpError> {
        let mut config = ClientConfig::new(target.url.clone());
        config.timeout = target.timeout.max(std::time::Duration::from_secs(1));
        config.headers = target.headers.clone();
        let client = Client::new(config)?;
        let plugins = PluginNames::from_options(&target.options).map_err(HttpError::Config)?;
        Ok(Box::new(KongSession::open(client, mentions, plugins).await?))
    }

    async fn start_sandbox(&self) -> Result<Box<dyn SandboxHandle>, String> {
        // A rehearsal accepts every kind a configuration may use, Enterprise ones included.
        let opts = SandboxOptions { enterprise: true, ..SandboxOptions::default() };
        let sandbox = super::sandbox::start(opts).await.map_err(|e| e.to_string())?;
        Ok(Box::new(KongSandbox(sandbox)))
    }
}
