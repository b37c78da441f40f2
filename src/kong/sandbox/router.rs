//! Path routing of the Admin API (`kong-admin-api.md` §3.1): every auto-generated entity
//! endpoint, the special ones, and the informational ones; 404 for unknown paths, 405 for
//! unsupported verbs, OPTIONS and the allowed-verb list.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::body::Body;
use super::error::{ApiError, ApiResult};
use super::ops::{self, Ctx, Resp};
use super::{declarative, fault, info, special};
use crate::kong::KongKind;
use crate::kong::schema::is_uuid;

/// What a path addresses.
#[derive(Debug, Clone)]
pub enum Target {
    /// `/`
    Root,
    /// `/status`
    Status,
    /// `/endpoints`
    Endpoints,
    /// `/config`
    Config,
    /// `/schemas/{entity}`
    Schema(String),
    /// `/schemas/{entity}/validate`
    SchemaValidate(String),
    /// `/schemas/plugins/{name}`
    PluginSchema(String),
    /// `/schemas/plugins/validate`
    PluginValidate,
    /// `/schemas/vaults/{name}`
    VaultSchema(String),
    /// `/plugins/enabled`
    PluginsEnabled,
    /// `/plugins/schema/{name}` (deprecated)
    PluginConfigSchema(String),
    /// `/tags` and `/tags/{tag}`
    Tags(Option<String>),
    /// `/_sandbox/faults`
    Faults,
    /// `/_sandbox/stats`
    Stats,
    /// `/{coll}`
    Collection(KongKind),
    /// `/{coll}/{key}`
    Entity(KongKind, String),
    /// `/{coll}/{key}/{fk}`
    Parent(KongKind, String, &'static str),
    /// `/{parent coll}/{pkey}/{nested}`
    Nested(KongKind, String, KongKind, &'static str),
    /// `/{parent coll}/{pkey}/{nested}/{key}`
    NestedEntity(KongKind, String, KongKind, &'static str, String),
    /// `/upstreams/{u}/targets`
    Targets(String),
    /// `/upstreams/{u}/targets/all`
    TargetsAll(String),
    /// `/upstreams/{u}/targets/{t}`
    TargetOne(String, String),
    /// `/upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`
    TargetHealth(String, String),
    /// `/upstreams/{u}/health`
    UpstreamHealth(String),
    /// `/oauth2_tokens[/{t}]` and `/oauth2/{c}/oauth2_tokens[/{t}]`: (credential, token)
    Tokens(Option<String>, Option<String>),
    /// consumer-group membership (from the group side when `true`)
    Membership(bool, String, Option<String>),
}

const READ: &[&str] = &["GET"];
const COLL: &[&str] = &["GET", "POST"];
const ONE: &[&str] = &["DELETE", "GET", "PATCH", "PUT"];

fn kind_of_collection(seg: &str) -> Option<KongKind> {
    KongKind::ALL.iter().copied().find(|k| *k != KongKind::ConsumerGroupConsumer && k.collection() == seg)
}

/// A child kind nested under `parent` at segment `seg`, with its foreign-key field.
fn nested_kind(parent: KongKind, seg: &str) -> Option<(KongKind, &'static str)> {
    KongKind::ALL.iter().copied().filter(|k| *k != KongKind::ConsumerGroupConsumer && *k != KongKind::Target).find_map(
        |k| {
            let fk = k.foreign_keys().iter().find(|f| f.parent == parent)?;
            (k.nested_collection() == seg).then_some((k, fk.field))
        },
    )
}

/// Resolves path segments to a target and its allowed verbs; `None` = 404.
pub fn resolve(segs: &[String]) -> Option<(Target, &'static [&'static str])> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let t = match s.as_slice() {
        [] => (Target::Root, READ),
        ["status"] => (Target::Status, READ),
        ["endpoints"] => (Target::Endpoints, READ),
        ["config"] => (Target::Config, COLL),
        ["schemas", "plugins", "validate"] => (Target::PluginValidate, &["POST"][..]),
        ["schemas", "plugins", n] => (Target::PluginSchema((*n).into()), READ),
        ["schemas", "vaults", "validate"] => (Target::SchemaValidate("vaults".into()), &["POST"][..]),
        ["schemas", "vaults", n] => (Target::VaultSchema((*n).into()), READ),
        ["schemas", e] => (Target::Schema((*e).into()), READ),
        ["schemas", e, "validate"] => (Target::SchemaValidate((*e).into()), &["POST"][..]),
        ["plugins", "enabled"] => (Target::PluginsEnabled, READ),
        ["plugins", "schema", n] => (Target::PluginConfigSchema((*n).into()), READ),
        ["tags"] => (Target::Tags(None), READ),
        ["tags", t] => (Target::Tags(Some((*t).into())), READ),
        ["_sandbox", "faults"] => (Target::Faults, &["DELETE", "GET", "POST"][..]),
        ["_sandbox", "stats"] => (Target::Stats, &["DELETE", "GET"][..]),
        ["targets", ..] => return None,
        ["oauth2_tokens"] => (Target::Tokens(None, None), COLL),
        ["oauth2_tokens", t] => (Target::Tokens(None, Some((*t).into())), ONE),
        ["oauth2", c, "oauth2_tokens"] => (Target::Tokens(Some((*c).into()), None), COLL),
        ["oauth2", c, "oauth2_tokens", t] => (Target::Tokens(Some((*c).into()), Some((*t).into())), ONE),
        ["snis", _, "certificate"] => return None,
        ["upstreams", u, "targets"] => (Target::Targets((*u).into()), COLL),
        ["upstreams", u, "targets", "all"] => (Target::TargetsAll((*u).into()), READ),
        ["upstreams", u, "health"] => (Target::UpstreamHealth((*u).into()), READ),
        ["upstreams", u, "targets", t] => (Target::TargetOne((*u).into(), (*t).into()), ONE),
        ["upstreams", u, "targets", t, "healthy" | "unhealthy"]
        | ["upstreams", u, "targets", t, _, "healthy" | "unhealthy"] => {
            // Kong 3.9 serves PUT; POST is what Kong ≤ 2.x served and go-kong 0.15 sends.
            (Target::TargetHealth((*u).into(), (*t).into()), &["POST", "PUT"][..])
        }
        ["consumer_groups", g, "consumers"] => {
            (Target::Membership(true, (*g).into(), None), &["DELETE", "GET", "POST"][..])
        }
        ["consumer_groups", g, "consumers", c] => {
            (Target::Membership(true, (*g).into(), Some((*c).into())), &["DELETE", "GET"][..])
        }
        ["consumers", c, "consumer_groups"] => {
            (Target::Membership(false, (*c).into(), None), &["DELETE", "GET", "POST"][..])
        }
        ["consumers", c, "consumer_groups", g] => {
            (Target::Membership(false, (*c).into(), Some((*g).into())), &["DELETE", "GET"][..])
        }
        [coll] => (Target::Collection(kind_of_collection(coll)?), COLL),
        [coll, key] => (Target::Entity(kind_of_collection(coll)?, (*key).into()), ONE),
        [coll, key, sub] => {
            let kind = kind_of_collection(coll)?;
            if let Some(fk) = kind.foreign_keys().iter().find(|f| f.field == *sub) {
                (Target::Parent(kind, (*key).into(), fk.field), ONE)
            } else {
                let (child, field) = nested_kind(kind, sub)?;
                (Target::Nested(kind, (*key).into(), child, field), COLL)
            }
        }
        [coll, key, sub, ckey] => {
            let kind = kind_of_collection(coll)?;
            let (child, field) = nested_kind(kind, sub)?;
            (Target::NestedEntity(kind, (*key).into(), child, field, (*ckey).into()), ONE)
        }
        _ => return None,
    };
    Some(t)
}

impl Target {
    /// Whether the target exists only in Kong Enterprise (§8, §2.11): a path through an
    /// Enterprise-only kind. Kong OSS answers 404 for those.
    pub fn is_enterprise(&self) -> bool {
        match self {
            Target::Collection(k) | Target::Entity(k, _) => k.is_enterprise(),
            Target::Parent(k, _, field) => {
                k.is_enterprise() || k.foreign_key(field).is_some_and(|f| f.parent.is_enterprise())
            }
            Target::Nested(p, _, c, _) | Target::NestedEntity(p, _, c, _, _) => p.is_enterprise() || c.is_enterprise(),
            Target::Membership(..) => true,
            Target::Schema(e) | Target::SchemaValidate(e) => {
                KongKind::from_table(e).is_some_and(KongKind::is_enterprise)
            }
            _ => false,
        }
    }
}

/// Every route template, for `GET /endpoints` (§3.6); `enterprise` adds the Enterprise-only
/// kinds' routes.
pub fn templates(enterprise: bool) -> Vec<String> {
    let mut out: Vec<String> = [
        "/",
        "/status",
        "/endpoints",
        "/config",
        "/schemas/{db_entity_name}",
        "/schemas/{db_entity_name}/validate",
        "/schemas/plugins/{name}",
        "/schemas/plugins/validate",
        "/schemas/vaults/{name}",
        "/schemas/vaults/validate",
        "/plugins/enabled",
        "/plugins/schema/{name}",
        "/tags",
        "/tags/{tags}",
        "/oauth2_tokens",
        "/oauth2_tokens/{oauth2_tokens}",
        "/oauth2/{oauth2_credentials}/oauth2_tokens",
        "/oauth2/{oauth2_credentials}/oauth2_tokens/{oauth2_tokens}",
        "/upstreams/{upstreams}/targets",
        "/upstreams/{upstreams}/targets/all",
        "/upstreams/{upstreams}/health",
        "/upstreams/{upstreams}/targets/{targets}",
        "/upstreams/{upstreams}/targets/{targets}/healthy",
        "/upstreams/{upstreams}/targets/{targets}/unhealthy",
        "/upstreams/{upstreams}/targets/{targets}/{address}/healthy",
        "/upstreams/{upstreams}/targets/{targets}/{address}/unhealthy",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if enterprise {
        out.extend(
            [
                "/consumer_groups/{consumer_groups}/consumers",
                "/consumer_groups/{consumer_groups}/consumers/{consumers}",
                "/consumers/{consumers}/consumer_groups",
                "/consumers/{consumers}/consumer_groups/{consumer_groups}",
            ]
            .map(str::to_owned),
        );
    }
    let served = |k: &KongKind| enterprise || !k.is_enterprise();
    for k in KongKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != KongKind::ConsumerGroupConsumer && *k != KongKind::Target)
        .filter(served)
    {
        let c = k.collection();
        let p = k.table();
        out.push(format!("/{c}"));
        out.push(format!("/{c}/{{{p}}}"));
        for fk in k.foreign_keys().iter().filter(|f| served(&f.parent)) {
            if !(k == KongKind::Sni && fk.field == "certificate") {
                out.push(format!("/{c}/{{{p}}}/{}", fk.field));
            }
            let pc = fk.parent.collection();
            let pt = fk.parent.table();
            out.push(format!("/{pc}/{{{pt}}}/{}", k.nested_collection()));
            out.push(format!("/{pc}/{{{pt}}}/{}/{{{p}}}", k.nested_collection()));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn dbless_refusal(method: &str, kind: KongKind, key: Option<&str>) -> ApiError {
    let by = match (key, kind.endpoint_key()) {
        (Some(k), Some(ek)) if !is_uuid(k) => format!(" by '{ek}'"),
        _ => String::new(),
    };
    dbless_refusal_of(method, kind.table(), &by)
}

/// Code 12 for a write to `table` in DB-less mode; `by` = ` by '<endpoint key>'` or empty.
fn dbless_refusal_of(method: &str, table: &str, by: &str) -> ApiError {
    let verb = match method {
        "POST" => "create",
        "PUT" => "create or update",
        "PATCH" => "update",
        _ => "remove",
    };
    ApiError::dao(
        StatusCode::METHOD_NOT_ALLOWED,
        12,
        "operation unsupported",
        format!("cannot {verb} '{table}' entities{by} when not using a database"),
        None,
    )
}

fn entity_kind(t: &Target) -> Option<(KongKind, Option<&str>)> {
    match t {
        Target::Collection(k) => Some((*k, None)),
        Target::Entity(k, key) | Target::Parent(k, key, _) => Some((*k, Some(key))),
        Target::Nested(_, _, k, _) => Some((*k, None)),
        Target::NestedEntity(_, _, k, _, key) => Some((*k, Some(key))),
        Target::Targets(_) | Target::TargetOne(..) => Some((KongKind::Target, None)),
        Target::Membership(..) => Some((KongKind::ConsumerGroupConsumer, None)),
        _ => None,
    }
}

/// Resolves a parent key to its id (404 when missing).
fn parent_id(ctx: &Ctx<'_>, kind: KongKind, key: &str) -> ApiResult<String> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    // `/certificates/{sni}/...`: a certificate is found by one of its SNIs (§2.6).
    if kind == KongKind::Certificate && !is_uuid(key) {
        return store
            .find_by(KongKind::Sni, "name", key)
            .and_then(|r| r.fk("certificate").map(str::to_owned))
            .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "SNI not found"));
    }
    ops::lookup(&store, kind, key, None)?.map(|r| r.id().to_owned()).ok_or_else(ApiError::not_found)
}

/// Dispatches one request to its handler.
pub async fn dispatch(ctx: &Ctx<'_>, method: &str, target: Target, body: Body) -> ApiResult<Resp> {
    let env = &ctx.inner.env;
    let write = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
    if env.db_less
        && write
        && let Some((kind, key)) = entity_kind(&target)
    {
        return Err(dbless_refusal(method, kind, key));
    }
    if env.db_less && write && matches!(target, Target::Tokens(..)) {
        return Err(dbless_refusal_of(method, "oauth2_tokens", ""));
    }
    let input = |kind: KongKind| -> ApiResult<Map<String, Value>> { body.to_input(env, kind) };
    match target {
        Target::Root => info::root(ctx),
        Target::Status => info::status(ctx),
        Target::Endpoints => Ok((StatusCode::OK, Some(serde_json::json!({ "data": templates(env.enterprise) })))),
        Target::Config => declarative::handle(ctx, method, &body),
        Target::Schema(e) => info::entity_schema(&e),
        Target::SchemaValidate(e) => info::validate_entity(ctx, &e, &body),
        Target::PluginSchema(n) => info::plugin_schema(ctx, &n),
        Target::PluginValidate => info::validate_entity(ctx, "plugins", &body),
        Target::VaultSchema(n) => info::vault_schema(&n),
        Target::PluginsEnabled => info::plugins_enabled(ctx),
        Target::PluginConfigSchema(n) => info::plugin_config_schema(ctx, &n),
        Target::Tags(t) => info::tags(ctx, t.as_deref()),
        Target::Faults => fault::handle(ctx, method, &body),
        Target::Stats => fault::stats(ctx, method),
        Target::Collection(kind) => match method {
            "GET" => ops::list(ctx, kind, None),
            _ => ops::create(ctx, kind, input(kind)?, None),
        },
        Target::Entity(kind, key) => {
            if kind == KongKind::Certificate && !is_uuid(&key) {
                let inp = if method == "GET" || method == "DELETE" { None } else { Some(input(kind)?) };
                return special::certificate_by_sni(ctx, method, &key, inp);
            }
            match method {
                "GET" if kind == KongKind::ConsumerGroup => special::consumer_group(ctx, &key),
                "GET" => ops::get(ctx, kind, &key, None),
                "PUT" => ops::upsert(ctx, kind, &key, input(kind)?, None),
                "PATCH" => ops::update(ctx, kind, &key, input(kind)?, None),
                _ => ops::delete(ctx, kind, &key, None),
            }
        }
        Target::Parent(kind, key, field) => {
            let pk = kind.foreign_key(field).map(|f| f.parent).ok_or_else(ApiError::not_found)?;
            let inp = if matches!(method, "PUT" | "PATCH") { Some(input(pk)?) } else { None };
            ops::parent(ctx, method, kind, &key, field, inp)
        }
        Target::Nested(pk, pkey, child, field) => {
            let pid = parent_id(ctx, pk, &pkey)?;
            match method {
                "GET" => ops::list(ctx, child, Some((field, &pid))),
                _ => ops::create(ctx, child, input(child)?, Some((field, &pid))),
            }
        }
        Target::NestedEntity(pk, pkey, child, field, key) => {
            let pid = parent_id(ctx, pk, &pkey)?;
            let scope = Some((field, pid.as_str()));
            if child == KongKind::Acl {
                let inp = if matches!(method, "PUT" | "PATCH") { Some(input(child)?) } else { None };
                return special::acl_by_group(ctx, method, &pid, &key, inp);
            }
            match method {
                "GET" => ops::get(ctx, child, &key, scope),
                "PUT" => ops::upsert(ctx, child, &key, input(child)?, scope),
                "PATCH" => ops::update(ctx, child, &key, input(child)?, scope),
                _ => ops::delete(ctx, child, &key, scope),
            }
        }
        Target::Targets(u) => {
            let uid = special::upstream_id(ctx, &u)?;
            match method {
                "GET" => special::list_targets(ctx, &uid),
                _ => ops::create(ctx, KongKind::Target, input(KongKind::Target)?, Some(("upstream", &uid))),
            }
        }
        Target::TargetsAll(u) => {
            let uid = special::upstream_id(ctx, &u)?;
            ops::list(ctx, KongKind::Target, Some(("upstream", &uid)))
        }
        Target::TargetOne(u, t) => {
            let uid = special::upstream_id(ctx, &u)?;
            let inp = if matches!(method, "PUT" | "PATCH") { Some(input(KongKind::Target)?) } else { None };
            special::target(ctx, method, &uid, &t, inp)
        }
        Target::TargetHealth(u, t) => {
            let uid = special::upstream_id(ctx, &u)?;
            special::target_health(ctx, &uid, &t)
        }
        Target::UpstreamHealth(u) => {
            let uid = special::upstream_id(ctx, &u)?;
            special::upstream_health(ctx, &uid)
        }
        Target::Tokens(cred, key) => {
            let cid = cred.map(|c| parent_id(ctx, KongKind::Oauth2Credential, &c)).transpose()?;
            let inp = if matches!(method, "POST" | "PUT" | "PATCH") {
                Some(body.to_input_for(super::tokens::schema())?)
            } else {
                None
            };
            super::tokens::handle(ctx, method, cid.as_deref(), key.as_deref(), inp)
        }
        Target::Membership(from_group, key, other) => {
            let inp = if method == "POST" {
                Some(body.to_input(env, KongKind::ConsumerGroupConsumer).unwrap_or_default())
            } else {
                None
            };
            special::membership(ctx, method, from_group, &key, other.as_deref(), inp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str) -> Option<Target> {
        let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        resolve(&segs).map(|t| t.0)
    }

    #[test]
    fn routes_resolve() {
        assert!(matches!(r("/services"), Some(Target::Collection(KongKind::Service))));
        assert!(matches!(
            r("/services/x/routes"),
            Some(Target::Nested(KongKind::Service, _, KongKind::Route, "service"))
        ));
        assert!(matches!(r("/routes/x/service"), Some(Target::Parent(KongKind::Route, _, "service"))));
        assert!(matches!(
            r("/consumers/c/key-auth/k"),
            Some(Target::NestedEntity(KongKind::Consumer, _, KongKind::KeyauthCredential, "consumer", _))
        ));
        assert!(r("/targets").is_none());
        assert!(r("/snis/x/certificate").is_none());
        assert!(r("/nope").is_none());
        assert!(matches!(r("/key-sets/s/keys"), Some(Target::Nested(KongKind::KeySet, _, KongKind::Key, "set"))));
        assert!(templates(false).contains(&"/services/{services}/routes".to_owned()));
    }
}
