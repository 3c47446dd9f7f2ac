//! Arbitrary bytes as a connection's read buffer: split it into frames the way
//! the broker's connection loop does, then decode every frame as a request.
//! Every version `kafka-protocol` knows counts as served, so each body decoder
//! sees the input, not just the ones the broker registers today.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use strata_wire::frame::{split_frame, FrameError, LENGTH_PREFIX};
use strata_wire::kafka_protocol::messages::ApiKey;
use strata_wire::request::{decode_request, RequestError};

/// Small enough that the fuzzer reaches the cap, large enough for real frames.
const MAX_FRAME: usize = 1 << 16;

/// Whether `kafka-protocol` can decode `version` of `key`.
fn knows(key: ApiKey, version: i16) -> bool {
    let range = key.valid_versions();
    (range.min..=range.max).contains(&version)
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match split_frame(&mut buf, MAX_FRAME) {
            Ok(Some(frame)) => {
                assert!(!frame.is_empty() && frame.len() <= MAX_FRAME);
                assert_eq!(buf.len(), before - LENGTH_PREFIX - frame.len());
                match decode_request(frame, knows) {
                    Ok(request) => {
                        assert!(knows(request.api_key, request.header.request_api_version));
                    }
                    Err(RequestError::UnsupportedVersion {
                        api_key, version, ..
                    }) => {
                        assert!(!knows(api_key, version));
                    }
                    Err(_) => {}
                }
            }
            Ok(None) => {
                // Needs more bytes: nothing was consumed.
                assert_eq!(buf.len(), before);
                break;
            }
            Err(FrameError::NonPositiveLength(n)) => {
                assert!(n <= 0);
                break;
            }
            Err(FrameError::TooLarge { length, max }) => {
                assert!(length > max);
                break;
            }
        }
    }
});
