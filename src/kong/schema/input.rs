//! Kong's input-side shorthands that are not in the schema JSON: the service `url`
//! (`kong-admin-api.md` §2.1) and the upstream `algorithm`/`hash_on` coupling (§2.5). The
//! sandbox applies them to requests and the planner to desired entities, so both read a
//! configuration the same way.

use serde_json::{Map, Value, json};

/// What a service `url` expands to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    /// The scheme, or `http` (`https` when the port is 443) without one.
    pub protocol: String,
    /// The host; `None` when the URL has none (Kong then reports `host` missing).
    pub host: Option<String>,
    /// The explicit port, else 443 for https, else 80.
    pub port: i64,
    /// The path; `None` when the URL has none.
    pub path: Option<String>,
}

/// Parses a service `url`. Errors are `(field, Kong's message)`.
pub fn parse_service_url(url: &str) -> Result<ServiceUrl, (&'static str, &'static str)> {
    if url.is_empty() {
        return Err(("url", "length must be at least 1"));
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, url),
    };
    let (authority, path) = if scheme.is_some() {
        match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    } else {
        ("", rest)
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h.to_owned(), p.strip_prefix(':').map(str::to_owned)),
            None => (authority.to_owned(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.to_owned())),
            None => (authority.to_owned(), None),
        }
    };
    let port: Option<i64> = match port {
        Some(p) if !p.is_empty() => Some(p.parse().map_err(|_| ("port", "expected an integer"))?),
        _ => None,
    };
    let protocol = scheme.clone().unwrap_or_else(|| if port == Some(443) { "https".into() } else { "http".into() });
    let port = port.unwrap_or(if protocol == "https" { 443 } else { 80 });
    Ok(ServiceUrl {
        protocol,
        host: (!host.is_empty()).then_some(host),
        port,
        // Without a scheme LuaSocket reads the whole text as the path (`invalid url` →
        // `path: should start with: /` next to `host: required field missing`).
        path: (!path.is_empty()).then(|| path.to_owned()),
    })
}

impl ServiceUrl {
    /// Writes the expanded fields into `obj`, overriding any sent alongside the `url`.
    pub fn write_into(self, obj: &mut Map<String, Value>) {
        obj.insert("protocol".into(), json!(self.protocol));
        obj.insert("host".into(), self.host.map_or(Value::Null, Value::String));
        obj.insert("port".into(), json!(self.port));
        obj.insert("path".into(), self.path.map_or(Value::Null, Value::String));
    }
}

/// Upstream `algorithm`/`hash_on` coupling (§2.5): least connections and latency force
/// `hash_on` to `none`; a `hash_on` of `none` turns consistent hashing back into
/// round-robin (and chooses round-robin for a new upstream); any other `hash_on` forces
/// consistent hashing. `stored_algorithm` is the algorithm of the row being updated, and
/// `inserting` says whether there is none.
pub fn couple_upstream_algorithm(input: &mut Map<String, Value>, stored_algorithm: Option<&str>, inserting: bool) {
    let algorithm = input.get("algorithm").and_then(Value::as_str).map(str::to_owned);
    if matches!(algorithm.as_deref(), Some("least-connections" | "latency")) {
        input.insert("hash_on".into(), json!("none"));
    }
    match input.get("hash_on").and_then(Value::as_str) {
        Some("none") => {
            let current = algorithm.as_deref().or(stored_algorithm);
            if current == Some("consistent-hashing") || current.is_none() && inserting {
                input.insert("algorithm".into(), json!("round-robin"));
            }
        }
        Some(_) => {
            input.insert("algorithm".into(), json!("consistent-hashing"));
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_expand_like_kong() {
        let u = parse_service_url("http://example.test/").unwrap();
        assert_eq!(
            (u.protocol.as_str(), u.host.as_deref(), u.port, u.path.as_deref()),
            ("http", Some("example.test"), 80, Some("/"))
        );
        let u = parse_service_url("https://example.test").unwrap();
        assert_eq!((u.port, u.path), (443, None));
        assert_eq!(parse_service_url("http://h:x/").unwrap_err(), ("port", "expected an integer"));
    }

    #[test]
    fn upstream_coupling() {
        let mut b = json!({"hash_on": "ip"}).as_object().cloned().unwrap();
        couple_upstream_algorithm(&mut b, None, true);
        assert_eq!(b["algorithm"], "consistent-hashing");
        let mut b = json!({"algorithm": "least-connections", "hash_on": "ip"}).as_object().cloned().unwrap();
        couple_upstream_algorithm(&mut b, None, true);
        assert_eq!((b["hash_on"].as_str(), b["algorithm"].as_str()), (Some("none"), Some("least-connections")));
    }
}
