//! The seams between the transaction coordinator and the rest of the
//! broker: producer ids from [`ProducerIds`], and COMMIT/ABORT markers
//! written into the partitions of a transaction.
//!
//! The coordinator lives inside [`Broker`], while these need the broker's
//! cluster and group coordinator, so [`BrokerSeams`] holds a weak reference
//! set once the broker is built (the coordinator writes no marker before:
//! transactions caught mid-commit are finished by its timer task, started
//! after the broker).

use std::sync::{OnceLock, Weak};

use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use strata_storage::{Marker, StorageError};

use crate::broker::Broker;
use crate::clock::now_ms;
use crate::groups::OFFSETS_TOPIC;
use crate::transactions::{MarkerWriter, ProducerIdSource};

/// Producer ids and marker writes for the transaction coordinator.
#[derive(Default)]
pub(crate) struct BrokerSeams {
    broker: OnceLock<Weak<Broker>>,
}

impl BrokerSeams {
    /// Connects the seams to the broker they serve; later calls are ignored.
    pub(crate) fn connect(&self, broker: Weak<Broker>) {
        let _ = self.broker.set(broker);
    }

    fn broker(&self) -> Result<std::sync::Arc<Broker>, ResponseError> {
        self.broker
            .get()
            .and_then(Weak::upgrade)
            .ok_or(ResponseError::CoordinatorNotAvailable)
    }
}

impl ProducerIdSource for BrokerSeams {
    fn next_producer_id(&self) -> BoxFuture<'_, Result<i64, ResponseError>> {
        Box::pin(async move {
            let broker = self.broker()?;
            broker.producer_ids.next(&broker.cluster).await
        })
    }
}

impl MarkerWriter for BrokerSeams {
    /// Appends the marker to every partition and waits until all are
    /// durable; a `__consumer_offsets` partition then makes the
    /// transaction's offset commits visible (or drops them). A partition of
    /// a topic deleted meanwhile is skipped, as Kafka skips it.
    fn write_markers<'a>(
        &'a self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        partitions: &'a [(String, i32)],
    ) -> BoxFuture<'a, Result<(), ResponseError>> {
        Box::pin(async move {
            let broker = self.broker()?;
            let marker = Marker {
                producer_id,
                producer_epoch,
                coordinator_epoch,
                commit,
                timestamp: now_ms(),
            };
            let mut written = Vec::with_capacity(partitions.len());
            for (topic, partition) in partitions {
                let Some(log) = broker
                    .cluster
                    .topic(topic)
                    .and_then(|t| t.partition(*partition))
                else {
                    tracing::info!(
                        topic,
                        partition,
                        "marker skipped: partition no longer exists"
                    );
                    continue;
                };
                match log.append_marker(&marker) {
                    Ok(info) => written.push((topic, *partition, log, info.last_offset + 1)),
                    // The partition already holds a newer epoch or coordinator
                    // of this producer: this marker is not needed there, and
                    // retrying it would never succeed.
                    Err(
                        e @ (StorageError::InvalidProducerEpoch { .. }
                        | StorageError::CoordinatorFenced { .. }),
                    ) => {
                        tracing::warn!(topic, partition, producer_id, error = %e, "stale transaction marker skipped");
                    }
                    Err(e) => {
                        tracing::warn!(topic, partition, producer_id, error = %e, "writing a transaction marker failed");
                        return Err(crate::handlers::storage_error_code(&e));
                    }
                }
            }
            for (topic, partition, log, end) in written {
                log.wait_durable(end).await.map_err(|e| {
                    tracing::warn!(topic, partition, error = %e, "syncing a transaction marker failed");
                    ResponseError::KafkaStorageError
                })?;
                if topic == OFFSETS_TOPIC {
                    broker
                        .groups
                        .complete_transaction(partition, producer_id, commit);
                }
            }
            Ok(())
        })
    }
}
