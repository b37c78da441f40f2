//! Disaster-recovery drills: a Git revision (a release tag) is replayed onto an empty
//! rehearsal gateway and verified, which measures the recovery time (RTO: from the start of
//! the drill to a verified restore); and the live environment is planned against the same
//! revision, which measures the recovery-point exposure (RPO): the changes on the live
//! gateway that a restore would lose, and, from the ledger, since when they can have
//! existed (the last time a run made the environment match Git).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::node::NodeOutcome;
use super::replay::{count_by_kind, restored};
use super::run::{Mode, Reconciler, RunOutcome};
use super::survey::{NodeDrift, Survey};
use super::target::Connection;
use super::{EngineError, Observer};
use crate::gateway::Scope;
use crate::ledger::{AnyLedger, Ledger, RunRecord, now_ms, parse_time};
use crate::model::Kind;
use crate::plan::{Action, Verification};
use crate::secrets::Redactor;
use crate::source::Source;

/// What a drill needs besides the rehearsal's reconciler.
pub struct DrillRequest<'a> {
    /// The revision's configuration.
    pub source: Source,
    /// When the drill started (before the revision was read): the start of the RTO.
    pub started: Instant,
    /// The live environment, to measure the RPO exposure against (none: not measured).
    pub live: Option<&'a Reconciler>,
    /// The ledger holding the live environment's runs.
    pub ledger: Option<&'a AnyLedger>,
    /// The recovery-time objective, if one is set.
    pub objective: Option<Duration>,
}

/// The result of a drill.
pub struct Drill {
    /// The replay onto the rehearsal gateway (its session is closed).
    pub replay: ReplayFacts,
    /// Measured time from the start of the drill to the end of the verification.
    pub rto: Duration,
    /// The objective, if one is set.
    pub objective: Option<Duration>,
    /// What a restore of the revision would lose on the live environment.
    pub exposure: Option<Exposure>,
}

impl Drill {
    /// Whether the restore was verified.
    pub fn verified(&self) -> bool {
        self.replay.result_ok
    }

    /// Whether the RTO objective is met (`true` without one).
    pub fn objective_met(&self) -> bool {
        self.objective.is_none_or(|o| self.rto <= o)
    }

    /// Whether the drill passes: verified, within its objective.
    pub fn success(&self) -> bool {
        self.verified() && self.objective_met()
    }
}

/// What the replay onto the rehearsal did, kept once its session is closed.
pub struct ReplayFacts {
    /// The rehearsal's address (the in-process sandbox's, for `sandbox`).
    pub address: String,
    /// Whether it was an in-process sandbox started for the drill.
    pub sandbox: bool,
    /// The product and version the rehearsal reported (`Kong 3.9.3`).
    pub product: String,
    /// Entities of the revision, by kind.
    pub desired: BTreeMap<Kind, usize>,
    /// Entities actually restored, by kind.
    pub restored: BTreeMap<Kind, usize>,
    /// Changes applied / failed / not attempted.
    pub counts: crate::apply::ChangeCounts,
    /// Time the apply took (from the first read of the rehearsal).
    pub restore_time: Duration,
    /// The verification and how long it took.
    pub verification: Option<(Verification, Duration)>,
    /// The nodes, for a rehearsal of several.
    pub nodes: Vec<NodeOutcome>,
    /// Whether the run succeeded (applied and verified).
    pub result_ok: bool,
    /// Why it did not.
    pub message: Option<String>,
}

/// One change a restore would make on a live node: `(action, kind, label)`.
pub type LiveChange = (Action, Kind, String);

/// One live node: its address and its changes, or why it could not be read.
pub type NodeExposure = (String, Result<Vec<LiveChange>, String>);

/// The live environment against the revision.
pub struct Exposure {
    /// How messages name it (`the environment "prod"`).
    pub label: String,
    /// Per node: its address and its changes `(action, kind, label)`, or why it could not
    /// be read.
    pub nodes: Vec<NodeExposure>,
    /// Live entities a restore would change or delete: state only the live side has.
    pub lost: usize,
    /// Entities of the revision the live side lacks (a restore brings them back).
    pub missing: usize,
    /// The last run that made the environment match Git, when the ledger has one.
    pub since: Option<RunRecord>,
    /// How long the drift can have existed: from the end of that run to now (an upper
    /// bound; `None` without drift or without such a run).
    pub age: Option<Duration>,
}

impl Reconciler {
    /// Replays `req.source` onto this reconciler's (empty) target and verifies it, then
    /// measures the live environment's exposure. Fails before writing when a rehearsal
    /// gateway that is not the in-process sandbox holds anything.
    pub async fn drill(
        &self,
        req: DrillRequest<'_>,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<Drill, EngineError> {
        if !self.target.is_sandbox() {
            self.check_empty(&req.source).await?;
        }
        let outcome = self.run(req.source.clone(), Mode::Replay, None, redactor, observer).await?;
        let rto = req.started.elapsed();
        let replay = facts(outcome).await;
        let exposure = match req.live {
            Some(live) => Some(exposure(live, req.source, req.ledger, redactor, observer).await?),
            None => None,
        };
        Ok(Drill { replay, rto, objective: req.objective, exposure })
    }

    /// Refuses a rehearsal gateway that holds entities: a drill measures a restore from
    /// nothing, and would overwrite what is there.
    async fn check_empty(&self, source: &Source) -> Result<(), EngineError> {
        for target in
            std::iter::once(self.target.clone()).chain(self.target.nodes.others.iter().map(|a| self.target.node(a)))
        {
            let connection = Connection::open(&target, &source.inputs).await?;
            let live = connection.session.read(&Scope::default()).await;
            connection.close().await;
            let held = live?.state.entities.len();
            if held > 0 {
                return Err(EngineError::Refused(format!(
                    "the rehearsal gateway {} is not empty: it holds {held} entities. A drill restores onto an empty \
                     gateway (its time is the time of a restore from nothing, and it overwrites what is there).\n\
                     hint: use --rehearsal sandbox, or empty that gateway first",
                    target.address()
                )));
            }
        }
        Ok(())
    }
}

/// The facts of a replay, and its session closed.
async fn facts(outcome: RunOutcome) -> ReplayFacts {
    let p = &outcome.planned;
    let verification = outcome.verification.clone();
    let restored = match &verification {
        Some((v, _)) => restored(p, outcome.applied.as_ref(), v),
        None => BTreeMap::new(),
    };
    let facts = ReplayFacts {
        address: p.connection.session.url().trim_end_matches('/').to_owned(),
        sandbox: p.connection.sandbox.is_some(),
        product: p.product(),
        desired: count_by_kind(&p.desired),
        restored,
        counts: outcome.applied.as_ref().map(|a| a.counts).unwrap_or_default(),
        restore_time: outcome.applied.as_ref().map(|a| a.elapsed).unwrap_or_default(),
        verification,
        nodes: outcome.nodes.clone(),
        result_ok: outcome.success(),
        message: outcome.message.clone(),
    };
    outcome.planned.close().await;
    facts
}

/// Plans the revision against every node of the live environment and reads its ledger. A
/// live environment that cannot be read is reported in the exposure, not as a failure of
/// the drill; a ledger that cannot be read is an error.
async fn exposure(
    live: &Reconciler,
    source: Source,
    ledger: Option<&AnyLedger>,
    redactor: &Redactor,
    observer: &mut dyn Observer,
) -> Result<Exposure, EngineError> {
    let (label, key) = (live.target.label(), live.target.key());
    let nodes = match live.survey(source, redactor, observer).await {
        Ok(Survey { planned, nodes }) => {
            planned.close().await;
            nodes
        }
        Err(e) => vec![NodeDrift {
            address: live.target.address(),
            plan: Err(format!("cannot be planned: {e}")),
            fingerprint: None,
            served: None,
            differs_from_first: Vec::new(),
        }],
    };
    let per_node: Vec<NodeExposure> = nodes
        .into_iter()
        .map(|n| (n.address, n.plan.map(|p| p.changes.iter().map(|c| (c.action, c.kind, c.key.clone())).collect())))
        .collect();
    // The node that would lose the most decides.
    let split = |c: &Vec<LiveChange>| {
        let lost = c.iter().filter(|c| c.0 != Action::Create).count();
        (lost, c.len() - lost)
    };
    let worst = per_node.iter().filter_map(|(_, c)| c.as_ref().ok()).map(split).max_by_key(|(l, m)| (*l, *m));
    let (lost, missing) = worst.unwrap_or((0, 0));
    let since = match ledger {
        Some(l) => l.live_at(&key, now_ms()).await?.run,
        None => None,
    };
    let drifted = per_node.iter().any(|(_, c)| c.as_ref().is_ok_and(|c| !c.is_empty()));
    let age = since
        .as_ref()
        .filter(|_| drifted)
        .and_then(|r| r.finished_at.as_deref())
        .and_then(|t| parse_time(t).ok())
        .map(|ms| Duration::from_millis(now_ms().saturating_sub(ms).max(0) as u64));
    Ok(Exposure { label, nodes: per_node, lost, missing, since, age })
}
