//! Engine benchmark (plain `main`, prints figures; not a timed test): generates a
//! configuration of 10k services, 20k routes, 10k consumers with key-auth credentials and
//! 20k plugins, applies it to an in-process sandbox with the real binary, then measures the
//! no-op plan: wall time, peak memory of the `gateform` process, and HTTP requests made.
//!
//! Run: `cargo bench --bench engine` (set `GATEFORM_BENCH_SCALE=0.1` for a quick run).

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::time::Instant;

use gateform::kong::sandbox::{self, SandboxOptions};

#[path = "common/measure.rs"]
mod measure;
use measure::measure;

fn scale() -> f64 {
    std::env::var("GATEFORM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// The configuration: per service two routes, a rate-limiting plugin on the service and a
/// cors plugin on its first route; per consumer a key-auth credential.
fn config(services: usize, consumers: usize) -> String {
    let mut out = String::with_capacity(services * 600 + consumers * 120);
    out.push_str("_format_version: \"3.0\"\nservices:\n");
    for i in 0..services {
        let _ = write!(
            out,
            "  - name: svc-{i:05}\n    url: http://backend-{i:05}.internal:8080/v1\n    tags: [bench, team-{t}]\n    plugins:\n      - name: rate-limiting\n        config:\n          minute: {m}\n          policy: local\n    routes:\n      - name: route-{i:05}-a\n        paths: [/svc-{i:05}/a]\n        plugins:\n          - name: cors\n            config:\n              origins: [https://app-{t}.example.com]\n      - name: route-{i:05}-b\n        paths: [/svc-{i:05}/b]\n        methods: [GET, POST]\n",
            t = i % 17,
            m = 60 + i % 100
        );
    }
    out.push_str("consumers:\n");
    for i in 0..consumers {
        let _ = write!(
            out,
            "  - username: user-{i:05}\n    keyauth_credentials:\n      - key: key-{i:05}-bench-credential\n"
        );
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s = scale();
    let services = (10_000.0 * s) as usize;
    let consumers = (10_000.0 * s) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kong.yaml");
    let t = Instant::now();
    std::fs::write(&file, config(services, consumers)).expect("write config");
    let file = file.to_string_lossy().into_owned();
    println!(
        "configuration: {services} services, {} routes, {consumers} consumers, {consumers} key-auth credentials, {} plugins ({} entities, {:.1} MB YAML, written in {:.2}s)",
        services * 2,
        services * 2,
        services * 5 + consumers * 2,
        std::fs::metadata(&file).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0),
        t.elapsed().as_secs_f64()
    );

    let sb = sandbox::start(SandboxOptions::default()).await.expect("sandbox");
    let url = sb.url();
    let handle = tokio::task::spawn_blocking({
        let (url, file) = (url.clone(), file.clone());
        move || {
            let before = Instant::now();
            let (apply_time, apply_peak, out) =
                measure(&["apply", "--gateway", &url, "-s", &file, "--auto-approve"], &[]);
            assert!(out.contains("Apply complete!"), "apply failed: {}", out.lines().last().unwrap_or_default());
            let _ = before;
            (apply_time, apply_peak)
        }
    });
    let requests_before = sb.request_count();
    let (apply_time, apply_peak) = handle.await.expect("apply task");
    let apply_requests = sb.request_count() - requests_before;
    println!(
        "apply onto an empty sandbox: {:.2}s wall, peak RSS {:.0} MB, {apply_requests} HTTP requests ({:.0} entities/s)",
        apply_time.as_secs_f64(),
        apply_peak as f64 / 1024.0,
        (services * 5 + consumers * 2) as f64 / apply_time.as_secs_f64()
    );

    for round in 1..=3 {
        let before = sb.request_count();
        let (url, file) = (url.clone(), file.clone());
        let (time, peak, out) =
            tokio::task::spawn_blocking(move || measure(&["plan", "--gateway", &url, "-s", &file], &[]))
                .await
                .expect("plan task");
        assert!(out.contains("No changes."), "the no-op plan is not empty");
        println!(
            "no-op plan #{round}: {:.2}s wall, peak RSS {:.0} MB, {} HTTP requests",
            time.as_secs_f64(),
            peak as f64 / 1024.0,
            sb.request_count() - before
        );
    }
    sb.shutdown().await;
}
