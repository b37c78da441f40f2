//! `gateform plan`: show what apply would change.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::context::{connect, engine_input, load_desired, read_files, schemas_for};
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
    let inputs = read_files(&args.state)?;
    let conn = connect(&args.gateway).await?;
    let result = async {
        let schemas = schemas_for(&conn, &inputs).await;
        let desired = load_desired(&inputs, &args.state, &schemas)?;
        anyhow::Ok(prepare(&conn.client, &engine_input(&desired), schemas).await?)
    }
    .await;
    conn.close().await;
    let prepared = result?;
    match args.format {
        PlanFormat::Text => print!("{}", render::text::plan(&prepared.plan)),
        PlanFormat::Json => print!("{}", render::json::plan(&prepared.plan, None, None)),
    }
    Ok(ExitCode::SUCCESS)
}
