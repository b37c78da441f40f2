//! `_format_version` handling: which versions are read, and the 2.x → 3.0 conversion decK's
//! `deck file convert --from kong-gateway-2.x --to kong-gateway-3.x` makes (`deck.md` §a.2;
//! decK's `convert/convert.go`, `convert/route_updates.go`).
//!
//! Kong 3.0 changed how route paths are read: a path is a regular expression only when it
//! starts with `~`; before, any path that looked like one was. decK's conversion adds the
//! `~` prefix to every route path that does not start with `~/` and contains a character
//! outside `[a-zA-Z0-9._~/%-]` (`IsPathRegexLike` in go-database-reconciler's
//! `pkg/utils/utils.go`). gateform does the same on every route of a 1.1 or 2.1 file,
//! nested or top-level (decK's converter only visits routes nested under services).

/// The format version a file declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatVersion {
    /// `"3.0"`: read as written.
    V3,
    /// `"1.1"` or `"2.1"` (the string): read, then converted to 3.0.
    Legacy(String),
    /// No `_format_version`: decK reads such a file as `"1.1"` (its `DefaultFormatVersion`),
    /// so it is converted as 1.1 is.
    Missing,
}

impl FormatVersion {
    /// Parses a declared version; `Err` holds the message for an unsupported one.
    pub fn parse(declared: &str) -> Result<FormatVersion, String> {
        match declared {
            "3.0" => Ok(FormatVersion::V3),
            "1.1" | "2.1" => Ok(FormatVersion::Legacy(declared.to_owned())),
            other => Err(format!(
                "_format_version \"{other}\" is not supported: use \"3.0\" (or \"1.1\"/\"2.1\", which are converted)"
            )),
        }
    }

    /// Whether the file's route paths need the 3.0 conversion.
    pub fn needs_conversion(&self) -> bool {
        !matches!(self, FormatVersion::V3)
    }

    /// The version as the file gave it (`1.1` for a missing one, as decK assumes).
    pub fn declared(&self) -> &str {
        match self {
            FormatVersion::V3 => "3.0",
            FormatVersion::Legacy(v) => v,
            FormatVersion::Missing => "1.1",
        }
    }
}

/// Whether a route path contains a regular-expression character: anything outside
/// `[a-zA-Z0-9._~/%-]`.
pub fn is_regex_like(path: &str) -> bool {
    path.chars().any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '/' | '%' | '-')))
}

/// The 3.0 form of a pre-3.0 route path, when it differs: `~` added to a regex-like path
/// that does not already start with `~/`.
pub fn upgrade_path(path: &str) -> Option<String> {
    (!path.starts_with("~/") && is_regex_like(path)).then(|| format!("~{path}"))
}

/// Whether a 3.0 route path looks like a pre-3.0 regular expression, which Kong 3 matches as
/// a plain prefix (decK warns about these: `HasPathsWithRegex300AndAbove`).
pub fn looks_unconverted(path: &str) -> bool {
    upgrade_path(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(FormatVersion::parse("3.0"), Ok(FormatVersion::V3));
        assert_eq!(FormatVersion::parse("2.1"), Ok(FormatVersion::Legacy("2.1".into())));
        assert_eq!(
            FormatVersion::parse("3.1").unwrap_err(),
            "_format_version \"3.1\" is not supported: use \"3.0\" (or \"1.1\"/\"2.1\", which are converted)"
        );
        assert_eq!(FormatVersion::Missing.declared(), "1.1");
        assert!(FormatVersion::Missing.needs_conversion());
    }

    #[test]
    fn regex_paths_gain_the_prefix() {
        assert_eq!(upgrade_path("/api/v1/fleet/assets"), None);
        assert_eq!(upgrade_path("/auth/v1/.well-known/jwks.json"), None);
        assert_eq!(upgrade_path("/users/\\d+"), Some("~/users/\\d+".into()));
        assert_eq!(upgrade_path("/api/v1/[^/]+/download"), Some("~/api/v1/[^/]+/download".into()));
        assert_eq!(upgrade_path("~/api/v1/[^/]+"), None);
        assert_eq!(upgrade_path("/path$"), Some("~/path$".into()));
        assert!(looks_unconverted("/a(b)"));
    }
}
