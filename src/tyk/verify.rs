//! After the reload of an apply: does the gateway serve exactly what was written?
//! (`tyk.md` §1.3, §7.1.) Tyk answers a write with success before it has read it (it reads
//! files at the reload) and may never read it at all: a policy written where the gateway
//! does not read policies, a write the gateway answered and ignored (tyk-sync issue #120),
//! an API loaded from a hand-placed file that REST writes do not touch, a listen path
//! renamed at load because another API holds it. So the gateway is read again, until it
//! serves every write or the time is up, and what it does not serve is named.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use serde_json::{Map, Value};

use super::compare::comparable;
use super::kind::TykKind;
use super::read::read_all;
use super::sensitive::is_sensitive;
use crate::gateway::Client;
use crate::model::Action;
use crate::plan::{DiffContext, diff};

/// One write of an apply, as the gateway answered it.
#[derive(Debug, Clone)]
pub struct Written {
    /// The kind.
    pub kind: TykKind,
    /// The id.
    pub id: String,
    /// Create, update or delete.
    pub action: Action,
    /// The body sent (creates and updates).
    pub body: Option<Map<String, Value>>,
}

fn describe(kind: TykKind, id: &str, body: Option<&Map<String, Value>>) -> String {
    let name = body.and_then(|b| match kind {
        TykKind::OasApi => b.get(super::compare::EXTENSION).and_then(|e| e.pointer("/info/name")),
        _ => b.get("name"),
    });
    match name.and_then(Value::as_str).filter(|n| !n.is_empty() && *n != id) {
        Some(n) => format!("{} {n:?} ({id})", kind.noun()),
        None => format!("{} {id:?}", kind.noun()),
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "absent".to_owned(),
        Some(v) => {
            let t = v.to_string();
            if t.chars().count() > 80 { format!("{}...", t.chars().take(80).collect::<String>()) } else { t }
        }
    }
}

/// Why the gateway may not serve a write of `kind`.
fn hint(kind: TykKind, action: Action) -> &'static str {
    match (kind, action) {
        (TykKind::Policy, Action::Create | Action::Update) => {
            "the gateway does not read policies where its Gateway API writes them: set `policies.policy_source` \
             to `file` and `policies.policy_path` in tyk.conf (a `policy_record_name` file is never written); \
             or it answered the write and ignored it (tyk-sync issue #120)"
        }
        (_, Action::Delete) => {
            "Tyk deletes the file `<id>.json`: an object loaded from a file of another name (placed by hand) \
             cannot be deleted through the Gateway API; remove that file on the gateway host and reload"
        }
        _ => {
            "the gateway answered the write with success and ignored it (tyk-sync issue #120), or it serves \
             another file with this id (placed by hand under a name other than `<id>.json`, which REST writes \
             do not touch)"
        }
    }
}

/// What differs between a write and what is served, as one line.
fn differences(kind: TykKind, sent: &Map<String, Value>, served: &Map<String, Value>) -> Option<String> {
    let (want, got) = (comparable(kind, sent), comparable(kind, served));
    if want == got {
        return None;
    }
    let sensitive = |p: &str| is_sensitive(kind, p);
    let ctx = DiffContext { shape: None, sensitive: &sensitive, equal: &|_, _, _| false };
    let changes = diff(&want, &got, &ctx);
    let mut parts: Vec<String> = changes
        .iter()
        .take(5)
        .map(|c| {
            if c.sensitive {
                format!("`{}` differs (sensitive value)", c.path)
            } else {
                format!("`{}` is {}, written {}", c.path, show(c.before.as_ref()), show(c.after.as_ref()))
            }
        })
        .collect();
    if changes.len() > 5 {
        parts.push(format!("and {} more field(s)", changes.len() - 5));
    }
    if changes.iter().any(|c| c.path.ends_with("listen_path") || c.path.ends_with("listenPath.value")) {
        parts.push("Tyk renamed the listen path at load: another API it serves holds it".to_owned());
    }
    Some(parts.join("; "))
}

/// The writes the gateway does not serve as written, one line each.
pub async fn problems(client: &Client, written: &[Written]) -> Result<Vec<String>, String> {
    let served = read_all(client).await.map_err(|e| format!("cannot read the gateway again: {e}"))?;
    let by_id: HashMap<(TykKind, &str), &Map<String, Value>> =
        served.iter().filter_map(|e| Some(((TykKind::of(e.kind)?, e.id.as_deref()?), &e.fields))).collect();
    let mut last: HashMap<(TykKind, &str), &Written> = HashMap::new();
    for w in written {
        last.insert((w.kind, w.id.as_str()), w);
    }
    let mut out = Vec::new();
    let mut keys: Vec<_> = last.keys().copied().collect();
    keys.sort();
    for key in keys {
        let w = last[&key];
        let who = describe(w.kind, &w.id, w.body.as_ref());
        let now = by_id.get(&key);
        match (w.action, now, &w.body) {
            (Action::Delete, Some(_), _) => {
                out.push(format!("{who}: still served after its delete ({})", hint(w.kind, w.action)))
            }
            (Action::Delete, None, _) => {}
            (_, None, _) if w.kind == TykKind::Certificate => out.push(format!("{who}: not in the certificate store")),
            (_, None, _) => out.push(format!("{who}: not served after the reload ({})", hint(w.kind, w.action))),
            (_, Some(served), Some(sent)) => {
                if let Some(d) = differences(w.kind, sent, served) {
                    out.push(format!("{who}: served otherwise than written: {d} ({})", hint(w.kind, w.action)));
                }
            }
            (_, Some(_), None) => {}
        }
    }
    Ok(out)
}

/// Reads the gateway until it serves every write, every `poll`, for at most `patience`.
pub async fn until_served(
    client: &Client,
    written: &[Written],
    patience: Duration,
    poll: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let left = problems(client, written).await?;
        if left.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= patience {
            let mut msg = format!(
                "after the reload the gateway does not serve what was written ({} object(s), checked for {:.1}s):",
                left.len(),
                started.elapsed().as_secs_f64()
            );
            for l in left.iter().take(20) {
                msg.push_str(&format!("\n  - {l}"));
            }
            if left.len() > 20 {
                msg.push_str(&format!("\n  - and {} more", left.len() - 20));
            }
            return Err(msg);
        }
        tokio::time::sleep(poll).await;
    }
}
