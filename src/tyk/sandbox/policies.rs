//! `/tyk/policies[/{id}]` (`gateway/api.go` `polHandler`, `handleAddOrUpdatePolicy`,
//! `handleDeletePolicy`; `tyk.md` §1.2, §1.3).
//!
//! * `GET` answers from the node's loaded set (sorted by id);
//! * `POST` and `PUT` need an `id` (or a 24-hex `_id`), check its characters, and write
//!   `<policy dir>/<id>.json` with no existence check (both are upserts); a `PUT` whose body id
//!   differs from the path is refused. The policy dir is `policies/` with
//!   [`PolicySource::File`], and the store's root (the gateway's working directory, never read)
//!   with [`PolicySource::RecordName`]; with [`PolicySource::Service`] writes get 500;
//! * `DELETE` removes `<policy dir>/<id>.json`, 500 `Delete failed` when it does not exist.

use axum::http::StatusCode;
use serde_json::Value;

use super::control::ObjectKind;
use super::options::{PolicySource, policy_fields};
use super::reply::{Ctx, Reply};
use super::reply::{file_text, first_value};
use super::store::POLICIES;
use crate::tyk::ids::{is_object_id, valid_policy_id};

/// Tyk's message when the policy source is the Dashboard.
pub const SERVICE_SOURCE: &str = "Due to enabled service policy source, please use the Dashboard API";
/// `identifier.ErrInvalidCustomPolicyId`.
pub const INVALID_ID: &str = "Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~";

/// The directory REST policy writes go to (`policy_path`, or `.` when unset).
fn write_dir(ctx: &Ctx<'_>) -> &'static str {
    match ctx.shared.opts.effective_policy_source() {
        PolicySource::RecordName => "",
        _ => POLICIES,
    }
}

/// Serves every method of `/tyk/policies` (`id` empty) and `/tyk/policies/{id}`.
pub fn handle(ctx: &Ctx<'_>, id: &str) -> Reply {
    match (ctx.method, id) {
        ("GET", "") => Reply::json(StatusCode::OK, Value::Array(ctx.loaded().policies.values().cloned().collect())),
        ("GET", id) => match ctx.loaded().policies.get(id).filter(|_| !id.is_empty()) {
            Some(p) => Reply::json(StatusCode::OK, p.clone()),
            None => Reply::error(StatusCode::NOT_FOUND, "Policy not found"),
        },
        ("POST", _) => upsert(ctx, id),
        ("PUT", "") => Reply::error(StatusCode::BAD_REQUEST, "Must specify an apiID to update"),
        ("PUT", id) => upsert(ctx, id),
        ("DELETE", "") => Reply::error(StatusCode::BAD_REQUEST, "Must specify an apiID to delete"),
        (_, id) => delete(ctx, id),
    }
}

fn upsert(ctx: &Ctx<'_>, path_id: &str) -> Reply {
    if ctx.shared.opts.effective_policy_source() == PolicySource::Service {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, SERVICE_SOURCE);
    }
    let malformed = || Reply::error(StatusCode::BAD_REQUEST, "Request malformed");
    let Some(raw) = first_value(ctx.body) else {
        return malformed();
    };
    let mut pol = match policy_fields().normalize(&raw, "", false, &mut Vec::new()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("Tyk sandbox: couldn't decode new policy object: {e}");
            return malformed();
        }
    };
    let mut id = pol["id"].as_str().unwrap_or("").to_owned();
    if !valid_policy_id(&id) {
        return Reply::error(StatusCode::BAD_REQUEST, INVALID_ID);
    }
    if !path_id.is_empty() && id != path_id && ctx.method == "PUT" {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "Request ID does not match that in policy! For Update operations these must match.",
        );
    }
    if id.is_empty() {
        let mid = pol["_id"].as_str().unwrap_or("");
        if !is_object_id(mid) {
            return Reply::error(StatusCode::BAD_REQUEST, "Unable to create policy without id.");
        }
        id = mid.to_ascii_lowercase();
        pol["id"] = Value::String(id.clone());
    }
    if !ctx.shared.ignores.take(ObjectKind::Policy, &id)
        && ctx.shared.store.write(write_dir(ctx), &format!("{id}.json"), &file_text(&pol)).is_err()
    {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Failed to create file!");
    }
    Reply::action(&id, if ctx.method == "POST" { "added" } else { "modified" })
}

fn delete(ctx: &Ctx<'_>, id: &str) -> Reply {
    let failed = || Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "Delete failed");
    let dir = write_dir(ctx);
    let name = format!("{id}.json");
    if !valid_policy_id(id) || !ctx.shared.store.exists(dir, &name) {
        return failed();
    }
    if !ctx.shared.ignores.take(ObjectKind::Policy, id) && ctx.shared.store.remove(dir, &name).is_err() {
        return failed();
    }
    Reply::action(id, "deleted")
}
