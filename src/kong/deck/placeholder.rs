//! Secret-free dumps: every sensitive value of the live state is written as a
//! `${{ env "DECK_..." }}` placeholder with a predictable variable name, so a dump is safe to
//! commit and restorable by setting those variables.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::kong::KongKind;
use crate::kong::label::short_name as kong_short_name;
use crate::kong::normalize::{live_body, schema_for};
use crate::kong::schema::Schemas;
use crate::kong::secrets::is_sensitive;
use crate::model::{Kind, Ref, State};
use crate::secrets::MIN_SCRUB_LEN;

fn short_name(kind: Kind, id: &str, fields: &Map<String, Value>) -> String {
    KongKind::of(kind).map(|k| kong_short_name(k, id, fields)).unwrap_or_else(|| id.to_owned())
}

const MARK_START: &str = "GATEFORMSECRETPLACEHOLDER";
const MARK_END: &str = "ENDGATEFORMSECRET";
/// Marks a value that ends with a line break (PEM text): its block scalar keeps it.
const KEEP_NEWLINE: &str = "KEEPNEWLINE";

/// One placeholder written into a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// The variable to set, e.g. `DECK_BASICAUTH_CREDENTIALS_PARTNER_PASSWORD`.
    pub variable: String,
    /// The entity's kind.
    pub kind: Kind,
    /// The entity's short name or id.
    pub entity: String,
    /// The dotted field path.
    pub field: String,
}

fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_us = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    out.trim_matches('_').to_owned()
}

/// Replaces every sensitive string value of `state` with a marker that [`render`] turns into
/// a placeholder, and returns the placeholders (sorted by variable). Variable names are
/// `DECK_<KIND>_<ENTITY>_<FIELD>`: the entity is named by its name-like field, or by its
/// parents' names and the first 8 characters of its id when it has none.
pub fn mask_state(state: &mut State, schemas: &Schemas) -> Vec<Placeholder> {
    let names: HashMap<String, String> = state
        .entities
        .iter()
        .filter_map(|e| {
            e.id.as_ref().map(|id| (id.clone(), short_name(e.kind, id, &e.fields).trim_matches('"').to_owned()))
        })
        .collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for e in &mut state.entities {
        let id = e.id.clone().unwrap_or_default();
        let body = live_body(e);
        let Some(kong_kind) = KongKind::of(e.kind) else { continue };
        let schema = schema_for(schemas, kong_kind, &body);
        let own = short_name(e.kind, &id, &e.fields);
        let entity = if own == id {
            let parents: Vec<String> = e
                .refs
                .values()
                .filter_map(|r| match r {
                    Ref::Id(pid) => names.get(pid).cloned(),
                    _ => None,
                })
                .collect();
            let short: String = id.chars().take(8).collect();
            if parents.is_empty() { short } else { format!("{}_{short}", parents.join("_")) }
        } else {
            own.trim_matches('"').to_owned()
        };
        let mut fields = std::mem::take(&mut e.fields);
        let kind = e.kind;
        let sensitive = |path: &str| is_sensitive(kong_kind, path, schema);
        walk(&mut fields, "", &sensitive, &mut |path, value| {
            let base = format!("DECK_{}_{}_{}", sanitize(kind.table()), sanitize(&entity), sanitize(path));
            let mut variable = base.clone();
            let mut n = 2;
            while !used.insert(variable.clone()) {
                variable = format!("{base}_{n}");
                n += 1;
            }
            let keep = if value.as_str().is_some_and(|v| v.ends_with('\n')) { KEEP_NEWLINE } else { "" };
            *value = Value::String(format!("{MARK_START}{variable}{keep}{MARK_END}"));
            out.push(Placeholder { variable, kind, entity: entity.clone(), field: path.to_owned() });
        });
        e.fields = fields;
    }
    out.sort_by(|a, b| a.variable.cmp(&b.variable));
    out
}

/// Replaces every string value of `state` that equals the value of a `DECK_*` variable of
/// `env` (at least [`MIN_SCRUB_LEN`] characters) with a marker for that variable, so
/// the dump names the variable instead of its value; returns the placeholders.
pub fn mask_env_values(state: &mut State, env: &BTreeMap<String, String>) -> Vec<Placeholder> {
    let by_value: HashMap<&str, &str> = env
        .iter()
        .filter(|(k, v)| k.starts_with("DECK_") && v.chars().count() >= MIN_SCRUB_LEN)
        .map(|(k, v)| (v.as_str(), k.as_str()))
        .collect();
    let mut out = Vec::new();
    if by_value.is_empty() {
        return out;
    }
    for e in &mut state.entities {
        let id = e.id.clone().unwrap_or_default();
        let entity = short_name(e.kind, &id, &e.fields).trim_matches('"').to_owned();
        let kind = e.kind;
        let mut fields = std::mem::take(&mut e.fields);
        walk(&mut fields, "", &|_| true, &mut |path, value| {
            if let Some(var) = value.as_str().and_then(|s| by_value.get(s)) {
                *value = Value::String(format!("{MARK_START}{var}{MARK_END}"));
                out.push(Placeholder {
                    variable: (*var).to_owned(),
                    kind,
                    entity: entity.clone(),
                    field: path.to_owned(),
                });
            }
        });
        e.fields = fields;
    }
    out
}

fn walk(
    obj: &mut Map<String, Value>,
    prefix: &str,
    sensitive: &dyn Fn(&str) -> bool,
    f: &mut dyn FnMut(&str, &mut Value),
) {
    for (k, v) in obj.iter_mut() {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            Value::Object(inner) => walk(inner, &path, sensitive, f),
            Value::String(_) if sensitive(&path) => f(&path, v),
            Value::Array(items) if sensitive(&path) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if item.is_string() {
                        f(&format!("{path}.{}", i + 1), item);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Turns the markers of a dump text into `${{ env "VAR" }}` placeholders. In YAML each
/// becomes a block scalar (`|-` then the placeholder with `indent`, so multi-line values such
/// as PEM keys survive); in JSON the placeholder stands inside the string's quotes, as
/// `${{ env `VAR` }}`, so the file stays valid JSON.
pub fn render(text: &str, yaml: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let Some(start) = line.find(MARK_START) else {
            out.push_str(line);
            continue;
        };
        let Some(end) = line[start..].find(MARK_END).map(|e| start + e) else {
            out.push_str(line);
            continue;
        };
        let marked = &line[start + MARK_START.len()..end];
        let (variable, chomp) = match marked.strip_suffix(KEEP_NEWLINE) {
            Some(v) => (v, "|"),
            None => (marked, "|-"),
        };
        let rest = &line[end + MARK_END.len()..];
        if yaml {
            let column = line[..start].chars().count();
            let indent = " ".repeat(column);
            out.push_str(&line[..start]);
            out.push_str(chomp);
            out.push('\n');
            out.push_str(&format!("{indent}${{{{ env \"{variable}\" | indent {column} }}}}"));
            out.push_str(rest);
        } else {
            // Backquotes (Go's raw strings) keep the file valid JSON; the reader renders the
            // template inside the parsed string, so any value survives.
            out.push_str(&line[..start]);
            out.push_str(&format!("${{{{ env `{variable}` }}}}"));
            out.push_str(rest);
        }
    }
    out
}

/// The closing comment of a YAML dump that lists the variables to set.
pub fn yaml_footer(placeholders: &[Placeholder]) -> String {
    if placeholders.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n# Sensitive values are not written in this file. Set these variables before planning or\n\
         # applying it (each holds the value of the field it names):\n",
    );
    let width = placeholders.iter().map(|p| p.variable.len()).max().unwrap_or(0);
    for p in placeholders {
        out.push_str(&format!("#   {:width$}  {} {} {}\n", p.variable, p.kind, p.entity, p.field, width = width));
    }
    out
}

/// Placeholders grouped by variable name, for messages.
pub fn variables(placeholders: &[Placeholder]) -> BTreeMap<&str, &Placeholder> {
    placeholders.iter().map(|p| (p.variable.as_str(), p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entity;
    use serde_json::json;

    fn cred(kind: KongKind, id: &str, fields: Value, consumer: &str) -> Entity {
        let mut e = Entity::new(kind);
        e.id = Some(id.into());
        e.fields = fields.as_object().cloned().unwrap();
        e.refs.insert("consumer", Ref::Id(consumer.into()));
        e
    }

    #[test]
    fn credentials_get_predictable_variables() {
        let mut consumer = Entity::new(KongKind::Consumer);
        consumer.id = Some("c0000000-0000-0000-0000-000000000000".into());
        consumer.fields = json!({"username": "web-shop"}).as_object().cloned().unwrap();
        let mut state = State {
            entities: vec![
                consumer,
                cred(
                    KongKind::KeyauthCredential,
                    "7cbb44a0-0000-0000-0000-000000000000",
                    json!({"key": "k-123456"}),
                    "c0000000-0000-0000-0000-000000000000",
                ),
                cred(
                    KongKind::BasicauthCredential,
                    "b0000000-0000-0000-0000-000000000000",
                    json!({"username": "partner", "password": "hash"}),
                    "c0000000-0000-0000-0000-000000000000",
                ),
            ],
        };
        let p = mask_state(&mut state, Schemas::bundled());
        let vars: Vec<&str> = p.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(
            vars,
            ["DECK_BASICAUTH_CREDENTIALS_PARTNER_PASSWORD", "DECK_KEYAUTH_CREDENTIALS_WEB_SHOP_7CBB44A0_KEY"]
        );
        assert!(state.entities[1].fields["key"].as_str().unwrap().starts_with(MARK_START));
    }

    #[test]
    fn yaml_placeholders_are_block_scalars() {
        let text = format!("a:\n  key: {MARK_START}DECK_X{MARK_END}\n");
        assert_eq!(render(&text, true), "a:\n  key: |-\n       ${{ env \"DECK_X\" | indent 7 }}\n");
        let json = format!("{{\"key\": \"{MARK_START}DECK_X{MARK_END}\"}}");
        assert_eq!(render(&json, false), "{\"key\": \"${{ env `DECK_X` }}\"}");
    }
}
