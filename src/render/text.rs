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
    block(out, c.action, &address(c), verb(c.action), &c.fields, names);
}

/// A block: `# <address> <verb>`, then the fields (none for a delete).
pub fn block(
    out: &mut String,
    action: Action,
    address: &str,
    verb: &str,
    fields: &[FieldChange],
    names: &BTreeMap<String, String>,
) {
    let _ = writeln!(out, "  # {address} {verb}");
    if action == Action::Delete {
        let _ = writeln!(out, "  - {address}");
        return;
    }
    let _ = writeln!(out, "  {} {address} {{", action.symbol());
    for line in lines_of(action, fields, names) {
        let _ = writeln!(out, "      {line}");
    }
    out.push_str("    }\n");
}

/// The field lines of a change, aligned.
pub fn field_lines(c: &Change, names: &BTreeMap<String, String>) -> Vec<String> {
    lines_of(c.action, &c.fields, names)
}

fn lines_of(action: Action, fields: &[FieldChange], names: &BTreeMap<String, String>) -> Vec<String> {
    let width = fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
    fields.iter().map(|f| field_line(action, f, width, names)).collect()
}

/// What a drift check says of a change: the gateway lacks the entity, differs from it, or
/// has one the configuration does not.
pub fn drift_verb(action: Action) -> &'static str {
    match action {
        Action::Create => "is missing from the gateway",
        Action::Update => "differs on the gateway",
        Action::Delete => "is on the gateway but not in the configuration",
    }
}

/// Renders `plan` as a drift report: the same blocks, said as what differs
/// (`# services "a" differs on the gateway`), and `Drift: X missing, Y changed, Z not in the
/// configuration.`, or `No drift.`.
pub fn drift(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No drift. The gateway matches the configuration.\n".to_owned();
    }
    let mut out = String::from("Drift: the gateway differs from the configuration:\n\n");
    for c in &plan.changes {
        block(&mut out, c.action, &address(c), drift_verb(c.action), &c.fields, &plan.names);
        out.push('\n');
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "Drift: {} missing, {} changed, {} not in the configuration. `gateform apply` would correct it.",
        s.add, s.change, s.destroy
    );
    out
}

/// The warning section of a drift report about entities outside the ownership scope
/// (`select_tags`) attached to managed ones: `(label, labels of what it hangs on)`.
pub fn attached_outside(found: &[(String, Vec<String>)], select_tags: &[String]) -> String {
    let n = found.len();
    let mut out = format!(
        "Warning: {n} {} outside the ownership scope (select tags {}) {} attached to entities this configuration manages:\n",
        if n == 1 { "entity" } else { "entities" },
        select_tags.join(", "),
        if n == 1 { "is" } else { "are" },
    );
    for (label, parents) in found {
        let _ = writeln!(out, "  - {label}, on {}", parents.join(" and "));
    }
    out.push_str(
        "gateform never changes or deletes them, but they act on what they are attached to, and Kong deletes them \
         with it: tag them to manage them here, or move them off.\n",
    );
    out
}

/// A saved plan's changes (as [`crate::plan::file::PlanFile`] holds them: JSON values, and
/// each change's label), rendered as [`plan`] rendered the plan it came from.
pub fn saved(changes: &[Value], labels: &[String], names: &BTreeMap<String, String>) -> String {
    if changes.is_empty() {
        return plan(&Plan::default());
    }
    let mut out = String::from("gateform will perform the following actions:\n\n");
    let mut counts = [0usize; 3];
    for (i, c) in changes.iter().enumerate() {
        let Ok(action) = serde_json::from_value::<Action>(c.get("action").cloned().unwrap_or_default()) else {
            continue;
        };
        match action {
            Action::Create => counts[0] += 1,
            Action::Update => counts[1] += 1,
            Action::Delete => counts[2] += 1,
        }
        let kind = c.get("kind").and_then(Value::as_str).unwrap_or_default();
        let label = labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| c.get("key").and_then(Value::as_str).unwrap_or_default().to_owned());
        let fields: Vec<FieldChange> =
            c.get("fields").cloned().and_then(|f| serde_json::from_value(f).ok()).unwrap_or_default();
        block(&mut out, action, &format!("{kind} {label}"), verb(action), &fields, names);
        out.push('\n');
    }
    let _ = writeln!(out, "Plan: {} to add, {} to change, {} to destroy.", counts[0], counts[1], counts[2]);
    out
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
