//! Foreign-key values as files write them: a bare string (an id when it looks like a
//! UUID, else a name), `{id: ..}`, `{name: ..}`, `{username: ..}`, `{custom_id: ..}`.

use super::check::Checker;
use crate::kong::KongKind;
use crate::kong::deck::shape::{is_uuid, ref_fields};
use crate::source::yaml::{Node, NodeValue};

/// How a reference names its parent, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The entity it is nested in (or one already known), by index.
    Local(usize),
    /// By id.
    Id(String),
    /// By a unique field (`name`, `username`, `custom_id`).
    Field(&'static str, String),
}

impl Target {
    /// How messages show the target: `"svc"` or `with id 9ecf...`.
    pub fn shown(&self) -> String {
        match self {
            Target::Local(_) => "(nested)".into(),
            Target::Id(id) => format!("with id {id}"),
            Target::Field(_, v) => format!("\"{v}\""),
        }
    }
}

/// Parses a foreign-key value: a bare string (an id when it looks like a UUID, else the
/// parent's name), `{id: ..}`, or `{<name field>: ..}` (`name`, `username`, `custom_id`).
/// `lenient` accepts the descriptive keys decK writes in `groups`/`consumers` items
/// (`tags`, timestamps) and ignores them. `None` for null or an unusable value.
pub(crate) fn parse_ref(
    checker: &mut Checker<'_>,
    parent: KongKind,
    v: &Node,
    path: &str,
    lenient: bool,
) -> Option<Target> {
    let names = ref_fields(parent);
    match &v.value {
        NodeValue::Null => None,
        NodeValue::Str(s) if is_uuid(s) => Some(Target::Id(s.clone())),
        NodeValue::Str(s) => match names.first() {
            Some(f) => Some(Target::Field(f, s.clone())),
            None => {
                checker.problem(v, path, format!("expected the id of a {} (a UUID)", parent.singular()));
                None
            }
        },
        NodeValue::Map(entries) => {
            let mut id = None;
            let mut named = None;
            for (k, val) in entries {
                let key = k.key_text();
                let known = if key == "id" { Some("id") } else { names.iter().copied().find(|n| *n == key) };
                match known {
                    Some(field) => match val.as_str() {
                        Some(s) if field == "id" && !is_uuid(s) => {
                            checker.problem(val, &format!("{path}.id"), "expected a valid UUID")
                        }
                        Some(s) if field == "id" => id = Some(s.to_owned()),
                        Some(s) => {
                            if named.is_none() {
                                named = Some((field, s.to_owned()));
                            }
                        }
                        None => checker.problem(val, &format!("{path}.{key}"), "expected a string"),
                    },
                    None if lenient
                        && matches!(
                            key.as_str(),
                            "tags" | "created_at" | "updated_at" | "name" | "username" | "custom_id"
                        ) => {}
                    None => checker.problem(
                        k,
                        &format!("{path}.{key}"),
                        format!("unknown field in a reference to a {}", parent.singular()),
                    ),
                }
            }
            match (id, named) {
                (Some(id), _) => Some(Target::Id(id)),
                (None, Some((f, s))) => Some(Target::Field(f, s)),
                (None, None) => {
                    let how = std::iter::once("id").chain(names.iter().copied()).collect::<Vec<_>>().join(" or ");
                    checker.problem(v, path, format!("names no {} (give {how})", parent.singular()));
                    None
                }
            }
        }
        _ => {
            checker.problem(
                v,
                path,
                format!(
                    "expected a reference to a {} (a name, an id, or a mapping), not {}",
                    parent.singular(),
                    v.type_name()
                ),
            );
            None
        }
    }
}
