//! Reads the topic list out of a consumer's subscription metadata
//! (ConsumerProtocolSubscription), the one thing the broker needs from it:
//! OffsetDelete refuses to delete offsets of topics a live group reads.

use bytes::{Buf, Bytes};

/// The topics in a `consumer` protocol subscription; `None` if it does not parse.
pub(crate) fn subscribed_topics(mut metadata: Bytes) -> Option<Vec<String>> {
    let _version = metadata.try_get_i16().ok()?;
    let count = metadata.try_get_i32().ok()?;
    let mut topics = Vec::with_capacity(count.clamp(0, 10_000) as usize);
    for _ in 0..count.max(0) {
        let len = metadata.try_get_i16().ok()?;
        if len < 0 || metadata.remaining() < len as usize {
            return None;
        }
        topics.push(String::from_utf8(metadata.split_to(len as usize).to_vec()).ok()?);
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_topics_and_refuses_garbage() {
        let mut b = vec![0, 1, 0, 0, 0, 2];
        for t in ["a", "bc"] {
            b.extend_from_slice(&(t.len() as i16).to_be_bytes());
            b.extend_from_slice(t.as_bytes());
        }
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            subscribed_topics(Bytes::from(b)),
            Some(vec!["a".to_string(), "bc".to_string()])
        );
        assert_eq!(
            subscribed_topics(Bytes::from_static(&[0, 1, 0, 0, 0, 9, 0])),
            None
        );
    }
}
