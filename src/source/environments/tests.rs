//! Tests of `gateform.toml`'s environments.

use super::*;

fn parse(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(&Input::new("gateform.toml", text))
}

fn vars(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("s3cret".into()),
        "HOST" => Some("kong.internal".into()),
        _ => None,
    }
}

const GOOD: &str = r#"
[defaults]
parallelism = 4
select_tags = ["platform"]
headers = { "X-Team" = "platform", "Kong-Admin-Token" = "${TOKEN}" }

[environments.staging]
gateway = "https://${HOST}:8444"
path = "kong/staging"

[environments.prod]
gateway = "https://prod:8444"
select_tags = ["prod"]
parallelism = 2
headers = { "kong-admin-token" = "Bearer ${TOKEN}" }
"#;

#[test]
fn environments_merge_over_defaults_and_expand_variables() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.names(), vec!["prod", "staging"]);
    let staging = s.environment("staging", &vars).unwrap();
    assert_eq!(staging.gateway.as_deref(), Some("https://kong.internal:8444"));
    assert_eq!(staging.path.as_deref(), Some("kong/staging"));
    assert_eq!(staging.select_tags, Some(vec!["platform".to_owned()]));
    assert_eq!(staging.parallelism, Some(4));
    let sorted = |mut h: Vec<(String, String)>| {
        h.sort();
        h
    };
    assert_eq!(
        sorted(staging.headers),
        vec![("Kong-Admin-Token".to_owned(), "s3cret".to_owned()), ("X-Team".to_owned(), "platform".to_owned())]
    );
    let prod = s.environment("prod", &vars).unwrap();
    assert_eq!(prod.parallelism, Some(2));
    assert_eq!(prod.path, None);
    assert_eq!(
        sorted(prod.headers),
        vec![("X-Team".to_owned(), "platform".to_owned()), ("kong-admin-token".to_owned(), "Bearer s3cret".to_owned())]
    );
}

#[test]
fn unknown_environments_list_the_known_ones() {
    let err = parse(GOOD).unwrap().environment("qa", &vars).unwrap_err();
    assert_eq!(err.to_string(), "gateform.toml defines no environment \"qa\" (defined: prod, staging)");
    let empty = parse("").unwrap().environment("qa", &vars).unwrap_err();
    assert!(empty.to_string().ends_with("(defined: none)"), "{empty}");
}

#[test]
fn unset_variables_are_errors_with_their_place() {
    let s = parse("[environments.a]\nheaders = { Authorization = \"Bearer ${NOPE}\" }\n").unwrap();
    let err = s.environment("a", &vars).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gateform.toml:2:29: error: header `Authorization` of environment \"a\" uses ${NOPE}, which is not set"
    );
}

#[test]
fn errors_carry_line_and_column() {
    let cases = [
        (
            "[environments.a]\ngatway = \"x\"\n",
            "gateform.toml:2:1: error: unknown field `gatway`; did you mean `gateway`?",
        ),
        ("[environments.a]\nparallelism = \"ten\"\n", "gateform.toml:2:15: error: invalid type: string \"ten\""),
        (
            "[environments.a]\nparallelism = 0\n",
            "gateform.toml:2:15: error: parallelism of environment \"a\" must be at least 1",
        ),
        ("[environments.a\n", "gateform.toml:1:16: error: "),
        ("[environments.\"a b\"]\n", "gateform.toml:1:15: error: invalid environment name \"a b\""),
        (
            "[environments.a]\nheaders = { \"X\" = \"${1X}\" }\n",
            "gateform.toml:2:19: error: header `X` of environment \"a\": invalid variable name",
        ),
        (
            "[environments.a]\ngateway = \"${X\"\n",
            "gateform.toml:2:11: error: gateway of environment \"a\": unterminated `${`",
        ),
        ("[defaults]\npath = 3\n", "gateform.toml:2:8: error: invalid type: integer `3`"),
        ("[other]\n", "gateform.toml:1:2: error: unknown field `other`"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn inline_secrets_are_refused() {
    let err = parse("[environments.prod]\nheaders = { \"Kong-Admin-Token\" = \"hunter2\" }\n").unwrap_err().to_string();
    assert!(
        err.starts_with(
            "gateform.toml:2:34: error: header `Kong-Admin-Token` of environment \"prod\" holds a literal value"
        ),
        "{err}"
    );
    assert!(err.contains("\"${KONG_ADMIN_TOKEN}\""), "{err}");
    assert!(!err.contains("hunter2"), "the secret is not repeated: {err}");
    for name in ["Authorization", "apikey", "X-Api-Key", "Cookie", "client-secret"] {
        let text = format!("[defaults]\nheaders = {{ \"{name}\" = \"literal\" }}\n");
        assert!(parse(&text).is_err(), "{name}");
    }
    assert!(parse("[defaults]\nheaders = { \"X-Team\" = \"literal\" }\n").is_ok());
}

#[test]
fn the_ledger_url_comes_from_variables_never_with_a_literal_password() {
    let pg = |v: &str| match v {
        "PG_URL" => Some("postgres://ci:s3cret@db/ledger".to_owned()),
        "PG_PASSWORD" => Some("s3cret".to_owned()),
        _ => None,
    };
    let url = |text: &str| parse(text).map(|s| s.ledger_url(&pg));
    assert_eq!(url("").unwrap().unwrap(), None);
    assert_eq!(
        url("[ledger]\nurl = \"${PG_URL}\"\n").unwrap().unwrap().as_deref(),
        Some("postgres://ci:s3cret@db/ledger")
    );
    assert_eq!(
        url("[ledger]\nurl = \"postgres://ci:${PG_PASSWORD}@db/ledger\"\n").unwrap().unwrap().as_deref(),
        Some("postgres://ci:s3cret@db/ledger")
    );
    assert!(url("[ledger]\nurl = \"postgres://ci@db/ledger?sslmode=require\"\n").is_ok());
    for text in [
        "[ledger]\nurl = \"postgres://ci:hunter2@db/ledger\"\n",
        "[ledger]\nurl = \"postgres://ci:pre${PG_PASSWORD}@db/ledger\"\n",
        "[ledger]\nurl = \"postgres://ci@db/ledger?password=hunter2\"\n",
    ] {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("gateform.toml:2:7: error: [ledger] url holds a literal password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let unset = parse("[ledger]\nurl = \"${NOPE}\"\n").unwrap().ledger_url(&pg).unwrap_err();
    assert_eq!(unset.to_string(), "gateform.toml:2:7: error: [ledger] url uses ${NOPE}, which is not set");
    assert!(parse("[ledger]\nuri = \"x\"\n").unwrap_err().to_string().contains("unknown field `uri`"));
}

#[test]
fn environments_name_several_nodes_and_a_recovery_time_objective() {
    let text = "[defaults]\nrto = \"15m\"\n\n[environments.prod]\ngateways = [\"http://${HOST}:8001\", \"http://k2:8001\"]\n\n[environments.qa]\ngateway = \"http://qa:8001\"\nrto = 90\n";
    let s = parse(text).unwrap();
    let prod = s.environment("prod", &vars).unwrap();
    assert_eq!(prod.gateway.as_deref(), Some("http://kong.internal:8001"));
    assert_eq!(prod.other_gateways, vec!["http://k2:8001".to_owned()]);
    assert_eq!(prod.rto, Some(std::time::Duration::from_secs(900)));
    let qa = s.environment("qa", &vars).unwrap();
    assert!(qa.other_gateways.is_empty());
    assert_eq!(qa.rto, Some(std::time::Duration::from_secs(90)));
    let cases = [
        (
            "[environments.a]\ngateway = \"x\"\ngateways = [\"y\"]\n",
            "gateform.toml:3:12: error: environment \"a\" has both `gateway` and `gateways`",
        ),
        ("[environments.a]\ngateways = []\n", "gateform.toml:2:12: error: gateways of environment \"a\" is empty"),
        ("[environments.a]\ngateways = [\"\"]\n", "gateform.toml:2:13: error: gateway of environment \"a\" is empty"),
        (
            "[environments.a]\ngateways = [\"sandbox\", \"x\"]\n",
            "gateform.toml:2:13: error: gateways of environment \"a\": `sandbox` can only be",
        ),
        ("[environments.a]\nrto = \"soon\"\n", "gateform.toml:2:7: error: rto of environment \"a\" must be"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn columns_count_characters() {
    let input = Input::new("f", "é = 1\nab");
    assert_eq!(origin(&input, input.text.len()).to_string(), "f:2:3");
    assert_eq!(origin(&input, 2).to_string(), "f:1:2");
}
