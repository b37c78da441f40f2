//! `gateform drill`: a tag replayed onto an empty rehearsal and verified, the RTO measured
//! against the objective, and a hand-made drift of the live environment reported as the RPO
//! exposure, dated by the ledger.

use serde_json::{Value, json};

use super::{assert_no_secrets, dbless, names, repo};
use crate::common::{TestSandbox, gateform};

#[test]
fn a_drill_reports_the_rto_and_a_hand_made_drift_as_rpo_exposure() {
    let live = TestSandbox::start();
    let repo = repo(&[&live.url], "rto = \"15m\"\n");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let path = repo.path_str();
    gateform(&["replay", "--repo", &path, "--ref", "v1", "--env", "prod", "--ledger", &ledger]).ok();
    let history: Value =
        serde_json::from_str(&gateform(&["history", "--ledger", &ledger, "--format", "json"]).stdout).unwrap();
    let replay_run = history["runs"][0]["id"].clone();

    // By hand on the live gateway: a changed service and a consumer Git does not know.
    live.send("PATCH", "/services/orders", Some(json!({"port": 7070}))).unwrap();
    live.send("POST", "/consumers", Some(json!({"username": "eve"}))).unwrap();

    let drill = |extra: &[&str]| {
        let mut args = vec!["drill", "--repo", &path, "--ref", "v1", "--env", "prod", "--ledger", &ledger];
        args.extend(extra);
        gateform(&args)
    };
    let run = drill(&["--format", "json"]);
    run.ok();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["success"], true, "{doc}");
    assert_eq!(doc["rehearsal"]["sandbox"], true);
    assert_eq!(doc["verification"]["result"], "holds");
    assert_eq!(doc["restored"], doc["desired"]);
    assert_eq!(doc["restored"]["services"], 2);
    let rto = doc["rto"]["seconds"].as_f64().unwrap();
    assert!(rto > 0.0 && rto < 900.0, "{rto}");
    assert_eq!(doc["rto"]["objective_seconds"], 900.0);
    assert_eq!(doc["rto"]["met"], true);
    let rpo = &doc["rpo"];
    assert_eq!(rpo["environment"], "the environment \"prod\"");
    assert_eq!((rpo["lost"].clone(), rpo["missing"].clone()), (json!(2), json!(0)), "{rpo}");
    assert_eq!(rpo["since"]["run"], replay_run);
    assert_eq!(rpo["since"]["command"], "replay");
    assert!(rpo["exposure_seconds"].as_f64().unwrap() >= 0.0);
    let changes: Vec<(String, String)> = rpo["nodes"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap().to_owned(), c["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert!(changes.contains(&("update".into(), "services".into())), "{changes:?}");
    assert!(changes.contains(&("delete".into(), "consumers".into())), "{changes:?}");
    assert_eq!(
        names(&live, "/consumers", "username"),
        vec!["eve", "partner", "web-shop"],
        "the drill writes nothing live"
    );
    assert_no_secrets(&format!("{}{}", run.stdout, run.stderr));

    let text = drill(&[]);
    text.ok();
    let out = &text.stdout;
    assert!(out.starts_with("Drill report\n"), "{out}");
    assert!(out.contains("  Verification:     holds: a fresh plan of the rehearsal is empty"), "{out}");
    assert!(out.contains(", objective 15m: met (read "), "{out}");
    assert!(
        out.contains("  RPO exposure:     the environment \"prod\": 2 live change(s) a restore would lose, 0 entities"),
        "{out}"
    );
    assert!(
        out.contains("present for at most ") && out.contains(&format!("since run #{replay_run} (replay of commit")),
        "{out}"
    );
    assert!(out.contains("      ~ service \"orders\": changed on the gateway, a restore reverts it"), "{out}");
    assert!(out.contains("      - consumer \"eve\": only on the gateway, a restore deletes it"), "{out}");
    assert!(out.contains("  Result:           PASS"), "{out}");

    let missed = drill(&["--rto", "1ms"]);
    missed.expect_code(1);
    assert!(missed.stdout.contains(", objective 0.00 s: MISSED"), "{}", missed.stdout);
    assert!(
        missed.stdout.contains("  Result:           FAIL: the recovery-time objective is missed"),
        "{}",
        missed.stdout
    );
}

#[test]
fn a_drill_restores_onto_an_empty_rehearsal_gateway_only() {
    let busy = TestSandbox::start();
    busy.send("POST", "/services", Some(json!({"name": "keep", "host": "keep.internal"}))).unwrap();
    let repo = repo(&[&busy.url], "");
    let path = repo.path_str();
    let refused = gateform(&["drill", "--repo", &path, "--ref", "v2", "--rehearsal", &busy.url]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains(&format!("the rehearsal gateway {} is not empty: it holds 1 entities", busy.url)),
        "{}",
        refused.stderr
    );
    assert_eq!(names(&busy, "/services", "name"), vec!["keep"]);

    // A DB-less rehearsal, no live environment named: RTO only.
    let rehearsal = dbless();
    let run = gateform(&["drill", "--repo", &path, "--ref", "v2", "--rehearsal", &rehearsal.url]);
    run.ok();
    assert!(run.stdout.contains(&format!("  Rehearsal:        {} (Kong 3.9.3)", rehearsal.url)), "{}", run.stdout);
    assert!(run.stdout.contains("no objective set"), "{}", run.stdout);
    assert!(
        run.stdout.contains("  RPO exposure:     not measured: no live environment named (--env)"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&rehearsal, "/services", "name"), vec!["inventory", "orders"]);
}

#[test]
fn the_replay_report_counts_what_was_actually_restored() {
    let sb = TestSandbox::start();
    let repo = repo(&[&sb.url], "");
    sb.sandbox().inject_fault(gateform::kong::sandbox::FaultRule {
        method: Some("PUT".into()),
        path: "/services/*".into(),
        status: Some(400),
        body: Some(json!({"message": "refused by the test"})),
        headers: Default::default(),
        times: Some(1),
        delay_ms: 0,
    });
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let run = gateform(&["replay", "--repo", &repo.path_str(), "--ref", "v1", "--env", "prod", "--ledger", &ledger]);
    run.expect_code(1);
    assert!(
        run.stdout.contains(
            "  Restored:         2 consumers, 1 of 2 services, 1 keyauth_credentials, 1 basicauth_credentials, 1 of 2 routes\n"
        ),
        "{}",
        run.stdout
    );
    let json = gateform(&[
        "replay",
        "--repo",
        &repo.path_str(),
        "--ref",
        "v1",
        "--env",
        "prod",
        "--ledger",
        &ledger,
        "--format",
        "json",
    ]);
    json.ok();
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["restored"], doc["desired"]);
}
