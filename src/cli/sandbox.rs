//! `gateform sandbox`: serve a gateway emulator until interrupted: Kong's Admin API (the
//! default), or Tyk's Gateway API (`--dialect tyk`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

/// Which gateway the sandbox emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Kong 3.x Admin API.
    Kong,
    /// Tyk Gateway REST API (`/tyk/...`).
    Tyk,
}

/// Arguments of `gateform sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The gateway to emulate.
    #[arg(long, value_enum, default_value = "kong")]
    pub dialect: Dialect,
    /// Address to listen on (default 127.0.0.1:8001 for Kong, 127.0.0.1:8080 for Tyk; port 0
    /// picks a free one). Tyk nodes after the first listen on the following ports.
    #[arg(long)]
    pub listen: Option<String>,
    /// Kong: a SQLite file that keeps the state across restarts. Tyk: a directory holding
    /// `apps/` and `policies/` as files, read at start. Default: start empty, keep nothing.
    #[arg(long, value_name = "FILE|DIR")]
    pub data: Option<PathBuf>,
    /// Kong: behave like Kong in DB-less mode (`POST /config` loads everything, entity writes
    /// get 405).
    #[arg(long)]
    pub db_less: bool,
    /// Kong: accept a non-bundled plugin of this name (any `config`, no defaults). Repeatable.
    #[arg(long = "custom-plugin", value_name = "NAME")]
    pub custom_plugins: Vec<String>,
    /// Tyk: the gateway secret clients send in `x-tyk-authorization` (default: the one of
    /// Tyk's sample tyk.conf).
    #[arg(long, env = "TYK_GW_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Tyk: how many gateway nodes share the files (each reloads on its own; `/tyk/reload/group`
    /// reloads them all).
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// Kong: serve the Enterprise-only kinds too (consumer groups, mTLS credentials, plugin
    /// `consumer_group`); without it they answer 404 as in Kong OSS.
    #[arg(long)]
    pub enterprise: bool,
}

fn parse_listen(listen: Option<&str>, default: &str) -> anyhow::Result<std::net::SocketAddr> {
    let text = listen.unwrap_or(default);
    text.parse().map_err(|e| anyhow::anyhow!("invalid --listen address '{text}': {e}"))
}

/// Runs the sandbox in the foreground.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    match args.dialect {
        Dialect::Kong => {
            if args.secret.is_some() || args.nodes.is_some() {
                anyhow::bail!("--secret and --nodes apply to --dialect tyk only");
            }
            let opts = crate::kong::sandbox::SandboxOptions {
                listen: parse_listen(args.listen.as_deref(), "127.0.0.1:8001")?,
                data: args.data,
                db_less: args.db_less,
                custom_plugins: args.custom_plugins,
                enterprise: args.enterprise,
                ..Default::default()
            };
            crate::kong::sandbox::serve_with(opts, |url| super::output::errln(&format!("Listening on {url}"))).await?;
        }
        Dialect::Tyk => {
            if args.db_less || args.enterprise || !args.custom_plugins.is_empty() {
                anyhow::bail!("--db-less, --enterprise and --custom-plugin apply to --dialect kong only");
            }
            let nodes = args.nodes.unwrap_or(1);
            if nodes == 0 {
                anyhow::bail!("--nodes must be at least 1");
            }
            let mut opts = crate::tyk::sandbox::TykSandboxOptions {
                listen: parse_listen(args.listen.as_deref(), "127.0.0.1:8080")?,
                data: args.data,
                nodes,
                ..Default::default()
            };
            if let Some(secret) = args.secret {
                super::output::redactor().add([secret.clone()]);
                opts.secret = secret;
            }
            crate::tyk::sandbox::serve_with(opts, |urls| {
                for url in urls {
                    super::output::errln(&format!("Listening on {url}"));
                }
            })
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
