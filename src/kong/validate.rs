//! Validating a loaded decK configuration entity by entity: offline against Kong's schemas
//! (the bundled ones or the gateway's), and online by asking the gateway
//! (`POST /schemas/{entity}/validate`, `kong-admin-api.md` §3.8).

use reqwest::Method;
use serde_json::{Map, Value};

use super::KongKind;
use super::label::short_name;
use super::normalize::{desired_body, schema_for};
use super::schema::{Schemas, ValidationContext};
use crate::gateway::Client;
use crate::model::Ref;
use crate::source::Desired;
use crate::source::Diagnostic;

/// A stand-in id for references while validating.
const PLACEHOLDER_ID: &str = "00000000-0000-4000-8000-000000000000";

/// One entity as the gateway would receive it, with its label and origin.
struct Candidate {
    kind: KongKind,
    label: String,
    origin: Option<crate::model::Origin>,
    body: Map<String, Value>,
}

fn candidates(desired: &Desired, schemas: &Schemas) -> Vec<Candidate> {
    desired
        .state
        .entities
        .iter()
        .filter_map(|e| KongKind::of(e.kind).map(|k| (k, e)))
        .filter(|(k, _)| *k != KongKind::ConsumerGroupConsumer)
        .map(|(kind, e)| {
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
            let body = desired_body(schemas, kind, &e.fields, &parents);
            let label =
                format!("{} {}", kind.singular(), short_name(kind, e.id.as_deref().unwrap_or("(new)"), &e.fields));
            Candidate { kind, label, origin: e.origin.clone(), body }
        })
        .collect()
}

/// Every entity validated against `schemas`: an error per invalid entity, and one warning
/// per plugin Kong does not bundle (the gateway must have it installed).
pub fn offline(schemas: &Schemas, desired: &Desired) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut warned = std::collections::BTreeSet::new();
    for c in candidates(desired, schemas) {
        let name = c.body.get("name").and_then(Value::as_str).unwrap_or_default();
        if c.kind == KongKind::Plugin && schemas.plugin(name).is_none() {
            if warned.insert(name.to_owned()) {
                let msg = match crate::source::suggest::nearest(name, schemas.plugin_names()) {
                    Some(near) => format!(
                        "plugin {name:?} is not bundled with Kong; did you mean `{near}`? (a custom plugin must be installed on the gateway)"
                    ),
                    None => format!("plugin {name:?} is not bundled with Kong; the gateway must have it installed"),
                };
                out.push(Diagnostic::warning(c.origin.clone(), msg));
            }
            continue;
        }
        let Some(schema) = schema_for(schemas, c.kind, &c.body) else { continue };
        if let Err(v) = schema.validate(&c.body, &ValidationContext::default()) {
            out.push(Diagnostic::error(c.origin.clone(), format!("{}: {}", c.label, v.message())).about(c.label));
        }
    }
    out
}

/// Every entity posted to the gateway's validation endpoint; an error per refusal, with the
/// gateway's message.
pub async fn online(client: &Client, schemas: &Schemas, desired: &Desired) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in candidates(desired, schemas) {
        let path = match c.kind {
            KongKind::Plugin => "/schemas/plugins/validate".to_owned(),
            k => format!("/schemas/{}/validate", k.table()),
        };
        let mut body = c.body.clone();
        body.insert("id".into(), Value::String(PLACEHOLDER_ID.into()));
        if let Err(e) = client.send(Method::POST, &path, Some(&Value::Object(body))).await {
            out.push(Diagnostic::error(c.origin.clone(), format!("{}: the gateway refused it: {e}", c.label)));
        }
    }
    out
}
