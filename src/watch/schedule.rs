//! When the next iteration runs: the [`Action`] an iteration returns (kube-rs's
//! `Action::requeue` shape), poll jitter, and the failure backoff. Pure functions of their
//! inputs, so the loop's timing is testable without clocks.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// First wait after a failure: 5 s (Argo CD's sync retry default backoff duration).
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Longest wait after failures: 5 minutes.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// What an iteration of the reconcile loop asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run again after this long, or sooner when woken (webhook, resume).
    Requeue(Duration),
    /// Run again only when woken (a suspended environment).
    AwaitChange,
}

impl Action {
    /// Run again after `after`.
    pub fn requeue(after: Duration) -> Action {
        Action::Requeue(after)
    }

    /// Run again when woken only.
    pub fn await_change() -> Action {
        Action::AwaitChange
    }

    /// The wait, if any.
    pub fn after(self) -> Option<Duration> {
        match self {
            Action::Requeue(d) => Some(d),
            Action::AwaitChange => None,
        }
    }
}

/// The wait after `failures` consecutive failures (1 = the first): 5 s, 10 s, 20 s, ...
/// doubling up to 5 minutes. 0 failures: no wait.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u64.checked_shl(failures.saturating_sub(1).min(32)).unwrap_or(u64::MAX);
    BACKOFF_BASE.checked_mul(u32::try_from(factor).unwrap_or(u32::MAX)).unwrap_or(BACKOFF_CAP).min(BACKOFF_CAP)
}

/// Random jitter for poll waits: `interval × (1 ± fraction)`, uniformly.
#[derive(Debug)]
pub struct Jitter {
    rng: StdRng,
}

impl Jitter {
    /// Seeded from the operating system.
    pub fn new() -> Self {
        Jitter { rng: StdRng::from_os_rng() }
    }

    /// Seeded with `seed` (reproducible sequences, for tests).
    pub fn seeded(seed: u64) -> Self {
        Jitter { rng: StdRng::seed_from_u64(seed) }
    }

    /// `interval` scaled by a random factor in `[1 - fraction, 1 + fraction]` (`fraction`
    /// clamped to 0–0.5), never under one millisecond.
    pub fn apply(&mut self, interval: Duration, fraction: f64) -> Duration {
        let f = fraction.clamp(0.0, 0.5);
        if f == 0.0 {
            return interval;
        }
        let factor = self.rng.random_range(1.0 - f..=1.0 + f);
        interval.mul_f64(factor).max(Duration::from_millis(1))
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let secs: Vec<u64> = (0..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![0, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_varies() {
        let mut j = Jitter::seeded(7);
        let waits: Vec<Duration> = (0..200).map(|_| j.apply(Duration::from_secs(60), 0.1)).collect();
        assert!(waits.iter().all(|w| *w >= Duration::from_secs(54) && *w <= Duration::from_secs(66)), "{waits:?}");
        let below = waits.iter().filter(|w| **w < Duration::from_secs(60)).count();
        assert!(below > 50 && below < 150, "both sides of the interval are used: {below} of 200 below");
        assert_eq!(Jitter::seeded(1).apply(Duration::from_secs(60), 0.0), Duration::from_secs(60));
        assert!(j.apply(Duration::from_secs(10), 5.0) <= Duration::from_secs(15), "fraction clamped to 50%");
    }
}
