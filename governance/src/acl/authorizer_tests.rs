use std::time::Instant;

use super::*;
use crate::acl::CLUSTER_NAME;

fn who(principal: &str, host: &str) -> Identity {
    Identity::new(Principal::parse(principal).unwrap(), host)
}

fn acl(
    t: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    host: &str,
    operation: Operation,
    permission: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: t,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: principal.into(),
        host: host.into(),
        operation,
        permission,
    }
}

fn allow_topic(name: &str, pattern: PatternType, principal: &str, op: Operation) -> AclBinding {
    acl(
        ResourceType::Topic,
        name,
        pattern,
        principal,
        "*",
        op,
        Permission::Allow,
    )
}

fn deny_topic(name: &str, pattern: PatternType, principal: &str, op: Operation) -> AclBinding {
    acl(
        ResourceType::Topic,
        name,
        pattern,
        principal,
        "*",
        op,
        Permission::Deny,
    )
}

fn authorizer(bindings: &[AclBinding]) -> AclAuthorizer {
    let a = AclAuthorizer::new(AclSettings {
        super_users: vec!["User:admin".into()],
        allow_everyone_if_no_acl_found: false,
    });
    a.add(bindings);
    a
}

use Operation::*;
use PatternType::{Literal, Prefixed};

#[test]
fn literal_prefixed_and_wildcard_names() {
    let a = authorizer(&[
        allow_topic("orders", Literal, "User:alice", Read),
        allow_topic("pay", Prefixed, "User:bob", Write),
        allow_topic("*", Literal, "User:carol", Read),
    ]);
    let alice = who("User:alice", "10.0.0.1");
    let bob = who("User:bob", "10.0.0.1");
    let carol = who("User:carol", "10.0.0.1");
    assert!(a.authorize(&alice, Read, &Resource::Topic("orders")));
    assert!(!a.authorize(&alice, Read, &Resource::Topic("orders2")));
    assert!(!a.authorize(&alice, Write, &Resource::Topic("orders")));
    assert!(a.authorize(&bob, Write, &Resource::Topic("payments")));
    assert!(a.authorize(&bob, Write, &Resource::Topic("pay")));
    assert!(!a.authorize(&bob, Write, &Resource::Topic("pa")));
    assert!(!a.authorize(&bob, Write, &Resource::Group("payments")));
    assert!(a.authorize(&carol, Read, &Resource::Topic("anything")));
    assert!(!a.authorize(&carol, Read, &Resource::Group("anything")));
}

#[test]
fn wildcard_principal_and_hosts() {
    let a = authorizer(&[
        allow_topic("public", Literal, "User:*", Read),
        acl(
            ResourceType::Topic,
            "office",
            Literal,
            "User:alice",
            "10.0.0.1",
            Read,
            Permission::Allow,
        ),
    ]);
    assert!(a.authorize(
        &who("User:anyone", "1.2.3.4"),
        Read,
        &Resource::Topic("public")
    ));
    assert!(a.authorize(
        &who("User:ANONYMOUS", "1.2.3.4"),
        Read,
        &Resource::Topic("public")
    ));
    assert!(a.authorize(
        &who("User:alice", "10.0.0.1"),
        Read,
        &Resource::Topic("office")
    ));
    assert!(!a.authorize(
        &who("User:alice", "10.0.0.2"),
        Read,
        &Resource::Topic("office")
    ));
    // The principal type matters: `Group:alice` is not `User:alice`.
    assert!(!a.authorize(
        &who("Group:alice", "10.0.0.1"),
        Read,
        &Resource::Topic("office")
    ));
}

#[test]
fn deny_wins_over_allow_on_any_pattern() {
    let a = authorizer(&[
        allow_topic("*", Literal, "User:*", All),
        deny_topic("secret", Prefixed, "User:alice", Read),
        acl(
            ResourceType::Topic,
            "orders",
            Literal,
            "User:*",
            "10.9.9.9",
            Write,
            Permission::Deny,
        ),
    ]);
    let alice = who("User:alice", "10.0.0.1");
    assert!(!a.authorize(&alice, Read, &Resource::Topic("secret-1")));
    assert!(a.authorize(&alice, Write, &Resource::Topic("secret-1")));
    assert!(a.authorize(
        &who("User:bob", "10.0.0.1"),
        Read,
        &Resource::Topic("secret-1")
    ));
    assert!(!a.authorize(
        &who("User:bob", "10.9.9.9"),
        Write,
        &Resource::Topic("orders")
    ));
    assert!(a.authorize(
        &who("User:bob", "10.9.9.8"),
        Write,
        &Resource::Topic("orders")
    ));
    // A DENY ALL denies every operation.
    a.add(&[deny_topic("locked", Literal, "User:*", All)]);
    for op in [Read, Write, Describe, DescribeConfigs, Delete] {
        assert!(
            !a.authorize(&alice, op, &Resource::Topic("locked")),
            "{op:?}"
        );
    }
}

#[test]
fn implied_operations_only_for_allow() {
    let a = authorizer(&[
        allow_topic("r", Literal, "User:alice", Read),
        allow_topic("w", Literal, "User:alice", Write),
        allow_topic("d", Literal, "User:alice", Delete),
        allow_topic("a", Literal, "User:alice", Alter),
        allow_topic("c", Literal, "User:alice", Create),
        allow_topic("ac", Literal, "User:alice", AlterConfigs),
        allow_topic("all", Literal, "User:alice", All),
    ]);
    let alice = who("User:alice", "h");
    for t in ["r", "w", "d", "a", "all"] {
        assert!(a.authorize(&alice, Describe, &Resource::Topic(t)), "{t}");
    }
    assert!(!a.authorize(&alice, Describe, &Resource::Topic("c")));
    assert!(!a.authorize(&alice, Describe, &Resource::Topic("ac")));
    assert!(a.authorize(&alice, DescribeConfigs, &Resource::Topic("ac")));
    assert!(!a.authorize(&alice, DescribeConfigs, &Resource::Topic("r")));
    // Read does not imply Write.
    assert!(!a.authorize(&alice, Write, &Resource::Topic("r")));

    // DENY Read does not deny Describe.
    let b = authorizer(&[
        allow_topic("t", Literal, "User:alice", Describe),
        deny_topic("t", Literal, "User:alice", Read),
        deny_topic("t", Literal, "User:alice", AlterConfigs),
        allow_topic("t", Literal, "User:alice", DescribeConfigs),
    ]);
    assert!(b.authorize(&alice, Describe, &Resource::Topic("t")));
    assert!(!b.authorize(&alice, Read, &Resource::Topic("t")));
    assert!(b.authorize(&alice, DescribeConfigs, &Resource::Topic("t")));
}

#[test]
fn super_users_pass_even_denies() {
    let a = authorizer(&[deny_topic("*", Literal, "User:*", All)]);
    let admin = who("User:admin", "h");
    assert!(a.authorize(&admin, Write, &Resource::Topic("t")));
    assert!(a.authorize(&admin, ClusterAction, &Resource::Cluster));
    assert!(a.authorize_any(&admin, Write, ResourceType::Topic));
    assert!(!a.authorize(&who("User:alice", "h"), Write, &Resource::Topic("t")));
}

#[test]
fn allow_everyone_if_no_acl_found_applies_only_to_resources_without_acls() {
    let open = AclAuthorizer::new(AclSettings {
        super_users: vec![],
        allow_everyone_if_no_acl_found: true,
    });
    open.add(&[allow_topic("guarded", Prefixed, "User:bob", Read)]);
    let alice = who("User:alice", "h");
    assert!(open.authorize(&alice, Write, &Resource::Topic("free")));
    assert!(open.authorize(&alice, Write, &Resource::Group("guarded")));
    assert!(!open.authorize(&alice, Read, &Resource::Topic("guarded-1")));
    assert!(open.authorize(&who("User:bob", "h"), Read, &Resource::Topic("guarded-1")));

    let closed = authorizer(&[]);
    assert!(!closed.authorize(&alice, Read, &Resource::Topic("free")));
    assert!(!closed.authorize(&alice, Describe, &Resource::Cluster));
}

#[test]
fn cluster_and_subject_resources() {
    let a = authorizer(&[
        acl(
            ResourceType::Cluster,
            CLUSTER_NAME,
            Literal,
            "User:alice",
            "*",
            IdempotentWrite,
            Permission::Allow,
        ),
        acl(
            ResourceType::Subject,
            "orders-",
            Prefixed,
            "User:alice",
            "*",
            Write,
            Permission::Allow,
        ),
    ]);
    let alice = who("User:alice", "h");
    assert!(a.authorize(&alice, IdempotentWrite, &Resource::Cluster));
    assert!(!a.authorize(&alice, AlterConfigs, &Resource::Cluster));
    assert!(a.authorize(&alice, Write, &Resource::Subject("orders-value")));
    assert!(a.authorize(&alice, Describe, &Resource::Subject("orders-value")));
    assert!(!a.authorize(&alice, Write, &Resource::Topic("orders-value")));
}

#[test]
fn remove_and_describe() {
    let bindings = [
        allow_topic("b", Literal, "User:alice", Read),
        allow_topic("a", Prefixed, "User:alice", Read),
        deny_topic("a", Literal, "User:bob", Write),
    ];
    let a = authorizer(&bindings);
    a.add(&bindings[..1]);
    assert_eq!(a.len(), 3);
    let all = a.describe(&AclBindingFilter::any());
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    let denies = a.describe(&AclBindingFilter {
        permission: Some(Permission::Deny),
        ..Default::default()
    });
    assert_eq!(denies, vec![bindings[2].clone()]);
    a.remove(&bindings[1..2]);
    assert!(!a.authorize(&who("User:alice", "h"), Read, &Resource::Topic("a1")));
    assert!(a.authorize(&who("User:alice", "h"), Read, &Resource::Topic("b")));
    a.remove(&bindings);
    assert!(a.is_empty());
}

#[test]
fn authorize_any_as_kafkas_authorize_by_resource_type() {
    let alice = who("User:alice", "h");
    // No ACL: denied (allow-if-no-acl false), allowed when true.
    assert!(!authorizer(&[]).authorize_any(&alice, Write, ResourceType::Topic));
    let open = AclAuthorizer::new(AclSettings {
        super_users: vec![],
        allow_everyone_if_no_acl_found: true,
    });
    assert!(open.authorize_any(&alice, Write, ResourceType::Topic));

    // One literal allow is enough.
    let a = authorizer(&[allow_topic("t", Literal, "User:alice", Write)]);
    assert!(a.authorize_any(&alice, Write, ResourceType::Topic));
    assert!(!a.authorize_any(&alice, Read, ResourceType::Topic));
    assert!(!a.authorize_any(&who("User:bob", "h"), Write, ResourceType::Topic));
    assert!(!a.authorize_any(&alice, Write, ResourceType::TransactionalId));
    // ...unless a deny on the same literal or a covering prefix cancels it.
    a.add(&[deny_topic("t", Literal, "User:alice", Write)]);
    assert!(!a.authorize_any(&alice, Write, ResourceType::Topic));
    let b = authorizer(&[
        allow_topic("team-a-x", Prefixed, "User:*", All),
        deny_topic("team-", Prefixed, "User:alice", Write),
    ]);
    assert!(!b.authorize_any(&alice, Write, ResourceType::Topic));
    assert!(b.authorize_any(&alice, Read, ResourceType::Topic));
    assert!(b.authorize_any(&who("User:bob", "h"), Write, ResourceType::Topic));
    // A deny on a longer prefix does not cancel a shorter allow.
    let c = authorizer(&[
        allow_topic("team-", Prefixed, "User:alice", Write),
        deny_topic("team-a", Prefixed, "User:alice", Write),
    ]);
    assert!(c.authorize_any(&alice, Write, ResourceType::Topic));
    // A wildcard deny wins.
    let d = authorizer(&[
        allow_topic("t", Literal, "User:alice", Write),
        deny_topic("*", Literal, "User:alice", Write),
    ]);
    assert!(!d.authorize_any(&alice, Write, ResourceType::Topic));
    // Host must match.
    let e = authorizer(&[acl(
        ResourceType::Topic,
        "t",
        Literal,
        "User:alice",
        "10.0.0.1",
        Write,
        Permission::Allow,
    )]);
    assert!(!e.authorize_any(&alice, Write, ResourceType::Topic));
    assert!(e.authorize_any(&who("User:alice", "10.0.0.1"), Write, ResourceType::Topic));
}

/// 10,000 bindings (half prefixed) for 1,000 users.
fn big() -> AclAuthorizer {
    let mut bindings = Vec::new();
    for i in 0..5_000 {
        let user = format!("User:user{}", i % 1000);
        bindings.push(allow_topic(&format!("topic-{i:05}"), Literal, &user, Read));
        bindings.push(allow_topic(&format!("team{i:04}-"), Prefixed, &user, Write));
    }
    authorizer(&bindings)
}

#[test]
fn ten_thousand_acls_answer_correctly() {
    let a = big();
    assert_eq!(a.len(), 10_000);
    let u7 = who("User:user7", "h");
    assert!(a.authorize(&u7, Read, &Resource::Topic("topic-00007")));
    assert!(a.authorize(&u7, Read, &Resource::Topic("topic-01007")));
    assert!(!a.authorize(&u7, Read, &Resource::Topic("topic-00008")));
    assert!(a.authorize(&u7, Write, &Resource::Topic("team0007-orders")));
    assert!(a.authorize(&u7, Describe, &Resource::Topic("team4007-orders")));
    assert!(!a.authorize(&u7, Write, &Resource::Topic("team0008-orders")));
    assert!(!a.authorize(&u7, Write, &Resource::Topic("team0007")));
    assert!(a.authorize_any(&u7, Write, ResourceType::Topic));
    assert!(!a.authorize_any(&u7, Delete, ResourceType::Topic));
}

#[test]
#[ignore = "timing, run by hand: cargo test --release -p strata-governance -- --ignored --nocapture"]
fn ten_thousand_acls_timing() {
    let a = big();
    let u7 = who("User:user7", "h");
    let names: Vec<String> = (0..1000)
        .map(|i| format!("team{i:04}-orders-{i}"))
        .collect();
    let rounds = 200;
    let start = Instant::now();
    let mut allowed = 0;
    for _ in 0..rounds {
        for n in &names {
            allowed += usize::from(a.authorize(&u7, Write, &Resource::Topic(n)));
        }
    }
    let per = start.elapsed() / (rounds * names.len() as u32);
    println!("authorize with 10,000 ACLs: {per:?} per call ({allowed} allowed)");
}
