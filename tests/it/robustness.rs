//! Hostile configuration files against the real binary: deep nesting, alias bombs, huge
//! template arguments, repetitive secrets, huge sets, misplaced positions and echoed secrets.
//! Each command must end by itself, within a memory ceiling, with a clear error (or success),
//! never with a crash. Runs are capped at 4 GiB of address space and a deadline far above
//! what a fixed build needs (they print the time they took), so a regression fails instead
//! of exhausting the machine or hanging.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Run, gateform_cmd, write};

/// Address space allowed to one run, in KiB.
const MEMORY_KIB: u64 = 4 * 1024 * 1024;

/// How long one run may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `gateform args...` with `env`, under [`MEMORY_KIB`] and [`DEADLINE`].
fn bounded(args: &[&str], env: &[(&str, &str)]) -> Run {
    bounded_by(args, env, DEADLINE)
}

/// Runs `gateform args...` with `env`, under [`MEMORY_KIB`] and `deadline`. Panics when
/// the run is still going at the deadline (after killing it).
fn bounded_by(args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Run {
    let inner = gateform_cmd();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\"")).arg(inner.get_program()).args(args);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run gateform");
    // Both streams are drained while the run goes on: a full pipe would block it.
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut out);
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for gateform") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gateform {args:?} still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    eprintln!("gateform {:?}: exit {} in {:.2} s", args.first(), run.code, started.elapsed().as_secs_f64());
    run
}

/// Validate, plan and apply (both against an in-process sandbox) of `file` each fail with
/// exit code 1 and print `want` (and never a crash).
fn every_command_refuses(file: &str, env: &[(&str, &str)], want: &str) {
    for args in [
        vec!["validate", "-s", file],
        vec!["plan", "--gateway", "sandbox", "-s", file],
        vec!["apply", "--gateway", "sandbox", "--auto-approve", "-s", file],
    ] {
        let run = bounded(&args, env);
        run.expect_code(1);
        assert!(run.stderr.contains(want), "{args:?}: want {want:?}\n{}", run.stderr);
    }
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn deep_yaml_nesting_is_refused_at_its_place() {
    let d = dir();
    let text =
        format!("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  tags:\n  {}x\n", "- ".repeat(15_000));
    assert!(text.len() < 40_000);
    let f = write(d.path(), "deep.yaml", &text);
    every_command_refuses(&f, &[], &format!("{f}:6:"));
    let run = bounded(&["validate", "-s", &f], &[]);
    assert!(run.stderr.contains("nested more than 256 levels deep"), "{}", run.stderr);
}

#[test]
fn deep_template_parentheses_are_refused_at_their_place() {
    let d = dir();
    let text = format!(
        "_format_version: \"3.0\"\nservices:\n- name: ${{{{ {}\"a\"{} }}}}\n  host: h\n",
        "(".repeat(30_000),
        ")".repeat(30_000)
    );
    let f = write(d.path(), "parens.yaml", &text);
    every_command_refuses(&f, &[], &format!("{f}:3:9: error: template expression nests parentheses more than 64"));
}

#[test]
fn alias_bombs_are_refused() {
    let d = dir();
    let names = "abcdefghij".as_bytes();
    let mut laughs = String::from("_format_version: \"3.0\"\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0] as char); 9].join(",");
        laughs.push_str(&format!("{}: &{} [{refs}]\n", w[1] as char, w[1] as char));
    }
    let f = write(d.path(), "laughs.yaml", &laughs);
    every_command_refuses(&f, &[], "(an alias bomb?)");

    let mut chain = String::from("_format_version: \"3.0\"\nc0: &c0 {k0: x}\n");
    for i in 1..3000 {
        chain.push_str(&format!("c{i}: &c{i} {{<<: *c{}, k{i}: x}}\n", i - 1));
    }
    let f = write(d.path(), "chain.yaml", &chain);
    let run = bounded(&["validate", "-s", &f], &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("anchors and aliases copy more than 1000000 nodes"), "{}", run.stderr);
}

#[test]
fn indent_arguments_are_bounded() {
    let d = dir();
    let text =
        "_format_version: \"3.0\"\nservices:\n- name: a\n  host: ${{ env \"DECK_X\" | indent 9223372036854775807 }}\n";
    let f = write(d.path(), "indent.yaml", text);
    every_command_refuses(&f, &[("DECK_X", "a\nb")], &format!("{f}:4:9: error: error calling indent:"));
}

#[test]
fn a_repetitive_deck_variable_costs_linear_time() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/kong.yaml");
    let demo = demo.to_string_lossy();
    let value = "ab".repeat(50_000);
    let run = bounded(&["validate", "-s", &demo], &[("DECK_REPEATED", &value)]);
    run.ok();
    let d = dir();
    let text = "_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  path: /${{ env \"DECK_REPEATED\" }}\n";
    let f = write(d.path(), "repeated.yaml", text);
    bounded(&["plan", "--gateway", "sandbox", "-s", &f], &[("DECK_REPEATED", &value)]).ok();
}

#[test]
fn many_tags_cost_linear_time() {
    let d = dir();
    let tags = |n: usize| -> String { (0..n).map(|i| format!("  - t{i}\n")).collect() };
    // 150,000 distinct tags: about 2.5 s in a debug build; comparing each tag with every
    // tag kept before it took 22 s for 70,000 and would take 100 s here.
    let text = format!("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  tags:\n{}", tags(150_000));
    let f = write(d.path(), "many-tags.yaml", &text);
    bounded_by(&["validate", "-s", &f], &[], Duration::from_secs(30)).ok();
    let text = format!("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  tags:\n{}", tags(70_000));
    let f = write(d.path(), "tags.yaml", &text);
    let run = bounded(&["plan", "--gateway", "sandbox", "-s", &f], &[]);
    run.ok();
    assert!(run.stdout.contains("Plan: 1 to add"), "{}", run.stdout);
}

#[test]
fn a_minified_json_file_with_templates_costs_linear_time() {
    let d = dir();
    let services: Vec<String> = (0..5000)
        .map(|i| format!("{{\"name\":\"s{i}\",\"host\":\"h\",\"tags\":[\"${{{{ env `DECK_T` }}}}\"]}}"))
        .collect();
    let text = format!("{{\"_format_version\":\"3.0\",\"services\":[{}]}}", services.join(","));
    let f = write(d.path(), "minified.json", &text);
    let run = bounded(&["validate", "-s", &f], &[("DECK_T", "team")]);
    run.ok();
    assert!(run.stdout.contains("valid (5000 entities)"), "{}", run.stdout);
}

#[test]
fn errors_name_the_line_of_what_is_wrong() {
    let d = dir();
    let f = write(d.path(), "port.yaml", "_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  port: 70000\n");
    let run = bounded(&["validate", "-s", &f], &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!("{f}:5:9: error: services[0].port: value should be between 0 and 65535")),
        "{}",
        run.stderr
    );
    let f = write(d.path(), "tab.yaml", "_format_version: \"3.0\"\nservices:\n- name: a\n\thost: h\n");
    let run = bounded(&["validate", "-s", &f], &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!("{f}:4:1: error: invalid YAML: a tab is used for indentation")),
        "{}",
        run.stderr
    );
    let text =
        "{\n  \"_format_version\": \"3.0\",\n  \"services\": [\n    {\"name\": \"a\", \"host\": \"h\",}\n  ]\n}\n";
    let f = write(d.path(), "comma.json", text);
    let run = bounded(&["validate", "-s", &f], &[]);
    run.expect_code(1);
    assert!(run.stderr.contains(&format!("{f}:4:30: error: invalid JSON: trailing comma")), "{}", run.stderr);
}

#[test]
fn value_errors_never_show_the_value_of_a_secret() {
    let d = dir();
    let secret = "ka-Secret-0123456789";
    let text = format!(
        "_format_version: \"3.0\"\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: !!int {secret}\n"
    );
    let f = write(d.path(), "tagged.yaml", &text);
    let ledger = d.path().join("ledger.db").to_string_lossy().into_owned();
    let run = bounded(&["apply", "--gateway", "sandbox", "--auto-approve", "--ledger", &ledger, "-s", &f], &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("the value tagged `!!int` is not an integer"), "{}", run.stderr);
    let history = bounded(&["history", "--ledger", &ledger, "--format", "json"], &[]);
    history.ok();
    assert!(history.stdout.contains("is not an integer"), "{}", history.stdout);
    for out in [&run.stdout, &run.stderr, &history.stdout, &history.stderr] {
        assert!(!out.contains(secret), "{out}");
    }
    // A 3-character secret is below the output scrubber's length: the message itself must
    // not carry it.
    let text = "_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  port: ${{ env \"DECK_PORT\" | toInt }}\n";
    let f = write(d.path(), "port.yaml", text);
    let run = bounded(&["validate", "-s", &f], &[("DECK_PORT", "k3y")]);
    run.expect_code(1);
    assert!(run.stderr.contains("parsing (sensitive value): invalid syntax"), "{}", run.stderr);
    assert!(!run.stderr.contains("k3y"), "{}", run.stderr);
}
