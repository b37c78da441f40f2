//! Kong's certificate checks before anything is written: an expired CA certificate, or a
//! certificate without the CA constraint under `ca_certificates`, is refused by `validate`,
//! `plan` and `apply` at its place in the files, as the gateway would refuse it on write.

use crate::common::{TestSandbox, gateform, write};

/// A self-signed certificate valid from `from` to `until` (years), a CA when `ca`.
fn cert(from: i32, until: i32, ca: bool) -> String {
    let mut params = rcgen::CertificateParams::new(vec!["ca.example.test".into()]).unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().pem()
}

/// A configuration with a service and one CA certificate, its PEM as a YAML block.
fn config(pem: &str) -> String {
    let block: String = pem.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\nca_certificates:\n  - cert: |\n{block}"
    )
}

#[test]
fn an_expired_ca_certificate_is_refused_at_its_line_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &config(&cert(2001, 2002, true)));
    let sb = TestSandbox::start();
    for args in [
        vec!["validate", "-s", &file],
        vec!["plan", "--gateway", &sb.url, "-s", &file],
        vec!["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve"],
    ] {
        let run = gateform(&args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("kong.yaml:6:5: error: ca_certificate")
                && run.stderr.contains("certificate expired, \"Not After\" time is in the past"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(sb.list("/services").is_empty(), "nothing is written");
}

#[test]
fn a_certificate_that_is_no_ca_is_refused_and_a_valid_ca_applies() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = write(dir.path(), "leaf.yaml", &config(&cert(2020, 2090, false)));
    let run = gateform(&["validate", "-s", &leaf]);
    run.expect_code(1);
    assert!(run.stderr.contains("missing the \"CA\" basic constraint"), "{}", run.stderr);
    let good = write(dir.path(), "kong.yaml", &config(&cert(2020, 2090, true)));
    gateform(&["validate", "-s", &good]).ok();
    let sb = TestSandbox::start();
    gateform(&["apply", "--gateway", &sb.url, "-s", &good, "--auto-approve"]).ok();
    assert_eq!(sb.list("/ca_certificates").len(), 1);
}
