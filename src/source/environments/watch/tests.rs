//! Tests of `[watch]` and `[environments.NAME.watch]`.

use std::time::Duration;

use super::super::Settings;
use super::*;
use crate::source::inputs::Input;

fn parse(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(&Input::new("gateform.toml", text))
}

fn vars(name: &str) -> Option<String> {
    match name {
        "GH" => Some("gh-secret".into()),
        "TOKEN" => Some("control-token".into()),
        "HOOK" => Some("T000/B000/XXXX".into()),
        _ => None,
    }
}

const FULL: &str = r#"
[watch]
listen = "0.0.0.0:9420"
poll_interval = "2m"
jitter = "20%"
drift_interval = 600
drift = "warn"
max_destroy = "20%"
control_token = "${TOKEN}"

[watch.webhooks]
github_secret = "${GH}"

[[watch.notifications]]
url = "https://hooks.example/services/${HOOK}"
events = ["failed", "guard_refused"]

[[watch.notifications]]
url = "http://127.0.0.1:9999/all"
secret = "${GH}"

[watch.commit_status]
provider = "gitlab"
repository = "group/gw"
token = "${TOKEN}"

[environments.staging]
gateway = "http://kong:8001"

[environments.prod.watch]
ref = "release"
drift = "correct"
max_destroy = 5
allow_empty = true
suspend = true
poll_interval = "90s"
"#;

#[test]
fn policies_merge_watch_under_each_environment() {
    let s = parse(FULL).unwrap();
    let staging = s.watch_policy("staging").unwrap();
    assert_eq!(
        staging,
        WatchPolicy {
            reference: None,
            poll_interval: Duration::from_secs(120),
            jitter: 0.2,
            drift_interval: Duration::from_secs(600),
            drift: DriftMode::Warn,
            max_destroy: MaxDestroy::Percent(20),
            allow_empty: false,
            suspend: false,
        }
    );
    let prod = s.watch_policy("prod").unwrap();
    assert_eq!(prod.reference.as_deref(), Some("release"));
    assert_eq!(prod.poll_interval, Duration::from_secs(90));
    assert_eq!(
        (prod.drift, prod.max_destroy, prod.allow_empty, prod.suspend),
        (DriftMode::Correct, MaxDestroy::Count(5), true, true)
    );
    assert_eq!(prod.drift_interval, Duration::from_secs(600), "inherited from [watch]");
    assert!(s.watch_policy("qa").is_err());
    let none = parse("[environments.a]\n").unwrap().watch_policy("a").unwrap();
    assert_eq!(none, WatchPolicy::default());
    assert_eq!(
        (none.poll_interval, none.drift_interval, none.max_destroy),
        (Duration::from_secs(60), Duration::from_secs(300), MaxDestroy::Count(50))
    );
}

#[test]
fn process_wide_settings_expand_variables_and_collect_secrets() {
    let w = parse(FULL).unwrap().watch(&vars).unwrap();
    assert_eq!(w.listen, Some("0.0.0.0:9420".parse().unwrap()));
    assert_eq!(w.control_token.as_ref().map(Secret::expose), Some("control-token"));
    assert_eq!(w.github_secret.as_ref().map(Secret::expose), Some("gh-secret"));
    assert_eq!(w.gitlab_token, None);
    assert_eq!(w.notifications.len(), 2);
    assert_eq!(w.notifications[0].url, "https://hooks.example/services/T000/B000/XXXX");
    assert_eq!(w.notifications[0].events, vec![EventKind::Failed, EventKind::GuardRefused]);
    assert_eq!(w.notifications[1].events, EventKind::ALL.to_vec());
    let cs = w.commit_status.as_ref().unwrap();
    assert_eq!(
        (cs.forge, cs.repository.as_str(), cs.base_url.as_str()),
        (Forge::GitLab, "group/gw", "https://gitlab.com")
    );
    for secret in ["gh-secret", "control-token", "T000/B000/XXXX"] {
        assert!(w.secret_values.iter().any(|v| v.expose() == secret), "{secret} is registered for scrubbing");
    }
    let debug = format!("{w:?}");
    assert!(!debug.contains("gh-secret") && !debug.contains("T000"), "Debug shows no secret: {debug}");
    let err = parse(FULL).unwrap().watch(&|_| None).unwrap_err().to_string();
    assert!(
        err.starts_with("gateform.toml:9:17: error: control_token of [watch] uses ${TOKEN}, which is not set"),
        "{err}"
    );
}

#[test]
fn mistakes_are_reported_with_their_place() {
    let cases = [
        (
            "[watch]\npoll_interval = \"soon\"\n",
            "gateform.toml:2:17: error: poll_interval of [watch] must be at least one second",
        ),
        (
            "[watch]\npoll_interval = 0\n",
            "gateform.toml:2:17: error: poll_interval of [watch] must be at least one second",
        ),
        (
            "[watch]\njitter = \"60%\"\n",
            "gateform.toml:2:10: error: jitter of [watch] must be a percentage from \"0%\" to \"50%\"",
        ),
        ("[watch]\ndrift = \"heal\"\n", "gateform.toml:2:9: error: drift of [watch] must be \"correct\" or \"warn\""),
        (
            "[watch]\nmax_destroy = \"120%\"\n",
            "gateform.toml:2:15: error: max_destroy of [watch] must be a count like 50",
        ),
        ("[watch]\nmax_destroy = -1\n", "gateform.toml:2:15: error: max_destroy of [watch] must be a count"),
        (
            "[watch]\nlisten = \"localhost\"\n",
            "gateform.toml:2:10: error: listen of [watch] must be an address like \"127.0.0.1:9420\"",
        ),
        ("[watch]\npol_interval = 5\n", "gateform.toml:2:1: error: unknown field `pol_interval`"),
        ("[watch.webhooks]\ngithub = \"x\"\n", "gateform.toml:2:1: error: unknown field `github`"),
        (
            "[watch]\ncontrol_token = \"hunter2\"\n",
            "gateform.toml:2:17: error: control_token of [watch] must be a variable reference like \"${GATEFORM_CONTROL_TOKEN}\"",
        ),
        (
            "[watch.webhooks]\ngitlab_token = \"Bearer ${T}\"\n",
            "gateform.toml:2:16: error: webhooks.gitlab_token of [watch] must be a variable reference",
        ),
        (
            "[[watch.notifications]]\nurl = \"ftp://x\"\n",
            "gateform.toml:2:7: error: notifications[0].url: scheme \"ftp\" is not http or https",
        ),
        (
            "[[watch.notifications]]\nurl = \"http://x\"\nevents = [\"synced\"]\n",
            "gateform.toml:3:11: error: unknown event \"synced\" in notifications[0]",
        ),
        (
            "[watch.commit_status]\nprovider = \"bitbucket\"\nrepository = \"a/b\"\ntoken = \"${T}\"\n",
            "gateform.toml:2:12: error: commit_status.provider must be \"github\" or \"gitlab\"",
        ),
        (
            "[environments.prod.watch]\nlisten = \"127.0.0.1:1\"\n",
            "gateform.toml:2:10: error: `listen` is process-wide: set it in [watch], not in [environments.prod.watch]",
        ),
        (
            "[environments.prod.watch]\ndrift = \"no\"\n",
            "gateform.toml:2:9: error: drift of [environments.prod.watch] must be",
        ),
        ("[defaults.watch]\ndrift = \"warn\"\n", "gateform.toml:1:1: error: watch settings go in [watch]"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
        assert!(!err.contains("hunter2"), "the secret is not repeated: {err}");
    }
}

#[test]
fn destroy_limits() {
    assert_eq!(MaxDestroy::Count(50).limit(10), 50);
    assert_eq!(MaxDestroy::Percent(20).limit(99), 19, "rounded down");
    assert_eq!(MaxDestroy::Percent(100).limit(7), 7);
    assert_eq!(MaxDestroy::Percent(20).to_string(), "20%");
}
