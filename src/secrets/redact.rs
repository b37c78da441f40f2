//! Scrubbing known secret values out of any text before it is written anywhere: messages
//! from the gateway that echo a value (`UNIQUE violation detected on '{key="..."}'`), logs,
//! errors. Field-level masking (see [`super::is_sensitive`]) covers plans; this covers the
//! rest.

use std::sync::{Arc, RwLock};

use super::SENSITIVE;

/// Values shorter than this are not scrubbed from free text (they would mask unrelated
/// words, decK issue #2140); fields holding them are still masked by path.
pub const MIN_SCRUB_LEN: usize = 4;

/// A shared, growable set of secret values to scrub from text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Adds secret values (shorter than [`MIN_SCRUB_LEN`] characters are ignored).
    pub fn add<I: IntoIterator<Item = S>, S: Into<String>>(&self, values: I) {
        let Ok(mut list) = self.values.write() else { return };
        for v in values {
            let v: String = v.into();
            if v.chars().count() >= MIN_SCRUB_LEN && !list.contains(&v) {
                list.push(v);
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// How many values are known.
    pub fn len(&self) -> usize {
        self.values.read().map(|l| l.len()).unwrap_or(0)
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every known value (and its JSON-escaped form) replaced by
    /// `(sensitive value)`.
    pub fn scrub(&self, text: &str) -> String {
        let Ok(list) = self.values.read() else { return text.to_owned() };
        let mut out = text.to_owned();
        for v in list.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), SENSITIVE);
            }
            let escaped = serde_json::to_string(v).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if escaped != v && out.contains(escaped) {
                out = out.replace(escaped, SENSITIVE);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_values_and_their_json_escapes() {
        let r = Redactor::new();
        r.add(["s3cr3t-key", "line1\nline2", "abc"]);
        assert_eq!(
            r.scrub("UNIQUE violation on '{key=\"s3cr3t-key\"}'"),
            "UNIQUE violation on '{key=\"(sensitive value)\"}'"
        );
        assert_eq!(r.scrub("{\"k\":\"line1\\nline2\"}"), "{\"k\":\"(sensitive value)\"}");
        assert_eq!(r.scrub("abc stays"), "abc stays", "short values are not scrubbed from text");
    }

    #[test]
    fn longer_values_win() {
        let r = Redactor::new();
        r.add(["secret", "secret-longer"]);
        assert_eq!(r.scrub("x secret-longer y secret"), "x (sensitive value) y (sensitive value)");
    }
}
