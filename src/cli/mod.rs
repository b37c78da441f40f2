//! Command-line front end: arguments → settings → commands. The only module that prints,
//! reads the environment or chooses exit codes.

mod sandbox;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gateform: plan and apply decK-format gateway configuration against Kong's Admin API.
#[derive(Debug, Parser)]
#[command(name = "gateform", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a Kong 3.x-compatible Admin API (for rehearsals and tests).
    Sandbox(sandbox::SandboxArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Sandbox(args) => sandbox::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
