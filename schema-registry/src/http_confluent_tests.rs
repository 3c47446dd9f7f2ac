//! Answers pinned to Confluent's: compatibility against a missing subject,
//! explicit ids outside IMPORT mode, the config's `normalize`, `alias`,
//! `validateFields` and `compatibilityGroup`, the bundled
//! `google/type/*.proto`, and unknown `format` names.

use axum::http::Method;
use serde_json::{json, Value};

use super::tests::{call, Harness};

const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;
const V3_OTHER: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}"#;

impl Harness {
    async fn post(&self, uri: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, uri, Some(body)).await
    }
    async fn put(&self, uri: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, uri, Some(body)).await
    }
    async fn get(&self, uri: &str) -> (u16, Value) {
        self.call(Method::GET, uri, None).await
    }
}

fn code(answer: &(u16, Value)) -> (u16, Value) {
    (answer.0, answer.1["error_code"].clone())
}

#[tokio::test]
async fn compatibility_against_a_missing_subject() {
    let h = Harness::new();
    let schema = json!({"schema": V1});
    for uri in [
        "/compatibility/subjects/none/versions/latest",
        "/compatibility/subjects/none/versions/-1",
        "/compatibility/subjects/none/versions",
    ] {
        let answer = h.post(uri, schema.clone()).await;
        assert_eq!(answer, (200, json!({"is_compatible": true})), "{uri}");
    }
    let answer = h
        .post("/compatibility/subjects/none/versions/1", schema.clone())
        .await;
    assert_eq!(code(&answer), (404, json!(40402)));
    let answer = h
        .post("/compatibility/subjects/none/versions/zero", schema.clone())
        .await;
    assert_eq!(code(&answer), (422, json!(42202)));
    // Every version soft-deleted: latest checks against nothing, a number is 40402.
    h.post("/subjects/gone/versions", schema.clone()).await;
    h.call(Method::DELETE, "/subjects/gone", None).await;
    let answer = h
        .post(
            "/compatibility/subjects/gone/versions/latest",
            json!({"schema": V3_OTHER}),
        )
        .await;
    assert_eq!(answer, (200, json!({"is_compatible": true})));
    let answer = h
        .post("/compatibility/subjects/gone/versions/1", schema.clone())
        .await;
    assert_eq!(code(&answer), (404, json!(40402)));
    // A schema that does not parse is an answer with `verbose`.
    let answer = h
        .post(
            "/compatibility/subjects/none/versions/latest?verbose=true",
            json!({"schema": "{not avro"}),
        )
        .await;
    assert_eq!(answer.0, 200);
    assert_eq!(answer.1["is_compatible"], false);
    assert_eq!(answer.1["messages"].as_array().unwrap().len(), 1);
    let answer = h
        .post(
            "/compatibility/subjects/none/versions/latest",
            json!({"schema": "{not avro"}),
        )
        .await;
    assert_eq!(code(&answer), (422, json!(42201)));
}

#[tokio::test]
async fn explicit_ids_need_import_mode() {
    let h = Harness::new();
    assert_eq!(
        h.post("/subjects/s/versions", json!({"schema": V1}))
            .await
            .1["id"],
        1
    );
    // The schema already under the subject with its own id: answered.
    let again = h
        .post("/subjects/s/versions", json!({"schema": V1, "id": 1}))
        .await;
    assert_eq!(again, (200, json!({"id": 1})));
    // Another id, a new schema with an id, or the id under another subject: 42205.
    let not_import = json!({
        "error_code": 42205,
        "message": "Subject s in context  is not in import mode"
    });
    let other_id = h
        .post("/subjects/s/versions", json!({"schema": V1, "id": 9}))
        .await;
    assert_eq!(other_id, (422, not_import.clone()));
    let new_schema = h
        .post("/subjects/s/versions", json!({"schema": V3_OTHER, "id": 1}))
        .await;
    assert_eq!(new_schema, (422, not_import));
    let elsewhere = h
        .post("/subjects/t/versions", json!({"schema": V1, "id": 1}))
        .await;
    assert_eq!(code(&elsewhere), (422, json!(42205)));
    assert_eq!(h.get("/subjects/t/versions").await.0, 404);
    // A negative id is no id.
    let negative = h
        .post("/subjects/t/versions", json!({"schema": V1, "id": -1}))
        .await;
    assert_eq!(negative, (200, json!({"id": 1})));
    // IMPORT: an id is needed for a new schema; the known one is still answered.
    h.put("/mode/imp", json!({"mode": "IMPORT"})).await;
    let no_id = h
        .post("/subjects/imp/versions", json!({"schema": V3_OTHER}))
        .await;
    assert_eq!(
        no_id,
        (
            422,
            json!({"error_code": 42205, "message": "Subject imp in context  is not in read-write mode"})
        )
    );
    let with_id = h
        .post(
            "/subjects/imp/versions",
            json!({"schema": V3_OTHER, "id": 50}),
        )
        .await;
    assert_eq!(with_id, (200, json!({"id": 50})));
    let known = h
        .post("/subjects/imp/versions", json!({"schema": V3_OTHER}))
        .await;
    assert_eq!(known, (200, json!({"id": 50})));
    // READONLY: a registered schema is still answered (serializers look up
    // through register); a new one is 42205.
    h.put("/mode/s", json!({"mode": "READONLY"})).await;
    let registered = h.post("/subjects/s/versions", json!({"schema": V1})).await;
    assert_eq!(registered, (200, json!({"id": 1})));
    let refused = h
        .post("/subjects/s/versions", json!({"schema": V3_OTHER}))
        .await;
    assert_eq!(code(&refused), (422, json!(42205)));
}

#[tokio::test]
async fn config_fields_are_stored_and_replayed() {
    let h = Harness::new();
    let put = h
        .put(
            "/config/s",
            json!({"normalize": true, "validateFields": true, "compatibilityGroup": "major", "alias": "t"}),
        )
        .await;
    assert_eq!(
        put,
        (
            200,
            json!({"normalize": true, "validateFields": true, "compatibilityGroup": "major", "alias": "t"})
        )
    );
    let (_, global) = h
        .put(
            "/config",
            json!({"compatibility": "FULL", "normalize": false}),
        )
        .await;
    assert_eq!(global, json!({"compatibility": "FULL", "normalize": false}));
    let expected_s = json!({
        "compatibilityLevel": "FULL",
        "normalize": true,
        "validateFields": true,
        "compatibilityGroup": "major",
        "alias": "t"
    });
    for router in [h.replayed()] {
        let (_, s) = call(&router, Method::GET, "/config/s", None).await;
        assert_eq!(
            s,
            json!({"normalize": true, "validateFields": true, "compatibilityGroup": "major", "alias": "t"})
        );
        let (_, g) = call(&router, Method::GET, "/config", None).await;
        assert_eq!(g, json!({"compatibilityLevel": "FULL", "normalize": false}));
        let (_, other) = call(
            &router,
            Method::GET,
            "/config/other?defaultToGlobal=true",
            None,
        )
        .await;
        assert_eq!(other, g);
        let (status, _) = call(&router, Method::GET, "/config/other", None).await;
        assert_eq!(status, 404);
    }
    let _ = expected_s;
    // `null` clears a field; absent keeps it.
    let (_, cleared) = h
        .put("/config/s", json!({"alias": null, "compatibility": "FULL"}))
        .await;
    assert_eq!(
        cleared,
        json!({"compatibility": "FULL", "normalize": true, "validateFields": true, "compatibilityGroup": "major"})
    );
}

#[tokio::test]
async fn normalize_from_the_config() {
    let compact = "syntax=\"proto3\"; package n; option java_package=\"c\"; option go_package=\"g\"; message N { int32 b = 2; string a = 1; }";
    let normalized = "syntax = \"proto3\";\npackage n;\n\noption go_package = \"g\";\noption java_package = \"c\";\n\nmessage N {\n  string a = 1;\n  int32 b = 2;\n}\n";
    let proto = json!({"schema": compact, "schemaType": "PROTOBUF"});
    // Without normalize the text is stored as given.
    let raw = Harness::new();
    raw.post("/subjects/raw/versions", proto.clone()).await;
    assert_eq!(raw.get("/schemas/ids/1").await.1["schema"], compact);
    // The subject's config normalizes register, lookup and compatibility.
    let h = Harness::new();
    h.put("/config/norm", json!({"normalize": true})).await;
    assert_eq!(
        h.post("/subjects/norm/versions", proto.clone()).await.1["id"],
        1
    );
    assert_eq!(h.get("/schemas/ids/1").await.1["schema"], normalized);
    let found = h.post("/subjects/norm", proto.clone()).await;
    assert_eq!((found.0, &found.1["version"]), (200, &json!(1)));
    let compatible = h
        .post(
            "/compatibility/subjects/norm/versions/latest",
            proto.clone(),
        )
        .await;
    assert_eq!(compatible, (200, json!({"is_compatible": true})));
    // Set globally, it applies to subjects without their own config.
    let g = Harness::new();
    g.put("/config", json!({"normalize": true})).await;
    g.post("/subjects/any/versions", proto.clone()).await;
    assert_eq!(g.get("/schemas/ids/1").await.1["schema"], normalized);
    // A subject's own `false` wins over the global `true`.
    g.put("/config/own", json!({"normalize": false})).await;
    let other =
        json!({"schema": compact.replace("package n;", "package m;"), "schemaType": "PROTOBUF"});
    assert_eq!(
        g.post("/subjects/own/versions", other.clone()).await.1["id"],
        2
    );
    assert_eq!(g.get("/schemas/ids/2").await.1["schema"], other["schema"]);
}

#[tokio::test]
async fn validate_fields_checks_names_and_reserved_fields() {
    let h = Harness::new();
    let dollar = r#"{"type":"object","properties":{"$$x":{"type":"string"}}}"#;
    let json_schema = json!({"schema": dollar, "schemaType": "JSON"});
    assert_eq!(
        h.post("/subjects/loose/versions", json_schema.clone())
            .await
            .0,
        200
    );
    h.put("/config/strict", json!({"validateFields": true}))
        .await;
    let refused = h.post("/subjects/strict/versions", json_schema).await;
    assert_eq!(code(&refused), (422, json!(42201)), "{}", refused.1);
    // Reserved fields: a field may not take a reserved name...
    let reserved = |text: &str, fields: &str| json!({"schema": text, "metadata": {"properties": {"confluent:reserved": fields}}});
    let clash = h
        .post("/subjects/strict/versions", reserved(V1, "name"))
        .await;
    assert_eq!(code(&clash), (409, json!(409)), "{}", clash.1);
    let msg = clash.1["message"].as_str().unwrap();
    assert!(
        msg.contains("conflicts with the reserved field name"),
        "{msg}"
    );
    // ...and a reserved name may not be dropped.
    let ok = h
        .post("/subjects/strict/versions", reserved(V1, "ssn, age"))
        .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    let dropped = h
        .post("/subjects/strict/versions", reserved(V1, "ssn"))
        .await;
    assert_eq!(code(&dropped), (409, json!(409)), "{}", dropped.1);
    let msg = dropped.1["message"].as_str().unwrap();
    assert!(msg.contains("reserved field age removed"), "{msg}");
    // Without validateFields the same registration is accepted.
    h.put("/config/strict", json!({"validateFields": false}))
        .await;
    let accepted = h
        .post("/subjects/strict/versions", reserved(V1, "ssn"))
        .await;
    assert_eq!(accepted.0, 200, "{}", accepted.1);
}

#[tokio::test]
async fn compatibility_group_splits_the_versions() {
    let h = Harness::new();
    h.put(
        "/config/g",
        json!({"compatibility": "BACKWARD", "compatibilityGroup": "major"}),
    )
    .await;
    let with_major = |text: &str, major: &str| json!({"schema": text, "metadata": {"properties": {"major": major}}});
    assert_eq!(
        h.post("/subjects/g/versions", with_major(V1, "1")).await.0,
        200
    );
    // Incompatible with version 1, but in another group.
    let other_group = h
        .post("/subjects/g/versions", with_major(V2_NO_DEFAULT, "2"))
        .await;
    assert_eq!(other_group.0, 200, "{}", other_group.1);
    // In version 1's group: checked, and refused.
    let check = h
        .post(
            "/compatibility/subjects/g/versions",
            with_major(V3_OTHER, "1"),
        )
        .await;
    assert_eq!(check, (200, json!({"is_compatible": false})));
    let same_group = h
        .post("/subjects/g/versions", with_major(V3_OTHER, "1"))
        .await;
    assert_eq!(code(&same_group), (409, json!(409)));
    // A registration without metadata inherits the latest version's (group 2).
    let inherits = h
        .post("/subjects/g/versions", json!({"schema": V3_OTHER}))
        .await;
    assert_eq!(code(&inherits), (409, json!(409)), "{}", inherits.1);
}

#[tokio::test]
async fn an_alias_acts_on_its_target() {
    let h = Harness::new();
    let id = h
        .post("/subjects/real/versions", json!({"schema": V1}))
        .await
        .1["id"]
        .clone();
    h.put("/config/nick%20name", json!({"alias": "real"})).await;
    let (status, latest) = h.get("/subjects/nick%20name/versions/latest").await;
    assert_eq!(
        (status, &latest["subject"], &latest["id"]),
        (200, &json!("real"), &id)
    );
    let registered = h
        .post(
            "/subjects/nick%20name/versions",
            json!({"schema": V2_NO_DEFAULT}),
        )
        .await;
    assert_eq!(
        code(&registered),
        (409, json!(409)),
        "checked against real's versions"
    );
    h.put("/config/real", json!({"compatibility": "NONE"}))
        .await;
    let registered = h
        .post(
            "/subjects/nick%20name/versions",
            json!({"schema": V2_NO_DEFAULT}),
        )
        .await;
    assert_eq!(registered.0, 200);
    assert_eq!(h.get("/subjects/real/versions").await.1, json!([1, 2]));
    assert_eq!(h.get("/subjects").await.1, json!(["real"]));
    let compat = h
        .post(
            "/compatibility/subjects/nick%20name/versions/1",
            json!({"schema": V1}),
        )
        .await;
    assert_eq!(compat, (200, json!({"is_compatible": true})));
    let by_id = h.get(&format!("/schemas/ids/{id}?subject=nick+name")).await;
    assert_eq!((by_id.0, &by_id.1["subject"]), (200, &json!("real")));
    // The alias's own config is still its own.
    assert_eq!(
        h.get("/config/nick%20name").await.1,
        json!({"alias": "real"})
    );
}

#[tokio::test]
async fn google_type_imports_need_no_reference() {
    let h = Harness::new();
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"google/type/date.proto\";\nimport \"google/type/money.proto\";\nimport \"google/type/latlng.proto\";\nimport \"google/type/datetime.proto\";\nmessage Order {\n  google.type.Date day = 1;\n  google.type.Money price = 2;\n  google.type.LatLng where = 3;\n  google.type.DateTime at = 4;\n}\n";
    let answer = h
        .post(
            "/subjects/orders/versions",
            json!({"schema": text, "schemaType": "PROTOBUF"}),
        )
        .await;
    assert_eq!(answer, (200, json!({"id": 1})));
    let (status, serialized) = h.get("/schemas/ids/1?format=serialized").await;
    assert_eq!(status, 200);
    assert!(serialized["schema"].as_str().is_some_and(|s| !s.is_empty()));
    for file in crate::protobuf::google_type_paths() {
        let text =
            format!("syntax = \"proto3\";\nimport \"{file}\";\nmessage Uses {{ string a = 1; }}\n");
        let answer = h
            .post(
                "/subjects/each/versions",
                json!({"schema": text, "schemaType": "PROTOBUF"}),
            )
            .await;
        assert_eq!(answer.0, 200, "{file}: {}", answer.1);
    }
}

#[tokio::test]
async fn unknown_formats_are_the_default_form() {
    let h = Harness::new();
    let spaced =
        r#"{ "type": "record", "name": "User", "fields": [ {"name": "name", "type": "string"} ] }"#;
    h.post("/subjects/s/versions", json!({"schema": spaced}))
        .await;
    let (_, default) = h.get("/schemas/ids/1?format=default").await;
    for uri in [
        "/schemas/ids/1?format=bogus",
        "/subjects/s/versions/1?format=bogus",
        "/subjects/s/versions/latest?format=BOGUS",
    ] {
        let (status, body) = h.get(uri).await;
        assert_eq!(
            (status, &body["schema"]),
            (200, &default["schema"]),
            "{uri}"
        );
    }
    let proto = "syntax = \"proto3\";\nmessage M { string a = 1; }\n";
    h.post(
        "/subjects/p/versions",
        json!({"schema": proto, "schemaType": "PROTOBUF"}),
    )
    .await;
    let (status, body) = h.get("/schemas/ids/2?format=bogus").await;
    assert_eq!((status, &body["schemaType"]), (200, &json!("PROTOBUF")));
    // A format Confluent renders and this registry does not: 400, not another form.
    let (status, _) = h.get("/schemas/ids/2?format=ignore_extensions").await;
    assert_eq!(status, 400);
}
