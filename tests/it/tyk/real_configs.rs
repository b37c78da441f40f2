//! Every file set of `../shared/real-configs/tyk/` (see its SOURCES.md) is read, or refused
//! with the clear reason listed here; what is read dumps and reads back the same. Each data
//! file is also read on its own. Files are named `<owner>__<repo>__<path with / as __>`: a
//! set is one repository, rebuilt in memory with its paths.

use std::collections::BTreeMap;

use gateform::tyk::files::{DocKind, FileSet, ReadOptions, read_set};

/// `(set, whole set or one file, expected refusal part)`; everything else must read.
const REFUSED: &[(&str, &str, &str)] = &[
    // An index listing two files its repository does not hold (hand-written, never used).
    (
        "caroltyk/tyk-apiops-demo",
        "",
        "sync-data/.tyk.json:5:17: error: `test1.json` is listed here but caroltyk/tyk-apiops-demo:sync-data/test1.json does not exist",
    ),
    // `type: oas` (tyk-sync's import of plain OpenAPI files), with no files at all.
    (
        "codenation-nl/tyk-gateway-policies",
        "",
        ".tyk.json:2:13: error: `type: oas` asks tyk-sync to convert plain OpenAPI",
    ),
    // A plain OpenAPI document, without `x-tyk-api-gateway`.
    (
        "codenation-nl/tyk-gateway-policies",
        "apps/httpbin.json",
        "apps/httpbin.json:1:1: error: this is a plain OpenAPI document without the `x-tyk-api-gateway` extension",
    ),
];

/// What each set that reads holds: `(set, kind, id)`.
const EXPECTED: &[(&str, DocKind, &str)] = &[
    ("TykTechnologies/tyk", DocKind::ClassicApi, "1"),
    ("TykTechnologies/tyk", DocKind::ClassicApi, "4"),
    ("TykTechnologies/tyk", DocKind::ClassicApi, "3"),
    ("TykTechnologies/tyk", DocKind::Policy, "default"),
    ("TykTechnologies/tyk-examples", DocKind::OasApi, "f96643ab318b4eb873810a2385295b2d"),
    ("TykTechnologies/tyk-examples", DocKind::Policy, "6902d4f489196c00011d7d6e"),
    ("rewsmith/tyk-github-actions-example", DocKind::ClassicApi, "d4c036e9b0154547763707341bcce7e4"),
    ("rewsmith/tyk-github-actions-example", DocKind::Policy, "655f3feb7197c000017a90cb"),
];

/// The sets: `"owner/repo"` → relative path → text.
pub fn sets(dir: &std::path::Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "SOURCES.md" {
            continue;
        }
        let mut parts = name.splitn(3, "__");
        let (owner, repo, rest) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let rel = rest.replace("__", "/");
        out.entry(format!("{owner}/{repo}")).or_default().insert(rel, std::fs::read_to_string(&path).unwrap());
    }
    out
}

fn check(set: &str, part: &str, fs: &FileSet, failures: &mut Vec<String>) -> Option<gateform::tyk::files::Documents> {
    let refusal = REFUSED.iter().find(|(s, p, _)| *s == set && *p == part).map(|r| r.2);
    match (read_set(fs, &ReadOptions::default()), refusal) {
        (Ok(docs), None) => Some(docs),
        (Ok(_), Some(why)) => {
            failures.push(format!("{set} {part}: read, but should be refused with {why}"));
            None
        }
        (Err(e), Some(why)) if e.to_string().contains(why) => None,
        (Err(e), _) => {
            failures.push(format!("{set} {part}: {e}"));
            None
        }
    }
}

#[test]
fn every_real_tyk_file_set_reads_or_is_refused_with_its_reason() {
    let Some(dir) = crate::common::real_configs("tyk", "every_real_tyk_file_set_reads_or_is_refused_with_its_reason")
    else {
        return;
    };
    let mut failures = Vec::new();
    let mut read = Vec::new();
    for (set, files) in sets(&dir) {
        let mut fs = FileSet::new(format!("{set}:"));
        files.iter().for_each(|(rel, text)| fs.insert(rel.clone(), text.clone()));
        if let Some(docs) = check(&set, "", &fs, &mut failures) {
            read.extend(docs.docs.iter().map(|d| (set.clone(), d.kind, d.id.clone())));
            super::files::round_trips(&docs);
        }
        for (rel, text) in files.iter().filter(|(rel, _)| !rel.ends_with(".tyk.json")) {
            let mut one = FileSet::new(format!("{set}:"));
            one.insert(rel.clone(), text.clone());
            if let Some(docs) = check(&set, rel, &one, &mut failures) {
                assert_eq!(docs.docs.len(), 1, "{set} {rel}");
                super::files::round_trips(&docs);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let expected: Vec<(String, DocKind, String)> =
        EXPECTED.iter().map(|(s, k, i)| (s.to_string(), *k, i.to_string())).collect();
    assert_eq!(read, expected);
}
