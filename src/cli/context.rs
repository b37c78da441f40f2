//! Helpers shared by commands: connecting to the gateway (or an in-process sandbox) and
//! loading the desired configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::output::errln;
use super::settings::GatewaySettings;
use crate::engine::{DesiredInput, gateway_schemas};
use crate::kong::sandbox::{Sandbox, SandboxOptions};
use crate::kong::schema::Schemas;
use crate::kong::{ClientConfig, KongClient};
use crate::source::environments::is_credential_header;
use crate::source::{self, Desired, Input, LoadOptions};

/// A connection to the gateway; holds the in-process sandbox alive when `--gateway sandbox`.
pub struct Connection {
    /// The client.
    pub client: KongClient,
    /// The sandbox, when one was started.
    pub sandbox: Option<Sandbox>,
}

impl Connection {
    /// Stops the in-process sandbox, if any.
    pub async fn close(self) {
        if let Some(s) = self.sandbox {
            s.shutdown().await;
        }
    }
}

/// Parses `Name: value`.
pub fn parse_header(h: &str) -> anyhow::Result<(String, String)> {
    match h.split_once(':') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_owned(), v.trim().to_owned())),
        _ => bail!("invalid --header `{h}`: expected `Name: value`"),
    }
}

/// Connects to the gateway `args` name. Values of credential-like headers are registered
/// with the output scrubber.
pub async fn connect(args: &GatewaySettings) -> anyhow::Result<Connection> {
    let credentials = args.headers.iter().filter(|(n, v)| is_credential_header(n) && !v.is_empty());
    super::output::redactor().add(credentials.map(|(_, v)| v.clone()));
    let (url, sandbox) = if args.url == "sandbox" {
        let sandbox = crate::kong::sandbox::start(SandboxOptions { enterprise: true, ..SandboxOptions::default() })
            .await
            .context("cannot start the in-process sandbox")?;
        errln(&format!("Using an empty in-process sandbox at {}.", sandbox.url()));
        (sandbox.url(), Some(sandbox))
    } else {
        (args.url.clone(), None)
    };
    let mut config = ClientConfig::new(url);
    config.timeout = args.timeout.max(Duration::from_secs(1));
    config.headers = args.headers.clone();
    let client = KongClient::new(config)?;
    Ok(Connection { client, sandbox })
}

/// The gateway's schemas for the plugins `inputs` mention (bundled ones for the rest).
pub async fn schemas_for(conn: &Connection, inputs: &[Input]) -> Schemas {
    let mentions = |name: &str| inputs.iter().any(|i| i.text.contains(name));
    gateway_schemas(&conn.client, &mentions).await
}

/// Parses `inputs` against `schemas`, prints warnings, and applies the select tags.
pub fn load_desired(inputs: &[Input], select_tags: &[String], schemas: &Schemas) -> anyhow::Result<Desired> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut desired = source::load(inputs, &LoadOptions { env, schemas })?;
    super::output::redactor().add(desired.env_values.iter().cloned());
    super::pipeline::register_secrets(&desired.state, schemas);
    for w in &desired.warnings {
        errln(&w.to_string());
    }
    if !select_tags.is_empty() {
        if !desired.select_tags.is_empty() && sorted(&desired.select_tags) != sorted(select_tags) {
            bail!(
                "--select-tag {} differs from _info.select_tags {} in the configuration",
                select_tags.join(","),
                desired.select_tags.join(",")
            );
        }
        if desired.select_tags.is_empty() {
            source::add_tags(&mut desired.state.entities, select_tags);
            desired.select_tags = select_tags.to_vec();
        }
    }
    Ok(desired)
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The engine's view of a loaded configuration.
pub fn engine_input(desired: &Desired) -> DesiredInput {
    DesiredInput {
        state: desired.state.clone(),
        select_tags: desired.select_tags.clone(),
        lookup_tags: desired.lookup_tags.clone(),
        secret_fields: desired.env_fields.clone(),
    }
}
