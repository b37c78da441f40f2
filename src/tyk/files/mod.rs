//! Tyk's file formats as desired state (`tyk.md` §4.2): a set of files becomes a list of
//! [`Document`]s (a classic API definition, a Tyk OAS API, a policy, or a certificate), each
//! with its identity, its bare JSON body (wrappers removed, `.tyk.json` overrides applied)
//! and its place, so that any field can be reported at `file:line:column`.
//!
//! Layouts read ([`layout`]): tyk-sync's (a `.tyk.json` index and the files it lists), the
//! gateway's own (`apps/*.json`, `policies/*.json` or a `policies.json` map keyed by id), and
//! loose files recognised by their content ([`shape`]). Texts are rendered with
//! `${{ env "DECK_X" }}` first ([`source`]). [`write`] is the way back: documents to a
//! tyk-sync layout, secrets as placeholders ([`secrets`]).
//!
//! Identity: classic `api_id`, OAS `x-tyk-api-gateway.info.id`, policy `id`, certificate
//! `<org_id>` + SHA-256 of its first certificate. Nothing is made up: a document without an
//! id is an error at its place. The only derivations are Tyk's own: a policy with an empty
//! `id` takes its 24-hex `_id` (`model.EnsurePolicyId`), and a policy in a `policies.json`
//! map takes its map key (`LoadPoliciesFromFile`).

pub mod layout;
pub mod pem;
pub mod secrets;
pub mod shape;
pub mod source;
pub mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::model::Origin;
use crate::source::diag::Diagnostic;
use source::SourceDoc;

pub use layout::{FileSet, read_path, read_set};

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A Tyk classic API definition (`apidef.APIDefinition`).
    ClassicApi,
    /// A Tyk OAS API definition (OpenAPI with `x-tyk-api-gateway`).
    OasApi,
    /// A policy (`user.Policy`).
    Policy,
    /// A certificate for `/tyk/certs`: body `{"org_id": ..., "pem": ...}`.
    Certificate,
}

impl DocKind {
    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            DocKind::ClassicApi => "API",
            DocKind::OasApi => "OAS API",
            DocKind::Policy => "policy",
            DocKind::Certificate => "certificate",
        }
    }

    /// Kinds that share one id space (classic and OAS APIs share `api_id`).
    fn id_space(self) -> u8 {
        match self {
            DocKind::ClassicApi | DocKind::OasApi => 0,
            DocKind::Policy => 1,
            DocKind::Certificate => 2,
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One desired object, read from a file.
#[derive(Debug, Clone)]
pub struct Document {
    /// What it is.
    pub kind: DocKind,
    /// Its identity (see the module documentation).
    pub id: String,
    /// The bare body: a classic definition, a whole OAS document, a policy, or
    /// `{"org_id", "pem"}` for a certificate.
    pub body: Value,
    /// Where the document starts.
    pub origin: Origin,
    source: Arc<SourceDoc>,
    /// JSON pointer of the body inside its file (`/api_definition`, `/oas`, `/<map key>`).
    base: String,
    /// Fields set from elsewhere (a `.tyk.json` override), by pointer into the body.
    overrides: Vec<(String, Origin)>,
}

impl Document {
    fn new(kind: DocKind, body: Value, source: Arc<SourceDoc>, base: String) -> Document {
        let origin = source.origin_at(&base);
        Document { kind, id: String::new(), body, origin, source, base, overrides: Vec::new() }
    }

    /// The file the document was read from.
    pub fn file(&self) -> &str {
        &self.source.name
    }

    /// Where the field at `pointer` (a JSON pointer into [`Document::body`], `""` for the
    /// whole body) was written: the override that set it, its value in the file, or the
    /// nearest enclosing object that exists.
    pub fn origin_of(&self, pointer: &str) -> Origin {
        if let Some((_, o)) = self.overrides.iter().find(|(p, _)| pointer == p || pointer.starts_with(&format!("{p}/")))
        {
            return o.clone();
        }
        self.source.origin_at(&format!("{}{pointer}", self.base))
    }

    /// Sets a field from elsewhere, remembering where.
    fn set_override(&mut self, pointer: &str, value: Value, origin: Origin) {
        if let Some(slot) = pointer_slot(&mut self.body, pointer) {
            *slot = value;
        }
        self.overrides.push((pointer.to_owned(), origin));
    }

    /// `API "abc"`, `policy "p1"`, as messages name the document.
    pub fn describe(&self) -> String {
        format!("{} {:?}", self.kind.label(), self.id)
    }

    /// The pointer to the id field in the body.
    pub fn id_pointer(kind: DocKind) -> &'static str {
        match kind {
            DocKind::ClassicApi => "/api_id",
            DocKind::OasApi => "/x-tyk-api-gateway/info/id",
            DocKind::Policy => "/id",
            DocKind::Certificate => "",
        }
    }

    /// What a dump writes for this document.
    pub fn entry(&self) -> write::Entry<'_> {
        write::Entry { kind: self.kind, id: &self.id, body: &self.body }
    }
}

/// The slot at a JSON pointer, creating objects on the way.
fn pointer_slot<'a>(v: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        cur = cur.as_object_mut()?.entry(token).or_insert(Value::Null);
    }
    Some(cur)
}

/// Everything read from a file set.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// The documents, in file order.
    pub docs: Vec<Document>,
    /// Warnings (files not read, parts ignored).
    pub warnings: Vec<Diagnostic>,
    /// Every value `${{ env }}` produced (secrets to scrub from output).
    pub env_values: Vec<String>,
}

/// How to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Variables `${{ env "DECK_X" }}` may read.
    pub env: BTreeMap<String, String>,
}

/// Reports every id used twice in one id space (APIs, policies, certificates), at the
/// second document, naming the first.
fn check_duplicates(docs: &[Document], diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(u8, &str), &Document> = BTreeMap::new();
    for d in docs {
        match seen.get(&(d.kind.id_space(), d.id.as_str())) {
            Some(first) => diags.push(Diagnostic::error(
                Some(d.origin_of(Document::id_pointer(d.kind))),
                format!("{} is defined twice: here and at {}", d.describe(), first.origin),
            )),
            None => {
                seen.insert((d.kind.id_space(), d.id.as_str()), d);
            }
        }
    }
}
