//! The engine end to end: the real binary planning and applying against the sandbox.

mod certificates;
mod cli;
mod credentials;
mod failures;
pub(crate) mod real_configs;
mod scenarios;
mod scope;

use crate::common::{Run, TestSandbox, gateform};

/// `gateform apply --auto-approve` of `file` against `sb`.
pub fn apply(sb: &TestSandbox, file: &str) -> Run {
    gateform(&["apply", "--gateway", &sb.url, "-s", file, "--auto-approve"])
}

/// `gateform plan` of `file` against `sb`.
pub fn plan(sb: &TestSandbox, file: &str) -> Run {
    gateform(&["plan", "--gateway", &sb.url, "-s", file])
}

/// Applies `file` and checks that a second plan is empty.
pub fn converge(sb: &TestSandbox, file: &str) -> Run {
    let run = apply(sb, file);
    run.ok();
    assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    let again = plan(sb, file);
    again.ok();
    assert!(again.stdout.contains("No changes."), "second plan is not empty:\n{}", again.stdout);
    run
}
