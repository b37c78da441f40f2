//! The dependency graph of a plan's HTTP steps.
//!
//! Every change becomes one step (one Admin API request); edges say which step must finish
//! before another starts:
//!
//! * a parent is created before the children that reference it;
//! * a child is moved away from, or deleted before, a parent that is deleted (Kong refuses
//!   to delete a parent with restrict children, and cascades would delete moved ones);
//! * a unique value (a name, a username, a plugin's scope, a target) is released — by the
//!   delete or update of the entity holding it — before another entity acquires it.
//!
//! When those edges form a cycle (two routes swapping names; a service replaced by one with
//! the same name whose routes must move over), the acquiring step is split: it first writes
//! a temporary value, and a final `PATCH` sets the real one once the holder let it go.

mod unique;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::DiGraph;
use serde_json::{Map, Value};

pub use crate::gateway::Request;

use crate::gateway::{Dialect, Write};
use crate::model::Kind;
use crate::plan::{Action, Change, Plan};

/// Why an edge exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeKind {
    /// The target references (or stops referencing) the source's entity.
    Reference,
    /// The source releases a unique value the target acquires: `(constraint, value)`.
    Unique(String, String),
}

/// One step: an HTTP request that carries out (part of) one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Index of the change in [`Plan::changes`].
    pub change: usize,
    /// The request to send (shared with the tasks that send it).
    pub request: Arc<Request>,
    /// Whether this step finishes a change whose first step wrote temporary values.
    pub finalize: bool,
}

/// The steps of a plan and their dependencies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    /// The steps.
    pub steps: Vec<Step>,
    /// `(before, after, why)`: step `before` must finish before step `after` starts.
    pub edges: Vec<(usize, usize, EdgeKind)>,
}

impl Schedule {
    /// For each step, the steps it waits for.
    pub fn dependencies(&self) -> Vec<Vec<usize>> {
        let mut deps = vec![Vec::new(); self.steps.len()];
        for (before, after, _) in &self.edges {
            if !deps[*after].contains(before) {
                deps[*after].push(*before);
            }
        }
        deps
    }

    /// A valid sequential order of the steps (parents first, deletes children first).
    pub fn order(&self) -> Vec<usize> {
        let mut g = DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..self.steps.len()).map(|i| g.add_node(i)).collect();
        for (a, b, _) in &self.edges {
            g.add_edge(nodes[*a], nodes[*b], ());
        }
        toposort(&g, None)
            .map(|o| o.into_iter().map(|n| g[n]).collect())
            .unwrap_or_else(|_| (0..self.steps.len()).collect())
    }
}

/// A plan whose steps cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A unique value is wanted by one entity while another keeps it.
    #[error("{acquirer} needs {constraint} {value:?}, which {holder} keeps")]
    Conflict {
        /// The entity that wants the value.
        acquirer: String,
        /// The entity that holds it and is not changed.
        holder: String,
        /// The constraint (`services.name`).
        constraint: String,
        /// The value.
        value: String,
    },
    /// A cycle that no temporary value can break.
    #[error("cannot order these changes (they depend on each other): {0}")]
    Cycle(String),
}

/// The parent ids a change's request addresses: the desired ones, completed by the live
/// ones (a delete has only those).
fn write_parents(c: &Change) -> BTreeMap<&'static str, String> {
    let mut parents = if c.action == Action::Delete { c.live_parents.clone() } else { c.parents.clone() };
    for (f, id) in &c.live_parents {
        parents.entry(f).or_insert_with(|| id.clone());
    }
    parents
}

/// The request that carries out `c` with `body` (`c`'s own, borrowed or given up), as the
/// dialect builds it.
fn request_for(dialect: &dyn Dialect, c: &Change, body: Option<Cow<'_, Map<String, Value>>>) -> Request {
    let parents = write_parents(c);
    let mut r = dialect.request(Write { action: c.action, kind: c.kind, id: &c.id, body, parents: &parents });
    r.kind = Some(c.kind);
    r
}

/// Builds the schedule of `plan` against the live state it was computed from. The request
/// bodies are copies of the changes' bodies.
pub fn schedule(plan: &Plan, live: &crate::model::State, dialect: &dyn Dialect) -> Result<Schedule, GraphError> {
    let bodies = plan.changes.iter().map(|c| c.body.as_ref().map(Cow::Borrowed)).collect();
    build(plan, bodies, live, dialect)
}

/// [`schedule`], moving each change's body into its request instead of copying it: the
/// changes are left with `body: None` (also when the schedule fails). For a plan whose
/// bodies are needed only to be sent.
pub fn schedule_taking_bodies(
    plan: &mut Plan,
    live: &crate::model::State,
    dialect: &dyn Dialect,
) -> Result<Schedule, GraphError> {
    let bodies: Vec<_> = plan.changes.iter_mut().map(|c| c.body.take().map(Cow::Owned)).collect();
    build(plan, bodies, live, dialect)
}

fn build(
    plan: &Plan,
    bodies: Vec<Option<Cow<'_, Map<String, Value>>>>,
    live: &crate::model::State,
    dialect: &dyn Dialect,
) -> Result<Schedule, GraphError> {
    let by_id: HashMap<(Kind, &str), usize> =
        plan.changes.iter().enumerate().map(|(i, c)| ((c.kind, c.id.as_str()), i)).collect();
    let deleted =
        |kind: Kind, id: &str| by_id.get(&(kind, id)).copied().filter(|&i| plan.changes[i].action == Action::Delete);
    let created =
        |kind: Kind, id: &str| by_id.get(&(kind, id)).copied().filter(|&i| plan.changes[i].action == Action::Create);
    let mut edges: Vec<(usize, usize, EdgeKind)> = Vec::new();

    for (i, (c, body)) in plan.changes.iter().zip(&bodies).enumerate() {
        let refs_of = |parents: &BTreeMap<&'static str, String>,
                       body: Option<&Map<String, Value>>|
         -> Vec<(Kind, String)> {
            let mut out: Vec<(Kind, String)> =
                parents.iter().filter_map(|(f, id)| c.kind.foreign_key(f).map(|fk| (fk.parent, id.clone()))).collect();
            if let Some(body) = body {
                out.extend(dialect.body_refs(c.kind, body));
            }
            out
        };
        match c.action {
            Action::Create | Action::Update => {
                let new_refs = refs_of(&c.parents, body.as_deref());
                for (kind, id) in &new_refs {
                    if let Some(p) = created(*kind, id) {
                        edges.push((p, i, EdgeKind::Reference));
                    }
                }
                if c.action == Action::Update {
                    let live_body = c.before.as_ref();
                    for (kind, id) in refs_of(&c.live_parents, live_body) {
                        if new_refs.contains(&(kind, id.clone())) {
                            continue;
                        }
                        if let Some(d) = deleted(kind, &id) {
                            edges.push((i, d, EdgeKind::Reference));
                        }
                    }
                }
            }
            Action::Delete => {
                for (kind, id) in refs_of(&c.live_parents, c.before.as_ref()) {
                    if let Some(d) = deleted(kind, &id) {
                        edges.push((i, d, EdgeKind::Reference));
                    }
                }
            }
        }
    }

    unique::add_unique_edges(plan, &bodies, live, dialect, &by_id, &mut edges)?;

    let steps = plan
        .changes
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(i, (c, body))| Step { change: i, request: Arc::new(request_for(dialect, c, body)), finalize: false })
        .collect();
    let mut schedule = Schedule { steps, edges };
    break_cycles(plan, dialect, &mut schedule)?;
    Ok(schedule)
}

/// Splits acquiring steps until the graph is acyclic.
fn break_cycles(plan: &Plan, dialect: &dyn Dialect, schedule: &mut Schedule) -> Result<(), GraphError> {
    let mut finalize_of: HashMap<usize, usize> = HashMap::new();
    for _round in 0..=plan.changes.len() {
        let mut g = DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..schedule.steps.len()).map(|i| g.add_node(i)).collect();
        for (a, b, _) in &schedule.edges {
            g.add_edge(nodes[*a], nodes[*b], ());
        }
        if toposort(&g, None).is_ok() {
            return Ok(());
        }
        let mut progressed = false;
        for scc in tarjan_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            let members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
            let temporary = |step: usize, constraint: &str| {
                let c = &plan.changes[schedule.steps[step].change];
                let field = constraint.rsplit('.').next().unwrap_or_default();
                // The value the request writes (the change's body, as the dialect sent it).
                let sent = schedule.steps[step].request.body.as_ref();
                let real = sent.and_then(|b| b.get(field)).cloned().unwrap_or(Value::Null);
                dialect.temporary_value(c.kind, constraint, &real, &c.id).map(|t| (t, real))
            };
            let candidate = schedule
                .edges
                .iter()
                .enumerate()
                .filter(|(_, (a, b, k))| {
                    members.contains(a) && members.contains(b) && matches!(k, EdgeKind::Unique(..))
                })
                .filter_map(|(_, (_, b, k))| {
                    let EdgeKind::Unique(constraint, _) = k else { return None };
                    if schedule.steps[*b].finalize {
                        return None;
                    }
                    temporary(*b, constraint).map(|t| (*b, constraint.clone(), t))
                })
                .min_by_key(|(b, _, _)| *b);
            let Some((acquirer, constraint, ((field, temp), real))) = candidate else { continue };
            let change = schedule.steps[acquirer].change;
            let c = &plan.changes[change];
            let fin = match finalize_of.get(&acquirer) {
                Some(&f) => f,
                None => {
                    let f = schedule.steps.len();
                    let parents = write_parents(c);
                    let write = Write { action: c.action, kind: c.kind, id: &c.id, body: None, parents: &parents };
                    let mut request = dialect.finalize_request(write);
                    request.kind = Some(c.kind);
                    let request = Arc::new(request);
                    schedule.steps.push(Step { change, request, finalize: true });
                    schedule.edges.push((acquirer, f, EdgeKind::Reference));
                    finalize_of.insert(acquirer, f);
                    f
                }
            };
            if let Some(body) =
                Arc::make_mut(&mut schedule.steps[acquirer].request).body.as_mut().and_then(Value::as_object_mut)
            {
                body.insert(field.clone(), temp);
            }
            if let Some(body) =
                Arc::make_mut(&mut schedule.steps[fin].request).body.as_mut().and_then(Value::as_object_mut)
            {
                body.insert(field.clone(), real);
            }
            for edge in schedule.edges.iter_mut() {
                if edge.1 == acquirer && matches!(&edge.2, EdgeKind::Unique(cn, _) if *cn == constraint) {
                    edge.1 = fin;
                }
            }
            progressed = true;
            break;
        }
        if !progressed {
            let cycle = describe_cycle(plan, schedule, &g);
            return Err(GraphError::Cycle(cycle));
        }
    }
    Err(GraphError::Cycle("too many rounds".into()))
}

fn describe_cycle(plan: &Plan, schedule: &Schedule, g: &DiGraph<usize, ()>) -> String {
    tarjan_scc(g)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            scc.iter()
                .map(|n| {
                    let c = &plan.changes[schedule.steps[g[*n]].change];
                    format!("{} {} {}", format!("{:?}", c.action).to_lowercase(), c.kind.singular(), c.key)
                })
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
