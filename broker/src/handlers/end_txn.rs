//! EndTxn (key 26): commits or aborts. v5 is transaction version 2
//! (KIP-890): the epoch is bumped at every end and the answer carries the
//! producer id and epoch to use next.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};
use strata_governance::{Operation, Resource};

use super::RequestContext;

/// EndTxn v5 and later come from transaction version 2 producers.
const TV2_FROM_VERSION: i16 = 5;

pub(super) async fn handle(ctx: &RequestContext, request: EndTxnRequest) -> EndTxnResponse {
    let transactional_id = request.transactional_id.0.as_str();
    let outcome = if !ctx.may(
        Operation::Write,
        Resource::TransactionalId(transactional_id),
    ) {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else {
        let client_tv = if ctx.version >= TV2_FROM_VERSION {
            2
        } else {
            0
        };
        ctx.broker
            .transactions
            .end_txn(
                transactional_id,
                request.producer_id.0,
                request.producer_epoch,
                request.committed,
                client_tv,
            )
            .await
    };
    match outcome {
        Ok((producer_id, producer_epoch)) => EndTxnResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch),
        Err(e) => {
            // PRODUCER_FENCED came with v2; older clients know INVALID_PRODUCER_EPOCH.
            let e = match e {
                ResponseError::ProducerFenced if ctx.version < 2 => {
                    ResponseError::InvalidProducerEpoch
                }
                e => e,
            };
            EndTxnResponse::default()
                .with_error_code(e.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        }
    }
}
