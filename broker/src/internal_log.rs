//! Record batches of the broker's own logs (`__strata_metadata`,
//! `__consumer_offsets`): keyed records written as one uncompressed
//! RecordBatch v2 per change, and replayed in log order at start.
//!
//! `__consumer_offsets` also holds transactional batches (TxnOffsetCommit)
//! and the COMMIT/ABORT control batches that end them, so replay can hand
//! out each record with its batch's producer and kind
//! ([`replay_records`]); [`replay`] keeps to plain keyed records, which is
//! all the other logs ever hold.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_storage::Log;

/// No producer: the broker's own, non-transactional batches.
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;

/// Control record key type of an ABORT marker (Kafka's `ControlRecordType`).
const CONTROL_TYPE_ABORT: i16 = 0;
/// Control record key type of a COMMIT marker.
const CONTROL_TYPE_COMMIT: i16 = 1;

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
    encode(records, now_ms, false, NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
}

/// Encodes records as one transactional batch of `producer_id` at
/// `producer_epoch`, with base sequence -1 (NO_SEQUENCE), as Kafka's group
/// coordinator writes a TxnOffsetCommit: the records count only once a
/// COMMIT marker of that producer follows them in the same partition.
pub(crate) fn encode_transactional_batch(
    records: &[(Bytes, Option<Bytes>)],
    now_ms: i64,
    producer_id: i64,
    producer_epoch: i16,
) -> Bytes {
    encode(records, now_ms, true, producer_id, producer_epoch)
}

fn encode(
    records: &[(Bytes, Option<Bytes>)],
    now_ms: i64,
    transactional: bool,
    producer_id: i64,
    producer_epoch: i16,
) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch wherever offset - sequence
            // changes; this also makes the base sequence -1 (NO_SEQUENCE).
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

/// The end of a transaction, as a control record's key says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnMarker {
    Commit,
    Abort,
}

/// One record of a log, with what its batch header says about it.
#[derive(Debug, Clone)]
pub(crate) enum ReplayedRecord {
    /// A keyed data record.
    Data {
        /// The record's own offset (Kafka orders a transactional offset
        /// against a plain commit of the same partition by it).
        offset: i64,
        /// The batch's producer id; -1 for the broker's plain batches.
        producer_id: i64,
        /// Whether the batch is transactional: its records wait for a marker.
        transactional: bool,
        key: Bytes,
        value: Option<Bytes>,
    },
    /// A COMMIT or ABORT control record ending `producer_id`'s transaction
    /// in this partition. Other control types (leader change and the like)
    /// are not handed out.
    Marker { producer_id: i64, marker: TxnMarker },
}

/// Every (key, value) of plain data batches in a log below its high
/// watermark, in log order. Control batches are skipped.
pub(crate) fn replay(log: &Log) -> anyhow::Result<Vec<(Bytes, Option<Bytes>)>> {
    Ok(replay_records(log)?
        .into_iter()
        .filter_map(|r| match r {
            ReplayedRecord::Data { key, value, .. } => Some((key, value)),
            ReplayedRecord::Marker { .. } => None,
        })
        .collect())
}

/// Every keyed data record and every transaction marker in a log below its
/// high watermark, in log order.
pub(crate) fn replay_records(log: &Log) -> anyhow::Result<Vec<ReplayedRecord>> {
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
                if let Some(r) = replayed(record) {
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

fn replayed(record: Record) -> Option<ReplayedRecord> {
    let key = record.key?;
    if record.control {
        let marker = match control_type(&key)? {
            CONTROL_TYPE_COMMIT => TxnMarker::Commit,
            CONTROL_TYPE_ABORT => TxnMarker::Abort,
            _ => return None,
        };
        return Some(ReplayedRecord::Marker {
            producer_id: record.producer_id,
            marker,
        });
    }
    Some(ReplayedRecord::Data {
        offset: record.offset,
        producer_id: record.producer_id,
        transactional: record.transactional,
        key,
        value: record.value,
    })
}

/// The type of a control record key (int16 version, int16 type); `None`
/// when the key is too short to hold one.
fn control_type(key: &[u8]) -> Option<i16> {
    let mut key = key;
    let _version = key.try_get_i16().ok()?;
    key.try_get_i16().ok()
}

/// A hand-built COMMIT or ABORT control batch, as a transaction
/// coordinator's marker writer appends it (tests of replay).
#[cfg(test)]
pub(crate) fn encode_marker(
    producer_id: i64,
    producer_epoch: i16,
    marker: TxnMarker,
    coordinator_epoch: i32,
) -> Bytes {
    use bytes::BufMut;
    let kind = match marker {
        TxnMarker::Commit => CONTROL_TYPE_COMMIT,
        TxnMarker::Abort => CONTROL_TYPE_ABORT,
    };
    let mut key = BytesMut::new();
    key.put_i16(0);
    key.put_i16(kind);
    let mut value = BytesMut::new();
    value.put_i16(0);
    value.put_i32(coordinator_epoch);
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 0,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, std::iter::once(&record), &options)
        .expect("uncompressed batches always encode");
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_one(batch: Bytes) -> Vec<Record> {
        let mut batch = batch;
        RecordBatchDecoder::decode(&mut batch).unwrap().records
    }

    #[test]
    fn transactional_batches_carry_the_producer_and_no_sequence() {
        let records = [
            (Bytes::from_static(b"a"), Some(Bytes::from_static(b"1"))),
            (Bytes::from_static(b"b"), None),
        ];
        let mut batch = encode_transactional_batch(&records, 5, 42, 3);
        let info = RecordBatchDecoder::decode_batch_info(&mut batch.clone()).unwrap();
        assert_eq!(info.len(), 1);
        assert!(info[0].transactional);
        assert!(!info[0].control);
        assert_eq!(info[0].producer_id, 42);
        assert_eq!(info[0].producer_epoch, 3);
        assert_eq!(info[0].base_sequence, -1);
        let decoded = RecordBatchDecoder::decode(&mut batch).unwrap().records;
        assert_eq!(decoded.len(), 2);
        let plain = RecordBatchDecoder::decode_batch_info(&mut encode_batch(&records, 5)).unwrap();
        assert!(!plain[0].transactional);
        assert_eq!(plain[0].producer_id, -1);
        assert_eq!(plain[0].base_sequence, -1);
    }

    #[test]
    fn control_records_become_markers_and_other_types_are_dropped() {
        let commit = decode_one(encode_marker(7, 0, TxnMarker::Commit, 1));
        match replayed(commit[0].clone()) {
            Some(ReplayedRecord::Marker {
                producer_id: 7,
                marker: TxnMarker::Commit,
                ..
            }) => {}
            other => panic!("not a commit marker: {other:?}"),
        }
        let abort = decode_one(encode_marker(7, 0, TxnMarker::Abort, 1));
        assert!(matches!(
            replayed(abort[0].clone()),
            Some(ReplayedRecord::Marker {
                marker: TxnMarker::Abort,
                ..
            })
        ));
        let mut leader_change = commit[0].clone();
        leader_change.key = Some(Bytes::from_static(&[0, 0, 0, 2]));
        assert!(replayed(leader_change.clone()).is_none());
        leader_change.key = Some(Bytes::from_static(&[0]));
        assert!(replayed(leader_change).is_none());
    }
}
