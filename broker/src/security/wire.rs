//! ACL bindings and filters from and to the wire codes of CreateAcls,
//! DescribeAcls and DeleteAcls.

use strata_governance::acl::{codes, AclBinding, AclBindingFilter, Operation, PatternType};
use strata_governance::acl::{Permission, ResourceType};

/// The codes of one binding as a request carries them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BindingCodes<'a> {
    pub(crate) resource_type: i8,
    pub(crate) resource_name: &'a str,
    pub(crate) pattern_type: i8,
    pub(crate) principal: &'a str,
    pub(crate) host: &'a str,
    pub(crate) operation: i8,
    pub(crate) permission: i8,
}

fn known<T>(value: Option<T>, what: &str, code: i8) -> Result<T, String> {
    value.ok_or_else(|| format!("Unknown {what} code {code}"))
}

/// A binding from CreateAcls codes; an unknown code is the message of an
/// INVALID_REQUEST (Kafka maps it to UNKNOWN, which validation refuses).
pub(crate) fn binding(c: BindingCodes<'_>) -> Result<AclBinding, String> {
    Ok(AclBinding {
        resource_type: known(
            codes::resource_type(c.resource_type),
            "resource type",
            c.resource_type,
        )?,
        resource_name: c.resource_name.to_string(),
        pattern_type: known(
            codes::pattern_type(c.pattern_type),
            "pattern type",
            c.pattern_type,
        )?,
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation: known(codes::operation(c.operation), "operation", c.operation)?,
        permission: known(
            codes::permission(c.permission),
            "permission type",
            c.permission,
        )?,
    })
}

/// The codes of a DescribeAcls or DeleteAcls filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilterCodes<'a> {
    pub(crate) resource_type: i8,
    pub(crate) resource_name: Option<&'a str>,
    pub(crate) pattern_type: i8,
    pub(crate) principal: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) operation: i8,
    pub(crate) permission: i8,
}

/// A filter from its codes; an unknown code (Kafka's `isUnknown()`) is the
/// message of an INVALID_REQUEST.
pub(crate) fn filter(c: FilterCodes<'_>) -> Result<AclBindingFilter, String> {
    let resource_type = codes::resource_type(c.resource_type).ok_or("Unknown patternFilter.")?;
    let pattern_type = codes::pattern_type(c.pattern_type).ok_or("Unknown patternFilter.")?;
    let operation = codes::operation(c.operation).ok_or("Unknown entryFilter.")?;
    let permission = codes::permission(c.permission).ok_or("Unknown entryFilter.")?;
    Ok(AclBindingFilter {
        resource_type: (resource_type != ResourceType::Any).then_some(resource_type),
        resource_name: c.resource_name.map(str::to_string),
        pattern_type: (pattern_type != PatternType::Any).then_some(pattern_type),
        principal: c.principal.map(str::to_string),
        host: c.host.map(str::to_string),
        operation: (operation != Operation::Any).then_some(operation),
        permission: (permission != Permission::Any).then_some(permission),
    })
}
