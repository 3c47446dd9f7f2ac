//! ListTransactions (key 66, KIP-664; v1 adds the duration filter, KIP-994).

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse, ProducerId};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let states: Vec<String> = request
        .state_filters
        .iter()
        .map(|s| s.to_string())
        .collect();
    let producer_ids: Vec<i64> = request.producer_id_filters.iter().map(|p| p.0).collect();
    let duration = if ctx.version >= 1 {
        request.duration_filter
    } else {
        -1
    };
    let (listed, unknown) = ctx
        .broker
        .transactions
        .list(&states, &producer_ids, duration);
    // Kafka lists only the ids the principal may describe.
    let transaction_states = listed
        .into_iter()
        .filter(|t| {
            ctx.may_quietly(
                Operation::Describe,
                Resource::TransactionalId(&t.transactional_id),
            )
        })
        .map(|t| {
            TransactionState::default()
                .with_transactional_id(text(t.transactional_id).into())
                .with_producer_id(ProducerId(t.producer_id))
                .with_transaction_state(text(t.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown.into_iter().map(text).collect())
        .with_transaction_states(transaction_states)
}
