//! The redactors of the runs in progress, for a long-running process whose log lines must be
//! scrubbed with the secrets of whichever run wrote them: a run registers its redactor when
//! it starts and the registration ends with it, so nothing outlives the runs it served.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Redactor;

/// A base redactor plus the redactors of the runs under way. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct ActiveRedactors {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    base: Redactor,
    runs: Mutex<Vec<(u64, Redactor)>>,
    next: AtomicU64,
}

/// A run's registration: dropping it removes the run's redactor.
#[derive(Debug)]
pub struct Registration {
    shared: Arc<Shared>,
    id: u64,
}

impl ActiveRedactors {
    /// Redactors over `base` (the process's own secrets: webhook secrets, variables).
    pub fn new(base: Redactor) -> Self {
        ActiveRedactors { inner: Arc::new(Shared { base, runs: Mutex::default(), next: AtomicU64::new(0) }) }
    }

    /// The base redactor.
    pub fn base(&self) -> &Redactor {
        &self.inner.base
    }

    /// Adds a run's redactor until the registration is dropped.
    pub fn register(&self, run: Redactor) -> Registration {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut runs) = self.inner.runs.lock() {
            runs.push((id, run));
        }
        Registration { shared: self.inner.clone(), id }
    }

    /// How many runs are registered.
    pub fn runs(&self) -> usize {
        self.inner.runs.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// `text` scrubbed with the base redactor and every run's.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = self.inner.base.scrub(text);
        if let Ok(runs) = self.inner.runs.lock() {
            for (_, r) in runs.iter() {
                out = r.scrub(&out);
            }
        }
        out
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut runs) = self.shared.runs.lock() {
            runs.retain(|(id, _)| *id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_s_secrets_are_scrubbed_while_it_runs_and_forgotten_after() {
        let base = Redactor::new();
        base.add(["webhook-secret-1"]);
        let active = ActiveRedactors::new(base.clone());
        let run = base.child();
        run.add(["run-secret-value"]);
        let registration = active.register(run.clone());
        assert_eq!(active.scrub("webhook-secret-1 run-secret-value"), "(sensitive value) (sensitive value)");
        assert_eq!(base.scrub("run-secret-value"), "run-secret-value", "the base does not grow");
        drop(registration);
        assert_eq!(active.runs(), 0);
        assert_eq!(active.scrub("run-secret-value"), "run-secret-value");
    }
}
