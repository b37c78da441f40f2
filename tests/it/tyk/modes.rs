//! Gateway configurations a reconciler must detect: Dashboard-managed, RPC worker, and policy
//! sources where REST policy writes are refused or never read.

use gateform::tyk::sandbox::store::POLICIES;
use gateform::tyk::sandbox::{PolicySource, TykSandboxOptions};
use serde_json::json;

use super::{action, classic, error, oas_doc, policy, start};

#[tokio::test]
async fn a_dashboard_managed_gateway_refuses_api_and_policy_writes() {
    let t = start(TykSandboxOptions { use_db_app_configs: true, ..Default::default() }).await;
    let refused = error("Due to enabled use_db_app_configs, please use the Dashboard API");
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("a", "/a/"))).await, (500, refused.clone()));
    assert_eq!(t.call("PUT", "/tyk/apis/a", Some(classic("a", "/a/"))).await, (500, refused.clone()));
    assert_eq!(t.call("POST", "/tyk/apis/oas", Some(oas_doc("o", "/o/"))).await, (500, refused.clone()));
    assert_eq!(t.call("DELETE", "/tyk/apis/oas/o", None).await, (500, refused));
    assert_eq!(t.call("GET", "/tyk/apis", None).await, (200, json!([])), "reads still work");
    assert_eq!(
        t.call("DELETE", "/tyk/apis/a", None).await,
        (404, error("API not found")),
        "classic DELETE is still routed"
    );
    let (s, b) = t.call("POST", "/tyk/policies", Some(policy("p", "a"))).await;
    assert_eq!((s, b), (500, error("Due to enabled service policy source, please use the Dashboard API")));
}

#[tokio::test]
async fn an_rpc_worker_has_no_api_or_policy_routes() {
    let t = start(TykSandboxOptions { rpc_worker: true, ..Default::default() }).await;
    for (m, p) in [("GET", "/tyk/apis"), ("POST", "/tyk/apis"), ("GET", "/tyk/apis/oas/x"), ("GET", "/tyk/policies")] {
        let g = t.send_as(0, Some(t.sb.secret()), m, p, None).await;
        assert_eq!((g.status, g.text.as_str()), (404, "404 page not found\n"), "{m} {p}");
    }
    assert_eq!(t.call("GET", "/tyk/reload?block=true", None).await.0, 200);
    assert_eq!(t.call("GET", "/tyk/certs", None).await, (200, json!({"certs": []})));
}

#[tokio::test]
async fn policy_writes_without_policy_path_land_where_they_are_never_read() {
    let t = start(TykSandboxOptions { policy_source: PolicySource::RecordName, ..Default::default() }).await;
    let record = json!({"default": {"rate": 1000, "per": 1, "org_id": "o", "access_rights": {}}});
    t.sb.place_file(POLICIES, "policies.json", &record.to_string()).unwrap();
    assert_eq!(t.call("POST", "/tyk/policies", Some(policy("mine", "a"))).await, (200, action("mine", "added")));
    t.reload().await;
    assert_eq!(
        t.call("GET", "/tyk/policies/mine", None).await,
        (404, error("Policy not found")),
        "the write is never read"
    );
    let (s, p) = t.call("GET", "/tyk/policies/default", None).await;
    assert_eq!((s, p["id"].clone(), p["rate"].clone()), (200, json!("default"), json!(1000)), "the map key is the id");
    assert_eq!(
        t.call("DELETE", "/tyk/policies/mine", None).await,
        (200, action("mine", "deleted")),
        "it removes its own file"
    );
}

#[tokio::test]
async fn a_service_policy_source_refuses_policy_writes() {
    let t = start(TykSandboxOptions { policy_source: PolicySource::Service, ..Default::default() }).await;
    let (s, b) = t.call("PUT", "/tyk/policies/p", Some(policy("p", "a"))).await;
    assert_eq!((s, b), (500, error("Due to enabled service policy source, please use the Dashboard API")));
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("a", "/a/"))).await.0, 200, "APIs are still file-based");
}
