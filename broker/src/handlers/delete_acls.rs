//! DeleteAcls (key 31): ALTER on the cluster; each filter answers the
//! bindings it matched before the request (as Kafka's
//! `AclControlManager.deleteAcls`: a binding two filters match is listed by
//! both and removed once), all removals recorded in one batch.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
use strata_governance::acl::{codes, AclBinding};
use strata_governance::Operation;

use super::{text, RequestContext};
use crate::security::wire::{filter, FilterCodes};

pub(super) async fn handle(ctx: &RequestContext, request: DeleteAclsRequest) -> DeleteAclsResponse {
    let all_fail = |code: ResponseError, message: &str| {
        let results = request
            .filters
            .iter()
            .map(|_| {
                DeleteAclsFilterResult::default()
                    .with_error_code(code.code())
                    .with_error_message(Some(text(message)))
            })
            .collect();
        DeleteAclsResponse::default().with_filter_results(results)
    };
    let acls = match super::create_acls::acl_store(
        ctx,
        Operation::Alter,
        "No Authorizer is configured.",
    ) {
        Ok(acls) => acls,
        Err((code, message)) => return all_fail(code, message),
    };
    let matched: Vec<Result<Vec<AclBinding>, String>> = request
        .filters
        .iter()
        .map(|f| {
            let filter = filter(FilterCodes {
                resource_type: f.resource_type_filter,
                resource_name: f.resource_name_filter.as_deref(),
                pattern_type: f.pattern_type_filter,
                principal: f.principal_filter.as_deref(),
                host: f.host_filter.as_deref(),
                operation: f.operation,
                permission: f.permission_type,
            })?;
            Ok(acls.describe(&filter))
        })
        .collect();
    let removed: Vec<AclBinding> = matched
        .iter()
        .filter_map(|m| m.as_ref().ok())
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Err(e) = crate::security::delete_acls(&ctx.broker.cluster, &acls, &removed).await {
        tracing::error!(error = format!("{e:#}"), "recording ACL deletions failed");
        return all_fail(ResponseError::UnknownServerError, &format!("{e:#}"));
    }
    super::create_acls::audit_acls(ctx, "deleted", &removed);
    let results = matched
        .into_iter()
        .map(|m| match m {
            Err(message) => DeleteAclsFilterResult::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(text(message))),
            Ok(bindings) => DeleteAclsFilterResult::default()
                .with_matching_acls(bindings.into_iter().map(matching).collect()),
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}

fn matching(b: AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_resource_type(codes::resource_type_code(b.resource_type))
        .with_resource_name(text(b.resource_name))
        .with_pattern_type(codes::pattern_type_code(b.pattern_type))
        .with_principal(text(b.principal))
        .with_host(text(b.host))
        .with_operation(codes::operation_code(b.operation))
        .with_permission_type(codes::permission_code(b.permission))
}
