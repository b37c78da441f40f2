//! Identity rules Tyk applies to ids, shared by the sandbox and the file readers
//! (`tyk.md` §1.4).

/// `sanitize.ValidatePathComponent` (`internal/sanitize`): an `api_id` names a file, so it
/// may not be empty, `.` or `..`, nor contain `/` or `\`, even after up to three rounds of
/// URL-decoding.
pub fn valid_api_id(s: &str) -> bool {
    let mut decoded = s.to_owned();
    for _ in 0..3 {
        let next = url::form_urlencoded::parse(format!("x={}", decoded.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    !(s.is_empty()
        || matches!(s, "." | "..")
        || decoded.is_empty()
        || matches!(decoded.as_str(), "." | "..")
        || decoded.contains(['/', '\\']))
}

/// `identifier.CustomPolicyId.Validate`: `^[a-zA-Z0-9.\-_~]*$` (an empty id is checked
/// separately).
pub fn valid_policy_id(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~'))
}

/// Whether `s` is a Mongo ObjectId in hex (24 hex digits), which Tyk takes as a policy's
/// `id` when `id` is empty (`model.EnsurePolicyId`).
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ids_are_safe_file_names() {
        assert!(valid_api_id("abc"));
        assert!(!valid_api_id(""));
        assert!(!valid_api_id(".."));
        assert!(!valid_api_id("a%2Fb"));
        assert!(!valid_api_id("%252e%252e"));
        assert!(!valid_api_id("a\\b"));
    }

    #[test]
    fn policy_ids_allow_tyks_characters_only() {
        assert!(valid_policy_id("abc.DEF-1_2~"));
        assert!(valid_policy_id(""));
        assert!(!valid_policy_id("a/b"));
        assert!(!valid_policy_id("żuk"));
        assert!(is_object_id("655f3feb7197c000017a90cb"));
        assert!(!is_object_id("655f3feb7197c000017a90c"));
    }
}
