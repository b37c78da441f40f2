//! Pull-request comments: one body, or pages under 65,000 characters that each render on
//! their own.

use std::fmt::Write as _;

use crate::common::{TestSandbox, gateform, write};

/// Checks that a page is well-formed on its own: every `<details>` closed, every code
/// fence closed, no section cut in half.
fn assert_valid_markdown(name: &str, page: &str) {
    assert_eq!(page.matches("<details>").count(), page.matches("</details>").count(), "{name}: unbalanced <details>");
    let fences = page.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "{name}: a code block is left open");
    assert!(page.starts_with("## gateform plan"), "{name}: no header");
    assert!(page.trim_end().ends_with("</details>") || !page.contains("<details>"), "{name}: ends inside a section");
}

#[test]
fn a_small_plan_is_one_comment() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: s.internal\n");
    let run = gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--format", "markdown"]);
    run.ok();
    assert!(run.stdout.contains("| `services` | 1 | 0 | 0 |"), "{}", run.stdout);
    assert!(
        run.stdout.contains("<details><summary><code>+ services \"s\"</code> will be created</summary>"),
        "{}",
        run.stdout
    );
    assert_valid_markdown("stdout", &run.stdout);
}

#[test]
fn a_500_service_change_set_splits_into_valid_pages() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from("_format_version: \"3.0\"\nservices:\n");
    for i in 0..500 {
        let _ = write!(
            doc,
            "  - name: service-{i:03}\n    url: https://backend-{i:03}.internal.example.com:8443/api/v1/resources\n    retries: 3\n    tags: [team-{}, tier-gold, managed]\n    routes:\n      - name: route-{i:03}\n        paths: [/api/{i:03}/items, /api/{i:03}/orders]\n        methods: [GET, POST, PUT]\n",
            i % 7
        );
    }
    let file = write(dir.path(), "kong.yaml", &doc);
    let out_dir = dir.path().join("comments");
    let run = gateform(&[
        "plan",
        "--gateway",
        &sb.url,
        "-s",
        &file,
        "--format",
        "markdown",
        "--markdown-dir",
        out_dir.to_str().unwrap(),
    ]);
    run.ok();
    let mut pages: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    assert!(pages.len() >= 2, "{pages:?}");
    let total = pages.len();
    let mut sections = 0;
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p.file_name().unwrap().to_string_lossy(), format!("plan-{}.md", i + 1));
        let page = std::fs::read_to_string(p).unwrap();
        let name = p.display().to_string();
        assert!(page.chars().count() < 65_000, "{name} has {} characters", page.chars().count());
        assert_valid_markdown(&name, &page);
        if i == 0 {
            assert!(page.contains("Plan: 1000 to add, 0 to change, 0 to destroy."), "{name}");
            assert!(
                page.contains("| `services` | 500 | 0 | 0 |") && page.contains("| `routes` | 500 | 0 | 0 |"),
                "{name}"
            );
            assert!(page.contains(&format!("(part 1 of {total})")));
        } else {
            assert!(page.contains(&format!("(part {} of {total}, continued)", i + 1)), "{name}");
            assert!(!page.contains("| Kind |"), "the summary is only on the first page");
        }
        sections += page.matches("<details>").count();
    }
    assert_eq!(sections, 1000, "every change is in exactly one page");
}
