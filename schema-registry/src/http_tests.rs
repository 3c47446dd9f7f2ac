use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::Value;
use strata_governance::AllowAll;
use tower::ServiceExt;

use super::*;
use crate::records::LogRecord;
use crate::registry::Registry;

/// Records what was appended; fails every append while `broken`.
#[derive(Default)]
struct FakeLog {
    records: Mutex<Vec<LogRecord>>,
    broken: std::sync::atomic::AtomicBool,
}

impl SchemaLog for FakeLog {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async move {
            if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(SchemaLogError::new(
                    "appending to _schemas",
                    std::io::Error::other("disk on fire"),
                ));
            }
            self.records.lock().unwrap().extend(records);
            Ok(())
        })
    }
}

pub(super) struct Harness {
    log: Arc<FakeLog>,
    router: Router,
}

impl Harness {
    pub(super) fn new() -> Self {
        let log = Arc::new(FakeLog::default());
        let router = router(
            SchemaRegistry::new(Registry::new(), log.clone(), "cluster-1"),
            Arc::new(AllowAll),
        );
        Harness { log, router }
    }

    /// A router over a registry rebuilt from everything appended so far.
    pub(super) fn replayed(&self) -> Router {
        let mut registry = Registry::new();
        for (k, v) in self.log.records.lock().unwrap().iter() {
            registry.apply(k, v.as_deref()).unwrap();
        }
        router(
            SchemaRegistry::new(registry, self.log.clone(), "cluster-1"),
            Arc::new(AllowAll),
        )
    }

    pub(super) async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(&self.router, method, uri, body).await
    }
}

pub(super) async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
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
    assert_eq!(
        body["message"],
        "Error while storing the schema registry state: appending to _schemas: disk on fire",
        "the answer carries the cause"
    );
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

/// metadata and ruleSet: stored, returned by every read, matched by lookup,
/// and config defaults shown by GET /config (Confluent 7.4+).
#[tokio::test]
async fn metadata_and_rule_set_over_http() {
    let h = Harness::new();
    let metadata = json!({"properties": {"owner": "team-a", "application.version": "v1"}, "tags": {"$.name": ["PII"]}});
    let rule_set = json!({"domainRules": [{"name": "checkName", "kind": "CONDITION", "type": "CEL", "expr": "size(message.name) > 0"}]});
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V1, "metadata": metadata, "ruleSet": rule_set})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["id"], &body["version"]), (&json!(1), &json!(1)));
    assert_eq!(body["metadata"]["properties"]["owner"], "team-a");
    assert_eq!(body["ruleSet"]["domainRules"][0]["mode"], "WRITEREAD");
    let (_, by_id) = h.call(Method::GET, "/schemas/ids/1", None).await;
    assert_eq!(by_id["metadata"], body["metadata"]);
    assert_eq!(by_id["ruleSet"], body["ruleSet"]);
    let (_, version) = h.call(Method::GET, "/subjects/s/versions/1", None).await;
    assert_eq!(version["metadata"], body["metadata"]);
    // Without metadata and rules the latest version's are inherited: same id.
    let (_, again) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!((&again["id"], &again["version"]), (&json!(1), &json!(1)));
    // New metadata alone makes a new version with a new id.
    let v2 = json!({"properties": {"owner": "team-a", "application.version": "v2"}});
    let (_, second) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V1, "metadata": v2})),
        )
        .await;
    assert_eq!((&second["id"], &second["version"]), (&json!(2), &json!(2)));
    assert_eq!(second["ruleSet"], body["ruleSet"], "rules carry over");
    // Lookup matches the request as given.
    let (status, found) = h
        .call(
            Method::POST,
            "/subjects/s",
            Some(json!({"schema": V1, "metadata": metadata, "ruleSet": rule_set})),
        )
        .await;
    assert_eq!((status, &found["version"]), (200, &json!(1)), "{found}");
    let (status, missing) = h
        .call(Method::POST, "/subjects/s", Some(json!({"schema": V1})))
        .await;
    assert_eq!((status, &missing["error_code"]), (404, &json!(40403)));
    // Latest version whose metadata holds the given properties.
    let (_, latest) = h
        .call(
            Method::GET,
            "/subjects/s/metadata?key=application.version&value=v1",
            None,
        )
        .await;
    assert_eq!(latest["version"], 1);
    let (_, latest) = h
        .call(
            Method::GET,
            "/subjects/s/metadata?key=owner&value=team-a",
            None,
        )
        .await;
    assert_eq!(latest["version"], 2);
    let (status, none) = h
        .call(Method::GET, "/subjects/s/metadata?key=owner&value=b", None)
        .await;
    assert_eq!((status, &none["error_code"]), (404, &json!(40403)));
    let (status, none) = h
        .call(
            Method::GET,
            "/subjects/nope/metadata?key=owner&value=b",
            None,
        )
        .await;
    assert_eq!((status, &none["error_code"]), (404, &json!(40401)));
    // An invalid rule set is 42210.
    let (status, bad) = h
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": V1, "ruleSet": {"domainRules": [{"name": "x"}]}})),
        )
        .await;
    assert_eq!((status, &bad["error_code"]), (422, &json!(42210)), "{bad}");
    assert_eq!(bad["message"], "Missing rule type");
    // Config defaults and overrides: stored, shown, merged into registrations.
    let (status, put) = h
        .call(
            Method::PUT,
            "/config/t",
            Some(json!({"defaultMetadata": {"properties": {"owner": "platform"}}, "overrideRuleSet": null})),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(
        put,
        json!({"defaultMetadata": {"properties": {"owner": "platform"}}})
    );
    let (_, got) = h.call(Method::GET, "/config/t", None).await;
    assert_eq!(
        got,
        json!({"defaultMetadata": {"properties": {"owner": "platform"}}})
    );
    let (_, put) = h
        .call(
            Method::PUT,
            "/config/t",
            Some(json!({"compatibility": "NONE"})),
        )
        .await;
    assert_eq!(put["compatibility"], "NONE");
    assert_eq!(put["defaultMetadata"]["properties"]["owner"], "platform");
    let (_, registered) = h
        .call(
            Method::POST,
            "/subjects/t/versions",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!(registered["metadata"]["properties"]["owner"], "platform");
    let (_, global) = h.call(Method::GET, "/config", None).await;
    assert_eq!(global, json!({"compatibilityLevel": "BACKWARD"}));
    // And all of it is in the log.
    let replayed = h.replayed();
    let (_, by_id) = call(&replayed, Method::GET, "/schemas/ids/1", None).await;
    assert_eq!(by_id["ruleSet"], body["ruleSet"]);
    let (_, got) = call(&replayed, Method::GET, "/config/t", None).await;
    assert_eq!(got["compatibilityLevel"], "NONE");
}

/// `GET /schemas/ids/{id}` with `subject`, `format` and `fetchMaxId`, and
/// `deleted` on the id's subjects and versions.
#[tokio::test]
async fn schema_by_id_parameters() {
    let h = Harness::new();
    let address = r#"{"type":"record","name":"Address","namespace":"x","fields":[{"name":"street","type":"string"}]}"#;
    let user = r#"{"type":"record","name":"User","namespace":"x","fields":[{"name":"home","type":"x.Address"}]}"#;
    h.call(
        Method::POST,
        "/subjects/address/versions",
        Some(json!({"schema": address})),
    )
    .await;
    let refs = json!([{"name": "x.Address", "subject": "address", "version": 1}]);
    let (_, user_id) = h
        .call(
            Method::POST,
            "/subjects/user/versions",
            Some(json!({"schema": user, "references": refs})),
        )
        .await;
    assert_eq!(user_id["id"], 2);
    let (status, body) = h
        .call(Method::GET, "/schemas/ids/2?subject=user", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["subject"], &body["version"]),
        (&json!("user"), &json!(1))
    );
    assert_eq!(body["references"], refs);
    let (status, _) = h
        .call(Method::GET, "/schemas/ids/2?subject=%3A.%3Auser", None)
        .await;
    assert_eq!(status, 200);
    for other in ["address", "nobody", "%3A.ctx%3Auser"] {
        let (status, body) = h
            .call(
                Method::GET,
                &format!("/schemas/ids/2?subject={other}"),
                None,
            )
            .await;
        assert_eq!(
            (status, &body["error_code"]),
            (404, &json!(40403)),
            "{other}"
        );
    }
    let (_, resolved) = h
        .call(Method::GET, "/schemas/ids/2?format=resolved", None)
        .await;
    let text = resolved["schema"].as_str().unwrap();
    assert!(text.contains("street"), "{text}");
    assert!(crate::ParsedSchema::parse(crate::SchemaType::Avro, text, &[]).is_ok());
    let (_, default) = h
        .call(Method::GET, "/schemas/ids/1?format=default", None)
        .await;
    assert!(!default["schema"].as_str().unwrap().contains(' '));
    // A format AVRO lacks is its default form, as Confluent answers it.
    let (status, body) = h
        .call(Method::GET, "/schemas/ids/1?format=serialized", None)
        .await;
    assert_eq!(
        (status, &body["schema"]),
        (200, &default["schema"]),
        "{body}"
    );
    let (_, with_max) = h
        .call(Method::GET, "/schemas/ids/1?fetchMaxId=true", None)
        .await;
    assert_eq!(with_max["maxId"], 2);
    let (status, raw) = h
        .call(Method::GET, "/schemas/ids/2/schema?format=resolved", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(raw["fields"][0]["type"]["name"], "Address");
    // Protobuf: the serialized descriptor.
    let proto = "syntax = \"proto3\";\nmessage M { string a = 1; }\n";
    h.call(
        Method::POST,
        "/subjects/p/versions",
        Some(json!({"schema": proto, "schemaType": "PROTOBUF"})),
    )
    .await;
    let (_, body) = h
        .call(Method::GET, "/schemas/ids/3?format=serialized", None)
        .await;
    let serialized = body["schema"].as_str().unwrap();
    assert!(!serialized.contains("syntax"), "{serialized}");
    let (_, body) = h
        .call(
            Method::GET,
            "/subjects/p/versions/1?format=serialized",
            None,
        )
        .await;
    assert_eq!(body["schema"], serialized);
    // Soft-deleted versions: the id stays readable, `deleted` lists them.
    h.call(Method::DELETE, "/subjects/user/versions/1", None)
        .await;
    let (_, subjects) = h.call(Method::GET, "/schemas/ids/2/subjects", None).await;
    assert_eq!(subjects, json!([]));
    let (_, subjects) = h
        .call(Method::GET, "/schemas/ids/2/subjects?deleted=true", None)
        .await;
    assert_eq!(subjects, json!(["user"]));
    let (_, versions) = h
        .call(Method::GET, "/schemas/ids/2/versions?deleted=true", None)
        .await;
    assert_eq!(versions, json!([{"subject": "user", "version": 1}]));
    let (status, _) = h
        .call(Method::GET, "/schemas/ids/2?subject=user", None)
        .await;
    assert_eq!(status, 200);
    // The cached answer goes with a permanent delete.
    let (status, _) = h.call(Method::GET, "/schemas/ids/2", None).await;
    assert_eq!(status, 200);
    h.call(
        Method::DELETE,
        "/subjects/user/versions/1?permanent=true",
        None,
    )
    .await;
    let (status, body) = h.call(Method::GET, "/schemas/ids/2", None).await;
    assert_eq!((status, &body["error_code"]), (404, &json!(40403)));
}

/// Holds every append until released.
#[derive(Default)]
struct GatedLog {
    open: tokio::sync::Notify,
    records: Mutex<Vec<LogRecord>>,
}

impl SchemaLog for GatedLog {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async move {
            self.open.notified().await;
            self.records.lock().unwrap().extend(records);
            Ok(())
        })
    }
}

/// 42209 for a record over the limit; 50002 when the store does not confirm
/// in time, after which the write still lands and is applied.
#[tokio::test]
async fn oversized_schemas_and_slow_stores() {
    let log = Arc::new(GatedLog::default());
    let limits = WriteLimits {
        store_timeout: Duration::from_millis(50),
        max_record_bytes: 4096,
    };
    let router = router(
        SchemaRegistry::with_limits(Registry::new(), log.clone(), "c", limits),
        Arc::new(AllowAll),
    );
    let big = format!(
        r#"{{"type":"record","name":"Big","doc":"{}","fields":[]}}"#,
        "x".repeat(5000)
    );
    let (status, body) = call(
        &router,
        Method::POST,
        "/subjects/s/versions",
        Some(json!({"schema": big})),
    )
    .await;
    assert_eq!(
        (status, &body["error_code"]),
        (422, &json!(42209)),
        "{body}"
    );
    let (status, body) = call(
        &router,
        Method::POST,
        "/subjects/s/versions",
        Some(json!({"schema": V1})),
    )
    .await;
    assert_eq!(
        (status, &body["error_code"]),
        (500, &json!(50002)),
        "{body}"
    );
    let (status, _) = call(&router, Method::GET, "/subjects/s/versions", None).await;
    assert_eq!(status, 404, "not applied before the store confirms");
    log.open.notify_one();
    for _ in 0..100 {
        if log.records.lock().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The next write waits for the earlier one's turn, then sees it applied.
    let pending = tokio::spawn({
        let router = router.clone();
        async move {
            call(
                &router,
                Method::POST,
                "/subjects/s/versions",
                Some(json!({"schema": V1})),
            )
            .await
        }
    });
    let (status, body) = pending.await.unwrap();
    assert_eq!((status, &body["id"]), (200, &json!(1)), "{body}");
    let (_, versions) = call(&router, Method::GET, "/subjects/s/versions", None).await;
    assert_eq!(versions, json!([1]));
}

/// 42208 over HTTP: control characters in a subject.
#[tokio::test]
async fn invalid_subject_names() {
    let h = Harness::new();
    let (status, body) = h
        .call(
            Method::POST,
            "/subjects/bad%01subject/versions",
            Some(json!({"schema": V1})),
        )
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (422, &json!(42208)),
        "{body}"
    );
    let (status, body) = h
        .call(
            Method::PUT,
            "/mode/__GLOBAL",
            Some(json!({"mode": "READONLY"})),
        )
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (422, &json!(42208)),
        "{body}"
    );
}
