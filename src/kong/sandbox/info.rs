//! Informational endpoints (`kong-admin-api.md` §3.5, §3.6): `/`, `/status`, `/schemas/...`,
//! `/plugins/enabled`, `/tags`.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::body::Body;
use super::entity::{self, Mode};
use super::error::{ApiError, ApiResult};
use super::ops::{Ctx, Resp};
use super::page::{decode_offset, encode_offset, escape, parse_size};
use crate::kong::KongKind;
use crate::kong::schema::custom::check_tag;

/// The Kong version the sandbox reports.
pub const KONG_VERSION: &str = "3.9.3";

/// Bundled plugin priorities (§3.6).
const PRIORITIES: &[(&str, i64)] = &[
    ("pre-function", 1000000),
    ("correlation-id", 100001),
    ("zipkin", 100000),
    ("bot-detection", 2500),
    ("cors", 2000),
    ("session", 1900),
    ("acme", 1705),
    ("jwt", 1450),
    ("oauth2", 1400),
    ("key-auth", 1250),
    ("ldap-auth", 1200),
    ("basic-auth", 1100),
    ("hmac-auth", 1030),
    ("grpc-gateway", 998),
    ("ip-restriction", 990),
    ("request-size-limiting", 951),
    ("acl", 950),
    ("rate-limiting", 910),
    ("response-ratelimiting", 900),
    ("request-transformer", 801),
    ("response-transformer", 800),
    ("redirect", 779),
    ("ai-request-transformer", 777),
    ("ai-prompt-template", 773),
    ("ai-prompt-decorator", 772),
    ("ai-prompt-guard", 771),
    ("ai-proxy", 770),
    ("ai-response-transformer", 768),
    ("standard-webhooks", 760),
    ("aws-lambda", 750),
    ("azure-functions", 749),
    ("proxy-cache", 100),
    ("opentelemetry", 14),
    ("prometheus", 13),
    ("http-log", 12),
    ("statsd", 11),
    ("datadog", 10),
    ("file-log", 9),
    ("udp-log", 8),
    ("tcp-log", 7),
    ("loggly", 6),
    ("syslog", 4),
    ("grpc-web", 3),
    ("request-termination", 2),
    ("post-function", -1000),
];

fn enabled_plugins(ctx: &Ctx<'_>) -> Vec<String> {
    let mut names: Vec<String> = ctx.inner.env.schemas.plugin_names().map(str::to_owned).collect();
    names.extend(ctx.inner.env.custom_plugins.iter().cloned());
    names.sort();
    names.dedup();
    names
}

/// `GET /`.
pub fn root(ctx: &Ctx<'_>) -> ApiResult<Resp> {
    let mut available = Map::new();
    for name in enabled_plugins(ctx) {
        let priority = PRIORITIES.iter().find(|(n, _)| *n == name).map_or(0, |(_, p)| *p);
        let version = if ctx.inner.env.custom_plugins.contains(&name) { "0.1.0" } else { KONG_VERSION };
        available.insert(name, json!({"version": version, "priority": priority}));
    }
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let mut in_cluster: Vec<String> = store
        .table(KongKind::Plugin)
        .values()
        .filter_map(|r| r.data.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    in_cluster.sort();
    in_cluster.dedup();
    let db = if ctx.inner.env.db_less { "off" } else { "postgres" };
    let plugins = enabled_plugins(ctx);
    Ok((
        StatusCode::OK,
        Some(json!({
            "tagline": "Welcome to kong",
            "version": KONG_VERSION,
            "edition": if ctx.inner.env.enterprise { "enterprise" } else { "community" },
            "hostname": "gateform-sandbox",
            "node_id": ctx.inner.node_id,
            "timers": {"running": 0, "pending": 0},
            "plugins": {"available_on_server": available, "enabled_in_cluster": in_cluster},
            "lua_version": "LuaJIT 2.1.0-20231117",
            "configuration": {
                "database": db, "role": "traditional", "router_flavor": "traditional_compatible",
                "plugins": ["bundled"], "loaded_plugins": plugins, "admin_listen": [ctx.inner.addr.to_string()],
                "pg_password": "******",
            },
            "pids": {"master": std::process::id(), "workers": [std::process::id()]},
        })),
    ))
}

/// Formats a byte count as Kong's `bytes_to_str` (`kong/tools/string.lua`): `b` (or no
/// unit) → a number, `k`/`m`/`g` → `"<n with scale decimals> KiB|MiB|GiB"`.
fn bytes_to_str(bytes: u64, unit: &str, scale: usize) -> Result<Value, String> {
    let (div, suffix) = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => return Ok(json!(bytes)),
        "k" => (1024f64, "KiB"),
        "m" => (1024f64 * 1024.0, "MiB"),
        "g" => (1024f64 * 1024.0 * 1024.0, "GiB"),
        _ => return Err(format!("invalid unit '{unit}' (expected 'k/K', 'm/M', or 'g/G')")),
    };
    Ok(json!(format!("{:.*} {suffix}", scale, bytes as f64 / div)))
}

/// `GET /status[?unit=b|k|m|g&scale=N]` (`kong/api/routes/health.lua`): memory figures in
/// that unit (default `m`, scale 2); a bad unit or a negative scale is 400 `{"message"}`.
pub fn status(ctx: &Ctx<'_>) -> ApiResult<Resp> {
    let unit = ctx.query.get("unit").map_or("m", String::as_str);
    let scale = match ctx.query.get("scale").and_then(|s| s.trim().parse::<f64>().ok()) {
        Some(n) if n < 0.0 => return Err(ApiError::bad_request("scale must be equal or greater than 0")),
        Some(n) => (n as usize).min(20),
        None => 2,
    };
    let fmt = |b: u64| bytes_to_str(b, unit, scale).map_err(ApiError::bad_request);
    let mib = 1024 * 1024;
    let total = ctx.inner.stats.total();
    let mut body = json!({
        "memory": {
            "lua_shared_dicts": {
                "kong": {"capacity": fmt(5 * mib)?, "allocated_slabs": fmt(40 * 1024)?},
                "kong_db_cache": {"capacity": fmt(128 * mib)?, "allocated_slabs": fmt(800 * 1024)?},
            },
            "workers_lua_vms": [{"pid": std::process::id(), "http_allocated_gc": fmt(40 * mib)?}],
        },
        "server": {"connections_accepted": total, "connections_active": 1, "connections_handled": total, "connections_reading": 0, "connections_writing": 1, "connections_waiting": 0, "total_requests": total},
    });
    if ctx.inner.env.db_less {
        body["configuration_hash"] = json!(ctx.inner.config_hash.lock().map(|h| h.clone()).unwrap_or_default());
    } else {
        body["database"] = json!({"reachable": true});
    }
    Ok((StatusCode::OK, Some(body)))
}

/// `GET /schemas/{entity}`.
pub fn entity_schema(name: &str) -> ApiResult<Resp> {
    let s = crate::kong::schema::Schemas::bundled();
    let json = s
        .entity_json(name)
        .filter(|_| name != "consumer_group_consumers")
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, format!("No entity named '{name}'")))?;
    Ok((StatusCode::OK, Some(json.clone())))
}

/// `GET /schemas/plugins/{name}`.
pub fn plugin_schema(ctx: &Ctx<'_>, name: &str) -> ApiResult<Resp> {
    if let Some(j) = ctx.inner.env.schemas.plugin_json(name) {
        return Ok((StatusCode::OK, Some(j.clone())));
    }
    if ctx.inner.env.custom_plugins.contains(name) {
        // A custom plugin takes any `config`: its record is served without `fields`, the
        // way Kong serves an abstract record whose shape it does not know.
        return Ok((
            StatusCode::OK,
            Some(
                json!({"fields": [{"config": {"type": "record", "required": true, "abstract": true}}], "entity_checks": []}),
            ),
        ));
    }
    Err(ApiError::message(StatusCode::NOT_FOUND, format!("No plugin named '{name}'")))
}

/// `GET /plugins/schema/{name}` (deprecated): only the `config` record.
pub fn plugin_config_schema(ctx: &Ctx<'_>, name: &str) -> ApiResult<Resp> {
    let (_, body) = plugin_schema(ctx, name)?;
    let config = body
        .as_ref()
        .and_then(|b| b.get("fields"))
        .and_then(Value::as_array)
        .and_then(|fs| fs.iter().find_map(|f| f.get("config").cloned()))
        .unwrap_or(json!({}));
    Ok((StatusCode::OK, Some(config)))
}

/// `GET /schemas/vaults/{name}`.
pub fn vault_schema(name: &str) -> ApiResult<Resp> {
    if name != "env" {
        return Err(ApiError::message(StatusCode::NOT_FOUND, format!("No vault named '{name}'")));
    }
    Ok((
        StatusCode::OK,
        Some(
            json!({"fields": [{"config": {"type": "record", "required": true, "fields": [{"prefix": {"type": "string", "match": "^[%a_-][%a%d_-]*$"}}]}}], "entity_checks": []}),
        ),
    ))
}

/// `POST /schemas/{entity}/validate` and `/schemas/plugins/validate`.
pub fn validate_entity(ctx: &Ctx<'_>, name: &str, body: &Body) -> ApiResult<Resp> {
    let kind = KongKind::from_table(name)
        .filter(|k| *k != KongKind::ConsumerGroupConsumer)
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, format!("No entity named '{name}'")))?;
    let input = body.to_input(&ctx.inner.env, kind)?;
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    entity::prepare(&ctx.inner.env, &store, kind, Mode::Insert, input, None)?;
    Ok((StatusCode::OK, Some(json!({"message": "schema validation successful"}))))
}

/// `GET /plugins/enabled`.
pub fn plugins_enabled(ctx: &Ctx<'_>) -> ApiResult<Resp> {
    Ok((StatusCode::OK, Some(json!({"enabled_plugins": enabled_plugins(ctx)}))))
}

/// `GET /tags[/{tag}]`: one row per entity × tag, ordered by entity id (§3.5).
pub fn tags(ctx: &Ctx<'_>, tag: Option<&str>) -> ApiResult<Resp> {
    if let Some(t) = tag
        && check_tag(t).is_some()
    {
        return Err(ApiError::dao(
            StatusCode::BAD_REQUEST,
            10,
            "invalid unique tag",
            format!("invalid tag '{t}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"),
            None,
        ));
    }
    let size = parse_size(ctx.query.get("size").map(String::as_str))?;
    let after = ctx.query.get("offset").map(|o| decode_offset(o)).transpose()?;
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let mut rows: Vec<(String, &'static str, String)> = Vec::new();
    for (kind, row) in store.all_rows() {
        let Some(tags) = row.data.get("tags").and_then(Value::as_array) else {
            continue;
        };
        for t in tags.iter().filter_map(Value::as_str) {
            if tag.is_none_or(|want| want == t) {
                rows.push((row.id().to_owned(), kind.table(), t.to_owned()));
            }
        }
    }
    rows.sort();
    let start = match &after {
        Some(a) => rows.iter().position(|r| format!("{}|{}", r.0, r.2) == *a).map_or(0, |i| i + 1),
        None => 0,
    };
    let page: Vec<&(String, &str, String)> = rows.iter().skip(start).take(size).collect();
    let data: Vec<Value> = page.iter().map(|(id, k, t)| json!({"entity_name": k, "entity_id": id, "tag": t})).collect();
    let mut body = json!({"data": data, "next": null});
    if start + page.len() < rows.len()
        && let Some(last) = page.last()
    {
        let token = encode_offset(&format!("{}|{}", last.0, last.2));
        body["offset"] = json!(token);
        body["next"] = json!(format!("{}?offset={}", ctx.path, escape(&token)));
    }
    Ok((StatusCode::OK, Some(body)))
}
