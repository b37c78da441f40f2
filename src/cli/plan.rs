//! `gateform plan`: show what apply would change.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::context::{connect, engine_input, load_desired};
use crate::engine::prepare;
use crate::render;

/// Arguments of `gateform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Prints the plan; exit 0 with or without changes.
pub async fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let desired = load_desired(&args.state)?;
    let conn = connect(&args.gateway).await?;
    let prepared = prepare(&conn.client, &engine_input(&desired)).await;
    conn.close().await;
    let prepared = prepared?;
    match args.format {
        PlanFormat::Text => print!("{}", render::text::plan(&prepared.plan)),
        PlanFormat::Json => print!("{}", render::json::plan(&prepared.plan, None, None)),
    }
    Ok(ExitCode::SUCCESS)
}
