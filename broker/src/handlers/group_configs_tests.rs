use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::groups::ConsumerSettings;

fn op(name: &str, operation: i8, value: Option<&str>) -> AlterableConfig {
    AlterableConfig::default()
        .with_name(StrBytes::from_string(name.to_string()))
        .with_config_operation(operation)
        .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
}

const DEFAULTS: ConsumerSettings = ConsumerSettings {
    session_timeout_ms: 45_000,
    heartbeat_interval_ms: 5_000,
};

#[test]
fn describe_reports_group_values_as_dynamic_group_and_the_rest_as_default() {
    let overrides: BTreeMap<String, String> = [(
        "consumer.session.timeout.ms".to_string(),
        "50000".to_string(),
    )]
    .into();
    let described = describe_group(&overrides, DEFAULTS);
    let rows: Vec<_> = described
        .iter()
        .map(|d| (d.name, d.value.as_str(), d.source, d.synonyms.len()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "consumer.heartbeat.interval.ms",
                "5000",
                ConfigSource::Default,
                1
            ),
            (
                "consumer.session.timeout.ms",
                "50000",
                ConfigSource::DynamicGroup,
                1
            ),
        ]
    );
    assert!(described.iter().all(|d| !d.read_only));
}

#[test]
fn set_and_delete_apply_and_list_operations_are_refused() {
    let current: BTreeMap<String, String> = [(
        "consumer.heartbeat.interval.ms".to_string(),
        "6000".to_string(),
    )]
    .into();
    let next = apply_ops(
        &current,
        &[
            op("consumer.session.timeout.ms", SET, Some("50000")),
            op("consumer.heartbeat.interval.ms", DELETE, None),
        ],
    )
    .unwrap();
    assert_eq!(
        next,
        [(
            "consumer.session.timeout.ms".to_string(),
            "50000".to_string()
        )]
        .into()
    );
    let (code, message) = apply_ops(
        &current,
        &[op("consumer.session.timeout.ms", APPEND, Some("1"))],
    )
    .unwrap_err();
    assert_eq!(code, ResponseError::InvalidConfig);
    assert_eq!(
        message,
        "Can't APPEND to key consumer.session.timeout.ms because its type is not LIST."
    );
    let (code, _) = apply_ops(
        &current,
        &[
            op("consumer.session.timeout.ms", SET, Some("50000")),
            op("consumer.session.timeout.ms", DELETE, None),
        ],
    )
    .unwrap_err();
    assert_eq!(code, ResponseError::InvalidRequest);
    let (code, _) =
        apply_ops(&current, &[op("consumer.session.timeout.ms", SET, None)]).unwrap_err();
    assert_eq!(code, ResponseError::InvalidRequest);
}

#[test]
fn an_empty_group_name_cannot_be_altered() {
    assert_eq!(
        check_name_to_alter("").unwrap_err().0,
        ResponseError::InvalidRequest
    );
    assert!(check_name_to_alter("g").is_ok());
}
