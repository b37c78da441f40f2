//! The read-only half of every run: open the session, load the configuration with the
//! gateway's own schema knowledge, read the live state in scope, compute the plan and its
//! schedule; every secret value met on the way is added to the run's redactor.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::preflight;
use super::target::{Connection, Target};
use super::{EngineError, Observer};
use crate::gateway::{Dialect, Live, Scope};
use crate::graph::{Schedule, schedule, schedule_taking_bodies};
use crate::plan::file::{Fingerprint, GatewayRecord};
use crate::plan::{Plan, PlanInput, PlanOptions, Selection, build, guard, select};
use crate::secrets::{self, Redactor};
use crate::source::Desired;
use crate::source::Source;
use crate::source::environments::is_credential_header;

/// A computed plan with everything it came from; holds the session open.
pub struct Planned {
    /// The open session (and sandbox, for a rehearsal).
    pub connection: Connection,
    /// The dialect, with the gateway's schema knowledge.
    pub dialect: Arc<dyn Dialect>,
    /// The configuration read.
    pub source: Source,
    /// Where it goes.
    pub target: Target,
    /// The desired state.
    pub desired: Desired,
    /// The live state in scope.
    pub live: Live,
    /// The plan (request bodies live in the schedule only).
    pub plan: Plan,
    /// Its schedule.
    pub schedule: Schedule,
    /// The `--target` / `--exclude` selection the plan was narrowed by.
    pub selection: Selection,
}

impl Planned {
    /// The fingerprint of the live state the plan was computed against.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.live.state, &self.live.lookup, &*self.dialect)
    }

    /// The gateway, as saved plans record it.
    pub fn gateway_record(&self) -> GatewayRecord {
        GatewayRecord {
            address: self.target.address(),
            product: self.live.info.product.clone(),
            version: self.live.info.version.clone(),
            workspace: self.desired.workspace.clone(),
            select_tags: self.desired.select_tags.clone(),
            environment: self.target.environment.clone(),
        }
    }

    /// The `gateway` object of JSON plans: the saved-plan record.
    pub fn gateway_json(&self) -> Value {
        serde_json::to_value(self.gateway_record()).unwrap_or(Value::Null)
    }

    /// The product and version, as headers show them (`Kong 3.9.3`).
    pub fn product(&self) -> String {
        format!("{} {}", self.live.info.product, self.live.info.version)
    }

    /// Closes the session (stops a rehearsal's sandbox).
    pub async fn close(self) {
        self.connection.close().await;
    }

    /// [`Planned::close`] for a process that exits next: the session is closed, and the
    /// states, plan and schedule are left for the system to take back with the process,
    /// not freed map by map (0.35 s for a plan of 100k creates).
    pub async fn close_before_exit(self) {
        let Planned { connection, desired, live, plan, schedule, .. } = self;
        connection.close().await;
        std::mem::forget((desired, live, plan, schedule));
    }
}

/// What a plan is computed from.
pub struct PlanRequest<'a> {
    /// The configuration.
    pub source: Source,
    /// Where it goes.
    pub target: Target,
    /// The variables templates may read (`${{ env "DECK_X" }}`).
    pub env: &'a BTreeMap<String, String>,
    /// The run's redactor: every secret value met is added to it.
    pub redactor: &'a Redactor,
    /// Selection and destroy guards.
    pub options: &'a PlanOptions,
}

/// Opens the session, loads, reads and plans. On error the session is closed.
pub async fn prepare(req: PlanRequest<'_>, observer: &mut dyn Observer) -> Result<Planned, EngineError> {
    let credentials = req.target.gateway.headers.iter().filter(|(n, v)| is_credential_header(n) && !v.is_empty());
    req.redactor.add(credentials.map(|(_, v)| v.clone()));
    let started = Instant::now();
    let connection = Connection::open(&req.target, &req.source.inputs).await?;
    if let Some(sandbox) = &connection.sandbox {
        observer.warning(&format!("Using an empty in-process sandbox at {}.", sandbox.url()));
    }
    tracing::info!("connected and fetched schemas in {:.2}s", started.elapsed().as_secs_f64());
    let dialect = connection.session.dialect();
    match plan_on(&connection, &*dialect, &req, observer).await {
        Ok((desired, live, plan, schedule)) => {
            let selection = req.options.selection.clone();
            let (source, target) = (req.source, req.target);
            Ok(Planned { connection, dialect, source, target, desired, live, plan, schedule, selection })
        }
        Err(e) => {
            connection.close().await;
            Err(e)
        }
    }
}

/// Loads the configuration with `dialect`, reports its warnings, and applies the scope
/// given outside the files.
pub fn load(
    dialect: &dyn Dialect,
    source: &Source,
    target: &Target,
    env: &BTreeMap<String, String>,
    redactor: &Redactor,
    observer: &mut dyn Observer,
) -> Result<Desired, EngineError> {
    let started = Instant::now();
    let mut desired = dialect.load(&source.inputs, env).map_err(EngineError::Config)?;
    redactor.add(desired.env_values.iter().cloned());
    redactor.add(secrets::collect(&desired.state, dialect));
    for w in &desired.warnings {
        observer.warning(&w.to_string());
    }
    let tags = &target.select_tags;
    if !tags.is_empty() {
        if !desired.select_tags.is_empty() && sorted(&desired.select_tags) != sorted(tags) {
            return Err(EngineError::Refused(format!(
                "{} {:?} differ from _info.select_tags {:?} in the configuration; a run has one \
                 ownership scope, so make them equal or drop one",
                target.select_tags_from, tags, desired.select_tags
            )));
        }
        if desired.select_tags.is_empty() {
            dialect.own(&mut desired.state.entities, tags);
            desired.select_tags = tags.clone();
        }
    }
    tracing::info!(
        "loaded {} desired entities in {:.2}s",
        desired.state.entities.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(desired)
}

async fn plan_on(
    connection: &Connection,
    dialect: &dyn Dialect,
    req: &PlanRequest<'_>,
    observer: &mut dyn Observer,
) -> Result<(Desired, Live, Plan, Schedule), EngineError> {
    let early = EarlyRead::start(connection, &req.target);
    let desired = load(dialect, &req.source, &req.target, req.env, req.redactor, observer)?;
    let early = early.and_then(|e| e.matching(&scope_of(&desired)));
    let selection = &req.options.selection;
    let (live, plan, schedule) =
        plan_with(connection, dialect, &desired, early, req.redactor, selection, observer).await?;
    if let Some(refusal) = guard::check(&plan, &live.state, dialect, &req.options.guards) {
        return Err(EngineError::Refused(refusal));
    }
    Ok((desired, live, plan, schedule))
}

/// Reads the live state in the scope of `desired` and plans against it, narrowed by
/// `selection` (its warnings go to `observer`).
pub async fn plan_against(
    connection: &Connection,
    dialect: &dyn Dialect,
    desired: &Desired,
    redactor: &Redactor,
    selection: &Selection,
    observer: &mut dyn Observer,
) -> Result<(Live, Plan, Schedule), EngineError> {
    plan_with(connection, dialect, desired, None, redactor, selection, observer).await
}

/// The scope of a run over `desired`.
fn scope_of(desired: &Desired) -> Scope {
    let declared = desired.state.entities.iter().filter_map(|e| Some((e.kind, e.id.clone()?))).collect();
    Scope { select_tags: desired.select_tags.clone(), lookup_tags: desired.lookup_tags.clone(), declared }
}

/// A read of the live state started before the configuration is loaded, in the scope the
/// run was given outside the files (its select tags, no lookup tags), for sessions whose
/// reads ignore [`Scope::declared`].
struct EarlyRead {
    scope: Scope,
    read: tokio::task::JoinHandle<Result<Live, crate::gateway::HttpError>>,
}

impl EarlyRead {
    fn start(connection: &Connection, target: &Target) -> Option<EarlyRead> {
        if connection.session.reads_declared() {
            return None;
        }
        let scope = Scope { select_tags: target.select_tags.clone(), ..Scope::default() };
        let (session, guess) = (connection.session.clone(), scope.clone());
        let read = tokio::spawn(async move { session.read(&guess).await });
        Some(EarlyRead { scope, read })
    }

    /// The read, when it is of `scope`'s entities; else it is stopped (when dropped).
    fn matching(self, scope: &Scope) -> Option<Self> {
        let same = self.scope.select_tags == scope.select_tags && self.scope.lookup_tags == scope.lookup_tags;
        same.then_some(self)
    }
}

impl Drop for EarlyRead {
    fn drop(&mut self) {
        self.read.abort();
    }
}

async fn plan_with(
    connection: &Connection,
    dialect: &dyn Dialect,
    desired: &Desired,
    early: Option<EarlyRead>,
    redactor: &Redactor,
    selection: &Selection,
    observer: &mut dyn Observer,
) -> Result<(Live, Plan, Schedule), EngineError> {
    let started = Instant::now();
    let read = match early {
        Some(mut e) => (&mut e.read).await.unwrap_or_else(|j| Err(crate::gateway::HttpError::Config(j.to_string()))),
        None => connection.session.read(&scope_of(desired)).await,
    };
    let mut live = read.map_err(EngineError::from)?;
    preflight::resolve_outside_references(connection, desired, &mut live).await?;
    let problems: Vec<_> = dialect.check_live(&desired.state, &live).into_iter().filter(|d| d.is_error()).collect();
    if !problems.is_empty() {
        return Err(EngineError::Config(crate::source::Diagnostics(problems)));
    }
    redactor.add(secrets::collect(&live.state, dialect));
    redactor.add(secrets::collect(&live.lookup, dialect));
    tracing::info!("read {} live entities in {:.2}s", live.state.entities.len(), started.elapsed().as_secs_f64());
    let started = Instant::now();
    let plan = build(&PlanInput {
        desired: &desired.state,
        live: &live.state,
        lookup: &live.lookup,
        dialect,
        secret_fields: &desired.env_fields,
    })?;
    tracing::info!("planned {} changes in {:.2}s", plan.changes.len(), started.elapsed().as_secs_f64());
    preflight::check_scope(connection, dialect, &plan, &desired.select_tags, &live.state).await?;
    let started = Instant::now();
    let mut plan = plan;
    if !selection.is_empty() {
        let all = schedule(&plan, &live.state, dialect)?;
        let selected =
            select::select(plan, selection, dialect, &change_dependencies(&all)).map_err(EngineError::Refused)?;
        for w in &selected.warnings {
            observer.warning(w);
        }
        plan = selected.plan;
    }
    // The request bodies move into the schedule: one copy of each, not two.
    let schedule = schedule_taking_bodies(&mut plan, &live.state, dialect)?;
    tracing::info!("scheduled {} steps in {:.2}s", schedule.steps.len(), started.elapsed().as_secs_f64());
    Ok((live, plan, schedule))
}

/// For each change of a schedule's plan, the changes it waits for (read off its steps'
/// edges), for [`select::select`].
fn change_dependencies(schedule: &Schedule) -> Vec<Vec<usize>> {
    let changes = schedule.steps.iter().map(|s| s.change + 1).max().unwrap_or(0);
    let mut deps = vec![Vec::new(); changes];
    for (before, after, _) in &schedule.edges {
        let (b, a) = (schedule.steps[*before].change, schedule.steps[*after].change);
        if a != b && !deps[a].contains(&b) {
            deps[a].push(b);
        }
    }
    deps
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}
