//! `gateform completion SHELL` and `gateform man`: shell completion scripts
//! (`clap_complete`) and manual pages (`clap_mangen`), both generated from the very
//! command-line definition the binary parses, so they never fall behind it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use super::dump::write_atomically;
use super::output::{errln, out};

/// Arguments of `gateform completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, powershell (or elvish). Install, e.g.:
    /// `gateform completion bash > /etc/bash_completion.d/gateform`,
    /// `gateform completion zsh > "${fpath[1]}/_gateform"`,
    /// `gateform completion fish > ~/.config/fish/completions/gateform.fish`,
    /// `gateform completion powershell >> $PROFILE`.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Arguments of `gateform man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write gateform.1 and one page per command (gateform-plan.1, ...) into DIR instead
    /// of printing gateform.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "gateform", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Every manual page: `(file name, roff text)`, gateform.1 first, then one per command.
pub fn pages() -> anyhow::Result<Vec<(String, String)>> {
    let mut cmd = Cli::command();
    cmd.build();
    let render = |c: clap::Command| -> anyhow::Result<String> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    let mut out = vec![("gateform.1".to_owned(), render(cmd.clone())?)];
    for sub in cmd.get_subcommands() {
        let name = format!("gateform-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).display_name(name.clone()).bin_name(name.clone());
        out.push((format!("{name}.1"), render(page)?));
    }
    Ok(out)
}

/// Prints the completion script.
pub fn completion(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    out(&script(args.shell));
    Ok(ExitCode::SUCCESS)
}

/// Prints gateform.1, or writes every page into `--dir`.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let pages = pages()?;
    match args.dir {
        None => {
            if let Some((_, page)) = pages.first() {
                out(page);
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            for (name, page) in &pages {
                write_atomically(&dir.join(name), page.as_bytes())?;
            }
            errln(&format!("Wrote {} manual pages to {}.", pages.len(), dir.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}
