//! Records as a consumer sees them, headers included, for the faces that
//! turn fetched batches into JSON (the REST Proxy). Kafka keeps a record's
//! headers as a list: a name may repeat, and every occurrence comes back in
//! order (kafka-protocol's `Record` keeps them in a map, which would fold
//! repeated names into one).

use bytes::Bytes;

use super::{blob, decode_error, records_region, walk, RecordsError};
use crate::batch::{Batches, Compression, BATCH_HEADER_LEN};
use crate::varint::read_varint;

/// One data record of a fetched batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    pub offset: i64,
    /// The record's timestamp, or the batch's for a LogAppendTime batch.
    pub timestamp: i64,
    /// Whether the timestamp is the broker's (LogAppendTime).
    pub log_append_time: bool,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Every header in order; names are UTF-8 (invalid bytes replaced, as
    /// Java's `new String(bytes, UTF_8)` does).
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// One whole batch of a Fetch answer: what a consumer needs of its header
/// to filter aborted transactions (Kafka does it batch by batch) and to
/// know where the next fetch starts, and its data records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub producer_id: i64,
    pub transactional: bool,
    /// A control batch (commit or abort marker): no data records.
    pub control: bool,
    pub records: Vec<FetchedRecord>,
}

/// Decodes every data record of `batches` (whole v2 batches, as a Fetch
/// returns them; control batches are skipped, a partial batch at the end is
/// ignored as a consumer ignores it), in offset order. Keys, values and
/// header values are slices of the (decompressed) batch.
pub fn decode_fetched(batches: &Bytes) -> Result<Vec<FetchedRecord>, RecordsError> {
    Ok(decode_fetched_batches(batches)?
        .into_iter()
        .flat_map(|b| b.records)
        .collect())
}

/// Every whole batch of `batches`, control batches included (with no
/// records), for a consumer that reads `read_committed`; a partial batch at
/// the end is left out.
pub fn decode_fetched_batches(batches: &Bytes) -> Result<Vec<FetchedBatch>, RecordsError> {
    let mut out = Vec::new();
    let mut at = 0;
    for item in Batches::new(batches) {
        let header = match item {
            Ok(header) => header,
            // A batch cut off at the end (the fetch size limit fell inside it).
            Err(_) if is_cut(&batches[at..]) => break,
            Err(e) => return Err(e.into()),
        };
        let len = header.total_len();
        let start = at;
        at += len;
        let mut batch = FetchedBatch {
            base_offset: header.base_offset(),
            last_offset: header.last_offset(),
            producer_id: header.producer_id(),
            transactional: header.is_transactional(),
            control: header.is_control(),
            records: Vec::new(),
        };
        if batch.control {
            out.push(batch);
            continue;
        }
        let region = match header.compression() {
            Compression::None => {
                header.verify_crc()?;
                batches.slice(start + BATCH_HEADER_LEN..start + len)
            }
            _ => records_region(&header)?,
        };
        for r in walk(&header, &region)? {
            let headers = parse_headers(&region[r.headers.clone()], &region, r.headers.start)
                .ok_or_else(|| decode_error(&header, "malformed record headers"))?;
            batch.records.push(FetchedRecord {
                offset: r.offset,
                timestamp: r.timestamp,
                log_append_time: header.is_log_append_time(),
                key: r.key.map(|k| region.slice(k)),
                value: r.value.map(|v| region.slice(v)),
                headers,
            });
        }
        out.push(batch);
    }
    Ok(out)
}

/// Whether `rest` is the start of a batch whose declared length runs past
/// the end of the bytes.
fn is_cut(rest: &[u8]) -> bool {
    match rest.get(8..12) {
        None => true,
        Some(len) => {
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            usize::try_from(len).is_ok_and(|n| n + 12 > rest.len())
        }
    }
}

/// `count, (key, value)*` at the start of `bytes`, which sits at `base` in
/// `region`; `None` when malformed or not wholly consumed.
fn parse_headers(
    bytes: &[u8],
    region: &Bytes,
    base: usize,
) -> Option<Vec<(String, Option<Bytes>)>> {
    let mut at = 0;
    let count = usize::try_from(read_varint(bytes, &mut at)?).ok()?;
    // A header takes at least 2 bytes: the count cannot make us allocate more.
    let mut headers = Vec::with_capacity(count.min(bytes.len() / 2));
    for _ in 0..count {
        let key = blob(bytes, &mut at)??;
        let value = blob(bytes, &mut at)?;
        let name = String::from_utf8_lossy(&bytes[key]).into_owned();
        headers.push((
            name,
            value.map(|v| region.slice(base + v.start..base + v.end)),
        ));
    }
    (at == bytes.len()).then_some(headers)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression as Codec, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    use super::*;

    fn batch(codec: Codec) -> Bytes {
        let mut headers = IndexMap::new();
        headers.insert("h".into(), Some(Bytes::from_static(b"1")));
        headers.insert("g".into(), None);
        let record = |offset: i64, value: Option<&'static [u8]>| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset,
            // offset - sequence constant: kafka-protocol's encoder starts a
            // new batch where it changes, and these tests want one batch.
            sequence: offset as i32 - 1,
            timestamp: 100 + offset,
            key: Some(Bytes::from_static(b"k")),
            value: value.map(Bytes::from_static),
            headers: headers.clone(),
        };
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: codec,
        };
        RecordBatchEncoder::encode(
            &mut buf,
            &[record(0, Some(b"v")), record(1, None)],
            &options,
        )
        .unwrap();
        buf.freeze()
    }

    #[test]
    fn records_come_back_with_their_headers() {
        for codec in [Codec::None, Codec::Gzip, Codec::Zstd] {
            let batches = decode_fetched_batches(&batch(codec)).unwrap();
            assert_eq!(batches.len(), 1);
            assert_eq!((batches[0].base_offset, batches[0].last_offset), (0, 1));
            assert_eq!((batches[0].producer_id, batches[0].control), (-1, false));
            let records = decode_fetched(&batch(codec)).unwrap();
            assert_eq!(records, batches[0].records);
            assert_eq!(records.len(), 2);
            assert_eq!(records[0].offset, 0);
            assert_eq!(records[0].timestamp, 100);
            assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
            assert_eq!(records[1].value, None);
            assert_eq!(
                records[1].headers,
                vec![
                    ("h".to_owned(), Some(Bytes::from_static(b"1"))),
                    ("g".to_owned(), None)
                ]
            );
        }
    }

    /// kafka-protocol's encoder keeps headers in a map, so a repeated name is
    /// made by hand: the header `g` of each record is renamed `h`.
    #[test]
    fn a_repeated_header_name_comes_back_twice() {
        let mut bytes = BytesMut::from(&batch(Codec::None)[..]);
        // Each record's header `g`: key length 1 (zigzag 2), then `g`, in
        // the records region (after the 61-byte batch header).
        for at in 61..bytes.len() - 1 {
            if bytes[at..at + 2] == [2, b'g'] {
                bytes[at + 1] = b'h';
            }
        }
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let records = decode_fetched(&bytes.freeze()).unwrap();
        assert_eq!(
            records[0].headers,
            vec![
                ("h".to_owned(), Some(Bytes::from_static(b"1"))),
                ("h".to_owned(), None)
            ]
        );
    }

    #[test]
    fn malformed_headers_are_an_error() {
        let mut bytes = BytesMut::from(&batch(Codec::None)[..]);
        // The first record's header count (2, zigzag 4) becomes 3.
        let at = bytes.windows(3).position(|w| w == [4, 2, b'h']).unwrap();
        bytes[at] = 6;
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(decode_fetched(&bytes.freeze()).is_err());
    }

    /// A Fetch answer may end inside a batch (the size limit fell in it):
    /// the whole batches before it come back, the cut one is left out.
    #[test]
    fn a_batch_cut_off_at_the_end_is_left_out() {
        let whole = batch(Codec::None);
        let mut two = BytesMut::from(&whole[..]);
        two.extend_from_slice(&whole);
        let two = two.freeze();
        for cut in [whole.len() + 5, whole.len() + 20, two.len() - 1] {
            let batches = decode_fetched_batches(&two.slice(..cut)).unwrap();
            assert_eq!(batches.len(), 1, "cut at {cut}");
            assert_eq!(batches[0].records.len(), 2);
        }
        assert_eq!(decode_fetched_batches(&two).unwrap().len(), 2);
        // A corrupt whole batch is still an error.
        let mut bad = BytesMut::from(&whole[..]);
        bad[30] ^= 0xff;
        assert!(decode_fetched_batches(&bad.freeze()).is_err());
    }
}
