//! The daemon's Prometheus metrics (`/metrics`, text exposition format through the
//! `prometheus-client` crate). Names follow Argo CD's (`argocd_app_reconcile`,
//! `argocd_git_fetch_fail_total`, ...; see `gitops-anchors.md` §3) with a `gateform_` prefix.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `environment` only.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnvLabels {
    /// The environment's name.
    pub environment: String,
}

/// `environment` and `outcome`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The environment's name.
    pub environment: String,
    /// `success`, `partial` (some changes failed) or `error` (nothing applied) for applies;
    /// the failing step (`fetch`, `config`, `gateway`, `locked`, `stale`, `other`, `guard`)
    /// for failures.
    pub outcome: String,
}

/// `environment` and `commit`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommitLabels {
    /// The environment's name.
    pub environment: String,
    /// The commit id.
    pub commit: String,
}

/// `environment` and `status` (an HTTP status code, `200`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The environment's name.
    pub environment: String,
    /// The HTTP status code, or `error` when no response came.
    pub status: String,
}

/// `provider` and `result` of incoming webhooks.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `github`, `gitlab`, `generic` or `unknown`.
    pub provider: String,
    /// `accepted` or `unauthorized`.
    pub result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the daemon. Cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `gateform_reconcile_duration_seconds{environment}`: one iteration of the loop.
    pub reconcile_duration: HistogramFamily<EnvLabels>,
    /// `gateform_applies_total{environment,outcome}`: applies by outcome.
    pub applies: Family<OutcomeLabels, Counter>,
    /// `gateform_reconcile_failures_total{environment,outcome}`: failed iterations by step.
    pub failures: Family<OutcomeLabels, Counter>,
    /// `gateform_drift_entities{environment}`: entities differing at the last drift check.
    pub drift_entities: Family<EnvLabels, Gauge>,
    /// `gateform_last_applied_commit_info{environment,commit}`: 1 for the commit live now.
    pub last_applied_commit: Family<CommitLabels, Gauge>,
    /// `gateform_last_applied_timestamp_seconds{environment}`: when it was applied (Unix time).
    pub last_applied_time: Family<EnvLabels, Gauge<f64, AtomicU64>>,
    /// `gateform_git_fetch_duration_seconds{environment}`.
    pub git_fetch_duration: HistogramFamily<EnvLabels>,
    /// `gateform_git_fetch_failures_total{environment}`.
    pub git_fetch_failures: Family<EnvLabels, Counter>,
    /// `gateform_admin_api_requests_total{environment,status}`: incremented by the engine
    /// through [`AdminApiCounter`].
    pub admin_api_requests: Family<StatusLabels, Counter>,
    /// `gateform_webhook_requests_total{provider,result}`.
    pub webhooks: Family<WebhookLabels, Counter>,
    /// `gateform_suspended{environment}`: 1 while suspended.
    pub suspended: Family<EnvLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn duration_histogram() -> Histogram {
    // 10 ms to ~5.5 min.
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gateform");
        let reconcile_duration: HistogramFamily<EnvLabels> = Family::new_with_constructor(duration_histogram);
        let git_fetch_duration: HistogramFamily<EnvLabels> = Family::new_with_constructor(duration_histogram);
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            reconcile_duration,
            applies: Family::default(),
            failures: Family::default(),
            drift_entities: Family::default(),
            last_applied_commit: Family::default(),
            last_applied_time: Family::default(),
            git_fetch_duration,
            git_fetch_failures: Family::default(),
            admin_api_requests: Family::default(),
            webhooks: Family::default(),
            suspended: Family::default(),
        };
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile iteration",
            m.reconcile_duration.clone(),
        );
        registry.register("applies", "Applies by environment and outcome", m.applies.clone());
        registry.register(
            "reconcile_failures",
            "Failed reconcile iterations by environment and step",
            m.failures.clone(),
        );
        registry.register(
            "drift_entities",
            "Entities differing from the configuration at the last drift check",
            m.drift_entities.clone(),
        );
        registry.register(
            "last_applied_commit_info",
            "The commit applied last (value 1)",
            m.last_applied_commit.clone(),
        );
        registry.register(
            "last_applied_timestamp_seconds",
            "When the last commit was applied, Unix time",
            m.last_applied_time.clone(),
        );
        registry.register(
            "git_fetch_duration_seconds",
            "Duration of fetching the followed branch",
            m.git_fetch_duration.clone(),
        );
        registry.register("git_fetch_failures", "Failed fetches of the followed branch", m.git_fetch_failures.clone());
        registry.register(
            "admin_api_requests",
            "Admin API requests by environment and HTTP status",
            m.admin_api_requests.clone(),
        );
        registry.register("webhook_requests", "Incoming webhooks by provider and result", m.webhooks.clone());
        registry.register("suspended", "Whether the environment is suspended (1) or not (0)", m.suspended.clone());
        Metrics { registry: Arc::new(registry), ..m }
    }

    /// The text exposition (`text/plain; version=0.0.4`-compatible OpenMetrics text).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The counter the engine increments per Admin API response of `environment`.
    pub fn admin_api_counter(&self, environment: &str) -> AdminApiCounter {
        AdminApiCounter { family: self.admin_api_requests.clone(), environment: environment.to_owned() }
    }

    /// Records that `commit` is now live in `environment` (and that the previous one is not).
    pub fn set_applied_commit(&self, environment: &str, previous: Option<&str>, commit: &str) {
        if let Some(p) = previous.filter(|p| *p != commit) {
            self.last_applied_commit
                .remove(&CommitLabels { environment: environment.to_owned(), commit: p.to_owned() });
        }
        let labels = CommitLabels { environment: environment.to_owned(), commit: commit.to_owned() };
        self.last_applied_commit.get_or_create(&labels).set(1);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        self.last_applied_time.get_or_create(&env(environment)).set(now.as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// `{environment}`.
pub fn env(environment: &str) -> EnvLabels {
    EnvLabels { environment: environment.to_owned() }
}

/// `{environment, outcome}`.
pub fn outcome(environment: &str, outcome: &str) -> OutcomeLabels {
    OutcomeLabels { environment: environment.to_owned(), outcome: outcome.to_owned() }
}

/// A handle the engine's Admin API client increments once per response.
#[derive(Debug, Clone)]
pub struct AdminApiCounter {
    family: Family<StatusLabels, Counter>,
    environment: String,
}

impl AdminApiCounter {
    /// Counts one response with HTTP `status` (`None`: no response, a transport error).
    pub fn inc(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.family.get_or_create(&StatusLabels { environment: self.environment.clone(), status }).inc();
    }
}
