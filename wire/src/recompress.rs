//! A topic's `compression.type`: batches whose codec differs from the
//! topic's are recompressed once, on append, as Kafka's `LogValidator` does.
//!
//! Batches already in the topic's codec (and every batch of a `producer`
//! topic) are not touched: the produce path's fast case stays byte for byte.
//! A rewritten batch keeps everything but its codec: base offset, offset and
//! timestamp deltas, producer id, epoch and base sequence, and the records
//! byte for byte; its attributes, length and CRC are written anew. Control
//! batches are left as they are (the broker writes those itself).
//!
//! Levels are Kafka's (KIP-390): `compression.gzip.level` 1..=9 (default
//! -1, zlib's 6), `compression.lz4.level` 1..=17 (default 9),
//! `compression.zstd.level` -131072..=22 (default 3). Snappy has none. The
//! codecs are flate2, lz4 and zstd directly (the crates `kafka-protocol`
//! itself uses), since `kafka-protocol`'s compressors have fixed levels;
//! snappy's Kafka framing is `kafka-protocol`'s.

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor};

use crate::batch::{BatchHeader, Compression, BATCH_HEADER_LEN, LOG_OVERHEAD};
use crate::records::{records_region, RecordsError};

const BATCH_LENGTH: usize = 8;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const COMPRESSION_MASK: i16 = 0x07;

/// What a topic's `compression.type` asks of appended batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicCompression {
    /// `producer`: stored as sent.
    #[default]
    Producer,
    /// `uncompressed`, `gzip`, `snappy`, `lz4` or `zstd`, with its level.
    Codec(Compression, Level),
}

/// A codec's level; `Default` is the codec's own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    Default,
    Set(i32),
}

impl TopicCompression {
    /// From Kafka's config values. `level` is the one for `type_name`'s
    /// codec (`compression.gzip.level` for gzip, ...), as configured.
    pub fn parse(type_name: &str, level: Option<i32>) -> Result<Self, String> {
        let codec = match type_name.trim() {
            "producer" => return Ok(TopicCompression::Producer),
            "uncompressed" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            other => return Err(format!("unknown compression type {other:?}")),
        };
        let level = match (codec, level) {
            (_, None) | (Compression::None | Compression::Snappy, Some(_)) => Level::Default,
            (Compression::Gzip, Some(-1)) => Level::Default,
            (_, Some(n)) => Level::Set(n),
        };
        Ok(TopicCompression::Codec(codec, level))
    }
}

/// Kafka's valid range for `compression.<codec>.level`.
pub fn validate_level(codec: &str, level: i32) -> Result<(), String> {
    let (low, high) = match codec {
        "gzip" => {
            if level == -1 {
                return Ok(());
            }
            (1, 9)
        }
        "lz4" => (1, 17),
        "zstd" => (-131_072, 22),
        _ => return Ok(()),
    };
    if (low..=high).contains(&level) {
        Ok(())
    } else {
        Err(format!(
            "compression.{codec}.level must be between {low} and {high}{}",
            if codec == "gzip" { " (or -1)" } else { "" }
        ))
    }
}

/// `batch` in the topic's codec: `None` when it already is (or the topic
/// keeps what producers send, or it is a control batch), else the rewritten
/// batch. The CRC of a batch to rewrite is checked first.
pub fn recompress(batch: &[u8], topic: TopicCompression) -> Result<Option<Bytes>, RecordsError> {
    let TopicCompression::Codec(target, level) = topic else {
        return Ok(None);
    };
    let header = BatchHeader::parse(batch)?;
    if header.compression() == target || header.is_control() {
        return Ok(None);
    }
    let plain = records_region(&header)?;
    let body = compress(target, level, &plain).map_err(|source| RecordsError::Encode {
        base_offset: header.base_offset(),
        source,
    })?;
    let mut out = BytesMut::with_capacity(BATCH_HEADER_LEN + body.len());
    out.put_slice(&batch[..BATCH_HEADER_LEN]);
    out.put_slice(&body);
    let batch_length =
        i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| RecordsError::Encode {
            base_offset: header.base_offset(),
            source: "recompressed batch too large".into(),
        })?;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = (header.attributes() & !COMPRESSION_MASK) | codec_id(target);
    out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(Some(out.freeze()))
}

/// The attributes' codec bits for `c`.
pub(crate) fn codec_id(c: Compression) -> i16 {
    match c {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
        Compression::Unknown(id) => i16::from(id),
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `plain` in `target` at `level` (Kafka's framing for each codec).
pub(crate) fn compress(target: Compression, level: Level, plain: &[u8]) -> Result<Bytes, BoxError> {
    match target {
        Compression::None => Ok(Bytes::copy_from_slice(plain)),
        Compression::Gzip => {
            let level = match level {
                Level::Default => flate2::Compression::default(),
                Level::Set(n) => flate2::Compression::new(n.clamp(1, 9) as u32),
            };
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(plain.len() / 2), level);
            e.write_all(plain)?;
            Ok(Bytes::from(e.finish()?))
        }
        Compression::Lz4 => {
            // Kafka's KafkaLZ4BlockOutputStream: LZ4 frames, independent blocks.
            let level = match level {
                Level::Default => 9,
                Level::Set(n) => n.clamp(1, 17) as u32,
            };
            let mut e = lz4::EncoderBuilder::new()
                .level(level)
                .block_mode(lz4::BlockMode::Independent)
                .build(Vec::with_capacity(plain.len() / 2))?;
            e.write_all(plain)?;
            let (out, result) = e.finish();
            result?;
            Ok(Bytes::from(out))
        }
        Compression::Zstd => {
            let level = match level {
                Level::Default => 3,
                Level::Set(n) => n,
            };
            Ok(Bytes::from(zstd::bulk::compress(plain, level)?))
        }
        Compression::Snappy => {
            let mut out = BytesMut::new();
            codec::Snappy::compress(&mut out, |buf: &mut BytesMut| {
                buf.put_slice(plain);
                Ok(())
            })?;
            Ok(out.freeze())
        }
        Compression::Unknown(id) => Err(format!("unknown compression codec {id}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::for_each_record;
    use kafka_protocol::records::{
        Compression as KafkaCompression, Record, RecordBatchEncoder, RecordEncodeOptions,
        TimestampType,
    };

    /// An uncompressed producer batch of `records` (key, value).
    fn batch_with_records(records: &[(Option<&[u8]>, &[u8])]) -> Bytes {
        let records: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: 7,
                producer_epoch: 1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: 40 + i as i32,
                timestamp: 1_000 + i as i64,
                key: k.map(Bytes::copy_from_slice),
                value: Some(Bytes::copy_from_slice(v)),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: KafkaCompression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        buf.freeze()
    }

    type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

    fn records_of(batch: &[u8]) -> Vec<KeyValue> {
        let mut out = Vec::new();
        for_each_record(batch, |_, k, v| {
            out.push((k.map(<[u8]>::to_vec), v.map(<[u8]>::to_vec)))
        })
        .unwrap();
        out
    }

    #[test]
    fn every_codec_round_trips_and_keeps_the_header() {
        let original = batch_with_records(&[(Some(&b"k1"[..]), &b"v1"[..]), (None, &b"v2"[..])]);
        let before = BatchHeader::parse(&original).unwrap();
        for (name, codec) in [
            ("gzip", Compression::Gzip),
            ("snappy", Compression::Snappy),
            ("lz4", Compression::Lz4),
            ("zstd", Compression::Zstd),
        ] {
            let topic = TopicCompression::parse(name, None).unwrap();
            let rewritten = recompress(&original, topic).unwrap().expect("rewritten");
            let after = BatchHeader::parse(&rewritten).unwrap();
            after.verify_crc().unwrap();
            assert_eq!(after.compression(), codec, "{name}");
            assert_eq!(after.base_offset(), before.base_offset());
            assert_eq!(after.last_offset_delta(), before.last_offset_delta());
            assert_eq!(after.record_count(), before.record_count());
            assert_eq!(after.max_timestamp(), before.max_timestamp());
            assert_eq!(after.producer_id(), before.producer_id());
            assert_eq!(after.base_sequence(), before.base_sequence());
            assert_eq!(records_of(&rewritten), records_of(&original), "{name}");
            // and back to uncompressed, byte for byte the original
            let plain = recompress(
                &rewritten,
                TopicCompression::parse("uncompressed", None).unwrap(),
            )
            .unwrap()
            .expect("rewritten");
            assert_eq!(&plain[..], &original[..], "{name}");
        }
    }

    #[test]
    fn batches_in_the_topic_codec_and_producer_topics_are_left_alone() {
        let original = batch_with_records(&[(Some(&b"k"[..]), &b"v"[..])]);
        let none = TopicCompression::parse("uncompressed", None).unwrap();
        assert!(recompress(&original, none).unwrap().is_none());
        assert!(recompress(&original, TopicCompression::Producer)
            .unwrap()
            .is_none());
    }

    #[test]
    fn levels_follow_kafka_ranges() {
        assert!(validate_level("gzip", -1).is_ok());
        assert!(validate_level("gzip", 0).is_err());
        assert!(validate_level("lz4", 17).is_ok());
        assert!(validate_level("lz4", 18).is_err());
        assert!(validate_level("zstd", -131_072).is_ok());
        assert!(validate_level("zstd", 23).is_err());
        let high = TopicCompression::parse("zstd", Some(19)).unwrap();
        let original = batch_with_records(&[(Some(&b"k"[..]), &[7u8; 4096][..])]);
        let small = recompress(&original, high).unwrap().unwrap();
        assert!(small.len() < original.len() / 4);
    }
}
