//! The real `gateform` binary against an in-process Tyk sandbox: plan, apply, drift, dump,
//! saved plans, replay and history, ownership, refusals and the reload barrier.

mod crud;
mod gitops;
mod ownership;
mod real_configs;
mod refusals;

use std::path::Path;

use gateform::tyk::sandbox::{TykSandbox, TykSandboxOptions};
use serde_json::{Value, json};

use crate::common::{Run, gateform_env};

/// The secret every test sandbox uses.
pub const SECRET: &str = "test-secret-0123";

/// A Tyk sandbox on a runtime of its own, for tests that run the binary.
pub struct TykBox {
    pub url: String,
    sandbox: Option<TykSandbox>,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl TykBox {
    /// One empty node.
    pub fn start() -> TykBox {
        TykBox::start_with(TykSandboxOptions::default())
    }

    /// A sandbox with these options (ephemeral ports, [`SECRET`]).
    pub fn start_with(mut opts: TykSandboxOptions) -> TykBox {
        opts.listen = "127.0.0.1:0".parse().unwrap();
        opts.secret = SECRET.to_owned();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sandbox = runtime.block_on(gateform::tyk::sandbox::start(opts)).expect("Tyk sandbox starts");
        TykBox { url: sandbox.url(), sandbox: Some(sandbox), runtime, client: reqwest::Client::new() }
    }

    /// The sandbox.
    pub fn sb(&self) -> &TykSandbox {
        self.sandbox.as_ref().unwrap()
    }

    /// `method path` with the secret on node `node`; `(status, JSON body)`.
    pub fn call_on(&self, node: usize, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.sb().node_url(node).unwrap());
        let mut rb = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("x-tyk-authorization", SECRET);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b.to_string());
        }
        self.runtime.block_on(async {
            let r = rb.send().await.expect("request");
            let status = r.status().as_u16();
            (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
        })
    }

    /// `method path` on node 0.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call_on(0, method, path, body)
    }

    /// `GET path` on node 0, asserting 200.
    pub fn get(&self, path: &str) -> Value {
        let (s, v) = self.call("GET", path, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Reloads every node now.
    pub fn reload(&self) {
        self.sb().reload_all();
    }

    /// The ids of the APIs node 0 serves.
    pub fn api_ids(&self) -> Vec<String> {
        let list = self.get("/tyk/apis");
        list.as_array().unwrap().iter().map(|a| a["api_id"].as_str().unwrap().to_owned()).collect()
    }

    /// The ids of the policies node 0 serves.
    pub fn policy_ids(&self) -> Vec<String> {
        let list = self.get("/tyk/policies");
        list.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
    }

    /// Reloads counted by the sandbox (all nodes, both routes).
    pub fn reloads(&self) -> u64 {
        self.sb().request_count("GET", "/tyk/reload") + self.sb().request_count("GET", "/tyk/reload/group")
    }
}

impl Drop for TykBox {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}

/// Runs `gateform args... --gateway <box>` with the box's secret in `TYK_GW_SECRET`.
pub fn run(tb: &TykBox, args: &[&str]) -> Run {
    run_env(tb, args, &[])
}

/// [`run`] with extra variables.
pub fn run_env(tb: &TykBox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--gateway", &tb.url]);
    let mut vars = vec![("TYK_GW_SECRET", SECRET)];
    vars.extend_from_slice(env);
    gateform_env(&all, &vars)
}

/// A scratch directory and the configuration directory `tyk` in it (path and text).
pub fn scratch() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tyk");
    let d = dir.to_string_lossy().into_owned();
    (tmp, dir, d)
}

/// Writes JSON documents under `dir` (`(relative path, value)`), replacing what was there.
pub fn write_set(dir: &Path, files: &[(&str, Value)]) {
    let _ = std::fs::remove_dir_all(dir);
    for (rel, v) in files {
        crate::common::write(dir, rel, &serde_json::to_string_pretty(v).unwrap());
    }
}

/// A classic definition (keyless).
pub fn classic(id: &str, name: &str, listen_path: &str) -> Value {
    json!({
        "name": name,
        "api_id": id,
        "org_id": "default",
        "use_keyless": true,
        "proxy": {"listen_path": listen_path, "target_url": "http://upstream.test/", "strip_listen_path": true},
        "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}}
    })
}

/// A Tyk OAS document.
pub fn oas(id: &str, name: &str, listen_path: &str) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1.0.0"},
        "paths": {"/get": {"get": {"operationId": "getGET", "responses": {"200": {"description": "ok"}}}}},
        "servers": [{"url": "https://upstream.test"}],
        "x-tyk-api-gateway": {
            "info": {"id": id, "name": name, "state": {"active": true}},
            "upstream": {"url": "https://upstream.test"},
            "server": {"listenPath": {"value": listen_path, "strip": true}}
        }
    })
}

/// A policy granting `apis`.
pub fn policy(id: &str, name: &str, apis: &[&str]) -> Value {
    let rights: serde_json::Map<String, Value> =
        apis.iter().map(|a| (a.to_string(), json!({"api_id": a, "versions": ["Default"]}))).collect();
    json!({"id": id, "name": name, "org_id": "default", "rate": 100, "per": 60, "active": true, "access_rights": rights})
}
