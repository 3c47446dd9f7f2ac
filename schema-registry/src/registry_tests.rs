use super::*;
use crate::compat::CompatibilityLevel;

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

fn metadata(pairs: &[(&str, &str)]) -> Metadata {
    Metadata {
        properties: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Metadata::default()
    }
}

fn rules(json: &str) -> RuleSet {
    serde_json::from_str(json).unwrap()
}

fn with_contract(text: &str, m: Option<Metadata>, r: Option<RuleSet>) -> NewSchema {
    NewSchema {
        metadata: m,
        rule_set: r,
        ..avro(text)
    }
}

/// Confluent 7.4+: metadata and rules are part of the schema. They are
/// stored in the SCHEMA record, returned, inherited from the latest version
/// when a registration leaves them out, and a change to them alone is a new
/// version with a new id.
#[test]
fn metadata_and_rules_are_part_of_the_schema() {
    let mut l = Logged::new();
    let owner = metadata(&[("owner", "team-a")]);
    let first = with_contract(V1, Some(owner.clone()), None);
    assert_eq!(l.commit(l.registry.plan_register("s", &first)).unwrap(), 1);
    let stored: SchemaValue = serde_json::from_slice(l.log[0].1.as_ref().unwrap()).unwrap();
    assert_eq!(stored.metadata, Some(owner.clone()));
    // Again without metadata: the latest version's is inherited, nothing new.
    let planned = l.registry.plan_register("s", &avro(V1)).unwrap();
    assert_eq!((planned.answer, planned.records.len()), (1, 0));
    // Only the metadata differs: a new version and a new id.
    let second = with_contract(V1, Some(metadata(&[("owner", "team-b")])), None);
    assert_eq!(l.commit(l.registry.plan_register("s", &second)).unwrap(), 2);
    assert_eq!(l.registry.versions("s", false).unwrap(), vec![1, 2]);
    // Rules alone differ: another version, and the metadata carries over.
    let checked =
        rules(r#"{"domainRules":[{"name":"positive","type":"CEL","expr":"message.x > 0"}]}"#);
    let third = with_contract(V1, None, Some(checked.clone()));
    assert_eq!(l.commit(l.registry.plan_register("s", &third)).unwrap(), 3);
    let latest = l.registry.version("s", VersionSpec::Latest, false).unwrap();
    assert_eq!(
        latest.schema.metadata,
        Some(metadata(&[("owner", "team-b")]))
    );
    assert_eq!(latest.schema.rule_set, Some(checked.clone()));
    // The same spelled differently (defaults written out) is the same schema.
    let spelled = rules(
        r#"{"domainRules":[{"name":"positive","kind":"TRANSFORM","mode":"WRITEREAD","type":"CEL","expr":"message.x > 0","tags":null,"disabled":false}],"migrationRules":null}"#,
    );
    assert_eq!(spelled, checked);
    // A lookup matches the request as given, without inheriting anything.
    let exact = with_contract(V1, Some(owner.clone()), None);
    assert_eq!(l.registry.lookup("s", &exact, false).unwrap().version, 1);
    assert_eq!(
        l.registry
            .lookup("s", &avro(V1), false)
            .unwrap_err()
            .status_and_code(),
        (404, 40403)
    );
    // Another subject shares the id only for the same metadata and rules.
    assert_eq!(l.commit(l.registry.plan_register("t", &exact)).unwrap(), 1);
    assert_eq!(
        l.commit(l.registry.plan_register("u", &avro(V1))).unwrap(),
        4
    );
    // All of it survives a replay.
    let r = l.replayed();
    assert_eq!(
        r.schema(2).unwrap().metadata,
        Some(metadata(&[("owner", "team-b")]))
    );
    assert_eq!(r.schema(3).unwrap().rule_set, Some(checked));
    assert_eq!(r.schema(4).unwrap().metadata, None);
    let planned = r.plan_register("s", &avro(V1)).unwrap();
    assert_eq!((planned.answer, planned.records.len()), (3, 0));
    // A soft delete keeps the contract in the rewritten record.
    let planned = r
        .plan_delete_version("s", VersionSpec::Number(2), false)
        .unwrap();
    let deleted: SchemaValue =
        serde_json::from_slice(planned.records[0].1.as_ref().unwrap()).unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.metadata, Some(metadata(&[("owner", "team-b")])));
}

/// Confluent's `maybeSetMetadataRuleSet`: the config's defaults go under and
/// its overrides over the registration's own (or inherited) metadata and
/// rules; a rule replaces one of the same name.
#[test]
fn config_defaults_and_overrides_merge_into_registrations() {
    let mut l = Logged::new();
    let update = ConfigUpdate {
        default_metadata: Some(metadata(&[("owner", "platform"), ("tier", "bronze")])),
        override_metadata: Some(metadata(&[("tier", "gold")])),
        default_rule_set: Some(rules(
            r#"{"domainRules":[{"name":"a","type":"CEL","expr":"default"},{"name":"b","type":"CEL","expr":"default"}]}"#,
        )),
        override_rule_set: Some(rules(
            r#"{"domainRules":[{"name":"b","type":"CEL","expr":"override"}]}"#,
        )),
        ..ConfigUpdate::default()
    };
    let config = l
        .commit(l.registry.plan_config_update(None, &update))
        .unwrap();
    assert_eq!(config.compatibility, None);
    assert_eq!(l.registry.global_config(), CompatibilityLevel::Backward);
    let own = with_contract(
        V1,
        Some(metadata(&[("owner", "me"), ("tier", "silver")])),
        Some(rules(
            r#"{"domainRules":[{"name":"a","type":"CEL","expr":"mine"}]}"#,
        )),
    );
    let id = l.commit(l.registry.plan_register("s", &own)).unwrap();
    let schema = l.registry.schema(id).unwrap();
    assert_eq!(
        schema.metadata,
        Some(metadata(&[("owner", "me"), ("tier", "gold")]))
    );
    let exprs: Vec<(&str, &str)> = schema
        .rule_set
        .as_ref()
        .unwrap()
        .domain_rules
        .iter()
        .map(|r| (r.name.as_deref().unwrap(), r.expr.as_deref().unwrap()))
        .collect();
    assert_eq!(exprs, vec![("a", "mine"), ("b", "override")]);
    // With defaults in the config, a bare re-registration still finds it.
    let again = l.registry.plan_register("s", &avro(V1)).unwrap();
    assert_eq!((again.answer, again.records.len()), (id, 0));
    // A subject config replaces the global one for its subject.
    let subject_update = ConfigUpdate {
        compatibility: Some("NONE".into()),
        ..ConfigUpdate::default()
    };
    l.commit(
        l.registry
            .plan_config_update(Some("plain"), &subject_update),
    )
    .unwrap();
    let plain = l
        .commit(l.registry.plan_register("plain", &avro(V1)))
        .unwrap();
    assert_eq!(l.registry.schema(plain).unwrap().metadata, None);
    // The config survives a replay, fields given replace the stored ones.
    let r = l.replayed();
    let global = r.config(None, false).unwrap();
    assert_eq!(
        global.override_metadata,
        Some(metadata(&[("tier", "gold")]))
    );
    let more = ConfigUpdate {
        compatibility: Some("full".into()),
        ..ConfigUpdate::default()
    };
    let planned = r.plan_config_update(None, &more).unwrap();
    assert_eq!(planned.answer.compatibility, Some(CompatibilityLevel::Full));
    assert_eq!(planned.answer.default_metadata, global.default_metadata);
    assert_eq!(
        r.config(Some("plain"), false).unwrap().compatibility,
        Some(CompatibilityLevel::None)
    );
}

/// Confluent's `RuleSet.validate`, answered 42210.
#[test]
fn invalid_rule_sets_are_42210() {
    let r = Registry::new();
    for bad in [
        r#"{"domainRules":[{"type":"CEL"}]}"#,
        r#"{"domainRules":[{"name":"","type":"CEL"}]}"#,
        r#"{"domainRules":[{"name":"1st","type":"CEL"}]}"#,
        r#"{"domainRules":[{"name":"a-b","type":"CEL"}]}"#,
        r#"{"domainRules":[{"name":"a"}]}"#,
        r#"{"domainRules":[{"name":"a","type":"CEL"}],"migrationRules":[{"name":"a","type":"CEL","mode":"UPGRADE"}]}"#,
        r#"{"migrationRules":[{"name":"m","type":"JSONATA"}]}"#,
        r#"{"domainRules":[{"name":"d","type":"CEL","mode":"UPGRADE"}]}"#,
    ] {
        let new = with_contract(V1, None, Some(rules(bad)));
        let err = r.plan_register("s", &new).unwrap_err();
        assert_eq!(err.status_and_code(), (422, 42210), "{bad}: {err}");
        let update = ConfigUpdate {
            override_rule_set: Some(rules(bad)),
            ..ConfigUpdate::default()
        };
        let err = r.plan_config_update(Some("s"), &update).unwrap_err();
        assert_eq!(err.status_and_code(), (422, 42210), "{bad}");
    }
    let good = rules(
        r#"{"migrationRules":[{"name":"up_1","type":"JSONATA","mode":"UPGRADE"}],"domainRules":[{"name":"_x","type":"CEL"}]}"#,
    );
    assert!(good.validate().is_ok());
    let err = rules(r#"{"domainRules":[{"name":"a","type":"CEL"},{"name":"a","type":"CEL"}]}"#)
        .validate()
        .unwrap_err();
    assert_eq!(err, "Found rule with duplicate name 'a'");
}

/// 42208 for control characters and `__GLOBAL`, where Confluent checks
/// (register, subject config and mode updates).
#[test]
fn invalid_subjects_are_42208() {
    let r = Registry::new();
    for bad in ["bad\u{1}subject", "tab\there", "__GLOBAL", "del\u{7f}"] {
        let code = |e: RegistryError| e.status_and_code();
        assert_eq!(
            code(r.plan_register(bad, &avro(V1)).unwrap_err()),
            (422, 42208)
        );
        assert_eq!(
            code(r.plan_config(Some(bad), Some("NONE")).unwrap_err()),
            (422, 42208)
        );
        assert_eq!(
            code(r.plan_mode(Some(bad), Some("READONLY"), false).unwrap_err()),
            (422, 42208)
        );
    }
    assert!(r
        .plan_register("ok subject/with:odd.chars", &avro(V1))
        .is_ok());
}

/// IMPORT of a schema already registered under another id is 42207, and an
/// explicit version outside IMPORT must be the next one (42201).
#[test]
fn import_id_mismatch_is_42207() {
    let mut l = Logged::new();
    l.commit(l.registry.plan_mode(None, Some("IMPORT"), false))
        .unwrap();
    let imported = NewSchema {
        id: Some(10),
        version: Some(1),
        ..avro(V1)
    };
    l.commit(l.registry.plan_register("s", &imported)).unwrap();
    let other_id = NewSchema {
        id: Some(11),
        version: Some(1),
        ..avro(V1)
    };
    let err = l.registry.plan_register("t", &other_id).unwrap_err();
    assert_eq!(err.status_and_code(), (422, 42207));
    assert_eq!(
        err.to_string(),
        "Schema already registered with id 10 instead of input id 11"
    );
    l.commit(l.registry.plan_mode(None, Some("READWRITE"), false))
        .unwrap();
    let skipping = NewSchema {
        version: Some(3),
        ..avro(V2_DEFAULT)
    };
    let err = l.registry.plan_register("s", &skipping).unwrap_err();
    assert_eq!(err.status_and_code(), (422, 42201));
    let next = NewSchema {
        version: Some(2),
        ..avro(V2_DEFAULT)
    };
    assert_eq!(l.commit(l.registry.plan_register("s", &next)).unwrap(), 11);
    assert_eq!(l.registry.versions("s", false).unwrap(), vec![1, 2]);
}

/// GET by id is rendered once per state: an applied record drops it.
#[test]
fn rendered_answers_are_dropped_by_the_next_record() {
    let mut l = Logged::new();
    l.commit(l.registry.plan_register("s", &avro(V1))).unwrap();
    let render = |s: &Schema| axum::body::Bytes::from(s.text.clone());
    assert_eq!(l.registry.cached_json(1, render).unwrap(), V1.as_bytes());
    let again = l
        .registry
        .cached_json(1, |_| panic!("rendered twice"))
        .unwrap();
    assert_eq!(again, V1.as_bytes());
    l.commit(l.registry.plan_delete_subject("s", false))
        .unwrap();
    l.commit(l.registry.plan_delete_subject("s", true)).unwrap();
    assert_eq!(
        l.registry
            .cached_json(1, render)
            .unwrap_err()
            .status_and_code(),
        (404, 40403)
    );
    assert_eq!(l.registry.max_id(), 1);
}
