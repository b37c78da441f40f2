//! Errors said once, clearly, with a hint (issue 13, items 3 to 6).

use super::{FakeServer, closed_address, gateform_in, normalized, repo};
use crate::common::{TestSandbox, write};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/kong.yaml");

/// Item 3: a web page where the Admin API should be is recognised when the session opens,
/// and `validate --online` blames the address, not the configuration.
#[test]
fn an_address_that_is_no_kong_admin_api_is_recognised_at_connect() {
    let page = FakeServer::start("200 OK", "text/html", "<!DOCTYPE html><html><body>Welcome</body></html>");
    let dir = tempfile::tempdir().unwrap();
    let filters = [(page.url.as_str(), "[URL]"), (DEMO, "[DEMO]")];
    let plan = gateform_in(dir.path(), &["plan", "--gateway", &page.url, "-s", DEMO], &[]);
    insta::assert_snapshot!("not_kong_plan", normalized(&plan, &filters));
    let validate = gateform_in(dir.path(), &["validate", "--online", "--gateway", &page.url, "-s", DEMO], &[]);
    insta::assert_snapshot!("not_kong_validate_online", normalized(&validate, &filters));
    assert_eq!(page.requests.lock().unwrap().len(), 2, "only GET / was asked, once per run");
}

/// Item 3: Kong's proxy port answers `GET /` with 404 "no Route matched".
#[test]
fn kongs_proxy_port_is_named_as_such() {
    let proxy =
        FakeServer::start("404 Not Found", "application/json", r#"{"message":"no Route matched with those values"}"#);
    let dir = tempfile::tempdir().unwrap();
    let run = gateform_in(dir.path(), &["plan", "-s", DEMO], &[("GATEFORM_GATEWAY", &proxy.url)]);
    insta::assert_snapshot!("proxy_port", normalized(&run, &[(proxy.url.as_str(), "[URL]")]));
}

/// Item 4: a gateway that does not answer: the cause once, the address, and a hint naming
/// where the address came from; one line per retry.
#[test]
fn a_connection_error_is_said_once_with_its_address_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let closed = closed_address();
    let run = gateform_in(dir.path(), &["plan", "--gateway", &closed, "-s", DEMO], &[]);
    insta::assert_snapshot!("connection_refused", normalized(&run, &[]));
    assert_eq!(run.stderr.matches("Connection refused").count(), 3, "two retry lines and the error: {}", run.stderr);
    // From an environment: the hint names the environment's entry.
    let toml = format!("[environments.staging]\ngateway = \"{closed}\"\npath = \"kong\"\n");
    write(dir.path(), "gateform.toml", &toml);
    write(dir.path(), "kong/kong.yaml", "_format_version: \"3.0\"\n");
    let run = gateform_in(dir.path(), &["plan", "--env", "staging"], &[]);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last, "hint: is the gateway running? is `gateway` of the environment \"staging\" in gateform.toml right?",
        "{}",
        run.stderr
    );
}

const TYPOS: &str = r#"_format_version: "3.0"
_infoo: {}
servicess: []
services:
  - name: orders
    host: orders.internal
    retires: 3
    port: eighty
    routes:
      - name: orders-api
        pathz: [/orders]
    plugins:
      - name: rate-limit
      - name: cors
        config:
          origin: ["*"]
  - name: catalog
    protocol: https
    host: catalog.internal
    path: no-slash
"#;

/// Item 5: every error in one run, type and schema errors together, each unknown name with
/// the nearest valid one.
#[test]
fn validation_reports_every_error_and_suggests_the_nearest_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong.yaml", TYPOS);
    let run = gateform_in(dir.path(), &["validate", "-s", "kong.yaml"], &[]);
    insta::assert_snapshot!("every_error_at_once", normalized(&run, &[]));
    // plan reports the same errors.
    let plan = gateform_in(dir.path(), &["plan", "--gateway", "sandbox", "-s", "kong.yaml"], &[]);
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("did you mean `retries`?"), "{}", plan.stderr);
    assert!(plan.stderr.contains("path: should start with: /"), "{}", plan.stderr);
}

/// Item 6: the source of a setting is named; no `Error: error:`; `1 entity`; an empty
/// directory named; a URL without scheme said so.
#[test]
fn messages_name_what_the_user_wrote() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("[environments.staging]\ngateway = \"{}\"\nselect_tags = [\"platform\"]\n", sb.url);
    repo(
        dir.path(),
        &[
            ("gateform.toml", &toml),
            (
                "kong/kong.yaml",
                "_format_version: \"3.0\"\n_info:\n  select_tags: [team-a]\nservices:\n  - name: orders\n    host: orders.internal\n",
            ),
            ("one/kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: orders\n    url: orders.internal:8080\n"),
            ("bad/gateform.toml", "[environments.staging]\nparalelism = 3\n"),
        ],
    );
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let filters = [(sb.url.as_str(), "[SANDBOX]")];
    let p = dir.path();
    let runs = [
        gateform_in(p, &["plan", "--env", "staging", "-s", "kong"], &[]),
        gateform_in(p, &["validate", "-s", "kong"], &[]),
        gateform_in(p, &["validate", "-s", "empty"], &[]),
        gateform_in(p, &["validate", "-s", "one"], &[]),
        gateform_in(&p.join("bad"), &["plan", "--env", "staging", "-s", "../kong"], &[]),
    ];
    let all: Vec<String> = runs.iter().map(|r| normalized(r, &filters)).collect();
    insta::assert_snapshot!("messages", all.join("\n"));
    assert!(runs.iter().all(|r| !r.stderr.contains("Error: error") && !r.stderr.contains("Error: warning")));
}
