//! The README's first sections as a new user follows them (issue 13, items 1 and 2): its
//! commands run as written (with `gateform` on the `PATH`, as `cargo install --path .` puts
//! it), its test command is the one a fresh clone passes, and it points at no file outside
//! the repository; tests that need the corpus outside it skip, or fail under CI.

use std::path::Path;
use std::process::Command;

use crate::common::{Run, TestSandbox, hermetic, real_configs_beside};

/// The README's text.
fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The section under `heading` (`## Install`, `### Reviewable plans`), up to the next
/// heading of level 2 or 3.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(&format!("\n{heading}")).unwrap_or_else(|| panic!("no section {heading}"));
    let body = &text[start + 1..];
    let end = body[heading.len()..]
        .match_indices('\n')
        .map(|(i, _)| i + heading.len())
        .find(|&i| body[i + 1..].starts_with("## ") || body[i + 1..].starts_with("### "))
        .unwrap_or(body.len());
    &body[..end]
}

/// The lines of the `sh` code blocks of a section.
fn commands(section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in section.lines() {
        match (inside, line.trim()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, l) if !l.is_empty() => out.push(l.to_owned()),
            _ => {}
        }
    }
    out
}

#[test]
fn the_readme_installs_gateform_before_using_it_and_points_inside_the_repository() {
    let text = readme();
    let top: Vec<String> = ["## Install", "## Try it", "## Run the tests", "## Using gateform"]
        .iter()
        .flat_map(|t| commands(section(&text, t)))
        .collect();
    let install = top.iter().position(|l| l == "cargo install --path .").expect("an install command");
    let first_use = top.iter().position(|l| l.starts_with("gateform ")).unwrap();
    assert!(install < first_use, "{top:?}");
    assert!(!top.iter().any(|l| l.starts_with("cargo run")), "the top sections use the installed gateform: {top:?}");
    assert_eq!(commands(section(&text, "## Run the tests")), ["cargo test"]);
    for outside in ["../shared", "shared/docs", "shared/real-configs", "/work/"] {
        assert!(!text.contains(outside), "the README points outside the repository: {outside}");
    }
}

#[test]
fn tests_that_need_the_corpus_skip_without_it_and_fail_under_ci() {
    let fresh = tempfile::tempdir().unwrap();
    let clone = fresh.path().join("gateform");
    std::fs::create_dir_all(&clone).unwrap();
    assert_eq!(real_configs_beside(&clone, "kong", "a test", false), None);
    let under_ci = std::panic::catch_unwind(|| real_configs_beside(&clone, "kong", "a test", true));
    assert!(under_ci.is_err(), "CI must have the corpus");
    std::fs::create_dir_all(fresh.path().join("shared/real-configs/kong")).unwrap();
    assert_eq!(
        real_configs_beside(&clone, "kong", "a test", true),
        Some(fresh.path().join("shared/real-configs/kong"))
    );
}

/// Runs one README line with `sh`, `gateform` on the `PATH`, in `dir`.
fn run_line(line: &str, dir: &Path, env: &[(String, String)]) -> Run {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_gateform")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("sh");
    hermetic(&mut cmd);
    cmd.args(["-c", line]).current_dir(dir).env("PATH", path).stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("sh runs").into()
}

/// Every command of "Install" (but the install itself), "Try it", "Using gateform" and
/// "Reviewable plans", as written, in a directory holding the repository's demo (as
/// `fixtures/demo/` and as the `kong/` of the examples). The README's sandbox on
/// 127.0.0.1:8001 is an in-process one on an ephemeral port here (tests bind no fixed port),
/// and `/tmp/` is the test's own directory.
#[test]
fn the_readme_commands_run_as_written() {
    let text = readme();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures/demo");
    std::fs::create_dir_all(&fixtures).unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/kong.yaml");
    std::fs::copy(demo, fixtures.join("kong.yaml")).unwrap();
    std::fs::create_dir_all(dir.path().join("kong")).unwrap();
    std::fs::copy(demo, dir.path().join("kong/kong.yaml")).unwrap();
    let sb = TestSandbox::start();
    let tmp = format!("{}/", dir.path().display());
    let mut env: Vec<(String, String)> = Vec::new();
    let mut ran = 0;
    for heading in ["## Install", "## Try it", "## Using gateform", "### Reviewable plans"] {
        for line in commands(section(&text, heading)) {
            if line.starts_with("cargo install") || line.starts_with('#') {
                continue;
            }
            if line.starts_with("gateform sandbox ") {
                assert!(line.contains("127.0.0.1:8001"), "{line}");
                continue;
            }
            let line = line.replace("127.0.0.1:8001", sb.url.trim_start_matches("http://")).replace("/tmp/", &tmp);
            if let Some(assignment) = line.strip_prefix("export ") {
                let (k, v) = assignment.split_once('=').unwrap();
                env.push((k.to_owned(), v.to_owned()));
                continue;
            }
            let run = run_line(&line, dir.path(), &env);
            assert_eq!(run.code, 0, "{line}\n--- stdout\n{}\n--- stderr\n{}", run.stdout, run.stderr);
            ran += 1;
        }
    }
    assert!(ran >= 11, "{ran} commands");
    for written in ["live.yaml", "comment.md", "comments/plan-1.md", "plan.json", "plan-view.json"] {
        assert!(dir.path().join(written).is_file(), "{written} was written");
    }
    assert_eq!(sb.list("/services").len(), 2, "the demo was applied to the README's sandbox");
}
