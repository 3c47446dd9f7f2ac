//! Length-prefixed Kafka frames: a big-endian i32 size, then that many bytes.
//!
//! The length is checked before a single byte is allocated for the body, so a
//! client cannot make the broker reserve memory with a forged size field.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Size of the length prefix.
pub const LENGTH_PREFIX: usize = 4;

/// Why a frame was refused; the connection is closed on any of these.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame length {0} is not positive")]
    NonPositiveLength(i32),
    #[error("frame length {length} exceeds socket.request.max.bytes {max}")]
    TooLarge { length: usize, max: usize },
}

/// Checks a frame's declared length against the cap.
pub fn check_length(declared: i32, max: usize) -> Result<usize, FrameError> {
    if declared <= 0 {
        return Err(FrameError::NonPositiveLength(declared));
    }
    let length = declared as usize;
    if length > max {
        return Err(FrameError::TooLarge { length, max });
    }
    Ok(length)
}

/// The checked length of the frame at the front of `buf`, once its prefix
/// is there; the body may still be incomplete.
pub fn peek_length(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    match buf.get(..LENGTH_PREFIX) {
        Some(prefix) => {
            check_length(i32::from_be_bytes(prefix.try_into().expect("4 bytes")), max).map(Some)
        }
        None => Ok(None),
    }
}

/// Splits one whole frame body off the front of `buf`, if present.
///
/// Returns `Ok(None)` when more bytes are needed; in that case it reserves
/// room for the rest of the frame only once the length has passed the check.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(length) = peek_length(buf, max)? else {
        return Ok(None);
    };
    if buf.len() < LENGTH_PREFIX + length {
        buf.reserve(LENGTH_PREFIX + length - buf.len());
        return Ok(None);
    }
    buf.advance(LENGTH_PREFIX);
    Ok(Some(buf.split_to(length).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_lengths_before_allocating() {
        let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert_eq!(
            split_frame(&mut buf, 100),
            Err(FrameError::NonPositiveLength(-1))
        );
        let mut buf = BytesMut::from(&0i32.to_be_bytes()[..]);
        assert_eq!(
            split_frame(&mut buf, 100),
            Err(FrameError::NonPositiveLength(0))
        );
        let mut buf = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
        assert!(matches!(
            split_frame(&mut buf, 100),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn splits_whole_frames_only() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&3i32.to_be_bytes());
        buf.extend_from_slice(b"ab");
        assert_eq!(split_frame(&mut buf, 100), Ok(None));
        buf.extend_from_slice(b"c");
        assert_eq!(
            split_frame(&mut buf, 100).unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert!(buf.is_empty());
    }
}
