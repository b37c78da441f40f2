//! "Did you mean ...?" for a name that is not one: the nearest valid name by edit distance
//! (Damerau–Levenshtein, so a swapped pair of letters counts once), as clap suggests flags.
//! A name is suggested only when it is close: at most a third of the typed name's length
//! apart (at least one edit, at most three: a longer name is not a typo of another that
//! merely shares a long suffix).

/// The candidate nearest to `word`, if one is close enough; ties go to the first in
/// alphabetical order.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.cmp(b))
        .map(|(_, c)| c)
}

/// `; did you mean `name`?` for the nearest candidate, else nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default()
}

/// serde's ``unknown field `x`, expected one of `a`, `b` `` (or ``expected `a` or `b` ``)
/// with the list replaced by the nearest name when one is close
/// (``unknown field `x`; did you mean `a`?``); any other message as it is.
pub fn unknown_field_message(message: &str) -> String {
    let parsed = message.strip_prefix("unknown field `").and_then(|rest| rest.split_once("`, expected "));
    let Some((word, expected)) = parsed else { return message.to_owned() };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(word, names) {
        Some(name) => format!("unknown field `{word}`; did you mean `{name}`?"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_unknown_fields_get_the_nearest_name() {
        let one_of = "unknown field `paralelism`, expected one of `gateway`, `path`, `parallelism`";
        assert_eq!(unknown_field_message(one_of), "unknown field `paralelism`; did you mean `parallelism`?");
        let two = "unknown field `uri`, expected `url` or `schema`";
        assert_eq!(unknown_field_message(two), "unknown field `uri`; did you mean `url`?");
        let far = "unknown field `colour`, expected one of `gateway`, `path`";
        assert_eq!(unknown_field_message(far), far);
        assert_eq!(unknown_field_message("invalid type: integer `3`"), "invalid type: integer `3`");
    }

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let fields = ["retries", "read_timeout", "port", "protocol", "path"];
        assert_eq!(nearest("retires", fields), Some("retries"));
        assert_eq!(nearest("prot", fields), Some("port"));
        assert_eq!(nearest("colour", fields), None);
        let oauth2 = ["reuse_refresh_token", "refresh_token_ttl"];
        assert_eq!(nearest("persistent_refresh_token", oauth2), None, "a shared suffix is no typo");
        assert_eq!(nearest("retries", fields), None, "a valid name needs no suggestion");
        assert_eq!(nearest("rate-limit", ["rate-limiting", "request-termination"]), Some("rate-limiting"));
        assert_eq!(did_you_mean("servicess", ["services", "routes"]), "; did you mean `services`?");
        assert_eq!(did_you_mean("zzz", ["services"]), "");
    }
}
