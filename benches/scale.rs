//! Scale benchmark (plain `main`, prints figures; not a timed test). For about 10k, 30k and
//! 100k entities — N services with two routes and a plugin each, N consumers with a key-auth
//! credential and an ACL — it measures in one run, against the in-process sandbox:
//!
//! * the floor read: every page of every collection once, keep-alive, kinds in parallel,
//!   no parsing (bytes read, time);
//! * what parsing alone costs, on one thread: the floor's pages into `serde_json::Value`,
//!   the configuration into YAML events (ratios to the floor);
//! * the no-op plan of the real binary: time, ratio to the floor, peak RSS and its ratio to
//!   the bytes read, HTTP requests;
//! * the raw write rate: a simple client sending only the plan's requests (parents before
//!   children, `parallelism` at once) to an empty sandbox;
//! * apply from empty with the real binary: time, ratio of its rate to the raw one, peak RSS
//!   and its ratio to the bytes read, HTTP requests.
//!
//! Run: `cargo bench --bench scale` (`GATEFORM_BENCH_SIZES=10000,30000` to choose sizes).

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateform::gateway::{Dialect, Request};
use gateform::kong::KongDialect;
use gateform::kong::sandbox::{self, Sandbox, SandboxOptions};
use gateform::model::State;
use gateform::plan::{PlanInput, build};
use gateform::source::Input;

#[path = "common/measure.rs"]
mod measure;
use measure::measure;

const PARALLELISM: usize = 10;
const COLLECTIONS: &[&str] = &["services", "routes", "plugins", "consumers", "key-auths", "acls"];

fn config(n: usize) -> String {
    let mut out = String::with_capacity(n * 700);
    out.push_str("_format_version: \"3.0\"\nservices:\n");
    for i in 0..n {
        let _ = write!(
            out,
            "  - name: svc-{i:06}\n    url: http://backend-{i:06}.internal:8080/v1\n    tags: [bench]\n    plugins:\n      - name: rate-limiting\n        config:\n          minute: {m}\n          policy: local\n    routes:\n      - name: route-{i:06}-a\n        paths: [/svc-{i:06}/a]\n      - name: route-{i:06}-b\n        paths: [/svc-{i:06}/b]\n        methods: [GET, POST]\n",
            m = 60 + i % 100
        );
    }
    out.push_str("consumers:\n");
    for i in 0..n {
        let _ = write!(
            out,
            "  - username: user-{i:06}\n    keyauth_credentials:\n      - key: key-{i:06}-bench-credential\n    acls:\n      - group: group-{g}\n",
            g = i % 20
        );
    }
    out
}

/// Every page of every collection, kinds in parallel, bodies not parsed (the next offset is
/// found by a text search). Returns (time, bytes, requests, the pages).
async fn floor_read(url: &str) -> (Duration, u64, u64, Vec<bytes::Bytes>) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in COLLECTIONS {
        let (http, url) = (http.clone(), format!("{url}/{c}"));
        tasks.spawn(async move {
            let (mut bytes, mut requests, mut offset) = (0u64, 0u64, None::<String>);
            let mut pages = Vec::new();
            loop {
                let page = match &offset {
                    Some(o) => format!("{url}?size=1000&offset={o}"),
                    None => format!("{url}?size=1000"),
                };
                let body = http.get(&page).send().await.expect("get").bytes().await.expect("body");
                bytes += body.len() as u64;
                requests += 1;
                let text = std::str::from_utf8(&body).unwrap_or_default();
                offset = text.rfind("\"offset\":\"").map(|i| {
                    let rest = &text[i + 10..];
                    rest[..rest.find('"').unwrap_or(0)].to_owned()
                });
                pages.push(body);
                if offset.is_none() {
                    break;
                }
            }
            (bytes, requests, pages)
        });
    }
    let (mut bytes, mut requests, mut all) = (0, 0, Vec::new());
    while let Some(r) = tasks.join_next().await {
        let (b, n, pages) = r.expect("reader");
        bytes += b;
        requests += n;
        all.extend(pages);
    }
    (started.elapsed(), bytes, requests, all)
}

/// What parsing alone costs, on one thread, best of three: the pages of the floor read into
/// `serde_json::Value` (the live side's first step), and the configuration into YAML events
/// (the desired side's first step, no tree built). Returns (JSON, YAML).
fn parse_floors(pages: &[bytes::Bytes], yaml: &str) -> (Duration, Duration) {
    let best = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let json = best(&|| {
        for page in pages {
            let v: serde_json::Value = serde_json::from_slice(page).expect("a page is JSON");
            std::hint::black_box(&v);
        }
    });
    let yaml = best(&|| {
        let events = saphyr_parser::Parser::new_from_str(yaml).count();
        std::hint::black_box(events);
    });
    (json, yaml)
}

/// The requests an apply from empty sends, in waves: each after every step it depends on.
fn plan_requests(text: &str) -> Vec<Vec<Request>> {
    let dialect = KongDialect::bundled();
    let desired = dialect.load(&[Input::new("kong.yaml", text)], &BTreeMap::new()).expect("config loads");
    let empty = State::default();
    let plan = build(&PlanInput {
        desired: &desired.state,
        live: &empty,
        lookup: &empty,
        dialect: &dialect,
        secret_fields: &desired.env_fields,
    })
    .expect("plan");
    let schedule = gateform::graph::schedule(&plan, &empty, &dialect).expect("schedule");
    // A step's wave: one past the deepest step it waits for.
    let deps = schedule.dependencies();
    let mut depth: Vec<Option<usize>> = vec![None; schedule.steps.len()];
    fn wave(i: usize, deps: &[Vec<usize>], depth: &mut [Option<usize>]) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        let d = deps[i].iter().map(|&j| wave(j, deps, depth) + 1).max().unwrap_or(0);
        depth[i] = Some(d);
        d
    }
    let mut by_wave: BTreeMap<usize, Vec<Request>> = BTreeMap::new();
    for (i, step) in schedule.steps.iter().enumerate() {
        by_wave.entry(wave(i, &deps, &mut depth)).or_default().push((*step.request).clone());
    }
    by_wave.into_values().collect()
}

/// Sends `waves` to `url`, `PARALLELISM` requests at once, wave after wave.
async fn raw_writes(url: &str, waves: Vec<Vec<Request>>) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut sent = 0;
    for wave in waves {
        let sem = Arc::new(tokio::sync::Semaphore::new(PARALLELISM));
        let mut tasks = tokio::task::JoinSet::new();
        for r in wave {
            sent += 1;
            let (http, sem, url) = (http.clone(), sem.clone(), format!("{url}{}", r.path));
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await.expect("permit");
                let method = reqwest::Method::from_bytes(r.method.as_bytes()).expect("method");
                let mut req = http.request(method, &url);
                if let Some(body) = &r.body {
                    req = req.header("content-type", "application/json").body(body.to_string());
                }
                let resp = req.send().await.expect("send");
                let status = resp.status();
                assert!(status.is_success(), "{url}: {status} {}", resp.text().await.unwrap_or_default());
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("writer");
        }
    }
    (started.elapsed(), sent)
}

/// An empty sandbox. It serves the Enterprise fields too: the raw writer sends the plan's
/// bodies as the bundled schemas render them (plugins carry `consumer_group`).
async fn empty_sandbox() -> Sandbox {
    sandbox::start(SandboxOptions { enterprise: true, ..SandboxOptions::default() }).await.expect("sandbox")
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

async fn one_size(services: usize) {
    let text = config(services);
    let entities = services * 4 + services * 3;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kong.yaml");
    std::fs::write(&file, &text).expect("write config");
    let file = file.to_string_lossy().into_owned();
    println!(
        "\n== {entities} entities ({services} services, {services} consumers; {:.1} MB of YAML)",
        text.len() as f64 / 1e6
    );

    // Raw write floor on one empty sandbox; gateform's apply on another.
    let waves = plan_requests(&text);
    let raw_box = empty_sandbox().await;
    let (raw_time, raw_requests) = raw_writes(&raw_box.url(), waves).await;
    raw_box.shutdown().await;
    let raw_rate = raw_requests as f64 / raw_time.as_secs_f64();

    let sb = empty_sandbox().await;
    let url = sb.url();
    let before = sb.request_count();
    let (u, f) = (url.clone(), file.clone());
    let (apply_time, apply_kb, out) =
        tokio::task::spawn_blocking(move || measure(&["apply", "--gateway", &u, "-s", &f, "--auto-approve"], &[]))
            .await
            .expect("apply");
    assert!(out.contains("Apply complete!"), "apply failed");
    let apply_requests = sb.request_count() - before;
    let apply_rate = apply_requests as f64 / apply_time.as_secs_f64();

    let (floor_time, bytes, floor_requests, pages) = floor_read(&url).await;
    let (json_time, yaml_time) = parse_floors(&pages, &text);
    drop(pages);
    let before = sb.request_count();
    let (u, f) = (url.clone(), file.clone());
    let (plan_time, plan_kb, out) =
        tokio::task::spawn_blocking(move || measure(&["plan", "--gateway", &u, "-s", &f], &[])).await.expect("plan");
    assert!(out.contains("No changes."), "the no-op plan is not empty");
    let plan_requests = sb.request_count() - before;
    sb.shutdown().await;

    let bytes_mb = bytes as f64 / (1024.0 * 1024.0);
    println!("floor read:    {:.2}s, {bytes_mb:.1} MiB in {floor_requests} requests", floor_time.as_secs_f64());
    let floor = floor_time.as_secs_f64();
    println!(
        "parse alone:   {:.2}s = {:.2}x the floor for the pages into serde_json values, {:.2}s = {:.2}x for the YAML's events (one thread)",
        json_time.as_secs_f64(),
        json_time.as_secs_f64() / floor,
        yaml_time.as_secs_f64(),
        yaml_time.as_secs_f64() / floor
    );
    println!(
        "no-op plan:    {:.2}s = {:.2}x the floor; peak RSS {:.0} MiB = {:.1}x the bytes read; {plan_requests} requests",
        plan_time.as_secs_f64(),
        plan_time.as_secs_f64() / floor_time.as_secs_f64(),
        mb(plan_kb),
        mb(plan_kb) / bytes_mb
    );
    println!(
        "raw writes:    {:.2}s, {raw_requests} requests, {raw_rate:.0}/s at parallelism {PARALLELISM}",
        raw_time.as_secs_f64()
    );
    println!(
        "apply (empty): {:.2}s, {apply_requests} requests, {apply_rate:.0}/s = {:.2}x the raw rate; peak RSS {:.0} MiB = {:.1}x the bytes read",
        apply_time.as_secs_f64(),
        apply_rate / raw_rate,
        mb(apply_kb),
        mb(apply_kb) / bytes_mb
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    gateform::gateway::install_crypto_provider();
    let sizes: Vec<usize> = std::env::var("GATEFORM_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 30_000, 100_000]);
    for entities in sizes {
        one_size((entities / 7).max(1)).await;
    }
}
