//! `gateform init`: starts a configuration repository with a `gateform.toml` whose
//! environments are written out and commented, and, with `--ci github|gitlab`, the CI
//! pipeline that plans every pull request (one sticky comment) and applies on merge (the
//! templates under `ci/` of gateform's repository). It never overwrites a file: when one of
//! the files exists nothing is written at all.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use super::output::errln;

/// The GitHub workflow `init --ci github` writes.
pub const GITHUB_WORKFLOW: &str = include_str!("../../ci/github/gateform.yml");
/// The GitLab pipeline `init --ci gitlab` writes.
pub const GITLAB_PIPELINE: &str = include_str!("../../ci/gitlab/gateform.gitlab-ci.yml");
/// How the templates name the action, replaced by `--action`.
const ACTION_PLACEHOLDER: &str = "OWNER/gateform@main";

/// The CI to write a pipeline for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ci {
    /// GitHub Actions: `.github/workflows/gateform.yml`, using gateform's action.
    Github,
    /// GitLab CI: `.gitlab-ci.yml`.
    Gitlab,
}

/// Arguments of `gateform init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to start (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Also write the CI pipeline: `github` (.github/workflows/gateform.yml) or `gitlab`
    /// (.gitlab-ci.yml).
    #[arg(long, value_enum)]
    pub ci: Option<Ci>,
    /// The directory of the decK files, relative to the repository (each environment's
    /// `path`).
    #[arg(long, value_name = "SUBDIR", default_value = "kong")]
    pub path: String,
    /// Where gateform's GitHub action lives, as `uses:` names it (OWNER/REPO@REF).
    #[arg(long, value_name = "OWNER/REPO@REF", default_value = ACTION_PLACEHOLDER)]
    pub action: String,
}

/// The files `init` writes: `(path relative to the repository, text)`.
pub fn files(args: &InitArgs) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let path = args.path.trim_matches('/');
    if path.is_empty() || path.contains(['"', '\\', '\n']) || path.split('/').any(|p| p == "..") {
        bail!("--path must be a directory inside the repository, like `kong`");
    }
    let mut out = vec![(PathBuf::from("gateform.toml"), gateform_toml(path))];
    match args.ci {
        Some(Ci::Github) => {
            let workflow = GITHUB_WORKFLOW.replace(ACTION_PLACEHOLDER, &args.action);
            out.push((PathBuf::from(".github/workflows/gateform.yml"), workflow));
        }
        Some(Ci::Gitlab) => out.push((PathBuf::from(".gitlab-ci.yml"), GITLAB_PIPELINE.to_owned())),
        None => {}
    }
    Ok(out)
}

/// `gateform.toml` with two commented environments reading `path`.
pub fn gateform_toml(path: &str) -> String {
    format!(
        r#"# gateform.toml: the environments gateform plans and applies (see the README,
# "Git, environments, replay and history"). Pick one with --env NAME.
#
# Secrets never go in this file: reference environment variables as ${{NAME}} (in CI,
# masked CI/CD variables or repository secrets). A header that looks like a credential
# must come from a variable.

# Values every environment starts from.
[defaults]
# Requests in flight during an apply.
parallelism = 10

[environments.staging]
# The Kong Admin API.
gateway = "${{STAGING_KONG_ADMIN_URL}}"
# The decK files (every *.yaml, *.yml and *.json below it).
path = "{path}"
# Only entities with these tags are read, compared and deleted; the tags are added to
# every entity of the configuration.
select_tags = ["gateform"]
headers = {{ "Kong-Admin-Token" = "${{STAGING_KONG_ADMIN_TOKEN}}" }}

[environments.prod]
gateway = "${{PROD_KONG_ADMIN_URL}}"
path = "{path}"
select_tags = ["gateform"]
parallelism = 5
headers = {{ "Kong-Admin-Token" = "${{PROD_KONG_ADMIN_TOKEN}}" }}

# One history and one set of locks for every runner (PostgreSQL). Without it, each
# runner keeps .gateform/ledger.db of its own checkout.
# [ledger]
# url = "${{GATEFORM_PG_URL}}"
"#
    )
}

/// Writes the files, or none of them when one exists.
pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let files = files(&args)?;
    let existing: Vec<String> =
        files.iter().map(|(p, _)| args.dir.join(p)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    if !existing.is_empty() {
        bail!(
            "{} already exist{}; init never overwrites a file, so nothing was written. Move {} away, or edit {} \
             by hand.",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" },
            if existing.len() == 1 { "it" } else { "them" },
            if existing.len() == 1 { "it" } else { "them" },
        );
    }
    for (path, text) in &files {
        let full = args.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_new(&full, text.as_bytes())?;
        errln(&format!("Wrote {}.", full.display()));
    }
    if args.ci == Some(Ci::Github) && args.action == ACTION_PLACEHOLDER {
        errln(&format!(
            "Edit `uses: {ACTION_PLACEHOLDER}` in .github/workflows/gateform.yml to name where gateform's action lives."
        ));
    }
    errln(&format!("Next: put your decK files under {}/ and run: gateform plan --env staging", args.path));
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path`, which must not exist: written to a temporary file first, then
/// linked into place (the link fails when `path` appeared meanwhile), so the file is never
/// half-written and never replaces another.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result.with_context(|| format!("cannot write {}", path.display()))
}
