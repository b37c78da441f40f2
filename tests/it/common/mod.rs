//! Shared test harness: an in-process sandbox on its own runtime, and a way to run the real
//! `gateform` binary against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gateform::kong::sandbox::{Sandbox, SandboxOptions};
use gateform::kong::{ClientConfig, KongClient};
use serde_json::Value;

/// An in-process sandbox that lives as long as this value.
pub struct TestSandbox {
    pub url: String,
    pub client: KongClient,
    sandbox: Option<Sandbox>,
    runtime: tokio::runtime::Runtime,
}

impl TestSandbox {
    /// An empty sandbox in DB mode.
    pub fn start() -> Self {
        Self::start_with(SandboxOptions::default())
    }

    /// An empty sandbox in DB mode that serves the Enterprise kinds too.
    pub fn enterprise() -> Self {
        Self::start_with(SandboxOptions { enterprise: true, ..SandboxOptions::default() })
    }

    /// A sandbox with these options (the listen address is forced to an ephemeral port).
    pub fn start_with(mut opts: SandboxOptions) -> Self {
        opts.listen = "127.0.0.1:0".parse().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sandbox = runtime.block_on(gateform::kong::sandbox::start(opts)).expect("sandbox starts");
        let url = sandbox.url();
        let client = KongClient::new(ClientConfig::new(url.clone())).unwrap();
        TestSandbox { url, client, sandbox: Some(sandbox), runtime }
    }

    /// The in-process sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    /// Runs a future on the sandbox's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// `GET path` → JSON body (panics on error).
    pub fn get(&self, path: &str) -> Value {
        self.block_on(self.client.get(path)).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Sends a request; returns the result.
    pub fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.block_on(self.client.send(m, path, body.as_ref())).map(|r| r.body).map_err(|e| e.to_string())
    }

    /// All rows of a collection (every page).
    pub fn list(&self, path: &str) -> Vec<Value> {
        self.block_on(gateform::kong::list_all(&self.client, path, &[])).unwrap()
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}

/// The result of running the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    /// Panics unless the run succeeded.
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A `gateform` command with a hermetic environment (no inherited GATEFORM_* or DECK_*).
/// Applies record into a ledger under cargo's test scratch directory, never into
/// `.gateform/` of the current directory, unless a test names another with `--ledger`.
pub fn gateform_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateform"));
    hermetic(&mut cmd);
    cmd
}

/// Makes `cmd` hermetic as [`gateform_cmd`] is: no inherited `GATEFORM_*` or `DECK_*`,
/// no colours, UTC, warnings only, the test ledger.
pub fn hermetic(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("GATEFORM_") || k.starts_with("DECK_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1").env("TZ", "UTC").env("RUST_LOG", "warn");
    cmd.env("GATEFORM_LEDGER", Path::new(env!("CARGO_TARGET_TMPDIR")).join("it-ledger.db"));
}

/// Runs `gateform args...` to completion with stdin closed.
pub fn gateform(args: &[&str]) -> Run {
    gateform_cmd().args(args).stdin(std::process::Stdio::null()).output().expect("run gateform").into()
}

/// Runs `gateform args...` with extra environment variables.
pub fn gateform_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = gateform_cmd();
    cmd.args(args).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gateform").into()
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// `shared/real-configs/<dialect>` (the corpus of real configurations kept beside the
/// repository, outside it), looked for beside the checkout or above it (a worktree sits one
/// level deeper than the main checkout). When it is absent the test that asked says so on
/// stderr (`SKIPPED <test>: ...`) and gets `None`, so a fresh clone passes its tests; under
/// `CI=true` (`.ci/run`, which has the corpus) an absent corpus fails the test instead.
pub fn real_configs(dialect: &str, test: &str) -> Option<PathBuf> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    real_configs_beside(Path::new(env!("CARGO_MANIFEST_DIR")), dialect, test, ci)
}

/// [`real_configs`] for a checkout at `root`, `ci` saying whether an absent corpus fails.
pub fn real_configs_beside(root: &Path, dialect: &str, test: &str, ci: bool) -> Option<PathBuf> {
    let rel = format!("shared/real-configs/{dialect}");
    let found = root.ancestors().skip(1).take(3).map(|a| a.join(&rel)).find(|d| d.is_dir());
    if found.is_none() {
        let why = format!("{rel} was not found beside or above {}", root.display());
        assert!(!ci, "{test}: {why}; CI must run with the real configurations");
        skipped(test, &why);
    }
    found
}

/// [`real_configs`] of Kong.
pub fn real_configs_dir(test: &str) -> Option<PathBuf> {
    real_configs("kong", test)
}

/// Plugin names a file uses that Kong OSS does not bundle (Enterprise or custom plugins):
/// a gateway running the file has them installed, and its user declares them.
pub fn custom_plugins(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = gateform::source::yaml::parse(&text).map(|n| n.to_json()).unwrap_or(Value::Null);
    let mut names = std::collections::BTreeSet::new();
    collect_plugin_names(&doc, false, &mut names);
    let bundled = gateform::kong::schema::Schemas::bundled();
    names.into_iter().filter(|n| bundled.plugin(n).is_none()).collect()
}

fn collect_plugin_names(v: &Value, in_plugins: bool, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if in_plugins && let Some(Value::String(n)) = map.get("name") {
                out.insert(n.clone());
            }
            for (k, child) in map {
                collect_plugin_names(child, k == "plugins", out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_plugin_names(i, in_plugins, out)),
        _ => {}
    }
}

/// Says `SKIPPED <test>: <why>` on the test process's stderr itself, not through the
/// `eprintln!` that `cargo test` captures and hides for passing tests, so a skip is seen.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}
