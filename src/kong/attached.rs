//! Entities outside the ownership scope that hang on entities inside it: an untagged
//! plugin on a managed service (the classic outage: it runs on the service's traffic, and
//! goes when the service is deleted), an untagged route of a managed service, a credential
//! of a managed consumer. They are read without the tag filter (every page of each kind
//! with a foreign key) only when there is a scope; without one everything is managed.

use std::collections::HashSet;

use super::KongKind as Kind;
use super::read::{entity_from_json, list_all};
use crate::gateway::{Client, HttpError, Scope};
use crate::model::{Entity, Ref, State};

/// The entities lacking a tag of `scope` whose foreign key names an entity of `live`.
pub async fn outside_scope(client: &Client, scope: &Scope, live: &State) -> Result<Vec<Entity>, HttpError> {
    if scope.select_tags.is_empty() {
        return Ok(Vec::new());
    }
    let managed: HashSet<&str> = live.entities.iter().filter_map(|e| e.id.as_deref()).collect();
    let mut out = Vec::new();
    let kinds = Kind::ALL.iter().filter(|k| !matches!(k, Kind::Target | Kind::ConsumerGroupConsumer));
    for &kind in kinds.filter(|k| !k.foreign_keys().is_empty()) {
        let rows = match list_all(client, &format!("/{}", kind.collection()), &[]).await {
            Err(HttpError::Api { status: 404, .. }) if kind.is_enterprise() => Vec::new(),
            other => other?,
        };
        for row in rows {
            let e = entity_from_json(kind, row);
            let hangs_on_managed = e.refs.values().any(|r| matches!(r, Ref::Id(id) if managed.contains(id.as_str())));
            if hangs_on_managed && !e.has_all_tags(&scope.select_tags) {
                out.push(e);
            }
        }
    }
    Ok(out)
}
