//! How a Tyk sandbox runs (`tyk.conf` settings it emulates), and the Go struct templates of
//! what it stores (see [`super::fields`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use super::fields::Field;

/// The Go struct template of a classic API definition (see [`fields`]).
pub(crate) const CLASSIC_FIELDS: &str = include_str!("fields/classic.json");
/// The Go struct template of a policy (see [`fields`]).
pub(crate) const POLICY_FIELDS: &str = include_str!("fields/policy.json");

fn bundled(cell: &'static OnceLock<Field>, text: &str) -> &'static Field {
    cell.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("bundled field template is not JSON: {e}"));
        Field::parse(&v).unwrap_or_else(|e| panic!("bundled field template: {e}"))
    })
}

/// The fields of `apidef.APIDefinition` the sandbox knows (a Dashboard-emitted definition's
/// field list, plus `is_oas`, `upstream_auth`, `detailed_tracing` and the `*_disabled` flags).
pub fn classic_fields() -> &'static Field {
    static CELL: OnceLock<Field> = OnceLock::new();
    bundled(&CELL, CLASSIC_FIELDS)
}

/// The fields of `user.Policy`.
pub fn policy_fields() -> &'static Field {
    static CELL: OnceLock<Field> = OnceLock::new();
    bundled(&CELL, POLICY_FIELDS)
}

/// Where the gateway reads policies from (`policies.policy_source`, `policy_path`,
/// `policy_record_name` in `tyk.conf`; `tyk.md` §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicySource {
    /// File-based with `policy_path` set: one file per policy in `policies/`, written by the
    /// REST API and read at reload.
    #[default]
    File,
    /// File-based with only `policy_record_name`: the single map `policies/policies.json`
    /// (id → policy) is read; REST writes land in the gateway's working directory (the store's
    /// root), which is never read.
    RecordName,
    /// `policy_source: service` (Dashboard): policy writes get 500, nothing is read from files.
    Service,
}

/// How to run a Tyk sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct TykSandboxOptions {
    /// Address of the first node; port 0 picks an ephemeral port. Node `i` listens on the
    /// same address with port `port + i` (or an ephemeral port when `port` is 0).
    pub listen: SocketAddr,
    /// The gateway `secret` clients send in `x-tyk-authorization`.
    pub secret: String,
    /// A directory holding `apps/` and `policies/` as real files, read at start; `None` keeps
    /// the files in memory and starts empty.
    pub data: Option<PathBuf>,
    /// How many gateway nodes share the store (at least 1), each with its own loaded set.
    pub nodes: usize,
    /// `use_db_app_configs: true` (Dashboard-managed): POST/PUT on `/tyk/apis*` get 500, and
    /// the policy source is forced to [`PolicySource::Service`], as Tyk does at start.
    pub use_db_app_configs: bool,
    /// `slave_options.use_rpc: true` (MDCB worker): the apis and policies routes are not
    /// registered (404).
    pub rpc_worker: bool,
    /// Where policies are read from.
    pub policy_source: PolicySource,
    /// How long a reload requested without `?block=true` (and every group reload) takes to
    /// happen; zero applies it before answering.
    pub reload_delay: Duration,
    /// The gateway config `secrets` map: `secrets://KEY` in a definition file is replaced by
    /// its value at load.
    pub secrets: BTreeMap<String, String>,
    /// Variables for `env://NAME` references in definition files (instead of the process
    /// environment, so tests stay hermetic).
    pub env: BTreeMap<String, String>,
}

/// The default secret: the one in Tyk's sample `tyk.conf`.
pub const DEFAULT_SECRET: &str = "352d20ee67be67f6340b4c0605b044b7";

impl Default for TykSandboxOptions {
    fn default() -> Self {
        TykSandboxOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret: DEFAULT_SECRET.to_owned(),
            data: None,
            nodes: 1,
            use_db_app_configs: false,
            rpc_worker: false,
            policy_source: PolicySource::File,
            reload_delay: Duration::ZERO,
            secrets: BTreeMap::new(),
            env: BTreeMap::new(),
        }
    }
}
