//! Tests of the YAML reader: core schema, positions, anchors, limits.

use super::*;
use serde_json::json;

#[test]
fn core_schema_scalars() {
    let n = parse("a: yes\nb: true\nc: 10\nd: 1.2096e+06\ne: ~\nf: '10'\ng: NO\nh: 0x1F\ni: 1e3\n").unwrap();
    assert_eq!(
        n.to_json(),
        json!({"a": "yes", "b": true, "c": 10, "d": 1209600.0, "e": null, "f": "10", "g": "NO", "h": 31, "i": 1000.0})
    );
}

#[test]
fn positions_are_one_based() {
    let n = parse("services:\n  - name: a\n    port: 80\n").unwrap();
    let svc = &n.get("services").unwrap().items().unwrap()[0];
    assert_eq!(svc.get("port").unwrap().pos, Pos { line: 3, column: 11 });
    assert_eq!(svc.pos.line, 2);
}

#[test]
fn duplicate_keys_are_errors() {
    let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(err.pos, Pos { line: 3, column: 1 });
    assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse("a:\n  b: [1, 2\n").unwrap_err();
    assert!(err.pos.line >= 2, "{err}");
}

#[test]
fn json_is_yaml() {
    let n = parse("{\n    \"a\": [1, 2.5, \"x\", null, false],\n    \"b\": {\"c\": \"d\"}\n}").unwrap();
    assert_eq!(n.to_json(), json!({"a": [1, 2.5, "x", null, false], "b": {"c": "d"}}));
    assert_eq!(n.get("b").unwrap().pos.line, 3);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let n = parse("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n").unwrap();
    assert_eq!(n.to_json(), json!({"base": {"x": 1, "y": 2}, "c": {"y": 3, "x": 1}, "d": {"x": 1, "y": 2}}));
}

#[test]
fn multi_line_strings() {
    let n = parse("code: |\n  line1\n  line2\n").unwrap();
    assert_eq!(n.to_json(), json!({"code": "line1\nline2\n"}));
}

#[test]
fn empty_is_null_and_two_documents_fail() {
    assert_eq!(parse("").unwrap().value, NodeValue::Null);
    assert_eq!(parse("---\na: 1\n").unwrap().to_json(), json!({"a": 1}));
    assert!(parse("a: 1\n---\nb: 2\n").is_err());
}

fn nested_sequences(depth: usize) -> String {
    format!("{}x\n", "- ".repeat(depth))
}

#[test]
fn nesting_up_to_the_limit_is_read_deeper_is_refused_with_its_place() {
    let n = parse(&nested_sequences(256)).unwrap();
    assert_eq!(n.to_json().to_string().matches('[').count(), 256);
    let err = parse(&format!("a: 1\nb:\n  {}", nested_sequences(15_000))).unwrap_err();
    assert!(err.message.contains("more than 256 levels"), "{err}");
    assert_eq!(err.pos.line, 3);
    let flow = format!("a: {}{}\n", "{b: ".repeat(300), "}".repeat(300));
    assert!(parse(&flow).is_err());
}

#[test]
fn an_alias_cannot_paste_a_tree_past_the_depth_limit() {
    let deep = format!("[{}]", "[".repeat(199) + &"]".repeat(199));
    let text = format!("a: &a {deep}\nb: {}*a{}\n", "[".repeat(100), "]".repeat(100));
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("levels"), "{err}");
    assert_eq!(err.pos, Pos { line: 2, column: 104 });
}

#[test]
fn billion_laughs_is_refused() {
    let names = "abcdefghij".as_bytes();
    let mut text = String::from("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for w in names.windows(2) {
        let (prev, name) = (w[0] as char, w[1] as char);
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    assert!(text.len() < 400, "{}", text.len());
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("alias bomb"), "{err}");
    assert!(err.pos.line <= 10, "{err}");
}

#[test]
fn a_quadratic_alias_chain_is_refused() {
    let mut text = String::from("c0: &c0 {k0: x}\n");
    for i in 1..3000 {
        text.push_str(&format!("c{i}: &c{i} {{<<: *c{}, k{i}: x}}\n", i - 1));
    }
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("1000000 nodes"), "{err}");
}

#[test]
fn aliases_of_long_text_are_bounded_by_bytes() {
    let text = format!("a: &a {}\nb: [{}]\n", "x".repeat(1 << 20), vec!["*a"; 70].join(", "));
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("bytes of text"), "{err}");
    let small = Limits { max_alias_bytes: 10, ..Limits::DEFAULT };
    assert!(parse_with("a: &a 12345\nb: *a\n", &small).is_ok());
    assert!(parse_with("a: &a 12345\nb: *a\nc: *a\nd: *a\n", &small).is_err());
}

#[test]
fn many_keys_and_merges_are_read() {
    let mut text = String::from("base: &b {x: 1, y: 2}\n");
    for i in 0..50_000 {
        text.push_str(&format!("k{i}: {{<<: *b, y: {i}}}\n"));
    }
    let n = parse(&text).unwrap();
    assert_eq!(n.entries().unwrap().len(), 50_001);
    assert_eq!(n.get("k7").unwrap().to_json(), json!({"y": 7, "x": 1}));
    let err = parse("a: 1\nb: {<<: [{c: 1}, {c: 2}], d: 1, d: 2}\n").unwrap_err();
    assert!(err.message.contains("duplicate key `d` (first defined at line 2)"), "{err}");
}

#[test]
fn tag_errors_do_not_quote_the_value() {
    let err = parse("key: !!int ka-Secret-0123456789\n").unwrap_err();
    assert!(!err.message.contains("ka-Secret"), "{err}");
    assert_eq!(err.message, "the value tagged `!!int` is not an integer");
    assert_eq!(err.pos, Pos { line: 1, column: 6 });
}

#[test]
fn a_tab_in_the_indentation_is_reported_where_it_is() {
    let err = parse("services:\n  - name: a\n  \t  host: h\n").unwrap_err();
    assert_eq!(err.pos, Pos { line: 3, column: 3 }, "{err}");
    assert!(err.message.contains("tab"), "{err}");
    let err = parse("a:\n  b: 1\n\tc: 2\n").unwrap_err();
    assert_eq!(err.pos.line, 3, "{err}");
}

#[test]
fn json_files_must_be_json() {
    let err = parse_json("{\n  \"a\": [1, 2],\n  \"b\": {\"c\": 1,}\n}\n").unwrap_err();
    assert_eq!(err.pos, Pos { line: 3, column: 15 }, "{err}");
    assert_eq!(err.message, "trailing comma");
    let err = parse_json("[1,\n 2,\n]").unwrap_err();
    assert_eq!((err.pos, err.message.as_str()), (Pos { line: 2, column: 3 }, "trailing comma"));
    assert!(parse_json("a: 1\n").is_err());
    let n = parse_json("\u{feff}{\n\t\"a\": [1, {\"b\": null}]\n}").unwrap();
    assert_eq!(n.to_json(), json!({"a": [1, {"b": null}]}));
    assert_eq!(parse_json(" \n").unwrap().value, NodeValue::Null);
}

#[test]
fn errors_at_the_end_stay_inside_the_text() {
    assert_eq!(parse("a: [1, 2").unwrap_err().pos, Pos { line: 1, column: 9 });
    assert_eq!(parse("a: [1, 2\n").unwrap_err().pos, Pos { line: 2, column: 1 });
    assert_eq!(parse("a:\n  b: [1\n  cé").unwrap_err().pos, Pos { line: 3, column: 5 });
}

#[test]
fn nested_anchors_are_charged_for_what_they_keep() {
    // Each anchor keeps a copy of its tree: 250 nested anchors keep ~31,000 nodes, and
    // 40 such chains more than a million, with no alias at all.
    let chain: String = (0..250).map(|i| format!("&a{i} [")).collect::<String>() + "x" + &"]".repeat(250);
    let text: String = (0..40).map(|i| format!("k{i}: {chain}\n")).collect();
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("anchors and aliases copy more than 1000000 nodes"), "{err}");
    assert!(parse(&format!("k: {chain}\n")).is_ok());
}
