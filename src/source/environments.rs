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
    /// Admin API address (or `sandbox`).
    pub gateway: Option<String>,
    /// Sub-directory of the repository (or, without a repository, of the directory holding
    /// the settings file) that holds its configuration.
    pub path: Option<String>,
    /// Ownership tags.
    pub select_tags: Option<Vec<String>>,
    /// Headers sent with every request, `(name, value)`, values expanded.
    pub headers: Vec<(String, String)>,
    /// How many requests may run at once.
    pub parallelism: Option<usize>,
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
    path: Option<String>,
    select_tags: Option<Vec<String>>,
    #[serde(default)]
    headers: IndexMap<String, Spanned<String>>,
    parallelism: Option<Spanned<i64>>,
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
        let gateway = match env.gateway.as_ref().or(d.gateway.as_ref()) {
            Some(g) => Some(expand(g, "gateway")?),
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
        Ok(Environment {
            name: name.to_owned(),
            gateway,
            path: env.path.clone().or_else(|| d.path.clone()),
            select_tags: env.select_tags.clone().or_else(|| d.select_tags.clone()),
            headers: expanded,
            parallelism: env.parallelism.as_ref().or(d.parallelism.as_ref()).map(|p| *p.get_ref() as usize),
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
    if let Some(g) = &env.gateway {
        references(g.get_ref()).map_err(|m| at(Some(g.span()), format!("gateway of {what}: {m}")))?;
        if g.get_ref().trim().is_empty() {
            return Err(at(Some(g.span()), format!("gateway of {what} is empty")));
        }
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

/// Whether a header name suggests a credential (`Authorization`, `Cookie`, or a name
/// containing `token`, `key`, `secret`, `password` or `credential`, in any case).
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
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
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        Settings::parse(&Input::new("gateform.toml", text))
    }

    fn vars(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "HOST" => Some("kong.internal".into()),
            _ => None,
        }
    }

    const GOOD: &str = r#"
[defaults]
parallelism = 4
select_tags = ["platform"]
headers = { "X-Team" = "platform", "Kong-Admin-Token" = "${TOKEN}" }

[environments.staging]
gateway = "https://${HOST}:8444"
path = "kong/staging"

[environments.prod]
gateway = "https://prod:8444"
select_tags = ["prod"]
parallelism = 2
headers = { "kong-admin-token" = "Bearer ${TOKEN}" }
"#;

    #[test]
    fn environments_merge_over_defaults_and_expand_variables() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.names(), vec!["prod", "staging"]);
        let staging = s.environment("staging", &vars).unwrap();
        assert_eq!(staging.gateway.as_deref(), Some("https://kong.internal:8444"));
        assert_eq!(staging.path.as_deref(), Some("kong/staging"));
        assert_eq!(staging.select_tags, Some(vec!["platform".to_owned()]));
        assert_eq!(staging.parallelism, Some(4));
        let sorted = |mut h: Vec<(String, String)>| {
            h.sort();
            h
        };
        assert_eq!(
            sorted(staging.headers),
            vec![("Kong-Admin-Token".to_owned(), "s3cret".to_owned()), ("X-Team".to_owned(), "platform".to_owned())]
        );
        let prod = s.environment("prod", &vars).unwrap();
        assert_eq!(prod.parallelism, Some(2));
        assert_eq!(prod.path, None);
        assert_eq!(
            sorted(prod.headers),
            vec![
                ("X-Team".to_owned(), "platform".to_owned()),
                ("kong-admin-token".to_owned(), "Bearer s3cret".to_owned())
            ]
        );
    }

    #[test]
    fn unknown_environments_list_the_known_ones() {
        let err = parse(GOOD).unwrap().environment("qa", &vars).unwrap_err();
        assert_eq!(err.to_string(), "gateform.toml defines no environment \"qa\" (defined: prod, staging)");
        let empty = parse("").unwrap().environment("qa", &vars).unwrap_err();
        assert!(empty.to_string().ends_with("(defined: none)"), "{empty}");
    }

    #[test]
    fn unset_variables_are_errors_with_their_place() {
        let s = parse("[environments.a]\nheaders = { Authorization = \"Bearer ${NOPE}\" }\n").unwrap();
        let err = s.environment("a", &vars).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gateform.toml:2:29: error: header `Authorization` of environment \"a\" uses ${NOPE}, which is not set"
        );
    }

    #[test]
    fn errors_carry_line_and_column() {
        let cases = [
            (
                "[environments.a]\ngatway = \"x\"\n",
                "gateform.toml:2:1: error: unknown field `gatway`; did you mean `gateway`?",
            ),
            ("[environments.a]\nparallelism = \"ten\"\n", "gateform.toml:2:15: error: invalid type: string \"ten\""),
            (
                "[environments.a]\nparallelism = 0\n",
                "gateform.toml:2:15: error: parallelism of environment \"a\" must be at least 1",
            ),
            ("[environments.a\n", "gateform.toml:1:16: error: "),
            ("[environments.\"a b\"]\n", "gateform.toml:1:15: error: invalid environment name \"a b\""),
            (
                "[environments.a]\nheaders = { \"X\" = \"${1X}\" }\n",
                "gateform.toml:2:19: error: header `X` of environment \"a\": invalid variable name",
            ),
            (
                "[environments.a]\ngateway = \"${X\"\n",
                "gateform.toml:2:11: error: gateway of environment \"a\": unterminated `${`",
            ),
            ("[defaults]\npath = 3\n", "gateform.toml:2:8: error: invalid type: integer `3`"),
            ("[other]\n", "gateform.toml:1:2: error: unknown field `other`"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
        }
    }

    #[test]
    fn inline_secrets_are_refused() {
        let err =
            parse("[environments.prod]\nheaders = { \"Kong-Admin-Token\" = \"hunter2\" }\n").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "gateform.toml:2:34: error: header `Kong-Admin-Token` of environment \"prod\" holds a literal value"
            ),
            "{err}"
        );
        assert!(err.contains("\"${KONG_ADMIN_TOKEN}\""), "{err}");
        assert!(!err.contains("hunter2"), "the secret is not repeated: {err}");
        for name in ["Authorization", "apikey", "X-Api-Key", "Cookie", "client-secret"] {
            let text = format!("[defaults]\nheaders = {{ \"{name}\" = \"literal\" }}\n");
            assert!(parse(&text).is_err(), "{name}");
        }
        assert!(parse("[defaults]\nheaders = { \"X-Team\" = \"literal\" }\n").is_ok());
    }

    #[test]
    fn the_ledger_url_comes_from_variables_never_with_a_literal_password() {
        let pg = |v: &str| match v {
            "PG_URL" => Some("postgres://ci:s3cret@db/ledger".to_owned()),
            "PG_PASSWORD" => Some("s3cret".to_owned()),
            _ => None,
        };
        let url = |text: &str| parse(text).map(|s| s.ledger_url(&pg));
        assert_eq!(url("").unwrap().unwrap(), None);
        assert_eq!(
            url("[ledger]\nurl = \"${PG_URL}\"\n").unwrap().unwrap().as_deref(),
            Some("postgres://ci:s3cret@db/ledger")
        );
        assert_eq!(
            url("[ledger]\nurl = \"postgres://ci:${PG_PASSWORD}@db/ledger\"\n").unwrap().unwrap().as_deref(),
            Some("postgres://ci:s3cret@db/ledger")
        );
        assert!(url("[ledger]\nurl = \"postgres://ci@db/ledger?sslmode=require\"\n").is_ok());
        for text in [
            "[ledger]\nurl = \"postgres://ci:hunter2@db/ledger\"\n",
            "[ledger]\nurl = \"postgres://ci:pre${PG_PASSWORD}@db/ledger\"\n",
            "[ledger]\nurl = \"postgres://ci@db/ledger?password=hunter2\"\n",
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with("gateform.toml:2:7: error: [ledger] url holds a literal password"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let unset = parse("[ledger]\nurl = \"${NOPE}\"\n").unwrap().ledger_url(&pg).unwrap_err();
        assert_eq!(unset.to_string(), "gateform.toml:2:7: error: [ledger] url uses ${NOPE}, which is not set");
        assert!(parse("[ledger]\nuri = \"x\"\n").unwrap_err().to_string().contains("unknown field `uri`"));
    }

    #[test]
    fn columns_count_characters() {
        let input = Input::new("f", "é = 1\nab");
        assert_eq!(origin(&input, input.text.len()).to_string(), "f:2:3");
        assert_eq!(origin(&input, 2).to_string(), "f:1:2");
    }
}
