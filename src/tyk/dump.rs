//! `dump` for Tyk: the live objects written as a tyk-sync layout ([`crate::tyk::files::write`]:
//! `.tyk.json`, `api-<id>.json`, `oas-<id>.json`, `policy-<id>.json`, `SECRETS.md`), each
//! as a configuration would say it: gateform's marker left out, the fields the gateway
//! fills in by itself left out, the `servers` the gateway generates left out, secret
//! references as they were written, and secret values as `${{ env }}` placeholders unless
//! asked for. Certificates are not dumped: the gateway gives their metadata, never their
//! PEM.

use serde_json::{Map, Value};

use super::compare::{self, EXTENSION};
use super::files::write::{DumpOptions as WriteOptions, Entry, dump as write};
use super::kind::{TykKind, tyk};
use super::marker;
use crate::gateway::{DumpOptions, DumpOutput};
use crate::model::State;

/// The body a dump writes for a live object.
pub fn dumped_body(kind: TykKind, fields: &Map<String, Value>) -> Map<String, Value> {
    let mut body = fields.clone();
    marker::remove(kind, &mut body);
    match kind {
        TykKind::OasApi => {
            // The servers the gateway generated are not the configuration's.
            let generated = compare::comparable(kind, &body);
            match (generated.get("servers"), body.get_mut("servers")) {
                (Some(kept), Some(servers)) => *servers = kept.clone(),
                (None, Some(_)) => {
                    body.remove("servers");
                }
                _ => {}
            }
            if let Some(Value::Object(info)) = body.get_mut(EXTENSION).and_then(|e| e.get_mut("info")) {
                info.remove("dbId");
            }
            body
        }
        _ => compare::compact(kind, &body),
    }
}

/// Writes `state` as a tyk-sync layout.
pub fn dump(mut state: State, opts: &DumpOptions) -> DumpOutput {
    state.entities.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    let mut bodies = Vec::new();
    let mut certificates = 0;
    for e in &state.entities {
        let k = tyk(e.kind);
        if k == TykKind::Certificate {
            certificates += 1;
            continue;
        }
        let Some(id) = e.id.clone() else { continue };
        bodies.push((k, id, Value::Object(dumped_body(k, &e.fields))));
    }
    let entries = bodies.iter().map(|(k, id, body)| Entry { kind: k.doc(), id, body });
    let out = write(entries, WriteOptions { include_secrets: opts.include_secrets });
    let mut notes = Vec::new();
    if !out.placeholders.is_empty() {
        notes.push(format!(
            "Sensitive values are written as ${{{{ env `DECK_TYK_...` }}}} placeholders; {} lists the {} variables to set \
             before planning or applying the dump.",
            super::files::write::SECRETS_NOTE,
            out.placeholders.len()
        ));
    }
    if certificates > 0 {
        notes.push(format!(
            "{certificates} certificate(s) not dumped: the gateway gives their metadata, never their PEM."
        ));
    }
    DumpOutput { files: out.files.into_iter().collect(), notes }
}
