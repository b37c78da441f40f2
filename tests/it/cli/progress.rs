//! Progress and colours (issue 13, item 12): a change still in flight after 10 s is said
//! so (Terraform's `Still creating... [10s elapsed]`); colours on a terminal only, never
//! with `--no-color` or `NO_COLOR`.

use std::collections::BTreeMap;

use gateform::kong::sandbox::FaultRule;

use super::{gateform_in, normalized};
use crate::common::{TestSandbox, write};

const KONG: &str = "_format_version: \"3.0\"\nservices:\n  - name: slow\n    host: slow.internal\n";

/// A sandbox whose first `PUT /services/...` takes `delay_ms` to answer.
fn slow_sandbox(delay_ms: u64) -> TestSandbox {
    let sb = TestSandbox::start();
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/services/*".into(),
        status: None,
        body: None,
        headers: BTreeMap::new(),
        times: Some(1),
        delay_ms,
    });
    sb
}

/// A create that takes 10.5 s is reported once, at 10 s, before it completes.
#[test]
fn a_long_change_is_reported_every_ten_seconds() {
    let sb = slow_sandbox(10_500);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong.yaml", KONG);
    let run = gateform_in(dir.path(), &["apply", "--gateway", &sb.url, "-s", "kong.yaml", "--auto-approve"], &[]);
    insta::assert_snapshot!("still_creating", normalized(&run, &[(sb.url.as_str(), "[SANDBOX]")]));
}

/// Runs `gateform args` on a pseudo-terminal (util-linux `script`), with `NO_COLOR` as
/// given; returns what the terminal showed.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let mut cmd = std::process::Command::new("script");
    // `script` runs a shell command; the binary's path has no quote in it.
    cmd.args(["-qec", &format!("'{}' {args}", env!("CARGO_BIN_EXE_gateform")), "/dev/null"]);
    crate::common::hermetic(&mut cmd);
    cmd.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether util-linux's `script` can make a terminal; `test` says `SKIPPED` when not (and
/// fails under CI, which has it).
fn terminals_can_be_made(test: &str) -> bool {
    if std::process::Command::new("script").arg("--version").output().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI has util-linux's script");
    crate::common::skipped(test, "no `script` to make a terminal");
    false
}

#[test]
fn colours_on_a_terminal_unless_no_color() {
    if !terminals_can_be_made("colours_on_a_terminal_unless_no_color") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", KONG);
    let args = format!("plan --gateway sandbox -s '{file}'");
    let coloured = on_a_terminal(&args, None);
    assert!(coloured.contains("\u{1b}[32m  + services \"slow\" {"), "{coloured:?}");
    assert!(coloured.contains("\u{1b}[1mPlan: 1 to add"), "{coloured:?}");
    for plain in [on_a_terminal(&args, Some("1")), on_a_terminal(&format!("--no-color {args}"), None)] {
        assert!(!plain.contains('\u{1b}'), "{plain:?}");
        assert!(plain.contains("  + services \"slow\" {"), "{plain:?}");
    }
}

/// On a terminal, a live count of the changes (and the oldest still in flight) is drawn on
/// stderr while the apply runs, and cleared when it ends.
#[test]
fn a_terminal_shows_a_live_count_while_applying() {
    if !terminals_can_be_made("a_terminal_shows_a_live_count_while_applying") {
        return;
    }
    let sb = slow_sandbox(1_500);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", KONG);
    let shown = on_a_terminal(&format!("apply --gateway {} -s '{file}' --auto-approve", sb.url), Some("1"));
    assert!(shown.contains("Applying 0/1 changes [00:00:0"), "{shown:?}");
    assert!(shown.contains("changes [00:00:01] services \"slow\""), "the change in flight is named: {shown:?}");
    assert!(shown.contains("Apply complete! Resources: 1 added"), "{shown:?}");
}
