//! Kafka's StandardAuthorizer semantics over an in-memory [`AclIndex`]:
//! super users first, then DENY before ALLOW, implied operations
//! (Read/Write/Delete/Alter imply Describe; AlterConfigs implies
//! DescribeConfigs), host and `User:*` matching, and
//! `allow.everyone.if.no.acl.found` when no binding names the resource.
//!
//! The authorizer holds no durable state: the broker appends ACL changes to
//! its metadata log and then applies them here (and replays them at start),
//! so several brokers fed by one metadata log agree.

use parking_lot::RwLock;

use super::index::AclIndex;
use super::{AclBinding, AclBindingFilter, Operation, Resource, ResourceType};
use crate::authorizer::{Authorizer, Identity};

/// `super.users` and `allow.everyone.if.no.acl.found`.
#[derive(Debug, Clone, Default)]
pub struct AclSettings {
    /// Principals (`User:admin`) allowed everything.
    pub super_users: Vec<String>,
    pub allow_everyone_if_no_acl_found: bool,
}

/// The ACL-backed authorizer (`authorizer.class.name` set).
pub struct AclAuthorizer {
    settings: AclSettings,
    acls: RwLock<AclIndex>,
}

impl AclAuthorizer {
    pub fn new(settings: AclSettings) -> Self {
        AclAuthorizer {
            settings,
            acls: RwLock::new(AclIndex::default()),
        }
    }

    /// Adds bindings (already validated and made durable by the caller);
    /// adding one that exists is a no-op, as in Kafka.
    pub fn add(&self, bindings: &[AclBinding]) {
        let _ = bindings;
        todo!("helper A")
    }

    /// Removes the given bindings (as DeleteAcls matched them).
    pub fn remove(&self, bindings: &[AclBinding]) {
        let _ = bindings;
        todo!("helper A")
    }

    /// Every binding the filter matches, in a stable order.
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        let _ = filter;
        todo!("helper A")
    }

    pub fn settings(&self) -> &AclSettings {
        &self.settings
    }
}

impl Authorizer for AclAuthorizer {
    fn authorize(&self, who: &Identity, operation: Operation, resource: &Resource<'_>) -> bool {
        let _ = (who, operation, resource);
        todo!("helper A")
    }

    fn authorize_any(
        &self,
        who: &Identity,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool {
        let _ = (who, operation, resource_type);
        todo!("helper A")
    }

    fn enabled(&self) -> bool {
        true
    }
}
