//! The one error type commands return: what went wrong, of which kind, and hints on what to
//! do about it. Every error exits 1; the kind decides nothing but the wording of hints.
//!
//! Printed as the configuration diagnostics it carries, one per line (`kong.yaml:7:5:
//! error: ...`), then `Error: <message>` once, then, after a blank line, one `hint: ...`
//! line per hint (uv's style): never `Error: error: ...`.

use std::fmt;
use std::sync::Mutex;

use crate::engine::EngineError;
use crate::gateway::HttpError;
use crate::plan::file::PlanFileError;
use crate::source::environments::SettingsError;
use crate::source::{Diagnostic, Diagnostics};

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something the user asked for cannot be done as asked (a flag, a refused saved plan, a
    /// held lock).
    User,
    /// The configuration (files, `gateform.toml`) is wrong.
    Config,
    /// The gateway could not be reached, or refused.
    Gateway,
    /// gateform itself failed (a ledger it cannot write, an unexpected state).
    Internal,
}

/// An error of a command: diagnostics, `Error: <message>` and, after a blank line, one
/// `hint: ...` line per hint.
#[derive(Debug)]
pub struct CommandError {
    /// The kind.
    pub kind: ErrorKind,
    /// The message (may span lines).
    pub message: String,
    /// What the user might do.
    pub hints: Vec<String>,
    /// Lines printed before the message: the configuration diagnostics, warnings included.
    pub diagnostics: Vec<String>,
}

impl CommandError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError { kind, message: message.into(), hints: Vec::new(), diagnostics: Vec::new() }
    }

    /// The same error with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// The error of a list of configuration diagnostics: each printed on its own line, then
    /// `Error: N errors in FILE.` (a single diagnostic without a place is the message itself).
    pub fn config(diagnostics: &[Diagnostic]) -> Self {
        let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
        if let [only] = errors.as_slice()
            && only.origin.is_none()
            && diagnostics.len() == 1
        {
            return CommandError::new(ErrorKind::Config, only.message.clone());
        }
        let mut files: Vec<String> = Vec::new();
        for d in &errors {
            if let Some(o) = &d.origin
                && !files.iter().any(|f| *f == *o.file)
            {
                files.push(o.file.to_string());
            }
        }
        let place = match files.len() {
            0 => "the configuration".to_owned(),
            1..=3 => files.join(", "),
            n => format!("{n} files"),
        };
        let n = errors.len();
        let mut e = CommandError::new(ErrorKind::Config, format!("{n} {} in {place}.", plural(n, "error", "errors")));
        e.diagnostics = diagnostics.iter().map(ToString::to_string).collect();
        e
    }

    /// Everything as printed on stderr: diagnostics, `Error: ...`, hints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(d);
            out.push('\n');
        }
        out.push_str(&format!("Error: {self}"));
        out
    }
}

/// `one` or `many` by count.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.hints.is_empty() {
            f.write_str("\n")?;
            for h in &self.hints {
                write!(f, "\nhint: {h}")?;
            }
        }
        Ok(())
    }
}

/// Where this run's gateway address came from (`--gateway`, an environment, ...), for hints
/// on connection errors; set when the settings are resolved.
fn gateway_origin() -> &'static Mutex<Option<String>> {
    static ORIGIN: Mutex<Option<String>> = Mutex::new(None);
    &ORIGIN
}

/// Records where the gateway address of this run came from (see [`super::settings`]).
pub fn note_gateway_origin(origin: &str) {
    if let Ok(mut o) = gateway_origin().lock() {
        *o = Some(origin.to_owned());
    }
}

/// The hints for a gateway error: whether it runs and where its address came from for one
/// that does not answer; the dialect's guess for an address that is no gateway of its kind.
fn gateway_hints(e: &HttpError) -> Vec<String> {
    let origin = gateway_origin().lock().ok().and_then(|o| o.clone());
    let which = match origin.as_deref() {
        None | Some("the default address") => {
            "no address was given, so the default http://localhost:8001 was tried: pass --gateway URL or --env NAME"
                .to_owned()
        }
        Some(o) => format!("is {o} right?"),
    };
    match e {
        HttpError::Transport { .. } => vec![format!("is the gateway running? {which}")],
        HttpError::NotGateway { hint, .. } => vec![hint.clone(), which],
        HttpError::Api { status: 401 | 403, .. } => {
            vec!["does the Admin API want a token? send it with --header 'NAME: VALUE' (Kong: Kong-Admin-Token)".into()]
        }
        _ => Vec::new(),
    }
}

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::Config(_) | EngineError::Plan(_) | EngineError::Graph(_) => ErrorKind::Config,
            EngineError::Gateway(_) => ErrorKind::Gateway,
            EngineError::Refused(_) | EngineError::Locked { .. } => ErrorKind::User,
            EngineError::Ledger(_) | EngineError::Sandbox(_) => ErrorKind::Internal,
        };
        match e {
            EngineError::Config(diags) => CommandError::config(&diags.0),
            EngineError::Gateway(http) => {
                let mut error = CommandError::new(kind, format!("cannot read the gateway: {http}"));
                error.hints = gateway_hints(&http);
                error
            }
            EngineError::Locked { timeout, waited, ref unlock, .. } => {
                let first = if timeout.is_zero() {
                    "wait for it to finish, or retry with --lock-timeout SECONDS to wait".to_owned()
                } else {
                    format!("gave up after waiting {}s", waited.as_secs())
                };
                let hint = format!("{first}; if it is stuck: gateform unlock {unlock}");
                CommandError::new(kind, e.to_string()).hint(hint)
            }
            other => CommandError::new(kind, other.to_string()),
        }
    }
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        let e = match e.downcast::<EngineError>() {
            Ok(engine) => return engine.into(),
            Err(e) => e,
        };
        let e = match e.downcast::<Diagnostics>() {
            Ok(diags) => return CommandError::config(&diags.0),
            Err(e) => e,
        };
        let e = match e.downcast::<SettingsError>() {
            Ok(SettingsError::Invalid(d) | SettingsError::UnsetVariable(d)) => return CommandError::config(&[d]),
            Ok(other) => return CommandError::new(ErrorKind::Config, other.to_string()),
            Err(e) => e,
        };
        match e.downcast::<PlanFileError>() {
            Ok(p) => CommandError::new(ErrorKind::User, p.to_string()),
            Err(e) => CommandError::new(ErrorKind::User, format!("{e:#}")),
        }
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::new(ErrorKind::Internal, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use std::sync::Arc;

    #[test]
    fn diagnostics_come_first_and_error_is_said_once() {
        let at = |line| Some(Origin { file: Arc::from("kong.yaml"), line, column: 5 });
        let e = CommandError::config(&[
            Diagnostic::error(at(7), "services[0].retires: unknown field; did you mean `retries`?"),
            Diagnostic::warning(at(9), "something"),
        ]);
        assert_eq!(
            e.render(),
            "kong.yaml:7:5: error: services[0].retires: unknown field; did you mean `retries`?\n\
             kong.yaml:9:5: warning: something\nError: 1 error in kong.yaml."
        );
        let alone = CommandError::config(&[Diagnostic::error(None, "no configuration file given")]);
        assert_eq!(alone.render(), "Error: no configuration file given");
    }
}
