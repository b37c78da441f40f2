//! Reading from Git: commits not work trees, remotes through the cache, every plan naming
//! its source, and `gateform.toml` environments.

use serde_json::Value;

use super::{Repo, V1_SERVICES, V2_CONSUMERS, V3_SERVICES, assert_gateway_matches, ledger_in};
use crate::common::{Run, TestSandbox, gateform, gateform_cmd, gateform_env};

fn service_names(sb: &TestSandbox) -> Vec<String> {
    let mut names: Vec<String> =
        sb.list("/services").iter().map(|s| s["name"].as_str().unwrap_or_default().to_owned()).collect();
    names.sort();
    names
}

#[test]
fn uncommitted_edits_never_reach_the_gateway() {
    let repo = Repo::new();
    repo.commit(
        &[("gateform.toml", Some(super::SETTINGS)), ("kong/services.yaml", Some(V1_SERVICES))],
        "Orders and billing",
    );
    // An edit in the work tree, and a staged new file: neither is committed.
    std::fs::write(
        repo.path().join("kong/services.yaml"),
        V1_SERVICES.replace("name: billing\n", "name: billing-edited\n"),
    )
    .unwrap();
    std::fs::write(
        repo.path().join("kong/extra.yaml"),
        "_format_version: \"3.0\"\nservices:\n  - name: staged\n    host: s.internal\n",
    )
    .unwrap();
    let mut index = repo.repo.index().unwrap();
    index.add_path(std::path::Path::new("kong/extra.yaml")).unwrap();
    index.write().unwrap();

    let sb = TestSandbox::start();
    // The default ledger: .gateform/ledger.db in the work tree, ignored by Git.
    let default_ledger = |args: &[&str]| -> Run {
        let mut cmd = gateform_cmd();
        cmd.env_remove("GATEFORM_LEDGER").args(args).stdin(std::process::Stdio::null());
        cmd.output().unwrap().into()
    };
    let run =
        default_ledger(&["apply", "--repo", &repo.path_str(), "--env", "prod", "--gateway", &sb.url, "--auto-approve"]);
    run.ok();
    let head = &repo.commit_of("HEAD")[..12];
    let source = format!("Source: commit `{head}` (HEAD): Orders and billing; {}, path kong", repo.path_str());
    assert!(run.stdout.contains(&source), "{}", run.stdout);
    assert_eq!(service_names(&sb), vec!["billing", "orders"]);
    // The work tree is as the user left it.
    let status = repo.repo.statuses(None).unwrap();
    assert!(status.iter().any(|s| s.path() == Ok("kong/extra.yaml")));
    assert!(status.iter().any(|s| s.path() == Ok("kong/services.yaml")));
    assert!(repo.path().join(".gateform/ledger.db").is_file());
    let visible = |s: &git2::StatusEntry<'_>| !s.status().is_ignored();
    assert!(!status.iter().filter(visible).any(|s| s.path().is_ok_and(|p| p.starts_with(".gateform"))));
    let history = default_ledger(&["history", "--repo", &repo.path_str()]);
    history.ok();
    assert!(history.stdout.contains("prod    apply    success"), "{}", history.stdout);
}

#[test]
fn a_file_url_is_mirrored_into_the_cache_and_fetched_again() {
    let origin = Repo::tagged();
    let url = format!("file://{}", origin.path_str());
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().to_string_lossy().into_owned();
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let branch = origin.branch();
    let apply = |rev: &str| {
        gateform(&[
            "apply",
            "--repo",
            &url,
            "--cache-dir",
            &cache_arg,
            "--ref",
            rev,
            "--env",
            "prod",
            "--gateway",
            &sb.url,
            "--ledger",
            &ledger,
            "--auto-approve",
        ])
    };
    let run = apply("v2");
    run.ok();
    let v2 = &origin.commit_of("v2")[..12];
    let source = format!("Source: commit `{v2}` (v2): Inventory replaces billing; {url}, path kong");
    assert!(run.stdout.contains(&source), "{}", run.stdout);
    assert_gateway_matches(&sb, &origin, "v2");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1, "one mirror");
    apply(&branch).ok();
    assert_gateway_matches(&sb, &origin, "v3");

    // A new commit upstream is fetched by the next run.
    let moved = V3_SERVICES.replace("port: 8080", "port: 9191");
    let new = origin.commit(&[("kong/services.yaml", Some(moved.as_str()))], "Move orders");
    let plan = gateform(&[
        "plan",
        "--repo",
        &url,
        "--cache-dir",
        &cache_arg,
        "--ref",
        &branch,
        "--env",
        "prod",
        "--gateway",
        &sb.url,
        "--format",
        "json",
    ]);
    plan.ok();
    let doc: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(doc["source"]["commit"], new.as_str());
    assert_eq!(doc["source"]["repository"], url.as_str());
    assert_eq!(doc["summary"], serde_json::json!({"add": 0, "change": 1, "destroy": 0}));
    apply(&branch).ok();
    assert_eq!(sb.get("/services/orders")["port"], 9191);

    // A URL that does not exist names itself and git's message.
    let bad = format!("file://{}/nope", origin.path_str());
    let run = gateform(&["plan", "--repo", &bad, "--cache-dir", &cache_arg, "--gateway", &sb.url]);
    run.expect_code(1);
    assert!(run.stderr.contains(&format!("Error: cannot clone {bad}: ")), "{}", run.stderr);
}

#[test]
fn plans_name_their_source() {
    let repo = Repo::tagged();
    let sb = TestSandbox::start();
    let plan = gateform(&["plan", "--repo", &repo.path_str(), "--ref", "v2~1", "--path", "kong", "--gateway", &sb.url]);
    plan.ok();
    let first = plan.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "Source: commit `{}` (v2~1): Orders and billing; {}, path kong; Ops Team <ops@example.test>, 2026-09-21T14:13:20Z",
            &repo.commit_of("v1")[..12],
            repo.path_str()
        )
    );
    let json = gateform(&[
        "plan",
        "--repo",
        &repo.path_str(),
        "--ref",
        "v3",
        "--env",
        "prod",
        "--gateway",
        &sb.url,
        "--format",
        "json",
    ]);
    json.ok();
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let source = &doc["source"];
    assert_eq!(source["type"], "git");
    assert_eq!(source["repository"], repo.path_str());
    assert_eq!(source["ref"], "v3");
    assert_eq!(source["commit"], repo.commit_of("v3"));
    assert_eq!(source["author"], "Ops Team <ops@example.test>");
    assert_eq!(source["date"], "2026-09-21T14:13:20Z");
    assert_eq!(source["subject"], "Billing is back");
    assert_eq!(source["path"], "kong");
    assert_eq!(doc["gateway"]["environment"], "prod");
    // `-s` files are named too.
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write(dir.path(), "kong.yaml", V2_CONSUMERS);
    let files = gateform(&["plan", "-s", &file, "--gateway", &sb.url, "--format", "json"]);
    files.ok();
    let doc: Value = serde_json::from_str(&files.stdout).unwrap();
    assert_eq!(doc["source"]["type"], "files");
    assert_eq!(doc["source"]["files"][0]["name"], file.as_str());
}

#[test]
fn diagnostics_name_the_revision_and_the_path() {
    let repo = Repo::tagged();
    repo.commit(
        &[("kong/broken.yaml", Some("_format_version: \"3.0\"\nservices:\n  - name: x\n    port: eighty\n"))],
        "Broken",
    );
    repo.tag("broken");
    let run = gateform(&["validate", "--repo", &repo.path_str(), "--ref", "broken", "--path", "kong"]);
    run.expect_code(1);
    assert!(run.stderr.contains("broken:kong/broken.yaml:4:11: error:"), "{}", run.stderr);
    let ok = gateform(&["validate", "--repo", &repo.path_str(), "--ref", "v3", "--env", "prod"]);
    ok.ok();
    assert!(ok.stdout.contains("Source: ") && ok.stdout.contains("Success!"), "{}", ok.stdout);
    let missing = gateform(&["validate", "--repo", &repo.path_str(), "--ref", "v3", "--path", "nope"]);
    missing.expect_code(1);
    assert!(missing.stderr.contains("`nope` does not exist at v3 (commit "), "{}", missing.stderr);
    let unknown = gateform(&["validate", "--repo", &repo.path_str(), "--ref", "v9"]);
    unknown.expect_code(1);
    assert!(unknown.stderr.contains("unknown revision `v9`"), "{}", unknown.stderr);
    let conflict = gateform(&["plan", "--repo", &repo.path_str(), "-s", "x.yaml"]);
    conflict.expect_code(2);
    assert!(conflict.stderr.contains("cannot be used with"), "{}", conflict.stderr);
}

#[test]
fn environments_supply_settings_and_flags_win() {
    let repo = Repo::new();
    repo.commit(
        &[
            (
                "gateform.toml",
                Some(
                    "[environments.staging]\npath = \"kong\"\nselect_tags = [\"staging\"]\nheaders = { \"Kong-Admin-Token\" = \"${TEST_ADMIN_TOKEN}\" }\n\n[environments.bad]\ngateway = \"${TEST_GATEWAY_URL}\"\n",
                ),
            ),
            ("kong/services.yaml", Some(V1_SERVICES)),
        ],
        "Staging",
    );
    let sb = TestSandbox::start();
    let r = repo.path_str();
    // An unset variable is an error naming it and its place.
    let run = gateform(&["plan", "--repo", &r, "--env", "staging", "--gateway", &sb.url]);
    run.expect_code(1);
    assert!(run.stderr.contains("HEAD:gateform.toml:4:34: error: header `Kong-Admin-Token` of environment \"staging\" uses ${TEST_ADMIN_TOKEN}, which is not set"), "{}", run.stderr);
    // Set, the environment's select tags apply (added to every entity).
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir).to_string_lossy().into_owned();
    let env = [("TEST_ADMIN_TOKEN", "t0ken")];
    let run = gateform_env(
        &["apply", "--repo", &r, "--env", "staging", "--gateway", &sb.url, "--ledger", &ledger, "--auto-approve"],
        &env,
    );
    run.ok();
    assert_eq!(sb.get("/services/orders")["tags"], serde_json::json!(["staging"]));
    assert!(!run.stdout.contains("t0ken") && !run.stderr.contains("t0ken"));
    // The gateway comes from the environment when no flag names one.
    let run = gateform_env(&["plan", "--repo", &r, "--env", "bad", "--path", "kong"], &[("TEST_GATEWAY_URL", &sb.url)]);
    run.ok();
    assert!(run.stdout.contains("No changes") || run.stdout.contains("to add"), "{}", run.stdout);
    // Unknown environments list the known ones; a missing file says so.
    let run = gateform(&["plan", "--repo", &r, "--env", "prod", "--gateway", &sb.url]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("HEAD:gateform.toml defines no environment \"prod\" (defined: bad, staging)"),
        "{}",
        run.stderr
    );
    let bare = Repo::new();
    bare.commit(&[("kong.yaml", Some(V1_SERVICES))], "No settings");
    let run = gateform(&["plan", "--repo", &bare.path_str(), "--env", "prod", "--gateway", &sb.url]);
    run.expect_code(1);
    assert!(run.stderr.contains("--env prod: there is no gateform.toml"), "{}", run.stderr);
}

#[test]
fn invalid_settings_files_are_refused_with_line_and_column() {
    let repo = Repo::new();
    repo.commit(
        &[
            ("gateform.toml", Some("[environments.prod]\npath = \"kong\"\nparalelism = 4\n")),
            ("kong/services.yaml", Some(V1_SERVICES)),
        ],
        "Typo",
    );
    let run = gateform(&["validate", "--repo", &repo.path_str(), "--env", "prod"]);
    run.expect_code(1);
    assert!(
        run.stderr.starts_with("HEAD:gateform.toml:3:1: error: unknown field `paralelism`"),
        "the diagnostic, then one closing line: {}",
        run.stderr
    );
    assert!(run.stderr.contains("\nError: 1 error in HEAD:gateform.toml."), "{}", run.stderr);
    repo.commit(
        &[("gateform.toml", Some("[environments.prod]\nheaders = { Authorization = \"Bearer abc\" }\n"))],
        "Secret",
    );
    let run = gateform(&["validate", "--repo", &repo.path_str(), "--path", "kong"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(
            "HEAD:gateform.toml:2:29: error: header `Authorization` of environment \"prod\" holds a literal value"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Bearer abc"));
}

#[test]
fn without_a_repository_the_environment_comes_from_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(dir.path(), "gateform.toml", "[environments.dev]\npath = \"conf\"\nselect_tags = [\"dev\"]\n");
    crate::common::write(dir.path(), "conf/services.yaml", V1_SERVICES);
    let sb = TestSandbox::start();
    let in_dir = |args: &[&str]| -> Run {
        let mut cmd = gateform_cmd();
        cmd.env_remove("GATEFORM_LEDGER").current_dir(dir.path()).args(args).stdin(std::process::Stdio::null());
        cmd.output().unwrap().into()
    };
    let run = in_dir(&["apply", "--env", "dev", "--gateway", &sb.url, "--auto-approve"]);
    run.ok();
    assert!(run.stdout.contains("Source: files conf/services.yaml"), "{}", run.stdout);
    assert_eq!(sb.get("/services/billing")["tags"], serde_json::json!(["dev"]));
    assert!(dir.path().join(".gateform/ledger.db").is_file(), "no repository: the ledger is in the current directory");
    let history = in_dir(&["history", "--env", "dev", "--format", "json"]);
    history.ok();
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(doc["runs"][0]["source"]["files"], serde_json::json!(["conf"]));
}
