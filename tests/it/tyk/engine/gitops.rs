//! Tyk configuration from Git: tags replayed out of order and verified, the history that
//! records them, an environment of `gateform.toml` with `dialect = "tyk"`, drift from an
//! edit made on the gateway, and a saved plan refused once the gateway moved.

use serde_json::{Value, json};

use super::{TykBox, classic, oas, policy, run, run_env, write_set};
use crate::gitops::{Repo, ledger_in};

const SETTINGS: &str = r#"# Environments of the Tyk fixture repository.
[environments.prod]
dialect = "tyk"
path = "tyk"
headers = { "x-tyk-authorization" = "${TYK_GW_SECRET}" }
options = { reload = "node" }
"#;

fn index(apis: &[&str], policies: &[&str]) -> String {
    let files: Vec<Value> = apis.iter().map(|f| json!({"file": f})).collect();
    let pols: Vec<Value> = policies.iter().map(|f| json!({"file": f})).collect();
    serde_json::to_string_pretty(&json!({"type": "apidef", "files": files, "policies": pols})).unwrap()
}

fn text(v: Value) -> String {
    serde_json::to_string_pretty(&v).unwrap()
}

/// v1: orders and gold; v2: orders renamed, billing (OAS) added, gold grants both; v3:
/// billing gone, orders moved, silver added.
fn tagged() -> Repo {
    let r = Repo::new();
    let gold1 = text(policy("gold", "Gold", &["orders"]));
    r.commit(
        &[
            ("gateform.toml", Some(SETTINGS)),
            ("tyk/.tyk.json", Some(&index(&["api-orders.json"], &["policy-gold.json"]))),
            ("tyk/api-orders.json", Some(&text(classic("orders", "Orders", "/orders/")))),
            ("tyk/policy-gold.json", Some(&gold1)),
        ],
        "Orders and gold",
    );
    r.tag("v1");
    r.commit(
        &[
            ("tyk/.tyk.json", Some(&index(&["api-orders.json", "oas-billing.json"], &["policy-gold.json"]))),
            ("tyk/api-orders.json", Some(&text(classic("orders", "Orders API", "/orders/")))),
            ("tyk/oas-billing.json", Some(&text(json!({"oas": oas("billing", "Billing", "/billing/")})))),
            ("tyk/policy-gold.json", Some(&text(policy("gold", "Gold", &["orders", "billing"])))),
        ],
        "Billing",
    );
    r.tag("v2");
    r.commit(
        &[
            ("tyk/.tyk.json", Some(&index(&["api-orders.json"], &["policy-gold.json", "policy-silver.json"]))),
            ("tyk/api-orders.json", Some(&text(classic("orders", "Orders API", "/v3/orders/")))),
            ("tyk/oas-billing.json", None),
            ("tyk/policy-gold.json", Some(&gold1)),
            ("tyk/policy-silver.json", Some(&text(policy("silver", "Silver", &["orders"])))),
        ],
        "Billing is gone",
    );
    r.tag("v3");
    r
}

#[test]
fn three_tags_replayed_out_of_order_are_verified_and_recorded() {
    let repo = tagged();
    let tb = TykBox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir).to_string_lossy().into_owned();
    let r = repo.path_str();
    let want: &[(&str, &[&str], &[&str])] = &[
        ("v1", &["orders"], &["gold"]),
        ("v3", &["orders"], &["gold", "silver"]),
        ("v2", &["billing", "orders"], &["gold"]),
        ("v1", &["orders"], &["gold"]),
    ];
    for (i, (rev, apis, policies)) in want.iter().enumerate() {
        let replay = run(&tb, &["replay", "--repo", &r, "--ref", rev, "--env", "prod", "--ledger", &ledger]);
        replay.ok();
        assert!(
            replay.stdout.contains("  Verification:     holds: a fresh plan of the gateway is empty"),
            "{}",
            replay.stdout
        );
        assert!(replay.stdout.contains("(Tyk 5.8.0), environment \"prod\""), "{}", replay.stdout);
        assert_eq!(tb.api_ids(), *apis, "after {rev}");
        assert_eq!(tb.policy_ids(), *policies, "after {rev}");
        assert_eq!(tb.sb().request_count("GET", "/tyk/reload"), i as u64 + 1, "one reload per replay");
        let plan = run(&tb, &["plan", "--repo", &r, "--ref", rev, "--env", "prod", "--detailed-exitcode"]);
        plan.expect_code(0);
    }
    assert_eq!(tb.get("/tyk/apis/orders")["proxy"]["listen_path"], "/orders/");
    let history = crate::common::gateform(&["history", "--ledger", &ledger, "--env", "prod", "--format", "json"]);
    history.ok();
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let commits: Vec<&str> =
        doc["runs"].as_array().unwrap().iter().map(|r| r["source"]["commit"].as_str().unwrap()).collect();
    let expected: Vec<String> = ["v1", "v3", "v2", "v1"].iter().map(|t| repo.commit_of(t)).collect();
    assert_eq!(commits, expected);
    assert!(doc["runs"].as_array().unwrap().iter().all(|r| r["result"] == "success" && r["command"] == "replay"));
}

#[test]
fn an_edit_on_the_gateway_shows_as_drift_and_a_saved_plan_is_then_stale() {
    let tb = TykBox::start();
    let (tmp, dir, d) = super::scratch();
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/")), ("policies/p.json", policy("p", "P", &["a"]))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    run(&tb, &["drift", "-s", &d]).expect_code(0);

    // Someone changes the API's upstream on the gateway.
    let mut edited = tb.get("/tyk/apis/a");
    edited["proxy"]["target_url"] = json!("http://elsewhere.test/");
    assert_eq!(tb.call("PUT", "/tyk/apis/a", Some(&edited)).0, 200);
    tb.reload();
    let drift = run(&tb, &["drift", "-s", &d]);
    drift.expect_code(2);
    assert!(drift.stdout.contains("~ apis \"A\" (a) {"), "{}", drift.stdout);
    assert!(drift.stdout.contains("\"http://elsewhere.test/\" -> \"http://upstream.test/\""), "{}", drift.stdout);

    // A plan saved now, then another edit: applying it is refused, nothing written.
    let saved = tmp.path().join("plan.json").to_string_lossy().into_owned();
    let ledger = tmp.path().join("ledger.db").to_string_lossy().into_owned();
    run(&tb, &["plan", "-s", &d, "--out", &saved, "--ledger", &ledger]).ok();
    let mut again = tb.get("/tyk/policies/p");
    again["rate"] = json!(7);
    assert_eq!(tb.call("PUT", "/tyk/policies/p", Some(&again)).0, 200);
    tb.reload();
    let writes = tb.sb().request_count("PUT", "/tyk/apis/a");
    let apply = run_env(&tb, &["apply", &saved, "--ledger", &ledger], &[]);
    apply.expect_code(1);
    assert!(apply.stderr.contains("Saved plan is stale"), "{}", apply.stderr);
    assert!(apply.stderr.contains("policies \"P\" (p) changed"), "names what changed: {}", apply.stderr);
    assert_eq!(tb.sb().request_count("PUT", "/tyk/apis/a"), writes, "nothing written");
    assert_eq!(tb.reloads(), 1);
}
