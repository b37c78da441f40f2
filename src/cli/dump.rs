//! `gateform dump`: write the live configuration in the dialect's file format: one file
//! (decK) to stdout or `-o FILE`, or several (Tyk's tyk-sync layout) into `-o DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::args::GatewayArgs;
use super::output::{errln, scrub};
use super::run::process_env;
use super::settings::{GatewaySettings, gateway_target};
use crate::engine::{Connection, EngineError};
use crate::gateway::{DumpOptions, Scope};
use crate::secrets;

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
    /// Write to this file instead of stdout (replaced atomically); for a dialect whose
    /// format is several files (Tyk's tyk-sync layout), the directory to write them in
    /// (created when missing; other files in it are left alone).
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR")]
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
    /// An environment of `gateform.toml`: its gateway, headers and select tags apply unless
    /// a flag says otherwise.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
}

/// Reads the gateway and writes the dump.
pub async fn run(args: DumpArgs) -> anyhow::Result<ExitCode> {
    let (gateway, env) = GatewaySettings::for_env(&args.gateway, args.env.as_deref())?;
    let mut select_tags = args.select_tags.clone();
    if select_tags.is_empty() {
        select_tags = env.as_ref().and_then(|e| e.select_tags.clone()).unwrap_or_default();
    }
    let target = gateway_target(&gateway, None, env.map(|e| e.name), Vec::new())?;
    let conn = Connection::open_all(&target).await?;
    let scope = Scope { select_tags: select_tags.clone(), ..Scope::default() };
    let live = conn.session.read(&scope).await;
    let dialect = conn.session.dialect();
    conn.close().await;
    let live = live.map_err(EngineError::from)?;
    let mut state = live.state;
    if args.select_tags.is_empty() {
        // Without a scope, everything the gateway serves (a dialect whose ownership is a
        // marker reads what it does not own for reference only).
        state.entities.extend(live.lookup.entities);
    }
    if !args.include_secrets {
        super::output::redactor().add(secrets::collect(&state, &*dialect));
    }
    let opts = DumpOptions {
        json: args.format == Format::Json,
        with_ids: args.with_id,
        select_tags,
        include_secrets: args.include_secrets,
        env: process_env(),
    };
    let dump = dialect.dump(state, &opts).map_err(anyhow::Error::msg)?;
    for note in &dump.notes {
        errln(note);
    }
    // Belt and braces: no value the gateway holds as a secret reaches the output.
    let clean = |text: String| if args.include_secrets { text } else { scrub(&text) };
    let single = matches!(dump.files.as_slice(), [(name, _)] if name.is_empty());
    if single {
        let text = dump.files.into_iter().map(|(_, text)| clean(text)).collect::<String>();
        match &args.output {
            Some(path) => write_atomically(path, text.as_bytes())?,
            None => std::io::stdout().write_all(text.as_bytes())?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = &args.output else {
        anyhow::bail!(
            "this gateway's dump is {} files ({}'s layout): name a directory to write them in with -o DIR",
            dump.files.len(),
            dialect.product()
        );
    };
    if dir.is_file() {
        anyhow::bail!("{} is a file: this dump is several files, give -o a directory", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in dump.files {
        let path = safe_join(dir, &name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_atomically(&path, clean(text).as_bytes())?;
    }
    errln(&format!("Wrote the dump to {}.", dir.display()));
    Ok(ExitCode::SUCCESS)
}

/// `dir/name` for a relative `name` that stays inside `dir`.
fn safe_join(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let rel = Path::new(name);
    let inside = rel.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        anyhow::bail!("the dump names a file outside its directory: {name}");
    }
    Ok(dir.join(rel))
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
