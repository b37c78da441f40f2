//! Nothing is deleted unless gateform owns it: its marker in `config_data` / `meta_data`
//! decides, never `tags`. Unmarked objects the configuration declares are adopted; objects
//! another scope owns are refused; listen paths held by objects left alone are plan errors.

use serde_json::{Value, json};

use super::{TykBox, classic, policy, run, write_set};

/// Writes an API straight through the Gateway API (as a person or another tool would) and
/// reloads.
fn place(tb: &TykBox, def: &Value) {
    assert_eq!(tb.call("POST", "/tyk/apis", Some(def)).0, 200);
    tb.reload();
}

#[test]
fn an_unowned_api_is_never_deleted_and_a_declared_one_is_adopted() {
    let tb = TykBox::start();
    let mut by_hand = classic("hand", "By hand", "/hand/");
    by_hand["tags"] = json!(["edge"]);
    place(&tb, &by_hand);
    place(&tb, &classic("adopt", "Adopt me", "/adopt/"));
    let (_tmp, dir, d) = super::scratch();
    write_set(
        &dir,
        &[
            ("apps/mine.json", classic("mine", "Mine", "/mine/")),
            ("apps/adopt.json", classic("adopt", "Adopted", "/adopt/")),
        ],
    );

    let plan = run(&tb, &["plan", "-s", &d]);
    plan.ok();
    assert!(!plan.stdout.contains("hand"), "an unowned API is not in the plan:\n{}", plan.stdout);
    assert!(
        plan.stdout.contains("~ apis \"Adopted\" (adopt) {"),
        "declared by id: adopted, not recreated\n{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("+ config_data = {\"gateform\":{\"owner\":[]}}"), "{}", plan.stdout);
    assert!(plan.stdout.contains("Plan: 1 to add, 1 to change, 0 to destroy."), "{}", plan.stdout);
    run(&tb, &["apply", "-s", &d, "--auto-approve"]).ok();
    assert_eq!(tb.api_ids(), vec!["adopt", "hand", "mine"]);
    let marker = &tb.get("/tyk/apis/mine")["config_data"]["gateform"];
    assert_eq!(marker, &json!({"owner": []}), "the marker is in config_data");
    assert_eq!(tb.get("/tyk/apis/hand")["tags"], json!(["edge"]), "tags are left alone");

    // Both owned APIs go; the one made by hand stays.
    write_set(&dir, &[("apps/other.json", classic("other", "Other", "/other/"))]);
    let apply = run(&tb, &["apply", "-s", &d, "--auto-approve"]);
    apply.ok();
    assert!(apply.stdout.contains("1 added, 0 changed, 2 destroyed"), "{}", apply.stdout);
    assert_eq!(tb.api_ids(), vec!["hand", "other"]);
}

#[test]
fn scopes_own_what_they_wrote_and_refuse_what_another_owns() {
    let tb = TykBox::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (da, db) = (a.to_string_lossy().into_owned(), b.to_string_lossy().into_owned());
    write_set(&a, &[("apps/a.json", classic("a", "A", "/a/")), ("policies/pa.json", policy("pa", "PA", &["a"]))]);
    write_set(&b, &[("apps/b.json", classic("b", "B", "/b/"))]);
    run(&tb, &["apply", "-s", &da, "--select-tag", "team-a", "--auto-approve"]).ok();
    run(&tb, &["apply", "-s", &db, "--select-tag", "team-b", "--auto-approve"]).ok();
    assert_eq!(tb.api_ids(), vec!["a", "b"], "team-b's apply leaves team-a's API alone");
    assert_eq!(tb.get("/tyk/policies/pa")["meta_data"]["gateform"]["owner"], json!(["team-a"]));
    assert_eq!(tb.get("/tyk/apis/a")["config_data"]["gateform"]["owner"], json!(["team-a"]));

    write_set(&b, &[("apps/b.json", classic("b", "B", "/b/")), ("apps/a.json", classic("a", "Taken", "/a/"))]);
    let plan = run(&tb, &["plan", "-s", &db, "--select-tag", "team-b"]);
    plan.expect_code(1);
    assert!(plan.stderr.contains(&format!("{db}/apps/a.json:1:1: error: API \"Taken\" (a) is on the gateway as API \"A\" (a), owned by the scope team-a")), "{}", plan.stderr);

    // A listen path another scope's API serves is a plan error.
    write_set(&b, &[("apps/b.json", classic("b", "B", "/a/"))]);
    let plan = run(&tb, &["plan", "-s", &db, "--select-tag", "team-b"]);
    plan.expect_code(1);
    assert!(plan.stderr.contains(&format!("{db}/apps/b.json:")), "{}", plan.stderr);
    assert!(
        plan.stderr.contains("API \"B\" (b) listens on /a/, which API \"A\" (a) serves on the gateway"),
        "{}",
        plan.stderr
    );
}
