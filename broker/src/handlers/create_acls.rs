//! CreateAcls (key 30): ALTER on the cluster; each binding validated as
//! Kafka's `AclControlManager.validateNewAcl` does, the valid ones recorded
//! in the metadata log in one batch and then enforced.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use strata_governance::acl::{codes, AclBinding};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::security::wire::{binding, BindingCodes};

pub(super) async fn handle(ctx: &RequestContext, request: CreateAclsRequest) -> CreateAclsResponse {
    let all_fail = |code: ResponseError, message: &str| {
        let results = request
            .creations
            .iter()
            .map(|_| {
                AclCreationResult::default()
                    .with_error_code(code.code())
                    .with_error_message(Some(text(message)))
            })
            .collect();
        CreateAclsResponse::default().with_results(results)
    };
    let acls = match acl_store(ctx, Operation::Alter, "No Authorizer is configured.") {
        Ok(acls) => acls,
        Err((code, message)) => return all_fail(code, message),
    };
    let checked: Vec<Result<_, String>> = request
        .creations
        .iter()
        .map(|c| {
            let b = binding(BindingCodes {
                resource_type: c.resource_type,
                resource_name: c.resource_name.as_str(),
                pattern_type: c.resource_pattern_type,
                principal: c.principal.as_str(),
                host: c.host.as_str(),
                operation: c.operation,
                permission: c.permission_type,
            })?;
            b.validate().map_err(|e| e.to_string())?;
            Ok(b)
        })
        .collect();
    let mut valid: Vec<_> = checked
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    valid.sort();
    valid.dedup();
    let stored = crate::security::create_acls(&ctx.broker.cluster, &acls, &valid).await;
    let results = checked
        .into_iter()
        .map(|r| match (r, &stored) {
            (Err(message), _) => AclCreationResult::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(text(message))),
            (Ok(_), Ok(())) => AclCreationResult::default(),
            (Ok(_), Err(e)) => AclCreationResult::default()
                .with_error_code(ResponseError::UnknownServerError.code())
                .with_error_message(Some(text(format!("{e:#}")))),
        })
        .collect();
    match &stored {
        Ok(()) => audit_acls(ctx, "created", &valid),
        Err(e) => tracing::error!(error = format!("{e:#}"), "recording ACLs failed"),
    }
    CreateAclsResponse::default().with_results(results)
}

/// One audit record per binding created or deleted (`change`), with the
/// binding as Kafka's CLI prints it.
pub(super) fn audit_acls(ctx: &RequestContext, change: &str, bindings: &[AclBinding]) {
    for b in bindings {
        let acl = serde_json::json!({
            "resourceType": codes::resource_type_name(b.resource_type),
            "resourceName": b.resource_name,
            "patternType": codes::pattern_type_name(b.pattern_type),
            "principal": b.principal,
            "host": b.host,
            "operation": codes::operation_name(b.operation),
            "permission": codes::permission_name(b.permission),
        });
        ctx.record(
            ctx.changed(Operation::Alter, Resource::Cluster)
                .with_request("change", change)
                .with_request("acl", acl),
        );
    }
}

/// The ACL store an ACL API may use: `operation` on the cluster first
/// (CLUSTER_AUTHORIZATION_FAILED), then an authorizer at all
/// (SECURITY_DISABLED with `disabled`), in Kafka's order.
pub(super) fn acl_store(
    ctx: &RequestContext,
    operation: Operation,
    disabled: &'static str,
) -> Result<std::sync::Arc<strata_governance::acl::AclAuthorizer>, (ResponseError, &'static str)> {
    if !ctx.may(operation, Resource::Cluster) {
        return Err((
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        ));
    }
    ctx.broker
        .acls
        .clone()
        .ok_or((ResponseError::SecurityDisabled, disabled))
}
