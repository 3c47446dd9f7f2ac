//! Kafka's ACL model: bindings (a resource pattern plus an access control
//! entry), the filters CreateAcls/DescribeAcls/DeleteAcls carry, and the
//! codes the wire uses for each enum.
//!
//! Strata adds one resource type, [`ResourceType::Subject`], so that Schema
//! Registry subjects are guarded by the same authorizer and managed through
//! the same API as topics. Its code (`SUBJECT_CODE`) is outside Kafka's range.

mod authorizer;
mod index;

pub use authorizer::{AclAuthorizer, AclSettings};

/// Kafka's ACL operations, with their wire codes (`AclOperation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Only in filters: matches every operation.
    Any,
    /// In a binding: every operation.
    All,
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
    CreateTokens,
    DescribeTokens,
}

/// Kafka's resource types (`ResourceType`), plus Strata's `Subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    /// Only in filters.
    Any,
    Topic,
    Group,
    Cluster,
    TransactionalId,
    DelegationToken,
    User,
    /// A Schema Registry subject (Strata's extension).
    Subject,
}

/// The wire code of [`ResourceType::Subject`]: outside Kafka's 0-7.
pub const SUBJECT_CODE: i8 = 100;

/// How a binding's resource name matches (`PatternType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    /// Only in filters: any pattern type.
    Any,
    /// Only in filters: every binding that would apply to the named resource
    /// (literal equal, `*`, or a prefix of it).
    Match,
    /// The name exactly, or every resource when the name is `*`.
    Literal,
    /// Every resource whose name starts with the binding's name.
    Prefixed,
}

/// ALLOW or DENY (`AclPermissionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Only in filters.
    Any,
    Deny,
    Allow,
}

/// A resource a request acts on, as the authorizer is asked about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    Cluster,
    Topic(&'a str),
    Group(&'a str),
    TransactionalId(&'a str),
    DelegationToken(&'a str),
    User(&'a str),
    Subject(&'a str),
}

impl Resource<'_> {
    pub fn resource_type(&self) -> ResourceType {
        match self {
            Resource::Cluster => ResourceType::Cluster,
            Resource::Topic(_) => ResourceType::Topic,
            Resource::Group(_) => ResourceType::Group,
            Resource::TransactionalId(_) => ResourceType::TransactionalId,
            Resource::DelegationToken(_) => ResourceType::DelegationToken,
            Resource::User(_) => ResourceType::User,
            Resource::Subject(_) => ResourceType::Subject,
        }
    }

    /// The resource's name; the cluster's is `kafka-cluster`, as Kafka names it.
    pub fn name(&self) -> &str {
        match self {
            Resource::Cluster => CLUSTER_NAME,
            Resource::Topic(n)
            | Resource::Group(n)
            | Resource::TransactionalId(n)
            | Resource::DelegationToken(n)
            | Resource::User(n)
            | Resource::Subject(n) => n,
        }
    }
}

/// The only cluster resource name Kafka accepts in a binding.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The name that makes a LITERAL binding match every resource of its type.
pub const WILDCARD: &str = "*";

/// One ACL: a resource pattern and an access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `User:alice`, or `User:*` for every user.
    pub principal: String,
    /// An IP address as the client connects from, or `*`.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

/// What DescribeAcls and DeleteAcls select; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclBindingFilter {
    /// `None` is ANY.
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    /// `None` is ANY; `Some(Match)` selects what applies to `resource_name`.
    pub pattern_type: Option<PatternType>,
    pub principal: Option<String>,
    pub host: Option<String>,
    /// `None` is ANY.
    pub operation: Option<Operation>,
    /// `None` is ANY.
    pub permission: Option<Permission>,
}

/// Why a binding cannot be created (CreateAcls answers INVALID_REQUEST or
/// the code named by the variant, with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAcl {
    #[error("{0}")]
    Invalid(String),
}

impl AclBinding {
    /// Checks what Kafka's `AclControlManager.validateNewAcl` checks: no
    /// ANY/MATCH/UNKNOWN values, a parseable principal, a non-empty name,
    /// the cluster named `kafka-cluster`, an operation valid for the type.
    pub fn validate(&self) -> Result<(), InvalidAcl> {
        todo!("helper A")
    }
}

impl AclBindingFilter {
    /// Does `binding` fall under this filter (Kafka's `AclBindingFilter.matches`)?
    pub fn matches(&self, binding: &AclBinding) -> bool {
        let _ = binding;
        todo!("helper A")
    }
}

/// Wire codes, as CreateAcls/DescribeAcls/DeleteAcls carry them.
pub mod codes {
    use super::*;

    pub fn operation(code: i8) -> Option<Operation> {
        let _ = code;
        todo!("helper A")
    }
    pub fn operation_code(op: Operation) -> i8 {
        let _ = op;
        todo!("helper A")
    }
    pub fn resource_type(code: i8) -> Option<ResourceType> {
        let _ = code;
        todo!("helper A")
    }
    pub fn resource_type_code(t: ResourceType) -> i8 {
        let _ = t;
        todo!("helper A")
    }
    pub fn pattern_type(code: i8) -> Option<PatternType> {
        let _ = code;
        todo!("helper A")
    }
    pub fn pattern_type_code(p: PatternType) -> i8 {
        let _ = p;
        todo!("helper A")
    }
    pub fn permission(code: i8) -> Option<Permission> {
        let _ = code;
        todo!("helper A")
    }
    pub fn permission_code(p: Permission) -> i8 {
        let _ = p;
        todo!("helper A")
    }
    /// Confluent REST v3 and Kafka CLI names: `READ`, `TOPIC`, `PREFIXED`, `ALLOW`...
    pub fn operation_name(op: Operation) -> &'static str {
        let _ = op;
        todo!("helper A")
    }
    pub fn parse_operation_name(name: &str) -> Option<Operation> {
        let _ = name;
        todo!("helper A")
    }
    pub fn resource_type_name(t: ResourceType) -> &'static str {
        let _ = t;
        todo!("helper A")
    }
    pub fn parse_resource_type_name(name: &str) -> Option<ResourceType> {
        let _ = name;
        todo!("helper A")
    }
    pub fn pattern_type_name(p: PatternType) -> &'static str {
        let _ = p;
        todo!("helper A")
    }
    pub fn parse_pattern_type_name(name: &str) -> Option<PatternType> {
        let _ = name;
        todo!("helper A")
    }
    pub fn permission_name(p: Permission) -> &'static str {
        let _ = p;
        todo!("helper A")
    }
    pub fn parse_permission_name(name: &str) -> Option<Permission> {
        let _ = name;
        todo!("helper A")
    }
}
