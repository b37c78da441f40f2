//! The one error type commands return: what went wrong, of which kind, and hints on what to
//! do about it. Every error exits 1; the kind decides nothing but the wording of hints.

use std::fmt;

use crate::engine::EngineError;

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

/// An error of a command, printed as `Error: <message>` and, after a blank line, one
/// `hint: ...` line per hint.
#[derive(Debug)]
pub struct CommandError {
    /// The kind.
    pub kind: ErrorKind,
    /// The message (may span lines).
    pub message: String,
    /// What the user might do.
    pub hints: Vec<String>,
}

impl CommandError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError { kind, message: message.into(), hints: Vec::new() }
    }

    /// The same error with a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
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

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::Config(_) | EngineError::Plan(_) | EngineError::Graph(_) => ErrorKind::Config,
            EngineError::Gateway(_) => ErrorKind::Gateway,
            EngineError::Refused(_) | EngineError::Locked { .. } => ErrorKind::User,
            EngineError::Ledger(_) | EngineError::Sandbox(_) => ErrorKind::Internal,
        };
        let error = CommandError::new(kind, e.to_string());
        match e {
            EngineError::Locked { timeout, waited, unlock, .. } => {
                let first = if timeout.is_zero() {
                    "wait for it to finish, or retry with --lock-timeout SECONDS to wait".to_owned()
                } else {
                    format!("gave up after waiting {}s", waited.as_secs())
                };
                error.hint(format!("{first}; if it is stuck: gateform unlock {unlock}"))
            }
            _ => error,
        }
    }
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<EngineError>() {
            Ok(engine) => engine.into(),
            Err(e) => CommandError::new(ErrorKind::User, format!("{e:#}")),
        }
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::new(ErrorKind::Internal, e.to_string())
    }
}
