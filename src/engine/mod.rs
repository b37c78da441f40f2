//! The pipeline that ties the modules together: read the gateway (live state in scope,
//! lookup entities, schemas), compute the plan and its schedule. Front ends (the CLI, a
//! reconciler loop, tests) call this and then [`crate::apply::apply`]; [`replay`] does
//! both and then proves the result with a second plan.

pub mod replay;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::graph::{GraphError, Schedule, schedule};
use crate::kong::schema::Schemas;
use crate::kong::{KongClient, KongError, Live, list_all, read_live, read_memberships};
use crate::model::{Kind, State};
use crate::plan::{Plan, PlanError, PlanInput, build};

/// A failure of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The gateway could not be read.
    #[error("cannot read the gateway: {0}")]
    Gateway(#[from] KongError),
    /// References or matches that cannot be resolved.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Changes that cannot be ordered.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// What the desired side brings to a plan.
#[derive(Debug, Clone, Default)]
pub struct DesiredInput {
    /// Desired entities.
    pub state: State,
    /// Ownership scope: only live entities carrying all these tags are read and compared.
    pub select_tags: Vec<String>,
    /// Kinds whose entities, carrying these tags, are read for reference resolution only.
    pub lookup_tags: BTreeMap<Kind, Vec<String>>,
    /// Secret fields of desired entities: `(entity index, dotted path)`.
    pub secret_fields: BTreeSet<(usize, String)>,
}

/// Everything a plan was computed from, and the plan.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The live state in scope.
    pub live: Live,
    /// Entities read for reference resolution only.
    pub lookup: State,
    /// The schemas used (the gateway's, the bundled ones where it served none).
    pub schemas: Schemas,
    /// The plan.
    pub plan: Plan,
    /// Its schedule.
    pub schedule: Schedule,
}

/// Reads the gateway and computes the plan and schedule for `desired`, normalising with
/// `schemas` (see [`gateway_schemas`]).
pub async fn prepare(client: &KongClient, desired: &DesiredInput, schemas: Schemas) -> Result<Prepared, EngineError> {
    let started = std::time::Instant::now();
    let mut live = read_live(client, &desired.select_tags).await?;
    tracing::info!("read {} live entities in {:.2}s", live.state.entities.len(), started.elapsed().as_secs_f64());
    let lookup = read_lookup(client, &desired.lookup_tags).await?;
    // Memberships of lookup groups belong to the consumers in scope.
    let known: HashSet<&str> =
        live.state.entities.iter().filter(|e| e.kind == Kind::ConsumerGroup).filter_map(|e| e.id.as_deref()).collect();
    let lookup_groups: Vec<String> = lookup
        .entities
        .iter()
        .filter(|e| e.kind == Kind::ConsumerGroup)
        .filter_map(|e| e.id.clone())
        .filter(|id| !known.contains(id.as_str()))
        .collect();
    if !lookup_groups.is_empty() {
        let consumers: HashSet<String> =
            live.state.entities.iter().filter(|e| e.kind == Kind::Consumer).filter_map(|e| e.id.clone()).collect();
        let extra = read_memberships(client, &lookup_groups, &consumers).await?;
        live.state.entities.extend(extra);
    }
    let secret = &desired.secret_fields;
    let started = std::time::Instant::now();
    let plan = build(&PlanInput {
        desired: &desired.state,
        live: &live.state,
        lookup: &lookup,
        schemas: &schemas,
        secret_fields: secret,
    })?;
    tracing::info!("planned {} changes in {:.2}s", plan.changes.len(), started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let schedule = schedule(&plan, &live.state, &schemas)?;
    // The request bodies now live in the schedule; keep one copy of each, not two.
    let mut plan = plan;
    for c in &mut plan.changes {
        c.body = None;
    }
    tracing::info!("scheduled {} steps in {:.2}s", schedule.steps.len(), started.elapsed().as_secs_f64());
    Ok(Prepared { live, lookup, schemas, plan, schedule })
}

/// Reads the lookup-only entities (`_info.default_lookup_tags`).
pub async fn read_lookup(client: &KongClient, lookup_tags: &BTreeMap<Kind, Vec<String>>) -> Result<State, KongError> {
    let mut entities = Vec::new();
    for (kind, tags) in lookup_tags {
        // Tags in one lookup list are alternatives: any of them qualifies (OR filter, §3.5).
        let rows = list_all_or(client, &format!("/{}", kind.collection()), tags).await?;
        entities.extend(rows.into_iter().map(|r| crate::kong::entity_from_json(*kind, r)));
    }
    Ok(State { entities })
}

async fn list_all_or(client: &KongClient, path: &str, tags: &[String]) -> Result<Vec<Value>, KongError> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in tags.chunks(5) {
        out.extend(list_all(client, path, &[chunk.join("/")]).await?);
    }
    Ok(out)
}

/// The gateway's schemas: every entity schema it serves, and the schema of each plugin it
/// has (`GET /` → `plugins.available_on_server`) for which `wanted` says yes (the CLI asks
/// for the plugins its files mention). The bundled schemas stand in for anything the gateway
/// does not serve or cannot be asked for.
pub async fn gateway_schemas(client: &KongClient, wanted: &dyn Fn(&str) -> bool) -> Schemas {
    let mut schemas = Schemas::bundled().clone();
    let plugins: Vec<String> = match crate::kong::gateway_info(client).await {
        Ok(info) => info.available_plugins.into_iter().filter(|p| wanted(p)).collect(),
        Err(_) => return schemas,
    };
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks: JoinSet<(bool, String, Option<Value>)> = JoinSet::new();
    let entities = Kind::ALL.iter().filter(|k| !k.is_enterprise()).map(|k| (false, k.table().to_owned()));
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
