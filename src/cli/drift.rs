//! `gateform drift`: a plan that only reports, for schedulers (exit 0 no drift, 1 error,
//! 2 drift), said as drift (`# services "a" differs on the gateway`), with a warning
//! section for entities outside the ownership scope attached to managed ones (an untagged
//! plugin on a managed service), which no plan deletes but which go with what they hang on.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::observer::header;
use super::output::{err, out, out_plan};
use super::plan::{compute, finish, report};
use super::settings::{Request, resolve};
use crate::engine::Planned;
use crate::gateway::Scope;
use crate::plan::PlanOptions;
use crate::plan::guard::Guards;
use crate::render;

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
        // A drift report only tells: no guard stops it.
        let options = PlanOptions { guards: Guards::off(), ..PlanOptions::default() };
        let planned = compute(&settings, options).await?;
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
