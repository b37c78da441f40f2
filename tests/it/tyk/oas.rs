//! Tyk OAS APIs in the sandbox: the extension is required, both files are written, the
//! classic form is listed with `is_oas`, `servers` are regenerated, export and import.

use gateform::tyk::sandbox::TykSandboxOptions;
use serde_json::{Value, json};

use super::{action, classic, error, oas_doc, start, tyk};

#[tokio::test]
async fn oas_writes_need_the_extension_and_store_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(TykSandboxOptions { data: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let mut plain = oas_doc("o1", "/o1/");
    plain.as_object_mut().unwrap().remove("x-tyk-api-gateway");
    let (s, b) = t.call("POST", "/tyk/apis/oas", Some(plain.clone())).await;
    assert_eq!((s, b), (400, error("the payload should contain x-tyk-api-gateway")));
    let mut no_name = oas_doc("o1", "/o1/");
    no_name["x-tyk-api-gateway"]["info"].as_object_mut().unwrap().remove("name");
    let (s, b) = t.call("POST", "/tyk/apis/oas", Some(no_name)).await;
    assert_eq!((s, b), (400, error("x-tyk-api-gateway.info: name is required")));
    assert_eq!(t.call("POST", "/tyk/apis/oas", Some(oas_doc("o1", "/o1/"))).await, (200, action("o1", "added")));
    assert!(dir.path().join("apps/o1.json").is_file() && dir.path().join("apps/o1-oas.json").is_file());
    assert_eq!(t.call("GET", "/tyk/apis/oas/o1", None).await, (404, error("API not found")));
    t.reload().await;

    let (_, listed) = t.call("GET", "/tyk/apis", None).await;
    assert_eq!(listed[0]["api_id"], "o1");
    assert_eq!(listed[0]["is_oas"], true, "OAS APIs appear in classic form");
    assert_eq!(listed[0]["proxy"]["listen_path"], "/o1/");
    let (s, doc) = t.call("GET", "/tyk/apis/oas/o1", None).await;
    assert_eq!(s, 200);
    let port = t.sb.shared().nodes[0].addr.port();
    assert_eq!(
        doc["servers"],
        json!([{"url": format!("http://127.0.0.1:{port}/o1")}, {"url": "/o1"}, {"url": "https://upstream.test"}]),
        "the gateway's URLs come first, the document's own stay"
    );
    let (_, all) = t.call("GET", "/tyk/apis/oas", None).await;
    assert_eq!(all, json!([doc.clone()]));

    let g = t.send_as(0, Some(t.sb.secret()), "GET", "/tyk/apis/oas/o1/export?mode=public", None).await;
    assert_eq!(g.headers["content-disposition"], "attachment;filename=\"oas-o1.json\"");
    assert!(g.json().get("x-tyk-api-gateway").is_none(), "public mode strips the extension");

    let mut moved = oas_doc("o1", "/moved/");
    moved["servers"] = doc["servers"].clone();
    assert_eq!(t.call("PUT", "/tyk/apis/oas/o1", Some(moved)).await, (200, action("o1", "modified")));
    t.reload().await;
    let (_, doc) = t.call("GET", "/tyk/apis/oas/o1", None).await;
    assert_eq!(
        doc["servers"],
        json!([{"url": format!("http://127.0.0.1:{port}/moved")}, {"url": "/moved"}, {"url": "https://upstream.test"}]),
        "URLs generated for the old listen path are replaced"
    );
    assert_eq!(t.call("DELETE", "/tyk/apis/oas/o1", None).await, (200, action("o1", "deleted")));
    assert!(!dir.path().join("apps/o1.json").exists() && !dir.path().join("apps/o1-oas.json").exists());
}

#[tokio::test]
async fn classic_and_oas_endpoints_refuse_each_others_apis() {
    let t = tyk().await;
    t.call("POST", "/tyk/apis", Some(classic("c", "/c/"))).await;
    t.call("POST", "/tyk/apis/oas", Some(oas_doc("o", "/o/"))).await;
    t.reload().await;
    let (s, b) = t.call("GET", "/tyk/apis/oas/c", None).await;
    assert_eq!(
        (s, b),
        (400, error("the requested API definition is in Tyk classic format, please use old api endpoint"))
    );
    let (s, b) = t.call("PUT", "/tyk/apis/o", Some(classic("o", "/o/"))).await;
    assert_eq!(
        (s, b),
        (
            400,
            error("this API endpoint only supports Tyk Classic APIs; please use the appropriate Tyk OAS API endpoint")
        )
    );
    let (s, b) = t.call("PUT", "/tyk/apis/oas/c", Some(oas_doc("c", "/c/"))).await;
    assert_eq!(
        (s, b),
        (400, error("the supplied API definition is in OAS format, please use the Tyk classic format for this API"))
    );
}

#[tokio::test]
async fn a_plain_openapi_document_can_be_imported() {
    let t = tyk().await;
    let mut plain = oas_doc("ignored", "/x/");
    plain.as_object_mut().unwrap().remove("x-tyk-api-gateway");
    let (s, b) = t.call("POST", "/tyk/apis/oas/import?listenPath=/imported/&apiID=imp", Some(plain)).await;
    assert_eq!((s, b), (200, action("imp", "added")));
    let (s, b) = t.call("POST", "/tyk/apis/oas/import", Some(oas_doc("x", "/x/"))).await;
    assert_eq!((s, b), (400, error("the import payload should not contain x-tyk-api-gateway")));
    t.reload().await;
    let (_, doc) = t.call("GET", "/tyk/apis/oas/imp", None).await;
    assert_eq!(doc["x-tyk-api-gateway"]["upstream"]["url"], "https://upstream.test");
    assert_eq!(doc["x-tyk-api-gateway"]["server"]["listenPath"], json!({"value": "/imported/", "strip": true}));
    assert_eq!(doc["x-tyk-api-gateway"]["info"]["id"], Value::String("imp".into()));
}
