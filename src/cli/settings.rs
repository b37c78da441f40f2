//! Arguments, `gateform.toml` and defaults merged into the settings a command runs with.
//!
//! Precedence, for every setting (this is the one place it is decided):
//!
//! 1. a command-line flag (or its variable: `GATEFORM_GATEWAY`, `GATEFORM_LEDGER`,
//!    `GATEFORM_CACHE_DIR`);
//! 2. the entry of the environment named by `--env` in `gateform.toml`;
//! 3. that file's `[defaults]`;
//! 4. gateform's default: gateway `http://localhost:8001`, parallelism 10, no select tags,
//!    no headers, the repository root as the path.
//!
//! The ledger follows the same order: `--ledger` / `GATEFORM_LEDGER`, then the file's
//! `[ledger] url` (one for every environment), then `.gateform/ledger.db`.
//!
//! `--header` flags are merged with the environment's headers; a flag replaces a header of
//! the same name. `gateform.toml` is read from the commit's tree (the repository root at
//! `--ref`) when the configuration comes from Git, else from the current directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::args::{DEFAULT_GATEWAY, GatewayArgs, GitArgs, LedgerLocationArgs, StateArgs};
use crate::engine::Target;
use crate::gateway::{GatewayTarget, registry};
use crate::ledger::{LedgerLocation, PgOptions};
use crate::source::environments::{Environment, FILE_NAME, Settings as EnvFile};
use crate::source::git;
use crate::source::{self, Input, Provenance, Source};

/// Requests in flight when nothing says otherwise.
pub const DEFAULT_PARALLELISM: usize = 10;

/// How to reach the gateway.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Admin API address, or `sandbox`: the first node's.
    pub url: String,
    /// The other nodes' addresses.
    pub others: Vec<String>,
    /// Headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whether a flag, `GATEFORM_GATEWAY` or the environment named the address (rather
    /// than the default).
    pub explicit: bool,
}

impl GatewaySettings {
    /// From flags alone (commands without environments, like `dump`).
    pub fn from_args(args: &GatewayArgs) -> anyhow::Result<GatewaySettings> {
        merge_gateway(args, None)
    }
}

/// Everything a command needs to know before it touches the gateway.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration and where it came from.
    pub source: Source,
    /// The environment named by `--env`.
    pub environment: Option<String>,
    /// How to reach the gateway.
    pub gateway: GatewaySettings,
    /// Ownership tags.
    pub select_tags: Vec<String>,
    /// Requests in flight.
    pub parallelism: usize,
    /// The local repository's root, for the default ledger.
    pub repo_home: Option<PathBuf>,
    /// `[ledger] url` of `gateform.toml`, variables expanded.
    pub ledger_url: Option<String>,
    /// The environment's recovery-time objective (`rto`).
    pub rto: Option<Duration>,
}

impl Settings {
    /// The run's target: the gateway (or `sandbox`) of the dialect, the environment, the
    /// ownership tags.
    pub fn target(&self) -> anyhow::Result<Target> {
        gateway_target(&self.gateway, self.environment.clone(), self.select_tags.clone())
    }
}

/// A target from gateway settings.
pub fn gateway_target(
    gateway: &GatewaySettings,
    environment: Option<String>,
    select_tags: Vec<String>,
) -> anyhow::Result<Target> {
    let Some(connector) = registry::connector("kong") else { bail!("the kong dialect is not built in") };
    Ok(Target {
        connector,
        gateway: GatewayTarget { url: gateway.url.clone(), headers: gateway.headers.clone(), timeout: gateway.timeout },
        environment,
        select_tags,
        nodes: crate::engine::Nodes { others: gateway.others.clone(), ..crate::engine::Nodes::default() },
    })
}

/// What a command asks for.
pub struct Request<'a> {
    /// `-s` arguments.
    pub files: &'a [PathBuf],
    /// `--select-tag` flags.
    pub select_tags: &'a [String],
    /// `--repo`, `--ref`, `--path`, `--cache-dir`.
    pub git: &'a GitArgs,
    /// `--env`.
    pub env: Option<&'a str>,
    /// Gateway flags.
    pub gateway: &'a GatewayArgs,
    /// `--parallelism`.
    pub parallelism: Option<u64>,
    /// Read from Git even without `--repo` (the repository of the current directory).
    pub git_always: bool,
    /// Read this commit id, naming it by `--ref` (a saved plan applied again).
    pub pinned_commit: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// The request of a command taking [`StateArgs`].
    pub fn new(state: &'a StateArgs, gateway: &'a GatewayArgs, parallelism: Option<u64>) -> Self {
        Request {
            files: &state.state,
            select_tags: &state.select_tags,
            git: &state.git,
            env: state.env.as_deref(),
            gateway,
            parallelism,
            git_always: false,
            pinned_commit: None,
        }
    }

    /// The request of a command that restores a revision (`replay`, `drill`): always read
    /// from Git, no `-s` files.
    pub fn revision(
        git: &'a GitArgs,
        env: Option<&'a str>,
        select_tags: &'a [String],
        gateway: &'a GatewayArgs,
        parallelism: Option<u64>,
    ) -> Self {
        Request { files: &[], select_tags, git, env, gateway, parallelism, git_always: true, pinned_commit: None }
    }
}

/// Reads the source and `gateform.toml`, and merges everything (see the module docs).
pub fn resolve(req: &Request<'_>) -> anyhow::Result<Settings> {
    let use_git = req.git_always || req.git.repo.is_some() || req.git.git_ref.is_some();
    let (inputs, provenance, env, repo_home, ledger_url) = if use_git {
        let repository = req.git.repo.clone().unwrap_or_else(|| ".".to_owned());
        let cache = req.git.cache_dir.clone().unwrap_or_else(default_cache_dir);
        let repo = git::open(&repository, &cache)?;
        let rev = req.git.git_ref.clone().unwrap_or_else(|| "HEAD".to_owned());
        let resolved = match req.pinned_commit {
            Some(commit) => {
                let mut pinned = repo.resolve(commit)?;
                pinned.rev = rev;
                pinned
            }
            None => repo.resolve(&rev)?,
        };
        let env_file = match repo.read_file(&resolved, FILE_NAME)? {
            Some(input) => Some(EnvFile::parse(&input)?),
            None => None,
        };
        let env = environment(env_file.as_ref(), req.env)?;
        let ledger_url = file_ledger_url(env_file.as_ref())?;
        let path = req.git.path.clone().or_else(|| env.as_ref().and_then(|e| e.path.clone()));
        let inputs = repo.read_config(&resolved, path.as_deref())?;
        let info = repo.describe(&resolved, path.as_deref());
        (inputs, Provenance::Git(info), env, repo.home.clone(), ledger_url)
    } else {
        let local = Path::new(FILE_NAME);
        let env_file = if local.is_file() {
            let text = std::fs::read_to_string(local).with_context(|| format!("cannot read {FILE_NAME}"))?;
            Some(EnvFile::parse(&Input::new(FILE_NAME, text))?)
        } else {
            None
        };
        let env = environment(env_file.as_ref(), req.env)?;
        let ledger_url = file_ledger_url(env_file.as_ref())?;
        let files: Vec<PathBuf> = if !req.files.is_empty() {
            req.files.to_vec()
        } else if let Some(p) = req.git.path.clone().or_else(|| env.as_ref().and_then(|e| e.path.clone())) {
            vec![PathBuf::from(p)]
        } else {
            bail!(
                "no configuration given: name it with -s FILE|DIR|-, --repo PATH|URL, or an --env whose entry has a `path`"
            );
        };
        let inputs = source::read_inputs(&files)?;
        let names = files.iter().map(|f| f.display().to_string()).collect();
        (inputs, Provenance::Files(names), env, None, ledger_url)
    };
    let select_tags = if !req.select_tags.is_empty() {
        req.select_tags.to_vec()
    } else {
        env.as_ref().and_then(|e| e.select_tags.clone()).unwrap_or_default()
    };
    let parallelism = req
        .parallelism
        .map(|p| p as usize)
        .or_else(|| env.as_ref().and_then(|e| e.parallelism))
        .unwrap_or(DEFAULT_PARALLELISM);
    Ok(Settings {
        source: Source { inputs, provenance },
        environment: env.as_ref().map(|e| e.name.clone()),
        gateway: merge_gateway(req.gateway, env.as_ref())?,
        select_tags,
        parallelism,
        repo_home,
        ledger_url,
        rto: env.as_ref().and_then(|e| e.rto),
    })
}

/// `[ledger] url` of a parsed `gateform.toml`, expanded with the process environment.
fn file_ledger_url(file: Option<&EnvFile>) -> anyhow::Result<Option<String>> {
    match file {
        Some(f) => Ok(f.ledger_url(&|var| std::env::var(var).ok())?),
        None => Ok(None),
    }
}

/// `[ledger] url` of `gateform.toml` in the current directory, for commands that read no
/// configuration (`history`, `unlock`).
pub fn local_ledger_url() -> anyhow::Result<Option<String>> {
    let local = Path::new(FILE_NAME);
    if !local.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(local).with_context(|| format!("cannot read {FILE_NAME}"))?;
    file_ledger_url(Some(&EnvFile::parse(&Input::new(FILE_NAME, text))?))
}

/// The environment `name` of the file, with variables from the process environment.
fn environment(file: Option<&EnvFile>, name: Option<&str>) -> anyhow::Result<Option<Environment>> {
    let Some(name) = name else { return Ok(None) };
    let Some(file) = file else {
        bail!(
            "--env {name}: there is no {FILE_NAME} (looked at the repository root, or in the current directory without --repo)"
        );
    };
    Ok(Some(file.environment(name, &|var| std::env::var(var).ok())?))
}

fn merge_gateway(args: &GatewayArgs, env: Option<&Environment>) -> anyhow::Result<GatewaySettings> {
    let given: Vec<String> = match (args.gateway.is_empty(), env) {
        (false, _) => args.gateway.clone(),
        (true, Some(e)) => e.gateway.iter().chain(&e.other_gateways).cloned().collect(),
        (true, None) => Vec::new(),
    };
    let explicit = !given.is_empty();
    if given.len() > 1 && given.iter().any(|g| g == crate::engine::SANDBOX) {
        bail!("`sandbox` can only be a gateway of its own, not one of several nodes");
    }
    let mut given = given.into_iter();
    let url = given.next().unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
    let others = given.collect();
    let mut headers: Vec<(String, String)> = env.map(|e| e.headers.clone()).unwrap_or_default();
    for h in &args.headers {
        let (name, value) = parse_header(h)?;
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    Ok(GatewaySettings { url, others, headers, timeout: Duration::from_secs(args.timeout.max(1)), explicit })
}

/// Parses `Name: value`.
pub fn parse_header(h: &str) -> anyhow::Result<(String, String)> {
    match h.split_once(':') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_owned(), v.trim().to_owned())),
        _ => bail!("invalid --header `{h}`: expected `Name: value`"),
    }
}

/// `$XDG_CACHE_HOME/gateform/repos`, else `~/.cache/gateform/repos` (`~/Library/Caches`
/// on macOS), else `.gateform/cache` in the current directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("gateform/repos");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) if cfg!(target_os = "macos") => PathBuf::from(home).join("Library/Caches/gateform/repos"),
        Some(home) => PathBuf::from(home).join(".cache/gateform/repos"),
        None => PathBuf::from(".gateform/cache"),
    }
}

/// `--ledger` (or `GATEFORM_LEDGER`), else `[ledger] url` of `gateform.toml`, else
/// [`default_ledger`]. A PostgreSQL URL's password is registered with the output scrubber.
pub fn ledger_location(args: &LedgerLocationArgs, file_url: Option<&str>, repo_home: Option<&Path>) -> LedgerLocation {
    let location = match args.ledger.as_deref().or(file_url) {
        Some(text) => LedgerLocation::parse(text),
        None => LedgerLocation::Sqlite(default_ledger(repo_home)),
    };
    if let LedgerLocation::Postgres(url) = &location
        && let Ok(u) = url::Url::parse(url)
        && let Some(pw) = u.password()
    {
        super::output::redactor().add([pw.to_owned()]);
    }
    location
}

/// How to reach PostgreSQL, from libpq's variables: `PGPASSWORD`, `PGPASSFILE` (else
/// `~/.pgpass`), `PGSSLROOTCERT`, and the user (`$USER`) for URLs naming none.
pub fn pg_options() -> PgOptions {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let password = var("PGPASSWORD");
    if let Some(p) = &password {
        super::output::redactor().add([p.clone()]);
    }
    let passfile = var("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".pgpass")))
        .filter(|p| p.is_file());
    PgOptions {
        password,
        passfile,
        root_cert: var("PGSSLROOTCERT").map(PathBuf::from),
        default_user: Some(user_name()),
    }
}

/// `.gateform/ledger.db` at the root of the local repository read (`repo_home`), else of
/// the Git work tree around the current directory, else in the current directory.
pub fn default_ledger(repo_home: Option<&Path>) -> PathBuf {
    let home = repo_home.map(Path::to_path_buf).or_else(|| git::open(".", Path::new(".")).ok().and_then(|r| r.home));
    home.unwrap_or_else(|| PathBuf::from(".")).join(".gateform/ledger.db")
}

/// The user running gateform (`$USER`, `$USERNAME` or `$LOGNAME`).
pub fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The command line, for lock holders: `gateform apply --env prod`, with `--header`
/// values and `--ledger` passwords masked so no credential reaches the ledger or another
/// user's terminal.
pub fn command_line() -> String {
    let mut out = vec!["gateform".to_owned()];
    let mut mask_next: Option<fn(&str) -> String> = None;
    for arg in std::env::args().skip(1) {
        if let Some(mask) = mask_next.take() {
            out.push(mask(&arg));
        } else if arg == "--header" {
            out.push(arg);
            mask_next = Some(mask_header);
        } else if arg == "--ledger" {
            out.push(arg);
            mask_next = Some(crate::ledger::postgres::redact_url_or_path);
        } else if let Some(v) = arg.strip_prefix("--header=") {
            out.push(format!("--header={}", mask_header(v)));
        } else if let Some(v) = arg.strip_prefix("--ledger=") {
            out.push(format!("--ledger={}", crate::ledger::postgres::redact_url_or_path(v)));
        } else {
            out.push(arg);
        }
    }
    out.join(" ")
}

fn mask_header(h: &str) -> String {
    match h.split_once(':') {
        Some((name, _)) => format!("{name}: ***"),
        None => "***".to_owned(),
    }
}

/// Reads a file the user named, with its name in the error.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
