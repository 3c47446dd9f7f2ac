//! DescribeClientQuotas (key 48): DESCRIBE_CONFIGS on the cluster, then the
//! quotas of every entity the filter matches (Kafka's
//! `ClientQuotasImage.describe`, with its errors and messages).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::quotas::entity::{Filter, FilterError};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let failed = |code: ResponseError, message: String| {
        DescribeClientQuotasResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(text(message)))
            .with_entries(None)
    };
    if !ctx.may(Operation::DescribeConfigs, Resource::Cluster) {
        return failed(
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.".into(),
        );
    }
    let components = request.components.iter().map(|c| {
        (
            c.entity_type.as_str(),
            c.match_type,
            c._match.as_ref().map(|m| m.as_str()),
        )
    });
    let filter = match Filter::parse(components, request.strict) {
        Ok(filter) => filter,
        Err(FilterError::Invalid(message)) => {
            return failed(ResponseError::InvalidRequest, message)
        }
        Err(FilterError::Unsupported(message)) => {
            return failed(ResponseError::UnsupportedVersion, message)
        }
    };
    let entries = ctx
        .broker
        .quotas
        .describe(&filter)
        .into_iter()
        .map(|(entity, values)| {
            let entity = entity
                .parts()
                .into_iter()
                .map(|(entity_type, name)| {
                    EntityData::default()
                        .with_entity_type(text(entity_type))
                        .with_entity_name(name.map(text))
                })
                .collect();
            let values = values
                .into_iter()
                .map(|(key, value)| ValueData::default().with_key(text(key)).with_value(value))
                .collect();
            EntryData::default().with_entity(entity).with_values(values)
        })
        .collect();
    DescribeClientQuotasResponse::default()
        .with_error_message(None)
        .with_entries(Some(entries))
}
