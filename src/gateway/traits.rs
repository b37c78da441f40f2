//! The traits a dialect implements, and the plain data that crosses the seam.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::http::HttpError;
use crate::model::{Action, Entity, Kind, State};
use crate::source::Desired;
use crate::source::{Diagnostic, Diagnostics, Input};

/// Facts a gateway gives about itself when a session opens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayInfo {
    /// The product, as messages name it (`Kong`, `Tyk`).
    pub product: String,
    /// Its version (`3.9.3`), or `unknown`.
    pub version: String,
    /// Why entities cannot be written one by one (a DB-less Kong node), if they cannot.
    pub read_only: Option<String>,
    /// An identifier of the node or cluster, when the gateway gives one (Kong's `node_id`).
    pub node_id: Option<String>,
}

/// What to read: the ownership scope and the entities wanted for reference resolution only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only live entities carrying every one of these tags (or the dialect's ownership
    /// marker) are read, compared and deleted; every entity when empty.
    pub select_tags: Vec<String>,
    /// Kinds whose entities carrying any of these tags are read to resolve references only,
    /// never owned (decK's `_info.default_lookup_tags`).
    pub lookup_tags: BTreeMap<Kind, Vec<String>>,
    /// The `(kind, id)` of every entity the configuration declares with an id. A dialect
    /// whose ownership marker lives in the entity itself (Tyk) reads a live entity that
    /// carries no marker but has one of these ids into the scope, so that the plan adopts it
    /// (an update that adds the marker) rather than overwriting it with a create; every
    /// other unmarked entity is read for reference only and never deleted.
    pub declared: BTreeSet<(Kind, String)>,
}

/// The live state in scope, as a session read it.
#[derive(Debug, Clone)]
pub struct Live {
    /// Gateway facts.
    pub info: GatewayInfo,
    /// Entities in scope, with `id` set and references as [`crate::model::Ref::Id`].
    pub state: State,
    /// Entities read only for reference resolution.
    pub lookup: State,
}

/// One HTTP request: method, path (with leading `/`) and JSON body, and the kind of the
/// entity it writes (so its failures and logs can be redacted by that kind's secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `PUT`, `PATCH`, `POST` or `DELETE`.
    pub method: String,
    /// The path, e.g. `/services/<id>`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The kind of the entity written, when the request carries out a change.
    pub kind: Option<Kind>,
}

impl Request {
    /// A request.
    pub fn new(method: &str, path: String, body: Option<Value>) -> Self {
        Request { method: method.to_owned(), path, body, kind: None }
    }
}

/// What a dialect needs to know about one change to build its request.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// Create, update or delete.
    pub action: Action,
    /// The kind.
    pub kind: Kind,
    /// The entity's id.
    pub id: &'a str,
    /// The body to send (creates and updates): borrowed from a change that keeps it, or
    /// given up by one that does not (the request then owns it, uncopied).
    pub body: Option<Cow<'a, Map<String, Value>>>,
    /// Parent ids by foreign-key field: the desired ones, else the live ones.
    pub parents: &'a BTreeMap<&'static str, String>,
}

/// The error of one step: the gateway's answer (status and body) or why there was none.
pub type StepError = HttpError;

/// What the differ needs to know about the fields of an entity (a dialect's schema), one
/// record at a time.
pub trait FieldShape {
    /// The field `name` of this record; `None` when the record does not know it (the
    /// differ ignores unknown fields of the live side).
    fn child(&self, name: &str) -> Option<&dyn FieldShape>;
    /// Whether the record lists its fields (when not, every key is known).
    fn lists_fields(&self) -> bool;
    /// Whether an object value of this field is compared field by field (a record), rather
    /// than as a whole (a map).
    fn is_record(&self) -> bool;
    /// Whether the gateway fills the field when the configuration leaves it out (Kong's
    /// `auto`), so that its absence on the desired side is no difference.
    fn generated(&self) -> bool;
}

/// Options of a dump (the dialect's file format, written from live state).
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// JSON rather than the dialect's default (YAML for decK).
    pub json: bool,
    /// Write every entity's id.
    pub with_ids: bool,
    /// Ownership tags to record in the file.
    pub select_tags: Vec<String>,
    /// Write secret values themselves instead of placeholders.
    pub include_secrets: bool,
    /// The process environment (values of `DECK_*` variables become placeholders too).
    pub env: BTreeMap<String, String>,
}

/// A dump: the files to write (one, for decK; several for a tyk-sync layout) and notes for
/// the user (the placeholder variables to set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOutput {
    /// `(relative path, text)`; a single-file format gives one entry with an empty path.
    pub files: Vec<(String, String)>,
    /// Lines to print on stderr.
    pub notes: Vec<String>,
}

/// Everything about a gateway that needs no I/O. A value carries the schema knowledge it
/// was built with (the bundled one, or what a live gateway served).
pub trait Dialect: Send + Sync {
    /// The dialect's name (`kong`, `tyk`), also [`crate::model::KindSpec::dialect`].
    fn name(&self) -> &'static str;
    /// The product, as messages name it (`Kong`).
    fn product(&self) -> &'static str;
    /// Every kind, in dependency order.
    fn kinds(&self) -> &'static [Kind];
    /// The kind of this name.
    fn kind(&self, name: &str) -> Option<Kind> {
        self.kinds().iter().copied().find(|k| k.name() == name)
    }

    /// The natural key by which an entity without id matches a live one, unique among the
    /// entities of its kind; `None` when it has none. `parent` gives the id of the parent
    /// behind a foreign-key field.
    fn natural_key(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        parent: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String>;
    /// Whether the natural key of `kind` is made of a secret (a key-auth credential's key):
    /// it then matches entities but never seeds a derived id.
    fn secret_key(&self, _kind: Kind) -> bool {
        false
    }
    /// A second key to match by when the natural key matched nothing, accepted only when the
    /// live entity's natural key is absent or equal (Kong: a consumer's `custom_id`).
    fn secondary_key(&self, _kind: Kind, _fields: &Map<String, Value>) -> Option<String> {
        None
    }
    /// The id an entity of `kind` has by construction from its parents, when the gateway
    /// gives it none (Kong's consumer-group memberships).
    fn derived_id(&self, _kind: Kind, _parents: &BTreeMap<&'static str, String>) -> Option<String> {
        None
    }
    /// The entity's short name for messages: its name-like field quoted, else its id.
    fn short_name(&self, kind: Kind, id: &str, fields: &Map<String, Value>) -> String;
    /// The full label of an entity from its short name and the labels of its parents
    /// (`(field, label)` in field order): `"cors" (service "a")`.
    fn label(&self, kind: Kind, name: String, scope: &[(&'static str, String)]) -> String;

    /// The body to send for a desired entity: shorthands expanded, defaults filled,
    /// references written as the gateway takes them.
    fn desired_body(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        parents: &BTreeMap<&'static str, String>,
    ) -> Map<String, Value>;
    /// The body of a live entity, references written as in [`Dialect::desired_body`].
    fn live_body(&self, entity: &Entity) -> Map<String, Value>;
    /// The comparable form of a body: server-owned fields removed, sets sorted, numbers
    /// canonical.
    fn comparable(&self, kind: Kind, body: &Map<String, Value>) -> Map<String, Value>;
    /// [`Dialect::comparable`] of a body the caller no longer needs: a dialect may reuse it
    /// rather than copy it.
    fn comparable_owned(&self, kind: Kind, body: Map<String, Value>) -> Map<String, Value> {
        self.comparable(kind, &body)
    }
    /// The fields of `fields` that select its schema (a plugin's `name`): creates show only
    /// fields that differ from the defaults of that minimal entity.
    fn minimal(&self, _kind: Kind, _fields: &Map<String, Value>) -> Map<String, Value> {
        Map::new()
    }
    /// The shape of an entity with this body, when known.
    fn shape<'a>(&'a self, kind: Kind, body: &Map<String, Value>) -> Option<&'a dyn FieldShape>;
    /// Whether a desired value equals a live one the gateway stores transformed (a hashed
    /// password); `parents` are the entity's parent ids.
    fn equal(
        &self,
        _kind: Kind,
        _path: &str,
        _desired: &Value,
        _live: &Value,
        _parents: &BTreeMap<&'static str, String>,
    ) -> bool {
        false
    }
    /// Which dotted paths of an entity with this body hold secrets.
    fn sensitivity<'a>(&'a self, kind: Kind, body: &Map<String, Value>) -> Box<dyn Fn(&str) -> bool + 'a>;
    /// Removes from the error body of a refused request what could reveal a secret of the
    /// entity sent (`sent`, a body of `kind`). By default every occurrence of a secret value
    /// of `sent`, however short, in any string of the error is masked; a dialect adds the
    /// error shapes it knows (Kong's `fields` object).
    fn redact_failure(&self, kind: Kind, sent: &Value, error: &mut Value) {
        crate::secrets::redact_echoes(self, kind, sent, error);
    }
    /// Whether an entity with this body can hold a secret at all (a quick test).
    fn may_hold_secrets(&self, kind: Kind, body: &Map<String, Value>) -> bool;

    /// Whether a live entity with this body is protected from deletion, so that a plan
    /// destroying it fails (Terraform's `prevent_destroy`). None is, by default; a dialect
    /// whose entities carry tags protects those tagged [`crate::plan::guard::PROTECT_TAG`].
    fn protected(&self, _kind: Kind, _body: &Map<String, Value>) -> bool {
        false
    }

    /// References carried inside a body rather than as foreign keys: `(kind, id)`.
    fn body_refs(&self, _kind: Kind, _body: &Map<String, Value>) -> Vec<(Kind, String)> {
        Vec::new()
    }
    /// The unique values an entity with this body (id included) holds: `(constraint,
    /// value)`, where a constraint names a unique field or composite key.
    fn unique_values(&self, kind: Kind, body: &Map<String, Value>) -> Vec<(String, String)>;
    /// A temporary value to stand in for the unique value `real` of `constraint` while
    /// another entity still holds it: `(field, value)`; `None` when none can.
    fn temporary_value(&self, kind: Kind, constraint: &str, real: &Value, id: &str) -> Option<(String, Value)>;
    /// The addresses by which [`Session::lookup`] finds an entity with this id and body
    /// regardless of scope: its id and any unique name that is no secret. Empty when the
    /// gateway cannot address it alone (an entity nested under its parent).
    fn addresses(&self, _kind: Kind, _id: &str, _body: &Map<String, Value>) -> Vec<String> {
        Vec::new()
    }
    /// The request that carries out a change.
    fn request(&self, write: Write<'_>) -> Request;
    /// The request that sets the real unique values after a first step wrote temporary
    /// ones; its body is filled by the caller.
    fn finalize_request(&self, write: Write<'_>) -> Request;

    /// Marks desired entities as owned by the scope `select_tags` (Kong: the tags are added
    /// to every entity that carries tags), for a scope given outside the files.
    fn own(&self, entities: &mut [Entity], select_tags: &[String]);
    /// Reads configuration files of the dialect's format into the desired state. `env`
    /// holds the variables templates may read.
    fn load(&self, inputs: &[Input], env: &BTreeMap<String, String>) -> Result<Desired, Diagnostics>;
    /// Validates a loaded configuration against the dialect's schemas, offline.
    fn validate(&self, desired: &Desired) -> Vec<Diagnostic>;
    /// Writes live state in the dialect's file format.
    fn dump(&self, state: State, opts: &DumpOptions) -> Result<DumpOutput, String>;
    /// Problems of a configuration that only the gateway's content shows and that the
    /// dialect's rules forbid (Tyk: references inside bodies to objects that will not be
    /// there, unique values held by entities the plan leaves alone), each at the place in
    /// the files that causes it. Called after the live state is read, before planning; any
    /// error refuses the plan. Nothing by default.
    fn check_live(&self, _desired: &State, _live: &Live) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// How to reach the gateway of a run.
#[derive(Debug, Clone, Default)]
pub struct GatewayTarget {
    /// Admin API base URL.
    pub url: String,
    /// Headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Settings of the dialect, by name (Tyk: `reload` = `group` | `node`); a dialect
    /// refuses a name it does not know.
    pub options: BTreeMap<String, String>,
}

/// An in-process sandbox a rehearsal runs against; stopped on [`SandboxHandle::shutdown`].
#[async_trait::async_trait]
pub trait SandboxHandle: Send + Sync {
    /// Its Admin API base URL.
    fn url(&self) -> String;
    /// Headers a session needs to talk to it (a Tyk sandbox's secret); they replace the
    /// run's headers of the same name. None by default.
    fn headers(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Stops it.
    async fn shutdown(self: Box<Self>);
}

/// How the nodes of one environment hold their configuration, which decides how a run
/// writes to several of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeSharing {
    /// One store behind every node (Kong with a database; Tyk nodes loading the same
    /// definitions): changes go through one node, [`Session::group_barrier`] makes them
    /// effective on all, then every node is read until it serves the result.
    #[default]
    Shared,
    /// Each node holds its own configuration (Kong DB-less): each node is planned, written
    /// and verified on its own, a few at a time, and a failure leaves the rest untouched.
    PerNode,
}

/// One entity a gateway refused while loading a whole configuration, as the gateway named
/// it (Kong DB-less: one entry of `flattened_errors`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityError {
    /// Its kind, when the gateway's name for it is known.
    pub kind: Option<Kind>,
    /// Its id, when the gateway gave one.
    pub id: Option<String>,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// The gateway's messages, `field: message` for field errors.
    pub messages: Vec<String>,
}

/// One open connection to one gateway.
#[async_trait::async_trait]
pub trait Session: Send + Sync {
    /// What the gateway said about itself when the session opened.
    fn info(&self) -> &GatewayInfo;
    /// The dialect, with the gateway's own schema knowledge.
    fn dialect(&self) -> Arc<dyn Dialect>;
    /// The gateway's base URL.
    fn url(&self) -> &str;
    /// Reads the live state in scope.
    async fn read(&self, scope: &Scope) -> Result<Live, HttpError>;
    /// Whether [`Session::read`] looks at [`Scope::declared`]. When it does not, the engine
    /// starts reading while the configuration loads, in the scope the run was given, and
    /// keeps that read when the configuration names the same scope.
    fn reads_declared(&self) -> bool {
        true
    }
    /// Reads one entity of `kind` by an address of [`Dialect::addresses`] (its id, or a
    /// unique name), whatever the ownership scope; `None` when the gateway has none.
    async fn lookup(&self, kind: Kind, address: &str) -> Result<Option<Entity>, HttpError>;
    /// Sends one step's request, applying the gateway's tolerance rules (what a 404 on
    /// delete or a 409 on create means).
    async fn execute(&self, request: &Request) -> Result<(), StepError>;
    /// Runs after every write of an apply (Tyk's reload); nothing by default.
    async fn barrier(&self) -> Result<(), StepError> {
        Ok(())
    }
    /// Entities outside the ownership `scope` attached to entities of `live` (the state in
    /// scope): an untagged plugin on a managed service. gateform neither changes nor deletes
    /// them, but they act on what they hang on and go with it, so drift reports them. None
    /// by default, and none without a scope.
    async fn attached_outside(&self, _scope: &Scope, _live: &State) -> Result<Vec<Entity>, HttpError> {
        Ok(Vec::new())
    }
    /// The barrier of an apply to an environment of `nodes` nodes that share one store,
    /// sent through this session's node (Tyk: a group reload); [`Session::barrier`] by
    /// default.
    async fn group_barrier(&self, _nodes: usize) -> Result<(), StepError> {
        self.barrier().await
    }
    /// Makes every node of a shared store load what the store holds, when a run has nothing
    /// to write but some node serves something else (Tyk: a group reload). Nothing by
    /// default: nodes of a shared database catch up by themselves.
    async fn catch_up(&self) -> Result<(), StepError> {
        Ok(())
    }
    /// How this gateway's nodes hold their configuration; [`NodeSharing::Shared`] by
    /// default.
    fn sharing(&self) -> NodeSharing {
        NodeSharing::Shared
    }
    /// Whether [`Session::execute`] only records the steps and the barrier carries them
    /// out all at once (a gateway that loads whole configurations): when the barrier
    /// fails, none of the steps took effect. `false` by default.
    fn writes_at_barrier(&self) -> bool {
        false
    }
    /// The entities a failed barrier names, with the gateway's messages; empty by default.
    fn barrier_errors(&self, _error: &StepError) -> Vec<EntityError> {
        Vec::new()
    }
    /// An identifier of the configuration the gateway serves, when it gives one (Kong
    /// DB-less: `configuration_hash` of `GET /status`, 32 hex digits); `None` by default.
    /// Read right after a barrier and again when verifying, it shows that the node still
    /// serves what was pushed; across nodes, equal values mean equal configurations.
    async fn served_version(&self) -> Result<Option<String>, HttpError> {
        Ok(None)
    }
    /// Asks the gateway to validate a configuration, entity by entity; the problems found.
    async fn validate_online(&self, desired: &Desired) -> Vec<Diagnostic>;
    /// Requests sent so far (retries included).
    fn request_count(&self) -> u64;
    /// Requests answered so far, by HTTP status (`0` = no answer).
    fn requests_by_status(&self) -> BTreeMap<u16, u64>;
}

/// How to reach the gateways of one dialect.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The dialect's name.
    fn name(&self) -> &'static str;
    /// The dialect with its bundled schema knowledge (offline use), under the target's
    /// `options` (see [`GatewayTarget::options`]). Errors: an option the dialect does not
    /// have, or a value it cannot use (the message says which).
    fn bundled(&self, options: &BTreeMap<String, String>) -> Result<Arc<dyn Dialect>, String>;
    /// Opens a session. A dialect may fetch only the schema knowledge the configuration
    /// needs: `mentions(name)` says whether it mentions `name` (a plugin's, say). Fails when
    /// the gateway cannot be reached or does not look like one of this dialect's.
    async fn connect(
        &self,
        target: &GatewayTarget,
        mentions: &(dyn for<'n> Fn(&'n str) -> bool + Sync),
    ) -> Result<Box<dyn Session>, HttpError>;
    /// Starts an empty in-process sandbox of this gateway on an ephemeral loopback port.
    async fn start_sandbox(&self) -> Result<Box<dyn SandboxHandle>, String>;
}
