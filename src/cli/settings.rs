//! Arguments, `gateform.toml` and defaults merged into the settings a command runs with.
//!
//! Precedence, for every setting (this is the one place it is decided):
//!
//! 1. a command-line flag (or its variable: `GATEFORM_GATEWAY`, `GATEFORM_LEDGER`,
//!    `GATEFORM_CACHE_DIR`);
//! 2. the entry of the environment named by `--env` in `gateform.toml`;
//! 3. that file's `[defaults]`;
//! 4. decK's variables, for decK habits: `DECK_KONG_ADDR` (the gateway) and `DECK_HEADERS`
//!    (`Name:value` pairs separated by commas; sent unless the gateway is an environment's);
//! 5. gateform's default: gateway `http://localhost:8001`, parallelism 10, no select tags,
//!    no headers, the repository root as the path.
//!
//! The ledger follows the same order: `--ledger` / `GATEFORM_LEDGER`, then the file's
//! `[ledger] url` (one for every environment), then `.gateform/ledger.db`.
//!
//! `--header` flags are merged with the environment's headers; a flag replaces a header of
//! the same name; `--option` flags likewise replace the environment's `options`. The
//! dialect: `--dialect`, else the environment's `dialect`, else Tyk for configurations in
//! Tyk's formats, else asked of the gateway. A Tyk gateway's secret comes from the header
//! `x-tyk-authorization` (flag or environment), else from the variable `TYK_GW_SECRET`.
//! `gateform.toml` is read from the commit's tree (the repository root at
//! `--ref`) when the configuration comes from Git, else from the current directory or, when
//! it has none, from the root of the Git work tree around it (so `--env` works from any
//! sub-directory); an environment's `path` is relative to the directory of that file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::args::{DEFAULT_GATEWAY, GatewayArgs, GitArgs, LedgerLocationArgs, StateArgs};
use crate::engine::Target;
use crate::gateway::{GatewayTarget, registry};
use crate::kong::plugins::CUSTOM_PLUGINS_OPTION;
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
    /// Whether a flag, a variable or the environment named the address (rather than the
    /// default).
    pub explicit: bool,
    /// The dialect a flag or the environment names.
    pub dialect: Option<String>,
    /// Settings of the dialect (environment `options`, then `--option` flags).
    pub options: std::collections::BTreeMap<String, String>,
    /// Where the address came from, as messages name it: `--gateway`, `GATEFORM_GATEWAY`,
    /// `` `gateway` of the environment "staging" in gateform.toml ``, `DECK_KONG_ADDR`, or
    /// `the default address`.
    pub origin: String,
}

impl GatewaySettings {
    /// From flags and the environment `env` of `gateform.toml` (of the current directory,
    /// else of the root of its work tree), for commands that read no configuration
    /// (`dump`); also returns the environment.
    pub fn for_env(args: &GatewayArgs, env: Option<&str>) -> anyhow::Result<(GatewaySettings, Option<Environment>)> {
        let file = read_env_file(find_env_file(Path::new(".")).as_deref())?;
        let env = environment(file.as_ref(), env, "in the current directory or at the root of its repository")?;
        let gateway = merge_gateway(args, env.as_ref())?;
        super::error::note_gateway_origin(&gateway.origin);
        Ok((gateway, env))
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
    /// Where the select tags came from, as messages name them (`--select-tag`,
    /// `` `select_tags` of the environment "prod" in gateform.toml ``).
    pub select_tags_from: String,
    /// The directory relative paths of the configuration are resolved against: the root of
    /// the local repository read, else of the Git work tree around the current directory,
    /// else the current directory (absolute). Saved plans record files relative to it.
    pub root: PathBuf,
    /// The environment's recovery-time objective (`rto`).
    pub rto: Option<Duration>,
}

impl Settings {
    /// The run's target: the gateway (or `sandbox`) of the dialect, the environment, the
    /// ownership tags.
    pub fn target(&self) -> anyhow::Result<Target> {
        let guessed = guess_dialect(&self.source.inputs);
        let mut target = gateway_target(&self.gateway, guessed, self.environment.clone(), self.select_tags.clone())?;
        target.select_tags_from = self.select_tags_from.clone();
        Ok(target)
    }
}

/// The variable holding a Tyk gateway's secret, sent as `x-tyk-authorization` unless a
/// header already is (the name Tyk itself reads the `secret` of `tyk.conf` from).
pub const TYK_SECRET_VARIABLE: &str = "TYK_GW_SECRET";

/// The dialect of configuration texts whose format says it: Tyk for a tyk-sync `.tyk.json`
/// index, or JSON with `x-tyk-api-gateway`, `api_id`, `access_rights` or `openapi` (an
/// OpenAPI document is no decK file either); Kong for decK files stating their
/// `_format_version` (the gateway then need not be asked).
pub fn guess_dialect(inputs: &[Input]) -> Option<&'static str> {
    let deck =
        |i: &Input| i.text.lines().any(|l| l.starts_with("_format_version:")) || i.text.contains("\"_format_version\"");
    let tyk = inputs.iter().any(|i| {
        i.name.ends_with(".tyk.json")
            || (i.name.ends_with(".json")
                && ["\"x-tyk-api-gateway\"", "\"api_id\"", "\"access_rights\"", "\"openapi\""]
                    .iter()
                    .any(|k| i.text.contains(k)))
    });
    if tyk {
        Some("tyk")
    } else if !inputs.is_empty() && inputs.iter().all(deck) {
        Some("kong")
    } else {
        None
    }
}

/// A target from gateway settings. The dialect: the one named (flag, environment), else
/// `guessed` from the configuration's format, else the gateway is asked when a session opens
/// ([`registry::detecting`]; Kong when it cannot be asked).
pub fn gateway_target(
    gateway: &GatewaySettings,
    guessed: Option<&str>,
    environment: Option<String>,
    select_tags: Vec<String>,
) -> anyhow::Result<Target> {
    let name = gateway.dialect.as_deref().or(guessed);
    let connector = match name {
        Some(n) => registry::connector(n).ok_or_else(|| {
            anyhow::anyhow!("unknown dialect `{n}` (gateform knows: {})", registry::names().join(", "))
        })?,
        None if gateway.url == crate::engine::SANDBOX => registry::connector(registry::DEFAULT)
            .ok_or_else(|| anyhow::anyhow!("the {} dialect is not built in", registry::DEFAULT))?,
        None => registry::detecting(),
    };
    let mut headers = gateway.headers.clone();
    let may_be_tyk = matches!(name, None | Some("tyk"));
    let has_secret = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(crate::tyk::SECRET_HEADER));
    if may_be_tyk
        && !has_secret
        && let Some(secret) = std::env::var(TYK_SECRET_VARIABLE).ok().filter(|s| !s.is_empty())
    {
        headers.push((crate::tyk::SECRET_HEADER.to_owned(), secret));
    }
    Ok(Target {
        connector,
        gateway: GatewayTarget {
            url: gateway.url.clone(),
            headers,
            timeout: gateway.timeout,
            options: gateway.options.clone(),
        },
        environment,
        select_tags,
        select_tags_from: "--select-tag".to_owned(),
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
    /// Texts already read and checked (a saved plan's files), used instead of `files`.
    pub inputs: Option<Vec<Input>>,
    /// The directory that stands for the current one (a saved plan's root): where
    /// `gateform.toml` is looked for and the default ledger lives.
    pub base: Option<PathBuf>,
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
            inputs: None,
            base: None,
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
        Request {
            files: &[],
            select_tags,
            git,
            env,
            gateway,
            parallelism,
            git_always: true,
            pinned_commit: None,
            inputs: None,
            base: None,
        }
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
        let env = environment(env_file.as_ref(), req.env, "at the repository root")?;
        let ledger_url = file_ledger_url(env_file.as_ref())?;
        let path = req.git.path.clone().or_else(|| env.as_ref().and_then(|e| e.path.clone()));
        let inputs = repo.read_config(&resolved, path.as_deref())?;
        let info = repo.describe(&resolved, path.as_deref());
        if inputs.is_empty() {
            bail!("{}:{} holds no configuration file (*.yaml, *.yml or *.json)", info.reference, info.path);
        }
        (inputs, Provenance::Git(info), env, repo.home.clone(), ledger_url)
    } else {
        let base = req.base.clone().unwrap_or_else(|| PathBuf::from("."));
        let found = find_env_file(&base);
        let env_file = read_env_file(found.as_deref())?;
        let env = environment(env_file.as_ref(), req.env, "in the current directory or at the root of its repository")?;
        let ledger_url = file_ledger_url(env_file.as_ref())?;
        let env_dir = found.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| base.clone());
        let files: Vec<PathBuf> = if !req.files.is_empty() {
            req.files.to_vec()
        } else if let Some(p) = &req.git.path {
            vec![PathBuf::from(p)]
        } else if let Some(p) = env.as_ref().and_then(|e| e.path.clone()) {
            vec![clean(&env_dir.join(p))]
        } else {
            bail!(
                "no configuration given: name it with -s FILE|DIR|-, --repo PATH|URL, or an --env whose entry has a `path`"
            );
        };
        let inputs = match &req.inputs {
            Some(inputs) => inputs.clone(),
            None => source::read_inputs(&files)?,
        };
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        if inputs.is_empty() {
            bail!("{} holds no configuration file (*.yaml, *.yml or *.json)", names.join(", "));
        }
        let home = req.base.clone().or_else(|| work_tree(Path::new(".")));
        (inputs, Provenance::Files(names), env, home, ledger_url)
    };
    let (select_tags, select_tags_from) = if !req.select_tags.is_empty() {
        (req.select_tags.to_vec(), "--select-tag".to_owned())
    } else {
        let from = env.as_ref().map(|e| format!("`select_tags` of the environment {:?} in {FILE_NAME}", e.name));
        (env.as_ref().and_then(|e| e.select_tags.clone()).unwrap_or_default(), from.unwrap_or_default())
    };
    let parallelism = req
        .parallelism
        .map(|p| p as usize)
        .or_else(|| env.as_ref().and_then(|e| e.parallelism))
        .unwrap_or(DEFAULT_PARALLELISM);
    let root = repo_home.clone().unwrap_or_else(|| PathBuf::from("."));
    let root = std::path::absolute(&root).unwrap_or(root);
    let gateway = merge_gateway(req.gateway, env.as_ref())?;
    super::error::note_gateway_origin(&gateway.origin);
    Ok(Settings {
        source: Source { inputs, provenance },
        environment: env.as_ref().map(|e| e.name.clone()),
        gateway,
        select_tags,
        parallelism,
        repo_home,
        ledger_url,
        select_tags_from,
        root,
        rto: env.as_ref().and_then(|e| e.rto),
    })
}

/// `gateform.toml` of `base`, else of the root of the Git work tree around `base`.
fn find_env_file(base: &Path) -> Option<PathBuf> {
    let here = base.join(FILE_NAME);
    if here.is_file() {
        return Some(clean(&here));
    }
    work_tree(base).map(|root| root.join(FILE_NAME)).filter(|p| p.is_file())
}

/// Reads and parses the `gateform.toml` at `path`, if any (named as messages show paths).
fn read_env_file(path: Option<&Path>) -> anyhow::Result<Option<EnvFile>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(EnvFile::parse(&Input::new(display_path(path), text))?))
}

/// The root of the Git work tree around `dir`, if any.
pub fn work_tree(dir: &Path) -> Option<PathBuf> {
    let dir = dir.to_str()?;
    git::open(dir, Path::new(".")).ok().and_then(|r| r.home)
}

/// `path` without `./` components (`./kong` is `kong`), for messages.
fn clean(path: &Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

/// A path as messages show it: relative to the current directory when under it.
fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match cwd.as_deref().and_then(|c| abs.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => abs.display().to_string(),
    }
}

/// `[ledger] url` of a parsed `gateform.toml`, expanded with the process environment.
fn file_ledger_url(file: Option<&EnvFile>) -> anyhow::Result<Option<String>> {
    match file {
        Some(f) => Ok(f.ledger_url(&|var| std::env::var(var).ok())?),
        None => Ok(None),
    }
}

/// `[ledger] url` of `gateform.toml` (of the current directory, else of the root of its
/// work tree), for commands that read no configuration (`history`, `unlock`).
pub fn local_ledger_url() -> anyhow::Result<Option<String>> {
    file_ledger_url(read_env_file(find_env_file(Path::new(".")).as_deref())?.as_ref())
}

/// The environment `name` of the file, with variables from the process environment;
/// `looked` says where the file was looked for.
fn environment(file: Option<&EnvFile>, name: Option<&str>, looked: &str) -> anyhow::Result<Option<Environment>> {
    let Some(name) = name else { return Ok(None) };
    let Some(file) = file else {
        bail!("--env {name}: there is no {FILE_NAME} (looked {looked})");
    };
    Ok(Some(file.environment(name, &|var| std::env::var(var).ok())?))
}

/// A non-empty variable of the process environment.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn merge_gateway(args: &GatewayArgs, env: Option<&Environment>) -> anyhow::Result<GatewaySettings> {
    let from_env = env
        .map(|e| (e.gateway.iter().chain(&e.other_gateways).cloned().collect::<Vec<_>>(), e.name.clone()))
        .filter(|(g, _)| !g.is_empty());
    let (given, origin) = if !args.gateway.is_empty() {
        (args.gateway.clone(), "--gateway".to_owned())
    } else if let Some(g) = var("GATEFORM_GATEWAY") {
        (vec![g], "GATEFORM_GATEWAY".to_owned())
    } else if let Some((g, name)) = from_env {
        (g, format!("`gateway` of the environment {name:?} in {FILE_NAME}"))
    } else if let Some(g) = var("DECK_KONG_ADDR") {
        (vec![g], "DECK_KONG_ADDR".to_owned())
    } else {
        (Vec::new(), "the default address".to_owned())
    };
    let explicit = !given.is_empty();
    if given.len() > 1 && given.iter().any(|g| g == crate::engine::SANDBOX) {
        bail!("`sandbox` can only be a gateway of its own, not one of several nodes");
    }
    let mut given = given.into_iter();
    let url = given.next().unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
    let others = given.collect();
    let mut headers: Vec<(String, String)> = env.map(|e| e.headers.clone()).unwrap_or_default();
    let deck_headers = var("DECK_HEADERS").filter(|_| !args.gateway.is_empty() || !origin.starts_with('`'));
    let deck: Vec<String> = deck_headers.iter().flat_map(|v| v.split(',')).map(str::to_owned).collect();
    for (h, what) in deck.iter().map(|h| (h, "DECK_HEADERS")).chain(args.headers.iter().map(|h| (h, "--header"))) {
        if h.trim().is_empty() {
            continue;
        }
        let (name, value) = parse_header(h, what)?;
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    let dialect = match (&args.dialect, env.and_then(|e| e.dialect.as_ref())) {
        (Some(d), _) => Some(d.clone()),
        (None, Some((d, at))) if registry::connector(d).is_none() => {
            bail!("{at}: error: unknown dialect `{d}` (gateform knows: {})", registry::names().join(", "))
        }
        (None, Some((d, _))) => Some(d.clone()),
        (None, None) => None,
    };
    let mut options = env.map(|e| e.options.clone()).unwrap_or_default();
    for o in &args.options {
        match o.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => {
                options.insert(n.trim().to_owned(), v.trim().to_owned());
            }
            _ => bail!("invalid --option `{o}`: expected `NAME=VALUE`"),
        }
    }
    if !args.custom_plugins.is_empty() {
        let declared = options.get(CUSTOM_PLUGINS_OPTION).cloned().unwrap_or_default();
        let all: Vec<&str> = std::iter::once(declared.as_str())
            .chain(args.custom_plugins.iter().map(String::as_str))
            .filter(|n| !n.trim().is_empty())
            .collect();
        options.insert(CUSTOM_PLUGINS_OPTION.to_owned(), all.join(","));
    }
    Ok(GatewaySettings {
        url,
        others,
        headers,
        timeout: Duration::from_secs(args.timeout.max(1)),
        explicit,
        dialect,
        options,
        origin,
    })
}

/// Parses `Name: value`; `what` names where it was written (`--header`, `DECK_HEADERS`).
pub fn parse_header(h: &str, what: &str) -> anyhow::Result<(String, String)> {
    match h.split_once(':') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_owned(), v.trim().to_owned())),
        // The value may be a token: never quote it.
        _ => bail!("invalid {what} value: expected `Name: value`"),
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

/// The user running gateform: `$USER`, `$USERNAME` or `$LOGNAME`, else the name the
/// operating system gives the process's user (a container or a cron job sets none of
/// them), else `unknown`.
pub fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(|| whoami::username().ok().filter(|u| !u.is_empty()))
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
        } else if arg == "--header" || arg == "--headers" {
            out.push(arg);
            mask_next = Some(mask_header);
        } else if arg == "--ledger" {
            out.push(arg);
            mask_next = Some(crate::ledger::postgres::redact_url_or_path);
        } else if let Some((flag, v)) = arg.split_once('=').filter(|(f, _)| *f == "--header" || *f == "--headers") {
            out.push(format!("{flag}={}", mask_header(v)));
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
