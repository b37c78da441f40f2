//! Every real decK file of `../shared/real-configs/kong/`: validate passes, apply onto an
//! empty sandbox succeeds, a second plan is empty, and a dump planned back is empty too.

use gateform::kong::sandbox::SandboxOptions;

use crate::common::{TestSandbox, custom_plugins, gateform_env, real_configs_dir};

/// Values for the `DECK_*` variables the decK test files use (SOURCES.md).
pub(crate) const ENV: &[(&str, &str)] = &[
    ("DECK_SVC1_HOSTNAME", "svc1.example.test"),
    ("DECK_BAZZ", "bazz"),
    ("DECK_BARR", "barr"),
    ("DECK_SERVICE_HOST", "service.example.test"),
    ("DECK_RETRIES", "3"),
    ("DECK_REGEX_PRIORITY", "10"),
    ("DECK_RATE_LIMIT", "100"),
    ("DECK_REDIS_DB", "1"),
];

fn real_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the real configurations can be listed")
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
}

/// Files that cannot round-trip, with the clear error each gives and the stage it stops at.
/// `(file name prefix, stage, message part)`. Each is what Kong itself would refuse.
const EXPECTED_FAILURES: &[(&str, &str, &str)] = &[
    // A Kong Enterprise dump: the oauth2 plugin carries a field Kong OSS 3.9 does not have
    // (it also uses Enterprise-only `ws`/`wss` protocols further down).
    (
        "Kong__CustomerSuccess__kong.yaml",
        "validate",
        "config.persistent_refresh_token: unknown field (plugin \"oauth2\")",
    ),
    // A kong2tf test input: its http service names a client certificate (by an id the file
    // never defines, which the plan would look up on the gateway), and Kong allows one only
    // for https services; its two CA certificates have expired (both errors in one run).
    (
        "Kong__deck__kong2tf__testdata__input.yaml",
        "validate",
        "service \"example-service\": 2 schema violations (failed conditional validation given value of field 'protocol'; client_certificate: value must be null)",
    ),
    // openapi2kong output: plugins scoped to consumers that the file does not define.
    (
        "Kong__go-apiops__openapi2kong__oas3_testfiles__09a",
        "validate",
        "refers to consumer \"johndoe2\", which is not defined",
    ),
];

/// Entities another team owns that a file refers to through `_info.default_lookup_tags`:
/// created on the gateway before the file is applied, as they would be in production.
fn seed(sb: &TestSandbox, name: &str) {
    if name.starts_with("Kong__deck__tests__integration__testdata__sync__015-consumer-groups") {
        sb.send("POST", "/consumer_groups", Some(serde_json::json!({"name": "foo-group", "tags": ["group-tag"]})))
            .unwrap();
    }
}

/// Runs the round trip of one file; `Err((stage, output))` on the first failing step.
fn round_trip(file: &std::path::Path) -> Result<(), (&'static str, String)> {
    let path = file.to_string_lossy().into_owned();
    let sb = TestSandbox::start_with(SandboxOptions {
        custom_plugins: custom_plugins(file),
        enterprise: true,
        ..SandboxOptions::default()
    });
    let url = sb.url.clone();
    seed(&sb, &file.file_name().unwrap().to_string_lossy());
    let run = |args: &[&str]| gateform_env(args, ENV);
    let check = |stage: &'static str, r: crate::common::Run| {
        if r.code == 0 { Ok(r) } else { Err((stage, format!("{}{}", r.stdout, r.stderr))) }
    };

    // The user declares the plugins Kong does not bundle; the gateway has them installed.
    let declared: Vec<String> =
        custom_plugins(file).into_iter().flat_map(|p| ["--custom-plugin".to_owned(), p]).collect();
    let mut validate = vec!["validate", "-s", &path];
    validate.extend(declared.iter().map(String::as_str));
    check("validate", run(&validate))?;
    check("apply", run(&["apply", "--gateway", &url, "-s", &path, "--auto-approve"]))?;
    let p = check("plan", run(&["plan", "--gateway", &url, "-s", &path]))?;
    if !p.stdout.contains("No changes.") {
        return Err(("second plan", p.stdout));
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.yaml").to_string_lossy().into_owned();
    check("dump", run(&["dump", "--gateway", &url, "-o", &dump, "--include-secrets"]))?;
    let p = check("plan of the dump", run(&["plan", "--gateway", &url, "-s", &dump]))?;
    if !p.stdout.contains("No changes.") {
        return Err((
            "plan of the dump",
            format!("{}\n--- dump:\n{}", p.stdout, std::fs::read_to_string(&dump).unwrap_or_default()),
        ));
    }
    Ok(())
}

#[test]
fn every_real_config_round_trips() {
    let Some(dir) = real_configs_dir("every_real_config_round_trips") else { return };
    let mut problems = Vec::new();
    let files = real_files(&dir);
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let expected = EXPECTED_FAILURES.iter().find(|(f, _, _)| name.starts_with(f));
        match (round_trip(&file), expected) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => problems.push(format!("{name}: expected to fail but round-trips")),
            (Err((stage, out)), None) => problems.push(format!("{name}: {stage} failed:\n{out}")),
            (Err((stage, out)), Some((_, want_stage, want))) => {
                if stage != *want_stage || !out.contains(want) {
                    problems.push(format!("{name}: expected {want_stage} to fail with {want:?}, got {stage}:\n{out}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
