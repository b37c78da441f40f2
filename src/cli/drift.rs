//! `gateform drift`: a plan that only reports, for schedulers (exit 0 no drift, 1 error,
//! 2 drift), said as drift (`# services "a" differs on the gateway`), with a warning
//! section for entities outside the ownership scope attached to managed ones (an untagged
//! plugin on a managed service), which no plan deletes but which go with what they hang on.
//! With several nodes, every node is planned and compared with the first: drift is any
//! node that differs from Git, or from the others.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::observer::{Printer, Show, header};
use super::output::{err, out, out_plan};
use super::plan::{compute, finish, report};
use super::run::process_env;
use super::settings::{Request, Settings, resolve};
use crate::engine::{ApplyOptions, Planned, Reconciler, Survey};
use crate::gateway::Scope;
use crate::plan::PlanOptions;
use crate::plan::guard::Guards;
use crate::render;
use crate::render::nodes::DriftLine;

/// Arguments of `gateform drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Reports drift between the configuration and the gateway.
pub async fn run(args: DriftArgs) -> anyhow::Result<ExitCode> {
    let result = async {
        let settings = resolve(&Request::new(&args.state, &args.gateway, None))?;
        if !settings.gateway.others.is_empty() {
            let survey = survey(&settings).await?;
            let code = nodes(&survey, args.format);
            survey.planned.close().await;
            return Ok(code);
        }
        let planned = compute(&settings, report_only()).await?;
        let code = match args.format {
            PlanFormat::Text => {
                out(&header(&planned));
                out_plan(&render::text::drift(&planned.plan));
                Ok(if planned.plan.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
            }
            format => report(&planned, format, true, None),
        };
        let attached = attached_outside(&planned).await;
        if !attached.is_empty() {
            let section = render::text::attached_outside(&attached, &planned.desired.select_tags);
            match args.format {
                PlanFormat::Text => out_plan(&format!("\n{section}")),
                _ => err(&section),
            }
        }
        planned.close().await;
        code
    }
    .await;
    finish(result, args.format)
}

/// The labels of entities outside the scope attached to managed ones, with what they hang
/// on: `(plugins "rate-limiting", [service "orders"])`. A gateway that cannot say gives
/// none (a warning).
async fn attached_outside(planned: &Planned) -> Vec<(String, Vec<String>)> {
    let scope = Scope { select_tags: planned.desired.select_tags.clone(), ..Scope::default() };
    let live = &planned.live.state;
    let found = match planned.connection.session.attached_outside(&scope, live).await {
        Ok(found) => found,
        Err(e) => {
            err(&format!("warning: cannot look for entities outside the scope attached to managed ones: {e}\n"));
            return Vec::new();
        }
    };
    let dialect = &*planned.dialect;
    let name = |e: &crate::model::Entity| dialect.short_name(e.kind, e.id.as_deref().unwrap_or("?"), &e.fields);
    found
        .iter()
        .map(|e| {
            let parents = e
                .refs
                .values()
                .filter_map(|r| match r {
                    crate::model::Ref::Id(id) => live.entities.iter().find(|p| p.id.as_deref() == Some(id)),
                    _ => None,
                })
                .map(|p| format!("{} {}", p.kind.singular(), name(p)))
                .collect();
            (format!("{} {}", e.kind, name(e)), parents)
        })
        .collect()
}

/// Plans the configuration against every node (nothing written).
async fn survey(settings: &Settings) -> anyhow::Result<Survey> {
    let reconciler = Reconciler {
        target: settings.target()?,
        settings: ApplyOptions::default(),
        env: process_env(),
        plan: report_only(),
    };
    let redactor = super::output::redactor();
    Ok(reconciler.survey(settings.source.clone(), &redactor, &mut Printer::new(Show::Plan)).await?)
}

/// Prints every node's drift; 1 when a node could not be read, 2 when any node differs
/// from Git or from the first node, else 0.
fn nodes(survey: &Survey, format: PlanFormat) -> ExitCode {
    let lines: Vec<DriftLine<'_>> = survey
        .nodes
        .iter()
        .map(|n| DriftLine {
            address: &n.address,
            plan: n.plan.as_ref().map_err(String::as_str),
            served: n.served.as_deref(),
            differs: &n.differs_from_first,
            compared: n.fingerprint.is_some(),
        })
        .collect();
    match format {
        PlanFormat::Json => out(&format!("{}\n", render::nodes::drift_json(&lines))),
        PlanFormat::Text | PlanFormat::Markdown => {
            out(&header(&survey.planned));
            out(&render::text::plan(&survey.planned.plan));
            out(&render::nodes::drift_text(&lines));
        }
    }
    if survey.nodes.iter().any(|n| n.plan.is_err()) {
        ExitCode::FAILURE
    } else if survey.drift() || survey.diverged() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// A drift report only tells: no guard stops it.
fn report_only() -> PlanOptions {
    PlanOptions { guards: Guards::off(), ..PlanOptions::default() }
}
