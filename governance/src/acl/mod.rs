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
        let invalid = |m: String| Err(InvalidAcl::Invalid(m));
        if !matches!(
            self.pattern_type,
            PatternType::Literal | PatternType::Prefixed
        ) {
            return invalid(format!(
                "Invalid patternType {}",
                codes::pattern_type_name(self.pattern_type)
            ));
        }
        if self.resource_type == ResourceType::Any {
            return invalid("Invalid resourceType ANY".into());
        }
        if self.operation == Operation::Any {
            return invalid("Invalid operation ANY".into());
        }
        if self.permission == Permission::Any {
            return invalid("Invalid permissionType ANY".into());
        }
        if self.resource_name.is_empty() {
            return invalid("Resource name should not be empty".into());
        }
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return invalid(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
            ));
        }
        if !self.principal.contains(':') {
            return invalid(format!(
                "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
                self.principal
            ));
        }
        if crate::Principal::parse(&self.principal).is_none() {
            return invalid(format!(
                "Could not parse principal from `{}`",
                self.principal
            ));
        }
        if self.operation != Operation::All
            && !supported_operations(self.resource_type).contains(&self.operation)
        {
            return invalid(format!(
                "ACL operation {} is not supported for resource type {}",
                codes::operation_name(self.operation),
                codes::resource_type_name(self.resource_type)
            ));
        }
        Ok(())
    }
}

/// The operations a binding may name for each resource type (Kafka's
/// `AclEntry.supportedOperations`; ALL is valid for every type).
pub fn supported_operations(resource_type: ResourceType) -> &'static [Operation] {
    use Operation::*;
    match resource_type {
        ResourceType::Any => &[],
        ResourceType::Topic => &[
            Read,
            Write,
            Create,
            Describe,
            Delete,
            Alter,
            DescribeConfigs,
            AlterConfigs,
        ],
        // DESCRIBE_CONFIGS and ALTER_CONFIGS: KIP-848's dynamic group configs.
        ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
        ResourceType::Cluster => &[
            Create,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
            Alter,
            Describe,
        ],
        ResourceType::TransactionalId => &[Describe, Write],
        ResourceType::DelegationToken => &[Describe],
        ResourceType::User => &[CreateTokens, DescribeTokens],
        ResourceType::Subject => &[
            Read,
            Write,
            Delete,
            Describe,
            Alter,
            DescribeConfigs,
            AlterConfigs,
        ],
    }
}

impl AclBindingFilter {
    /// A filter that matches every binding.
    pub fn any() -> Self {
        AclBindingFilter::default()
    }

    /// Does `binding` fall under this filter (Kafka's `AclBindingFilter.matches`)?
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(binding) && self.matches_entry(binding)
    }

    /// Kafka's `ResourcePatternFilter.matches`.
    fn matches_pattern(&self, binding: &AclBinding) -> bool {
        if let Some(t) = self.resource_type {
            if t != ResourceType::Any && t != binding.resource_type {
                return false;
            }
        }
        let pattern = self.pattern_type.unwrap_or(PatternType::Any);
        if !matches!(pattern, PatternType::Any | PatternType::Match)
            && pattern != binding.pattern_type
        {
            return false;
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        if pattern == PatternType::Any || pattern == binding.pattern_type {
            return *name == binding.resource_name;
        }
        match binding.pattern_type {
            PatternType::Literal => {
                *name == binding.resource_name || binding.resource_name == WILDCARD
            }
            PatternType::Prefixed => name.starts_with(binding.resource_name.as_str()),
            PatternType::Any | PatternType::Match => false,
        }
    }

    /// Kafka's `AccessControlEntryFilter.matches`.
    fn matches_entry(&self, binding: &AclBinding) -> bool {
        if self
            .principal
            .as_ref()
            .is_some_and(|p| *p != binding.principal)
        {
            return false;
        }
        if self.host.as_ref().is_some_and(|h| *h != binding.host) {
            return false;
        }
        if self
            .operation
            .is_some_and(|o| o != Operation::Any && o != binding.operation)
        {
            return false;
        }
        self.permission
            .is_none_or(|p| p == Permission::Any || p == binding.permission)
    }
}

/// Wire codes, as CreateAcls/DescribeAcls/DeleteAcls carry them.
pub mod codes {
    use super::*;

    const OPERATIONS: [(Operation, i8, &str); 14] = [
        (Operation::Any, 1, "ANY"),
        (Operation::All, 2, "ALL"),
        (Operation::Read, 3, "READ"),
        (Operation::Write, 4, "WRITE"),
        (Operation::Create, 5, "CREATE"),
        (Operation::Delete, 6, "DELETE"),
        (Operation::Alter, 7, "ALTER"),
        (Operation::Describe, 8, "DESCRIBE"),
        (Operation::ClusterAction, 9, "CLUSTER_ACTION"),
        (Operation::DescribeConfigs, 10, "DESCRIBE_CONFIGS"),
        (Operation::AlterConfigs, 11, "ALTER_CONFIGS"),
        (Operation::IdempotentWrite, 12, "IDEMPOTENT_WRITE"),
        (Operation::CreateTokens, 13, "CREATE_TOKENS"),
        (Operation::DescribeTokens, 14, "DESCRIBE_TOKENS"),
    ];
    const RESOURCE_TYPES: [(ResourceType, i8, &str); 8] = [
        (ResourceType::Any, 1, "ANY"),
        (ResourceType::Topic, 2, "TOPIC"),
        (ResourceType::Group, 3, "GROUP"),
        (ResourceType::Cluster, 4, "CLUSTER"),
        (ResourceType::TransactionalId, 5, "TRANSACTIONAL_ID"),
        (ResourceType::DelegationToken, 6, "DELEGATION_TOKEN"),
        (ResourceType::User, 7, "USER"),
        (ResourceType::Subject, SUBJECT_CODE, "SUBJECT"),
    ];
    const PATTERN_TYPES: [(PatternType, i8, &str); 4] = [
        (PatternType::Any, 1, "ANY"),
        (PatternType::Match, 2, "MATCH"),
        (PatternType::Literal, 3, "LITERAL"),
        (PatternType::Prefixed, 4, "PREFIXED"),
    ];
    const PERMISSIONS: [(Permission, i8, &str); 3] = [
        (Permission::Any, 1, "ANY"),
        (Permission::Deny, 2, "DENY"),
        (Permission::Allow, 3, "ALLOW"),
    ];

    fn by_code<T: Copy>(table: &[(T, i8, &str)], code: i8) -> Option<T> {
        table
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(v, _, _)| *v)
    }
    fn by_value<T: Copy + PartialEq>(table: &[(T, i8, &'static str)], v: T) -> (i8, &'static str) {
        table
            .iter()
            .find(|(x, _, _)| *x == v)
            .map(|(_, c, n)| (*c, *n))
            .expect("every variant is in its table")
    }
    /// Case-insensitive, and `-`/`_` optional: `READ`, `read`,
    /// `DescribeConfigs`, `describe-configs` all parse (as Kafka's CLI does).
    fn by_name<T: Copy>(table: &[(T, i8, &str)], name: &str) -> Option<T> {
        let wanted = normalize(name);
        table
            .iter()
            .find(|(_, _, n)| normalize(n) == wanted)
            .map(|(v, _, _)| *v)
    }
    fn normalize(name: &str) -> String {
        name.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }

    pub fn operation(code: i8) -> Option<Operation> {
        by_code(&OPERATIONS, code)
    }
    pub fn operation_code(op: Operation) -> i8 {
        by_value(&OPERATIONS, op).0
    }
    pub fn resource_type(code: i8) -> Option<ResourceType> {
        by_code(&RESOURCE_TYPES, code)
    }
    pub fn resource_type_code(t: ResourceType) -> i8 {
        by_value(&RESOURCE_TYPES, t).0
    }
    pub fn pattern_type(code: i8) -> Option<PatternType> {
        by_code(&PATTERN_TYPES, code)
    }
    pub fn pattern_type_code(p: PatternType) -> i8 {
        by_value(&PATTERN_TYPES, p).0
    }
    pub fn permission(code: i8) -> Option<Permission> {
        by_code(&PERMISSIONS, code)
    }
    pub fn permission_code(p: Permission) -> i8 {
        by_value(&PERMISSIONS, p).0
    }
    /// Confluent REST v3 and Kafka CLI names: `READ`, `TOPIC`, `PREFIXED`, `ALLOW`...
    pub fn operation_name(op: Operation) -> &'static str {
        by_value(&OPERATIONS, op).1
    }
    pub fn parse_operation_name(name: &str) -> Option<Operation> {
        by_name(&OPERATIONS, name)
    }
    pub fn resource_type_name(t: ResourceType) -> &'static str {
        by_value(&RESOURCE_TYPES, t).1
    }
    pub fn parse_resource_type_name(name: &str) -> Option<ResourceType> {
        by_name(&RESOURCE_TYPES, name)
    }
    pub fn pattern_type_name(p: PatternType) -> &'static str {
        by_value(&PATTERN_TYPES, p).1
    }
    pub fn parse_pattern_type_name(name: &str) -> Option<PatternType> {
        by_name(&PATTERN_TYPES, name)
    }
    pub fn permission_name(p: Permission) -> &'static str {
        by_value(&PERMISSIONS, p).1
    }
    pub fn parse_permission_name(name: &str) -> Option<Permission> {
        by_name(&PERMISSIONS, name)
    }
}

#[cfg(test)]
mod tests;
