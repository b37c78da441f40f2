//! `gateform sandbox`: serve the Kong-compatible Admin API until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `gateform sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8001")]
    pub listen: String,
    /// SQLite file that keeps the state across restarts (default: start empty, keep nothing).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Behave like Kong in DB-less mode: `POST /config` loads everything, entity writes get 405.
    #[arg(long)]
    pub db_less: bool,
    /// Accept a non-bundled plugin of this name (any `config`, no defaults). Repeatable.
    #[arg(long = "custom-plugin", value_name = "NAME")]
    pub custom_plugins: Vec<String>,
    /// Serve the Enterprise-only kinds too (consumer groups, mTLS credentials, plugin
    /// `consumer_group`); without it they answer 404 as in Kong OSS.
    #[arg(long)]
    pub enterprise: bool,
}

/// Runs the sandbox in the foreground.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let listen: std::net::SocketAddr =
        args.listen.parse().map_err(|e| anyhow::anyhow!("invalid --listen address '{}': {e}", args.listen))?;
    let opts = crate::kong::sandbox::SandboxOptions {
        listen,
        data: args.data,
        db_less: args.db_less,
        custom_plugins: args.custom_plugins,
        enterprise: args.enterprise,
        ..Default::default()
    };
    crate::kong::sandbox::serve_with(opts, |url| super::output::errln(&format!("Listening on {url}"))).await?;
    Ok(ExitCode::SUCCESS)
}
