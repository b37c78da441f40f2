//! Every file set of `../shared/real-configs/tyk/` (and every data file on its own) through
//! the binary: it validates, applies onto an empty Tyk sandbox, plans again empty, dumps,
//! and the dump plans empty; or it is refused with the clear `file:line` reason listed in
//! [`REFUSED`]. The sandbox resolves the `secrets://` references the sets use, as a gateway
//! configured with them would.

use std::collections::BTreeMap;
use std::path::Path;

use gateform::tyk::sandbox::TykSandboxOptions;
use serde_json::Value;

use super::{TykBox, run, run_env};
use crate::tyk::real_configs::sets;

/// `(set, whole set "" or one file, the refusal's text)`; everything else must go through.
const REFUSED: &[(&str, &str, &str)] = &[
    // The sample policy map grants an API that is not among the samples.
    (
        "TykTechnologies/tyk",
        "",
        "policies/policies.json:8:40: error: policy \"default\": `access_rights` names API \"41433797848f41a558c1573d3e55a410\", which is neither in the configuration nor on the gateway",
    ),
    (
        "TykTechnologies/tyk",
        "policies/policies.json",
        "policies/policies.json:8:40: error: policy \"default\": `access_rights` names API \"41433797848f41a558c1573d3e55a410\", which is neither in the configuration nor on the gateway",
    ),
    // On its own, the trial's policy grants the httpbin OAS API of the other directory.
    (
        "TykTechnologies/tyk-examples",
        "oas/self-managed-trial/policy-6902d4f489196c00011d7d6e.json",
        "oas/self-managed-trial/policy-6902d4f489196c00011d7d6e.json:14:41: error: policy \"HTTPBIN API Access\" (6902d4f489196c00011d7d6e): `access_rights` names API \"f96643ab318b4eb873810a2385295b2d\", which is neither in the configuration nor on the gateway",
    ),
    // An index listing files the repository does not hold.
    ("caroltyk/tyk-apiops-demo", "", "sync-data/.tyk.json:5:17: error: `test1.json` is listed here but"),
    // A template whose placeholders CI replaces: as committed, its listen path has spaces.
    (
        "caroltyk/tyk-apiops-demo",
        "oas-httpbin/apidefinitions/oas-httpbin.json",
        "oas-httpbin/apidefinitions/oas-httpbin.json:72:18: error: OAS API \"332dfe73986a4cbd40aa73e94f7e996e\" has white space in its listen path (\"<<AUTO REPLACE LISTENPATH>>\")",
    ),
    // `type: oas` (tyk-sync's import of plain OpenAPI), and the plain OpenAPI file itself.
    (
        "codenation-nl/tyk-gateway-policies",
        "",
        ".tyk.json:2:13: error: `type: oas` asks tyk-sync to convert plain OpenAPI",
    ),
    (
        "codenation-nl/tyk-gateway-policies",
        "apps/httpbin.json",
        "apps/httpbin.json:1:1: error: this is a plain OpenAPI document without the `x-tyk-api-gateway` extension",
    ),
    // JWT defaults and scopes naming policies the dump does not hold.
    (
        "rewsmith/tyk-github-actions-example",
        "api-c7c3b826a9ec4c637ae716e00cecc010.json",
        "api-c7c3b826a9ec4c637ae716e00cecc010.json:111:7: error: API \"JWT API\" (c7c3b826a9ec4c637ae716e00cecc010): `jwt_default_policies` names policy \"5ead72955759610001818688\", which is neither in the configuration nor on the gateway",
    ),
    // Policies granting APIs that are not in the file set.
    (
        "rewsmith/tyk-github-actions-example",
        "policy-641c15dd0fffb800010197bf.json",
        "policy-641c15dd0fffb800010197bf.json:14:41: error: policy \"Rate Limit Proxy\" (641c15dd0fffb800010197bf): `access_rights` names API \"c252af6eaf2e43ca5c89465af4f481c1\", which is neither in the configuration nor on the gateway",
    ),
    (
        "rewsmith/tyk-github-actions-example",
        "policy-655f3feb7197c000017a90cb.json",
        "policy-655f3feb7197c000017a90cb.json:14:41: error: policy \"Default Security Policyy\" (655f3feb7197c000017a90cb): `access_rights` names API \"d4c036e9b0154547763707341bcce7e4\", which is neither in the configuration nor on the gateway",
    ),
];

/// The variables a dump's placeholders stand for, with the values the gateway holds
/// (`SECRETS.md`: `| `VAR` | API `id` | `/pointer` |`).
fn placeholder_values(tb: &TykBox, dump: &Path) -> Vec<(String, String)> {
    let Ok(note) = std::fs::read_to_string(dump.join("SECRETS.md")) else { return Vec::new() };
    let mut out = Vec::new();
    for line in note.lines().filter(|l| l.starts_with("| `DECK_")) {
        let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
        let (var, object, pointer) = (cells[1], cells[2], cells[3]);
        let (kind, id) = object.rsplit_once(' ').unwrap();
        let path = match kind {
            "OAS API" => format!("/tyk/apis/oas/{}", id.trim_matches('`')),
            "policy" => format!("/tyk/policies/{}", id.trim_matches('`')),
            _ => format!("/tyk/apis/{}", id.trim_matches('`')),
        };
        let value = tb.get(&path).pointer(pointer).cloned().unwrap_or(Value::Null);
        let text = serde_json::to_string(&value).unwrap();
        out.push((var.to_owned(), text[1..text.len() - 1].to_owned()));
    }
    out
}

/// Runs one set through validate, apply, plan, dump and the dump's plan; `Err` with the
/// output of the first step that failed.
fn through(files: &BTreeMap<String, String>) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cfg");
    for (rel, text) in files {
        crate::common::write(&root, rel, text);
    }
    let cfg = root.to_string_lossy().into_owned();
    let secrets = [("listen_path", "/resolved-listen-path/"), ("target_url", "http://resolved.internal")];
    let opts = TykSandboxOptions {
        secrets: secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    };
    let tb = TykBox::start_with(opts);
    let step = |name: &str, r: crate::common::Run, want: i32| {
        if r.code == want { Ok(r) } else { Err(format!("{name} exited {}:\n{}\n{}", r.code, r.stdout, r.stderr)) }
    };
    step("validate", run(&tb, &["validate", "-s", &cfg]), 0)?;
    let apply = step("apply", run(&tb, &["apply", "-s", &cfg, "--auto-approve"]), 0)?;
    for resolved in ["/resolved-listen-path/", "http://resolved.internal"] {
        assert!(
            !apply.stdout.contains(resolved) && !apply.stderr.contains(resolved),
            "resolved values are never shown"
        );
    }
    step("plan after apply", run(&tb, &["plan", "-s", &cfg, "--detailed-exitcode"]), 0)?;
    let dump = tmp.path().join("dump");
    let d = dump.to_string_lossy().into_owned();
    step("dump", run(&tb, &["dump", "-o", &d]), 0)?;
    let all: String =
        std::fs::read_dir(&dump).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert!(!all.contains("resolved.internal") && !all.contains("/resolved-listen-path/"), "{all}");
    let vars = placeholder_values(&tb, &dump);
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    step("plan of the dump", run_env(&tb, &["plan", "-s", &d, "--detailed-exitcode"], &env), 0)?;
    Ok(())
}

fn check(set: &str, part: &str, files: &BTreeMap<String, String>, failures: &mut Vec<String>) {
    let refusal = REFUSED.iter().find(|(s, p, _)| *s == set && *p == part).map(|r| r.2);
    match (through(files), refusal) {
        (Ok(()), None) => {}
        (Ok(()), Some(why)) => failures.push(format!("{set} {part:?}: went through, but should be refused with {why}")),
        (Err(e), Some(why)) if e.contains(why) => {}
        (Err(e), _) => failures.push(format!("{set} {part:?}: {e}")),
    }
}

#[test]
fn every_real_tyk_file_set_applies_plans_empty_and_dumps_or_is_refused_with_its_reason() {
    let Some(dir) = crate::common::real_configs(
        "tyk",
        "every_real_tyk_file_set_applies_plans_empty_and_dumps_or_is_refused_with_its_reason",
    ) else {
        return;
    };
    let mut failures = Vec::new();
    let mut seen = 0;
    for (set, files) in sets(&dir) {
        check(&set, "", &files, &mut failures);
        seen += 1;
        for (rel, text) in files.iter().filter(|(rel, _)| !rel.ends_with(".tyk.json")) {
            check(&set, rel, &BTreeMap::from([(rel.clone(), text.clone())]), &mut failures);
            seen += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(seen, 5 + 16, "5 sets and 16 data files");
}
