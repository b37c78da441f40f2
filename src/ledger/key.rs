//! Lock and history keys: which runs exclude each other.
//!
//! A run is keyed on its environment's name when it has one. Without one, on the gateway's
//! address normalised so that spellings of one address share a lock: scheme and host
//! lowercased, the default port made explicit (80 for `http`, 443 for `https`), a trailing
//! `/` removed, and `localhost`, `127.0.0.1` and `::1` counted as one host. Two different
//! names for one gateway (a DNS alias, a second IP address, an environment and a bare
//! address) are still two keys: using one name per gateway is the user's part.

use url::Url;

/// The key of a run against `gateway` (an Admin API address, or `sandbox`) in
/// `environment`: `sandbox` for rehearsals on an in-process sandbox (so they never count
/// as an environment's state), else the environment's name, else
/// [`normalise_address`] of the gateway.
pub fn target_key(environment: Option<&str>, gateway: &str) -> String {
    match environment {
        _ if gateway == "sandbox" => "sandbox".to_owned(),
        Some(e) => e.to_owned(),
        None => normalise_address(gateway),
    }
}

/// `HTTP://127.0.0.1/` → `http://localhost:80`; `https://Kong.Example:8444/admin/` →
/// `https://kong.example:8444/admin`. Query and fragment are dropped. A value that is not a
/// URL is only trimmed, lowercased and stripped of trailing `/`.
pub fn normalise_address(gateway: &str) -> String {
    let trimmed = gateway.trim();
    let Ok(url) = Url::parse(trimmed) else {
        return trimmed.trim_end_matches('/').to_ascii_lowercase();
    };
    let Some(host) = url.host_str() else {
        return trimmed.trim_end_matches('/').to_ascii_lowercase();
    };
    let host = host.to_ascii_lowercase();
    let host = match host.as_str() {
        "localhost" | "127.0.0.1" | "[::1]" | "::1" => "localhost".to_owned(),
        _ => host,
    };
    let port = url.port_or_known_default().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    format!("{}://{host}{port}{path}", url.scheme())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_share_a_key() {
        let one = [
            "http://localhost:8001",
            "http://127.0.0.1:8001",
            "HTTP://127.0.0.1:8001/",
            "http://[::1]:8001",
            "http://LOCALHOST:8001//",
        ];
        for a in one {
            assert_eq!(target_key(None, a), "http://localhost:8001", "{a}");
        }
        assert_eq!(normalise_address("http://kong.internal"), "http://kong.internal:80");
        assert_eq!(normalise_address("https://Kong.Example/admin/"), "https://kong.example:443/admin");
        assert_eq!(normalise_address("https://kong.example:443"), "https://kong.example:443");
        assert_ne!(normalise_address("http://kong:8001"), normalise_address("https://kong:8001"));
        assert_ne!(normalise_address("http://kong:8001"), normalise_address("http://kong:8002"));
        assert_eq!(normalise_address(" not a url/ "), "not a url");
    }

    #[test]
    fn environments_and_sandboxes_key_by_name() {
        assert_eq!(target_key(Some("prod"), "http://127.0.0.1:8001"), "prod");
        assert_eq!(target_key(Some("prod"), "sandbox"), "sandbox");
        assert_eq!(target_key(None, "sandbox"), "sandbox");
    }
}
