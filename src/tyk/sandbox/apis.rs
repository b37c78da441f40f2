//! `/tyk/apis...`: classic and Tyk OAS API definitions (`gateway/api.go` `handleAddApi`,
//! `handleUpdateApi`, `handleDeleteAPI`, `handleGetAPI`; `tyk.md` §1.2, §1.3).
//!
//! * `GET` answers from the node's loaded set (sorted by `api_id`; Tyk's order is a Go map's);
//!   OAS APIs appear in classic form with `is_oas: true`;
//! * `POST` never checks for an existing `api_id`: it (re)writes `apps/<api_id>.json` (an
//!   upsert), generating a 32-hex id when the body has none; unknown fields are dropped and
//!   every field is written with its zero value, as Go's decode/encode does;
//! * `PUT` and `DELETE` need the API *loaded* (404 `API not found` otherwise), address the
//!   file `<api_id>.json` whatever file the API was loaded from, and `DELETE` answers 500
//!   `Delete failed` when that file is missing;
//! * on a Dashboard-managed gateway (`use_db_app_configs`) `POST` and `PUT` (and `DELETE` on
//!   the OAS route) answer 500.

use axum::http::StatusCode;
use serde_json::Value;

use super::control::ObjectKind;
use super::oas;
use super::options::classic_fields;
pub use super::reply::{API_NOT_FOUND, file_text, first_value};
use super::reply::{Ctx, Reply};
use super::store::APPS;
use crate::tyk::ids::valid_api_id;

/// Tyk's message when a Dashboard-managed gateway refuses a write.
pub const DASHBOARD_MODE: &str = "Due to enabled use_db_app_configs, please use the Dashboard API";
/// `apidef.ErrClassicAPIExpected`: a classic write aimed at an OAS API.
pub const CLASSIC_EXPECTED: &str =
    "this API endpoint only supports Tyk Classic APIs; please use the appropriate Tyk OAS API endpoint";
/// `apidef.ErrAPINotMigrated`: an OAS write aimed at a classic API.
pub const NOT_MIGRATED: &str =
    "the supplied API definition is in OAS format, please use the Tyk classic format for this API";

/// Decodes a classic definition body into its full Go form, or `Request malformed`.
pub fn decode_classic(body: &[u8]) -> Result<Value, Reply> {
    let malformed = || Reply::error(StatusCode::BAD_REQUEST, "Request malformed");
    let raw = first_value(body).ok_or_else(malformed)?;
    let mut dropped = Vec::new();
    let def = classic_fields().normalize(&raw, "", false, &mut dropped).map_err(|e| {
        tracing::warn!("Tyk sandbox: couldn't decode new API Definition object: {e}");
        malformed()
    })?;
    if !dropped.is_empty() {
        tracing::info!("Tyk sandbox: unknown API definition fields dropped: {}", dropped.join(", "));
    }
    Ok(def)
}

/// A random `api_id`: a UUID's 32 hex digits (`uuid.NewHex`).
pub fn new_api_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn write_failed() -> Reply {
    Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "file object creation failed, write error")
}

/// Writes `apps/<api_id>.json` (and `apps/<api_id>-oas.json`), unless the write is ignored.
fn write_api(ctx: &Ctx<'_>, def: &Value, oas_doc: Option<&Value>) -> Result<(), Reply> {
    let id = def.get("api_id").and_then(Value::as_str).unwrap_or("");
    if ctx.shared.ignores.take(ObjectKind::Api, id) {
        tracing::info!("Tyk sandbox: ignoring the write of API {id}");
        return Ok(());
    }
    let store = &ctx.shared.store;
    store.write(APPS, &format!("{id}.json"), &file_text(def)).map_err(|_| write_failed())?;
    if let Some(doc) = oas_doc {
        store.write(APPS, &format!("{id}-oas.json"), &file_text(doc)).map_err(|_| write_failed())?;
    }
    Ok(())
}

/// `GET /tyk/apis`.
pub fn list(ctx: &Ctx<'_>) -> Reply {
    let loaded = ctx.loaded();
    Reply::json(StatusCode::OK, Value::Array(loaded.apis.values().map(|a| a.def.clone()).collect()))
}

/// `GET /tyk/apis/{id}`.
pub fn get(ctx: &Ctx<'_>, id: &str) -> Reply {
    match ctx.loaded().apis.get(id) {
        Some(api) => Reply::json(StatusCode::OK, api.def.clone()),
        None => Reply::error(StatusCode::NOT_FOUND, API_NOT_FOUND),
    }
}

/// `POST /tyk/apis` (classic) and `POST /tyk/apis/oas` (`oas_route`).
pub fn add(ctx: &Ctx<'_>, oas_route: bool) -> Reply {
    if ctx.shared.opts.use_db_app_configs {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, DASHBOARD_MODE);
    }
    let written = if oas_route { add_oas(ctx) } else { add_classic(ctx) };
    match written {
        Ok(id) => Reply::action(&id, "added"),
        Err(r) => r,
    }
}

fn add_classic(ctx: &Ctx<'_>) -> Result<String, Reply> {
    let mut def = decode_classic(ctx.body)?;
    if def["api_id"].as_str().unwrap_or("").is_empty() {
        def["api_id"] = Value::String(new_api_id());
    }
    let id = def["api_id"].as_str().unwrap_or("").to_owned();
    if !valid_api_id(&id) {
        return Err(Reply::error(StatusCode::BAD_REQUEST, "Invalid API ID"));
    }
    if let Some(o) = def.as_object_mut() {
        o.remove("is_oas");
    }
    write_api(ctx, &def, None)?;
    Ok(id)
}

fn add_oas(ctx: &Ctx<'_>) -> Result<String, Reply> {
    let doc = oas::validate_request(ctx, None)?;
    store_oas(ctx, doc)
}

/// Stores a new Tyk OAS document (checked already): its classic extract, an `api_id` when it
/// has none, regenerated `servers`, both files.
pub(crate) fn store_oas(ctx: &Ctx<'_>, mut doc: Value) -> Result<String, Reply> {
    let mut def = oas::extract(&doc).map_err(|e| Reply::error(StatusCode::BAD_REQUEST, &e))?;
    if def["api_id"].as_str().unwrap_or("").is_empty() {
        def["api_id"] = Value::String(new_api_id());
    }
    let id = def["api_id"].as_str().unwrap_or("").to_owned();
    if !valid_api_id(&id) {
        return Err(Reply::error(StatusCode::BAD_REQUEST, "Invalid API ID"));
    }
    oas::set_id(&mut doc, &id);
    oas::regenerate_servers(ctx, &mut doc, &def, None);
    write_api(ctx, &def, Some(&doc))?;
    Ok(id)
}

/// `PUT /tyk/apis/{id}` (classic) and `PUT`/`PATCH /tyk/apis/oas/{id}` (`oas_route`; a PATCH
/// is served as a PUT of a full document).
pub fn update(ctx: &Ctx<'_>, id: &str, oas_route: bool) -> Reply {
    if ctx.shared.opts.use_db_app_configs {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, DASHBOARD_MODE);
    }
    let current = match loaded_api(ctx, id) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let is_oas = current.def.get("is_oas") == Some(&Value::Bool(true));
    let result = match (oas_route, is_oas) {
        (true, false) => Err(Reply::error(StatusCode::BAD_REQUEST, NOT_MIGRATED)),
        (false, true) => Err(Reply::error(StatusCode::BAD_REQUEST, CLASSIC_EXPECTED)),
        (false, false) => decode_classic(ctx.body).and_then(|mut def| {
            check_id_match(id, &def)?;
            if let Some(o) = def.as_object_mut() {
                o.remove("is_oas");
            }
            write_api(ctx, &def, None)
        }),
        (true, true) => {
            oas::validate_request(ctx, current.oas.as_ref().and_then(|o| o.get(oas::EXTENSION))).and_then(|mut doc| {
                let def = oas::extract(&doc).map_err(|e| Reply::error(StatusCode::BAD_REQUEST, &e))?;
                check_id_match(id, &def)?;
                oas::regenerate_servers(ctx, &mut doc, &def, Some(&current.def));
                write_api(ctx, &def, Some(&doc))
            })
        }
    };
    match result {
        Ok(()) => Reply::action(id, "modified"),
        Err(r) => r,
    }
}

/// The loaded API a `PUT` or `DELETE` addresses: 400 for an id that is no file name, 404 when
/// this node does not serve it.
fn loaded_api(ctx: &Ctx<'_>, id: &str) -> Result<std::sync::Arc<super::loader::LoadedApi>, Reply> {
    if !valid_api_id(id) {
        return Err(Reply::error(StatusCode::BAD_REQUEST, "Invalid API ID"));
    }
    ctx.loaded().apis.get(id).cloned().ok_or_else(|| Reply::error(StatusCode::NOT_FOUND, API_NOT_FOUND))
}

fn check_id_match(path_id: &str, def: &Value) -> Result<(), Reply> {
    if def.get("api_id").and_then(Value::as_str) != Some(path_id) {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            "Request APIID does not match that in Definition! For Update operations these must match.",
        ));
    }
    Ok(())
}

/// `DELETE /tyk/apis/{id}` and `DELETE /tyk/apis/oas/{id}` (`oas_route`, refused on a
/// Dashboard-managed gateway).
pub fn delete(ctx: &Ctx<'_>, id: &str, oas_route: bool) -> Reply {
    if oas_route && ctx.shared.opts.use_db_app_configs {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, DASHBOARD_MODE);
    }
    let current = match loaded_api(ctx, id) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let store = &ctx.shared.store;
    let main = format!("{id}.json");
    let companion = format!("{id}-oas.json");
    let is_oas = current.def.get("is_oas") == Some(&Value::Bool(true));
    let failed = || Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Delete failed");
    if !store.exists(APPS, &main) || (is_oas && !store.exists(APPS, &companion)) {
        tracing::warn!(
            "Tyk sandbox: delete of API {id} failed: apps/{main} does not exist (loaded from {})",
            current.file
        );
        return failed();
    }
    if ctx.shared.ignores.take(ObjectKind::Api, id) {
        return Reply::action(id, "deleted");
    }
    if store.remove(APPS, &main).is_err() || (is_oas && store.remove(APPS, &companion).is_err()) {
        return failed();
    }
    Reply::action(id, "deleted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_drops_unknown_fields_and_refuses_wrong_types() {
        let def = decode_classic(br#"{"api_id": "x", "brand_new": 1} trailing"#).unwrap();
        assert!(def.get("brand_new").is_none());
        assert_eq!(def["proxy"]["target_url"], "");
        let r = decode_classic(br#"{"use_keyless": "yes"}"#).unwrap_err();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(decode_classic(b"").is_err());
        assert!(decode_classic(b"[1]").is_err());
    }
}
