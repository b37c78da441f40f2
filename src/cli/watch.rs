//! `gateform watch`: follow a branch and keep environments on it (the daemon is
//! [`crate::watch`]; this file only reads the settings, builds the targets, serves and
//! waits for SIGTERM or Ctrl-C).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use super::args::LedgerLocationArgs;
use super::output::{errln, redactor};
use super::run::current_holder;
use super::settings::{default_cache_dir, ledger_location, pg_options};
use crate::ledger::{AnyLedger, LedgerLocation};
use crate::secrets::ActiveRedactors;
use crate::source::environments::{DEFAULT_LISTEN, FILE_NAME, Settings as EnvFile, WatchSettings};
use crate::source::git;
use crate::watch::engine::{EngineWatch, Followed};
use crate::watch::leader::Leaders;
use crate::watch::logging::{self, LogFormat};
use crate::watch::notify::{Notifier, RetryPolicy};
use crate::watch::webhook::WebhookSecrets;
use crate::watch::{Daemon, DaemonOptions, Environment, Shutdown};

/// Arguments of `gateform watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// An environment of `gateform.toml` to follow (repeatable). Default: every one.
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// The repository followed: a local path (read in place) or a remote URL (mirrored
    /// into the cache with the system `git`). Default: the repository of the current
    /// directory.
    #[arg(long, value_name = "PATH|URL")]
    pub repo: Option<String>,
    /// The branch followed, unless an environment's `ref` says otherwise. Default: HEAD.
    #[arg(long = "ref", value_name = "BRANCH")]
    pub git_ref: Option<String>,
    /// Address of the endpoints and webhooks. Default: `listen` of [watch], else 127.0.0.1:9420.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Log lines as text or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
    /// After SIGTERM or Ctrl-C, how long running applies may take to finish, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub shutdown_timeout: u64,
    #[command(flatten)]
    pub ledger: LedgerLocationArgs,
    /// Per-request timeout of the gateway client, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// Where remote repositories are mirrored.
    #[arg(long, value_name = "DIR", env = "GATEFORM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Text lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Starts logging for the daemon: info by default, `-v` debug, `-vv` trace; `RUST_LOG`
/// overrides without `-v`.
pub fn init_logging(args: &WatchArgs, verbose: u8) {
    let level = match verbose {
        0 => "gateform=info,warn",
        1 => "gateform=debug,warn",
        _ => "gateform=trace,info",
    };
    let filter = std::env::var("RUST_LOG").ok().filter(|_| verbose == 0).unwrap_or_else(|| level.to_owned());
    let format = match args.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    let active = active_redactors();
    logging::init(format, &filter, Arc::new(move |s: &str| active.scrub(s)));
}

/// The redactors of the daemon: the process's base secrets and every run's while it runs.
fn active_redactors() -> ActiveRedactors {
    static ACTIVE: std::sync::OnceLock<ActiveRedactors> = std::sync::OnceLock::new();
    ACTIVE.get_or_init(|| ActiveRedactors::new(redactor())).clone()
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub async fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    crate::kong::install_crypto_provider();
    let repository = args.repo.clone().unwrap_or_else(|| ".".to_owned());
    let reference = args.git_ref.clone().unwrap_or_else(|| "HEAD".to_owned());
    let cache_dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let (input, home) = {
        let (r, f, c) = (repository.clone(), reference.clone(), cache_dir.clone());
        tokio::task::spawn_blocking(move || read_settings_file(&r, &f, &c)).await??
    };
    let file = EnvFile::parse(&input)?;
    let watch = file.watch(&|var| std::env::var(var).ok())?;
    redactor().add(watch.secret_values.iter().map(|s| s.expose().to_owned()));
    let names = if args.envs.is_empty() { file.names() } else { args.envs.clone() };
    if names.is_empty() {
        bail!("{} defines no environment to watch", input.name);
    }
    let location =
        ledger_location(&args.ledger, file.ledger_url(&|var| std::env::var(var).ok())?.as_deref(), home.as_deref());
    // Replicas elect a leader per environment through the ledger; a lone replica leads at once.
    let leaders = crate::watch::leader::campaign(&names, location.clone(), pg_options(), current_holder());
    let followed = Followed {
        name: String::new(),
        repository: repository.clone(),
        reference,
        cache_dir,
        env: std::env::vars().collect(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let (environments, targets) = environments(&file, &names, &followed, &location, &leaders)?;
    let options = daemon_options(&watch, Duration::from_secs(args.shutdown_timeout), &location, &leaders);
    let daemon = Daemon::new(environments, options).map_err(anyhow::Error::msg)?;
    for t in &targets {
        let _ = t.admin_api.set(daemon.metrics().admin_api_counter(&t.followed.name));
    }
    let listen = args
        .listen
        .or(watch.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9420))));
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    errln(&format!("Watching {} on {repository}; listening on http://{bound}", names.join(", ")));
    let shutdown = daemon.run(Some(listener), signal()).await;
    leaders.resign().await;
    match shutdown {
        Shutdown::Clean | Shutdown::Cancelled => Ok(ExitCode::SUCCESS),
        Shutdown::Abandoned => {
            errln(
                "Error: applies were still running at exit; their environments' locks are released by the ledger when this process is gone",
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// One daemon environment per name, each over an [`EngineWatch`] of `base` (its name and
/// branch set); the targets are returned too, to give them the daemon's metrics.
fn environments(
    file: &EnvFile,
    names: &[String],
    base: &Followed,
    location: &LedgerLocation,
    leaders: &Arc<Leaders>,
) -> anyhow::Result<(Vec<Environment>, Vec<Arc<EngineWatch>>)> {
    let active = active_redactors();
    let mut environments = Vec::new();
    let mut targets = Vec::new();
    for name in names {
        let policy = file.watch_policy(name)?;
        let reference = policy.reference.clone().unwrap_or_else(|| base.reference.clone());
        let target = Arc::new(EngineWatch {
            followed: Followed { name: name.clone(), reference, ..base.clone() },
            ledger: location.clone(),
            pg: pg_options(),
            holder: current_holder(),
            base_secrets: active.base().clone(),
            active: active.clone(),
            admin_api: std::sync::OnceLock::new(),
            leaders: Some(leaders.clone()),
        });
        targets.push(target.clone());
        environments.push(Environment { target, policy });
    }
    Ok((environments, targets))
}

/// The daemon's options from the `[watch]` table: webhook secrets, control token,
/// notifications, the ledger probe of `/readyz` and who leads each environment.
fn daemon_options(
    watch: &WatchSettings,
    shutdown_timeout: Duration,
    location: &LedgerLocation,
    leaders: &Arc<Leaders>,
) -> DaemonOptions {
    let notifier = (!watch.notifications.is_empty() || watch.commit_status.is_some()).then(|| {
        Notifier::new(
            reqwest::Client::new(),
            watch.notifications.clone(),
            watch.commit_status.clone(),
            RetryPolicy::default(),
        )
    });
    let (probe_location, pg, handle) = (location.clone(), pg_options(), tokio::runtime::Handle::current());
    let leaders = leaders.clone();
    DaemonOptions {
        webhooks: WebhookSecrets {
            github: watch.github_secret.clone(),
            gitlab: watch.gitlab_token.clone(),
            generic: watch.generic_secret.clone(),
        },
        control_token: watch.control_token.clone(),
        notifier,
        shutdown_timeout,
        // The probe runs on a blocking thread of the runtime.
        ledger: Arc::new(move || {
            handle.block_on(AnyLedger::open(&probe_location, &pg)).map(|_| ()).map_err(|e| e.to_string())
        }),
        leader: Arc::new(move |env: &str| leaders.leader(env)),
        seed: None,
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("stop requested");
}

/// Reads `gateform.toml` at the head of `reference` of `repository`; also returns the
/// local repository's root (where the default ledger lives).
pub fn read_settings_file(
    repository: &str,
    reference: &str,
    cache_dir: &std::path::Path,
) -> anyhow::Result<(crate::source::Input, Option<PathBuf>)> {
    let repo = git::open(repository, cache_dir)?;
    let resolved = repo.resolve(reference)?;
    let input = repo.read_file(&resolved, FILE_NAME)?.with_context(|| {
        format!("{repository} has no {FILE_NAME} at {reference}: it names the environments to watch")
    })?;
    Ok((input, repo.home.clone()))
}
