//! Every decK / DB-less file of `../shared/real-configs/kong/` through `POST /config` of a
//! DB-less sandbox, after `${{ env "DECK_..." }}` rendering with test values.

use std::path::PathBuf;

use serde_json::Value;

use super::start;
use crate::common::real_configs_dir;
use gateform::kong::sandbox::SandboxOptions;

fn render(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find("}}") else {
            break;
        };
        let expr = &rest[i + 3..i + end];
        let name = expr.split('"').nth(1).unwrap_or("");
        let value = match name {
            "DECK_RETRIES" => "3",
            "DECK_REGEX_PRIORITY" => "10",
            "DECK_RATE_LIMIT" => "100",
            "DECK_REDIS_DB" => "1",
            "DECK_SVC1_HOSTNAME" | "DECK_SERVICE_HOST" => "svc.example.test",
            _ => "test-value",
        };
        out.push_str(value);
        rest = &rest[i + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Expected outcome per file: `Ok` or a substring of the error message/fields.
fn expected(file: &str) -> Result<(), &'static str> {
    match file {
        f if f.starts_with("Kong__CustomerSuccess") => Err("plugin 'openid-connect' not enabled"),
        f if f.starts_with("Kong__deck__kong2tf") => Err("_format_version"),
        f if f.contains("011-konnect-workspace") => Err("_workspace"),
        f if f.contains("015-consumer-groups") => Err("_info"),
        f if f.contains("017-consumer-groups-rla") => Err("plugin 'rate-limiting-advanced' not enabled"),
        f if f.contains("dascole") => Err("_konnect"),
        f if f.contains("robincher") => Err("_info"),
        f if f.contains("go-apiops") => Err("invalid reference 'consumer: johndoe"),
        f if f.starts_with("FIWARE") => Err("plugin 'pep-plugin' not enabled"),
        _ => Ok(()),
    }
}

#[tokio::test]
async fn real_configs_load_or_fail_like_kong() {
    let Some(dir) = real_configs_dir("real_configs_load_or_fail_like_kong") else { return };
    let entries = std::fs::read_dir(&dir).expect("the real configurations can be listed");
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e != "md")).collect();
    files.sort();
    let s = start(SandboxOptions { db_less: true, enterprise: true, ..Default::default() }).await;
    let mut report = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = render(&std::fs::read_to_string(&path).unwrap());
        let r =
            s.client.post(s.url("/config")).header("content-type", "application/yaml").body(text).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        report.push(format!(
            "{name}: {status} {}",
            body.get("message").map(|m| m.to_string()).unwrap_or_default().chars().take(300).collect::<String>()
        ));
        let ok = match expected(&name) {
            Ok(()) => status == 201,
            Err(needle) => status == 400 && body["code"] == 14 && body.to_string().contains(needle),
        };
        if !ok {
            failures.push(format!("{name}: expected {:?}, got {status} {body}", expected(&name)));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn custom_plugin_configs_load_when_declared() {
    let Some(dir) = real_configs_dir("custom_plugin_configs_load_when_declared") else { return };
    let text = std::fs::read_to_string(dir.join("FIWARE__tutorials.PEP-Proxy__kong__kong.yaml")).unwrap();
    let s = start(SandboxOptions {
        db_less: true,
        enterprise: true,
        custom_plugins: vec!["pep-plugin".into()],
        ..Default::default()
    })
    .await;
    let r = s.client.post(s.url("/config")).header("content-type", "application/yaml").body(text).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
}
