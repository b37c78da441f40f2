//! A fuzz target for the configuration reader, run by `cargo test`: real decK files
//! (`shared/real-configs/kong/*`, beside the checkout or above it; `fixtures/`; a few
//! written here) are mutated — bytes cut, YAML and template tokens inserted, slices
//! repeated (which builds deep nesting and long alias chains), lines swapped — and every
//! mutant is read with the library's loader and YAML parser. Each case must end without a
//! panic, within a time budget, and with every error placed at a `file:line:column` inside
//! the file.
//!
//! The case count is bounded (300; `GATEFORM_FUZZ_CASES` changes it) and the random seed is
//! fixed, so CI runs the same cases each time (`GATEFORM_FUZZ_SEED`, a number, explores
//! others). Without the real configurations the test runs on the other seeds and says so;
//! under `CI=true` it fails instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gateform::kong::deck::read::{LoadOptions, load};
use gateform::source::{Input, yaml};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::common::real_configs_dir;
use crate::engine::real_configs::ENV;

/// How long reading one mutant may take (debug build, 2 shared cores): [`CASE_BUDGET`] plus
/// [`CASE_BUDGET_PER_KIB`] for each KiB of the mutant. The largest seed reads in well under a
/// second; a 64 KiB mutant of 8,000 entities takes 5 s idle and 17 s on a loaded machine, which
/// is linear work, while a blow-up (quadratic, exponential) takes far longer than the budget.
const CASE_BUDGET: Duration = Duration::from_secs(10);

/// The part of a mutant's budget that grows with its size.
const CASE_BUDGET_PER_KIB: Duration = Duration::from_millis(500);

/// A multi-line value, for templates inserted into the seeds (the real files' own
/// variables are those of the round-trip test).
const MULTI: (&str, &str) = ("DECK_MULTI", "line one\nline two\n  - item");

/// Pieces of YAML, JSON and template syntax to insert.
const TOKENS: &[&str] = &[
    "- ",
    ": ",
    "\n",
    "\n  ",
    "\t",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!int ",
    "!!str ",
    "!!bool ",
    "? ",
    "|\n",
    ">-\n",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "~",
    "null",
    "70000",
    "-1",
    "1e400",
    "0x",
    "é",
    "\u{feff}",
    "${{ ",
    " }}",
    "${{ env \"DECK_MULTI\" }}",
    "${{ env \"DECK_RETRIES\" | toInt }}",
    "${{ env \"DECK_MULTI\" | indent 4 }}",
    "${{ env \"DECK_NOT_SET\" }}",
    "(",
    ")",
    " | ",
    "_format_version: \"1.1\"\n",
    "services:\n",
    "  routes:\n",
    "plugins:\n- name: key-auth\n",
];

/// Small seeds that exercise what the real files may not: JSON, anchors, templates.
const WRITTEN_SEEDS: &[(&str, &str)] = &[
    (
        "written.json",
        "{\n  \"_format_version\": \"3.0\",\n  \"services\": [\n    {\"name\": \"a\", \"host\": \"h\", \"port\": 80, \"routes\": [{\"name\": \"r\", \"paths\": [\"/a\"]}]}\n  ],\n  \"consumers\": [{\"username\": \"u\", \"keyauth_credentials\": [{\"key\": \"k-0123456789\"}]}]\n}\n",
    ),
    (
        "written.yaml",
        "_format_version: \"3.0\"\nbase: &base\n  connect_timeout: 5000\n  retries: ${{ env \"DECK_RETRIES\" | toInt }}\n_info:\n  select_tags: [team-a]\nservices:\n- name: a\n  host: ${{ env \"DECK_SERVICE_HOST\" }}\n  tags: [x, y]\n  plugins:\n  - name: rate-limiting\n    config: {minute: 5, policy: local}\n  routes:\n  - name: r\n    paths: [/a, \"~/b/\\\\d+$\"]\nupstreams:\n- name: up\n  targets:\n  - target: 10.0.0.1:80\ncertificates:\n- cert: |\n    ${{ env \"DECK_MULTI\" | indent 4 }}\n  key: secret\n",
    ),
];

fn config_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn seeds() -> Vec<(String, String)> {
    let mut seeds: Vec<(String, String)> =
        WRITTEN_SEEDS.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    seeds.extend(config_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")));
    if let Some(dir) = real_configs_dir("the parser fuzz target's real-config seeds") {
        seeds.extend(config_files(&dir));
    }
    seeds
}

/// One edit of a text; positions are fractions of its length, moved back to a character
/// boundary.
#[derive(Debug, Clone)]
enum Mutation {
    Delete {
        at: Index,
        len: u8,
    },
    Insert {
        at: Index,
        token: Index,
    },
    Chars {
        at: Index,
        chars: String,
    },
    /// Repeats the slice at `at` (up to 64 bytes) `times` times in place.
    Repeat {
        at: Index,
        len: u8,
        times: u16,
    },
    SwapLines {
        a: Index,
        b: Index,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1u8..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (any::<Index>(), proptest::collection::vec(any::<char>(), 1..6))
            .prop_map(|(at, chars)| Mutation::Chars { at, chars: chars.into_iter().collect() }),
        (any::<Index>(), 1u8..64, 2u16..30_000).prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let at = |i: &Index| boundary(text, i.index(text.len() + 1));
    match m {
        Mutation::Delete { at: i, len } => {
            let start = at(i);
            let end = boundary(text, start + *len as usize);
            format!("{}{}", &text[..start], &text[end..])
        }
        Mutation::Insert { at: i, token } => {
            let p = at(i);
            format!("{}{}{}", &text[..p], TOKENS[token.index(TOKENS.len())], &text[p..])
        }
        Mutation::Chars { at: i, chars } => {
            let p = at(i);
            format!("{}{chars}{}", &text[..p], &text[p..])
        }
        Mutation::Repeat { at: i, len, times } => {
            let start = at(i);
            let end = boundary(text, start + *len as usize);
            let slice = &text[start..end];
            let times = (*times as usize).min(65_536 / slice.len().max(1));
            format!("{}{}{}", &text[..start], slice.repeat(times), &text[end..])
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            if !lines.is_empty() {
                let (x, y) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(x, y);
            }
            lines.concat()
        }
    }
}

/// Reads one mutant; the case fails on a panic (caught by the runner), on a run past
/// its budget (see [`CASE_BUDGET`]), or on an error without a place inside the file.
fn read_case(name: &str, text: &str, env: &BTreeMap<String, String>) -> Result<(), TestCaseError> {
    let lines = text.split('\n').count();
    let started = Instant::now();
    let parsed = yaml::parse(text).map(|node| node.to_json());
    if let Err(e) = &parsed {
        prop_assert!(e.pos.line >= 1 && e.pos.line <= lines && e.pos.column >= 1, "YAML error outside the text: {e}");
    }
    let result = load(&[Input::new(name, text)], &LoadOptions { env: env.clone(), ..LoadOptions::default() });
    let elapsed = started.elapsed();
    let budget = CASE_BUDGET + CASE_BUDGET_PER_KIB * (text.len() / 1024) as u32;
    prop_assert!(elapsed < budget, "reading {} bytes took {elapsed:?}, over {budget:?}", text.len());
    if let Err(diags) = result {
        for d in diags.errors() {
            let Some(o) = &d.origin else {
                return Err(TestCaseError::fail(format!("error without a place: {d}")));
            };
            prop_assert!(&*o.file == name, "error in another file: {d}");
            prop_assert!(
                o.line >= 1 && o.line <= lines && o.column >= 1,
                "error outside the file ({lines} lines): {d}"
            );
        }
    }
    Ok(())
}

#[test]
fn mutated_configurations_are_read_without_panics_hangs_or_unplaced_errors() {
    let seeds = seeds();
    let env: BTreeMap<String, String> =
        ENV.iter().chain([&MULTI]).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    for (name, text) in &seeds {
        read_case(name, text, &env).unwrap_or_else(|e| panic!("seed {name}: {e}"));
    }
    let cases = std::env::var("GATEFORM_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000);
    let seed: u64 = std::env::var("GATEFORM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 512, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let strategy = (any::<Index>(), proptest::collection::vec(mutation(), 1..6));
    let started = Instant::now();
    let result = runner.run(&strategy, |(which, mutations)| {
        let (name, seed_text) = &seeds[which.index(seeds.len())];
        let text = mutations.iter().fold(seed_text.clone(), |t, m| apply(&t, m));
        read_case(name, &text, &env).map_err(|e| {
            // The last failing mutant (the minimal one, once shrunk) is kept for a look.
            let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failure.txt");
            let _ = std::fs::write(&kept, &text);
            TestCaseError::fail(format!("{name} mutated ({}): {e}", kept.display()))
        })
    });
    eprintln!(
        "{cases} mutants of {} seeds (fuzz seed {seed}) read in {:.1} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
