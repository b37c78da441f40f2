//! `/oauth2_tokens` (`kong/plugins/oauth2/daos.lua`, `oauth2_tokens`): the tokens the oauth2
//! plugin issues, also writable through the Admin API. They are no kind gateform manages, so
//! they live in their own table beside the store: in memory only (not in `--data`, not in
//! DB-less `/config`), their `credential` and `service` cascading lazily (a token whose
//! credential or service is gone is invisible), with Kong's `ttl` option (§1.4).

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::entity::{now_f64, now_secs, random_secret};
use super::error::{ApiError, ApiResult, lua_pretty};
use super::ops::{Ctx, Resp};
use super::page::{decode_offset, encode_offset, escape, parse_size};
use super::store::{Row, Store, fk_id};
use crate::kong::KongKind;
use crate::kong::schema::{Schema, ValidationContext, is_uuid};

/// The token table: id → row.
pub type Tokens = Mutex<BTreeMap<String, Row>>;

/// The `oauth2_tokens` schema, as Kong's `daos.lua` declares it (with a `ttl` field for form
/// coercion).
pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let json = json!({"fields": [
            {"id": {"type": "string", "uuid": true, "auto": true}},
            {"created_at": {"type": "integer", "timestamp": true, "auto": true}},
            {"service": {"type": "foreign", "reference": "services", "default": null}},
            {"credential": {"type": "foreign", "reference": "oauth2_credentials", "required": true}},
            {"token_type": {"type": "string", "required": true, "one_of": ["bearer"], "default": "bearer"}},
            {"expires_in": {"type": "integer", "required": true}},
            {"access_token": {"type": "string", "auto": true}},
            {"refresh_token": {"type": "string"}},
            {"authenticated_userid": {"type": "string"}},
            {"scope": {"type": "string"}},
        ], "entity_checks": []});
        Schema::from_json("oauth2_tokens", &json).unwrap_or_else(|_| Schema {
            name: "oauth2_tokens".into(),
            fields: Vec::new(),
            entity_checks: Vec::new(),
        })
    })
}

/// Whether the token is visible: not expired, its credential and service still there.
fn visible(store: &Store, row: &Row, now: i64) -> bool {
    !row.expired(now)
        && row.fk("credential").is_some_and(|c| store.get(KongKind::Oauth2Credential, c).is_some())
        && row.fk("service").is_none_or(|s| store.get(KongKind::Service, s).is_some())
}

fn render(row: &Row) -> Value {
    let mut d = row.data.clone();
    let remaining = |e: i64| ((e as f64 - now_f64()).floor() as i64).max(0);
    d.insert("ttl".into(), row.expires.map_or(Value::Null, |e| json!(remaining(e))));
    Value::Object(d)
}

/// Resolves `{"id"}` or a unique key (`client_id`, service `name`) of a foreign record.
fn resolve(store: &Store, input: &mut Map<String, Value>, field: &str, kind: KongKind, key: &str) {
    if let Some(Value::Object(o)) = input.get(field)
        && !o.contains_key("id")
        && let Some(Value::String(v)) = o.get(key)
        && let Some(r) = store.find_by(kind, key, v)
    {
        let id = r.id().to_owned();
        input.insert(field.into(), json!({ "id": id }));
    }
}

fn find<'a>(tokens: &'a BTreeMap<String, Row>, key: &str) -> Option<&'a Row> {
    if is_uuid(key) {
        return tokens.get(&key.to_ascii_lowercase());
    }
    tokens.values().find(|r| r.data.get("access_token").and_then(Value::as_str) == Some(key))
}

/// The write pipeline of one token: `ttl`, foreign keys, defaults, validation, foreign-key
/// existence and uniqueness (`access_token`, `refresh_token`: 409 as Kong's cache key).
fn prepare(
    store: &Store,
    tokens: &BTreeMap<String, Row>,
    mut input: Map<String, Value>,
    existing: Option<&Row>,
    id: String,
) -> ApiResult<Row> {
    let ttl = super::entity::take_ttl(&mut input)?;
    input.remove("id");
    resolve(store, &mut input, "credential", KongKind::Oauth2Credential, "client_id");
    resolve(store, &mut input, "service", KongKind::Service, "name");
    let s = schema();
    let mut data = match existing {
        Some(e) => {
            let mut d = e.data.clone();
            d.extend(input);
            d
        }
        None => {
            let mut d = input;
            s.fill_defaults(&mut d);
            d.insert("id".into(), json!(id));
            d.entry("created_at").or_insert_with(|| json!(now_secs()));
            if d.get("access_token").is_none_or(Value::is_null) {
                d.insert("access_token".into(), json!(random_secret()));
            }
            d
        }
    };
    let ctx = ValidationContext { updating: existing.is_some() };
    s.validate(&data, &ctx).map_err(|v| ApiError::schema(&v))?;
    for (field, kind) in [("credential", KongKind::Oauth2Credential), ("service", KongKind::Service)] {
        if let Some(pid) = fk_id(&data, field)
            && store.get(kind, pid).is_none()
        {
            let mut fields = Map::new();
            fields.insert(field.into(), json!({"id": pid}));
            return Err(ApiError::dao(
                StatusCode::BAD_REQUEST,
                4,
                "foreign key violation",
                format!("the foreign key '{{id=\"{pid}\"}}' does not reference an existing '{}' entity.", kind.table()),
                Some(Value::Object(fields)),
            ));
        }
    }
    for field in ["access_token", "refresh_token"] {
        let Some(v) = data.get(field).filter(|v| v.is_string()) else { continue };
        if tokens.values().any(|r| r.id() != id && r.data.get(field) == Some(v)) {
            let mut f = Map::new();
            f.insert(field.into(), v.clone());
            let value = Value::Object(f);
            return Err(ApiError::dao(
                StatusCode::CONFLICT,
                5,
                "unique constraint violation",
                format!("UNIQUE violation detected on '{}'", lua_pretty(&value)),
                Some(value),
            ));
        }
    }
    let created = data.get("created_at").and_then(Value::as_f64);
    let expires = super::entity::expiry(ttl, existing.map(|e| e.expires), created, now_f64());
    data.retain(|k, _| s.field(k).is_some());
    Ok(Row { data, expires })
}

/// `GET|POST /oauth2_tokens`, `/oauth2/{c}/oauth2_tokens` and `GET|PUT|PATCH|DELETE` of one
/// token by id or `access_token`. `credential` = the parent credential's id on nested paths.
pub fn handle(
    ctx: &Ctx<'_>,
    method: &str,
    credential: Option<&str>,
    key: Option<&str>,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let mut tokens = ctx.inner.tokens.lock().map_err(|_| ApiError::internal())?;
    let now = now_secs();
    let in_scope = |r: &Row| visible(&store, r, now) && credential.is_none_or(|c| r.fk("credential") == Some(c));
    let mut input = input.unwrap_or_default();
    if let Some(c) = credential
        && (method == "POST" || !input.contains_key("credential"))
    {
        input.insert("credential".into(), json!({ "id": c }));
    }
    let Some(key) = key else {
        if method == "POST" {
            let row = prepare(&store, &tokens, input, None, uuid::Uuid::new_v4().to_string())?;
            let body = render(&row);
            tokens.insert(row.id().to_owned(), row);
            return Ok((StatusCode::CREATED, Some(body)));
        }
        return list(ctx, &tokens, &in_scope);
    };
    let found = find(&tokens, key).filter(|r| in_scope(r)).cloned();
    match (method, found) {
        ("GET", Some(r)) => Ok((StatusCode::OK, Some(render(&r)))),
        ("DELETE", Some(r)) => {
            tokens.remove(r.id());
            Ok((StatusCode::NO_CONTENT, None))
        }
        ("DELETE", None) if credential.is_none() => Ok((StatusCode::NO_CONTENT, None)),
        ("PATCH", Some(r)) => {
            let row = prepare(&store, &tokens, input, Some(&r), r.id().to_owned())?;
            let body = render(&row);
            tokens.insert(row.id().to_owned(), row);
            Ok((StatusCode::OK, Some(body)))
        }
        ("PUT", found) => {
            let id = match (&found, is_uuid(key)) {
                (Some(r), _) => r.id().to_owned(),
                (None, true) => key.to_ascii_lowercase(),
                (None, false) => {
                    input.insert("access_token".into(), json!(key));
                    uuid::Uuid::new_v4().to_string()
                }
            };
            let row = prepare(&store, &tokens, input, None, id)?;
            let body = render(&row);
            tokens.insert(row.id().to_owned(), row);
            Ok((StatusCode::OK, Some(body)))
        }
        ("PATCH", None) if credential.is_none() && is_uuid(key) => Err(ApiError::not_found_pk(key)),
        ("PATCH", None) if credential.is_none() => Err(ApiError::not_found_key("access_token", key)),
        _ => Err(ApiError::not_found()),
    }
}

fn list(ctx: &Ctx<'_>, tokens: &BTreeMap<String, Row>, in_scope: &dyn Fn(&Row) -> bool) -> ApiResult<Resp> {
    let size = parse_size(ctx.query.get("size").map(String::as_str))?;
    let after = ctx.query.get("offset").map(|o| decode_offset(o)).transpose()?;
    let rows: Vec<&Row> = tokens
        .values()
        .filter(|r| after.as_deref().is_none_or(|a| r.id() > a))
        .filter(|r| in_scope(r))
        .take(size + 1)
        .collect();
    let more = rows.len() > size;
    let page: Vec<&Row> = rows.into_iter().take(size).collect();
    let mut body = json!({"data": page.iter().map(|r| render(r)).collect::<Vec<_>>(), "next": null});
    if more && let Some(last) = page.last() {
        let token = encode_offset(last.id());
        body["next"] = json!(format!("{}?offset={}", ctx.path, escape(&token)));
        body["offset"] = json!(token);
    }
    Ok((StatusCode::OK, Some(body)))
}
