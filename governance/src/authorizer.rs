//! The question every handler asks before it acts: may this principal, from
//! this host, perform this operation on this resource?

use crate::acl::{Operation, Resource, ResourceType};
use crate::principal::Principal;

/// Who is asking: the authenticated principal and the address it connects
/// from (an IP address without Kafka's leading slash).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub principal: Principal,
    pub host: String,
}

impl Identity {
    pub fn new(principal: Principal, host: impl Into<String>) -> Self {
        Identity {
            principal,
            host: host.into(),
        }
    }
}

/// Decides whether a principal may perform an operation on a resource.
pub trait Authorizer: Send + Sync + 'static {
    fn authorize(&self, who: &Identity, operation: Operation, resource: &Resource<'_>) -> bool;

    /// Kafka's `authorizeByResourceType`: may `who` perform `operation` on
    /// at least one resource of `resource_type` (used by InitProducerId
    /// without a transactional id: IdempotentWrite on the cluster or Write
    /// on some topic)?
    fn authorize_any(
        &self,
        who: &Identity,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool;

    /// Whether ACLs are enforced at all. `false`: CreateAcls and friends
    /// answer SECURITY_DISABLED, as Kafka does without `authorizer.class.name`.
    fn enabled(&self) -> bool;
}

/// Permits everything: Kafka's behaviour with no authorizer configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Identity, _: Operation, _: &Resource<'_>) -> bool {
        true
    }

    fn authorize_any(&self, _: &Identity, _: Operation, _: ResourceType) -> bool {
        true
    }

    fn enabled(&self) -> bool {
        false
    }
}

/// The operations Kafka reports in `authorized_operations` bitfields
/// (Metadata, DescribeCluster, DescribeGroups, ...): bit `code` set for each
/// operation of `candidates` that `who` may perform on `resource`.
pub fn authorized_operations(
    authorizer: &dyn Authorizer,
    who: &Identity,
    resource: &Resource<'_>,
    candidates: &[Operation],
) -> i32 {
    candidates
        .iter()
        .filter(|op| authorizer.authorize(who, **op, resource))
        .fold(0, |bits, op| {
            bits | (1 << crate::acl::codes::operation_code(*op))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_all_permits_and_reports_disabled() {
        let who = Identity::new(Principal::anonymous(), "127.0.0.1");
        assert!(AllowAll.authorize(&who, Operation::Write, &Resource::Topic("t")));
        assert!(!AllowAll.enabled());
    }
}
