//! `gateform watch` benchmark (plain `main`, prints figures; not a timed test): a Git
//! repository holding a configuration of about 10k entities (2000 services, 4000 routes,
//! 4000 plugins), followed by the real binary with an hour-long poll against an in-process
//! sandbox. 20 times: commit a one-line change, send a signed GitHub webhook, and time until
//! `/status` reports the commit applied. Prints the median and p95.
//!
//! Run: `cargo bench --bench watch` (set `GATEFORM_BENCH_SCALE=0.1` for a quick run, and
//! `GATEFORM_BENCH_LOG=info` to see the daemon's log on stderr).

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gateform::kong::sandbox::{self, SandboxOptions};
use gateform::source::environments::Secret;
use gateform::watch::webhook::sign;
use git2::{Repository, Signature};

const PUSHES: usize = 20;

fn scale() -> f64 {
    std::env::var("GATEFORM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// Per service two routes, a rate-limiting plugin on the service and a cors plugin on each
/// route; `minute` of service 0 is what each push changes.
fn config(services: usize, minute: usize) -> String {
    let mut out = String::with_capacity(services * 600);
    out.push_str("_format_version: \"3.0\"\nservices:\n");
    for i in 0..services {
        let m = if i == 0 { minute } else { 60 + i % 100 };
        let _ = write!(
            out,
            "  - name: svc-{i:05}\n    url: http://backend-{i:05}.internal:8080/v1\n    plugins:\n      - name: rate-limiting\n        config:\n          minute: {m}\n          policy: local\n    routes:\n      - name: route-{i:05}-a\n        paths: [/svc-{i:05}/a]\n        plugins:\n          - name: cors\n            config:\n              origins: [https://app.example.com]\n      - name: route-{i:05}-b\n        paths: [/svc-{i:05}/b]\n        plugins:\n          - name: cors\n            config:\n              origins: [https://app.example.com]\n"
        );
    }
    out
}

fn commit(repo: &Repository, dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    let mut index = repo.index().expect("index");
    for (path, text) in files {
        std::fs::create_dir_all(dir.join(path).parent().expect("parent")).expect("mkdir");
        std::fs::write(dir.join(path), text).expect("write");
        index.add_path(Path::new(path)).expect("add");
    }
    index.write().expect("index write");
    let tree = repo.find_tree(index.write_tree().expect("tree")).expect("tree");
    let sig = Signature::now("Bench", "bench@example.test").expect("signature");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).expect("commit").to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    gateform::kong::install_crypto_provider();
    let services = ((2000.0 * scale()) as usize).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let opts = SandboxOptions { listen: "127.0.0.1:0".parse().expect("address"), ..SandboxOptions::default() };
    let sb = runtime.block_on(sandbox::start(opts)).expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Repository::init(dir.path()).expect("git init");
    let settings = format!(
        "[watch]\npoll_interval = 3600\ndrift_interval = 3600\nmax_destroy = 0\n\n[watch.webhooks]\ngithub_secret = \"${{BENCH_GH_SECRET}}\"\n\n[environments.bench]\ngateway = \"{}\"\npath = \"kong\"\n",
        sb.url()
    );
    let first = commit(
        &repo,
        dir.path(),
        &[("gateform.toml", &settings), ("kong/kong.yaml", &config(services, 1000))],
        "initial",
    );
    println!("watch benchmark: {} entities ({services} services), {PUSHES} pushes", services * 5);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateform"))
        .args(["watch", "--repo"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--ledger"])
        .arg(dir.path().join("ledger.db"))
        .env("BENCH_GH_SECRET", "bench-secret")
        .env("RUST_LOG", std::env::var("GATEFORM_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gateform watch");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines.next().expect("a listening line").expect("stderr line");
        if let Some(a) = line.split("listening on ").nth(1) {
            break a.trim().to_owned();
        }
    };
    let echo = std::env::var_os("GATEFORM_BENCH_LOG").is_some();
    std::thread::spawn(move || lines.map_while(Result::ok).filter(|_| echo).for_each(|l| eprintln!("{l}")));
    let http = reqwest::Client::new();
    let applied = |commit: &str| -> bool {
        runtime.block_on(async {
            let Ok(r) = http.get(format!("{url}/status")).send().await else { return false };
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            v["environments"][0]["last_applied"]["commit"]["id"] == commit
        })
    };
    let started = Instant::now();
    while !applied(&first) {
        assert!(started.elapsed() < Duration::from_secs(600), "the initial apply did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("  initial apply: {:.2}s", started.elapsed().as_secs_f64());
    let mut times = Vec::with_capacity(PUSHES);
    for n in 0..PUSHES {
        let id = commit(&repo, dir.path(), &[("kong/kong.yaml", &config(services, 2000 + n))], &format!("push {n}"));
        let body = format!("{{\"ref\":\"refs/heads/main\",\"after\":\"{id}\"}}");
        let sig = sign(&Secret::new("bench-secret"), body.as_bytes());
        let t = Instant::now();
        runtime.block_on(async {
            let r =
                http.post(format!("{url}/webhooks/github")).header("x-hub-signature-256", sig).body(body).send().await;
            assert_eq!(r.expect("webhook").status().as_u16(), 202);
        });
        while !applied(&id) {
            assert!(t.elapsed() < Duration::from_secs(120), "push {n} was not applied");
            std::thread::sleep(Duration::from_millis(5));
        }
        times.push(t.elapsed());
    }
    // SAFETY: `kill` on the id of the child started above.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().expect("wait");
    times.sort();
    println!(
        "  webhook → applied: median {:.3}s, p95 {:.3}s, min {:.3}s, max {:.3}s (exit {:?})",
        percentile(&times, 0.5).as_secs_f64(),
        percentile(&times, 0.95).as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        status.code()
    );
    runtime.block_on(sb.shutdown());
}
