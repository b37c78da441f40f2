//! The small commands every CLI of this kind has, checked against the CLI itself: shell
//! completions and manual pages name every command and flag; `init` writes what its
//! snapshots show and never overwrites; `--target` / `--exclude`, the protection tag and
//! `--max-destroy` shape or stop a plan; `apply --format json` prints events its schema
//! describes.

use std::collections::BTreeSet;

use clap::CommandFactory;
use serde_json::Value;

use crate::common::{TestSandbox, gateform, write};

/// Every subcommand and the long flags of each.
fn commands() -> Vec<(String, Vec<String>)> {
    let cli = gateform::cli::Cli::command();
    cli.get_subcommands()
        .map(|c| {
            let flags = c.get_arguments().filter(|a| !a.is_hide_set()).filter_map(|a| a.get_long()).map(String::from);
            (c.get_name().to_owned(), flags.collect())
        })
        .collect()
}

#[test]
fn completions_name_every_command_and_flag() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = gateform(&["completion", shell]);
        run.ok();
        for (name, flags) in commands() {
            assert!(run.stdout.contains(&name), "{shell}: no {name}");
            for f in flags {
                assert!(run.stdout.contains(&f), "{shell}: no --{f} of {name}");
            }
        }
    }
    let run = gateform(&["completion", "tcsh"]);
    run.expect_code(2);
}

#[test]
fn man_pages_document_every_command_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let run = gateform(&["man", "--dir", dir.path().to_str().unwrap()]);
    run.ok();
    let top = std::fs::read_to_string(dir.path().join("gateform.1")).unwrap();
    assert!(top.starts_with(".ie") && top.contains(".TH gateform 1"), "{top}");
    for (name, flags) in commands() {
        let page = std::fs::read_to_string(dir.path().join(format!("gateform-{name}.1")))
            .unwrap_or_else(|e| panic!("gateform-{name}.1: {e}"));
        assert!(page.contains(&format!(".TH gateform-{name} 1")), "{page}");
        assert!(top.contains(&name), "gateform.1 does not list {name}");
        for f in flags {
            // roff escapes dashes: --max-destroy is \-\-max\-destroy.
            assert!(page.contains(&format!("\\-\\-{}", f.replace('-', "\\-"))), "gateform-{name}.1 has no --{f}");
        }
    }
    assert_eq!(gateform(&["man"]).stdout, top);
}

#[test]
fn init_writes_a_commented_gateform_toml_and_the_ci_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = gateform(&["init", "--dir", d, "--ci", "github", "--action", "acme/gateform@v1"]);
    run.ok();
    let toml = std::fs::read_to_string(dir.path().join("gateform.toml")).unwrap();
    insta::assert_snapshot!("init_gateform_toml", toml);
    let workflow = std::fs::read_to_string(dir.path().join(".github/workflows/gateform.yml")).unwrap();
    assert!(workflow.contains("uses: acme/gateform@v1") && !workflow.contains("OWNER/"), "{workflow}");
    insta::assert_snapshot!("init_github_workflow", workflow);
    // The file gateform writes is one gateform reads: both environments resolve.
    let parsed = gateform::source::environments::Settings::parse(&gateform::source::Input::new("gateform.toml", toml));
    assert!(parsed.is_ok(), "{:?}", parsed.err());

    // Never overwrite: a second run writes nothing, and says which files are in the way.
    std::fs::write(dir.path().join("gateform.toml"), "# mine\n").unwrap();
    let run = gateform(&["init", "--dir", d, "--ci", "gitlab"]);
    run.expect_code(1);
    assert!(run.stderr.contains("gateform.toml already exists; init never overwrites a file"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("gateform.toml")).unwrap(), "# mine\n");
    assert!(!dir.path().join(".gitlab-ci.yml").exists(), "nothing written when one file is in the way");

    let other = tempfile::tempdir().unwrap();
    gateform(&["init", "--dir", other.path().to_str().unwrap(), "--ci", "gitlab", "--path", "gateway/kong"]).ok();
    let gitlab = std::fs::read_to_string(other.path().join(".gitlab-ci.yml")).unwrap();
    assert_eq!(
        gitlab,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ci/gitlab/gateform.gitlab-ci.yml")).unwrap()
    );
    let toml = std::fs::read_to_string(other.path().join("gateform.toml")).unwrap();
    assert_eq!(toml.matches("path = \"gateway/kong\"").count(), 2);
    assert!(gateform(&["init", "--dir", other.path().to_str().unwrap(), "--path", "../x"]).code == 1);
}

const CONFIG: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    routes:
      - name: orders-api
        paths: [/orders]
        plugins:
          - name: cors
  - name: billing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
"#;

fn planned(run: &crate::common::Run) -> Vec<String> {
    run.stdout.lines().filter_map(|l| l.trim().strip_prefix("# ")).map(|l| l.to_owned()).collect()
}

#[test]
fn targets_pull_in_dependencies_and_excludes_drop_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", CONFIG);
    let run = gateform(&["plan", "--gateway", "sandbox", "-s", &file, "--target", "plugins:cors"]);
    run.ok();
    assert_eq!(
        planned(&run),
        [
            "services \"orders\" will be created",
            "routes \"orders-api\" will be created",
            "plugins \"cors\" (route \"orders-api\") will be created"
        ],
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("resource targeting is in effect: 3 of 5 changes are planned (2 of them"),
        "{}",
        run.stderr
    );
    let run = gateform(&["plan", "--gateway", "sandbox", "-s", &file, "--exclude", "service:orders"]);
    run.ok();
    assert_eq!(planned(&run), ["services \"billing\" will be created", "routes \"billing-api\" will be created"]);
    let run = gateform(&["plan", "--gateway", "sandbox", "-s", &file, "--target", "upstreams:x"]);
    run.ok();
    assert!(run.stderr.contains("--target upstreams:x names no entity with a change"), "{}", run.stderr);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    let run = gateform(&["plan", "--gateway", "sandbox", "-s", &file, "--target", "nokind:x"]);
    run.expect_code(1);
    assert!(run.stderr.contains("Kong has no kind `nokind`; its kinds are certificates,"), "{}", run.stderr);
}

#[test]
fn a_targeted_saved_plan_applies_with_its_selection() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", CONFIG);
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--target", "routes:billing-api", "--out", saved]).ok();
    let text = std::fs::read_to_string(saved).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["selection"]["targets"], serde_json::json!(["routes:billing-api"]));
    gateform(&["apply", saved]).ok();
    let names: BTreeSet<String> =
        sb.list("/services").iter().filter_map(|s| s["name"].as_str().map(String::from)).collect();
    assert_eq!(names, ["billing".to_owned()].into());
    assert!(gateform(&["apply", saved, "--target", "services:x"]).code == 2, "a saved plan takes no --target");
}

#[test]
fn a_protected_entity_or_too_many_deletes_fail_the_plan() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let protected =
        CONFIG.replace("host: billing.internal\n", "host: billing.internal\n    tags: [gateform-protect]\n");
    let file = write(dir.path(), "kong.yaml", &protected);
    gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve"]).ok();
    let empty = write(dir.path(), "empty.yaml", "_format_version: \"3.0\"\n");
    for cmd in ["plan", "apply"] {
        let mut args = vec![cmd, "--gateway", &sb.url, "-s", &empty];
        if cmd == "apply" {
            args.push("--auto-approve");
        }
        let run = gateform(&args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("the plan would destroy 1 protected entity:\n  - service \"billing\""),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("the tag `gateform-protect`"), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert_eq!(sb.list("/services").len(), 2, "nothing was destroyed");
    // Leaving it out lets the rest through (its route goes: only the service is protected);
    // the cap still holds.
    let args = ["plan", "--gateway", &sb.url, "-s", &empty, "--exclude", "services:billing"];
    gateform(&args).ok();
    let mut capped = args.to_vec();
    capped.extend(["--max-destroy", "3"]);
    let run = gateform(&capped);
    run.expect_code(1);
    assert!(
        run.stderr.contains("the plan would destroy 4 entities, more than --max-destroy 3 allows"),
        "{}",
        run.stderr
    );
    let last = capped.len() - 1;
    capped[last] = "4";
    gateform(&capped).ok();
    // drift only reports.
    let run = gateform(&["drift", "--gateway", &sb.url, "-s", &empty]);
    run.expect_code(2);
}

#[test]
fn apply_json_events_follow_their_schema() {
    let schema: Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/apply-events.schema.json")))
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    // The gateway refuses the first route written; nothing depends on a route here.
    let config = "_format_version: \"3.0\"\nservices:\n  - name: a\n    host: a.internal\n    routes:\n      - name: ra\n        paths: [/a]\n  - name: b\n    host: b.internal\n    routes:\n      - name: rb\n        paths: [/b]\n";
    let file = write(dir.path(), "kong.yaml", config);
    sb.sandbox().inject_fault(gateform::kong::sandbox::FaultRule {
        method: Some("PUT".into()),
        path: "/routes/*".into(),
        status: Some(400),
        body: Some(
            serde_json::json!({"code": 2, "name": "schema violation", "message": "schema violation (paths: refused)"}),
        ),
        headers: Default::default(),
        times: Some(1),
        delay_ms: 0,
    });
    let run = gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve", "--format", "json"]);
    run.expect_code(1);
    let lines: Vec<Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    for l in &lines {
        let errors: Vec<String> = validator.iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{l}: {errors:?}");
    }
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "version");
    assert_eq!(types.iter().filter(|t| **t == "planned_change").count(), 4);
    assert_eq!(types.iter().filter(|t| **t == "apply_start").count(), 4);
    assert_eq!(types.iter().filter(|t| **t == "apply_complete").count(), 3);
    let errored: Vec<&Value> = lines.iter().filter(|l| l["type"] == "apply_errored").collect();
    assert_eq!(errored.len(), 1);
    assert_eq!(errored[0]["hook"]["status"], 400);
    assert_eq!(errored[0]["hook"]["change"]["kind"], "routes");
    assert!(errored[0]["hook"]["error"].as_str().unwrap().contains("paths: refused"), "{}", errored[0]);
    let last = lines.last().unwrap();
    assert_eq!((last["type"].as_str(), last["changes"]["operation"].as_str()), (Some("change_summary"), Some("apply")));
    assert_eq!(last["success"], false);
    assert_eq!(last["outcomes"], serde_json::json!({"applied": 3, "failed": 1, "not_attempted": 0}));

    // An error before anything was applied is a last `diagnostic` line; asking is refused.
    let run =
        gateform(&["apply", "--gateway", &sb.url, "-s", "/nonexistent.yaml", "--auto-approve", "--format", "json"]);
    run.expect_code(1);
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["diagnostic"]["severity"], "error");
    assert!(validator.is_valid(&last));
    let run = gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--format", "json"]);
    run.expect_code(1);
    assert!(run.stdout.contains("--format json needs --auto-approve"), "{}", run.stdout);
}
