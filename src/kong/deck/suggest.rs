//! "Did you mean ...?" for a name that is not one: the nearest valid name by edit distance
//! (Damerau–Levenshtein, so a swapped pair of letters counts once), as clap suggests flags.
//! A name is suggested only when it is close: at most a third of the typed name's length
//! apart (at least one edit).

/// The candidate nearest to `word`, if one is close enough; ties go to the first in
/// alphabetical order.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let fields = ["retries", "read_timeout", "port", "protocol", "path"];
        assert_eq!(nearest("retires", fields), Some("retries"));
        assert_eq!(nearest("prot", fields), Some("port"));
        assert_eq!(nearest("colour", fields), None);
        assert_eq!(nearest("retries", fields), None, "a valid name needs no suggestion");
        assert_eq!(nearest("rate-limit", ["rate-limiting", "request-termination"]), Some("rate-limiting"));
        assert_eq!(did_you_mean("servicess", ["services", "routes"]), "; did you mean `services`?");
        assert_eq!(did_you_mean("zzz", ["services"]), "");
    }
}
