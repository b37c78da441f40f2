//! `gateform validate`: check a configuration before anything touches a gateway.

use std::process::ExitCode;

use clap::Args;
use reqwest::Method;
use serde_json::{Map, Value};

use super::args::{GatewayArgs, StateArgs};
use super::context::{connect, load_desired, schemas_for};
use super::output::{errln, outln};
use super::pipeline::source_line;
use super::settings::{Provenance, Request, resolve};
use crate::kong::schema::{Schemas, ValidationContext};
use crate::model::{Kind, Ref};
use crate::plan::{desired_body, schema_for, short_name};
use crate::source::Desired;

/// Arguments of `gateform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Also ask the gateway to validate every entity (`POST /schemas/{entity}/validate`).
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// A stand-in id for references while validating offline.
const PLACEHOLDER_ID: &str = "00000000-0000-4000-8000-000000000000";

/// One entity as the gateway would receive it, with its label and origin.
struct Candidate {
    kind: Kind,
    label: String,
    origin: String,
    body: Map<String, Value>,
}

fn candidates(desired: &Desired, schemas: &Schemas) -> Vec<Candidate> {
    desired
        .state
        .entities
        .iter()
        .filter(|e| e.kind != Kind::ConsumerGroupConsumer)
        .map(|e| {
            let parents = e
                .refs
                .iter()
                .map(|(f, r)| {
                    let id = match r {
                        Ref::Id(id) => id.clone(),
                        _ => PLACEHOLDER_ID.to_owned(),
                    };
                    (*f, id)
                })
                .collect();
            let body = desired_body(schemas, e.kind, &e.fields, &parents);
            let label =
                format!("{} {}", e.kind.singular(), short_name(e.kind, e.id.as_deref().unwrap_or("(new)"), &e.fields));
            let origin = e.origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default();
            Candidate { kind: e.kind, label, origin, body }
        })
        .collect()
}

/// Loads the files (syntax, types, references, duplicates), then validates every entity
/// against Kong's schemas; with `--online`, against the gateway's own validation too.
pub async fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&Request::new(&args.state, &args.gateway, None))?;
    let inputs = &settings.inputs;
    let conn = if args.online { Some(connect(&settings.gateway).await?) } else { None };
    let schemas = match &conn {
        Some(conn) => schemas_for(conn, inputs).await,
        None => Schemas::bundled().clone(),
    };
    let schemas = &schemas;
    let desired = load_desired(inputs, &settings.select_tags, schemas)?;
    let mut errors = Vec::new();
    let mut warned = std::collections::BTreeSet::new();
    let list = candidates(&desired, schemas);
    for c in &list {
        let name = c.body.get("name").and_then(Value::as_str).unwrap_or_default();
        if c.kind == Kind::Plugin && schemas.plugin(name).is_none() {
            if warned.insert(name.to_owned()) {
                errln(&format!(
                    "{}warning: plugin {name:?} is not bundled with Kong; the gateway must have it installed",
                    c.origin
                ));
            }
            continue;
        }
        let Some(schema) = schema_for(schemas, c.kind, &c.body) else { continue };
        if let Err(v) = schema.validate(&c.body, &ValidationContext::default()) {
            errors.push(format!("{}error: {}: {}", c.origin, c.label, v.message()));
        }
    }
    if let Some(conn) = conn {
        let offline_ok = errors.is_empty();
        for c in list.iter().filter(|_| offline_ok) {
            let path = match c.kind {
                Kind::Plugin => "/schemas/plugins/validate".to_owned(),
                k => format!("/schemas/{}/validate", k.table()),
            };
            let mut body = c.body.clone();
            body.insert("id".into(), Value::String(PLACEHOLDER_ID.into()));
            if let Err(e) = conn.client.send(Method::POST, &path, Some(&Value::Object(body))).await {
                errors.push(format!("{}error: {}: the gateway refused it: {e}", c.origin, c.label));
            }
        }
        conn.close().await;
    }
    if errors.is_empty() {
        if let Provenance::Git(_) = &settings.provenance {
            outln(&format!("Source: {}", source_line(&settings.source_json())));
        }
        outln(&format!("Success! The configuration is valid ({} entities).", desired.state.entities.len()));
        Ok(ExitCode::SUCCESS)
    } else {
        for e in &errors {
            errln(e);
        }
        errln(&format!("Error: {} invalid entit{}.", errors.len(), if errors.len() == 1 { "y" } else { "ies" }));
        Ok(ExitCode::FAILURE)
    }
}
