//! Secrets of every kind, changed between two versions, through every command and format
//! with verbose logging: not one byte of any secret value reaches stdout, stderr or a file.

use std::path::Path;

use crate::common::{Run, TestSandbox, gateform_env, write};

struct Version {
    /// Every secret value (and every line of key material) the configuration holds.
    values: Vec<String>,
    /// The secrets by `<kind> <field>`, as a dump's footer lists them.
    by_field: Vec<(String, String)>,
    config: String,
}

fn indent(text: &str, n: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect()
}

/// A configuration holding one secret of every kind, each tagged with `v`.
fn version(v: &str) -> Version {
    let cert = rcgen::generate_simple_self_signed(vec![format!("{v}.secrets.example.test")]).unwrap();
    let cert_pem = cert.cert.pem();
    let cert_key = cert.signing_key.serialize_pem();
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let (private, public) = (key_pair.serialize_pem(), key_pair.public_key_pem());
    let s = |n: u32| format!("{v}-Secret-{n:04}-value");
    let mut values: Vec<String> = (1..=8).map(s).collect();
    values.push(format!("dk-{v}-secret-0009.internal"));
    // Every line of key material that is not a PEM armour line.
    for pem in [&cert_key, &private] {
        values.extend(pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 16).map(str::to_owned));
    }
    let by_field = vec![
        ("keyauth_credentials key".to_owned(), s(1)),
        ("basicauth_credentials password".to_owned(), s(2)),
        ("hmacauth_credentials secret".to_owned(), s(3)),
        ("jwt_secrets secret".to_owned(), s(4)),
        ("oauth2_credentials client_secret".to_owned(), s(5)),
        ("plugins config.redis.password".to_owned(), s(6)),
        ("plugins config.http_endpoint".to_owned(), format!("https://logs.example.test/{}", s(7))),
        ("plugins config.headers.X-Log-Token".to_owned(), s(8)),
        ("certificates key".to_owned(), cert_key.clone()),
        ("keys pem.private_key".to_owned(), private.clone()),
    ];
    let config = format!(
        r#"_format_version: "3.0"
services:
  - name: backend
    host: ${{{{ env "DECK_BACKEND_HOST" }}}}
    plugins:
      - name: rate-limiting
        config:
          minute: 10
          policy: redis
          redis:
            host: redis.internal
            password: {s6}
      - name: http-log
        config:
          http_endpoint: https://logs.example.test/{s7}
          headers:
            X-Log-Token: {s8}
consumers:
  - username: alice
    keyauth_credentials:
      - key: {s1}
    basicauth_credentials:
      - username: alice
        password: {s2}
    hmacauth_credentials:
      - username: alice-hmac
        secret: {s3}
    jwt_secrets:
      - key: alice-issuer
        secret: {s4}
    oauth2_credentials:
      - name: alice-app
        client_id: alice-client
        client_secret: {s5}
        redirect_uris: [https://app.example.test/cb]
certificates:
  - cert: |
{cert}    key: |
{key}    snis:
      - name: secrets.example.test
key_sets:
  - name: signing
keys:
  - name: signing-key
    kid: signing-key
    set: signing
    pem:
      private_key: |
{private}      public_key: |
{public}"#,
        s1 = s(1),
        s2 = s(2),
        s3 = s(3),
        s4 = s(4),
        s5 = s(5),
        s6 = s(6),
        s7 = s(7),
        s8 = s(8),
        cert = indent(&cert_pem, 6),
        key = indent(&cert_key, 6),
        private = indent(&private, 8),
        public = indent(&public, 8),
    );
    Version { values, by_field, config }
}

/// Every file under `dir` except the configurations themselves.
fn written_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.file_name().unwrap().to_string_lossy().starts_with("config-") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out
}

#[test]
fn no_secret_reaches_any_output() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v1 = version("v1");
    let v2 = version("v2");
    let f1 = write(d, "config-v1.yaml", &v1.config);
    let f2 = write(d, "config-v2.yaml", &v2.config);
    let host1 = [("DECK_BACKEND_HOST", "dk-v1-secret-0009.internal")];
    let host2 = [("DECK_BACKEND_HOST", "dk-v2-secret-0009.internal")];
    let url = sb.url.as_str();
    let p = |name: &str| d.join(name).display().to_string();
    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut run = |label: &str, args: &[&str], env: &[(&str, &str)], code: i32| {
        let r = gateform_env(args, env);
        assert_eq!(r.code, code, "{label}: exit code\n{}\n{}", r.stdout, r.stderr);
        runs.push((label.to_owned(), r));
    };

    run("validate v1", &["-vvv", "validate", "-s", &f1], &host1, 0);
    for format in ["text", "json", "markdown"] {
        run("plan v1", &["-vvv", "plan", "--gateway", url, "-s", &f1, "--format", format], &host1, 0);
    }
    run("plan v1 --out", &["-vvv", "plan", "--gateway", url, "-s", &f1, "--out", &p("plan-v1.json")], &host1, 0);
    run("apply v1", &["-vvv", "apply", &p("plan-v1.json")], &host1, 0);
    run("plan v1 again", &["-vvv", "plan", "--gateway", url, "-s", &f1, "--detailed-exitcode"], &host1, 0);

    // Every secret changes.
    for format in ["text", "json", "markdown"] {
        run("plan v2", &["-vvv", "plan", "--gateway", url, "-s", &f2, "--format", format], &host2, 0);
        run("drift v2", &["-vvv", "drift", "--gateway", url, "-s", &f2, "--format", format], &host2, 2);
    }
    run(
        "plan v2 md dir",
        &["plan", "--gateway", url, "-s", &f2, "--format", "markdown", "--markdown-dir", &p("md")],
        &host2,
        0,
    );
    run("plan v2 --out", &["-vvv", "plan", "--gateway", url, "-s", &f2, "--out", &p("plan-v2.json")], &host2, 0);
    run("apply v2", &["-vvv", "apply", "--gateway", url, "-s", &f2, "--auto-approve"], &host2, 0);
    run("dump yaml", &["-vvv", "dump", "--gateway", url, "-o", &p("dump.yaml")], &host2, 0);
    run("dump json", &["-vvv", "dump", "--gateway", url, "--format", "json", "-o", &p("dump.json")], &host2, 0);
    run("dump stdout", &["-vvv", "dump", "--gateway", url], &host2, 0);
    for format in ["text", "json", "markdown"] {
        run("drift back to v1", &["-vvv", "drift", "--gateway", url, "-s", &f1, "--format", format], &host1, 2);
    }
    // A refused write echoes values in Kong's error body: still masked.
    run("apply v1 conflicting", &["-vvv", "apply", "--gateway", url, "-s", &f1, "--auto-approve"], &host1, 0);

    let texts: Vec<(String, String)> = runs
        .into_iter()
        .flat_map(|(label, r)| [(format!("{label} stdout"), r.stdout), (format!("{label} stderr"), r.stderr)])
        .chain(written_files(d))
        .collect();
    let plan_v2 = std::fs::read_to_string(p("plan-v2.json")).unwrap();
    assert!(plan_v2.contains("(sensitive value)"), "changed secrets are planned, masked");
    let dump = std::fs::read_to_string(p("dump.yaml")).unwrap();
    assert!(dump.contains("${{ env \"DECK_KEYAUTH_CREDENTIALS_"), "{dump}");
    assert!(dump.contains("env \"DECK_BACKEND_HOST\""), "values from DECK_ variables name their variable: {dump}");
    for (label, text) in &texts {
        for secret in v1.values.iter().chain(&v2.values) {
            assert!(!text.contains(secret.as_str()), "{label} leaks {secret:?}:\n{text}");
        }
    }
}

#[test]
fn a_dump_with_placeholders_restores_when_the_variables_are_set() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let v = version("v3");
    let host = ("DECK_BACKEND_HOST".to_owned(), "dk-v3-secret-0009.internal".to_owned());
    let config = write(dir.path(), "config-v3.yaml", &v.config);
    let url = sb.url.clone();
    gateform_env(&["apply", "--gateway", &url, "-s", &config, "--auto-approve"], &[(&host.0, &host.1)]).ok();
    let dump = dir.path().join("dump.yaml").display().to_string();
    gateform_env(&["dump", "--gateway", &url, "-o", &dump], &[(&host.0, &host.1)]).ok();
    let text = std::fs::read_to_string(&dump).unwrap();
    for secret in &v.values {
        assert!(!text.contains(secret.as_str()), "the dump holds {secret:?}");
    }
    // Set every variable the dump lists to the value of the field it names.
    let mut env = vec![host.clone()];
    for line in text.lines().filter(|l| l.starts_with("#   DECK_")) {
        let mut words = line.trim_start_matches("#   ").split_whitespace();
        let var = words.next().unwrap().to_owned();
        let kind = words.next().unwrap();
        let field = words.last().unwrap();
        if var == host.0 {
            continue;
        }
        let value = v
            .by_field
            .iter()
            .find(|(k, _)| *k == format!("{kind} {field}"))
            .unwrap_or_else(|| panic!("unexpected placeholder {line}"))
            .1
            .clone();
        env.push((var, value));
    }
    assert_eq!(env.len(), v.by_field.len() + 1, "one variable per secret:\n{text}");
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = gateform_env(&["plan", "--gateway", &url, "-s", &dump], &refs);
    r.ok();
    assert!(r.stdout.contains("No changes."), "the dump restores the same gateway:\n{}", r.stdout);
    // Without the variables the dump cannot be read, and the error names one.
    let r = gateform_env(&["plan", "--gateway", &url, "-s", &dump], &[]);
    r.expect_code(1);
    assert!(r.stderr.contains("DECK_"), "{}", r.stderr);
}
