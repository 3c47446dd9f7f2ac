use super::*;

fn props(pairs: &[(&str, &str)]) -> BrokerProperties {
    BrokerProperties::from_map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
    .unwrap()
}

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn values_within_the_broker_bounds_are_accepted() {
    let p = BrokerProperties::default();
    assert_eq!(validate(&set(&[]), &p), Ok(()));
    let ok = set(&[
        (CONSUMER_SESSION_TIMEOUT_MS, "60000"),
        (CONSUMER_HEARTBEAT_INTERVAL_MS, "15000"),
    ]);
    assert_eq!(validate(&ok, &p), Ok(()));
}

#[test]
fn bounds_come_from_the_group_consumer_broker_properties() {
    let p = BrokerProperties::default();
    let err = |pairs: &[(&str, &str)]| validate(&set(pairs), &p).unwrap_err();
    assert_eq!(
        err(&[(CONSUMER_SESSION_TIMEOUT_MS, "44999")]),
        "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
    );
    assert_eq!(
        err(&[(CONSUMER_SESSION_TIMEOUT_MS, "60001")]),
        "consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms"
    );
    assert_eq!(
        err(&[(CONSUMER_HEARTBEAT_INTERVAL_MS, "4999")]),
        "consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms"
    );
    assert_eq!(
        err(&[(CONSUMER_HEARTBEAT_INTERVAL_MS, "15001")]),
        "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"
    );
    // Lowered bounds let a group go lower.
    let low = props(&[
        ("group.consumer.min.session.timeout.ms", "1000"),
        ("group.consumer.min.heartbeat.interval.ms", "100"),
    ]);
    let fast = set(&[
        (CONSUMER_SESSION_TIMEOUT_MS, "2000"),
        (CONSUMER_HEARTBEAT_INTERVAL_MS, "500"),
    ]);
    assert_eq!(validate(&fast, &low), Ok(()));
}

#[test]
fn heartbeat_must_stay_below_the_session_timeout_including_the_broker_default() {
    let low = props(&[
        ("group.consumer.min.session.timeout.ms", "1000"),
        ("group.consumer.min.heartbeat.interval.ms", "100"),
    ]);
    // The broker's heartbeat (5000) is above this session timeout.
    assert_eq!(
        validate(&set(&[(CONSUMER_SESSION_TIMEOUT_MS, "5000")]), &low).unwrap_err(),
        "consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms"
    );
}

#[test]
fn values_must_be_positive_integers() {
    let p = BrokerProperties::default();
    assert_eq!(
        validate(&set(&[(CONSUMER_SESSION_TIMEOUT_MS, "abc")]), &p).unwrap_err(),
        "Invalid value abc for configuration consumer.session.timeout.ms: Not a number of type INT"
    );
    assert_eq!(
        validate(&set(&[(CONSUMER_HEARTBEAT_INTERVAL_MS, "0")]), &p).unwrap_err(),
        "Invalid value 0 for configuration consumer.heartbeat.interval.ms: Value must be at least 1"
    );
}

#[test]
fn share_and_streams_configs_are_refused_with_the_reason_and_unknown_names_as_kafka() {
    let p = BrokerProperties::default();
    let share = validate(&set(&[("share.session.timeout.ms", "45000")]), &p).unwrap_err();
    assert!(share.contains("share groups (KIP-932)"), "{share}");
    let streams = validate(&set(&[("streams.num.standby.replicas", "1")]), &p).unwrap_err();
    assert!(
        streams.contains("Kafka Streams groups (KIP-1071)"),
        "{streams}"
    );
    assert_eq!(
        validate(&set(&[("retention.ms", "1")]), &p).unwrap_err(),
        "Unknown group config name: retention.ms"
    );
}

#[test]
fn a_group_without_overrides_gets_the_broker_defaults() {
    let p = props(&[("group.consumer.heartbeat.interval.ms", "6000")]);
    let configs = GroupConfigs::new(&p, HashMap::new());
    let defaults = ConsumerSettings {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: 6_000,
    };
    assert_eq!(configs.consumer_settings("g"), defaults);
    configs.replace("g", set(&[(CONSUMER_SESSION_TIMEOUT_MS, "50000")]));
    assert_eq!(
        configs.consumer_settings("g"),
        ConsumerSettings {
            session_timeout_ms: 50_000,
            ..defaults
        }
    );
    assert_eq!(configs.consumer_settings("other"), defaults);
    configs.replace("g", BTreeMap::new());
    assert_eq!(configs.consumer_settings("g"), defaults);
    assert!(configs.overrides("g").is_empty());
}

#[test]
fn broker_start_refuses_defaults_outside_their_bounds() {
    let refused = |pairs: &[(&str, &str)]| {
        BrokerProperties::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        refused(&[("group.consumer.heartbeat.interval.ms", "1000")]),
        "group.consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms"
    );
    assert_eq!(
        refused(&[("group.consumer.session.timeout.ms", "70000")]),
        "group.consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms"
    );
}
