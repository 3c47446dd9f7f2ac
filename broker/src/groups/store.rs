//! Writes and replays `__consumer_offsets`.
//!
//! Each group lives in one partition, chosen as Kafka chooses it
//! (`abs(groupId.hashCode()) % partitions`), so its records stay in order.
//! Records are written in uncompressed RecordBatch v2 through the same
//! storage engine as user topics; a TxnOffsetCommit's records as one
//! transactional batch of its producer, ended by the transaction
//! coordinator's COMMIT or ABORT control batch.

pub(crate) use crate::internal_log::{encode_batch, encode_transactional_batch, replay_records};

pub(crate) use crate::cluster::OFFSETS_TOPIC;

#[cfg(test)]
mod tests {
    use crate::internal_log::{java_hash, partition_for};

    #[test]
    fn placement_matches_kafka() {
        // Values computed with Java: Math.abs("my-group".hashCode()) % 50 and friends.
        assert_eq!(
            java_hash("my-group"),
            "my-group"
                .chars()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
        );
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert!((0..50).contains(&partition_for("console-consumer-1234", 50)));
    }
}
