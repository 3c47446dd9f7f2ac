use super::*;

const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
const V2_DEFAULT: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}"#;
const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;

fn avro(text: &str) -> NewSchema {
    NewSchema {
        text: text.into(),
        ..NewSchema::default()
    }
}

fn commit<T>(r: &mut Registry, planned: Planned<T>) -> T {
    for (k, v) in &planned.records {
        r.apply(k, v.as_deref()).unwrap();
    }
    planned.answer
}

fn register(r: &mut Registry, subject: &str, text: &str) -> Result<u32> {
    let planned = r.plan_register(subject, &avro(text))?;
    Ok(commit(r, planned))
}

/// Replays every record written so far into a fresh registry.
struct Logged {
    registry: Registry,
    log: Vec<LogRecord>,
}

impl Logged {
    fn new() -> Self {
        Logged {
            registry: Registry::new(),
            log: Vec::new(),
        }
    }
    fn commit<T>(&mut self, planned: Result<Planned<T>>) -> Result<T> {
        let planned = planned?;
        self.log.extend(planned.records.iter().cloned());
        Ok(commit(&mut self.registry, planned))
    }
    fn replayed(&self) -> Registry {
        let mut r = Registry::new();
        for (k, v) in &self.log {
            r.apply(k, v.as_deref()).unwrap();
        }
        r
    }
}

#[test]
fn same_schema_same_id_across_subjects() {
    let mut r = Registry::new();
    let a = register(&mut r, "a", V1).unwrap();
    assert_eq!(a, 1);
    // Whitespace does not matter.
    let again = register(&mut r, "a", &V1.replace(',', " , ")).unwrap();
    assert_eq!(again, 1);
    assert_eq!(r.versions("a", false).unwrap(), vec![1]);
    let b = register(&mut r, "b", V1).unwrap();
    assert_eq!(b, 1);
    let c = register(&mut r, "a", V2_DEFAULT).unwrap();
    assert_eq!(c, 2);
    assert_eq!(
        r.version("a", VersionSpec::Latest, false).unwrap().version,
        2
    );
    assert_eq!(
        r.subject_versions_of(1, false).unwrap(),
        vec![("a".to_string(), 1), ("b".to_string(), 1)]
    );
}

#[test]
fn backward_rejects_a_field_without_default() {
    let mut r = Registry::new();
    register(&mut r, "s", V1).unwrap();
    let err = register(&mut r, "s", V2_NO_DEFAULT).unwrap_err();
    assert_eq!(err.status_and_code(), (409, 409));
    let messages = r
        .check_compatibility("s", Some(VersionSpec::Latest), &avro(V2_NO_DEFAULT))
        .unwrap();
    assert!(!messages.is_empty());
    assert!(messages.iter().any(|m| m.contains("oldSchemaVersion: 1")));
    let commit_none = r.plan_config(Some("s"), Some("NONE")).unwrap();
    commit(&mut r, commit_none);
    assert_eq!(register(&mut r, "s", V2_NO_DEFAULT).unwrap(), 2);
}

#[test]
fn invalid_schema_and_versions() {
    let mut r = Registry::new();
    let err = register(&mut r, "s", "{not avro").unwrap_err();
    assert_eq!(err.status_and_code(), (422, 42201));
    assert_eq!(
        VersionSpec::parse("0").unwrap_err().status_and_code(),
        (422, 42202)
    );
    assert_eq!(VersionSpec::parse("-1").unwrap(), VersionSpec::Latest);
    assert_eq!(
        r.versions("nope", false).unwrap_err().status_and_code(),
        (404, 40401)
    );
    register(&mut r, "s", V1).unwrap();
    assert_eq!(
        r.version("s", VersionSpec::Number(7), false)
            .unwrap_err()
            .status_and_code(),
        (404, 40402)
    );
    assert_eq!(r.schema(99).unwrap_err().status_and_code(), (404, 40403));
    assert_eq!(
        r.plan_config(None, Some("SIDEWAYS"))
            .unwrap_err()
            .status_and_code(),
        (422, 42203)
    );
}

#[test]
fn soft_then_permanent_deletes() {
    let mut l = Logged::new();
    l.commit(l.registry.plan_register("s", &avro(V1))).unwrap();
    l.commit(l.registry.plan_register("s", &avro(V2_DEFAULT)))
        .unwrap();
    let err = l
        .registry
        .plan_delete_version("s", VersionSpec::Number(1), true)
        .unwrap_err();
    assert_eq!(err.status_and_code(), (404, 40407));
    assert_eq!(
        l.commit(
            l.registry
                .plan_delete_version("s", VersionSpec::Number(1), false)
        )
        .unwrap(),
        1
    );
    let err = l
        .registry
        .plan_delete_version("s", VersionSpec::Number(1), false)
        .unwrap_err();
    assert_eq!(err.status_and_code(), (404, 40406));
    assert_eq!(l.registry.versions("s", false).unwrap(), vec![2]);
    assert_eq!(l.registry.versions("s", true).unwrap(), vec![1, 2]);
    let err = l.registry.plan_delete_subject("s", true).unwrap_err();
    assert_eq!(err.status_and_code(), (404, 40405));
    assert_eq!(
        l.commit(l.registry.plan_delete_subject("s", false))
            .unwrap(),
        vec![2]
    );
    let err = l.registry.plan_delete_subject("s", false).unwrap_err();
    assert_eq!(err.status_and_code(), (404, 40404));
    assert!(l.registry.subjects("", false, false).is_empty());
    assert_eq!(l.registry.subjects("", false, true), vec!["s"]);
    // Ids stay readable after a soft delete.
    assert!(l.registry.schema(1).is_ok());
    assert_eq!(l.replayed().subjects("", true, false), vec!["s"]);
    l.commit(l.registry.plan_delete_subject("s", true)).unwrap();
    assert!(l.registry.subjects("", true, false).is_empty());
    assert!(l.registry.schema(1).is_err());
    // A new registration gets a fresh id and starts at version 1.
    assert_eq!(
        l.commit(l.registry.plan_register("s", &avro(V1))).unwrap(),
        3
    );
    assert_eq!(l.registry.versions("s", false).unwrap(), vec![1]);
    let replayed = l.replayed();
    assert_eq!(replayed.versions("s", false).unwrap(), vec![1]);
    assert_eq!(replayed.schema(3).unwrap().text, V1);
}

#[test]
fn replay_keeps_ids_config_and_mode() {
    let mut l = Logged::new();
    l.commit(l.registry.plan_register("a", &avro(V1))).unwrap();
    l.commit(l.registry.plan_register("b", &avro(V2_DEFAULT)))
        .unwrap();
    l.commit(l.registry.plan_config(None, Some("FULL")))
        .unwrap();
    l.commit(l.registry.plan_config(Some("a"), Some("none")))
        .unwrap();
    l.commit(l.registry.plan_mode(Some("b"), Some("READONLY"), false))
        .unwrap();
    let r = l.replayed();
    assert_eq!(r.global_config(), CompatibilityLevel::Full);
    assert_eq!(
        r.subject_config("a", false).unwrap(),
        CompatibilityLevel::None
    );
    assert_eq!(
        r.subject_config("b", false).unwrap_err().status_and_code(),
        (404, 40408)
    );
    assert_eq!(r.subject_mode("b", false).unwrap(), Mode::ReadOnly);
    assert_eq!(r.schema(2).unwrap().text, V2_DEFAULT);
    // The next id continues after the replayed ones.
    let planned = r.plan_register("c", &avro(r#""string""#)).unwrap();
    assert_eq!(planned.answer, 3);
    // READONLY refuses writes with 42205.
    assert_eq!(
        r.plan_register("b", &avro(V1))
            .unwrap_err()
            .status_and_code(),
        (422, 42205)
    );
    // Deleting a subject config answers the level it had.
    let planned = r.plan_config(Some("a"), None).unwrap();
    assert_eq!(planned.answer, CompatibilityLevel::None);
    assert_eq!(planned.records[0].1, None);
}

#[test]
fn references_resolve_and_block_deletes() {
    let mut l = Logged::new();
    let address = r#"{"type":"record","name":"Address","namespace":"x","fields":[{"name":"street","type":"string"}]}"#;
    l.commit(l.registry.plan_register("address", &avro(address)))
        .unwrap();
    let user = NewSchema {
        text: r#"{"type":"record","name":"User","namespace":"x","fields":[{"name":"home","type":"x.Address"}]}"#.into(),
        references: vec![SchemaReference {
            name: "x.Address".into(),
            subject: "address".into(),
            version: 1,
        }],
        ..NewSchema::default()
    };
    assert_eq!(
        l.commit(l.registry.plan_register("user", &user)).unwrap(),
        2
    );
    assert_eq!(l.registry.referenced_by("address", 1), vec![2]);
    let err = l
        .registry
        .plan_delete_version("address", VersionSpec::Number(1), false)
        .unwrap_err();
    assert_eq!(err.status_and_code(), (422, 42206));
    let missing = NewSchema {
        references: vec![SchemaReference {
            name: "x.Address".into(),
            subject: "nowhere".into(),
            version: 1,
        }],
        ..user.clone()
    };
    assert_eq!(
        l.registry
            .plan_register("user2", &missing)
            .unwrap_err()
            .status_and_code(),
        (422, 42201)
    );
    let found = l.replayed().lookup("user", &user, false).unwrap();
    assert_eq!((found.version, found.schema.id), (1, 2));
}

#[test]
fn import_mode_takes_explicit_ids() {
    let mut l = Logged::new();
    let with_id = NewSchema {
        id: Some(42),
        version: Some(3),
        ..avro(V1)
    };
    assert_eq!(
        l.registry
            .plan_register("s", &with_id)
            .unwrap_err()
            .status_and_code(),
        (422, 42205)
    );
    l.commit(l.registry.plan_mode(None, Some("IMPORT"), false))
        .unwrap();
    assert_eq!(
        l.commit(l.registry.plan_register("s", &with_id)).unwrap(),
        42
    );
    assert_eq!(l.registry.versions("s", false).unwrap(), vec![3]);
    l.commit(l.registry.plan_mode(None, Some("READWRITE"), false))
        .unwrap();
    assert_eq!(
        l.commit(l.registry.plan_register("t", &avro(V2_DEFAULT)))
            .unwrap(),
        43
    );
    assert_eq!(
        l.registry
            .plan_mode(None, Some("IMPORT"), false)
            .unwrap_err()
            .status_and_code(),
        (422, 42205)
    );
}
