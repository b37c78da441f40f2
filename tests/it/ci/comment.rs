//! `gateform plan --comment` against the loopback forge: one sticky comment per environment,
//! created on the first push, edited on the next, growing and shrinking pages, one line for
//! no changes, the posted bodies as snapshots, the pull request found from the CI's own
//! variables, no secret in any request, refusals explained, rate limits waited out and
//! dropped connections retried.

use std::fmt::Write as _;

use serde_json::json;

use super::forge::{Fault, Forge, Kind, TOKEN};
use crate::common::{Run, TestSandbox, gateform, gateform_env, write};

/// `n` services with routes (about 500 characters of comment each).
fn services(n: usize, suffix: &str) -> String {
    let mut doc = String::from("_format_version: \"3.0\"\nservices:\n");
    for i in 0..n {
        let _ = write!(
            doc,
            "  - name: svc-{i:03}\n    url: https://backend-{i:03}.internal.example{suffix}/api\n    routes:\n      - name: route-{i:03}\n        paths: [/api/{i:03}]\n"
        );
    }
    doc
}

/// Runs `plan --comment` on `file` against an empty sandbox, posting to `forge` with its token.
fn comment(forge: &Forge, file: &str, extra: &[&str]) -> Run {
    let var = if forge.kind == Kind::GitHub { "GITHUB_TOKEN" } else { "GITLAB_TOKEN" };
    comment_env(forge, "sandbox", file, extra, &[(var, TOKEN)])
}

/// [`comment`] planning against `gateway`, with the environment variables `env` (the token
/// among them).
fn comment_env(forge: &Forge, gateway: &str, file: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    comment_to(forge.kind, &forge.api_url, gateway, file, extra, env)
}

/// [`comment_env`] to the API of `kind` at `api_url`.
fn comment_to(kind: Kind, api_url: &str, gateway: &str, file: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let provider = if kind == Kind::GitHub { "github" } else { "gitlab" };
    let mut args = vec![
        "plan",
        "--gateway",
        gateway,
        "-s",
        file,
        "--comment",
        "--comment-provider",
        provider,
        "--comment-repository",
        "acme/gw",
        "--comment-pr",
        "7",
        "--comment-api-url",
        api_url,
    ];
    args.extend_from_slice(extra);
    gateform_env(&args, env)
}

fn writes(forge: &Forge) -> Vec<String> {
    forge
        .take_requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn ours(forge: &Forge) -> Vec<(u64, String)> {
    forge.comments().into_iter().filter(|(_, b)| b.starts_with("<!-- gateform:plan")).collect()
}

fn sticky_lifecycle(kind: Kind) {
    let forge = Forge::start(kind);
    let reviewer = forge.add_comment("Looks good to me");
    let dir = tempfile::tempdir().unwrap();
    let small = write(dir.path(), "small.yaml", &services(2, ""));
    let limit = ["--comment-max-chars", "3000"];

    // First push: one comment.
    comment(&forge, &small, &limit).ok();
    let w = writes(&forge);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("POST "), "{w:?}");
    let first = ours(&forge);
    assert_eq!(first.len(), 1);
    let (id, body) = &first[0];
    assert!(body.starts_with("<!-- gateform:plan env=default page=1 -->\n## gateform plan"), "{body}");
    assert!(body.contains("| `services` | 2 | 0 | 0 |"), "{body}");

    // Second push, changed plan: the same comment is edited, nothing is posted.
    let edited = write(dir.path(), "edited.yaml", &services(3, ""));
    let run = comment(&forge, &edited, &limit);
    run.ok();
    assert!(run.stderr.contains("1 page (0 new, 1 edited, 0 unchanged), 0 old pages removed"), "{}", run.stderr);
    let w = writes(&forge);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(if kind == Kind::GitHub { "PATCH" } else { "PUT" }) && w[0].ends_with(&id.to_string()));
    assert_eq!(ours(&forge)[0].0, *id);
    assert!(ours(&forge)[0].1.contains("| `services` | 3 | 0 | 0 |"));

    // The same plan again: no write at all.
    comment(&forge, &edited, &limit).ok();
    assert!(writes(&forge).is_empty());

    // A larger plan: page 1 edited, the rest posted after it.
    let large = write(dir.path(), "large.yaml", &services(30, ""));
    comment(&forge, &large, &limit).ok();
    let pages = ours(&forge);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(pages[0].0, *id, "page 1 stays the sticky comment");
    for (i, (_, b)) in pages.iter().enumerate() {
        assert!(b.starts_with(&format!("<!-- gateform:plan env=default page={} -->", i + 1)), "{b}");
        assert!(b.chars().count() <= 3000, "page {} has {} characters", i + 1, b.chars().count());
        assert_eq!(b.matches("<details>").count(), b.matches("</details>").count());
    }
    assert!(pages[1].1.contains(&format!("(part 2 of {}, continued)", pages.len())));
    let w = writes(&forge);
    assert_eq!(w.iter().filter(|r| r.starts_with("POST")).count(), pages.len() - 1, "{w:?}");

    // A smaller plan again: the extra pages are removed.
    let run = comment(&forge, &small, &limit);
    run.ok();
    let after = ours(&forge);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, *id);
    let w = writes(&forge);
    assert_eq!(w.iter().filter(|r| r.starts_with("DELETE")).count(), pages.len() - 1, "{w:?}");
    // The reviewer's comment was never touched.
    assert!(forge.comments().iter().any(|(i, b)| *i == reviewer && b == "Looks good to me"));
}

#[test]
fn github_first_push_creates_the_comment_the_next_edit_it_pages_come_and_go() {
    sticky_lifecycle(Kind::GitHub);
}

#[test]
fn gitlab_first_push_creates_the_note_the_next_edit_it_pages_come_and_go() {
    sticky_lifecycle(Kind::GitLab);
}

#[test]
fn environments_get_a_comment_each_and_no_changes_is_one_line() {
    let sb = TestSandbox::start();
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &services(1, ""));
    gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve"]).ok();
    write(
        dir.path(),
        "gateform.toml",
        &format!(
            "[environments.staging]\ngateway = \"{}\"\npath = \"kong.yaml\"\n\n[environments.prod]\ngateway = \"sandbox\"\npath = \"kong.yaml\"\n",
            sb.url
        ),
    );
    let args = |env: &'static str| -> Vec<String> {
        ["plan", "--env", env, "--comment", "--comment-provider", "github", "--comment-repository", "acme/gw"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--comment-pr".into(), "7".into(), "--comment-api-url".into(), forge.api_url.clone()])
            .collect()
    };
    for env in ["staging", "prod"] {
        let out = crate::common::gateform_cmd()
            .current_dir(dir.path())
            .args(args(env))
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let ours = ours(&forge);
    assert_eq!(ours.len(), 2);
    let staging = &ours[0].1;
    assert!(staging.starts_with("<!-- gateform:plan env=staging page=1 -->\n"), "{staging}");
    assert_eq!(staging.lines().count(), 2, "marker and one line: {staging}");
    assert!(staging.contains("**gateform plan for `staging`: no changes.**"), "{staging}");
    assert!(ours[1].1.starts_with("<!-- gateform:plan env=prod page=1 -->\n## gateform plan for `prod`"));
}

#[test]
fn no_secret_reaches_the_forge() {
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kong.yaml",
        "_format_version: \"3.0\"\nconsumers:\n  - username: shop\n    keyauth_credentials:\n      - key: literal-key-7f3a9c\n    basicauth_credentials:\n      - username: shop\n        password: ${{ env \"DECK_SHOP_PASSWORD\" }}\nservices:\n  - name: s\n    host: s.internal\n    tags: [\"from-env-4b9e1d\"]\n",
    );
    let env = [("GITHUB_TOKEN", TOKEN), ("DECK_SHOP_PASSWORD", "pw-from-env-91c2")];
    let run = comment_env(&forge, "sandbox", &file, &[], &env);
    run.ok();
    let requests = forge.take_requests();
    assert!(requests.iter().any(|r| r.method == "POST"));
    for r in &requests {
        assert_eq!(r.auth.as_deref(), Some(TOKEN), "the token goes in the header");
        for secret in ["literal-key-7f3a9c", "pw-from-env-91c2", TOKEN] {
            assert!(!r.body.contains(secret), "{secret} in {} {}: {}", r.method, r.path, r.body);
        }
    }
    let body = &ours(&forge)[0].1;
    assert!(body.contains("keyauth_credentials"), "{body}");
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains(TOKEN) && !out.contains("literal-key-7f3a9c"));
    }
}

#[test]
fn refusals_are_explained_and_the_token_never_printed() {
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &services(1, ""));
    let run = comment_env(&forge, "sandbox", &file, &[], &[("GITHUB_TOKEN", "wrong-token-0a1b2c")]);
    run.expect_code(1);
    assert!(run.stderr.contains("HTTP 401 Bad credentials"), "{}", run.stderr);
    assert!(run.stderr.contains("does not accept the token in GITHUB_TOKEN"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-token-0a1b2c") && !run.stdout.contains("wrong-token-0a1b2c"));
    assert_eq!(forge.take_requests().len(), 1, "a 401 is not retried");

    // A 403 that is no rate limit: the token may not write; not retried either.
    forge.fail_next(Fault {
        status: 403,
        headers: vec![],
        body: json!({"message": "Resource not accessible by integration", "status": "403"}),
    });
    let run = comment(&forge, &file, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("HTTP 403 Resource not accessible by integration"), "{}", run.stderr);
    assert!(run.stderr.contains("`permissions: pull-requests: write`"), "{}", run.stderr);
    assert_eq!(forge.take_requests().len(), 1, "a 403 without a rate limit is not retried");

    // GitLab: a project that is not there.
    let gitlab = Forge::start(Kind::GitLab);
    gitlab.fail_next(Fault { status: 404, headers: vec![], body: json!({"message": "404 Project Not Found"}) });
    let run = comment(&gitlab, &file, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("HTTP 404 404 Project Not Found"), "{}", run.stderr);
    assert!(run.stderr.contains("acme/gw!7 was not found. Check --comment-repository"), "{}", run.stderr);

    // Without a token nothing is planned.
    let run = gateform(&[
        "plan",
        "--gateway",
        "sandbox",
        "-s",
        &file,
        "--comment",
        "--comment-provider",
        "gitlab",
        "--comment-repository",
        "1",
        "--comment-pr",
        "2",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("--comment needs a token in GITLAB_TOKEN"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_rate_limit_403_with_retry_after_is_waited_out() {
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &services(1, ""));
    let limited = |after: &str| Fault {
        status: 403,
        headers: vec![("retry-after".into(), after.into())],
        body: json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
    };
    forge.fail_next(limited("1"));
    forge.fail_next(Fault { status: 502, headers: vec![], body: json!({"message": "Server Error"}) });
    let started = std::time::Instant::now();
    comment(&forge, &file, &[]).ok();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After was not honoured");
    let requests = forge.take_requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "GET", "POST"], "a 403 and a 502, then the list and the post");
    assert_eq!(ours(&forge).len(), 1);

    // A limit longer than gateform waits fails at once, saying so.
    forge.fail_next(limited("3600"));
    let started = std::time::Instant::now();
    let run = comment(&forge, &file, &[]);
    run.expect_code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(run.stderr.contains("GitHub rate-limits this token (HTTP 403"), "{}", run.stderr);
    assert!(run.stderr.contains("retry after 3600 s"), "{}", run.stderr);
}

#[test]
fn a_failed_plan_replaces_the_comment_with_the_error() {
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yaml", &services(1, ""));
    comment(&forge, &good, &[]).ok();
    let bad = write(dir.path(), "bad.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    retries: many\n");
    let run = comment(&forge, &bad, &[]);
    run.expect_code(1);
    let ours = ours(&forge);
    assert_eq!(ours.len(), 1, "the same comment");
    let body = &ours[0].1;
    assert!(body.contains("## gateform plan failed"), "{body}");
    assert!(body.contains("bad.yaml:4:"), "{body}");
    assert!(run.stderr.contains("bad.yaml:4:"), "{}", run.stderr);
}

/// Snapshots `body` with what changes between runs replaced: the sandbox's port, temporary
/// directories and ids.
fn snapshot(name: &str, body: &str) {
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"/[^\s`'()]*/\.tmp[^/\s]*/", "[TMP]/"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
    ]}, {
        insta::assert_snapshot!(name, body);
    });
}

#[test]
fn the_posted_comments_render_as_snapshots() {
    let sb = TestSandbox::start();
    let forge = Forge::start(Kind::GitHub);
    let dir = tempfile::tempdir().unwrap();
    let live = write(dir.path(), "live.yaml", &services(2, ""));
    gateform(&["apply", "--gateway", &sb.url, "-s", &live, "--auto-approve"]).ok();
    let on_sandbox = |file: &str, extra: &[&str]| comment_env(&forge, &sb.url, file, extra, &[("GITHUB_TOKEN", TOKEN)]);

    // Update svc-000, delete svc-001 and its route, create svc-002.
    let mut changed = services(1, ".v2");
    changed.push_str(&services(3, "")[services(2, "").len()..]);
    let changed = write(dir.path(), "changed.yaml", &changed);
    on_sandbox(&changed, &[]).ok();
    snapshot("comment_changes", &ours(&forge)[0].1);

    on_sandbox(&live, &[]).ok();
    snapshot("comment_no_changes", &ours(&forge)[0].1);

    let bad = write(dir.path(), "bad.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    retries: many\n");
    on_sandbox(&bad, &[]).expect_code(1);
    snapshot("comment_failure", &ours(&forge)[0].1);

    // More pages than --comment-max-pages: the last one posted says what was left out.
    let large = write(dir.path(), "large.yaml", &services(30, ""));
    on_sandbox(&large, &["--comment-max-chars", "3000", "--comment-max-pages", "2"]).ok();
    let pages = ours(&forge);
    assert_eq!(pages.len(), 2);
    snapshot("comment_last_page", &pages[1].1);
}

/// Runs `plan --comment` on `file` with no other comment flag: the CI variables `env` say
/// where to post (the host's own CI variables are removed).
fn comment_in_ci(file: &str, env: &[(&str, String)]) -> Run {
    let mut cmd = crate::common::gateform_cmd();
    cmd.args(["plan", "--gateway", "sandbox", "-s", file, "--comment"]).stdin(std::process::Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("GITLAB_") || k.starts_with("CI_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("run gateform").into()
}

#[test]
fn the_ci_variables_name_the_pull_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &services(1, ""));

    // GitHub Actions on `pull_request_target`: GITHUB_REF is the base branch, the number is in
    // the event payload.
    let github = Forge::start(Kind::GitHub);
    let event = write(dir.path(), "event.json", r#"{"action": "synchronize", "pull_request": {"number": 7}}"#);
    let run = comment_in_ci(
        &file,
        &[
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_REPOSITORY", "acme/gw".into()),
            ("GITHUB_REF", "refs/heads/main".into()),
            ("GITHUB_EVENT_PATH", event),
            ("GITHUB_API_URL", github.api_url.clone()),
            ("GITHUB_TOKEN", TOKEN.into()),
        ],
    );
    run.ok();
    assert!(run.stderr.contains("Posted the plan to pull request acme/gw#7"), "{}", run.stderr);
    let paths: Vec<String> = github.take_requests().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(paths, ["GET /repos/acme/gw/issues/7/comments", "POST /repos/acme/gw/issues/7/comments"]);

    // GitLab CI in a merge request pipeline.
    let gitlab = Forge::start(Kind::GitLab);
    let run = comment_in_ci(
        &file,
        &[
            ("GITLAB_CI", "true".into()),
            ("CI_PROJECT_ID", "1234".into()),
            ("CI_MERGE_REQUEST_IID", "9".into()),
            ("CI_API_V4_URL", gitlab.api_url.clone()),
            ("GITLAB_TOKEN", TOKEN.into()),
        ],
    );
    run.ok();
    assert!(run.stderr.contains("Posted the plan to merge request 1234!9"), "{}", run.stderr);
    let paths: Vec<String> = gitlab.take_requests().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        paths,
        ["GET /api/v4/projects/1234/merge_requests/9/notes", "POST /api/v4/projects/1234/merge_requests/9/notes"]
    );

    // A branch pipeline has no merge request: nothing is planned, the message says why.
    let run = comment_in_ci(
        &file,
        &[("GITLAB_CI", "true".into()), ("CI_PROJECT_ID", "1234".into()), ("GITLAB_TOKEN", TOKEN.into())],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("no merge request to comment on") && run.stderr.contains("CI_MERGE_REQUEST_IID"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_forge_that_drops_the_connection_is_retried_then_explained() {
    // A server that accepts every connection and closes it without an answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &services(1, ""));
    let run = comment_to(Kind::GitHub, &url, "sandbox", &file, &[], &[("GITHUB_TOKEN", TOKEN)]);
    run.expect_code(1);
    assert!(run.stderr.contains(&format!("cannot reach GitHub at {url} after retries")), "{}", run.stderr);
    assert!(!run.stderr.contains(TOKEN));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3, "the first try and 2 retries");
}
