//! AddOffsetsToTxn (key 25): the group's `__consumer_offsets` partition
//! joins the transaction, so TxnOffsetCommit can follow.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let transactional_id = request.transactional_id.0.as_str();
    let group_id = request.group_id.0.as_str();
    let outcome = if !ctx.may(
        Operation::Write,
        Resource::TransactionalId(transactional_id),
    ) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !ctx.may(Operation::Read, Resource::Group(group_id)) {
        Err(ResponseError::GroupAuthorizationFailed)
    } else {
        ctx.broker
            .transactions
            .add_offsets(
                transactional_id,
                request.producer_id.0,
                request.producer_epoch,
                group_id,
            )
            .await
    };
    let code = match outcome {
        Ok(()) => 0,
        // PRODUCER_FENCED came with v2; older clients know INVALID_PRODUCER_EPOCH.
        Err(ResponseError::ProducerFenced) if ctx.version < 2 => {
            ResponseError::InvalidProducerEpoch.code()
        }
        Err(e) => e.code(),
    };
    AddOffsetsToTxnResponse::default().with_error_code(code)
}
