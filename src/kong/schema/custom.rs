//! The validators Kong implements as Lua functions (`custom_validator`,
//! `custom_entity_check`), which the served schema JSON cannot carry. Re-implemented here
//! from the behaviour described in `kong-admin-api.md` §1.5, §2.1, §2.2, §2.5, §2.6.

use std::net::{IpAddr, Ipv6Addr};

use serde_json::{Map, Value};

/// The custom validator of field `path` (dotted; `*` for array elements, `<key>` for map
/// keys) of schema `schema`, or `None` when the value passes.
pub fn check_field(schema: &str, path: &str, value: &Value) -> Option<String> {
    let s = value.as_str()?;
    match (schema, path) {
        (_, "tags.*") => check_tag(s),
        ("services" | "routes" | "plugins", "name" | "instance_name") => check_utf8_name(s),
        ("services", "host") => check_host(s, false),
        ("services", "path") => check_path(s),
        ("routes", "hosts.*") => check_host(&s.replace('*', "abc"), true),
        ("routes" | "certificates", "snis.*") | ("snis", "name") => check_wildcard_host(s),
        ("routes", "paths.*") => s.starts_with('/').then(|| check_path(s).or_else(|| check_normalized(s))).flatten(),
        ("routes", "sources.*.ip" | "destinations.*.ip") => check_ip_or_cidr(s),
        ("upstreams", "name") => check_upstream_name(s),
        ("upstreams", "host_header") => check_host(s, true),
        ("upstreams", "hash_on_header" | "hash_fallback_header") => check_header_name(s),
        ("upstreams", "hash_on_cookie") => check_http_token(s),
        ("targets", "target") => check_target(s),
        ("oauth2_credentials", "redirect_uris.*") => check_redirect_uri(s),
        _ => None,
    }
}

/// The `description` Kong's served schemas give the `typedefs.url` fields: the schema JSON
/// cannot carry their `custom_validator`, so fields are recognised by it.
pub const URL_DESCRIPTION: &str = "A string representing a URL, such as https://example.com/path/to/resource?q=search.";

/// The `description` of `typedefs.header_name` fields (key-auth `key_names`, ...).
pub const HEADER_NAME_DESCRIPTION: &str = "A string representing an HTTP header name.";

/// The validator a typedef carries, recognised by the field's `description`.
pub fn check_typedef(description: &str, s: &str) -> Option<String> {
    if s.starts_with("{vault://") {
        return None;
    }
    match description {
        URL_DESCRIPTION => check_url(s),
        HEADER_NAME_DESCRIPTION => check_header_name(s),
        _ => None,
    }
}

/// The parts of a URL as LuaSocket's `url.parse` finds them (the parser Kong's `typedefs.url`
/// and the oauth2 `redirect_uris` validator use).
#[derive(Debug, Default, PartialEq)]
pub struct LuaUrl {
    /// `scheme` before `:`.
    pub scheme: Option<String>,
    /// The host of the `//authority`, without user info and port.
    pub host: Option<String>,
    /// What follows `#`, possibly empty.
    pub fragment: Option<String>,
}

/// LuaSocket's `url.parse`: fragment, then scheme, then `//authority`.
pub fn parse_lua_url(url: &str) -> LuaUrl {
    let mut out = LuaUrl::default();
    let mut rest = url;
    if let Some(i) = rest.find('#') {
        out.fragment = Some(rest[i + 1..].to_owned());
        rest = &rest[..i];
    }
    if let Some(i) = rest.find(':') {
        let scheme = &rest[..i];
        let ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if ok {
            out.scheme = Some(scheme.to_owned());
            rest = &rest[i + 1..];
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let authority = &after[..after.find('/').unwrap_or(after.len())];
        let authority = authority.split_once('@').map_or(authority, |(_, h)| h);
        let host = match authority.rfind(':') {
            Some(i) if !authority[i + 1..].contains(']') => &authority[..i],
            _ => authority,
        };
        let host = host.split(['?', ';']).next().unwrap_or("");
        if !host.is_empty() {
            out.host = Some(host.to_owned());
        }
    }
    out
}

/// `typedefs.url` (`kong/db/schema/typedefs.lua`, `validate_url`).
pub fn check_url(s: &str) -> Option<String> {
    let u = parse_lua_url(s);
    if u.host.is_none() {
        return Some("missing host in url".into());
    }
    u.scheme.is_none().then(|| "missing scheme in url".into())
}

/// oauth2 `redirect_uris` elements (`kong/plugins/oauth2/daos.lua`, `validate_uri`).
pub fn check_redirect_uri(s: &str) -> Option<String> {
    let u = parse_lua_url(s);
    if u.host.is_none() || u.scheme.is_none() {
        return Some(format!("cannot parse '{s}'"));
    }
    u.fragment.is_some().then(|| format!("fragment not allowed in '{s}'"))
}

/// `typedefs.header_name` (`kong/tools/http.lua`, `validate_header_name`).
pub fn check_header_name(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("no header name provided".into());
    }
    let ok = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (!ok).then(|| format!("bad header name '{s}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"))
}

/// Entity-level checks Kong implements as functions; returns `(field, message)` pairs
/// (`None` field = `@entity`). `sources` are the check's `field_sources`.
pub fn entity_check(schema: &str, sources: &[String], obj: &Map<String, Value>) -> Option<String> {
    match (schema, sources.first().map(String::as_str)) {
        ("routes", Some("id")) => route_matching_rule(obj),
        _ => None,
    }
}

fn strs<'a>(obj: &'a Map<String, Value>, f: &str) -> Vec<&'a str> {
    obj.get(f).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn nonempty(obj: &Map<String, Value>, f: &str) -> bool {
    match obj.get(f) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

/// Minimum matching criteria of a route (§2.2).
fn route_matching_rule(obj: &Map<String, Value>) -> Option<String> {
    let protocols = strs(obj, "protocols");
    let has = |p: &str| protocols.contains(&p);
    let any = |fields: &[&str]| fields.iter().any(|f| nonempty(obj, f));
    if has("https") {
        return (!any(&["methods", "hosts", "headers", "paths", "snis"])).then(|| {
            "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'".into()
        });
    }
    if has("http") {
        return (!any(&["methods", "hosts", "headers", "paths"]))
            .then(|| "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'".into());
    }
    if has("grpcs") {
        return (!any(&["hosts", "headers", "paths", "snis"]))
            .then(|| "must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'".into());
    }
    if has("grpc") {
        return (!any(&["hosts", "headers", "paths"]))
            .then(|| "must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'".into());
    }
    if has("tcp") || has("tls") || has("udp") {
        return (!any(&["sources", "destinations", "snis"])).then(|| {
            "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'".into()
        });
    }
    if has("tls_passthrough") {
        return (!any(&["snis"])).then(|| "must set snis when 'protocols' is 'tls_passthrough'".into());
    }
    None
}

/// Field errors of the route subschema chosen by the first protocol (§2.2): fields a
/// protocol family may not set. Returns `(field, message)` pairs.
pub fn route_subschema_errors(obj: &Map<String, Value>) -> Vec<(String, String)> {
    let protocols = strs(obj, "protocols");
    let Some(first) = protocols.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut forbid = |fields: &[&str], when: &str| {
        for f in fields {
            if nonempty(obj, f) {
                out.push(((*f).to_owned(), format!("cannot set '{f}' when 'protocols' is {when}")));
            }
        }
    };
    match *first {
        "http" | "https" => forbid(&["sources", "destinations"], "'http' or 'https'"),
        "grpc" | "grpcs" => {
            forbid(&["sources", "destinations", "methods"], "'grpc' or 'grpcs'");
            if obj.get("strip_path") == Some(&Value::Bool(true)) {
                out.push(("strip_path".into(), "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'".into()));
            }
        }
        _ => forbid(&["methods", "hosts", "paths", "headers"], "'tcp', 'tls', 'tls_passthrough' or 'udp'"),
    }
    out
}

/// Tags (§1.5).
pub fn check_tag(t: &str) -> Option<String> {
    let ok = !t.is_empty() && t.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'/' || b >= 0x80);
    (!ok).then(|| format!("invalid tag '{t}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"))
}

/// `utf8_name` typedef (§2.1).
pub fn check_utf8_name(s: &str) -> Option<String> {
    let ok = s.chars().all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~'));
    (!ok)
        .then(|| format!("invalid value '{s}': the only accepted ascii characters are alphanumerics or ., -, _, and ~"))
}

/// Kong 3.9's `check_hostname` (`kong/tools/ip.lua`): letters, digits, `-`, `.`, `_`; no
/// label ends with `-`; only the last label may be empty (a trailing dot). No length limit on
/// the name or its labels: Kong accepts a 64-character label.
fn is_hostname(h: &str) -> bool {
    if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) {
        return false;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let last = labels.len() - 1;
    labels.iter().enumerate().all(|(i, l)| !l.ends_with('-') && (!l.is_empty() || i == last))
}

/// Splits `host[:port]`, `[v6]:port`; returns (host, port text).
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            return (h, tail.strip_prefix(':'));
        }
        return (s, None);
    }
    if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').unwrap_or((s, ""));
        return (h, Some(p));
    }
    (s, None)
}

/// The kind of address Kong's `hostname_type` sees (`kong/tools/ip.lua`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrType {
    Ipv4,
    Ipv6,
    Name,
}

/// Kong's `normalize_ip` (`kong/tools/ip.lua`): the address type and whether a port was
/// given, or the error (`invalid port number`, `invalid ipv4 address: ..`, ...).
fn normalize_ip(address: &str) -> Result<(AddrType, Option<u32>), String> {
    let colons = address.matches(':').count();
    let remainder: String = address.chars().filter(|c| *c != ':').collect();
    let port_of = |p: &str| -> Result<Option<u32>, String> {
        let n: u64 = p.parse().map_err(|_| "invalid port number".to_owned())?;
        if n > 65535 { Err("invalid port number".into()) } else { Ok(Some(n as u32)) }
    };
    if colons > 1 {
        let (check, port) = match address.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((inner, "")) => (inner, None),
            Some((inner, rest)) => match rest.strip_prefix(':') {
                Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => (inner, Some(p)),
                _ => return Err("invalid ipv6 address".into()),
            },
            None => (address, None),
        };
        if check.parse::<Ipv6Addr>().is_err() {
            return Err(format!("invalid ipv6 address: {address}"));
        }
        let port = match port {
            Some(p) => port_of(p)?,
            None => None,
        };
        return Ok((AddrType::Ipv6, port));
    }
    if !remainder.is_empty() && remainder.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let bad = || format!("invalid ipv4 address: {address}");
        let (ip, port) = match address.split_once(':') {
            Some((ip, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (ip, Some(p)),
            Some(_) => return Err(bad()),
            None => (address, None),
        };
        let octets: Vec<&str> = ip.split('.').collect();
        let ok = octets.len() == 4
            && octets.iter().all(|o| (1..=3).contains(&o.len()) && o.parse::<u16>().is_ok_and(|n| n <= 255));
        if !ok {
            return Err(bad());
        }
        let port = match port {
            Some(p) => port_of(p)?,
            None => None,
        };
        return Ok((AddrType::Ipv4, port));
    }
    // check_hostname: an optional trailing `:digits` port, then the name.
    let (name, port) = match address.rsplit_once(':') {
        Some((n, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (n, port_of(p)?),
        _ => (address, None),
    };
    if is_hostname(name) { Ok((AddrType::Name, port)) } else { Err(format!("invalid hostname: {address}")) }
}

/// Host or IP, optionally with a port (`allow_port`): Kong's `validate_host` and
/// `validate_host_with_optional_port` (`kong/db/schema/typedefs.lua`).
pub fn check_host(s: &str, allow_port: bool) -> Option<String> {
    let r = normalize_ip(s);
    if allow_port {
        return r.err();
    }
    match r {
        Err(e) if e != "invalid port number" => Some(format!("invalid value: {s}")),
        Err(_) | Ok((_, Some(_))) => Some("must not have a port".into()),
        Ok(_) => None,
    }
}

/// Kong's `validate_wildcard_host` (`kong/db/schema/typedefs.lua`), for SNI names and
/// certificate `snis`, with its checks in Kong's order: wildcard position, wildcard count,
/// then the address ("invalid value", "must not be an IP", "must not have a port").
pub fn check_wildcard_host(s: &str) -> Option<String> {
    let mut host = s.to_owned();
    if let Some(idx) = s.find('*') {
        if idx != 0 && idx + 1 != s.len() {
            return Some("wildcard must be leftmost or rightmost character".into());
        }
        if s.matches('*').count() > 1 {
            return Some("only one wildcard must be specified".into());
        }
        host = s.replace('*', "wildcard");
    }
    match normalize_ip(&host) {
        Err(e) if e != "invalid port number" => Some(format!("invalid value: {host}")),
        Ok((t, _)) if t != AddrType::Name => Some("must not be an IP".into()),
        Err(_) | Ok((_, Some(_))) => Some("must not have a port".into()),
        Ok(_) => None,
    }
}

fn is_rfc3986(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&c)
}

/// Path characters and percent-encoding (§2.1).
pub fn check_path(s: &str) -> Option<String> {
    if !s.bytes().all(is_rfc3986) {
        return Some(format!("invalid path: '{s}' (characters outside of the reserved list of RFC 3986 found)"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(b.len());
                return Some(format!("invalid url-encoded value: '{}'", &s[i..end]));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// A prefix path as Kong normalises it: unreserved percent-escapes decoded, other escapes
/// upper-cased, dot segments removed.
pub fn normalize_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = &s[i + 1..i + 3];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                    out.push(v as char);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    // remove dot segments (RFC 3986 §5.2.4)
    let trailing = out.ends_with('/') || out.ends_with("/.") || out.ends_with("/..");
    let mut segs: Vec<&str> = Vec::new();
    for seg in out.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                segs.pop();
            }
            other => segs.push(other),
        }
    }
    let mut res = String::from("/");
    res.push_str(&segs.join("/"));
    if trailing && !res.ends_with('/') {
        res.push('/');
    }
    res
}

fn check_normalized(s: &str) -> Option<String> {
    if !s.is_ascii() {
        return None;
    }
    let n = normalize_path(s);
    (n != s).then(|| format!("non-normalized path, consider use '{n}' instead"))
}

fn check_ip_or_cidr(s: &str) -> Option<String> {
    let ok = match s.split_once('/') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((ip, bits)) => match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
            (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
            _ => false,
        },
    };
    (!ok).then(|| format!("invalid ip or cidr range: '{s}'"))
}

fn check_upstream_name(s: &str) -> Option<String> {
    let (host, port) = split_host_port(s);
    if s.parse::<IpAddr>().is_ok() || host.parse::<IpAddr>().is_ok() {
        return Some(format!("Invalid name ('{s}'); no ip addresses allowed"));
    }
    if port.is_some() {
        return Some(format!("Invalid name ('{s}'); no port allowed"));
    }
    (!is_hostname(s)).then(|| format!("Invalid name ('{s}'); must be a valid hostname"))
}

/// Kong's `validate_http_token` (`kong/tools/http.lua`), the cookie-name check.
fn check_http_token(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("no token provided".into());
    }
    let bad = s.bytes().any(|b| !(32..127).contains(&b) || b" ()<>@,;:\\\"/?={}[]".contains(&b));
    bad.then(|| {
        "contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed."
            .into()
    })
}

/// The `targets.target` validator (`kong/db/schema/entities/targets.lua`).
fn check_target(s: &str) -> Option<String> {
    normalize_ip(s).is_err().then(|| format!("Invalid target ('{s}'); not a valid hostname or ip address"))
}

/// Whether a target parses as Kong's targets DAO requires (`kong/db/dao/targets.lua`,
/// `format_target`); the DAO refuses others before the schema runs.
pub fn target_parses(s: &str) -> bool {
    normalize_ip(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hosts_and_tags() {
        assert!(check_utf8_name("svc-a.b_c~").is_none());
        assert!(check_utf8_name("sérvice").is_none());
        assert!(check_utf8_name("a b").is_some());
        assert_eq!(check_host("a.test:80", false).as_deref(), Some("must not have a port"));
        assert!(check_host("10.0.0.1", false).is_none());
        assert!(check_host("::1", false).is_none());
        assert!(check_host("bad host", false).is_some());
        assert!(check_tag("ok tag").is_none());
        assert!(check_tag("a,b").is_some());
        assert!(check_tag("a/b").is_some());
    }

    #[test]
    fn urls_as_luasocket_parses_them() {
        assert_eq!(check_url("invalid::#//url").as_deref(), Some("missing host in url"));
        assert!(check_url("https://example.com/x?q").is_none());
        assert_eq!(check_redirect_uri("not-valid").as_deref(), Some("cannot parse 'not-valid'"));
        assert_eq!(
            check_redirect_uri("http://test.test/#with-fragment").as_deref(),
            Some("fragment not allowed in 'http://test.test/#with-fragment'")
        );
        assert!(check_redirect_uri("http://user@h.test:80/cb").is_none());
        assert!(check_header_name("api key").is_some());
    }

    #[test]
    fn wildcard_hosts() {
        assert!(check_wildcard_host("*.example.com").is_none());
        assert!(check_wildcard_host("example.*").is_none());
        assert_eq!(check_wildcard_host("a.*.com").as_deref(), Some("wildcard must be leftmost or rightmost character"));
        assert_eq!(check_wildcard_host("*.a.*").as_deref(), Some("only one wildcard must be specified"));
        assert_eq!(check_wildcard_host("1.2.3.4").as_deref(), Some("must not be an IP"));
        // Kong checks "an IP" before the port.
        assert_eq!(check_wildcard_host("1.2.3.4:80").as_deref(), Some("must not be an IP"));
        assert_eq!(check_wildcard_host("a.test:80").as_deref(), Some("must not have a port"));
        // No 63-character label limit in Kong 3.9's check_hostname.
        assert!(check_wildcard_host(&format!("{}.test", "a".repeat(64))).is_none());
        assert!(check_host(&format!("{}.test", "a".repeat(64)), false).is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("/%7efoo"), "/~foo");
        assert_eq!(normalize_path("/a%2fb"), "/a%2Fb");
        assert!(check_normalized("/a/../b").is_some());
        assert!(check_normalized("/a/b/").is_none());
        assert!(check_path("/a b").is_some());
        assert!(check_path("/a%zz").is_some());
    }

    #[test]
    fn targets_and_upstreams() {
        assert!(check_target("konghq.test:8000").is_none());
        assert!(check_target("[::1]:80").is_none());
        assert!(check_target("bad host").is_some());
        assert_eq!(
            check_upstream_name("1.2.3.4").as_deref(),
            Some("Invalid name ('1.2.3.4'); no ip addresses allowed")
        );
        assert_eq!(check_upstream_name("a.test:80").as_deref(), Some("Invalid name ('a.test:80'); no port allowed"));
    }
}
