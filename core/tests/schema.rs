//! The committed JSON Schema of the record's JSON form must match the code.
//!
//! After a deliberate change, run `UPSEED_TEST_BLESS=1 cargo test -p upseed-core
//! --test schema` and commit `docs/schema/record.schema.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema/record.schema.json");
    let current = upseed_core::record_schema();
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "{} is stale; run `UPSEED_TEST_BLESS=1 cargo test -p upseed-core --test schema` and commit it",
        path.display()
    );
    insta::assert_snapshot!("record-schema", current);
}

#[test]
fn schema_describes_real_output() {
    // Every key the JSON form emits is a property of the schema, and every
    // property is emitted: the two cannot drift apart.
    let schema: serde_json::Value = serde_json::from_str(&upseed_core::record_schema()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    let record = upseed_core::PostDraft::new("x")
        .unwrap()
        .sign(&upseed_core::SecretKey::from_seed(&[1; 32]), 1)
        .unwrap();
    let json = serde_json::to_value(record.to_json()).unwrap();
    let emitted = json.as_object().unwrap();
    let mut a: Vec<_> = properties.keys().collect();
    let mut b: Vec<_> = emitted.keys().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let mut required: Vec<_> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(
        required, a,
        "every key is always emitted, so every key is required"
    );
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}

#[test]
fn every_null_the_json_form_emits_is_allowed_by_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(&upseed_core::record_schema()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors).unwrap() {
        let path = entry.unwrap().path().join("record.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (key, value) in record.as_object().unwrap() {
            let types = &properties[key]["type"];
            if value.is_null() {
                assert!(
                    types.as_array().is_some_and(|t| t.contains(&"null".into())),
                    "{}: `{key}` is null, but the schema types it {types}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "the vectors were read");
}
