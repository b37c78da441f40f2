//! Reading desired state from a Git commit, without a checkout.
//!
//! A repository is either a local path, read in place, or a remote URL, mirrored into a
//! cache directory by the system `git` (so credential helpers and SSH configuration work;
//! see [`remote`]). A revision (`main`, `v1.2.0`, `HEAD~3`, a commit id) is resolved to a
//! commit, and every `*.yaml`, `*.yml` and `*.json` file under a sub-directory of that
//! commit's tree is read, recursively and sorted by path, as the file reader does with a
//! directory. Only the object database is read: the work tree and the index are never
//! looked at, so uncommitted edits cannot leak into a plan or an apply.
//!
//! Inputs are named `<rev>:<path>` (`v1:kong/app.yaml`), so diagnostics read
//! `v1:kong/app.yaml:12:5: error: ...`.

pub mod remote;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Repository};
use serde::Serialize;

use super::inputs::{Input, is_config_file};

pub use remote::{cache_path, is_remote};

/// Why a Git source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// A local path is not a Git repository.
    #[error("{path} is not a Git repository: {message}")]
    NotARepository {
        /// The path as given.
        path: String,
        /// libgit2's explanation.
        message: String,
    },
    /// The system `git` could not be started.
    #[error("cannot run `git` to fetch {url}: {message}")]
    GitUnavailable {
        /// The remote URL.
        url: String,
        /// Why it could not be started.
        message: String,
    },
    /// `git clone` or `git fetch` failed.
    #[error("cannot {action} {url}: {stderr}")]
    Remote {
        /// `clone` or `fetch`.
        action: &'static str,
        /// The remote URL.
        url: String,
        /// What git printed on stderr (trimmed).
        stderr: String,
    },
    /// The cache directory could not be prepared.
    #[error("cannot use the cache directory {path}: {message}")]
    Cache {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The revision does not name a commit.
    #[error("unknown revision `{rev}` in {repository}: {message}")]
    UnknownRevision {
        /// The revision as given.
        rev: String,
        /// The repository as given.
        repository: String,
        /// libgit2's explanation.
        message: String,
    },
    /// The sub-directory does not exist in the commit.
    #[error("`{path}` does not exist at {rev} (commit {commit})")]
    PathNotFound {
        /// The sub-directory.
        path: String,
        /// The revision as given.
        rev: String,
        /// The commit id.
        commit: String,
    },
    /// The sub-directory holds no configuration file.
    #[error("no *.yaml, *.yml or *.json file under `{path}` at {rev} (commit {commit})")]
    NoConfigFiles {
        /// The sub-directory (`.` for the root).
        path: String,
        /// The revision as given.
        rev: String,
        /// The commit id.
        commit: String,
    },
    /// A configuration file is not UTF-8 text.
    #[error("cannot read {name}: the file is not UTF-8 text")]
    NotUtf8 {
        /// The input name (`<rev>:<path>`).
        name: String,
    },
    /// Any other libgit2 failure.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// Which commit a configuration was read from: every plan, apply and ledger row names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceInfo {
    /// The repository as the user named it (a path or a URL).
    pub repository: String,
    /// The revision as the user gave it (`HEAD`, `v1.2.0`, `main~2`, ...).
    #[serde(rename = "ref")]
    pub reference: String,
    /// The resolved commit id (40 hex digits).
    pub commit: String,
    /// The commit's author, `Name <email>`.
    pub author: String,
    /// The author date, RFC 3339 with the author's UTC offset (as `git log` shows it).
    pub date: String,
    /// The first line of the commit message.
    pub subject: String,
    /// The sub-directory read, relative to the repository root (`.` for the root).
    pub path: String,
}

impl fmt::Display for SourceInfo {
    /// `repo @ v1 (commit 1a2b3c4d5e6f, 2026-11-01T12:00:00+01:00, Jane <j@example.com>) "subject"`,
    /// with ` path kong/` when a sub-directory is read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.commit.get(..12).unwrap_or(&self.commit);
        write!(
            f,
            "{} @ {} (commit {short}, {}, {}) {:?}",
            self.repository, self.reference, self.date, self.author, self.subject
        )?;
        if self.path != "." {
            write!(f, " path {}", self.path)?;
        }
        Ok(())
    }
}

/// An opened repository and the name the user gave it.
pub struct GitRepo {
    /// The repository (a local one, or the cache's mirror of a remote one).
    pub repo: Repository,
    /// The path or URL as the user gave it.
    pub name: String,
    /// The local work tree root or repository directory: where a default ledger lives.
    /// `None` for remote repositories (their mirror is a cache, not a home).
    pub home: Option<PathBuf>,
}

impl fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitRepo").field("name", &self.name).field("path", &self.repo.path()).finish()
    }
}

/// Opens `repository`: a local path is opened in place (a sub-directory of a work tree
/// finds its repository, as `git -C` does); a remote URL (see [`is_remote`]) is mirrored
/// into `cache_dir` with the system `git` (cloned the first time, fetched afterwards).
pub fn open(repository: &str, cache_dir: &Path) -> Result<GitRepo, GitError> {
    if is_remote(repository) {
        let path = remote::sync(repository, cache_dir)?;
        let repo = Repository::open_bare(&path)?;
        return Ok(GitRepo { repo, name: repository.to_owned(), home: None });
    }
    let repo = Repository::discover(repository)
        .map_err(|e| GitError::NotARepository { path: repository.to_owned(), message: e.message().to_owned() })?;
    let home = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    Ok(GitRepo { repo, name: repository.to_owned(), home: Some(home) })
}

/// Opens `repository` as [`open`] does, but a remote one from its mirror in `cache_dir`
/// without fetching (the mirror must exist: an earlier [`open`] made it).
pub fn open_cached(repository: &str, cache_dir: &Path) -> Result<GitRepo, GitError> {
    if !is_remote(repository) {
        return open(repository, cache_dir);
    }
    let path = cache_path(cache_dir, repository);
    let repo = Repository::open_bare(&path)
        .map_err(|e| GitError::NotARepository { path: path.display().to_string(), message: e.message().to_owned() })?;
    Ok(GitRepo { repo, name: repository.to_owned(), home: None })
}

/// A resolved revision: the commit and its description.
pub struct Resolved<'r> {
    /// The commit.
    pub commit: git2::Commit<'r>,
    /// The revision as given.
    pub rev: String,
}

impl GitRepo {
    /// Resolves `rev` (anything `git rev-parse` accepts that names a commit, or a tag
    /// pointing at one) to a commit.
    pub fn resolve(&self, rev: &str) -> Result<Resolved<'_>, GitError> {
        let unknown = |e: git2::Error| GitError::UnknownRevision {
            rev: rev.to_owned(),
            repository: self.name.clone(),
            message: e.message().to_owned(),
        };
        let commit = self.repo.revparse_single(rev).and_then(|o| o.peel_to_commit()).map_err(unknown)?;
        Ok(Resolved { commit, rev: rev.to_owned() })
    }

    /// Whether commit `commit` descends from (or is) `ancestor`; `false` also when either is
    /// not a commit of the repository (a rewound branch).
    pub fn descends(&self, commit: &str, ancestor: &str) -> bool {
        let (Ok(c), Ok(a)) = (git2::Oid::from_str(commit), git2::Oid::from_str(ancestor)) else { return false };
        c == a || self.repo.graph_descendant_of(c, a).unwrap_or(false)
    }

    /// Describes `resolved` with `path` as the sub-directory read (`None` or empty: root).
    pub fn describe(&self, resolved: &Resolved<'_>, path: Option<&str>) -> SourceInfo {
        let c = &resolved.commit;
        let author = c.author();
        let who = format!("{} <{}>", author.name().unwrap_or("?"), author.email().unwrap_or("?"));
        let when = author.when();
        SourceInfo {
            repository: self.name.clone(),
            reference: resolved.rev.clone(),
            commit: c.id().to_string(),
            author: who,
            date: rfc3339(when.seconds(), when.offset_minutes()),
            subject: c.summary().ok().flatten().unwrap_or_default().to_owned(),
            path: normalize_path(path).unwrap_or_else(|| ".".to_owned()),
        }
    }

    /// Reads every configuration file under `path` (`None`: the root) of the commit, or the
    /// single file `path` names (whatever its extension). Files are sorted by path; symbolic
    /// links and submodules are skipped. Fails when `path` does not exist or holds no
    /// configuration file, so a typo never plans the deletion of everything.
    pub fn read_config(&self, resolved: &Resolved<'_>, path: Option<&str>) -> Result<Vec<Input>, GitError> {
        let commit_id = resolved.commit.id().to_string();
        let tree = resolved.commit.tree()?;
        let sub = normalize_path(path);
        let mut files: Vec<(PathBuf, git2::Oid)> = Vec::new();
        match &sub {
            None => self.collect(&tree, Path::new(""), &mut files)?,
            Some(p) => {
                let entry = tree.get_path(Path::new(p)).map_err(|_| GitError::PathNotFound {
                    path: p.clone(),
                    rev: resolved.rev.clone(),
                    commit: commit_id.clone(),
                })?;
                match entry.kind() {
                    Some(ObjectType::Tree) => {
                        let subtree = self.repo.find_tree(entry.id())?;
                        self.collect(&subtree, Path::new(p), &mut files)?;
                    }
                    Some(ObjectType::Blob) if entry.filemode() != 0o120000 => {
                        files.push((PathBuf::from(p), entry.id()))
                    }
                    _ => {
                        return Err(GitError::PathNotFound {
                            path: p.clone(),
                            rev: resolved.rev.clone(),
                            commit: commit_id,
                        });
                    }
                }
            }
        }
        if files.is_empty() {
            return Err(GitError::NoConfigFiles {
                path: sub.unwrap_or_else(|| ".".to_owned()),
                rev: resolved.rev.clone(),
                commit: commit_id,
            });
        }
        files.sort();
        let mut inputs = Vec::with_capacity(files.len());
        for (path, oid) in files {
            let name = format!("{}:{}", resolved.rev, path.to_string_lossy());
            let blob = self.repo.find_blob(oid)?;
            let text =
                String::from_utf8(blob.content().to_vec()).map_err(|_| GitError::NotUtf8 { name: name.clone() })?;
            inputs.push(Input::new(name, text));
        }
        Ok(inputs)
    }

    /// The text of the file at `path` (from the repository root) in the commit, if it is
    /// a regular file there.
    pub fn read_file(&self, resolved: &Resolved<'_>, path: &str) -> Result<Option<Input>, GitError> {
        let tree = resolved.commit.tree()?;
        let Ok(entry) = tree.get_path(Path::new(path)) else { return Ok(None) };
        if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == 0o120000 {
            return Ok(None);
        }
        let name = format!("{}:{path}", resolved.rev);
        let blob = self.repo.find_blob(entry.id())?;
        let text = String::from_utf8(blob.content().to_vec()).map_err(|_| GitError::NotUtf8 { name: name.clone() })?;
        Ok(Some(Input::new(name, text)))
    }

    fn collect(
        &self,
        tree: &git2::Tree<'_>,
        prefix: &Path,
        out: &mut Vec<(PathBuf, git2::Oid)>,
    ) -> Result<(), GitError> {
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            let path = prefix.join(name);
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let subtree = self.repo.find_tree(entry.id())?;
                    self.collect(&subtree, &path, out)?;
                }
                // 0o120000: a symbolic link, whose blob is the link's target.
                Some(ObjectType::Blob) if entry.filemode() != 0o120000 && is_config_file(&path) => {
                    out.push((path, entry.id()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `kong/`, `./kong`, `/kong/` → `kong`; empty, `.` and `/` → `None` (the root).
fn normalize_path(path: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = path.unwrap_or_default().split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// Seconds since the epoch and an offset in minutes → `2026-11-01T12:00:00+01:00`.
fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let offset = time::UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60)).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}
