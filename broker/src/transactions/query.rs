//! DescribeTransactions and ListTransactions (KIP-664), read under the lock.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;

use super::metadata::TxnState;
use super::TransactionCoordinator;

/// One transactional id as DescribeTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransactionDescription {
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) state: TxnState,
    pub(crate) timeout_ms: i32,
    pub(crate) start_ms: i64,
    pub(crate) partitions: BTreeSet<(String, i32)>,
}

/// One transactional id as ListTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedTransaction {
    pub(crate) transactional_id: String,
    pub(crate) producer_id: i64,
    pub(crate) state: TxnState,
}

impl TransactionCoordinator {
    /// DescribeTransactions: TRANSACTIONAL_ID_NOT_FOUND for unknown (or
    /// expiring) ids, INVALID_REQUEST for the empty id.
    pub(crate) fn describe(
        &self,
        ids: &[String],
    ) -> Vec<(String, Result<TransactionDescription, ResponseError>)> {
        let entries = self.inner.entries.lock();
        ids.iter()
            .map(|id| {
                let result = if id.is_empty() {
                    Err(ResponseError::InvalidRequest)
                } else {
                    match entries.get(id) {
                        Some(e) if e.meta.state != TxnState::Dead => Ok(TransactionDescription {
                            producer_id: e.meta.producer_id,
                            producer_epoch: e.meta.producer_epoch,
                            state: e.meta.state,
                            timeout_ms: e.meta.timeout_ms,
                            start_ms: e.meta.start_ms,
                            partitions: e.meta.partitions.clone(),
                        }),
                        _ => Err(ResponseError::TransactionalIdNotFound),
                    }
                };
                (id.clone(), result)
            })
            .collect()
    }

    /// ListTransactions: the ids matching every filter given (an empty
    /// filter matches all; `min_duration_ms` < 0 is no filter; ListTransactions
    /// v1 keeps transactions running for longer than it), and the state
    /// names that are not states.
    pub(crate) fn list(
        &self,
        state_filters: &[String],
        producer_id_filters: &[i64],
        min_duration_ms: i64,
    ) -> (Vec<ListedTransaction>, Vec<String>) {
        let mut states = BTreeSet::new();
        let mut unknown = Vec::new();
        for name in state_filters {
            match TxnState::from_name(name) {
                Some(state) => {
                    states.insert(state);
                }
                None => unknown.push(name.clone()),
            }
        }
        let now = self.now();
        let entries = self.inner.entries.lock();
        let mut listed: Vec<ListedTransaction> = entries
            .iter()
            .filter(|(_, e)| {
                let meta = &e.meta;
                meta.state != TxnState::Dead
                    && (producer_id_filters.is_empty()
                        || producer_id_filters.contains(&meta.producer_id))
                    && (state_filters.is_empty() || states.contains(&meta.state))
                    && (min_duration_ms < 0 || now - meta.start_ms > min_duration_ms)
            })
            .map(|(id, e)| ListedTransaction {
                transactional_id: id.clone(),
                producer_id: e.meta.producer_id,
                state: e.meta.state,
            })
            .collect();
        listed.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        (listed, unknown)
    }
}
