//! The walker against a scripted executor: containment, upstream failures, fail-fast,
//! cancellation and parallelism.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::gateway::HttpError;
use crate::graph::{EdgeKind, Step};

/// Fails the requests whose path is listed; records what was sent; waits `delay` per call.
struct Script {
    fail: Vec<&'static str>,
    sent: Mutex<Vec<String>>,
    delay: Duration,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    cancel_on: Option<(&'static str, CancellationToken)>,
}

impl Script {
    fn new(fail: &[&'static str]) -> Script {
        Script {
            fail: fail.to_vec(),
            sent: Mutex::default(),
            delay: Duration::ZERO,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            cancel_on: None,
        }
    }

    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Executor for Script {
    async fn execute(&self, request: &Request) -> Result<(), StepError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.sent.lock().unwrap().push(request.path.clone());
        if let Some((path, token)) = &self.cancel_on
            && request.path == *path
        {
            token.cancel();
        }
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail.contains(&request.path.as_str()) {
            let body = serde_json::json!({"message": "refused"});
            return Err(HttpError::Api { method: "PUT".into(), path: request.path.clone(), status: 400, body });
        }
        Ok(())
    }
}

/// Steps named by path, one change each, with `(before, after)` edges.
fn schedule(paths: &[&str], edges: &[(usize, usize)]) -> Schedule {
    let steps = paths
        .iter()
        .enumerate()
        .map(|(i, p)| Step {
            change: i,
            request: Arc::new(Request::new("PUT", (*p).to_owned(), None)),
            finalize: false,
        })
        .collect();
    Schedule { steps, edges: edges.iter().map(|(a, b)| (*a, *b, EdgeKind::Reference)).collect() }
}

async fn run(script: Arc<Script>, s: &Schedule, opts: &ApplyOptions) -> (ApplyReport, Vec<String>) {
    let mut events = Vec::new();
    let report = apply(script.clone(), s, opts, &mut |e| {
        events.push(match e {
            Event::Started { step } => format!("start {step}"),
            Event::Applied { step, .. } => format!("applied {step}"),
            Event::Failed { step, failure } => format!("failed {step} {:?}", failure.status()),
            Event::Skipped { step, cause } => format!("skipped {step} because {cause}"),
        })
    })
    .await;
    (report, events)
}

// Three independent services (0, 1, 2), each with a route (3, 4, 5) that depends on it, and
// a plugin (6) on route 4.
fn three_branches() -> Schedule {
    schedule(
        &["/services/a", "/services/b", "/services/c", "/routes/a", "/routes/b", "/routes/c", "/plugins/b"],
        &[(0, 3), (1, 4), (2, 5), (4, 6)],
    )
}

#[tokio::test]
async fn a_failure_skips_its_dependents_and_lets_independent_branches_go_on() {
    let script = Arc::new(Script::new(&["/services/b"]));
    let (report, events) = run(script.clone(), &three_branches(), &ApplyOptions::default()).await;
    use StepOutcome::*;
    assert_eq!(report.steps[0], Applied);
    assert_eq!(report.steps[2], Applied);
    assert_eq!(report.steps[3], Applied);
    assert_eq!(report.steps[5], Applied);
    assert!(matches!(&report.steps[1], Failed(f) if f.status() == Some(400)), "{:?}", report.steps[1]);
    assert_eq!(report.steps[4], UpstreamFailed { cause: 1 });
    assert_eq!(report.steps[6], UpstreamFailed { cause: 1 }, "transitive dependents name the root failure");
    let sent = script.sent();
    assert!(!sent.contains(&"/routes/b".to_owned()) && !sent.contains(&"/plugins/b".to_owned()), "{sent:?}");
    assert!(events.contains(&"skipped 4 because 1".to_owned()), "{events:?}");
    assert!(events.contains(&"skipped 6 because 1".to_owned()), "{events:?}");
    assert!(!report.success());
}

#[tokio::test]
async fn fail_fast_starts_nothing_after_the_first_failure() {
    let script = Arc::new(Script::new(&["/services/a"]));
    let opts = ApplyOptions { parallelism: 1, fail_fast: true, ..ApplyOptions::default() };
    let (report, _) = run(script.clone(), &three_branches(), &opts).await;
    assert_eq!(script.sent(), ["/services/a"], "one request, then nothing");
    assert_eq!(report.steps[3], StepOutcome::UpstreamFailed { cause: 0 });
    for i in [1, 2, 4, 5, 6] {
        assert_eq!(report.steps[i], StepOutcome::NotAttempted, "step {i}");
    }
}

#[tokio::test]
async fn cancellation_lets_running_requests_finish_and_starts_nothing_new() {
    let token = CancellationToken::new();
    let mut script = Script::new(&[]);
    script.cancel_on = Some(("/services/b", token.clone()));
    let script = Arc::new(script);
    let opts = ApplyOptions { parallelism: 1, fail_fast: false, cancel: token };
    let (report, _) = run(script.clone(), &three_branches(), &opts).await;
    assert_eq!(script.sent(), ["/services/a", "/services/b"]);
    assert_eq!(report.steps[1], StepOutcome::Applied, "the request in flight when cancelled finished");
    assert!(report.cancelled);
    let not_attempted = report.steps.iter().filter(|s| **s == StepOutcome::NotAttempted).count();
    assert_eq!(not_attempted, 5);
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_the_requests_in_flight() {
    let mut script = Script::new(&[]);
    script.delay = Duration::from_millis(100);
    let script = Arc::new(script);
    let paths: Vec<String> = (0..20).map(|i| format!("/services/{i}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let s = schedule(&refs, &[]);
    let opts = ApplyOptions { parallelism: 4, ..ApplyOptions::default() };
    let (report, _) = run(script.clone(), &s, &opts).await;
    assert!(report.success());
    assert_eq!(script.peak.load(Ordering::SeqCst), 4);
    assert_eq!(report.elapsed, Duration::from_millis(500), "5 waves of 4 under paused time");
}

#[tokio::test]
async fn change_outcomes_name_the_failed_change() {
    let script = Arc::new(Script::new(&["/services/b"]));
    let s = three_branches();
    let (report, _) = run(script, &s, &ApplyOptions::default()).await;
    let plan = crate::plan::Plan {
        changes: (0..7).map(|_| crate::plan::tests_support::change()).collect(),
        ..Default::default()
    };
    let outcomes = report.changes(&plan, &s);
    assert_eq!(outcomes[6], ChangeOutcome::UpstreamFailed { cause: 1 });
    assert_eq!(report.outcome_counts(&plan, &s), ChangeCounts { applied: 4, failed: 1, not_attempted: 2 });
}
