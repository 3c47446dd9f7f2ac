//! Property tests: the wire decoders get hostile bytes from the network and
//! from disk, so no input may make them panic, and every refusal must be the
//! error that describes it.
//!
//! The valid frames mutated here are the fuzz seeds in `fuzz/seeds/` (written
//! by `fuzz/seeds/gen.py`); `seeds_decode` keeps them honest.
//!
//! kafka-protocol 0.18 sized allocations from counts read off the wire (a
//! 14-byte Metadata v0 request declaring `i32::MAX` topics aborted the
//! process); the patched copy in `third_party/kafka-protocol` bounds them, and
//! `huge_array_count_is_malformed_not_an_abort` pins that. The random-body
//! properties therefore cover every version, flexible or not.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use strata_wire::batch::{BatchError, BatchHeader, Batches, BATCH_HEADER_LEN, LOG_OVERHEAD};
use strata_wire::frame::{split_frame, FrameError, LENGTH_PREFIX};
use strata_wire::kafka_protocol::messages::{ApiKey, RequestKind};
use strata_wire::request::{decode_request, peek_header, RequestError};

const FRAME_SEEDS: &[&[u8]] = &[
    include_bytes!("../../fuzz/seeds/frame_and_request/api_versions_v3.bin"),
    include_bytes!("../../fuzz/seeds/frame_and_request/metadata_v12.bin"),
    include_bytes!("../../fuzz/seeds/frame_and_request/produce_v9.bin"),
];
const PIPELINED_SEED: &[u8] = include_bytes!("../../fuzz/seeds/frame_and_request/pipelined.bin");
const BATCH_SEEDS: &[&[u8]] = &[
    include_bytes!("../../fuzz/seeds/record_batches/one_batch.bin"),
    include_bytes!("../../fuzz/seeds/record_batches/two_batches.bin"),
];

/// Offsets inside a RecordBatch v2 header (see `strata_wire::batch`).
const MAGIC: usize = 16;
const ATTRIBUTES: usize = 21;

/// Whether `kafka-protocol` can decode `version` of `key`: every such version
/// counts as served, so each body decoder sees the input.
fn knows(key: ApiKey, version: i16) -> bool {
    let range = key.valid_versions();
    (range.min..=range.max).contains(&version)
}

/// Every (api key, version) kafka-protocol can decode.
fn all_versions() -> Vec<(i16, i16)> {
    ApiKey::iter()
        .flat_map(|key| {
            let range = key.valid_versions();
            (range.min..=range.max).map(move |v| (key as i16, v))
        })
        .collect()
}

fn with_length_prefix(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Splits every whole frame off `buf`, checking the contract of `split_frame`
/// at each step; returns the frames and the error that stopped it, if any.
fn split_all(buf: &mut BytesMut, max: usize) -> (Vec<Bytes>, Option<FrameError>) {
    let mut frames = Vec::new();
    loop {
        let before = buf.len();
        let declared = (before >= LENGTH_PREFIX)
            .then(|| i32::from_be_bytes(buf[..LENGTH_PREFIX].try_into().unwrap()));
        match split_frame(buf, max) {
            Ok(Some(frame)) => {
                let declared = declared.expect("a frame needs a length prefix");
                assert_eq!(frame.len() as i64, i64::from(declared));
                assert!(!frame.is_empty() && frame.len() <= max);
                assert_eq!(buf.len(), before - LENGTH_PREFIX - frame.len());
                frames.push(frame);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "Ok(None) must consume nothing");
                if let Some(declared) = declared {
                    assert!(declared > 0 && declared as usize <= max);
                    assert!(before < LENGTH_PREFIX + declared as usize);
                }
                return (frames, None);
            }
            Err(e) => {
                let declared = declared.expect("an error needs a length prefix");
                match e {
                    FrameError::NonPositiveLength(n) => {
                        assert_eq!(n, declared);
                        assert!(n <= 0);
                    }
                    FrameError::TooLarge { length, max: m } => {
                        assert_eq!(length as i64, i64::from(declared));
                        assert_eq!(m, max);
                        assert!(length > max);
                    }
                }
                return (frames, Some(e));
            }
        }
    }
}

/// Checks what `decode_request` says about `frame` against its first bytes.
fn check_decode(frame: Bytes) {
    let prefix = peek_header(&frame);
    match decode_request(frame.clone(), knows) {
        Ok(request) => {
            let prefix = prefix.expect("a decoded request has a header");
            assert_eq!(request.api_key as i16, prefix.api_key);
            assert_eq!(request.header.request_api_key, prefix.api_key);
            assert_eq!(request.header.request_api_version, prefix.api_version);
            assert_eq!(request.header.correlation_id, prefix.correlation_id);
        }
        Err(RequestError::TooShort(n)) => {
            assert_eq!(n, frame.len());
            assert!(n < 8);
        }
        Err(RequestError::UnknownApiKey(key)) => {
            assert!(ApiKey::try_from(key).is_err());
        }
        Err(RequestError::UnsupportedVersion {
            api_key,
            version,
            correlation_id,
        }) => {
            assert!(!knows(api_key, version));
            assert_eq!(correlation_id, prefix.unwrap().correlation_id);
        }
        Err(RequestError::Malformed {
            api_key, version, ..
        }) => {
            assert!(knows(api_key, version));
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(usize, u8),
    FlipBit(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let at = |i: usize| i % bytes.len();
    match *m {
        Mutation::Overwrite(i, b) => {
            let i = at(i);
            bytes[i] = b;
        }
        Mutation::FlipBit(i, bit) => {
            let i = at(i);
            bytes[i] ^= 1 << bit;
        }
        Mutation::Insert(i, b) => {
            let i = at(i);
            bytes.insert(i, b);
        }
        Mutation::Remove(i) => {
            let i = at(i);
            bytes.remove(i);
        }
        Mutation::Truncate(i) => {
            let i = at(i);
            bytes.truncate(i);
        }
    }
}

#[test]
fn seeds_decode() {
    for seed in FRAME_SEEDS {
        let mut buf = BytesMut::from(*seed);
        let (frames, err) = split_all(&mut buf, 1 << 20);
        assert_eq!((frames.len(), err, buf.len()), (1, None, 0));
        let request = decode_request(frames[0].clone(), knows).expect("seed decodes");
        assert_eq!(request.header.client_id.as_deref(), Some("fuzz"));
        if let RequestKind::Produce(produce) = request.body {
            let records = produce.topic_data[0].partition_data[0]
                .records
                .clone()
                .unwrap();
            let batch = BatchHeader::parse(&records).unwrap();
            batch.verify_crc().unwrap();
            assert_eq!(batch.total_len(), records.len());
        }
    }
    let mut buf = BytesMut::from(PIPELINED_SEED);
    let (frames, err) = split_all(&mut buf, 1 << 20);
    assert_eq!((frames.len(), err, buf.len()), (3, None, 0));
    for frame in frames {
        decode_request(frame, knows).expect("pipelined seed decodes");
    }
    for seed in BATCH_SEEDS {
        let mut batches = Batches::new(seed);
        for batch in &mut batches {
            batch.unwrap().verify_crc().unwrap();
        }
        assert_eq!(batches.valid_len(), seed.len());
    }
}

#[test]
fn huge_array_count_is_malformed_not_an_abort() {
    // Metadata v0 (header v1): key 3, version 0, correlation id 0, null
    // client id, then a topics array declaring i32::MAX entries.
    let frame = Bytes::from_static(&[0, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    assert!(matches!(
        decode_request(frame, knows),
        Err(RequestError::Malformed { .. })
    ));
}

#[test]
fn last_offset_of_hostile_header_does_not_overflow() {
    let mut b = BATCH_SEEDS[0].to_vec();
    b[..8].copy_from_slice(&i64::MIN.to_be_bytes());
    b[23..27].copy_from_slice(&(-1i32).to_be_bytes());
    let h = BatchHeader::parse(&b).unwrap();
    let _ = h.last_offset();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Arbitrary bytes, any cap: every step of the split obeys the contract.
    #[test]
    fn split_frame_any_bytes(data in vec(any::<u8>(), 0..512), max in 1usize..1024) {
        let mut buf = BytesMut::from(&data[..]);
        let (frames, _) = split_all(&mut buf, max);
        let consumed: usize = frames.iter().map(|f| LENGTH_PREFIX + f.len()).sum();
        prop_assert_eq!(consumed + buf.len(), data.len());
    }

    /// A non-positive or over-cap length is refused whatever follows it, and
    /// nothing is reserved for the body it claims.
    #[test]
    fn bad_lengths_always_err(
        declared in prop_oneof![i32::MIN..=0, 1025..=i32::MAX],
        tail in vec(any::<u8>(), 0..64),
    ) {
        let max = 1024;
        let mut buf = BytesMut::from(&declared.to_be_bytes()[..]);
        buf.extend_from_slice(&tail);
        let result = split_frame(&mut buf, max);
        if declared <= 0 {
            prop_assert_eq!(result, Err(FrameError::NonPositiveLength(declared)));
        } else {
            prop_assert_eq!(result, Err(FrameError::TooLarge { length: declared as usize, max }));
        }
        prop_assert_eq!(buf.len(), LENGTH_PREFIX + tail.len());
        prop_assert!(buf.capacity() < 4096);
    }

    /// Valid frames fed in arbitrary read sizes come out whole and in order.
    #[test]
    fn split_frame_reassembles_chunks(
        bodies in vec(vec(any::<u8>(), 1..64), 1..8),
        chunks in vec(1usize..32, 1..64),
    ) {
        let wire: Vec<u8> = bodies.iter().flat_map(|b| with_length_prefix(b)).collect();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut fed = 0;
        let mut chunk = chunks.iter().cycle();
        while fed < wire.len() {
            let n = (*chunk.next().unwrap()).min(wire.len() - fed);
            buf.extend_from_slice(&wire[fed..fed + n]);
            fed += n;
            let (frames, err) = split_all(&mut buf, 64);
            prop_assert!(err.is_none());
            out.extend(frames);
        }
        prop_assert!(buf.is_empty());
        let out: Vec<Vec<u8>> = out.iter().map(|f| f.to_vec()).collect();
        prop_assert_eq!(out, bodies);
    }

    /// Random frames stopped at the header: too short, unknown key or
    /// unserved version, each with the right error and correlation id.
    #[test]
    fn decode_request_header_errors(data in vec(any::<u8>(), 0..64)) {
        let frame = Bytes::from(data.clone());
        match decode_request(frame, |_, _| false) {
            Err(RequestError::TooShort(n)) => prop_assert!(n < 8 && n == data.len()),
            Err(RequestError::UnknownApiKey(key)) => {
                prop_assert_eq!(key, i16::from_be_bytes([data[0], data[1]]));
                prop_assert!(ApiKey::try_from(key).is_err());
            }
            Err(RequestError::UnsupportedVersion { api_key, version, correlation_id }) => {
                prop_assert_eq!(api_key as i16, i16::from_be_bytes([data[0], data[1]]));
                prop_assert_eq!(version, i16::from_be_bytes([data[2], data[3]]));
                prop_assert_eq!(correlation_id, i32::from_be_bytes(data[4..8].try_into().unwrap()));
            }
            other => prop_assert!(false, "body decoded although nothing is served: {:?}", other),
        }
    }

    /// Random bodies behind a valid header: any error, no panic.
    #[test]
    fn decode_request_random_body(
        pick in any::<prop::sample::Index>(),
        correlation_id in any::<i32>(),
        body in vec(any::<u8>(), 0..256),
    ) {
        let versions = all_versions();
        let (key, version) = versions[pick.index(versions.len())];
        let mut frame = Vec::with_capacity(8 + body.len());
        frame.extend_from_slice(&key.to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&correlation_id.to_be_bytes());
        frame.extend_from_slice(&body);
        check_decode(Bytes::from(frame));
    }

    /// Valid requests with a few mutations in their body.
    #[test]
    fn decode_request_mutated_seeds(
        pick in any::<prop::sample::Index>(),
        mutations in vec(mutation(), 1..4),
    ) {
        let seed = &FRAME_SEEDS[pick.index(FRAME_SEEDS.len())][LENGTH_PREFIX..];
        let (prefix, body) = seed.split_at(8);
        let mut body = body.to_vec();
        for m in &mutations {
            mutate(&mut body, m);
        }
        let mut frame = prefix.to_vec();
        frame.extend_from_slice(&body);
        check_decode(Bytes::from(frame));
    }

    /// Mutated pipelines of valid frames through the whole read path.
    #[test]
    fn split_and_decode_mutated_pipeline(mutations in vec(mutation(), 1..4)) {
        let mut wire = PIPELINED_SEED.to_vec();
        for m in &mutations {
            mutate(&mut wire, m);
        }
        let mut buf = BytesMut::from(&wire[..]);
        let (frames, _) = split_all(&mut buf, 1 << 10);
        for frame in frames {
            // Frames whose header names a known version decode fully; the
            // rest go through the header checks.
            match peek_header(&frame) {
                Ok(p) if ApiKey::try_from(p.api_key).is_ok_and(|k| knows(k, p.api_version)) => {
                    check_decode(frame);
                }
                _ => {
                    let _ = decode_request(frame, |_, _| false);
                }
            }
        }
    }

    /// Arbitrary bytes as a log or a `records` field: the batch walk and
    /// every accessor, with each refusal matching the bytes.
    #[test]
    fn batches_any_bytes(data in vec(any::<u8>(), 0..256)) {
        check_batches(&data)?;
    }

    /// Valid batches with mutations: still no panic; a change inside the
    /// CRC-covered range that leaves the batch parseable fails the CRC.
    #[test]
    fn batches_mutated_seeds(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
        mutations in vec(mutation(), 0..3),
    ) {
        let seed = BATCH_SEEDS[pick.index(BATCH_SEEDS.len())];
        let mut bytes = seed.to_vec();
        let first_len = BatchHeader::parse(seed).unwrap().total_len();
        let at = ATTRIBUTES + at.index(first_len - ATTRIBUTES);
        let changed = bytes[at] != value;
        bytes[at] = value;
        if let Ok(h) = BatchHeader::parse(&bytes) {
            if changed && at < h.total_len() {
                let crc_failed = matches!(h.verify_crc(), Err(BatchError::CrcMismatch { .. }));
                prop_assert!(crc_failed, "a changed byte at {} passed the crc", at);
            }
        }
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        check_batches(&bytes)?;
    }
}

fn check_batches(data: &[u8]) -> Result<(), TestCaseError> {
    match BatchHeader::parse(data) {
        Ok(h) => {
            let declared = i32::from_be_bytes(data[8..12].try_into().unwrap());
            prop_assert_eq!(h.total_len(), LOG_OVERHEAD + declared as usize);
            prop_assert!(h.total_len() >= BATCH_HEADER_LEN && h.total_len() <= data.len());
            prop_assert_eq!(h.bytes(), &data[..h.total_len()]);
            prop_assert_eq!(data[MAGIC], 2);
            prop_assert!(h.record_count() >= 0);
        }
        Err(BatchError::UnsupportedMagic(m)) => {
            prop_assert!(data.len() > MAGIC && data[MAGIC] as i8 == m && m != 2);
        }
        Err(BatchError::Truncated { needed, available }) => {
            prop_assert_eq!(available, data.len());
            prop_assert!(needed > available);
        }
        Err(BatchError::InvalidLength(n)) => {
            prop_assert!(n < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32);
        }
        Err(BatchError::InvalidRecordCount(n)) => prop_assert!(n < 0),
        Err(e @ BatchError::CrcMismatch { .. }) => {
            prop_assert!(false, "parse does not check the crc: {e}");
        }
    }

    let mut batches = Batches::new(data);
    let (mut consumed, mut errors) = (0, 0);
    while let Some(item) = batches.next() {
        match item {
            Ok(h) => {
                prop_assert_eq!(errors, 0, "no batch after an error");
                consumed += h.total_len();
                prop_assert_eq!(batches.valid_len(), consumed);
                let crc_ok = h.stored_crc() == h.computed_crc();
                prop_assert_eq!(h.verify_crc().is_ok(), crc_ok);
                let _ = (
                    h.base_offset(),
                    h.partition_leader_epoch(),
                    h.compression(),
                    h.is_log_append_time(),
                    h.is_transactional(),
                    h.is_control(),
                    h.base_timestamp(),
                    h.max_timestamp(),
                    h.producer_id(),
                    h.producer_epoch(),
                    h.base_sequence(),
                );
                let _ = h.last_offset();
            }
            Err(_) => errors += 1,
        }
    }
    prop_assert!(errors <= 1);
    prop_assert_eq!(batches.valid_len(), consumed);
    prop_assert_eq!(batches.remaining(), 0);
    prop_assert_eq!(errors == 0, consumed == data.len());
    Ok(())
}
