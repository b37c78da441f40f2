//! `gateform show PLANFILE`: a plan saved with `plan --out FILE`, rendered as `plan`
//! rendered it (Terraform's `show`), or as the JSON plan document. The file is checked
//! (format version, checksum) before anything is shown; nothing is read from a gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::args::ReportFormat;
use super::output::{out, out_plan};
use super::settings::read_text;
use crate::plan::file::PlanFile;
use crate::render;
use crate::source::source_line;

/// Arguments of `gateform show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `gateform plan --out FILE`.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: PathBuf,
    /// Output format: `text` as `plan` printed it, `json` as `plan --format json` did.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Prints the saved plan.
pub async fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let name = args.plan_file.display().to_string();
    let saved = PlanFile::parse(&name, &read_text(&args.plan_file)?)?;
    match args.format {
        ReportFormat::Json => {
            let doc = serde_json::json!({
                "format_version": saved.format_version,
                "source": saved.source,
                "gateway": saved.gateway,
                "summary": saved.summary,
                "changes": saved.changes,
            });
            out(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
        }
        ReportFormat::Text => {
            let g = &saved.gateway;
            out(&format!(
                "Saved plan {name}, made {} by gateform {}.\n{}",
                saved.created_at,
                saved.gateform_version,
                render::text::header(
                    &source_line(&saved.source),
                    &g.address,
                    format!("{} {}", g.product, g.version).trim_start(),
                    g.environment.as_deref()
                )
            ));
            out_plan(&render::text::saved(&saved.changes, &saved.labels, &saved.names));
            out(&format!("\nApply exactly this plan with: gateform apply {name}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
