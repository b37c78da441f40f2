//! DB-less Kong, environments of several nodes and disaster-recovery drills, through the
//! real binary: DB-less sandboxes as the nodes that hold their own configuration, and
//! DB-mode sandboxes behind TCP proxies as nodes that share one store.

mod dbless;
mod drill;
mod rolling;
mod shared;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gateform::kong::sandbox::{FaultRule, SandboxOptions};
use serde_json::Value;

use crate::common::TestSandbox;
use crate::gitops::Repo;

/// A configuration of two services with a route each, a consumer with a key-auth
/// credential and one with a basic-auth credential (secrets that must never be shown).
pub const V1: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 8080
    routes:
      - name: orders-api
        paths: [/orders]
  - name: billing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
consumers:
  - username: web-shop
    keyauth_credentials:
      - key: shop-secret-key-4711
  - username: partner
    basicauth_credentials:
      - username: partner
        password: partner-password-0815
"#;

/// v2: orders moved to port 9090, billing gone, inventory added.
pub const V2: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 9090
    routes:
      - name: orders-api
        paths: [/orders]
  - name: inventory
    host: inventory.internal
    routes:
      - name: inventory-api
        paths: [/inventory]
consumers:
  - username: web-shop
    keyauth_credentials:
      - key: shop-secret-key-4711
  - username: partner
    basicauth_credentials:
      - username: partner
        password: partner-password-0815
"#;

/// Secret values of [`V1`] and [`V2`].
pub const SECRETS: [&str; 2] = ["shop-secret-key-4711", "partner-password-0815"];

/// An empty DB-less sandbox.
pub fn dbless() -> TestSandbox {
    TestSandbox::start_with(SandboxOptions { db_less: true, ..SandboxOptions::default() })
}

/// Three empty DB-less sandboxes.
pub fn three_dbless() -> Vec<TestSandbox> {
    (0..3).map(|_| dbless()).collect()
}

/// A repository whose `gateform.toml` names environment `prod` with `gateways`, tagged
/// `v1` (configuration [`V1`]) and `v2` ([`V2`]).
pub fn repo(gateways: &[&str], extra: &str) -> Repo {
    let list: Vec<String> = gateways.iter().map(|g| format!("{g:?}")).collect();
    let settings = format!("[environments.prod]\npath = \"kong\"\ngateways = [{}]\n{extra}", list.join(", "));
    let r = Repo::new();
    r.commit(&[("gateform.toml", Some(&settings)), ("kong/kong.yaml", Some(V1))], "Orders and billing");
    r.tag("v1");
    r.commit(&[("kong/kong.yaml", Some(V2))], "Inventory replaces billing");
    r.tag("v2");
    r
}

/// Requests the sandbox served, by method.
pub fn counts(sb: &TestSandbox) -> BTreeMap<String, u64> {
    sb.sandbox().request_counts()
}

/// `POST /config` answered with `status` and `body` every time.
pub fn refuse_config(sb: &TestSandbox, status: u16, body: Value) {
    sb.sandbox().inject_fault(FaultRule {
        method: Some("POST".into()),
        path: "/config".into(),
        status: Some(status),
        body: Some(body),
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 0,
    });
}

/// The names of a collection's entities, sorted.
pub fn names(sb: &TestSandbox, collection: &str, field: &str) -> Vec<String> {
    let mut v: Vec<String> = sb.list(collection).iter().filter_map(|r| r[field].as_str().map(str::to_owned)).collect();
    v.sort();
    v
}

/// `configuration_hash` of a DB-less node.
pub fn hash(sb: &TestSandbox) -> String {
    sb.get("/status")["configuration_hash"].as_str().unwrap_or_default().to_owned()
}

/// Asserts that no secret of the fixtures appears in `text`.
pub fn assert_no_secrets(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked:\n{text}");
    }
}

/// A TCP proxy in front of a gateway: another node of a store it shares with the gateway.
/// Every byte clients send is kept, to see which requests went through this node.
pub struct Proxy {
    pub url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    /// A proxy to `backend` (`http://host:port`), served on `sb`'s runtime.
    pub fn to(sb: &TestSandbox, backend: &str) -> Proxy {
        let backend = backend.trim_start_matches("http://").to_owned();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let listener = sb.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = sent.clone();
        sb.block_on(async move {
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (backend, log) = (backend.clone(), log.clone());
                    tokio::spawn(async move { relay(client, &backend, log).await });
                }
            });
        });
        Proxy { url, sent }
    }

    /// How many requests with this method went through the proxy.
    pub fn requests(&self, method: &str) -> usize {
        let sent = self.sent.lock().unwrap();
        String::from_utf8_lossy(&sent).matches(&format!("{method} /")).count()
    }
}

async fn relay(client: tokio::net::TcpStream, backend: &str, log: Arc<Mutex<Vec<u8>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(server) = tokio::net::TcpStream::connect(backend).await else { return };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = cr.read(&mut buf).await {
            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            log.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}
