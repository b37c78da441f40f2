//! Loading: value rules at the value's own line, secrets never quoted in messages, JSON
//! files read as JSON, hostile nesting refused.

use super::tests::{errors, errors_of, load_env};

#[test]
fn a_value_error_names_the_line_of_the_value() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  port: 70000\n");
    assert_eq!(
        errs,
        vec!["kong.yaml:5:9: error: services[0].port: value should be between 0 and 65535 (service \"a\")"]
    );
    let errs = errors(
        "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/a]\n  protocols: [http, gopher]\n  sources:\n  - ip: 300.1.1.1\n",
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("kong.yaml:5:21: error: routes[0].protocols[1]: expected one of: "), "{errs:?}");
    assert!(errs[1].starts_with("kong.yaml:7:9: error: routes[0].sources[0].ip: "), "{errs:?}");
    // `url` replaces what `protocol` says before Kong validates it.
    let ok = "_format_version: \"3.0\"\nservices:\n- name: a\n  url: http://h:80/\n  protocol: ws\n";
    assert!(super::tests::load_one(ok).is_ok());
    let errs = errors("_format_version: \"3.0\"\n_info:\n  defaults:\n    service:\n      retries: -1\n");
    assert!(errs[0].starts_with("kong.yaml:5:16: error: _info.defaults.service.retries: "), "{errs:?}");
}

#[test]
fn value_errors_do_not_quote_secrets_or_variables() {
    let secret = "ka-Secret-0123456789abcdef";
    let text = format!(
        "_format_version: \"3.0\"\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: {secret}\n- username: v\n  keyauth_credentials:\n  - key: {secret}\n"
    );
    let errs = errors_of(load_env(&[("kong.yaml", &text)], &[]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(!errs[0].contains("ka-Secret"), "{errs:?}");
    let text = "_format_version: \"3.0\"\nconsumers:\n- username: u\n  custom_id: ${{ env \"DECK_CID\" }}\n- username: v\n  custom_id: ${{ env \"DECK_CID\" }}\n";
    let errs = errors_of(load_env(&[("kong.yaml", text)], &[("DECK_CID", "cid-0123456789")]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("custom_id (sensitive value) is already used by consumer \"u\""), "{errs:?}");

    let text = "_format_version: \"3.0\"\nservices:\n- name: a\n  host: ${{ env \"DECK_HOST\" }}\nroutes:\n- name: r\n  paths: [/r]\n  service: ${{ env \"DECK_SVC\" }}\n";
    let env = [("DECK_HOST", "bad host!"), ("DECK_SVC", "ka-Secret-svc")];
    let errs = errors_of(load_env(&[("kong.yaml", text)], &env));
    assert_eq!(
        errs,
        vec![
            "kong.yaml:4:9: error: services[0].host: invalid value: (sensitive value) (service \"a\")",
            "kong.yaml:8:12: error: route \"r\" refers to service (sensitive value), which is not defined",
        ]
    );

    let errs = errors(
        "_format_version: \"3.0\"\nconsumers:\n- username: u\n  keyauth_credentials:\n  - key: !!int ka-Secret-1\n",
    );
    assert_eq!(errs, vec!["kong.yaml:5:10: error: invalid YAML: the value tagged `!!int` is not an integer"]);
}

#[test]
fn json_files_are_read_as_json() {
    let text =
        "{\n  \"_format_version\": \"3.0\",\n  \"services\": [\n    {\"name\": \"a\", \"host\": \"h\",}\n  ]\n}\n";
    let errs = errors_of(load_env(&[("kong.json", text)], &[]));
    assert_eq!(errs, vec!["kong.json:4:30: error: invalid JSON: trailing comma"]);
    // The same text is valid YAML, and a file named so is read as YAML.
    assert!(load_env(&[("kong.yaml", text)], &[]).is_ok());
    let errs = errors_of(load_env(&[("v1:kong/x.JSON", "_format_version: \"3.0\"\n")], &[]));
    assert!(errs[0].starts_with("v1:kong/x.JSON:1:1: error: invalid JSON: "), "{errs:?}");
}

#[test]
fn a_tab_in_the_indentation_is_reported_on_its_line() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: a\n\thost: h\n");
    assert_eq!(
        errs,
        vec!["kong.yaml:4:1: error: invalid YAML: a tab is used for indentation here; YAML indents with spaces only"]
    );
}

#[test]
fn deep_nesting_is_refused_with_its_place() {
    let text =
        format!("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  tags:\n  {}x\n", "- ".repeat(15_000));
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("kong.yaml:6:"), "{errs:?}");
    assert!(errs[0].contains("more than 256 levels"), "{errs:?}");
    let text = format!(
        "_format_version: \"3.0\"\nservices:\n- name: ${{{{ {}\"a\"{} }}}}\n",
        "(".repeat(30_000),
        ")".repeat(30_000)
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("kong.yaml:3:9: error: template expression nests parentheses more than 64"),
        "{errs:?}"
    );
}

/// What a depth-256 document costs the loader's recursive walks (type checks, JSON
/// conversion, drop) stays well within a 2 MiB thread stack (a tokio worker's), even in a
/// debug build.
#[test]
fn the_deepest_allowed_document_loads_on_a_small_stack() {
    let text = format!(
        "_format_version: \"3.0\"\nplugins:\n- name: pre-function\n  config:\n    access:\n    {}x\n",
        "- ".repeat(250)
    );
    let run = move || super::tests::load_one(&text).map(|_| ()).map_err(|e| e.to_string());
    let result = std::thread::Builder::new().stack_size(2 << 20).spawn(run).unwrap().join().unwrap();
    let err = result.unwrap_err();
    assert!(err.contains("expected a string"), "{err}");
}
