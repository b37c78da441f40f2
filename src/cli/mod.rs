//! Command-line front end: arguments → settings → commands. The only module that prints,
//! reads the environment or chooses exit codes.

mod apply;
mod args;
mod comment;
mod completion;
mod drift;
mod drill;
mod dump;
mod error;
mod events;
mod history;
mod init;
mod observer;
mod output;
mod plan;
mod progress;
mod replay;
mod run;
mod sandbox;
mod settings;
mod show;
mod style;
mod unlock;
mod validate;
mod watch;

pub use error::{CommandError, ErrorKind};

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// gateform: plan and apply declarative gateway configuration (decK files for Kong) from Git.
#[derive(Debug, Parser)]
#[command(name = "gateform", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr: -v info, -vv every Admin API request, -vvv request bodies.
    /// Secret values are scrubbed from every line.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No colours, even on a terminal (so does a non-empty `NO_COLOR` variable). Colours
    /// are used only when the stream is a terminal.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a configuration: syntax, types, references, duplicates, Kong's schemas.
    Validate(validate::ValidateArgs),
    /// Show what apply would change (exit 0 with or without changes, 1 on error).
    Plan(plan::PlanArgs),
    /// Report drift: a plan that only reports (exit 0 no drift, 1 error, 2 drift).
    Drift(drift::DriftArgs),
    /// Plan, show the plan, then make the gateway match the configuration; or execute a
    /// saved plan file exactly.
    Apply(apply::ApplyArgs),
    /// Restore a gateway to the configuration of a Git revision, then prove it with a fresh
    /// plan (exit 0 only when that plan is empty). Applies without asking.
    Replay(replay::ReplayArgs),
    /// Disaster-recovery drill: replay a revision onto an empty rehearsal gateway, verify
    /// it, report the recovery time against its objective and the live environment's
    /// exposure (exit 0 only when verified within the objective).
    Drill(drill::DrillArgs),
    /// List the runs recorded in the ledger, or name the commit that was live
    /// in an environment at a moment (`--at`).
    History(history::HistoryArgs),
    /// Break a stuck lock of an environment (Terraform's force-unlock); recorded in the
    /// history.
    Unlock(unlock::UnlockArgs),
    /// Write the gateway's live configuration as a decK file.
    Dump(dump::DumpArgs),
    /// Show a plan saved with `plan --out FILE`, as `plan` printed it (Terraform's `show`).
    Show(show::ShowArgs),
    /// Serve a Kong 3.x-compatible Admin API (for rehearsals and tests).
    Sandbox(sandbox::SandboxArgs),
    /// Follow a Git branch and keep environments on it: a reconciler daemon with webhooks,
    /// drift correction, /status and /metrics (exit 0 after SIGTERM or Ctrl-C).
    Watch(watch::WatchArgs),
    /// Start a repository: write a gateform.toml with commented environments and, with
    /// --ci, the CI pipeline for GitHub Actions or GitLab CI. Never overwrites a file.
    Init(init::InitArgs),
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    Completion(completion::CompletionArgs),
    /// Print the manual page (roff), or write one per command into a directory.
    Man(completion::ManArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    output::install_panic_hook();
    let no_color = std::env::args_os().any(|a| a == "--no-color");
    style::init(no_color);
    let cli = Cli::command().color(style::clap_color()).get_matches();
    let cli = match Cli::from_arg_matches(&cli) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match &cli.command {
        Command::Watch(args) => watch::init_logging(args, cli.verbose),
        _ => output::init_logging(cli.verbose),
    }
    // This run's redactor. Values of `DECK_*` variables are secrets wherever they show up
    // (decK's rule, too).
    let redactor = crate::secrets::Redactor::new();
    // decK's own settings are no template values: the gateway's address is shown in headers.
    redactor.add(std::env::vars().filter(|(k, _)| k.starts_with("DECK_") && k != "DECK_KONG_ADDR").map(|(_, v)| v));
    output::set_redactor(redactor);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::errln(&format!("Error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Validate(args) => validate::run(args).await,
            Command::Plan(args) => plan::run(args).await,
            Command::Drift(args) => drift::run(args).await,
            Command::Apply(args) => apply::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Drill(args) => drill::run(args).await,
            Command::History(args) => history::run(args).await,
            Command::Unlock(args) => unlock::run(args).await,
            Command::Dump(args) => dump::run(args).await,
            Command::Show(args) => show::run(args).await,
            Command::Sandbox(args) => sandbox::run(args).await,
            Command::Watch(args) => watch::run(args).await,
            Command::Init(args) => init::run(args),
            Command::Completion(args) => completion::completion(args),
            Command::Man(args) => completion::man(args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            output::errln(&style::paint_messages(&CommandError::from(e).render(), style::Stream::Stderr));
            ExitCode::FAILURE
        }
    }
}
