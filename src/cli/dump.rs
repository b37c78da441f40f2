//! `gateform dump`: write the live configuration as a decK file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::args::GatewayArgs;
use super::context::connect;
use super::output::{errln, scrub};
use super::pipeline::register_secrets;
use super::settings::GatewaySettings;
use crate::engine::gateway_schemas;
use crate::kong::read_live;
use crate::kong::schema::Schemas;
use crate::secrets::placeholder;
use crate::source::{self, DumpFormat, DumpOptions};

/// File format of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `gateform dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Write to this file instead of stdout (replaced atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Dump only entities carrying every such tag (and record them as `_info.select_tags`).
    #[arg(long = "select-tag", value_name = "TAG")]
    pub select_tags: Vec<String>,
    /// Write secret values themselves instead of `${{ env "DECK_..." }}` placeholders.
    #[arg(long)]
    pub include_secrets: bool,
    /// Write every entity's id (ids are always written for entities without a name-like key).
    #[arg(long)]
    pub with_id: bool,
}

/// Reads the gateway and writes the dump.
pub async fn run(args: DumpArgs) -> anyhow::Result<ExitCode> {
    let conn = connect(&GatewaySettings::from_args(&args.gateway)?).await?;
    let live = read_live(&conn.client, &args.select_tags).await;
    let schemas =
        if live.is_ok() { gateway_schemas(&conn.client, &|_| true).await } else { Schemas::bundled().clone() };
    conn.close().await;
    let mut state = live?.state;
    // Kong echoes deprecated shorthands (`config.redis_host`) in what it returns; they are
    // copies of the real fields and would override them when the dump is read back.
    for e in &mut state.entities {
        let body = crate::plan::live_body(e);
        if let Some(schema) = crate::plan::schema_for(&schemas, e.kind, &body) {
            crate::kong::schema::strip_shorthands(&schema.fields, &mut e.fields);
        }
    }
    let format = match args.format {
        Format::Yaml => DumpFormat::Yaml,
        Format::Json => DumpFormat::Json,
    };
    let placeholders = if args.include_secrets {
        Vec::new()
    } else {
        register_secrets(&state, &schemas);
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let mut p = placeholder::mask_state(&mut state, &schemas);
        p.extend(placeholder::mask_env_values(&mut state, &env));
        p.sort_by(|a, b| a.variable.cmp(&b.variable));
        p.dedup_by(|a, b| a.variable == b.variable);
        p
    };
    let opts = DumpOptions { format, with_ids: args.with_id, select_tags: args.select_tags.clone() };
    let mut text = source::dump(&state, &opts)?;
    if !args.include_secrets {
        text = placeholder::render(&text, format == DumpFormat::Yaml);
        if format == DumpFormat::Yaml {
            text.push_str(&placeholder::yaml_footer(&placeholders));
        } else if !placeholders.is_empty() {
            errln(
                "Sensitive values are written as ${{ env \"DECK_...\" }} placeholders. \
                 Set these variables before planning or applying the dump:",
            );
            for p in &placeholders {
                errln(&format!("  {}  {} {} {}", p.variable, p.kind, p.entity, p.field));
            }
        }
        // Belt and braces: no value the gateway holds as a secret reaches the output.
        text = scrub(&text);
    }
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a
/// reader never sees a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
