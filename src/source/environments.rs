//! `gateform.toml`: named environments (settings, not desired state).
//!
//! ```toml
//! # Optional: values every environment starts from.
//! [defaults]
//! parallelism = 10
//!
//! [environments.staging]
//! gateway = "https://kong-admin.staging.example:8444"
//! path = "kong/staging"              # sub-directory of the repository
//! select_tags = ["platform"]
//! parallelism = 5
//! headers = { "Kong-Admin-Token" = "${STAGING_KONG_TOKEN}" }
//! dialect = "kong"                   # or "tyk"; default: asked of the gateway
//! options = { reload = "group" }     # settings of the dialect (Tyk: reload group|node;
//!                                    # Kong: custom_plugins = "my-auth,my-log")
//!
//! [environments.prod]
//! gateways = ["http://kong-1:8001", "http://kong-2:8001"]   # every node, instead of `gateway`
//! rto = "15m"                        # the recovery-time objective `gateform drill` checks
//!
//! # Optional: where the history and locks live (default: .gateform/ledger.db).
//! [ledger]
//! url = "${GATEFORM_PG_URL}"         # postgres://user@host/db, or a SQLite file
//! ```
//!
//! Every key is optional. `gateway` and header values may reference environment variables
//! as `${NAME}`; an unset variable is an error. Secrets must never be written inline: a
//! header whose name looks like a credential (`Authorization`, `*token*`, `*key*`,
//! `*secret*`, `*password*`, `Cookie`) must take its value from a variable, or the file is
//! refused. Unknown keys, wrong types and bad values are reported as
//! `gateform.toml:LINE:COLUMN: error: ...`. A `[ledger] url` with a literal password is
//! refused the same way: the password comes from a variable (`${PG_URL}`, or a
//! `${PG_PASSWORD}` inside the URL), `PGPASSWORD` or a password file (`PGPASSFILE`).
//!
//! Precedence (applied by the CLI): a command-line flag, then the environment's entry,
//! then `[defaults]`, then gateform's built-in default.
//!
//! `[watch]` and `[environments.NAME.watch]` configure `gateform watch` (see
//! [`WatchPolicy`] and [`WatchSettings`]).

mod watch;

use std::collections::BTreeMap;
use std::ops::Range;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::diag::Diagnostic;
use super::inputs::Input;
use crate::model::Origin;

pub use watch::{
    CommitStatusSettings, DEFAULT_DRIFT_INTERVAL, DEFAULT_JITTER, DEFAULT_LISTEN, DEFAULT_MAX_DESTROY,
    DEFAULT_POLL_INTERVAL, DriftMode, EventKind, Forge, MaxDestroy, NotificationTarget, Secret, WatchPolicy,
    WatchSettings,
};

/// The settings file's name, at the repository root (or the current directory).
pub const FILE_NAME: &str = "gateform.toml";

/// Why an environment could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The file is not valid: syntax, unknown key, wrong type, bad value, inline secret.
    #[error("{0}")]
    Invalid(Diagnostic),
    /// `--env` names an environment the file does not define.
    #[error("{file} defines no environment \"{name}\" (defined: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownEnvironment {
        /// The file's name.
        file: String,
        /// The name asked for.
        name: String,
        /// The names defined, sorted.
        known: Vec<String>,
    },
    /// A `${NAME}` reference names a variable that is not set.
    #[error("{0}")]
    UnsetVariable(Diagnostic),
}

/// One environment, with `[defaults]` applied and variables expanded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// Admin API address (or `sandbox`); with `gateways`, the first node's.
    pub gateway: Option<String>,
    /// The addresses of the environment's other nodes (`gateways` after the first).
    pub other_gateways: Vec<String>,
    /// The recovery-time objective (`rto`): how long a verified restore may take.
    pub rto: Option<std::time::Duration>,
    /// Sub-directory of the repository (or, without a repository, of the directory holding
    /// the settings file) that holds its configuration.
    pub path: Option<String>,
    /// Ownership tags.
    pub select_tags: Option<Vec<String>>,
    /// Headers sent with every request, `(name, value)`, values expanded.
    pub headers: Vec<(String, String)>,
    /// How many requests may run at once.
    pub parallelism: Option<usize>,
    /// The gateway's dialect (`kong`, `tyk`), when the entry names one, and where.
    pub dialect: Option<(String, Origin)>,
    /// Settings of the dialect (`options = { reload = "node" }`), values expanded.
    pub options: BTreeMap<String, String>,
}

/// A parsed `gateform.toml`.
#[derive(Debug, Clone)]
pub struct Settings {
    file: String,
    text: String,
    defaults: Raw,
    environments: BTreeMap<String, Raw>,
    ledger: Option<Spanned<String>>,
    watch: watch::RawWatch,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: Option<Raw>,
    #[serde(default)]
    environments: BTreeMap<Spanned<String>, Raw>,
    #[serde(default)]
    ledger: Option<RawLedger>,
    watch: Option<watch::RawWatch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    url: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    gateway: Option<Spanned<String>>,
    gateways: Option<Spanned<Vec<Spanned<String>>>>,
    rto: Option<Spanned<toml::Value>>,
    path: Option<String>,
    select_tags: Option<Vec<String>>,
    #[serde(default)]
    headers: IndexMap<String, Spanned<String>>,
    parallelism: Option<Spanned<i64>>,
    dialect: Option<Spanned<String>>,
    #[serde(default)]
    options: IndexMap<String, Spanned<String>>,
    watch: Option<Spanned<watch::RawWatch>>,
}

impl Settings {
    /// Parses and checks `input` (its name is used in messages).
    pub fn parse(input: &Input) -> Result<Settings, SettingsError> {
        let at = |span: Option<Range<usize>>, message: String| {
            SettingsError::Invalid(Diagnostic::error(span.map(|s| origin(input, s.start)), message))
        };
        let raw: RawFile = toml::from_str(&input.text)
            .map_err(|e| at(e.span(), super::suggest::unknown_field_message(e.message().trim())))?;
        let mut environments = BTreeMap::new();
        for (name, env) in raw.environments {
            let valid = !name.get_ref().is_empty()
                && name.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(at(
                    Some(name.span()),
                    format!("invalid environment name {:?}: use letters, digits, `-`, `_` and `.`", name.get_ref()),
                ));
            }
            check(&env, &format!("environment \"{}\"", name.get_ref()), &at)?;
            if let Some(w) = &env.watch {
                watch::check(w.get_ref(), &format!("[environments.{}.watch]", name.get_ref()), false, &at)?;
            }
            environments.insert(name.into_inner(), env);
        }
        let defaults = raw.defaults.unwrap_or_default();
        check(&defaults, "[defaults]", &at)?;
        if let Some(w) = &defaults.watch {
            return Err(at(
                Some(w.span()),
                "watch settings go in [watch] (or [environments.NAME.watch]), not in [defaults]".into(),
            ));
        }
        let watch = raw.watch.unwrap_or_default();
        watch::check(&watch, "[watch]", true, &at)?;
        let ledger = raw.ledger.and_then(|l| l.url);
        if let Some(url) = &ledger {
            check_ledger_url(url.get_ref()).map_err(|m| at(Some(url.span()), m))?;
        }
        Ok(Settings { file: input.name.clone(), text: input.text.clone(), defaults, environments, ledger, watch })
    }

    /// `[ledger] url`, with `${NAME}` references expanded by `vars`: a `postgres://` URL
    /// or a SQLite file path; `None` when the file has none.
    pub fn ledger_url(&self, vars: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, SettingsError> {
        let Some(url) = &self.ledger else { return Ok(None) };
        let expanded = expand(url.get_ref(), vars).map_err(|var| {
            let input = Input::new(self.file.clone(), self.text.clone());
            SettingsError::UnsetVariable(Diagnostic::error(
                Some(origin(&input, url.span().start)),
                format!("[ledger] url uses ${{{var}}}, which is not set"),
            ))
        })?;
        Ok(Some(expanded))
    }

    /// The names of the environments, sorted.
    pub fn names(&self) -> Vec<String> {
        self.environments.keys().cloned().collect()
    }

    /// The environment `name`, over `[defaults]`, with `${NAME}` references expanded by
    /// `vars` (the CLI passes the process environment).
    pub fn environment(&self, name: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<Environment, SettingsError> {
        let Some(env) = self.environments.get(name) else {
            return Err(SettingsError::UnknownEnvironment {
                file: self.file.clone(),
                name: name.to_owned(),
                known: self.names(),
            });
        };
        let d = &self.defaults;
        let expand = |v: &Spanned<String>, what: &str| -> Result<String, SettingsError> {
            expand(v.get_ref(), vars).map_err(|var| {
                let input = Input::new(self.file.clone(), self.text.clone());
                SettingsError::UnsetVariable(Diagnostic::error(
                    Some(origin(&input, v.span().start)),
                    format!("{what} of environment \"{name}\" uses ${{{var}}}, which is not set"),
                ))
            })
        };
        // The environment's `gateway` or `gateways`, else those of `[defaults]`.
        let own = env.gateway.is_some() || env.gateways.is_some();
        let (single, list) = if own { (&env.gateway, &env.gateways) } else { (&d.gateway, &d.gateways) };
        let mut nodes = Vec::new();
        for g in single.iter().chain(list.iter().flat_map(|l| l.get_ref())) {
            nodes.push(expand(g, "gateway")?);
        }
        let mut nodes = nodes.into_iter();
        let gateway = nodes.next();
        let rto = match env.rto.as_ref().or(d.rto.as_ref()) {
            Some(v) => Some(watch::duration(v, "rto", &format!("environment \"{name}\""), &|span, m| {
                let input = Input::new(self.file.clone(), self.text.clone());
                SettingsError::Invalid(Diagnostic::error(span.map(|s| origin(&input, s.start)), m))
            })?),
            None => None,
        };
        let mut headers: IndexMap<String, &Spanned<String>> = IndexMap::new();
        for (k, v) in d.headers.iter().chain(&env.headers) {
            // Header names are case-insensitive: the environment's entry replaces the default's.
            headers.retain(|existing, _| !existing.eq_ignore_ascii_case(k));
            headers.insert(k.clone(), v);
        }
        let mut expanded = Vec::with_capacity(headers.len());
        for (k, v) in headers {
            expanded.push((k.clone(), expand(v, &format!("header `{k}`"))?));
        }
        let mut options = BTreeMap::new();
        for (k, v) in d.options.iter().chain(&env.options) {
            options.insert(k.clone(), expand(v, &format!("option `{k}`"))?);
        }
        let input = Input::new(self.file.clone(), self.text.clone());
        let dialect = env
            .dialect
            .as_ref()
            .or(d.dialect.as_ref())
            .map(|v| (v.get_ref().trim().to_ascii_lowercase(), origin(&input, v.span().start)));
        Ok(Environment {
            name: name.to_owned(),
            gateway,
            other_gateways: nodes.collect(),
            rto,
            path: env.path.clone().or_else(|| d.path.clone()),
            select_tags: env.select_tags.clone().or_else(|| d.select_tags.clone()),
            headers: expanded,
            parallelism: env.parallelism.as_ref().or(d.parallelism.as_ref()).map(|p| *p.get_ref() as usize),
            dialect,
            options,
        })
    }
}

/// Checks one table's values; `what` names it in messages.
fn check(
    env: &Raw,
    what: &str,
    at: &dyn Fn(Option<Range<usize>>, String) -> SettingsError,
) -> Result<(), SettingsError> {
    if let Some(p) = &env.parallelism
        && *p.get_ref() < 1
    {
        return Err(at(Some(p.span()), format!("parallelism of {what} must be at least 1")));
    }
    if let (Some(_), Some(list)) = (&env.gateway, &env.gateways) {
        return Err(at(Some(list.span()), format!("{what} has both `gateway` and `gateways`: give one of them")));
    }
    if let Some(list) = &env.gateways
        && list.get_ref().is_empty()
    {
        return Err(at(Some(list.span()), format!("gateways of {what} is empty: name at least one node")));
    }
    for g in env.gateway.iter().chain(env.gateways.iter().flat_map(|l| l.get_ref())) {
        references(g.get_ref()).map_err(|m| at(Some(g.span()), format!("gateway of {what}: {m}")))?;
        if g.get_ref().trim().is_empty() {
            return Err(at(Some(g.span()), format!("gateway of {what} is empty")));
        }
        if g.get_ref().trim() == "sandbox" && env.gateways.is_some() {
            return Err(at(Some(g.span()), format!("gateways of {what}: `sandbox` can only be a gateway of its own")));
        }
    }
    if let Some(rto) = &env.rto {
        watch::duration(rto, "rto", what, at)?;
    }
    if let Some(d) = &env.dialect {
        let name = d.get_ref().trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(at(Some(d.span()), format!("dialect of {what} must be a dialect's name, like \"kong\"")));
        }
    }
    for (name, value) in &env.options {
        references(value.get_ref()).map_err(|m| at(Some(value.span()), format!("option `{name}` of {what}: {m}")))?;
    }
    for (name, value) in &env.headers {
        if name.is_empty() || name.chars().any(|c| c == ':' || c.is_whitespace() || c.is_control()) {
            return Err(at(Some(value.span()), format!("invalid header name {name:?} in {what}")));
        }
        let vars = references(value.get_ref())
            .map_err(|m| at(Some(value.span()), format!("header `{name}` of {what}: {m}")))?;
        if is_credential_header(name) && vars.is_empty() {
            return Err(at(
                Some(value.span()),
                format!(
                    "header `{name}` of {what} holds a literal value; credentials must not be written in {FILE_NAME}: \
                     reference an environment variable instead, e.g. \"${{{}}}\"",
                    suggested_variable(name)
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `[ledger] url` as written: valid references, and no literal password (in the
/// user part `user:password@` or a `password=` parameter).
fn check_ledger_url(raw: &str) -> Result<(), String> {
    references(raw).map_err(|m| format!("[ledger] url: {m}"))?;
    if raw.trim().is_empty() {
        return Err("[ledger] url is empty".to_owned());
    }
    let literal = |value: &str| {
        let mut rest = value.to_owned();
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
            rest.replace_range(start..end, "");
        }
        !rest.is_empty()
    };
    let mut password = None;
    if let Some((_, after)) = raw.split_once("://") {
        let authority = after.split(['/', '?']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, pw)) = userinfo.split_once(':')
        {
            password = Some(pw.to_owned());
        }
    }
    if let Some((_, query)) = raw.split_once('?') {
        for pair in query.split('&') {
            if let Some(("password", v)) = pair.split_once('=') {
                password = Some(v.to_owned());
            }
        }
    }
    match password {
        Some(pw) if literal(&pw) => Err(format!(
            "[ledger] url holds a literal password; passwords must not be written in {FILE_NAME}: write the whole \
             URL in a variable (url = \"${{PG_URL}}\"), reference one for the password, or leave it out and set \
             PGPASSWORD or a password file (PGPASSFILE, default ~/.pgpass)"
        )),
        _ => Ok(()),
    }
}

/// Whether a header name suggests a credential (`Cookie`, or a name containing
/// `authorization` — `Authorization`, `Proxy-Authorization`, `x-tyk-authorization` —,
/// `token`, `key`, `secret`, `password` or `credential`, in any case).
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("authorization")
        || n == "cookie"
        || ["token", "key", "secret", "password", "credential"].iter().any(|w| n.contains(w))
}

fn suggested_variable(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The variable names a value references; an error for a malformed `${`.
fn references(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("unterminated `${`".to_owned());
        };
        let name = &after[..end];
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("invalid variable name {name:?} in `${{{name}}}`"));
        }
        out.push(name.to_owned());
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Replaces every `${NAME}` of a checked value; the error is the first unset name.
fn expand(value: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap_or(after.len());
        let name = &after[..end];
        out.push_str(&vars(name).ok_or_else(|| name.to_owned())?);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// The 1-based line and column (in characters) of byte `offset` of `input`.
fn origin(input: &Input, offset: usize) -> Origin {
    let before = input.text.get(..offset.min(input.text.len())).unwrap_or(&input.text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Origin { file: input.name.as_str().into(), line, column }
}

#[cfg(test)]
mod tests;
