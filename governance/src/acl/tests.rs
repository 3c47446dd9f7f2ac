use super::*;

fn binding(t: ResourceType, name: &str, pattern: PatternType) -> AclBinding {
    AclBinding {
        resource_type: t,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: Operation::Read,
        permission: Permission::Allow,
    }
}

#[test]
fn codes_round_trip_with_kafkas_numbers() {
    assert_eq!(codes::operation(3), Some(Operation::Read));
    assert_eq!(codes::operation(0), None);
    assert_eq!(codes::operation(15), None);
    assert_eq!(codes::operation_code(Operation::DescribeTokens), 14);
    assert_eq!(codes::operation_code(Operation::IdempotentWrite), 12);
    for code in 1..=14 {
        assert_eq!(codes::operation_code(codes::operation(code).unwrap()), code);
    }
    assert_eq!(
        codes::resource_type(SUBJECT_CODE),
        Some(ResourceType::Subject)
    );
    assert_eq!(codes::resource_type(5), Some(ResourceType::TransactionalId));
    assert_eq!(codes::resource_type(0), None);
    assert_eq!(codes::resource_type_code(ResourceType::User), 7);
    assert_eq!(codes::pattern_type(4), Some(PatternType::Prefixed));
    assert_eq!(codes::pattern_type_code(PatternType::Match), 2);
    assert_eq!(codes::permission(2), Some(Permission::Deny));
    assert_eq!(codes::permission_code(Permission::Allow), 3);
    assert_eq!(codes::permission(0), None);
}

#[test]
fn names_are_kafkas_and_parse_leniently() {
    assert_eq!(
        codes::operation_name(Operation::DescribeConfigs),
        "DESCRIBE_CONFIGS"
    );
    assert_eq!(
        codes::parse_operation_name("DESCRIBE_CONFIGS"),
        Some(Operation::DescribeConfigs)
    );
    assert_eq!(
        codes::parse_operation_name("DescribeConfigs"),
        Some(Operation::DescribeConfigs)
    );
    assert_eq!(codes::parse_operation_name("read"), Some(Operation::Read));
    assert_eq!(codes::parse_operation_name("UNKNOWN"), None);
    assert_eq!(
        codes::resource_type_name(ResourceType::TransactionalId),
        "TRANSACTIONAL_ID"
    );
    assert_eq!(
        codes::parse_resource_type_name("SUBJECT"),
        Some(ResourceType::Subject)
    );
    assert_eq!(codes::pattern_type_name(PatternType::Prefixed), "PREFIXED");
    assert_eq!(
        codes::parse_pattern_type_name("literal"),
        Some(PatternType::Literal)
    );
    assert_eq!(codes::permission_name(Permission::Allow), "ALLOW");
    assert_eq!(codes::parse_permission_name("DENY"), Some(Permission::Deny));
}

#[test]
fn validate_refuses_what_kafka_refuses() {
    assert!(binding(ResourceType::Topic, "t", PatternType::Literal)
        .validate()
        .is_ok());
    assert!(binding(ResourceType::Topic, "t", PatternType::Prefixed)
        .validate()
        .is_ok());
    assert!(binding(ResourceType::Topic, "t", PatternType::Match)
        .validate()
        .is_err());
    assert!(binding(ResourceType::Topic, "t", PatternType::Any)
        .validate()
        .is_err());
    assert!(binding(ResourceType::Any, "t", PatternType::Literal)
        .validate()
        .is_err());
    assert!(binding(ResourceType::Topic, "", PatternType::Literal)
        .validate()
        .is_err());
    let mut b = binding(ResourceType::Topic, "t", PatternType::Literal);
    b.operation = Operation::Any;
    assert!(b.validate().is_err());
    b.operation = Operation::All;
    assert!(b.validate().is_ok());
    b.permission = Permission::Any;
    assert!(b.validate().is_err());
    b.permission = Permission::Deny;
    b.principal = "alice".into();
    let err = b.validate().unwrap_err().to_string();
    assert!(err.contains("no colon"), "{err}");
    b.principal = ":alice".into();
    assert!(b.validate().is_err());

    let mut cluster = binding(ResourceType::Cluster, "other", PatternType::Literal);
    cluster.operation = Operation::ClusterAction;
    assert!(cluster.validate().is_err());
    cluster.resource_name = CLUSTER_NAME.into();
    assert!(cluster.validate().is_ok());
    // READ is no cluster operation, IDEMPOTENT_WRITE no topic one.
    cluster.operation = Operation::Read;
    assert!(cluster.validate().is_err());
    let mut topic = binding(ResourceType::Topic, "t", PatternType::Literal);
    topic.operation = Operation::IdempotentWrite;
    assert!(topic.validate().is_err());
    let mut subject = binding(ResourceType::Subject, "orders-value", PatternType::Prefixed);
    subject.operation = Operation::Write;
    assert!(subject.validate().is_ok());
}

#[test]
fn filters_match_as_kafkas() {
    let literal = binding(ResourceType::Topic, "orders", PatternType::Literal);
    let wildcard = binding(ResourceType::Topic, "*", PatternType::Literal);
    let prefixed = binding(ResourceType::Topic, "ord", PatternType::Prefixed);
    let other = binding(ResourceType::Group, "orders", PatternType::Literal);

    assert!(AclBindingFilter::any().matches(&literal));
    let by_type = AclBindingFilter {
        resource_type: Some(ResourceType::Topic),
        ..Default::default()
    };
    assert!(by_type.matches(&prefixed) && !by_type.matches(&other));

    let matching = AclBindingFilter {
        resource_type: Some(ResourceType::Topic),
        resource_name: Some("orders".into()),
        pattern_type: Some(PatternType::Match),
        ..Default::default()
    };
    assert!(
        matching.matches(&literal) && matching.matches(&wildcard) && matching.matches(&prefixed)
    );
    assert!(!matching.matches(&binding(
        ResourceType::Topic,
        "orders-x",
        PatternType::Prefixed
    )));
    assert!(!matching.matches(&binding(ResourceType::Topic, "other", PatternType::Literal)));

    // ANY with a name: exact names only, whatever the pattern type.
    let any_named = AclBindingFilter {
        resource_name: Some("orders".into()),
        pattern_type: Some(PatternType::Any),
        ..Default::default()
    };
    assert!(
        any_named.matches(&literal)
            && !any_named.matches(&wildcard)
            && !any_named.matches(&prefixed)
    );
    // A concrete pattern type: that type and the exact name.
    let prefixed_named = AclBindingFilter {
        resource_name: Some("ord".into()),
        pattern_type: Some(PatternType::Prefixed),
        ..Default::default()
    };
    assert!(prefixed_named.matches(&prefixed) && !prefixed_named.matches(&literal));

    let entry = AclBindingFilter {
        principal: Some("User:alice".into()),
        host: Some("*".into()),
        operation: Some(Operation::Read),
        permission: Some(Permission::Allow),
        ..Default::default()
    };
    assert!(entry.matches(&literal));
    for f in [
        AclBindingFilter {
            principal: Some("User:bob".into()),
            ..Default::default()
        },
        AclBindingFilter {
            host: Some("10.0.0.1".into()),
            ..Default::default()
        },
        AclBindingFilter {
            operation: Some(Operation::Write),
            ..Default::default()
        },
        AclBindingFilter {
            permission: Some(Permission::Deny),
            ..Default::default()
        },
    ] {
        assert!(!f.matches(&literal), "{f:?}");
    }
    let any_values = AclBindingFilter {
        operation: Some(Operation::Any),
        permission: Some(Permission::Any),
        resource_type: Some(ResourceType::Any),
        ..Default::default()
    };
    assert!(any_values.matches(&literal));
}
