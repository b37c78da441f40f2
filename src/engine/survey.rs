//! Drift over the nodes of an environment: every node is read and planned against the
//! configuration (which nodes diverge from Git), and its live state in scope is
//! fingerprinted and compared with the first node's (which diverge from each other). Nothing
//! is written; no lock is taken.

use super::prepare::{Planned, plan_against};
use super::run::Reconciler;
use super::target::Connection;
use super::{EngineError, Observer};
use crate::plan::Plan;
use crate::plan::file::Fingerprint;
use crate::secrets::Redactor;
use crate::source::Source;

/// What one node holds against the configuration.
#[derive(Debug, Clone)]
pub struct NodeDrift {
    /// Its Admin API address.
    pub address: String,
    /// Its plan against the configuration (empty: in sync with Git); `Err` when the node
    /// could not be read or planned, with why.
    pub plan: Result<Plan, String>,
    /// A digest of its live state in scope (none when it could not be read).
    pub fingerprint: Option<Fingerprint>,
    /// The configuration it says it serves, when the gateway names one.
    pub served: Option<String>,
    /// How its live state differs from the first node's: `(kind/id, "changed" | "added" |
    /// "removed")`, `added` meaning it has an entity the first node lacks.
    pub differs_from_first: Vec<(String, &'static str)>,
}

impl NodeDrift {
    /// Whether the node matches the configuration.
    pub fn in_sync(&self) -> bool {
        self.plan.as_ref().is_ok_and(Plan::is_empty)
    }
}

/// Every node of an environment, surveyed.
pub struct Survey {
    /// The first node, planned as [`Reconciler::plan`] plans it (its session still open:
    /// [`Planned::close`] it).
    pub planned: Planned,
    /// Every node, the first one first.
    pub nodes: Vec<NodeDrift>,
}

impl Survey {
    /// Whether any node differs from the configuration, or could not be read.
    pub fn drift(&self) -> bool {
        self.nodes.iter().any(|n| !n.in_sync())
    }

    /// Whether the nodes hold different states.
    pub fn diverged(&self) -> bool {
        self.nodes.iter().any(|n| !n.differs_from_first.is_empty() || n.fingerprint.is_none())
    }
}

impl Reconciler {
    /// Plans `source` against every node of the target (the first as [`Reconciler::plan`]
    /// does) and compares the nodes with each other. Only the first node failing is an
    /// error; another node that cannot be read is reported in its [`NodeDrift`].
    pub async fn survey(
        &self,
        source: Source,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<Survey, EngineError> {
        let planned = self.plan(source, redactor, observer).await?;
        let first_print = planned.fingerprint();
        let served = planned.connection.session.served_version().await.ok().flatten();
        let first = NodeDrift {
            address: planned.target.address(),
            plan: Ok(planned.plan.clone()),
            fingerprint: Some(first_print.clone()),
            served,
            differs_from_first: Vec::new(),
        };
        let mut nodes = vec![first];
        for address in &self.target.nodes.others {
            nodes.push(self.survey_node(&planned, address, &first_print, redactor).await);
        }
        Ok(Survey { planned, nodes })
    }

    async fn survey_node(
        &self,
        planned: &Planned,
        address: &str,
        first: &Fingerprint,
        redactor: &Redactor,
    ) -> NodeDrift {
        let address = address.trim_end_matches('/').to_owned();
        let connection = match Connection::open(&self.target.node(&address), &planned.source.inputs).await {
            Ok(c) => c,
            Err(e) => {
                let plan = Err(format!("cannot be read: {e}"));
                return NodeDrift { address, plan, fingerprint: None, served: None, differs_from_first: Vec::new() };
            }
        };
        let dialect = connection.session.dialect();
        let node = match plan_against(
            &connection,
            &*dialect,
            &planned.desired,
            redactor,
            &planned.selection,
            &mut super::Quiet,
        )
        .await
        {
            Ok((live, plan, _)) => {
                let print = Fingerprint::of(&live.state, &live.lookup, &*dialect);
                let served = connection.session.served_version().await.ok().flatten();
                let differs_from_first = first.differences(&print);
                NodeDrift { address, plan: Ok(plan), fingerprint: Some(print), served, differs_from_first }
            }
            Err(e) => {
                let plan = Err(format!("cannot be planned: {e}"));
                NodeDrift { address, plan, fingerprint: None, served: None, differs_from_first: Vec::new() }
            }
        };
        connection.close().await;
        node
    }
}
