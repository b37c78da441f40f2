//! Three DB-mode nodes that share one store (one sandbox, two more nodes as TCP proxies in
//! front of it): written through the first node only, every node read until it serves the
//! result; a node that never does fails the run, one that catches up within the timeout
//! passes.

use super::{Proxy, V1, repo};
use crate::common::{Run, TestSandbox, gateform, write};
use crate::gitops::Repo;

fn apply(repo: &Repo, extra: &[&str], ledger: &str) -> Run {
    let path = repo.path_str();
    let mut args = vec!["apply", "--repo", &path, "--ref", "v1", "--env", "prod", "--auto-approve", "--ledger", ledger];
    args.extend(extra);
    gateform(&args)
}

#[test]
fn a_shared_store_is_written_through_one_node_and_verified_on_every_node() {
    let store = TestSandbox::start();
    let (p2, p3) = (Proxy::to(&store, &store.url), Proxy::to(&store, &store.url));
    let repo = repo(&[&store.url, &p2.url, &p3.url], "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let out = apply(&repo, &[], &ledger);
    out.ok();
    assert!(out.stdout.contains("Apply complete! Resources: 8 added, 0 changed, 0 destroyed."), "{}", out.stdout);
    for url in [&store.url, &p2.url, &p3.url] {
        assert!(
            out.stdout.contains(&format!("    {url}: verified (8 to add, 0 to change, 0 to destroy")),
            "{}",
            out.stdout
        );
    }
    assert_eq!((p2.requests("PUT"), p3.requests("PUT")), (0, 0), "written through the first node only");
    assert!(p2.requests("GET") > 0 && p3.requests("GET") > 0, "every node was read");

    let replay = gateform(&["replay", "--repo", &repo.path_str(), "--ref", "v2", "--env", "prod", "--ledger", &ledger]);
    replay.ok();
    assert!(replay.stdout.contains(&format!("    {}: verified", p3.url)), "{}", replay.stdout);
    assert_eq!(p3.requests("PUT"), 0);
}

#[test]
fn a_node_that_does_not_serve_the_result_fails_the_run_and_one_that_catches_up_passes() {
    let store = TestSandbox::start();
    let p2 = Proxy::to(&store, &store.url);
    let lagging = TestSandbox::start();
    let repo = repo(&[&store.url, &p2.url, &lagging.url], "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let out = apply(&repo, &["--verify-timeout", "1"], &ledger);
    out.expect_code(1);
    let lag = &lagging.url;
    assert!(
        out.stderr.contains(&format!("Node {lag}: not-verified: a fresh plan still has 8 change(s)")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&format!("Error: node {lag}: a fresh plan still has 8 change(s)")), "{}", out.stderr);
    assert!(out.stdout.contains(&format!("    {}: verified", p2.url)), "{}", out.stdout);

    // The lagging node catches up a moment later: the run waits for it.
    let repo = super::repo(&[&store.url, &p2.url, &lagging.url], "");
    store.send("DELETE", "/routes/orders-api", None).unwrap();
    let file = write(dir.path(), "v1.yaml", V1);
    let other = dir.path().join("other.db").to_string_lossy().into_owned();
    let url = lagging.url.clone();
    let catch_up = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        gateform(&["apply", "-s", &file, "--gateway", &url, "--auto-approve", "--ledger", &other])
    });
    let out = apply(&repo, &["--verify-timeout", "60"], &ledger);
    catch_up.join().unwrap().ok();
    out.ok();
    assert!(out.stdout.contains(&format!("    {lag}: verified")), "{}", out.stdout);
}
