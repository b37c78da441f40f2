//! Creating, updating and deleting classic APIs, Tyk OAS APIs and policies through the
//! binary; one reload per apply; dumps that plan back empty; plan formats.

use serde_json::{Value, json};

use super::{TykBox, classic, oas, policy, run, write_set};
use gateform::tyk::sandbox::TykSandboxOptions;

fn plan_is_empty(tb: &TykBox, dir: &str) {
    let plan = run(tb, &["plan", "-s", dir, "--detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn classic_and_oas_apis_and_policies_are_created_updated_and_deleted() {
    let tb = TykBox::start();
    let (_tmp, dir, d) = super::scratch();

    // v1: created, in one apply, one reload.
    write_set(
        &dir,
        &[
            ("apps/a.json", classic("a", "Orders", "/orders/")),
            ("apps/o.json", oas("o", "Billing", "/billing/")),
            ("policies/p.json", policy("p", "Gold", &["a", "o"])),
        ],
    );
    let plan = run(&tb, &["plan", "-s", &d, "--detailed-exitcode"]);
    plan.expect_code(2);
    assert!(
        plan.stdout.contains("Gateway: http://127.0.0.1:") && plan.stdout.contains("(Tyk 5.8.0)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("+ apis \"Orders\" (a) {"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ oas_apis \"Billing\" (o) {"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ policies \"Gold\" (p) {"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Plan: 3 to add, 0 to change, 0 to destroy."), "{}", plan.stdout);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.reloads(), 1, "one reload for the whole apply");
    assert_eq!(tb.api_ids(), vec!["a", "o"]);
    assert_eq!(tb.policy_ids(), vec!["p"]);
    assert_eq!(tb.get("/tyk/apis/oas/o")["x-tyk-api-gateway"]["info"]["name"], "Billing");
    plan_is_empty(&tb, &d);

    // v2: the classic API renamed (same api_id) and moved, the OAS API's upstream changed,
    // the policy's rate changed.
    let mut o = oas("o", "Billing", "/billing/");
    o["x-tyk-api-gateway"]["upstream"]["url"] = json!("https://billing-v2.test");
    let mut p = policy("p", "Gold", &["a", "o"]);
    p["rate"] = json!(500);
    write_set(
        &dir,
        &[("apps/a.json", classic("a", "Orders v2", "/v2/orders/")), ("apps/o.json", o), ("policies/p.json", p)],
    );
    let plan = run(&tb, &["plan", "-s", &d]);
    plan.ok();
    assert!(plan.stdout.contains("~ apis \"Orders v2\" (a) {"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ name") && plan.stdout.contains("\"Orders\" -> \"Orders v2\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("\"/orders/\" -> \"/v2/orders/\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ oas_apis \"Billing\" (o) {"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ policies \"Gold\" (p) {") && plan.stdout.contains("100 -> 500"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Plan: 0 to add, 3 to change, 0 to destroy."), "{}", plan.stdout);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.reloads(), 2);
    let a = tb.get("/tyk/apis/a");
    assert_eq!((a["name"].as_str(), a["proxy"]["listen_path"].as_str()), (Some("Orders v2"), Some("/v2/orders/")));
    assert_eq!(tb.get("/tyk/apis/oas/o")["x-tyk-api-gateway"]["upstream"]["url"], "https://billing-v2.test");
    assert_eq!(tb.get("/tyk/policies/p")["rate"], 500);
    plan_is_empty(&tb, &d);

    // v3: the OAS API and the policy deleted, another policy created.
    write_set(
        &dir,
        &[
            ("apps/a.json", classic("a", "Orders v2", "/v2/orders/")),
            ("policies/q.json", policy("q", "Silver", &["a"])),
        ],
    );
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert!(apply.stdout.contains("- oas_apis \"Billing\" (o)"), "{}", apply.stdout);
    assert!(apply.stdout.contains("Apply complete! Resources: 1 added, 0 changed, 2 destroyed."), "{}", apply.stdout);
    assert_eq!(tb.api_ids(), vec!["a"]);
    assert_eq!(tb.policy_ids(), vec!["q"]);
    assert_eq!(tb.reloads(), 3);
    plan_is_empty(&tb, &d);
}

#[test]
fn a_policy_and_its_api_are_created_in_one_apply_and_deleted_in_another() {
    let tb = TykBox::start();
    let (_tmp, dir, d) = super::scratch();
    write_set(
        &dir,
        &[
            ("apps/keep.json", classic("keep", "Keep", "/keep/")),
            ("apps/x.json", classic("x", "X", "/x/")),
            ("policies/px.json", policy("px", "PX", &["x"])),
        ],
    );
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.api_ids(), vec!["keep", "x"]);
    assert_eq!(tb.policy_ids(), vec!["px"]);

    // Deleting only the API would leave the policy dangling: refused at plan time, at the place.
    write_set(
        &dir,
        &[("apps/keep.json", classic("keep", "Keep", "/keep/")), ("policies/px.json", policy("px", "PX", &["x"]))],
    );
    let plan = run(&tb, &["plan", "-s", &d]);
    plan.expect_code(1);
    let at = format!("{d}/policies/px.json:");
    assert!(plan.stderr.contains(&at), "{}", plan.stderr);
    assert!(
        plan.stderr.contains("policy \"PX\" (px): `access_rights` names API \"x\", which this plan deletes"),
        "{}",
        plan.stderr
    );

    write_set(&dir, &[("apps/keep.json", classic("keep", "Keep", "/keep/"))]);
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert!(apply.stdout.contains("0 added, 0 changed, 2 destroyed"), "{}", apply.stdout);
    assert_eq!(tb.api_ids(), vec!["keep"]);
    assert!(tb.policy_ids().is_empty());
    assert_eq!(tb.reloads(), 2, "one reload per apply");
    plan_is_empty(&tb, &d);
}

#[test]
fn a_classic_api_becomes_an_oas_api_with_the_same_api_id() {
    let tb = TykBox::start();
    let (_tmp, dir, d) = super::scratch();
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/"))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    write_set(&dir, &[("apps/a.json", oas("a", "A", "/a/"))]);
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert!(apply.stdout.contains("1 added, 0 changed, 1 destroyed"), "{}", apply.stdout);
    assert_eq!(tb.get("/tyk/apis/a")["is_oas"], true);
    plan_is_empty(&tb, &d);
}

#[test]
fn a_cluster_reloads_once_for_every_node_and_one_node_only_itself() {
    let tb = TykBox::start_with(TykSandboxOptions { nodes: 2, ..Default::default() });
    let (_tmp, dir, d) = super::scratch();
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/"))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.sb().request_count("GET", "/tyk/reload/group"), 1);
    assert_eq!(tb.sb().request_count("GET", "/tyk/reload"), 0);
    assert_eq!(tb.call_on(1, "GET", "/tyk/apis/a", None).0, 200, "the other node serves it too");

    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/")), ("apps/b.json", classic("b", "B", "/b/"))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve", "--option", "reload=node"]).ok();
    assert_eq!(tb.sb().request_count("GET", "/tyk/reload"), 1, "reload?block=true on the node addressed");
    assert_eq!(tb.sb().request_count("GET", "/tyk/reload/group"), 1);
    assert_eq!(tb.call("GET", "/tyk/apis/b", None).0, 200);
    assert_eq!(tb.call_on(1, "GET", "/tyk/apis/b", None).0, 404, "the other node has not reloaded");

    let bad = run(&tb, &["plan", "-s", &d, "--option", "reload=sometimes"]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("option reload = \"sometimes\": expected \"group\" or \"node\""), "{}", bad.stderr);
}

#[test]
fn a_dump_is_a_tyk_sync_layout_that_plans_back_empty() {
    let tb = TykBox::start();
    let (tmp, dir, d) = super::scratch();
    let mut secret_api = classic("j", "JWT", "/jwt/");
    secret_api["enable_jwt"] = json!(true);
    secret_api["use_keyless"] = json!(false);
    secret_api["jwt_signing_method"] = json!("hmac");
    secret_api["jwt_source"] = json!("c3VwZXItc2VjcmV0LWtleQ==");
    write_set(
        &dir,
        &[
            ("apps/a.json", classic("a", "A", "/a/")),
            ("apps/j.json", secret_api),
            ("apps/o.json", oas("o", "O", "/o/")),
            ("policies/p.json", policy("p", "P", &["a", "o", "j"])),
        ],
    );
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert!(!apply.stdout.contains("c3VwZXItc2VjcmV0LWtleQ==") && !apply.stderr.contains("c3VwZXItc2VjcmV0LWtleQ=="));
    assert!(apply.stdout.contains("(sensitive value)"), "{}", apply.stdout);

    let out = tmp.path().join("dump");
    let o = out.to_string_lossy().into_owned();
    let to_stdout = run(&tb, &["dump"]);
    to_stdout.expect_code(1);
    assert!(to_stdout.stderr.contains("name a directory to write them in with -o DIR"), "{}", to_stdout.stderr);
    let dump = run(&tb, &["dump", "-o", &o]);
    dump.ok();
    assert!(dump.stderr.contains("SECRETS.md lists the 1 variables"), "{}", dump.stderr);
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, vec![".tyk.json", "SECRETS.md", "api-a.json", "api-j.json", "oas-o.json", "policy-p.json"]);
    let all: String = names.iter().map(|n| std::fs::read_to_string(out.join(n)).unwrap()).collect();
    assert!(!all.contains("c3VwZXItc2VjcmV0LWtleQ=="), "no secret in the dump");
    assert!(!all.contains("gateform"), "no marker in the dump: {all}");
    let api: Value = serde_json::from_str(&std::fs::read_to_string(out.join("api-a.json")).unwrap()).unwrap();
    assert!(api.as_object().unwrap().len() < 10, "zero values are left out: {api}");

    let var = "DECK_TYK_API_J_JWT_SOURCE";
    assert!(all.contains(var), "{all}");
    let again = super::run_env(&tb, &["plan", "-s", &o, "--detailed-exitcode"], &[(var, "c3VwZXItc2VjcmV0LWtleQ==")]);
    again.expect_code(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn plans_render_as_json_and_markdown_and_the_dialect_is_asked_of_the_gateway() {
    let tb = TykBox::start();
    let (tmp, dir, d) = super::scratch();
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/"))]);
    let json = run(&tb, &["plan", "-s", &d, "--format", "json", "--dialect", "tyk"]);
    json.ok();
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["changes"][0]["kind"], "apis");
    assert_eq!(doc["changes"][0]["id"], "a");
    assert_eq!(doc["changes"][0]["action"], "create");
    let md = run(&tb, &["plan", "-s", &d, "--format", "markdown"]);
    md.ok();
    assert!(md.stdout.contains("apis") && md.stdout.contains("\"A\" (a)"), "{}", md.stdout);

    // No dialect named, no configuration to tell: `GET /hello` says Tyk.
    let dump = run(&tb, &["dump", "-o", &tmp.path().join("d").to_string_lossy()]);
    dump.ok();
    let kong = run(&tb, &["dump", "--dialect", "kong"]);
    kong.expect_code(1);
}

/// Several nodes of one Tyk cluster (issue "DB-less, several nodes"): one group reload through
/// the first, then every node is verified; a node that did not reload shows in `drift`.
#[test]
fn an_environment_of_three_tyk_nodes_reloads_once_and_verifies_each() {
    let tb = TykBox::start_with(TykSandboxOptions { nodes: 3, ..Default::default() });
    let (_tmp, dir, d) = super::scratch();
    let nodes = tb.sb().node_urls();
    let mut gateways: Vec<&str> = Vec::new();
    for n in &nodes {
        gateways.extend(["--gateway", n.as_str()]);
    }
    let with_nodes = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(&gateways);
        crate::common::gateform_env(&all, &[("TYK_GW_SECRET", super::SECRET)])
    };
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/"))]);
    let apply = with_nodes(&["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert_eq!(tb.reloads(), 1, "one group reload for the cluster: {}", apply.stdout);
    for i in 0..3 {
        assert_eq!(tb.call_on(i, "GET", "/tyk/apis/a", None).0, 200, "node {i} serves it");
    }
    let drift = with_nodes(&["drift", "-s", &d]);
    assert_eq!(drift.code, 0, "{}{}", drift.stdout, drift.stderr);

    // Node 0 alone reloads a new API: the other two diverge from Git and from node 0.
    write_set(&dir, &[("apps/a.json", classic("a", "A", "/a/")), ("apps/b.json", classic("b", "B", "/b/"))]);
    run(&tb, &["apply", "-s", &d, "--auto-approve", "--option", "reload=node"]).ok();
    let drift = with_nodes(&["drift", "-s", &d, "--format", "json"]);
    assert_eq!(drift.code, 2, "{}{}", drift.stdout, drift.stderr);
    let report: Value = serde_json::from_str(&drift.stdout).unwrap();
    let text = report.to_string();
    for n in &nodes[1..] {
        assert!(text.contains(n.as_str()), "{n} is named: {report:#}");
    }
    // Applying to the environment heals them with one more group reload.
    let before = tb.reloads();
    let heal = with_nodes(&["apply", "-s", &d, "--auto-approve"]);
    heal.ok();
    assert_eq!(tb.reloads(), before + 1, "{}{}", heal.stdout, heal.stderr);
    for i in 0..3 {
        assert_eq!(tb.call_on(i, "GET", "/tyk/apis/b", None).0, 200, "node {i} serves b");
    }
}
