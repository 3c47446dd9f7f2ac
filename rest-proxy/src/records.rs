//! Record batches the proxy builds (produce) and reads (consume), through
//! `strata_wire::records`, which keeps every header of a record in order (a
//! name may repeat, as Kafka allows).

use bytes::Bytes;
use kafka_protocol::records::{Compression, TimestampType};
use strata_wire::batch::Compression as WireCompression;
use strata_wire::records::{encode_batch as encode_records, RecordToWrite};

use crate::error::RestError;

/// A record to produce.
#[derive(Debug, Clone, Default)]
pub struct OutRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Every header in order; a name may repeat.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; the batch's time when `None`.
    pub timestamp: Option<i64>,
}

/// A record read back.
#[derive(Debug, Clone)]
pub struct InRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Encodes `records` as one uncompressed, non-transactional batch with
/// offsets 0.. (the broker assigns the real ones).
pub fn encode_batch(records: &[OutRecord], now_ms: i64) -> Result<Bytes, RestError> {
    encode_compressed(records, now_ms, Compression::None)
        .map_err(|e| RestError::internal(format!("encoding a record batch: {e}")))
}

/// [`encode_batch`] in `compression`, for other producers of batches
/// (the `strata produce` command).
pub fn encode_compressed(
    records: &[OutRecord],
    now_ms: i64,
    compression: Compression,
) -> Result<Bytes, String> {
    let records: Vec<RecordToWrite<'_>> = records
        .iter()
        .map(|r| RecordToWrite {
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &r.headers,
            timestamp: r.timestamp.unwrap_or(now_ms),
        })
        .collect();
    let codec = match compression {
        Compression::None => WireCompression::None,
        Compression::Gzip => WireCompression::Gzip,
        Compression::Snappy => WireCompression::Snappy,
        Compression::Lz4 => WireCompression::Lz4,
        Compression::Zstd => WireCompression::Zstd,
    };
    encode_records(&records, codec).map_err(|e| error_chain(&e))
}

/// An error and its causes, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Decodes every data record of fetched `batches` (control records are
/// skipped), in offset order, with every header (a repeated name included).
pub fn decode_batches(batches: Bytes) -> Result<Vec<InRecord>, RestError> {
    let records = strata_wire::records::decode_fetched(&batches)
        .map_err(|e| RestError::kafka(format!("reading fetched records: {e}")))?;
    Ok(records
        .into_iter()
        .map(|r| InRecord {
            offset: r.offset,
            timestamp: r.timestamp,
            timestamp_type: if r.log_append_time {
                TimestampType::LogAppend
            } else {
                TimestampType::Creation
            },
            key: r.key,
            value: r.value,
            headers: r.headers,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::RecordBatchDecoder;

    use super::*;

    #[test]
    fn records_survive_a_round_trip() {
        let out = vec![
            OutRecord {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v")),
                headers: vec![
                    ("h".into(), Some(Bytes::from_static(b"1"))),
                    ("h".into(), Some(Bytes::from_static(b"2"))),
                ],
                timestamp: Some(42),
            },
            OutRecord::default(),
        ];
        let batch = encode_batch(&out, 7).unwrap();
        // One batch (Produce v3+ takes exactly one per partition), not idempotent.
        let sets = RecordBatchDecoder::decode_all(&mut batch.clone()).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(batch[53..57], (-1i32).to_be_bytes());
        let back = decode_batches(batch).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(back[0].timestamp, 42);
        // A repeated header name is kept, in order.
        assert_eq!(
            back[0].headers,
            vec![
                ("h".to_string(), Some(Bytes::from_static(b"1"))),
                ("h".to_string(), Some(Bytes::from_static(b"2"))),
            ]
        );
        assert_eq!(back[1].offset, 1);
        assert_eq!(back[1].timestamp, 7);
        assert!(back[1].value.is_none());
    }
}
