//! `gateform plan`: show what apply would change; optionally save it for `apply FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::args::{GatewayArgs, LedgerLocationArgs, PlanFormat, SelectArgs, StateArgs};
use super::comment::{self, CommentArgs};
use super::dump::write_atomically;
use super::error::CommandError;
use super::observer::{Printer, Show, header};
use super::output::{errln, out, out_plan, scrub};
use super::run::process_env;
use super::settings::{Request, Settings, resolve};
use crate::engine::{ApplyOptions, Planned, Reconciler};
use crate::plan::PlanOptions;
use crate::plan::file::PlanFile;
use crate::render::{self, markdown};

/// Arguments of `gateform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output format. Default: text, or markdown with `--markdown-dir`.
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Also save the plan to FILE, for `gateform apply FILE` (holds no secrets).
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Write the plan as a Markdown comment in DIR/plan-1.md, plan-2.md, ... each under
    /// 65,000 characters, instead of printing it (implies `--format markdown`).
    #[arg(long, value_name = "DIR")]
    pub markdown_dir: Option<PathBuf>,
    /// Where a plan saved with `--out` is recorded.
    #[command(flatten)]
    pub ledger: LedgerLocationArgs,
    #[command(flatten)]
    pub comment: CommentArgs,
}

/// The format of a plan: as asked; `--markdown-dir` implies Markdown and refuses another.
pub fn plan_format(format: Option<PlanFormat>, markdown_dir: Option<&Path>) -> anyhow::Result<PlanFormat> {
    match (format, markdown_dir) {
        (None | Some(PlanFormat::Markdown), Some(_)) => Ok(PlanFormat::Markdown),
        (Some(f), Some(_)) => {
            let name = if f == PlanFormat::Json { "json" } else { "text" };
            bail!("--markdown-dir writes Markdown comments; it does not go with --format {name}")
        }
        (f, None) => Ok(f.unwrap_or(PlanFormat::Text)),
    }
}

/// Prints the plan; saves it with `--out`.
pub async fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let format = plan_format(args.format, args.markdown_dir.as_deref())?;
    let poster = args.comment.poster()?;
    let result = async {
        let settings = resolve(&Request::new(&args.state, &args.gateway, None))?;
        if args.out.is_some() && settings.source.has_stdin() {
            bail!("plan --out needs the configuration in files (apply reads them again), not on stdin");
        }
        let planned = compute(&settings, args.select.options()?).await?;
        let code = report(&planned, format, args.detailed_exitcode, args.markdown_dir.as_deref());
        if let (Ok(_), Some(path)) = (&code, &args.out) {
            let file = saved_plan(&planned, &settings);
            write_atomically(path, scrub(&file.to_json()).as_bytes())?;
            errln(&format!(
                "Saved the plan to {}. Apply exactly this plan with: gateform apply {}",
                path.display(),
                path.display()
            ));
            super::run::record_saved_plan(&settings, &args.ledger, &planned.plan).await;
        }
        if let (Ok(_), Some(poster)) = (&code, &poster) {
            let posted = poster.post_plan(&planned.plan, &markdown_header(&planned)).await;
            if let Err(e) = posted {
                planned.close().await;
                return Err(e);
            }
        }
        planned.close_before_exit().await;
        code
    }
    .await;
    let result = match (result, &poster) {
        (Err(e), Some(poster)) => Err(comment::post_failure(poster, args.state.env.as_deref(), e).await),
        (result, _) => result,
    };
    finish(result, format)
}

/// The saved plan of `planned`: local paths (files, a local repository) are recorded
/// relative to the repository root (`root`), so that `apply FILE` reads the very files
/// again from any working directory.
fn saved_plan(planned: &Planned, settings: &Settings) -> PlanFile {
    let mut source = planned.source.to_json();
    let root = settings.root.display().to_string();
    if let Value::Object(m) = &mut source {
        let local = m.get("repository").and_then(Value::as_str).is_none_or(|r| !crate::source::git::is_remote(r));
        if local {
            m.insert("root".into(), json!(root));
        }
        if let Some(Value::Array(files)) = m.get_mut("files") {
            for f in files {
                let Some(name) = f.get("name").and_then(Value::as_str).map(str::to_owned) else { continue };
                let abs = std::path::absolute(&name).unwrap_or_else(|_| PathBuf::from(&name));
                let rel = abs.strip_prefix(&settings.root).map(Path::to_path_buf).unwrap_or(abs);
                if let Value::Object(f) = f {
                    f.insert("path".into(), json!(rel.display().to_string()));
                }
            }
        }
    }
    PlanFile::new(
        &planned.plan,
        source,
        planned.gateway_record(),
        planned.fingerprint(),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    )
    .with_selection(planned.selection.clone())
}

/// Plans the configuration of `settings` (no lock, nothing written), narrowed and guarded
/// by `options`.
pub async fn compute(settings: &Settings, options: PlanOptions) -> anyhow::Result<Planned> {
    let target = settings.target()?;
    let reconciler = Reconciler { target, settings: ApplyOptions::default(), env: process_env(), plan: options };
    let redactor = super::output::redactor();
    Ok(reconciler.plan(settings.source.clone(), &redactor, &mut Printer::new(Show::Plan)).await?)
}

/// Turns an error into exit code 1, also as a JSON document on stdout in JSON format.
pub fn finish(result: anyhow::Result<ExitCode>, format: PlanFormat) -> anyhow::Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(e) if format == PlanFormat::Json => {
            let error = CommandError::from(e);
            let message = scrub(&error.message);
            out(&format!(
                "{}\n",
                json!({"format_version": render::json::FORMAT_VERSION, "error": {"message": message}})
            ));
            errln(&error.render());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e),
    }
}

/// Prints `planned` in `format`; returns 2 for changes when `detailed`, else 0.
pub fn report(
    planned: &Planned,
    format: PlanFormat,
    detailed: bool,
    markdown_dir: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let plan = &planned.plan;
    match format {
        PlanFormat::Text => {
            out(&header(planned));
            out_plan(&render::text::plan(plan));
        }
        PlanFormat::Json => {
            out(&render::json::plan(plan, Some(planned.source.to_json()), Some(planned.gateway_json())));
        }
        PlanFormat::Markdown => markdown_report(planned, markdown_dir)?,
    }
    Ok(if detailed && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The header of `planned`'s Markdown views (the comment, `--format markdown`).
pub fn markdown_header(planned: &Planned) -> markdown::Header {
    markdown::Header {
        environment: planned.target.environment.clone(),
        source: Some(planned.source.line()),
        gateway: Some(planned.target.address()),
    }
}

fn markdown_report(planned: &Planned, markdown_dir: Option<&Path>) -> anyhow::Result<()> {
    let plan = &planned.plan;
    let header = markdown_header(planned);
    match markdown_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let pages = markdown::pages(plan, &header, markdown::COMMENT_LIMIT);
            for (i, page) in pages.iter().enumerate() {
                let path = dir.join(format!("plan-{}.md", i + 1));
                write_atomically(&path, scrub(page).as_bytes())?;
                errln(&format!("Wrote {} ({} characters).", path.display(), page.chars().count()));
            }
        }
        None => {
            let body = markdown::render(plan, &header);
            if body.chars().count() > markdown::COMMENT_LIMIT {
                errln("Warning: this comment is longer than 65,000 characters; use --markdown-dir DIR to split it.");
            }
            out(&body);
        }
    }
    Ok(())
}
