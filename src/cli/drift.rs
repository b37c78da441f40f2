//! `gateform drift`: a plan that only reports, for schedulers (exit 0 no drift, 1 error,
//! 2 drift).

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::plan::{compute, finish, report};
use super::settings::{Request, resolve};
use crate::plan::PlanOptions;
use crate::plan::guard::Guards;

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
        let code = report(&planned, args.format, true, None);
        planned.close().await;
        code
    }
    .await;
    finish(result, args.format)
}
