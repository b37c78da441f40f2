//! What became of each node of an environment of several ([`NodeOutcome`], [`NodeStatus`])
//! and the progress a run over them reports ([`NodeEvent`]).

use std::time::Duration;

use crate::plan::{Plan, Summary};

/// What became of one node of an environment of several.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutcome {
    /// Its Admin API address.
    pub address: String,
    /// What its plan changed, before the run wrote anything.
    pub plan: Summary,
    /// How it ended.
    pub status: NodeStatus,
    /// The configuration it serves after the run, when the gateway names one (Kong
    /// DB-less: the configuration hash).
    pub served: Option<String>,
    /// Time spent writing and verifying it.
    pub elapsed: Duration,
}

/// How one node ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    /// It serves the configuration: written and verified.
    Verified,
    /// It already served the configuration; nothing was written to it.
    Unchanged,
    /// Its write failed (nothing took effect on a gateway that loads whole
    /// configurations): why.
    Failed(String),
    /// Written, but it does not serve the configuration (within the timeout): how it
    /// differs.
    NotVerified(String),
    /// Not written: the rollout stopped before it.
    Untouched,
}

impl NodeStatus {
    /// Whether the node serves the configuration.
    pub fn ok(&self) -> bool {
        matches!(self, NodeStatus::Verified | NodeStatus::Unchanged)
    }

    /// `verified`, `unchanged`, `failed`, `not-verified`, `untouched`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeStatus::Verified => "verified",
            NodeStatus::Unchanged => "unchanged",
            NodeStatus::Failed(_) => "failed",
            NodeStatus::NotVerified(_) => "not-verified",
            NodeStatus::Untouched => "untouched",
        }
    }

    /// The reason, for failed and unverified nodes.
    pub fn reason(&self) -> Option<&str> {
        match self {
            NodeStatus::Failed(m) | NodeStatus::NotVerified(m) => Some(m),
            _ => None,
        }
    }
}

/// Progress of a run over several nodes, for [`super::Observer::node`].
#[derive(Debug, Clone, Copy)]
pub enum NodeEvent<'a> {
    /// A further node was planned, before anything was written: its plan, and whether it
    /// is the first node's.
    Planned {
        /// The node's address.
        address: &'a str,
        /// Its plan.
        plan: &'a Plan,
        /// Whether its plan is the first node's, change for change.
        same_as_first: bool,
    },
    /// A node is being written.
    Writing {
        /// The node's address.
        address: &'a str,
        /// The changes of its plan.
        changes: usize,
    },
    /// A node is done (or left untouched).
    Done(&'a NodeOutcome),
}
