//! Human labels for entities in plans and messages: `"svc-a"`, `"rate-limiting" (service
//! "svc-a")`, `"bob" in consumer_group "gold"`. Labels never contain secret values.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::model::Kind;

/// Short names of entities by id, for naming parents.
#[derive(Debug, Default)]
pub struct Labels {
    names: HashMap<String, (Kind, String)>,
}

impl Labels {
    /// Records the short name of entity `id`.
    pub fn insert(&mut self, kind: Kind, id: &str, fields: &Map<String, Value>) {
        self.names.insert(id.to_owned(), (kind, short_name(kind, id, fields)));
    }

    /// `service "svc-a"`, or the id when the entity is unknown.
    pub fn parent(&self, kind: Kind, id: &str) -> String {
        match self.names.get(id) {
            Some((k, name)) => format!("{} {name}", k.singular()),
            None => format!("{} {id}", kind.singular()),
        }
    }

    /// The full label of an entity: its short name and, for entities identified within a
    /// parent (plugins, credentials, targets, SNIs, memberships), the parents.
    pub fn label(
        &self,
        kind: Kind,
        id: &str,
        fields: &Map<String, Value>,
        parents: &BTreeMap<&'static str, String>,
    ) -> String {
        let name = short_name(kind, id, fields);
        let scope: Vec<String> = parents
            .iter()
            .filter_map(|(field, pid)| kind.foreign_key(field).map(|fk| self.parent(fk.parent, pid)))
            .collect();
        match kind {
            Kind::Plugin if scope.is_empty() => format!("{name} (global)"),
            Kind::Plugin
            | Kind::Target
            | Kind::Sni
            | Kind::KeyauthCredential
            | Kind::BasicauthCredential
            | Kind::HmacauthCredential
            | Kind::JwtSecret
            | Kind::Acl
            | Kind::Oauth2Credential
            | Kind::MtlsAuthCredential
            | Kind::Key
                if !scope.is_empty() =>
            {
                format!("{name} ({})", scope.join(", "))
            }
            Kind::ConsumerGroupConsumer => {
                let consumer = parents.get("consumer").map(|c| self.parent(Kind::Consumer, c)).unwrap_or_default();
                let group =
                    parents.get("consumer_group").map(|g| self.parent(Kind::ConsumerGroup, g)).unwrap_or_default();
                format!("{consumer} in {group}")
            }
            _ => name,
        }
    }
}

fn quoted(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(|s| format!("{s:?}"))
}

/// The short name: the entity's name-like field quoted, else its id.
pub fn short_name(kind: Kind, id: &str, fields: &Map<String, Value>) -> String {
    let f = |k: &str| quoted(fields.get(k));
    let name = match kind {
        Kind::Service | Kind::Route | Kind::Upstream | Kind::KeySet | Kind::ConsumerGroup | Kind::Sni => f("name"),
        Kind::Consumer => f("username").or_else(|| f("custom_id")),
        Kind::Plugin => f("instance_name").or_else(|| f("name")),
        Kind::Vault => f("prefix"),
        Kind::Key => f("name").or_else(|| f("kid")),
        Kind::Target => f("target"),
        Kind::BasicauthCredential | Kind::HmacauthCredential => f("username"),
        Kind::JwtSecret => f("key"),
        Kind::Acl => f("group"),
        Kind::Oauth2Credential => f("name"),
        Kind::MtlsAuthCredential => f("subject_name"),
        Kind::KeyauthCredential | Kind::Certificate | Kind::CaCertificate | Kind::ConsumerGroupConsumer => None,
    };
    name.unwrap_or_else(|| id.to_owned())
}
