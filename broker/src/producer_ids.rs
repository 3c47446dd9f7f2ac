//! Producer ids for idempotent and transactional producers (InitProducerId).
//!
//! Ids are handed out from blocks recorded in the metadata log before any id
//! of a block is used (Kafka's `ProducerIdsRecord`), so a restart never hands
//! out an id twice. A restore from the bucket brings the metadata log back
//! only as of its last upload, so a block recorded after that would be
//! forgotten; every block therefore also starts at or above a floor taken
//! from the wall clock (milliseconds times [`IDS_PER_MS`]): a restore happens
//! later than the blocks it lost, so its blocks start above theirs. Blocks
//! are handed out far below the rate at which the floor rises.
//!
//! Coordinator state goes through the metadata log behind this one type, so
//! several brokers can later share an allocator in an external store.

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;

use crate::cluster::Cluster;

/// Ids per block: one metadata append per this many producers.
const BLOCK_SIZE: i64 = 1000;

/// The clock floor's ids per millisecond: a block every millisecond would
/// still not outrun it, and ms x 1024 stays far inside i64 for millennia.
const IDS_PER_MS: i64 = 1024;

/// Hands out producer ids, block by block.
pub(crate) struct ProducerIds {
    /// The current block: next id to hand out, end (exclusive).
    block: Mutex<(i64, i64)>,
    /// Serialises block allocation.
    refill: tokio::sync::Mutex<()>,
}

impl ProducerIds {
    pub(crate) fn new() -> Self {
        ProducerIds {
            block: Mutex::new((0, 0)),
            refill: tokio::sync::Mutex::new(()),
        }
    }

    /// The next producer id, never handed out before.
    pub(crate) async fn next(&self, cluster: &Cluster) -> Result<i64, ResponseError> {
        loop {
            if let Some(id) = self.take() {
                return Ok(id);
            }
            let _refill = self.refill.lock().await;
            if self.take_peek() {
                continue;
            }
            let floor = crate::clock::now_ms().saturating_mul(IDS_PER_MS);
            let start = cluster
                .allocate_producer_ids(BLOCK_SIZE, floor)
                .await
                .map_err(|e| {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "recording a producer id block failed"
                    );
                    ResponseError::CoordinatorNotAvailable
                })?;
            *self.block.lock() = (start, start + BLOCK_SIZE);
            tracing::debug!(start, "producer id block allocated");
        }
    }

    fn take(&self) -> Option<i64> {
        let mut block = self.block.lock();
        (block.0 < block.1).then(|| {
            block.0 += 1;
            block.0 - 1
        })
    }

    fn take_peek(&self) -> bool {
        let block = self.block.lock();
        block.0 < block.1
    }
}
