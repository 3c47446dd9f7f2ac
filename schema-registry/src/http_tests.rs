use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, Request};
use tower::ServiceExt;

use super::*;

/// Records what was appended; fails every append while `broken`.
#[derive(Default)]
struct FakeLog {
    records: Mutex<Vec<LogRecord>>,
    broken: std::sync::atomic::AtomicBool,
}

impl SchemaLog for FakeLog {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                return Err("disk on fire".into());
            }
            self.records.lock().unwrap().extend(records);
            Ok(())
        })
    }
}

struct Harness {
    log: Arc<FakeLog>,
    router: Router,
}

impl Harness {
    fn new() -> Self {
        let log = Arc::new(FakeLog::default());
        let router = router(SchemaRegistry::new(
            Registry::new(),
            log.clone(),
            "cluster-1",
        ));
        Harness { log, router }
    }

    /// A router over a registry rebuilt from everything appended so far.
    fn replayed(&self) -> Router {
        let mut registry = Registry::new();
        for (k, v) in self.log.records.lock().unwrap().iter() {
            registry.apply(k, v.as_deref()).unwrap();
        }
        router(SchemaRegistry::new(registry, self.log.clone(), "cluster-1"))
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> (u16, Value) {
        call(&self.router, method, uri, body).await
    }
}

async fn call(router: &Router, method: Method, uri: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, CONTENT_TYPE);
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;

#[tokio::test]
async fn register_get_and_lookup() {
    let h = Harness::new();
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/users-value/versions",
            Some(json!({"schema": V1, "metadata": null, "ruleSet": null, "unknown": 1})),
        )
        .await;
    assert_eq!((status, &body["id"]), (200, &json!(1)), "{body}");
    let (_, again) = h
        .call(
            Method::POST,
            "/subjects/other/versions",
            Some(json!({"schema": V1, "schemaType": "AVRO"})),
        )
        .await;
    assert_eq!(again["id"], 1);
    let (status, body) = h.call(Method::GET, "/schemas/ids/1", None).await;
    assert_eq!((status, &body["schema"]), (200, &json!(V1)));
    assert!(body.get("schemaType").is_none());
    let (_, body) = h.call(Method::GET, "/schemas/ids/1/subjects", None).await;
    assert_eq!(body, json!(["other", "users-value"]));
    let (_, body) = h.call(Method::GET, "/schemas/ids/1/versions", None).await;
    assert_eq!(body[0], json!({"subject": "other", "version": 1}));
    let (_, body) = h
        .call(Method::GET, "/subjects/users-value/versions/latest", None)
        .await;
    assert_eq!(
        body,
        json!({"subject": "users-value", "version": 1, "id": 1, "schema": V1})
    );
    let (_, body) = h
        .call(
            Method::GET,
            "/subjects/users-value/versions/-1/schema",
            None,
        )
        .await;
    assert_eq!(body["name"], "User");
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/users-value",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!((status, &body["version"]), (200, &json!(1)));
    let (_, body) = h.call(Method::GET, "/subjects", None).await;
    assert_eq!(body, json!(["other", "users-value"]));
    let (_, body) = h
        .call(Method::GET, "/subjects?subjectPrefix=us", None)
        .await;
    assert_eq!(body, json!(["users-value"]));
    let (_, body) = h.call(Method::GET, "/schemas/types", None).await;
    assert_eq!(body, json!(["JSON", "PROTOBUF", "AVRO"]));
    let (_, body) = h.call(Method::GET, "/contexts", None).await;
    assert_eq!(body, json!(["."]));
    let (_, body) = h.call(Method::GET, "/v1/metadata/id", None).await;
    assert_eq!(body["scope"]["clusters"]["kafka-cluster"], "cluster-1");
    // One record for each new subject/version, none for the repeat.
    assert_eq!(h.log.records.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn error_codes() {
    let h = Harness::new();
    let cases: Vec<(Method, &str, Option<Value>, u16, u32)> = vec![
        (Method::GET, "/subjects/nope/versions", None, 404, 40401),
        (Method::GET, "/schemas/ids/77", None, 404, 40403),
        (
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": "{nope"})),
            422,
            42201,
        ),
        (
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": "\"int\"", "schemaType": "XML"})),
            422,
            42201,
        ),
        (
            Method::PUT,
            "/config",
            Some(json!({"compatibility": "SIDEWAYS"})),
            422,
            42203,
        ),
        (Method::GET, "/config/nope", None, 404, 40408),
        (Method::GET, "/nowhere", None, 404, 404),
    ];
    for (method, uri, body, status, code) in cases {
        let (got, answer) = h.call(method, uri, body).await;
        assert_eq!(
            (got, &answer["error_code"]),
            (status, &json!(code)),
            "{uri}: {answer}"
        );
    }
    h.call(
        Method::POST,
        "/subjects/s/versions",
        Some(json!({"schema": V1})),
    )
    .await;
    let (status, body) = h.call(Method::GET, "/subjects/s/versions/9", None).await;
    assert_eq!((status, &body["error_code"]), (404, &json!(40402)));
    let (status, body) = h.call(Method::GET, "/subjects/s/versions/zero", None).await;
    assert_eq!((status, &body["error_code"]), (422, &json!(42202)));
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V2_NO_DEFAULT})),
        )
        .await;
    assert_eq!((status, &body["error_code"]), (409, &json!(409)), "{body}");
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/s",
            Some(json!({"schema": "\"long\""})),
        )
        .await;
    assert_eq!((status, &body["error_code"]), (404, &json!(40403)));
    // A store failure is 50001 and changes nothing.
    h.log
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/t/versions",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!((status, &body["error_code"]), (500, &json!(50001)));
    let (status, _) = h.call(Method::GET, "/subjects/t/versions", None).await;
    assert_eq!(status, 404);
    // Syntax errors are 400, a wrong media type 415.
    let response = h
        .router
        .clone()
        .oneshot(
            Request::post("/subjects/t/versions")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn compatibility_config_mode_and_deletes_survive_replay() {
    let h = Harness::new();
    h.call(
        Method::POST,
        "/subjects/s/versions",
        Some(json!({"schema": V1})),
    )
    .await;
    let (_, body) = h
        .call(
            Method::POST,
            "/compatibility/subjects/s/versions/latest?verbose=true",
            Some(json!({"schema": V2_NO_DEFAULT})),
        )
        .await;
    assert_eq!(body["is_compatible"], false);
    assert!(!body["messages"].as_array().unwrap().is_empty());
    let (_, body) = h
        .call(
            Method::POST,
            "/compatibility/subjects/s/versions",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!(body, json!({"is_compatible": true}));
    let (_, body) = h
        .call(
            Method::PUT,
            "/config/s",
            Some(json!({"compatibility": "none"})),
        )
        .await;
    assert_eq!(body, json!({"compatibility": "NONE"}));
    let (_, body) = h
        .call(Method::GET, "/config/t?defaultToGlobal=true", None)
        .await;
    assert_eq!(body, json!({"compatibilityLevel": "BACKWARD"}));
    let (_, body) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V2_NO_DEFAULT})),
        )
        .await;
    assert_eq!(body["id"], 2);
    let (_, body) = h
        .call(Method::PUT, "/mode/s", Some(json!({"mode": "READONLY"})))
        .await;
    assert_eq!(body, json!({"mode": "READONLY"}));
    let (status, body) = h.call(Method::DELETE, "/subjects/s/versions/1", None).await;
    assert_eq!((status, &body["error_code"]), (422, &json!(42205)));
    h.call(Method::DELETE, "/mode/s", None).await;
    let (status, body) = h.call(Method::DELETE, "/subjects/s/versions/1", None).await;
    assert_eq!((status, &body), (200, &json!(1)));
    let (status, body) = h
        .call(
            Method::DELETE,
            "/subjects/s/versions/1?permanent=true",
            None,
        )
        .await;
    assert_eq!((status, &body), (200, &json!(1)));
    let (status, body) = h
        .call(Method::DELETE, "/subjects/s?permanent=true", None)
        .await;
    assert_eq!((status, &body["error_code"]), (404, &json!(40405)));
    let (_, body) = h.call(Method::DELETE, "/subjects/s", None).await;
    assert_eq!(body, json!([2]));
    let (_, body) = h.call(Method::DELETE, "/subjects/s", None).await;
    assert_eq!(body["error_code"], 40404);

    let replayed = h.replayed();
    let (_, body) = call(&replayed, Method::GET, "/subjects?deleted=true", None).await;
    assert_eq!(body, json!(["s"]));
    let (_, body) = call(
        &replayed,
        Method::GET,
        "/subjects/s/versions?deleted=true",
        None,
    )
    .await;
    assert_eq!(body, json!([2]));
    let (_, body) = call(&replayed, Method::GET, "/config/s", None).await;
    assert_eq!(body, json!({"compatibilityLevel": "NONE"}));
    let (_, body) = call(&replayed, Method::GET, "/schemas/ids/2", None).await;
    assert_eq!(body["schema"], V2_NO_DEFAULT);
}

#[tokio::test]
async fn json_and_protobuf_types() {
    let h = Harness::new();
    let proto = "syntax = \"proto3\";\nmessage M { string a = 1; }\n";
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/p/versions",
            Some(json!({"schema": proto, "schemaType": "PROTOBUF"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = h.call(Method::GET, "/subjects/p/versions/1", None).await;
    assert_eq!(body["schemaType"], "PROTOBUF");
    let json_schema = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/j/versions?normalize=true",
            Some(json!({"schema": json_schema, "schemaType": "JSON", "references": null})),
        )
        .await;
    assert_eq!((status, &body["id"]), (200, &json!(2)), "{body}");
    let (_, body) = h.call(Method::GET, "/schemas?subjectPrefix=j", None).await;
    assert_eq!(body[0]["schemaType"], "JSON");
}
