//! Kafka's StandardAuthorizer semantics over an in-memory [`AclIndex`]:
//! super users first, then DENY before ALLOW, implied operations
//! (Read/Write/Delete/Alter imply Describe; AlterConfigs implies
//! DescribeConfigs), host and `User:*` matching, and
//! `allow.everyone.if.no.acl.found` when no binding names the resource.
//!
//! The authorizer holds no durable state: the broker appends ACL changes to
//! its metadata log and then applies them here (and replays them at start),
//! so several brokers fed by one metadata log agree.

use std::collections::HashSet;

use parking_lot::RwLock;

use super::index::{AclIndex, Entry};
use super::{
    AclBinding, AclBindingFilter, Operation, PatternType, Permission, Resource, ResourceType,
    WILDCARD,
};
use crate::authorizer::{Authorizer, Identity};
use crate::principal::Principal;

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
        let mut acls = self.acls.write();
        for binding in bindings {
            acls.insert(binding);
        }
    }

    /// Removes the given bindings (as DeleteAcls matched them).
    pub fn remove(&self, bindings: &[AclBinding]) {
        let mut acls = self.acls.write();
        for binding in bindings {
            acls.remove(binding);
        }
    }

    /// Every binding the filter matches, in a stable order.
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.acls
            .read()
            .all
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    /// How many bindings there are.
    pub fn len(&self) -> usize {
        self.acls.read().all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn settings(&self) -> &AclSettings {
        &self.settings
    }

    fn is_super_user(&self, principal: &Principal) -> bool {
        self.settings
            .super_users
            .iter()
            .any(|s| principal_is(s, principal))
    }
}

/// Whether the binding's principal text (`User:alice`) names `principal`,
/// without formatting it.
fn principal_is(text: &str, principal: &Principal) -> bool {
    text.len() == principal.kind.len() + 1 + principal.name.len()
        && text.starts_with(principal.kind.as_str())
        && text.as_bytes()[principal.kind.len()] == b':'
        && text.ends_with(principal.name.as_str())
}

/// Kafka's `WILDCARD_KAFKA_PRINCIPAL`.
const WILDCARD_PRINCIPAL: &str = "User:*";

fn applies_to(entry_principal: &str, entry_host: &str, who: &Identity) -> bool {
    (entry_principal == WILDCARD_PRINCIPAL || principal_is(entry_principal, &who.principal))
        && (entry_host == WILDCARD || entry_host == who.host)
}

/// Kafka's `StandardAuthorizerData.findResult`: what one applicable entry
/// says about `operation`, `None` when it says nothing.
fn entry_result(entry: &Entry, who: &Identity, operation: Operation) -> Option<Permission> {
    if !applies_to(&entry.principal, &entry.host, who) {
        return None;
    }
    if entry.operation != Operation::All {
        let covered = if entry.permission == Permission::Allow {
            match operation {
                Operation::Describe => matches!(
                    entry.operation,
                    Operation::Describe
                        | Operation::Read
                        | Operation::Write
                        | Operation::Delete
                        | Operation::Alter
                ),
                Operation::DescribeConfigs => matches!(
                    entry.operation,
                    Operation::DescribeConfigs | Operation::AlterConfigs
                ),
                _ => entry.operation == operation,
            }
        } else {
            entry.operation == operation
        };
        if !covered {
            return None;
        }
    }
    Some(entry.permission)
}

impl Authorizer for AclAuthorizer {
    fn authorize(&self, who: &Identity, operation: Operation, resource: &Resource<'_>) -> bool {
        if self.is_super_user(&who.principal) {
            return true;
        }
        let acls = self.acls.read();
        let mut found_any = false;
        let mut allowed = false;
        let mut denied = false;
        acls.for_each_applicable(resource.resource_type(), resource.name(), |entries| {
            found_any = true;
            for entry in entries {
                match entry_result(entry, who, operation) {
                    Some(Permission::Deny) => {
                        denied = true;
                        return false;
                    }
                    Some(Permission::Allow) => allowed = true,
                    _ => {}
                }
            }
            true
        });
        if denied {
            return false;
        }
        if allowed {
            return true;
        }
        // ACLs on the resource, none allowing: denied. No ACL at all: the default.
        !found_any && self.settings.allow_everyone_if_no_acl_found
    }

    /// Kafka's `Authorizer.authorizeByResourceType`: a hard-coded resource
    /// name first (super users, `allow.everyone.if.no.acl.found`, `*`
    /// bindings), then some ALLOW binding of the type for this principal and
    /// host that no DENY on the same literal name or a covering prefix cancels.
    fn authorize_any(
        &self,
        who: &Identity,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool {
        if self.authorize(who, operation, &hardcoded(resource_type)) {
            return true;
        }
        let acls = self.acls.read();
        let mut deny_literal = HashSet::new();
        let mut deny_prefixed = HashSet::new();
        let mut allow = Vec::new();
        for binding in acls.of_type(resource_type) {
            if !applies_to(&binding.principal, &binding.host, who) {
                continue;
            }
            if binding.operation != operation && binding.operation != Operation::All {
                continue;
            }
            let name = binding.resource_name.as_str();
            match (binding.permission, binding.pattern_type) {
                (Permission::Deny, PatternType::Literal) if name == WILDCARD => return false,
                (Permission::Deny, PatternType::Literal) => {
                    deny_literal.insert(name);
                }
                (Permission::Deny, PatternType::Prefixed) => {
                    deny_prefixed.insert(name);
                }
                (Permission::Allow, PatternType::Literal) if name == WILDCARD => return true,
                (Permission::Allow, pattern @ (PatternType::Literal | PatternType::Prefixed)) => {
                    allow.push((pattern, name));
                }
                _ => {}
            }
        }
        allow.into_iter().any(|(pattern, name)| {
            if pattern == PatternType::Literal && deny_literal.contains(name) {
                return false;
            }
            !name
                .char_indices()
                .map(|(i, c)| &name[..i + c.len_utf8()])
                .any(|prefix| deny_prefixed.contains(prefix))
        })
    }

    fn enabled(&self) -> bool {
        true
    }
}

/// The resource Kafka's `authorizeByResourceType` asks about first
/// (literal name `hardcode`).
fn hardcoded(resource_type: ResourceType) -> Resource<'static> {
    const NAME: &str = "hardcode";
    match resource_type {
        ResourceType::Cluster | ResourceType::Any => Resource::Cluster,
        ResourceType::Topic => Resource::Topic(NAME),
        ResourceType::Group => Resource::Group(NAME),
        ResourceType::TransactionalId => Resource::TransactionalId(NAME),
        ResourceType::DelegationToken => Resource::DelegationToken(NAME),
        ResourceType::User => Resource::User(NAME),
        ResourceType::Subject => Resource::Subject(NAME),
    }
}

#[cfg(test)]
#[path = "authorizer_tests.rs"]
mod tests;
