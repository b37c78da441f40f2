//! Diagnostics: errors and warnings about configuration files, each with the place it
//! concerns (`file:line:column`) and the entity it is about.

use std::fmt;

use crate::model::Origin;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration cannot be used as written.
    Error,
    /// The configuration is used, but something in it deserves attention (a conversion
    /// was made, a section is ignored).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One error or warning.
///
/// Displayed as `file:line:column: severity: message` (for example
/// `kong.yaml:12:5: error: route "r1" refers to service "nope", which is not defined`),
/// or `severity: message` when no place is known (a file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one line; it names the entity when there is one.
    pub message: String,
    /// Where: the file as the user named it, 1-based line and column.
    pub origin: Option<Origin>,
    /// The entity concerned, as messages name it (`route "r1"`, `plugin "cors" at services[0].plugins[0]`).
    pub entity: Option<String>,
}

impl Diagnostic {
    /// An error at `origin`.
    pub fn error(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, message: message.into(), origin, entity: None }
    }

    /// A warning at `origin`.
    pub fn warning(origin: Option<Origin>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, message: message.into(), origin, entity: None }
    }

    /// The same diagnostic, about `entity`.
    pub fn about(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}: {}", self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

/// A list of diagnostics; the error type of reading and loading configuration.
/// Displayed one diagnostic per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn display_puts_the_place_first() {
        let origin = Origin { file: Arc::from("kong.yaml"), line: 12, column: 5 };
        let d = Diagnostic::error(Some(origin), "route \"r1\" refers to service \"nope\", which is not defined")
            .about("route \"r1\"");
        assert_eq!(
            d.to_string(),
            "kong.yaml:12:5: error: route \"r1\" refers to service \"nope\", which is not defined"
        );
        let w = Diagnostic::warning(None, "something");
        let all = Diagnostics(vec![d, w]);
        assert_eq!(all.to_string().lines().count(), 2);
        assert!(all.to_string().ends_with("\nwarning: something"));
        assert!(all.has_errors());
    }
}
