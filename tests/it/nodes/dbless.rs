//! One DB-less node: planned as usual, applied as one `POST /config`, refusals placed at the
//! entity's file and line, replays verified by a fresh plan and the configuration hash.

use super::{V1, V2, assert_no_secrets, counts, dbless, hash, names};
use crate::common::{gateform, write};

fn indent(text: &str, n: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect()
}

#[test]
fn a_dbless_node_is_planned_as_usual_and_written_as_one_configuration() {
    let sb = dbless();
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = (write(dir.path(), "v1.yaml", V1), write(dir.path(), "v2.yaml", V2));
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let apply =
        |file: &str| gateform(&["apply", "-s", file, "--gateway", &sb.url, "--auto-approve", "--ledger", &ledger]);

    let first = apply(&v1);
    first.ok();
    assert!(first.stdout.contains("Plan: 8 to add, 0 to change, 0 to destroy."), "{}", first.stdout);
    assert!(first.stdout.contains("services \"orders\": Creation complete"), "{}", first.stdout);
    assert!(first.stdout.contains("Apply complete! Resources: 8 added, 0 changed, 0 destroyed."), "{}", first.stdout);
    assert_eq!(counts(&sb).get("POST"), Some(&1), "one POST /config, no entity writes: {:?}", counts(&sb));
    assert!(!counts(&sb).contains_key("PUT") && !counts(&sb).contains_key("DELETE"));
    assert_eq!(names(&sb, "/services", "name"), vec!["billing", "orders"]);
    assert_ne!(hash(&sb), "0".repeat(32));
    assert_no_secrets(&format!("{}{}", first.stdout, first.stderr));

    // Hashed basic-auth passwords and plain keys compare equal: no spurious diff.
    let again = gateform(&["plan", "-s", &v1, "--gateway", &sb.url, "--detailed-exitcode"]);
    again.ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let unchanged = apply(&v1);
    unchanged.ok();
    assert_eq!(counts(&sb).get("POST"), Some(&1), "nothing to load, nothing posted");

    let second = apply(&v2);
    second.ok();
    assert!(second.stdout.contains("Plan: 2 to add, 1 to change, 2 to destroy."), "{}", second.stdout);
    assert_eq!(counts(&sb).get("POST"), Some(&2));
    assert_eq!(names(&sb, "/services", "name"), vec!["inventory", "orders"]);
    assert_eq!(names(&sb, "/consumers", "username"), vec!["partner", "web-shop"], "untouched entities survive");
    let after = gateform(&["plan", "-s", &v2, "--gateway", &sb.url, "--detailed-exitcode"]);
    after.ok();
}

#[test]
fn a_refused_configuration_names_the_entity_at_its_line_and_changes_nothing() {
    let sb = dbless();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    gateform(&[
        "apply",
        "-s",
        &write(dir.path(), "v1.yaml", V1),
        "--gateway",
        &sb.url,
        "--auto-approve",
        "--ledger",
        &ledger,
    ])
    .ok();
    let before = hash(&sb);
    // A route with nothing to match on (Kong's entity check, which only the gateway runs),
    // next to a certificate whose key must never be shown.
    let a = rcgen::generate_simple_self_signed(vec!["a.dbless.test".into()]).unwrap();
    let key = a.signing_key.serialize_pem();
    let text = format!(
        "{V1}certificates:\n  - cert: |\n{}    key: |\n{}    snis: [a.dbless.test]\nroutes:\n  - name: nowhere\n    protocols: [http]\n    plugins:\n      - name: cors\n",
        indent(&a.cert.pem(), 6),
        indent(&key, 6)
    );
    let line = text.lines().position(|l| l == "routes:").unwrap() + 2;
    let file = write(dir.path(), "kong.yaml", &text);
    let run = gateform(&["apply", "-s", &file, "--gateway", &sb.url, "--auto-approve", "--ledger", &ledger]);
    run.expect_code(1);
    let err = &run.stderr;
    assert!(err.contains(&format!("{file}:{line}:")), "the route's place:\n{err}");
    assert!(err.contains("must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"), "{err}");
    assert!(err.contains("Error: apply failed; the gateway was not changed."), "{err}");
    // One configuration: nothing of it was taken, the independent certificate included.
    let not_attempted = err.split("Not attempted:\n").nth(1).unwrap_or_default();
    assert!(not_attempted.contains("  - plugins \"cors\" (route \"nowhere\") (create)"), "{err}");
    assert!(not_attempted.contains("  - snis \"a.dbless.test\""), "{err}");
    assert_eq!(hash(&sb), before, "the node keeps its configuration");
    assert!(sb.list("/certificates").is_empty());
    for l in key.lines().filter(|l| !l.starts_with("-----") && l.len() > 16) {
        assert!(!run.stdout.contains(l) && !err.contains(l), "key material leaked");
    }
}

#[test]
fn a_replay_onto_a_dbless_node_is_verified_by_a_fresh_plan_and_its_hash() {
    let sb = dbless();
    let repo = super::repo(&[&sb.url], "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let run = gateform(&["replay", "--repo", &repo.path_str(), "--ref", "v1", "--env", "prod", "--ledger", &ledger]);
    run.ok();
    assert!(
        run.stdout.contains("  Restored:         2 consumers, 2 services, 1 keyauth_credentials"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  Verification:     holds: a fresh plan of the gateway is empty"), "{}", run.stdout);
    assert_eq!(counts(&sb).get("POST"), Some(&1));
    assert_no_secrets(&format!("{}{}", run.stdout, run.stderr));
}
