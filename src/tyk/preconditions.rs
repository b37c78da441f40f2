//! What a Tyk gateway must be for gateform to manage it, checked when a session opens
//! (`tyk.md` §1.1, §7.5), each failure said plainly:
//!
//! * `GET /hello` (no secret) answers Tyk's health document; its version names the gateway;
//! * `GET /tyk/apis` with the secret: 403 is a wrong or missing `x-tyk-authorization`; the
//!   route missing (404 `404 page not found`) is an RPC (MDCB) worker, whose APIs and
//!   policies come from MDCB;
//! * a Dashboard-managed gateway (`use_db_app_configs`: `/hello` runs a `dashboard` check)
//!   can be read, but not written through the Gateway API: the session says so as
//!   [`GatewayInfo::read_only`], and the engine refuses to apply a plan that is not empty.

use serde_json::Value;

use crate::gateway::{Client, GatewayInfo, HttpError};

/// Tyk's answer to a wrong or missing secret.
const BAD_SECRET: &str = "Attempted administrative access with invalid or missing key!";

fn not_tyk(what: &str) -> HttpError {
    HttpError::Config(format!(
        "the gateway does not look like a Tyk gateway: GET /hello {what} (a Tyk gateway answers its health \
         document there); hint: is it Kong? then use --dialect kong"
    ))
}

/// Checks the gateway behind `client`; its facts when it can be managed.
pub async fn check(client: &Client) -> Result<GatewayInfo, HttpError> {
    let hello = match client.get("/hello").await {
        Ok(v) => v,
        Err(HttpError::Api { status, .. }) => return Err(not_tyk(&format!("answered HTTP {status}"))),
        Err(e) => return Err(e),
    };
    if hello.get("status").and_then(Value::as_str).is_none() {
        return Err(not_tyk("answered something else than Tyk's health document"));
    }
    let version = hello.get("version").and_then(Value::as_str).unwrap_or("unknown");
    let version = version.strip_prefix('v').unwrap_or(version).to_owned();
    let details = hello.get("details").and_then(Value::as_object);
    let has = |check: &str| details.is_some_and(|d| d.contains_key(check));
    if has("rpc") {
        return Err(rpc_worker("/hello reports an `rpc` check"));
    }
    match client.get("/tyk/apis").await {
        Ok(_) => {}
        Err(HttpError::Api { status: 403, body, .. }) => {
            let said = body.get("message").and_then(Value::as_str).unwrap_or(BAD_SECRET).to_owned();
            return Err(HttpError::Config(format!(
                "the gateway refused the secret: GET /tyk/apis answered HTTP 403 {said:?}; hint: send the \
                 gateway's `secret` (tyk.conf) in the header x-tyk-authorization: set TYK_GW_SECRET, or \
                 headers = {{ \"x-tyk-authorization\" = \"${{TYK_GW_SECRET}}\" }} in gateform.toml"
            )));
        }
        Err(HttpError::Api { status: 404, .. }) => return Err(rpc_worker("it serves no /tyk/apis")),
        Err(e) => return Err(e),
    }
    let read_only = has("dashboard").then(|| {
        "the gateway is managed by a Tyk Dashboard (use_db_app_configs: true, /hello runs a `dashboard` check): \
         it refuses API and policy writes through the Gateway API; manage it through the Dashboard, or point \
         gateform at a gateway that reads its definitions from files (use_db_app_configs: false)"
            .to_owned()
    });
    Ok(GatewayInfo { product: "Tyk".into(), version, read_only, node_id: None })
}

fn rpc_worker(evidence: &str) -> HttpError {
    HttpError::Config(format!(
        "the gateway is an RPC (MDCB) worker ({evidence}): its APIs and policies come from MDCB and cannot be \
         managed through its Gateway API; point gateform at the control plane's gateway instead"
    ))
}
