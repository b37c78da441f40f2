//! Tyk benchmark (plain `main`, prints figures; not a timed test): generates 2,000 API
//! definitions (three classic to one Tyk OAS) and 2,000 policies in the gateway's own layout
//! (`apps/`, `policies/`), applies them to an empty in-process Tyk sandbox with the real
//! binary, then runs three no-op plans: wall time, peak memory of the `gateform` process,
//! HTTP requests made and reloads fired.
//!
//! Run: `cargo bench --bench tyk` (set `GATEFORM_BENCH_SCALE=0.1` for a quick run).

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Instant;

use gateform::tyk::sandbox::{self, TykSandbox, TykSandboxOptions};
use serde_json::{Value, json};

#[path = "common/measure.rs"]
mod measure;
use measure::measure;

const SECRET: &str = "bench-secret-0123";

fn scale() -> f64 {
    std::env::var("GATEFORM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// API `i`: every fourth one a Tyk OAS document, the others classic definitions.
fn api(i: usize) -> Value {
    let (id, name, path) = (format!("api-{i:05}"), format!("Service {i:05}"), format!("/svc-{i:05}/"));
    if i % 4 == 3 {
        return json!({
            "openapi": "3.0.3",
            "info": {"title": name, "version": "1.0.0"},
            "paths": {"/items": {"get": {"operationId": "itemsGET", "responses": {"200": {"description": "ok"}}}}},
            "servers": [{"url": format!("http://backend-{i:05}.internal:8080")}],
            "x-tyk-api-gateway": {
                "info": {"id": id, "name": name, "state": {"active": true}},
                "upstream": {"url": format!("http://backend-{i:05}.internal:8080")},
                "server": {"listenPath": {"value": path, "strip": true}}
            }
        });
    }
    json!({
        "name": name,
        "api_id": id,
        "org_id": "default",
        "use_keyless": i.is_multiple_of(2),
        "use_standard_auth": !i.is_multiple_of(2),
        "tags": [format!("team-{}", i % 17)],
        "proxy": {"listen_path": path, "target_url": format!("http://backend-{i:05}.internal:8080/v1"), "strip_listen_path": true},
        "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}
    })
}

/// Policy `i` grants API `i` and API `i + 1` (wrapping).
fn policy(i: usize, apis: usize) -> Value {
    let rights: serde_json::Map<String, Value> = [i, (i + 1) % apis]
        .iter()
        .map(|j| {
            let id = format!("api-{j:05}");
            (id.clone(), json!({"api_id": id, "api_name": format!("Service {j:05}"), "versions": ["Default"]}))
        })
        .collect();
    json!({
        "id": format!("pol-{i:05}"),
        "name": format!("Plan {i:05}"),
        "org_id": "default",
        "rate": 100 + i % 900,
        "per": 60,
        "quota_max": 10_000,
        "quota_renewal_rate": 3600,
        "active": true,
        "access_rights": rights
    })
}

/// Writes the configuration under `dir`; returns its size in bytes.
fn write_config(dir: &Path, apis: usize, policies: usize) -> u64 {
    let mut bytes = 0u64;
    for (sub, docs) in [
        ("apps", (0..apis).map(|i| (format!("api-{i:05}.json"), api(i))).collect::<Vec<_>>()),
        ("policies", (0..policies).map(|i| (format!("pol-{i:05}.json"), policy(i, apis))).collect()),
    ] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        for (name, doc) in docs {
            let text = serde_json::to_string_pretty(&doc).expect("json");
            bytes += text.len() as u64;
            std::fs::write(dir.join(sub).join(name), text).expect("write");
        }
    }
    bytes
}

fn reloads(sb: &TykSandbox) -> u64 {
    sb.request_count("GET", "/tyk/reload") + sb.request_count("GET", "/tyk/reload/group")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s = scale();
    let (apis, policies) = (((2_000.0 * s) as usize).max(2), ((2_000.0 * s) as usize).max(1));
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tyk");
    let t = Instant::now();
    let bytes = write_config(&dir, apis, policies);
    println!(
        "configuration: {apis} APIs ({} classic, {} Tyk OAS), {policies} policies ({:.1} MB JSON, written in {:.2}s)",
        apis - apis / 4,
        apis / 4,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let opts = TykSandboxOptions {
        listen: "127.0.0.1:0".parse().expect("address"),
        secret: SECRET.to_owned(),
        ..Default::default()
    };
    let sb = sandbox::start(opts).await.expect("Tyk sandbox");
    let (url, d) = (sb.url(), dir.to_string_lossy().into_owned());
    let env = [("TYK_GW_SECRET", SECRET)];

    let before = sb.total_requests();
    let (time, peak, out) = tokio::task::spawn_blocking({
        let (url, d) = (url.clone(), d.clone());
        move || measure(&["apply", "--gateway", &url, "-s", &d, "--auto-approve"], &env)
    })
    .await
    .expect("apply task");
    assert!(out.contains("Apply complete!"), "apply failed: {}", out.lines().last().unwrap_or_default());
    println!(
        "apply onto an empty Tyk sandbox: {:.2}s wall, peak RSS {:.0} MB, {} HTTP requests, {} reload(s) ({:.0} entities/s)",
        time.as_secs_f64(),
        peak as f64 / 1024.0,
        sb.total_requests() - before,
        reloads(&sb),
        (apis + policies) as f64 / time.as_secs_f64()
    );

    for round in 1..=3 {
        let (before, reloads_before) = (sb.total_requests(), reloads(&sb));
        let (url, d) = (url.clone(), d.clone());
        let (time, peak, out) =
            tokio::task::spawn_blocking(move || measure(&["plan", "--gateway", &url, "-s", &d], &env))
                .await
                .expect("plan task");
        assert!(
            out.contains("No changes."),
            "the no-op plan is not empty:\n{}",
            out.chars().take(2000).collect::<String>()
        );
        println!(
            "no-op plan #{round}: {:.2}s wall, peak RSS {:.0} MB, {} HTTP requests, {} reload(s)",
            time.as_secs_f64(),
            peak as f64 / 1024.0,
            sb.total_requests() - before,
            reloads(&sb) - reloads_before
        );
    }
    sb.shutdown().await;
}
