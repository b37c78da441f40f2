//! The terminal rendering of a plan, in the style of `terraform plan`.

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
        change_block(&mut out, c);
        out.push('\n');
    }
    let s = plan.summary();
    let _ = writeln!(out, "Plan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy);
    out
}

/// `services "svc-a"`: the address of a change.
pub fn address(c: &Change) -> String {
    format!("{} {}", c.kind, c.key)
}

/// One change as a block.
pub fn change_block(out: &mut String, c: &Change) {
    let verb = match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
    };
    let _ = writeln!(out, "  # {} {verb}", address(c));
    if c.action == Action::Delete {
        let _ = writeln!(out, "  - {}", address(c));
        return;
    }
    let _ = writeln!(out, "  {} {} {{", c.action.symbol(), address(c));
    let width = c.fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in &c.fields {
        let _ = writeln!(out, "      {}", field_line(c.action, f, width));
    }
    out.push_str("    }\n");
}

/// One field: `+ name = "x"` for creates, `~ port = 80 -> 8080` for updates.
pub fn field_line(action: Action, f: &FieldChange, width: usize) -> String {
    let path = format!("{:width$}", f.path, width = width);
    match action {
        Action::Create => format!("+ {path} = {}", value(f.after.as_ref())),
        _ if f.sensitive => format!("~ {path} = (sensitive value changed)"),
        _ => match (&f.before, &f.after) {
            (Some(b), Some(a)) if !b.is_null() && !a.is_null() => {
                format!("~ {path} = {} -> {}", value(Some(b)), value(Some(a)))
            }
            (_, Some(a)) if !a.is_null() => format!("+ {path} = {}", value(Some(a))),
            (Some(b), _) => format!("- {path} = {} -> null", value(Some(b))),
            _ => format!("~ {path}"),
        },
    }
}

/// A value as compact JSON; the sensitive marker unquoted.
pub fn value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".to_owned(),
        Some(Value::String(s)) if s == SENSITIVE => SENSITIVE.to_owned(),
        Some(v) => v.to_string(),
    }
}
