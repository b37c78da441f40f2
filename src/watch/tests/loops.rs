//! The reconcile loop's timing and decisions, under paused time.

use std::time::Duration;

use super::fake::{Call, Fake, Shape};
use super::{policy, start, wait};
use crate::source::environments::{DriftMode, MaxDestroy, WatchPolicy};
use crate::watch::daemon::{DaemonOptions, Shutdown};
use crate::watch::status::SyncStatus;

fn is_head(c: &Call) -> bool {
    *c == Call::Head
}

fn plans_of(id: &'static str) -> impl Fn(&Call) -> bool {
    move |c| *c == Call::Plan(id.to_owned())
}

fn applies_of(id: &'static str) -> impl Fn(&Call) -> bool {
    move |c| *c == Call::Apply(id.to_owned())
}

#[tokio::test(start_paused = true)]
async fn the_head_is_applied_at_once_then_polled_with_jitter() {
    let fake = Fake::new("prod", "c1");
    let p = WatchPolicy {
        poll_interval: Duration::from_secs(60),
        jitter: 0.1,
        drift_interval: Duration::from_secs(86_400),
        ..WatchPolicy::default()
    };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(1800.0).await;
    assert_eq!(fake.times(applies_of("c1")), vec![0.0], "applied once, at start");
    let heads = fake.times(is_head);
    let gaps: Vec<f64> = heads.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 27, "about 30 polls in 30 minutes: {gaps:?}");
    assert!(gaps.iter().all(|g| (54.0..=66.0).contains(g)), "each wait is 60 s ± 10%: {gaps:?}");
    assert!(gaps.iter().any(|g| *g < 59.0) && gaps.iter().any(|g| *g > 61.0), "the waits vary: {gaps:?}");
    let s = d.handle(0).snapshot();
    assert_eq!(s.sync_status, SyncStatus::Synced);
    assert_eq!(s.last_applied.as_ref().map(|a| a.commit.id.as_str()), Some("c1"));
    assert!(s.first_poll_done);
    assert_eq!(d.stop().await, Shutdown::Clean);
}

#[tokio::test(start_paused = true)]
async fn a_pushed_commit_is_applied_within_one_poll() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(60))], DaemonOptions::default());
    wait(100.0).await;
    fake.push("c2");
    wait(100.0).await;
    assert_eq!(fake.times(applies_of("c2")), vec![120.0], "applied at the next poll");
    assert_eq!(fake.applied().as_deref(), Some("c2"));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn drift_is_corrected_on_the_drift_interval() {
    let fake = Fake::new("prod", "c1");
    let p = WatchPolicy { drift_interval: Duration::from_secs(300), ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(10.0).await;
    fake.with(|s| s.drift = 3);
    wait(320.0).await;
    assert_eq!(fake.times(plans_of("c1")), vec![0.0, 300.0], "planned again after 5 minutes, not on every poll");
    assert_eq!(fake.times(applies_of("c1")), vec![0.0, 300.0], "and healed");
    assert_eq!(fake.state.lock().unwrap().drift, 0);
    assert_eq!(d.handle(0).snapshot().sync_status, SyncStatus::Synced);
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn drift_is_only_reported_in_warn_mode() {
    let fake = Fake::new("prod", "c1");
    let p = WatchPolicy { drift: DriftMode::Warn, drift_interval: Duration::from_secs(120), ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(10.0).await;
    fake.with(|s| s.drift = 4);
    wait(250.0).await;
    assert_eq!(fake.times(plans_of("c1")), vec![0.0, 120.0, 240.0]);
    assert_eq!(fake.times(applies_of("c1")), vec![0.0], "never corrected");
    let s = d.handle(0).snapshot();
    assert_eq!((s.sync_status, s.drift_entities), (SyncStatus::OutOfSync, 4));
    assert_eq!(s.last_attempted.map(|a| a.result), Some("drift_reported"));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_a_new_commit_cuts_the_wait_short() {
    let fake = Fake::new("prod", "c1");
    fake.with(|s| s.plan_error = true);
    let d = start(vec![(fake.clone(), policy(60))], DaemonOptions::default());
    wait(400.0).await;
    // 5, 10, 20, 40, 80, 160, then 300 s (the cap).
    assert_eq!(fake.times(plans_of("c1")), vec![0.0, 5.0, 15.0, 35.0, 75.0, 155.0, 315.0]);
    let s = d.handle(0).snapshot();
    assert_eq!((s.sync_status, s.consecutive_failures), (SyncStatus::Failed, 7));
    assert_eq!(s.last_error.as_ref().map(|e| e.kind.as_str()), Some("gateway"));
    // Polls go on during the backoff; a new commit is planned at the next poll (435 s),
    // not when the 300 s backoff ends (615 s).
    fake.with(|s| s.plan_error = false);
    fake.push("c2");
    wait(100.0).await;
    assert_eq!(fake.times(plans_of("c2")), vec![435.0]);
    assert_eq!(fake.times(applies_of("c2")), vec![435.0]);
    let s = d.handle(0).snapshot();
    assert_eq!((s.sync_status, s.consecutive_failures, s.last_error), (SyncStatus::Synced, 0, None));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_drift_correction_is_retried_with_backoff() {
    let fake = Fake::new("prod", "c1");
    let p = WatchPolicy { drift_interval: Duration::from_secs(100), ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(10.0).await;
    fake.with(|s| {
        s.drift = 2;
        s.apply_error = true;
    });
    wait(130.0).await;
    assert_eq!(fake.times(plans_of("c1")), vec![0.0, 100.0, 105.0, 115.0, 135.0]);
    fake.with(|s| s.apply_error = false);
    wait(60.0).await;
    assert_eq!(fake.times(applies_of("c1")), vec![0.0, 175.0], "healed at the next retry");
    assert_eq!(d.handle(0).snapshot().sync_status, SyncStatus::Synced);
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn guards_refuse_and_the_next_good_commit_is_applied() {
    let fake = Fake::new("prod", "c1");
    fake.with(|s| {
        s.shapes.insert("c2".into(), Shape { add: 0, destroy: 60, live: 100, desired: 40 });
        s.shapes.insert("c3".into(), Shape { add: 0, destroy: 10, live: 10, desired: 0 });
        s.shapes.insert("c4".into(), Shape { add: 1, destroy: 5, live: 100, desired: 96 });
    });
    let p = WatchPolicy { max_destroy: MaxDestroy::Percent(50), ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(1.0).await;
    fake.push("c2");
    wait(120.0).await;
    assert_eq!(fake.times(plans_of("c2")), vec![60.0], "refused once, not planned again on every poll");
    assert!(fake.times(applies_of("c2")).is_empty());
    let s = d.handle(0).snapshot();
    assert_eq!(s.sync_status, SyncStatus::OutOfSync);
    let e = s.last_error.unwrap();
    assert_eq!(e.kind, "guard");
    assert!(e.message.contains("destroy 60 entities, more than max_destroy = 50% allows (50 of 100"), "{}", e.message);
    fake.push("c3");
    wait(60.0).await;
    let why = d.handle(0).snapshot().last_error.unwrap().message;
    assert!(why.contains("every entity in scope (10 of 10)"), "{why}");
    fake.push("c4");
    wait(60.0).await;
    assert_eq!(fake.applied().as_deref(), Some("c4"));
    let s = d.handle(0).snapshot();
    assert_eq!((s.sync_status, s.last_error), (SyncStatus::Synced, None));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_rewind_is_counted_and_followed() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(60))], DaemonOptions::default());
    wait(1.0).await;
    fake.push("c2");
    wait(60.0).await;
    fake.with(|s| s.lineage = vec!["c1".into(), "c2b".into()]);
    wait(60.0).await;
    assert_eq!(fake.applied().as_deref(), Some("c2b"));
    assert_eq!(d.handle(0).snapshot().rewinds, 1);
    fake.push("c3");
    wait(60.0).await;
    assert_eq!(d.handle(0).snapshot().rewinds, 1, "a fast-forward is no rewind");
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn suspended_environments_do_nothing_until_resumed() {
    let fake = Fake::new("prod", "c1");
    let p = WatchPolicy { suspend: true, ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    wait(600.0).await;
    assert!(fake.calls().is_empty(), "not even fetched: {:?}", fake.calls());
    assert_eq!(d.handle(0).snapshot().sync_status, SyncStatus::Suspended);
    d.handle(0).set_suspended(false);
    wait(0.5).await;
    assert_eq!(fake.times(applies_of("c1")), vec![600.0], "resuming wakes the loop at once");
    d.handle(0).set_suspended(true);
    fake.push("c2");
    wait(600.0).await;
    assert_eq!(fake.applied().as_deref(), Some("c1"));
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn two_environments_on_different_intervals_run_independently() {
    let fast = Fake::new("staging", "c1");
    let slow = Fake::new("prod", "c1");
    fast.with(|s| s.fetch_error = true);
    let d = start(vec![(fast.clone(), policy(30)), (slow.clone(), policy(120))], DaemonOptions::default());
    wait(30.0).await;
    fast.with(|s| s.fetch_error = false);
    wait(560.0).await;
    let slow_heads = slow.times(|c| *c == Call::Head);
    assert_eq!(slow_heads, vec![0.0, 120.0, 240.0, 360.0, 480.0], "prod polls every 2 minutes");
    let fast_heads = fast.times(|c| *c == Call::Head);
    // Fetch failures at 0, 5, 15; then every 30 s from 35 s.
    assert_eq!(&fast_heads[..5], &[0.0, 5.0, 15.0, 35.0, 65.0]);
    assert_eq!(fast_heads.len(), 3 + 19, "{fast_heads:?}");
    assert_eq!(d.handle(0).snapshot().sync_status, SyncStatus::Synced);
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_lets_a_running_apply_finish() {
    let fake = Fake::new("prod", "c1");
    fake.with(|s| s.apply_takes = Duration::from_secs(30));
    let options = DaemonOptions { shutdown_timeout: Duration::from_secs(60), ..DaemonOptions::default() };
    let d = start(vec![(fake.clone(), policy(60))], options);
    wait(10.0).await;
    assert_eq!(d.stop().await, Shutdown::Clean);
    assert_eq!(fake.times(|c| *c == Call::ApplyDone("c1".into())), vec![30.0], "finished, not cut");
    assert_eq!(fake.applied().as_deref(), Some("c1"));
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_timeout_cancels_a_long_apply() {
    let fake = Fake::new("prod", "c1");
    fake.with(|s| s.apply_takes = Duration::from_secs(3600));
    let options = DaemonOptions { shutdown_timeout: Duration::from_secs(20), ..DaemonOptions::default() };
    let d = start(vec![(fake.clone(), policy(60))], options);
    wait(10.0).await;
    assert_eq!(d.stop().await, Shutdown::Cancelled);
    assert_eq!(fake.times(|c| *c == Call::ApplyDone("c1".into())), vec![30.0], "cancelled at stop + 20 s");
    assert_eq!(fake.applied(), None);
}

#[tokio::test(start_paused = true)]
async fn no_new_work_starts_after_a_stop() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(60))], DaemonOptions::default());
    wait(1.0).await;
    let before = fake.calls().len();
    fake.push("c2");
    assert_eq!(d.stop().await, Shutdown::Clean);
    wait(600.0).await;
    assert_eq!(fake.calls().len(), before);
}
