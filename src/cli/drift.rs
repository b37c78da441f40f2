//! `gateform drift`: a plan that only reports, for schedulers (exit 0 no drift, 1 error,
//! 2 drift). With several nodes, every node is planned and compared with the first: drift
//! is any node that differs from Git, or from the others.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::observer::{Printer, Show, header};
use super::output::out;
use super::plan::{compute, finish, report};
use super::run::process_env;
use super::settings::{Request, Settings, resolve};
use crate::engine::{ApplyOptions, Reconciler, Survey};
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
        let planned = compute(&settings).await?;
        let code = report(&planned, args.format, true, None);
        planned.close().await;
        code
    }
    .await;
    finish(result, args.format)
}

/// Plans the configuration against every node (nothing written).
async fn survey(settings: &Settings) -> anyhow::Result<Survey> {
    let reconciler = Reconciler { target: settings.target()?, settings: ApplyOptions::default(), env: process_env() };
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
