use std::path::Path;

use git2::{Repository, Signature, Time};

use super::*;

/// Writes `files` into the work tree, stages exactly them (plus what is already staged) and
/// commits; returns the commit id.
fn commit(repo: &Repository, files: &[(&str, &str)], message: &str, seconds: i64) -> git2::Oid {
    let root = repo.workdir().unwrap().to_path_buf();
    let mut index = repo.index().unwrap();
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::new("Jane Doe", "jane@example.test", &Time::new(seconds, 60)).unwrap();
    let parents: Vec<git2::Commit<'_>> = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap()
}

fn fixture() -> (tempfile::TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    commit(
        &repo,
        &[
            ("kong/b.yaml", "b1"),
            ("kong/a.json", "a1"),
            ("kong/sub/c.yml", "c1"),
            ("kong/README.md", "skip"),
            ("top.yaml", "top"),
        ],
        "First\n\nbody",
        1_700_000_000,
    );
    {
        let first = repo.head().unwrap().peel_to_commit().unwrap();
        repo.tag_lightweight("v1", first.as_object(), false).unwrap();
    }
    commit(&repo, &[("kong/b.yaml", "b2")], "Second", 1_700_000_100);
    (dir, repo)
}

fn open_local(dir: &Path) -> GitRepo {
    open(&dir.to_string_lossy(), Path::new("/nonexistent-cache")).unwrap()
}

#[test]
fn reads_a_subdirectory_recursively_sorted_and_named_by_revision() {
    let (dir, _repo) = fixture();
    let git = open_local(dir.path());
    let v1 = git.resolve("v1").unwrap();
    let inputs = git.read_config(&v1, Some("kong/")).unwrap();
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["v1:kong/a.json", "v1:kong/b.yaml", "v1:kong/sub/c.yml"]);
    assert_eq!(inputs[1].text, "b1");
    let head = git.resolve("HEAD").unwrap();
    assert_eq!(git.read_config(&head, Some("kong")).unwrap()[1].text, "b2");
    let prev = git.resolve("HEAD~1").unwrap();
    assert_eq!(prev.commit.id(), v1.commit.id());
    let all = git.read_config(&head, None).unwrap();
    assert_eq!(all.len(), 4, "the root holds every configuration file: {all:?}");
    assert_eq!(all[3].name, "HEAD:top.yaml");
}

#[test]
fn a_single_file_can_be_named() {
    let (dir, _repo) = fixture();
    let git = open_local(dir.path());
    let head = git.resolve("HEAD").unwrap();
    let inputs = git.read_config(&head, Some("kong/README.md")).unwrap();
    assert_eq!(inputs, vec![Input::new("HEAD:kong/README.md", "skip")]);
    assert_eq!(git.read_file(&head, "top.yaml").unwrap().unwrap().text, "top");
    assert!(git.read_file(&head, "gateform.toml").unwrap().is_none());
    assert!(git.read_file(&head, "kong").unwrap().is_none(), "a directory is not a file");
}

#[test]
fn uncommitted_and_staged_edits_are_not_read() {
    let (dir, repo) = fixture();
    std::fs::write(dir.path().join("kong/b.yaml"), "edited").unwrap();
    std::fs::write(dir.path().join("kong/new.yaml"), "staged").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("kong/new.yaml")).unwrap();
    index.write().unwrap();
    let git = open_local(dir.path());
    let head = git.resolve("HEAD").unwrap();
    let inputs = git.read_config(&head, Some("kong")).unwrap();
    let texts: Vec<&str> = inputs.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, vec!["a1", "b2", "c1"]);
}

#[test]
fn describes_the_commit() {
    let (dir, _repo) = fixture();
    let git = open_local(dir.path());
    let v1 = git.resolve("v1").unwrap();
    let info = git.describe(&v1, Some("./kong/"));
    assert_eq!(info.reference, "v1");
    assert_eq!(info.commit, v1.commit.id().to_string());
    assert_eq!(info.author, "Jane Doe <jane@example.test>");
    assert_eq!(info.date, "2023-11-14T23:13:20+01:00");
    assert_eq!(info.subject, "First");
    assert_eq!(info.path, "kong");
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["ref"], "v1");
    let shown = info.to_string();
    assert!(shown.contains("@ v1 (commit ") && shown.ends_with("\"First\" path kong"), "{shown}");
}

#[test]
fn errors_name_what_is_missing() {
    let (dir, _repo) = fixture();
    let git = open_local(dir.path());
    let err = git.resolve("v9").err().unwrap();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err}");
    assert!(err.to_string().starts_with("unknown revision `v9` in "), "{err}");
    let head = git.resolve("HEAD").unwrap();
    let err = git.read_config(&head, Some("nope")).unwrap_err();
    assert!(err.to_string().starts_with("`nope` does not exist at HEAD (commit "), "{err}");
    let err = open(&dir.path().join("missing").to_string_lossy(), Path::new("/tmp")).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err}");
}

#[test]
fn a_directory_without_configuration_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    commit(&repo, &[("docs/readme.md", "x")], "docs", 1_700_000_000);
    let git = open_local(dir.path());
    let head = git.resolve("HEAD").unwrap();
    let err = git.read_config(&head, Some("docs")).unwrap_err();
    assert!(matches!(err, GitError::NoConfigFiles { .. }), "{err}");
}

#[test]
fn remote_or_local() {
    assert!(is_remote("https://example.test/org/repo.git"));
    assert!(is_remote("file:///srv/repo.git"));
    assert!(is_remote("git@example.test:org/repo.git"));
    assert!(!is_remote("."));
    assert!(!is_remote("/srv/repo"));
    assert!(!is_remote("relative/dir"));
    assert!(!is_remote("C:\\repo"));
}

#[test]
fn cache_paths_are_readable_and_distinct() {
    let a = cache_path(Path::new("/c"), "https://example.test/org/repo.git");
    let b = cache_path(Path::new("/c"), "https://example.test/org/repo");
    assert_ne!(a, b);
    let name = a.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("example.test_org_repo.git-"), "{name}");
}

fn git_available() -> bool {
    std::process::Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn a_remote_is_mirrored_then_fetched() {
    if !git_available() {
        eprintln!("skipped: no `git` on PATH");
        return;
    }
    let (dir, repo) = fixture();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    {
        let git = open(&url, cache.path()).unwrap();
        assert!(git.home.is_none());
        let head = git.resolve("HEAD").unwrap();
        assert_eq!(git.read_config(&head, Some("kong")).unwrap()[1].text, "b2");
        assert_eq!(git.resolve("v1").unwrap().commit.id(), repo.revparse_single("v1").unwrap().id());
    }
    // A new commit upstream is seen by the next open.
    commit(&repo, &[("kong/b.yaml", "b3")], "Third", 1_700_000_200);
    let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    let git = open(&url, cache.path()).unwrap();
    let tip = git.resolve(&branch).unwrap();
    assert_eq!(git.read_config(&tip, Some("kong")).unwrap()[1].text, "b3");
    // No half-made mirror is left behind, and a bad URL names itself and git's message.
    let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let bad = format!("file://{}/nope", dir.path().display());
    let err = open(&bad, cache.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("cannot clone {bad}: ")) && msg.len() > bad.len() + 20, "{msg}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
}
