//! Remote repositories: a bare mirror per URL in a cache directory, kept up to date by the
//! system `git` (`git clone --mirror`, then `git fetch --prune`), so the user's credential
//! helpers, `~/.ssh/config` and `insteadOf` rules apply exactly as they do for `git` itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::GitError;

/// Whether `repository` names a remote: a URL with a scheme (`https://`, `ssh://`,
/// `file://`, ...) or scp-like syntax (`git@host:org/repo.git`) that is not an existing
/// local path. Anything else is a path.
pub fn is_remote(repository: &str) -> bool {
    if repository.contains("://") {
        return true;
    }
    // scp-like: `[user@]host:path`, with no slash before the colon, and not a Windows drive.
    match repository.split_once(':') {
        Some((host, rest)) => {
            host.len() > 1 && !host.contains('/') && !rest.is_empty() && !Path::new(repository).exists()
        }
        None => false,
    }
}

/// The mirror directory of `url` in `cache_dir`: a readable slug of the URL plus a hash of
/// it (`github.com_org_repo.git-1a2b3c4d5e6f`), so two URLs never share a mirror.
pub fn cache_path(cache_dir: &Path, url: &str) -> PathBuf {
    let hash = hex::encode(Sha256::digest(url.as_bytes()));
    let tail = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let mut slug: String =
        tail.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    let trimmed = slug.trim_matches(['_', '.']).to_owned();
    slug = trimmed.chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
    cache_dir.join(format!("{slug}-{}", &hash[..12]))
}

/// Makes the mirror of `url` current and returns its directory: clones it the first time
/// (into a temporary directory renamed into place, so an interrupted clone leaves no
/// half-made mirror), fetches (`--prune`, all branches and tags) afterwards.
pub fn sync(url: &str, cache_dir: &Path) -> Result<PathBuf, GitError> {
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| GitError::Cache { path: cache_dir.to_path_buf(), message: e.to_string() })?;
    let target = cache_path(cache_dir, url);
    if target.join("HEAD").is_file() {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&target).args(["fetch", "--prune", "--quiet", "origin"]);
        run(cmd, "fetch", url)?;
        return Ok(target);
    }
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = cache_dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--mirror", "--quiet", "--"]).arg(url).arg(&tmp);
    if let Err(e) = run(cmd, "clone", url) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, &target) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another process finished the same clone first: use its mirror.
        if !target.join("HEAD").is_file() {
            return Err(GitError::Cache { path: target, message: e.to_string() });
        }
    }
    Ok(target)
}

fn run(mut cmd: Command, action: &'static str, url: &str) -> Result<(), GitError> {
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| GitError::GitUnavailable { url: url.to_owned(), message: e.to_string() })?;
    if out.status.success() {
        return Ok(());
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if stderr.is_empty() {
        stderr = format!("git exited with {}", out.status);
    }
    Err(GitError::Remote { action, url: url.to_owned(), stderr })
}
