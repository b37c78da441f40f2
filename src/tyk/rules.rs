//! What a Tyk gateway does to an API definition when it loads it (`gateway/api_loader.go`
//! `processSpec`, `gateway/api_definition.go`; `tyk.md` §2.3 #2, #4, #5), shared by the
//! sandbox (which does it) and the dialect (which expects it when comparing).

use serde_json::Value;

/// Prefixes of the secret references Tyk resolves in a listen path, which it leaves alone
/// when cleaning it.
const REFERENCE_PREFIXES: &[&str] = &["env://", "secrets://", "consul://", "vault://", "file://"];

/// `ValidListenPath`: a leading `/`, `.`/`..` segments and doubled slashes cleaned, a trailing
/// slash kept; empty values and secret references unchanged.
pub fn valid_listen_path(lp: &str) -> String {
    if lp.is_empty() || REFERENCE_PREFIXES.iter().any(|p| lp.starts_with(p)) {
        return lp.to_owned();
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in lp.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if lp.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// The rewrites of `processSpec` on a classic definition: `tag_headers` lowercased,
/// `proxy.transport.ssl_max_version` forced to TLS 1.2 (771) when set and raised to
/// `ssl_min_version` when lower.
pub fn process_spec(def: &mut Value) {
    if let Some(t) = def.pointer_mut("/proxy/transport").and_then(Value::as_object_mut) {
        let min = t.get("ssl_min_version").and_then(Value::as_u64).unwrap_or(0);
        let mut max = t.get("ssl_max_version").and_then(Value::as_u64).unwrap_or(0);
        if max > 0 {
            max = 771;
        }
        if min > max {
            max = min;
        }
        t.insert("ssl_max_version".into(), max.into());
    }
    if let Some(Value::Array(tags)) = def.get_mut("tag_headers") {
        for t in tags.iter_mut() {
            if let Value::String(s) = t {
                *s = s.to_lowercase();
            }
        }
    }
}

/// Whether a classic definition is an HTTP API (the only ones Tyk routes by listen path).
pub fn is_http(def: &Value) -> bool {
    matches!(def.get("protocol").and_then(Value::as_str).unwrap_or(""), "" | "http" | "https" | "h2c")
}

/// Whether a listen path is a secret reference (its value is known only to the gateway).
pub fn is_reference_path(lp: &str) -> bool {
    REFERENCE_PREFIXES.iter().any(|p| lp.starts_with(p)) || lp.contains("$kv{") || lp.starts_with("kv://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listen_paths_are_cleaned_like_tyk() {
        assert_eq!(valid_listen_path("a/b/"), "/a/b/");
        assert_eq!(valid_listen_path("/a//b/../c"), "/a/c");
        assert_eq!(valid_listen_path("/"), "/");
        assert_eq!(valid_listen_path(""), "");
        assert_eq!(valid_listen_path("secrets://lp"), "secrets://lp");
    }

    #[test]
    fn specs_are_processed_like_tyk() {
        let mut d = json!({"tag_headers": ["X-Team"], "proxy": {"transport": {"ssl_min_version": 772, "ssl_max_version": 769}}});
        process_spec(&mut d);
        assert_eq!(d["tag_headers"], json!(["x-team"]));
        assert_eq!(d["proxy"]["transport"]["ssl_max_version"], 772);
        assert!(is_http(&json!({})) && !is_http(&json!({"protocol": "tcp"})));
    }
}
