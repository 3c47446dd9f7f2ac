//! Rebuilds the transactional ids from `__transaction_state` at start, as
//! Kafka's `TransactionStateManager.loadTransactionMetadata`: the last value
//! of a key wins, a tombstone removes it, an unreadable key is skipped with a
//! warning (Kafka skips unknown key versions).

use std::collections::HashMap;

use strata_storage::Log;

use super::log_records;
use super::metadata::TxnMetadata;
use super::TRANSACTION_STATE_TOPIC;
use crate::internal_log;

/// Every live transactional id in `logs`, partition by partition.
pub(super) fn load(logs: &[Log]) -> anyhow::Result<HashMap<String, TxnMetadata>> {
    let mut loaded = HashMap::new();
    for log in logs {
        for (key, value) in internal_log::replay(log)? {
            let id = match log_records::decode_key(&key) {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(error = %e, "skipping unreadable {TRANSACTION_STATE_TOPIC} key");
                    continue;
                }
            };
            match value.map(|v| log_records::decode_value(&v)).transpose() {
                Ok(Some(meta)) => {
                    loaded.insert(id, meta);
                }
                Ok(None) => {
                    loaded.remove(&id);
                }
                Err(e) => {
                    // Kafka fails the partition load here; one bad record
                    // should not stop the broker, so the id keeps its
                    // previous value instead.
                    tracing::warn!(transactional_id = %id, error = %e, "skipping unreadable {TRANSACTION_STATE_TOPIC} value");
                }
            }
        }
    }
    Ok(loaded)
}
