//! Sandbox benchmark (plain `main`, prints figures): loads 100k consumers over loopback,
//! times 1000-entity pages, and measures write throughput with concurrency.
//!
//! Run: `cargo bench --bench sandbox`

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Instant;

use gateform::kong::sandbox::{self, SandboxOptions};
use serde_json::json;

const ENTITIES: usize = 100_000;
const CONCURRENCY: usize = 32;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = sandbox::start(SandboxOptions::default()).await.expect("start");
    let url = sb.url();
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().expect("client");

    // writes: POST /consumers with CONCURRENCY workers
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= ENTITIES {
                    break;
                }
                let tags = if i % 10 == 0 { json!(["bench", "tenth"]) } else { json!(["bench"]) };
                let r = client
                    .post(format!("{url}/consumers"))
                    .json(&json!({"username": format!("user-{i}"), "tags": tags}))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(r.status().as_u16(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "writes: {ENTITIES} POST /consumers, concurrency {CONCURRENCY}: {secs:.2} s = {:.0} writes/s",
        ENTITIES as f64 / secs
    );

    // pages of 1000
    let mut times = Vec::new();
    let mut next_path = Some("/consumers?size=1000".to_owned());
    let mut rows = 0;
    while let Some(p) = next_path {
        let t = Instant::now();
        let body: serde_json::Value =
            client.get(format!("{url}{p}")).send().await.expect("get").json().await.expect("json");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        rows += body["data"].as_array().map_or(0, Vec::len);
        next_path = body["next"].as_str().map(str::to_owned);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "pages: {} pages of 1000 ({rows} rows): mean {mean:.2} ms, median {:.2} ms, max {:.2} ms (HTTP round trip, JSON decode included)",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );

    let t = Instant::now();
    let body: serde_json::Value = client
        .get(format!("{url}/consumers?size=1000&tags=tenth"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    println!(
        "tag-filtered page (1 in 10 match): {:.2} ms, {} rows",
        t.elapsed().as_secs_f64() * 1000.0,
        body["data"].as_array().map_or(0, Vec::len)
    );

    // reads by key
    let t = Instant::now();
    for i in 0..5000 {
        let r = client.get(format!("{url}/consumers/user-{}", i * 17 % ENTITIES)).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
    }
    println!("reads: 5000 sequential GET by username: {:.0} req/s", 5000.0 / t.elapsed().as_secs_f64());
    sb.shutdown().await;
}
