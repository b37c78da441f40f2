//! Git as the source of truth: repositories built at test time with a history of tagged
//! commits, replayed, planned and applied by the real binary against the sandbox.

mod ledgers;
mod locks;
mod pg_ledger;
mod replay;
mod saved;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gateform::kong::deck::read::{LoadOptions, load};
use gateform::model::{Ref, State};
use gateform::source::Input;
use git2::{Repository, Signature, Time};
use serde_json::{Map, Value};

use crate::common::{Run, TestSandbox, gateform};

/// `gateform.toml` of the fixture repositories.
pub const SETTINGS: &str = r#"# Environments of the fixture repository.
[defaults]
parallelism = 4

[environments.prod]
path = "kong"

[environments.staging]
path = "kong"
select_tags = ["staging"]
"#;

pub const V1_SERVICES: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 8080
    protocol: http
    routes:
      - name: orders-api
        paths: [/orders]
  - name: billing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
        methods: [GET, POST]
"#;

pub const V1_CONSUMERS: &str = r#"_format_version: "3.0"
consumers:
  - username: alice
  - username: bob
    custom_id: bob-1
"#;

/// v2: orders changed (port, a second route, a plugin), billing removed, inventory added;
/// bob removed, carol added, alice given a custom id.
pub const V2_SERVICES: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 9090
    protocol: http
    plugins:
      - name: cors
        config:
          origins: ["https://shop.example"]
    routes:
      - name: orders-api
        paths: [/orders, /v2/orders]
      - name: orders-admin
        paths: [/admin/orders]
  - name: inventory
    host: inventory.internal
    routes:
      - name: inventory-api
        paths: [/inventory]
"#;

pub const V2_CONSUMERS: &str = r#"_format_version: "3.0"
consumers:
  - username: alice
    custom_id: alice-1
  - username: carol
"#;

/// v3: orders back on 8080 with retries and without its plugin or admin route, inventory
/// moved, billing back under a new route name; consumers split across two files.
pub const V3_SERVICES: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 8080
    protocol: http
    retries: 3
    routes:
      - name: orders-api
        paths: [/orders]
  - name: inventory
    host: inventory-v3.internal
    routes:
      - name: inventory-api
        paths: [/inventory]
        strip_path: false
  - name: billing
    host: billing.internal
    routes:
      - name: billing-v3
        paths: [/billing]
"#;

pub const V3_CONSUMERS: &str = r#"_format_version: "3.0"
consumers:
  - username: alice
    custom_id: alice-1
"#;

pub const V3_MORE_CONSUMERS: &str = r#"_format_version: "3.0"
consumers:
  - username: dave
    tags: [vip]
"#;

/// A repository in a temporary directory.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
}

impl Repo {
    /// An empty repository.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        Repo { dir, repo }
    }

    /// The standard fixture: v1, v2 and v3 tagged, with `gateform.toml` and a README.
    pub fn tagged() -> Repo {
        let r = Repo::new();
        r.commit(
            &[
                ("gateform.toml", Some(SETTINGS)),
                ("README.md", Some("# Gateway configuration\n")),
                ("kong/services.yaml", Some(V1_SERVICES)),
                ("kong/consumers/people.yaml", Some(V1_CONSUMERS)),
            ],
            "Orders and billing",
        );
        r.tag("v1");
        r.commit(
            &[("kong/services.yaml", Some(V2_SERVICES)), ("kong/consumers/people.yaml", Some(V2_CONSUMERS))],
            "Inventory replaces billing",
        );
        r.tag("v2");
        r.commit(
            &[
                ("kong/services.yaml", Some(V3_SERVICES)),
                ("kong/consumers/people.yaml", Some(V3_CONSUMERS)),
                ("kong/consumers/vip.yml", Some(V3_MORE_CONSUMERS)),
            ],
            "Billing is back",
        );
        r.tag("v3");
        r
    }

    /// The work tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The work tree as a string.
    pub fn path_str(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    /// Writes (`Some`) or deletes (`None`) files, stages them and commits on HEAD.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
        let mut index = self.repo.index().unwrap();
        for (path, text) in files {
            let full = self.path().join(path);
            match text {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(&full);
                    index.remove_path(Path::new(path)).unwrap();
                }
            }
        }
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::new("Ops Team", "ops@example.test", &Time::new(1_790_000_000, 0)).unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap().to_string()
    }

    /// Tags HEAD.
    pub fn tag(&self, name: &str) {
        let head = self.repo.head().unwrap().peel_to_commit().unwrap();
        let sig = Signature::new("Ops Team", "ops@example.test", &Time::new(1_790_000_000, 0)).unwrap();
        self.repo.tag(name, head.as_object(), &sig, &format!("Release {name}"), false).unwrap();
    }

    /// The commit id a revision names.
    pub fn commit_of(&self, rev: &str) -> String {
        self.repo.revparse_single(rev).unwrap().peel_to_commit().unwrap().id().to_string()
    }

    /// The configuration files under `kong/` at `rev`, as the loader reads them.
    pub fn inputs_at(&self, rev: &str) -> Vec<Input> {
        let git = gateform::source::git::open(&self.path_str(), Path::new("/nonexistent")).unwrap();
        let resolved = git.resolve(rev).unwrap();
        git.read_config(&resolved, Some("kong")).unwrap()
    }

    /// The current branch's name.
    pub fn branch(&self) -> String {
        self.repo.head().unwrap().shorthand().unwrap().to_owned()
    }
}

/// `(kind, natural key)` → fields, for every entity of a loaded configuration.
pub fn entities(state: &State) -> BTreeMap<(String, String), Map<String, Value>> {
    let key = |i: usize| -> String {
        let e = &state.entities[i];
        let own = ["name", "username"].iter().find_map(|k| e.fields.get(*k).and_then(Value::as_str)).unwrap_or("?");
        own.to_owned()
    };
    let mut out = BTreeMap::new();
    for (i, e) in state.entities.iter().enumerate() {
        let mut k = key(i);
        for (field, r) in &e.refs {
            if let Ref::Local(p) = r {
                k = format!("{k} ({field} {})", key(*p));
            }
        }
        let mut fields = e.fields.clone();
        fields.remove("id");
        let previous = out.insert((e.kind.table().to_owned(), k.clone()), fields);
        assert!(previous.is_none(), "two entities are {} {k}", e.kind);
    }
    out
}

/// Whether every field of `want` is in `got` with the same value (objects compared the
/// same way, recursively).
pub fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        _ => want == got,
    }
}

/// Dumps the gateway and checks that it holds exactly the entities of `repo` at `rev`
/// (same kinds and natural keys, and every field the tag writes, with its value), and that
/// a plan of the tag against the gateway is empty.
pub fn assert_gateway_matches(sb: &TestSandbox, repo: &Repo, rev: &str) {
    let out = tempfile::tempdir().unwrap();
    let dump = out.path().join("dump.yaml");
    gateform(&["dump", "--gateway", &sb.url, "-o", &dump.to_string_lossy()]).ok();
    let dumped = load(&[Input::new("dump.yaml", std::fs::read_to_string(&dump).unwrap())], &LoadOptions::default())
        .unwrap_or_else(|e| panic!("the dump loads: {e}"));
    let wanted = load(&repo.inputs_at(rev), &LoadOptions::default()).unwrap();
    let (got, want) = (entities(&dumped.state), entities(&wanted.state));
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "entities of the gateway vs {rev}");
    for (k, fields) in &want {
        let live = Value::Object(got[k].clone());
        assert!(subset(&Value::Object(fields.clone()), &live), "{k:?} at {rev}: want {fields:?}\n got {live}");
    }
    let plan = gateform(&["plan", "--repo", &repo.path_str(), "--ref", rev, "--env", "prod", "--gateway", &sb.url]);
    plan.ok();
    assert!(plan.stdout.contains("No changes."), "plan of {rev} after its replay:\n{}", plan.stdout);
}

/// `gateform replay --ref rev --env prod` against `sb`, recorded in `ledger`.
pub fn replay(sb: &TestSandbox, repo: &Repo, rev: &str, ledger: &Path) -> Run {
    gateform(&[
        "replay",
        "--repo",
        &repo.path_str(),
        "--ref",
        rev,
        "--env",
        "prod",
        "--gateway",
        &sb.url,
        "--ledger",
        &ledger.to_string_lossy(),
    ])
}

/// A ledger path in a fresh directory.
pub fn ledger_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("ledger.db")
}
