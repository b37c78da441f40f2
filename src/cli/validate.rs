//! `gateform validate`: check a configuration before anything touches a gateway.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, StateArgs};
use super::error::{CommandError, plural};
use super::observer::{Printer, Show};
use super::output::{errln, outln};
use super::run::process_env;
use super::settings::{Request, resolve};
use crate::engine::{Connection, load};
use crate::source::{Diagnostic, Provenance};

/// Arguments of `gateform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Also ask the gateway to validate every entity (Kong: `POST /schemas/{entity}/validate`).
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// Loads the files (syntax, types, references, duplicates), then validates every entity
/// against the gateway's schemas; with `--online`, against the gateway's own validation too.
pub async fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&Request::new(&args.state, &args.gateway, None))?;
    let target = settings.target()?;
    let conn = if args.online { Some(Connection::open(&target, &settings.source.inputs).await?) } else { None };
    let dialect = match &conn {
        Some(conn) => conn.session.dialect(),
        None => target.connector.bundled(&target.gateway.options).map_err(anyhow::Error::msg)?,
    };
    let redactor = super::output::redactor();
    let env = process_env();
    let loaded = load(&*dialect, &settings.source, &target, &env, &redactor, &mut Printer::new(Show::Plan));
    let desired = match loaded {
        Ok(d) => d,
        Err(e) => {
            if let Some(conn) = conn {
                conn.close().await;
            }
            return Err(e.into());
        }
    };
    let mut problems: Vec<Diagnostic> = dialect.validate(&desired);
    if let Some(conn) = conn {
        if !problems.iter().any(Diagnostic::is_error) {
            problems.extend(conn.session.validate_online(&desired).await);
        }
        conn.close().await;
    }
    if !problems.iter().any(Diagnostic::is_error) {
        for w in &problems {
            errln(&w.to_string());
        }
        if let Provenance::Git(_) = &settings.source.provenance {
            outln(&format!("Source: {}", settings.source.line()));
        }
        let n = desired.state.entities.len();
        outln(&format!("Success! The configuration is valid ({n} {}).", plural(n, "entity", "entities")));
        Ok(ExitCode::SUCCESS)
    } else {
        errln(&CommandError::config(&problems).render());
        Ok(ExitCode::FAILURE)
    }
}
