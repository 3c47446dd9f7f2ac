//! Record batches of the broker's own logs (`__strata_metadata`,
//! `__consumer_offsets`): keyed records written as one uncompressed
//! RecordBatch v2 per change, and replayed in log order at start.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_storage::Log;

/// Java's `String.hashCode`, which Kafka uses to place a group or a
/// transactional id in its internal topic.
pub(crate) fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The partition of an internal topic that holds `key`, as Kafka places it
/// (`abs(key.hashCode()) % partitions`, with Kafka's `Utils.abs`).
pub(crate) fn partition_for(key: &str, partitions: i32) -> i32 {
    (java_hash(key) & 0x7fff_ffff) % partitions.max(1)
}

/// Encodes records (key, value-or-tombstone) as one batch.
pub(crate) fn encode_batch(records: &[(Bytes, Option<Bytes>)], now_ms: i64) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch wherever offset - sequence changes.
            sequence: i as i32 - 1,
            timestamp: now_ms,
            key: Some(key.clone()),
            value: value.clone(),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
        .expect("uncompressed batches always encode");
    buf.freeze()
}

/// Every (key, value) in a log below its high watermark, in log order.
pub(crate) fn replay(log: &Log) -> anyhow::Result<Vec<(Bytes, Option<Bytes>)>> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    let end = log.high_watermark();
    while offset < end {
        let mut chunk = log.read(offset, 1 << 20, true)?;
        if chunk.is_empty() {
            break;
        }
        while chunk.has_remaining() {
            let set = RecordBatchDecoder::decode(&mut chunk).map_err(|e| {
                anyhow::anyhow!("decoding {} near offset {offset}: {e}", log.dir().display())
            })?;
            for record in set.records {
                offset = record.offset + 1;
                if let Some(key) = record.key {
                    out.push((key, record.value));
                }
            }
        }
    }
    Ok(out)
}
