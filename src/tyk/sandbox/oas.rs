//! Tyk OAS APIs (`gateway/api.go` `validateOAS`, `apiOASGetHandler`, `apiOASExportHandler`,
//! `makeImportedOASTykAPI`; `apidef/oas/servers_regeneration.go`; `tyk.md` §1.2, §2.3 #9).
//!
//! * writes must carry `x-tyk-api-gateway` (imports must not); the document is checked for
//!   the keys Tyk's schema requires (OpenAPI `openapi` 3.0.x/3.1.x, `info.title`,
//!   `info.version`, `paths`; extension `info.name`, `info.state.active`, `upstream`,
//!   `server.listenPath.value`) — the rest of the schema is not checked;
//! * the classic extract stored in `<api_id>.json` holds: `api_id`, `id`, `org_id`, `name`,
//!   `active`, `internal`, `slug`, `proxy.listen_path`, `proxy.strip_listen_path`,
//!   `proxy.target_url`, `domain`/`domain_disabled`, `certificates`, `tags`/`tags_disabled`,
//!   `use_keyless` (no authentication) and `is_oas: true`; the rest has zero values;
//! * `servers` is regenerated on every write: the gateway's own URLs first
//!   (`http://<node address><listen path>` and the relative listen path, or the custom domain,
//!   or only the relative path for tagged APIs), then the document's other servers, less the
//!   URLs the gateway generated for the previous version;
//! * `GET` re-fills `info.id` and `server.listenPath.value` from the loaded classic form (so a
//!   listen path renamed at load shows).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::loader::{LoadedApi, valid_listen_path};
use super::options::classic_fields;
use super::reply::{API_NOT_FOUND, first_value};
use super::reply::{Ctx, Reply};

/// The extension key.
pub const EXTENSION: &str = "x-tyk-api-gateway";

fn bad(msg: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, msg)
}

/// The keys Tyk's OAS schema requires that a document lacks, as gojsonschema words them
/// (`x-tyk-api-gateway.info: name is required`), one per line; or the version error.
pub fn schema_errors(doc: &Value) -> Option<String> {
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !(version.starts_with("3.0") || version.starts_with("3.1")) {
        return Some(format!("Schema not found for version {version:?}"));
    }
    let mut errs = Vec::new();
    let mut require = |ptr: &str, key: &str| {
        let parent = doc.pointer(ptr);
        if parent.and_then(|p| p.get(key)).is_none() {
            let at = if ptr.is_empty() { "(root)".to_owned() } else { ptr.trim_start_matches('/').replace('/', ".") };
            if ptr.is_empty() || parent.is_some() {
                errs.push(format!("{at}: {key} is required"));
            }
        }
    };
    require("", "info");
    require("", "paths");
    require("/info", "title");
    require("/info", "version");
    let ext = format!("/{EXTENSION}");
    require(&ext, "info");
    require(&ext, "upstream");
    require(&ext, "server");
    require(&format!("{ext}/info"), "name");
    require(&format!("{ext}/info"), "state");
    require(&format!("{ext}/info/state"), "active");
    require(&format!("{ext}/server"), "listenPath");
    require(&format!("{ext}/server/listenPath"), "value");
    if errs.is_empty() { None } else { Some(errs.join("\n")) }
}

/// The checks of `validateOAS` and `extractOASObjFromReq` on a write body. A `PATCH` without
/// the extension keeps `current_ext`, the API's current one.
pub fn validate_request(ctx: &Ctx<'_>, current_ext: Option<&Value>) -> Result<Value, Reply> {
    let mut doc = first_value(ctx.body).filter(Value::is_object).ok_or_else(|| bad("request malformed"))?;
    if doc.get(EXTENSION).is_none() {
        match current_ext.filter(|_| ctx.method == "PATCH") {
            Some(ext) => doc[EXTENSION] = ext.clone(),
            None => return Err(bad("the payload should contain x-tyk-api-gateway")),
        }
    }
    if let Some(e) = schema_errors(&doc) {
        return Err(bad(&e));
    }
    Ok(doc)
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a Value> {
    v.pointer(ptr).filter(|x| !x.is_null())
}

/// `OAS.ExtractTo`: the classic definition (every field) the gateway stores for a document.
pub fn extract(doc: &Value) -> Result<Value, String> {
    let ext = doc.get(EXTENSION).ok_or("the payload should contain x-tyk-api-gateway")?;
    let mut raw = json!({"is_oas": true, "proxy": {}});
    let copy = |raw: &mut Value, to: &str, from: &str| {
        if let (Some(v), Some(slot)) = (s(ext, from), pointer_create(raw, to)) {
            *slot = v.clone();
        }
    };
    copy(&mut raw, "/api_id", "/info/id");
    copy(&mut raw, "/id", "/info/dbId");
    copy(&mut raw, "/org_id", "/info/orgId");
    copy(&mut raw, "/name", "/info/name");
    copy(&mut raw, "/active", "/info/state/active");
    copy(&mut raw, "/internal", "/info/state/internal");
    copy(&mut raw, "/slug", "/server/slug");
    copy(&mut raw, "/proxy/listen_path", "/server/listenPath/value");
    copy(&mut raw, "/proxy/strip_listen_path", "/server/listenPath/strip");
    copy(&mut raw, "/proxy/target_url", "/upstream/url");
    if let Some(d) = s(ext, "/server/customDomain") {
        raw["domain"] = d.get("name").cloned().unwrap_or(Value::Null);
        raw["domain_disabled"] = Value::Bool(d.get("enabled") != Some(&Value::Bool(true)));
        raw["certificates"] = d.get("certificates").cloned().unwrap_or(Value::Null);
    }
    if let Some(t) = s(ext, "/server/gatewayTags") {
        raw["tags"] = t.get("tags").cloned().unwrap_or(Value::Null);
        raw["tags_disabled"] = Value::Bool(t.get("enabled") != Some(&Value::Bool(true)));
    }
    raw["use_keyless"] = Value::Bool(s(ext, "/server/authentication/enabled") != Some(&Value::Bool(true)));
    classic_fields().normalize(&raw, "", true, &mut Vec::new()).map_err(|e| e.to_string())
}

fn pointer_create<'a>(v: &'a mut Value, ptr: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for part in ptr.split('/').skip(1) {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur.as_object_mut()?.entry(part.to_owned()).or_insert(Value::Null);
    }
    Some(cur)
}

/// Sets `x-tyk-api-gateway.info.id`.
pub fn set_id(doc: &mut Value, id: &str) {
    if let Some(slot) = pointer_create(doc, &format!("/{EXTENSION}/info/id")) {
        *slot = Value::String(id.to_owned());
    }
}

fn clean(path: &str) -> String {
    let lp = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    let c = valid_listen_path(&lp);
    if c.len() > 1 { c.trim_end_matches('/').to_owned() } else { c }
}

/// The server URLs the gateway generates for a classic form (`generateStandardServers`).
pub fn tyk_server_urls(def: &Value, host: &str) -> Vec<String> {
    let lp = clean(def.pointer("/proxy/listen_path").and_then(Value::as_str).unwrap_or(""));
    let domain = if def.get("domain_disabled") == Some(&Value::Bool(true)) {
        ""
    } else {
        def.get("domain").and_then(Value::as_str).unwrap_or("")
    };
    if !domain.is_empty() {
        return vec![format!("http://{}{lp}", domain.trim_end_matches('/'))];
    }
    let tagged = def.get("tags_disabled") != Some(&Value::Bool(true))
        && def.get("tags").and_then(Value::as_array).is_some_and(|t| !t.is_empty());
    if tagged { vec![lp] } else { vec![format!("http://{host}{lp}"), lp] }
}

fn normalize_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) => {
            let p = clean(parsed.path());
            parsed.set_path(&p);
            parsed.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => clean(u),
    }
}

/// `RegenerateServers`: the gateway's URLs for `def`, then the document's other servers less
/// those generated for `old`.
pub fn regenerate_servers(ctx: &Ctx<'_>, doc: &mut Value, def: &Value, old: Option<&Value>) {
    let host = ctx.shared.nodes.get(ctx.node).map(|n| n.addr.to_string()).unwrap_or_default();
    let old_urls: Vec<String> =
        old.map(|o| tyk_server_urls(o, &host)).unwrap_or_default().iter().map(|u| normalize_url(u)).collect();
    let mut seen: Vec<String> = Vec::new();
    let mut servers: Vec<Value> = Vec::new();
    for u in tyk_server_urls(def, &host) {
        let n = normalize_url(&u);
        if !seen.contains(&n) {
            seen.push(n);
            servers.push(json!({"url": u}));
        }
    }
    let user = doc.get("servers").and_then(Value::as_array).cloned().unwrap_or_default();
    for server in user {
        let n = normalize_url(server.get("url").and_then(Value::as_str).unwrap_or(""));
        if !old_urls.contains(&n) && !seen.contains(&n) {
            seen.push(n);
            servers.push(server);
        }
    }
    doc["servers"] = Value::Array(servers);
}

/// The document `GET` returns for a loaded OAS API (`OAS.Fill` of the parts that can change
/// at load).
fn filled(api: &LoadedApi) -> Value {
    let mut doc = api.oas.clone().unwrap_or_else(|| json!({"openapi": "", "info": {}, "paths": {}}));
    let id = api.def.get("api_id").cloned().unwrap_or(Value::Null);
    let lp = api.def.pointer("/proxy/listen_path").cloned().unwrap_or(Value::Null);
    if let Some(slot) = pointer_create(&mut doc, &format!("/{EXTENSION}/info/id")) {
        *slot = id;
    }
    if let Some(slot) = pointer_create(&mut doc, &format!("/{EXTENSION}/server/listenPath/value")) {
        *slot = lp;
    }
    doc
}

fn is_oas(api: &LoadedApi) -> bool {
    api.def.get("is_oas") == Some(&Value::Bool(true))
}

fn raw_json(v: &Value) -> Reply {
    let mut r = Reply::json(StatusCode::OK, Value::Null);
    r.body = v.to_string().into_bytes();
    r
}

fn download(v: &Value, file: &str) -> Reply {
    Reply {
        status: StatusCode::OK,
        body: serde_json::to_vec_pretty(v).unwrap_or_default(),
        content_type: Some("application/octet-stream"),
        headers: vec![("content-disposition".into(), format!("attachment;filename={file:?}"))],
    }
}

fn public(mut doc: Value, public: bool) -> Value {
    if public && let Some(o) = doc.as_object_mut() {
        o.remove(EXTENSION);
    }
    doc
}

/// `GET /tyk/apis/oas` and `GET /tyk/apis/oas/export` (`export`; `?mode=public` drops the
/// extension).
pub fn list(ctx: &Ctx<'_>, export: bool) -> Reply {
    let pub_mode = export && ctx.param("mode") == Some("public");
    let docs: Vec<Value> =
        ctx.loaded().apis.values().filter(|a| is_oas(a)).map(|a| public(filled(a), pub_mode)).collect();
    if export {
        download(&Value::Array(docs), if pub_mode { "oas.json" } else { "TykOasApiDef.json" })
    } else {
        raw_json(&Value::Array(docs))
    }
}

/// `GET /tyk/apis/oas/{id}` and `GET /tyk/apis/oas/{id}/export`.
pub fn get(ctx: &Ctx<'_>, id: &str, export: bool) -> Reply {
    let loaded = ctx.loaded();
    let Some(api) = loaded.apis.get(id) else {
        return Reply::error(StatusCode::NOT_FOUND, API_NOT_FOUND);
    };
    if !is_oas(api) {
        return bad("the requested API definition is in Tyk classic format, please use old api endpoint");
    }
    let pub_mode = export && ctx.param("mode") == Some("public");
    let doc = public(filled(api), pub_mode);
    if export {
        download(&doc, &format!("{}-{id}.json", if pub_mode { "oas" } else { "TykOasApiDef" }))
    } else {
        raw_json(&doc)
    }
}

/// `POST /tyk/apis/oas/import`: a plain OpenAPI document gets a default extension built from
/// the query (`listenPath`, `upstreamURL`, `apiID`, `customDomain`), then is added.
pub fn import(ctx: &Ctx<'_>) -> Reply {
    if ctx.shared.opts.use_db_app_configs {
        return Reply::error(StatusCode::INTERNAL_SERVER_ERROR, super::apis::DASHBOARD_MODE);
    }
    let Some(mut doc) = first_value(ctx.body).filter(Value::is_object) else {
        return bad("request malformed");
    };
    if doc.get(EXTENSION).is_some() {
        return bad("the import payload should not contain x-tyk-api-gateway");
    }
    let upstream = match ctx.param("upstreamURL").filter(|u| !u.is_empty()) {
        Some(u) => u.to_owned(),
        None => match doc.pointer("/servers/0/url").and_then(Value::as_str) {
            Some(u) => u.to_owned(),
            None => {
                return bad(
                    "The ‘servers’ object is empty in your OAS. You can either add a ‘servers’ section to your OpenAPI description or provide a Custom Upstream URL in the manual configuration options below.",
                );
            }
        },
    };
    let mut ext = json!({
        "info": {"name": doc.pointer("/info/title").cloned().unwrap_or(Value::Null), "state": {"active": true, "internal": false}},
        "upstream": {"url": upstream},
        "server": {"listenPath": {"value": ctx.param("listenPath").filter(|l| !l.is_empty()).unwrap_or("/"), "strip": true}}
    });
    if let Some(id) = ctx.param("apiID").filter(|i| !i.is_empty()) {
        ext["info"]["id"] = json!(id);
    }
    if let Some(d) = ctx.param("customDomain").filter(|d| !d.is_empty()) {
        ext["server"]["customDomain"] = json!({"enabled": true, "name": d});
    }
    doc[EXTENSION] = ext;
    if let Some(e) = schema_errors(&doc) {
        return bad(&e);
    }
    match super::apis::store_oas(ctx, doc) {
        Ok(id) => Reply::action(&id, "added"),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "servers": [{"url": "https://upstream.example"}],
            EXTENSION: {
                "info": {"id": "abc", "name": "n", "state": {"active": true}},
                "upstream": {"url": "http://u"},
                "server": {"listenPath": {"value": "/p/", "strip": true}}
            }
        })
    }

    #[test]
    fn required_keys_are_reported_like_gojsonschema() {
        assert_eq!(schema_errors(&doc()), None);
        let mut d = doc();
        d[EXTENSION]["info"].as_object_mut().unwrap().remove("name");
        d.as_object_mut().unwrap().remove("paths");
        assert_eq!(schema_errors(&d).unwrap(), "(root): paths is required\nx-tyk-api-gateway.info: name is required");
        d["openapi"] = json!("2.0");
        assert_eq!(schema_errors(&d).unwrap(), "Schema not found for version \"2.0\"");
    }

    #[test]
    fn the_classic_extract_has_every_field() {
        let def = extract(&doc()).unwrap();
        assert_eq!(def["api_id"], "abc");
        assert_eq!(def["proxy"]["listen_path"], "/p/");
        assert_eq!(def["proxy"]["strip_listen_path"], true);
        assert_eq!(def["use_keyless"], true);
        assert_eq!(def["is_oas"], true);
        assert_eq!(def["allowed_ips"], Value::Null);
    }

    #[test]
    fn generated_server_urls_follow_tyk() {
        let def = extract(&doc()).unwrap();
        assert_eq!(tyk_server_urls(&def, "127.0.0.1:8080"), vec!["http://127.0.0.1:8080/p", "/p"]);
        let mut tagged = def.clone();
        tagged["tags"] = json!(["edge"]);
        assert_eq!(tyk_server_urls(&tagged, "h"), vec!["/p"]);
        let mut domain = def;
        domain["domain"] = json!("api.example");
        assert_eq!(tyk_server_urls(&domain, "h"), vec!["http://api.example/p"]);
        assert_eq!(normalize_url("http://h/p/"), "http://h/p");
    }
}
