//! AlterClientQuotas (key 49): ALTER_CONFIGS on the cluster, then each
//! entry checked as Kafka's `ClientQuotaControlManager` does (entity,
//! keys, values, duplicates), the changes of the valid entries recorded in
//! the metadata log in one batch and then enforced; nothing is recorded
//! with `validate_only`.

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_client_quotas_request::EntryData as RequestEntry;
use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::quotas::entity::{validate_value, QuotaEntity};
use crate::quotas::{ClientQuotas, QuotaChange};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AlterClientQuotasRequest,
) -> AlterClientQuotasResponse {
    let authorized = ctx.may(Operation::AlterConfigs, Resource::Cluster);
    let quotas = &ctx.broker.quotas;
    let mut seen = HashSet::new();
    let mut outcomes = Vec::with_capacity(request.entries.len());
    let mut changes = Vec::new();
    for entry in &request.entries {
        let outcome = if !authorized {
            Err((
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.".to_string(),
            ))
        } else {
            check(entry, quotas, &mut seen).map(|c| changes.extend(c))
        };
        outcomes.push(outcome);
    }
    let recorded = if request.validate_only {
        Ok(())
    } else {
        crate::quotas::change_quotas(&ctx.broker.cluster, quotas, changes).await
    };
    if let Err(e) = &recorded {
        tracing::error!(error = format!("{e:#}"), "recording client quotas failed");
    }
    let entries = request
        .entries
        .iter()
        .zip(outcomes)
        .map(|(entry, outcome)| {
            let entity = entry
                .entity
                .iter()
                .map(|e| {
                    EntityData::default()
                        .with_entity_type(e.entity_type.clone())
                        .with_entity_name(e.entity_name.clone())
                })
                .collect();
            // Kafka sends a null message with success.
            let result = EntryData::default()
                .with_entity(entity)
                .with_error_message(None);
            match (outcome, &recorded) {
                (Err((code, message)), _) => result
                    .with_error_code(code.code())
                    .with_error_message(Some(text(message))),
                (Ok(()), Ok(())) => result,
                (Ok(()), Err(e)) => result
                    .with_error_code(ResponseError::UnknownServerError.code())
                    .with_error_message(Some(text(format!("{e:#}")))),
            }
        })
        .collect();
    AlterClientQuotasResponse::default().with_entries(entries)
}

/// One entry's changes, or Kafka's error for it.
fn check(
    entry: &RequestEntry,
    quotas: &ClientQuotas,
    seen: &mut HashSet<QuotaEntity>,
) -> Result<Vec<QuotaChange>, (ResponseError, String)> {
    let invalid = |message: String| (ResponseError::InvalidRequest, message);
    let entity = QuotaEntity::parse(
        entry
            .entity
            .iter()
            .map(|e| (e.entity_type.as_str(), e.entity_name.as_deref())),
    )
    .map_err(invalid)?;
    if !seen.insert(entity.clone()) {
        return Err(invalid(format!("Ignoring duplicate entity {entity}")));
    }
    let mut ops: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    for op in &entry.ops {
        let value = (!op.remove).then_some(op.value);
        if ops.insert(op.key.as_str(), value).is_some() {
            return Err(invalid(format!("Ignoring duplicate entity {entity}")));
        }
    }
    let current = quotas.values(&entity);
    let mut changes = Vec::new();
    for (key, value) in ops {
        match value {
            None if current.contains_key(key) => changes.push(QuotaChange {
                entity: entity.clone(),
                key: key.to_string(),
                value: None,
            }),
            None => {}
            Some(value) => {
                validate_value(key, value).map_err(invalid)?;
                if current.get(key) != Some(&value) {
                    changes.push(QuotaChange {
                        entity: entity.clone(),
                        key: key.to_string(),
                        value: Some(value),
                    });
                }
            }
        }
    }
    Ok(changes)
}
