//! Governance: who is asking ([`Principal`]) and whether they may
//! ([`Authorizer`]).
//!
//! Every broker handler asks the authorizer before it acts, so the security
//! issue can swap in an ACL-backed implementation without touching handlers.
//! Until then [`AllowAll`] is the only implementation, matching a Kafka broker
//! with no `authorizer.class.name` set.

use std::fmt;

/// An authenticated identity, as Kafka writes it: `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: String,
    pub name: String,
}

impl Principal {
    /// The principal of a connection that did not authenticate (PLAINTEXT).
    pub fn anonymous() -> Self {
        Principal {
            kind: "User".into(),
            name: "ANONYMOUS".into(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// Kafka's ACL operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// Kafka's ACL resource types, with the resource name where one applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    Cluster,
    Topic(&'a str),
    Group(&'a str),
    TransactionalId(&'a str),
}

/// Decides whether a principal may perform an operation on a resource.
pub trait Authorizer: Send + Sync + 'static {
    fn authorize(
        &self,
        principal: &Principal,
        operation: Operation,
        resource: &Resource<'_>,
    ) -> bool;
}

/// Permits everything: Kafka's behaviour with no authorizer configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Principal, _: Operation, _: &Resource<'_>) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_principal_displays_as_kafka_writes_it() {
        assert_eq!(Principal::anonymous().to_string(), "User:ANONYMOUS");
        assert!(AllowAll.authorize(
            &Principal::anonymous(),
            Operation::Write,
            &Resource::Topic("t")
        ));
    }
}
