//! Argument groups shared by several commands.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How to reach the gateway.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Admin API address (default `http://localhost:8001`), or `sandbox` for an empty in-process
    /// sandbox (a rehearsal).
    #[arg(long, visible_alias = "kong-addr", env = "GATEFORM_GATEWAY", value_name = "URL")]
    pub gateway: Option<String>,
    /// Extra header sent with every request, as `Name: value` (repeatable), e.g. a token.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Where the desired configuration comes from.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// A decK file, a directory of them (`*.yaml`, `*.yml`, `*.json`) or `-` for stdin. Repeatable.
    #[arg(short = 's', long = "state", value_name = "FILE|DIR|-")]
    pub state: Vec<PathBuf>,
    /// Ownership tag: only entities carrying every such tag are read, compared and deleted,
    /// and the tags are added to every entity of the configuration. Repeatable.
    #[arg(long = "select-tag", value_name = "TAG")]
    pub select_tags: Vec<String>,
}

/// The Admin API address used when none is given.
pub const DEFAULT_GATEWAY: &str = "http://localhost:8001";

impl GatewayArgs {
    /// The address to use: `--gateway`, `GATEFORM_GATEWAY`, or [`DEFAULT_GATEWAY`].
    pub fn address(&self) -> &str {
        self.gateway.as_deref().unwrap_or(DEFAULT_GATEWAY)
    }
}

/// Output format of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-style text.
    Text,
    /// One JSON document (`schemas/plan.schema.json`).
    Json,
    /// A pull-request comment (GitHub-flavoured Markdown).
    Markdown,
}

/// Options of commands that write to the gateway.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// How many requests may run at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
}
