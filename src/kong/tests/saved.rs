//! Fingerprints of Kong live state, as saved plans keep them.

use serde_json::json;

use crate::kong::{KongDialect, KongKind};
use crate::model::{Entity, State};
use crate::plan::file::Fingerprint;

#[test]
fn fingerprints_name_what_changed() {
    let dialect = KongDialect::bundled();
    let mut a = Entity::new(KongKind::Service);
    a.id = Some("1".into());
    a.fields = json!({"name": "a", "host": "x"}).as_object().cloned().unwrap();
    let before = Fingerprint::of(&State { entities: vec![a.clone()] }, &State::default(), &dialect);
    let mut b = a.clone();
    b.fields.insert("host".into(), json!("y"));
    b.fields.insert("updated_at".into(), json!(5));
    let after = Fingerprint::of(&State { entities: vec![b] }, &State::default(), &dialect);
    assert_eq!(before.differences(&after), vec![("services/1".to_owned(), "changed")]);
    let mut c = a.clone();
    c.fields.insert("updated_at".into(), json!(99));
    let same = Fingerprint::of(&State { entities: vec![c] }, &State::default(), &dialect);
    assert_eq!(before.digest, same.digest, "timestamps do not count");
}
