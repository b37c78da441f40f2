//! Gateways gateform must refuse, and writes the gateway does not take, each with a clear
//! error: a wrong secret, a Dashboard-managed gateway, an RPC worker, a write the gateway
//! answered and ignored (tyk-sync issue #120), policies written where they are never read,
//! an API loaded from a hand-placed file.

use gateform::tyk::sandbox::store::APPS;
use gateform::tyk::sandbox::{IgnoreRule, PolicySource, TykSandboxOptions};
use serde_json::json;

use super::{TykBox, classic, policy, run, write_set};
use crate::common::gateform_env;

fn config(files: &[(&str, serde_json::Value)]) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tyk");
    write_set(&dir, files);
    let d = dir.to_string_lossy().into_owned();
    (tmp, d)
}

#[test]
fn a_wrong_or_missing_secret_is_a_clear_error() {
    let tb = TykBox::start();
    let (_tmp, d) = config(&[("apps/a.json", classic("a", "A", "/a/"))]);
    for env in [vec![("TYK_GW_SECRET", "wrong")], vec![]] {
        let run = gateform_env(&["plan", "-s", &d, "--gateway", &tb.url], &env);
        run.expect_code(1);
        assert!(
            run.stderr.contains("the gateway refused the secret: GET /tyk/apis answered HTTP 403"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("set TYK_GW_SECRET"), "{}", run.stderr);
        assert!(!run.stderr.contains("wrong\""), "{}", run.stderr);
    }
    let header = gateform_env(
        &["plan", "-s", &d, "--gateway", &tb.url, "--header", &format!("x-tyk-authorization: {}", super::SECRET)],
        &[],
    );
    header.ok();
    assert!(!header.stdout.contains(super::SECRET) && !header.stderr.contains(super::SECRET));
}

#[test]
fn a_dashboard_managed_gateway_is_read_but_never_written() {
    let tb = TykBox::start_with(TykSandboxOptions { use_db_app_configs: true, ..Default::default() });
    let (_tmp, d) = config(&[("apps/a.json", classic("a", "A", "/a/"))]);
    run(&tb, &["plan", "-s", &d]).ok();
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.expect_code(1);
    assert!(
        apply.stderr.contains("the gateway is managed by a Tyk Dashboard (use_db_app_configs: true"),
        "{}",
        apply.stderr
    );
    assert_eq!(tb.sb().request_count("POST", "/tyk/apis"), 0, "nothing was written");
}

#[test]
fn an_rpc_worker_is_refused() {
    let tb = TykBox::start_with(TykSandboxOptions { rpc_worker: true, ..Default::default() });
    let (_tmp, d) = config(&[("apps/a.json", classic("a", "A", "/a/"))]);
    let plan = run(&tb, &["plan", "-s", &d]);
    plan.expect_code(1);
    assert!(plan.stderr.contains("the gateway is an RPC (MDCB) worker"), "{}", plan.stderr);
}

#[test]
fn a_write_the_gateway_ignored_fails_the_apply_naming_the_api() {
    let tb = TykBox::start();
    let (tmp, d) = config(&[("apps/a.json", classic("a", "A", "/a/"))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    // tyk-sync issue #120: `use_keyless` flipped, the gateway says ok and keeps the old file.
    let mut v2 = classic("a", "A", "/a/");
    v2["use_keyless"] = json!(false);
    v2["use_standard_auth"] = json!(true);
    write_set(&tmp.path().join("tyk"), &[("apps/a.json", v2)]);
    tb.sb().ignore_writes(IgnoreRule { kind: None, id: Some("a".into()), times: Some(1) });
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve", "--timeout", "2"]);
    apply.expect_code(1);
    let err = &apply.stderr;
    assert!(err.contains("after the reload the gateway does not serve what was written (1 object(s)"), "{err}");
    assert!(
        err.contains("API \"A\" (a): served otherwise than written: `use_keyless` is true, written false"),
        "{err}"
    );
    assert!(err.contains("tyk-sync issue #120"), "{err}");
    assert_eq!(tb.reloads(), 2, "one reload per apply, the verification after it");
    // The next apply converges.
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.get("/tyk/apis/a")["use_keyless"], false);
}

#[test]
fn policies_written_where_the_gateway_never_reads_them_are_named() {
    let tb = TykBox::start_with(TykSandboxOptions { policy_source: PolicySource::RecordName, ..Default::default() });
    let (_tmp, d) = config(&[("apps/a.json", classic("a", "A", "/a/")), ("policies/p.json", policy("p", "P", &["a"]))]);
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve", "--option", "reload=node"]);
    apply.expect_code(1);
    assert!(apply.stderr.contains("policy \"P\" (p): not served after the reload"), "{}", apply.stderr);
    assert!(
        apply.stderr.contains("set `policies.policy_source` to `file` and `policies.policy_path`"),
        "{}",
        apply.stderr
    );
}

#[test]
fn an_api_from_a_hand_placed_file_cannot_be_changed_and_says_why() {
    let tb = TykBox::start();
    let def = classic("1", "Sample", "/sample/");
    tb.sb().place_file(APPS, "app_sample.json", &def.to_string()).unwrap();
    tb.reload();
    let (_tmp, d) = config(&[("apps/app_sample.json", classic("1", "Sample v2", "/sample/"))]);
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve", "--option", "reload=node"]);
    apply.expect_code(1);
    assert!(apply.stderr.contains("API \"Sample v2\" (1): served otherwise than written: "), "{}", apply.stderr);
    assert!(apply.stderr.contains("`name` is \"Sample\", written \"Sample v2\""), "{}", apply.stderr);
    assert!(apply.stderr.contains("placed by hand under a name other than `<id>.json`"), "{}", apply.stderr);
}
