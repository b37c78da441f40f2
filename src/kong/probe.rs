//! Recognising a Kong Admin API by its answer to `GET /` when a session opens, so that a
//! wrong address (a web page, Kong's proxy port, another product) fails at once with what
//! it is and a guess at the fix, instead of later on the first collection read. A Kong
//! Admin API answers `GET /` with a JSON object holding `version` (and `tagline: "Welcome
//! to kong"`); Kong's proxy answers 404 `{"message":"no Route matched with those values"}`
//! (`kong-admin-api.md` §1).

use serde_json::Value;

use crate::gateway::HttpError;

/// What a Kong Admin API is called in messages.
const EXPECTED: &str = "a Kong Admin API";

/// The hint for an address that answers but is no Admin API.
const PROXY_HINT: &str = "is this the proxy port? The Admin API usually listens on 8001 (8444 with TLS)";

/// The answer of `GET /` at `url`, checked: an Admin API's root object, or
/// [`HttpError::NotGateway`] saying what answered instead. Other errors (no answer, 401 of
/// an Admin API that wants a token) pass through unchanged.
pub fn admin_root(url: &str, answer: Result<Value, HttpError>) -> Result<Value, HttpError> {
    let not_kong = |answered: String| HttpError::NotGateway {
        url: url.to_owned(),
        expected: EXPECTED.to_owned(),
        answered,
        hint: PROXY_HINT.to_owned(),
    };
    match answer {
        Ok(root) if root.get("version").is_some_and(Value::is_string) => Ok(root),
        Ok(Value::String(text)) => Err(not_kong(kind_of_text(&text).to_owned())),
        Ok(Value::Null) => Err(not_kong("an empty body".to_owned())),
        Ok(_) => Err(not_kong("JSON without Kong's `version`".to_owned())),
        Err(HttpError::Api { status: 404, body, .. }) => {
            let message = body.get("message").and_then(Value::as_str).unwrap_or_default();
            if message.starts_with("no Route matched") {
                Err(HttpError::NotGateway {
                    url: url.to_owned(),
                    expected: EXPECTED.to_owned(),
                    answered: format!("404 {message:?}, as Kong's proxy does"),
                    hint: "this is Kong's proxy port; the Admin API usually listens on 8001 (8444 with TLS)".into(),
                })
            } else {
                Err(not_kong(format!("404{}", described(&body))))
            }
        }
        Err(HttpError::Api { status, body: Value::String(text), .. }) if status != 401 && status != 403 => {
            Err(not_kong(format!("{status} with {}", kind_of_text(&text))))
        }
        Err(e) => Err(e),
    }
}

/// ` with HTML` or ` with text` for a body that is no JSON object, else nothing.
fn described(body: &Value) -> String {
    match body {
        Value::String(text) => format!(" with {}", kind_of_text(text)),
        _ => String::new(),
    }
}

/// `HTML` or `text that is not JSON`.
fn kind_of_text(text: &str) -> &'static str {
    let head = text.trim_start().get(..15).unwrap_or(text.trim_start()).to_ascii_lowercase();
    if head.starts_with('<') { "HTML" } else { "text that is not JSON" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answered(r: Result<Value, HttpError>) -> String {
        match admin_root("http://h:1", r) {
            Err(HttpError::NotGateway { answered, .. }) => answered,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_a_root_with_a_version_is_kong() {
        assert!(admin_root("http://h:1", Ok(json!({"version": "3.9.3", "tagline": "Welcome to kong"}))).is_ok());
        assert_eq!(answered(Ok(json!("<!DOCTYPE html><html></html>"))), "HTML");
        assert_eq!(answered(Ok(json!({"status": "ok"}))), "JSON without Kong's `version`");
        assert_eq!(answered(Ok(Value::Null)), "an empty body");
        let proxy = HttpError::Api {
            method: "GET".into(),
            path: "/".into(),
            status: 404,
            body: json!({"message": "no Route matched with those values"}),
        };
        assert_eq!(answered(Err(proxy)), "404 \"no Route matched with those values\", as Kong's proxy does");
        let page = HttpError::Api { method: "GET".into(), path: "/".into(), status: 404, body: json!("<html>") };
        assert_eq!(answered(Err(page)), "404 with HTML");
        let token = HttpError::Api { method: "GET".into(), path: "/".into(), status: 401, body: json!("no") };
        assert!(matches!(admin_root("http://h:1", Err(token)), Err(HttpError::Api { status: 401, .. })));
    }
}
