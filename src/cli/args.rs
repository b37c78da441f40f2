//! Argument groups shared by several commands.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How to reach the gateway.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Admin API address, or `sandbox` for an empty in-process sandbox (a rehearsal).
    /// Repeat it for every node of an environment of several. Default: `GATEFORM_GATEWAY`,
    /// else the environment's `gateway` (and `gateways`), else `DECK_KONG_ADDR`, else
    /// `http://localhost:8001`.
    #[arg(long, visible_alias = "kong-addr", value_name = "URL")]
    pub gateway: Vec<String>,
    /// Extra header sent with every request, as `Name: value` (repeatable), e.g. a token.
    /// Replaces an environment's header of the same name, and one of `DECK_HEADERS`
    /// (`Name:value` pairs separated by commas, sent unless the gateway is an environment's).
    #[arg(long = "header", visible_alias = "headers", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// The gateway's dialect. Default: the environment's `dialect`, else Tyk when the
    /// configuration is in Tyk's formats, else asked of the gateway (`GET /hello` answering
    /// Tyk's health document is Tyk), else kong.
    #[arg(long, value_name = "DIALECT", value_parser = clap::builder::PossibleValuesParser::new(crate::gateway::registry::names()))]
    pub dialect: Option<String>,
    /// A setting of the dialect, `NAME=VALUE` (repeatable); replaces the environment's
    /// `options` entry of that name. Tyk: `reload=group` (default: every gateway sharing the
    /// Redis reloads) or `reload=node` (only the one addressed, which answers once done).
    #[arg(long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// Kong: a plugin the gateway has installed beyond the bundled ones (repeatable); adds to
    /// the environment's `options = { custom_plugins = "a,b" }`. Without it, `validate`
    /// refuses a plugin Kong does not bundle.
    #[arg(long = "custom-plugin", value_name = "NAME")]
    pub custom_plugins: Vec<String>,
}

/// Where the desired configuration comes from: files (`-s`), a Git commit (`--repo`,
/// `--ref`, `--path`) or an environment of `gateform.toml` (`--env`).
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// A decK file, a directory of them (`*.yaml`, `*.yml`, `*.json`) or `-` for stdin.
    /// Repeatable. Needed unless `--repo`, `--ref`, `--path` or an `--env` with a `path`
    /// names the configuration.
    #[arg(short = 's', long = "state", value_name = "FILE|DIR|-", conflicts_with_all = ["repo", "git_ref"])]
    pub state: Vec<PathBuf>,
    /// Ownership tag: only entities carrying every such tag are read, compared and deleted,
    /// and the tags are added to every entity of the configuration. Repeatable.
    /// Default: the environment's `select_tags`.
    #[arg(long = "select-tag", value_name = "TAG")]
    pub select_tags: Vec<String>,
    #[command(flatten)]
    pub git: GitArgs,
    /// An environment of `gateform.toml` (at the repository root with `--repo`, else in the
    /// current directory): its gateway, path, select tags, headers and parallelism apply
    /// unless a flag says otherwise.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
}

/// A Git repository as the source.
#[derive(Debug, Clone, Args)]
pub struct GitArgs {
    /// Read the configuration from this Git repository: a local path (read in place) or a
    /// remote URL (mirrored into the cache with the system `git`).
    #[arg(long, value_name = "PATH|URL")]
    pub repo: Option<String>,
    /// The commit to read: a branch, tag, commit id or expression like `HEAD~3`. Files come
    /// from the commit's tree, never from the work tree. With no `--repo`, the repository
    /// of the current directory. Default: HEAD.
    #[arg(long = "ref", id = "git_ref", value_name = "REV")]
    pub git_ref: Option<String>,
    /// Sub-directory holding the configuration (in the repository with `--repo`, else
    /// relative to the current directory). Default: the environment's `path`, else the root.
    #[arg(long, value_name = "SUBDIR")]
    pub path: Option<String>,
    /// Where remote repositories are mirrored. Default: gateform/repos under the user's
    /// cache directory ($XDG_CACHE_HOME or ~/.cache).
    #[arg(long, value_name = "DIR", env = "GATEFORM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// The Admin API address used when none is given.
pub const DEFAULT_GATEWAY: &str = "http://localhost:8001";

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

/// Output format of reports (`replay`, `history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for people.
    Text,
    /// One JSON document.
    Json,
}

/// Options of commands that write to the gateway.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// How many requests may run at once. Default: the environment's `parallelism`, else 10.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub parallelism: Option<u64>,
    /// Start nothing new after the first failed change. By default a failure only stops the
    /// changes that depend on it; independent ones go on.
    #[arg(long)]
    pub fail_fast: bool,
    /// With several nodes that each hold their own configuration (DB-less Kong): how many
    /// are written at once. A failed node stops the rollout; the nodes after it are left
    /// untouched.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_unavailable: u64,
    /// With several nodes: how long each one is read again until it serves the result.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub verify_timeout: u64,
}

/// Where the ledger (history and locks) lives.
#[derive(Debug, Clone, Args)]
pub struct LedgerLocationArgs {
    /// The history and lock store: a SQLite file, or a PostgreSQL URL
    /// (`postgres://user@host/db`) shared by every runner of a team; the password comes
    /// from PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass), never from the URL
    /// written in gateform.toml. Default: gateform.toml's `[ledger] url`, else
    /// .gateform/ledger.db at the root of the local repository read (or the one around the
    /// current directory), else in the current directory.
    #[arg(long, value_name = "FILE|URL", env = "GATEFORM_LEDGER")]
    pub ledger: Option<String>,
}

/// The ledger and the lock of commands that write to the gateway.
#[derive(Debug, Clone, Args)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub location: LedgerLocationArgs,
    /// How long to wait for another apply or replay of the same environment to finish;
    /// 0 fails at once, naming the holder.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub lock_timeout: u64,
}

/// Which changes a run plans and applies (Terraform's `-target`, OpenTofu's `-exclude`), and
/// the destroy cap its plan must respect.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectArgs {
    /// Plan only this entity and the changes it depends on (its parents still to be created,
    /// the children deleted before it): KIND:NAME, e.g. `services:orders`, `routes:*`, a
    /// kind's singular (`service:orders`) or an entity id as NAME. Repeatable. For
    /// exceptional cases; plan everything afterwards.
    #[arg(long = "target", value_name = "KIND:NAME")]
    pub targets: Vec<String>,
    /// Leave this entity out, with every change that depends on it (KIND:NAME, as for
    /// --target). Repeatable; wins over --target.
    #[arg(long = "exclude", value_name = "KIND:NAME")]
    pub excludes: Vec<String>,
    /// Fail when the plan would destroy more than N entities (nothing is applied).
    #[arg(long, value_name = "N")]
    pub max_destroy: Option<usize>,
}

impl SelectArgs {
    /// The plan options these flags ask for (the protection guard always on). Errors: a
    /// selector that is not KIND:NAME (kinds are checked against the run's dialect when
    /// it plans).
    pub fn options(&self) -> anyhow::Result<crate::plan::PlanOptions> {
        let selection = crate::plan::Selection::parse(&self.targets, &self.excludes).map_err(anyhow::Error::msg)?;
        let guards = crate::plan::guard::Guards { protect: true, max_destroy: self.max_destroy };
        Ok(crate::plan::PlanOptions { selection, guards })
    }
}
