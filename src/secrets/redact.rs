//! Scrubbing known secret values out of any text before it is written anywhere: messages
//! from the gateway that echo a value (`UNIQUE violation detected on '{key="..."}'`), logs,
//! errors. Field-level masking (see [`super::is_sensitive`]) covers plans; this covers the
//! rest. Matching uses one Aho-Corasick automaton over every value (and its JSON-escaped
//! form), so scrubbing stays linear in the text however many secrets are known, and building
//! it stays linear in the values' length however repetitive they are.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::SENSITIVE;

/// Values shorter than this are not scrubbed from free text (they would mask unrelated
/// words, decK issue #2140); fields holding them are still masked by path.
pub const MIN_SCRUB_LEN: usize = 4;

/// Shorter than this, a secret's prefix and lines are not scrubbed on their own (they would
/// match ordinary text).
pub const PART_LEN: usize = 16;

/// The forms of a secret value that are scrubbed: the value; its JSON-escaped, base64
/// (standard and URL-safe, unpadded too) and percent-encoded forms; its first
/// [`PART_LEN`] characters (a gateway message that echoes a truncated value); and each line
/// of a multi-line value (a PEM key's body lines) of at least [`PART_LEN`] characters, its
/// `-----BEGIN`/`-----END` lines excepted.
pub fn forms(v: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut out = vec![v.to_owned()];
    let escaped = serde_json::to_string(v).unwrap_or_default();
    out.push(escaped.trim_matches('"').to_owned());
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(v.as_bytes()));
    }
    out.push(crate::gateway::path_segment(v));
    if v.chars().count() > PART_LEN {
        out.push(v.chars().take(PART_LEN).collect());
    }
    if v.contains('\n') {
        let lines = v.lines().map(str::trim).filter(|l| l.chars().count() >= PART_LEN && !l.starts_with("-----"));
        out.extend(lines.map(str::to_owned));
    }
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Default)]
struct Inner {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
    /// Values searched one by one so far ([`SEARCH_BUDGET`]).
    searched: AtomicUsize,
}

/// Texts up to this many bytes may be scrubbed by searching each value in turn, while no
/// automaton is built: a run that prints a few short lines (a plan with no changes) never
/// pays for building one over every secret of a large estate (100k values: about 0.3 s).
const SHORT_TEXT: usize = 512;

/// How many value searches short texts may cost in all (about 0.1 s) before the automaton
/// is built and used for every text.
const SEARCH_BUDGET: usize = 2_000_000;

/// A shared, growable set of secret values to scrub from text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Adds secret values (shorter than [`MIN_SCRUB_LEN`] characters are ignored), with
    /// the forms in which they leak: see [`forms`].
    pub fn add<I: IntoIterator<Item = S>, S: Into<String>>(&self, values: I) {
        let Ok(mut inner) = self.inner.write() else { return };
        let before = inner.values.len();
        for v in values {
            let v: String = v.into();
            if v.chars().count() < MIN_SCRUB_LEN {
                continue;
            }
            inner.values.extend(forms(&v));
        }
        if inner.values.len() != before {
            inner.values.sort();
            inner.values.dedup();
            inner.matcher = None;
        }
    }

    /// A new, independent redactor that knows the values this one knows now: values added
    /// to either later stay theirs (a daemon's run starts from its base secrets).
    pub fn child(&self) -> Redactor {
        let values = self.inner.read().map(|i| i.values.clone()).unwrap_or_default();
        Redactor { inner: Arc::new(RwLock::new(Inner { values, ..Inner::default() })) }
    }

    /// How many values (and escaped forms) are known.
    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.values.len()).unwrap_or(0)
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every known value (and its JSON-escaped form) replaced by
    /// `(sensitive value)`; where values overlap, the longest wins.
    pub fn scrub(&self, text: &str) -> String {
        if let Ok(inner) = self.inner.read() {
            if let Some(m) = &inner.matcher {
                return mask(m, text);
            }
            if inner.values.is_empty() {
                return text.to_owned();
            }
            let n = inner.values.len();
            if text.len() <= SHORT_TEXT && inner.searched.fetch_add(n, Ordering::Relaxed) + n <= SEARCH_BUDGET {
                return mask_each(&inner.values, text);
            }
        }
        let Ok(mut inner) = self.inner.write() else { return text.to_owned() };
        if inner.values.is_empty() {
            return text.to_owned();
        }
        if inner.matcher.is_none() {
            // A contiguous NFA, never a DFA: building aho-corasick's DFA follows failure
            // links for every state and byte class, which is quadratic in the length of a
            // repetitive value (a 100 KB `DECK_*` value of `abab...` took 28 s); the NFAs
            // build in time linear in the values' total length and still scan in one pass.
            match automaton(&inner.values) {
                Ok(m) => inner.matcher = Some(m),
                Err(_) => return SENSITIVE.to_owned(),
            }
        }
        match &inner.matcher {
            Some(m) => mask(m, text),
            None => SENSITIVE.to_owned(),
        }
    }
}

/// The automaton over `values`: leftmost-longest, a contiguous NFA (see [`Redactor::scrub`]).
fn automaton(values: &[String]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(values)
}

/// `text` with every match of `matcher` replaced by [`SENSITIVE`]. The replacement is
/// written per match: a slice of one replacement per value would cost as many pointers as
/// there are secrets, on every line printed.
fn mask(matcher: &AhoCorasick, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(SENSITIVE);
        true
    });
    out
}

/// [`mask`] without an automaton: each value searched in turn, every occurrence found, and
/// the matches taken as leftmost-longest matching takes them (the leftmost start first, the
/// longest there, then on from its end).
fn mask_each(values: &[String], text: &str) -> String {
    let mut found: Vec<(usize, usize)> = Vec::new();
    for v in values.iter().filter(|v| !v.is_empty() && v.len() <= text.len()) {
        let mut from = 0;
        while let Some(i) = text[from..].find(v.as_str()) {
            let start = from + i;
            found.push((start, start + v.len()));
            // On past the first character of this match (a match starts on a boundary).
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in found {
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(SENSITIVE);
            at = end;
        }
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_encoded_echoes_are_scrubbed() {
        let r = Redactor::new();
        let key = "ka-Secret-0123456789abcdefghij";
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";
        r.add([key, pem]);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        for leak in [
            format!("duplicate key '{}...'", &key[..16]),
            "line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC of the key".to_owned(),
            format!("Authorization: Basic {b64}"),
            format!("GET /key-auths/{}", crate::gateway::path_segment(key)),
        ] {
            let out = r.scrub(&leak);
            assert!(!out.contains(&key[..16]), "{out}");
            assert!(!out.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") && !out.contains(&b64), "{out}");
        }
        assert_eq!(r.scrub("-----BEGIN CERTIFICATE-----"), "-----BEGIN CERTIFICATE-----");
    }

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

    #[test]
    fn many_values_scrub_in_one_pass() {
        let r = Redactor::new();
        r.add((0..20_000).map(|i| format!("key-{i:05}-secret")));
        let text = "a key-12345-secret b key-00001-secret c".repeat(1000);
        let out = r.scrub(&text);
        assert!(!out.contains("-secret"));
    }

    #[test]
    fn searching_each_value_masks_as_the_automaton_does() {
        let mut values: Vec<String> =
            ["abcd", "bcdef", "abcdefgh", "cd-é-x", "ééé1", "xxxx", "xxxxx", "a\\\"b"].map(String::from).to_vec();
        values.sort();
        let matcher = automaton(&values).unwrap();
        for text in [
            "",
            "abcdefgh and abcd and bcdef",
            "abcdef: the longest at the leftmost start, then on from its end",
            "xxxxxxxxxxx",
            "zabcdzbcdefzabcdefghz",
            "é cd-é-x ééé1 éééé1 cd-é-xcd-é-x",
            "a\\\"b in an escaped message",
        ] {
            assert_eq!(mask_each(&values, text), mask(&matcher, text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn searching_each_value_agrees_with_the_automaton_on_any_text(
            values in proptest::collection::vec("[ab\u{e9}]{1,5}", 1..6),
            text in "[ab\u{e9} ]{0,40}",
        ) {
            let mut values = values;
            values.sort();
            values.dedup();
            let matcher = automaton(&values).unwrap();
            proptest::prop_assert_eq!(mask_each(&values, &text), mask(&matcher, &text));
        }
    }

    #[test]
    fn short_texts_stop_being_searched_value_by_value_once_the_budget_is_spent() {
        let r = Redactor::new();
        r.add((0..1000).map(|i| format!("secret-value-{i:04}")));
        let n = r.len();
        let line = "a line that names secret-value-0042 once";
        for _ in 0..SEARCH_BUDGET / n {
            assert_eq!(r.scrub(line), format!("a line that names {SENSITIVE} once"));
        }
        assert!(r.inner.read().unwrap().matcher.is_none(), "no automaton within the budget");
        assert_eq!(r.scrub(line), format!("a line that names {SENSITIVE} once"));
        assert!(r.inner.read().unwrap().matcher.is_some(), "the automaton once the budget is spent");
        let long = format!("{}secret-value-0999", "x".repeat(SHORT_TEXT));
        assert!(r.scrub(&long).ends_with(SENSITIVE));
    }
}
