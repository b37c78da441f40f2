//! The write pipeline of one entity, in Kong's order (`kong-admin-api.md` §1.7): shorthand
//! expansion → foreign-key resolution → defaults and auto fields → field validation → entity
//! checks → database checks (foreign-key existence, uniqueness). Plus the read side: how a
//! stored row is rendered (nulls on, `ttl`, certificate `snis`, shorthand echo).

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

use super::certs;
use super::error::{ApiError, ApiResult};
use super::input::{couple_upstream, expand_url, resolve_foreign_keys};
use super::store::{Row, Store, fk_id};
use crate::kong::schema::{
    Schema, SchemaViolation, Schemas, ValidationContext, custom, echo_shorthands, expand_shorthands, merge_update,
    normalize_sets,
};
use crate::kong::{KongKind, normalize_target};

/// What the pipeline needs besides the store: the schemas and the node's plugin set.
#[derive(Debug)]
pub struct Env {
    /// Bundled schemas.
    pub schemas: &'static Schemas,
    /// Plugins declared with `--custom-plugin`.
    pub custom_plugins: BTreeSet<String>,
    /// DB-less mode.
    pub db_less: bool,
    /// Enterprise kinds and fields served ([`super::SandboxOptions::enterprise`]).
    pub enterprise: bool,
}

/// How the row is written.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// POST.
    Insert,
    /// PUT: full replacement keeping `id` (the existing row, if any).
    Upsert {
        /// The id the row gets (or keeps).
        id: &'a str,
        /// The row being replaced, if any.
        existing: Option<&'a Row>,
    },
    /// PATCH: merge into the existing row.
    Update {
        /// The row being updated.
        existing: &'a Row,
    },
}

/// A validated row ready to store, plus the certificate `snis` pseudo-field (§2.6).
#[derive(Debug)]
pub struct Prepared {
    /// The row.
    pub row: Row,
    /// `Some(names)` when the body carried `snis` (certificates only).
    pub snis: Option<Vec<String>>,
}

/// Current time in Unix seconds (float, ms precision).
pub fn now_f64() -> f64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

/// Current time in whole Unix seconds.
pub fn now_secs() -> i64 {
    now_f64() as i64
}

/// A random 32-character alphanumeric secret (§1.3).
pub fn random_secret() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

fn custom_plugin_schema(schemas: &Schemas) -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        schemas.entity("plugins").cloned().unwrap_or_else(|| Schema {
            name: "plugins".into(),
            fields: Vec::new(),
            entity_checks: Vec::new(),
        })
    })
}

fn vault_schema(schemas: &Schemas) -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let mut json = schemas.entity_json("vaults").cloned().unwrap_or(json!({"fields": []}));
        if let Some(fields) = json.get_mut("fields").and_then(Value::as_array_mut) {
            for f in fields.iter_mut() {
                if f.get("config").is_some() {
                    *f = json!({"config": {"type": "record", "required": true, "fields": [
                        {"prefix": {"type": "string", "match": "^[%a_-][%a%d_-]*$"}}
                    ]}});
                }
            }
        }
        Schema::from_json("vaults", &json).unwrap_or_else(|_| Schema {
            name: "vaults".into(),
            fields: Vec::new(),
            entity_checks: Vec::new(),
        })
    })
}

/// Validates a path segment that addresses an entity by its endpoint key, as Kong's DAO
/// does before `select_by_<key>` / `upsert_by_<key>` (`kong/db/dao/init.lua`,
/// `validate_unique_row_method`): an invalid value is 400 code 10 `invalid unique <key>`
/// whose message is the field's error (`PUT /vaults/env` → "must not be one of: env").
pub fn check_endpoint_key(kind: KongKind, field: &str, key: &str) -> ApiResult<()> {
    let schemas = Schemas::bundled();
    let schema = match kind {
        KongKind::Vault => vault_schema(schemas),
        KongKind::Target => return Ok(()),
        _ => match schemas.entity(kind.table()) {
            Some(s) => s,
            None => return Ok(()),
        },
    };
    let Some(f) = schema.field(field) else { return Ok(()) };
    let ctx = ValidationContext::default();
    match crate::kong::schema::validate_value(&schema.name, field, f, &Value::String(key.to_owned()), &ctx) {
        Ok(()) => Ok(()),
        Err(e) => Err(ApiError::dao(
            StatusCode::BAD_REQUEST,
            10,
            &format!("invalid unique {field}"),
            match e {
                crate::kong::schema::FieldError::Msg(m) => m,
                other => other.to_json().to_string(),
            },
            None,
        )),
    }
}

impl Env {
    /// Whether plugin `name` is available (bundled or custom).
    pub fn plugin_enabled(&self, name: &str) -> bool {
        self.schemas.plugin(name).is_some() || self.custom_plugins.contains(name)
    }

    /// The schema that validates an entity of `kind` whose data is `data` (a plugin's merged
    /// schema is chosen by its `name`).
    pub fn schema(&self, kind: KongKind, data: &Map<String, Value>) -> ApiResult<&'static Schema> {
        match kind {
            KongKind::Plugin => {
                let name = match data.get("name") {
                    None | Some(Value::Null) => {
                        return Err(ApiError::schema_field("name", "required field missing"));
                    }
                    Some(Value::String(s)) => s.as_str(),
                    Some(_) => return Err(ApiError::schema_field("name", "expected a string")),
                };
                if let Some(s) = self.schemas.plugin(name) {
                    Ok(s)
                } else if self.custom_plugins.contains(name) {
                    Ok(custom_plugin_schema(self.schemas))
                } else {
                    Err(ApiError::schema_field(
                        "name",
                        format!("plugin '{name}' not enabled; add it to the 'plugins' configuration property"),
                    ))
                }
            }
            KongKind::Vault => Ok(vault_schema(self.schemas)),
            _ => self.schemas.entity(kind.table()).ok_or_else(ApiError::internal),
        }
    }
}

/// The `ttl` option of an entity with `ttl = true` (§1.4): seconds 0..=1e8, taken out of
/// the body; else 400 code 11.
pub fn take_ttl(input: &mut Map<String, Value>) -> ApiResult<Option<i64>> {
    match input.remove("ttl") {
        None | Some(Value::Null) => Ok(None),
        Some(t) => match t.as_f64() {
            Some(n) if n.fract() == 0.0 && (0.0..=1e8).contains(&n) => Ok(Some(n as i64)),
            _ => Err(ApiError::invalid_option("ttl", "must be an integer between 0 and 100000000")),
        },
    }
}

/// The certificate `snis` pseudo-field (§2.6), taken out of the body: the names, `None`
/// when absent (or null on insert), an empty list for null on PUT/PATCH.
fn take_snis(input: &mut Map<String, Value>, mode: Mode<'_>) -> ApiResult<Option<Vec<String>>> {
    Ok(match input.remove("snis") {
        None => None,
        // `{"snis": null}` on PUT/PATCH clears them.
        Some(Value::Null) => (!matches!(mode, Mode::Insert)).then(Vec::new),
        Some(Value::Array(a)) => {
            let mut names = Vec::new();
            let mut errs = std::collections::BTreeMap::new();
            for (i, v) in a.iter().enumerate() {
                match v.as_str() {
                    Some(s) => match custom::check_wildcard_host(s) {
                        Some(e) => {
                            errs.insert(i, crate::kong::schema::FieldError::Msg(e));
                        }
                        None => names.push(s.to_owned()),
                    },
                    None => {
                        errs.insert(i, crate::kong::schema::FieldError::Msg("expected a string".into()));
                    }
                }
            }
            if !errs.is_empty() {
                let mut v = SchemaViolation::default();
                v.tree.set("snis", crate::kong::schema::FieldError::Items(errs));
                return Err(ApiError::schema(&v));
            }
            Some(names)
        }
        Some(_) => return Err(ApiError::schema_field("snis", "expected an array")),
    })
}

/// Runs the write pipeline for one entity (everything but the database checks, see
/// [`super::db_checks::check_db`]). `scope` = the foreign key set by a nested path (`/services/{s}/routes`).
pub fn prepare(
    env: &Env,
    store: &Store,
    kind: KongKind,
    mode: Mode<'_>,
    mut input: Map<String, Value>,
    scope: Option<(&str, &str)>,
) -> ApiResult<Prepared> {
    // A nested path fills the foreign key unless an update's body sets it (Kong's
    // `patch_entity_endpoint`: `{"service": null}` on `/services/{s}/plugins/{p}` unlinks).
    if let Some((field, pid)) = scope
        && (matches!(mode, Mode::Insert) || !input.contains_key(field))
    {
        input.insert(field.into(), json!({ "id": pid }));
    }
    // Kong OSS has no plugin `consumer_group` (§2.4, §8): an unknown field there.
    let oss_consumer_group = kind == KongKind::Plugin && !env.enterprise && input.remove("consumer_group").is_some();
    let now = now_f64();
    let ttl = if kind == KongKind::KeyauthCredential { take_ttl(&mut input)? } else { None };
    let existing = match mode {
        Mode::Update { existing } => Some(existing),
        Mode::Upsert { existing, .. } => existing,
        Mode::Insert => None,
    };
    match kind {
        KongKind::Service => expand_url(&mut input)?,
        KongKind::Upstream => couple_upstream(&mut input, existing),
        _ => {}
    }
    let snis = if kind == KongKind::Certificate { take_snis(&mut input, mode)? } else { None };
    let fk_violation = resolve_foreign_keys(store, kind, &mut input)?;

    let updating = matches!(mode, Mode::Update { .. });
    let schema_probe = match (mode, kind) {
        (Mode::Update { existing }, KongKind::Plugin) if !input.contains_key("name") => existing.data.clone(),
        _ => input.clone(),
    };
    let schema = env.schema(kind, &schema_probe)?;
    expand_shorthands(&schema.fields, &mut input);

    let transform_errors = match mode {
        Mode::Update { existing } => super::credentials::update_errors(kind, &input, &existing.data),
        _ => Vec::new(),
    };
    let hash_secret_written = !updating || input.contains_key("hash_secret");
    let mut data = match mode {
        Mode::Update { existing } => updated(schema, kind, existing, input),
        Mode::Insert | Mode::Upsert { .. } => inserted(env, schema, kind, mode, input, now),
    };
    server_owned(env, schema, kind, &mut data, now);

    let ctx = ValidationContext { updating };
    let mut violation = match schema.validate(&data, &ctx) {
        Ok(()) => SchemaViolation::default(),
        Err(v) => v,
    };
    violation.tree.entity.extend(transform_errors);
    for (f, e) in fk_violation.tree.fields {
        violation.tree.set(&f, e);
    }
    if oss_consumer_group {
        violation.tree.set("consumer_group", crate::kong::schema::FieldError::Msg("unknown field".into()));
    }
    kind_checks(kind, &mut data, &mut violation)?;
    if !violation.tree.is_empty() {
        return Err(ApiError::schema(&violation));
    }
    if kind == KongKind::Oauth2Credential && hash_secret_written {
        super::credentials::hash_client_secret(&mut data);
    }
    let update_of = match mode {
        Mode::Update { existing } => Some(existing.expires),
        _ => None,
    };
    let expires = expiry(ttl, update_of, data.get("created_at").and_then(Value::as_f64), now);
    Ok(Prepared { row: Row { data, expires }, snis })
}

/// A PATCH: `input` merged into the stored row; a written basic-auth password is hashed.
fn updated(schema: &Schema, kind: KongKind, existing: &Row, input: Map<String, Value>) -> Map<String, Value> {
    let mut d = existing.data.clone();
    let password_written = input.contains_key("password");
    merge_update(&schema.fields, &mut d, input);
    if kind == KongKind::BasicauthCredential && password_written {
        hash_password(&mut d);
    }
    d
}

/// A POST or PUT: `input` with Kong's defaults filled, the values Kong generates (id,
/// timestamps) and a basic-auth password hashed.
fn inserted(
    env: &Env,
    schema: &Schema,
    kind: KongKind,
    mode: Mode<'_>,
    input: Map<String, Value>,
    now: f64,
) -> Map<String, Value> {
    let mut d = input;
    if let Mode::Upsert { id, .. } = mode {
        d.insert("id".into(), json!(id));
    }
    if kind == KongKind::Route && !d.contains_key("strip_path") {
        let grpc = d
            .get("protocols")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .is_some_and(|p| p.starts_with("grpc"));
        if grpc {
            d.insert("strip_path".into(), json!(false));
        }
    }
    if kind == KongKind::Plugin
        && matches!(d.get("config"), None | Some(Value::Null))
        && env.schemas.plugin(d.get("name").and_then(Value::as_str).unwrap_or("")).is_none()
    {
        d.insert("config".into(), json!({}));
    }
    schema.fill_defaults(&mut d);
    fill_auto(kind, schema, &mut d, now);
    if kind == KongKind::BasicauthCredential {
        hash_password(&mut d);
    }
    d
}

/// The fields the server owns on every write: `updated_at`, sets kept as sets, a target's
/// normal form, a CA certificate's digest (and OSS plugins have no `consumer_group`).
fn server_owned(env: &Env, schema: &Schema, kind: KongKind, data: &mut Map<String, Value>, now: f64) {
    if kind.has_updated_at() && schema.field("updated_at").is_some() {
        data.insert("updated_at".into(), timestamp(kind, now));
    }
    normalize_sets(&schema.fields, data);
    if kind == KongKind::Plugin && !env.enterprise {
        data.remove("consumer_group");
    }
    if kind == KongKind::Target
        && let Some(Value::String(t)) = data.get("target")
        && custom::check_field("targets", "target", &json!(t)).is_none()
    {
        let n = normalize_target(t);
        data.insert("target".into(), json!(n));
    }
    if kind == KongKind::CaCertificate {
        data.insert("cert_digest".into(), Value::Null);
    }
}

/// The absolute expiry of a row written with `ttl` (§1.4): from `created_at` on insert and
/// upsert, from now on update (`update_of` = the stored expiry); `ttl: 0` = none.
pub fn expiry(ttl: Option<i64>, update_of: Option<Option<i64>>, created_at: Option<f64>, now: f64) -> Option<i64> {
    match (ttl, update_of) {
        (Some(0), _) => None,
        (Some(t), Some(_)) => Some(now as i64 + t),
        (Some(t), None) => Some(created_at.unwrap_or(now) as i64 + t),
        (None, Some(stored)) => stored,
        (None, None) => None,
    }
}

/// The checks of one kind that the schema JSON cannot express: route subschemas, installed
/// vaults (an unknown one is the only error reported), certificates, jwt keys and JWKs.
fn kind_checks(kind: KongKind, data: &mut Map<String, Value>, violation: &mut SchemaViolation) -> ApiResult<()> {
    if kind == KongKind::Route && !violation.tree.fields.contains_key("protocols") {
        for (f, m) in custom::route_subschema_errors(data) {
            violation.tree.set(&f, crate::kong::schema::FieldError::Msg(m));
        }
    }
    if kind == KongKind::Vault
        && let Some(name) = data.get("name").and_then(Value::as_str)
        && name != "env"
    {
        let mut v = SchemaViolation::default();
        v.tree.set("name", crate::kong::schema::FieldError::Msg(format!("vault '{name}' is not installed")));
        return Err(ApiError::schema(&v));
    }
    if violation.tree.fields.is_empty() {
        certs::check_entity(kind, data, violation);
        if kind == KongKind::JwtSecret {
            super::credentials::check_jwt(data, violation);
        }
        if kind == KongKind::Key {
            check_key(data, violation);
        }
    }
    Ok(())
}

fn timestamp(kind: KongKind, now: f64) -> Value {
    if kind == KongKind::Target { json!(now) } else { json!(now as i64) }
}

fn fill_auto(kind: KongKind, schema: &Schema, d: &mut Map<String, Value>, now: f64) {
    for (name, field) in &schema.fields {
        if !field.auto || d.get(name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let v = match name.as_str() {
            "id" => json!(uuid::Uuid::new_v4().to_string()),
            "created_at" | "updated_at" => timestamp(kind, now),
            _ => json!(random_secret()),
        };
        d.insert(name.clone(), v);
    }
    if let Some(Value::String(id)) = d.get_mut("id") {
        *id = id.to_ascii_lowercase();
    }
}

/// basic-auth: `password` becomes hex SHA-1 of `password .. consumer_id` (§2.10).
fn hash_password(d: &mut Map<String, Value>) {
    let consumer = fk_id(d, "consumer").unwrap_or("").to_owned();
    if let Some(Value::String(p)) = d.get("password") {
        let digest = Sha1::digest(format!("{p}{consumer}").as_bytes());
        d.insert("password".into(), json!(hex::encode(digest)));
    }
}

fn check_key(d: &Map<String, Value>, v: &mut SchemaViolation) {
    let kid = d.get("kid").and_then(Value::as_str).unwrap_or("");
    if let Some(jwk) = d.get("jwk").and_then(Value::as_str) {
        if jwk.starts_with("{vault://") {
            return;
        }
        match serde_json::from_str::<Value>(jwk) {
            Ok(j) if j.get("kid").and_then(Value::as_str) == Some(kid) => {
                if let Some(e) = super::credentials::jwk_error(&j) {
                    v.tree.entity.push(e);
                }
            }
            Ok(_) => v.tree.entity.push("kid in jwk.kid must be equal to keys.kid".into()),
            Err(_) => {
                v.tree.set("jwk", crate::kong::schema::FieldError::Msg("could not json decode jwk string".into()))
            }
        }
    }
}

/// The row as the Admin API shows it (§1.2): every field, `ttl` for key-auth, sorted `snis`
/// for certificates, shorthand echo for plugins.
pub fn render(env: &Env, store: &Store, kind: KongKind, row: &Row, now: i64) -> Value {
    let mut d = row.data.clone();
    match kind {
        KongKind::KeyauthCredential => {
            // Remaining seconds, floored as Postgres' `floor(ttl - now)` gives them: a fresh
            // credential with `ttl: 10` shows 9 (go-kong's `TestKeyAuthCreateWithTTL`).
            let _ = now;
            let remaining = |e: i64| ((e as f64 - now_f64()).floor() as i64).max(0);
            d.insert("ttl".into(), row.expires.map_or(Value::Null, |e| json!(remaining(e))));
        }
        KongKind::Certificate => {
            d.insert("snis".into(), json!(sni_names(store, row.id())));
        }
        KongKind::Plugin => {
            if let Ok(schema) = env.schema(kind, &d) {
                echo_shorthands(&schema.fields, &mut d);
            }
            if !env.enterprise {
                d.remove("consumer_group");
            }
        }
        _ => {}
    }
    Value::Object(d)
}

/// The SNI names of a certificate, sorted.
pub fn sni_names(store: &Store, cert_id: &str) -> Vec<String> {
    let mut names: Vec<String> = store
        .children_of_kind(KongKind::Certificate, cert_id, KongKind::Sni)
        .filter_map(|id| store.get(KongKind::Sni, id))
        .filter_map(|r| r.data.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// An `Arc` row from prepared data.
pub fn arc(row: Row) -> Arc<Row> {
    Arc::new(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_32_alphanumerics() {
        let s = random_secret();
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
