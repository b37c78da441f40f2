//! A scripted [`Target`]: a branch (a lineage of commits), a gateway that remembers the
//! commit applied and its drift, injectable failures, and a log of every call with its
//! (tokio) time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::watch::target::{Applied, Commit, ErrorKind, Planned, Target, TargetError};

/// One call to the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Head,
    Plan(String),
    Apply(String),
    ApplyDone(String),
}

/// A commit's plan against a gateway that does not hold it yet.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub add: usize,
    pub destroy: usize,
    pub live: usize,
    pub desired: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape { add: 1, destroy: 0, live: 10, desired: 11 }
    }
}

#[derive(Debug, Default)]
pub struct State {
    /// The branch, oldest first; the head is the last.
    pub lineage: Vec<String>,
    pub fetch_error: bool,
    pub plan_error: bool,
    pub apply_error: bool,
    /// Changes the next apply leaves failed (a partial apply).
    pub partial: usize,
    pub apply_takes: Duration,
    pub shapes: HashMap<String, Shape>,
    /// The gateway: the commit it holds, and entities changed by hand since.
    pub applied: Option<String>,
    pub drift: usize,
    pub calls: Vec<(Duration, Call)>,
    pub runs: i64,
}

pub struct Fake {
    name: String,
    start: Instant,
    pub state: Mutex<State>,
}

pub fn commit(id: &str) -> Commit {
    Commit {
        id: id.to_owned(),
        subject: format!("subject of {id}"),
        author: "Jane <j@example.com>".into(),
        date: "2026-11-01T12:00:00Z".into(),
    }
}

impl Fake {
    pub fn new(name: &str, head: &str) -> Arc<Fake> {
        let state = State { lineage: vec![head.to_owned()], ..State::default() };
        Arc::new(Fake { name: name.to_owned(), start: Instant::now(), state: Mutex::new(state) })
    }

    pub fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }

    /// Pushes a commit on the branch.
    pub fn push(&self, id: &str) {
        self.with(|s| s.lineage.push(id.to_owned()));
    }

    /// Seconds since the fake was made, of every call matching `want`.
    pub fn times(&self, want: impl Fn(&Call) -> bool) -> Vec<f64> {
        let s = self.state.lock().unwrap();
        s.calls.iter().filter(|(_, c)| want(c)).map(|(t, _)| t.as_secs_f64()).collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.iter().map(|(_, c)| c.clone()).collect()
    }

    pub fn applied(&self) -> Option<String> {
        self.state.lock().unwrap().applied.clone()
    }

    fn log(&self, call: Call) {
        let t = self.start.elapsed();
        self.state.lock().unwrap().calls.push((t, call));
    }
}

#[async_trait::async_trait]
impl Target for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    async fn head(&self) -> Result<Commit, TargetError> {
        self.log(Call::Head);
        let s = self.state.lock().unwrap();
        if s.fetch_error {
            return Err(TargetError::new(ErrorKind::Fetch, "cannot fetch origin"));
        }
        Ok(commit(s.lineage.last().map(String::as_str).unwrap_or("none")))
    }

    async fn descends(&self, c: &str, ancestor: &str) -> Result<bool, TargetError> {
        let s = self.state.lock().unwrap();
        let pos = |id: &str| s.lineage.iter().position(|x| x == id);
        Ok(matches!((pos(c), pos(ancestor)), (Some(a), Some(b)) if a >= b))
    }

    async fn plan(&self, c: &Commit) -> Result<Planned, TargetError> {
        self.log(Call::Plan(c.id.clone()));
        let s = self.state.lock().unwrap();
        if s.plan_error {
            return Err(TargetError::new(ErrorKind::Gateway, "cannot reach the gateway: connection refused"));
        }
        let (add, change, destroy, live, desired) = if s.applied.as_deref() == Some(&c.id) {
            (0, s.drift, 0, 10, 10)
        } else {
            let sh = s.shapes.get(&c.id).copied().unwrap_or_default();
            (sh.add, s.drift, sh.destroy, sh.live, sh.desired)
        };
        Ok(Planned {
            commit: c.clone(),
            add,
            change,
            destroy,
            other_nodes: 0,
            live_entities: live,
            desired_entities: desired,
            digest: format!("{}-{add}-{change}-{destroy}", c.id),
            engine: Box::new(c.id.clone()),
        })
    }

    async fn apply(&self, planned: Planned, cancel: CancellationToken) -> Result<Applied, TargetError> {
        let n = planned.changes();
        let id = *planned.engine.downcast::<String>().map_err(|_| TargetError::new(ErrorKind::Other, "not my plan"))?;
        let (takes, error) = {
            let s = self.state.lock().unwrap();
            (s.apply_takes, s.apply_error)
        };
        if error {
            return Err(TargetError::new(ErrorKind::Locked, "the environment is locked by pid 42"));
        }
        self.log(Call::Apply(id.clone()));
        let cancelled = tokio::select! {
            _ = tokio::time::sleep(takes) => false,
            _ = cancel.cancelled() => true,
        };
        self.log(Call::ApplyDone(id.clone()));
        let mut s = self.state.lock().unwrap();
        s.runs += 1;
        let failed = std::mem::take(&mut s.partial);
        if !cancelled && failed == 0 {
            s.applied = Some(id);
            s.drift = 0;
        }
        Ok(Applied {
            run_id: s.runs,
            applied: n.saturating_sub(failed),
            failed,
            not_attempted: 0,
            cancelled,
            message: (failed > 0).then(|| format!("{failed} change(s) failed")),
            nodes: Vec::new(),
        })
    }
}
