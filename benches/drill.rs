//! Drill benchmark (plain `main`, prints figures; not a timed test): commits a configuration
//! of 100k entities (15k services, 30k routes, 30k plugins, 12.5k consumers with key-auth
//! credentials) to a Git repository, tags it, and runs `gateform drill` of that tag onto the
//! empty in-process sandbox, verification included: wall time, the RTO the report gives,
//! and peak memory of the `gateform` process. The goal is under 30 s.
//!
//! Run: `cargo bench --bench drill` (`--profile dev` reuses the debug build: slower, an
//! upper bound); `GATEFORM_BENCH_SCALE=0.1` for a quick run.

/// The allocator of the `gateform` binary, so that the in-process sandbox serves as
/// `gateform sandbox` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scale() -> f64 {
    std::env::var("GATEFORM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
}

/// Per service two routes, a rate-limiting plugin on the service and a cors plugin on its
/// first route; per consumer a key-auth credential: `services * 5 + consumers * 2` entities.
fn config(services: usize, consumers: usize) -> String {
    let mut out = String::with_capacity(services * 600 + consumers * 120);
    out.push_str("_format_version: \"3.0\"\nservices:\n");
    for i in 0..services {
        let _ = write!(
            out,
            "  - name: svc-{i:05}\n    url: http://backend-{i:05}.internal:8080/v1\n    tags: [bench]\n    plugins:\n      - name: rate-limiting\n        config:\n          minute: {m}\n          policy: local\n    routes:\n      - name: route-{i:05}-a\n        paths: [/svc-{i:05}/a]\n        plugins:\n          - name: cors\n            config:\n              origins: [https://app-{t}.example.com]\n      - name: route-{i:05}-b\n        paths: [/svc-{i:05}/b]\n",
            t = i % 17,
            m = 60 + i % 100
        );
    }
    out.push_str("consumers:\n");
    for i in 0..consumers {
        let _ = write!(out, "  - username: user-{i:05}\n    keyauth_credentials:\n      - key: key-{i:05}-drill\n");
    }
    out
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Bench", "-c", "user.email=bench@example.test"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

/// Runs gateform, sampling its peak RSS (kB) from /proc.
fn measure(args: &[&str]) -> (Duration, u64, String, Option<i32>) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateform"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run gateform");
    let status_path = format!("/proc/{}/status", child.id());
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let mut peak_kb = 0u64;
    let code = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:"));
            let kb = hwm.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0);
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (started.elapsed(), peak_kb, reader.join().unwrap_or_default(), code)
}

fn main() {
    let s = scale();
    let (services, consumers) = ((15_000.0 * s) as usize, (12_500.0 * s) as usize);
    let entities = services * 5 + consumers * 2;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    std::fs::write(dir.path().join("kong.yaml"), config(services, consumers)).expect("write config");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "kong.yaml"]);
    git(dir.path(), &["commit", "-q", "-m", "Release"]);
    git(dir.path(), &["tag", "v1"]);
    println!("tag v1: {entities} entities, committed in {:.2} s", t.elapsed().as_secs_f64());

    let repo = dir.path().to_string_lossy().into_owned();
    let (wall, peak, out, code) =
        measure(&["drill", "--repo", &repo, "--ref", "v1", "--rto", "30s", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    println!(
        "drill onto the empty sandbox: exit {code:?}, {:.2} s wall, RTO {:.2} s (restore {:.2} s, verify {:.2} s), objective 30 s met: {}, verification {}, peak RSS {:.0} MB",
        wall.as_secs_f64(),
        doc["rto"]["seconds"].as_f64().unwrap_or(f64::NAN),
        doc["rto"]["restore_seconds"].as_f64().unwrap_or(f64::NAN),
        doc["rto"]["verify_seconds"].as_f64().unwrap_or(f64::NAN),
        doc["rto"]["met"],
        doc["verification"]["result"],
        peak as f64 / 1024.0
    );
}
