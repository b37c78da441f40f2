//! Resource targeting: `--target KIND:NAME` and `--exclude KIND:NAME` narrow a plan to some
//! of its changes, as Terraform's `-target` (and OpenTofu's `-exclude`) do
//! (`gitops-anchors.md` §1).
//!
//! * A target keeps the changes of the entities it names **and every change they depend
//!   on**, transitively: a route's service that is still to be created, the delete of a
//!   child that must go before its parent's delete, the change that releases a unique value
//!   the target takes.
//! * An exclude drops the changes of the entities it names **and every change that depends
//!   on them** (a plugin of an excluded service that is still to be created).
//!
//! Excludes win over targets. Kinds and names are the dialect's: `KIND` is a kind's name or
//! its singular (`services`, `service`), `NAME` an entity's short name without its quotes
//! (a service's `name`, a consumer's `username`, a plugin's `name`), its full label
//! (`cors (service "a")` style, quotes optional) or its id; `*` names every entity of the
//! kind. The dependencies come from the caller (the engine reads them off the step graph),
//! so this module knows no gateway and no graph.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Change, Plan};
use crate::gateway::Dialect;
use crate::model::Kind;

/// One `KIND:NAME` selector, as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Selector {
    /// The kind as written (a kind's name or singular).
    pub kind: String,
    /// The name as written, or `*`.
    pub name: String,
}

impl Selector {
    /// Parses `KIND:NAME`. Errors: no `:`, an empty kind or an empty name.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let Some((kind, name)) = text.split_once(':') else {
            return Err(format!("`{text}` is not KIND:NAME (e.g. services:orders, routes:*)"));
        };
        let (kind, name) = (kind.trim(), name.trim());
        if kind.is_empty() || name.is_empty() {
            return Err(format!("`{text}` is not KIND:NAME: the kind and the name must not be empty"));
        }
        Ok(Selector { kind: kind.to_owned(), name: name.to_owned() })
    }

    /// The dialect's kind this selector names; the error lists the kinds there are.
    pub fn resolve(&self, dialect: &dyn Dialect) -> Result<Kind, String> {
        let wanted = self.kind.as_str();
        dialect.kinds().iter().copied().find(|k| k.name() == wanted || k.singular() == wanted).ok_or_else(|| {
            let kinds: Vec<&str> = dialect.kinds().iter().map(|k| k.name()).collect();
            format!("`{self}`: {} has no kind `{wanted}`; its kinds are {}", dialect.product(), kinds.join(", "))
        })
    }

    /// Whether `change` (of kind `kind`, which this selector resolved to) is an entity this
    /// selector names.
    fn matches(&self, kind: Kind, change: &Change, dialect: &dyn Dialect) -> bool {
        if change.kind != kind {
            return false;
        }
        if self.name == "*" || self.name == change.id {
            return true;
        }
        let unquoted = |s: &str| s.replace('"', "");
        if self.name == change.key || unquoted(&self.name) == unquoted(&change.key) {
            return true;
        }
        let fields = change.after.as_ref().or(change.before.as_ref()).cloned().unwrap_or_default();
        let short = dialect.short_name(kind, &change.id, &fields);
        let short = short.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(&short);
        self.name == short
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

impl Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Selector, D::Error> {
        let text = String::deserialize(d)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The selection of a run: targets and excludes. Empty = the whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// `--target` selectors: keep these and what they depend on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Selector>,
    /// `--exclude` selectors: drop these and what depends on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Selector>,
}

impl Selection {
    /// Parses `--target` and `--exclude` arguments (see [`Selector::parse`]).
    pub fn parse(targets: &[String], excludes: &[String]) -> Result<Selection, String> {
        let parse = |v: &[String]| v.iter().map(|t| Selector::parse(t)).collect::<Result<Vec<_>, _>>();
        Ok(Selection { targets: parse(targets)?, excludes: parse(excludes)? })
    }

    /// Whether nothing is selected or excluded (the plan is kept whole).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// A plan narrowed by a [`Selection`], and what the user should be told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// The changes kept, in their original order.
    pub plan: Plan,
    /// Indices (in the original plan) of the changes kept.
    pub kept: Vec<usize>,
    /// Warnings: targeting is in effect, selectors that named no change, targets dropped
    /// because they depend on an excluded change.
    pub warnings: Vec<String>,
}

/// Narrows `plan` by `selection`. `deps[i]` lists the changes change `i` waits for (indices
/// into `plan.changes`). Errors: a selector naming a kind the dialect does not have.
pub fn select(
    plan: Plan,
    selection: &Selection,
    dialect: &dyn Dialect,
    deps: &[Vec<usize>],
) -> Result<Selected, String> {
    let n = plan.changes.len();
    let mut warnings = Vec::new();
    let matching = |s: &Selector| -> Result<Vec<usize>, String> {
        let kind = s.resolve(dialect)?;
        Ok((0..n).filter(|&i| s.matches(kind, &plan.changes[i], dialect)).collect())
    };
    let mut keep: BTreeSet<usize> = if selection.targets.is_empty() {
        (0..n).collect()
    } else {
        let mut seeds = Vec::new();
        for s in &selection.targets {
            let found = matching(s)?;
            if found.is_empty() {
                warnings.push(format!("warning: --target {s} names no entity with a change in this plan"));
            }
            seeds.extend(found);
        }
        closure(&seeds, deps)
    };
    let mut dependents = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n {
                dependents[d].push(i);
            }
        }
    }
    let mut dropped = BTreeSet::new();
    for s in &selection.excludes {
        let found = matching(s)?;
        if found.is_empty() {
            warnings.push(format!("warning: --exclude {s} names no entity with a change in this plan"));
        }
        dropped.extend(closure(&found, &dependents));
    }
    let targeted: BTreeSet<usize> = if selection.targets.is_empty() {
        BTreeSet::new()
    } else {
        let mut t = BTreeSet::new();
        for s in &selection.targets {
            t.extend(matching(s)?);
        }
        t
    };
    for &i in targeted.intersection(&dropped) {
        let c = &plan.changes[i];
        warnings.push(format!(
            "warning: {} {} is targeted but left out: it is excluded, or depends on an excluded change",
            c.kind.singular(),
            c.key
        ));
    }
    keep.retain(|i| !dropped.contains(i));
    if !selection.is_empty() {
        let pulled = keep.iter().filter(|i| !targeted.contains(i)).count();
        let mut w = format!(
            "warning: resource targeting is in effect: {} of {n} changes are planned{}. The plan may be \
             incomplete; use it for exceptional cases, then plan the whole configuration.",
            keep.len(),
            if selection.targets.is_empty() || pulled == 0 {
                String::new()
            } else {
                format!(" ({pulled} of them because a target depends on them)")
            }
        );
        if !dropped.is_empty() {
            w.push_str(&format!(" {} change(s) excluded.", dropped.len()));
        }
        warnings.insert(0, w);
    }
    let kept: Vec<usize> = keep.into_iter().collect();
    let Plan { changes, names } = plan;
    let wanted: BTreeSet<usize> = kept.iter().copied().collect();
    let changes = changes.into_iter().enumerate().filter(|(i, _)| wanted.contains(i)).map(|(_, c)| c).collect();
    Ok(Selected { plan: Plan { changes, names }, kept, warnings })
}

/// `seeds` and everything reachable from them through `edges`.
fn closure(seeds: &[usize], edges: &[Vec<usize>]) -> BTreeSet<usize> {
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut stack: Vec<usize> = seeds.to_vec();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        if let Some(next) = edges.get(i) {
            stack.extend(next.iter().copied().filter(|j| !seen.contains(j)));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, KindSpec};
    use crate::plan::tests_support::change;

    static SERVICES: KindSpec =
        KindSpec { dialect: "test", name: "services", singular: "service", rank: 0, foreign_keys: &[] };
    static ROUTES: KindSpec =
        KindSpec { dialect: "test", name: "routes", singular: "route", rank: 1, foreign_keys: &[] };
    static KINDS: [Kind; 2] = [Kind::of(&SERVICES), Kind::of(&ROUTES)];

    /// A dialect knowing only kinds and names; nothing else is called by selection.
    struct Names;

    impl Dialect for Names {
        fn name(&self) -> &'static str {
            "test"
        }
        fn product(&self) -> &'static str {
            "Test"
        }
        fn kinds(&self) -> &'static [Kind] {
            &KINDS
        }
        fn natural_key(
            &self,
            _: Kind,
            _: &serde_json::Map<String, serde_json::Value>,
            _: &dyn Fn(&str) -> Option<String>,
        ) -> Option<String> {
            None
        }
        fn short_name(&self, _: Kind, id: &str, fields: &serde_json::Map<String, serde_json::Value>) -> String {
            fields.get("name").and_then(|v| v.as_str()).map(|n| format!("\"{n}\"")).unwrap_or_else(|| id.to_owned())
        }
        fn label(&self, _: Kind, name: String, _: &[(&'static str, String)]) -> String {
            name
        }
        fn desired_body(
            &self,
            _: Kind,
            f: &serde_json::Map<String, serde_json::Value>,
            _: &std::collections::BTreeMap<&'static str, String>,
        ) -> serde_json::Map<String, serde_json::Value> {
            f.clone()
        }
        fn live_body(&self, e: &crate::model::Entity) -> serde_json::Map<String, serde_json::Value> {
            e.fields.clone()
        }
        fn comparable(
            &self,
            _: Kind,
            b: &serde_json::Map<String, serde_json::Value>,
        ) -> serde_json::Map<String, serde_json::Value> {
            b.clone()
        }
        fn shape<'a>(
            &'a self,
            _: Kind,
            _: &serde_json::Map<String, serde_json::Value>,
        ) -> Option<&'a dyn crate::gateway::FieldShape> {
            None
        }
        fn sensitivity<'a>(
            &'a self,
            _: Kind,
            _: &serde_json::Map<String, serde_json::Value>,
        ) -> Box<dyn Fn(&str) -> bool + 'a> {
            Box::new(|_| false)
        }
        fn may_hold_secrets(&self, _: Kind, _: &serde_json::Map<String, serde_json::Value>) -> bool {
            false
        }
        fn unique_values(&self, _: Kind, _: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
            Vec::new()
        }
        fn temporary_value(
            &self,
            _: Kind,
            _: &str,
            _: &serde_json::Value,
            _: &str,
        ) -> Option<(String, serde_json::Value)> {
            None
        }
        fn request(&self, _: crate::gateway::Write<'_>) -> crate::gateway::Request {
            crate::gateway::Request::new("GET", "/".into(), None)
        }
        fn finalize_request(&self, w: crate::gateway::Write<'_>) -> crate::gateway::Request {
            self.request(w)
        }
        fn own(&self, _: &mut [crate::model::Entity], _: &[String]) {}
        fn load(
            &self,
            _: &[crate::source::Input],
            _: &std::collections::BTreeMap<String, String>,
        ) -> Result<crate::source::Desired, crate::source::Diagnostics> {
            Err(crate::source::Diagnostics::default())
        }
        fn validate(&self, _: &crate::source::Desired) -> Vec<crate::source::Diagnostic> {
            Vec::new()
        }
        fn dump(
            &self,
            _: crate::model::State,
            _: &crate::gateway::DumpOptions,
        ) -> Result<crate::gateway::DumpOutput, String> {
            Err(String::new())
        }
    }

    fn of(kind: &'static KindSpec, name: &str, action: Action) -> Change {
        let mut c = change();
        c.kind = Kind::of(kind);
        c.id = format!("id-{name}");
        c.key = format!("\"{name}\"");
        c.action = action;
        let fields = serde_json::json!({"name": name}).as_object().cloned();
        if action == Action::Delete {
            c.before = fields;
        } else {
            c.after = fields;
        }
        c
    }

    /// services a, b (created); routes ra (of a), rb (of b); service old (deleted) with
    /// route rold deleted first.
    fn sample() -> (Plan, Vec<Vec<usize>>) {
        let changes = vec![
            of(&SERVICES, "a", Action::Create),
            of(&SERVICES, "b", Action::Create),
            of(&ROUTES, "ra", Action::Create),
            of(&ROUTES, "rb", Action::Create),
            of(&SERVICES, "old", Action::Delete),
            of(&ROUTES, "rold", Action::Delete),
        ];
        let deps = vec![vec![], vec![], vec![0], vec![1], vec![5], vec![]];
        (Plan { changes, names: Default::default() }, deps)
    }

    fn keys(s: &Selected) -> Vec<String> {
        s.plan.changes.iter().map(|c| c.key.replace('"', "")).collect()
    }

    fn run(targets: &[&str], excludes: &[&str]) -> Selected {
        let (plan, deps) = sample();
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let sel = Selection::parse(&own(targets), &own(excludes)).unwrap();
        select(plan, &sel, &Names, &deps).unwrap()
    }

    #[test]
    fn a_target_pulls_in_what_it_depends_on() {
        let s = run(&["routes:ra"], &[]);
        assert_eq!(keys(&s), ["a", "ra"]);
        assert_eq!(s.kept, [0, 2]);
        assert!(s.warnings[0].contains("2 of 6 changes are planned (1 of them because a target depends on them)"));
        // Deleting a parent pulls in the delete of its child, which must go first.
        assert_eq!(keys(&run(&["service:old"], &[])), ["old", "rold"]);
        // By id, by quoted label, every entity of a kind.
        assert_eq!(keys(&run(&["services:id-b"], &[])), ["b"]);
        assert_eq!(keys(&run(&["services:\"b\""], &[])), ["b"]);
        assert_eq!(keys(&run(&["routes:*"], &[])), ["a", "b", "ra", "rb", "rold"]);
    }

    #[test]
    fn an_exclude_drops_what_depends_on_it() {
        assert_eq!(keys(&run(&[], &["services:a"])), ["b", "rb", "old", "rold"]);
        assert_eq!(keys(&run(&[], &["routes:rold"])), ["a", "b", "ra", "rb"]);
        let s = run(&["routes:ra"], &["services:a"]);
        assert!(s.plan.changes.is_empty());
        assert!(s.warnings.iter().any(|w| w.contains("route \"ra\" is targeted but left out")), "{:?}", s.warnings);
    }

    #[test]
    fn unknown_kinds_and_names_are_reported() {
        let (plan, deps) = sample();
        let sel = Selection::parse(&["upstreams:x".into()], &[]).unwrap();
        let e = select(plan, &sel, &Names, &deps).unwrap_err();
        assert!(e.contains("Test has no kind `upstreams`; its kinds are services, routes"), "{e}");
        let s = run(&["services:nope"], &[]);
        assert!(s.plan.changes.is_empty());
        assert!(s.warnings.iter().any(|w| w.contains("--target services:nope names no entity")));
        assert!(Selector::parse("services").unwrap_err().contains("is not KIND:NAME"));
        assert!(Selector::parse(":x").is_err());
        assert!(run(&[], &[]).warnings.is_empty(), "no selection, no warning");
    }

    #[test]
    fn selections_round_trip_as_strings() {
        let sel = Selection::parse(&["services:a".into()], &["routes:*".into()]).unwrap();
        let json = serde_json::to_value(&sel).unwrap();
        assert_eq!(json, serde_json::json!({"targets": ["services:a"], "excludes": ["routes:*"]}));
        assert_eq!(serde_json::from_value::<Selection>(json).unwrap(), sel);
        assert_eq!(serde_json::to_value(Selection::default()).unwrap(), serde_json::json!({}));
    }
}
