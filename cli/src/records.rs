//! Record batches: built for Produce by the REST Proxy's encoder (magic 2)
//! and read back from Fetch answers by `strata_wire`'s decoder, as the REST
//! Proxy reads them. Both keep every header of a record in order (a name
//! may repeat; kafka-protocol's `Record` keeps headers in a map and would
//! fold repeated names into one).

use bytes::Bytes;
use kafka_protocol::records::Compression;
use strata_rest_proxy::records::{encode_compressed, OutRecord};
use strata_wire::records::{decode_fetched_batches, FetchedBatch};

use crate::error::{CliError, Result};

/// A record to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NewRecord {
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
    /// Create time, milliseconds since the epoch.
    pub(crate) timestamp: i64,
}

/// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
pub(crate) fn parse_compression(name: &str) -> Result<Compression> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => {
            return Err(CliError::usage(format!(
                "compression {other}: expected none, gzip, snappy, lz4 or zstd"
            )))
        }
    })
}

/// One record batch (magic 2, no producer id) holding `records`, built
/// by the REST Proxy's encoder so both keep one batch per request.
pub(crate) fn encode_batch(records: &[NewRecord], compression: Compression) -> Result<Bytes> {
    let records: Vec<OutRecord> = records
        .iter()
        .map(|r| OutRecord {
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            timestamp: Some(r.timestamp),
        })
        .collect();
    encode_compressed(&records, 0, compression)
        .map_err(|e| CliError::protocol(format!("cannot encode a record batch: {e}")))
}

/// What one Fetch answer's `records` held.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// The whole batches, control batches included (without records).
    pub(crate) batches: Vec<FetchedBatch>,
    /// The offset after the last whole batch (`None`: no whole batch).
    pub(crate) next_offset: Option<i64>,
}

/// The whole batches of a Fetch answer's `records`; a batch cut off at
/// the end (a broker may send one when the size limit falls inside it) is
/// left for the next fetch.
pub(crate) fn decode_fetched(data: Bytes) -> Result<Fetched> {
    let batches = decode_fetched_batches(&data)
        .map_err(|e| CliError::protocol(format!("cannot decode a record batch: {e}")))?;
    let next_offset = batches.last().map(|b| b.last_offset + 1);
    Ok(Fetched {
        batches,
        next_offset,
    })
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::records::RecordBatchDecoder;

    use super::*;

    #[test]
    fn batches_round_trip_and_partial_batches_wait() {
        let records = vec![
            NewRecord {
                key: Some(Bytes::from_static(b"k1")),
                value: Some(Bytes::from_static(b"v1")),
                headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
                timestamp: 1_700_000_000_000,
            },
            NewRecord {
                key: None,
                value: Some(Bytes::from_static(b"v2")),
                headers: vec![],
                timestamp: 1_700_000_000_001,
            },
        ];
        for compression in [Compression::None, Compression::Zstd] {
            let batch = encode_batch(&records, compression).unwrap();
            let info = RecordBatchDecoder::decode_batch_info(&mut batch.clone()).unwrap();
            assert_eq!(info.len(), 1, "one batch, as Produce v3+ requires");
            assert_eq!((info[0].record_count, info[0].base_sequence), (2, -1));
            let mut two = BytesMut::from(&batch[..]);
            two.extend_from_slice(&batch);
            // The second batch follows the first (base offset 2; not under the CRC).
            two[batch.len()..batch.len() + 8].copy_from_slice(&2i64.to_be_bytes());
            let cut = two.len() - 5;
            let fetched = decode_fetched(two.freeze().slice(..cut)).unwrap();
            assert_eq!(fetched.next_offset, Some(2));
            assert_eq!(fetched.batches.len(), 1, "the cut second batch waits");
            let decoded = &fetched.batches[0].records;
            assert_eq!(decoded.len(), 2);
            assert_eq!(decoded[0].key.as_deref(), Some(&b"k1"[..]));
            assert_eq!(
                decoded[0].headers,
                vec![("h".to_string(), Some(Bytes::from_static(b"x")))]
            );
            assert_eq!(decoded[1].offset, 1);
            assert_eq!(decoded[1].value.as_deref(), Some(&b"v2"[..]));
            assert_eq!(decoded[1].timestamp, 1_700_000_000_001);
        }
    }
}
