//! `gateform plan`: show what apply would change.

use std::process::ExitCode;

use clap::Args;

use super::args::{GatewayArgs, PlanFormat, StateArgs};
use super::context::{connect, engine_input, load_desired, schemas_for};
use super::settings::{Request, resolve};
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
    let settings = resolve(&Request::new(&args.state, &args.gateway, None))?;
    let inputs = &settings.inputs;
    let conn = connect(&settings.gateway).await?;
    let result = async {
        let schemas = schemas_for(&conn, inputs).await;
        let desired = load_desired(inputs, &settings.select_tags, &schemas)?;
        anyhow::Ok(prepare(&conn.client, &engine_input(&desired), schemas).await?)
    }
    .await;
    conn.close().await;
    let prepared = result?;
    match args.format {
        PlanFormat::Text => {
            println!("{}\n", settings.provenance.line());
            print!("{}", render::text::plan(&prepared.plan));
        }
        PlanFormat::Json => print!(
            "{}",
            render::json::plan(&prepared.plan, Some(settings.provenance.json()), Some(settings.gateway_json()))
        ),
    }
    Ok(ExitCode::SUCCESS)
}
