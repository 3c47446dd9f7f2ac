//! Validation and resolution of the topic config catalogue.

use super::*;

#[test]
fn catalogue_defaults_validate() {
    for def in TOPIC_CONFIGS {
        def.validate(def.default).unwrap();
    }
    let names: Vec<_> = TOPIC_CONFIGS.iter().map(|d| d.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn overrides_beat_broker_which_beats_default() {
    let broker =
        BrokerProperties::from_map([("log.retention.ms".to_string(), "1000".to_string())].into())
            .unwrap();
    let mut overrides = BTreeMap::new();
    let def = find("retention.ms").unwrap();
    assert_eq!(
        effective_value(def, &overrides, &broker),
        ("1000".into(), ConfigSource::StaticBroker)
    );
    overrides.insert("retention.ms".into(), "5".into());
    assert_eq!(
        effective_value(def, &overrides, &broker),
        ("5".into(), ConfigSource::DynamicTopic)
    );
    let seg = find("segment.bytes").unwrap();
    assert_eq!(
        effective_value(seg, &overrides, &broker).1,
        ConfigSource::Default
    );
    let resolved = EffectiveTopicConfig::resolve(&overrides, &broker);
    assert_eq!(resolved.log.retention_ms, Some(5));
    assert!(matches!(resolved.log.flush, FlushPolicy::Always));
}

#[test]
fn schema_validation_configs_resolve() {
    let broker = BrokerProperties::default();
    let resolve = |pairs: &[(&str, &str)]| {
        let overrides: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        validate_overrides(&overrides)
            .map(|()| EffectiveTopicConfig::resolve(&overrides, &broker).schema_validation)
    };
    assert_eq!(resolve(&[]), Ok(None));
    assert_eq!(
        resolve(&[("strata.value.schema.validation.mode", "payload")]),
        Ok(None)
    );
    assert_eq!(
        resolve(&[("confluent.value.schema.validation", " true")]),
        Ok(Some(ValidationConfig {
            key: None,
            value: Some(SubjectNameStrategy::Topic),
            value_payload: false,
        }))
    );
    assert_eq!(
        resolve(&[
            ("confluent.key.schema.validation", "true"),
            (
                "confluent.key.subject.name.strategy",
                "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
            ),
            ("strata.value.schema.validation.mode", "payload"),
        ]),
        Ok(Some(ValidationConfig {
            key: Some(SubjectNameStrategy::TopicRecord),
            value: None,
            value_payload: true,
        }))
    );
    // Confluent Server takes only the strategy class names.
    for (name, value) in [
        (
            "confluent.value.subject.name.strategy",
            "RecordNameStrategy",
        ),
        ("confluent.value.schema.validation", "yes"),
        ("strata.value.schema.validation.mode", "full"),
    ] {
        let e = resolve(&[(name, value)]).unwrap_err();
        assert!(e.contains(name), "{e}");
    }
}

#[test]
fn unsupported_values_are_refused_with_a_reason() {
    let bad: BTreeMap<_, _> = [("cleanup.policy".to_string(), "compact,shred".to_string())].into();
    assert!(validate_overrides(&bad).unwrap_err().contains("shred"));
    let bad: BTreeMap<_, _> = [("no.such".to_string(), "1".to_string())].into();
    assert!(validate_overrides(&bad).is_err());
    let bad: BTreeMap<_, _> = [("segment.bytes".to_string(), "10".to_string())].into();
    assert!(validate_overrides(&bad).is_err());
}

fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn swept_configs_validate_and_reach_the_log() {
    let broker = BrokerProperties::default();
    let set = overrides(&[
        ("cleanup.policy", "compact"),
        ("file.delete.delay.ms", "0"),
        ("max.compaction.lag.ms", "600000"),
        ("preallocate", "true"),
        ("segment.index.bytes", "4096"),
        ("segment.jitter.ms", "1000"),
        ("unclean.leader.election.enable", "true"),
        ("leader.replication.throttled.replicas", "0:1,1:1"),
        ("follower.replication.throttled.replicas", "*"),
        ("remote.log.copy.disable", "false"),
    ]);
    validate_overrides(&set).unwrap();
    let log = EffectiveTopicConfig::resolve(&set, &broker).log;
    assert_eq!(log.file_delete_delay_ms, 0);
    assert_eq!(log.max_compaction_lag_ms, Some(600_000));
    assert!(log.preallocate);
    assert_eq!(log.segment_index_bytes, 4096);
    assert_eq!(log.segment_jitter_ms, 1000);
    // Kafka's defaults: a minute's delete delay, no compaction lag limit.
    let log = EffectiveTopicConfig::resolve(&BTreeMap::new(), &broker).log;
    assert_eq!(log.file_delete_delay_ms, 60_000);
    assert_eq!(log.max_compaction_lag_ms, None);
    assert_eq!(log.segment_index_bytes, 10 * 1024 * 1024);
}

#[test]
fn swept_configs_refuse_what_strata_cannot_honour() {
    for (pairs, why) in [
        (&[("segment.index.bytes", "3")][..], "at least 4"),
        (&[("max.compaction.lag.ms", "0")][..], "at least 1"),
        (&[("segment.jitter.ms", "-1")][..], "at least 0"),
        (&[("preallocate", "yes")][..], "not a boolean"),
        (
            &[("leader.replication.throttled.replicas", "0-1")][..],
            "[partitionId]:[brokerId]",
        ),
        (
            &[("remote.log.copy.disable", "true")][..],
            "cannot stop uploading",
        ),
        (
            &[("remote.log.delete.on.disable", "true")][..],
            "does not turn remote storage off",
        ),
        (
            &[
                ("min.compaction.lag.ms", "10"),
                ("max.compaction.lag.ms", "5"),
            ][..],
            "max.compaction.lag.ms (5) < min.compaction.lag.ms (10)",
        ),
        (
            &[("message.format.version", "3.0")][..],
            "removed in Kafka 4.0",
        ),
    ] {
        let e = validate_overrides(&overrides(pairs)).unwrap_err();
        assert!(e.contains(why), "{pairs:?}: {e}");
    }
}

#[test]
fn configs_without_a_broker_synonym_take_no_broker_value() {
    let def = find("leader.replication.throttled.replicas").unwrap();
    assert_eq!(def.broker_name, NO_BROKER_SYNONYM);
    assert!(find_by_broker_name("").is_none());
    let broker =
        BrokerProperties::from_map([("log.roll.jitter.hours".to_string(), "2".to_string())].into())
            .unwrap();
    assert_eq!(
        effective_value(
            find("segment.jitter.ms").unwrap(),
            &BTreeMap::new(),
            &broker
        ),
        ("7200000".into(), ConfigSource::StaticBroker)
    );
    assert_eq!(
        effective_value(def, &BTreeMap::new(), &broker),
        (String::new(), ConfigSource::Default)
    );
}
