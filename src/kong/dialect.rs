//! Kong as a [`Dialect`]: its kinds, natural keys, labels, normalisation with Kong's
//! schemas, secret fields, requests and the decK file format, all over one set of schemas
//! (the bundled Kong 3.9 ones, or those a live gateway served).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::KongKind;
use super::plugins::PluginNames;
use super::schema::{Field, FieldType, Schema, Schemas};
use super::{deck, key, label, normalize, secrets, steps};
use crate::gateway::{Dialect, DumpOptions, DumpOutput, FieldShape, Request, Write};
use crate::model::{Entity, Kind, State};
use crate::source::Desired;
use crate::source::{Diagnostic, Diagnostics, Input};

/// The Kong dialect over one set of schemas.
#[derive(Debug, Clone)]
pub struct KongDialect {
    schemas: Arc<Schemas>,
    plugins: Arc<PluginNames>,
}

impl KongDialect {
    /// The dialect over these schemas.
    pub fn new(schemas: Schemas) -> Self {
        KongDialect { schemas: Arc::new(schemas), plugins: Arc::default() }
    }

    /// The dialect accepting only these plugin names ([`PluginNames::refusal`]).
    pub fn with_plugins(mut self, plugins: PluginNames) -> Self {
        self.plugins = Arc::new(plugins);
        self
    }

    /// The dialect over the bundled Kong 3.9.3 schemas.
    pub fn bundled() -> Self {
        static BUNDLED: std::sync::OnceLock<KongDialect> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(|| KongDialect::new(Schemas::bundled().clone())).clone()
    }

    /// The schemas.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    fn schema(&self, kind: Kind, body: &Map<String, Value>) -> Option<&Schema> {
        normalize::schema_for(&self.schemas, kong(kind), body)
    }
}

/// The Kong kind behind a core handle. Only Kong's kinds reach this dialect; another
/// dialect's kind is a programming error, read as a plugin-less `services` for safety.
fn kong(kind: Kind) -> KongKind {
    KongKind::of(kind).unwrap_or(KongKind::Service)
}

impl FieldShape for Schema {
    fn child(&self, name: &str) -> Option<&dyn FieldShape> {
        self.field(name).map(|f| f as &dyn FieldShape)
    }
    fn lists_fields(&self) -> bool {
        true
    }
    fn is_record(&self) -> bool {
        true
    }
    fn generated(&self) -> bool {
        false
    }
}

impl FieldShape for Field {
    fn child(&self, name: &str) -> Option<&dyn FieldShape> {
        self.field(name).map(|f| f as &dyn FieldShape)
    }
    fn lists_fields(&self) -> bool {
        self.fields.is_some()
    }
    fn is_record(&self) -> bool {
        self.ty == FieldType::Record
    }
    fn generated(&self) -> bool {
        self.auto
    }
}

impl Dialect for KongDialect {
    fn name(&self) -> &'static str {
        super::kind::DIALECT
    }

    fn product(&self) -> &'static str {
        "Kong"
    }

    fn kinds(&self) -> &'static [Kind] {
        KongKind::all_kinds()
    }

    fn natural_key(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        parent: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        key::natural_key(kong(kind), fields, parent)
    }

    fn secret_key(&self, kind: Kind) -> bool {
        kind == KongKind::KeyauthCredential
    }

    fn secondary_key(&self, kind: Kind, fields: &Map<String, Value>) -> Option<String> {
        // A consumer is also known by its `custom_id` (decK matches either).
        let custom = fields.get("custom_id").and_then(Value::as_str)?;
        (kind == KongKind::Consumer).then(|| format!("custom_id:{custom}"))
    }

    fn derived_id(&self, kind: Kind, parents: &BTreeMap<&'static str, String>) -> Option<String> {
        let of = |f: &str| parents.get(f).map(String::as_str).unwrap_or_default();
        (kind == KongKind::ConsumerGroupConsumer).then(|| key::membership_id(of("consumer_group"), of("consumer")))
    }

    fn short_name(&self, kind: Kind, id: &str, fields: &Map<String, Value>) -> String {
        label::short_name(kong(kind), id, fields)
    }

    fn label(&self, kind: Kind, name: String, scope: &[(&'static str, String)]) -> String {
        label::label(kong(kind), name, scope)
    }

    fn desired_body(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        parents: &BTreeMap<&'static str, String>,
    ) -> Map<String, Value> {
        normalize::desired_body(&self.schemas, kong(kind), fields, parents)
    }

    fn live_body(&self, entity: &Entity) -> Map<String, Value> {
        normalize::live_body(entity)
    }

    fn comparable(&self, kind: Kind, body: &Map<String, Value>) -> Map<String, Value> {
        normalize::comparable(&self.schemas, kong(kind), body)
    }

    fn comparable_owned(&self, kind: Kind, body: Map<String, Value>) -> Map<String, Value> {
        normalize::comparable_owned(&self.schemas, kong(kind), body)
    }

    fn minimal(&self, kind: Kind, fields: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        if kind == KongKind::Plugin
            && let Some(name) = fields.get("name").filter(|v| v.is_string())
        {
            out.insert("name".into(), name.clone());
        }
        out
    }

    fn shape<'a>(&'a self, kind: Kind, body: &Map<String, Value>) -> Option<&'a dyn FieldShape> {
        self.schema(kind, body).map(|s| s as &dyn FieldShape)
    }

    /// A basic-auth `password` comes back as the SHA-1 of `password .. consumer_id`
    /// (`kong-admin-api.md` §2.10); an OAuth2 `client_secret` with `hash_secret` comes back
    /// hashed (`$pbkdf2-...`).
    fn equal(
        &self,
        kind: Kind,
        path: &str,
        desired: &Value,
        live: &Value,
        parents: &BTreeMap<&'static str, String>,
    ) -> bool {
        let (Value::String(d), Value::String(l)) = (desired, live) else { return false };
        match (kong(kind), path) {
            (KongKind::BasicauthCredential, "password") => {
                let consumer = parents.get("consumer").map(String::as_str).unwrap_or_default();
                hex::encode(Sha1::digest(format!("{d}{consumer}").as_bytes())) == *l
            }
            (KongKind::Oauth2Credential, "client_secret") => l.starts_with('$') && !d.starts_with('$'),
            _ => false,
        }
    }

    fn sensitivity<'a>(&'a self, kind: Kind, body: &Map<String, Value>) -> Box<dyn Fn(&str) -> bool + 'a> {
        let schema = self.schema(kind, body);
        let k = kong(kind);
        Box::new(move |path: &str| secrets::is_sensitive(k, path, schema))
    }

    /// Kong's errors name fields under `fields` with the entity's own paths
    /// (`{"fields": {"key": "..."}}`, `kong-admin-api.md` §4): their values at sensitive
    /// paths are masked, then every echo of a secret of the sent body.
    fn redact_failure(&self, kind: Kind, sent: &Value, error: &mut Value) {
        if let (Some(Value::Object(fields)), Value::Object(body)) = (error.get_mut("fields"), sent) {
            let sensitive = self.sensitivity(kind, body);
            *fields = crate::plan::mask_map(fields, "", &*sensitive);
        }
        crate::secrets::redact_echoes(self, kind, sent, error);
    }

    fn may_hold_secrets(&self, kind: Kind, body: &Map<String, Value>) -> bool {
        secrets::may_hold_secrets(kong(kind), self.schema(kind, body))
    }

    fn protected(&self, _kind: Kind, body: &Map<String, Value>) -> bool {
        // Every Kong entity that carries `tags` can carry the protection tag.
        let tags = body.get("tags").and_then(Value::as_array);
        tags.is_some_and(|t| t.iter().any(|v| v.as_str() == Some(crate::plan::guard::PROTECT_TAG)))
    }

    fn body_refs(&self, kind: Kind, body: &Map<String, Value>) -> Vec<(Kind, String)> {
        // A service's `ca_certificates` is a list of CA certificate ids (§2.1).
        match body.get("ca_certificates") {
            Some(Value::Array(ids)) if kind == KongKind::Service => {
                ids.iter().filter_map(Value::as_str).map(|id| (KongKind::CaCertificate.kind(), id.to_owned())).collect()
            }
            _ => Vec::new(),
        }
    }

    fn unique_values(&self, kind: Kind, body: &Map<String, Value>) -> Vec<(String, String)> {
        steps::unique_values(&self.schemas, kong(kind), body)
    }

    fn temporary_value(&self, kind: Kind, constraint: &str, real: &Value, id: &str) -> Option<(String, Value)> {
        steps::temporary_value(kong(kind), constraint, real, id)
    }

    /// The id and the endpoint key (`kong-admin-api.md` §3.1: a service's `name`, a
    /// consumer's `username`, ...), except for kinds addressed under their parent (targets,
    /// memberships) and endpoint keys that are secrets (a key-auth `key`).
    fn addresses(&self, kind: Kind, id: &str, body: &Map<String, Value>) -> Vec<String> {
        let k = kong(kind);
        if matches!(k, KongKind::Target | KongKind::ConsumerGroupConsumer) {
            return Vec::new();
        }
        let mut out = vec![id.to_owned()];
        let secret = secrets::is_sensitive(k, k.endpoint_key().unwrap_or_default(), self.schema(kind, body));
        if let Some(v) = k.endpoint_key().and_then(|f| body.get(f)).and_then(Value::as_str)
            && !secret
            && !v.is_empty()
        {
            out.push(v.to_owned());
        }
        out
    }

    fn request(&self, write: Write<'_>) -> Request {
        steps::request_for(kong(write.kind), write)
    }

    fn finalize_request(&self, write: Write<'_>) -> Request {
        steps::finalize_request(kong(write.kind), write)
    }

    fn own(&self, entities: &mut [Entity], select_tags: &[String]) {
        deck::read::finish::add_tags(entities, select_tags);
    }

    fn load(&self, inputs: &[Input], env: &BTreeMap<String, String>) -> Result<Desired, Diagnostics> {
        let opts =
            deck::read::LoadOptions { env: env.clone(), schemas: &self.schemas, plugins: (*self.plugins).clone() };
        let desired = deck::read::load(inputs, &opts)?;
        let refused = super::validate::certificates(&desired);
        if refused.is_empty() {
            return Ok(desired);
        }
        // Every error one run can find: the schema checks `validate` would run next too.
        let schema_errors = super::validate::offline(&self.schemas, &desired);
        Err(Diagnostics(desired.warnings.into_iter().chain(refused).chain(schema_errors).collect()))
    }

    fn validate(&self, desired: &Desired) -> Vec<Diagnostic> {
        super::validate::offline(&self.schemas, desired)
    }

    fn dump(&self, state: State, opts: &DumpOptions) -> Result<DumpOutput, String> {
        super::dump::dump(&self.schemas, state, opts)
    }
}
