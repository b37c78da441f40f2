use super::*;
use crate::source::yaml::parse;
use serde_json::json;

fn round_trip(v: &Value) {
    let text = to_yaml(v);
    let back = parse(&text).unwrap_or_else(|e| panic!("re-parse failed: {e}\n{text}")).to_json();
    assert_eq!(&back, v, "\n{text}");
}

#[test]
fn ambiguous_strings_are_quoted() {
    for s in [
        "true",
        "True",
        "false",
        "null",
        "Null",
        "~",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "N",
        "1",
        "1.0",
        "3.0",
        "-1",
        "+1",
        ".5",
        "1e3",
        "0x1F",
        "0o17",
        ".inf",
        "-.inf",
        ".nan",
        "",
        " lead",
        "trail ",
        "a: b",
        "a #b",
        "#x",
        "- x",
        "-x",
        "*alias",
        "&anchor",
        "!tag",
        "%x",
        "@x",
        "`x",
        "'x",
        "\"x",
        "[x]",
        "{x}",
        "a,b",
        "x:",
        "?x",
        "|x",
        ">x",
        "10.0.0.1:80",
        "1:20",
        "2001-12-14",
        "<<",
        "=",
        "tab\there",
        "nul\0x",
        "bell\u{7}",
        "line\u{2028}sep",
        "\u{feff}bom",
    ] {
        let v = json!({ "k": s });
        round_trip(&v);
        let text = to_yaml(&v);
        assert!(text.contains('"') || text.contains('|'), "{s:?} written plain: {text}");
    }
}

#[test]
fn safe_strings_are_plain() {
    for s in [
        "11111111-1111-4111-8111-111111111111",
        "svc1",
        "mockbin.org",
        "/r1",
        "x-api-key:$LUA",
        "Authorization",
        "http://example.test/a",
        "a b",
        "ünïcode",
        "_x",
    ] {
        let v = json!({ "k": s });
        round_trip(&v);
        assert_eq!(to_yaml(&v), format!("k: {s}\n"));
    }
}

#[test]
fn multi_line_strings() {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIC1jCCAb4CCQCt\n-----END CERTIFICATE-----\n";
    for s in [
        pem,
        pem.trim_end(),
        "a\n\n",
        "a\n\nb",
        "local x = 1\n  indented\nend",
        "  leading\nspace",
        "\nleading newline",
        "trailing spaces  \nx",
        "blank \n   \nline",
        "crlf\r\nline",
        "\n\n",
        "tab\n\tstart",
    ] {
        round_trip(&json!({ "k": s }));
        round_trip(&json!({ "k": [s, {"n": s}] }));
    }
    assert_eq!(to_yaml(&json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
    assert_eq!(to_yaml(&json!({"k": ["a\nb"]})), "k:\n- |-\n  a\n  b\n");
}

#[test]
fn numbers_keep_their_type() {
    for v in [
        json!(1),
        json!(-7),
        json!(1.0),
        json!(0.5),
        json!(1.2096e6),
        json!(1e21),
        json!(1e-7),
        json!(u64::MAX / 2),
        json!(60000),
    ] {
        round_trip(&json!({ "k": v }));
    }
}

#[test]
fn nested_structures() {
    let v = json!({
        "_format_version": "3.0",
        "services": [
            {"name": "s", "routes": [{"name": "r", "paths": ["/a"], "headers": {"x-h": ["v"]}}], "tags": []},
            {"name": "t", "empty": {}, "nested": [[1, 2], [], [{"a": null}]]}
        ],
        "weird key: x": {"true": false, "1": "one"}
    });
    round_trip(&v);
    let text = to_yaml(&v);
    assert!(text.starts_with("_format_version: \"3.0\"\nservices:\n- name: s\n  routes:\n  - headers:\n"), "{text}");
}

#[test]
fn generated_strings_round_trip() {
    // A deterministic sweep over short strings built from characters YAML treats specially.
    let alphabet = ['a', '1', ' ', ':', '#', '-', '\n', '"', '\'', '~', '.', '\\', '{', '|', 'é', '\t', '*', '?'];
    let mut count = 0;
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                let s: String = [a, b, c].iter().collect();
                round_trip(&json!({ "k": s.clone(), "l": [s] }));
                count += 1;
            }
        }
    }
    assert_eq!(count, alphabet.len().pow(3));
}
