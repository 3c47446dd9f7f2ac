//! DescribeAcls (key 29): DESCRIBE on the cluster; the bindings a filter
//! matches, grouped by resource pattern as Kafka's
//! `DescribeAclsResponse.aclsResources` groups them.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use strata_governance::acl::codes;
use strata_governance::Operation;

use super::{text, RequestContext};
use crate::security::wire::{filter, FilterCodes};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeAclsRequest,
) -> DescribeAclsResponse {
    let error = |code: ResponseError, message: &str| {
        DescribeAclsResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(text(message)))
    };
    let acls = match super::create_acls::acl_store(
        ctx,
        Operation::Describe,
        "No Authorizer is configured on the broker",
    ) {
        Ok(acls) => acls,
        Err((code, message)) => return error(code, message),
    };
    let filter = match filter(FilterCodes {
        resource_type: request.resource_type_filter,
        resource_name: request.resource_name_filter.as_deref(),
        pattern_type: request.pattern_type_filter,
        principal: request.principal_filter.as_deref(),
        host: request.host_filter.as_deref(),
        operation: request.operation,
        permission: request.permission_type,
    }) {
        Ok(f) => f,
        Err(message) => return error(ResponseError::InvalidRequest, &message),
    };
    let mut resources: BTreeMap<_, Vec<AclDescription>> = BTreeMap::new();
    for b in acls.describe(&filter) {
        resources
            .entry((
                codes::resource_type_code(b.resource_type),
                b.resource_name.clone(),
                codes::pattern_type_code(b.pattern_type),
            ))
            .or_default()
            .push(
                AclDescription::default()
                    .with_principal(text(b.principal))
                    .with_host(text(b.host))
                    .with_operation(codes::operation_code(b.operation))
                    .with_permission_type(codes::permission_code(b.permission)),
            );
    }
    let resources = resources
        .into_iter()
        .map(|((resource_type, name, pattern_type), acls)| {
            DescribeAclsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(text(name))
                .with_pattern_type(pattern_type)
                .with_acls(acls)
        })
        .collect();
    DescribeAclsResponse::default().with_resources(resources)
}
