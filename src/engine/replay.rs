//! Disaster replay: make the gateway match a configuration, then prove it does by reading
//! the gateway again and planning once more: the replay is verified only when that fresh
//! plan is empty.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{DesiredInput, EngineError, Prepared, prepare};
use crate::apply::{ApplyReport, Event, apply};
use crate::kong::KongClient;
use crate::kong::schema::Schemas;
use crate::model::Kind;
use crate::plan::{Plan, Summary};

/// Why a replay could not run to its verification.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Reading the gateway or planning failed before anything was written.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The gateway runs without a database: its entities cannot be written one by one.
    #[error("the gateway runs without a database (DB-less): its entities cannot be written one by one")]
    DbLess,
}

/// The verification: the plan computed after the apply, from a fresh read of the gateway.
#[derive(Debug, Clone)]
pub enum Verification {
    /// The fresh plan is empty: the gateway matches the configuration.
    Holds,
    /// The fresh plan still has changes (shown to the user).
    Fails(Plan),
    /// The fresh plan could not be computed.
    Error(String),
}

impl Verification {
    /// Whether the gateway was shown to match.
    pub fn holds(&self) -> bool {
        matches!(self, Verification::Holds)
    }
}

/// Everything a replay did.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    /// What was read and planned before applying.
    pub prepared: Prepared,
    /// The outcome of every step.
    pub report: ApplyReport,
    /// Entities of the configuration, by kind: what the gateway holds once restored.
    pub restored: BTreeMap<Kind, usize>,
    /// Changes applied successfully, by action.
    pub applied: Summary,
    /// Wall time from the first read of the gateway to the end of the apply.
    pub restore_time: Duration,
    /// Wall time of the verification (read and plan again).
    pub verify_time: Duration,
    /// The verification.
    pub verification: Verification,
}

impl ReplayOutcome {
    /// Whether everything was applied and the verification holds.
    pub fn success(&self) -> bool {
        self.report.success() && self.verification.holds()
    }
}

/// Hooks for a front end to show progress.
pub trait ReplayObserver {
    /// The plan is known; nothing was written yet.
    fn planned(&mut self, _prepared: &Prepared) {}
    /// A step started, succeeded or failed.
    fn event(&mut self, _prepared: &Prepared, _event: Event) {}
    /// The apply is over; the verification starts.
    fn verifying(&mut self) {}
}

/// Counts the entities of `desired` by kind.
pub fn count_by_kind(desired: &DesiredInput) -> BTreeMap<Kind, usize> {
    let mut counts = BTreeMap::new();
    for e in &desired.state.entities {
        *counts.entry(e.kind).or_insert(0) += 1;
    }
    counts
}

/// Plans `desired` against the gateway, applies the plan with at most `parallelism`
/// requests in flight (no confirmation: a replay is a non-interactive recovery action),
/// then reads the gateway again and plans once more. The outcome holds the plan, what
/// was applied, how long it took and the verification; errors only when nothing could be
/// applied (the gateway could not be read or planned against, or it is DB-less).
pub async fn replay(
    client: &KongClient,
    desired: &DesiredInput,
    schemas: Schemas,
    parallelism: usize,
    observer: &mut dyn ReplayObserver,
) -> Result<ReplayOutcome, ReplayError> {
    let started = Instant::now();
    let prepared = prepare(client, desired, schemas.clone()).await?;
    if prepared.live.info.db_less && !prepared.plan.is_empty() {
        return Err(ReplayError::DbLess);
    }
    observer.planned(&prepared);
    let report = {
        let mut on_event = |e: Event| observer.event(&prepared, e);
        apply(client, &prepared.schedule, parallelism, &mut on_event).await
    };
    let restore_time = started.elapsed();
    let (add, change, destroy) = report.counts(&prepared.plan, &prepared.schedule);
    observer.verifying();
    let verify_started = Instant::now();
    let verification = match prepare(client, desired, schemas).await {
        Ok(again) if again.plan.is_empty() => Verification::Holds,
        Ok(again) => Verification::Fails(again.plan),
        Err(e) => Verification::Error(e.to_string()),
    };
    Ok(ReplayOutcome {
        restored: count_by_kind(desired),
        applied: Summary { add, change, destroy },
        report,
        prepared,
        restore_time,
        verify_time: verify_started.elapsed(),
        verification,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap as Map;

    use super::*;
    use crate::kong::ClientConfig;
    use crate::kong::sandbox::{FaultRule, SandboxOptions};
    use crate::source::{Input, LoadOptions, load};

    fn desired(text: &str) -> DesiredInput {
        let d = load(&[Input::new("kong.yaml", text)], &LoadOptions::default()).unwrap();
        DesiredInput {
            state: d.state,
            select_tags: d.select_tags,
            lookup_tags: d.lookup_tags,
            secret_fields: d.env_fields,
        }
    }

    #[derive(Default)]
    struct Seen {
        planned: usize,
        events: usize,
        verifying: bool,
    }

    impl ReplayObserver for Seen {
        fn planned(&mut self, p: &Prepared) {
            self.planned = p.plan.changes.len();
        }
        fn event(&mut self, _: &Prepared, _: Event) {
            self.events += 1;
        }
        fn verifying(&mut self) {
            self.verifying = true;
        }
    }

    const CONFIG: &str = "_format_version: \"3.0\"\nservices:\n  - name: a\n    host: a.internal\n    routes:\n      - name: ra\n        paths: [/a]\nconsumers:\n  - username: u\n";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replay_applies_then_verifies() {
        let sandbox = crate::kong::sandbox::start(SandboxOptions::default()).await.unwrap();
        let client = KongClient::new(ClientConfig::new(sandbox.url())).unwrap();
        let want = desired(CONFIG);
        let mut seen = Seen::default();
        let out = replay(&client, &want, Schemas::bundled().clone(), 4, &mut seen).await.unwrap();
        assert!(out.success(), "{:?}", out.verification);
        assert_eq!(out.applied, Summary { add: 3, change: 0, destroy: 0 });
        assert_eq!(out.restored, Map::from([(Kind::Service, 1), (Kind::Route, 1), (Kind::Consumer, 1)]));
        assert_eq!((seen.planned, seen.verifying), (3, true));
        assert!(seen.events >= 6, "started and applied per step: {}", seen.events);

        // A refused write: the apply fails and the verification shows what is left.
        sandbox.inject_fault(FaultRule {
            method: Some("PUT".into()),
            path: "/consumers/*".into(),
            status: Some(400),
            body: Some(serde_json::json!({"message": "refused"})),
            headers: Map::new(),
            times: None,
            delay_ms: 0,
        });
        let changed = desired(&CONFIG.replace("username: u", "username: v"));
        let out = replay(&client, &changed, Schemas::bundled().clone(), 4, &mut Seen::default()).await.unwrap();
        assert!(!out.success());
        let Verification::Fails(left) = &out.verification else { panic!("{:?}", out.verification) };
        assert!(left.changes.iter().any(|c| c.kind == Kind::Consumer), "{left:?}");
        sandbox.shutdown().await;
    }
}
