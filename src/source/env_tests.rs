use super::template::go_float;
use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn render_ok(text: &str, vars: &[(&str, &str)]) -> Rendered {
    render(text, &env(vars)).unwrap_or_else(|e| panic!("render failed: {e:?}"))
}

#[test]
fn text_without_expressions_is_unchanged() {
    let r = render_ok("a: 1\nb: two\n", &[]);
    assert_eq!(r.text, "a: 1\nb: two\n");
    assert_eq!(r.map.original(Pos { line: 2, column: 4 }), Pos { line: 2, column: 4 });
    assert!(r.env_ranges.is_empty());
}

#[test]
fn env_substitutes_and_records_values() {
    let r = render_ok(
        "host: ${{ env \"DECK_HOST\" }}\ntags:\n- baz:${{ env \"DECK_B\" }}\n",
        &[("DECK_HOST", "example.test"), ("DECK_B", "x")],
    );
    assert_eq!(r.text, "host: example.test\ntags:\n- baz:x\n");
    assert_eq!(r.env_values, vec!["example.test".to_owned(), "x".to_owned()]);
    assert_eq!(r.env_ranges, vec![6..18, 31..32]);
}

#[test]
fn positions_after_a_substitution_map_back() {
    let text = "a: ${{ env \"DECK_LONG_NAME\" }} # c\nb: [1, 2\n";
    let r = render_ok(text, &[("DECK_LONG_NAME", "v")]);
    assert_eq!(r.text, "a: v # c\nb: [1, 2\n");
    // `#` is at column 6 rendered, column 32 originally.
    assert_eq!(r.map.original(Pos { line: 1, column: 6 }), Pos { line: 1, column: 32 });
    // Inside the substituted value: the start of the expression.
    assert_eq!(r.map.original(Pos { line: 1, column: 4 }), Pos { line: 1, column: 4 });
    assert_eq!(r.map.original(Pos { line: 2, column: 7 }), Pos { line: 2, column: 7 });
}

#[test]
fn multi_line_values_keep_later_lines_mapped() {
    let text = "k: |\n  ${{ env \"DECK_PEM\" | indent 2 }}\nnext: 1\n";
    let r = render_ok(text, &[("DECK_PEM", "l1\nl2\nl3")]);
    assert_eq!(r.text, "k: |\n  l1\n  l2\n  l3\nnext: 1\n");
    assert_eq!(r.map.original(Pos { line: 5, column: 1 }), Pos { line: 3, column: 1 });
    assert_eq!(r.map.original(Pos { line: 4, column: 3 }), Pos { line: 2, column: 3 });
}

#[test]
fn missing_variable_is_an_error_at_the_expression() {
    let errs = render("a: 1\nb: x-${{ env \"DECK_NOPE\" }}\n", &env(&[])).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].pos, Pos { line: 2, column: 6 });
    assert_eq!(errs[0].message, "environment variable 'DECK_NOPE' present in state file but not set");
}

#[test]
fn variables_must_start_with_deck() {
    let errs = render("a: ${{ env \"HOME\" }}\n", &env(&[("HOME", "/root")])).unwrap_err();
    assert_eq!(errs[0].message, "environment variables in the state file must be prefixed with 'DECK_', found: 'HOME'");
}

#[test]
fn every_error_is_reported() {
    let errs = render("a: ${{ env \"DECK_A\" }}\nb: ${{ env \"DECK_B\" }}\n", &env(&[])).unwrap_err();
    assert_eq!(errs.iter().map(|e| e.pos.line).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn comment_lines_are_left_alone() {
    let text = "# host: ${{ env \"DECK_UNSET\" }}\n  # ${{ nonsense }}\na: 1 # ${{ env \"DECK_A\" }}\n";
    let r = render_ok(text, &[("DECK_A", "x")]);
    assert_eq!(r.text, "# host: ${{ env \"DECK_UNSET\" }}\n  # ${{ nonsense }}\na: 1 # x\n");
}

#[test]
fn conversion_helpers() {
    let vars =
        [("DECK_N", "42"), ("DECK_B", "True"), ("DECK_F", "1.5"), ("DECK_BIG", "1000000"), ("DECK_TINY", "0.00001")];
    let r = render_ok(
        "a: ${{ env \"DECK_N\" | toInt }}\nb: ${{ toBool (env \"DECK_B\") }}\nc: ${{ env \"DECK_F\" | toFloat }}\nd: ${{ env \"DECK_BIG\" | toFloat }}\ne: ${{ env \"DECK_TINY\" | toFloat }}\nf: ${{ env \"DECK_N\" | toFloat }}\n",
        &vars,
    );
    assert_eq!(r.text, "a: 42\nb: true\nc: 1.5\nd: 1e+06\ne: 1e-05\nf: 42\n");
    let errs = render("a: ${{ env \"DECK_F\" | toInt }}\n", &env(&vars)).unwrap_err();
    // Unlike decK, the value from the variable is not quoted.
    assert_eq!(errs[0].message, "error calling toInt: strconv.Atoi: parsing (sensitive value): invalid syntax");
    let errs = render("a: ${{ env \"DECK_N\" | toBool }}\n", &env(&vars)).unwrap_err();
    assert!(errs[0].message.contains("ParseBool"), "{}", errs[0].message);
}

#[test]
fn go_float_formatting() {
    for (f, s) in [
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.5, "0.5"),
        (-2.25, "-2.25"),
        (1e21, "1e+21"),
        (3.0, "3"),
    ] {
        assert_eq!(go_float(f), s, "{f}");
    }
}

#[test]
fn indent_pads_every_new_line() {
    let r = render_ok("${{ indent 4 \"a\\nb\" }}", &[]);
    assert_eq!(r.text, "a\n    b");
}

#[test]
fn trim_markers_remove_white_space() {
    let r = render_ok("a: [\n  ${{- env \"DECK_X\" -}}  \n]\n", &[("DECK_X", "1")]);
    assert_eq!(r.text, "a: [1]\n");
}

#[test]
fn comments_and_literals() {
    let r = render_ok("a: ${{/* a comment */}}b\nc: ${{ \"lit\" }} ${{ `raw` }} ${{ 7 }}\n", &[]);
    assert_eq!(r.text, "a: b\nc: lit raw 7\n");
}

#[test]
fn string_escapes_numbers_and_their_errors() {
    let r = render_ok("a: \"${{ \"q\\\"\\\\\\tz\" }}\"\nb: ${{ 1.5e+3 }} ${{ -7 }} ${{ toInt \"42\" }}\n", &[]);
    assert_eq!(r.text, "a: \"q\"\\\tz\"\nb: 1500 -7 42\n");
    let message = |text: &str| render(text, &env(&[])).unwrap_err()[0].message.clone();
    assert_eq!(message("${{ \"a\\qb\" }}"), "unsupported escape `\\q` in a template string");
    assert_eq!(message("${{ `open }}"), "template expression `${{` is not closed by `}}`");
    assert_eq!(
        message("${{ env # }}"),
        "unsupported template syntax `#`: only env, toBool, toInt, toFloat and indent calls are supported"
    );
}

#[test]
fn unsupported_constructs_are_errors() {
    let errs = render("${{ if true }}x${{ end }}", &env(&[])).unwrap_err();
    assert!(errs[0].message.contains("not supported"), "{}", errs[0].message);
    let errs = render("${{ .Foo }}", &env(&[])).unwrap_err();
    assert!(errs[0].message.contains("unsupported"), "{}", errs[0].message);
    let errs = render("${{ upper \"x\" }}", &env(&[])).unwrap_err();
    assert_eq!(errs[0].message, "function \"upper\" not defined");
    let errs = render("a: ${{ env \"DECK_X\"\n", &env(&[])).unwrap_err();
    assert_eq!(errs[0].message, "template expression `${{` is not closed by `}}`");
}

#[test]
fn braces_inside_strings_do_not_end_the_action() {
    let r = render_ok("${{ \"}}\" }}", &[]);
    assert_eq!(r.text, "}}");
}

#[test]
fn non_ascii_text_inside_and_around_actions() {
    let r = render_ok("é: ${{ \"ü}\" }} ñ ${{ env \"DECK_X\" }}\nß: 1\n", &[("DECK_X", "日本")]);
    assert_eq!(r.text, "é: ü} ñ 日本\nß: 1\n");
    assert_eq!(r.map.original(Pos { line: 1, column: 7 }), Pos { line: 1, column: 16 });
    assert_eq!(r.map.original(Pos { line: 2, column: 4 }), Pos { line: 2, column: 4 });
}

#[test]
fn parentheses_nest_at_most_64_levels() {
    let ok = format!("a: ${{{{ {}\"x\"{} }}}}\n", "(".repeat(64), ")".repeat(64));
    assert_eq!(render_ok(&ok, &[]).text, "a: x\n");
    let deep = format!("a: 1\nb: ${{{{ {}\"x\"{} }}}}\n", "(".repeat(30_000), ")".repeat(30_000));
    let errs = render(&deep, &env(&[])).unwrap_err();
    assert_eq!(errs[0].pos, Pos { line: 2, column: 4 });
    assert!(errs[0].message.contains("more than 64 levels"), "{}", errs[0].message);
}

#[test]
fn indent_takes_a_bounded_number_of_spaces() {
    let vars = [("DECK_X", "a\nb")];
    assert_eq!(render_ok("k: ${{ env \"DECK_X\" | indent 1024 }}\n", &vars).text.len(), 3 + 3 + 1024 + 1);
    for n in ["9223372036854775807", "1025", "-1"] {
        let text = format!("k: ${{{{ env \"DECK_X\" | indent {n} }}}}\n");
        let errs = render(&text, &env(&vars)).unwrap_err();
        assert!(errs[0].message.contains("indent takes 0 to 1024 spaces"), "{}", errs[0].message);
    }
    let big = "\n".repeat(2000);
    let errs = render("k: ${{ env \"DECK_X\" | indent 1000 }}\n", &env(&[("DECK_X", &big)])).unwrap_err();
    assert!(errs[0].message.contains("at most 1048576"), "{}", errs[0].message);
}

#[test]
fn a_file_grows_by_at_most_64_mib() {
    let value = "v".repeat(100 * 1024);
    let text = "k: ${{ env \"DECK_X\" }}\n".repeat(700);
    let errs = render(&text, &env(&[("DECK_X", &value)])).unwrap_err();
    assert!(errs[0].message.contains("more than 67108864 bytes longer"), "{}", errs[0].message);
    assert_eq!(errs[0].pos.line, 656);
}

#[test]
fn errors_never_quote_values_from_variables() {
    let vars = [("DECK_SECRET", "ka-Secret-0123456789")];
    for expr in [
        "env \"DECK_SECRET\" | toInt",
        "toBool (env \"DECK_SECRET\")",
        "env \"DECK_SECRET\" | toFloat",
        "env (env \"DECK_SECRET\")",
        "(env \"DECK_SECRET\") 1",
    ] {
        let errs = render(&format!("k: ${{{{ {expr} }}}}\n"), &env(&vars)).unwrap_err();
        assert!(!errs[0].message.contains("ka-Secret"), "{expr}: {}", errs[0].message);
        assert!(errs[0].message.contains("(sensitive value)"), "{expr}: {}", errs[0].message);
    }
    let errs = render("k: ${{ \"literal\" | toInt }}\n", &env(&[])).unwrap_err();
    assert_eq!(errs[0].message, "error calling toInt: strconv.Atoi: parsing \"literal\": invalid syntax");
}
