//! The terminal rendering of a plan, in the style of `terraform plan`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::plan::{Action, Change, FieldChange, Plan, SENSITIVE};

/// Renders `plan` as text: one block per change (`+` create, `~` update, `-` destroy, with
/// the changed fields only) and the closing `Plan: X to add, Y to change, Z to destroy.`
/// line, or a "No changes" sentence.
pub fn plan(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No changes. The gateway matches the configuration.\n".to_owned();
    }
    let mut out = String::from("gateform will perform the following actions:\n\n");
    for c in &plan.changes {
        change_block(&mut out, c, &plan.names);
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// `Plan: X to add, Y to change, Z to destroy.`
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    format!("Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy)
}

/// `services "svc-a"`: the address of a change.
pub fn address(c: &Change) -> String {
    format!("{} {}", c.kind, c.key)
}

/// What happens to a change, in words.
pub fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
    }
}

/// One change as a block.
pub fn change_block(out: &mut String, c: &Change, names: &BTreeMap<String, String>) {
    let _ = writeln!(out, "  # {} {}", address(c), verb(c.action));
    if c.action == Action::Delete {
        let _ = writeln!(out, "  - {}", address(c));
        return;
    }
    let _ = writeln!(out, "  {} {} {{", c.action.symbol(), address(c));
    for line in field_lines(c, names) {
        let _ = writeln!(out, "      {line}");
    }
    out.push_str("    }\n");
}

/// The field lines of a change, aligned.
pub fn field_lines(c: &Change, names: &BTreeMap<String, String>) -> Vec<String> {
    let width = c.fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
    c.fields.iter().map(|f| field_line(c.action, f, width, names)).collect()
}

/// One field: `+ name = "x"` for creates, `~ port = 80 -> 8080` for updates.
pub fn field_line(action: Action, f: &FieldChange, width: usize, names: &BTreeMap<String, String>) -> String {
    let path = format!("{:width$}", f.path, width = width);
    let show = |v: Option<&Value>| value(v, names);
    match action {
        Action::Create => format!("+ {path} = {}", show(f.after.as_ref())),
        _ if f.sensitive => format!("~ {path} = (sensitive value changed)"),
        _ => match (&f.before, &f.after) {
            (Some(b), Some(a)) if !b.is_null() && !a.is_null() => {
                format!("~ {path} = {} -> {}", show(Some(b)), show(Some(a)))
            }
            (_, Some(a)) if !a.is_null() => format!("+ {path} = {}", show(Some(a))),
            (Some(b), _) => format!("- {path} = {} -> null", show(Some(b))),
            _ => format!("~ {path}"),
        },
    }
}

/// A value as compact JSON; the sensitive marker unquoted; a foreign key (`{"id": ...}`)
/// as the label of the entity it names when known.
pub fn value(v: Option<&Value>, names: &BTreeMap<String, String>) -> String {
    match v {
        None | Some(Value::Null) => "null".to_owned(),
        Some(Value::String(s)) if s == SENSITIVE => SENSITIVE.to_owned(),
        Some(Value::Object(m)) if m.len() == 1 => {
            match m.get("id").and_then(Value::as_str).and_then(|id| names.get(id)) {
                Some(label) => label.clone(),
                None => Value::Object(m.clone()).to_string(),
            }
        }
        Some(v) => v.to_string(),
    }
}

/// The `Source: ...` and `Gateway: ...` lines (and a blank one) that open text output:
/// `Gateway: http://kong:8001 (Kong 3.9.3), environment "prod"`.
pub fn header(source_line: &str, address: &str, product: &str, environment: Option<&str>) -> String {
    let env = environment.map(|e| format!(", environment {e:?}")).unwrap_or_default();
    format!("Source: {source_line}\nGateway: {address} ({product}){env}\n\n")
}
