//! `__transaction_state` records in Kafka's exact binary layout, so Kafka's
//! own tools (`kafka-dump-log --transaction-log-decoder`, the console
//! consumer's `TransactionLogMessageFormatter`) read what Strata writes:
//!
//! * key: version 0 of `TransactionLogKey` (int16 version, then the
//!   transactional id as an int16-length string);
//! * value: `TransactionLogValue` version 1 (flexible: compact strings and
//!   arrays, tagged fields), which Kafka writes from `transaction.version` 1
//!   on; version 0 is read too. A tombstone (null value) deletes the id.
//!
//! Decoding never trusts a length: every read checks what remains.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::metadata::{TxnMetadata, TxnState, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};

/// The value version written: Kafka's for transaction version 1 and later.
pub(crate) const VALUE_VERSION: i16 = 1;

const TAG_PREVIOUS_PRODUCER_ID: u32 = 0;
const TAG_NEXT_PRODUCER_ID: u32 = 1;
const TAG_CLIENT_TRANSACTION_VERSION: u32 = 2;

/// A record that is not a transaction log record Strata can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("record ends early while reading {0}")]
    Truncated(&'static str),
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
    #[error("unknown transaction state id {0}")]
    UnknownState(i8),
    #[error("{0} is not valid UTF-8")]
    BadString(&'static str),
    #[error("negative length for {0}")]
    NegativeLength(&'static str),
}

pub(crate) fn encode_key(transactional_id: &str) -> Bytes {
    let mut buf = BytesMut::with_capacity(4 + transactional_id.len());
    buf.put_i16(0);
    put_string(&mut buf, transactional_id);
    buf.freeze()
}

pub(crate) fn decode_key(mut buf: &[u8]) -> Result<String, RecordError> {
    let version = get_i16(&mut buf, "key version")?;
    if version != 0 {
        return Err(RecordError::UnknownVersion {
            what: "TransactionLogKey",
            version,
        });
    }
    get_string(&mut buf, "TransactionalId")
}

/// The partitions grouped by topic, as Kafka writes them.
fn by_topic(meta: &TxnMetadata) -> BTreeMap<&str, Vec<i32>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in &meta.partitions {
        topics.entry(topic).or_default().push(*partition);
    }
    topics
}

pub(crate) fn encode_value(meta: &TxnMetadata, version: i16) -> Bytes {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i16(version);
    buf.put_i64(meta.producer_id);
    buf.put_i16(meta.producer_epoch);
    buf.put_i32(meta.timeout_ms);
    buf.put_i8(meta.state.id());
    // Kafka writes a null partition list for Empty.
    let topics = (meta.state != TxnState::Empty).then(|| by_topic(meta));
    if version == 0 {
        match &topics {
            None => buf.put_i32(-1),
            Some(topics) => {
                buf.put_i32(topics.len() as i32);
                for (topic, partitions) in topics {
                    put_string(&mut buf, topic);
                    buf.put_i32(partitions.len() as i32);
                    partitions.iter().for_each(|p| buf.put_i32(*p));
                }
            }
        }
    } else {
        match &topics {
            None => put_uvarint(&mut buf, 0),
            Some(topics) => {
                put_uvarint(&mut buf, topics.len() as u32 + 1);
                for (topic, partitions) in topics {
                    put_uvarint(&mut buf, topic.len() as u32 + 1);
                    buf.put_slice(topic.as_bytes());
                    put_uvarint(&mut buf, partitions.len() as u32 + 1);
                    partitions.iter().for_each(|p| buf.put_i32(*p));
                    put_uvarint(&mut buf, 0); // no tagged fields
                }
            }
        }
    }
    buf.put_i64(meta.last_update_ms);
    buf.put_i64(meta.start_ms);
    if version >= 1 {
        let mut tags: Vec<(u32, Vec<u8>)> = Vec::new();
        if meta.previous_producer_id != NO_PRODUCER_ID {
            tags.push((
                TAG_PREVIOUS_PRODUCER_ID,
                meta.previous_producer_id.to_be_bytes().to_vec(),
            ));
        }
        if meta.next_producer_id != NO_PRODUCER_ID {
            tags.push((
                TAG_NEXT_PRODUCER_ID,
                meta.next_producer_id.to_be_bytes().to_vec(),
            ));
        }
        if meta.client_tv != 0 {
            tags.push((
                TAG_CLIENT_TRANSACTION_VERSION,
                meta.client_tv.to_be_bytes().to_vec(),
            ));
        }
        put_uvarint(&mut buf, tags.len() as u32);
        for (tag, data) in tags {
            put_uvarint(&mut buf, tag);
            put_uvarint(&mut buf, data.len() as u32);
            buf.put_slice(&data);
        }
    }
    buf.freeze()
}

pub(crate) fn decode_value(mut buf: &[u8]) -> Result<TxnMetadata, RecordError> {
    let version = get_i16(&mut buf, "value version")?;
    if !(0..=1).contains(&version) {
        return Err(RecordError::UnknownVersion {
            what: "TransactionLogValue",
            version,
        });
    }
    let producer_id = get_i64(&mut buf, "ProducerId")?;
    let producer_epoch = get_i16(&mut buf, "ProducerEpoch")?;
    let timeout_ms = get_i32(&mut buf, "TransactionTimeoutMs")?;
    let status = get_i8(&mut buf, "TransactionStatus")?;
    let state = TxnState::from_id(status).ok_or(RecordError::UnknownState(status))?;
    let mut partitions = BTreeSet::new();
    let topic_count = if version == 0 {
        get_i32(&mut buf, "TransactionPartitions")?
    } else {
        get_uvarint(&mut buf, "TransactionPartitions")? as i32 - 1
    };
    for _ in 0..topic_count.max(0) {
        let topic = if version == 0 {
            get_string(&mut buf, "Topic")?
        } else {
            get_compact_string(&mut buf, "Topic")?
        };
        let count = if version == 0 {
            get_i32(&mut buf, "PartitionIds")?
        } else {
            get_uvarint(&mut buf, "PartitionIds")? as i32 - 1
        };
        if count < 0 {
            return Err(RecordError::NegativeLength("PartitionIds"));
        }
        for _ in 0..count {
            partitions.insert((topic.clone(), get_i32(&mut buf, "PartitionIds")?));
        }
        if version >= 1 {
            skip_tagged_fields(&mut buf)?;
        }
    }
    let last_update_ms = get_i64(&mut buf, "TransactionLastUpdateTimestampMs")?;
    let start_ms = get_i64(&mut buf, "TransactionStartTimestampMs")?;
    let mut meta = TxnMetadata {
        producer_id,
        previous_producer_id: NO_PRODUCER_ID,
        next_producer_id: NO_PRODUCER_ID,
        producer_epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        timeout_ms,
        state,
        // Kafka ignores partitions stored with Empty.
        partitions: if state == TxnState::Empty {
            BTreeSet::new()
        } else {
            partitions
        },
        start_ms,
        last_update_ms,
        client_tv: 0,
    };
    if version >= 1 {
        let count = get_uvarint(&mut buf, "tagged fields")?;
        for _ in 0..count {
            let tag = get_uvarint(&mut buf, "tag")?;
            let size = get_uvarint(&mut buf, "tag size")? as usize;
            if buf.remaining() < size {
                return Err(RecordError::Truncated("tagged field"));
            }
            let mut data = &buf[..size];
            buf.advance(size);
            match tag {
                TAG_PREVIOUS_PRODUCER_ID => {
                    meta.previous_producer_id = get_i64(&mut data, "PreviousProducerId")?
                }
                TAG_NEXT_PRODUCER_ID => {
                    meta.next_producer_id = get_i64(&mut data, "NextProducerId")?
                }
                TAG_CLIENT_TRANSACTION_VERSION => {
                    meta.client_tv = get_i16(&mut data, "ClientTransactionVersion")?
                }
                _ => {} // unknown tags are skipped, as Kafka does
            }
        }
    }
    Ok(meta)
}

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}

fn put_uvarint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn get_i8(buf: &mut &[u8], what: &'static str) -> Result<i8, RecordError> {
    buf.try_get_i8().map_err(|_| RecordError::Truncated(what))
}

fn get_i16(buf: &mut &[u8], what: &'static str) -> Result<i16, RecordError> {
    buf.try_get_i16().map_err(|_| RecordError::Truncated(what))
}

fn get_i32(buf: &mut &[u8], what: &'static str) -> Result<i32, RecordError> {
    buf.try_get_i32().map_err(|_| RecordError::Truncated(what))
}

fn get_i64(buf: &mut &[u8], what: &'static str) -> Result<i64, RecordError> {
    buf.try_get_i64().map_err(|_| RecordError::Truncated(what))
}

fn get_uvarint(buf: &mut &[u8], what: &'static str) -> Result<u32, RecordError> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = buf.try_get_u8().map_err(|_| RecordError::Truncated(what))?;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(RecordError::Truncated(what))
}

fn take_utf8(buf: &mut &[u8], len: usize, what: &'static str) -> Result<String, RecordError> {
    if buf.remaining() < len {
        return Err(RecordError::Truncated(what));
    }
    let s = std::str::from_utf8(&buf[..len])
        .map_err(|_| RecordError::BadString(what))?
        .to_string();
    buf.advance(len);
    Ok(s)
}

fn get_string(buf: &mut &[u8], what: &'static str) -> Result<String, RecordError> {
    let len = get_i16(buf, what)?;
    if len < 0 {
        return Err(RecordError::NegativeLength(what));
    }
    take_utf8(buf, len as usize, what)
}

fn get_compact_string(buf: &mut &[u8], what: &'static str) -> Result<String, RecordError> {
    let len = get_uvarint(buf, what)?;
    if len == 0 {
        return Err(RecordError::NegativeLength(what));
    }
    take_utf8(buf, len as usize - 1, what)
}

fn skip_tagged_fields(buf: &mut &[u8]) -> Result<(), RecordError> {
    let count = get_uvarint(buf, "tagged fields")?;
    for _ in 0..count {
        get_uvarint(buf, "tag")?;
        let size = get_uvarint(buf, "tag size")? as usize;
        if buf.remaining() < size {
            return Err(RecordError::Truncated("tagged field"));
        }
        buf.advance(size);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ongoing() -> TxnMetadata {
        TxnMetadata {
            producer_id: 1000,
            previous_producer_id: 999,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: 5,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: [
                ("a".to_string(), 1),
                ("a".to_string(), 0),
                ("b".to_string(), 2),
            ]
            .into(),
            start_ms: 1_700_000_000_000,
            last_update_ms: 1_700_000_000_500,
            client_tv: 2,
        }
    }

    #[test]
    fn values_round_trip_in_both_versions() {
        let meta = ongoing();
        assert_eq!(decode_value(&encode_value(&meta, 1)).unwrap(), meta);
        let v0 = decode_value(&encode_value(&meta, 0)).unwrap();
        // Version 0 has no tagged fields: previous id and client version are lost.
        assert_eq!(v0.partitions, meta.partitions);
        assert_eq!((v0.previous_producer_id, v0.client_tv), (NO_PRODUCER_ID, 0));
        assert_eq!(decode_key(&encode_key("tx-1")).unwrap(), "tx-1");
    }

    /// Bytes written out by hand from Kafka's TransactionLogKey.json and
    /// TransactionLogValue.json (version 1, flexible), field by field.
    #[test]
    fn golden_bytes_match_kafkas_schema() {
        assert_eq!(&encode_key("tx")[..], &[0, 0, 0, 2, b't', b'x']);
        let meta = TxnMetadata {
            producer_id: 7,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: 3,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: 60_000,
            state: TxnState::PrepareCommit,
            partitions: [("t".to_string(), 0), ("t".to_string(), 4)].into(),
            start_ms: 256,
            last_update_ms: 257,
            client_tv: 2,
        };
        let expected: Vec<u8> = [
            &[0u8, 1][..],                // version 1
            &[0, 0, 0, 0, 0, 0, 0, 7],    // ProducerId
            &[0, 3],                      // ProducerEpoch
            &[0, 0, 0xea, 0x60],          // TransactionTimeoutMs 60000
            &[2],                         // TransactionStatus PrepareCommit
            &[2],                         // compact array: 1 topic
            &[2, b't'],                   // compact string "t"
            &[3, 0, 0, 0, 0, 0, 0, 0, 4], // compact [0, 4]
            &[0],                         // topic's tagged fields
            &[0, 0, 0, 0, 0, 0, 1, 1],    // TransactionLastUpdateTimestampMs
            &[0, 0, 0, 0, 0, 0, 1, 0],    // TransactionStartTimestampMs
            &[1, 2, 2, 0, 2],             // 1 tag: ClientTransactionVersion=2
        ]
        .concat();
        assert_eq!(&encode_value(&meta, 1)[..], &expected[..]);
        assert_eq!(decode_value(&expected).unwrap(), meta);
    }

    #[test]
    fn empty_writes_null_partitions_and_bad_input_is_refused() {
        let mut meta = ongoing();
        meta.state = TxnState::Empty;
        meta.partitions.clear();
        let v0 = encode_value(&meta, 0);
        assert_eq!(&v0[17..21], &[0xff, 0xff, 0xff, 0xff]);
        let bytes = encode_value(&meta, 1);
        for cut in 0..bytes.len() {
            assert!(decode_value(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            decode_value(&[0, 9]),
            Err(RecordError::UnknownVersion { .. })
        ));
        assert!(decode_key(&[0, 0, 0xff, 0xff]).is_err());
    }
}
